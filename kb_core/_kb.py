"""The knowledge base: load guideline files and plugins, bind evaluators, evaluate cases.

Everything that can be checked is checked in :func:`load`; :meth:`KnowledgeBase.evaluate`
then only walks a precomputed plan per (treatment, guideline version).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import _signal
import keyword
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy

from kb_core import _cache, _plugins
from kb_core._case import Case, load_case, parse_case
from kb_core._loader import RELATION_PARAMETERS, GuidelineSet, display_path, load_guidelines
from kb_core._schemas import case_list_paths
from kb_core._model import (
    PURPOSES,
    Criterion,
    CriterionResult,
    Decision,
    Determination,
    Evaluator,
    Finding,
    Receipt,
    SourceVersion,
    Status,
)
from kb_core.errors import CaseError, EvaluatorError, KBError, LocatedError, PluginError


@dataclass(frozen=True, slots=True)
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
    read_facts: Callable[[Any], dict[str, Any]]  # the criterion's facts, read in one call
    outside_regions: Finding | None  # the finding when a request names none of ``regions``
    undocumented_decides: Mapping[str | None, bool]  # burden.effect(purpose) == "fails", per purpose


class _Deadline(BaseException):
    """Raised inside a hung evaluator by SIGALRM; a BaseException so that a plugin's
    own ``except Exception`` cannot swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Deadline


def _alarm_available() -> bool:
    """Time limits use SIGALRM: only on Unix, in the main thread, and only where nobody
    else installed a SIGALRM handler (we never replace a host application's handler)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return False
    current = _signal.getsignal(signal.SIGALRM)  # the C call: signal.getsignal adds an enum probe (~4 µs)
    if current is _on_alarm:
        return True
    if current in (signal.SIG_DFL, None):
        signal.signal(signal.SIGALRM, _on_alarm)
        return True
    return False


# Enum member lookups are slow on the hot path; bind them once.
_ERROR = Status.ERROR
_NOT_DOCUMENTED = Status.NOT_DOCUMENTED
_FAILING = frozenset({Status.NOT_MET, Status.NOT_DOCUMENTED})
_VALID = frozenset({Status.MET, Status.NOT_MET, Status.NOT_DOCUMENTED, Status.NOT_APPLICABLE})


def _walk(obj: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        if obj is None:
            return None
        if type(obj) is tuple:
            obj = tuple(getattr(item, name, None) for item in obj)
        elif isinstance(obj, dict):
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
    paths are read by generated code in one dict display; should any parent be absent, or a
    path go through a list or ``extra``, each path is read as :func:`_fact_reader` does."""
    readers = tuple((path, _fact_reader(path)) for path in paths)

    def each(case: Any) -> dict[str, Any]:
        return {path: read(case) for path, read in readers}

    plain = all(
        _attribute_path(path) and all(name.isidentifier() and not keyword.iskeyword(name) for name in path.split("."))
        for path in paths
    )
    if not plain:
        return each
    body = ", ".join(f"{path!r}: case.{path}" for path in paths)
    source = f"def read_facts(case):\n    try:\n        return {{{body}}}\n    except AttributeError:\n        return each(case)\n"
    namespace: dict[str, Any] = {"each": each}
    exec(compile(source, f"<facts {', '.join(paths)}>", "exec"), namespace)  # noqa: S102 - paths checked above
    return namespace["read_facts"]  # type: ignore[no-any-return]


