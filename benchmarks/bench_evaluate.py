"""Speed of mtus-kb against a hand-written plain-Python evaluation of the same criteria.

Run:   python benchmarks/bench_evaluate.py            full run, prints the table
       python benchmarks/bench_evaluate.py --short    CI: fewer repeats; exit 1 only on a gross
                                                      regression (> 3x a budget in budgets.json)
       python benchmarks/bench_evaluate.py --wheel    also the start-up figures of a wheel
                                                      install (built from this tree, installed
                                                      with its dependencies by pip into a fresh
                                                      virtual environment, as users install it)
       python benchmarks/bench_evaluate.py --start-only [--wheel]   the start-up figures only

Every per-case figure is the median over the work conditioning sample cases (tests/cases/
work_conditioning and the seed example) of the best-of-N time per call (the least disturbed
run: a shared machine adds noise, never speed), and is shown as a
ratio to ``plain_work_conditioning`` below: the same eleven criteria and the same combine
rule written as one plain function, with the parameter values, roles and burdens read from
the knowledge base; it must reach the engine's decision, approved quantity and deciding
criteria on every case (the run fails otherwise). Start-up figures are wall times of fresh
processes, shown as a ratio to a bare ``python -c pass`` of the same environment, with the
guideline cache warm in a directory of the run's own (other processes sharing the user's
cache cannot evict its entry mid-run). An editable install (``pip install -e``) starts every
interpreter through its import hook, which makes the bare start 2-3 times slower and
imports part of what kb_core needs: its ratio flatters; ``--wheel`` shows the installed one. ``budgets.json`` holds the
issue's targets (as ratios, and as absolutes for this 2-core machine) and the budgets
recorded; only the ratio budgets are checked, so the check holds on faster or slower machines.

Two batch rows: ``kb.evaluate_many`` builds the full trace of every case; ``kb.decide_many``
(the batch path the 50,000 cases/s target is for) returns only each case's decision,
quantities and deciding criteria. Both run with the garbage collector on, as a batch job does.

Three "floor" rows show what a figure cannot go below without changing the design: the
plugins' evaluators called directly (the plugin contract: one Python call returning one
``Finding`` per criterion), ``kb.decide`` (the engine without the trace), and a fresh
interpreter importing what kb_core cannot start without (pluggy, dataclasses, datetime).
One more start-up row adds the other standard-library modules a cold load imports today
(pathlib, hashlib, json, pickle), and four "in-process" rows time the same imports, then
``import kb_core`` and ``import kb_core; kb_core.load()``, by the interpreter's own clock
(its start left out), so kb_core's own modules and ``load()`` are read off by difference.
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


def _weeks_run(case: Any, program: list[Any]) -> float | None:
    ongoing = [t for t in program if t.status == "ongoing"]
    if not ongoing:
        return 0.0
    started = [t.start for t in ongoing if t.start]
    if started:
        return max((case.dates.decisive - min(started)).days / 7, 0.0)
    per_week = case.request.frequency_per_week
    if per_week and all(t.count is not None for t in ongoing):
        return sum(t.count for t in ongoing) / per_week
    return None


def plain_work_conditioning(
    case: Any, p: Mapping[str, Any], kb: Mapping[str, Any]
) -> tuple[str, int | None, tuple[str, ...]]:
    """Decision, approved quantity and deciding criteria for a work conditioning request, by
    hand: today's eleven criteria and kb_core's default combine rule, without trace,
    reasons, citations or receipt. ``p`` holds the parameter values in force and ``kb`` what
    else the YAML says: each criterion's role and whether, for a request of each purpose,
    "not documented" decides (the burden)."""
    f, request, on = case.findings, case.request, case.dates.decisive
    trials = [t for t in case.prior_treatments if t.treatment in p["requires_prior_trial_of"]]
    program = [t for t in case.prior_treatments if t.treatment in p["same_or_similar_program"]]
    failing: dict[str, tuple[str, int | None]] = {}  # criterion -> ("no" or "nd", approvable)
    level, order = case.worker.physical_demand_level, p["physical_demand_levels_in_order"]
    if level is None:
        failing["job_demand"] = ("nd", None)
    elif (order.index(level) < order.index(p["min_physical_demand_level"]) or f.fce_valid_below_job_demands is False
          or f.functional_limitations_preclude_job is False):
        failing["job_demand"] = ("no", None)
    elif f.functional_limitations_preclude_job is None:
        failing["job_demand"] = ("nd", None)
    if not trials:
        failing["prior_pt_plateau"] = ("nd", None)
    elif f.likely_to_benefit_from_more_pt is True:
        failing["prior_pt_plateau"] = ("no", None)
    elif not any(t.functional_improvement is True and t.plateau is True for t in trials):
        if all(t.functional_improvement is False for t in trials):
            failing["prior_pt_plateau"] = ("no", None)
        elif any(t.plateau is False for t in trials) and not any(t.plateau is None for t in trials):
            failing["prior_pt_plateau"] = ("no", None)
        else:
            failing["prior_pt_plateau"] = ("nd", None)
    if f.surgical_candidate is not False:
        failing["not_surgical_candidate"] = ("nd" if f.surgical_candidate is None else "no", None)
    hours, days = f.tolerance_hours_per_day, f.tolerance_days_per_week
    if (hours is not None and hours < p["min_hours_per_day"]) or (days is not None and days < p["min_days_per_week"]):
        failing["tolerance"] = ("no", None)
    elif hours is None or days is None:
        failing["tolerance"] = ("nd", None)
    goal, agreed = f.return_to_work_goal, f.return_to_work_goal_agreed
    if goal == "none" or agreed is False:
        failing["return_to_work_goal"] = ("no", None)
    elif goal is None or agreed is None:
        failing["return_to_work_goal"] = ("nd", None)
    if f.screening_completed is not True:
        failing["screening"] = ("nd" if f.screening_completed is None else "no", None)
    if case.dates.injury is None:
        failing["time_since_injury"] = ("nd", None)
    elif on > _add_years(case.dates.injury, p["max_years_since_injury"]):
        failing["time_since_injury"] = ("no", None)
    weeks = request.span_weeks
    if weeks is None:
        failing["program_length"] = ("nd", None)
    else:
        used = _weeks_run(case, program) or 0.0
        limit, max_hours, per_day = p["max_program_weeks"], p["max_program_hours"], request.hours_per_day
        if request.quantity is not None and request.unit == "hours":
            hours_asked: float | None = float(request.quantity)
        else:
            hours_asked = request.visits * per_day if request.visits is not None and per_day else None
        if used + weeks > limit:
            per_week = request.frequency_per_week
            failing["program_length"] = ("no", (math.floor(per_week * (limit - used)) if per_week and used < limit else None) or None)
        elif hours_asked is not None and hours_asked > max_hours:
            fits = (max_hours if request.unit == "hours" else math.floor(max_hours / per_day)) if per_day else None
            failing["program_length"] = ("no", fits or None)
    if request.purpose == "continuation" or any(t.status == "ongoing" for t in program):
        run = _weeks_run(case, program)
        if not (run is not None and run < p["progress_review_weeks"]) and f.compliance_and_gains_documented is not True:
            failing["progress_check"] = ("nd" if f.compliance_and_gains_documented is None else "no", None)
    if any(t.status == "completed" for t in program):
        failing["no_repeat"] = ("no", None)
    if request.treatment in p["visit_allowance_applies_to"] and request.unit != "hours":
        visits = request.visits
        if visits is None:
            failing["visit_quantity"] = ("nd", None)
        else:
            already = sum(t.count or 0 for t in program if t.status != "completed") + (request.ur_authorized_quantity or 0)
            allowance, odg_weeks = p["odg_max_visits"], p["odg_weeks"]
            if already + visits > allowance:
                failing["visit_quantity"] = ("no", max(allowance - already, 0))
            elif weeks is not None and weeks > odg_weeks:
                per_week = request.frequency_per_week
                failing["visit_quantity"] = ("no", (min(math.floor(per_week * odg_weeks), allowance - already) if per_week else None) or None)
    purpose = request.purpose
    deciding = [name for name, (status, _) in failing.items() if status == "no" or kb["undocumented_fails"][name][purpose]]
    requested = request.implied_quantity
    if any(kb["roles"][name] == "admission" for name in deciding):
        return "non_certified", 0, tuple(f"work_conditioning.{name}" for name in deciding)
    if not deciding:
        return "certified", requested, ()
    approvable = [failing[name][1] for name in deciding]
    if requested is not None and all(a is not None and a > 0 for a in approvable):
        approved = min(a for a in approvable if a is not None)
        if approved < requested:
            return "modified", approved, tuple(f"work_conditioning.{name}" for name in deciding)
    return "non_certified", 0, tuple(f"work_conditioning.{name}" for name in deciding)


# ---------------------------------------------------------------- measuring


def per_call_us(func: Callable[[], Any], seconds: float, repeat: int, collect: bool = False) -> float:
    """Best of ``repeat`` runs of about ``seconds`` each, in µs per call (the least disturbed run).
    timeit pauses the garbage collector; ``collect`` runs it as a real batch job would."""
    started = time.perf_counter()
    func()
    once = max(time.perf_counter() - started, 1e-7)
    number = max(1, int(seconds / once))
    setup = "import gc; gc.enable()" if collect else "pass"
    return min(timeit.repeat(func, setup=setup, number=number, repeat=repeat)) / number * 1e6


def median_us(funcs: list[Callable[[], Any]], seconds: float, repeat: int) -> float:
    return statistics.median(per_call_us(f, seconds, repeat) for f in funcs)


def _process_env() -> dict[str, str]:
    """As an installed package runs: byte code cached (some shells set PYTHONDONTWRITEBYTECODE,
    which recompiles every module at each start)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wheel_environment(where: Path) -> Path:
    """A fresh virtual environment under ``where`` with this tree installed from a wheel
    (dependencies as pip resolves them): its python."""
    import shutil
    import venv

    ignore = shutil.ignore_patterns(".git", ".venv*", "build", "dist*", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis", "site", ".site-ci")
    source = Path(shutil.copytree(ROOT, where / "src", ignore=ignore))  # pip builds in the tree it is given
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(where / "dist"), str(source)], check=True)
    wheel = next((where / "dist").glob("mtus_kb-*.whl"))
    venv.EnvBuilder(with_pip=False).create(where / "env")
    python = where / "env" / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    subprocess.run([*pip, "--python", str(python), "install", str(wheel)], check=True)
    return python


