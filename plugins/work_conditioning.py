"""Work conditioning / work hardening evaluators.

Thresholds, statements and citations live in ``guidelines/work_conditioning.yaml``;
each function below judges the criterion of the same name.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl
from kb_core._resources import files
from kb_plugins._caps import once_per_case

T = "work_conditioning"


@evaluator(f"{T}.job_demand")
def job_demand(case: Case, p: Mapping[str, Any]) -> Finding:
    level = case.worker.physical_demand_level
    if level is None:
        return Finding.not_documented("the job's physical demand level is not documented")
    floor = p["min_physical_demand_level"]
    order = p["physical_demand_levels_in_order"]
    if order.index(level) < order.index(floor):
        return Finding.not_met(lambda: f"the job is {level} work, below the {floor} demand level the program is for")
    if case.findings.fce_valid_below_job_demands is False:
        return Finding.not_met("the FCE does not show valid, maximal-effort capacities below the job's demands")
    limited = case.findings.functional_limitations_preclude_job
    if limited is False:
        return Finding.not_met("the worker's limitations do not prevent safe performance of the job")
    if limited is None:
        return Finding.not_documented(f"{level} job documented, but not that functional limitations prevent doing it safely")
    return Finding.met(f"{level} job that the worker's functional limitations prevent doing safely")


@evaluator(f"{T}.prior_pt_plateau")
def prior_pt_plateau(case: Case, p: Mapping[str, Any]) -> Finding:
    kinds = p["requires_prior_trial_of"]
    trials = case.prior(*kinds)
    if not trials:
        return Finding.not_documented(lambda: f"no prior trial of {_or_names(kinds)} is documented", prior_treatments=trials)
    if case.findings.likely_to_benefit_from_more_pt is True:
        return Finding.not_met(lambda: f"the record says the worker is still likely to benefit from more {_or_names(kinds)}", prior_treatments=trials)
    if any(t.functional_improvement is True and t.plateau is True for t in trials):
        return Finding.met(lambda: f"a {_or_names(kinds)} trial improved function and then plateaued", prior_treatments=trials)
    if all(t.functional_improvement is False for t in trials):
        return Finding.not_met(lambda: f"the {_or_names(kinds)} trial(s) produced no functional improvement", prior_treatments=trials)
    if any(t.plateau is False for t in trials) and not any(t.plateau is None for t in trials):
        return Finding.not_met(lambda: f"the {_or_names(kinds)} trial(s) had not reached a plateau", prior_treatments=trials)

    def reason() -> str:
        total = sum(t.count or 0 for t in trials)
        visits = f" ({total} visits documented)" if total else ""
        return f"a {_or_names(kinds)} trial{visits} is documented, but not improvement followed by a plateau"

    return Finding.not_documented(reason, prior_treatments=trials)


def _or_names(kinds: tuple[str, ...]) -> str:
    return " or ".join(k.replace("_", " ") for k in kinds)


# Findings whose reasons are fixed text are made once, by the documented fact they judge
# (True, False, None: not documented): evaluation is a hot path.
_BY_SURGICAL_CANDIDATE = {
    False: Finding.met("surgery or other clearly warranted treatment is not indicated"),
    True: Finding.not_met("the worker is a candidate for surgery or other clearly warranted treatment"),
    None: Finding.not_documented("whether surgery or other treatment is warranted is not documented"),
}


@evaluator(f"{T}.not_surgical_candidate")
def not_surgical_candidate(case: Case, p: Mapping[str, Any]) -> Finding:
    return _BY_SURGICAL_CANDIDATE[case.findings.surgical_candidate]


@evaluator(f"{T}.tolerance")
def tolerance(case: Case, p: Mapping[str, Any]) -> Finding:
    hours, days = case.findings.tolerance_hours_per_day, case.findings.tolerance_days_per_week
    need_h, need_d = p["min_hours_per_day"], p["min_days_per_week"]
    if hours is not None and hours < need_h:
        return Finding.not_met(lambda: f"tolerates {hours:g} hours a day; at least {need_h} are needed")
    if days is not None and days < need_d:
        return Finding.not_met(lambda: f"tolerates {days:g} days a week; at least {need_d} are needed")
    if hours is None or days is None:
        return Finding.not_documented("the hours a day and days a week the worker can take part are not both documented")
    return Finding.met(lambda: f"tolerates {hours:g} hours a day, {days:g} days a week")


@evaluator(f"{T}.return_to_work_goal")
def return_to_work_goal(case: Case, p: Mapping[str, Any]) -> Finding:
    goal, agreed = case.findings.return_to_work_goal, case.findings.return_to_work_goal_agreed
    if goal == "none":
        return Finding.not_met("there is no specific job or on-the-job training to return to")
    if agreed is False:
        return Finding.not_met("the return-to-work goal is not agreed by employer and employee")
    if goal is None:
        return Finding.not_documented("no specific job or on-the-job training goal is documented")
    if agreed is None:
        return Finding.not_documented(lambda: f"{goal.replace('_', ' ')} goal documented, but not the employer's and employee's agreement")
    return Finding.met(lambda: f"{goal.replace('_', ' ')} goal agreed by employer and employee")


_BY_SCREENING = {
    True: Finding.met("screening found the worker likely to benefit"),
    False: Finding.not_met("screening did not find the worker likely to benefit"),
    None: Finding.not_documented("no screening of the likelihood of benefit is documented"),
}


@evaluator(f"{T}.screening")
def screening(case: Case, p: Mapping[str, Any]) -> Finding:
    return _BY_SCREENING[case.findings.screening_completed]


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February -> 28 February
        return day.replace(year=day.year + years, day=28)


@evaluator(f"{T}.time_since_injury")
def time_since_injury(case: Case, p: Mapping[str, Any]) -> Finding:
    injury = case.dates.injury
    if injury is None:
        return Finding.not_documented("the date of injury is not documented")
    on = case.dates.decisive
    limit = add_years(injury, p["max_years_since_injury"])
    if on > limit:
        return Finding.not_met(lambda: f"{(on - injury).days} days from injury ({injury}) to {on}: more than {p['max_years_since_injury']} years")
    return Finding.met(lambda: f"{(on - injury).days} days from injury ({injury}) to {on}: within {p['max_years_since_injury']} years")


@once_per_case
def _programs(case: Case, kinds: tuple[str, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], float | None]:
    """The same or similar programs documented: all of them, those under way, those
    completed, and the weeks the ones under way have run (:func:`_weeks_run`). Four
    criteria ask this of a case: answered once."""
    programs = case.prior(*kinds)
    ongoing = tuple([t for t in programs if t.status == "ongoing"])
    completed = tuple([t for t in programs if t.status == "completed"])
    return programs, ongoing, completed, _weeks_run(case, ongoing)


def _weeks_run(case: Case, ongoing: tuple[Any, ...]) -> float | None:
    """Weeks a program under way has already run: from its start date, else its visits over
    the requested weekly frequency. 0 when none is under way; None when it cannot be told."""
    if not ongoing:
        return 0.0
    started = [t.start for t in ongoing if t.start]
    if started:
        return max((case.dates.decisive - min(started)).days / 7, 0.0)
    counts = [t.count for t in ongoing]
    per_week = case.request.frequency_per_week
    if all(c is not None for c in counts) and per_week:
        return sum(c for c in counts if c is not None) / per_week
    return None


@evaluator(f"{T}.program_length")
def program_length(case: Case, p: Mapping[str, Any]) -> Finding:
    request = case.request
    weeks = request.span_weeks
    limit = p["max_program_weeks"]
    if weeks is None:
        return Finding.not_documented("the requested frequency and duration are not documented")
    # A continuation counts the weeks the program has already run.
    used = _programs(case, p["same_or_similar_program"])[3] or 0.0
    total = used + weeks
    per_week = request.frequency_per_week
    hours = _hours_requested(case)
    max_hours = p["max_program_hours"]
    if total > limit:
        fits = math.floor(per_week * (limit - used)) if per_week and used < limit else None
        return Finding.not_met(lambda: f"{weeks:g} weeks requested{_so_far(used)}: more than {limit} consecutive weeks", approvable=fits or None)
    if hours is not None and hours > max_hours:
        per_day = request.hours_per_day
        fits = (max_hours if request.unit == "hours" else math.floor(max_hours / per_day)) if per_day else None
        return Finding.not_met(lambda: f"{hours:g} program hours requested: more than the {max_hours} hours of a {limit}-week program", approvable=fits or None)
    return Finding.met(
        lambda: f"{weeks:g} weeks{f', {hours:g} hours' if hours is not None else ''} requested{_so_far(used)}: within {limit} consecutive weeks and {max_hours} hours"
    )


def _so_far(used: float) -> str:
    return f" after {used:g} weeks already in the program" if used else ""


def _hours_requested(case: Case) -> float | None:
    """Program hours requested: a quantity in hours, else sessions x hours a day."""
    request = case.request
    if request.quantity is not None and request.unit == "hours":
        return float(request.quantity)
    visits = request.visits
    if visits is not None and request.hours_per_day:
        return visits * request.hours_per_day
    return None


@evaluator(f"{T}.progress_check")
def progress_check(case: Case, p: Mapping[str, Any]) -> Finding:
    _, ongoing, _, run = _programs(case, p["same_or_similar_program"])
    review = p["progress_review_weeks"]
    if case.request.purpose != "continuation" and not ongoing:
        return Finding.not_applicable(f"initial request; the check applies when a program continues past {review} weeks")
    if run is not None and run < review:
        return Finding.not_applicable(lambda: f"the program has run {run:g} weeks; compliance and gains are due for review at {review} weeks")
    def so_far() -> str:
        return f"the program has run {run:g} weeks" if run is not None else "how long the program has run is not documented"

    return Finding.from_fact(
        case.findings.compliance_and_gains_documented,
        met=lambda: f"{so_far()}: compliance and significant functional gains documented",
        not_met=lambda: f"{so_far()}, past the {review}-week review: compliance and significant gains are not shown",
        not_documented=lambda: f"{so_far()}, past the {review}-week review, without documented compliance and functional gains",
    )


@evaluator(f"{T}.no_repeat")
def no_repeat(case: Case, p: Mapping[str, Any]) -> Finding:
    completed = _programs(case, p["same_or_similar_program"])[2]
    if completed:
        return Finding.not_met(lambda: f"a similar program was already completed ({', '.join(sorted({t.treatment.replace('_', ' ') for t in completed}))})")
    return _NO_COMPLETED_PROGRAM


_NO_COMPLETED_PROGRAM = Finding.met("no completed work conditioning, work hardening or functional restoration program is documented")


@evaluator(f"{T}.visit_quantity")
def visit_quantity(case: Case, p: Mapping[str, Any]) -> Finding:
    request = case.request
    if request.treatment not in p["visit_allowance_applies_to"]:
        return Finding.not_applicable(
            lambda: f"{request.treatment.replace('_', ' ')} is limited by program length and hours, not by the ODG work conditioning visit count"
        )
    if request.unit == "hours":
        return Finding.not_applicable("requested in hours; the visit allowance does not apply (program length does)")
    visits = request.visits
    if visits is None:
        return Finding.not_documented("the number of visits requested is not documented and does not follow from the unit, frequency and duration")
    given = sum([t.count or 0 for t in _programs(case, p["same_or_similar_program"])[0] if t.status != "completed"])
    already = given + (request.ur_authorized_quantity or 0)
    allowance = p["odg_max_visits"]
    total = already + visits
    weeks, odg_weeks = request.span_weeks, p["odg_weeks"]
    if total <= allowance and (weeks is None or weeks <= odg_weeks):
        return Finding.met(lambda: f"{_counted(visits, already)}: within {allowance} visits over {odg_weeks} weeks")
    if total <= allowance:
        per_week = request.frequency_per_week
        fits = min(math.floor(per_week * odg_weeks), allowance - already) if per_week else None
        return Finding.not_met(lambda: f"{_counted(visits, already)} over {weeks:g} weeks, longer than the {odg_weeks} weeks of the allowance", approvable=fits or None)
    return Finding.not_met(
        lambda: f"{_counted(visits, already)} = {total}, above {allowance} visits over {p['odg_weeks']} weeks",
        approvable=max(allowance - already, 0),
    )


def _counted(visits: int, already: int) -> str:
    return f"{visits} requested" + (f" + {already} already given or certified" if already else "")


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "work_conditioning.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [
        job_demand, prior_pt_plateau, not_surgical_candidate, tolerance, return_to_work_goal,
        screening, time_since_injury, program_length, progress_check, no_repeat, visit_quantity,
    ]
