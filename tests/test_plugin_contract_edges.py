"""The plugin contract at its exact edges: how deep a finding's facts may nest, which facts
are plain data, what a combine hook may approve, and a combine hook with no time budget.

Each edge is checked through ``kb.evaluate`` (the fast acceptance and the full contract
check both run there) with a third-party plugin returning the finding or outcome, and the
fast path's verdict is compared with the full check's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

import kb_core
from conftest import load_first_party
from kb_core import Finding, _kb
from test_plugins import CASE, make_plugin, visits

# Containers a fact may be built of, each wrapping one value.


@dataclass(frozen=True)
class Box:
    inner: Any


WRAPS: dict[str, Callable[[Any], Any]] = {
    "dict": lambda v: {"k": v},
    "list": lambda v: [v],
    "tuple": lambda v: (v,),
    "read-only mapping": lambda v: MappingProxyType({"k": v}),
    "dataclass": Box,
}
# A finding's facts are a mapping (depth 0) whose values sit at depth 1; a container at
# depth _MAX_FACT_DEPTH is refused, so this many containers may nest in one value.
DEEPEST = _kb._MAX_FACT_DEPTH - 1


def nested(kind: str, levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = WRAPS[kind](value)
    return value


def _status_of(tmp_path: Path, finding: Finding, runs: int = 1) -> kb_core.Status:
    @kb_core.evaluator("massage_demo.visits")
    def returns(case: kb_core.Case, p: Mapping[str, Any]) -> Finding:
        return finding

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [returns]))])
    statuses = {kb.evaluate(CASE).criteria[0].status for _ in range(runs)}
    assert len(statuses) == 1  # the same verdict when the record's fields are known from before
    return statuses.pop()


def _full_check_accepts(finding: Finding) -> bool:
    try:
        _kb._check_finding(finding)
    except (TypeError, ValueError):
        return False
    return True


@pytest.mark.parametrize("kind", sorted(WRAPS))
def test_facts_nest_to_the_limit_and_no_deeper(tmp_path: Path, kind: str) -> None:
    at_limit = Finding.met("fine", deep=nested(kind, DEEPEST))
    beyond = Finding.met("fine", deep=nested(kind, DEEPEST + 1))
    assert _full_check_accepts(at_limit) and not _full_check_accepts(beyond)
    assert _status_of(tmp_path / "at", at_limit, runs=2) is kb_core.Status.MET
    result_beyond = _status_of(tmp_path / "beyond", beyond, runs=2)
    assert result_beyond is kb_core.Status.ERROR


@pytest.mark.parametrize(
    ("facts", "accepted"),
    [
        ({"a": [object()]}, False),  # a list is accepted whole only when it holds the case's own records
        ({"a": (float("nan"),)}, False),
        ({"a": [1, "two", None, 2.5]}, True),
        ({"a": object()}, False),
        ({"a": float("inf")}, False),
        ({"a": MappingProxyType({"b": 1})}, True),
        ({"a": MappingProxyType({1: "b"})}, False),  # keys are text at every level
        ({"a": {"b": {"c": [1, 2]}}}, True),
        ({"a": {2: "b"}}, False),
    ],
    ids=repr,
)
def test_plain_data_facts_are_accepted_and_nothing_else(tmp_path: Path, facts: dict[str, Any], accepted: bool) -> None:
    finding = Finding.met("fine", **facts)
    assert _full_check_accepts(finding) is accepted
    status = _status_of(tmp_path, finding)
    assert (status is not kb_core.Status.ERROR) is accepted


def _decided_by_combine(tmp_path: Path, outcome: Any) -> kb_core.Determination:
    def mtus_combine(treatment: str, results: Any, case: Any) -> Any:
        return outcome if treatment == "massage_demo" else None

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [visits], mtus_combine=kb_core.hookimpl(mtus_combine)))])
    return kb.evaluate(CASE)


@pytest.mark.parametrize("approved", [0, 8])  # CASE requests 8
def test_a_combine_hook_may_approve_from_nothing_to_all_requested(tmp_path: Path, approved: int) -> None:
    decision = kb_core.Decision.NON_CERTIFIED if approved == 0 else kb_core.Decision.CERTIFIED
    det = _decided_by_combine(tmp_path, (decision, approved, "the payer's own rule"))
    assert (det.decision, det.approved_quantity, det.summary) == (decision, approved, "the payer's own rule")


@pytest.mark.parametrize("approved", [-1, 9, 2.0, True])
def test_a_combine_hook_approving_outside_the_request_is_its_error(tmp_path: Path, approved: Any) -> None:
    det = _decided_by_combine(tmp_path, (kb_core.Decision.MODIFIED, approved, "the payer's own rule"))
    assert det.decision is kb_core.Decision.ERROR and "plugin 'massage_demo'" in det.summary and "approved quantity" in det.summary


def test_without_a_time_budget_a_deferring_combine_hook_leaves_the_default_rule_to_decide(tmp_path: Path) -> None:
    def mtus_combine(treatment: str) -> Any:
        return None  # defers for every treatment, its own too

    kb = load_first_party(plugins=[("massage_demo", make_plugin(tmp_path, [visits], mtus_combine=kb_core.hookimpl(mtus_combine)))])
    kb.time_limit = None
    det = kb.evaluate(CASE)
    assert (det.decision, det.approved_quantity) == (kb_core.Decision.MODIFIED, 6)  # the default rule: 6 of the 8
    kb.time_limit = 2.0
    assert kb.evaluate(CASE) == det
