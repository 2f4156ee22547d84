"""One vocabulary (issue 11, item 5): the criteria that decided have one name and one list
in Python (``det.deciding_criteria``), JSON (``deciding_criteria``, evaluate and agree) and
text (``Deciding criteria: ...``); every result is ``det.criteria`` / JSON ``criteria``.
The old Python names and the old JSON key stay readable for one release, deprecated."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

import kb_core
from conftest import sample_case_files
from kb_core._render import DECIDING_CRITERIA_LABEL
from kb_core.agree import CaseOutcome

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sample_case_files()


def deciding_line_ids(text: str) -> list[str]:
    """The ids on the text's ``Deciding criteria:`` line (with its wrapped continuation lines)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(DECIDING_CRITERIA_LABEL)]
    assert len(starts) == 1, f"expected one 'Deciding criteria:' line, found {len(starts)}"
    parts = [lines[starts[0]][len(DECIDING_CRITERIA_LABEL):]]
    indent = " " * len(DECIDING_CRITERIA_LABEL)
    for line in lines[starts[0] + 1:]:
        if not line.startswith(indent):
            break
        parts.append(line.strip())
    listed = " ".join(parts).strip()
    return [] if listed == "none" else [item.strip() for item in listed.split(",")]


def named_in_summary(det: kb_core.Determination) -> set[str]:
    """The criteria of this determination that its summary names as ``id (status...``."""
    return {
        r.criterion for r in det.criteria
        if re.search(rf"(?<![\w.]){re.escape(r.criterion)} \(", det.summary)
    }


@pytest.mark.filterwarnings("error::DeprecationWarning")  # rendering and agree use only the new names
@pytest.mark.parametrize("path", CASE_FILES, ids=[str(p.relative_to(ROOT)) for p in CASE_FILES])
def test_text_json_and_python_list_the_same_deciding_criteria(path: Path, kb: kb_core.KnowledgeBase) -> None:
    case = kb_core.load_case(path)
    det = kb.evaluate(case)
    as_json = json.loads(kb_core.determination_json(det))
    assert as_json["deciding_criteria"] == list(det.deciding_criteria)
    assert as_json["decisive_criteria"] == as_json["deciding_criteria"]  # deprecated key, same value
    assert [c["criterion"] for c in as_json["criteria"]] == [r.criterion for r in det.criteria]
    assert deciding_line_ids(kb_core.determination_text(det)) == as_json["deciding_criteria"]
    # A deciding criterion is one of the determination's results and decides.
    by_id = {r.criterion: r for r in det.criteria}
    assert all(c in by_id and by_id[c].decides for c in det.deciding_criteria)
    # mtus agree reports the same list, each with its status, reason and citation.
    agreed = CaseOutcome(str(path), case, det, []).as_dict()
    assert [item["criterion"] for item in agreed["deciding_criteria"]] == list(det.deciding_criteria)
    # The summary never names a criterion that did not decide, and, where it lists
    # criteria at all, it names every one that did (no_criteria gives the scope's reason in words).
    named = named_in_summary(det)
    assert named <= set(det.deciding_criteria), det.summary
    if named:
        assert named == set(det.deciding_criteria), det.summary


def test_the_summary_names_a_quantity_criterion_that_decides_beside_the_admission_ones(kb: kb_core.KnowledgeBase) -> None:
    """A continuation without documented improvement that also exceeds the allowance: both
    decide, and the summary used to leave the quantity criterion out."""
    det = kb.evaluate(kb_core.load_case(ROOT / "tests" / "cases" / "imr" / "CM16-0237844.yaml"))
    assert det.deciding_criteria == ("physical_medicine.continuation_functional_improvement", "physical_medicine.diagnosis_allowance")
    assert named_in_summary(det) == set(det.deciding_criteria)
    assert "Also on quantity: physical_medicine.diagnosis_allowance (not met)." in det.summary


def test_a_certified_determination_says_no_criterion_decided(kb: kb_core.KnowledgeBase) -> None:
    case = kb_core.load_case(ROOT / "tests" / "cases" / "work_conditioning" / "heavy-job-all-criteria-met-is-certified.yaml")
    det = kb.evaluate(case)
    assert det.decision is kb_core.Decision.CERTIFIED and det.deciding_criteria == ()
    assert f"\n{DECIDING_CRITERIA_LABEL}none\n" in kb_core.determination_text(det)
    assert json.loads(kb_core.determination_json(det))["deciding_criteria"] == []


def test_a_long_list_wraps_between_ids_and_reads_back_whole(kb: kb_core.KnowledgeBase, seed_path: Path) -> None:
    det = kb.evaluate(kb_core.load_case(seed_path))
    many = tuple(f"{r.criterion}_{n}" for n in range(3) for r in det.criteria)
    text = kb_core.determination_text(dataclasses.replace(det, deciding_criteria=many))
    assert deciding_line_ids(text) == list(many)
    start = text.index(DECIDING_CRITERIA_LABEL)
    block = text[start:text.index("\nGuideline:", start)].splitlines()
    assert len(block) > 1 and all(len(line) <= 100 for line in block)


def test_old_python_names_still_read_with_a_deprecation_warning(kb: kb_core.KnowledgeBase, seed_path: Path) -> None:
    det = kb.evaluate(kb_core.load_case(seed_path))
    with pytest.warns(DeprecationWarning, match=r"Determination\.results is deprecated; use Determination\.criteria"):
        assert det.results is det.criteria
    with pytest.warns(DeprecationWarning, match=r"Determination\.decisive is deprecated; use Determination\.deciding_criteria"):
        assert det.decisive is det.deciding_criteria
    assert det.criteria and det.deciding_criteria  # the seed is not certified: both hold something


def test_the_deprecation_is_announced_in_the_changelog() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    unreleased = changelog.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
    deprecated = unreleased.split("### Deprecated", 1)[1].split("\n### ", 1)[0]
    for old in ("det.results", "det.decisive", "decisive_criteria"):
        assert f"`{old}`" in deprecated, f"CHANGELOG [Unreleased] does not announce {old} as deprecated"
