"""The ACOEM clinical-topic guideline a criteria_unavailable determination names, on each
side of every switch date: expectations written out here from the DWC orders (reference
mtus-current §1.4), not read from the YAML, so a slipped date in guidelines/common.yaml
fails a test."""

from __future__ import annotations

import pytest

import kb_core

PINNED: list[tuple[str, str, str]] = [
    ("lumbar_spine", "2017-12-01", "ACOEM Low Back Disorders Guideline (2016-02-24)"),
    ("lumbar_spine", "2019-08-10", "ACOEM Low Back Disorders Guideline (2016-02-24)"),
    ("lumbar_spine", "2019-08-11", "ACOEM Low Back Disorders Guideline (2019-03-07)"),
    ("lumbar_spine", "2021-11-22", "ACOEM Low Back Disorders Guideline (2019-03-07)"),
    ("lumbar_spine", "2021-11-23", "ACOEM Low Back Disorders Guideline (2020-02-13)"),
    ("cervical_spine", "2017-12-01", "ACOEM Cervical and Thoracic Spine Disorders Guideline (2016-05-27)"),
    ("cervical_spine", "2019-04-17", "ACOEM Cervical and Thoracic Spine Disorders Guideline (2016-05-27)"),
    ("cervical_spine", "2019-04-18", "ACOEM Cervical and Thoracic Spine Disorders Guideline (2018-10-17)"),
    ("shoulder", "2017-12-01", "ACOEM Shoulder Disorders Guideline (2016-08-01)"),
    ("shoulder", "2023-08-09", "ACOEM Shoulder Disorders Guideline (2016-08-01)"),
    ("shoulder", "2023-08-10", "ACOEM Shoulder Disorders Guideline (version adopted by the order effective 2023-08-10"),
    ("elbow", "2017-12-01", "ACOEM Elbow Disorders Guideline (2013)"),
    ("elbow", "2019-04-17", "ACOEM Elbow Disorders Guideline (2013)"),
    ("elbow", "2019-04-18", "ACOEM Elbow Disorders Guideline (2018-08-23)"),
    ("forearm_wrist_hand", "2017-12-01", "ACOEM Hand, Wrist, and Forearm Disorders Guideline (2016-06-30)"),
    ("forearm_wrist_hand", "2019-04-17", "ACOEM Hand, Wrist, and Forearm Disorders Guideline (2016-06-30)"),
    ("forearm_wrist_hand", "2019-04-18", "ACOEM Hand, Wrist, and Forearm Disorders Guideline (2019-01-07)"),
    ("forearm_wrist_hand", "2023-11-09", "ACOEM Hand, Wrist, and Forearm Disorders Guideline (2019-01-07)"),
    ("forearm_wrist_hand", "2023-11-10", "ACOEM Hand, Wrist, and Forearm Disorders Guideline (version adopted by the order effective 2023-11-10"),
    ("knee", "2017-12-01", "ACOEM Knee Disorders Guideline (2015-10-28)"),
    ("knee", "2020-09-20", "ACOEM Knee Disorders Guideline (2015-10-28)"),
    ("knee", "2020-09-21", "ACOEM Knee Disorders Guideline (2019-12-03)"),
    ("ankle_foot", "2017-12-01", "ACOEM Ankle and Foot Disorders Guideline (2015-09)"),
    ("ankle_foot", "2019-04-17", "ACOEM Ankle and Foot Disorders Guideline (2015-09)"),
    ("ankle_foot", "2019-04-18", "ACOEM Ankle and Foot Disorders Guideline (2018-07-16)"),
    ("hip", "2017-12-01", "ACOEM Hip and Groin Disorders Guideline (2011-05-01)"),
    ("hip", "2019-10-06", "ACOEM Hip and Groin Disorders Guideline (2011-05-01)"),
    ("hip", "2019-10-07", "ACOEM Hip and Groin Disorders Guideline (2019-04-24)"),
]


