"""The docs hold true: the plugin walk-through runs as written, the generated pages are current,
and the scaffold agrees with the guide."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from test_packaging import ROOT, _fresh_env, _source_copy


def _script(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


walkthrough = _script("docs_walkthrough")


def test_walkthrough_marks_the_install_scaffold_fill_in_and_check_steps() -> None:
    steps = walkthrough.steps()
    kinds = [s.kind for s in steps]
    assert kinds[:2] == ["run", "console"] and kinds[-1] == "run" and kinds.count("write") == 3
    assert 'pip install "mtus-kb[test] @ $MTUS_KB"' in steps[0].body
    assert "mtus new-plugin massage" in steps[1].body
    assert "python -m pytest" in steps[-1].body and "mtus plugins" in steps[-1].body


def test_plugin_walkthrough_runs_as_written(tmp_path: Path) -> None:
    """Everything after the networked install, run as the guide writes it; the install is
    replaced by an offline one of this source tree into a fresh environment."""
    python = _fresh_env(tmp_path / "env")
    env_bin = python.parent
    prelude = "\n".join([
        f'export PATH="{env_bin}:$PATH" VIRTUAL_ENV="{env_bin.parent}"',
        f'pip() {{ "{sys.executable}" -m pip --python "{python}" --disable-pip-version-check -q "$@" --no-deps --no-build-isolation; }}',
        f"pip install -e {_source_copy(tmp_path / 'core')}",
    ])
    work = tmp_path / "work"
    work.mkdir()
    run = subprocess.run(["bash", "-c", walkthrough.script(walkthrough.steps()[1:], prelude)], cwd=work, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 passed" in run.stdout
    assert "massage 0.1.0" in run.stdout and "massage: conforms" in run.stdout


def test_untouched_draft_is_inert_and_says_so(tmp_path: Path) -> None:
    from kb_core.scaffold import new_plugin

    target = new_plugin("hippotherapy", tmp_path, title="Hippotherapy")
    pyproject = (target / "pyproject.toml").read_text()
    assert "\n[project.entry-points.mtus]" not in pyproject and "# [project.entry-points.mtus]" in pyproject
    module = (target / "mtus_kb_hippotherapy" / "__init__.py").read_text()
    assert "or 0 for" not in module and "c.count is None" in module and "ur_authorized_quantity" in module
    readme = (target / "README.md").read_text()
    assert "pip install" in readme and "mtus-kb" in readme.split("## 1. Install mtus-kb")[1].split("## 2.")[0]
    for path in (target / "mtus_kb_hippotherapy" / "cases").glob("*.yaml"):
        assert f"case_id: {path.stem}\n" in path.read_text()
