"""Biofeedback (2009 CPMTG pp.24-25): evaluators.

Thresholds, statements and citations live in ``biofeedback.yaml``; each function below
judges the criterion of the same name. Rules every evaluator here follows (the plugin
contract in ``kb_core.hookspecs``): numbers come from ``p`` (the criterion's parameters),
never from literals; ``None`` on the case means "not documented", never "no"; the case is
only read. The CBT program is a fact the core case format lacks, so a case states it under
``extra: {cbt_program: true}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl

__version__ = "0.1.0"

T = "biofeedback"
CBT_KINDS = ("psychological_treatment",)  # concurrent treatments that are a CBT program


@evaluator(f"{T}.adjunct_to_active_treatment")
def adjunct_to_active_treatment(case: Case, p: Mapping[str, Any]) -> Finding:
    stated = case.extra.get("cbt_program")
    if stated is True or any(c.treatment in CBT_KINDS for c in case.concurrent_treatments):
        return Finding.met("requested as part of a cognitive behavioral therapy program")
    if stated is False:
        return Finding.not_met("no CBT program: biofeedback would be a stand-alone treatment")
    return Finding.not_documented("no CBT program is documented alongside the biofeedback")


@evaluator(f"{T}.visit_limit")
def visit_limit(case: Case, p: Mapping[str, Any]) -> Finding:
    request = case.request
    requested = request.visits  # stated, else frequency x duration; None for other units
    if requested is None:
        return Finding.not_documented("the number of biofeedback visits requested is not stated")
    courses = case.prior(T)
    if any(c.count is None for c in courses):
        return Finding.not_documented("prior biofeedback is documented without its number of visits", prior_treatments=courses)
    given = sum(c.count or 0 for c in courses)
    authorized = request.ur_authorized_quantity or 0
    already = given + authorized
    improved = any(c.functional_improvement for c in courses)
    limit, which = (p["max_visits"], "in all after functional improvement") if improved else (p["trial_visits"], "for the trial")
    total = already + requested
    counted = f"{requested} requested" + (f" + {given} given" if given else "") + (f" + {authorized} already certified" if authorized else "")
    if already:
        counted += f" = {total}"
    if total <= limit:
        # `prior_treatments=courses` records only the biofeedback courses as the facts used.
        return Finding.met(f"{counted}: within {limit} visits {which}", prior_treatments=courses)
    # approvable: the visits that still fit. 0 cannot be "modified", so the request is then non-certified.
    return Finding.not_met(f"{counted}: above {limit} visits {which}", approvable=max(limit - already, 0), prior_treatments=courses)


@evaluator(f"{T}.not_maintenance")
def not_maintenance(case: Case, p: Mapping[str, Any]) -> Finding:
    if case.request.purpose == "maintenance":
        return Finding.not_met("requested as maintenance visits; the exercises continue at home after the course")
    purpose = case.request.purpose
    return Finding.met(f"requested as {purpose.replace('_', ' ')} care, not maintenance" if purpose else "not requested as maintenance care")


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("mtus_kb_biofeedback") / "biofeedback.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [adjunct_to_active_treatment, visit_limit, not_maintenance]


@hookimpl
def mtus_sample_cases() -> list[Any]:
    return sorted((p for p in (files("mtus_kb_biofeedback") / "cases").iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)


@hookimpl
def mtus_plugin_info() -> dict[str, str]:
    return {"requires_core": ">=0.1"}
