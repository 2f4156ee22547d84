"""Test helpers for kb_core and for third-party plugin authors.

- :func:`case_dicts`: a Hypothesis strategy drawing valid case mappings for a treatment
  kind, with numbers at, just under and just over the thresholds its YAML declares
  (:func:`boundary_numbers`, :func:`thresholds`).
- :func:`check_plugin` / :func:`assert_conformant`: the conformance kit a plugin runs
  from its own tests (also available as the ``mtus_conformance`` pytest fixture).

Import this module only in tests: it needs ``hypothesis``.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as exc:  # a plain install: the kit needs the test extra, nothing else does
    raise ImportError("kb_core.testing needs hypothesis: pip install 'mtus-kb[test]'") from exc

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
        # Half the prior courses are of the requested kind, so prior-count rules get exercised.
        st.fixed_dictionaries({"treatment": st.one_of(st.just(kind), st.sampled_from(kinds))}, optional={
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


# ---------------------------------------------------------------- conformance kit


@dataclass
class ConformanceReport:
    """What :func:`check_plugin` found. ``problems`` empty means the plugin conforms."""

    plugin: str
    treatments: list[str] = field(default_factory=list)
    criteria: int = 0
    sample_cases: int = 0
    sample_cases_agreeing: int = 0
    known_disagreements: int = 0
    properties_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        state = "conforms" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"{self.plugin}: {state}; {len(self.treatments)} treatment(s), {self.criteria} criteria, "
            f"{self.sample_cases_agreeing}/{self.sample_cases} sample cases as expected"
            f" ({self.known_disagreements} known disagreements), {self.properties_checked} generated cases checked"
        )


def plugin_treatments(kb: KnowledgeBase, plugin: str) -> list[str]:
    """Treatments whose criteria the plugin's guideline files declare."""
    gs = kb.guidelines
    return sorted({gs.criteria[c].treatment for c, owner in gs.criterion_plugin.items() if owner == plugin})


def plugin_sample_cases(kb: KnowledgeBase, plugin: str) -> list[Any]:
    from kb_core._plugins import call_each

    return [f for name, files in call_each(kb._manager, "mtus_sample_cases") if name == plugin for f in files or ()]


def check_plugin(
    plugin: str,
    *,
    kb: KnowledgeBase | None = None,
    case_files: Sequence[Any] = (),
    examples: int = 50,
) -> ConformanceReport:
    """Check a plugin against the contract in :mod:`kb_core.hookspecs`.

    Loading already guarantees one evaluator per declared criterion and valid, cited YAML.
    This adds: every criterion and parameter carries a citation with a section and a
    verification tag; the plugin's sample cases (its ``mtus_sample_cases`` hook plus
    ``case_files``) reach their expected outcomes; evaluators are deterministic, never
    fail and never change the case; and the core properties hold on ``examples``
    generated cases per treatment kind (no error status, determinism, a refusal names a
    failing criterion with a citation, documenting more never lowers the decision).
    """
    from hypothesis import HealthCheck, given, settings

    from kb_core._case import Expected, load_case, parse_case
    from kb_core._kb import load
    from kb_core._model import Decision, Status
    from kb_core._render import determination_json
    from kb_core.agree import mismatches

    kb = kb or load()
    report = ConformanceReport(plugin)
    if plugin not in kb.plugins:
        report.problems.append(f"plugin '{plugin}' is not loaded (installed: {', '.join(sorted(kb.plugins))})")
        return report
    gs = kb.guidelines
    report.treatments = plugin_treatments(kb, plugin)
    if not report.treatments:
        report.problems.append("the plugin declares no treatment criteria")
    for tid in report.treatments:
        for cid in gs.treatments[tid].criteria:
            report.criteria += 1
            criterion = gs.criteria[cid]
            if not criterion.citation.section.strip():
                report.problems.append(f"{cid}: citation has no section")
            if kb._evaluators[cid][1] != plugin:
                report.problems.append(f"{cid}: evaluated by plugin '{kb._evaluators[cid][1]}', not by '{plugin}'")
        for pid in gs.treatments[tid].parameters:
            if not gs.parameters[pid].citation.section.strip():
                report.problems.append(f"{pid}: citation has no section")

    rank = {Decision.NON_CERTIFIED: 0, Decision.MODIFIED: 1, Decision.CERTIFIED: 2}
    for path in [*plugin_sample_cases(kb, plugin), *case_files]:
        report.sample_cases += 1
        try:
            case = load_case(path) if not hasattr(path, "read_bytes") or isinstance(path, Path) else _load_resource_case(path)
            first = kb.evaluate(case)
            again = kb.evaluate(case)
        except Exception as exc:
            report.problems.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        if determination_json(first) != determination_json(again):
            report.problems.append(f"{path}: two evaluations differ (evaluators must be deterministic)")
        expected = case.expected or Expected()
        if expected.known_disagreement:
            report.known_disagreements += 1
        wrong = mismatches(first, expected)
        if not wrong:
            report.sample_cases_agreeing += 1
        elif not expected.known_disagreement:
            report.problems.append(f"{path}: {'; '.join(wrong)}")

    kinds = sorted({k for tid in report.treatments for k in gs.treatments[tid].requested_as if kb.treatment_for(k) == tid})
    for kind in kinds:
        failures: list[str] = []

        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case_dicts(kb, kind))
        def properties(data: dict[str, Any]) -> None:
            snapshot = copy.deepcopy(data)
            det = kb.evaluate(data)
            if data != snapshot:
                failures.append("evaluation changed the case mapping it was given")
            if determination_json(kb.evaluate(parse_case(snapshot))) != determination_json(det):
                failures.append("two evaluations of one case differ")
            errors = [r for r in det.results if r.status is Status.ERROR]
            if errors:
                failures.append(f"error status: {errors[0].reason}")
            if det.decision in (Decision.NON_CERTIFIED, Decision.MODIFIED) and not any(
                r.status in (Status.NOT_MET, Status.NOT_DOCUMENTED) and r.citation for r in det.results
            ):
                failures.append(f"{det.decision.value} without a failing, cited criterion")
            more = kb.evaluate(with_more_documentation(data)).decision
            if det.decision in rank and more in rank and rank[more] < rank[det.decision]:
                failures.append(f"documenting more lowered {det.decision.value} to {more.value}")
            report.properties_checked += 1
            if failures:
                raise AssertionError(failures[-1])

        try:
            properties()
        except AssertionError as exc:
            report.problems.append(f"property failed for '{kind}' requests: {exc}")
    return report


def _load_resource_case(resource: Any) -> Any:
    from kb_core._case import parse_case
    from kb_core._yaml import parse_bytes
    from kb_core.errors import CaseError

    name = str(resource)
    return parse_case(parse_bytes(resource.read_bytes(), name, CaseError), name)


def assert_conformant(plugin: str, **kwargs: Any) -> ConformanceReport:
    """:func:`check_plugin`, raising AssertionError that lists every problem."""
    report = check_plugin(plugin, **kwargs)
    if not report.ok:
        raise AssertionError(report.summary() + "\n  - " + "\n  - ".join(report.problems))
    return report