_new_result = tuple.__new__  # CriterionResult(...) adds a Python-level __new__ call per result
_CHOICE_SLOTS = 4096  # cached version choices kept per knowledge base (one per date and kind)


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
        self._choices: dict[tuple[str, Any, Any], tuple[Any, ...]] = {}
        self._graph: Any = None
        self.skipped_plugins: dict[str, str] = {}  # plugin name -> why it was left out
        # Seconds the evaluators of one determination may run in all (None: no limit). The
        # evaluator running when it runs out is reported as an error naming its plugin, and
        # the criteria after it get a fresh allowance.
        self.time_limit: float | None = 2.0
        self._by_kind = _treatments_by_kind(guidelines)
        self.digest = self._digest()

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
                criterion, evaluator, plugin, params, citation_text(gs, criterion.citation, version),
                gs.sources[criterion.citation.source].tier, criterion.verification.status,
                tuple((path, _fact_reader(path)) for path in criterion.facts),
                regions, burden, _facts_reader(criterion.facts),
                Finding.not_applicable(f"applies to {', '.join(sorted(regions))} only") if regions else None,
                {purpose: burden.effect(purpose) == "fails" for purpose in (None, *PURPOSES)},
            )

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
            if isinstance(case, (str, Path)):
                case = load_case(case)
            elif not isinstance(case, Case):
                case = parse_case(case)
        self.check_case(case)  # type: ignore[arg-type]
        dates = case.dates  # type: ignore[union-attr]
        key = (case.request.treatment, dates.request, None if dates.request else dates.ur_decision)
        choice = self._choices.get(key)
        if choice is None:
            choice = self._choose(case.request.treatment, dates)
            if len(self._choices) >= _CHOICE_SLOTS:
                self._choices.clear()
            self._choices[key] = choice
        treatment, version, plan, receipt, why = choice
        if why is not None:
            return self._no_criteria(case, version, receipt.version_chosen_by, why, receipt)
        guarded = self.time_limit is not None and _alarm_available()
        if guarded:
            signal.setitimer(signal.ITIMER_REAL, self.time_limit)  # type: ignore[arg-type]
        try:
            run = self._run
            results = tuple([run(step, case, strict, guarded) for step in plan])  # type: ignore[arg-type]
        finally:
            if guarded:
                signal.setitimer(signal.ITIMER_REAL, 0)
        decided = self._combine(treatment, results, case, strict)
        decision, approved, summary = decided
        return Determination(
            case_id=case.case_id, treatment=treatment, decision=decision, summary=summary,
            requested_quantity=case.request.implied_quantity, approved_quantity=approved, results=results,
            receipt=receipt,
            decisive=tuple(
                r.criterion for r in results
                if r.status is _ERROR or (decision is not Decision.CERTIFIED and r.decides and r.status in _FAILING)
            ),
        )

    def evaluate_many(self, cases: Iterable[Case | Mapping[str, Any] | str | Path], *, strict: bool = False) -> list[Determination]:
        """Judge many requests: ``[kb.evaluate(case) for case in cases]``, for batch jobs.

        The version choice, receipt and criteria plan are shared by every case with the same
        treatment kind and dates, so a batch of similar requests pays for them once.

        Raises:
            CaseError: as :meth:`evaluate`, for the first malformed case.
        """
        evaluate = self.evaluate
        return [evaluate(case, strict=strict) for case in cases]

    def _choose(self, kind: str, dates: Any) -> tuple[str | None, SourceVersion | None, tuple[_Step, ...], Receipt, str | None]:
        """Treatment, governing version, plan and receipt for a request of ``kind`` on its
        decisive date, or why there is no determination: the same for every case sharing
        the kind and dates, so :meth:`evaluate` caches it."""
        on = dates.decisive
        chosen_by = f"request date {on}" if dates.request else f"UR decision date {on} (no request date given)"
        treatment = self.treatment_for(kind, on)
        if treatment is None:
            why = f"no installed plugin encodes criteria for {self.guidelines.treatment_kinds[kind]} requests"
            return None, None, (), self._receipt(None, chosen_by), why
        version = self.version_for(treatment, on)
        if version is None:
            why = f"no governing guideline version for {treatment} is in force on {on}"
            return treatment, None, (), self._receipt(None, chosen_by), why
        plan = self._plan(treatment, version)
        if not plan:
            why = f"no criteria are encoded for {version.label} ({version.id})"
            return treatment, version, plan, self._receipt(version, chosen_by), why
        return treatment, version, plan, self._receipt(version, chosen_by), None

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
                path=case.path, where="request.treatment",
                fix=f"use one of: {', '.join(sorted(gs.treatment_kinds))} (criteria are encoded for {', '.join(sorted(self._by_kind))})",
            )
        for key, listed in (("prior_treatments", case.prior_treatments), ("concurrent_treatments", case.concurrent_treatments)):
            for index, other in enumerate(listed):
                if other.treatment not in gs.treatment_kinds:
                    raise CaseError(
                        f"unknown treatment kind '{other.treatment}'",
                        path=case.path, where=f"{key}[{index}].treatment",
                        fix=f"use one of: {', '.join(sorted(gs.treatment_kinds))}",
                    )

    def _run(self, step: _Step, case: Case, strict: bool, guarded: bool) -> CriterionResult:
        if step.regions and step.regions.isdisjoint(case.request.body_regions):
            finding = step.outside_regions
            status = finding.status  # type: ignore[union-attr]
        else:
            finding, status = self._call(step, case, strict, guarded)
        facts = step.read_facts(case)
        if finding.facts:  # type: ignore[union-attr]
            facts.update(finding.facts)  # type: ignore[union-attr]
        criterion = step.criterion
        if status is _NOT_DOCUMENTED:
            purpose = case.request.purpose
            decides = step.undocumented_decides[purpose] if purpose in step.undocumented_decides else step.burden.effect(purpose) == "fails"
        else:
            decides = True
        return _new_result(CriterionResult, (  # type: ignore[arg-type]
            criterion.id, criterion.title, status, finding.reason, step.citation, step.tier, criterion.role,  # type: ignore[union-attr]
            step.params, facts, step.verification,
            criterion.documentation_needed if status in _FAILING else None, finding.approvable, step.plugin, decides,  # type: ignore[union-attr]
        ))

    def _call(self, step: _Step, case: Case, strict: bool, guarded: bool) -> tuple[Finding, Status]:
        try:
            finding = step.evaluator.func(case, step.params)
            status = finding.status if type(finding) is Finding else None
            if status not in _VALID:
                raise TypeError(f"returned {finding!r:.80}, not a Finding")
            return finding, status  # type: ignore[return-value]
        except _Deadline:
            problem = f"evaluator for {step.criterion.id} did not finish within {self.time_limit} s"
            if guarded:  # the next criterion gets a full time limit of its own
                signal.setitimer(signal.ITIMER_REAL, self.time_limit)  # type: ignore[arg-type]
            cause: BaseException | None = None
        except Exception as exc:
            problem = f"evaluator for {step.criterion.id} failed: {type(exc).__name__}: {exc}"
            cause = exc
        if strict:
            raise EvaluatorError(step.plugin, problem, "fix the evaluator; it must return a kb_core.Finding promptly") from cause
        return Finding(_ERROR, f"plugin '{step.plugin}': {problem}"), _ERROR

    def _combine(self, treatment: str, results: tuple[CriterionResult, ...], case: Case, strict: bool) -> tuple[Decision, int | None, str]:
        offered = {"treatment": treatment, "results": results, "case": case}
        for impl in self._combine_impls:  # pluggy order: last registered first
            try:
                outcome = impl.function(**{name: offered[name] for name in impl.argnames})
                if outcome is not None and not (isinstance(outcome, tuple) and len(outcome) == 3 and isinstance(outcome[0], Decision)):
                    raise TypeError(f"returned {outcome!r:.80}, not (Decision, approved_quantity, summary) or None")
            except Exception as exc:
                problem = f"mtus_combine failed: {type(exc).__name__}: {exc}"
                if strict:
                    raise PluginError(impl.plugin_name, problem, "return (Decision, approved_quantity, summary) or None") from exc
                return Decision.ERROR, None, f"No decision: plugin '{impl.plugin_name}': {problem}."
            if outcome is not None:
                return outcome  # type: ignore[no-any-return]
        raise PluginError(_plugins.CORE_PLUGIN, "no mtus_combine implementation answered")

    @functools.cached_property
    def _combine_impls(self) -> list[Any]:
        """The mtus_combine implementations, looked up once: plugins register only at load."""
        return self._manager.hook.mtus_combine.get_hookimpls()[::-1]  # type: ignore[no-any-return]

    def _receipt(self, version: SourceVersion | None, chosen_by: str) -> Receipt:
        return Receipt(
            package_version=self.version,
            guideline_version=version.id if version else None,
            guideline_version_label=version.label if version else None,
            version_chosen_by=chosen_by,
            knowledge_base_digest=self.digest,
            plugins={name: record.version for name, record in sorted(self.plugins.items())},
        )

    def _no_criteria(self, case: Case, version: SourceVersion | None, chosen_by: str, why: str, receipt: Receipt | None = None) -> Determination:
        return Determination(
            case_id=case.case_id, treatment=self.treatment_for(case.request.treatment) or case.request.treatment, decision=Decision.NO_CRITERIA,
            summary=f"No determination: {why}. An older text is never applied in its place.",
            requested_quantity=case.request.implied_quantity, approved_quantity=None, results=(),
            receipt=receipt or self._receipt(version, chosen_by),
        )