# What kb_core cannot start without: pluggy (plugins; it imports inspect and typing), the
# dataclasses of the model (the public API's contract) and datetime (every case has dates).
FLOOR_MODULES = ("pluggy", "dataclasses", "datetime")
# The other standard-library modules a cold load imports today (paths, the cache key's
# sha256, the installed-plugin cache, the guideline cache): the next row shows their cost.
STDLIB_ALSO = ("pathlib", "hashlib", "json", "pickle")


def start_up(python: Path, runs: int, label: str = "") -> list[tuple[str, float, float, str]]:
    """Bare start, cold load and ``mtus evaluate`` of the seed example, in the environment of
    ``python``, with the guideline cache in a directory of this run's own."""
    mtus = python.with_name("mtus.exe" if sys.platform == "win32" else "mtus")
    commands = [
        [str(python), "-c", "pass"],
        [str(python), "-c", f"import {', '.join(FLOOR_MODULES)}"],
        [str(python), "-c", f"import {', '.join(FLOOR_MODULES + STDLIB_ALSO)}"],
        [str(python), "-c", "import kb_core; kb_core.load()"],
        [str(mtus), "evaluate", str(ROOT / "examples" / "seed-work-conditioning.yaml")],
    ]
    with tempfile.TemporaryDirectory(prefix="mtus-kb-bench-cache-") as cache:
        bare, floor, stdlib, start, cli = wall_ms_each(commands, runs, {**_process_env(), "MTUS_KB_CACHE_DIR": cache})
        # Inside the process (import time alone, start-up excluded): where the cold load goes.
        inside = in_process_ms(python, [
            f"import {', '.join(FLOOR_MODULES)}", f"import {', '.join(FLOOR_MODULES + STDLIB_ALSO)}",
            "import kb_core", "import kb_core; kb_core.load()",
        ], runs, {**_process_env(), "MTUS_KB_CACHE_DIR": cache})
    return [
        (f"bare interpreter start{label}", bare, 1.0, "ms"),
        (f"  floor: importing {', '.join(FLOOR_MODULES)}{label}", floor, floor / bare, "ms"),
        (f"  the floor and {', '.join(STDLIB_ALSO)}{label}", stdlib, stdlib / bare, "ms"),
        (f"  in-process: the floor's imports{label}", inside[0], inside[0] / bare, "ms"),
        (f"  in-process: the floor and {', '.join(STDLIB_ALSO)}{label}", inside[1], inside[1] / bare, "ms"),
        (f"  in-process: import kb_core{label}", inside[2], inside[2] / bare, "ms"),
        (f"  in-process: import kb_core; kb_core.load(){label}", inside[3], inside[3] / bare, "ms"),
        (f"cold import kb_core; kb_core.load(){label}", start, start / bare, "ms"),
        (f"mtus evaluate (seed example){label}", cli, cli / bare, "ms"),
    ]


