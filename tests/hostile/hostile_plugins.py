"""A hostile and a clumsy plugin, as a third party could ship them: each misbehaviour of the
issue-9 audit is one mode. Tests register them with ``kb_core.load(plugins=[...])`` or as
fake entry points; nothing here is imported by the package."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kb_core
from kb_core import Decision, Finding, Status, evaluator, hookimpl

HERE = Path(__file__).resolve().parent

# A third-party treatment (its own id prefix) judging a kind no first-party plugin judges
# (massage is first-party since issue 8, so the fixture judges home exercise requests).
MASSAGE = """\
treatments:
  hostile_massage:
    title: Massage (hostile fixture)
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
        statement: Massage is limited to a few visits.
        citation: {source: cpmtg, section: Massage therapy, pages: "60"}
        applies_to: [cpmtg-2009, cpmtg-2016]
        role: quantity
        facts: [request.quantity]
        parameters: [max_visits]
        documentation_needed: The number of visits.
        verification: {status: K}
      second:
        title: A second criterion
        statement: Runs after the first.
        citation: {source: cpmtg, section: Massage therapy, pages: "60"}
        applies_to: [cpmtg-2009, cpmtg-2016]
        facts: [request.quantity]
        documentation_needed: Nothing.
        verification: {status: K}
"""
MASSAGE_CASE: dict[str, Any] = {"dates": {"request": "2015-03-02"}, "request": {"treatment": "home_exercise", "quantity": 4}}

# A treatment judging first-party chiropractic requests at the MTUS tier; ``supersedes`` optional.
TAKEOVER = """\
treatments:
  aaa_chiropractic:
    title: Chiropractic (takeover fixture)
    requested_as: [chiropractic]
    governed_by: [cpmtg-2009, cpmtg-2016]
{supersedes}    criteria:
      anything:
        title: Always met
        statement: Certifies everything.
        citation: {{source: cpmtg, section: Manual therapy}}
        applies_to: [cpmtg-2009, cpmtg-2016]
        facts: [request.quantity]
        documentation_needed: Nothing.
        verification: {{status: K}}
"""

# Evaluator misbehaviours: mode -> what the first criterion's evaluator does.
EVALUATOR_MODES = (
    "raise", "exit", "exit0", "interrupt", "not_finding", "str_status", "error_status", "none_reason",
    "nan_fact", "object_fact", "approvable_true", "approvable_float", "approvable_str", "approvable_negative",
    "facts_not_mapping", "hostile_repr",
)
# Combine misbehaviours: mode -> what the plugin's mtus_combine returns for any treatment.
COMBINE_MODES = ("raise", "exit", "garbage", "overreach", "string_decision", "approved_too_many", "bool_approved")


class _Hostile:
    def __repr__(self) -> str:
        raise RuntimeError("repr refuses")

    def __str__(self) -> str:
        raise RuntimeError("str refuses")


def _finding_for(mode: str) -> Any:
    if mode == "raise":
        raise RuntimeError("evaluator broke")
    if mode == "exit":
        sys.exit(3)
    if mode == "exit0":
        sys.exit(0)
    if mode == "interrupt":
        raise KeyboardInterrupt
    if mode == "not_finding":
        return {"status": "met"}
    if mode == "str_status":
        return Finding("met", "a string, not a Status")  # type: ignore[arg-type]
    if mode == "error_status":
        return Finding(Status.ERROR, "evaluators do not report errors as results")
    if mode == "none_reason":
        return Finding(Status.MET, None)  # type: ignore[arg-type]
    if mode == "nan_fact":
        return Finding.met("ok", ratio=float("nan"))
    if mode == "object_fact":
        return Finding.met("ok", thing=object())
    if mode == "approvable_true":
        return Finding.not_met("too many", approvable=True)  # type: ignore[arg-type]
    if mode == "approvable_float":
        return Finding.not_met("too many", approvable=2.5)  # type: ignore[arg-type]
    if mode == "approvable_str":
        return Finding.not_met("too many", approvable="lots")  # type: ignore[arg-type]
    if mode == "approvable_negative":
        return Finding.not_met("too many", approvable=-1)
    if mode == "facts_not_mapping":
        return Finding(Status.MET, "ok", None, ["not", "a", "mapping"])  # type: ignore[arg-type]
    if mode == "hostile_repr":
        return _Hostile()
    raise AssertionError(mode)


def plugin(tmp_path: Path, *, evaluator_mode: str | None = None, combine_mode: str | None = None, sleep: float = 0.0, combine_sleep: float = 0.0) -> object:
    """The hostile massage plugin with one misbehaviour switched on (none: well behaved)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "hostile_massage.yaml"
    path.write_text(MASSAGE)

    @evaluator("hostile_massage.visits")
    def visits(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        if sleep:
            time.sleep(sleep)
        if evaluator_mode is not None:
            return _finding_for(evaluator_mode)  # type: ignore[no-any-return]
        if case.request.quantity is None:
            return Finding.not_documented("no quantity")
        if case.request.quantity <= p["max_visits"]:
            return Finding.met("within")
        return Finding.not_met("too many", approvable=p["max_visits"])

    @evaluator("hostile_massage.second")
    def second(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        return Finding.met("ran")

    class Plugin:
        @hookimpl
        def mtus_guideline_files(self) -> list[Path]:
            return [path]

        @hookimpl
        def mtus_evaluators(self) -> list[Any]:
            return [visits, second]

    if combine_mode is not None:
        def mtus_combine(self: Any, treatment: str, results: Any, case: Any) -> Any:
            if combine_sleep:
                time.sleep(combine_sleep)
            if combine_mode == "slow":
                return (Decision.CERTIFIED, case.request.quantity, "certified, but late")
            if combine_mode == "raise":
                raise RuntimeError("combine broke")
            if combine_mode == "exit":
                sys.exit(0)
            if combine_mode == "garbage":
                return "certified"
            if combine_mode == "overreach":
                return (Decision.CERTIFIED, 999, "certified by the hostile plugin")
            if combine_mode == "string_decision":
                return ("certified", 4, "a string decision")
            if combine_mode == "approved_too_many":
                return (Decision.CERTIFIED, 999, "more than requested")
            if combine_mode == "bool_approved":
                return (Decision.CERTIFIED, True, "a flag for a count")
            raise AssertionError(combine_mode)

        Plugin.mtus_combine = hookimpl(mtus_combine)  # type: ignore[attr-defined]
    return Plugin()


def takeover_plugin(tmp_path: Path, *, supersedes: bool) -> object:
    """A plugin judging chiropractic requests at the MTUS tier, certifying everything."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "aaa_chiropractic.yaml"
    path.write_text(TAKEOVER.format(supersedes="    supersedes: [chiropractic]\n" if supersedes else ""))

    @evaluator("aaa_chiropractic.anything")
    def anything(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        return Finding.met("always")

    class Plugin:
        @hookimpl
        def mtus_guideline_files(self) -> list[Path]:
            return [path]

        @hookimpl
        def mtus_evaluators(self) -> list[Any]:
            return [anything]

    return Plugin()


def redeclaring_plugin(tmp_path: Path) -> object:
    """A plugin whose file declares the first-party treatment id ``acupuncture`` again."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "aaa_acupuncture.yaml"
    path.write_text(TAKEOVER.format(supersedes="").replace("aaa_chiropractic", "acupuncture").replace("[chiropractic]", "[acupuncture]"))

    class Plugin:
        @hookimpl
        def mtus_guideline_files(self) -> list[Path]:
            return [path]

    return Plugin()
