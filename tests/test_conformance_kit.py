"""The conformance kit (kb_core.testing) generates every field the case format allows and
fails a plugin that raises on any valid case."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

import kb_core
from conftest import load_first_party
from kb_core import Finding, evaluator, hookimpl
from kb_core.testing import case_dicts, check_plugin, every_fact_path, fact_paths_of
from test_plugins import make_plugin, visits


def _kit(tmp_path: Path, *evaluators: Any, sample: str | None = None) -> kb_core.testing.ConformanceReport:
    hooks: dict[str, Any] = {}
    if sample is not None:
        case = tmp_path / "sample.yaml"
        case.write_text(sample)

        @hookimpl
        def mtus_sample_cases() -> list[Path]:
            return [case]

        hooks["mtus_sample_cases"] = mtus_sample_cases
    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, list(evaluators), **hooks))])
    return check_plugin("massage_demo", kb=kb, examples=40)


def test_case_dicts_generate_every_field_the_case_schema_allows() -> None:
    kb = load_first_party()
    seen: set[str] = set()

    @settings(max_examples=200, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case_dicts(kb, "physical_therapy"))
    def collect(case: dict[str, Any]) -> None:
        seen.update(fact_paths_of(case))

    collect()
    missing = sorted(set(every_fact_path()) - seen)
    assert not missing, missing
    assert {"extra", "request.unit", "concurrent_treatments[].status", "request.add_ons[].kind", "prior_treatments[].improvement", "findings.injury_phase", "dates.service"} <= seen


def test_a_correct_plugin_conforms(tmp_path: Path) -> None:
    report = _kit(tmp_path, visits)
    assert report.ok, report.problems
    assert report.properties_checked > 0


def test_the_kit_fails_a_plugin_that_raises_on_an_extra_fact(tmp_path: Path) -> None:
    @evaluator("massage_demo.visits")
    def breaks_on_extra(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        if case.extra:
            raise KeyError("extra facts were never expected")
        return visits.func(case, p)

    report = _kit(tmp_path, breaks_on_extra)
    assert not report.ok
    assert any("KeyError" in problem for problem in report.problems), report.problems


def test_the_kit_fails_a_plugin_that_raises_on_a_quantity_in_weeks(tmp_path: Path) -> None:
    @evaluator("massage_demo.visits")
    def breaks_on_weeks(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        if case.request.unit in ("days", "weeks"):
            raise ValueError(f"unit {case.request.unit}")
        return visits.func(case, p)

    report = _kit(tmp_path, breaks_on_weeks)
    assert any("ValueError" in problem for problem in report.problems), report.problems


def test_the_kit_varies_certified_sample_cases_one_fact_at_a_time(tmp_path: Path) -> None:
    sample = "dates: {request: '2015-03-02'}\nrequest: {treatment: home_exercise, quantity: 6}\nexpected: {decision: certified, approved_quantity: 6}\n"
    report = _kit(tmp_path, visits, sample=sample)
    assert report.ok, report.problems
    assert report.certified_seeds == 1
    assert report.properties_reached > report.properties_checked // 4


def test_the_kit_catches_a_plugin_where_documenting_more_lowers_the_decision(tmp_path: Path) -> None:
    @evaluator("massage_demo.visits")
    def punishes_documentation(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        if case.findings.objective_functional_deficits:
            return Finding.not_met("documented deficits count against the request")
        return visits.func(case, p)

    sample = "dates: {request: '2015-03-02'}\nrequest: {treatment: home_exercise, quantity: 6}\nexpected: {decision: certified, approved_quantity: 6}\n"
    report = _kit(tmp_path, punishes_documentation, sample=sample)
    assert any("documenting more lowered" in problem for problem in report.problems), report.problems