def in_process_ms(python: Path, statements: list[str], runs: int, env: Mapping[str, str]) -> list[float]:
    """The time each statement takes inside a fresh interpreter (its own clock, so the
    interpreter's start is left out), in ms: the least disturbed of ``runs``, taking turns."""
    elsewhere = tempfile.gettempdir()
    timed = [f"import time\nstarted = time.perf_counter()\n{statement}\nprint((time.perf_counter() - started) * 1e3)" for statement in statements]
    for code in timed:  # warm-up: byte code and the guideline cache
        subprocess.run([str(python), "-c", code], check=True, capture_output=True, env=env, cwd=elsewhere)
    times: list[list[float]] = [[] for _ in statements]
    for _ in range(runs):
        for code, taken in zip(timed, times):
            done = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True, env=env, cwd=elsewhere)
            taken.append(float(done.stdout.split()[-1]))
    return [min(taken) for taken in times]


def wall_ms_each(commands: list[list[str]], runs: int, env: Mapping[str, str]) -> list[float]:
    """Wall time of a fresh process of each command, in ms: the least disturbed of ``runs``
    (as for the per-call figures), after one warm-up run each (the OS file cache, byte code
    and the guideline cache are warm, as for a reviewer's second run). The commands take
    turns, so a ratio between them compares runs made under the same load."""
    elsewhere = tempfile.gettempdir()  # not the source tree: python -c would import from it first
    for argv in commands:
        subprocess.run(argv, check=True, capture_output=True, env=env, cwd=elsewhere)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for argv, taken in zip(commands, times):
            started = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env, cwd=elsewhere)
            taken.append((time.perf_counter() - started) * 1e3)
    return [min(taken) for taken in times]


