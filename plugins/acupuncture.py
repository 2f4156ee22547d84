"""Acupuncture evaluators (MTUS Acupuncture Medical Treatment Guidelines).

Thresholds, statements and citations live in ``guidelines/acupuncture.yaml``;
each function below judges the criterion of the same name.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl
from kb_core._resources import files

if TYPE_CHECKING:
    from kb_core._case import PriorTreatment

T = "acupuncture"


def _courses(case: Case) -> tuple[PriorTreatment, ...]:
    return case.prior(T)


def _is_continuation(case: Case) -> bool:
    """Earlier acupuncture with a count above 0, or a request framed as a continuation."""
    return case.request.purpose == "continuation" or any((t.count or 0) > 0 for t in _courses(case))


def _is_remainder(case: Case) -> bool:
    """The uncertified rest of an initial request of which UR already certified a part."""
    return not _is_continuation(case) and (case.request.ur_authorized_quantity or 0) > 0


def _uncounted(case: Case) -> str:
    """A note for an initial course where earlier acupuncture is listed without a count."""
    if any(t.count is None for t in _courses(case)):
        return " (earlier acupuncture is listed without a treatment count; the request is taken as an initial course)"
    return ""


def _given(case: Case) -> str:
    counts = [t.count for t in _courses(case) if t.count]
    return f"{sum(counts)} earlier acupuncture treatments" if counts else "no earlier acupuncture treatments counted"


def _treatments_requested(case: Case) -> tuple[int | None, str]:
    """The number of treatments requested (Request.visits) and how it was found."""
    request = case.request
    visits = request.visits
    if visits is None:
        return None, ""
    if request.quantity is not None and request.unit in (None, "visits", "sessions", "days"):
        return visits, f"{visits} requested"
    if request.quantity is not None:
        return visits, f"{request.quantity} {request.unit} at {request.frequency_per_week or 0:g} a week = {visits} treatments"
    return visits, f"no treatment count stated; {request.frequency_per_week:g} a week for {request.duration_weeks:g} weeks implies {visits}"


@evaluator(f"{T}.shoulder_excluded")
def shoulder_excluded(case: Case, p: Mapping[str, Any]) -> Finding:
    outside = sorted(set(case.request.body_regions) & set(p["excluded_body_regions"]))
    if not outside:
        return Finding.met("the request names no region the 2007 acupuncture text leaves out")
    named = ", ".join(r.replace("_", " ") for r in outside)
    return Finding.not_met(
        f"the 2007 acupuncture text excludes {named} complaints, which stayed under {p['shoulder_governed_by']}; "
        "that guideline is not encoded here, and the request is one line item, so it is not judged"
    )


@evaluator(f"{T}.use_indication")
def use_indication(case: Case, p: Mapping[str, Any]) -> Finding:
    # The indication opens an initial trial; an extension is judged on the functional
    # improvement the earlier treatments produced, and a remainder was opened when UR
    # certified its first part (§9792.24.1(c)(1), (d)).
    if _is_continuation(case):
        return Finding.not_applicable(lambda: f"continuation ({_given(case)}): judged on functional improvement, not on the indication for a first trial")
    if _is_remainder(case):
        return Finding.not_applicable(
            f"remainder of an initial request: UR already certified {case.request.ur_authorized_quantity} treatments, so the trial is open; the rest is judged by its count"
        )
    medication = case.findings.medication_reduced_or_not_tolerated
    adjunct = case.findings.adjunct_to_active_rehabilitation
    surgery = case.request.post_surgical
    rehabilitation = [
        c for c in case.concurrent_treatments
        if c.treatment in p["rehabilitation_kinds"] and c.status in p["rehabilitation_statuses"]
    ]
    if medication:
        return Finding.met("pain medication is being reduced or is not tolerated")
    if adjunct:
        return Finding.met("acupuncture is an adjunct to a physical rehabilitation program")
    if rehabilitation:
        named = ", ".join(f"{c.treatment.replace('_', ' ')} ({(c.status or '').replace('_', ' ')})" for c in rehabilitation)
        return Finding.met(f"acupuncture accompanies physical rehabilitation for the same injury: {named}")
    if surgery is not None and surgery.surgery_certified is not False:
        what = surgery.surgery or "surgery"
        return Finding.met(f"acupuncture is an adjunct to surgical intervention ({what})")
    denied = " (the surgery it would follow is not certified)" if surgery is not None else ""
    if medication is False and adjunct is False:
        return Finding.not_met(
            f"pain medication is neither reduced nor poorly tolerated, and acupuncture is not an adjunct to rehabilitation{denied}"
        )
    return Finding.not_documented(
        f"neither reduced or poorly tolerated pain medication nor an adjunct rehabilitation program is documented{denied}"
    )


@evaluator(f"{T}.initial_trial_quantity")
def initial_trial_quantity(case: Case, p: Mapping[str, Any]) -> Finding:
    if _is_continuation(case):
        return Finding.not_applicable(lambda: f"continuation ({_given(case)}): an extension is judged by functional improvement, not the initial trial")
    count, how = _treatments_requested(case)
    if count is None:
        stated = f"the quantity is stated in {case.request.unit} without what converts it to treatments" if case.request.quantity is not None else "no quantity is stated"
        return Finding.not_documented(f"{stated}, and no weekly frequency with a duration gives the number of treatments")
    authorized = case.request.ur_authorized_quantity or 0
    limit = p["initial_trial_max_treatments"]
    total = count + authorized
    counted = how + (f" + {authorized} already certified by UR = {total}" if authorized else "")
    if total <= limit:
        return Finding.met(lambda: f"initial course: {counted}, within the {limit} treatments to produce functional improvement{_uncounted(case)}")
    return Finding.not_met(
        f"initial course: {counted}, above the {limit} treatments to produce functional improvement{_uncounted(case)}",
        approvable=(limit - authorized) if limit > authorized else None,
    )


@evaluator(f"{T}.frequency")
def frequency(case: Case, p: Mapping[str, Any]) -> Finding:
    request = case.request
    per_week, how = request.frequency_per_week, ""
    visits = request.visits
    if per_week is None and visits and request.duration_weeks:
        per_week = visits / request.duration_weeks
        how = f" ({visits} over {request.duration_weeks:g} weeks)"
    if per_week is None:
        return Finding.not_documented("the number of treatments a week is not stated and does not follow from a count over a duration")
    limit = p["max_frequency_per_week"]
    if per_week > limit:
        return Finding.not_met(lambda: f"{per_week:g} a week{how}, above the {limit} a week the guideline allows")
    return Finding.met(lambda: f"{per_week:g} a week{how}, within the {limit} a week the guideline allows")


@evaluator(f"{T}.duration")
def duration(case: Case, p: Mapping[str, Any]) -> Finding:
    request = case.request
    weeks = request.span_weeks
    if weeks is None:
        return Finding.not_documented("the duration is not stated and does not follow from a count and a weekly frequency")
    per_week = request.frequency_per_week
    how = "" if request.duration_weeks is not None or request.unit == "weeks" else f" ({request.visits} treatments at {per_week:g} a week)"
    limit = p["max_duration_weeks"]
    if weeks <= limit:
        return Finding.met(lambda: f"{weeks:g} weeks{how}, within the optimum duration of {limit:g} weeks")
    if per_week is None and request.visits and weeks:
        per_week = request.visits / weeks
    fits = math.floor(per_week * limit) if per_week else 0
    return Finding.not_met(lambda: f"{weeks:g} weeks{how}, longer than the optimum duration of {limit:g} weeks", approvable=fits or None)


@evaluator(f"{T}.extension_functional_improvement")
def extension_functional_improvement(case: Case, p: Mapping[str, Any]) -> Finding:
    if not _is_continuation(case):
        return Finding.not_applicable(lambda: f"initial course: no earlier acupuncture treatments are counted, so no extension is asked{_uncounted(case)}")
    on = case.dates.decisive
    section = p["fi_section_from_2015"] if on >= dt.date.fromisoformat(p["fi_renumbered_on"]) else p["fi_section"]
    defined = f"functional improvement as defined in 8 CCR {section} (the numbering in force on {on})"
    courses = _courses(case)
    if not courses:
        return Finding.not_documented(f"continuation requested, but no earlier acupuncture course is documented, nor {defined}")
    # The most recent course: latest end (or start) date; undated courses count as the oldest, in listed order.
    index, latest = max(enumerate(courses), key=lambda item: (item[1].end or item[1].start or dt.date.min, item[0]))
    course = f"the earlier course ({latest.count} treatments)" if latest.count else "the earlier course (count not stated)"
    if latest.functional_improvement is False or latest.improvement == "none":
        return Finding.not_met(lambda: f"{course} produced no {defined}")
    if latest.functional_improvement is True or latest.improvement == "objective":
        measured = f" (measured: {', '.join(m.replace('_', ' ') for m in latest.improvement_measures)})" if latest.improvement_measures else ""
        return Finding.met(lambda: f"{course} produced {defined}{measured}")
    if latest.improvement == "reported":
        phase = case.findings.injury_phase
        if phase in p["reported_benefit_accepted_phases"]:
            return Finding.met(lambda: f"{course} helped by the worker's or provider's account; in an {phase} injury reported benefit is accepted for a continuation")
        return Finding.not_documented(
            f"{course} helped by the worker's or provider's account, but no objective measure shows {defined}"
            f" (the injury is {phase or 'not stated as acute'}; a continuation of chronic-pain treatment needs objective improvement)"
        )
    return Finding.not_documented(lambda: f"{course} is documented without {defined}")


@evaluator(f"{T}.add_ons")
def add_ons(case: Case, p: Mapping[str, Any]) -> Finding:
    items = case.request.add_ons
    if not items:
        return Finding.not_applicable("nothing is bundled into the acupuncture request")
    chronic = case.findings.chronic_pain is True or case.findings.injury_phase == "chronic"
    passive_rule = case.dates.decisive >= dt.date.fromisoformat(p["passive_not_indicated_from"])
    refused, unjudged, accepted = [], [], []
    for item in items:
        name = item.description if not item.kind else f"{item.description} ({item.kind.replace('_', ' ')})"
        if item.kind in p["included_add_ons"]:
            accepted.append(f"{name}: part of acupuncture as the guideline defines it")
        elif item.kind in p["not_recommended_add_ons"]:
            refused.append(f"{name}: not recommended as a treatment of its own")
        elif item.kind in p["passive_add_ons"] and chronic and passive_rule:
            refused.append(f"{name}: a passive modality, not indicated for chronic pain in most instances")
        elif item.kind in p["passive_add_ons"] and not chronic and case.findings.injury_phase in ("acute", "subacute"):
            accepted.append(f"{name}: a passive modality early in care, for short-term relief")
        else:
            unjudged.append(name)
    if refused:
        return Finding.not_met("bundled with the request: " + "; ".join(refused))
    if unjudged:
        return Finding.not_documented(
            "bundled with the request and not judged here (no guideline status encoded, or the phase of the injury not stated): " + "; ".join(unjudged)
        )
    return Finding.met("bundled with the request: " + "; ".join(accepted))


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "acupuncture.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [shoulder_excluded, use_indication, initial_trial_quantity, frequency, duration, extension_functional_improvement, add_ons]
