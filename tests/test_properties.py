"""Properties that must hold for every case, drawn by Hypothesis from the case format."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import kb_core
from conftest import load_first_party
from kb_core._loader import load_guidelines
from kb_core._yaml import parse_bytes
from kb_core.graph import build_graph
from kb_core.testing import case_dicts, with_more_documentation

KB = load_first_party()
RANK = {kb_core.Decision.NON_CERTIFIED: 0, kb_core.Decision.MODIFIED: 1, kb_core.Decision.CERTIFIED: 2}
REQUEST_KINDS = sorted(kind for t in KB.guidelines.treatments.values() for kind in t.requested_as)
any_case = st.sampled_from(REQUEST_KINDS).flatmap(lambda kind: case_dicts(KB, kind))


@given(any_case)
def test_evaluation_is_deterministic(case: dict[str, Any]) -> None:
    first = kb_core.determination_json(KB.evaluate(case))
    assert kb_core.determination_json(KB.evaluate(json.loads(json.dumps(case)))) == first


@given(any_case)
def test_documenting_more_never_lowers_the_decision(case: dict[str, Any]) -> None:
    before = KB.evaluate(case).decision
    after = KB.evaluate(with_more_documentation(case)).decision
    if before in RANK:
        assert RANK[after] >= RANK[before], (before, after)
    else:
        assert after is before  # no_criteria depends on the date alone


@given(case_dicts(KB, "work_conditioning"))
def test_work_conditioning_above_the_visit_allowance_is_never_certified_in_full(case: dict[str, Any]) -> None:
    request = case["request"]
    allowance = KB.guidelines.parameters["work_conditioning.odg_max_visits"].value
    programs = KB.relation("work_conditioning", "same_or_similar_program")
    given_so_far = sum(p.get("count") or 0 for p in case["prior_treatments"] if p["treatment"] in programs and p.get("status") != "completed")
    quantity = request.get("quantity")
    if quantity is None or request.get("unit") == "hours":
        return
    det = KB.evaluate(case)
    if quantity + given_so_far + (request.get("ur_authorized_quantity") or 0) > allowance:
        assert det.decision is not kb_core.Decision.CERTIFIED
        if det.decision is kb_core.Decision.MODIFIED:
            assert det.approved_quantity is not None and det.approved_quantity < quantity


@given(any_case)
def test_every_refusal_names_a_failing_criterion_with_its_citation(case: dict[str, Any]) -> None:
    det = KB.evaluate(case)
    if det.decision in (kb_core.Decision.NON_CERTIFIED, kb_core.Decision.MODIFIED):
        failing = [r for r in det.results if r.decides and r.status in (kb_core.Status.NOT_MET, kb_core.Status.NOT_DOCUMENTED)]
        assert failing and all(r.citation and r.criterion in det.decisive for r in failing)
    if det.decision is kb_core.Decision.CERTIFIED:
        assert all(r.status in (kb_core.Status.MET, kb_core.Status.NOT_APPLICABLE) for r in det.results)
        assert det.approved_quantity == det.requested_quantity


@given(any_case)
def test_every_result_records_its_parameters_and_cites_a_known_source(case: dict[str, Any]) -> None:
    det = KB.evaluate(case)
    for result in det.results:
        criterion = KB.guidelines.criteria[result.criterion]
        assert set(result.parameters) == {p.rsplit(".", 1)[1] for p in criterion.parameters}
        assert set(criterion.facts) <= set(result.facts)
        assert result.tier in {"mtus", "odg", "acoem", "statute", "regulation"}


@given(any_case, st.integers(1, 12))
def test_fewer_requested_visits_never_turn_a_certification_into_a_denial(case: dict[str, Any], fewer_by: int) -> None:
    quantity = case["request"].get("quantity")
    if KB.evaluate(case).decision is not kb_core.Decision.CERTIFIED or not quantity or quantity - fewer_by < 1:
        return
    smaller = {**case, "request": {**case["request"], "quantity": quantity - fewer_by}}
    assert KB.evaluate(smaller).decision is kb_core.Decision.CERTIFIED


@given(any_case)
def test_documenting_improvement_after_a_completed_course_never_lowers_the_decision(case: dict[str, Any]) -> None:
    kind = case["request"]["treatment"]
    improved = {**case, "prior_treatments": [
        {**p, "functional_improvement": True} if p["treatment"] == kind and p.get("status") == "completed" and p.get("functional_improvement") is None else p
        for p in case["prior_treatments"]
    ]}
    before, after = KB.evaluate(case).decision, KB.evaluate(improved).decision
    if before in RANK:
        assert RANK[after] >= RANK[before]


NOT_RECOMMENDED_FOR_MANIPULATION = KB.guidelines.parameters["chiropractic.regions_not_recommended"].value


@given(case_dicts(KB, "chiropractic"), st.sampled_from(sorted(NOT_RECOMMENDED_FOR_MANIPULATION)))
def test_manipulation_is_never_certified_where_it_is_not_recommended(case: dict[str, Any], region: str) -> None:
    request = {**case["request"], "body_regions": sorted({*case["request"].get("body_regions", []), region})}
    assert KB.evaluate({**case, "request": request}).decision is not kb_core.Decision.CERTIFIED


# ---------------------------------------------------------------- fuzzing the inputs

SEED_TEXT = (files("kb_guidelines") / "work_conditioning.yaml").read_bytes()
COMMON = files("kb_guidelines") / "common.yaml"


def _mutations(text: bytes) -> st.SearchStrategy[bytes]:
    lines = text.splitlines(keepends=True)

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        out = list(lines)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(out) - 1))
            action = draw(st.sampled_from(["drop", "dup", "garble", "indent", "truncate"]))
            if action == "drop":
                del out[i]
            elif action == "dup":
                out.insert(i, out[i])
            elif action == "garble":
                out[i] = draw(st.binary(max_size=40)) + out[i][draw(st.integers(0, len(out[i]))):]
            elif action == "indent":
                out[i] = b" " + out[i]
            else:
                out = out[:i]
            if not out:
                break
        return b"".join(out)

    return mutate()


class _Blob:
    def __init__(self, content: bytes) -> None:
        self.content = content
        self.name = "fuzzed.yaml"

    def read_bytes(self) -> bytes:
        return self.content

    def __str__(self) -> str:
        return "fuzzed.yaml"


@given(_mutations(SEED_TEXT))
def test_fuzzed_guideline_files_raise_only_package_errors(content: bytes) -> None:
    try:
        build_graph(load_guidelines([("kb_core", COMMON), ("fuzz", _Blob(content))]))
    except kb_core.KBError as error:
        assert "fuzzed.yaml" in str(error) or "common.yaml" in str(error)


@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_arbitrary_bytes_as_a_case_file_raise_only_case_errors(content: bytes) -> None:
    try:
        case = kb_core.parse_case(parse_bytes(content, "fuzz.yaml", kb_core.CaseError), "fuzz.yaml")
        KB.evaluate(case)
    except kb_core.KBError:
        pass


_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 50), st.floats(allow_nan=False), st.text(max_size=12)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=10), children, max_size=3)),
    max_leaves=8,
)


@st.composite
def _damaged_cases(draw: st.DrawFn) -> Any:
    case = draw(any_case)
    node = case
    path = draw(st.lists(st.sampled_from(["request", "dates", "findings", "worker", "prior_treatments", "quantity", "treatment", "injury", "count", 0]), max_size=3))
    for step in path:
        if isinstance(node, dict) and step in node and isinstance(node[step], (dict, list)):
            node = node[step]
        elif isinstance(node, list) and node and step == 0:
            node = node[0]
    if isinstance(node, dict):
        node[draw(st.one_of(st.sampled_from(sorted(node) or ["x"]), st.text(max_size=8)))] = draw(_json_values)
    return case


@given(_damaged_cases())
def test_damaged_case_mappings_raise_only_case_errors(case: Any) -> None:
    try:
        KB.evaluate(case)
    except kb_core.CaseError:
        pass


@given(any_case)
def test_case_survives_a_yaml_round_trip(case: dict[str, Any]) -> None:
    text = yaml.safe_dump(case, sort_keys=False).encode()
    parsed = kb_core.parse_case(parse_bytes(text, "round.yaml", kb_core.CaseError), "round.yaml")
    assert kb_core.determination_json(KB.evaluate(parsed)) == kb_core.determination_json(KB.evaluate(case))


def test_hypothesis_strategies_reach_every_decision() -> None:
    seen: set[kb_core.Decision] = set()

    @given(any_case)
    def collect(case: dict[str, Any]) -> None:
        seen.add(KB.evaluate(case).decision)

    collect()
    assert {kb_core.Decision.NON_CERTIFIED, kb_core.Decision.NO_CRITERIA} <= seen


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