def _criteria(det: Any) -> Any:
    """A determination's criterion results (``criteria``, formerly ``results``)."""
    return det.criteria if hasattr(det, "criteria") else det.results


def _deciding(det: Any) -> Any:
    """A determination's deciding criteria (``deciding_criteria``, formerly ``decisive``)."""
    return det.deciding_criteria if hasattr(det, "deciding_criteria") else det.decisive


def work_conditioning_paths() -> list[Path]:
    return [ROOT / "examples" / "seed-work-conditioning.yaml", *sorted((ROOT / "tests" / "cases" / "work_conditioning").glob("*.yaml"))]


def measure(short: bool, start_only: bool = False, wheel: bool = False) -> tuple[list[tuple[str, float, float, str]], dict[str, Any]]:
    """Rows of (figure, absolute, ratio, unit) and some context."""
    runs = 3 if short else 21  # fresh processes vary more than calls do: more runs find a quiet one
    rows: list[tuple[str, float, float, str]] = []
    context: dict[str, Any] = {"cases": 0, "reference_agrees": 0, "python": sys.version.split()[0]}
    if not start_only:
        rows, context = measure_per_case(short)
    rows += start_up(Path(sys.executable), runs)
    if wheel:
        with tempfile.TemporaryDirectory(prefix="mtus-kb-bench-wheel-") as where:
            rows += start_up(wheel_environment(Path(where)), runs, WHEEL)
    return rows, context


