"""Physical medicine (PT and OT) evaluators.

Allowances, tables and citations live in ``guidelines/physical_medicine.yaml``. A request
after a surgery listed in the postsurgical table is judged by the postsurgical course;
every other request by the chronic-pain physical medicine criteria. Visits requested are
always ``Request.visits`` (quantity, unit, frequency and duration resolved in the core);
the allowance row is the one for the diagnosis of the requested region, and earlier
visits count against it when their course names that region or names none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl
from kb_core._resources import files
from kb_plugins._caps import (
    duplicate_request as _duplicate_request,
    falls_with_surgery,
    once_per_case,
    overlaps,
    region_named,
    schedule_note,
    statute_only_era as _statute_only_era,
    statutory_cap,
    visits_stated as _visits_stated,
    weekly_frequency,
    weeks_check,
)
from kb_plugins._text import first_category, mentions

T = "physical_medicine"
# Earlier visits that count toward the physical medicine allowance: aquatic therapy is
# exercise therapy in water whose visits follow the physical medicine counts (CPMTG p.22;
# K, see aquatic_therapy.yaml), so its visits count here and PT/OT visits count there.
THERAPY = ("physical_therapy", "occupational_therapy", "aquatic_therapy")


def _listed_surgery(case: Case, p: Mapping[str, Any]) -> str | None:
    """The surgery's id when the request follows a surgery in the postsurgical table:
    the stated procedure id, else the one its description names."""
    post = case.request.post_surgical
    if post is None:
        return None
    procedure = post.procedure or first_category(post.surgery, p["postsurgical_procedure_terms"])
    return procedure if procedure in p["postsurgical_general_course"] else None


def _requested(case: Case) -> int | None:
    return case.request.visits


def _prior_courses(case: Case, postsurgical: bool) -> list[Any]:
    return [t for t in case.prior(*THERAPY) if bool(t.post_surgical) == postsurgical and t.count != 0]


@once_per_case
def _chronic_courses(case: Case) -> tuple[tuple[Any, ...], bool | None]:
    """Courses the chronic-pain criteria count, and the ``post_surgical`` filter for them:
    non-surgical courses, or every course when an unlisted surgery fell back to these criteria.
    Five criteria ask this of a case: answered once."""
    if case.request.post_surgical is not None:
        return tuple([t for t in case.prior(*THERAPY) if t.count != 0]), None
    return tuple(_prior_courses(case, postsurgical=False)), False


def _for_region(case: Case, courses: Sequence[Any]) -> list[Any]:
    """The courses whose visits count against the requested region's allowance."""
    return [t for t in courses if overlaps(t.body_regions, case.request.body_regions)]


def _exactly_counted(courses: list[Any]) -> tuple[int, bool]:
    return sum(t.count or 0 for t in courses), all(t.count is not None and not t.count_at_least for t in courses)


@evaluator(f"{T}.statute_only_era")
def statute_only_era(case: Case, p: Mapping[str, Any]) -> Finding:
    return _statute_only_era(case, p, case.request.treatment)


@evaluator(f"{T}.visits_stated")
def visits_stated(case: Case, p: Mapping[str, Any]) -> Finding:
    return _visits_stated(case)


@evaluator(f"{T}.duplicate_request")
def duplicate_request(case: Case, p: Mapping[str, Any]) -> Finding:
    return _duplicate_request(case)


@evaluator(f"{T}.surgery_supported")
def surgery_supported(case: Case, p: Mapping[str, Any]) -> Finding:
    return falls_with_surgery(
        case, not_postoperative="not a postsurgical request", dependent="this therapy follows", falls="the therapy",
    )


@evaluator(f"{T}.region_documented")
def region_documented(case: Case, p: Mapping[str, Any]) -> Finding:
    return region_named(case)


