"""Burden of documentation as data for acupuncture and work conditioning (issue 7).

Every criterion of these two treatments declares what an absent fact does, with its basis;
a not_documented result whose burden is note_only or presumed is shown but never decides.
"""

from __future__ import annotations

import pytest

import kb_core
from kb_core._model import BURDEN_EFFECTS

TREATMENTS = ("acupuncture", "work_conditioning")


@pytest.mark.parametrize("treatment", TREATMENTS)
def test_every_criterion_declares_its_burden_with_a_basis(kb: kb_core.KnowledgeBase, treatment: str) -> None:
    gs = kb.guidelines
    criteria = gs.treatments[treatment].criteria
    assert criteria
    for cid in criteria:
        burden = gs.criteria[cid].when_undocumented
        assert burden.basis and len(burden.basis) > 20, f"{cid} declares no when_undocumented basis"
        assert burden.default in BURDEN_EFFECTS and set(burden.by_purpose.values()) <= set(BURDEN_EFFECTS), cid


def _acupuncture(**request: object) -> dict:
    return {
        "dates": {"injury": "2014-02-10", "request": "2014-06-03"},
        "request": {"treatment": "acupuncture", "body_regions": ["lumbar_spine"], "purpose": "initial", **request},
        "findings": {"medication_reduced_or_not_tolerated": True},
    }


def test_unstated_schedule_is_shown_but_does_not_decide(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate(_acupuncture(quantity=6, unit="sessions"))
    by_id = {r.criterion: r for r in det.criteria}
    for cid in ("acupuncture.frequency", "acupuncture.duration"):
        assert by_id[cid].status is kb_core.Status.NOT_DOCUMENTED and by_id[cid].decides is False
    assert det.decision is kb_core.Decision.CERTIFIED and det.approved_quantity == 6
    assert not set(det.deciding_criteria) & {"acupuncture.frequency", "acupuncture.duration"}


def test_an_unknown_count_still_decides(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate(_acupuncture())
    count = next(r for r in det.criteria if r.criterion == "acupuncture.initial_trial_quantity")
    assert count.status is kb_core.Status.NOT_DOCUMENTED and count.decides is True
    assert det.decision is kb_core.Decision.NON_CERTIFIED and "acupuncture.initial_trial_quantity" in det.deciding_criteria


@pytest.mark.parametrize(
    ("quantity", "unit", "per_week", "hours", "visits", "weeks"),
    [(6, "weeks", 3, None, 18, 6.0), (18, "visits", 3, None, 18, 6.0), (80, "hours", 5, 4, 20, 4.0)],
)
def test_counts_and_weeks_follow_the_unit(
    kb: kb_core.KnowledgeBase, quantity: int, unit: str, per_week: int, hours: int | None, visits: int, weeks: float
) -> None:
    case = kb_core.parse_case({
        "dates": {"request": "2015-06-01"},
        "request": {"treatment": "work_conditioning", "quantity": quantity, "unit": unit, "frequency_per_week": per_week,
                    **({"hours_per_day": hours} if hours else {})},
    })
    assert (case.request.visits, case.request.span_weeks) == (visits, weeks)
    det = kb.evaluate(case)
    length = next(r for r in det.criteria if r.criterion == "work_conditioning.program_length")
    assert f"{weeks:g} weeks" in length.reason
