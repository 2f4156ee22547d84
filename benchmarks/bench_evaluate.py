"""Speed of mtus-kb against a hand-written plain-Python evaluation of the same criteria.

Run:   python benchmarks/bench_evaluate.py            full run, prints the table
       python benchmarks/bench_evaluate.py --short    CI: fewer repeats; exit 1 only on a gross
                                                      regression (> 3x a budget in budgets.json)

Every per-case figure is the median over the work conditioning sample cases (tests/cases/
work_conditioning and the seed example) of the best-of-N time per call (the least disturbed
run: a shared machine adds noise, never speed), and is shown as a
ratio to ``plain_work_conditioning`` below: the same eleven criteria and the same combine
rule written as one plain function, with the parameter values read from the knowledge base.
Start-up figures are wall times of fresh processes, shown as a ratio to a bare
``python -c pass``. ``budgets.json`` holds the issue's targets and the budgets recorded
on a 2-core machine; both are ratios, so the check holds on faster or slower machines.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUDGETS = Path(__file__).with_name("budgets.json")
GROSS = 3.0  # --short fails only beyond this multiple of a budget: a regression, never noise

DEMAND_ORDER = ("sedentary", "light", "medium", "heavy", "very_heavy")


# ---------------------------------------------------------------- the plain-Python reference


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def plain_work_conditioning(case: Any, p: Mapping[str, Any]) -> tuple[str, int | None, tuple[str, ...]]:
    """Decision, approved quantity and deciding criteria for a work conditioning request, by
    hand: what the engine computes, without trace, reasons, citations or receipt."""
    f, request, on = case.findings, case.request, case.dates.decisive
    trials = [t for t in case.prior_treatments if t.treatment in p["requires_prior_trial_of"]]
    program = [t for t in case.prior_treatments if t.treatment in p["same_or_similar_program"]]
    admission: dict[str, str] = {}
    level = case.worker.physical_demand_level
    if level is None:
        admission["job_demand"] = "nd"
    elif DEMAND_ORDER.index(level) < DEMAND_ORDER.index(p["min_physical_demand_level"]) or f.fce_valid_below_job_demands is False:
        admission["job_demand"] = "no"
    elif f.functional_limitations_preclude_job is not True:
        admission["job_demand"] = "no" if f.functional_limitations_preclude_job is False else "nd"
    if not trials:
        admission["prior_pt_plateau"] = "nd"
    elif f.likely_to_benefit_from_more_pt is True:
        admission["prior_pt_plateau"] = "no"
    elif not any(t.functional_improvement is True and t.plateau is True for t in trials):
        if all(t.functional_improvement is False for t in trials):
            admission["prior_pt_plateau"] = "no"
        elif any(t.plateau is False for t in trials) and not any(t.plateau is None for t in trials):
            admission["prior_pt_plateau"] = "no"
        else:
            admission["prior_pt_plateau"] = "nd"
    if f.surgical_candidate is not False:
        admission["not_surgical_candidate"] = "nd" if f.surgical_candidate is None else "no"
    hours, days = f.tolerance_hours_per_day, f.tolerance_days_per_week
    if (hours is not None and hours < p["min_hours_per_day"]) or (days is not None and days < p["min_days_per_week"]):
        admission["tolerance"] = "no"
    elif hours is None or days is None:
        admission["tolerance"] = "nd"
    goal, agreed = f.return_to_work_goal, f.return_to_work_goal_agreed
    if goal == "none" or agreed is False:
        admission["return_to_work_goal"] = "no"
    elif goal is None or agreed is None:
        admission["return_to_work_goal"] = "nd"
    if f.screening_completed is not True:
        admission["screening"] = "nd" if f.screening_completed is None else "no"
    if case.dates.injury is None:
        admission["time_since_injury"] = "nd"
    elif on > _add_years(case.dates.injury, p["max_years_since_injury"]):
        admission["time_since_injury"] = "no"
    if request.purpose == "continuation" or any(t.status == "ongoing" for t in program):
        if f.compliance_and_gains_documented is not True:
            admission["progress_check"] = "nd" if f.compliance_and_gains_documented is None else "no"
    if any(t.status == "completed" for t in program):
        admission["no_repeat"] = "no"
    requested = request.implied_quantity
    if admission:
        return "non_certified", 0, tuple(f"work_conditioning.{k}" for k in admission)
    over: dict[str, int | None] = {}
    weeks = request.weeks
    if weeks is None:
        over["program_length"] = None
    else:
        started = [t.start for t in program if t.status == "ongoing" and t.start]
        used = max((on - min(started)).days / 7, 0) if started else 0.0
        if used + weeks > p["max_program_weeks"]:
            per_week = request.per_week
            over["program_length"] = (math.floor(per_week * (p["max_program_weeks"] - used)) if per_week and used < p["max_program_weeks"] else None) or None
    if request.unit != "hours":
        if request.quantity is None:
            over["visit_quantity"] = None
        else:
            already = sum(t.count or 0 for t in program if t.status != "completed") + (request.ur_authorized_quantity or 0)
            if already + request.quantity > p["odg_max_visits"]:
                over["visit_quantity"] = max(p["odg_max_visits"] - already, 0)
    deciding = tuple(f"work_conditioning.{k}" for k in over)
    if not over:
        return "certified", requested, ()
    approvable = list(over.values())
    if requested is not None and all(a is not None and a > 0 for a in approvable):
        approved = min(a for a in approvable if a is not None)
        if approved < requested:
            return "modified", approved, deciding
    return "non_certified", 0, deciding


# ---------------------------------------------------------------- measuring


def per_call_us(func: Callable[[], Any], seconds: float, repeat: int) -> float:
    """Best of ``repeat`` runs of about ``seconds`` each, in µs per call (the least disturbed run)."""
    started = time.perf_counter()
    func()
    once = max(time.perf_counter() - started, 1e-7)
    number = max(1, int(seconds / once))
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e6


def median_us(funcs: list[Callable[[], Any]], seconds: float, repeat: int) -> float:
    return statistics.median(per_call_us(f, seconds, repeat) for f in funcs)


def _process_env() -> dict[str, str]:
    """As an installed package runs: byte code cached (some shells set PYTHONDONTWRITEBYTECODE,
    which recompiles every module at each start)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall_ms(argv: list[str], runs: int, env: Mapping[str, str] | None = None) -> float:
    """Wall time of a fresh process, in ms: the least disturbed of ``runs`` (as for the
    per-call figures), after one warm-up run: the OS file cache, byte code and the
    guideline cache are warm, as they are for a reviewer's second run."""
    env = env or _process_env()
    elsewhere = tempfile.gettempdir()  # not the source tree: python -c would import from it first
    subprocess.run(argv, check=True, capture_output=True, env=env, cwd=elsewhere)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env, cwd=elsewhere)
        times.append((time.perf_counter() - started) * 1e3)
    return min(times)


