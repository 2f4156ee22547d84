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


_SKIP = frozenset({"expected"})  # what a case expects is not a fact an evaluator reads


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if ref:
        return {**_CASE["$defs"][ref.rsplit("/", 1)[1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _json_leaf() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.integers(-3, 60), st.floats(-5, 60, allow_nan=False), st.text(max_size=8))


def _extra_values() -> st.SearchStrategy[Any]:
    return st.recursive(_json_leaf(), lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)), max_leaves=6)


def _value(node: Mapping[str, Any], numbers: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A strategy for one schema node's value (any value the schema allows)."""
    node = _resolve(node)
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kinds = node.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    options: list[st.SearchStrategy[Any]] = []
    if "null" in kinds:
        options.append(st.none())
    if "boolean" in kinds:
        options.append(st.booleans())
    high = node.get("maximum")
    if high is not None:  # the schema's upper bounds (hours a day, counts): boundary draws clamped to them
        numbers = numbers.map(lambda v: min(v, high))
    if "integer" in kinds:
        low, high = node.get("minimum"), node.get("maximum")
        options.append(numbers if low is None and high is None else
                       numbers.filter(lambda v: (low is None or v >= low) and (high is None or v <= high)))
    if "number" in kinds:
        low = node.get("minimum", 0)
        options.append(st.one_of(numbers.map(float), st.floats(low, min(40, high if high is not None else 40), allow_nan=False)).filter(lambda v: v > 0 or "exclusiveMinimum" not in node))
    if "string" in kinds:
        options.append(st.sampled_from(["a note", "lumbar sprain", "2015-03-02", ""]))
    if "array" in kinds or isinstance(node.get("items"), Mapping):
        options.append(st.lists(_value(node["items"], numbers), max_size=2, unique=node.get("uniqueItems", False)))
    if "properties" in node:  # a nested record (a device, a device trial, a program): any subset of its fields, or all
        required = set(node.get("required", ()))
        fields = {key: _value(child, numbers) for key, child in node["properties"].items()}
        options.append(st.fixed_dictionaries(
            {key: fields[key] for key in required}, optional={key: s for key, s in fields.items() if key not in required},
        ))
        options.append(st.fixed_dictionaries(fields))
    return st.one_of(*options) if options else st.none()


def every_fact_path() -> list[str]:
    """Every leaf of the case schema a generated case may carry (``[]`` marks list items)."""
    out: list[str] = []

    def walk(node: Mapping[str, Any], path: str) -> None:
        node = _resolve(node)
        if "properties" in node:
            for key, child in node["properties"].items():
                if not path and key in _SKIP:
                    continue
                walk(child, f"{path}.{key}" if path else key)
        elif isinstance(node.get("items"), Mapping):
            walk(node["items"], f"{path}[]")
        else:
            out.append(path)

    walk(_CASE, "")
    return out


def fact_paths_of(case: Mapping[str, Any]) -> set[str]:
    """The schema paths a case mapping actually carries (for coverage checks)."""
    out: set[str] = set()

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping) and path != "extra":
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else key)
        elif isinstance(value, list) and path not in ("extra",):
            for item in value:
                walk(item, f"{path}[]")
        else:
            out.add(path)

    walk(case, "")
    return out


