"""The plugin guide stays true after massage became a first-party treatment: its tutorial
plugin is one no first-party plugin judges, its reserved-name list is the installed
entry points, and the commands it shows (``mtus agree`` on a case expecting
``criteria_unavailable``) run."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from click.testing import CliRunner

import kb_core
from kb_core.cli import main

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
FIRST_PARTY = sorted(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["mtus"])
EXAMPLE = ROOT / "examples" / "mtus-kb-biofeedback"


def _tutorial_plugin() -> str:
    match = re.search(r"^\$ mtus new-plugin (\w+) ", GUIDE, re.M)
    assert match, "the guide scaffolds no plugin"
    return match.group(1)


def test_the_tutorial_plugin_is_the_example_and_judges_no_first_party_kind(kb: kb_core.KnowledgeBase) -> None:
    name = _tutorial_plugin()
    assert name == "biofeedback" and name not in FIRST_PARTY
    assert (EXAMPLE / f"mtus_kb_{name}" / f"{name}.yaml").is_file()
    assert f"examples/mtus-kb-{name}/" in GUIDE
    # No installed (first-party) treatment judges its requests, so it cannot clash.
    assert kb.treatment_for(name) is None


def test_the_guide_lists_every_first_party_plugin_as_reserved() -> None:
    paragraph = GUIDE.split("`NAME` must be snake_case", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"`(\w+)`", paragraph))
    assert {"kb_core", "kb_plugins", "kb_guidelines"} <= listed
    missing = [name for name in FIRST_PARTY if name not in listed]
    assert not missing, f"docs/plugins.md does not list these reserved names: {missing}"


def test_the_guide_names_no_example_that_no_longer_exists() -> None:
    for path in sorted(set(re.findall(r"examples/[\w.-]+", GUIDE))):
        assert (ROOT / path).exists(), f"docs/plugins.md names {path}, which is not in the repository"
    assert "mtus_kb_massage" not in GUIDE and "mtus-kb-massage" not in GUIDE


def test_the_guides_sample_case_table_is_the_examples_cases() -> None:
    cases = sorted(p.stem for p in (EXAMPLE / "mtus_kb_biofeedback" / "cases").glob("*.yaml"))
    table = sorted(re.findall(r"^\| `(biofeedback-[\w-]+)` \|", GUIDE, re.M))
    assert table == cases


def test_agree_counts_a_criteria_unavailable_expectation(tmp_path: Path) -> None:
    # A 2018 request expecting criteria_unavailable used to raise KeyError in `mtus agree`.
    case = tmp_path / "massage-2018.yaml"
    case.write_text(
        'case_id: massage-2018\ndescription: a 2018 massage request\n'
        'dates: {request: "2018-03-01"}\n'
        "request: {treatment: massage, body_regions: [lumbar_spine], quantity: 4, unit: visits}\n"
        "expected: {decision: criteria_unavailable, failed_criteria: []}\n"
    )
    result = CliRunner().invoke(main, ["agree", str(case), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert (summary["all"]["cases"], summary["all"]["strict_agree"]) == (1, 1)

    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(case.read_text().replace("2018-03-01", "2015-03-02").replace("massage-2018", "wrong"))
    summary = json.loads(CliRunner().invoke(main, ["agree", str(wrong), "--format", "json"]).stdout)["summary"]
    assert (summary["all"]["cases"], summary["all"]["strict_agree"]) == (1, 0)
