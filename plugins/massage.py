"""Massage therapy evaluators (myofascial release is judged as massage).

The limit and citations live in ``guidelines/massage.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl
from kb_core._resources import files
from kb_plugins._caps import continuation_improvement

T = "massage"
KINDS = ("massage", "myofascial_release")


@evaluator(f"{T}.adjunct_to_active_treatment")
def adjunct_to_active_treatment(case: Case, p: Mapping[str, Any]) -> Finding:
    active, home = case.findings.adjunct_to_active_rehabilitation, case.findings.home_exercise_program
    if active is True:
        return Finding.met("requested alongside an active rehabilitation or exercise program")
    if home is True:
        return Finding.met("requested alongside a home exercise program")
    if active is False and home is False:
        return Finding.not_met("no concurrent exercise or active program: massage would be the only treatment")
    return Finding.not_documented("no concurrent exercise or active program is documented")


@evaluator(f"{T}.visit_limit")
def visit_limit(case: Case, p: Mapping[str, Any]) -> Finding:
    requested = case.request.visits
    if requested is None:
        return Finding.not_documented("the number of visits requested is not stated")
    courses = case.prior(*KINDS)
    if any(c.count is None for c in courses):
        return Finding.not_documented("prior massage is documented without its number of visits", prior_treatments=courses)
    given = sum(c.count or 0 for c in courses)
    authorized = case.request.ur_authorized_quantity or 0
    already, limit = given + authorized, p["max_visits"]
    total = already + requested
    counted = f"{given} given + {authorized} certified + {requested} requested = {total}"
    if total <= limit:
        return Finding.met(lambda: f"{counted}: within {limit} visits", prior_treatments=courses)
    return Finding.not_met(lambda: f"{counted}: above {limit} visits", approvable=max(limit - already, 0) or None, prior_treatments=courses)


@evaluator(f"{T}.continuation_functional_improvement")
def continuation_functional_improvement(case: Case, p: Mapping[str, Any]) -> Finding:
    prior = [c for c in case.prior(*KINDS) if c.count != 0]
    return continuation_improvement(case, prior, course="massage", given="the massage given", improvement="functional improvement")


@evaluator(f"{T}.not_maintenance")
def not_maintenance(case: Case, p: Mapping[str, Any]) -> Finding:
    purpose = case.request.purpose
    if purpose == "maintenance":
        return Finding.not_met("requested as maintenance care; massage is passive and dependence is to be avoided")
    return Finding.met(lambda: f"requested as {purpose.replace('_', ' ')} care" if purpose else "not requested as maintenance care")


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "massage.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [adjunct_to_active_treatment, visit_limit, continuation_functional_improvement, not_maintenance]
