"""`mtus agree`: strict, quantity-aware agreement, baselines, reasons, exit codes (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import kb_core
from kb_core.agree import parse_threshold, run_agreement
from kb_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
IMR = ROOT / "tests" / "cases" / "imr"

# A two-a-week initial acupuncture course of 8 with reduced medication: the engine
# modifies it to 6 (the initial-trial allowance).
EIGHT_ACUPUNCTURE = """
case_id: {case_id}
source: "{source}"
dates: {{injury: "2016-01-04", request: "2016-03-01"}}
request: {{treatment: acupuncture, body_regions: [lumbar_spine], quantity: 8, unit: visits, frequency_per_week: 2, duration_weeks: 4, purpose: initial}}
findings: {{medication_reduced_or_not_tolerated: true}}
expected:
{expected}
"""


def write_case(tmp_path: Path, name: str, expected: str, source: str = "authored for a test") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(EIGHT_ACUPUNCTURE.format(case_id=name, source=source, expected=expected))
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def summary_of(*args: str) -> tuple[int, dict]:
    code, out, _ = run("agree", *args, "--format", "json")
    return code, json.loads(out)["summary"]


def test_a_modification_does_not_agree_with_an_upheld_denial_except_in_the_loose_line(tmp_path: Path) -> None:
    path = write_case(tmp_path, "upheld", "  imr_outcome: upheld", source="IMR CM00-0000001 (2017-01-01)")
    code, s = summary_of(str(path))
    assert code == 0
    real = s["real_decisions"]
    assert (real["cases"], real["strict_agree"], real["loose_agree"]) == (1, 0, 1)
    assert real["baselines"]["deny_all"]["strict_agree"] == 1 and real["baselines"]["certify_all"]["strict_agree"] == 0
    assert s["authored"]["cases"] == 0
    assert s["confusion_matrix"]["upheld"]["partly certified"] == 1


def test_approved_quantity_must_match_exactly(tmp_path: Path) -> None:
    right = write_case(tmp_path, "six", "  decision: modified\n  approved_quantity: 6")
    wrong = write_case(tmp_path, "five", "  decision: modified\n  approved_quantity: 5")
    _, s = summary_of(str(right), str(wrong))
    assert s["authored"]["strict_agree"] == 1 and s["real_decisions"]["cases"] == 0


def test_baselines_and_balanced_accuracy_on_the_same_files(tmp_path: Path) -> None:
    denied = write_case(tmp_path, "denied", "  imr_outcome: upheld", source="IMR CM00-0000002")
    modified = write_case(tmp_path, "modified", "  decision: modified\n  approved_quantity: 6")
    _, s = summary_of(str(denied), str(modified))
    figures = s["all"]
    # The engine reaches the modification but not the denial: one class of two each.
    assert figures["strict_agree"] == 1 and figures["balanced_accuracy"] == 0.5
    assert figures["per_outcome"] == {"deny": {"cases": 1, "agree": 0}, "modify": {"cases": 1, "agree": 1}}
    assert figures["baselines"]["deny_all"] == {
        "strict_agree": 1, "strict_agreement": 0.5, "balanced_accuracy": 0.5,
        "per_outcome": {"deny": {"cases": 1, "agree": 1}, "modify": {"cases": 1, "agree": 0}},
    }
    assert figures["baselines"]["certify_all"]["strict_agree"] == 0
    assert set(s["per_treatment"]) == {"acupuncture"}


def test_fail_under_names_its_metric_and_exits_1_below_it(tmp_path: Path) -> None:
    path = write_case(tmp_path, "six", "  decision: modified\n  approved_quantity: 6")
    assert run("agree", str(path), "--fail-under", "strict=1.0")[0] == 0
    bad = write_case(tmp_path, "five", "  decision: modified\n  approved_quantity: 5")
    code, _, err = run("agree", str(path), str(bad), "--fail-under", "strict=0.75")
    assert code == 1 and "strict agreement 0.5000 is below 0.7500" in err
    code, _, err = run("agree", str(path), str(bad), "--fail-under", "balanced=50%")
    assert code == 0 and "balanced accuracy 0.5000 >= 0.5000" in err
    assert run("agree", str(path), "--fail-under", "0.8")[0] == 2


def test_parse_threshold() -> None:
    assert parse_threshold("balanced=0.8") == ("balanced", 0.8)
    assert parse_threshold("strict=90%") == ("strict", 0.9)
    for bad in ("accuracy=0.8", "balanced=1.5%x", "strict=-1"):
        with pytest.raises(ValueError):
            parse_threshold(bad)


def test_an_unevaluable_file_exits_1_unless_allowed_and_counts_against(tmp_path: Path) -> None:
    good = write_case(tmp_path, "six", "  decision: modified\n  approved_quantity: 6")
    bad = tmp_path / "bad.yaml"
    bad.write_text('dates: {request: "2015-01-01"}\nrequest: {treatment: nope}\nexpected: {decision: certified}\n')
    code, out, err = run("agree", str(good), str(bad))
    assert code == 1 and "1 file(s) could not be evaluated" in err and "bad.yaml" in out
    code, s = summary_of(str(good), str(bad), "--allow-errors")
    assert code == 0 and s["could_not_be_evaluated"] == 1 and s["all"]["cases"] == 2 and s["all"]["strict_agree"] == 1


def test_files_without_an_expectation_are_listed(tmp_path: Path) -> None:
    good = write_case(tmp_path, "six", "  decision: modified\n  approved_quantity: 6")
    bare = tmp_path / "bare.yaml"
    bare.write_text('dates: {request: "2016-03-01"}\nrequest: {treatment: acupuncture, quantity: 4}\n')
    code, out, _ = run("agree", str(good), str(bare))
    assert code == 0 and "Files without an expected outcome (not scored): 1" in out and str(bare) in out
    _, s = summary_of(str(good), str(bare))
    assert s["without_expectation"] == [str(bare)] and s["all"]["cases"] == 1


def test_reason_agreement_same_partial_different_and_wrong_outcome(tmp_path: Path) -> None:
    base = "  decision: modified\n  approved_quantity: 6\n  reviewer_criteria: [{}]"
    same = write_case(tmp_path, "same", base.format("acupuncture.initial_trial_quantity"))
    partial = write_case(tmp_path, "partial", base.format("acupuncture.initial_trial_quantity, acupuncture.frequency"))
    different = write_case(tmp_path, "different", base.format("acupuncture.frequency"))
    wrong = write_case(tmp_path, "wrong", "  decision: certified\n  reviewer_criteria: [acupuncture.frequency]")
    _, s = summary_of(*(str(p) for p in (same, partial, different, wrong)))
    reasons = s["reasons"]
    # "partial" by the reviewer's extra criterion is still "same": every deciding criterion was relied on.
    assert (reasons["same"], reasons["partial"], reasons["different"], reasons["wrong_outcome"]) == (2, 0, 1, 1)
    assert reasons["reviewer_ground_deciding"] == 2
    # Decides in all 4 cases; in 2 (different, wrong) the reviewer named only the frequency.
    assert reasons["deciding_without_reviewer"] == [{"criterion": "acupuncture.initial_trial_quantity", "cases": 2, "of_deciding": 4}]
    # Where the outcome agrees, the reviewer's frequency criterion did not decide: the schedule is stated and within limits.
    assert reasons["reviewer_criteria_not_deciding"] == [{"criterion": "acupuncture.frequency", "engine_status": "met", "cases": 2}]


def test_extra_deciding_criterion_makes_reason_partial(tmp_path: Path) -> None:
    path = tmp_path / "four-a-week.yaml"
    path.write_text(
        'dates: {injury: "2016-01-04", request: "2016-03-01"}\n'
        "request: {treatment: acupuncture, body_regions: [lumbar_spine], quantity: 12, unit: visits, frequency_per_week: 4, purpose: initial}\n"
        "findings: {medication_reduced_or_not_tolerated: true}\n"
        "expected: {decision: non_certified, reviewer_criteria: [acupuncture.frequency]}\n"
    )
    _, s = summary_of(str(path))
    case = json.loads(run("agree", str(path), "--format", "json")[1])["cases"][0]
    assert case["reason_agreement"] == "partial", case
    assert "acupuncture.initial_trial_quantity" in case["deciding_without_reviewer"]


def test_unknown_reviewer_criterion_is_a_clear_error(tmp_path: Path) -> None:
    path = write_case(tmp_path, "typo", "  decision: modified\n  reviewer_criteria: [acupuncture.frequncy]")
    code, out, _ = run("agree", str(path))
    assert code == 1 and "unknown criterion 'acupuncture.frequncy'" in out and "expected.reviewer_criteria[0]" in out


def test_every_real_case_names_the_reviewers_criteria_unless_the_rationale_is_unreadable(kb: kb_core.KnowledgeBase) -> None:
    report = run_agreement(kb, [IMR])
    assert report.outcomes and not report.errors
    assert [o.path for o in report.outcomes if not o.real] == []
    unannotated = set(report.reasons()["real_cases_without_reviewer_criteria"])
    # Only decisions whose rationale could not be read go without the reviewer's criteria.
    for o in report.outcomes:
        assert o.case is not None and o.case.expected is not None
        rationale_unknown = "not visible" in (o.case.expected.reviewer_reasons or "").lower()
        assert (o.case.case_id in unannotated) == rationale_unknown, o.case.case_id
    assert len(unannotated) <= 3


def test_real_decisions_clear_the_ci_threshold_and_beat_both_baselines() -> None:
    # The threshold CI holds the real cases to: above the 0.5 balanced accuracy of both
    # baselines, with room for one more overturned decision missed (figures in docs/burden.md).
    code, out, err = run("agree", str(IMR), "--fail-under", "balanced=0.6")
    assert code == 0, err
    _, s = summary_of(str(IMR))
    real = s["real_decisions"]
    for baseline in real["baselines"].values():
        assert real["strict_agreement"] > baseline["strict_agreement"]
        assert real["balanced_accuracy"] > baseline["balanced_accuracy"]


def test_acupuncture_and_work_conditioning_decide_on_the_reviewers_grounds() -> None:
    _, s = summary_of(str(IMR))
    for treatment in ("acupuncture", "work_conditioning"):
        counts = s["reasons"]["per_treatment"][treatment]
        assert counts["different"] == 0, (treatment, counts)
    assert s["reasons"]["per_treatment"]["acupuncture"]["same"] >= 1


def test_a_pinned_criterion_status_must_match(tmp_path: Path) -> None:
    right = write_case(tmp_path, "right", "  decision: modified\n  criterion_status: {acupuncture.initial_trial_quantity: not_met}")
    wrong = write_case(tmp_path, "wrong", "  decision: modified\n  criterion_status: {acupuncture.initial_trial_quantity: not_documented}")
    cases = json.loads(run("agree", str(right), str(wrong), "--format", "json")[1])["cases"]
    assert cases[0]["mismatches"] == []
    assert cases[1]["mismatches"] == ["acupuncture.initial_trial_quantity not_met, expected not_documented"]


def test_partial_cases_are_split_by_the_kind_of_extra_ground(kb: kb_core.KnowledgeBase) -> None:
    report = run_agreement(kb, [IMR])
    partial = [o for o in report.scored if o.reason_agreement == "partial"]
    from_absence = [
        o for o in partial
        if any(r.criterion in o.unrelied and r.status is kb_core.Status.NOT_DOCUMENTED for r in o.determination.criteria)  # type: ignore[union-attr]
    ]
    reasons = report.reasons()
    assert partial and 0 < len(from_absence) < len(partial)
    assert reasons["partial_extra_from_absent_documentation"] == len(from_absence)


def test_reviewer_ground_deciding_counts_same_and_partial_on_the_real_cases(kb: kb_core.KnowledgeBase) -> None:
    report = run_agreement(kb, [IMR])
    reasons = report.reasons()
    relied_on = [o for o in report.scored if o.reason_agreement in ("same", "partial")]
    for o in relied_on:  # a certification agrees through the criteria found met, a denial through those deciding
        grounds = {r.criterion for r in o.determination.criteria if r.status is kb_core.Status.MET} if o.determination.decision is kb_core.Decision.CERTIFIED else set(o.deciding)  # type: ignore[union-attr]
        assert grounds & set(o.expected.reviewer_criteria or ()), o.path  # type: ignore[union-attr]
    assert reasons["reviewer_ground_deciding"] == len(relied_on) == reasons["same"] + reasons["partial"]
