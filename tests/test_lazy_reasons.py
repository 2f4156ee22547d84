"""Lazy reasons: an evaluator may give its reason as a function, rendered when first read.

The truth is the eager path: the same evaluators with every reason function called at the
moment the Finding is made (what the f-string did before it became a lambda). Rendering
later must give the same words everywhere: attribute, JSON, text, repr, pickling. A lambda
that read a variable changed after the Finding was made (late binding) would differ here.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import kb_core
from conftest import load_first_party, sample_case_files
from kb_core import Finding, Status, evaluator
from test_plugins import CASE, make_plugin

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sample_case_files()


def _eager(reason: Any) -> Any:
    return reason() if callable(reason) else reason


def _outputs(kb: kb_core.KnowledgeBase) -> list[tuple[str, str, list[str], str]]:
    out = []
    for path in CASE_FILES:
        det = kb.evaluate(kb_core.load_case(path))
        out.append((kb_core.determination_json(det), kb_core.determination_text(det), [r.reason for r in det.criteria], repr(det)))
    return out


@pytest.fixture(scope="module")
def lazy_count() -> int:
    """How many results of the sample cases hold a reason not yet rendered."""
    kb = load_first_party()
    raw = [tuple.__getitem__(r, 3) for path in CASE_FILES for r in kb.evaluate(kb_core.load_case(path)).criteria]
    return sum(1 for reason in raw if type(reason) is not str)


def test_lazy_reasons_are_in_use(lazy_count: int) -> None:
    assert lazy_count > 200  # the first-party plugins really defer their formatting


def test_every_output_of_every_sample_case_equals_the_eager_path(monkeypatch: pytest.MonkeyPatch, kb: kb_core.KnowledgeBase) -> None:
    lazy = _outputs(kb)
    # The eager path: each reason function is called where the Finding is made.
    for name in ("met", "not_documented", "not_applicable"):
        original = getattr(Finding, name).__func__
        monkeypatch.setattr(Finding, name, classmethod(lambda cls, reason, _f=original, **facts: _f(cls, _eager(reason), **facts)))
    not_met = Finding.not_met.__func__
    monkeypatch.setattr(Finding, "not_met", classmethod(lambda cls, reason, _f=not_met, **kw: _f(cls, _eager(reason), **kw)))
    from_fact = Finding.from_fact.__func__
    monkeypatch.setattr(
        Finding, "from_fact",
        classmethod(lambda cls, value, *, met, not_met, not_documented, _f=from_fact: _f(cls, value, met=_eager(met), not_met=_eager(not_met), not_documented=_eager(not_documented))),
    )
    eager_kb = load_first_party()
    raw = [tuple.__getitem__(r, 3) for path in CASE_FILES for r in eager_kb.evaluate(kb_core.load_case(path)).criteria]
    assert all(type(reason) is str for reason in raw)  # the patch reached every evaluator
    eager = _outputs(eager_kb)
    for path, got, expected in zip(CASE_FILES, lazy, eager):
        assert got == expected, path


def test_a_result_reads_the_same_however_it_is_taken_apart(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate(kb_core.load_case(ROOT / "examples" / "seed-work-conditioning.yaml"))
    again = kb.evaluate(kb_core.load_case(ROOT / "examples" / "seed-work-conditioning.yaml"))
    assert any(type(tuple.__getitem__(r, 3)) is not str for r in det.criteria)
    for first, second in zip(det.criteria, again.criteria):
        reason = first.reason
        assert type(reason) is str and reason
        assert first == second and first[3] == reason and list(first)[3] == reason
        assert first._asdict()["reason"] == reason and f"reason={reason!r}" in repr(first)
        assert first._replace(title="x").reason == reason and reason in first
        for clone in (pickle.loads(pickle.dumps(first)), copy.deepcopy(first), copy.copy(first)):
            assert clone == first and clone.reason == reason and type(tuple.__getitem__(clone, 3)) is str
    assert pickle.loads(pickle.dumps(det)) == det == again


def _kb_with(tmp_path: Path, func: Any) -> kb_core.KnowledgeBase:
    return load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [evaluator("massage_demo.visits")(func)]))])


def test_a_third_party_lazy_reason_is_rendered_once(tmp_path: Path) -> None:
    calls = []

    def visits(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        def reason() -> str:
            calls.append(1)
            return f"{case.request.quantity} visits, above {p['max_visits']}"

        return Finding.not_met(reason, approvable=p["max_visits"])

    det = _kb_with(tmp_path, visits).evaluate(CASE)
    assert det.decision is kb_core.Decision.MODIFIED and not calls  # the decision did not need the text
    assert det.criteria[0].reason == "8 visits, above 6" and det.criteria[0].reason == "8 visits, above 6"
    assert len(calls) == 1
    assert '"reason": "8 visits, above 6"' in kb_core.determination_json(det)


@pytest.mark.parametrize(
    ("reason", "shown"),
    [(lambda: 1 / 0, "could not be rendered: ZeroDivisionError"), (lambda: "", "returned str ''"), (lambda: None, "returned NoneType")],
)
def test_a_broken_lazy_reason_is_named_not_raised(tmp_path: Path, reason: Any, shown: str) -> None:
    det = _kb_with(tmp_path, lambda case, p: Finding.not_met(reason)).evaluate(CASE)
    text = det.criteria[0].reason
    assert text.startswith("plugin 'massage_demo': ") and shown in text
    assert shown in " ".join(kb_core.determination_text(det).split())  # the worksheet wraps lines


@pytest.mark.parametrize("reason", [b"bytes", 3, None, ""])
def test_a_reason_that_is_neither_text_nor_a_function_is_the_plugins_error(tmp_path: Path, reason: Any) -> None:
    det = _kb_with(tmp_path, lambda case, p: Finding.met(reason)).evaluate(CASE)
    assert det.criteria[0].status is Status.ERROR and "give the reason as non-empty text" in det.criteria[0].reason


def test_the_conformance_kit_lists_a_reason_that_fails_to_render(tmp_path: Path) -> None:
    from kb_core.testing import check_plugin

    case = tmp_path / "eight-visits.yaml"
    case.write_text("dates: {request: '2015-03-02'}\nrequest: {treatment: home_exercise, quantity: 8}\nexpected: {decision: modified, approved_quantity: 6}\n")

    def visits(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        return Finding.not_met(lambda: f"{case.request.quantity / 0}", approvable=p["max_visits"])

    kb = _kb_with(tmp_path, visits)
    report = check_plugin("massage_demo", kb=kb, case_files=[case], examples=5)
    assert any("massage_demo.visits: plugin 'massage_demo': the reason could not be rendered: ZeroDivisionError" in p for p in report.problems)
