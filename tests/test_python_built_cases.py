"""A case made or changed in Python (``Case(...)``, ``dataclasses.replace``) is checked as a
case file is before it is evaluated: a tool importing evaluators cannot pass NaN, an
infinity, a negative count or a string where a file could not (issue 9, R1, by the API)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kb_core
from kb_core._case import case_document, parse_case

ROOT = Path(__file__).resolve().parent.parent
CERTIFIED = ROOT / "tests" / "cases" / "acupuncture" / "continuation-over-exactly-two-months-is-certified.yaml"
CASE_FILES = [*sorted((ROOT / "tests" / "cases").rglob("*.yaml")), *sorted((ROOT / "examples").glob("*.yaml"))]


def with_request(case: kb_core.Case, **changes: object) -> kb_core.Case:
    return dataclasses.replace(case, request=dataclasses.replace(case.request, **changes))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, -3.0, True, "2"])
def test_a_bad_value_set_in_python_is_a_case_error_not_a_certification(kb: kb_core.KnowledgeBase, value: object) -> None:
    case = kb_core.load_case(CERTIFIED)
    assert kb.evaluate(case).decision is kb_core.Decision.CERTIFIED
    with pytest.raises(kb_core.CaseError) as info:
        kb.evaluate(with_request(case, frequency_per_week=value))
    message = str(info.value)
    assert "built in Python from" in message and "request.frequency_per_week" in message, message


def test_a_bad_prior_count_set_in_python_is_refused(kb: kb_core.KnowledgeBase) -> None:
    case = kb_core.load_case(ROOT / "tests" / "cases" / "imr" / "CM17-0015849.yaml")
    prior = dataclasses.replace(case.prior_treatments[0], count=-6)
    with pytest.raises(kb_core.CaseError, match=r"prior_treatments\.0\.count|prior_treatments\[0\]\.count"):
        kb.evaluate(dataclasses.replace(case, prior_treatments=(prior, *case.prior_treatments[1:])))


def test_a_good_change_in_python_is_evaluated_like_the_same_case_from_a_file(kb: kb_core.KnowledgeBase) -> None:
    case = kb_core.load_case(CERTIFIED)
    changed = with_request(case, frequency_per_week=2)
    from_document = parse_case(case_document(changed))
    assert kb_core.determination_json(kb.evaluate(changed)) == kb_core.determination_json(kb.evaluate(from_document))


def test_a_case_built_directly_is_checked_and_evaluated(kb: kb_core.KnowledgeBase) -> None:
    case = kb_core.load_case(CERTIFIED)
    built = kb_core.Case(dates=case.dates, request=case.request, prior_treatments=case.prior_treatments, findings=case.findings, diagnoses=case.diagnoses)
    assert kb.evaluate(built).decision is kb.evaluate(case).decision


@pytest.mark.parametrize("path", CASE_FILES, ids=[str(p.relative_to(ROOT)) for p in CASE_FILES])
def test_every_sample_case_reads_back_from_its_document(path: Path) -> None:
    try:
        case = kb_core.load_case(path)
    except kb_core.CaseError:
        return  # an invalid sample file: nothing to read back
    assert parse_case(case_document(case), case.path) == case


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-50, max_value=200), st.booleans(), st.none())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["quantity", "frequency_per_week", "duration_weeks", "ur_authorized_quantity"]), value=NUMBERS)
def test_any_number_set_in_python_is_refused_or_judged_as_from_a_file(kb: kb_core.KnowledgeBase, field: str, value: object) -> None:
    case = with_request(kb_core.load_case(CERTIFIED), **{field: value})
    try:
        from_file = parse_case(case_document(case))
    except kb_core.CaseError:
        with pytest.raises(kb_core.CaseError):
            kb.evaluate(case)
        return
    assert kb_core.determination_json(kb.evaluate(case)) == kb_core.determination_json(kb.evaluate(from_file))


def test_the_batch_path_checks_a_case_changed_in_python_too(kb: kb_core.KnowledgeBase) -> None:
    case = kb_core.load_case(CERTIFIED)
    with pytest.raises(kb_core.CaseError, match="built in Python"):
        kb.decide_many([with_request(case, frequency_per_week=math.nan)])
    assert kb.decide(with_request(case, frequency_per_week=2)).decision is kb.evaluate(case).decision


def test_a_case_shows_no_private_field_even_after_evaluation(kb: kb_core.KnowledgeBase) -> None:
    case = kb_core.load_case(ROOT / "examples" / "seed-work-conditioning.yaml")
    kb.evaluate(case)  # fills the case's memo of prior treatments by kind
    shown = repr(case)
    assert "_prior_memo" not in shown and "_checked" not in shown
    assert shown.startswith("Case(dates=Dates(") and "case_id=" in shown
