"""The ``mtus`` command. Exit codes: 0 ok, 1 invalid input (or a failed check), 2 usage."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kb_core._case import load_case, parse_case
from kb_core._kb import KnowledgeBase, load
from kb_core._render import determination_json, determination_text
from kb_core._yaml import data_files, read_document
from kb_core.errors import KBError, LocatedError

F = TypeVar("F", bound=Callable[..., Any])
CASE_KEYS = frozenset({"request", "dates", "case_id", "expected"})


class _Context:
    def __init__(self, disable: tuple[str, ...], strict: bool) -> None:
        self.disable = disable
        self.strict = strict
        self._kb: KnowledgeBase | None = None

    @property
    def kb(self) -> KnowledgeBase:
        if self._kb is None:
            self._kb = load(disable=self.disable, strict=self.strict)
            for name, why in self._kb.skipped_plugins.items():
                click.echo(f"warning: plugin '{name}' left out: {why}", err=True)
        return self._kb


def _fail(exc: KBError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(1)


def _guarded(func: F) -> F:
    """Turn the package's own errors into a message on stderr and exit status 1."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KBError as exc:
            _fail(exc)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


@click.group()
@click.option("--disable-plugin", "disable", multiple=True, metavar="NAME", help="Skip an installed plugin (repeatable; also MTUS_DISABLE_PLUGINS=a,b).")
@click.option("--strict-plugins", is_flag=True, help="Fail (exit 1) on a broken plugin instead of leaving it out with a warning.")
@click.version_option(package_name="mtus-kb")
@click.pass_context
def main(ctx: click.Context, disable: tuple[str, ...], strict_plugins: bool) -> None:
    """California MTUS treatment guidelines as an executable, cited knowledge base."""
    ctx.obj = _Context(disable, strict_plugins)


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
    det = obj.kb.evaluate(parsed, strict=strict)
    click.echo(determination_json(det) if fmt == "json" else determination_text(det), nl=False)


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


def validate_file(kb: KnowledgeBase, path: Path) -> str:
    """Validate one file as a case or a guideline file; return its kind, raise KBError."""
    from kb_core._loader import load_guidelines
    from kb_core.graph import build_graph

    document = read_document(path, LocatedError)
    if isinstance(document, dict) and CASE_KEYS & document.keys():
        kb.check_case(parse_case(document, path))
        return "case"
    # A guideline file is checked together with the installed ones it may refer to;
    # an installed file of the same name is replaced by it.
    installed = [(f.plugin, _Bytes(f.path, f.content)) for f in kb.guidelines.files if Path(f.path).name != path.name]
    build_graph(load_guidelines([*installed, ("validate", path)]))
    return "guideline"


class _Bytes:
    def __init__(self, name: str, content: bytes) -> None:
        self.name, self._content = name, content

    def read_bytes(self) -> bytes:
        return self._content

    def __str__(self) -> str:
        return self.name


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_obj
@_guarded
def validate(obj: _Context, paths: tuple[Path, ...]) -> None:
    """Check guideline and case files (directories are searched). Exit 1 if any is invalid."""
    failed = 0
    for path in data_files(list(paths)):
        try:
            kind = validate_file(obj.kb, path)
        except KBError as exc:
            failed += 1
            click.echo(f"INVALID {exc}", err=True)
        else:
            click.echo(f"ok      {path} ({kind})")
    if failed:
        click.echo(f"{failed} invalid file(s)", err=True)
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
    from kb_core.testing import plugin_sample_cases, plugin_treatments

    gs = kb.guidelines
    rows = []
    for name, record in sorted(kb.plugins.items()):
        treatments = plugin_treatments(kb, name)
        row: dict[str, Any] = {
            "name": name, "version": record.version, "distribution": record.distribution, "module": record.module,
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
            "sample_cases": len(plugin_sample_cases(kb, name)),
        }
        if conformance and treatments:
            from kb_core.testing import check_plugin

            report = check_plugin(name, kb=kb, examples=20)
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
        click.echo(json.dumps({"plugins": rows, "left_out": skipped}, indent=2, ensure_ascii=False))
        return
    for name, why in skipped.items():
        click.echo(f"{name}  LEFT OUT: {why}")
    for row in rows:
        click.echo(f"{row['name']} {row['version']}  ({row['distribution'] or 'not installed from a distribution'}: {row['module']})")
        for t in row["treatments"]:
            click.echo(f"  {t['id']} [{t['tier'].upper()}] judges {', '.join(t['requested_as'])}: {t['criteria']} criteria")
            for v in t["versions"]:
                span = f"{v['from'] or '...'} to {v['until'] or 'today'}"
                click.echo(f"    {v['id']:<14} {span:<26} {'encoded' if v['encoded'] else 'not encoded: no_criteria'}")
        if "conformance" in row:
            click.echo(f"  conformance: {row['conformance']['summary']}")
            for problem in row["conformance"]["problems"]:
                click.echo(f"    - {problem}")


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
        click.echo(f"note: '{name}' is already judged by an installed plugin; precedence between the two goes by evidence tier and dates", err=True)
    click.echo(
        f"wrote {target} (a draft: its entry point stays commented out until you fill it in)\n"
        f"next: follow {target / 'README.md'}: fill in the YAML, evaluator and cases, enable the entry point, "
        f"then pip install -e '{target}[test]' && python -m pytest -q {target}/tests"
    )
