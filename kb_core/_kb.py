"""The knowledge base: load guideline files and plugins, bind evaluators, evaluate cases.

Everything that can be checked is checked in :func:`load`; :meth:`KnowledgeBase.evaluate`
then only walks a precomputed plan per (treatment, guideline version).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import hashlib
import keyword
import math
import os
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from operator import attrgetter
from pathlib import Path
from time import perf_counter
from typing import Any, NamedTuple

import pluggy

from kb_core import _cache, _plugins
from kb_core._case import Case, checked_case, load_case, parse_case
from kb_core._loader import RELATION_PARAMETERS, GuidelineSet, display_path, load_guidelines
from kb_core._records import record
from kb_core._schemas import case_list_paths
from kb_core._yaml import data_files
from kb_core._model import (
    PURPOSES,
    Criterion,
    CriterionResult,
    Decision,
    DecisionRecord,
    Determination,
    Evaluator,
    Finding,
    Receipt,
    SourceVersion,
    Status,
    _LeanRow,
)
from kb_core._defaults import default_decision, default_outcome, mtus_combine
from kb_core.errors import CaseError, EvaluatorError, GuidelineError, KBError, LocatedError, PluginError

GUIDELINES_ENV = "MTUS_GUIDELINES"  # a directory of guideline files that replace/extend the installed ones
ALLOW_SUPERSEDE_ENV = "MTUS_ALLOW_SUPERSEDE"  # comma-separated plugin names allowed to supersede under strict loading


@record
class _Step:
    """One criterion ready to run for one guideline version."""

    criterion: Criterion
    evaluator: Evaluator
    plugin: str
    params: Mapping[str, Any]
    citation: str
    tier: str
    verification: str
    fact_readers: tuple[tuple[str, Callable[[Any], Any]], ...]
    regions: frozenset[str]  # the criterion applies only to requests naming one of these (empty: all)
    burden: Any  # kb_core._model.Burden: what not_documented does, by request purpose
    definitions: tuple[str, ...]  # definitions the criterion uses, cited by the request date
    read_facts: Callable[[Any], dict[str, Any]]  # the criterion's facts, read in one call
    outside_regions: Finding | None  # the finding when a request names none of ``regions``
    undocumented_decides: Mapping[str | None, bool]  # burden.effect(purpose) == "fails", per purpose
    # request date -> the citation followed by the definitions it uses (filled as dates come)
    cites_by_date: dict[dt.date, str] = dataclasses.field(default_factory=dict, compare=False, repr=False)


# Enum member lookups are slow on the hot path; bind them once.
_ERROR = Status.ERROR
_NOT_DOCUMENTED = Status.NOT_DOCUMENTED
_FAILING = frozenset({Status.NOT_MET, Status.NOT_DOCUMENTED})
_NOT_MET, _NOT_APPLICABLE = Status.NOT_MET, Status.NOT_APPLICABLE
_CERTIFIED = Decision.CERTIFIED
_VALID = frozenset({Status.MET, Status.NOT_MET, Status.NOT_DOCUMENTED, Status.NOT_APPLICABLE})
_FACT_SCALARS = (str, int, bool, type(None))
_MAX_FACT_DEPTH = 6


_PLAIN_FACT_TYPES = frozenset({str, int, bool, type(None), dt.date, Status, Decision})  # exact types: no checks below
_fact_fields: dict[type, tuple[str, ...]] = {}  # dataclass type -> its field names, looked up once per type


def _check_fact(value: Any, depth: int = 0) -> None:
    """A fact a plugin reports must render as JSON and text: plain data, finite numbers."""
    kind = type(value)
    if kind in _PLAIN_FACT_TYPES:  # the common cases first, without an isinstance chain
        return
    names = _fact_fields.get(kind)
    if names is not None and depth < _MAX_FACT_DEPTH:  # e.g. the case's PriorTreatment records
        plain = _PLAIN_FACT_TYPES
        for name in names:
            item = getattr(value, name)
            if type(item) not in plain:
                _check_fact(item, depth + 1)
        return
    if kind is dict and depth < _MAX_FACT_DEPTH and all(type(key) is str for key in value):  # a finding's facts
        for item in value.values():
            if type(item) not in _PLAIN_FACT_TYPES:
                _check_fact(item, depth + 1)
        return
    if kind is tuple and depth < _MAX_FACT_DEPTH:
        for item in value:
            if type(item) not in _PLAIN_FACT_TYPES:
                _check_fact(item, depth + 1)
        return
    if isinstance(value, _FACT_SCALARS):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"fact value {value} is not a finite number")
        return
    if isinstance(value, (dt.date, Status, Decision)):
        return
    if depth < _MAX_FACT_DEPTH and dataclasses.is_dataclass(value) and not isinstance(value, type):
        _fact_fields[kind] = tuple(f.name for f in dataclasses.fields(value))
        for f in dataclasses.fields(value):  # e.g. a PriorTreatment from the case: rendered field by field
            _check_fact(getattr(value, f.name), depth + 1)
        return
    if depth < _MAX_FACT_DEPTH and isinstance(value, (list, tuple)):
        for item in value:
            _check_fact(item, depth + 1)
        return
    if depth < _MAX_FACT_DEPTH and isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"fact key {_plugins.describe(key, 40)!r} is not text")
            _check_fact(item, depth + 1)
        return
    raise TypeError(f"fact value of type {type(value).__name__} is not plain data (text, number, yes/no, date, list, mapping)")


_FAST_REASONS = frozenset({str, types.FunctionType})  # text, or a lambda/def rendering it later
_SEQUENCES = frozenset({tuple, list})


def _plain_fact_dict(facts: dict[str, Any], case_priors: tuple[Any, ...]) -> bool:
    """Whether a finding's facts pass the contract (else the full check says why). The
    case's own prior treatments, often reported back, were checked when the case was read."""
    try:
        for key, value in facts.items():
            if type(key) is not str:
                return False
            if type(value) in _PLAIN_FACT_TYPES or (type(value) in _SEQUENCES and all(item in case_priors for item in value)):
                continue
            _check_fact(value, 1)
    except (TypeError, ValueError):
        return False
    return True


def _check_finding(finding: Any) -> Status:
    """The contract of an evaluator's result; anything else is that plugin's error."""
    if type(finding) is not Finding:
        raise TypeError(f"returned {_plugins.describe(finding, 80)}, not a Finding")
    status, reason, approvable, facts = finding
    if type(status) is not Status or status is _ERROR:  # "met" (a str) would pass a set lookup
        raise TypeError(f"returned status {_plugins.describe(status, 40)!r}; build the Finding with Finding.met/not_met/not_documented/not_applicable")
    if (type(reason) is not str or not reason) and (isinstance(reason, (str, bytes)) or not callable(reason)):
        raise TypeError(f"returned reason {_plugins.describe(reason, 40)!r}; give the reason as non-empty text (or a function of no arguments returning it)")
    if approvable is not None and (type(approvable) is not int or approvable < 0):
        raise TypeError(f"returned approvable={_plugins.describe(approvable, 40)!r}; it must be a whole number of visits (0 or more) or None")
    if facts is not None:
        if not isinstance(facts, Mapping):
            raise TypeError(f"returned facts of type {type(facts).__name__}, not a mapping")
        _check_fact(facts)
    return status


def _check_outcome(outcome: Any, requested: int | None) -> tuple[Decision, int | None, str]:
    """The contract of a combine hook's result: (Decision, approved quantity, summary)."""
    if not (type(outcome) is tuple and len(outcome) == 3):
        raise TypeError(f"returned {_plugins.describe(outcome, 80)}, not (Decision, approved_quantity, summary) or None")
    decision, approved, summary = outcome
    if type(decision) is not Decision:
        raise TypeError(f"returned decision {_plugins.describe(decision, 40)!r}, not a kb_core.Decision")
    if approved is not None and (type(approved) is not int or approved < 0 or (requested is not None and approved > requested)):
        raise ValueError(f"returned approved quantity {_plugins.describe(approved, 40)!r}; it must be a whole number from 0 to the {requested} requested, or None")
    if type(summary) is not str or not summary:
        raise TypeError(f"returned summary {_plugins.describe(summary, 40)!r}, not non-empty text")
    return decision, approved, summary