def _bounded(strategy: st.SearchStrategy[Any], node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """``strategy`` with its numbers clamped to the schema node's ``maximum`` (if any)."""
    high = _resolve(node).get("maximum")
    if high is None:
        return strategy
    return strategy.map(lambda v: min(v, high) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)


@st.composite
def case_dicts(draw: st.DrawFn, kb: KnowledgeBase, kind: str) -> dict[str, Any]:
    """A valid case mapping requesting ``kind``; any fact may be absent, and every field the
    case schema allows can occur (``extra``, every unit, concurrent treatments, add-ons,
    kinds of improvement, injury phase, date of service ...).

    Dates fall in the years the encoded guideline versions cover (2009-07-18 to
    2017-11-30), with a few outside; quantities and tolerances come from the
    treatment's thresholds half of the time.
    """
    treatment = kb.treatment_for(kind)
    assert treatment is not None, f"no treatment judges requests for {kind}"
    numbers = st.one_of(boundary_numbers(kb, treatment), st.integers(0, 40))
    props = _CASE["properties"]

    def record(node: Mapping[str, Any], fixed: Mapping[str, st.SearchStrategy[Any]] = {}) -> dict[str, Any]:
        """An object with any subset of the node's properties (``fixed``: own strategies)."""
        node = _resolve(node)
        required = set(node.get("required", ()))
        optional = {key: _bounded(fixed[key], child) if key in fixed else _value(child, numbers) for key, child in node["properties"].items() if key not in required}
        base = {key: _bounded(fixed[key], node["properties"][key]) for key in required}
        return draw(st.fixed_dictionaries(base, optional=optional))

    injury = draw(st.dates(dt.date(2003, 6, 1), dt.date(2017, 6, 30)))
    request_day = injury + dt.timedelta(days=draw(st.one_of(st.integers(0, 1500), st.sampled_from([729, 730, 731]))))
    dates: dict[str, Any] = {"request": _iso(request_day)} if draw(st.booleans()) else {"ur_decision": _iso(request_day)}
    if draw(st.integers(0, 5)):
        dates["injury"] = _iso(injury)
    if draw(st.integers(0, 3)) == 0:
        dates["service"] = _iso(request_day + dt.timedelta(days=draw(st.integers(0, 60))))
    kinds = sorted(kb.guidelines.treatment_kinds)
    some_day = st.dates(injury, request_day).map(_iso)
    regions = st.lists(st.sampled_from(REGIONS), max_size=2, unique=True)
    prior_node = props["prior_treatments"]["items"]
    # Half the prior courses are of the requested kind, so prior-count rules get exercised.
    same_or_any = st.one_of(st.just(kind), st.sampled_from(kinds))
    prior = [record(prior_node, {"treatment": same_or_any, "count": _maybe(numbers), "start": _maybe(some_day), "end": _maybe(some_day),
                                 "body_regions": regions, "note": st.just("a course")})
             for _ in range(draw(st.integers(0, 4)))]
    concurrent = [record(props["concurrent_treatments"]["items"], {"treatment": st.sampled_from(kinds), "body_regions": regions})
                  for _ in range(draw(st.integers(0, 2)))]
    findings = record(props["findings"], {
        "tolerance_hours_per_day": _maybe(st.one_of(boundary_numbers(kb, treatment, integers=False), st.floats(0, 12))),
        "tolerance_days_per_week": _maybe(st.integers(0, 7)),
    })
    request_node = props["request"]
    post_surgical = st.fixed_dictionaries({}, optional={
        "surgery": st.sampled_from(["a surgery", "arthroscopic rotator cuff repair", "trigger finger release", "lumbar fusion"]),
        "procedure": _maybe(st.sampled_from(_procedures(kb, treatment) or ["a_procedure"])),
        "surgery_date": _maybe(some_day),
        "surgery_certified": _maybe(st.booleans()),
    })
    request = record(request_node, {
        "treatment": st.just(kind),
        "quantity": _maybe(numbers),
        "body_regions": st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True),
        "frequency_per_week": _maybe(st.sampled_from([1, 1.5, 2, 3, 4, 5])),
        "duration_weeks": _maybe(st.integers(1, 12)),
        "hours_per_day": _maybe(st.sampled_from([1, 2, 4, 6, 8])),
        "ur_authorized_quantity": _maybe(st.integers(0, 12)),
        "post_surgical": st.none(),
        "add_ons": st.lists(st.fixed_dictionaries({"description": st.just("an add-on")}, optional={"kind": st.sampled_from(kinds)}), max_size=2),
    })
    request.pop("post_surgical", None)
    if draw(st.integers(0, 3)) == 0:
        request["post_surgical"] = draw(post_surgical)
    if "unit" not in request and draw(st.booleans()):  # every unit, often: units are where plugins slip
        request["unit"] = draw(st.sampled_from(["visits", "sessions", "hours", "days", "weeks"]))
    case: dict[str, Any] = {"dates": dates, "request": request, "prior_treatments": prior, "findings": findings}
    if concurrent:
        case["concurrent_treatments"] = concurrent
    worker = record(props["worker"], {"job_title": _maybe(st.just("a job"))})
    if worker:
        case["worker"] = worker
    diagnoses = draw(st.lists(st.fixed_dictionaries({"description": st.sampled_from(DESCRIPTIONS)}, optional={
        "body_region": _maybe(st.sampled_from(REGIONS)), "category": _maybe(st.sampled_from(CATEGORIES)), "icd10": _maybe(st.just("M54.5")),
    }), max_size=2))
    if diagnoses:
        case["diagnoses"] = diagnoses
    if draw(st.integers(0, 4)) == 0:
        case["extra"] = draw(st.dictionaries(st.text(min_size=1, max_size=8), _extra_values(), max_size=3))
    for key in ("case_id", "description", "source"):
        if draw(st.integers(0, 6)) == 0:
            case[key] = f"generated {key}"
    if draw(st.integers(0, 6)) == 0:
        case["notes"] = ["a note"]
    return case


