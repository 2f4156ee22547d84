"""Immutable value types: the guideline model, evaluator findings and determinations. No I/O."""

from __future__ import annotations

import datetime as dt
import enum
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Any, NamedTuple

from kb_core._records import record

if TYPE_CHECKING:
    from kb_core._case import Case


# ---------------------------------------------------------------- guideline model


@record
class Verification:
    """How far an item has been checked: V, D, K or U (see the guideline schema)."""

    status: str
    note: str | None = None
    verified_by: str | None = None  # for V/D: the reference item or decision quote behind it

    @property
    def verified(self) -> bool:
        return self.status in ("V", "D")


@record
class SourceVersion:
    """One version of a source (e.g. the MTUS of 2009), the dates it is in force and its tier."""

    id: str
    source: str
    label: str
    tier: str
    effective_from: dt.date | None
    effective_until: dt.date | None
    pages_from: str | None
    verification: Verification | None
    file: str
    line: int | None

    def in_force(self, on: dt.date) -> bool:
        return (self.effective_from is None or self.effective_from <= on) and (
            self.effective_until is None or on <= self.effective_until
        )


@record
class Source:
    """A guideline source (e.g. the MTUS) and the ids of its versions."""

    id: str
    title: str
    tier: str
    reference: str | None
    versions: tuple[str, ...]


@record
class Citation:
    """Where a statement comes from: source, section, pages, item."""

    source: str
    section: str
    pages: str | None = None
    item: str | None = None
    sections_by_version: tuple[tuple[str, str], ...] = ()  # a later text's name for the section

    def section_for(self, version: str | None) -> str:
        return dict(self.sections_by_version).get(version or "", self.section)


@record
class Definition:
    """A term the guidelines define (e.g. functional improvement), with its citation."""

    id: str
    term: str
    statement: str
    citation: Citation
    citations_by_date: tuple[tuple[dt.date, Citation], ...]
    uses: tuple[str, ...]
    verification: Verification
    file: str
    line: int | None

    def citation_on(self, on: dt.date) -> Citation:
        chosen = self.citation
        for start, citation in self.citations_by_date:
            if start <= on:
                chosen = citation
        return chosen


@record
class ProgramGroup:
    """Treatment kinds the guidelines treat as one program (e.g. for a prior trial)."""

    id: str
    title: str
    members: tuple[str, ...]
    citation: Citation
    verification: Verification
    file: str
    line: int | None


@record
class Parameter:
    """A number, list or table a criterion uses, with its unit, citation and per-version values."""

    id: str  # "<treatment>.<name>"
    name: str
    value: Any
    by_version: Mapping[str, Any]
    unit: str
    citation: Citation
    verification: Verification
    description: str | None
    file: str
    line: int | None

    def value_for(self, version: str) -> Any:
        return self.by_version.get(version, self.value)


BURDEN_EFFECTS = ("fails", "note_only", "presumed")
PURPOSES = ("initial", "continuation", "flare_up", "maintenance")


@record
class Burden:
    """What a ``not_documented`` result of a criterion does, per request purpose.

    ``fails`` decides against the request (the requester carries the burden);
    ``note_only`` and ``presumed`` are shown in the trace and in "to pass" but do not decide.
    """

    default: str = "fails"
    by_purpose: Mapping[str, str] = field(default_factory=dict)
    basis: str | None = None

    def effect(self, purpose: str | None) -> str:
        """The effect for a request of ``purpose`` (None: the purpose is not stated)."""
        return self.by_purpose.get(purpose, self.default) if purpose is not None else self.default


@record
class Criterion:
    """One criterion of a treatment as the guideline YAML declares it (the evaluator judges it)."""

    id: str  # "<treatment>.<key>", stable once released
    treatment: str
    title: str
    statement: str
    citation: Citation
    applies_to: tuple[str, ...]
    role: str
    body_regions: tuple[str, ...]
    facts: tuple[str, ...]
    parameters: tuple[str, ...]  # full parameter ids
    definitions: tuple[str, ...]
    depends_on: tuple[str, ...]  # full criterion ids
    documentation_needed: str
    verification: Verification
    file: str
    line: int | None
    when_undocumented: Burden = field(default_factory=Burden)


@record
class Treatment:
    """A treatment: the kinds of request it answers, the versions governing it, its criteria."""

    id: str
    title: str
    requested_as: tuple[str, ...]
    governed_by: tuple[str, ...]
    requires_prior_trial_of: tuple[str, ...]
    criteria: tuple[str, ...]  # full ids, in file order
    parameters: tuple[str, ...]
    file: str
    line: int | None


# ---------------------------------------------------------------- evaluation


class Status(str, enum.Enum):
    """The state of one criterion for one case."""

    MET = "met"
    NOT_MET = "not_met"
    NOT_DOCUMENTED = "not_documented"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"

    def __str__(self) -> str:  # the JSON value, as for Decision
        return self.value


