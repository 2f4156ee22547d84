"""Work conditioning / work hardening evaluators.

Thresholds, statements and citations live in ``guidelines/work_conditioning.yaml``;
each function below judges the criterion of the same name.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl

T = "work_conditioning"
DEMAND_ORDER = ("sedentary", "light", "medium", "heavy", "very_heavy")


@evaluator(f"{T}.job_demand")
def job_demand(case: Case, p: Mapping[str, Any]) -> Finding:
    level = case.worker.physical_demand_level
    if level is None:
        return Finding.not_documented("the job's physical demand level is not documented")
    floor = p["min_physical_demand_level"]
    if DEMAND_ORDER.index(level) < DEMAND_ORDER.index(floor):
        return Finding.not_met(f"the job is {level} work, below the {floor} demand level the program is for")
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
    named = " or ".join(k.replace("_", " ") for k in kinds)
    if not trials:
        return Finding.not_documented(f"no prior trial of {named} is documented", prior_treatments=trials)
    if case.findings.likely_to_benefit_from_more_pt is True:
        return Finding.not_met(f"the record says the worker is still likely to benefit from more {named}", prior_treatments=trials)
    if any(t.functional_improvement is True and t.plateau is True for t in trials):
        return Finding.met(f"a {named} trial improved function and then plateaued", prior_treatments=trials)
    if all(t.functional_improvement is False for t in trials):
        return Finding.not_met(f"the {named} trial(s) produced no functional improvement", prior_treatments=trials)
    if any(t.plateau is False for t in trials) and not any(t.plateau is None for t in trials):
        return Finding.not_met(f"the {named} trial(s) had not reached a plateau", prior_treatments=trials)
    total = sum(t.count or 0 for t in trials)
    visits = f" ({total} visits documented)" if total else ""
    return Finding.not_documented(f"a {named} trial{visits} is documented, but not improvement followed by a plateau", prior_treatments=trials)


@evaluator(f"{T}.not_surgical_candidate")
def not_surgical_candidate(case: Case, p: Mapping[str, Any]) -> Finding:
    candidate = case.findings.surgical_candidate
    return Finding.from_fact(
        None if candidate is None else not candidate,
        met="surgery or other clearly warranted treatment is not indicated",
        not_met="the worker is a candidate for surgery or other clearly warranted treatment",
        not_documented="whether surgery or other treatment is warranted is not documented",
    )


@evaluator(f"{T}.tolerance")
def tolerance(case: Case, p: Mapping[str, Any]) -> Finding:
    hours, days = case.findings.tolerance_hours_per_day, case.findings.tolerance_days_per_week
    need_h, need_d = p["min_hours_per_day"], p["min_days_per_week"]
    if hours is not None and hours < need_h:
        return Finding.not_met(f"tolerates {hours:g} hours a day; at least {need_h} are needed")
    if days is not None and days < need_d:
        return Finding.not_met(f"tolerates {days:g} days a week; at least {need_d} are needed")
    if hours is None or days is None:
        return Finding.not_documented("the hours a day and days a week the worker can take part are not both documented")
    return Finding.met(f"tolerates {hours:g} hours a day, {days:g} days a week")


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
        return Finding.not_documented(f"{goal.replace('_', ' ')} goal documented, but not the employer's and employee's agreement")
    return Finding.met(f"{goal.replace('_', ' ')} goal agreed by employer and employee")


@evaluator(f"{T}.screening")
def screening(case: Case, p: Mapping[str, Any]) -> Finding:
    return Finding.from_fact(
        case.findings.screening_completed,
        met="screening found the worker likely to benefit",
        not_met="screening did not find the worker likely to benefit",
        not_documented="no screening of the likelihood of benefit is documented",
    )


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
    elapsed = f"{(on - injury).days} days from injury ({injury}) to {on}"
    if on > limit:
        return Finding.not_met(f"{elapsed}: more than {p['max_years_since_injury']} years")
    return Finding.met(f"{elapsed}: within {p['max_years_since_injury']} years")


@evaluator(f"{T}.program_length")
def program_length(case: Case, p: Mapping[str, Any]) -> Finding:
    request = case.request
    weeks = request.weeks
    limit = p["max_program_weeks"]
    if weeks is None:
        return Finding.not_documented("the requested frequency and duration are not documented")
    # A continuation counts the weeks the program has already run.
    started = [t.start for t in case.prior(*p["same_or_similar_program"]) if t.status == "ongoing" and t.start]
    used = max((case.dates.decisive - min(started)).days / 7, 0) if started else 0.0
    total = used + weeks
    so_far = f" after {used:g} weeks already in the program" if used else ""
    if total <= limit:
        return Finding.met(f"{weeks:g} weeks requested{so_far}: within {limit} consecutive weeks")
    per_week = request.per_week
    fits = math.floor(per_week * (limit - used)) if per_week and used < limit else None
    return Finding.not_met(f"{weeks:g} weeks requested{so_far}: more than {limit} consecutive weeks", approvable=fits or None)


@evaluator(f"{T}.progress_check")
def progress_check(case: Case, p: Mapping[str, Any]) -> Finding:
    ongoing = [t for t in case.prior(*p["same_or_similar_program"]) if t.status == "ongoing"]
    if case.request.purpose != "continuation" and not ongoing:
        return Finding.not_applicable(f"initial request; the check applies when a program continues past {p['progress_review_weeks']} weeks")
    return Finding.from_fact(
        case.findings.compliance_and_gains_documented,
        met="compliance and significant functional gains documented in the program so far",
        not_met="continuation requested, but compliance and significant gains are not shown",
        not_documented="continuation requested without documented compliance and functional gains",
    )


@evaluator(f"{T}.no_repeat")
def no_repeat(case: Case, p: Mapping[str, Any]) -> Finding:
    completed = [t for t in case.prior(*p["same_or_similar_program"]) if t.status == "completed"]
    if completed:
        names = ", ".join(sorted({t.treatment.replace("_", " ") for t in completed}))
        return Finding.not_met(f"a similar program was already completed ({names})")
    return Finding.met("no completed work conditioning, work hardening or functional restoration program is documented")


@evaluator(f"{T}.visit_quantity")
def visit_quantity(case: Case, p: Mapping[str, Any]) -> Finding:
    request = case.request
    if request.unit == "hours":
        return Finding.not_applicable("requested in hours; the visit allowance does not apply (program length does)")
    if request.quantity is None:
        return Finding.not_documented("the number of visits requested is not documented")
    given = sum(t.count or 0 for t in case.prior(*p["same_or_similar_program"]) if t.status != "completed")
    already = given + (request.ur_authorized_quantity or 0)
    allowance = p["odg_max_visits"]
    total = already + request.quantity
    counted = f"{request.quantity} requested" + (f" + {already} already given or certified" if already else "")
    if total <= allowance:
        return Finding.met(f"{counted}: within {allowance} visits over {p['odg_weeks']} weeks")
    return Finding.not_met(
        f"{counted} = {total}, above {allowance} visits over {p['odg_weeks']} weeks",
        approvable=max(allowance - already, 0),
    )


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "work_conditioning.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [
        job_demand, prior_pt_plateau, not_surgical_candidate, tolerance, return_to_work_goal,
        screening, time_since_injury, program_length, progress_check, no_repeat, visit_quantity,
    ]
