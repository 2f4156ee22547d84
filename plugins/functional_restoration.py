"""Functional restoration (multidisciplinary chronic pain) program evaluators.

Thresholds and citations live in ``guidelines/functional_restoration.yaml``. Sessions are
counted in full-day equivalents: hours, and part days, are converted with the YAML's
``full_day_hours``; prior program courses count as full days.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl
from kb_core._resources import files

T = "functional_restoration"


class _Undocumented:
    """Stands in for an absent ``findings.program``: every fact reads as not documented."""

    def __getattr__(self, name: str) -> None:
        return None


_NO_PROGRAM = _Undocumented()


def _program(case: Case) -> Any:
    return case.findings.program or _NO_PROGRAM


def _admission(value: bool | None, met: str, not_met: str, not_documented: str) -> Finding:
    return Finding.from_fact(value, met=met, not_met=not_met, not_documented=not_documented)


@evaluator(f"{T}.baseline_functional_testing")
def baseline_functional_testing(case: Case, p: Mapping[str, Any]) -> Finding:
    return _admission(
        _program(case).baseline_functional_testing, "an evaluation with baseline functional testing is documented",
        "the evaluation has no baseline functional testing", "no evaluation with baseline functional testing is documented",
    )


@evaluator(f"{T}.previous_methods_failed")
def previous_methods_failed(case: Case, p: Mapping[str, Any]) -> Finding:
    program = _program(case)
    if program.previous_methods_failed is False or program.no_other_options is False:
        return Finding.not_met("previous methods have not all failed, or another option is likely to help")
    if program.previous_methods_failed and program.no_other_options:
        return Finding.met("previous methods failed and no other option is likely to help")
    return Finding.not_documented("that previous methods failed and no other option is likely to help is not documented")


@evaluator(f"{T}.significant_loss_of_function")
def significant_loss_of_function(case: Case, p: Mapping[str, Any]) -> Finding:
    return _admission(
        _program(case).significant_loss_of_function, "significant loss of independent function is documented",
        "no significant loss of independent function", "no significant loss of independent function is documented",
    )


@evaluator(f"{T}.not_surgical_candidate")
def not_surgical_candidate(case: Case, p: Mapping[str, Any]) -> Finding:
    candidate = case.findings.surgical_candidate
    return _admission(
        None if candidate is None else not candidate, "surgery or other clearly warranted treatment is not indicated",
        "the worker is a candidate for surgery or other clearly warranted treatment",
        "whether surgery or other treatment is warranted is not documented",
    )


@evaluator(f"{T}.motivation_to_change")
def motivation_to_change(case: Case, p: Mapping[str, Any]) -> Finding:
    return _admission(
        _program(case).motivation_to_change, "motivation to change, forgoing secondary gains, is documented",
        "the worker is not shown willing to change or to forgo secondary gains",
        "motivation to change and willingness to forgo secondary gains are not documented",
    )


@evaluator(f"{T}.negative_predictors_addressed")
def negative_predictors_addressed(case: Case, p: Mapping[str, Any]) -> Finding:
    return _admission(
        _program(case).negative_predictors_addressed, "negative predictors of success were addressed",
        "negative predictors of success remain unaddressed", "whether negative predictors of success were addressed is not documented",
    )


def _ongoing(case: Case, p: Mapping[str, Any]) -> list[Any]:
    return [t for t in case.prior(*p["same_or_similar_program"]) if t.treatment == T and t.status == "ongoing"]


def _continuing(case: Case, p: Mapping[str, Any]) -> bool:
    return case.request.purpose == "continuation" or bool(_ongoing(case, p))


@evaluator(f"{T}.initial_two_weeks")
def initial_two_weeks(case: Case, p: Mapping[str, Any]) -> Finding:
    if _continuing(case, p):
        return Finding.not_applicable("a continuation: judged by the progress check")
    limit = p["progress_check_weeks"]
    weeks = case.request.span_weeks
    if weeks is None:
        return Finding.not_documented(f"the weeks the request spans are not stated, so the {limit}-week limit cannot be checked")
    if weeks <= limit:
        return Finding.met(lambda: f"{weeks:g} weeks requested, within the first {limit} weeks")
    per_week = case.request.per_week
    fits = math.floor(per_week * limit) if per_week else None
    return Finding.not_met(lambda: f"{weeks:g} weeks requested before any efficacy is shown; at most {limit}", approvable=fits or None)


@evaluator(f"{T}.progress_check")
def progress_check(case: Case, p: Mapping[str, Any]) -> Finding:
    if not _continuing(case, p):
        return Finding.not_applicable(lambda: f"a first request; gains are checked when a program continues past {p['progress_check_weeks']} weeks")
    program = _program(case)
    if program.subjective_gains is False or program.objective_gains is False:
        return Finding.not_met("the program so far shows no subjective or no objective gains")
    if program.subjective_gains and program.objective_gains:
        return Finding.met("subjective and objective gains are documented in the program so far")
    return Finding.not_documented(lambda: f"continuation past {p['progress_check_weeks']} weeks without documented subjective and objective gains")


def _full_days(case: Case, p: Mapping[str, Any]) -> float | None:
    """The request in full-day equivalents (None: not resolvable)."""
    request, full = case.request, p["full_day_hours"]
    if request.quantity is not None and request.unit == "hours":
        return request.quantity / full
    visits = request.visits
    if visits is None:
        return None
    share = min(request.hours_per_day / full, 1.0) if request.hours_per_day else 1.0
    return visits * share


@evaluator(f"{T}.total_sessions")
def total_sessions(case: Case, p: Mapping[str, Any]) -> Finding:
    limit, full = p["max_full_day_sessions"], p["full_day_hours"]
    requested = _full_days(case, p)
    if requested is None:
        return Finding.not_documented("the sessions or hours requested are not stated")
    courses = [t for t in case.prior(T) if t.status != "completed"]
    if any(t.count is None for t in courses):
        return Finding.not_documented("program sessions already given are documented without their number", prior_treatments=courses)
    given = sum(t.count or 0 for t in courses)
    per_unit = requested / case.request.quantity if case.request.quantity else 1.0
    authorized = (case.request.ur_authorized_quantity or 0) * per_unit
    total = given + authorized + requested
    counted = f"{given:g} given + {authorized:g} certified + {requested:g} requested = {total:g} full-day equivalents ({full} hours a day)"
    if total <= limit:
        return Finding.met(lambda: f"{counted}, within {limit}", prior_treatments=courses)
    if _program(case).extension_rationale:
        return Finding.met(lambda: f"{counted}, above {limit} with a documented rationale", prior_treatments=courses)
    room = limit - given - authorized
    fits = math.floor(room / per_unit) if per_unit and room > 0 else None
    return Finding.not_met(lambda: f"{counted}, above {limit}", approvable=fits or None, prior_treatments=courses)


@evaluator(f"{T}.no_repeat")
def no_repeat(case: Case, p: Mapping[str, Any]) -> Finding:
    completed = [t for t in case.prior(*p["same_or_similar_program"]) if t.status == "completed"]
    if completed:
        names = ", ".join(sorted({t.treatment.replace("_", " ") for t in completed}))
        return Finding.not_met(f"a similar program was already completed ({names})", prior_treatments=completed)
    return Finding.met("no completed functional restoration, work conditioning or work hardening program is documented")


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "functional_restoration.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [
        baseline_functional_testing, previous_methods_failed, significant_loss_of_function, not_surgical_candidate,
        motivation_to_change, negative_predictors_addressed, initial_two_weeks, progress_check, total_sessions, no_repeat,
    ]