# Bound once: enum member lookups are slow on the hot path.
_MET, _NOT_MET, _NOT_DOCUMENTED, _NOT_APPLICABLE = Status.MET, Status.NOT_MET, Status.NOT_DOCUMENTED, Status.NOT_APPLICABLE


class Decision(str, enum.Enum):
    """What a utilization reviewer applying the encoded criteria would decide."""

    CERTIFIED = "certified"
    MODIFIED = "modified"
    NON_CERTIFIED = "non_certified"
    NO_CRITERIA = "no_criteria"  # no criteria encoded for the guideline version the date selects
    # The governing text for the date is a licensed guideline (ACOEM, from 2017-12-01) whose
    # content is not encoded: the determination names the documents and versions in force.
    CRITERIA_UNAVAILABLE = "criteria_unavailable"
    # The MTUS does not address the treatment at all: the reviewer follows the Medical
    # Evidence Search Sequence (8 CCR §9792.21.1) outside the MTUS.
    NOT_ADDRESSED = "not_addressed"
    ERROR = "error"  # a plugin failed; see the criterion results marked error

    def __str__(self) -> str:  # print(det.decision) shows "non_certified", the JSON value
        return self.value


# A reason given lazily: a function of no arguments returning the text, called when the
# reason is first read (most callers read only decisions). See CriterionResult.reason.
LazyReason = Callable[[], str]
_new_tuple = tuple.__new__  # Finding(...) and the classmethods below skip a Python-level __new__


class Finding(NamedTuple):
    """What an evaluator returns: the status of its criterion and why.

    Build one with :meth:`met`, :meth:`not_met`, :meth:`not_documented` or
    :meth:`not_applicable`. ``approvable`` (with ``not_met``) is the quantity that would
    satisfy the criterion, which lets the request be modified instead of denied.
    ``facts`` may override the values the engine records for the criterion's facts.
    ``reason`` is text, or a function of no arguments returning the text (e.g.
    ``lambda: f"{hours:g} hours requested"``): it is then called only when the reason is
    first read, so formatting is not paid for by callers that read only the decision.
    (A NamedTuple, not a dataclass: findings are made on the hot path.)
    """

    status: Status
    reason: str | LazyReason
    approvable: int | None = None
    facts: Mapping[str, Any] | None = None

    @classmethod
    def met(cls, reason: str | LazyReason, **facts: Any) -> Finding:
        return _new_tuple(cls, (_MET, reason, None, facts or None))

    @classmethod
    def not_met(cls, reason: str | LazyReason, *, approvable: int | None = None, **facts: Any) -> Finding:
        return _new_tuple(cls, (_NOT_MET, reason, approvable, facts or None))

    @classmethod
    def not_documented(cls, reason: str | LazyReason, **facts: Any) -> Finding:
        return _new_tuple(cls, (_NOT_DOCUMENTED, reason, None, facts or None))

    @classmethod
    def from_fact(cls, value: bool | None, *, met: str | LazyReason, not_met: str | LazyReason, not_documented: str | LazyReason) -> Finding:
        """The usual three-way judgment of one documented yes/no fact: True met, False not
        met, None (not documented) not documented."""
        if value is None:
            return _new_tuple(cls, (_NOT_DOCUMENTED, not_documented, None, None))
        return _new_tuple(cls, (_MET, met, None, None)) if value else _new_tuple(cls, (_NOT_MET, not_met, None, None))

    @classmethod
    def not_applicable(cls, reason: str | LazyReason, **facts: Any) -> Finding:
        return _new_tuple(cls, (_NOT_APPLICABLE, reason, None, facts or None))


EvaluatorFunc = Callable[["Case", Mapping[str, Any]], Finding]


@record
class Evaluator:
    """A function judging one criterion, bound to its id by :func:`evaluator`."""

    criterion_id: str
    func: EvaluatorFunc

    def __call__(self, case: Case, params: Mapping[str, Any]) -> Finding:
        return self.func(case, params)


def evaluator(criterion_id: str) -> Callable[[EvaluatorFunc], Evaluator]:
    """Decorate ``func(case, params) -> Finding`` as the evaluator of ``criterion_id``.

    ``params`` maps each parameter the criterion lists in YAML (by its short name) to the
    value in force for the chosen guideline version.
    """

    def wrap(func: EvaluatorFunc) -> Evaluator:
        return Evaluator(criterion_id, func)

    return wrap


class _ResultFields(NamedTuple):
    criterion: str
    title: str
    status: Status
    reason: str  # stored as given: text, or a LazyReason (CriterionResult.reason renders it)
    citation: str
    tier: str
    role: str
    parameters: Mapping[str, Any]
    facts: Mapping[str, Any]
    verification: str
    documentation_needed: str | None = None
    approvable: int | None = None
    plugin: str | None = None
    # False for a not_documented result whose criterion's burden is note_only or presumed
    # for this request's purpose: shown, with what would make it pass, but not deciding.
    decides: bool = True


_REASON = 3  # the position of ``reason`` in a result
_tuple_item = tuple.__getitem__
_tuple_iter = tuple.__iter__


