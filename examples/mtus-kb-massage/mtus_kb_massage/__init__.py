"""Massage therapy (2009 CPMTG p.60): evaluators.

Thresholds, statements and citations live in ``massage.yaml``; each function below judges
the criterion of the same name. Rules every evaluator here follows (the plugin contract in
``kb_core.hookspecs``): numbers come from ``p`` (the criterion's parameters), never from
literals; ``None`` on the case means "not documented", never "no"; the case is only read.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl

__version__ = "0.1.0"

T = "massage"
VISIT_UNITS = (None, "visits", "sessions")  # units in which `quantity` counts visits


@evaluator(f"{T}.adjunct_to_active_treatment")
def adjunct_to_active_treatment(case: Case, p: Mapping[str, Any]) -> Finding:
    active = case.findings.adjunct_to_active_rehabilitation
    home = case.findings.home_exercise_program
    if active is True:
        return Finding.met("requested alongside an active rehabilitation or exercise program")
    if home is True:
        return Finding.met("requested alongside a home exercise program")
    if active is False and home is False:
        return Finding.not_met("no concurrent exercise, active rehabilitation or home exercise program: massage would be the only treatment")
    return Finding.not_documented("no concurrent exercise or active program is documented")


@evaluator(f"{T}.visit_limit")
def visit_limit(case: Case, p: Mapping[str, Any]) -> Finding:
    request = case.request
    if request.unit not in VISIT_UNITS:
        return Finding.not_documented(f"requested in {request.unit}; the number of visits is not stated")
    requested = request.implied_quantity  # stated, else frequency x duration
    if requested is None:
        return Finding.not_documented("the number of massage visits requested is not stated")
    courses = case.prior(T)
    if any(c.count is None for c in courses):
        return Finding.not_documented("prior massage is documented without its number of visits", prior_treatments=courses)
    given = sum(c.count for c in courses)  # type: ignore[misc]  # every count is known here
    authorized = request.ur_authorized_quantity or 0
    already = given + authorized
    limit = p["max_visits"]
    total = already + requested
    counted = f"{requested} requested" + (
        f" + {given} given" if given else "") + (f" + {authorized} already certified" if authorized else "")
    if already:
        counted += f" = {total}"
    if total <= limit:
        # `prior_treatments=courses` records only the massage courses as the facts used.
        return Finding.met(f"{counted}: within {limit} visits", prior_treatments=courses)
    # approvable: the visits that still fit. 0 cannot be "modified", so the request is then non-certified.
    return Finding.not_met(f"{counted}: above {limit} visits", approvable=max(limit - already, 0), prior_treatments=courses)


@evaluator(f"{T}.not_maintenance")
def not_maintenance(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.purpose == "maintenance":
        return Finding.not_met("requested as maintenance care; massage is a passive treatment and dependence is to be avoided")
    purpose = case.request.purpose
    return Finding.met(f"requested as {purpose.replace('_', ' ')} care, not maintenance" if purpose else "not requested as maintenance care")


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("mtus_kb_massage") / "massage.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [adjunct_to_active_treatment, visit_limit, not_maintenance]


@hookimpl
def mtus_sample_cases() -> list[Any]:
    return sorted((p for p in (files("mtus_kb_massage") / "cases").iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)


@hookimpl
def mtus_plugin_info() -> dict[str, str]:
    return {"requires_core": ">=0.1"}
