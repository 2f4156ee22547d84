"""Guideline YAML files -> a checked :class:`GuidelineSet`.

Each file is read strictly (see ``_yaml``), validated against ``guideline.schema.json``,
and turned into model objects. Then the files are checked together: an id declared twice,
or a reference to something no file declares, is an error at the line of the reference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from kb_core._model import (
    Burden,
    Citation,
    Criterion,
    Definition,
    Parameter,
    ProgramGroup,
    Source,
    SourceVersion,
    Treatment,
    Verification,
)
from kb_core._records import record
from kb_core._schemas import case_fact_paths, schema, validate
from kb_core._yaml import GUIDELINE_LIMITS, LocatedDict, check_document, line_of, parse_bytes
from kb_core.errors import GraphError, GuidelineError


# Parameter names a criterion may list that come from the treatment's relations, not a value.
RELATION_PARAMETERS = frozenset({"requires_prior_trial_of", "same_or_similar_program"})


class Readable(Protocol):
    """A file-like resource: a ``pathlib.Path`` or an ``importlib.resources`` Traversable."""

    name: str

    def read_bytes(self) -> bytes: ...


@record
class GuidelineFile:
    """One guideline file as read: who contributed it, where it is, and its exact bytes."""

    plugin: str
    path: str
    content: bytes


# A dataclass whose methods are written out below, not generated at import (see kb_core._records).
@dataclass(init=False, repr=False, eq=False)
class GuidelineSet:
    """Everything the guideline files declare, keyed by id."""

    files: list[GuidelineFile] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)
    versions: dict[str, SourceVersion] = field(default_factory=dict)
    definitions: dict[str, Definition] = field(default_factory=dict)
    treatment_kinds: dict[str, str] = field(default_factory=dict)
    program_groups: dict[str, ProgramGroup] = field(default_factory=dict)
    treatments: dict[str, Treatment] = field(default_factory=dict)
    criteria: dict[str, Criterion] = field(default_factory=dict)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    # id -> (file, line) of its declaration, for "declared twice" messages
    declared_at: dict[tuple[str, str], tuple[str, int | None]] = field(default_factory=dict)
    # (file, line, where, kind, target) references to check once every file is read
    references: list[tuple[str, int | None, str, str, str]] = field(default_factory=list)
    # criterion id -> plugin that contributed its file
    criterion_plugin: dict[str, str] = field(default_factory=dict)
    # semantic version of the first-party knowledge base (common.yaml's kb_version)
    kb_version: str | None = None
    # treatment id -> plugin that contributed its file (the plugin whose combine hook decides it)
    treatment_plugin: dict[str, str] = field(default_factory=dict)
    # treatment id -> the treatments it explicitly supersedes (``supersedes:`` in its YAML)
    supersedes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __init__(
        self, files: list[GuidelineFile] | None = None, sources: dict[str, Source] | None = None,
        versions: dict[str, SourceVersion] | None = None, definitions: dict[str, Definition] | None = None,
        treatment_kinds: dict[str, str] | None = None, program_groups: dict[str, ProgramGroup] | None = None,
        treatments: dict[str, Treatment] | None = None, criteria: dict[str, Criterion] | None = None,
        parameters: dict[str, Parameter] | None = None, declared_at: dict[tuple[str, str], tuple[str, int | None]] | None = None,
        references: list[tuple[str, int | None, str, str, str]] | None = None, criterion_plugin: dict[str, str] | None = None,
        kb_version: str | None = None, treatment_plugin: dict[str, str] | None = None,
        supersedes: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        # None: a new, empty container, as the fields' default factories give
        self.files = [] if files is None else files
        self.sources = {} if sources is None else sources
        self.versions = {} if versions is None else versions
        self.definitions = {} if definitions is None else definitions
        self.treatment_kinds = {} if treatment_kinds is None else treatment_kinds
        self.program_groups = {} if program_groups is None else program_groups
        self.treatments = {} if treatments is None else treatments
        self.criteria = {} if criteria is None else criteria
        self.parameters = {} if parameters is None else parameters
        self.declared_at = {} if declared_at is None else declared_at
        self.references = [] if references is None else references
        self.criterion_plugin = {} if criterion_plugin is None else criterion_plugin
        self.kb_version = kb_version
        self.treatment_plugin = {} if treatment_plugin is None else treatment_plugin
        self.supersedes = {} if supersedes is None else supersedes

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return _guideline_set_fields(self) == _guideline_set_fields(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _GUIDELINE_SET_FIELDS)
        return f"{type(self).__qualname__}({shown})"


_GUIDELINE_SET_FIELDS = tuple(GuidelineSet.__dataclass_fields__)
_guideline_set_fields = attrgetter(*_GUIDELINE_SET_FIELDS)


def _date(text: str | None, path: str, line: int | None, where: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise GuidelineError(
            f"'{text}' is not a calendar date", path=path, line=line, where=where, fix="write YYYY-MM-DD"
        ) from None


def _burden(node: Mapping[str, Any] | None) -> Burden:
    if node is None:
        return Burden()
    return Burden(node["default"], dict(node.get("by_purpose", {})), node["basis"])


def _verification(node: Mapping[str, Any] | None) -> Verification | None:
    return None if node is None else Verification(node["status"], node.get("note"), node.get("verified_by"))


def _frozen(value: Any) -> Any:
    """Parameter values are shared by every evaluation: make lists and tables immutable."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    return value


