"""kb_core's own behaviour, written as plugin hooks like any other plugin's.

It contributes the shared guideline data (sources, versions, definitions, treatment
kinds) and the default rule that folds criterion results into a decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib.resources import files
from typing import Any

from kb_core._case import Case
from kb_core._model import CriterionResult, Decision, Status
from kb_core.hookspecs import hookimpl

_FAILING = frozenset({Status.NOT_MET, Status.NOT_DOCUMENTED})
_ERROR = Status.ERROR
_NOT_MET = Status.NOT_MET
_BLOCKING_ROLES = frozenset({"admission", "scope"})  # an undocumented scope blocks like an admission criterion


@hookimpl
def mtus_guideline_files() -> Iterable[Any]:
    return [files("kb_guidelines") / "common.yaml"]


def _names(results: Iterable[CriterionResult]) -> str:
    return ", ".join(f"{r.criterion} ({r.status.value.replace('_', ' ')})" for r in results)


@hookimpl(trylast=True)
def mtus_combine(
    treatment: str, results: Sequence[CriterionResult], case: Case
) -> tuple[Decision, int | None, str]:
    """Scope first; then admission criteria all or nothing; quantity criteria may modify.

    A scope criterion not met means the encoded text does not cover the request
    (``no_criteria``), which is not a clinical denial; a scope that is not documented
    blocks certification like an admission criterion.

    The requester carries the burden: an admission criterion that is not documented
    blocks certification just as one that is not met.
    """
    requested = case.request.implied_quantity
    # A not_documented result whose burden is note_only/presumed is shown but never decides.
    results = [r for r in results if r.decides]
    outside = [r for r in results if r.role == "scope" and r.status is _NOT_MET]
    if outside:
        return Decision.NO_CRITERIA, None, f"No determination: the encoded guideline does not cover this request ({'; '.join(r.reason for r in outside)})."
    blocking = [r for r in results if r.role in _BLOCKING_ROLES and r.status in _FAILING]
    errors = [r for r in results if r.status is _ERROR]
    over = [r for r in results if r.role == "quantity" and r.status in _FAILING]
    # A summary names every criterion that decides (Determination.deciding_criteria), quantity ones too.
    also_over = f" Also on quantity: {_names(over)}." if over else ""
    if blocking:
        summary = f"Not certified: {_names(blocking)}.{also_over}"
        if errors:
            summary += f" Not evaluated because a plugin failed: {_names(errors)}."
        return Decision.NON_CERTIFIED, 0, summary
    if errors:
        return Decision.ERROR, None, f"No decision: a plugin failed on {_names(errors)}.{also_over}"
    if not over:
        return Decision.CERTIFIED, requested, "Certified: every applicable criterion is met."
    approvable = [r.approvable for r in over]
    if all(a is not None and a > 0 for a in approvable) and requested is not None:
        approved = min(a for a in approvable if a is not None)
        if approved < requested:
            return (
                Decision.MODIFIED,
                approved,
                f"Modified: {approved} of {requested} certified; the rest exceeds {_names(over)}.",
            )
    return Decision.NON_CERTIFIED, 0, f"Not certified: {_names(over)}."
