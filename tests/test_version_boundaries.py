"""The guideline version on each side of the switch dates no other test pins to the day
(found by mutation testing: a date one day later survived). The expected labels are
written out here from the reference (mtus-criteria §1, mtus-current §1), not read from the
YAML, so a slipped date in guidelines/common.yaml fails a test."""

from __future__ import annotations

from typing import Any

import pytest

import kb_core

AMTG_2007 = "MTUS Acupuncture Medical Treatment Guidelines (2007)"
ACOEM_2004_PRESUMED = "ACOEM Practice Guidelines, 2nd ed. (2004), presumed correct before the MTUS"
AMTG_2009 = "MTUS Acupuncture Medical Treatment Guidelines (2009)"
AMTG_2017 = "MTUS Acupuncture Medical Treatment Guidelines (8 CCR §9792.24.1 as amended effective 2017-12-01)"
PSTG_2009 = "MTUS Postsurgical Treatment Guidelines (2009)"
PSTG_2017 = "MTUS Postsurgical Treatment Guidelines (8 CCR §9792.24.3 as amended effective 2017-12-01)"


def _label(kb: kb_core.KnowledgeBase, treatment: str, request: str, service: str | None = None, **more: Any) -> str | None:
    dates = {"injury": "2003-06-01", "request": request, **({"service": service} if service else {})}
    det = kb.evaluate({"dates": dates, "request": {"treatment": treatment, "quantity": 6, "unit": "visits", "body_regions": ["lumbar_spine"], **more}})
    return det.receipt.guideline_version_label


@pytest.mark.parametrize(("day", "label"), [("2007-06-14", None), ("2007-06-15", AMTG_2007)])
def test_the_acupuncture_guidelines_govern_from_2007_06_15(kb: kb_core.KnowledgeBase, day: str, label: str | None) -> None:
    assert _label(kb, "acupuncture", day) == label


@pytest.mark.parametrize(("day", "label"), [("2017-11-30", AMTG_2009), ("2017-12-01", AMTG_2017)])
def test_the_amended_acupuncture_guidelines_govern_from_2017_12_01(kb: kb_core.KnowledgeBase, day: str, label: str) -> None:
    assert _label(kb, "acupuncture", day) == label


@pytest.mark.parametrize(("day", "label"), [("2003-12-31", None), ("2004-01-01", ACOEM_2004_PRESUMED)])
def test_acoem_2004_is_presumed_correct_from_2004_01_01(kb: kb_core.KnowledgeBase, day: str, label: str | None) -> None:
    assert _label(kb, "chiropractic", day) == label


@pytest.mark.parametrize(("day", "label"), [("2017-11-30", PSTG_2009), ("2017-12-01", PSTG_2017)])
def test_the_amended_postsurgical_guidelines_govern_from_2017_12_01(kb: kb_core.KnowledgeBase, day: str, label: str) -> None:
    surgery = {"procedure": "knee_meniscectomy", "surgery_date": "2017-11-01", "surgery_certified": True}
    det = kb.evaluate({
        "dates": {"injury": "2017-06-01", "request": day, "service": day},
        "request": {"treatment": "physical_therapy", "quantity": 6, "unit": "visits", "body_regions": ["knee"], "post_surgical": surgery},
    })
    (course,) = [r for r in det.criteria if r.criterion == "physical_medicine.postsurgical_course"]
    assert course.citation.startswith(label + ","), course.citation


@pytest.mark.parametrize(("service", "decision"), [("2017-11-30", kb_core.Decision.NON_CERTIFIED), ("2017-12-01", kb_core.Decision.CRITERIA_UNAVAILABLE)])
def test_the_date_of_service_chooses_the_version_from_2017_12_01(kb: kb_core.KnowledgeBase, service: str, decision: kb_core.Decision) -> None:
    """A request made on 2017-11-20: a service on 2017-12-01 falls under the ACOEM-era MTUS
    (licensed text: criteria_unavailable); a service the day before keeps the request date's
    2016 chronic pain guidelines."""
    det = kb.evaluate({
        "dates": {"injury": "2017-06-01", "request": "2017-11-20", "service": service},
        "request": {"treatment": "physical_therapy", "quantity": 6, "unit": "visits", "body_regions": ["lumbar_spine"]},
    })
    assert det.decision is decision, det.summary
