"""Test helpers for kb_core and for third-party plugin authors.

Hypothesis strategies that draw valid case mappings for a treatment, with numbers drawn
near the thresholds its YAML declares (at, just under, just over each). Import this
module only in tests: it needs ``hypothesis``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from kb_core._kb import KnowledgeBase
from kb_core._schemas import schema

_CASE = schema("case")
REGIONS: list[str] = [r for r in _CASE["$defs"]["region"]["enum"]]
DEMAND_LEVELS: list[str] = [v for v in _CASE["properties"]["worker"]["properties"]["physical_demand_level"]["enum"] if v]
CATEGORIES = ["myalgia_myositis", "neuralgia_neuritis_radiculitis", "crps", "arthritis", "sprain_strain", "post_injection", "fracture", "dislocation", "epicondylitis"]


def thresholds(kb: KnowledgeBase, treatment: str) -> list[float]:
    """Every numeric parameter value (in any version) of ``treatment``'s criteria."""
    gs = kb.guidelines
    values: set[float] = set()
    for pid in gs.treatments[treatment].parameters:
        param = gs.parameters[pid]
        for value in (param.value, *param.by_version.values()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values.add(value)
    return sorted(values)


def boundary_numbers(kb: KnowledgeBase, treatment: str, *, integers: bool = True) -> st.SearchStrategy[Any]:
    """Numbers at, just under and just over each threshold of ``treatment`` (never negative)."""
    near: set[float] = set()
    for value in thresholds(kb, treatment):
        step = 1 if integers else 0.5
        near.update(v for v in (value - step, value, value + step) if v >= 0)
    if integers:
        near = {int(v) for v in near}
    return st.sampled_from(sorted(near)) if near else st.integers(0, 30)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _iso(day: dt.date) -> str:
    return day.isoformat()


@st.composite
def case_dicts(draw: st.DrawFn, kb: KnowledgeBase, kind: str) -> dict[str, Any]:
    """A valid case mapping requesting ``kind``; any fact may be absent.

    Dates fall in the years the encoded guideline versions cover (2009-07-18 to
    2017-11-30), with a few outside; quantities and tolerances come from the
    treatment's thresholds half of the time.
    """
    treatment = kb.treatment_for(kind)
    assert treatment is not None, f"no treatment judges requests for {kind}"
    numbers = st.one_of(boundary_numbers(kb, treatment), st.integers(0, 40))
    injury = draw(st.dates(dt.date(2007, 1, 1), dt.date(2017, 6, 30)))
    request_day = injury + dt.timedelta(days=draw(st.one_of(st.integers(0, 1500), st.sampled_from([729, 730, 731]))))
    dates: dict[str, Any] = {"request": _iso(request_day)} if draw(st.booleans()) else {"ur_decision": _iso(request_day)}
    if draw(st.integers(0, 5)):
        dates["injury"] = _iso(injury)
    kinds = sorted(kb.guidelines.treatment_kinds)
    prior = draw(st.lists(
        st.fixed_dictionaries({"treatment": st.sampled_from(kinds)}, optional={
            "count": _maybe(numbers),
            "status": _maybe(st.sampled_from(["completed", "ongoing", "discontinued"])),
            "functional_improvement": _maybe(st.booleans()),
            "plateau": _maybe(st.booleans()),
            "post_surgical": _maybe(st.booleans()),
            "body_regions": st.lists(st.sampled_from(REGIONS), max_size=2, unique=True),
        }),
        max_size=4,
    ))
    findings = draw(st.fixed_dictionaries({}, optional={
        key: _maybe(st.booleans()) for key, spec in _CASE["properties"]["findings"]["properties"].items()
        if spec.get("$ref", "").endswith("fact_bool")
    }))
    if draw(st.booleans()):
        findings["tolerance_hours_per_day"] = draw(st.one_of(boundary_numbers(kb, treatment, integers=False), st.floats(0, 12)))
    if draw(st.booleans()):
        findings["tolerance_days_per_week"] = draw(st.integers(0, 7))
    if draw(st.booleans()):
        findings["return_to_work_goal"] = draw(st.sampled_from(["specific_job", "on_the_job_training", "none"]))
    request: dict[str, Any] = {"treatment": kind}
    request.update(draw(st.fixed_dictionaries({}, optional={
        "quantity": numbers,
        "body_regions": st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True),
        "unit": st.sampled_from(["visits", "sessions", "hours"]),
        "frequency_per_week": st.integers(1, 5),
        "duration_weeks": st.integers(1, 12),
        "purpose": st.sampled_from(["initial", "continuation", "flare_up", "maintenance"]),
        "ur_authorized_quantity": st.integers(0, 12),
    })))
    if draw(st.integers(0, 4)) == 0:
        request["post_surgical"] = {"surgery": "a surgery", "surgery_certified": draw(_maybe(st.booleans()))}
    case: dict[str, Any] = {"dates": dates, "request": request, "prior_treatments": prior, "findings": findings}
    worker = draw(st.fixed_dictionaries({}, optional={
        "physical_demand_level": st.sampled_from(DEMAND_LEVELS),
        "work_status": st.sampled_from(["full_duty", "modified_duty", "temporarily_totally_disabled", "not_working"]),
        "returned_to_work": st.booleans(),
    }))
    if worker:
        case["worker"] = worker
    diagnoses = draw(st.lists(st.fixed_dictionaries({"description": st.just("a diagnosis")}, optional={
        "body_region": st.sampled_from(REGIONS), "category": st.sampled_from(CATEGORIES),
    }), max_size=2))
    if diagnoses:
        case["diagnoses"] = diagnoses
    return case


def with_more_documentation(case: Mapping[str, Any]) -> dict[str, Any]:
    """The same case with every undocumented favourable fact now documented.

    Fills only facts that were absent: functional improvement and plateau on prior
    courses, an agreed return-to-work goal, screening, and compliance with gains.
    """
    out = {**case, "findings": dict(case.get("findings") or {})}
    out["prior_treatments"] = [
        {**p, "functional_improvement": True if p.get("functional_improvement") is None else p["functional_improvement"],
         "plateau": True if p.get("plateau") is None else p["plateau"]}
        for p in case.get("prior_treatments") or ()
    ]
    findings = out["findings"]
    for key in ("return_to_work_goal_agreed", "screening_completed", "compliance_and_gains_documented"):
        if findings.get(key) is None:
            findings[key] = True
    if findings.get("return_to_work_goal") is None:
        findings["return_to_work_goal"] = "specific_job"
    return out
