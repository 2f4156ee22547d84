"""Physical medicine (PT and OT) evaluators.

Allowances, tables and citations live in ``guidelines/physical_medicine.yaml``. A request
after a surgery listed in the postsurgical table is judged by the postsurgical course;
every other request by the chronic-pain physical medicine criteria.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl
from kb_plugins._caps import region_named, statutory_cap, visits_so_far
from kb_plugins._text import first_category

T = "physical_medicine"
THERAPY = ("physical_therapy", "occupational_therapy")


def _listed_surgery(case: Case, p: Mapping[str, Any]) -> str | None:
    """The surgery's id when the request follows a surgery in the postsurgical table:
    the stated procedure id, else the one its description names."""
    post = case.request.post_surgical
    if post is None:
        return None
    procedure = post.procedure or first_category(post.surgery, p["postsurgical_procedure_terms"])
    return procedure if procedure in p["postsurgical_general_course"] else None


def _prior_courses(case: Case, postsurgical: bool) -> list[Any]:
    return [t for t in case.prior(*THERAPY) if bool(t.post_surgical) == postsurgical and t.count != 0]


def _chronic_courses(case: Case) -> tuple[list[Any], bool | None]:
    """Courses the chronic-pain criteria count, and the ``post_surgical`` filter for them:
    non-surgical courses, or every course when an unlisted surgery fell back to these criteria."""
    if case.request.post_surgical is not None:
        return [t for t in case.prior(*THERAPY) if t.count != 0], None
    return _prior_courses(case, postsurgical=False), False


@evaluator(f"{T}.surgery_supported")
def surgery_supported(case: Case, p: Mapping[str, Any]) -> Finding:
    post = case.request.post_surgical
    if post is None:
        return Finding.not_applicable("not a postsurgical request")
    if post.surgery_certified is False:
        return Finding.not_met("the surgery this therapy follows was not certified, so the therapy falls with it")
    if post.surgery_certified:
        return Finding.met("the surgery is certified")
    if post.surgery_date is not None:
        return Finding.met(f"the surgery was performed on {post.surgery_date}")
    return Finding.not_documented("neither certification nor performance of the surgery is documented")


@evaluator(f"{T}.region_documented")
def region_documented(case: Case, p: Mapping[str, Any]) -> Finding:
    return region_named(case)


@evaluator(f"{T}.functional_deficits")
def functional_deficits(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.post_surgical is not None:
        return Finding.not_applicable("postsurgical request: the surgery is the indication")
    return Finding.from_fact(
        case.findings.objective_functional_deficits,
        met="objective functional deficits are documented on examination",
        not_met="the examination shows no objective functional deficits for therapy to address",
        not_documented="no objective functional deficits are documented on examination",
    )


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
    prior, _ = _chronic_courses(case)
    if not prior and case.request.purpose != "continuation":
        return Finding.not_applicable("first course of therapy", prior_treatments=prior)
    if any(t.functional_improvement for t in prior):
        return Finding.met("objective functional improvement from the prior visits is documented", prior_treatments=prior)
    if case.findings.exceptional_factors_documented:
        return Finding.met("improvement not documented, but the physician documents why more supervised therapy is needed", prior_treatments=prior)
    if prior and all(t.functional_improvement is False for t in prior):
        return Finding.not_met("the prior visits produced no objective functional improvement", prior_treatments=prior)
    return Finding.not_documented("no objective functional improvement from the prior visits is documented", prior_treatments=prior)


def _allowance(case: Case, p: Mapping[str, Any]) -> tuple[int, str]:
    """The most generous row that applies to the case's diagnoses, and where it comes from."""
    table, weeks = p["visits_by_diagnosis"], p["weeks_by_diagnosis"]
    rows: list[tuple[int, str]] = []
    for dx in case.diagnoses:
        region = dx.body_region or (case.request.body_regions[0] if case.request.body_regions else "")
        category = dx.category or first_category(dx.description, p["diagnosis_terms"])
        if category is None:
            continue
        if category in table:
            rows.append((table[category], f"CPMTG {category.replace('_', '/')} row: {table[category]} visits over {weeks[category]} weeks"))
        elif category == "sprain_strain" and region in p["odg_sprain_strain_visits"]:
            rows.append((p["odg_sprain_strain_visits"][region], f"ODG {region.replace('_', ' ')} sprain/strain row: {p['odg_sprain_strain_visits'][region]} visits"))
        elif category == "fracture" and region in p["odg_fracture_visits"]:
            rows.append((p["odg_fracture_visits"][region], f"ODG {region.replace('_', ' ')} fracture row: {p['odg_fracture_visits'][region]} visits"))
        elif category == "epicondylitis":
            rows.append((p["odg_epicondylitis_visits"], f"ODG epicondylitis row: {p['odg_epicondylitis_visits']} visits"))
    if rows:
        return max(rows)
    general = p["general_allowance_category"]
    return table[general], f"no diagnosis-specific row; the general CPMTG {general.replace('_', '/')} row: {table[general]} visits over {weeks[general]} weeks"


