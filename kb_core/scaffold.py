"""``mtus new-plugin NAME``: write a plugin distribution that installs and passes the kit as generated."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from kb_core.errors import KBError

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "mtus-kb-{name}"
version = "0.1.0"
description = {description_toml}
requires-python = ">=3.11"
dependencies = ["mtus-kb>={core_floor}"]

[project.optional-dependencies]
test = ["mtus-kb[test]>={core_floor}"]

[project.entry-points.mtus]
{name} = "mtus_kb_{name}"

[tool.setuptools]
packages = ["mtus_kb_{name}"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.setuptools.package-data]
mtus_kb_{name} = ["*.yaml", "cases/*.yaml"]
'''

MODULE = '''\
"""{title_py}: evaluators. Thresholds, statements and citations live in {name}.yaml."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from kb_core import Case, Evaluator, Finding, evaluator, hookimpl

__version__ = "0.1.0"


@evaluator("{name}.visit_limit")
def visit_limit(case: Case, p: Mapping[str, Any]) -> Finding:
    requested = case.request.quantity
    if requested is None:
        return Finding.not_documented("the number of visits requested is not stated")
    given = sum(t.count or 0 for t in case.prior("{name}"))
    limit = p["max_visits"]
    if given + requested <= limit:
        return Finding.met(f"{{given}} given + {{requested}} requested, within {{limit}}")
    return Finding.not_met(f"{{given}} given + {{requested}} requested, above {{limit}}", approvable=max(limit - given, 0) or None)


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
# {title}: guideline data for the mtus-kb plugin mtus-kb-{name}.
# Replace the example source, criterion and parameter with the real guideline text
# (paraphrased), its citation and its numbers. Verification tags: V verified, D as quoted
# in decisions, K from working knowledge, U uncertain.
{kinds}
sources:
  {name}_guideline:
    title: {source_title_yaml}
    tier: {tier}
    versions:
      {name}-{year}:
        label: {label_yaml}
        effective_from: "{today}"

treatments:
  {name}:
    title: {title_yaml}
    requested_as: [{name}]
    governed_by: [{name}-{year}]
    parameters:
      max_visits:
        value: 6
        unit: visits
        citation: {{source: {name}_guideline, section: "Visits"}}
        verification: {{status: U, note: "Example value from the scaffold: replace it."}}
    criteria:
      visit_limit:
        title: Total visits within the allowance
        statement: Visits already given plus those requested stay within the allowance.
        citation: {{source: {name}_guideline, section: "Visits"}}
        applies_to: [{name}-{year}]
        role: quantity
        facts: [request.quantity, prior_treatments]
        parameters: [max_visits]
        documentation_needed: The number of visits requested and already given.
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
"""The plugin passes the mtus-kb conformance kit (fixture from kb_core's pytest plugin)."""


def test_{name}_conforms(mtus_conformance):
    report = mtus_conformance("{name}")
    assert report.sample_cases == 2 and report.sample_cases_agreeing == 2
'''

README = '''\
# mtus-kb-{name}

{title}: a guideline plugin for [mtus-kb](https://pypi.org/project/mtus-kb/).

```bash
pip install -e '.[test]' && python -m pytest -q
mtus plugins                     # lists {name} with its treatment and conformance
```

Data in `mtus_kb_{name}/{name}.yaml`, judgment in `mtus_kb_{name}/__init__.py`, sample cases
in `mtus_kb_{name}/cases/`. See mtus-kb's `docs/plugins.md`.
'''


MAX_NAME = 40
MAX_TITLE = 80


def _quoted(text: str) -> str:
    """A double-quoted string valid in YAML and in TOML alike (JSON escapes, non-ASCII kept)."""
    return json.dumps(text, ensure_ascii=False)


def new_plugin(name: str, directory: Path, *, title: str | None = None, tier: str = "odg", existing_kinds: frozenset[str] = frozenset(), core_version: str = "0.1") -> Path:
    """Write ``directory/mtus-kb-<name>/`` and return it.

    Raises:
        KBError: ``name`` is not a snake_case id, is too long or reserved (``kb_core``, a
            first-party plugin's name), the title is not one line of text, the target
            exists, or the directory cannot be written.
    """
    import re

    from kb_core._plugins import reserved_names

    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise KBError(f"plugin name '{name[:60]}' must be snake_case (letters, digits, _), starting with a letter")
    if len(name) > MAX_NAME:
        raise KBError(f"plugin name of {len(name)} characters is longer than {MAX_NAME}; choose a shorter name")
    if name in reserved_names():
        raise KBError(f"plugin name '{name}' is reserved for mtus-kb's own plugin; choose another name (a plugin may supersede a treatment only by declaring `supersedes:` in its guideline YAML)")
    title = title if title is not None else name.replace("_", " ").capitalize()
    if not title.strip() or len(title) > MAX_TITLE or not title.isprintable():
        raise KBError(f"title must be one line of printable text, 1 to {MAX_TITLE} characters")
    target = directory / f"mtus-kb-{name.replace('_', '-')}"
    if target.exists():
        raise KBError(f"{target} already exists; choose another name or directory")
    today = dt.date.today()
    values = {
        "name": name, "title": title, "tier": tier,
        "today": today.isoformat(), "year": today.year,
        "core_floor": ".".join(core_version.split(".")[:2]),
        "title_yaml": _quoted(title), "source_title_yaml": _quoted(f"{title} guideline"),
        "label_yaml": _quoted(f"{title} guideline ({today.year})"),
        "description_toml": _quoted(f"{title}: guideline plugin for mtus-kb"),
        "title_py": title.replace("\\", "\\\\").replace('"', '\\"'),
        "kinds": "" if name in existing_kinds else f"\ntreatment_kinds:\n  {name}: {{title: {_quoted(title)}}}\n",
    }
    package = target / f"mtus_kb_{name}"
    try:
        (package / "cases").mkdir(parents=True)
        (target / "tests").mkdir()
    except OSError as exc:
        raise KBError(f"cannot create {target}: {exc.strerror or exc}; choose a directory you can write") from None
    files = {
        target / "pyproject.toml": PYPROJECT,
        target / "README.md": README,
        package / "__init__.py": MODULE,
        package / f"{name}.yaml": GUIDELINE,
        package / "cases" / "within-allowance.yaml": CASE_WITHIN,
        package / "cases" / "above-allowance.yaml": CASE_ABOVE,
        target / "tests" / f"test_{name}.py": TEST,
    }
    for path, template in files.items():
        try:
            path.write_text(template.format(**values), encoding="utf-8")
        except OSError as exc:
            raise KBError(f"cannot write {path}: {exc.strerror or exc}") from None
    return target
