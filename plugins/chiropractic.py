"""Chiropractic (manual therapy and manipulation) evaluators.

Allowances, region lists, statements and citations live in ``guidelines/chiropractic.yaml``;
each function below judges the criterion of the same name.

Earlier visits count region by region: a course counts for a region when it names that
region or names none (the record does not say, so it may have). Which regions each
allowance covers is the ``course_regions`` parameter. The statutory cap counts every
chiropractic visit for the injury, whatever the region. Visits requested are always
``Request.visits`` (quantity, unit, frequency and duration resolved once, in the core).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl
from kb_core._resources import files
from kb_plugins._caps import (
    concurrent_therapy as _concurrent_therapy,
    duplicate_request as _duplicate_request,
    region_named,
    schedule_note,
    statute_only_era as _statute_only_era,
    statutory_cap,
    visits_stated as _visits_stated,
    weeks_check,
)
from kb_plugins._text import mentions

T = "chiropractic"


def _names(regions: Iterable[str]) -> str:
    return ", ".join(r.replace("_", " ") for r in regions)


def _courses(case: Case, regions: Iterable[str]) -> tuple[Any, ...]:
    """Earlier non-postsurgical chiropractic courses that count for ``regions`` (all of
    them when no region is given)."""
    wanted = set(regions)
    return tuple(
        t for t in case.prior(T)
        if not t.post_surgical and (not wanted or not t.body_regions or wanted & set(t.body_regions))
    )


def _stage(case: Case, courses: tuple[Any, ...]) -> str:
    """initial, continuation, flare_up or maintenance. Earlier visits for the region make a
    request a continuation whatever it is called, unless it is for a flare-up or maintenance."""
    purpose = case.request.purpose
    if purpose in ("flare_up", "maintenance"):
        return purpose
    if purpose == "continuation" or courses:
        return "continuation"
    return "initial"


def _requested(case: Case) -> int | None:
    """Visits requested, whatever unit the request states them in (None: unresolvable)."""
    return case.request.visits


def _not_counted(case: Case) -> Finding:
    return Finding.not_applicable("the number of visits requested is not stated (see visits_stated)")


def _improvement(course: Any, acute: bool) -> bool | None:
    """Whether a course documents the improvement a continuation needs: objective
    improvement always; improvement the worker only reports, in an acute injury."""
    if course.improvement == "objective":
        return True
    if course.improvement == "none":
        return False
    if course.improvement == "reported":
        return True if acute else None
    return course.functional_improvement


def _regions_for(p: Mapping[str, Any], requested: Iterable[str]) -> tuple[str, ...]:
    """The regions of every allowance a request names (for counting earlier visits)."""
    wanted = set(requested)
    return tuple(r for regions in p["course_regions"].values() if wanted & set(regions) for r in regions) or tuple(wanted)


# ------------------------------------------------------------------ request


@evaluator(f"{T}.statute_only_era")
def statute_only_era(case: Case, p: Mapping[str, Any]) -> Finding:
    return _statute_only_era(case, p, T)


@evaluator(f"{T}.visits_stated")
def visits_stated(case: Case, p: Mapping[str, Any]) -> Finding:
    return _visits_stated(case)


@evaluator(f"{T}.concurrent_therapy")
def concurrent_therapy(case: Case, p: Mapping[str, Any]) -> Finding:
    return _concurrent_therapy(case, p)


@evaluator(f"{T}.duplicate_request")
def duplicate_request(case: Case, p: Mapping[str, Any]) -> Finding:
    return _duplicate_request(case)


# ------------------------------------------------------------------ regions


@evaluator(f"{T}.region_documented")
def region_documented(case: Case, p: Mapping[str, Any]) -> Finding:
    return region_named(case)


@evaluator(f"{T}.region_covered")
def region_covered(case: Case, p: Mapping[str, Any]) -> Finding:
    regions = case.request.body_regions
    if not regions:
        return Finding.not_applicable("no region named (see region_documented)")
    refused = [r for r in regions if r in p["regions_not_recommended"] or r in p["regions_without_recommendation"]]
    addressed = set(p["regions_with_criteria"]) | set(refused)
    outside = [r for r in regions if r not in addressed]
    if not outside:
        return Finding.met(lambda: f"{_names(regions)}: addressed by the encoded guideline")
    if refused:
        return Finding.not_applicable(
            f"{_names(outside)} not addressed, but the request also names {_names(refused)}, which decides it as submitted"
        )
    return Finding.not_met(
        f"manipulation of the {_names(outside)} is addressed neither by the CPMTG nor by the encoded ODG rows"
    )


@evaluator(f"{T}.region_recommended")
def region_recommended(case: Case, p: Mapping[str, Any]) -> Finding:
    regions = case.request.body_regions
    if not regions:
        return Finding.not_applicable("no region named (see region_documented)")
    refused = [r for r in regions if r in p["regions_not_recommended"]]
    if refused:
        return Finding.not_met(lambda: f"manipulation is not recommended for the {_names(refused)}")
    return Finding.met(lambda: f"{_names(regions)}: not among the regions where manipulation is not recommended")


@evaluator(f"{T}.region_no_recommendation")
def region_no_recommendation(case: Case, p: Mapping[str, Any]) -> Finding:
    silent = [r for r in case.request.body_regions if r in p["regions_without_recommendation"]]
    if not silent:
        return Finding.not_applicable(lambda: f"no region named whose MTUS chapter lacks a recommendation ({_names(p['regions_without_recommendation'])})")
    return Finding.not_met(lambda: f"the MTUS makes no recommendation for manipulation of the {_names(silent)}, so the request has no guideline support")


# ------------------------------------------------------------------ indication and purpose


def _musculoskeletal_diagnosis(case: Case, p: Mapping[str, Any]) -> str | None:
    """The first diagnosis that names a musculoskeletal condition, if any."""
    for diagnosis in case.diagnoses:
        if diagnosis.category in p["musculoskeletal_categories"] or mentions(diagnosis.description, p["musculoskeletal_terms"]):
            return diagnosis.description
    return None


@evaluator(f"{T}.musculoskeletal_indication")
def musculoskeletal_indication(case: Case, p: Mapping[str, Any]) -> Finding:
    stated = case.findings.musculoskeletal_condition
    if stated is False:
        return Finding.not_met("the pain is not documented as caused by a musculoskeletal condition")
    if stated:
        return Finding.met("pain caused by a musculoskeletal condition")
    diagnosis = _musculoskeletal_diagnosis(case, p)
    if diagnosis is not None:
        return Finding.met(f"musculoskeletal diagnosis: {diagnosis}")
    if case.diagnoses:
        return Finding.not_documented("no diagnosis documents a musculoskeletal condition causing the pain")
    return Finding.not_documented("no diagnosis is documented")


@evaluator(f"{T}.plan_of_care")
def plan_of_care(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.findings.plan_of_care_recommends_treatment is False:
        return Finding.not_met("the provider's plan of care does not recommend manipulation")
    if case.findings.plan_of_care_recommends_treatment:
        return Finding.met("the provider's plan of care recommends manipulation")
    return Finding.met("the request for authorization is itself the treating provider's recommendation of manipulation")


@evaluator(f"{T}.not_maintenance")
def not_maintenance(case: Case, p: Mapping[str, Any]) -> Finding:
    purpose = case.request.purpose
    if purpose == "maintenance":
        return Finding.not_met("requested as maintenance care, which is not medically necessary")
    if purpose is None:
        return Finding.met("not requested as maintenance care")
    return Finding.met(lambda: f"requested as {purpose.replace('_', '-')} care, not maintenance")


# ------------------------------------------------------------------ continuation and flare-ups


@evaluator(f"{T}.continuation_functional_improvement")
def continuation_functional_improvement(case: Case, p: Mapping[str, Any]) -> Finding:
    courses = _courses(case, _regions_for(p, case.request.body_regions))
    stage = _stage(case, courses)
    if stage != "continuation":
        return Finding.not_applicable(lambda: f"{stage.replace('_', '-')} request, not the continuation of a course")
    if not courses:
        return Finding.not_documented("continuation requested, but no earlier chiropractic course is documented")
    limit = p["time_to_effect_visits"]
    given = sum(t.count or 0 for t in courses)
    known = all(t.count is not None for t in courses)
    requested = _requested(case)
    total = given + (case.request.ur_authorized_quantity or 0) + (requested or 0)
    if known and requested is not None and total <= limit:
        return Finding.not_applicable(lambda: f"{total} visits in all, still within the first {limit} in which an effect should appear")
    acute = case.findings.injury_phase in p["reported_benefit_accepted_phases"]
    outcomes = [_improvement(t, acute) for t in courses]
    earlier = f"{given} earlier visits" if known else "earlier visits (number not documented)"
    if False in outcomes:
        return Finding.not_met(f"{earlier}: no objective functional improvement documented from them")
    if all(outcomes):
        kind = "improvement" if acute else "objective functional improvement"
        return Finding.met(lambda: f"{earlier}: {kind} documented")
    if any(t.improvement == "reported" for t in courses):
        return Finding.not_documented(f"{earlier}: improvement is only reported, not measured; continuing treatment of a non-acute injury needs objective functional improvement")
    return Finding.not_documented(f"{earlier}: objective functional improvement from them is not documented")


def _back_at_work(case: Case, statuses: Mapping[str, Any]) -> bool | None:
    worker = case.worker
    if worker.returned_to_work is not None:
        return worker.returned_to_work
    if worker.work_status in statuses["at_work"]:
        return True
    if worker.work_status in statuses["off_work"]:
        return False
    return None


def _last_visit(courses: Iterable[Any]) -> dt.date | None:
    days = [t.end or t.start for t in courses if (t.end or t.start) is not None]
    return max(days) if days else None


def _months_between(earlier: dt.date, later: dt.date) -> float:
    return (later.year - earlier.year) * 12 + (later.month - earlier.month) + (later.day - earlier.day) / 31


@evaluator(f"{T}.flare_up")
def flare_up(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.purpose != "flare_up":
        return Finding.not_applicable("not requested for a flare-up")
    months = p["flare_up_interval_months"]
    every = f"flare-up visits no more often than every {months} months"
    if case.findings.flare_up is False:
        return Finding.not_met("requested for a flare-up, but the examination does not document one")
    courses = _courses(case, case.request.body_regions)
    if any(t.functional_improvement is False or t.improvement == "none" for t in courses):
        return Finding.not_met("earlier chiropractic care produced no objective functional improvement, so re-evaluation does not support more")
    last = _last_visit(courses)
    if last is not None and _months_between(last, case.dates.decisive) < months:
        return Finding.not_met(lambda: f"earlier chiropractic care for the region was given on {last}, less than {months} months before this flare-up request")
    if last is not None:
        every += f" (last earlier visit {last})"
    else:
        every += " (no date of earlier visits documented: interval noted, not checked)"
    at_work = _back_at_work(case, p["return_to_work_statuses"])
    if at_work is None:
        return Finding.not_documented("whether the worker returned to work after earlier care is not documented")
    if not at_work:
        return Finding.not_met("the worker has not returned to work, which flare-up care requires")
    return Finding.met(f"return to work achieved after earlier care: {every}")


@evaluator(f"{T}.flare_up_visits")
def flare_up_visits(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.purpose != "flare_up":
        return Finding.not_applicable("not requested for a flare-up")
    requested = _requested(case)
    if requested is None:
        return _not_counted(case)
    low_back = set(p["course_regions"]["low_back"])
    other = [r for r in case.request.body_regions if r not in low_back]
    limit = p["flare_up_max_visits_other_regions"] if other else p["flare_up_max_visits"]
    authorized = case.request.ur_authorized_quantity or 0
    counted = f"{requested} requested" + (f" + {authorized} certified" if authorized else "")
    interval = "per flare-up"
    if authorized + requested <= limit:
        return Finding.met(lambda: f"{counted}: within {limit} visits {interval}")
    return Finding.not_met(lambda: f"{counted}: more than {limit} visits {interval}", approvable=max(limit - authorized, 0))


# ------------------------------------------------------------------ courses by region


def _course(case: Case, regions: tuple[str, ...], trial: int, trial_weeks: int | None, total: int, weeks: int | None) -> Finding:
    """Initial trial, then a total with functional improvement (judged separately)."""
    courses = _courses(case, regions)
    stage = _stage(case, courses)
    if stage == "maintenance":
        return Finding.not_applicable("maintenance care is judged by not_maintenance")
    if stage == "flare_up":
        return Finding.not_applicable("flare-up visits are judged by flare_up_visits")
    requested = _requested(case)
    if requested is None:
        return _not_counted(case)
    authorized = case.request.ur_authorized_quantity or 0
    counted = f"{requested} requested" + (f" + {authorized} certified" if authorized else "")
    where = _names(regions)
    if stage == "initial":
        over = f" over {trial_weeks} weeks" if trial_weeks else ""
        if authorized + requested <= trial:
            too_long = weeks_check(case, requested, trial_weeks, f"the {trial}-visit trial ({where})") if trial_weeks else None
            if too_long is not None:
                return too_long
            return Finding.met(lambda: f"initial trial, {counted}{schedule_note(case)}: within {trial} visits{over} ({where})")
        return Finding.not_met(
            f"initial trial, {counted} = {authorized + requested}: more than the {trial}-visit trial{over} ({where})",
            approvable=max(trial - authorized, 0),
        )
    if not courses:
        return Finding.not_documented(f"continuation requested, but no earlier chiropractic course for the {where} is documented, so the visits given are unknown")
    given = sum(t.count or 0 for t in courses)
    exact = all(t.count is not None and not t.count_at_least for t in courses)
    so_far = given + authorized + requested
    counted = f"{given}{'' if exact else ' or more'} given + {counted} = {so_far}"
    over = f" over {weeks} weeks" if weeks else ""
    if so_far > total:
        # Known visits alone already exceed the allowance: unknown counts cannot lower them.
        return Finding.not_met(lambda: f"{counted}: more than {total} visits{over} ({where})", approvable=max(total - given - authorized, 0))
    if not exact:
        return Finding.not_documented(lambda: f"{counted}: the number of chiropractic visits already given for the {where} is not documented exactly, so the {total}-visit allowance cannot be confirmed")
    too_long = weeks_check(case, requested, weeks, f"the {total}-visit course ({where})") if weeks else None
    if too_long is not None:
        return too_long
    if so_far <= trial:
        return Finding.met(lambda: f"{counted}{schedule_note(case)}: still within the {trial}-visit trial ({where})")
    return Finding.met(lambda: f"{counted}{schedule_note(case)}: within {total} visits{over} ({where})")


@evaluator(f"{T}.low_back_course")
def low_back_course(case: Case, p: Mapping[str, Any]) -> Finding:
    return _course(case, tuple(p["course_regions"]["low_back"]), p["low_back_trial_visits"], p["low_back_trial_weeks"], p["low_back_max_visits"], p["low_back_course_weeks"])


@evaluator(f"{T}.neck_course")
def neck_course(case: Case, p: Mapping[str, Any]) -> Finding:
    return _course(case, tuple(p["course_regions"]["neck"]), p["neck_trial_visits"], p["neck_trial_weeks"], p["neck_max_visits"], p["neck_course_weeks"])


@evaluator(f"{T}.shoulder_course")
def shoulder_course(case: Case, p: Mapping[str, Any]) -> Finding:
    # ODG gives no weeks for the shoulder's initial set of 6; the 9 visits span 8 weeks.
    return _course(case, tuple(p["course_regions"]["shoulder"]), p["shoulder_trial_visits"], None, p["shoulder_max_visits"], p["shoulder_course_weeks"])


@evaluator(f"{T}.visit_cap")
def visit_cap(case: Case, p: Mapping[str, Any]) -> Finding:
    return statutory_cap(case, p, T)


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "chiropractic.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [
        statute_only_era, visits_stated, concurrent_therapy, duplicate_request,
        region_documented, region_covered, region_recommended, region_no_recommendation,
        musculoskeletal_indication, plan_of_care, not_maintenance, continuation_functional_improvement,
        flare_up, flare_up_visits, low_back_course, neck_course, shoulder_course, visit_cap,
    ]
