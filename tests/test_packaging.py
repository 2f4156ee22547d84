"""The guideline YAML is found from a built wheel and from an editable install alike.

Each install goes into its own fresh virtual environment (no pip inside; the outer
environment's pip installs into it with ``--python``, and its dependencies are borrowed
from the outer environment through a .pth file), then a child process loads the
knowledge base there and evaluates the seed case.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import importlib.resources, sys, kb_core
where = str(importlib.resources.files("kb_guidelines"))
kb = kb_core.load()
det = kb.evaluate(kb_core.load_case(sys.argv[1]))
print(where)
print(det.decision.value, det.receipt.knowledge_base_digest)
"""


def _fresh_env(tmp: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(tmp)
    python = tmp / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _pip(python: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check", "-q", *args], check=True)


def _source_copy(tmp: Path) -> Path:
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis")
    return Path(shutil.copytree(ROOT, tmp, ignore=ignore))


def _probe(python: Path, cwd: Path) -> tuple[str, str]:
    out = subprocess.run([python, "-c", PROBE, str(ROOT / "examples" / "seed-work-conditioning.yaml")], cwd=cwd, capture_output=True, text=True, check=True).stdout
    where, result = out.strip().splitlines()
    return where, result


def test_wheel_ships_the_guidelines_and_schemas_and_works_installed(tmp_path: Path) -> None:
    src = _source_copy(tmp_path / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(src)], check=True)
    wheel = next((tmp_path / "dist").glob("mtus_kb-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("kb_guidelines/common.yaml", "kb_guidelines/work_conditioning.yaml", "kb_core/schemas/case.schema.json", "kb_core/schemas/guideline.schema.json", "kb_core/py.typed", "kb_plugins/work_conditioning.py"):
        assert expected in names
    assert not any(n.startswith(("plugins/", "guidelines/", "tests/")) for n in names)
    python = _fresh_env(tmp_path / "env")
    _pip(python, "install", "--no-deps", str(wheel))
    where, result = _probe(python, tmp_path)
    assert "site-packages" in where and str(ROOT) not in where
    assert result.startswith("non_certified ")


def test_editable_install_reads_the_guidelines_from_the_source_tree(tmp_path: Path) -> None:
    src = _source_copy(tmp_path / "src")
    python = _fresh_env(tmp_path / "env")
    _pip(python, "install", "--no-deps", "--no-build-isolation", "-e", str(src))
    where, result = _probe(python, tmp_path)
    assert Path(where) == src / "guidelines"
    assert result.startswith("non_certified ")
