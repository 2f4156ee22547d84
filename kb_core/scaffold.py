"""``mtus new-plugin NAME``: write a plugin distribution, inert until its author fills it in.

The generated ``pyproject.toml`` keeps the ``mtus`` entry point commented out: an installed
draft judges nothing, so a placeholder criterion can never decide a real request. The
author replaces the example data, enables the entry point and reinstalls (docs/plugins.md).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import unicodedata
from importlib import metadata
from pathlib import Path

from kb_core.errors import KBError

# Names a plugin may not take: the engine's own packages and the first-party plugins
# (completed at run time from the installed distribution's entry points).
RESERVED_NAMES = frozenset({"kb_core", "kb_plugins", "kb_guidelines", "acupuncture", "chiropractic", "physical_medicine", "work_conditioning"})
MAX_NAME_LENGTH = 40  # the name recurs in module, distribution and file names

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "mtus-kb-{dist_name}"
version = "0.1.0"
description = {description_toml}
requires-python = ">=3.11"
dependencies = ["mtus-kb>={core_floor}"]

[project.optional-dependencies]
test = ["mtus-kb[test]>={core_floor}"]

# The entry point puts the plugin in force: mtus-kb loads every plugin registered here.
# It stays commented out until {name}.yaml holds the real guideline (source, dates,
# criteria, citations), so an installed draft never judges a request. To enable it,
# uncomment the two lines and reinstall (pip install -e '.[test]').
# [project.entry-points.mtus]
# {name} = "mtus_kb_{name}"

[tool.setuptools]
packages = ["mtus_kb_{name}"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.setuptools.package-data]
mtus_kb_{name} = ["*.yaml", "cases/*.yaml"]
'''

MODULE = '''\
"""Guideline plugin for mtus-kb: evaluators. Thresholds, statements and citations live in {name}.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl

__version__ = "0.1.0"


@evaluator("{name}.visit_limit")
def visit_limit(case: Case, p: Mapping[str, Any]) -> Finding:
    requested = case.request.visits  # resolves quantity, unit, frequency and duration
    if requested is None:
        return Finding.not_documented("the number of visits requested is not stated")
    courses = case.prior("{name}")
    if any(c.count is None for c in courses):  # an unknown count is not zero
        return Finding.not_documented("a prior course is documented without its number of visits", prior_treatments=courses)
    given = sum(c.count for c in courses if c.count is not None)
    # Where UR already certified part of the request, that part counts too; absent means none.
    authorized = case.request.ur_authorized_quantity or 0
    already = given + authorized
    limit = p["max_visits"]
    counted = f"{{requested}} requested + {{given}} given + {{authorized}} already certified"
    if already + requested <= limit:
        return Finding.met(f"{{counted}}: within {{limit}}", prior_treatments=courses)
    return Finding.not_met(f"{{counted}}: above {{limit}}", approvable=max(limit - already, 0), prior_treatments=courses)


@hookimpl
def mtus_guideline_files() -> list[Any]:
    return [files("mtus_kb_{name}") / "{name}.yaml"]


@hookimpl
def mtus_evaluators() -> list[Evaluator]:
    return [visit_limit]


