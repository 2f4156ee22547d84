"""The plugin contract: discovery through entry points, load-time validation, fault isolation."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import kb_core
from conftest import load_first_party
from kb_core import Finding, evaluator, hookimpl

GUIDELINE = """\
treatments:
  massage_demo:
    title: Massage (demo)
    requested_as: [home_exercise]
    governed_by: [cpmtg-2009, cpmtg-2016]
    parameters:
      max_visits:
        value: 6
        unit: visits
        citation: {source: cpmtg, section: Massage therapy, pages: "60"}
        verification: {status: K}
    criteria:
      visits:
        title: At most six visits
        statement: Massage is limited to 4-6 visits in most cases.
        citation: {source: cpmtg, section: Massage therapy, pages: "60"}
        applies_to: [cpmtg-2009, cpmtg-2016]
        role: quantity
        facts: [request.quantity]
        parameters: [max_visits]
        documentation_needed: The number of visits.
        verification: {status: K}
"""
CASE = {"dates": {"request": "2015-03-02"}, "request": {"treatment": "home_exercise", "quantity": 8}}


@evaluator("massage_demo.visits")
def visits(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
    if case.request.quantity is None:
        return Finding.not_documented("no quantity")
    if case.request.quantity <= p["max_visits"]:
        return Finding.met("within")
    return Finding.not_met("too many", approvable=p["max_visits"])


def make_plugin(tmp_path: Path, evaluators: list[Any], text: str = GUIDELINE, stem: str = "massage_demo", **hooks: Any) -> object:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{stem}.yaml"
    path.write_text(text)

    class Plugin:
        @hookimpl
        def mtus_guideline_files(self) -> list[Path]:
            return [path]

        @hookimpl
        def mtus_evaluators(self) -> list[Any]:
            return evaluators

    plugin = Plugin()
    for name, func in hooks.items():
        setattr(plugin, name, func)
    return plugin


def test_hook_first_party_plugins_come_through_entry_points(kb: kb_core.KnowledgeBase) -> None:
    record = kb.plugins["work_conditioning"]
    assert record.distribution == "mtus-kb" and record.module == "kb_plugins.work_conditioning"


def test_hook_a_third_party_plugin_adds_a_treatment(tmp_path: Path) -> None:
    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [visits]))])
    det = kb.evaluate(CASE)
    assert det.decision is kb_core.Decision.MODIFIED and det.approved_quantity == 6
    assert det.criteria[0].citation.endswith("Massage therapy, p.60")
    assert "massage_demo" in det.receipt.plugins


def test_plugins_change_the_digest(tmp_path: Path, kb: kb_core.KnowledgeBase) -> None:
    assert load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [visits]))]).digest != kb.digest


def test_missing_evaluator_is_a_load_error_naming_the_plugin(tmp_path: Path) -> None:
    with pytest.raises(kb_core.PluginError, match="plugin 'massage_demo': no evaluator for criterion 'massage_demo.visits'"):
        load_first_party(strict=True, plugins=[("massage_demo", make_plugin(tmp_path, []))])


def test_duplicate_evaluator_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(kb_core.PluginError, match="second evaluator for 'massage_demo.visits'"):
        load_first_party(strict=True, plugins=[("massage_demo", make_plugin(tmp_path, [visits, visits]))])


def test_unknown_criterion_evaluator_is_a_load_error(tmp_path: Path) -> None:
    stray = evaluator("massage_demo.frequency")(visits.func)
    with pytest.raises(kb_core.PluginError, match="unknown criterion 'massage_demo.frequency'"):
        load_first_party(strict=True, plugins=[("massage_demo", make_plugin(tmp_path, [visits, stray]))])


def test_hook_misspelled_hook_is_a_load_error(tmp_path: Path) -> None:
    @hookimpl
    def mtus_evaluator() -> list[Any]:
        return []

    with pytest.raises(kb_core.PluginError, match="massage_demo"):
        load_first_party(strict=True, plugins=[("massage_demo", make_plugin(tmp_path, [visits], mtus_evaluator=mtus_evaluator))])


def test_hook_plugin_needing_another_core_version_is_refused(tmp_path: Path) -> None:
    @hookimpl
    def mtus_plugin_info() -> dict[str, str]:
        return {"requires_core": ">=99"}

    with pytest.raises(kb_core.PluginError, match="needs kb_core >=99"):
        load_first_party(strict=True, plugins=[("massage_demo", make_plugin(tmp_path, [visits], mtus_plugin_info=mtus_plugin_info))])


def test_raising_evaluator_is_isolated_and_named(tmp_path: Path) -> None:
    @evaluator("massage_demo.visits")
    def broken(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        raise ZeroDivisionError("boom")

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [broken]))])
    det = kb.evaluate(CASE)
    assert det.decision is kb_core.Decision.ERROR
    assert det.criteria[0].status is kb_core.Status.ERROR and "massage_demo" in det.criteria[0].reason
    assert "ZeroDivisionError" in det.criteria[0].reason
    # other treatments still evaluate
    assert kb.evaluate(Path(__file__).parent.parent / "examples" / "seed-work-conditioning.yaml").decision is kb_core.Decision.NON_CERTIFIED
    with pytest.raises(kb_core.EvaluatorError, match="massage_demo"):
        kb.evaluate(CASE, strict=True)


def test_garbage_returning_evaluator_is_isolated(tmp_path: Path) -> None:
    @evaluator("massage_demo.visits")
    def garbage(case: kb_core.Case, p: Mapping[str, Any]) -> Any:
        return {"status": "met"}

    det = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [garbage]))]).evaluate(CASE)
    assert det.criteria[0].status is kb_core.Status.ERROR and "not a Finding" in det.criteria[0].reason


def test_hook_sample_cases_feed_the_conformance_kit(tmp_path: Path) -> None:
    from kb_core.testing import check_plugin

    case = tmp_path / "eight-visits.yaml"
    case.write_text("dates: {request: '2015-03-02'}\nrequest: {treatment: home_exercise, quantity: 8}\nexpected: {decision: modified, approved_quantity: 6}\n")

    @hookimpl
    def mtus_sample_cases() -> list[Path]:
        return [case]

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [visits], mtus_sample_cases=mtus_sample_cases))])
    report = check_plugin("massage_demo", kb=kb, examples=10)
    assert report.ok, report.problems
    assert report.sample_cases == report.sample_cases_agreeing == 1
    case.write_text(case.read_text().replace("approved_quantity: 6", "approved_quantity: 5"))
    assert any("approved quantity 6, expected 5" in p for p in check_plugin("massage_demo", kb=kb, examples=10).problems)


def test_hook_combine_override_by_plugin(tmp_path: Path) -> None:
    @hookimpl
    def mtus_combine(treatment: str, results: Any, case: Any) -> Any:
        if treatment == "massage_demo":
            return (kb_core.Decision.NON_CERTIFIED, 0, "this payer never modifies")
        return None

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [visits], mtus_combine=mtus_combine))])
    assert kb.evaluate(CASE).summary == "this payer never modifies"
    assert kb.evaluate(Path(__file__).parent.parent / "examples" / "seed-work-conditioning.yaml").decision is kb_core.Decision.NON_CERTIFIED


def test_disabling_a_plugin_removes_its_treatment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "work_conditioning" not in load_first_party(disable=["work_conditioning"]).treatments
    monkeypatch.setenv("MTUS_DISABLE_PLUGINS", "work_conditioning")
    assert "work_conditioning" not in load_first_party().treatments


def test_every_hook_has_a_test() -> None:
    from kb_core import hookspecs

    hooks = [name for name in dir(hookspecs) if name.startswith("mtus_")]
    source = Path(__file__).read_text()
    for hook in hooks:
        assert hook in source, f"no test exercises {hook}"


def test_slow_evaluator_overruns_its_plugins_time_budget_and_is_named(tmp_path: Path) -> None:
    import time

    @evaluator("massage_demo.visits")
    def slow(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        time.sleep(0.3)  # the budget is checked when it returns: no signal interrupts plugin code
        return Finding.met("late")

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [slow]))])
    kb.time_limit = 0.2
    det = kb.evaluate(CASE)
    assert det.criteria[0].status is kb_core.Status.ERROR and "did not finish within the plugin's time budget of 0.2 s" in det.criteria[0].reason
    assert "plugin 'massage_demo'" in det.criteria[0].reason and det.decision is kb_core.Decision.ERROR
    # the knowledge base is still usable, and other treatments evaluate
    assert kb.evaluate(Path(__file__).parent.parent / "examples" / "seed-work-conditioning.yaml").decision is kb_core.Decision.NON_CERTIFIED


ODG_MASSAGE = GUIDELINE.replace("massage_demo", "massage_odg").replace("governed_by: [cpmtg-2009, cpmtg-2016]", "governed_by: [odg]").replace(
    "applies_to: [cpmtg-2009, cpmtg-2016]", "applies_to: [odg]").replace("source: cpmtg, section: Massage therapy, pages: \"60\"", "source: odg, section: Massage")


def _second_plugin(tmp_path: Path, text: str, stem: str) -> object:
    return make_plugin(tmp_path, [evaluator(f"{stem}.visits")(visits.func)], text=text, stem=stem)


def test_precedence_goes_by_evidence_tier_not_registration_order(tmp_path: Path) -> None:
    mtus = ("massage_demo", make_plugin(tmp_path, [visits]))
    odg = ("massage_odg", _second_plugin(tmp_path, ODG_MASSAGE, "massage_odg"))
    for order in ([mtus, odg], [odg, mtus]):
        kb = load_first_party(plugins=order)
        assert kb.evaluate(CASE).treatment == "massage_demo"  # MTUS in force in 2015
        # from 2017-12-01 no MTUS version of massage_demo governs: the ODG tier decides
        later = {**CASE, "dates": {"request": "2018-03-01"}}
        assert kb.evaluate(later).treatment == "massage_odg"


def test_same_tier_overlap_is_a_reported_conflict(tmp_path: Path) -> None:
    twin = GUIDELINE.replace("massage_demo", "massage_twin")
    with pytest.raises(kb_core.PluginError, match="both judge 'home_exercise' requests at tier mtus"):
        load_first_party(strict=True, plugins=[("massage_demo", make_plugin(tmp_path, [visits])), ("massage_twin", _second_plugin(tmp_path, twin, "massage_twin"))])
    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [visits])), ("massage_twin", _second_plugin(tmp_path, twin, "massage_twin"))])
    assert list(kb.skipped_plugins) == ["massage_twin"] and kb.evaluate(CASE).treatment == "massage_demo"


def test_hook_combine_with_fewer_arguments_and_a_failing_combine(tmp_path: Path) -> None:
    @hookimpl
    def mtus_combine(treatment: str) -> Any:  # declares only what it needs
        if treatment == "massage_demo":
            raise RuntimeError("combine broke")
        return None

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [visits], mtus_combine=mtus_combine))])
    det = kb.evaluate(CASE)
    assert det.decision is kb_core.Decision.ERROR and "plugin 'massage_demo'" in det.summary and "combine broke" in det.summary
    assert kb.evaluate(Path(__file__).parent.parent / "examples" / "seed-work-conditioning.yaml").decision is kb_core.Decision.NON_CERTIFIED
    with pytest.raises(kb_core.PluginError, match="massage_demo"):
        kb.evaluate(CASE, strict=True)


def test_a_broken_plugin_is_left_out_and_named_unless_strict(tmp_path: Path) -> None:
    broken_yaml = make_plugin(tmp_path / "a", [visits], text=GUIDELINE.replace("title: At most six visits", "titel: typo"), stem="massage_demo")
    kb = load_first_party(plugins=[("massage_demo", broken_yaml)])
    assert "massage_demo" in kb.skipped_plugins and "unknown key 'titel'" in kb.skipped_plugins["massage_demo"]
    assert kb.evaluate(Path(__file__).parent.parent / "examples" / "seed-work-conditioning.yaml").decision is kb_core.Decision.NON_CERTIFIED
    with pytest.raises(kb_core.GuidelineError, match="titel"):
        load_first_party(plugins=[("massage_demo", broken_yaml)], strict=True)
    no_evaluators = make_plugin(tmp_path / "b", [])
    assert "no evaluator" in load_first_party(plugins=[("massage_demo", no_evaluators)]).skipped_plugins["massage_demo"]


def test_an_installed_plugin_that_cannot_be_imported_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint, entry_points

    from kb_core import _plugins

    broken = EntryPoint(name="broken_plugin", value="no_such_module_for_mtus", group="mtus")
    real = [ep for ep in entry_points(group="mtus")]
    monkeypatch.setattr(_plugins, "entry_points", lambda group: [*real, broken])
    kb = load_first_party()
    assert "cannot be imported" in kb.skipped_plugins["broken_plugin"]
    assert "work_conditioning" in kb.treatments
    with pytest.raises(kb_core.PluginError, match="plugin 'broken_plugin'"):
        load_first_party(strict=True)


def test_hook_a_fact_under_extra_is_recorded_in_the_trace(tmp_path: Path) -> None:
    """Third-party criteria may read facts kept under ``extra`` (a read-only mapping in the case)."""
    text = GUIDELINE.replace("facts: [request.quantity]", "facts: [request.quantity, extra.pain_score, extra.missing]")

    @evaluator("massage_demo.visits")
    def with_extra(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        return visits(case, p)

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [with_extra], text=text))])
    facts = kb.evaluate({**CASE, "extra": {"pain_score": 7}}).criteria[0].facts
    assert facts["extra.pain_score"] == 7 and facts["extra.missing"] is None and facts["request.quantity"] == 8