@evaluator(f"{T}.functional_deficits")
def functional_deficits(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.post_surgical is not None:
        return Finding.not_applicable("postsurgical request: the surgery is the indication")
    if not case.findings.objective_functional_deficits and case.findings.reported_functional_limitations:
        requested = _requested(case)
        first = not _chronic_courses(case)[0] and case.request.purpose != "continuation"
        diagnosis = _musculoskeletal(case, p)
        if first and diagnosis and requested is not None and requested + (case.request.ur_authorized_quantity or 0) <= p["trial_visits"]:
            return Finding.met(
                f"first trial within {p['trial_visits']} visits for a musculoskeletal complaint ({diagnosis}): "
                "the limits the worker reports in daily activities document the deficits"
            )
    return Finding.from_fact(
        case.findings.objective_functional_deficits,
        met="objective functional deficits are documented on examination",
        not_met="the examination shows no objective functional deficits for therapy to address",
        not_documented="no objective functional deficits are documented on examination",
    )


def _musculoskeletal(case: Case, p: Mapping[str, Any]) -> str | None:
    for dx in case.diagnoses:
        category = dx.category or first_category(dx.description, p["diagnosis_terms"])
        if category in p["musculoskeletal_categories"]:
            return dx.description
    return None


@evaluator(f"{T}.authorized_course_first")
def authorized_course_first(case: Case, p: Mapping[str, Any]) -> Finding:
    authorized = case.request.ur_authorized_quantity
    if not authorized:
        return Finding.not_applicable("utilization review certified no part of this request")
    return Finding.not_met(
        f"{authorized} visits were certified with this request; their results must be documented before more are needed"
    )


@evaluator(f"{T}.continuation_functional_improvement")
def continuation_functional_improvement(case: Case, p: Mapping[str, Any]) -> Finding:
    if _listed_surgery(case, p):
        return Finding.not_applicable("postsurgical course: judged by the postsurgical criterion")
    prior = list(_chronic_courses(case)[0])  # reported as a list, as it always was
    if not prior and case.request.purpose != "continuation":
        return Finding.not_applicable("first course of therapy", prior_treatments=prior)
    acute = case.findings.injury_phase in p["reported_benefit_accepted_phases"]
    outcomes = [_improvement(t, acute) for t in prior]
    if any(outcomes):
        kind = "improvement (reported, accepted in an acute injury)" if not any(_improvement(t, False) for t in prior) else "objective functional improvement"
        return Finding.met(f"{kind} from the prior visits is documented", prior_treatments=prior)
    if case.findings.exceptional_factors_documented:
        return Finding.met("improvement not documented, but the physician documents why more supervised therapy is needed", prior_treatments=prior)
    if prior and all(o is False for o in outcomes):
        return Finding.not_met("the prior visits produced no objective functional improvement", prior_treatments=prior)
    if any(t.improvement == "reported" for t in prior):
        return Finding.not_documented("improvement from the prior visits is only reported, not measured; continuing therapy of a non-acute injury needs objective functional improvement", prior_treatments=prior)
    return Finding.not_documented("no objective functional improvement from the prior visits is documented", prior_treatments=prior)


def _improvement(course: Any, acute: bool) -> bool | None:
    """Objective improvement always counts; improvement the worker only reports counts in
    an acute injury (reviewers accept it more readily there)."""
    if course.improvement == "objective":
        return True
    if course.improvement == "none":
        return False
    if course.improvement == "reported":
        return True if acute else None
    return course.functional_improvement


def _odg_row(category: str | None, region: str, description: str, quoted: Any, unquoted: Any) -> Mapping[str, Any] | None:
    """The first ODG row (quoted rows first) that matches the diagnosis."""
    for row in (*quoted, *unquoted):
        if "category" in row and row["category"] != category:
            continue
        if "regions" in row and region not in row["regions"]:
            continue
        if "terms" in row and not mentions(description, row["terms"]):
            continue
        return row
    return None


def _allowance(case: Case, p: Mapping[str, Any]) -> tuple[int, float, str]:
    """The row for the diagnosis of the requested region (visits, weeks, where from): a
    diagnosis counts when it names a requested region or none; among several, the most
    generous applies (several regions may be requested)."""
    # Passed as values (the same objects in both criteria asking it, which have parameter
    # mappings of their own) so that they share one answer per case.
    return _allowance_row(
        case, p["visits_by_diagnosis"], p["weeks_by_diagnosis"], p["diagnosis_terms"], p["odg_rows_quoted"],
        p["odg_rows_unquoted"], p["general_allowance_category"],
    )


@once_per_case
def _allowance_row(
    case: Case, table: Mapping[str, int], weeks: Mapping[str, float], diagnosis_terms: Mapping[str, str],
    odg_rows_quoted: Any, odg_rows_unquoted: Any, general: str,
) -> tuple[int, float, str]:
    requested = case.request.body_regions
    rows: list[tuple[int, float, str]] = []
    for dx in case.diagnoses:
        if dx.body_region and requested and dx.body_region not in requested:
            continue
        region = dx.body_region or (requested[0] if requested else "")
        category = dx.category or first_category(dx.description, diagnosis_terms)
        if category in table:
            rows.append((table[category], weeks[category], f"CPMTG {category.replace('_', '/')} row: {table[category]} visits over {weeks[category]} weeks"))
            continue
        row = _odg_row(category, region, dx.description, odg_rows_quoted, odg_rows_unquoted)
        if row is not None:
            rows.append((row["visits"], row["weeks"], f"ODG {row['row']} row: {row['visits']} visits over {row['weeks']} weeks"))
    if rows:
        return max(rows)
    return table[general], weeks[general], f"no diagnosis-specific row for the requested region; the general CPMTG {general.replace('_', '/')} row: {table[general]} visits over {weeks[general]} weeks"


@evaluator(f"{T}.diagnosis_allowance")
def diagnosis_allowance(case: Case, p: Mapping[str, Any]) -> Finding:
    if _listed_surgery(case, p):
        return Finding.not_applicable("postsurgical course: judged by the postsurgical criterion")
    requested = _requested(case)
    if requested is None:
        return Finding.not_applicable("the number of visits requested is not stated (see visits_stated)")
    courses, _ = _chronic_courses(case)
    given, exact = _exactly_counted(_for_region(case, courses))
    allowance, row_weeks, row = _allowance(case, p)
    authorized = case.request.ur_authorized_quantity or 0
    total = given + authorized + requested
    counted = f"{given}{'' if exact else ' or more'} given + {authorized} certified + {requested} requested = {total}"
    if case.findings.exceptional_factors_documented and total > allowance:
        return Finding.met(lambda: f"{counted}, above {row}, with exceptional factors documented")
    if total > allowance:
        return Finding.not_met(lambda: f"{counted}, above {row}", approvable=max(allowance - given - authorized, 0) or None)
    if not exact:
        return Finding.not_documented(lambda: f"{counted}: prior therapy for the region is documented without its exact number of visits, so {row} cannot be confirmed")
    too_long = weeks_check(case, requested, row_weeks, row)
    if too_long is not None:
        return too_long
    return Finding.met(lambda: f"{counted}{schedule_note(case)}, within {row}")


@evaluator(f"{T}.home_program_transition")
def home_program_transition(case: Case, p: Mapping[str, Any]) -> Finding:
    if _listed_surgery(case, p):
        return Finding.not_applicable("postsurgical course: judged by the postsurgical criterion")
    courses, _ = _chronic_courses(case)
    given, exact = _exactly_counted(_for_region(case, courses))
    allowance, _, row = _allowance(case, p)
    done = given + (case.request.ur_authorized_quantity or 0)
    if not courses or done < allowance:
        return Finding.not_applicable(lambda: f"{done} visits given or certified, short of {row}")
    home = {True: "; a home exercise program is documented", False: "; no home exercise program is documented", None: ""}[case.findings.home_exercise_program]
    if case.findings.exceptional_factors_documented:
        return Finding.met(lambda: f"{done} visits already reach {row}, and the physician documents why the home program is not enough{home}")
    return Finding.not_met(lambda: f"{done}{'' if exact else ' or more'} visits already reach {row}: therapy should fade to active self-directed home physical medicine{home}")


@evaluator(f"{T}.initial_trial")
def initial_trial(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.post_surgical is not None and _listed_surgery(case, p):
        return Finding.not_applicable("postsurgical course: judged by the postsurgical criterion")
    if _chronic_courses(case)[0] or case.request.purpose == "continuation":
        return Finding.not_applicable("not a first course")
    requested = _requested(case)
    if requested is None:
        return Finding.not_applicable("the number of visits requested is not stated (see visits_stated)")
    authorized = case.request.ur_authorized_quantity or 0
    trial = p["trial_visits"]
    if requested + authorized <= trial:
        return Finding.met(lambda: f"{requested + authorized} visits for a first course, within the {trial}-visit trial")
    return Finding.not_met(
        f"{requested + authorized} visits for a first course, more than the {trial}-visit trial before reassessment",
        approvable=max(trial - authorized, 0) or None,
    )


@evaluator(f"{T}.frequency")
def frequency(case: Case, p: Mapping[str, Any]) -> Finding:
    return weekly_frequency(case, p["max_visits_per_week"])


@evaluator(f"{T}.postsurgical_course")
def postsurgical_course(case: Case, p: Mapping[str, Any]) -> Finding:
    surgery = _listed_surgery(case, p)
    if surgery is None:
        why = "not a postsurgical request" if case.request.post_surgical is None else "surgery not in the encoded postsurgical table; the chronic-pain criteria apply"
        return Finding.not_applicable(why)
    requested = _requested(case)
    if requested is None:
        return Finding.not_applicable("the number of visits requested is not stated (see visits_stated)")
    general = p["postsurgical_general_course"][surgery]
    half = general * p["postsurgical_initial_fraction"]
    initial = math.ceil(half) if p["postsurgical_initial_rounding"] == "up" else math.floor(half)
    prior = _prior_courses(case, postsurgical=True)
    authorized = case.request.ur_authorized_quantity or 0
    name = surgery.replace("_", " ")
    if not prior:
        if requested + authorized <= initial:
            return Finding.met(lambda: f"{requested + authorized} visits, within the initial course of {initial} (half of {general}) after {name}")
        return Finding.not_met(
            f"{requested + authorized} visits, above the initial course of {initial} (half of {general}) after {name}",
            approvable=max(initial - authorized, 0) or None,
        )
    given = sum(t.count or 0 for t in prior)
    if any(t.count is None or t.count_at_least for t in prior) and given + authorized + requested <= general:
        return Finding.not_documented(f"postsurgical therapy after {name} is documented without its number of visits", prior_treatments=prior)
    outcomes = [_improvement(t, case.findings.injury_phase in p["reported_benefit_accepted_phases"]) for t in prior]
    if not any(outcomes):
        status = Finding.not_met if all(o is False for o in outcomes) else Finding.not_documented
        return status(f"a subsequent course after {name} needs functional improvement from the initial course", prior_treatments=prior)
    total = given + authorized + requested
    if total <= general:
        return Finding.met(lambda: f"{total} postsurgical visits in all, within the general course of {general} after {name}", prior_treatments=prior)
    return Finding.not_met(
        f"{total} postsurgical visits in all, above the general course of {general} after {name}",
        approvable=max(general - given - authorized, 0) or None, prior_treatments=prior,
    )


@evaluator(f"{T}.visit_cap")
def visit_cap(case: Case, p: Mapping[str, Any]) -> Finding:
    # Exempt only when the postsurgical guideline judges the request (a listed surgery).
    return statutory_cap(case, p, case.request.treatment, postsurgical_guideline=_listed_surgery(case, p) is not None)


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "physical_medicine.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [
        statute_only_era, visits_stated, duplicate_request, home_program_transition,
        surgery_supported, region_documented, functional_deficits, authorized_course_first,
        continuation_functional_improvement, diagnosis_allowance, initial_trial, frequency,
        postsurgical_course, visit_cap,
    ]
