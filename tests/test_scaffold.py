"""A scaffolded plugin installs and passes the conformance kit as generated, in a fresh environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kb_core.errors import KBError
from kb_core.scaffold import new_plugin

from test_packaging import ROOT, _fresh_env, _pip, _source_copy


def test_scaffolded_plugin_passes_the_kit_unchanged(tmp_path: Path) -> None:
    target = new_plugin("hippotherapy", tmp_path, title="Hippotherapy", existing_kinds=frozenset({"massage"}))
    python = _fresh_env(tmp_path / "env")
    _pip(python, "install", "--no-deps", "--no-build-isolation", "-e", str(_source_copy(tmp_path / "core")), "-e", str(target))
    tests = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(target / "tests")], cwd=target, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "1 passed" in tests.stdout
    listing = subprocess.run([python, "-m", "kb_core", "plugins"], capture_output=True, text=True, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "hippotherapy 0.1.0" in listing.stdout and "hippotherapy: conforms" in listing.stdout


def test_scaffold_refuses_bad_names_and_existing_targets(tmp_path: Path) -> None:
    with pytest.raises(KBError, match="snake_case"):
        new_plugin("Bad-Name", tmp_path)
    new_plugin("ok_name", tmp_path)
    with pytest.raises(KBError, match="already exists"):
        new_plugin("ok_name", tmp_path)
