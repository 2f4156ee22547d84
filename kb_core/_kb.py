"""The knowledge base: load guideline files and plugins, bind evaluators, evaluate cases.

Everything that can be checked is checked in :func:`load`; :meth:`KnowledgeBase.evaluate`
then only walks a precomputed plan per (treatment, guideline version).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import signal
import threading
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pluggy

from kb_core import _plugins
from kb_core._case import Case, load_case, parse_case
from kb_core._loader import RELATION_PARAMETERS, GuidelineSet, display_path, load_guidelines
from kb_core._schemas import case_list_paths
from kb_core._model import (
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
    definitions: tuple[str, ...] = ()  # definitions the criterion uses, cited by the request date


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
    current = signal.getsignal(signal.SIGALRM)
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
_NOT_MET, _NOT_APPLICABLE = Status.NOT_MET, Status.NOT_APPLICABLE
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

    through_list = any(".".join(names[:i]) in case_list_paths() for i in range(1, len(names)))
    return (lambda case: _walk(case, names)) if through_list or names[0] == "extra" else read


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
        self._graph: Any = None
        self.skipped_plugins: dict[str, str] = {}  # plugin name -> why it was left out
        # Seconds the evaluators of one determination may run in all (None: no limit). The
        # evaluator running when it runs out is reported as an error naming its plugin, and
        # the criteria after it get a fresh allowance.
        self.time_limit: float | None = 2.0
        self._by_kind = _treatments_by_kind(guidelines)
        self._era = _Era.read(guidelines)
        self._definition_cites: dict[tuple[str, dt.date], str] = {}
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
        """The criteria graph (``networkx.MultiDiGraph``), built and checked at load."""
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
            yield _Step(
                criterion, evaluator, plugin, params, citation_text(gs, criterion.citation, self._cited_version(criterion.citation.source, version)),
                gs.sources[criterion.citation.source].tier, criterion.verification.status,
                tuple((path, _fact_reader(path)) for path in criterion.facts),
                frozenset(criterion.body_regions), criterion.when_undocumented, criterion.definitions,
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
        if isinstance(case, (str, Path)):
            case = load_case(case)
        elif not isinstance(case, Case):
            case = parse_case(case)
        self.check_case(case)
        on, chosen_by = self._era.version_date(case)
        if case.request.treatment in self._era.not_addressed:
            return self._not_addressed(case, chosen_by)
        treatment = self.treatment_for(case.request.treatment, on)
        if treatment is None:
            return self._no_criteria(
                case, None, chosen_by,
                f"no installed plugin encodes criteria for {self.guidelines.treatment_kinds[case.request.treatment]} requests",
            )
        version = self.version_for(treatment, on)
        if version is None:
            return self._no_criteria(case, None, chosen_by, f"no governing guideline version for {treatment} is in force on {on}")
        plan = self._plan(treatment, version)
        licensed = self.licensed(version.id)
        if not plan and licensed:
            return self._unavailable(case, treatment, version, on, chosen_by, ())
        if not plan:
            return self._no_criteria(case, version, chosen_by, f"no criteria are encoded for {version.label} ({version.id})")
        guarded = self.time_limit is not None and _alarm_available()
        if guarded:
            signal.setitimer(signal.ITIMER_REAL, self.time_limit)  # type: ignore[arg-type]
        try:
            results = tuple(self._run(step, case, strict, guarded) for step in plan)
        finally:
            if guarded:
                signal.setitimer(signal.ITIMER_REAL, 0)
        decided = self._combine(treatment, results, case, strict)
        decision, approved, summary = decided
        if licensed and not _decided_by_encoded_text(decision, results):
            return self._unavailable(case, treatment, version, on, chosen_by, results)
        return Determination(
            case_id=case.case_id, treatment=treatment, decision=decision, summary=summary,
            requested_quantity=case.request.implied_quantity, approved_quantity=approved, results=results,
            receipt=self._receipt(version, chosen_by),
            decisive=tuple(
                r.criterion for r in results
                if r.status is _ERROR or (decision is not Decision.CERTIFIED and r.decides and r.status in _FAILING)
            ),
        )

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
            finding = Finding.not_applicable(f"applies to {', '.join(sorted(step.regions))} only")
            status = finding.status
        else:
            finding, status = self._call(step, case, strict, guarded)
        facts = {path: read(case) for path, read in step.fact_readers}
        if finding.facts:
            facts.update(finding.facts)
        criterion = step.criterion
        citation = step.citation
        if step.definitions:
            on = case.dates.decisive
            citation += "".join(self.definition_citation(did, on) for did in step.definitions)
        decides = status is not _NOT_DOCUMENTED or step.burden.effect(case.request.purpose) == "fails"
        return CriterionResult(
            criterion.id, criterion.title, status, finding.reason, citation, step.tier, criterion.role,
            step.params, facts, step.verification,
            criterion.documentation_needed if status in _FAILING else None, finding.approvable, step.plugin, decides,
        )

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
        for impl in self._manager.hook.mtus_combine.get_hookimpls()[::-1]:  # pluggy order: last registered first
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

    def _receipt(self, version: SourceVersion | None, chosen_by: str) -> Receipt:
        return Receipt(
            package_version=self.version,
            guideline_version=version.id if version else None,
            guideline_version_label=version.label if version else None,
            version_chosen_by=chosen_by,
            knowledge_base_digest=self.digest,
            plugins={name: record.version for name, record in sorted(self.plugins.items())},
        )

    def _no_criteria(self, case: Case, version: SourceVersion | None, chosen_by: str, why: str) -> Determination:
        return Determination(
            case_id=case.case_id, treatment=self.treatment_for(case.request.treatment) or case.request.treatment, decision=Decision.NO_CRITERIA,
            summary=f"No determination: {why}. An older text is never applied in its place.",
            requested_quantity=case.request.implied_quantity, approved_quantity=None, results=(),
            receipt=self._receipt(version, chosen_by),
        )

    def _unavailable(
        self, case: Case, treatment: str, version: SourceVersion, on: dt.date, chosen_by: str,
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
            requested_quantity=case.request.implied_quantity, approved_quantity=None, results=results,
            receipt=self._receipt(version, chosen_by), decisive=tuple(r.criterion for r in still),
        )

    def _not_addressed(self, case: Case, chosen_by: str) -> Determination:
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
            requested_quantity=case.request.implied_quantity, approved_quantity=None, results=(),
            receipt=self._receipt(None, chosen_by),
        )


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


@dataclass(frozen=True, slots=True)
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
    try:
        guidelines = load_guidelines(files)
        graph = build_graph(guidelines)
    except LocatedError as exc:
        owners = {display_path(item): plugin for plugin, item in files}
        exc.plugin = owners.get(exc.path)  # type: ignore[attr-defined]
        raise
    kb = KnowledgeBase(guidelines, manager, records, _bind_evaluators(guidelines, manager))
    kb._graph = graph
    return kb
