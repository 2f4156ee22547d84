"""Immutable value types: the guideline model, evaluator findings and determinations. No I/O."""

from __future__ import annotations

import datetime as dt
import enum
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import FrozenInstanceError, dataclass, field, fields
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

if TYPE_CHECKING:
    from kb_core._case import Case


# ---------------------------------------------------------------- cheap immutable records


_set_field = object.__setattr__  # how a record's __init__ sets a field (the class refuses assignment)
_RecordType = TypeVar("_RecordType", bound=type)


class _Record:
    """Base of kb_core's immutable value classes that are made at start-up (the guideline
    model, the receipt, evaluators, plugin records).

    A frozen dataclass generates and compiles six methods when its module is imported, about
    1 ms a class: a third of a cold start for the classes kb_core defines. A record is a
    dataclass too (``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` work
    on it), declared with :func:`record`, which generates nothing: each class writes its
    ``__init__`` (setting fields with ``_set_field``), and comparison, hashing, ``repr``,
    immutability (:class:`dataclasses.FrozenInstanceError`), copying and pickling come from
    here, by field name, as a frozen dataclass does them. (Its ``__dataclass_params__.frozen``
    reads False: the class itself refuses assignment.)
    """

    __slots__ = ()
    # Set by record(): the field names, and a function giving the field values as a tuple.
    _field_names: tuple[str, ...] = ()
    _field_values: Callable[[Any], tuple[Any, ...]]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._field_values(self) == other._field_values(other)  # type: ignore[attr-defined]
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._field_values(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(self._field_names, self._field_values(self)))
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), self._field_values(self)  # rebuilt with __init__: one call per object


def record(cls: _RecordType) -> _RecordType:
    """Declare ``cls`` (a :class:`_Record` subclass with annotated fields and its own
    ``__init__``) a slotted dataclass, without generating any method."""
    made: Any = dataclass(init=False, repr=False, eq=False, slots=True)(cls)
    names = tuple(f.name for f in fields(made))
    made._field_names = names
    made._field_values = attrgetter(*names) if len(names) > 1 else (lambda value: tuple(getattr(value, n) for n in names))
    return made  # type: ignore[no-any-return]


# ---------------------------------------------------------------- guideline model


@record
class Verification(_Record):
    """How far an item has been checked: V, D, K or U (see the guideline schema)."""

    status: str
    note: str | None = None
    verified_by: str | None = None  # for V/D: the reference item or decision quote behind it

    def __init__(self, status: str, note: str | None = None, verified_by: str | None = None) -> None:
        _set_field(self, "status", status)
        _set_field(self, "note", note)
        _set_field(self, "verified_by", verified_by)

    @property
    def verified(self) -> bool:
        return self.status in ("V", "D")


@record
class SourceVersion(_Record):
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

    def __init__(
        self, id: str, source: str, label: str, tier: str, effective_from: dt.date | None, effective_until: dt.date | None,
        pages_from: str | None, verification: Verification | None, file: str, line: int | None,
    ) -> None:
        _set_field(self, "id", id)
        _set_field(self, "source", source)
        _set_field(self, "label", label)
        _set_field(self, "tier", tier)
        _set_field(self, "effective_from", effective_from)
        _set_field(self, "effective_until", effective_until)
        _set_field(self, "pages_from", pages_from)
        _set_field(self, "verification", verification)
        _set_field(self, "file", file)
        _set_field(self, "line", line)

    def in_force(self, on: dt.date) -> bool:
        return (self.effective_from is None or self.effective_from <= on) and (
            self.effective_until is None or on <= self.effective_until
        )


@record
class Source(_Record):
    """A guideline source (e.g. the MTUS) and the ids of its versions."""

    id: str
    title: str
    tier: str
    reference: str | None
    versions: tuple[str, ...]

    def __init__(self, id: str, title: str, tier: str, reference: str | None, versions: tuple[str, ...]) -> None:
        _set_field(self, "id", id)
        _set_field(self, "title", title)
        _set_field(self, "tier", tier)
        _set_field(self, "reference", reference)
        _set_field(self, "versions", versions)


@record
class Citation(_Record):
    """Where a statement comes from: source, section, pages, item."""

    source: str
    section: str
    pages: str | None = None
    item: str | None = None
    sections_by_version: tuple[tuple[str, str], ...] = ()  # a later text's name for the section

    def __init__(
        self, source: str, section: str, pages: str | None = None, item: str | None = None,
        sections_by_version: tuple[tuple[str, str], ...] = (),
    ) -> None:
        _set_field(self, "source", source)
        _set_field(self, "section", section)
        _set_field(self, "pages", pages)
        _set_field(self, "item", item)
        _set_field(self, "sections_by_version", sections_by_version)

    def section_for(self, version: str | None) -> str:
        return dict(self.sections_by_version).get(version or "", self.section)


@record
class Definition(_Record):
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

    def __init__(
        self, id: str, term: str, statement: str, citation: Citation, citations_by_date: tuple[tuple[dt.date, Citation], ...],
        uses: tuple[str, ...], verification: Verification, file: str, line: int | None,
    ) -> None:
        _set_field(self, "id", id)
        _set_field(self, "term", term)
        _set_field(self, "statement", statement)
        _set_field(self, "citation", citation)
        _set_field(self, "citations_by_date", citations_by_date)
        _set_field(self, "uses", uses)
        _set_field(self, "verification", verification)
        _set_field(self, "file", file)
        _set_field(self, "line", line)

    def citation_on(self, on: dt.date) -> Citation:
        chosen = self.citation
        for start, citation in self.citations_by_date:
            if start <= on:
                chosen = citation
        return chosen