@evaluator(f"{T}.diagnosis_allowance")
def diagnosis_allowance(case: Case, p: Mapping[str, Any]) -> Finding:
    if _listed_surgery(case, p):
        return Finding.not_applicable("postsurgical course: judged by the postsurgical criterion")
    requested = case.request.quantity
    if requested is None:
        return Finding.not_documented("the number of visits requested is not stated")
    given, complete = visits_so_far(case, *THERAPY, post_surgical=_chronic_courses(case)[1])
    if not complete:
        return Finding.not_documented(f"prior therapy is documented without its number of visits ({given} counted)")
    allowance, row = _allowance(case, p)
    authorized = case.request.ur_authorized_quantity or 0
    total = given + authorized + requested
    counted = f"{given} given + {authorized} certified + {requested} requested = {total}"
    if total <= allowance:
        return Finding.met(f"{counted}, within {row}")
    if case.findings.exceptional_factors_documented:
        return Finding.met(f"{counted}, above {row}, with exceptional factors documented")
    return Finding.not_met(f"{counted}, above {row}", approvable=max(allowance - given - authorized, 0) or None)


@evaluator(f"{T}.initial_trial")
def initial_trial(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.post_surgical is not None and _listed_surgery(case, p):
        return Finding.not_applicable("postsurgical course: judged by the postsurgical criterion")
    if _chronic_courses(case)[0] or case.request.purpose == "continuation":
        return Finding.not_applicable("not a first course")
    requested = case.request.quantity
    if requested is None:
        return Finding.not_documented("the number of visits requested is not stated")
    authorized = case.request.ur_authorized_quantity or 0
    trial = p["trial_visits"]
    if requested + authorized <= trial:
        return Finding.met(f"{requested + authorized} visits for a first course, within the {trial}-visit trial")
    return Finding.not_met(
        f"{requested + authorized} visits for a first course, more than the {trial}-visit trial before reassessment",
        approvable=max(trial - authorized, 0) or None,
    )


@evaluator(f"{T}.frequency")
def frequency(case: Case, p: Mapping[str, Any]) -> Finding:
    per_week = case.request.frequency_per_week
    limit = p["max_visits_per_week"]
    if per_week is None:
        return Finding.not_applicable("frequency not stated; the visit count is judged instead")
    if per_week <= limit:
        return Finding.met(f"{per_week:g} a week, within {limit}")
    return Finding.not_met(f"{per_week:g} visits a week, more than {limit}")


@evaluator(f"{T}.postsurgical_course")
def postsurgical_course(case: Case, p: Mapping[str, Any]) -> Finding:
    surgery = _listed_surgery(case, p)
    if surgery is None:
        why = "not a postsurgical request" if case.request.post_surgical is None else "surgery not in the encoded postsurgical table; the chronic-pain criteria apply"
        return Finding.not_applicable(why)
    requested = case.request.quantity
    if requested is None:
        return Finding.not_documented("the number of visits requested is not stated")
    general = p["postsurgical_general_course"][surgery]
    initial = math.floor(general * p["postsurgical_initial_fraction"])
    prior = _prior_courses(case, postsurgical=True)
    authorized = case.request.ur_authorized_quantity or 0
    name = surgery.replace("_", " ")
    if not prior:
        if requested + authorized <= initial:
            return Finding.met(f"{requested + authorized} visits, within the initial course of {initial} (half of {general}) after {name}")
        return Finding.not_met(
            f"{requested + authorized} visits, above the initial course of {initial} (half of {general}) after {name}",
            approvable=max(initial - authorized, 0) or None,
        )
    given = sum(t.count or 0 for t in prior)
    if any(t.count is None for t in prior):
        return Finding.not_documented(f"postsurgical therapy after {name} is documented without its number of visits", prior_treatments=prior)
    if not any(t.functional_improvement for t in prior):
        status = Finding.not_met if all(t.functional_improvement is False for t in prior) else Finding.not_documented
        return status(f"a subsequent course after {name} needs functional improvement from the initial course", prior_treatments=prior)
    total = given + authorized + requested
    if total <= general:
        return Finding.met(f"{total} postsurgical visits in all, within the general course of {general} after {name}", prior_treatments=prior)
    return Finding.not_met(
        f"{total} postsurgical visits in all, above the general course of {general} after {name}",
        approvable=max(general - given - authorized, 0) or None, prior_treatments=prior,
    )


@evaluator(f"{T}.visit_cap")
def visit_cap(case: Case, p: Mapping[str, Any]) -> Finding:
    return statutory_cap(case, p, case.request.treatment)


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "physical_medicine.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [
        surgery_supported, region_documented, functional_deficits, authorized_course_first,
        continuation_functional_improvement, diagnosis_allowance, initial_trial, frequency,
        postsurgical_course, visit_cap,
    ]
