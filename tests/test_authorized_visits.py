"""Visits utilization review already certified count toward every limit, like visits given."""

from __future__ import annotations

from pathlib import Path

import kb_core

CASES = Path(__file__).resolve().parent / "cases"


def test_a_postsurgical_course_approves_only_what_the_given_and_certified_visits_leave(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate(CASES / "physical_medicine" / "postsurgical-meniscectomy-2-certified-not-yet-given-at-most-4-more-not-certified.yaml")
    course = next(r for r in det.criteria if r.criterion == "physical_medicine.postsurgical_course")
    # general course 12 - 6 given - 2 certified
    assert (course.status, course.approvable) == (kb_core.Status.NOT_MET, 4)
    assert course.reason.startswith("14 postsurgical visits in all")
