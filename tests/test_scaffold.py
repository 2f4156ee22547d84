"""A scaffolded plugin installs and passes the conformance kit as generated, in a fresh environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kb_core.errors import KBError
from kb_core.scaffold import new_plugin

from test_packaging import _fresh_env, _pip, _source_copy


def test_scaffolded_plugin_is_inert_until_enabled_then_passes_the_kit(tmp_path: Path) -> None:
    target = new_plugin("hippotherapy", tmp_path, title="Hippotherapy", existing_kinds=frozenset({"massage"}))
    python = _fresh_env(tmp_path / "env")
    _pip(python, "install", "--no-deps", "--no-build-isolation", "-e", str(_source_copy(tmp_path / "core")), "-e", str(target))
    draft = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target / "tests")], cwd=target, capture_output=True, text=True)
    assert draft.returncode == 1 and "not in force yet" in draft.stdout, draft.stdout
    listing = subprocess.run([python, "-m", "kb_core", "plugins", "--no-conformance"], capture_output=True, text=True, cwd=tmp_path)
    assert listing.returncode == 0 and "hippotherapy" not in listing.stdout, listing.stdout

    pyproject = target / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("# [project.entry-points.mtus]\n# hippotherapy", "[project.entry-points.mtus]\nhippotherapy"))
    _pip(python, "install", "--no-deps", "--no-build-isolation", "-e", str(target))
    tests = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target / "tests")], cwd=target, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    listing = subprocess.run([python, "-m", "kb_core", "plugins"], capture_output=True, text=True, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "hippotherapy 0.1.0" in listing.stdout and "hippotherapy: conforms" in listing.stdout


def test_scaffold_refuses_bad_names_and_existing_targets(tmp_path: Path) -> None:
    with pytest.raises(KBError, match="snake_case"):
        new_plugin("Bad-Name", tmp_path)
    new_plugin("ok_name", tmp_path)
    with pytest.raises(KBError, match="already exists"):
        new_plugin("ok_name", tmp_path)


@pytest.mark.parametrize("name", ["kb_core", "acupuncture", "chiropractic", "physical_medicine", "work_conditioning"])
def test_scaffold_refuses_reserved_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(KBError, match="reserved"):
        new_plugin(name, tmp_path)
    assert not any(tmp_path.iterdir())


def test_scaffold_refuses_overlong_names_and_unwritable_directories(tmp_path: Path) -> None:
    with pytest.raises(KBError, match="300 characters long; use at most"):
        new_plugin("a" * 300, tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(KBError, match="is a file, not a directory"):
        new_plugin("tens", blocker)
    with pytest.raises(KBError, match="cannot write the plugin under"):
        new_plugin("tens", blocker / "below")


def test_scaffold_escapes_titles_in_yaml_and_toml(tmp_path: Path) -> None:
    import tomllib

    import yaml

    title = 'TENS "unit" \\ #1: a: [b] {c} \'d\' ünïcode'
    target = new_plugin("tens", tmp_path, title=title)
    project = tomllib.loads((target / "pyproject.toml").read_text())["project"]
    assert project["description"] == f"{title}: guideline plugin for mtus-kb"
    data = yaml.safe_load((target / "mtus_kb_tens" / "tens.yaml").read_text())
    assert data["treatments"]["tens"]["title"] == title
    assert data["treatment_kinds"]["tens"]["title"] == title
    with pytest.raises(KBError, match="one line of printable text"):
        new_plugin("tens_two", tmp_path, title="two\nlines")


def test_new_plugin_command_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "kb_core", "new-plugin", "acupuncture", "--directory", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 1 and "reserved" in run.stderr and "Traceback" not in run.stderr