TIER_RANK = {"mtus": 0, "statute": 0, "regulation": 0, "acoem": 1, "odg": 2, "reference": 3}


def treatment_tier(gs: GuidelineSet, treatment: str) -> str:
    """The evidence tier of the texts governing ``treatment`` (the highest among them)."""
    tiers = [gs.versions[v].tier for v in gs.treatments[treatment].governed_by]
    return min(tiers, key=TIER_RANK.__getitem__)


def _treatments_by_kind(gs: GuidelineSet) -> dict[str, list[str]]:
    """Request kind -> treatments that judge it, best evidence tier first.

    Raises:
        PluginError: two treatments of the same tier govern the same kind on some date
            (a real conflict, reported rather than resolved by load order).
    """
    by_kind: dict[str, list[str]] = {}
    for tid, treatment in sorted(gs.treatments.items()):
        for kind in treatment.requested_as:
            by_kind.setdefault(kind, []).append(tid)
    for kind, tids in by_kind.items():
        tids.sort(key=lambda t: (TIER_RANK[treatment_tier(gs, t)], t))
        for i, first in enumerate(tids):
            for second in tids[i + 1:]:
                if treatment_tier(gs, first) != treatment_tier(gs, second):
                    continue
                overlap = _overlapping(gs, first, second)
                if overlap:
                    raise PluginError(
                        gs.criterion_plugin.get(gs.treatments[second].criteria[0], "?"),
                        f"treatment '{second}' and treatment '{first}' (plugin "
                        f"'{gs.criterion_plugin.get(gs.treatments[first].criteria[0], '?')}') both judge '{kind}' requests "
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


def _bind_evaluators(gs: GuidelineSet, manager: pluggy.PluginManager) -> dict[str, tuple[Evaluator, str]]:
    bound: dict[str, tuple[Evaluator, str]] = {}
    for plugin, evaluators in _plugins.call_each(manager, "mtus_evaluators"):
        if evaluators is None:
            continue
        for item in evaluators:
            if not isinstance(item, Evaluator):
                raise PluginError(plugin, f"mtus_evaluators returned {item!r:.60}, not an Evaluator", "decorate the function with @kb_core.evaluator('<criterion id>')")
            cid = item.criterion_id
            if cid not in gs.criteria:
                raise PluginError(plugin, f"evaluator for unknown criterion '{cid}'", "declare the criterion in the plugin's guideline YAML or fix the id")
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
        strict: raise on a broken plugin instead of leaving it out.

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
    skipped: dict[str, str] = {}
    while True:
        try:
            kb = _load_once([*disable, *skipped], plugins, entry_points)
        except KBError as exc:
            culprit = getattr(exc, "plugin", None)
            if strict or culprit in (None, _plugins.CORE_PLUGIN) or culprit in skipped:
                raise
            skipped[culprit] = str(exc)
            continue
        kb.skipped_plugins = skipped
        return kb


def _load_once(disable: Iterable[str], plugins: Iterable[tuple[str, object]], entry_points: bool) -> KnowledgeBase:
    from kb_core.graph import build_graph

    manager, records = _plugins.build_manager(disable, plugins, entry_points)
    files: list[tuple[str, Any]] = []
    # kb_core's shared data first, so a clash is blamed on the plugin that repeats it.
    for plugin, contributed in sorted(_plugins.call_each(manager, "mtus_guideline_files"), key=lambda pc: pc[0] != _plugins.CORE_PLUGIN):
        for item in contributed or ():
            if not hasattr(item, "read_bytes"):
                raise PluginError(plugin, f"mtus_guideline_files returned {item!r:.60}", "return pathlib.Path or importlib.resources Traversable objects")
            files.append((plugin, item))
    key = _cached_key(files, records)
    guidelines = _cache.read(key) if key else None
    graph = None
    if guidelines is None:
        try:
            guidelines = load_guidelines(files)
            graph = build_graph(guidelines)  # its checks pass before anything is cached
        except LocatedError as exc:
            owners = {display_path(item): plugin for plugin, item in files}
            exc.plugin = owners.get(exc.path)  # type: ignore[attr-defined]
            raise
        if key:
            _cache.write(key, guidelines)
    kb = KnowledgeBase(guidelines, manager, records, _bind_evaluators(guidelines, manager))
    kb._graph = graph
    return kb


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
