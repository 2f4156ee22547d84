"""The README stays true: its commands, and its list of unverified guideline items."""

from __future__ import annotations

from pathlib import Path

import kb_core

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_setup_and_test_commands() -> None:
    first_block = README.split("```")[1].splitlines()[1:]
    assert "mtus evaluate examples/seed-work-conditioning.yaml" in first_block[0]
    assert "pytest" in first_block[1]
    assert (ROOT / ".ci" / "run").read_text().count("README.md") >= 1


def test_readme_lists_every_unverified_parameter(kb: kb_core.KnowledgeBase) -> None:
    for pid, param in kb.guidelines.parameters.items():
        if not param.verification.verified:
            assert f"`{pid}`" in README, f"README does not list unverified parameter {pid}"
