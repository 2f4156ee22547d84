"""Aquatic therapy evaluators.

The visit allowance and weekly frequency are the physical medicine ones: the criteria list
the ``physical_medicine.*`` parameters in ``guidelines/aquatic_therapy.yaml`` and the
allowance is chosen by the physical medicine plugin's own rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl
from kb_core._resources import files
from kb_plugins._caps import continuation_improvement, visits_so_far, weekly_frequency
from kb_plugins.physical_medicine import THERAPY, _allowance

T = "aquatic_therapy"
COUNTED = THERAPY  # aquatic therapy replaces land-based therapy: one allowance for all of it


@evaluator(f"{T}.reduced_weight_bearing")
def reduced_weight_bearing(case: Case, p: Mapping[str, Any]) -> Finding:
    return Finding.from_fact(
        case.findings.reduced_weight_bearing_indicated,
        met="reduced weight bearing is desirable, so exercise in water is preferred",
        not_met="nothing calls for reduced weight bearing: land-based therapy is the alternative",
        not_documented="no reason for reduced weight bearing is documented",
    )


@evaluator(f"{T}.continuation_functional_improvement")
def continuation_functional_improvement(case: Case, p: Mapping[str, Any]) -> Finding:
    prior = [t for t in case.prior(*COUNTED) if t.count != 0 and not t.post_surgical]
    return continuation_improvement(
        case, prior, course="therapy", given="the visits given", improvement="objective functional improvement",
    )


@evaluator(f"{T}.visit_allowance")
def visit_allowance(case: Case, p: Mapping[str, Any]) -> Finding:
    requested = case.request.visits
    if requested is None:
        return Finding.not_documented("the number of visits requested is not stated")
    given, complete = visits_so_far(case, *COUNTED)
    if not complete:
        return Finding.not_documented(f"prior therapy is documented without its number of visits ({given} counted)")
    allowance, _, row = _allowance(case, p)
    authorized = case.request.ur_authorized_quantity or 0
    total = given + authorized + requested
    counted = f"{given} given + {authorized} certified + {requested} requested = {total}"
    if total <= allowance:
        return Finding.met(lambda: f"{counted}, within {row}")
    return Finding.not_met(lambda: f"{counted}, above {row}", approvable=max(allowance - given - authorized, 0) or None)


@evaluator(f"{T}.frequency")
def frequency(case: Case, p: Mapping[str, Any]) -> Finding:
    return weekly_frequency(case, p["max_visits_per_week"])


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("kb_guidelines") / "aquatic_therapy.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [reduced_weight_bearing, continuation_functional_improvement, visit_allowance, frequency]
