"""Issue 9: no wrong determination from bad input, no plugin taking over another's treatment,
no traceback for any input. One test (at least) per reproduction of the issue, numbered as
there (R1..R15), and one per isolation guarantee of docs/plugins.md (G1..G12)."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import kb_core
from conftest import load_first_party
from kb_core import Decision, Status
from kb_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
SEED = ROOT / "examples" / "seed-work-conditioning.yaml"
KNEE = CASES / "chiropractic" / "knee-not-recommended.yaml"
ACU_CERTIFIED = CASES / "acupuncture" / "three-a-week-is-certified.yaml"
WC_CERTIFIED = CASES / "work_conditioning" / "heavy-job-all-criteria-met-is-certified.yaml"
sys.path.insert(0, str(ROOT / "tests" / "hostile"))

import hostile_plugins as hostile  # noqa: E402


def run(*args: str, kb: kb_core.KnowledgeBase | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    """The CLI in-process; with ``kb`` the command uses that knowledge base."""
    if kb is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("kb_core.cli.load", lambda **_: kb)
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def edited(tmp_path: Path, source: Path, old: str, new: str, name: str | None = None) -> Path:
    text = source.read_text()
    assert old in text, old
    out = tmp_path / (name or source.name)
    out.write_text(text.replace(old, new, 1))
    return out


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> Any:
        raise AssertionError(f"{constant} in JSON output")

    return json.loads(text, parse_constant=refuse)


# ---------------------------------------------------------------- R1, R13: numbers


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_r1_nan_or_infinite_frequency_is_a_case_error_not_a_certification(tmp_path: Path, kb: kb_core.KnowledgeBase, value: str) -> None:
    bad = edited(tmp_path, ACU_CERTIFIED, "frequency_per_week: 3", f"frequency_per_week: {value}")
    with pytest.raises(kb_core.CaseError, match="not a finite number") as info:
        kb.evaluate(bad)
    assert info.value.line == 15 and info.value.where == "request.frequency_per_week"
    code, out, err = run("evaluate", str(bad), "--format", "json")
    assert code == 1 and out == "" and "not a finite number" in err and "Traceback" not in err


@pytest.mark.parametrize("value", [".nan", ".inf"])
def test_r1_nan_tolerance_does_not_keep_a_certification(tmp_path: Path, kb: kb_core.KnowledgeBase, value: str) -> None:
    assert kb.evaluate(WC_CERTIFIED).decision is Decision.CERTIFIED
    bad = edited(tmp_path, WC_CERTIFIED, "tolerance_hours_per_day: 5", f"tolerance_hours_per_day: {value}")
    with pytest.raises(kb_core.CaseError, match="finite"):
        kb.evaluate(bad)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_r1_nan_frequency_without_quantity_is_a_case_error_for_a_mapping_too(kb: kb_core.KnowledgeBase, value: float) -> None:
    case = {"dates": {"request": "2015-03-02"}, "request": {"treatment": "acupuncture", "frequency_per_week": value, "duration_weeks": 4}}
    with pytest.raises(kb_core.CaseError, match="request.frequency_per_week"):
        kb.evaluate(case)


@pytest.mark.parametrize("request_facts", [
    {"frequency_per_week": 1e308, "duration_weeks": 10},  # the product overflowed to inf: OverflowError
    {"quantity": 10**40},
    {"quantity": 5, "unit": "hours", "hours_per_day": 1e300},
])
def test_r1_numbers_out_of_range_are_case_errors(kb: kb_core.KnowledgeBase, request_facts: dict[str, Any]) -> None:
    with pytest.raises(kb_core.CaseError, match="greater than the maximum"):
        kb.evaluate({"dates": {"request": "2015-03-02"}, "request": {"treatment": "acupuncture", **request_facts}})


def test_r1_json_output_never_contains_nan(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate(SEED)
    result = det.criteria[0]._replace(facts={"ratio": float("nan"), "limit": float("inf")})
    import dataclasses

    text = kb_core.determination_json(dataclasses.replace(det, criteria=(result,)))
    assert strict_json(text)["criteria"][0]["facts"] == {"ratio": "nan", "limit": "inf"}


@pytest.mark.parametrize("key,value", [("quantity", "10.0"), ("ur_authorized_quantity", "2.0")])
def test_r13_float_counts_are_refused(tmp_path: Path, kb: kb_core.KnowledgeBase, key: str, value: str) -> None:
    bad = tmp_path / "float.yaml"
    bad.write_text(f"dates: {{request: '2015-03-02'}}\nrequest: {{treatment: acupuncture, {key}: {value}}}\n")
    with pytest.raises(kb_core.CaseError, match="is not of type 'integer'"):
        kb.evaluate(bad)


def test_r13_prior_count_as_float_is_refused(kb: kb_core.KnowledgeBase) -> None:
    case = {"dates": {"request": "2015-03-02"}, "request": {"treatment": "acupuncture", "quantity": 2}, "prior_treatments": [{"treatment": "acupuncture", "count": 4.0}]}
    with pytest.raises(kb_core.CaseError, match=r"prior_treatments\[0\].count"):
        kb.evaluate(case)


# ---------------------------------------------------------------- R9: guideline numbers

# A list or table for this one count ([18]) is refused too: the parameter declares shape: scalar.
BAD_VISIT_COUNTS = ['"18"', "eighteen", "true", "{a: x}", "[18]", ".nan", ".inf", "-1", "6.5", "18.0"]


@pytest.mark.parametrize("value", BAD_VISIT_COUNTS)
def test_r9_bad_visit_count_in_a_guideline_fails_validate_with_file_and_line(tmp_path: Path, value: str) -> None:
    bad = edited(tmp_path, ROOT / "guidelines" / "chiropractic.yaml", "      low_back_max_visits:\n        shape: scalar\n        value: 18", f"      low_back_max_visits:\n        shape: scalar\n        value: {value}")
    code, _, err = run("validate", str(bad))
    value_line = (ROOT / "guidelines" / "chiropractic.yaml").read_text().split("      low_back_max_visits:\n")[0].count("\n") + 3
    assert code == 1 and f"chiropractic.yaml:{value_line}" in err, err
    assert "Traceback" not in err


def test_r9_table_of_counts_must_hold_whole_numbers(tmp_path: Path) -> None:
    bad = edited(tmp_path, ROOT / "guidelines" / "physical_medicine.yaml", "crps: 24", "crps: 24.5")
    code, _, err = run("validate", str(bad))
    assert code == 1 and "physical_medicine.yaml:" in err


def test_r9_nan_anywhere_in_a_guideline_is_refused(tmp_path: Path) -> None:
    bad = edited(tmp_path, ROOT / "guidelines" / "physical_medicine.yaml", "value: 0.5", "value: .nan")
    with pytest.raises(kb_core.GuidelineError, match="not a finite number"):
        kb_core.load(guidelines=_dir_with(tmp_path, bad))


def _dir_with(tmp_path: Path, *files: Path) -> Path:
    folder = tmp_path / "guidelines-dir"
    folder.mkdir(exist_ok=True)
    for f in files:
        shutil.copy(f, folder / f.name)
    return folder


# ---------------------------------------------------------------- R2: takeover


def test_r2_g1_third_party_cannot_judge_a_first_party_kind_without_superseding(tmp_path: Path) -> None:
    """G1: a third-party treatment at the same or a higher tier as a first-party one is left
    out, named, whatever its name sorts as; the first-party plugin keeps judging."""
    kb = load_first_party(plugins=[("aaa_takeover", hostile.takeover_plugin(tmp_path, supersedes=False))])
    assert "aaa_takeover" in kb.skipped_plugins and "supersedes: [chiropractic]" in kb.skipped_plugins["aaa_takeover"]
    assert "chiropractic" in kb.plugins
    det = kb.evaluate(KNEE)
    assert det.treatment == "chiropractic" and det.decision is not Decision.CERTIFIED
    with pytest.raises(kb_core.PluginError, match="aaa_takeover"):
        load_first_party(strict=True, plugins=[("aaa_takeover", hostile.takeover_plugin(tmp_path, supersedes=False))])


def test_r2_g2_declared_supersession_is_shown_and_strict_needs_it_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """G2: ``supersedes:`` replaces a treatment only as declared: shown in every receipt and
    by ``mtus plugins``; strict loading refuses it unless the plugin is allowed by name."""
    plugin = ("aaa_takeover", hostile.takeover_plugin(tmp_path, supersedes=True))
    kb = load_first_party(plugins=[plugin])
    det = kb.evaluate(KNEE)
    assert det.treatment == "aaa_chiropractic"
    assert det.receipt.supersessions and "chiropractic superseded by aaa_chiropractic (plugin 'aaa_takeover'" in det.receipt.supersessions[0]
    assert "SUPERSEDED: chiropractic superseded by aaa_chiropractic" in kb_core.determination_text(det)
    assert strict_json(kb_core.determination_json(det))["receipt"]["supersessions"] == list(det.receipt.supersessions)
    other = kb.evaluate(SEED)  # every receipt, not only the superseded treatment's
    assert other.receipt.supersessions == det.receipt.supersessions
    code, out, _ = run("plugins", "--no-conformance", kb=kb, monkeypatch=monkeypatch)
    assert code == 0 and "SUPERSEDES: chiropractic superseded by aaa_chiropractic" in out
    with pytest.raises(kb_core.PluginError, match="strict loading refuses"):
        load_first_party(strict=True, plugins=[plugin])
    assert load_first_party(strict=True, plugins=[plugin], allow_supersede=["aaa_takeover"]).evaluate(KNEE).treatment == "aaa_chiropractic"
    # without a supersession the receipt has no such key (output of other cases unchanged)
    assert "supersessions" not in strict_json(kb_core.determination_json(load_first_party().evaluate(KNEE)))["receipt"]


def test_r2_g1_redeclaring_a_first_party_treatment_blames_the_third_party(tmp_path: Path) -> None:
    kb = load_first_party(plugins=[("aaa", hostile.redeclaring_plugin(tmp_path))])
    assert list(kb.skipped_plugins) == ["aaa"] and "declared twice" in kb.skipped_plugins["aaa"]
    assert "acupuncture" in kb.treatments and kb.evaluate(ACU_CERTIFIED).decision is Decision.CERTIFIED


def test_r2_g1_an_evaluator_for_another_plugins_criterion_is_refused(tmp_path: Path) -> None:
    @kb_core.evaluator("acupuncture.initial_trial")
    def steal(case: Any, p: Any) -> kb_core.Finding:
        return kb_core.Finding.met("stolen")

    class Thief:
        @kb_core.hookimpl
        def mtus_evaluators(self) -> list[Any]:
            return [steal]

    kb = load_first_party(plugins=[("aaa_thief", Thief())])
    assert "aaa_thief" in kb.skipped_plugins and "acupuncture" in kb.plugins


def test_r2_g1_a_third_party_program_group_cannot_name_a_first_party_kind(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(
        "program_groups:\n  my_programs:\n    title: Similar programs\n    members: [work_conditioning, massage]\n"
        "    citation: {source: cpmtg, section: Anything}\n    verification: {status: K}\n"
    )

    class Grouper:
        @kb_core.hookimpl
        def mtus_guideline_files(self) -> list[Path]:
            return [path]

    kb = load_first_party(plugins=[("aaa_groups", Grouper())])
    assert "program group 'my_programs' names 'work_conditioning'" in kb.skipped_plugins["aaa_groups"]
    assert kb.relation("work_conditioning", "same_or_similar_program") == load_first_party().relation("work_conditioning", "same_or_similar_program")


class _FakeDist:
    def __init__(self, name: str) -> None:
        self.name, self.version = name, "6.6.6"


class _FakeEntryPoint:
    """An installed entry point from another distribution (no installation needed)."""

    def __init__(self, name: str, value: str, dist: str = "evil-dist") -> None:
        self.name, self.value, self.group, self.dist = name, value, "mtus", _FakeDist(dist)

    def load(self) -> Any:
        import importlib

        return importlib.import_module(self.value)


def _with_entry_points(monkeypatch: pytest.MonkeyPatch, *extra: _FakeEntryPoint) -> None:
    from importlib.metadata import entry_points

    real = list(entry_points(group="mtus"))
    monkeypatch.setattr("kb_core._plugins.entry_points", lambda group: [*real, *extra])


@pytest.mark.parametrize("name", ["acupuncture", "kb_core"])
def test_r2_g3_reserved_entry_point_names_are_refused(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """G3: an entry point named ``kb_core`` or like a first-party plugin, from another
    distribution, is never imported; it is listed as left out and everything else works."""
    _with_entry_points(monkeypatch, _FakeEntryPoint(name, "hostile_plugins"))
    kb = load_first_party()
    assert f"{name} (evil-dist)" in kb.skipped_plugins and "reserved" in kb.skipped_plugins[f"{name} (evil-dist)"]
    assert kb.plugins["acupuncture"].first_party and kb.plugins["acupuncture"].module == "kb_plugins.acupuncture"
    assert kb.evaluate(ACU_CERTIFIED).decision is Decision.CERTIFIED
    with pytest.raises(kb_core.PluginError, match="reserved"):
        load_first_party(strict=True)
    code, out, _ = run("evaluate", str(ACU_CERTIFIED))
    assert code == 0 and out.startswith("DECISION: CERTIFIED")


@pytest.mark.parametrize("name", ["kb_core", "acupuncture", "chiropractic"])
def test_r2_new_plugin_refuses_reserved_names(tmp_path: Path, name: str) -> None:
    code, _, err = run("new-plugin", name, "--directory", str(tmp_path))
    assert code == 1 and "reserved" in err and not any(tmp_path.iterdir())


def test_r2_extra_plugin_under_a_reserved_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(kb_core.PluginError, match="reserved"):
        load_first_party(plugins=[("acupuncture", hostile.plugin(tmp_path))])


# ---------------------------------------------------------------- R3: combine


@pytest.mark.parametrize("mode", hostile.COMBINE_MODES)
def test_r3_g4_a_plugins_combine_never_decides_another_plugins_treatment(tmp_path: Path, mode: str) -> None:
    """G4: a plugin's mtus_combine is asked only about its own treatments; whatever it does
    there, other treatments' decisions are kb_core's, even under strict."""
    kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path, combine_mode=mode))])
    reference = load_first_party()
    for path in (SEED, KNEE, ACU_CERTIFIED):
        assert kb.evaluate(path).decision is reference.evaluate(path).decision
        assert kb.evaluate(path, strict=True).decision is reference.evaluate(path).decision


@pytest.mark.parametrize("mode", [m for m in hostile.COMBINE_MODES if m != "overreach"])
def test_r3_g5_garbage_from_a_combine_is_an_error_naming_its_plugin(tmp_path: Path, mode: str) -> None:
    """G5: a combine result outside the contract, an exception or sys.exit is the decision
    ``error`` naming the plugin (PluginError under strict)."""
    kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path, combine_mode=mode))])
    det = kb.evaluate(hostile.MASSAGE_CASE)
    assert det.decision is Decision.ERROR and "plugin 'hostile'" in det.summary and "plugin 'kb_core'" not in det.summary
    with pytest.raises(kb_core.PluginError) as info:
        kb.evaluate(hostile.MASSAGE_CASE, strict=True)
    assert info.value.plugin == "hostile"


def test_r3_g6_a_slow_combine_overruns_its_budget(tmp_path: Path) -> None:
    kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path, combine_mode="slow", combine_sleep=0.15))])
    kb.time_limit = 0.1
    det = kb.evaluate(hostile.MASSAGE_CASE)
    assert all(r.status is Status.MET for r in det.criteria)
    assert det.decision is Decision.ERROR and "plugin 'hostile'" in det.summary and "time budget of 0.1 s" in det.summary


# ---------------------------------------------------------------- R4, R7: evaluator results


@pytest.mark.parametrize("mode", [m for m in hostile.EVALUATOR_MODES if m != "interrupt"])
def test_r4_r7_g7_a_misbehaving_evaluator_is_an_error_naming_its_plugin(tmp_path: Path, mode: str) -> None:
    """G7: an evaluator that raises (SystemExit too) or returns anything outside the Finding
    contract gets an ``error`` result naming its plugin; output stays valid text and JSON."""
    kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path, evaluator_mode=mode))])
    det = kb.evaluate(hostile.MASSAGE_CASE)
    first = det.criteria[0]
    assert first.status is Status.ERROR and first.reason.startswith("plugin 'hostile': ") and det.decision is Decision.ERROR
    assert det.criteria[1].status is Status.MET
    kb_core.determination_text(det).encode("utf-8")
    strict_json(kb_core.determination_json(det))
    with pytest.raises(kb_core.EvaluatorError) as info:
        kb.evaluate(hostile.MASSAGE_CASE, strict=True)
    assert info.value.plugin == "hostile"


def test_r4_sys_exit_in_an_evaluator_prints_the_error_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path, evaluator_mode="exit0"))])
    case = tmp_path / "massage.yaml"
    case.write_text(json.dumps(hostile.MASSAGE_CASE))
    code, out, _ = run("evaluate", str(case), kb=kb, monkeypatch=monkeypatch)
    assert code == 1 and out.startswith("DECISION: ERROR") and "called sys.exit(0)" in " ".join(out.split())


def test_r4_g8_keyboard_interrupt_from_plugin_code_is_named_and_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """G8: KeyboardInterrupt is not swallowed: it propagates with a note naming the plugin and
    criterion, and ``mtus`` exits 130 saying so."""
    kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path, evaluator_mode="interrupt"))])
    with pytest.raises(KeyboardInterrupt) as info:
        kb.evaluate(hostile.MASSAGE_CASE)
    assert "plugin 'hostile'" in " ".join(info.value.__notes__)
    case = tmp_path / "massage.yaml"
    case.write_text(json.dumps(hostile.MASSAGE_CASE))
    code, _, err = run("evaluate", str(case), kb=kb, monkeypatch=monkeypatch)
    assert code == 130 and "interrupted" in err and "plugin 'hostile'" in err


def test_r7_approvable_true_or_float_never_modifies(tmp_path: Path) -> None:
    for mode in ("approvable_true", "approvable_float", "approvable_str"):
        kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path / mode, evaluator_mode=mode))])
        det = kb.evaluate({**hostile.MASSAGE_CASE, "request": {**hostile.MASSAGE_CASE["request"], "quantity": 8}})
        assert det.decision is Decision.ERROR and "Modified" not in det.summary and "kb_core" not in det.summary


# ---------------------------------------------------------------- R8: time limits without signals


def test_r8_g6_no_signal_handler_and_budget_works_off_the_main_thread(tmp_path: Path) -> None:
    """G6: the time budget is cooperative: no SIGALRM (or any handler) is installed, it works
    in any thread, and an evaluator finishing near the limit never lets an internal
    exception escape: 60 trials each give a determination."""
    before = signal.getsignal(signal.SIGALRM)
    kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path, sleep=0.004))])
    kb.time_limit = 0.005
    outcomes: list[Any] = []

    def trials() -> None:
        for _ in range(30):
            outcomes.append(kb.evaluate(hostile.MASSAGE_CASE).decision)

    worker = threading.Thread(target=trials)
    worker.start()
    trials()
    worker.join()
    assert len(outcomes) == 60 and set(outcomes) <= {Decision.CERTIFIED, Decision.ERROR}
    assert signal.getsignal(signal.SIGALRM) == before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_r8_g6_the_overrunning_evaluator_is_named_and_later_criteria_are_not_run(tmp_path: Path) -> None:
    kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path, sleep=0.05))])
    kb.time_limit = 0.01
    det = kb.evaluate(hostile.MASSAGE_CASE)
    assert [r.status for r in det.criteria] == [Status.ERROR, Status.ERROR]
    assert "did not finish within the plugin's time budget of 0.01 s" in det.criteria[0].reason
    assert "not run: the plugin used up its time budget" in det.criteria[1].reason
    with pytest.raises(kb_core.EvaluatorError, match="time budget"):
        kb.evaluate(hostile.MASSAGE_CASE, strict=True)


def test_r8_g9_cli_watchdog_ends_a_hung_evaluation_naming_the_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """G9: ``mtus evaluate`` runs the evaluation in a watchdog thread (MTUS_EVALUATE_TIMEOUT):
    a plugin that never returns ends the command with exit 1 naming the plugin."""
    kb = load_first_party(plugins=[("hostile", hostile.plugin(tmp_path, sleep=30))])
    case = tmp_path / "massage.yaml"
    case.write_text(json.dumps(hostile.MASSAGE_CASE))
    monkeypatch.setenv("MTUS_EVALUATE_TIMEOUT", "0.3")
    started = time.perf_counter()
    code, _, err = run("evaluate", str(case), kb=kb, monkeypatch=monkeypatch)
    assert time.perf_counter() - started < 5
    assert code == 1 and "plugin 'hostile': did not finish within 0.3 s" in err


# ---------------------------------------------------------------- R5: plain install


@pytest.mark.parametrize("args", [["plugins"], ["plugins", "--no-conformance"], ["plugins", "--format", "json"]])
def test_r5_plugins_works_without_hypothesis(args: list[str]) -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"  # import hypothesis now raises ImportError
        "from kb_core.cli import main\n"
        f"main({args!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "acupuncture" in done.stdout


def test_r5_testing_module_says_what_to_install() -> None:
    code = "import sys; sys.modules['hypothesis'] = None\nimport kb_core.testing\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "pip install 'mtus-kb[test]'" in done.stderr


# ---------------------------------------------------------------- R6: any string


def test_r6_g10_lone_surrogates_and_control_characters_render(tmp_path: Path, kb: kb_core.KnowledgeBase) -> None:
    """G10: text and JSON output are valid for any string: lone surrogates and terminal
    control characters are written as escapes; JSON never holds NaN."""
    case = tmp_path / "surrogate.json"
    case.write_text('{"case_id": "\\ud800 \\u001b[31m", "dates": {"request": "2015-03-02"}, "request": {"treatment": "acupuncture", "quantity": 2}}')
    det = kb.evaluate(case)
    text = kb_core.determination_text(det)
    text.encode("utf-8")
    assert "\\ud800 \\x1b[31m" in text and "\x1b" not in text
    assert strict_json(kb_core.determination_json(det))["case_id"] == "\ud800 \x1b[31m"
    for fmt in ("text", "json"):
        code, out, err = run("evaluate", str(case), "--format", fmt)
        assert code == 0 and "Traceback" not in err and out


# ---------------------------------------------------------------- R10: sizes


def test_r10_huge_flow_list_is_refused_quickly(tmp_path: Path, kb: kb_core.KnowledgeBase) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("dates: {request: '2015-03-02'}\nrequest: {treatment: acupuncture}\nnotes: [" + "a, " * 3_500_000 + "a]\n")
    started = time.perf_counter()
    with pytest.raises(kb_core.CaseError, match="larger than"):
        kb.evaluate(big)
    assert time.perf_counter() - started < 2


def test_r10_dev_zero_is_refused(kb: kb_core.KnowledgeBase) -> None:
    with pytest.raises(kb_core.CaseError, match="larger than"):
        kb.evaluate("/dev/zero")
    code, _, err = run("evaluate", "/dev/zero")
    assert code == 1 and "larger than" in err


def test_r10_too_many_items_or_too_deep_is_a_case_error(kb: kb_core.KnowledgeBase) -> None:
    base = {"dates": {"request": "2015-03-02"}, "request": {"treatment": "acupuncture", "quantity": 2}}
    with pytest.raises(kb_core.CaseError, match="entries are more than"):
        kb.evaluate({**base, "notes": ["x"] * 5000})
    deep: Any = "x"
    for _ in range(40):
        deep = {"k": deep}
    with pytest.raises(kb_core.CaseError, match="nested deeper"):
        kb.evaluate({**base, "extra": deep})
    with pytest.raises(kb_core.CaseError, match="characters is longer"):
        kb.evaluate({**base, "description": "x" * 50_000})


# ---------------------------------------------------------------- R11: loading


def test_r11_g11_plugin_hanging_on_import_is_left_out_in_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """G11: importing a plugin and its load-time hooks run under a watchdog
    (MTUS_PLUGIN_LOAD_TIMEOUT): a hang or a sys.exit there leaves that plugin out, named."""
    _with_entry_points(monkeypatch, _FakeEntryPoint("slowpoke", "hang_on_import"), _FakeEntryPoint("quitter", "exit_on_import"))
    monkeypatch.setenv("MTUS_PLUGIN_LOAD_TIMEOUT", "0.5")
    started = time.perf_counter()
    kb = load_first_party()
    assert time.perf_counter() - started < 10
    assert "did not finish within 0.5 s" in kb.skipped_plugins["slowpoke"]
    assert "SystemExit" in kb.skipped_plugins["quitter"]
    assert kb.evaluate(SEED).decision is Decision.NON_CERTIFIED


def test_r11_hanging_load_hook_is_left_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Sleeper:
        @kb_core.hookimpl
        def mtus_guideline_files(self) -> list[Any]:
            time.sleep(30)
            return []

    monkeypatch.setenv("MTUS_PLUGIN_LOAD_TIMEOUT", "0.3")
    kb = load_first_party(plugins=[("sleeper", Sleeper())])
    assert "mtus_guideline_files did not finish within 0.3 s" in kb.skipped_plugins["sleeper"]


# ---------------------------------------------------------------- R12: new-plugin and graph


def test_r12_new_plugin_and_graph_bad_paths_are_clear_errors(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("")
    for args in (["new-plugin", "reflexology", "--directory", str(file / "sub")], ["new-plugin", "a" * 300], ["graph", "-o", str(file / "x.json")]):
        code, _, err = run(*args)
        assert code == 1 and err.startswith("error: ") and "Traceback" not in err, (args, err)


@pytest.mark.parametrize("title", ['Massage: deep tissue', 'The "deep" massage', "Back\\slash # not a comment", "Massage — entspannt"])
def test_r12_titles_are_quoted_in_yaml_toml_and_python(tmp_path: Path, title: str) -> None:
    import ast
    import tomllib

    from kb_core._loader import load_guidelines
    from kb_core.scaffold import new_plugin

    target = new_plugin("reflexology", tmp_path, title=title)
    assert tomllib.loads((target / "pyproject.toml").read_text())["project"]["description"].startswith(title)
    ast.parse((target / "mtus_kb_reflexology" / "__init__.py").read_text())
    from importlib.resources import files

    gs = load_guidelines([("kb_core", files("kb_guidelines") / "common.yaml"), ("reflexology", target / "mtus_kb_reflexology" / "reflexology.yaml")])
    assert gs.treatments["reflexology"].title == title and gs.treatment_kinds["reflexology"] == title


def test_r12_title_with_a_newline_is_refused(tmp_path: Path) -> None:
    code, _, err = run("new-plugin", "reflexology", "--directory", str(tmp_path), "--title", "two\nlines")
    assert code == 1 and "one line" in err


# ---------------------------------------------------------------- R14: guideline directories


def test_r14_g12_broken_first_party_guideline_is_an_error_not_no_criteria(tmp_path: Path) -> None:
    """G12: a first-party plugin is never left out: a broken first-party guideline file is an
    error (exit 1), not a silent no_criteria."""
    bad = edited(tmp_path, ROOT / "guidelines" / "chiropractic.yaml", "title: Chiropractic manual therapy and manipulation", "titel: typo")
    folder = _dir_with(tmp_path, bad)
    with pytest.raises(kb_core.GuidelineError, match="unknown key 'titel'"):
        load_first_party(guidelines=folder)
    code, out, err = run("--guidelines", str(folder), "evaluate", str(KNEE))
    assert code == 1 and out == "" and "chiropractic.yaml" in err


def test_r14_guideline_directory_option_and_env_replace_installed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edited_file = edited(tmp_path, ROOT / "guidelines" / "acupuncture.yaml", "max_frequency_per_week:\n        shape: scalar\n        value: 3", "max_frequency_per_week:\n        shape: scalar\n        value: 2")
    folder = _dir_with(tmp_path, edited_file)
    installed = load_first_party().evaluate(ACU_CERTIFIED)
    via_option = load_first_party(guidelines=folder).evaluate(ACU_CERTIFIED)
    assert installed.decision is Decision.CERTIFIED and via_option.decision is not Decision.CERTIFIED
    assert via_option.receipt.knowledge_base_digest != installed.receipt.knowledge_base_digest
    monkeypatch.setenv("MTUS_GUIDELINES", str(folder))
    code, out, _ = run("evaluate", str(ACU_CERTIFIED))
    assert code == 0 and not out.startswith("DECISION: CERTIFIED")


def test_r14_validate_checks_a_consistent_edit_across_files_as_a_whole(tmp_path: Path) -> None:
    common = edited(tmp_path, ROOT / "guidelines" / "common.yaml", "\ndefinitions:\n", "\ndefinitions:\n  new_term:\n    term: New\n    statement: A new defined term.\n    citation: {source: cpmtg, section: Anything}\n    verification: {status: K}\n")
    chiro = edited(tmp_path, ROOT / "guidelines" / "chiropractic.yaml", "definitions: [functional_improvement]", "definitions: [functional_improvement, new_term]")
    code, _, err = run("validate", str(chiro))
    assert code == 1 and "definition 'new_term' is not declared" in err
    code, out, err = run("validate", str(common), str(chiro))
    assert code == 0, err
    assert out.count("(guideline)") == 2


# ---------------------------------------------------------------- R15: smaller


def test_r15_validate_reports_a_typod_case_as_a_case(tmp_path: Path) -> None:
    typo = tmp_path / "typo.yaml"
    typo.write_text("dates: {request: '2015-03-02'}\nreqest: {treatment: acupuncture}\n")
    code, _, err = run("validate", str(typo))
    assert code == 1 and "case error" in err and "guideline error" not in err
    neither = tmp_path / "neither.yaml"
    neither.write_text("hello: world\n")
    code, _, err = run("validate", str(neither))
    assert code == 1 and "neither a case file nor a guideline file" in err


def test_r15_unknown_treatment_has_a_line(tmp_path: Path, kb: kb_core.KnowledgeBase) -> None:
    case = tmp_path / "c.yaml"
    case.write_text("dates: {request: '2015-03-02'}\nrequest:\n  treatment: hippotherapy\n")
    with pytest.raises(kb_core.CaseError) as info:
        kb.evaluate(case)
    assert info.value.line == 3


def test_r15_anchor_without_alias_is_refused(tmp_path: Path, kb: kb_core.KnowledgeBase) -> None:
    case = tmp_path / "c.yaml"
    case.write_text("dates: &d {request: '2015-03-02'}\nrequest: {treatment: acupuncture}\n")
    with pytest.raises(kb_core.CaseError, match="anchors and aliases") as info:
        kb.evaluate(case)
    assert info.value.line == 1


def test_r15_icd10_is_a_fact_a_guideline_may_name(tmp_path: Path) -> None:
    ok = edited(tmp_path, ROOT / "guidelines" / "acupuncture.yaml", "facts: [", "facts: [diagnoses.icd10, ")
    code, _, err = run("validate", str(ok))
    assert code == 0, err


def test_r15_disabling_an_unknown_plugin_is_a_usage_error() -> None:
    code, _, err = run("--disable-plugin", "nosuch", "evaluate", str(SEED))
    assert code == 2 and "no plugin named 'nosuch'" in err
    code, _, _ = run("--disable-plugin", "acupuncture", "evaluate", str(SEED))
    assert code == 0


# ---------------------------------------------------------------- the documented guarantees


def test_every_documented_isolation_guarantee_has_a_test() -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    section = docs[docs.index("### Isolation guarantees"):]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    listed = re.findall(r"\*\*(G\d+)\.", section)
    assert listed == [f"G{i}" for i in range(1, len(listed) + 1)] and len(listed) >= 12
    source = Path(__file__).read_text()
    for gid in listed:
        assert re.search(rf'"""{gid}: ', source), f"no test states guarantee {gid}"
