"""kb_core's own behaviour, written as plugin hooks like any other plugin's.

It contributes the shared guideline data (sources, versions, definitions, treatment
kinds) and the default rule that folds criterion results into a decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from kb_core._case import Case
from kb_core._model import CriterionResult, Decision, Status
from kb_core._resources import files
from kb_core.hookspecs import hookimpl

_FAILING = frozenset({Status.NOT_MET, Status.NOT_DOCUMENTED})
_ERROR = Status.ERROR
_NOT_MET = Status.NOT_MET
_BLOCKING_ROLES = frozenset({"admission", "scope"})  # an undocumented scope blocks like an admission criterion


@hookimpl
def mtus_guideline_files() -> Iterable[Any]:
    return [files("kb_guidelines") / "common.yaml"]


_STATUS_WORDS = {status: status.value.replace("_", " ") for status in Status}  # an enum's .value is a slow property


def _names(results: Iterable[CriterionResult]) -> str:
    return ", ".join([f"{r.criterion} ({_STATUS_WORDS[r.status]})" for r in results])


def default_decision(results: Iterable[Any], requested: int | None) -> tuple[Decision, int | None, tuple[list[Any], list[Any], list[Any], list[Any]]]:
    """The default rule's decision and approved quantity, and the results its summary names:
    (outside the scope, blocking, errors, over on quantity). ``results`` need only
    ``decides``, ``status``, ``role`` and ``approvable``: :meth:`KnowledgeBase.decide_many`
    applies this same rule to its lean rows, so the two cannot disagree."""
    outside: list[Any] = []
    blocking: list[Any] = []
    errors: list[Any] = []
    over: list[Any] = []
    for r in results:
        if not r.decides:  # a not_documented result whose burden is note_only/presumed never decides
            continue
        status = r.status
        if status is _ERROR:
            errors.append(r)
        elif status in _FAILING:
            role = r.role
            if role == "scope" and status is _NOT_MET:
                outside.append(r)
            if role in _BLOCKING_ROLES:
                blocking.append(r)
            elif role == "quantity":
                over.append(r)
    groups = (outside, blocking, errors, over)
    if outside:
        return Decision.NO_CRITERIA, None, groups
    if blocking:
        return Decision.NON_CERTIFIED, 0, groups
    if errors:
        return Decision.ERROR, None, groups
    if not over:
        return Decision.CERTIFIED, requested, groups
    approvable = [r.approvable for r in over]
    if all(a is not None and a > 0 for a in approvable) and requested is not None:
        approved = min(a for a in approvable if a is not None)
        if approved < requested:
            return Decision.MODIFIED, approved, groups
    return Decision.NON_CERTIFIED, 0, groups


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
    return default_outcome(results, case.request.implied_quantity)


def default_outcome(results: Iterable[Any], requested: int | None) -> tuple[Decision, int | None, str]:
    """:func:`mtus_combine`'s decision, approved quantity and summary. As for
    :func:`default_decision`, only results that may decide matter: :meth:`KnowledgeBase.evaluate`
    passes just those (errors, and failing results that decide) to skip the rest."""
    decision, approved, (outside, blocking, errors, over) = default_decision(results, requested)
    if outside:
        return decision, approved, f"No determination: the encoded guideline does not cover this request ({'; '.join(r.reason for r in outside)})."
    # A summary names every criterion that decides (Determination.deciding_criteria), quantity ones too.
    also_over = f" Also on quantity: {_names(over)}." if over else ""
    if blocking:
        summary = f"Not certified: {_names(blocking)}.{also_over}"
        if errors:
            summary += f" Not evaluated because a plugin failed: {_names(errors)}."
        return decision, approved, summary
    if errors:
        return decision, approved, f"No decision: a plugin failed on {_names(errors)}.{also_over}"
    if not over:
        return decision, approved, "Certified: every applicable criterion is met."
    if decision is Decision.MODIFIED:
        return decision, approved, f"Modified: {approved} of {requested} certified; the rest exceeds {_names(over)}."
    return decision, approved, f"Not certified: {_names(over)}."
