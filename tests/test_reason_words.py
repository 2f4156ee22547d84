"""Reasons a reviewer reads: where two findings share a status, the words tell them apart
(found by mutation testing: swapping the branches left every status unchanged)."""

from __future__ import annotations

from pathlib import Path

import kb_core

IMR = Path(__file__).parent / "cases" / "imr"


def _reason(kb: kb_core.KnowledgeBase, case_file: str, criterion: str) -> str:
    det = kb.evaluate(IMR / case_file)
    (result,) = [r for r in det.criteria if r.criterion == criterion]
    assert result.status is kb_core.Status.NOT_DOCUMENTED
    return result.reason


def test_improvement_only_reported_is_named_as_such(kb: kb_core.KnowledgeBase) -> None:
    # CM17-0010885-b: the worker reports relief; nothing measured.
    reason = _reason(kb, "CM17-0010885-b.yaml", "physical_medicine.continuation_functional_improvement")
    assert "only reported, not measured" in reason


def test_improvement_not_stated_at_all_is_named_as_such(kb: kb_core.KnowledgeBase) -> None:
    # CM17-0015849: six visits given, their outcome not stated.
    reason = _reason(kb, "CM17-0015849.yaml", "physical_medicine.continuation_functional_improvement")
    assert reason == "no objective functional improvement from the prior visits is documented"


def test_a_count_in_hours_or_weeks_without_its_rate_is_named_by_its_unit(kb: kb_core.KnowledgeBase) -> None:
    # Neither resolves to visits; the reason says which rate is missing.
    for unit, missing in (("hours", "without hours a day"), ("weeks", "without a weekly frequency")):
        det = kb.evaluate({
            "dates": {"injury": "2015-01-05", "request": "2015-03-02"},
            "request": {"treatment": "physical_therapy", "body_regions": ["lumbar_spine"], "quantity": 8, "unit": unit},
        })
        (stated,) = [r for r in det.criteria if r.criterion == "physical_medicine.visits_stated"]
        assert stated.status is kb_core.Status.NOT_DOCUMENTED and missing in stated.reason, (unit, stated.reason)


def test_reported_improvement_accepted_in_an_acute_injury_is_named_as_such(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate(Path(__file__).parent / "cases" / "physical_medicine" / "acute-injury-continuation-on-reported-benefit-certified.yaml")
    (result,) = [r for r in det.criteria if r.criterion == "physical_medicine.continuation_functional_improvement"]
    assert result.status is kb_core.Status.MET
    assert result.reason == "improvement (reported, accepted in an acute injury) from the prior visits is documented"
