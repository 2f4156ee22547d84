"""The ``mtus`` command. Exit codes: 0 ok, 1 invalid input, a failed check or an error decision, 2 usage, 130 interrupted."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kb_core._case import load_case, parse_case
from kb_core._kb import KnowledgeBase, load
from kb_core._render import determination_json, determination_text, safe_json, safe_text
from kb_core._yaml import GUIDELINE_LIMITS, data_files, read_document
from kb_core.errors import KBError, LocatedError, PluginError

F = TypeVar("F", bound=Callable[..., Any])
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
@click.argument("case", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Fail (exit 1) if a plugin is broken, raises or misbehaves instead of reporting it.")
@click.pass_obj
@_guarded
def evaluate(obj: _Context, case: Path, fmt: str, strict: bool) -> None:
    """Evaluate one case file (YAML or JSON) and print the determination."""
    obj.strict = obj.strict or strict
    parsed = load_case(case)
    kb = obj.kb
    kb.check_case(parsed)
    treatment = kb.treatment_for(parsed.request.treatment, parsed.dates.decisive)
    owner = kb.guidelines.treatment_plugin.get(treatment, "kb_core") if treatment else "kb_core"
    det = _watched(lambda: kb.evaluate(parsed, strict=strict), _evaluate_timeout(), owner)
    click.echo(determination_json(det) if fmt == "json" else determination_text(det), nl=False)
    if det.decision.value == "error":
        sys.exit(1)  # a plugin failed: the determination above names it


@main.command()
@click.argument("treatment")
@click.option("--on", "on", type=click.DateTime(formats=["%Y-%m-%d"]), help="Request date: show the criteria in force that day.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
@_guarded
def criteria(obj: _Context, treatment: str, on: dt.datetime | None, fmt: str) -> None:
    """List a treatment's criteria with parameters, citations and verification status."""
    from kb_core.graph import citation_text

    kb = obj.kb
    gs = kb.guidelines
    if treatment not in gs.treatments:
        raise click.UsageError(f"unknown treatment '{treatment}'; known: {', '.join(kb.treatments)}")
    day = on.date() if on else None
    version = kb.version_for(treatment, day) if day else None
    if day and version is None:
        raise click.UsageError(f"no governing version of {treatment} is in force on {day}")
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
            "facts": list(c.facts),
            "parameters": {
                p: {"value": gs.parameters[p].value_for(version.id) if version else gs.parameters[p].value,
                    "unit": gs.parameters[p].unit, "verification": gs.parameters[p].verification.status,
                    "citation": citation_text(gs, gs.parameters[p].citation, version)}
                for p in c.parameters if p in gs.parameters
            },
        })
    if fmt == "json":
        click.echo(json.dumps({"treatment": treatment, "version": version.id if version else None, "criteria": rows}, indent=2, ensure_ascii=False))
        return
    head = f"{gs.treatments[treatment].title}: " + (f"criteria in force on {day} ({version.label})" if version else "all encoded criteria")
    if day and not rows:
        head += f"\n  none encoded for {version.label if version else day}: requests on this date get no_criteria"
    click.echo(head)
    for row in rows:
        click.echo(f"\n  {row['id']}  [{row['role']}, {row['tier'].upper()}, {row['verification']}]\n    {row['title']}\n    {row['citation']}")
        for pid, param in row["parameters"].items():
            click.echo(f"    - {pid.rsplit('.', 1)[1]} = {param['value']} {param['unit']} [{param['verification']}]")


GRAPH_FORMATS = ["json", "graphml", "dot", "svg", "png"]


@main.command()
@click.option("--format", "fmt", type=click.Choice(GRAPH_FORMATS), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of standard output.")
@click.pass_obj
@_guarded
def graph(obj: _Context, fmt: str, output: Path | None) -> None:
    """Export the criteria graph: node-link JSON, GraphML, DOT, or SVG/PNG with Graphviz."""
    from kb_core.export import export_graph

    data = export_graph(obj.kb.graph, fmt)
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


def _check_alone(kb: KnowledgeBase, path: Path) -> str:
    from kb_core._loader import read_guideline_document
    from kb_core._yaml import CASE_LIMITS, read_bounded

    raw = read_bounded(path, LocatedError, GUIDELINE_LIMITS.max_bytes)
    document = read_document(path, LocatedError, GUIDELINE_LIMITS)
    kind = _kind_of(document)
    if kind == "case":
        if len(raw) > CASE_LIMITS.max_bytes:
            raise LocatedError(f"a case file larger than {CASE_LIMITS.max_bytes} bytes", path=path, fix="remove what is not needed")
        kb.check_case(parse_case(document, path))
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
    for path in data_files(list(paths)):
        try:
            kind = _check_alone(obj.kb, path)
        except KBError as exc:
            failed += 1
            _echo(f"INVALID {exc}", err=True)
            continue
        if kind == "guideline":
            guideline_files.append(path)
        else:
            _echo(f"ok      {path} ({kind})")
    if guideline_files:
        try:
            _check_together(obj.kb, guideline_files)
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
@click.pass_obj
@_guarded
def agree(obj: _Context, paths: tuple[Path, ...], fmt: str) -> None:
    """Run every case file under PATHS and report agreement with their expected outcomes."""
    from kb_core.agree import run_agreement

    report = run_agreement(obj.kb, paths)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        click.echo(report.text(), nl=False)


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
                         "encoded": any(vid in gs.criteria[c].applies_to for c in gs.treatments[tid].criteria)}
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
    if fmt == "json":
        click.echo(safe_json(json.dumps({"plugins": rows, "left_out": skipped}, indent=2, ensure_ascii=False)))
        return
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
                click.echo(f"    {v['id']:<14} {span:<26} {'encoded' if v['encoded'] else 'not encoded: no_criteria'}")
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
    """Scaffold a plugin distribution that installs and passes the conformance kit as generated."""
    from kb_core.scaffold import new_plugin

    kinds = frozenset(obj.kb.guidelines.treatment_kinds)
    if name in obj.kb.treatments or obj.kb.treatment_for(name):
        click.echo(f"note: '{name}' is already judged by an installed plugin; to replace a first-party treatment at the same or a higher tier, declare `supersedes:` in the new plugin's YAML (docs/plugins.md, Isolation guarantees)", err=True)
    target = new_plugin(name, directory, title=title, tier=tier, existing_kinds=kinds, core_version=obj.kb.version)
    click.echo(f"wrote {target}\nnext: pip install -e '{target}[test]' && python -m pytest -q {target}/tests")
