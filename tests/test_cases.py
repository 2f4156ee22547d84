"""Sample cases as data: every file under tests/cases/ and examples/ must reach its expected outcome.

A case whose real outcome the engine does not reach carries ``expected.known_disagreement``
(the reason); it stays in the suite as a strict xfail, so it is reported, and the marker
must go once the engine agrees.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import kb_core
from conftest import load_first_party, sample_case_files
from kb_core.agree import mismatches

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sample_case_files()


def _param(path: Path) -> object:
    case = kb_core.load_case(path)
    marks = []
    if case.expected and case.expected.known_disagreement:
        marks.append(pytest.mark.xfail(reason=f"known disagreement: {case.expected.known_disagreement}", strict=True))
    return pytest.param(path, marks=marks, id=str(path.relative_to(ROOT)))


@pytest.mark.parametrize("path", [_param(p) for p in CASE_FILES])
def test_sample_case_reaches_expected_outcome(path: Path, kb: kb_core.KnowledgeBase) -> None:
    case = kb_core.load_case(path)
    assert case.expected is not None, f"{path} has no expected block"
    det = kb.evaluate(case)
    assert mismatches(det, case.expected) == []


def test_every_sample_case_states_an_expectation() -> None:
    assert len(CASE_FILES) >= 13
    for path in CASE_FILES:
        expected = kb_core.load_case(path).expected
        assert expected and (expected.decision or expected.imr_outcome), path


def test_seed_case_is_not_certified_for_the_reason_the_reviewer_gave(kb: kb_core.KnowledgeBase, seed_path: Path) -> None:
    det = kb.evaluate(kb_core.load_case(seed_path))
    assert det.decision is kb_core.Decision.NON_CERTIFIED
    plateau = next(r for r in det.criteria if r.criterion == "work_conditioning.prior_pt_plateau")
    assert plateau.status in (kb_core.Status.NOT_MET, kb_core.Status.NOT_DOCUMENTED)
    assert "pp.125-126" in plateau.citation and "Chronic Pain Medical Treatment Guidelines (2009)" in plateau.citation
    assert "work_conditioning.prior_pt_plateau" in det.deciding_criteria
    assert len(det.receipt.knowledge_base_digest) == 64
    assert det.receipt.guideline_version == "cpmtg-2009"


def test_same_case_gives_byte_identical_json(kb: kb_core.KnowledgeBase, seed_path: Path) -> None:
    first = kb_core.determination_json(kb.evaluate(kb_core.load_case(seed_path)))
    again = kb_core.determination_json(load_first_party().evaluate(kb_core.load_case(seed_path)))
    assert first == again


def test_request_on_acoem_era_date_gets_criteria_unavailable_naming_the_version(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate({"dates": {"request": "2018-02-01"}, "request": {"treatment": "work_conditioning", "quantity": 6}})
    assert det.decision is kb_core.Decision.CRITERIA_UNAVAILABLE
    assert "MTUS ACOEM Chronic Pain Guideline (2017)" in det.summary
    assert det.criteria == ()


def test_request_before_any_encoded_version_gets_no_criteria(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate({"dates": {"request": "2008-02-01"}, "request": {"treatment": "work_conditioning", "quantity": 6}})
    assert det.decision is kb_core.Decision.NO_CRITERIA
    assert "2008-02-01" in det.summary


def test_known_treatment_without_a_plugin_gets_no_criteria(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate({"dates": {"request": "2015-03-02"}, "request": {"treatment": "medication", "quantity": 1}})
    assert det.decision is kb_core.Decision.NO_CRITERIA
    assert "no installed plugin encodes criteria for Medication" in det.summary