DESCRIPTIONS = ["a diagnosis", "lumbar sprain/strain", "cervical spondylosis", "headache", "finger phalanx fracture",
                "distal radius fracture", "lateral epicondylitis", "knee internal derangement", "lumbar radiculopathy", "myofascial pain"]


def _procedures(kb: KnowledgeBase, treatment: str) -> list[str]:
    """Procedure ids a treatment's tables name (postsurgical rows), for generated requests."""
    out: set[str] = set()
    for pid in kb.guidelines.treatments[treatment].parameters:
        value = kb.guidelines.parameters[pid].value
        if "procedure" in pid and isinstance(value, Mapping):
            out.update(value)
    return sorted(out)


# ---------------------------------------------------------------- one fact at a time


def _shift(day: str, days: int) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=days)).isoformat()


@st.composite
def one_fact_varied(draw: st.DrawFn, kb: KnowledgeBase, kind: str, seeds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A documented case from ``seeds`` (cases certified as they stand) with one fact changed:
    the requested quantity moved to a threshold, the unit, schedule, purpose, regions,
    dates or date of service changed, a finding flipped or removed, an earlier course
    added, changed or dropped, a concurrent therapy added. Starting from certifiable cases makes all four
    decisions occur, so properties are tested where they can fail."""
    case = copy.deepcopy(dict(draw(st.sampled_from(list(seeds)))))
    treatment = kb.treatment_for(kind)
    assert treatment is not None
    numbers = st.one_of(boundary_numbers(kb, treatment), st.integers(1, 30))
    request = case.setdefault("request", {})
    findings = case.setdefault("findings", {})
    prior = case.setdefault("prior_treatments", [])
    change = draw(st.sampled_from([
        "quantity", "quantity", "quantity", "unit", "schedule", "purpose", "regions", "authorized", "date", "injury",
        "service", "finding", "finding", "add_course", "course", "drop_course", "concurrent", "duplicate",
    ]))
    if change == "quantity":
        request["quantity"] = draw(numbers)
    elif change == "unit":
        request["unit"] = draw(st.sampled_from(["visits", "sessions", "days", "weeks", "hours", None]))
    elif change == "schedule":
        key = draw(st.sampled_from(["frequency_per_week", "duration_weeks"]))
        request[key] = draw(st.one_of(st.none(), st.sampled_from([1, 2, 3, 4, 6, 8, 12])))
    elif change == "purpose":
        request["purpose"] = draw(st.sampled_from(["initial", "continuation", "flare_up", "maintenance", None]))
    elif change == "regions":
        request["body_regions"] = draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2, unique=True))
    elif change == "authorized":
        request["ur_authorized_quantity"] = draw(numbers)
    elif change == "date":
        key = "request" if "request" in case["dates"] else "ur_decision"
        moved = _shift(case["dates"][key], draw(st.sampled_from([-4000, -2500, -400, 400, 1000, 2500])))
        injury = case["dates"].get("injury")
        case["dates"][key] = max(moved, injury) if injury else moved
    elif change == "service":  # from 2017-12-01 the date of service, not the request date, chooses the version
        key = "request" if "request" in case["dates"] else "ur_decision"
        case["dates"]["service"] = _shift(case["dates"][key], draw(st.sampled_from([30, 1000, 2500, 4000])))
    elif change == "injury":
        key = "request" if "request" in case["dates"] else "ur_decision"
        case["dates"]["injury"] = draw(st.sampled_from(["2003-12-31", "2004-01-01", "2004-02-29", _shift(case["dates"][key], -729), _shift(case["dates"][key], -731)]))
        if case["dates"]["injury"] > case["dates"][key]:
            case["dates"]["injury"] = case["dates"][key]
    elif change == "finding":
        keys = [k for k, spec in _CASE["properties"]["findings"]["properties"].items() if spec.get("$ref", "").endswith("fact_bool")]
        findings[draw(st.sampled_from(keys))] = draw(st.sampled_from([None, False, True]))
    elif change == "add_course" or (change in ("course", "drop_course") and not prior):
        prior.append({"treatment": draw(st.sampled_from([kind, kind, "physical_therapy", "chiropractic"])), "count": draw(numbers),
                      "body_regions": list(request.get("body_regions") or []), "status": "completed",
                      "functional_improvement": draw(st.sampled_from([True, False, None]))})
    elif change == "course":
        index = draw(st.integers(0, len(prior) - 1))
        key = draw(st.sampled_from(["count", "functional_improvement", "improvement", "count_at_least", "post_surgical"]))
        prior[index][key] = draw({"count": _maybe(numbers), "improvement": st.sampled_from(["objective", "reported", "none", None])}.get(key, _maybe(st.booleans())))
    elif change == "drop_course":
        prior.pop(draw(st.integers(0, len(prior) - 1)))
    elif change == "concurrent":
        case["concurrent_treatments"] = [{"treatment": draw(st.sampled_from(["physical_therapy", "chiropractic", "acupuncture"])),
                                          "status": draw(st.sampled_from(["requested", "authorized_not_started", "ongoing"])),
                                          "body_regions": list(request.get("body_regions") or [])}]
    else:
        request["duplicates_authorized"] = draw(st.booleans())
    return case


def with_more_documentation(case: Mapping[str, Any]) -> dict[str, Any]:
    """The same case with every undocumented favourable fact now documented.

    Fills only facts that were absent: functional improvement and plateau on prior
    courses (and improvement the worker reported now measured), an agreed return-to-work
    goal, screening, compliance with gains, exam deficits, the musculoskeletal condition,
    the reported limits and the rationale for concurrent therapy.
    """
    out = {**case, "findings": dict(case.get("findings") or {})}
    out["prior_treatments"] = [
        {**p, "functional_improvement": True if p.get("functional_improvement") is None else p["functional_improvement"],
         "plateau": True if p.get("plateau") is None else p["plateau"],
         **({"improvement": "objective"} if p.get("improvement") == "reported" else {})}
        for p in case.get("prior_treatments") or ()
    ]
    findings = out["findings"]
    for key in ("return_to_work_goal_agreed", "screening_completed", "compliance_and_gains_documented",
                "objective_functional_deficits", "musculoskeletal_condition", "reported_functional_limitations",
                "concurrent_rationale_documented"):
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
    properties_reached: int = 0  # draws where "documenting more never lowers" could have failed
    certified_seeds: int = 0  # sample cases certified as they stand: the one-fact-at-a-time seeds
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
            f" ({self.properties_reached} where documenting more could have lowered the decision;"
            f" {self.certified_seeds} certified sample cases varied one fact at a time)"
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
    failing criterion with a citation, documenting more never lowers the decision). The
    generated cases are drawn from the whole case format (every field it allows, ``extra``
    and every unit included) and, half of them, from the plugin's sample cases that are
    certified as they stand with one fact changed, so the properties are tested where
    they can fail. An evaluator that raises on any valid case fails the kit.
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
    seeds: dict[str, list[dict[str, Any]]] = {}
    for path in [*plugin_sample_cases(kb, plugin), *case_files]:
        report.sample_cases += 1
        try:
            case = load_case(path) if not hasattr(path, "read_bytes") or isinstance(path, Path) else _load_resource_case(path)
            first = kb.evaluate(case)
            if first.decision is Decision.CERTIFIED:
                seeds.setdefault(case.request.treatment, []).append(_case_mapping(path))
            again = kb.evaluate(case)
        except Exception as exc:
            report.problems.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        if determination_json(first) != determination_json(again):
            report.problems.append(f"{path}: two evaluations differ (evaluators must be deterministic)")
        for result in first.criteria:  # a lazy reason that failed to render reads so (see Finding)
            if result.reason.startswith(f"plugin '{result.plugin}': the reason "):
                report.problems.append(f"{path}: {result.criterion}: {result.reason}")
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

        strategy = case_dicts(kb, kind)
        if seeds.get(kind):
            report.certified_seeds += len(seeds[kind])
            strategy = st.one_of(strategy, one_fact_varied(kb, kind, seeds[kind]))

        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(strategy)
        def properties(data: dict[str, Any]) -> None:
            snapshot = copy.deepcopy(data)
            det = kb.evaluate(data)
            if data != snapshot:
                failures.append("evaluation changed the case mapping it was given")
            if determination_json(kb.evaluate(parse_case(snapshot))) != determination_json(det):
                failures.append("two evaluations of one case differ")
            errors = [r for r in det.criteria if r.status is Status.ERROR]
            if errors:
                failures.append(f"error status: {errors[0].reason}")
            if det.decision in (Decision.NON_CERTIFIED, Decision.MODIFIED) and not any(
                r.status in (Status.NOT_MET, Status.NOT_DOCUMENTED) and r.citation for r in det.criteria
            ):
                failures.append(f"{det.decision.value} without a failing, cited criterion")
            documented = with_more_documentation(data)
            more = kb.evaluate(documented).decision
            if det.decision in rank and more in rank and rank[more] < rank[det.decision]:
                failures.append(f"documenting more lowered {det.decision.value} to {more.value}")
            if det.decision in rank and documented != data:
                report.properties_reached += 1
            report.properties_checked += 1
            if failures:
                raise AssertionError(failures[-1])

        try:
            properties()
        except Exception as exc:  # AssertionError, or a group of distinct failures
            found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
            report.problems.append(f"property failed for '{kind}' requests: {'; '.join(str(e) for e in found)}")
            continue
        # Random draws may miss a rare branch; the tour visits each value of each enumerated
        # field (every unit, purpose, phase ...) and an ``extra`` block once, deterministically.
        for data in format_tour(kb, kind, seeds.get(kind, ())):
            try:
                properties.hypothesis.inner_test(data)  # type: ignore[attr-defined]
            except AssertionError as exc:
                report.problems.append(f"property failed for '{kind}' requests on {_brief(data)}: {exc}")
                break
    return report


def _brief(data: Mapping[str, Any]) -> str:
    return str({k: v for k, v in data.items() if k in ("request", "extra")})[:200]


def format_tour(kb: KnowledgeBase, kind: str, seeds: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
    """A few cases per enumerated value of the case format, on a date the treatment's
    texts govern: every unit (with what resolves it), purpose, injury phase, kind of
    improvement and concurrent status, an ``extra`` block, add-ons and a postsurgical
    request. Built on the first certified seed when there is one."""
    treatment = kb.treatment_for(kind)
    assert treatment is not None
    starts = [kb.guidelines.versions[v].effective_from for v in kb.guidelines.treatments[treatment].governed_by]
    day = min((d for d in starts if d is not None), default=dt.date(2015, 3, 2)) + dt.timedelta(days=200)
    base: dict[str, Any] = copy.deepcopy(dict(seeds[0])) if seeds else {
        "dates": {"injury": _iso(day - dt.timedelta(days=120)), "request": _iso(day)},
        "request": {"treatment": kind, "quantity": 6, "body_regions": ["lumbar_spine"]},
    }
    request = base["request"]
    variants: list[dict[str, Any]] = []

    def with_(**changes: Any) -> None:
        case = copy.deepcopy(base)
        for path, value in changes.items():
            node = case
            *parents, leaf = path.split("__")
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = value
        variants.append(case)

    request_props = _CASE["properties"]["request"]["properties"]
    for unit in request_props["unit"]["enum"]:
        with_(request__unit=unit, request__frequency_per_week=2, request__hours_per_day=4)
        with_(request__unit=unit, request__frequency_per_week=None, request__duration_weeks=None)
    for purpose in request_props["purpose"]["enum"]:
        with_(request__purpose=purpose)
    for phase in _CASE["properties"]["findings"]["properties"]["injury_phase"]["enum"]:
        with_(findings__injury_phase=phase)
    for improvement in ("objective", "reported", "none", None):
        with_(prior_treatments=[{"treatment": kind, "count": 6, "status": "completed", "improvement": improvement, "count_at_least": True, "approved_count": 8,
                                 "improvement_measures": ["adl"], "start": base["dates"].get("injury", _iso(day)), "end": _iso(day)}])
    for status in ("requested", "authorized_not_started", "ongoing", None):
        with_(concurrent_treatments=[{"treatment": "physical_therapy", "status": status, "body_regions": list(request.get("body_regions") or []), "count": 6}])
    with_(extra={"unexpected": {"nested": [1, "two", None]}, "flag": True})
    with_(request__add_ons=[{"description": "an add-on", "kind": "medication"}], request__duplicates_authorized=True)
    with_(request__post_surgical={"surgery": "a surgery", "procedure": "a_procedure", "surgery_date": base["dates"].get("injury", _iso(day)), "surgery_certified": True})
    with_(dates__service=_iso(day), worker={"job_title": "a job", "physical_demand_level": "medium", "work_status": "modified_duty", "returned_to_work": False})
    return variants


def _case_mapping(path: Any) -> dict[str, Any]:
    """A sample case file as a plain mapping without its expectations (a strategy seed)."""
    from kb_core._yaml import parse_bytes, read_document
    from kb_core.errors import CaseError

    data = read_document(path, CaseError) if isinstance(path, (str, Path)) else parse_bytes(path.read_bytes(), str(path), CaseError)
    return {key: value for key, value in copy.deepcopy(dict(data)).items() if key != "expected"}


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
