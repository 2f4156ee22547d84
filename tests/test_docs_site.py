"""The docs hold true: the plugin walk-through runs as written, the generated pages are current,
and the scaffold agrees with the guide."""

from __future__ import annotations

import importlib.util
import re
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
    assert "mtus new-plugin biofeedback" in steps[1].body
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
    assert "biofeedback 0.1.0" in run.stdout and "biofeedback: conforms; 1 treatment(s), 1 criteria, 2/2 sample cases as expected" in run.stdout


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


# ---------------------------------------------------------------- generated pages

pages = _script("docs_pages")


def test_case_format_page_describes_every_schema_field() -> None:
    import json

    text = pages.case_format()
    schema = json.loads((ROOT / "kb_core" / "schemas" / "case.schema.json").read_text())

    def paths(node: dict, prefix: str) -> list[str]:  # type: ignore[type-arg]
        out = []
        for key, child in node.get("properties", {}).items():
            out.append(prefix + key)
            out += paths(child, prefix + key + ".")
            if isinstance(child.get("items"), dict):
                out += paths(child["items"], prefix + key + "[].")
        return out

    every = paths(schema, "")
    assert len(every) > 80
    for path in every:
        row = next((line for line in text.splitlines() if line.startswith(f"| `{path}` |")), None)
        assert row is not None, f"{path} missing from the case format page"
        assert row.rstrip(" |").rsplit("|", 1)[1].strip(), f"{path} has no description"
    findings = schema["properties"]["findings"]["properties"]
    assert all(child.get("description") for child in findings.values())


def test_case_format_generator_refuses_an_undescribed_field(monkeypatch: pytest.MonkeyPatch) -> None:
    import copy

    from kb_core import _schemas

    original = _schemas.schema("case")
    broken = copy.deepcopy(original)
    broken["properties"]["findings"]["properties"]["flare_up"].pop("description")
    monkeypatch.setattr(_schemas, "schema", lambda name: broken if name == "case" else original)
    with pytest.raises(pages.UndescribedField, match="findings.flare_up"):
        pages.case_format()


def test_verification_page_lists_every_criterion_and_parameter_with_its_tag(kb) -> None:  # type: ignore[no-untyped-def]
    text = pages.verification()
    for cid, criterion in kb.guidelines.criteria.items():
        assert f"| `{cid}` " in text and f"| {criterion.verification.status} |" in text
    for pid, param in kb.guidelines.parameters.items():
        assert f"| `{pid}` | {param.verification.status} |" in text


def test_cli_page_holds_every_command_and_shell_completion() -> None:
    from kb_core.cli import main

    text = pages.cli_reference()
    for name in main.commands:
        assert f"## `mtus {name}`" in text
    assert "_MTUS_COMPLETE=bash_source mtus" in text


def test_guideline_format_page_names_every_schema_key() -> None:
    import json

    text = (ROOT / "docs" / "guideline-format.md").read_text()
    schema = json.loads((ROOT / "kb_core" / "schemas" / "guideline.schema.json").read_text())
    keys = set(schema["properties"])
    for definition in schema["$defs"].values():
        keys |= set(definition.get("properties", {}))
    keys |= {"effective_from", "effective_until", "pages_from", "label"}
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"docs/guideline-format.md does not describe: {missing}"


def test_every_nav_page_exists_or_is_generated() -> None:
    nav = re.findall(r":\s*(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert "case-format.md" in nav and "plugins.md" in nav and "burden.md" in nav
    for page in nav:
        assert (ROOT / "docs" / page).exists() or page in pages.PAGES, page


# ---------------------------------------------------------------- the docs' code blocks run


def _blocks(page: str, lang: str) -> list[str]:
    text = (ROOT / "docs" / page).read_text()
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def test_python_blocks_of_getting_started_run(tmp_path: Path) -> None:
    blocks = _blocks("getting-started.md", "python")
    assert len(blocks) >= 2
    code = "\n".join(blocks)
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("non_certified 0\n")


def test_mtus_commands_of_getting_started_run(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    lines = [line for block in _blocks("getting-started.md", "bash") for line in block.splitlines() if line.startswith("mtus ")]
    assert any(line.startswith("mtus facts") for line in lines) and any(line.startswith("mtus evaluate") for line in lines)
    mtus = str(Path(sys.executable).parent / "mtus")
    script = "set -euo pipefail\n" + "\n".join(mtus + line[len("mtus"):] for line in lines)
    run = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "ok " in run.stdout and "DECISION:" in run.stdout


def test_python_blocks_of_every_page_compile() -> None:
    import ast

    for page in sorted((ROOT / "docs").glob("*.md")):
        for block in _blocks(page.name, "python"):
            if block.lstrip().startswith(">>>"):  # a session: its input lines
                block = "\n".join(line[4:] for line in block.splitlines() if line.startswith((">>> ", "... ")))
            if block.rstrip().endswith(":"):  # a hook's signature, shown without a body
                block += "    ...\n"
            ast.parse(block)  # abridged examples too: they must stay valid Python


@pytest.mark.parametrize(("direct_url", "expected"), [
    ({"url": "https://example.org/mtus-kb.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}, 'pip install "mtus-kb[test] @ git+https://example.org/mtus-kb.git@abc123"'),
    ({"url": "file:///src/mtus-kb", "dir_info": {"editable": True}}, 'pip install "mtus-kb[test] @ file:///src/mtus-kb"'),
    ({"url": "file:///dist/mtus_kb-0.1.0-py3-none-any.whl", "archive_info": {}}, 'pip install "mtus-kb[test] @ file:///dist/mtus_kb-0.1.0-py3-none-any.whl"'),
    (None, 'pip install "mtus-kb[test] @ $MTUS_KB"'),
])
def test_scaffold_readme_says_how_to_install_the_running_mtus_kb(monkeypatch: pytest.MonkeyPatch, direct_url: dict | None, expected: str) -> None:  # type: ignore[type-arg]
    import json

    from kb_core import scaffold

    class Dist:
        entry_points: list[object] = []

        def read_text(self, name: str) -> str | None:
            return json.dumps(direct_url) if direct_url is not None and name == "direct_url.json" else None

    monkeypatch.setattr(scaffold.metadata, "distribution", lambda name: Dist())
    command = scaffold.core_install_command()
    assert command.splitlines()[-1] == expected
    assert expected.split(" @ ")[0] in (ROOT / "docs" / "plugins.md").read_text()  # the guide's form