def work_conditioning_paths() -> list[Path]:
    return [ROOT / "examples" / "seed-work-conditioning.yaml", *sorted((ROOT / "tests" / "cases" / "work_conditioning").glob("*.yaml"))]


def measure(short: bool) -> tuple[list[tuple[str, float, float, str]], dict[str, Any]]:
    """Rows of (figure, absolute, ratio, unit) and some context."""
    import kb_core
    from kb_core._yaml import read_document

    seconds = 0.002 if short else 0.01  # per timed run, per case
    repeat = 3 if short else 5
    kb = kb_core.load()
    paths = work_conditioning_paths()
    docs = [read_document(p, kb_core.CaseError) for p in paths]
    cases = [kb_core.parse_case(d, p) for d, p in zip(docs, paths)]
    evaluated = [c for c in cases if kb.evaluate(c).criteria]  # work conditioning criteria in force
    version = kb.guidelines.versions["cpmtg-2009"]
    params = {k: v for step in kb._plan("work_conditioning", version) for k, v in step.params.items()}

    agree = sum(
        plain_work_conditioning(c, params)[:2] == (det.decision.value, det.approved_quantity)
        for c in evaluated for det in [kb.evaluate(c)]
    )
    reference = median_us([lambda c=c: plain_work_conditioning(c, params) for c in evaluated], seconds, repeat)
    rows: list[tuple[str, float, float, str]] = [("plain-Python reference (decision only)", reference, 1.0, "µs")]

    def per_case(label: str, funcs: list[Callable[[], Any]]) -> None:
        us = median_us(funcs, seconds, repeat)
        rows.append((label, us, us / reference, "µs"))

    per_case("kb.evaluate(case), full trace", [lambda c=c: kb.evaluate(c) for c in evaluated])
    mappings = [d for d, c in zip(docs, cases) if c in evaluated]
    per_case("kb.evaluate(mapping), validation included", [lambda d=d: kb.evaluate(d) for d in mappings])
    dets = [kb.evaluate(c) for c in evaluated]
    per_case("canonical JSON of a determination", [lambda d=d: kb_core.determination_json(d) for d in dets])
    per_case("reading a YAML case file (load_case)", [lambda p=p: kb_core.load_case(p) for p in paths])
    if hasattr(kb, "evaluate_many"):
        batch = evaluated * max(1, 2000 // len(evaluated))
        us = per_call_us(lambda: kb.evaluate_many(batch), 0.0, repeat) / len(batch)
        rows.append(("kb.evaluate_many, per case", us, us / reference, "µs"))
    else:
        rows.append(("kb.evaluate_many, per case", math.nan, math.nan, "µs"))

    runs = 3 if short else 9
    bare = wall_ms([sys.executable, "-c", "pass"], runs)
    rows.append(("bare interpreter start", bare, 1.0, "ms"))
    start = wall_ms([sys.executable, "-c", "import kb_core; kb_core.load()"], runs)
    rows.append(("cold import kb_core; kb_core.load()", start, start / bare, "ms"))
    mtus = Path(sys.executable).with_name("mtus")
    cli = wall_ms([str(mtus), "evaluate", str(ROOT / "examples" / "seed-work-conditioning.yaml")], runs)
    rows.append(("mtus evaluate (seed example)", cli, cli / bare, "ms"))
    context = {"cases": len(evaluated), "reference_agrees": agree, "python": sys.version.split()[0]}
    return rows, context


KEYS = {
    "kb.evaluate(case), full trace": "evaluate_case",
    "kb.evaluate(mapping), validation included": "evaluate_mapping",
    "canonical JSON of a determination": "canonical_json",
    "reading a YAML case file (load_case)": "read_case_file",
    "kb.evaluate_many, per case": "evaluate_many",
    "cold import kb_core; kb_core.load()": "cold_load",
    "mtus evaluate (seed example)": "cli_evaluate",
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="CI mode: quick, fails only on a gross regression")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    args = parser.parse_args(argv)
    recorded = json.loads(BUDGETS.read_text("utf-8"))
    budgets: dict[str, float] = recorded["budgets"]
    targets: dict[str, float] = recorded["targets"]
    rows, context = measure(args.short)
    print(f"mtus-kb speed: {context['cases']} work conditioning cases, python {context['python']}; "
          f"the reference agrees with the engine's decision on {context['reference_agrees']}/{context['cases']}")
    print(f"{'figure':<44} {'absolute':>12} {'ratio':>8} {'target':>8} {'budget':>8}")
    failed = []
    for label, value, ratio, unit in rows:
        key = KEYS.get(label, "")
        budget, target = budgets.get(key), targets.get(key)
        flag = ""
        if budget is not None and not math.isnan(ratio):
            if ratio > GROSS * budget:
                flag = f"  GROSS REGRESSION (> {GROSS:g}x budget)"
                failed.append(label)
            elif target is not None and ratio > target:
                flag = "  (over target)"
        shown = lambda x: "" if x is None else f"{x:7.1f}x"  # noqa: E731
        print(f"{label:<44} {value:9.1f} {unit:<2} {ratio:7.1f}x {shown(target):>8} {shown(budget):>8}{flag}")
    if args.json:
        print(json.dumps({KEYS.get(label, label): {"absolute": value, "unit": unit, "ratio": ratio} for label, value, ratio, unit in rows}, indent=2))
    if args.short and failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