WHEEL = ", wheel install"


FLOOR_EVALUATORS = "  floor: the evaluators alone, no engine"
FLOOR_DECIDE = "  floor: kb.decide(case), no trace"


def evaluator_calls(kb: Any, cases: list[Any]) -> list[list[tuple[Callable[..., Any], Mapping[str, Any]]]]:
    """Per case, the evaluator functions ``kb.evaluate`` calls for it and their parameters,
    in plan order (those of criteria outside the request's body regions are not called)."""
    calls = []
    for case in cases:
        plan = kb._plan("work_conditioning", kb.version_for("work_conditioning", case.dates.decisive))
        regions = case.request.body_regions
        calls.append([(s.evaluator.func, s.params) for s in plan if not s.regions or not s.regions.isdisjoint(regions)])
    return calls


def measure_per_case(short: bool) -> tuple[list[tuple[str, float, float, str]], dict[str, Any]]:
    """The per-case rows, as ratios to the plain-Python reference."""
    import kb_core
    from kb_core._yaml import read_document

    seconds = 0.002 if short else 0.005  # per timed run, per case
    repeat = 3 if short else 15  # on a shared machine more short runs find a quiet one more often
    kb = kb_core.load()
    paths = work_conditioning_paths()
    docs = [read_document(p, kb_core.CaseError) for p in paths]
    cases = [kb_core.parse_case(d, p) for d, p in zip(docs, paths)]
    evaluated = [c for c in cases if _criteria(kb.evaluate(c))]  # work conditioning criteria in force
    # What the reference reads from the knowledge base, for the version in force on each case's date.
    inputs = []
    for case in evaluated:
        plan = kb._plan("work_conditioning", kb.version_for("work_conditioning", case.dates.decisive))
        params = {k: v for step in plan for k, v in step.params.items()}
        yaml_facts = {
            "roles": {s.criterion.id.split(".", 1)[1]: s.criterion.role for s in plan},
            "undocumented_fails": {s.criterion.id.split(".", 1)[1]: s.undocumented_decides for s in plan},
        }
        inputs.append((case, params, yaml_facts))
    agree = sum(
        plain_work_conditioning(*given) == (det.decision.value, det.approved_quantity, tuple(_deciding(det)))
        for given in inputs for det in [kb.evaluate(given[0])]
    )
    reference = median_us([lambda given=given: plain_work_conditioning(*given) for given in inputs], seconds, repeat)
    rows: list[tuple[str, float, float, str]] = [("plain-Python reference (decision, deciding)", reference, 1.0, "µs")]

    def per_case(label: str, funcs: list[Callable[[], Any]]) -> None:
        us = median_us(funcs, seconds, repeat)
        rows.append((label, us, us / reference, "µs"))

    per_case("kb.evaluate(case), full trace", [lambda c=c: kb.evaluate(c) for c in evaluated])
    # Two floors under that figure: the plugins' evaluators alone (one call and one Finding per
    # criterion, as the plugin contract has it; no engine), and kb.decide (the engine without
    # the trace).
    per_case(FLOOR_EVALUATORS, [lambda calls=calls, c=c: [func(c, params) for func, params in calls] for c, calls in zip(evaluated, evaluator_calls(kb, evaluated))])
    per_case(FLOOR_DECIDE, [lambda c=c: kb.decide(c) for c in evaluated])
    mappings = [d for d, c in zip(docs, cases) if c in evaluated]
    per_case("kb.evaluate(mapping), validation included", [lambda d=d: kb.evaluate(d) for d in mappings])
    dets = [kb.evaluate(c) for c in evaluated]
    per_case("canonical JSON of a determination", [lambda d=d: kb_core.determination_json(d) for d in dets])
    per_case("reading a YAML case file (load_case)", [lambda p=p: kb_core.load_case(p) for p in paths])
    if hasattr(kb, "evaluate_many"):
        batch = evaluated * max(1, 2000 // len(evaluated))
        us = per_call_us(lambda: kb.evaluate_many(batch), 0.0, repeat, collect=True) / len(batch)
        rows.append(("kb.evaluate_many, per case", us, us / reference, "µs"))
    else:
        rows.append(("kb.evaluate_many, per case", math.nan, math.nan, "µs"))
    if hasattr(kb, "decide_many"):  # the batch path: decisions and deciding criteria, no trace
        batch = evaluated * max(1, 2000 // len(evaluated))
        us = per_call_us(lambda: kb.decide_many(batch), 0.0, repeat, collect=True) / len(batch)
        rows.append(("kb.decide_many, per case (no trace)", us, us / reference, "µs"))
    else:
        rows.append(("kb.decide_many, per case (no trace)", math.nan, math.nan, "µs"))

    context = {"cases": len(evaluated), "reference_agrees": agree, "python": sys.version.split()[0]}
    return rows, context


KEYS = {
    "kb.evaluate(case), full trace": "evaluate_case",
    "kb.evaluate(mapping), validation included": "evaluate_mapping",
    "canonical JSON of a determination": "canonical_json",
    "reading a YAML case file (load_case)": "read_case_file",
    "kb.evaluate_many, per case": "evaluate_many",
    "kb.decide_many, per case (no trace)": "decide_many",
    "cold import kb_core; kb_core.load()": "cold_load",
    "mtus evaluate (seed example)": "cli_evaluate",
    # held to the same targets and budgets
    f"cold import kb_core; kb_core.load(){WHEEL}": "cold_load",
    f"mtus evaluate (seed example){WHEEL}": "cli_evaluate",
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="CI mode: quick, fails only on a gross regression")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON as well")
    parser.add_argument("--wheel", action="store_true", help="also measure start-up installed from a wheel in a fresh environment")
    parser.add_argument("--start-only", action="store_true", help="measure the start-up figures only")
    args = parser.parse_args(argv)
    recorded = json.loads(BUDGETS.read_text("utf-8"))
    budgets: dict[str, float] = recorded["budgets"]
    targets: dict[str, float] = recorded["targets"]
    absolute_targets: dict[str, float | None] = recorded.get("absolute_targets", {})
    rows, context = measure(args.short, args.start_only, args.wheel)
    if args.start_only:
        print(f"mtus-kb start-up, python {context['python']}")
    else:
        print(f"mtus-kb speed: {context['cases']} work conditioning cases, python {context['python']}; "
              f"the reference agrees with the engine's decision, approved quantity and deciding criteria on "
              f"{context['reference_agrees']}/{context['cases']}")
    print(f"{'figure':<74} {'absolute':>12} {'ratio':>8} {'target':>16} {'budget':>8}")
    failed = []
    for label, value, ratio, unit in rows:
        key = KEYS.get(label, "")
        budget, target, absolute = budgets.get(key), targets.get(key), absolute_targets.get(key)
        flag = ""
        if budget is not None and not math.isnan(ratio):
            if ratio > GROSS * budget:
                flag = f"  GROSS REGRESSION (> {GROSS:g}x budget)"
                failed.append(label)
            elif (target is not None and ratio > target) or (absolute is not None and value > absolute):
                flag = "  (over target)"
        shown = lambda x: "" if x is None else f"{x:7.1f}x"  # noqa: E731
        wanted = (f"<={absolute:g} {unit} " if absolute is not None else "") + (f"<={target:g}x" if target is not None else "")
        print(f"{label:<74} {value:9.1f} {unit:<2} {ratio:7.1f}x {wanted:>16} {shown(budget):>8}{flag}")
    if args.json:
        print(json.dumps({KEYS.get(label, label): {"absolute": value, "unit": unit, "ratio": ratio} for label, value, ratio, unit in rows}, indent=2))
    if not args.start_only and context["reference_agrees"] != context["cases"]:
        print("the plain-Python reference no longer computes what the engine does: update it to today's rules", file=sys.stderr)
        return 1
    if args.short and failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
