"""The ``mtus`` command. Exit codes: 0 ok, 1 invalid input, a failed check or an error decision, 2 usage, 130 interrupted."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from kb_core._case import load_case, parse_case
from kb_core._kb import KnowledgeBase, load
from kb_core._render import determination_json, determination_text, safe_json, safe_text
from kb_core._yaml import GUIDELINE_LIMITS, data_files, read_document
from kb_core.errors import KBError, LocatedError, PluginError

F = TypeVar("F", bound=Callable[..., Any])
DATE_FORMATS = ["%Y-%m-%d", "%Y-%m", "%Y"]
CASE_KEYS = frozenset({"request", "dates", "case_id", "expected"})
GUIDELINE_KEYS = frozenset({"sources", "definitions", "shared_parameters", "treatment_kinds", "program_groups", "treatments"})
EVALUATE_TIMEOUT_ENV = "MTUS_EVALUATE_TIMEOUT"  # seconds one command's evaluation may take (watchdog)
DEFAULT_EVALUATE_TIMEOUT = 60.0


class _Context:
    def __init__(self, disable: tuple[str, ...], strict: bool, guidelines: Path | None = None, allow_supersede: tuple[str, ...] = ()) -> None:
        self.disable = disable
        self.strict = strict
        self.guidelines = guidelines
        self.allow_supersede = allow_supersede
        self._kb: KnowledgeBase | None = None

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            self._kb = load(disable=self.disable, strict=self.strict, guidelines=self.guidelines, allow_supersede=self.allow_supersede)
            if self._kb.unknown_disabled:
                raise click.UsageError(f"--disable-plugin: no plugin named {', '.join(repr(n) for n in self._kb.unknown_disabled)} is installed; installed: {', '.join(sorted(self._kb.plugins))}")
            for name, why in self._kb.skipped_plugins.items():
                _echo(f"warning: plugin '{name}' left out: {why}", err=True)
            for item in self._kb.supersessions:
                _echo(f"note: {item} (shown in every receipt)", err=True)
        return self._kb


def _echo(text: str, err: bool = False, nl: bool = True) -> None:
    """click.echo for any string: lone surrogates and control characters escaped."""
    click.echo(safe_text(text), err=err, nl=nl)


def _fail(exc: BaseException) -> None:
    _echo(f"error: {exc}", err=True)
    sys.exit(1)


def _guarded(func: F) -> F:
    """Turn the package's own errors and unwritable files into a message on stderr and exit
    status 1; an interrupt (Ctrl-C, or raised by plugin code) into a named message and 130."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KBError as exc:
            _fail(exc)
        except OSError as exc:
            _fail(KBError(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": ")))
        except KeyboardInterrupt as exc:
            notes = "; ".join(getattr(exc, "__notes__", ()))
            _echo(f"error: interrupted{f' ({notes})' if notes else ''}", err=True)
            sys.exit(130)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


@click.group()
@click.option("--disable-plugin", "disable", multiple=True, metavar="NAME", help="Skip an installed plugin (repeatable; also MTUS_DISABLE_PLUGINS=a,b).")
@click.option("--strict-plugins", is_flag=True, help="Fail (exit 1) on a broken plugin, or a treatment superseding another, instead of leaving it out with a warning.")
@click.option("--guidelines", "guidelines", type=click.Path(file_okay=False, path_type=Path), envvar="MTUS_GUIDELINES",
              help="Directory of guideline files: each replaces the installed file of the same name, others are added (also MTUS_GUIDELINES).")
@click.option("--allow-supersede", "allow_supersede", multiple=True, metavar="PLUGIN", help="Under --strict-plugins, allow this plugin's declared supersessions (repeatable; also MTUS_ALLOW_SUPERSEDE=a,b).")
@click.version_option(package_name="mtus-kb")
@click.pass_context
def main(ctx: click.Context, disable: tuple[str, ...], strict_plugins: bool, guidelines: Path | None, allow_supersede: tuple[str, ...]) -> None:
    """California MTUS treatment guidelines as an executable, cited knowledge base."""
    ctx.obj = _Context(disable, strict_plugins, guidelines, allow_supersede)


def _evaluate_timeout() -> float | None:
    text = os.environ.get(EVALUATE_TIMEOUT_ENV, "").strip()
    try:
        value = float(text) if text else DEFAULT_EVALUATE_TIMEOUT
    except ValueError:
        raise click.UsageError(f"{EVALUATE_TIMEOUT_ENV}={text!r} is not a number of seconds") from None
    return value if value > 0 else None