class CriterionResult(_ResultFields):
    """One criterion judged for one case, with everything needed to audit it.

    (A NamedTuple: immutable and cheap to build on the hot path.) A reason an evaluator gave
    lazily (a function, see :class:`Finding`) is rendered when ``reason`` is first read and
    kept; iterating, indexing, comparing, ``repr``, ``_asdict``, ``_replace``, copying and
    pickling all see the rendered text, so a result reads the same however it was made.
    """

    # No __slots__: the instance dict, made only when a lazy reason is first rendered, keeps it.

    @property
    def reason(self) -> str:  # type: ignore[override]
        raw = _tuple_item(self, _REASON)
        if type(raw) is str:
            return raw
        cached = self.__dict__.get("_reason")
        if cached is None:
            cached = self.__dict__["_reason"] = _render_reason(raw, self.plugin)
        return cached  # type: ignore[no-any-return]

    def _rendered(self) -> tuple[Any, ...]:
        items = list(_tuple_iter(self))
        items[_REASON] = self.reason
        return tuple(items)

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        return iter(self._rendered())

    def __getitem__(self, index: Any) -> Any:  # type: ignore[override]
        return self._rendered()[index]

    def __contains__(self, value: object) -> bool:
        return value in self._rendered()

    def __eq__(self, other: object) -> bool:
        return self._rendered() == (other._rendered() if isinstance(other, CriterionResult) else other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self._rendered())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self._rendered()))
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._rendered())

    def __getnewargs__(self) -> tuple[Any, ...]:  # type: ignore[override]
        return self._rendered()

    def count(self, value: Any) -> int:  # type: ignore[override]
        return self._rendered().count(value)

    def index(self, value: Any, *args: Any) -> int:  # type: ignore[override]
        return self._rendered().index(value, *args)


def _render_reason(lazy: Any, plugin: str | None) -> str:
    """A lazy reason's text. A function that fails or gives no text is reported in the
    reason itself, naming the plugin: reading a result never raises."""
    try:
        text = lazy()
    except Exception as exc:  # a plugin's bug, found when the reason is read
        return f"plugin '{plugin}': the reason could not be rendered: {type(exc).__name__}: {str(exc)[:200]}"
    if type(text) is not str or not text:
        return f"plugin '{plugin}': the reason function returned {type(text).__name__} {text!r:.40}, not non-empty text"
    return text


@record
class Receipt:
    """What produced a determination: enough to reproduce it."""

    package_version: str
    guideline_version: str | None
    guideline_version_label: str | None
    version_chosen_by: str
    knowledge_base_digest: str
    plugins: Mapping[str, str]
    # Treatments replaced by an explicit ``supersedes:`` declaration, in the whole knowledge base
    supersessions: tuple[str, ...] = ()
    # Semantic version of the first-party knowledge base (common.yaml's kb_version); the
    # digest stays the exact identity.
    knowledge_base_version: str | None = None


@record
class Determination:
    """The outcome for one request: the decision, every criterion result, and a receipt.

    ``criteria`` holds every criterion's result (JSON ``criteria``); ``deciding_criteria``
    the ids of those that decided (JSON ``deciding_criteria``, text ``Deciding criteria:``).
    """

    case_id: str | None
    treatment: str
    decision: Decision
    summary: str
    requested_quantity: int | None
    approved_quantity: int | None
    criteria: tuple[CriterionResult, ...]
    receipt: Receipt
    deciding_criteria: tuple[str, ...] = field(default=())

    @property
    def certified_in_full(self) -> bool:
        return self.decision is Decision.CERTIFIED

    @property
    def results(self) -> tuple[CriterionResult, ...]:
        """Deprecated name of ``criteria``; to be removed in a later release."""
        warnings.warn("Determination.results is deprecated; use Determination.criteria", DeprecationWarning, stacklevel=2)
        return self.criteria

    @property
    def decisive(self) -> tuple[str, ...]:
        """Deprecated name of ``deciding_criteria``; to be removed in a later release."""
        warnings.warn(
            "Determination.decisive is deprecated; use Determination.deciding_criteria", DeprecationWarning, stacklevel=2
        )
        return self.deciding_criteria


class DecisionRecord(NamedTuple):
    """What :meth:`KnowledgeBase.decide_many` returns per case: a determination without its
    trace (no criterion results, reasons, citations or receipt). Each field equals the
    :class:`Determination` field of the same name that ``kb.evaluate(case)`` gives.
    (A NamedTuple: a batch makes one per case.)"""

    case_id: str | None
    treatment: str
    decision: Decision
    requested_quantity: int | None
    approved_quantity: int | None
    deciding_criteria: tuple[str, ...]


class _LeanRow(NamedTuple):
    """One criterion's outcome in :meth:`KnowledgeBase.decide_many`: what the default
    combine rule and the deciding criteria read of a :class:`CriterionResult`, nothing more."""

    criterion: str
    status: Status
    role: str
    decides: bool
    approvable: int | None
