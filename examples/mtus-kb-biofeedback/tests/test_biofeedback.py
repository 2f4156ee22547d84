"""mtus-kb-biofeedback against the mtus-kb plugin kit.

The fixtures ``mtus_kb`` (the knowledge base as installed, loaded once) and
``mtus_conformance`` come from kb_core's pytest plugin, which pytest loads by itself
because mtus-kb is installed.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kb_core
from kb_core import Decision, Status
from kb_core.testing import boundary_numbers, case_dicts

SAMPLE_CASES = sorted(p.name for p in (files("mtus_kb_biofeedback") / "cases").iterdir() if p.name.endswith(".yaml"))
PROPERTY = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def limits(kb: kb_core.KnowledgeBase) -> tuple[int, int]:
    """The trial and overall limits as the YAML states them (tests read them too, rather than repeating 4 and 10)."""
    params = kb.guidelines.parameters
    return params["biofeedback.trial_visits"].value, params["biofeedback.max_visits"].value


def test_biofeedback_conforms(mtus_conformance: Any) -> None:
    report = mtus_conformance("biofeedback", examples=200)
    assert report.treatments == ["biofeedback"] and report.criteria == 3
    assert report.sample_cases == len(SAMPLE_CASES) >= 8
    assert report.sample_cases_agreeing == report.sample_cases and report.known_disagreements == 0


def test_the_yaml_says_four_and_ten(mtus_kb: kb_core.KnowledgeBase) -> None:
    assert limits(mtus_kb) == (4, 10)
    assert mtus_kb.treatment_for("biofeedback") == "biofeedback"
    assert mtus_kb.guidelines.criterion_plugin["biofeedback.visit_limit"] == "biofeedback"
    assert mtus_kb.guidelines.treatment_kinds["biofeedback"] == "Biofeedback"


def test_sample_case_ids_are_their_file_names() -> None:
    for name in SAMPLE_CASES:
        data = yaml.safe_load((files("mtus_kb_biofeedback") / "cases" / name).read_text())
        case = kb_core.parse_case(data, name)
        assert case.case_id == name.removesuffix(".yaml")
        assert case.description and case.expected and case.expected.decision


def _prior(data: dict[str, Any]) -> tuple[int | None, bool]:
    """Prior biofeedback visits in a generated case mapping (None when a course has no
    count), and whether any course improved function."""
    courses = [p for p in data.get("prior_treatments", ()) if p["treatment"] == "biofeedback"]
    counts = [p.get("count") for p in courses]
    return (None if any(c is None for c in counts) else sum(counts)), any(p.get("functional_improvement") for p in courses)


@PROPERTY
@given(data=st.data())
def test_a_total_above_the_limit_is_never_certified_in_full(mtus_kb: kb_core.KnowledgeBase, data: st.DataObject) -> None:
    case = data.draw(case_dicts(mtus_kb, "biofeedback"))
    # case_dicts draws prior treatments from every kind, so prior biofeedback is rare: add a
    # course half of the time, with a count near the limits.
    if data.draw(st.booleans(), label="add prior biofeedback"):
        count = data.draw(st.one_of(boundary_numbers(mtus_kb, "biofeedback"), st.integers(0, 12)), label="prior visits")
        case["prior_treatments"].append({"treatment": "biofeedback", "count": count, "functional_improvement": data.draw(st.booleans())})
    request = case["request"]
    given_before, improved = _prior(case)
    quantity = kb_core.parse_case(case).request.visits
    det = mtus_kb.evaluate(case)
    if quantity is None or given_before is None or det.decision is Decision.CRITERIA_UNAVAILABLE:
        return
    trial, most = limits(mtus_kb)
    limit = most if improved else trial
    already = given_before + (request.get("ur_authorized_quantity") or 0)
    if already + quantity > limit:
        assert det.decision is not Decision.CERTIFIED, det.summary
        # Whatever else the case lacks, the visit limit itself must not pass.
        assert all(r.status is not Status.MET for r in det.criteria if r.criterion == "biofeedback.visit_limit")
        if det.decision is Decision.MODIFIED:
            assert det.approved_quantity is not None and 0 < det.approved_quantity <= limit - already


@PROPERTY
@given(data=st.data())
def test_certified_visits_at_and_around_the_limits(mtus_kb: kb_core.KnowledgeBase, data: st.DataObject) -> None:
    near = boundary_numbers(mtus_kb, "biofeedback")  # 3, 4, 5, 9, 10, 11 with the YAML's 4 and 10
    requested = data.draw(near, label="requested")
    given_before = data.draw(st.one_of(st.just(0), near), label="given before")
    improved = data.draw(st.booleans(), label="trial improved function")
    trial, most = limits(mtus_kb)
    limit = most if improved and given_before else trial
    case = {
        "dates": {"injury": "2014-06-01", "request": "2015-03-02"},
        "request": {"treatment": "biofeedback", "quantity": requested, "unit": "visits", "purpose": "continuation" if given_before else "initial"},
        "prior_treatments": [{"treatment": "biofeedback", "count": given_before, "functional_improvement": improved}] if given_before else [],
        "extra": {"cbt_program": True},
    }
    det = mtus_kb.evaluate(case)
    if given_before + requested <= limit:
        assert (det.decision, det.approved_quantity) == (Decision.CERTIFIED, requested)
    elif given_before < limit:
        assert (det.decision, det.approved_quantity) == (Decision.MODIFIED, limit - given_before)
    else:
        assert (det.decision, det.approved_quantity) == (Decision.NON_CERTIFIED, 0)
    visit_limit = next(r for r in det.criteria if r.criterion == "biofeedback.visit_limit")
    # The criterion's own citation, then the definition it uses, cited by the request date.
    assert visit_limit.citation.startswith("MTUS Chronic Pain Medical Treatment Guidelines (2009), Biofeedback, pp.24-25; functional improvement: 8 CCR §9792.20")
    assert visit_limit.parameters == {"trial_visits": trial, "max_visits": most}


def test_unknown_prior_count_is_not_documented(mtus_kb: kb_core.KnowledgeBase) -> None:
    det = mtus_kb.evaluate({
        "dates": {"request": "2015-03-02"},
        "request": {"treatment": "biofeedback", "quantity": 2},
        "prior_treatments": [{"treatment": "biofeedback"}],
        "extra": {"cbt_program": True},
    })
    assert det.decision is Decision.NON_CERTIFIED
    assert {r.criterion: r.status.value for r in det.criteria}["biofeedback.visit_limit"] == "not_documented"


def test_disabling_the_plugin_removes_biofeedback() -> None:
    kb = kb_core.load(disable=["biofeedback"])
    assert "biofeedback" not in kb.plugins and kb.treatment_for("biofeedback") is None