@pytest.mark.parametrize(("region", "day", "label"), PINNED, ids=[f"{r}-{d}" for r, d, _ in PINNED])
def test_the_topic_guideline_in_force_on_the_date_of_service_is_named(kb: kb_core.KnowledgeBase, region: str, day: str, label: str) -> None:
    det = kb.evaluate({
        "case_id": f"{region}-{day}",
        "dates": {"injury": "2017-06-01", "request": day, "service": day},
        "request": {"treatment": "physical_therapy", "body_regions": [region], "quantity": 6, "unit": "visits"},
    })
    assert det.decision is kb_core.Decision.CRITERIA_UNAVAILABLE, det.summary
    assert label in det.summary, det.summary
    # Exactly one edition of the topic is named.
    topic = label.split(" (")[0]
    assert det.summary.count(topic + " (") == 1, det.summary


def test_the_day_before_the_switch_no_acoem_text_governs(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate({
        "dates": {"injury": "2017-06-01", "request": "2017-11-30", "service": "2017-11-30"},
        "request": {"treatment": "physical_therapy", "body_regions": ["knee"], "quantity": 6, "unit": "visits"},
    })
    assert det.decision is not kb_core.Decision.CRITERIA_UNAVAILABLE and "ACOEM Knee" not in det.summary


@pytest.mark.parametrize(("day", "version"), [("2003-12-31", None), ("2004-01-01", "acoem2-2004"), ("2007-06-14", "acoem2-2004"), ("2007-06-15", "acoem2-2007")])
def test_the_acoem_second_edition_eras_start_on_their_dates(kb: kb_core.KnowledgeBase, day: str, version: str | None) -> None:
    """Labor Code §4604.5 (2004-01-01) and the 2007 ACOEM update: before 2004 nothing governs."""
    det = kb.evaluate({
        "dates": {"injury": "2003-06-01", "request": day},
        "request": {"treatment": "physical_therapy", "body_regions": ["knee"], "quantity": 6, "unit": "visits"},
    })
    assert det.decision is kb_core.Decision.NO_CRITERIA
    assert det.receipt.guideline_version == version


POSTSURGICAL_KNEE = {
    "diagnoses": [{"description": "ACL tear", "body_region": "knee"}],
    "request": {"treatment": "physical_therapy", "body_regions": ["knee"], "quantity": 12, "unit": "visits",
                "post_surgical": {"surgery": "ACL repair", "procedure": "acl_repair", "surgery_date": "2017-10-01", "surgery_certified": True}},
}


@pytest.mark.parametrize(("day", "text"), [
    ("2017-11-30", "MTUS Postsurgical Treatment Guidelines (2009)"),
    ("2017-12-01", "MTUS Postsurgical Treatment Guidelines (8 CCR §9792.24.3 as amended effective 2017-12-01)"),
])
def test_the_postsurgical_text_cited_switches_on_2017_12_01(kb: kb_core.KnowledgeBase, day: str, text: str) -> None:
    det = kb.evaluate({**POSTSURGICAL_KNEE, "dates": {"injury": "2017-09-01", "request": day, "service": day}})
    course = next(r for r in det.criteria if r.criterion == "physical_medicine.postsurgical_course")
    assert course.citation.startswith(text), course.citation


def test_the_2007_definitions_are_cited_from_their_first_day(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate({
        "dates": {"injury": "2007-01-01", "request": "2007-06-15"},
        "diagnoses": [{"description": "lumbar sprain", "body_region": "lumbar_spine", "category": "sprain_strain"}],
        "request": {"treatment": "acupuncture", "body_regions": ["lumbar_spine"], "quantity": 6, "unit": "visits", "purpose": "continuation"},
        "prior_treatments": [{"treatment": "acupuncture", "count": 6, "functional_improvement": True}],
    })
    assert det.decision is kb_core.Decision.CERTIFIED
    assert any("functional improvement: 8 CCR §9792.20 (2007), §9792.20(e)" in r.citation for r in det.criteria)