def _watched(func: Callable[[], Any], timeout: float | None, blame: str) -> Any:
    """Run ``func`` in a daemon worker thread and wait at most ``timeout`` seconds: how a host
    bounds a plugin that never returns (the library's own time budget is cooperative). On
    expiry the command ends with an error naming ``blame``; the stuck thread ends with it."""
    outcome: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            outcome.append((True, func()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the command's thread
            outcome.append((False, exc))

    worker = threading.Thread(target=target, name="mtus-evaluate", daemon=True)
    worker.start()
    worker.join(timeout)
    if not outcome:
        raise PluginError(blame, f"did not finish within {timeout} s ({EVALUATE_TIMEOUT_ENV})", "fix or disable the plugin, or raise the limit")
    ok, value = outcome[0]
    if ok:
        return value
    raise value


@main.command()
@click.argument("cases", metavar="CASE...", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Fail (exit 1) if a plugin is broken, raises or misbehaves instead of reporting it.")
@click.pass_obj
@_guarded
def evaluate(obj: _Context, cases: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Evaluate case files (YAML or JSON) and print each determination.

    With several files, text determinations follow one another under a '==> FILE <=='
    line and JSON is an array in the order given; an invalid file is reported on stderr,
    the others are still evaluated, and the exit status is 1.
    """
    obj.strict = obj.strict or strict
    if len(cases) == 1:
        parsed = load_case(cases[0])
        det = _evaluate_watched(obj.kb, parsed, strict)
        click.echo(determination_json(det) if fmt == "json" else determination_text(det), nl=False)
        if det.decision.value == "error":
            sys.exit(1)  # a plugin failed: the determination above names it
        return
    evaluate_several(obj.kb, cases, fmt, strict)


def _evaluate_watched(kb: KnowledgeBase, parsed: Any, strict: bool) -> Any:
    """Evaluate under the watchdog, blaming the plugin that owns the treatment on a hang."""
    kb.check_case(parsed)
    treatment = kb.treatment_for(parsed.request.treatment, kb._era.version_date(parsed)[0])  # the date evaluate chooses by
    owner = kb.guidelines.treatment_plugin.get(treatment, "kb_core") if treatment else "kb_core"
    return _watched(lambda: kb.evaluate(parsed, strict=strict), _evaluate_timeout(), owner)


@main.command()
@click.argument("treatment")
@click.option("--on", "on", type=click.DateTime(formats=DATE_FORMATS), help="Request date (YYYY-MM-DD; YYYY-MM or YYYY mean its first day): show the criteria in force that day.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
@_guarded
def criteria(obj: _Context, treatment: str, on: dt.datetime | None, fmt: str) -> None:
    """List a treatment's criteria: parameters, citations, facts read and verification.

    TREATMENT is a treatment id or any kind it judges (physical_therapy, work_hardening, ...).
    """
    kb = obj.kb
    treatment, day, version = _treatment_on(kb, treatment, on)
    rows = criteria_rows(kb, treatment, version)
    if fmt == "json":
        click.echo(json.dumps({"treatment": treatment, "version": version.id if version else None, "criteria": rows}, indent=2, ensure_ascii=False))
        return
    click.echo(criteria_text(kb, treatment, day, version, rows), nl=False)


GRAPH_FORMATS = ["json", "graphml", "dot", "svg", "png"]


@main.command()
@click.option("--format", "fmt", type=click.Choice(GRAPH_FORMATS), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of standard output.")
@click.option("--treatment", help="Only this treatment (id or a kind it judges): its criteria, parameters, definitions, facts and versions.")
@click.pass_obj
@_guarded
def graph(obj: _Context, fmt: str, output: Path | None, treatment: str | None) -> None:
    """Export the criteria graph: node-link JSON, GraphML, DOT, or SVG/PNG with Graphviz.

    Pictures (dot, svg, png) have a cluster per treatment: the treatment on the left, its
    criteria listed top-down, then the parameters and definitions they use and the case
    facts they read. Use --treatment for one treatment at about a page's width.
    """
    from kb_core.export import export_graph, treatment_subgraph

    G = obj.kb.graph
    if treatment is not None:
        G = treatment_subgraph(G, resolve_treatment(obj.kb, treatment, None))
    data = export_graph(G, fmt)
    if output is not None:
        output.write_bytes(data)
        click.echo(f"wrote {output} ({len(data)} bytes, {fmt})", err=True)
    elif fmt == "png":
        raise click.UsageError("PNG is binary: give --output FILE")
    else:
        click.echo(data.decode("utf-8"), nl=False)


def _kind_of(document: Any) -> str:
    """``guideline``, ``case`` or ``unknown``, from the top-level keys."""
    if isinstance(document, dict):
        if GUIDELINE_KEYS & document.keys():
            return "guideline"
        if CASE_KEYS & document.keys():
            return "case"
    return "unknown"


def validate_file(kb: KnowledgeBase, path: Path) -> str:
    """Validate one file on its own: a case against the knowledge base, a guideline file
    against the schema and with the installed files (the one of the same name replaced).
    Return its kind; raise KBError. (``mtus validate`` checks guideline files as a set.)"""
    kind = _check_alone(kb, path)
    if kind == "guideline":
        _check_together(kb, [path])
    return kind


def _check_alone(kb: KnowledgeBase | None, path: Path) -> str:
    from kb_core._loader import read_guideline_document
    from kb_core._yaml import CASE_LIMITS, read_bounded

    raw = read_bounded(path, LocatedError, GUIDELINE_LIMITS.max_bytes)
    document = read_document(path, LocatedError, GUIDELINE_LIMITS)
    kind = _kind_of(document)
    if kind == "case":
        if len(raw) > CASE_LIMITS.max_bytes:
            raise LocatedError(f"a case file larger than {CASE_LIMITS.max_bytes} bytes", path=path, fix="remove what is not needed")
        case = parse_case(document, path)
        if kb is None:
            raise LocatedError("a case is checked against the knowledge base, which does not load", path=path, fix="fix the guideline error reported first")
        kb.check_case(case)
    elif kind == "guideline":
        read_guideline_document(raw, str(path))
    else:
        keys = ", ".join(sorted(map(str, document))) if isinstance(document, dict) else type(document).__name__
        raise LocatedError(
            f"neither a case file nor a guideline file (top level: {keys or 'empty'})", path=path, line=1,
            fix="a case needs dates and request; a guideline file has sources, definitions, shared_parameters, treatment_kinds, program_groups or treatments",
        )
    return kind


def _check_together(kb: KnowledgeBase, paths: list[Path]) -> None:
    """The given guideline files as one set with the installed files they do not replace:
    an edit made consistently across several files validates."""
    from kb_core._kb import _treatments_by_kind
    from kb_core._loader import load_guidelines
    from kb_core.graph import build_graph

    names = {p.name for p in paths}
    owners = {Path(f.path).name: f.plugin for f in kb.guidelines.files}
    installed = [(f.plugin, _Bytes(f.path, f.content)) for f in kb.guidelines.files if Path(f.path).name not in names]
    given = [(owners.get(p.name, "validate"), p) for p in paths]
    gs = load_guidelines([*installed, *given])
    build_graph(gs)
    _treatments_by_kind(gs, {name for name, record in kb.plugins.items() if record.first_party})


def _coverage_of(kb: KnowledgeBase, treatment: str, version_id: str) -> dict[str, Any]:
    """Whether a version's clinical criteria are encoded, and which criteria run on its
    dates anyway (the statutory cap in every era, retained MTUS text after 2017-12-01)."""
    gs = kb.guidelines
    applied = [c for c in gs.treatments[treatment].criteria if version_id in gs.criteria[c].applies_to]
    statute = {c for c in applied if gs.sources[gs.criteria[c].citation.source].tier == "statute"}
    scope_only = {c for c in applied if gs.criteria[c].role == "scope" and c in statute}
    clinical = [c for c in applied if c not in statute]
    encoded = bool(clinical) and not kb.licensed(version_id)
    return {"encoded": encoded, "still_applied": [] if encoded else [c for c in applied if c not in scope_only]}


def _coverage_words(kb: KnowledgeBase, version: Mapping[str, Any]) -> str:
    if version["encoded"]:
        return "encoded"
    words = "not encoded: criteria_unavailable" if kb.licensed(version["id"]) else "not encoded: no_criteria"
    still = version.get("still_applied") or []
    return words + (f"; still applied: {', '.join(c.split('.', 1)[1] for c in still)}" if still else "")


class _Bytes:
    def __init__(self, name: str, content: bytes) -> None:
        self.name, self._content = Path(name).name, content
        self._display = name

    def read_bytes(self) -> bytes:
        return self._content

    def __str__(self) -> str:
        return self._display


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
@_guarded
def validate(obj: _Context, paths: tuple[Path, ...]) -> None:
    """Check guideline and case files (directories are searched). Guideline files are checked
    each alone and then together, as one set with the installed files they do not replace.
    Exit 1 if any is invalid."""
    failed = 0
    guideline_files: list[Path] = []
    kb: KnowledgeBase | None
    try:
        kb = obj.kb
    except KBError as exc:
        # Say it once (not once per file); the files are then checked alone.
        failed, kb = 1, None
        _echo(f"INVALID {exc}", err=True)
        _echo("        (the knowledge base does not load: the files below are checked alone, cases not at all)", err=True)
    for path in data_files(list(paths)):
        try:
            kind = _check_alone(kb, path)
        except KBError as exc:
            failed += 1
            _echo(f"INVALID {exc}", err=True)
            continue
        if kind == "guideline":
            guideline_files.append(path)
        else:
            _echo(f"ok      {path} ({kind})")
    if guideline_files and kb is not None:
        try:
            _check_together(kb, guideline_files)
        except KBError as exc:
            failed += 1
            _echo(f"INVALID {exc}", err=True)
            if len(guideline_files) > 1:
                _echo(f"        (checked together with {', '.join(str(p) for p in guideline_files)})", err=True)
        else:
            for path in guideline_files:
                _echo(f"ok      {path} (guideline)")
    if failed:
        _echo(f"{failed} invalid file(s)", err=True)
        sys.exit(1)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-under", "fail_under", metavar="METRIC=X",
              help="Exit 1 when the figure over all scored files is below X: balanced=0.8 (balanced accuracy) or strict=0.9 (strict agreement).")
@click.option("--allow-errors", is_flag=True, help="Do not exit 1 because a file cannot be read or evaluated (it still counts as a disagreement).")
@click.pass_obj
@_guarded
def agree(obj: _Context, paths: tuple[Path, ...], fmt: str, fail_under: str | None, allow_errors: bool) -> None:
    """Run every case file under PATHS and report strict agreement with their expected outcomes,
    beside the deny-all and certify-all baselines, and the reviewer's reasons where recorded.

    Exit 1 when a file cannot be evaluated (unless --allow-errors) or a --fail-under figure is missed."""
    from kb_core.agree import parse_threshold, run_agreement

    threshold = None
    if fail_under is not None:
        try:
            threshold = parse_threshold(fail_under)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--fail-under") from None
    report = run_agreement(obj.kb, paths)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        click.echo(report.text(), nl=False)
    failed = False
    if report.errors and not allow_errors:
        click.echo(f"error: {len(report.errors)} file(s) could not be evaluated (see above; --allow-errors to accept)", err=True)
        failed = True
    if threshold is not None:
        name, floor = threshold
        value = report.metric(name)
        label = "balanced accuracy" if name == "balanced" else "strict agreement"
        if value is None or value < floor:
            click.echo(f"error: {label} {'n/a' if value is None else f'{value:.4f}'} is below {floor:.4f} (--fail-under {fail_under})", err=True)
            failed = True
        else:
            click.echo(f"{label} {value:.4f} >= {floor:.4f}", err=True)
    if failed:
        sys.exit(1)


def plugin_rows(kb: KnowledgeBase, conformance: bool) -> list[dict[str, Any]]:
    """One row per loaded plugin: version, distribution, treatments with their versions and dates."""
    from kb_core._kb import treatment_tier
    from kb_core._plugins import call_each, load_timeout

    gs = kb.guidelines
    rows = []
    # Listing needs no hypothesis (a plain install); only the conformance kit imports kb_core.testing.
    samples: dict[str, int] = {}
    for name, listed in call_each(kb._manager, "mtus_sample_cases", timeout=load_timeout()):
        try:
            samples[name] = len(list(listed or ()))
        except Exception as exc:  # noqa: BLE001 - a plugin's broken listing is reported, not raised
            samples[name] = 0
            kb.skipped_plugins.setdefault(name, f"mtus_sample_cases returned an unusable value: {type(exc).__name__}")
    for name, record in sorted(kb.plugins.items()):
        treatments = sorted({gs.criteria[c].treatment for c, owner in gs.criterion_plugin.items() if owner == name})
        row: dict[str, Any] = {
            "name": name, "version": record.version, "distribution": record.distribution, "module": record.module,
            "first_party": record.first_party,
            "treatments": [
                {
                    "id": tid, "requested_as": list(gs.treatments[tid].requested_as), "tier": treatment_tier(gs, tid),
                    "criteria": len(gs.treatments[tid].criteria),
                    "versions": [
                        {"id": vid, "label": gs.versions[vid].label,
                         "from": str(gs.versions[vid].effective_from or ""), "until": str(gs.versions[vid].effective_until or ""),
                         **_coverage_of(kb, tid, vid)}
                        for vid in gs.treatments[tid].governed_by
                    ],
                }
                for tid in treatments
            ],
            "sample_cases": samples.get(name, 0),
            "supersedes": [item for item in kb.supersessions if f"(plugin '{name}'," in item],
        }
        if conformance and treatments:
            from kb_core.testing import check_plugin

            try:  # a plugin that hangs is reported after the evaluation timeout, not waited for
                report = _watched(lambda: check_plugin(name, kb=kb, examples=20), _evaluate_timeout(), name)
            except PluginError as exc:
                row["conformance"] = {"ok": False, "summary": "not finished", "problems": [exc.problem]}
            else:
                row["conformance"] = {"ok": report.ok, "summary": report.summary(), "problems": report.problems}
        rows.append(row)
    return rows


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--conformance/--no-conformance", default=True, show_default=True, help="Run the conformance kit on each plugin (needs hypothesis).")
@click.pass_obj
@_guarded
def plugins(obj: _Context, fmt: str, conformance: bool) -> None:
    """List installed plugins: version, treatments, guideline versions and dates, conformance."""
    if conformance:
        try:
            import hypothesis  # noqa: F401
        except ImportError:
            click.echo("note: hypothesis is not installed; skipping conformance (pip install 'mtus-kb[test]')", err=True)
            conformance = False
    rows = plugin_rows(obj.kb, conformance)
    skipped = obj.kb.skipped_plugins
    identity = {"version": obj.kb.guidelines.kb_version, "digest": obj.kb.digest}
    if fmt == "json":
        click.echo(safe_json(json.dumps({"plugins": rows, "left_out": skipped, "knowledge_base": identity}, indent=2, ensure_ascii=False)))
        return
    click.echo(f"knowledge base {identity['version'] or '(unversioned)'}, sha256 {identity['digest']}")
    for name, why in skipped.items():
        _echo(f"{name}  LEFT OUT: {why}")
    for row in rows:
        _echo(f"{row['name']} {row['version']}  ({row['distribution'] or 'not installed from a distribution'}: {row['module']})")
        for item in row["supersedes"]:
            _echo(f"  SUPERSEDES: {item}")
        for t in row["treatments"]:
            click.echo(f"  {t['id']} [{t['tier'].upper()}] judges {', '.join(t['requested_as'])}: {t['criteria']} criteria")
            for v in t["versions"]:
                span = f"{v['from'] or '...'} to {v['until'] or 'today'}"
                click.echo(f"    {v['id']:<14} {span:<26} {_coverage_words(obj.kb, v)}")
        if "conformance" in row:
            click.echo(f"  conformance: {row['conformance']['summary']}")
            for problem in row["conformance"]["problems"]:
                _echo(f"    - {problem}")


@main.command("new-plugin")
@click.argument("name")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True)
@click.option("--title", help="Human title of the treatment (default from NAME).")
@click.option("--tier", type=click.Choice(["mtus", "odg", "acoem", "reference"]), default="odg", show_default=True, help="Evidence tier of the guideline the plugin encodes.")
@click.pass_obj
@_guarded
def new_plugin_command(obj: _Context, name: str, directory: Path, title: str | None, tier: str) -> None:
    """Scaffold a plugin distribution: a draft, inert until you fill it in and enable its entry point."""
    from kb_core.scaffold import new_plugin

    kinds = frozenset(obj.kb.guidelines.treatment_kinds)
    target = new_plugin(name, directory, title=title, tier=tier, existing_kinds=kinds, core_version=obj.kb.version)
    if name in obj.kb.treatments or obj.kb.treatment_for(name):
        click.echo(f"note: '{name}' is already judged by an installed plugin; to replace a first-party treatment at the same or a higher tier, declare `supersedes:` in the new plugin's YAML (docs/plugins.md, Isolation guarantees)", err=True)
    click.echo(
        f"wrote {target} (a draft: its entry point stays commented out until you fill it in)\n"
        f"next: follow {target / 'README.md'}: fill in the YAML, evaluator and cases, enable the entry point, "
        f"then pip install -e '{target}[test]' && python -m pytest -q {target}/tests"
    )


# ---------------------------------------------------------------- treatment names, criteria, facts


def resolve_treatment(kb: KnowledgeBase, name: str, day: dt.date | None) -> str:
    """A treatment id from what a user typed: the id itself or a kind it judges
    (``physical_therapy`` -> ``physical_medicine``). Raises a usage error with the near match."""
    if name in kb.guidelines.treatments:
        return name
    judged = kb.treatment_for(name, day)
    if judged is not None:
        return judged
    import difflib

    known = sorted(set(kb.treatments) | {k for t in kb.treatments for k in kb.guidelines.treatments[t].requested_as})
    near = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    unencoded = " (a known treatment kind, but no installed plugin judges it)" if name in kb.guidelines.treatment_kinds else ""
    raise click.UsageError(f"unknown treatment '{name}'{unencoded}{hint}. Known: {', '.join(known)}")




def _treatment_on(kb: KnowledgeBase, name: str, on: dt.datetime | None) -> tuple[str, dt.date | None, Any]:
    """The treatment id a user typed, the day ``--on`` gave and the version governing it
    then (None without ``--on``); a usage error when no version is in force that day."""
    day = on.date() if on else None
    treatment = resolve_treatment(kb, name, day)
    version = kb.version_for(treatment, day) if day else None
    if day and version is None:
        raise click.UsageError(f"no governing version of {treatment} is in force on {day}")
    return treatment, day, version


def criteria_rows(kb: KnowledgeBase, treatment: str, version: Any) -> list[dict[str, Any]]:
    """One row per criterion of ``treatment`` (only those encoded for ``version`` when given)."""
    from kb_core.graph import citation_text

    gs = kb.guidelines
    rows: list[dict[str, Any]] = []
    for cid in gs.treatments[treatment].criteria:
        c = gs.criteria[cid]
        if version and version.id not in c.applies_to:
            continue
        rows.append({
            "id": cid, "title": c.title, "role": c.role, "statement": c.statement,
            "tier": gs.sources[c.citation.source].tier,
            "citation": citation_text(gs, c.citation, version),
            "applies_to": list(c.applies_to), "verification": c.verification.status,
            "verification_note": c.verification.note,
            "facts": list(c.facts),
            "parameters": {
                p: {"value": _plain_value(gs.parameters[p].value_for(version.id) if version else gs.parameters[p].value),
                    "unit": gs.parameters[p].unit, "verification": gs.parameters[p].verification.status,
                    "verification_note": gs.parameters[p].verification.note,
                    "citation": citation_text(gs, gs.parameters[p].citation, version)}
                for p in c.parameters if p in gs.parameters
            },
        })
    return rows


def _plain_value(value: Any) -> Any:
    """A parameter value as JSON can hold it (tables are read-only mappings, lists tuples)."""
    from collections.abc import Mapping

    if isinstance(value, Mapping):
        return {key: _plain_value(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain_value(v) for v in value]
    return value


def human_value(value: Any, unit: str) -> list[str]:
    """A parameter value for people: a scalar with its unit, a list joined, a table one entry a line."""
    from collections.abc import Mapping

    def plain(v: Any) -> str:
        return ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)

    if isinstance(value, Mapping):
        return [f"table of {unit}:", *(f"  {key}: {plain(v)}" for key, v in value.items())]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):  # rows of a table
        return [f"table of {unit}:", *("  " + "; ".join(f"{key}: {plain(v)}" for key, v in row.items()) for row in value)]
    if isinstance(value, (list, tuple)):
        return [f"{', '.join(map(str, value))} ({unit})"]
    return [f"{value} {unit}"]


def _wrapped(text: str, indent: int) -> list[str]:
    import textwrap

    return textwrap.wrap(" ".join(text.split()), width=100, initial_indent=" " * indent, subsequent_indent=" " * (indent + 2))


def criteria_text(kb: KnowledgeBase, treatment: str, day: dt.date | None, version: Any, rows: list[dict[str, Any]]) -> str:
    gs = kb.guidelines
    kinds = [k for k in gs.treatments[treatment].requested_as if k != treatment]
    out = [f"{gs.treatments[treatment].title} ({treatment}" + (f"; judges requests for {', '.join(kinds)})" if kinds else ")") + ": "
           + (f"criteria in force on {day} ({version.label})" if version else "all encoded criteria")]
    if day and not rows:
        outcome = "criteria_unavailable" if version and kb.licensed(version.id) else "no_criteria"
        out.append(f"  none encoded for {version.label if version else day}: requests on this date get {outcome}")
    # Page numbers of another edition's pagination: said once below, not on every citation.
    pages_of = gs.versions[version.pages_from].label if version and version.pages_from else None
    for row in rows:
        citation = row["citation"].replace(f" (pagination of {pages_of})", "") if pages_of else row["citation"]
        out += ["", f"  {row['id']}  [{row['role']}, {row['tier'].upper()}, {row['verification']}]", f"    {row['title']}", f"    Cite:  {citation}"]
        if row["facts"]:
            out += _wrapped("Reads: " + ", ".join(row["facts"]), 4)
        if row["verification_note"]:
            out += _wrapped(f"Verification {row['verification']}: {row['verification_note']}", 4)
        for pid, param in row["parameters"].items():
            first, *more = human_value(param["value"], param["unit"])
            name, tag = pid.rsplit(".", 1)[1], param["verification"]
            out.append(f"    - {name} [{tag}]: {first.removeprefix('table of ').rstrip(':')}" if first.startswith("table of ") else f"    - {name} = {first} [{tag}]")
            out += [f"      {line}" for line in more]
            if param["verification_note"]:
                out += _wrapped(f"{param['verification']}: {param['verification_note']}", 8)
    if pages_of:
        out += ["", f"Page numbers follow the pagination of {pages_of}."]
    return "\n".join(out) + "\n"


def evaluate_several(kb: KnowledgeBase, paths: tuple[Path, ...], fmt: str, strict: bool) -> None:
    """Evaluate each file; report an invalid one on stderr and go on; exit 1 if any was
    invalid or any determination is an error (a plugin failed)."""
    from kb_core._render import determination_dict

    failed = errors = 0
    dicts: list[dict[str, Any]] = []
    for path in paths:
        try:
            det = _evaluate_watched(kb, load_case(path), strict)
        except KBError as exc:
            failed += 1
            _echo(f"error: {exc}", err=True)
            continue
        errors += det.decision.value == "error"
        if fmt == "json":
            dicts.append(determination_dict(det))
        else:
            click.echo(f"{'' if path == paths[0] else chr(10)}==> {safe_text(str(path))} <==\n{determination_text(det)}", nl=False)
    if fmt == "json":
        click.echo(safe_json(json.dumps(dicts, indent=2, sort_keys=True, ensure_ascii=False)))
    if failed:
        _echo(f"{failed} of {len(paths)} case file(s) could not be evaluated", err=True)
    if failed or errors:
        sys.exit(1)


def _schema_node(path: str) -> dict[str, Any] | None:
    """The case schema's node for a fact path such as ``findings.flare_up`` or ``diagnoses.category``."""
    from kb_core._schemas import schema

    root = schema("case")
    node: Any = root
    for part in path.split("."):
        while isinstance(node, dict) and node.get("type") == "array" or (isinstance(node, dict) and "items" in node and "properties" not in node):
            node = node["items"]
        props = node.get("properties") if isinstance(node, dict) else None
        if not props or part not in props:
            return None
        node = props[part]
    return node if isinstance(node, dict) else None


def _placeholder(node: dict[str, Any] | None) -> str | None:
    """What the skeleton writes for an unknown value: null where the schema allows it, an
    empty list for a list, else None (the line is left commented out)."""
    from kb_core._schemas import schema

    if node is None:
        return "null"
    ref = node.get("$ref", "")
    target = {**schema("case")["$defs"].get(ref.rsplit("/", 1)[-1], {}), **node} if ref else node
    types = target.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "array" in types:
        return "[]"
    if "null" in types or None in target.get("enum", [None] if not types else []) or any(None in (alt.get("enum") or []) or alt.get("type") == "null" for alt in target.get("anyOf", []) + target.get("oneOf", [])):
        return "null"
    return None


def _described(node: dict[str, Any] | None) -> str:
    from kb_core._schemas import schema

    if node is None:
        return ""
    text = node.get("description", "")
    ref = node.get("$ref", "")
    target = schema("case")["$defs"].get(ref.rsplit("/", 1)[-1], {}) if ref else {}
    choices = node.get("enum") or target.get("enum")
    if choices:
        text += (" " if text else "") + "One of: " + ", ".join(str(c) for c in choices if c is not None) + "."
    elif ref.endswith(("date", "opt_date")):
        text += " (YYYY-MM-DD)"
    elif ref.endswith("fact_bool"):
        text += " (true / false)"
    return text.strip()


def treatment_facts(kb: KnowledgeBase, treatment: str, version: Any) -> list[dict[str, Any]]:
    """The facts the criteria of ``treatment`` read (those in force for ``version``), in the
    order they are first read, each with its schema description and the criteria reading it."""
    gs = kb.guidelines
    facts: dict[str, list[str]] = {}
    for cid in gs.treatments[treatment].criteria:
        c = gs.criteria[cid]
        if version and version.id not in c.applies_to:
            continue
        for fact in c.facts:
            facts.setdefault(fact, []).append(cid)
    return [{"fact": f, "description": _described(_schema_node(f)), "read_by": by} for f, by in facts.items()]


def case_skeleton(treatment: str, kind: str, day: dt.date | None, facts: list[dict[str, Any]]) -> str:
    """A YAML case with every fact ``facts`` lists, as null, each with its description."""
    import textwrap

    def comment(text: str, indent: int) -> list[str]:
        return [f"{' ' * indent}# {line}" for line in textwrap.wrap(text, width=96 - indent)] if text else []

    sections: dict[str, list[dict[str, Any]]] = {}
    for fact in facts:
        top, _, rest = fact["fact"].partition(".")
        sections.setdefault(top, []).append({**fact, "key": rest})
    out = [f"# Case skeleton for {treatment}: every fact its criteria read" + (f" on {day}" if day else "") + ".",
           "# Fill in what the record documents; leave the rest null (null, like absent, is not false).",
           f"# Check it with: mtus validate FILE; evaluate it with: mtus evaluate FILE",
           "case_id: my-case",
           "dates:",
           f"  request: {json.dumps(day.isoformat()) if day else 'null  # required (or ur_decision): YYYY-MM-DD'}"]
    for f in sections.pop("dates", []):
        if f["key"] != "request":  # a date may not be null: left commented out until known
            out += comment(f["description"], 2) + [f"  # {f['key']}: YYYY-MM-DD"]
    out += ["request:", f"  treatment: {kind}"]
    for f in sections.pop("request", []):
        key = f["key"].split(".")[0]
        if key != "treatment":
            value = _placeholder(_schema_node(f"request.{key}"))
            out += comment(f["description"], 2) + [f"  {key}: {value}" if value else f"  # {key}:"]
    for top, items in sections.items():
        node = _schema_node(top) or {}
        is_list = node.get("type") == "array"
        out += comment(node.get("description", ""), 0)
        if is_list:
            keys = [f["key"].split(".")[0] for f in items if f["key"]]
            item_props = node.get("items", {}).get("properties", {})
            required = node.get("items", {}).get("required", [])
            fields = list(dict.fromkeys([*required, *keys])) if keys else list(item_props)
            out += [f"{top}: []", "# one entry each, with these fields (leave out what the record does not give):"]
            for k in fields:
                out += comment(f"{k}: {_described(item_props.get(k))}", 4)
        elif any(f["key"] for f in items):
            out.append(f"{top}:")
            seen: set[str] = set()
            for f in items:
                key = f["key"].split(".")[0]
                if key and key not in seen:
                    seen.add(key)
                    value = _placeholder(_schema_node(f"{top}.{key}"))
                    out += comment(_described(_schema_node(f"{top}.{key}")), 2) + [f"  {key}: {value}" if value else f"  # {key}:"]
        else:
            out.append(f"{top}: null")
    return "\n".join(out) + "\n"


@main.command()
@click.argument("treatment")
@click.option("--on", "on", type=click.DateTime(formats=DATE_FORMATS), help="Only the criteria in force on this request date (YYYY-MM-DD, YYYY-MM or YYYY); also the skeleton's request date.")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True, help="yaml: a case skeleton with comments; json: the list of facts.")
@click.pass_obj
@_guarded
def facts(obj: _Context, treatment: str, on: dt.datetime | None, fmt: str) -> None:
    """Print the facts a treatment's criteria read, described, as a case skeleton to fill in.

    TREATMENT is a treatment id or any kind it judges (the skeleton requests that kind).
    """
    kb = obj.kb
    tid, day, version = _treatment_on(kb, treatment, on)
    rows = treatment_facts(kb, tid, version)
    if fmt == "json":
        click.echo(json.dumps({"treatment": tid, "version": version.id if version else None, "facts": rows}, indent=2, ensure_ascii=False))
        return
    click.echo(case_skeleton(tid, treatment, day, rows), nl=False)
