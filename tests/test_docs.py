"""The README stays true: its commands, and its list of unverified guideline items."""

from __future__ import annotations

from pathlib import Path

import kb_core

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# docs/coverage.md lists what stays unverified for the coverage plugins until it is merged into the README.
UNVERIFIED_LISTS = README + (ROOT / "docs" / "coverage.md").read_text()


def test_readme_opens_with_setup_and_test_commands() -> None:
    first_block = README.split("```")[1].splitlines()[1:]
    assert "mtus evaluate examples/seed-work-conditioning.yaml" in first_block[0]
    assert "pytest" in first_block[1]
    assert (ROOT / ".ci" / "run").read_text().count("README.md") >= 1


def test_readme_lists_every_unverified_parameter(kb: kb_core.KnowledgeBase) -> None:
    for pid, param in kb.guidelines.parameters.items():
        if not param.verification.verified:
            assert f"`{pid}`" in UNVERIFIED_LISTS, f"README does not list unverified parameter {pid}"


def test_every_hook_is_documented_in_the_plugin_guide() -> None:
    import inspect

    from kb_core import hookspecs

    guide = (ROOT / "docs" / "plugins.md").read_text()
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("mtus_"):
            assert f"### `{name}`" in guide, f"docs/plugins.md has no section for hook {name}"
            section = guide.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
            assert f"def {name}(" in section, f"the section on {name} does not show its signature"
            for param in inspect.signature(func).parameters:
                assert param in section, f"the section on {name} does not mention its argument {param}"