def _walk(obj: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        if obj is None:
            return None
        if type(obj) is tuple:
            obj = tuple(getattr(item, name, None) for item in obj)
        elif isinstance(obj, Mapping):  # a case's ``extra`` is a read-only MappingProxyType
            obj = obj.get(name)
        else:
            obj = getattr(obj, name, None)
    return obj


def _fact_reader(path: str) -> Callable[[Any], Any]:
    """A fast reader for a dotted fact path (attrgetter), falling back to a walk through
    lists (``prior_treatments.count``), mappings (``extra.x``) and absent parents."""
    fast = attrgetter(path)
    names = tuple(path.split("."))

    def read(case: Any) -> Any:
        try:
            value = fast(case)
        except AttributeError:
            return _walk(case, names)
        return value

    return read if _attribute_path(path) else (lambda case: _walk(case, names))


def _attribute_path(path: str) -> bool:
    """Whether ``path`` is read by attribute access alone: not through a list (where
    ``prior_treatments.count`` must not become ``tuple.count``) nor into ``extra``."""
    names = path.split(".")
    through_list = any(".".join(names[:i]) in case_list_paths() for i in range(1, len(names)))
    return not through_list and names[0] != "extra"


def _facts_reader(paths: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """One function reading all of a criterion's facts into a new dict. Plain attribute
    paths are read by generated code in one dict display (an absent parent gives None);
    a path through a list or into ``extra`` by its :func:`_fact_reader`; should anything
    else be amiss, each path is read as :func:`_fact_reader` does."""
    readers = tuple((path, _fact_reader(path)) for path in paths)

    def each(case: Any) -> dict[str, Any]:
        return {path: read(case) for path, read in readers}

    namespace: dict[str, Any] = {"each": each}
    entries = []
    for i, (path, read) in enumerate(readers):
        if _attribute_path(path) and all(name.isidentifier() and not keyword.iskeyword(name) for name in path.split(".")):
            entries.append(f"{path!r}: {_attribute_expression(path, f'_{i}')}")
        else:
            namespace[f"read_{i}"] = read
            entries.append(f"{path!r}: read_{i}(case)")
    source = f"def read_facts(case):\n    try:\n        return {{{', '.join(entries)}}}\n    except AttributeError:\n        return each(case)\n"
    exec(compile(source, f"<facts {', '.join(paths)}>", "exec"), namespace)  # noqa: S102 - paths checked above
    return namespace["read_facts"]  # type: ignore[no-any-return]


def _attribute_expression(path: str, temporary: str) -> str:
    """Python reading ``case.<path>`` as :func:`_walk` does where a parent is absent (None:
    the value is None), e.g. ``None if (_0_1 := case.request.post_surgical) is None else
    _0_1.procedure``, so that a fact under an absent parent needs no second reading."""
    names = path.split(".")
    expression = f"case.{names[0]}"
    for depth, name in enumerate(names[1:], 1):
        held = f"{temporary}_{depth}"
        expression = f"(None if ({held} := {expression}) is None else {held}.{name})"
    return expression


# What ends an evaluation before any criterion runs, besides the text of a no_criteria reason.
_NOT_ADDRESSED = "not_addressed"
_UNAVAILABLE = "criteria_unavailable"
_new_result = tuple.__new__  # CriterionResult(...) adds a Python-level __new__ call per result
_new_row = tuple.__new__  # likewise for decide_many's rows and records
_NO_DEADLINE = math.inf  # no time budget
_NOT_A_FINDING = (None, None, None, None)  # what the fast check unpacks from anything else
_CHOICE_SLOTS = 4096  # cached version choices kept per knowledge base (one per date and kind)


class _Choice(NamedTuple):
    """What :meth:`KnowledgeBase._choose` decides once for every case sharing the request
    kind and the dates that choose the version."""

    treatment: str | None
    version: SourceVersion | None
    plan: tuple[Any, ...]
    receipt: Receipt
    on: dt.date
    licensed: bool
    early: str | None = None  # what ends the evaluation early: _NOT_ADDRESSED, _UNAVAILABLE or why there are no criteria
    lean: tuple[tuple[Any, ...], ...] | None = None  # the plan as decide() runs it; None where only evaluate() decides
    rows: tuple[tuple[Any, ...], ...] = ()  # the plan as evaluate() runs it (_row)
    default_combine: bool = False  # kb_core's default rule alone combines the results


def _line_in_file(path: str | None, location: tuple[str | int, ...]) -> int | None:
    """The line of ``location`` in the case file, for an error message (error path only)."""
    if path is None:
        return None
    from kb_core._yaml import line_of, read_document

    try:
        return line_of(read_document(path, CaseError), location)
    except (KBError, OSError):
        return None


class KnowledgeBase:
    """Guidelines, their graph and the evaluators bound to their criteria.

    Build one with :func:`kb_core.load`.
    """

    def __init__(
        self,
        guidelines: GuidelineSet,
        manager: pluggy.PluginManager,
        plugins: Mapping[str, _plugins.PluginRecord],
        evaluators: Mapping[str, tuple[Evaluator, str]],
    ) -> None:
        self.guidelines = guidelines
        self.plugins = dict(plugins)
        self._manager = manager
        self._evaluators = dict(evaluators)
        self._plans: dict[tuple[str, str], tuple[_Step, ...]] = {}
        # (request kind, request date, UR date if no request date) -> what _choose returns
        self._choices: dict[tuple[Any, ...], _Choice] = {}  # (kind, the dates that choose) -> the choice
        self._graph: Any = None
        self.skipped_plugins: dict[str, str] = {}  # plugin name -> why it was left out
        self.unknown_disabled: tuple[str, ...] = ()  # names given to disable that no plugin has
        # Seconds one plugin's evaluators and combine hook may take for one determination
        # (None: no limit). Checked cooperatively with perf_counter after each call: the call
        # that overran is reported as an error naming its plugin and the plugin's later
        # criteria are not run. A call that never returns is not interrupted: a host that
        # must survive one runs evaluate in a worker with its own timeout (see docs/plugins.md).
        self.time_limit: float | None = 2.0
        first_party = {name for name, record in plugins.items() if record.first_party}
        self._by_kind = _treatments_by_kind(guidelines, first_party)
        self._era = _Era.read(guidelines)
        self._definition_cites: dict[tuple[str, dt.date], str] = {}
        # "<superseded> superseded by <treatment> (plugin, file:line)", shown in every receipt
        self.supersessions: tuple[str, ...] = tuple(
            f"{old} superseded by {tid} (plugin '{guidelines.treatment_plugin.get(tid, '?')}', "
            f"{guidelines.treatments[tid].file}:{guidelines.treatments[tid].line})"
            for tid, olds in sorted(guidelines.supersedes.items()) for old in olds
        )
        self._combiners = self._combine_chains(manager)
        # Treatment -> whether kb_core's default rule alone decides it (decide_many's lean path)
        self._default_combine = {
            tid: len(chain) == 1 and chain[0][0] == _plugins.CORE_PLUGIN and chain[0][1].function is mtus_combine
            for tid, chain in self._combiners.items()
        }
        self.digest = self._digest()

    def _combine_chains(self, manager: pluggy.PluginManager) -> dict[str, tuple[tuple[str, Any], ...]]:
        """Treatment -> the combine hooks that may decide it: its own plugin's, then kb_core's.
        A plugin's combine hook never sees another plugin's treatments."""
        impls = {impl.plugin_name: impl for impl in manager.hook.mtus_combine.get_hookimpls()}
        core = impls.get(_plugins.CORE_PLUGIN)
        chains: dict[str, tuple[tuple[str, Any], ...]] = {}
        for tid in self.guidelines.treatments:
            owner = self.guidelines.treatment_plugin.get(tid, _plugins.CORE_PLUGIN)
            chain = [(owner, impls[owner])] if owner in impls and owner != _plugins.CORE_PLUGIN else []
            if core is not None:
                chain.append((_plugins.CORE_PLUGIN, core))
            chains[tid] = tuple(chain)
        return chains

    # ------------------------------------------------------------ identity

    def _digest(self) -> str:
        """sha256 over every guideline file's bytes and every plugin's name and version."""
        h = hashlib.sha256()
        for f in sorted(self.guidelines.files, key=lambda f: (f.plugin, Path(f.path).name)):
            h.update(f"{f.plugin}\0{Path(f.path).name}\0{len(f.content)}\0".encode())
            h.update(f.content)
        for name in sorted(self.plugins):
            h.update(f"plugin\0{name}\0{self.plugins[name].version}\n".encode())
        return h.hexdigest()

    @property
    def version(self) -> str:
        return self.plugins[_plugins.CORE_PLUGIN].version

    @property
    def graph(self) -> Any:
        """The criteria graph (``networkx.MultiDiGraph``), checked at load (or when the
        cached guideline set was made) and built when first asked for."""
        if self._graph is None:
            from kb_core.graph import build_graph

            self._graph = build_graph(self.guidelines)
        return self._graph

    @property
    def treatments(self) -> list[str]:
        return sorted(self.guidelines.treatments)

    def treatment_for(self, kind: str, on: dt.date | None = None) -> str | None:
        """The treatment whose criteria judge a request for ``kind`` made on ``on``.

        Where several plugins encode criteria for the same kind, the evidence tier
        decides (MTUS before ACOEM before ODG, per the Medical Evidence Search Sequence,
        8 CCR §9792.21.1), then whether a governing version is in force on the date;
        registration order never does. A lower tier is used only when no higher-tier
        text governs the date; a higher-tier text in force without encoded criteria
        gives ``no_criteria`` rather than a silent fall-back.
        """
        candidates = self._by_kind.get(kind)
        if not candidates:
            return None
        if on is not None:
            for tid in candidates:
                if self.version_for(tid, on) is not None:
                    return tid
        return candidates[0]

    # ------------------------------------------------------------ versions and plans

    def version_for(self, treatment: str, on: dt.date) -> SourceVersion | None:
        """The governing guideline version in force for ``treatment`` on ``on``, if any."""
        for vid in self.guidelines.treatments[treatment].governed_by:
            version = self.guidelines.versions[vid]
            if version.in_force(on):
                return version
        return None

    def licensed(self, version_id: str) -> bool:
        """Whether the version is a licensed text this package does not encode (ACOEM from
        2017-12-01): requests it governs get ``criteria_unavailable``, not ``no_criteria``."""
        return self.guidelines.versions[version_id].source in self._era.licensed

    def relation(self, treatment: str, name: str) -> tuple[str, ...]:
        """Treatment kinds related to ``treatment``: ``requires_prior_trial_of`` or
        ``same_or_similar_program`` (itself plus every program group it belongs to)."""
        gs = self.guidelines
        if name == "requires_prior_trial_of":
            return gs.treatments[treatment].requires_prior_trial_of
        members = {treatment}
        for group in gs.program_groups.values():
            if treatment in group.members:
                members.update(group.members)
        return tuple(sorted(members))

    def _plan(self, treatment: str, version: SourceVersion) -> tuple[_Step, ...]:
        key = (treatment, version.id)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = tuple(self._steps(treatment, version))
        return plan

    def _steps(self, treatment: str, version: SourceVersion) -> Iterable[_Step]:
        from kb_core.graph import citation_text

        gs = self.guidelines
        for cid in gs.treatments[treatment].criteria:
            criterion = gs.criteria[cid]
            if version.id not in criterion.applies_to:
                continue
            evaluator, plugin = self._evaluators[cid]
            params = {
                pid.rsplit(".", 1)[1]: self.relation(treatment, pid.rsplit(".", 1)[1])
                if pid.rsplit(".", 1)[1] in RELATION_PARAMETERS
                else gs.parameters[pid].value_for(version.id)
                for pid in criterion.parameters
            }
            regions = frozenset(criterion.body_regions)
            burden = criterion.when_undocumented
            yield _Step(
                criterion, evaluator, plugin, params, citation_text(gs, criterion.citation, self._cited_version(criterion.citation.source, version)),
                gs.sources[criterion.citation.source].tier, criterion.verification.status,
                tuple((path, _fact_reader(path)) for path in criterion.facts),
                regions, burden, criterion.definitions, _facts_reader(criterion.facts),
                Finding.not_applicable(f"applies to {', '.join(sorted(regions))} only") if regions else None,
                {purpose: burden.effect(purpose) == "fails" for purpose in (None, *PURPOSES)},
            )

    def _cited_version(self, source: str, governing: SourceVersion) -> SourceVersion:
        """The version of a cited source to name: the governing version itself, else the
        cited source's version in force when the governing one starts (e.g. the amended
        postsurgical guideline cited under the 2017 version)."""
        if governing.source == source or governing.effective_from is None:
            return governing
        return self._era.source_version(self.guidelines, source, governing.effective_from) or governing

    def definition_citation(self, did: str, on: dt.date) -> str:
        """How a definition is cited for a request made on ``on``: its lettering then
        (``citations_by_date``) under the version of the text in force then."""
        key = (did, on)
        text = self._definition_cites.get(key)
        if text is None:
            from kb_core.graph import citation_text

            gs = self.guidelines
            definition = gs.definitions[did]
            citation = definition.citation_on(on)
            version = next((gs.versions[v] for v in gs.sources[citation.source].versions if gs.versions[v].in_force(on)), None)
            text = self._definition_cites[key] = f"; {definition.term.lower()}: {citation_text(gs, citation, version)}"
        return text

    # ------------------------------------------------------------ evaluation

    def evaluate(self, case: Case | Mapping[str, Any] | str | Path, *, strict: bool = False) -> Determination:
        """Judge one treatment request against the guideline version its date selects.

        Args:
            case: a :class:`Case`, a case mapping, or a path to a case file.
            strict: re-raise plugin failures as :class:`EvaluatorError` instead of
                reporting the criterion as ``error``.

        Raises:
            CaseError: the case is malformed or names a treatment the knowledge base lacks.
        """
        if type(case) is not Case:
            case = _as_case(case)
        if not case._checked:  # type: ignore[union-attr]  # made or changed in Python: check it as a file
            case = checked_case(case)  # type: ignore[arg-type]
        treatment, version, plan, receipt, on, licensed, early, _, rows, default_combine = self._chosen(case)  # type: ignore[arg-type]
        if early is not None:
            if early is _NOT_ADDRESSED:
                return self._not_addressed(case, receipt)  # type: ignore[arg-type]
            if early is _UNAVAILABLE:
                return self._unavailable(case, treatment, version, on, receipt, ())  # type: ignore[arg-type]
            return self._no_criteria(case, version, receipt.version_chosen_by, early, receipt)  # type: ignore[arg-type]
        limit = self.time_limit
        results, counted = self._run_rows(rows, case, strict, _NO_DEADLINE if limit is None else perf_counter() + limit)  # type: ignore[arg-type]
        requested = case.request.implied_quantity  # type: ignore[union-attr]
        if default_combine:  # kb_core's rule alone decides: called directly with the results it reads
            decision, approved, summary = default_outcome(counted, requested)
        else:
            decision, approved, summary = self._combine(treatment, results, case, strict)  # type: ignore[arg-type]
        if licensed and not _decided_by_encoded_text(decision, results):
            return self._unavailable(case, treatment, version, on, receipt, results)  # type: ignore[arg-type]
        return _new_determination(
            case.case_id, treatment, decision, summary, requested, approved, results, receipt,  # type: ignore[union-attr, arg-type]  # an early end (no treatment) returned above
            _deciding(decision, counted),
        )

    def evaluate_many(self, cases: Iterable[Case | Mapping[str, Any] | str | Path], *, strict: bool = False) -> list[Determination]:
        """Judge many requests: ``[kb.evaluate(case) for case in cases]``, for batch jobs.

        The version choice, receipt and criteria plan are shared by every case with the same
        treatment kind and dates, so a batch of similar requests pays for them once. The
        cyclic garbage collector is paused while the batch runs (evaluation makes no
        reference cycles; otherwise it would scan the growing list of results over and over,
        about half the time of a batch) and restored as it was, also on error.

        Raises:
            CaseError: as :meth:`evaluate`, for the first malformed case.
        """
        evaluate = self.evaluate
        with _collector_paused():
            return [evaluate(case, strict=strict) for case in cases]

    def decide_many(self, cases: Iterable[Case | Mapping[str, Any] | str | Path], *, strict: bool = False) -> list[DecisionRecord]:
        """Decide many requests without their trace, for batch jobs: per case a
        :class:`DecisionRecord` of the decision, approved quantity and deciding criteria
        (in order), each equal to the field of ``kb.evaluate(case)`` of the same name.

        The same evaluators run under the same version choice, burdens and combine rule,
        but no criterion result, reason, citation, fact mapping or receipt is built. A case
        off the common path (the treatment's plugin has its own combine hook, an evaluator
        fails or returns something unusual, the time budget runs out, a licensed text
        governs, or the request ends early: not addressed, no criteria) is decided by
        :meth:`evaluate` itself. The cyclic garbage collector is paused as in
        :meth:`evaluate_many`.

        Raises:
            CaseError: as :meth:`evaluate`, for the first malformed case.
        """
        decide = self.decide
        with _collector_paused():
            return [decide(case, strict=strict) for case in cases]

    def decide(self, case: Case | Mapping[str, Any] | str | Path, *, strict: bool = False) -> DecisionRecord:
        """One case of :meth:`decide_many`: ``kb.evaluate(case)``'s decision, quantities and
        deciding criteria, without the trace."""
        if type(case) is not Case:
            case = _as_case(case)
        if not case._checked:  # type: ignore[union-attr]  # as in evaluate
            case = checked_case(case)  # type: ignore[arg-type]
        choice = self._chosen(case)  # type: ignore[arg-type]
        lean = choice.lean
        if lean is None:  # an early end, a licensed text or a plugin's own combine hook
            return _record(self.evaluate(case, strict=strict))
        request = case.request  # type: ignore[union-attr]
        regions = request.body_regions
        purpose = request.purpose
        priors = case.prior_treatments  # type: ignore[union-attr]
        limit = self.time_limit
        started = perf_counter() if limit is not None else 0.0
        # Only failing results that decide are kept, as _run_rows counts them: the default rule
        # and the deciding criteria pass over the others (an error never gets here:
        # evaluate() reports it).
        failing = []
        for func, params, only_in, cid, role, undocumented_decides, step in lean:
            if only_in and only_in.isdisjoint(regions):
                continue  # not applicable
            try:
                finding = func(case, params)
            except (Exception, SystemExit):  # evaluate reports it (or raises it, strict)
                return _record(self.evaluate(case, strict=strict))
            except BaseException as exc:  # an interrupt, named as evaluate names it
                exc.add_note(f"while plugin '{step.plugin}' ran the evaluator for {cid}")
                raise
            # _run's fast acceptance of a well-formed finding; anything else: evaluate sorts it out.
            status, reason, approvable, facts = finding if type(finding) is Finding else (None, None, None, None)
            if not (
                type(status) is Status and status is not _ERROR and type(reason) in _FAST_REASONS and reason
                and (approvable is None or (type(approvable) is int and approvable >= 0))
                and (facts is None or (type(facts) is dict and _plain_fact_dict(facts, priors)))
            ):
                return _record(self.evaluate(case, strict=strict))
            if status is _NOT_MET:
                failing.append(_new_row(_LeanRow, (cid, status, role, True, approvable)))
            elif status is _NOT_DOCUMENTED:
                if undocumented_decides[purpose] if purpose in undocumented_decides else step.burden.effect(purpose) == "fails":
                    failing.append(_new_row(_LeanRow, (cid, status, role, True, approvable)))
        if limit is not None and perf_counter() - started > limit:
            return _record(self.evaluate(case, strict=strict))  # evaluate names the criterion that overran
        requested = request.implied_quantity
        decision, approved, _ = default_decision(failing, requested)
        return _new_row(DecisionRecord, (case.case_id, choice.treatment, decision, requested, approved, _deciding(decision, failing)))  # type: ignore[union-attr]

    def _chosen(self, case: Case) -> _Choice:
        """What :meth:`_choose` returns for the case, after :meth:`check_case`'s checks, cached
        by the request kind and the dates the choice reads (a kind found in the cache was
        checked when it was first met)."""
        kinds = self.guidelines.treatment_kinds
        for prior in case.prior_treatments:
            if prior.treatment not in kinds:
                self.check_case(case)  # raises, naming the treatment kind and where it is
        for concurrent in case.concurrent_treatments:
            if concurrent.treatment not in kinds:
                self.check_case(case)
        dates = case.dates
        kind = case.request.treatment
        # The key holds everything the version choice reads (_Era.version_date): the request
        # date, else the UR date, and the date of service when it is on or after the switch.
        service = dates.service
        service_from = self._era.service_from
        key = (
            kind, dates.request, None if dates.request else dates.ur_decision,
            service if service is not None and service_from is not None and service >= service_from else None,
        )
        choice = self._choices.get(key)
        if choice is None:  # a kind met before was checked then
            self.check_case(case)
            choice = self._choose(kind, case)
            if len(self._choices) >= _CHOICE_SLOTS:
                self._choices.clear()
            self._choices[key] = choice
        return choice

    def _choose(self, kind: str, case: Case) -> _Choice:
        """The :class:`_Choice` for the case: the same for every case sharing the kind and
        the dates :meth:`evaluate` keys it by, so it caches them."""
        on, chosen_by = self._era.version_date(case)
        if kind in self._era.not_addressed:
            return _Choice(None, None, (), self._receipt(None, chosen_by), on, False, _NOT_ADDRESSED)
        treatment = self.treatment_for(kind, on)
        if treatment is None:
            why = f"no installed plugin encodes criteria for {self.guidelines.treatment_kinds[kind]} requests"
            return _Choice(None, None, (), self._receipt(None, chosen_by), on, False, why)
        version = self.version_for(treatment, on)
        if version is None:
            why = f"no governing guideline version for {treatment} is in force on {on}"
            return _Choice(treatment, None, (), self._receipt(None, chosen_by), on, False, why)
        plan = self._plan(treatment, version)
        licensed = self.licensed(version.id)
        receipt = self._receipt(version, chosen_by)
        if not plan and licensed:
            return _Choice(treatment, version, plan, receipt, on, licensed, _UNAVAILABLE)
        if not plan:
            why = f"no criteria are encoded for {version.label} ({version.id})"
            return _Choice(treatment, version, plan, receipt, on, licensed, why)
        lean = None if licensed or not self._default_combine[treatment] else _lean_plan(plan)
        rows = tuple(_row(step) for step in plan)
        return _Choice(treatment, version, plan, receipt, on, licensed, None, lean, rows, self._default_combine[treatment])

    def check_case(self, case: Case) -> None:
        """Check what the case schema cannot: the treatments it names exist here.

        Raises:
            CaseError: naming the key and the treatments that are known.
        """
        gs = self.guidelines
        treatment = case.request.treatment
        if treatment not in gs.treatment_kinds:
            raise CaseError(
                f"unknown treatment '{treatment}'",
                path=case.path, line=_line_in_file(case.path, ("request", "treatment")), where="request.treatment",
                fix=f"use one of: {', '.join(sorted(gs.treatment_kinds))} (criteria are encoded for {', '.join(sorted(self._by_kind))})",
            )
        lists: tuple[tuple[str, tuple[Any, ...]], ...] = (("prior_treatments", case.prior_treatments), ("concurrent_treatments", case.concurrent_treatments))
        for key, listed in lists:
            for index, other in enumerate(listed):
                if other.treatment not in gs.treatment_kinds:
                    raise CaseError(
                        f"unknown treatment kind '{other.treatment}'",
                        path=case.path, line=_line_in_file(case.path, (key, index, "treatment")), where=f"{key}[{index}].treatment",
                        fix=f"use one of: {', '.join(sorted(gs.treatment_kinds))}",
                    )

    def _overran(self, plan: tuple[_Step, ...], results: list[CriterionResult], case: Case, strict: bool, limit: float) -> tuple[CriterionResult, ...]:
        """The last criterion run overran the budget: it is an error naming its plugin, and the
        plugin's criteria after it are not run."""
        step = plan[len(results) - 1]
        problem = f"evaluator for {step.criterion.id} did not finish within the plugin's time budget of {limit} s"
        if strict:
            raise EvaluatorError(step.plugin, problem, "make the evaluator fast; it must return a kb_core.Finding promptly")
        results[-1] = self._error_result(step, case, f"plugin '{step.plugin}': {problem}")
        for later in plan[len(results):]:
            if later.plugin == step.plugin:
                results.append(self._error_result(later, case, f"plugin '{later.plugin}': not run: the plugin used up its time budget of {limit} s for this determination"))
            else:
                results.append(self._run(later, case, strict))
        return tuple(results)

    def _error_result(self, step: _Step, case: Case, reason: str) -> CriterionResult:
        criterion = step.criterion
        return CriterionResult(
            criterion.id, criterion.title, _ERROR, reason, step.citation, step.tier, criterion.role,
            step.params, {path: read(case) for path, read in step.fact_readers}, step.verification,
            None, None, step.plugin, True,
        )

    def _run(self, step: _Step, case: Case, strict: bool) -> CriterionResult:
        """One criterion judged for the case, as :meth:`evaluate` judges it (no time budget)."""
        return self._run_rows((_row(step),), case, strict, _NO_DEADLINE)[0][0]

    def _run_rows(
        self, rows: tuple[tuple[Any, ...], ...], case: Case, strict: bool, deadline: float,
    ) -> tuple[tuple[CriterionResult, ...], list[CriterionResult]]:
        """Every criterion of a plan judged for the case, and those of the results that the
        default rule and the deciding criteria read (errors, and failing results that
        decide), in plan order. The plan's criteria all come from the plugin declaring the
        treatment: the time budget is one perf_counter read per criterion, and a criterion
        finishing after ``deadline`` is reported by :meth:`_overran`."""
        request = case.request
        regions = request.body_regions
        purpose = request.purpose
        priors = case.prior_treatments
        results: list[CriterionResult] = []
        counted: list[CriterionResult] = []
        for func, params, only_in, outside, read_facts, cid, title, citation, tier, role, verification, needed, plugin, undocumented_decides, step in rows:
            if only_in and only_in.isdisjoint(regions):
                status, reason, approvable, extra = outside
            else:
                try:
                    finding = func(case, params)
                except BaseException as exc:  # noqa: BLE001 - sorted out in _failed: the plugin's error, or re-raised
                    finding, status = self._failed(step, exc, strict)
                    _, reason, approvable, extra = finding
                else:
                    # The usual well-formed finding is accepted here in a few type checks;
                    # anything else gets the full contract check and its error message.
                    status, reason, approvable, extra = finding if type(finding) is Finding else _NOT_A_FINDING
                    if not (
                        type(status) is Status and status is not _ERROR and type(reason) in _FAST_REASONS and reason
                        and (approvable is None or (type(approvable) is int and approvable >= 0))
                        and (extra is None or (type(extra) is dict and _plain_fact_dict(extra, priors)))
                    ):
                        finding, status = self._checked(step, finding, strict)
                        _, reason, approvable, extra = finding
            facts = read_facts(case)
            if extra:
                facts.update(extra)
            if step.definitions:
                on = case.dates.decisive
                citation = step.cites_by_date.get(on) or self._cite_definitions(step, on)
            if status is _NOT_DOCUMENTED:
                decides = undocumented_decides[purpose] if purpose in undocumented_decides else step.burden.effect(purpose) == "fails"
                result = _new_result(CriterionResult, (  # type: ignore[arg-type]
                    cid, title, status, reason, citation, tier, role, params, facts, verification, needed, approvable, plugin, decides,
                ))
                if decides:
                    counted.append(result)
            elif status is _NOT_MET or status is _ERROR:
                result = _new_result(CriterionResult, (  # type: ignore[arg-type]
                    cid, title, status, reason, citation, tier, role, params, facts, verification,
                    needed if status is _NOT_MET else None, approvable, plugin, True,
                ))
                counted.append(result)
            else:
                result = _new_result(CriterionResult, (  # type: ignore[arg-type]
                    cid, title, status, reason, citation, tier, role, params, facts, verification, None, approvable, plugin, True,
                ))
            results.append(result)
            if perf_counter() > deadline:
                done = self._overran(tuple(row[-1] for row in rows), results, case, strict, self.time_limit)  # type: ignore[arg-type]
                return done, [r for r in done if r.status is _ERROR or (r.decides and r.status in _FAILING)]
        return tuple(results), counted

    def _cite_definitions(self, step: _Step, on: dt.date) -> str:
        """The criterion's citation followed by the definitions it uses, cited by ``on``
        (kept in the step per date)."""
        if len(step.cites_by_date) >= _CHOICE_SLOTS:
            step.cites_by_date.clear()
        text = step.cites_by_date[on] = step.citation + "".join(self.definition_citation(did, on) for did in step.definitions)
        return text

    def _checked(self, step: _Step, finding: Any, strict: bool) -> tuple[Finding, Status]:
        """The full contract check of an evaluator's result (the fast path in _run_rows let it through)."""
        try:
            return finding, _check_finding(finding)
        except Exception as exc:
            return self._failed(step, exc, strict)

    def _failed(self, step: _Step, exc: BaseException, strict: bool) -> tuple[Finding, Status]:
        """An evaluator raised or broke the contract: an error result naming its plugin
        (with ``strict``, an EvaluatorError); an interrupt is re-raised, named."""
        if isinstance(exc, SystemExit):  # a plugin must not end the host process: its own error
            problem = f"evaluator for {step.criterion.id} called sys.exit({_plugins.describe(exc.code, 40)})"
            cause: BaseException | None = None
        elif isinstance(exc, Exception):
            problem = f"evaluator for {step.criterion.id} failed: {type(exc).__name__}: {_plugins.describe(exc)}"
            cause = exc
        else:  # the user's (or the plugin's) interrupt stops evaluation, named
            exc.add_note(f"while plugin '{step.plugin}' ran the evaluator for {step.criterion.id}")
            raise exc
        if strict:
            raise EvaluatorError(step.plugin, problem, "fix the evaluator; it must return a kb_core.Finding promptly") from cause
        return Finding(_ERROR, f"plugin '{step.plugin}': {problem}"), _ERROR

    def _combine(self, treatment: str, results: tuple[CriterionResult, ...], case: Case, strict: bool) -> tuple[Decision, int | None, str]:
        """Ask the treatment's own plugin's combine hook, then kb_core's default. A result
        outside the contract, an exception (SystemExit too) or an overrun of the time
        budget is an error naming that plugin, never another plugin's decision."""
        offered = {"treatment": treatment, "results": results, "case": case}
        for plugin, impl in self._combiners[treatment]:
            started = perf_counter()
            try:
                outcome = impl.function(**{name: offered[name] for name in impl.argnames})
                if outcome is None:
                    continue
                checked = _check_outcome(outcome, case.request.implied_quantity)
                if self.time_limit is not None and plugin != _plugins.CORE_PLUGIN and perf_counter() - started > self.time_limit:
                    raise TimeoutError(f"took longer than the plugin's time budget of {self.time_limit} s")
                return checked
            except KeyboardInterrupt as exc:
                exc.add_note(f"while plugin '{plugin}' ran mtus_combine for {treatment}")
                raise
            except (Exception, SystemExit) as exc:
                detail = f"called sys.exit({_plugins.describe(exc.code, 40)})" if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {_plugins.describe(exc)}"
                problem = f"mtus_combine failed: {detail}"
                if strict:
                    raise PluginError(plugin, problem, "return (Decision, approved_quantity, summary) or None") from (exc if isinstance(exc, Exception) else None)
                return Decision.ERROR, None, f"No decision: plugin '{plugin}': {problem}."
        raise PluginError(_plugins.CORE_PLUGIN, "no mtus_combine implementation answered")

    def _receipt(self, version: SourceVersion | None, chosen_by: str) -> Receipt:
        return Receipt(
            package_version=self.version,
            guideline_version=version.id if version else None,
            guideline_version_label=version.label if version else None,
            version_chosen_by=chosen_by,
            knowledge_base_digest=self.digest,
            plugins={name: record.version for name, record in sorted(self.plugins.items())},
            supersessions=self.supersessions,
            knowledge_base_version=self.guidelines.kb_version,
        )

    def _no_criteria(self, case: Case, version: SourceVersion | None, chosen_by: str, why: str, receipt: Receipt | None = None) -> Determination:
        return Determination(
            case_id=case.case_id, treatment=self.treatment_for(case.request.treatment) or case.request.treatment, decision=Decision.NO_CRITERIA,
            summary=f"No determination: {why}. An older text is never applied in its place.",
            requested_quantity=case.request.implied_quantity, approved_quantity=None, criteria=(),
            receipt=receipt or self._receipt(version, chosen_by),
        )

    def _unavailable(
        self, case: Case, treatment: str, version: SourceVersion, on: dt.date, receipt: Receipt,
        results: tuple[CriterionResult, ...],
    ) -> Determination:
        """The governing text is licensed and not encoded: name every document in force."""
        gs = self.guidelines
        documents = [f"{version.label} ({gs.sources[version.source].reference})"]
        regions = case.request.body_regions
        for region in regions:
            topic = self._era.topic_by_region.get(region)
            topical = self._era.source_version(gs, topic, on) if topic else None
            if topical is not None:
                entry = f"{topical.label} ({gs.sources[topic].reference}), in force from {topical.effective_from}"  # type: ignore[index]
                if entry not in documents:
                    documents.append(entry)
        if not regions:
            documents.append("the ACOEM clinical-topic guideline for the body region treated (the request names none)")
        kind = gs.treatment_kinds[case.request.treatment]
        summary = (
            f"Criteria unavailable: on {on} the MTUS governs {kind.lower()} requests by licensed ACOEM guidelines whose text "
            f"this package does not encode: {'; '.join(documents)}. A reviewer must apply those documents "
            "(free to California providers through the Reed Group MTUS portal); the 2009 and 2016 MTUS criteria are "
            "never applied in their place."
        )
        still = [r for r in results if r.decides and r.status in _FAILING]
        for r in still:
            limit = f"; at most {r.approvable} could be certified" if r.approvable else ""
            summary += f" Still applies on this date: {r.criterion} ({r.status.value.replace('_', ' ')}: {r.reason}{limit})."
        return Determination(
            case_id=case.case_id, treatment=treatment, decision=Decision.CRITERIA_UNAVAILABLE, summary=summary,
            requested_quantity=case.request.implied_quantity, approved_quantity=None, criteria=results,
            receipt=receipt, deciding_criteria=tuple(r.criterion for r in still),
        )

    def _not_addressed(self, case: Case, receipt: Receipt) -> Determination:
        """The MTUS does not address the treatment: say so and cite the search sequence."""
        gs = self.guidelines
        sequence = gs.parameters["shared.not_addressed_by_mtus"]
        from kb_core.graph import citation_text

        summary = (
            f"Not addressed by the MTUS: no MTUS guideline addresses {gs.treatment_kinds[case.request.treatment].lower()}, "
            f"so no MTUS criterion decides it. The reviewer follows the Medical Evidence Search Sequence "
            f"({citation_text(gs, sequence.citation)}): ACOEM or ODG, then other nationally recognized guidelines, then "
            "peer-reviewed studies."
        )
        return Determination(
            case_id=case.case_id, treatment=case.request.treatment, decision=Decision.NOT_ADDRESSED, summary=summary,
            requested_quantity=case.request.implied_quantity, approved_quantity=None, criteria=(),
            receipt=receipt,
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for a batch, restored as it was (also on error)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _as_case(case: Any) -> Case:
    """A case from what :meth:`KnowledgeBase.evaluate` accepts: a path is read, a mapping parsed."""
    if isinstance(case, (str, Path)):
        return load_case(case)
    if isinstance(case, Case):
        return case
    return parse_case(case)


def _deciding(decision: Decision, counted: Iterable[Any]) -> tuple[str, ...]:
    """The criteria that decided, in plan order, from the results that may decide (errors,
    and failing results that decide, as :meth:`KnowledgeBase._run_rows` and
    :meth:`KnowledgeBase.decide` keep them): all of them, unless the request is certified
    (then only errors)."""
    if decision is not _CERTIFIED:
        return tuple([r.criterion for r in counted])
    return tuple([r.criterion for r in counted if r.status is _ERROR])


def _lean_plan(plan: tuple[_Step, ...]) -> tuple[tuple[Any, ...], ...]:
    """The plan as :meth:`KnowledgeBase.decide` runs it: per step, what it reads, unpacked
    in one go."""
    return tuple(
        (step.evaluator.func, step.params, step.regions, step.criterion.id, step.criterion.role, step.undocumented_decides, step)
        for step in plan
    )


def _row(step: _Step) -> tuple[Any, ...]:
    """The step as :meth:`KnowledgeBase._run_rows` runs it, unpacked in one go: what the
    evaluator is called with, what happens outside the criterion's body regions, and every
    field of the result that does not depend on the case."""
    criterion = step.criterion
    return (
        step.evaluator.func, step.params, step.regions, step.outside_regions, step.read_facts, criterion.id,
        criterion.title, step.citation, step.tier, criterion.role, step.verification, criterion.documentation_needed,
        step.plugin, step.undocumented_decides, step,
    )


def _slot_setter(name: str) -> Callable[[Any, Any], None]:
    return Determination.__dict__[name].__set__  # type: ignore[no-any-return]


_new_object = object.__new__
_set_case_id, _set_treatment, _set_decision, _set_summary = map(_slot_setter, ("case_id", "treatment", "decision", "summary"))
_set_requested, _set_approved, _set_criteria = map(_slot_setter, ("requested_quantity", "approved_quantity", "criteria"))
_set_receipt, _set_deciding = map(_slot_setter, ("receipt", "deciding_criteria"))
if len(Determination.__dataclass_fields__) != 9:  # a new field must be set in _new_determination too
    raise RuntimeError("kb_core._kb._new_determination does not set every field of Determination")


def _new_determination(
    case_id: str | None, treatment: str, decision: Decision, summary: str, requested: int | None, approved: int | None,
    criteria: tuple[CriterionResult, ...], receipt: Receipt, deciding: tuple[str, ...],
) -> Determination:
    """``Determination(...)`` with every field given, without the frozen dataclass's
    ``__init__`` (one ``object.__setattr__`` call per field): the slots are set directly."""
    det = _new_object(Determination)
    _set_case_id(det, case_id)
    _set_treatment(det, treatment)
    _set_decision(det, decision)
    _set_summary(det, summary)
    _set_requested(det, requested)
    _set_approved(det, approved)
    _set_criteria(det, criteria)
    _set_receipt(det, receipt)
    _set_deciding(det, deciding)
    return det


def _record(det: Determination) -> DecisionRecord:
    return DecisionRecord(det.case_id, det.treatment, det.decision, det.requested_quantity, det.approved_quantity, det.deciding_criteria)


def _decided_by_encoded_text(decision: Decision, results: tuple[CriterionResult, ...]) -> bool:
    """Under a licensed (unencoded) version, whether the encoded criteria that carry over
    decide the request anyway: a retained MTUS text judged its quantity (e.g. the
    postsurgical course), a criterion is definitely not met (a denied surgery, a statutory
    cap used up), or a plugin failed."""
    if decision is Decision.ERROR:
        return True
    if any(r.tier == "mtus" and r.role == "quantity" and r.status is not _NOT_APPLICABLE for r in results):
        return True
    return decision is Decision.NON_CERTIFIED and any(r.decides and r.status is _NOT_MET and r.approvable is None for r in results)


@record
class _Era:
    """The MTUS from 2017-12-01, as the shared data in common.yaml declares it (read once)."""

    service_from: dt.date | None
    licensed: frozenset[str]
    topic_by_region: Mapping[str, str]
    not_addressed: frozenset[str]

    @classmethod
    def read(cls, gs: GuidelineSet) -> _Era:
        def value(name: str, default: Any) -> Any:
            parameter = gs.parameters.get(f"shared.{name}")
            return default if parameter is None else parameter.value

        start = value("version_by_service_date_from", None)
        return cls(
            dt.date.fromisoformat(start) if start else None,
            frozenset(value("licensed_guideline_sources", ())),
            dict(value("acoem_clinical_topic_by_region", {})),
            frozenset(value("not_addressed_by_mtus", ())),
        )

    def version_date(self, case: Case) -> tuple[dt.date, str]:
        """The date that chooses the version, and how: the date of service from the 2017
        order on, else the request date, else the UR decision date."""
        service = case.dates.service
        if service is not None and self.service_from is not None and service >= self.service_from:
            return service, f"date of service {service} (services from {self.service_from} are judged by the text in force on their date of service)"
        on = case.dates.decisive
        return on, f"request date {on}" if case.dates.request else f"UR decision date {on} (no request date given)"

    @staticmethod
    def source_version(gs: GuidelineSet, source: str, on: dt.date) -> SourceVersion | None:
        for vid in gs.sources[source].versions:
            if gs.versions[vid].in_force(on):
                return gs.versions[vid]
        return None


TIER_RANK = {"mtus": 0, "statute": 0, "regulation": 0, "acoem": 1, "odg": 2, "reference": 3}


def treatment_tier(gs: GuidelineSet, treatment: str) -> str:
    """The evidence tier of the texts governing ``treatment`` (the highest among them)."""
    tiers = [gs.versions[v].tier for v in gs.treatments[treatment].governed_by]
    return min(tiers, key=TIER_RANK.__getitem__)


def _treatments_by_kind(gs: GuidelineSet, first_party: Iterable[str] = (_plugins.CORE_PLUGIN,)) -> dict[str, list[str]]:
    """Request kind -> treatments that judge it, best evidence tier first.

    Ownership is by data, never by name or load order: a treatment that declares
    ``supersedes: [x]`` replaces ``x`` for the kinds it judges; otherwise a third-party
    treatment may judge a kind a first-party treatment judges only at a lower evidence tier
    (it then judges only dates no first-party text governs).

    Raises:
        PluginError: naming the third-party plugin when one would judge a first-party kind at
            the same or a higher tier without superseding it; else naming the later of two
            treatments of the same tier that govern the same kind on some date.
    """
    first_party = frozenset(first_party)
    owner = gs.treatment_plugin.get
    by_kind: dict[str, list[str]] = {}
    for tid, treatment in sorted(gs.treatments.items()):
        for kind in treatment.requested_as:
            by_kind.setdefault(kind, []).append(tid)
    for tid, replaced in sorted(gs.supersedes.items()):
        for kind in gs.treatments[tid].requested_as:
            by_kind[kind] = [t for t in by_kind[kind] if t not in replaced]
    file_owner = {f.path: f.plugin for f in gs.files}
    for gid, group in sorted(gs.program_groups.items()):
        plugin = file_owner.get(group.file, _plugins.CORE_PLUGIN)
        if plugin in first_party:
            continue
        for member in group.members:
            judged_by = [t for t in by_kind.get(member, ()) if owner(t) in first_party]
            if judged_by:  # it would widen what the first-party treatment counts as a repeat program
                raise PluginError(
                    plugin, f"program group '{gid}' names '{member}', which mtus-kb's own treatment '{judged_by[0]}' judges",
                    "name only your own treatment kinds in a program group",
                )
    for kind, tids in by_kind.items():
        tids.sort(key=lambda t: (TIER_RANK[treatment_tier(gs, t)], t))
        owned = [t for t in tids if owner(t) in first_party]
        for tid in tids:
            if owner(tid) in first_party:
                continue
            for theirs in owned:
                if TIER_RANK[treatment_tier(gs, tid)] <= TIER_RANK[treatment_tier(gs, theirs)]:
                    raise PluginError(
                        owner(tid) or "?",
                        f"treatment '{tid}' would judge '{kind}' requests at tier {treatment_tier(gs, tid)}, which mtus-kb's own "
                        f"treatment '{theirs}' (plugin '{owner(theirs)}') judges at tier {treatment_tier(gs, theirs)}",
                        f"declare `supersedes: [{theirs}]` under treatments.{tid} in {gs.treatments[tid].file} to replace it "
                        "(shown in every receipt; strict loading needs the plugin allowed by name), or judge a kind of your own",
                    )
        for i, first in enumerate(tids):
            for second in tids[i + 1:]:
                if treatment_tier(gs, first) != treatment_tier(gs, second):
                    continue
                overlap = _overlapping(gs, first, second)
                if overlap:
                    if owner(second) in first_party and owner(first) not in first_party:
                        first, second = second, first  # blame the third party, whatever the names
                    raise PluginError(
                        owner(second) or "?",
                        f"treatment '{second}' and treatment '{first}' (plugin "
                        f"'{owner(first) or '?'}') both judge '{kind}' requests "
                        f"at tier {treatment_tier(gs, first)} under overlapping versions {overlap}",
                        "give them different evidence tiers or non-overlapping effective dates, or disable one plugin",
                    )
    return by_kind


def _overlapping(gs: GuidelineSet, first: str, second: str) -> tuple[str, str] | None:
    for a in gs.treatments[first].governed_by:
        for b in gs.treatments[second].governed_by:
            va, vb = gs.versions[a], gs.versions[b]
            start = max(va.effective_from or dt.date.min, vb.effective_from or dt.date.min)
            end = min(va.effective_until or dt.date.max, vb.effective_until or dt.date.max)
            if start <= end:
                return a, b
    return None


def _bind_evaluators(gs: GuidelineSet, manager: pluggy.PluginManager, timeout: float | None = None) -> dict[str, tuple[Evaluator, str]]:
    bound: dict[str, tuple[Evaluator, str]] = {}
    for plugin, evaluators in _plugins.call_each(manager, "mtus_evaluators", timeout=timeout):
        if evaluators is None:
            continue
        if isinstance(evaluators, (str, bytes)) or not isinstance(evaluators, Iterable):
            raise PluginError(plugin, f"mtus_evaluators returned {_plugins.describe(evaluators, 60)}, not a list", "return a list of @kb_core.evaluator functions")
        for item in evaluators:
            if not isinstance(item, Evaluator):
                raise PluginError(plugin, f"mtus_evaluators returned {_plugins.describe(item, 60)}, not an Evaluator", "decorate the function with @kb_core.evaluator('<criterion id>')")
            cid = item.criterion_id
            if cid not in gs.criteria:
                raise PluginError(plugin, f"evaluator for unknown criterion '{cid}'", "declare the criterion in the plugin's guideline YAML or fix the id")
            owner = gs.criterion_plugin.get(cid)
            if owner != plugin and owner != _plugins.CORE_PLUGIN:
                raise PluginError(plugin, f"evaluator for criterion '{cid}', which plugin '{owner}' declares", "judge only the criteria your own guideline files declare")
            if cid in bound:
                raise PluginError(plugin, f"second evaluator for '{cid}' (the first comes from plugin '{bound[cid][1]}')", "keep one evaluator per criterion")
            bound[cid] = (item, plugin)
    for cid, criterion in gs.criteria.items():
        if cid not in bound:
            raise PluginError(
                gs.criterion_plugin[cid],
                f"no evaluator for criterion '{cid}' (declared in {criterion.file}:{criterion.line})",
                f"add @evaluator('{cid}') to the plugin's mtus_evaluators hook",
            )
    return bound


def load(
    *,
    disable: Iterable[str] = (),
    plugins: Iterable[tuple[str, object]] = (),
    entry_points: bool = True,
    strict: bool = False,
    guidelines: str | Path | None = None,
    allow_supersede: Iterable[str] = (),
) -> KnowledgeBase:
    """Load the knowledge base: installed plugins, their guideline files, the graph.

    A plugin that cannot be imported, breaks the contract in :mod:`kb_core.hookspecs` or
    ships a bad guideline file is left out, and the rest load: the reason is kept in
    ``kb.skipped_plugins`` (``mtus`` prints it, ``mtus plugins`` lists it). With
    ``strict=True`` (for CI) the first such error is raised instead.

    Args:
        disable: plugin names to skip (also ``MTUS_DISABLE_PLUGINS=a,b``).
        plugins: extra ``(name, module)`` plugins to register, e.g. in tests.
        entry_points: set False to load only kb_core's defaults and ``plugins``.
        strict: raise on a broken plugin instead of leaving it out, and on a treatment
            that supersedes another unless its plugin is in ``allow_supersede``.
        guidelines: a directory of guideline files (also ``MTUS_GUIDELINES``): each
            replaces the installed file of the same name, the others are added. For
            guideline authors; a broken file there is an error.
        allow_supersede: plugin names allowed to supersede a treatment under ``strict``
            (also ``MTUS_ALLOW_SUPERSEDE=a,b``).

    A first-party plugin (shipped with mtus-kb) is never left out: its errors raise.

    Raises:
        GuidelineError: a guideline file is malformed (names file, line, key, fix).
        GraphError: references dangle or dependencies form a cycle.
        PluginError: a plugin breaks the contract in :mod:`kb_core.hookspecs`.

    Examples:
        >>> import kb_core
        >>> kb = kb_core.load()
        >>> "work_conditioning" in kb.treatments
        True
    """
    plugins = list(plugins)
    disable = list(disable)
    if guidelines is None and os.environ.get(GUIDELINES_ENV, "").strip():
        guidelines = os.environ[GUIDELINES_ENV].strip()
    allowed = {*allow_supersede, *(n.strip() for n in os.environ.get(ALLOW_SUPERSEDE_ENV, "").split(",") if n.strip())}
    skipped: dict[str, str] = {}
    while True:
        refused: dict[str, str] = {}
        try:
            kb = _load_once([*disable, *skipped], plugins, entry_points, refused, strict, guidelines)
            if strict:
                for tid in sorted(kb.guidelines.supersedes):
                    plugin = kb.guidelines.treatment_plugin.get(tid, "?")
                    if plugin not in allowed:
                        raise PluginError(
                            plugin, f"treatment '{tid}' supersedes {', '.join(kb.guidelines.supersedes[tid])}, which strict loading refuses",
                            f"allow it by name (mtus --allow-supersede {plugin}, {ALLOW_SUPERSEDE_ENV}={plugin}) or disable the plugin",
                        )
        except KBError as exc:
            culprit = getattr(exc, "plugin", None)
            if strict or culprit in (None, _plugins.CORE_PLUGIN) or culprit in skipped or culprit in _plugins.reserved_names():
                raise  # kb_core's data and the first-party plugins are never left out
            skipped[culprit] = str(exc)
            continue
        kb.skipped_plugins = {**refused, **skipped}
        known = {ep.name for ep in _plugins.entry_points(group=_plugins.ENTRY_POINT_GROUP)} | {name for name, _ in plugins}
        kb.unknown_disabled = tuple(sorted({name for name in disable if name not in known}))
        return kb


def _load_once(
    disable: Iterable[str], plugins: Iterable[tuple[str, object]], entry_points: bool,
    refused: dict[str, str] | None = None, strict: bool = False, directory: str | Path | None = None,
) -> KnowledgeBase:
    manager, records = _plugins.build_manager(disable, plugins, entry_points, refused, strict)
    timeout = _plugins.load_timeout()
    files: list[tuple[str, Any]] = []
    # kb_core's shared data first, then the first-party plugins', then third parties': a
    # clash (an id declared twice) is blamed on the plugin that repeats it, whatever its name.
    contributions = _plugins.call_each(manager, "mtus_guideline_files", timeout=timeout)
    for plugin, contributed in sorted(contributions, key=lambda pc: (pc[0] != _plugins.CORE_PLUGIN, not records[pc[0]].first_party)):
        if contributed is None:
            continue
        if isinstance(contributed, (str, bytes)) or not isinstance(contributed, Iterable):
            raise PluginError(plugin, f"mtus_guideline_files returned {_plugins.describe(contributed, 60)}, not a list", "return a list of pathlib.Path or importlib.resources Traversable objects")
        for item in contributed:
            if not hasattr(item, "read_bytes"):
                raise PluginError(plugin, f"mtus_guideline_files returned {_plugins.describe(item, 60)}", "return pathlib.Path or importlib.resources Traversable objects")
            files.append((plugin, item))
    if directory is not None:
        files = _with_directory(files, Path(directory))
    key = _cached_key(files, records)
    guidelines = _cache.read(key) if key else None
    graph = None
    if guidelines is None:
        from kb_core.graph import build_graph  # only to check a set not read from the cache

        try:
            guidelines = load_guidelines(files)
            graph = build_graph(guidelines)  # its checks pass before anything is cached
        except LocatedError as exc:
            owners = {display_path(item): plugin for plugin, item in files}
            exc.plugin = owners.get(exc.path)  # type: ignore[attr-defined]
            raise
        if key:
            _cache.write(key, guidelines)
    kb = KnowledgeBase(guidelines, manager, records, _bind_evaluators(guidelines, manager, timeout))
    kb._graph = graph
    return kb


def _with_directory(files: list[tuple[str, Any]], directory: Path) -> list[tuple[str, Any]]:
    """The installed guideline files with those in ``directory`` put in: a file replaces the
    installed file of the same name (and keeps its plugin), any other is added as kb_core's."""
    if not directory.is_dir():
        raise GuidelineError("not a directory", path=directory, fix=f"point --guidelines / {GUIDELINES_ENV} at a directory of guideline YAML files")
    given = data_files([directory])
    if not given:
        raise GuidelineError("no .yaml, .yml or .json files here", path=directory, fix="put the guideline files in the directory")
    by_name: dict[str, list[str]] = {}
    for plugin, item in files:
        by_name.setdefault(item.name, []).append(plugin)
    replacing = {path.name: path for path in given}
    for path in given:
        owners = by_name.get(path.name, [])
        if len(owners) > 1:
            raise GuidelineError(
                f"several installed plugins ship a file named {path.name} ({', '.join(sorted(owners))})", path=path,
                fix="rename the file in the directory, or disable all but one of those plugins",
            )
    out = [(plugin, replacing.get(item.name, item)) for plugin, item in files]  # in place: load order is kept
    out += [(_plugins.CORE_PLUGIN, path) for path in given if path.name not in by_name]
    return out


def _cached_key(files: list[tuple[str, Any]], records: Mapping[str, _plugins.PluginRecord]) -> str | None:
    """The cache key of these guideline files, or None when the cache is off or a file
    cannot be read (then the normal path reports it)."""
    if _cache.cache_dir() is None:
        return None
    try:
        contents = [(plugin, display_path(item), item.read_bytes()) for plugin, item in files]
    except Exception:
        return None
    return _cache.cache_key(contents, {name: record.version for name, record in records.items()})