def _citation(node: Mapping[str, Any]) -> Citation:
    return Citation(
        node["source"], node["section"], node.get("pages"), node.get("item"),
        tuple(sorted((node.get("sections_by_version") or {}).items())),
    )


class _FileReader:
    """Turns one validated document into model objects inside a GuidelineSet."""

    def __init__(self, into: GuidelineSet, path: str, document: LocatedDict, plugin: str) -> None:
        self.into = into
        self.path = path
        self.doc = document
        self.plugin = plugin

    def line(self, *location: str | int) -> int | None:
        return line_of(self.doc, location)

    def declare(self, kind: str, ident: str, *location: str | int) -> None:
        key = (kind, ident)
        line = self.line(*location)
        if key in self.into.declared_at:
            first_path, first_line = self.into.declared_at[key]
            raise GuidelineError(
                f"{kind} '{ident}' is declared twice (first at {first_path}:{first_line})",
                path=self.path,
                line=line,
                where=".".join(map(str, location)),
                fix=f"rename one of them or remove the duplicate {kind}",
            )
        self.into.declared_at[key] = (self.path, line)

    def refer(self, kind: str, target: str, *location: str | int) -> None:
        self.into.references.append((self.path, self.line(*location), ".".join(map(str, location)), kind, target))

    def cite(self, node: Mapping[str, Any], *location: str | int) -> Citation:
        self.refer("source", node["source"], *location, "source")
        return _citation(node)

    def read(self) -> None:
        doc = self.doc
        if "kb_version" in doc:
            self.declare("kb_version", "kb_version", "kb_version")
            self.into.kb_version = doc["kb_version"]
        for sid, node in doc.get("sources", {}).items():
            self.declare("source", sid, "sources", sid)
            for vid, vnode in node["versions"].items():
                loc = ("sources", sid, "versions", vid)
                self.declare("version", vid, *loc)
                start = _date(vnode.get("effective_from"), self.path, self.line(*loc), ".".join(loc))
                until = _date(vnode.get("effective_until"), self.path, self.line(*loc), ".".join(loc))
                if start and until and until < start:
                    raise GuidelineError(
                        "effective_until is before effective_from",
                        path=self.path, line=self.line(*loc), where=".".join(loc), fix="swap or correct the dates",
                    )
                if vnode.get("pages_from"):
                    self.refer("version", vnode["pages_from"], *loc, "pages_from")
                self.into.versions[vid] = SourceVersion(
                    vid, sid, vnode["label"], node["tier"], start, until, vnode.get("pages_from"),
                    _verification(vnode.get("verification")), self.path, self.line(*loc),
                )
            self.into.sources[sid] = Source(sid, node["title"], node["tier"], node.get("reference"), tuple(node["versions"]))

        for did, node in doc.get("definitions", {}).items():
            dloc = ("definitions", did)
            self.declare("definition", did, *dloc)
            for used in node.get("uses", ()):
                self.refer("definition", used, *dloc, "uses")
            by_date = tuple(
                (_date(entry["from"], self.path, self.line(*dloc), f"definitions.{did}"), self.cite(entry["citation"], *dloc))
                for entry in node.get("citations_by_date", ())
            )
            self.into.definitions[did] = Definition(
                did, node["term"], node["statement"], self.cite(node["citation"], *dloc, "citation"),
                tuple(sorted((d, c) for d, c in by_date if d is not None)),  # type: ignore[misc]
                tuple(node.get("uses", ())), _verification(node["verification"]),  # type: ignore[arg-type]
                self.path, self.line(*dloc),
            )

        for name, pnode in doc.get("shared_parameters", {}).items():
            self.read_parameter(f"shared.{name}", name, pnode, ("shared_parameters", name))

        for kid, node in doc.get("treatment_kinds", {}).items():
            self.declare("treatment kind", kid, "treatment_kinds", kid)
            self.into.treatment_kinds[kid] = node["title"]

        for gid, node in doc.get("program_groups", {}).items():
            gloc = ("program_groups", gid)
            self.declare("program group", gid, *gloc)
            for index, member in enumerate(node["members"]):
                self.refer("treatment kind", member, *gloc, "members", index)
            self.into.program_groups[gid] = ProgramGroup(
                gid, node["title"], tuple(node["members"]), self.cite(node["citation"], *gloc, "citation"),
                _verification(node["verification"]), self.path, self.line(*gloc),  # type: ignore[arg-type]
            )

        for tid, node in doc.get("treatments", {}).items():
            self.read_treatment(tid, node)

    def read_parameter(self, pid: str, name: str, pnode: Mapping[str, Any], ploc: tuple[str, ...]) -> None:
        self.declare("parameter", pid, *ploc)
        for vid in pnode.get("by_version", {}):
            self.refer("version", vid, *ploc, "by_version", vid)
        self.into.parameters[pid] = Parameter(
            pid, name, _frozen(pnode["value"]), {k: _frozen(v) for k, v in pnode.get("by_version", {}).items()},
            pnode["unit"], self.cite(pnode["citation"], *ploc, "citation"),
            _verification(pnode["verification"]),  # type: ignore[arg-type]
            pnode.get("description"), self.path, self.line(*ploc),
        )

    def read_treatment(self, tid: str, node: Mapping[str, Any]) -> None:
        loc = ("treatments", tid)
        self.declare("treatment", tid, *loc)
        for index, vid in enumerate(node["governed_by"]):
            self.refer("version", vid, *loc, "governed_by", index)
        requested_as = tuple(node.get("requested_as", (tid,)))
        for index, kind in enumerate(requested_as):
            self.refer("treatment kind", kind, *loc, "requested_as", index)
        for index, kind in enumerate(node.get("requires_prior_trial_of", ())):
            self.refer("treatment kind", kind, *loc, "requires_prior_trial_of", index)

        param_ids = []
        for name, pnode in node.get("parameters", {}).items():
            pid = f"{tid}.{name}"
            self.read_parameter(pid, name, pnode, (*loc, "parameters", name))
            param_ids.append(pid)

        criterion_ids = []
        facts_allowed = case_fact_paths()
        regions_allowed = set(schema("case")["$defs"]["region"]["enum"])
        for key, cnode in node["criteria"].items():
            cloc = (*loc, "criteria", key)
            cid = f"{tid}.{key}"
            self.declare("criterion", cid, *cloc)
            for index, vid in enumerate(cnode["applies_to"]):
                if vid not in node["governed_by"]:
                    raise GuidelineError(
                        f"criterion applies to '{vid}', which does not govern treatment '{tid}'",
                        path=self.path, line=self.line(*cloc, "applies_to", index), where=f"{'.'.join(cloc)}.applies_to",
                        fix=f"use one of {list(node['governed_by'])} or add '{vid}' to governed_by",
                    )
            for index, fact in enumerate(cnode["facts"]):
                if fact not in facts_allowed and not fact.startswith("extra."):
                    raise GuidelineError(
                        f"fact '{fact}' is not in the case format",
                        path=self.path, line=self.line(*cloc, "facts", index), where=f"{'.'.join(cloc)}.facts",
                        fix="name a dotted path from kb_core/schemas/case.schema.json (e.g. request.quantity), or extra.<key> for a plugin's own fact",
                    )
            for index, region in enumerate(cnode.get("body_regions", ())):
                if region not in regions_allowed:
                    raise GuidelineError(
                        f"unknown body region '{region}'",
                        path=self.path, line=self.line(*cloc, "body_regions", index), where=f"{'.'.join(cloc)}.body_regions",
                        fix=f"use one of {sorted(regions_allowed)}",
                    )
            params = tuple(p if "." in p else f"{tid}.{p}" for p in cnode.get("parameters", ()))
            for index, pid in enumerate(params):
                if pid.rsplit(".", 1)[1] not in RELATION_PARAMETERS:
                    self.refer("parameter", pid, *cloc, "parameters", index)
            short = [p.rsplit(".", 1)[1] for p in params]
            if len(set(short)) != len(short):
                raise GuidelineError(
                    "two parameters share a short name", path=self.path, line=self.line(*cloc, "parameters"),
                    where=f"{'.'.join(cloc)}.parameters", fix="rename one; evaluators receive parameters by short name",
                )
            for index, did in enumerate(cnode.get("definitions", ())):
                self.refer("definition", did, *cloc, "definitions", index)
            depends = tuple(f"{tid}.{d}" for d in cnode.get("depends_on", ()))
            for index, dep in enumerate(depends):
                self.refer("criterion", dep, *cloc, "depends_on", index)
            self.into.criteria[cid] = Criterion(
                cid, tid, cnode["title"], cnode["statement"], self.cite(cnode["citation"], *cloc, "citation"),
                tuple(cnode["applies_to"]), cnode.get("role", "admission"), tuple(cnode.get("body_regions", ())),
                tuple(cnode["facts"]), params, tuple(cnode.get("definitions", ())), depends,
                cnode["documentation_needed"], _verification(cnode["verification"]),  # type: ignore[arg-type]
                self.path, self.line(*cloc), _burden(cnode.get("when_undocumented")),
            )
            self.into.criterion_plugin[cid] = self.plugin
            criterion_ids.append(cid)

        self.into.treatment_plugin[tid] = self.plugin
        if node.get("supersedes"):
            for index, other in enumerate(node["supersedes"]):
                self.refer("treatment", other, *loc, "supersedes", index)
            self.into.supersedes[tid] = tuple(node["supersedes"])
        self.into.treatments[tid] = Treatment(
            tid, node["title"], requested_as, tuple(node["governed_by"]), tuple(node.get("requires_prior_trial_of", ())),
            tuple(criterion_ids), tuple(param_ids), self.path, self.line(*loc),
        )


