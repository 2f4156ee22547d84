"""The CI speed check (``bench_evaluate.py --short``) can fail: beyond 3x a recorded budget,
or when the plain-Python reference stops computing what the engine does. No timing here:
the figures are given to ``main``, which only judges them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import module_from_file

ROOT = Path(__file__).resolve().parent.parent
bench = module_from_file(ROOT / "benchmarks" / "bench_evaluate.py")
BUDGETS = json.loads((ROOT / "benchmarks" / "budgets.json").read_text("utf-8"))["budgets"]


def _run(monkeypatch: pytest.MonkeyPatch, ratio_of_budget: float, agrees: bool = True) -> int:
    label = "kb.evaluate(case), full trace"
    ratio = BUDGETS[bench.KEYS[label]] * ratio_of_budget

    def measure(short: bool, start_only: bool = False, wheel: bool = False) -> tuple[list[Any], dict[str, Any]]:
        rows = [("plain-Python reference (decision, deciding)", 5.0, 1.0, "µs"), (label, 5.0 * ratio, ratio, "µs")]
        return rows, {"cases": 36, "reference_agrees": 36 if agrees else 35, "python": "3"}

    monkeypatch.setattr(bench, "measure", measure)
    return int(bench.main(["--short"]))


def test_within_three_times_the_budget_passes(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(monkeypatch, 2.9) == 0
    assert "GROSS" not in capsys.readouterr().out


def test_beyond_three_times_the_budget_fails_and_names_the_figure(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(monkeypatch, 3.1) == 1
    out = capsys.readouterr()
    assert "GROSS REGRESSION" in out.out and "kb.evaluate(case), full trace" in out.err


def test_a_reference_that_disagrees_with_the_engine_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(monkeypatch, 1.0, agrees=False) == 1
    assert "no longer computes what the engine does" in capsys.readouterr().err


def test_every_budget_names_a_figure_of_the_table() -> None:
    assert set(BUDGETS) <= set(bench.KEYS.values())