@hookimpl
def mtus_sample_cases() -> list[Any]:
    return sorted((p for p in (files("mtus_kb_{name}") / "cases").iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)


@hookimpl
def mtus_plugin_info() -> dict[str, str]:
    return {{"requires_core": ">={core_floor}"}}
'''

GUIDELINE = '''\
# Guideline data for the mtus-kb plugin mtus-kb-{dist_name}.
# DRAFT: replace the example source, version, criterion and parameter with the real
# guideline (statements paraphrased), its citation, its dates and its numbers, then enable
# the entry point in pyproject.toml. Verification tags: V verified, D as quoted in
# decisions, K from working knowledge, U uncertain.
{kinds}
sources:
  {name}_guideline:
    title: {source_title}
    tier: {tier}
    versions:
      {name}-{year}:
        label: {version_label}
        effective_from: "{today}"

treatments:
  {name}:
    title: {title_yaml}
    requested_as: [{name}]
    governed_by: [{name}-{year}]
    parameters:
      max_visits:
        shape: scalar
        value: 6
        unit: visits
        citation: {{source: {name}_guideline, section: "Visits"}}
        verification: {{status: U, note: "Example value from the scaffold: replace it."}}
    criteria:
      visit_limit:
        title: Total visits within the allowance
        statement: Visits already given, any part UR already certified and those requested stay within the allowance.
        citation: {{source: {name}_guideline, section: "Visits"}}
        applies_to: [{name}-{year}]
        role: quantity
        facts: [request.quantity, request.unit, request.frequency_per_week, request.duration_weeks, request.ur_authorized_quantity, prior_treatments]
        parameters: [max_visits]
        documentation_needed: The number of visits requested, already given and already certified.
        verification: {{status: U, note: "Example criterion from the scaffold: replace it."}}
'''

CASE_WITHIN = '''\
case_id: within-allowance
description: Four visits with none given before stay within the six-visit allowance.
dates: {{request: "{today}"}}
request: {{treatment: {name}, body_regions: [lumbar_spine], quantity: 4}}
expected: {{decision: certified, approved_quantity: 4, failed_criteria: []}}
'''

CASE_ABOVE = '''\
case_id: above-allowance
description: Four visits after three already given exceed the six-visit allowance, so three are certified.
dates: {{request: "{today}"}}
request: {{treatment: {name}, body_regions: [lumbar_spine], quantity: 4}}
prior_treatments:
  - {{treatment: {name}, count: 3}}
expected: {{decision: modified, approved_quantity: 3, failed_criteria: [{name}.visit_limit]}}
'''

TEST = '''\
"""The plugin is in force and passes the mtus-kb conformance kit (fixtures from kb_core's pytest plugin)."""


def test_{name}_is_in_force(mtus_kb):
    assert "{name}" in mtus_kb.plugins, (
        "the plugin is not in force yet: fill in {name}.yaml, enable the entry point in "
        "pyproject.toml and reinstall (see README.md)"
    )


def test_{name}_conforms(mtus_conformance):
    report = mtus_conformance("{name}")
    assert report.sample_cases >= 1 and report.sample_cases_agreeing == report.sample_cases
'''

README = '''\
# mtus-kb-{dist_name}

{title}: a guideline plugin for mtus-kb. **Draft:** it is inert until you fill it in.

## 1. Install mtus-kb

mtus-kb is not published on a package index; install it first, in the environment you
develop in, from wherever you got it:

```bash
{install_core}
```

## 2. Fill it in

- `mtus_kb_{name}/{name}.yaml`: replace the example source, version (its real dates),
  criterion and parameter with the real guideline, paraphrased and cited.
- `mtus_kb_{name}/__init__.py`: one evaluator per criterion (thresholds come from the YAML).
- `mtus_kb_{name}/cases/`: sample cases with their `expected:` outcomes.
- `pyproject.toml`: uncomment the `[project.entry-points.mtus]` lines. Until then an
  installed copy judges nothing.

## 3. Install the plugin and run the kit

```bash
pip install -e '.[test]' && python -m pytest -q
mtus plugins                     # lists {name} with its treatment and conformance
```

The plugin guide is mtus-kb's `docs/plugins.md` (on the docs site: "Writing a plugin").
'''

GENERIC_INSTALL = """\
# MTUS_KB is where mtus-kb comes from: git+https://<host>/<owner>/mtus-kb.git (its git
# repository), file:///path/to/mtus-kb (a clone) or file:///path/to/mtus_kb-<version>-py3-none-any.whl
pip install "mtus-kb[test] @ $MTUS_KB"
"""


def core_install_command() -> str:
    """How to install the running mtus-kb elsewhere: from where it was installed (PEP 610
    ``direct_url.json``: git URL, local path or wheel), else the three documented forms."""
    try:
        raw = metadata.distribution("mtus-kb").read_text("direct_url.json")
        info = json.loads(raw) if raw else None
    except (metadata.PackageNotFoundError, ValueError):
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str):
        return GENERIC_INSTALL
    url = info["url"]
    vcs = info.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("vcs") == "git":
        url = f"git+{url}@{vcs.get('commit_id') or vcs.get('requested_revision') or 'HEAD'}"
    # the same form as docs/plugins.md, with MTUS_KB filled in
    return f'pip install "mtus-kb[test] @ {url}"'


def first_party_names() -> frozenset[str]:
    """The entry-point names the installed mtus-kb distribution itself registers."""
    try:
        eps = metadata.distribution("mtus-kb").entry_points
    except metadata.PackageNotFoundError:
        return frozenset()
    return frozenset(ep.name for ep in eps if ep.group == "mtus")


def _check_name(name: str) -> None:
    if len(name) > MAX_NAME_LENGTH:
        raise KBError(f"plugin name is {len(name)} characters long; use at most {MAX_NAME_LENGTH}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise KBError(f"plugin name '{name}' must be snake_case (letters, digits, _), starting with a letter")
    if name in RESERVED_NAMES | first_party_names():
        raise KBError(f"plugin name '{name}' is reserved: mtus-kb uses it itself; choose another name (e.g. '{name}_extra')")


def _check_title(title: str) -> None:
    bad = sorted({repr(ch) for ch in title if unicodedata.category(ch).startswith("C")})
    if bad or not title.strip():
        raise KBError(f"title {title!r} must be one line of printable text" + (f" (found {', '.join(bad)})" if bad else ""))


def _quoted(text: str) -> str:
    """A double-quoted scalar valid in both YAML and TOML (JSON escapes are common to both)."""
    return json.dumps(text, ensure_ascii=False)


def new_plugin(name: str, directory: Path, *, title: str | None = None, tier: str = "odg", existing_kinds: frozenset[str] = frozenset(), core_version: str = "0.1") -> Path:
    """Write ``directory/mtus-kb-<name>/`` and return it.

    Raises:
        KBError: ``name`` is not a snake_case id, is too long or reserved; the title is not
            one printable line; the target exists; or ``directory`` cannot be written.
    """
    _check_name(name)
    title = title if title is not None else name.replace("_", " ").capitalize()
    _check_title(title)
    target = directory / f"mtus-kb-{name.replace('_', '-')}"
    if directory.exists() and not directory.is_dir():
        raise KBError(f"--directory {directory} is a file, not a directory")
    if target.exists():
        raise KBError(f"{target} already exists; choose another name or directory")
    today = dt.date.today()
    values = {
        "name": name, "dist_name": name.replace("_", "-"), "title": title, "tier": tier,
        "today": today.isoformat(), "year": today.year,
        "core_floor": ".".join(core_version.split(".")[:2]),
        "description_toml": _quoted(f"{title}: guideline plugin for mtus-kb"),
        "title_yaml": _quoted(title),
        "source_title": _quoted(f"{title} guideline"),
        "version_label": _quoted(f"{title} guideline ({today.year})"),
        "kinds": "" if name in existing_kinds else f"\ntreatment_kinds:\n  {name}: {{title: {_quoted(title)}}}\n",
        "install_core": core_install_command().rstrip("\n"),
    }
    package = target / f"mtus_kb_{name}"
    files = {
        target / "pyproject.toml": PYPROJECT,
        target / "README.md": README,
        package / "__init__.py": MODULE,
        package / f"{name}.yaml": GUIDELINE,
        package / "cases" / "within-allowance.yaml": CASE_WITHIN,
        package / "cases" / "above-allowance.yaml": CASE_ABOVE,
        target / "tests" / f"test_{name}.py": TEST,
    }
    try:
        (package / "cases").mkdir(parents=True)
        (target / "tests").mkdir()
        for path, template in files.items():
            path.write_text(template.format(**values), encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        hint = "choose a --directory you can write to" if not os.access(directory if directory.exists() else directory.parent, os.W_OK) else "check the path and free space"
        raise KBError(f"cannot write the plugin under {directory}: {reason} ({exc.filename}); {hint}") from None
    return target