def read_guideline_document(raw: bytes, path: str) -> LocatedDict:
    """Parse and schema-check one guideline file (no cross-file checks)."""
    if len(raw) > GUIDELINE_LIMITS.max_bytes:
        raise GuidelineError(f"the file is larger than {GUIDELINE_LIMITS.max_bytes} bytes", path=path, fix="split it into several files")
    document = parse_bytes(raw, path, GuidelineError)
    check_document(document, path, GuidelineError, GUIDELINE_LIMITS)
    if not isinstance(document, dict):
        raise GuidelineError(
            "the file must be a mapping at the top level", path=path, line=1,
            fix="start with one of: sources, definitions, treatment_kinds, program_groups, treatments",
        )
    validate(document, "guideline", path, GuidelineError)
    return document  # type: ignore[return-value]


def display_path(resource: Readable | Path) -> str:
    text = str(resource)
    # Installed data shows as site-packages/kb_guidelines/x.yaml; keep it short but findable.
    marker = text.rfind("kb_guidelines")
    return text[marker:] if marker >= 0 and not Path(text).is_relative_to(Path.cwd()) else text


def load_guidelines(files: Iterable[tuple[str, Readable | Path]]) -> GuidelineSet:
    """Read ``(plugin name, file)`` pairs into one checked GuidelineSet."""
    into = GuidelineSet()
    for plugin, resource in files:
        path = display_path(resource)
        try:
            raw = resource.read_bytes()
        except OSError as exc:
            raise GuidelineError(f"cannot read file: {exc}", path=path, fix="check the plugin's file list") from None
        document = read_guideline_document(raw, path)
        into.files.append(GuidelineFile(plugin, path, raw))
        _FileReader(into, path, document, plugin).read()
    _check_references(into)
    return into


def _check_references(into: GuidelineSet) -> None:
    known: dict[str, Mapping[str, Any]] = {
        "source": into.sources,
        "version": into.versions,
        "definition": into.definitions,
        "treatment kind": into.treatment_kinds,
        "parameter": into.parameters,
        "criterion": into.criteria,
        "treatment": into.treatments,
    }
    for path, line, where, kind, target in into.references:
        if target not in known[kind]:
            choices = sorted(known[kind])
            import difflib  # only to word the error

            near = difflib.get_close_matches(target, choices, n=3, cutoff=0.75)
            raise GraphError(
                f"{kind} '{target}' is not declared in any guideline file",
                path=path, line=line, where=where,
                fix=f"did you mean {' or '.join(repr(n) for n in near)}?" if near
                else f"declare it, or use one of: {', '.join(choices[:12])}{' ...' if len(choices) > 12 else ''}",
            )