@record
class ProgramGroup(_Record):
    """Treatment kinds the guidelines treat as one program (e.g. for a prior trial)."""

    id: str
    title: str
    members: tuple[str, ...]
    citation: Citation
    verification: Verification
    file: str
    line: int | None

    def __init__(
        self, id: str, title: str, members: tuple[str, ...], citation: Citation, verification: Verification,
        file: str, line: int | None,
    ) -> None:
        _set_field(self, "id", id)
        _set_field(self, "title", title)
        _set_field(self, "members", members)
        _set_field(self, "citation", citation)
        _set_field(self, "verification", verification)
        _set_field(self, "file", file)
        _set_field(self, "line", line)


@record
class Parameter(_Record):
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

    def __init__(
        self, id: str, name: str, value: Any, by_version: Mapping[str, Any], unit: str, citation: Citation,
        verification: Verification, description: str | None, file: str, line: int | None,
    ) -> None:
        _set_field(self, "id", id)
        _set_field(self, "name", name)
        _set_field(self, "value", value)
        _set_field(self, "by_version", by_version)
        _set_field(self, "unit", unit)
        _set_field(self, "citation", citation)
        _set_field(self, "verification", verification)
        _set_field(self, "description", description)
        _set_field(self, "file", file)
        _set_field(self, "line", line)

    def value_for(self, version: str) -> Any:
        return self.by_version.get(version, self.value)


BURDEN_EFFECTS = ("fails", "note_only", "presumed")
PURPOSES = ("initial", "continuation", "flare_up", "maintenance")


@record
class Burden(_Record):
    """What a ``not_documented`` result of a criterion does, per request purpose.

    ``fails`` decides against the request (the requester carries the burden);
    ``note_only`` and ``presumed`` are shown in the trace and in "to pass" but do not decide.
    """

    default: str = "fails"
    by_purpose: Mapping[str, str] = field(default_factory=dict)
    basis: str | None = None

    def __init__(self, default: str = "fails", by_purpose: Mapping[str, str] | None = None, basis: str | None = None) -> None:
        _set_field(self, "default", default)
        _set_field(self, "by_purpose", {} if by_purpose is None else by_purpose)  # a new dict, as field(default_factory=dict)
        _set_field(self, "basis", basis)

    def effect(self, purpose: str | None) -> str:
        """The effect for a request of ``purpose`` (None: the purpose is not stated)."""
        return self.by_purpose.get(purpose, self.default) if purpose is not None else self.default


@record
class Criterion(_Record):
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

    def __init__(
        self, id: str, treatment: str, title: str, statement: str, citation: Citation, applies_to: tuple[str, ...],
        role: str, body_regions: tuple[str, ...], facts: tuple[str, ...], parameters: tuple[str, ...],
        definitions: tuple[str, ...], depends_on: tuple[str, ...], documentation_needed: str,
        verification: Verification, file: str, line: int | None, when_undocumented: Burden | None = None,
    ) -> None:
        _set_field(self, "id", id)
        _set_field(self, "treatment", treatment)
        _set_field(self, "title", title)
        _set_field(self, "statement", statement)
        _set_field(self, "citation", citation)
        _set_field(self, "applies_to", applies_to)
        _set_field(self, "role", role)
        _set_field(self, "body_regions", body_regions)
        _set_field(self, "facts", facts)
        _set_field(self, "parameters", parameters)
        _set_field(self, "definitions", definitions)
        _set_field(self, "depends_on", depends_on)
        _set_field(self, "documentation_needed", documentation_needed)
        _set_field(self, "verification", verification)
        _set_field(self, "file", file)
        _set_field(self, "line", line)
        _set_field(self, "when_undocumented", Burden() if when_undocumented is None else when_undocumented)


@record
class Treatment(_Record):
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

    def __init__(
        self, id: str, title: str, requested_as: tuple[str, ...], governed_by: tuple[str, ...],
        requires_prior_trial_of: tuple[str, ...], criteria: tuple[str, ...], parameters: tuple[str, ...],
        file: str, line: int | None,
    ) -> None:
        _set_field(self, "id", id)
        _set_field(self, "title", title)
        _set_field(self, "requested_as", requested_as)
        _set_field(self, "governed_by", governed_by)
        _set_field(self, "requires_prior_trial_of", requires_prior_trial_of)
        _set_field(self, "criteria", criteria)
        _set_field(self, "parameters", parameters)
        _set_field(self, "file", file)
        _set_field(self, "line", line)


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
class Evaluator(_Record):
    """A function judging one criterion, bound to its id by :func:`evaluator`."""

    criterion_id: str
    func: EvaluatorFunc

    def __init__(self, criterion_id: str, func: EvaluatorFunc) -> None:
        _set_field(self, "criterion_id", criterion_id)
        _set_field(self, "func", func)

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
class Receipt(_Record):
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

    def __init__(
        self, package_version: str, guideline_version: str | None, guideline_version_label: str | None,
        version_chosen_by: str, knowledge_base_digest: str, plugins: Mapping[str, str],
        supersessions: tuple[str, ...] = (), knowledge_base_version: str | None = None,
    ) -> None:
        _set_field(self, "package_version", package_version)
        _set_field(self, "guideline_version", guideline_version)
        _set_field(self, "guideline_version_label", guideline_version_label)
        _set_field(self, "version_chosen_by", version_chosen_by)
        _set_field(self, "knowledge_base_digest", knowledge_base_digest)
        _set_field(self, "plugins", plugins)
        _set_field(self, "supersessions", supersessions)
        _set_field(self, "knowledge_base_version", knowledge_base_version)


@dataclass(frozen=True, slots=True)
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
