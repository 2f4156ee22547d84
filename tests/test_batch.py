"""kb.decide_many: the batch path without a trace reaches exactly what kb.evaluate reaches.

Every comparison is made at run time against ``kb.evaluate`` (the source of truth), on every
sample case and on generated cases, so it holds while the rules themselves change.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kb_core
from conftest import load_first_party, sample_case_files
from kb_core.testing import case_dicts, one_fact_varied
from test_plugins import CASE, make_plugin, visits

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILES = sample_case_files()
KB = load_first_party()
BUDGET = settings(max_examples=min(settings().max_examples, 150))  # the ci profile asks 300: bounded here


def _sample_cases() -> list[kb_core.Case]:
    cases = []
    for path in SAMPLE_FILES:
        try:
            case = kb_core.load_case(path)
            KB.evaluate(case)
        except kb_core.KBError:  # a sample of a malformed case: evaluate and decide both refuse it (tested below)
            continue
        cases.append(case)
    return cases


SAMPLES = _sample_cases()


def _what_evaluate_decides(kb: kb_core.KnowledgeBase, case: Any, strict: bool = False) -> tuple[Any, ...]:
    det = kb.evaluate(case, strict=strict)
    return (det.case_id, det.treatment, det.decision, det.requested_quantity, det.approved_quantity, det.deciding_criteria)


def _same(kb: kb_core.KnowledgeBase, case: Any) -> None:
    record = kb.decide(case)
    assert type(record) is kb_core.DecisionRecord
    assert tuple(record) == _what_evaluate_decides(kb, case), getattr(case, "path", case)


def test_every_sample_case_gets_evaluates_decision_quantities_and_deciding_criteria() -> None:
    assert len(SAMPLES) > 100  # the sample set is really there
    expected = [_what_evaluate_decides(KB, case) for case in SAMPLES]
    assert [tuple(record) for record in KB.decide_many(SAMPLES)] == expected
    for case in SAMPLES:
        _same(KB, case)


def test_sample_cases_cover_the_paths_decide_treats_apart() -> None:
    """The comparison above reaches every decision, the ends before any criterion runs and a
    licensed text: the paths decide hands to evaluate are compared too."""
    decisions = {KB.evaluate(case).decision for case in SAMPLES}
    assert {kb_core.Decision.CERTIFIED, kb_core.Decision.MODIFIED, kb_core.Decision.NON_CERTIFIED} <= decisions
    assert {kb_core.Decision.NO_CRITERIA, kb_core.Decision.CRITERIA_UNAVAILABLE, kb_core.Decision.NOT_ADDRESSED} <= decisions


def test_the_lean_path_decides_most_sample_cases_without_evaluate(monkeypatch: pytest.MonkeyPatch) -> None:
    """decide is not evaluate in disguise: with evaluate unavailable, the common cases are
    still decided, the same way."""
    kb = load_first_party()
    expected = {id(case): _what_evaluate_decides(kb, case) for case in SAMPLES}

    def no_evaluate(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("evaluate called")

    monkeypatch.setattr(kb, "evaluate", no_evaluate)
    lean = 0
    for case in SAMPLES:
        try:
            record = kb.decide(case)
        except AssertionError:
            continue
        assert tuple(record) == expected[id(case)], case.path
        lean += 1
    assert lean >= 0.7 * len(SAMPLES)


def test_mappings_and_paths_are_accepted_as_evaluate_accepts_them() -> None:
    seed = ROOT / "examples" / "seed-work-conditioning.yaml"
    assert KB.decide(seed) == KB.decide(str(seed)) == KB.decide(kb_core.load_case(seed))
    _same(KB, seed)
    _same(KB, CASE | {"request": {"treatment": "work_conditioning", "quantity": 10}})


def test_a_malformed_case_is_refused_as_evaluate_refuses_it() -> None:
    bad = {"dates": {"request": "2015-03-02"}, "request": {"treatment": "no_such_treatment"}}
    with pytest.raises(kb_core.CaseError) as by_evaluate:
        KB.evaluate(bad)
    with pytest.raises(kb_core.CaseError) as by_decide:
        KB.decide_many([SAMPLES[0], bad])
    assert str(by_decide.value) == str(by_evaluate.value)


def test_the_garbage_collector_is_restored_also_on_error() -> None:
    assert gc.isenabled()
    KB.decide_many(SAMPLES[:3])
    assert gc.isenabled()
    with pytest.raises(kb_core.CaseError):
        KB.decide_many([{"request": {}}])
    assert gc.isenabled()


@BUDGET
@given(st.sampled_from(sorted(kind for t in KB.guidelines.treatments.values() for kind in t.requested_as)).flatmap(lambda kind: case_dicts(KB, kind)))
def test_generated_cases_from_the_whole_format(case: dict[str, Any]) -> None:
    _same(KB, case)


def _certified_seeds() -> dict[str, list[dict[str, Any]]]:
    import yaml

    seeds: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((ROOT / "tests" / "cases").rglob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        data.pop("expected", None)
        try:
            certified = KB.evaluate(data).decision is kb_core.Decision.CERTIFIED
        except kb_core.KBError:
            continue
        if certified:
            seeds.setdefault(data["request"]["treatment"], []).append(data)
    return seeds


SEEDS = _certified_seeds()


@BUDGET
@given(st.sampled_from(sorted(SEEDS)).flatmap(lambda kind: one_fact_varied(KB, kind, SEEDS[kind])))
def test_generated_cases_one_fact_from_certified(case: dict[str, Any]) -> None:
    """Near certification, where quantity criteria modify and burdens decide."""
    _same(KB, case)


# ---------------------------------------------------------------- what decide hands to evaluate


def test_a_plugins_own_combine_hook_decides_as_in_evaluate(tmp_path: Path) -> None:
    from kb_core import hookimpl

    @hookimpl
    def mtus_combine(treatment: str, results: Any, case: Any) -> Any:
        return (kb_core.Decision.NON_CERTIFIED, 0, "this payer never modifies") if treatment == "massage_demo" else None

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [visits], mtus_combine=mtus_combine))])
    assert kb.decide(CASE).decision is kb_core.Decision.NON_CERTIFIED  # the default rule would modify
    _same(kb, CASE)
    _same(kb, ROOT / "examples" / "seed-work-conditioning.yaml")


@pytest.mark.parametrize("returned", ["raise", "not a finding", "bad approvable", "bad facts", "exit"])
def test_a_failing_or_misbehaving_evaluator_is_an_error_as_in_evaluate(tmp_path: Path, returned: str) -> None:
    @kb_core.evaluator("massage_demo.visits")
    def broken(case: kb_core.Case, p: Mapping[str, Any]) -> Any:
        if returned == "raise":
            raise RuntimeError("broke")
        if returned == "exit":
            raise SystemExit(3)
        if returned == "bad approvable":
            return kb_core.Finding.not_met("too many", approvable=-1)
        if returned == "bad facts":
            return kb_core.Finding.met("fine", facts={"when": object()})
        return "met"

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [broken]))])
    record = kb.decide(CASE)
    assert record.decision is kb_core.Decision.ERROR and record.deciding_criteria == ("massage_demo.visits",)
    _same(kb, CASE)
    with pytest.raises(kb_core.EvaluatorError, match="massage_demo"):
        kb.decide(CASE, strict=True)


def test_an_evaluator_over_the_time_budget_is_an_error_as_in_evaluate(tmp_path: Path) -> None:
    import time

    @kb_core.evaluator("massage_demo.visits")
    def slow(case: kb_core.Case, p: Mapping[str, Any]) -> kb_core.Finding:
        time.sleep(0.05)
        return kb_core.Finding.met("late")

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [slow]))])
    kb.time_limit = 0.01
    assert kb.decide(CASE).decision is kb_core.Decision.ERROR
    _same(kb, CASE)
    kb.time_limit = None  # no budget: the lean path runs it through
    assert kb.decide(CASE).decision is kb_core.Decision.CERTIFIED
    _same(kb, CASE)


def test_an_interrupt_in_an_evaluator_is_raised_and_named(tmp_path: Path) -> None:
    @kb_core.evaluator("massage_demo.visits")
    def interrupted(case: kb_core.Case, p: Mapping[str, Any]) -> kb_core.Finding:
        raise KeyboardInterrupt

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [interrupted]))])
    with pytest.raises(KeyboardInterrupt) as caught:
        kb.decide(CASE)
    assert any("massage_demo.visits" in note for note in caught.value.__notes__)
