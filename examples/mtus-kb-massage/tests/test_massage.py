"""mtus-kb-massage against the mtus-kb plugin kit.

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

SAMPLE_CASES = sorted(p.name for p in (files("mtus_kb_massage") / "cases").iterdir() if p.name.endswith(".yaml"))
PROPERTY = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def max_visits(kb: kb_core.KnowledgeBase) -> int:
    """The limit as the YAML states it (tests read it too, rather than repeating 6)."""
    return kb.guidelines.parameters["massage.max_visits"].value


def test_massage_conforms(mtus_conformance: Any) -> None:
    report = mtus_conformance("massage", examples=200)
    assert report.treatments == ["massage"] and report.criteria == 3
    assert report.sample_cases == len(SAMPLE_CASES) >= 8
    assert report.sample_cases_agreeing == report.sample_cases and report.known_disagreements == 0


def test_the_yaml_says_six(mtus_kb: kb_core.KnowledgeBase) -> None:
    assert max_visits(mtus_kb) == 6
    assert mtus_kb.treatment_for("massage") == "massage"
    assert mtus_kb.guidelines.criterion_plugin["massage.visit_limit"] == "massage"


def test_sample_case_ids_are_their_file_names() -> None:
    for name in SAMPLE_CASES:
        data = yaml.safe_load((files("mtus_kb_massage") / "cases" / name).read_text())
        case = kb_core.parse_case(data, name)
        assert case.case_id == name.removesuffix(".yaml")
        assert case.description and case.expected and case.expected.decision


def _prior_visits(data: dict[str, Any]) -> int | None:
    """Prior massage visits in a generated case mapping; None when a course has no count."""
    counts = [p.get("count") for p in data.get("prior_treatments", ()) if p["treatment"] == "massage"]
    return None if any(c is None for c in counts) else sum(counts)


@PROPERTY
@given(data=st.data())
def test_a_total_above_the_limit_is_never_certified_in_full(mtus_kb: kb_core.KnowledgeBase, data: st.DataObject) -> None:
    case = data.draw(case_dicts(mtus_kb, "massage"))
    # case_dicts draws prior treatments from every kind, so prior massage is rare: add a
    # course half of the time, with a count near the limit.
    if data.draw(st.booleans(), label="add prior massage"):
        count = data.draw(st.one_of(boundary_numbers(mtus_kb, "massage"), st.integers(0, 10)), label="prior massage visits")
        case["prior_treatments"].append({"treatment": "massage", "count": count})
    request = case["request"]
    given_before = _prior_visits(case)
    quantity = kb_core.parse_case(case).request.implied_quantity  # stated, else frequency x duration
    det = mtus_kb.evaluate(case)
    if quantity is None or given_before is None:
        return
    already = given_before + (request.get("ur_authorized_quantity") or 0)
    if already + quantity > max_visits(mtus_kb):
        assert det.decision is not Decision.CERTIFIED, det.summary
        # Whatever else the case lacks, the visit limit itself must not pass.
        assert all(r.status is not Status.MET for r in det.results if r.criterion == "massage.visit_limit")
        if det.decision is Decision.MODIFIED:
            assert det.approved_quantity is not None and 0 < det.approved_quantity <= max_visits(mtus_kb) - already


@PROPERTY
@given(data=st.data())
def test_certified_visits_at_and_around_the_limit(mtus_kb: kb_core.KnowledgeBase, data: st.DataObject) -> None:
    near = boundary_numbers(mtus_kb, "massage")  # 5, 6 and 7 with the YAML's limit of 6
    requested = data.draw(near, label="requested")
    given_before = data.draw(st.one_of(st.just(0), near), label="given before")
    limit = max_visits(mtus_kb)
    case = {
        "dates": {"injury": "2014-06-01", "request": "2015-03-02"},
        "request": {"treatment": "massage", "quantity": requested, "unit": "visits", "purpose": "initial"},
        "prior_treatments": [{"treatment": "massage", "count": given_before}] if given_before else [],
        "findings": {"home_exercise_program": True},
    }
    det = mtus_kb.evaluate(case)
    if given_before + requested <= limit:
        assert (det.decision, det.approved_quantity) == (Decision.CERTIFIED, requested)
    elif given_before < limit:
        assert (det.decision, det.approved_quantity) == (Decision.MODIFIED, limit - given_before)
    else:
        assert (det.decision, det.approved_quantity) == (Decision.NON_CERTIFIED, 0)
    visit_limit = next(r for r in det.results if r.criterion == "massage.visit_limit")
    assert visit_limit.citation.endswith("Massage therapy, p.60") and visit_limit.parameters == {"max_visits": limit}


def test_unknown_prior_count_is_not_documented(mtus_kb: kb_core.KnowledgeBase) -> None:
    det = mtus_kb.evaluate({
        "dates": {"request": "2015-03-02"},
        "request": {"treatment": "massage", "quantity": 2},
        "prior_treatments": [{"treatment": "massage"}],
        "findings": {"adjunct_to_active_rehabilitation": True},
    })
    assert det.decision is Decision.NON_CERTIFIED
    assert {r.criterion: r.status.value for r in det.results}["massage.visit_limit"] == "not_documented"


def test_disabling_the_plugin_removes_massage() -> None:
    kb = kb_core.load(disable=["massage"])
    assert "massage" not in kb.plugins and kb.treatment_for("massage") is None
