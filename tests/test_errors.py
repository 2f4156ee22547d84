"""Bad guideline and case files: one fixture per failure mode, each naming file, line and fix.

Each fixture starts with ``# expect: <text in the message>`` and ``# line: <n|none>``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

import kb_core
from kb_core._loader import load_guidelines
from kb_core.graph import build_graph

HERE = Path(__file__).parent / "invalid"


def _expectation(path: Path) -> tuple[str, int | None]:
    head = path.read_text().splitlines()[:2]
    expect = head[0].removeprefix("# expect: ").strip().strip('"')
    line = head[1].removeprefix("# line: ").strip()
    return expect, None if line == "none" else int(line)


def _ids(folder: str) -> list[Path]:
    return sorted((HERE / folder).glob("*.yaml"))


@pytest.mark.parametrize("path", _ids("guidelines"), ids=lambda p: p.stem)
def test_bad_guideline_file_names_file_line_and_fix(path: Path) -> None:
    expect, line = _expectation(path)
    installed = [("kb_core", files("kb_guidelines") / "common.yaml"), ("work_conditioning", files("kb_guidelines") / "work_conditioning.yaml")]
    with pytest.raises(kb_core.GuidelineError) as info:
        build_graph(load_guidelines([*installed, ("test", path)]))
    error = info.value
    assert expect in str(error)
    assert error.path.endswith(path.name)
    assert error.line == line
    assert f"{path.name}:{line}" in str(error)
    assert error.fix, "every error says how to fix it"


@pytest.mark.parametrize("path", _ids("cases"), ids=lambda p: p.stem)
def test_bad_case_file_names_file_line_and_fix(path: Path, kb: kb_core.KnowledgeBase) -> None:
    expect, line = _expectation(path)
    with pytest.raises(kb_core.CaseError) as info:
        kb.evaluate(kb_core.load_case(path))
    error = info.value
    assert expect in str(error)
    assert error.path == str(path)
    assert error.line == line
    assert error.fix


def test_missing_file_is_a_case_error(tmp_path: Path) -> None:
    with pytest.raises(kb_core.CaseError, match="cannot read file"):
        kb_core.load_case(tmp_path / "absent.yaml")


def test_non_utf8_file_is_a_case_error(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("dates: {request: '2015-01-01'}\nnotes: [caf\xe9]\n".encode("latin-1"))
    with pytest.raises(kb_core.CaseError, match="not UTF-8"):
        kb_core.load_case(bad)


def test_json_case_with_duplicate_key_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "dup.json"
    bad.write_text('{"dates": {"request": "2015-01-01"},\n "request": {"treatment": "work_conditioning"},\n "request": {"treatment": "work_conditioning"}}')
    with pytest.raises(kb_core.CaseError, match="duplicate key 'request'"):
        kb_core.load_case(bad)


def test_error_tree_has_one_root() -> None:
    for cls in (kb_core.GuidelineError, kb_core.GraphError, kb_core.CaseError, kb_core.PluginError, kb_core.EvaluatorError, kb_core.ExportError):
        assert issubclass(cls, kb_core.KBError)
    assert issubclass(kb_core.GraphError, kb_core.GuidelineError)


def test_a_request_on_the_day_of_injury_is_accepted_by_both_case_paths_and_the_day_before_is_not() -> None:
    from kb_core import _case

    same_day = {"dates": {"injury": "2016-09-12", "request": "2016-09-12", "ur_decision": "2016-09-12"}, "request": {"treatment": "physical_therapy"}}
    assert _case._precise_case(same_day, None, limits_checked=False).dates.request == _case._fast_case(same_day, None).dates.request  # type: ignore[union-attr]
    for late in ("request", "ur_decision"):
        before = {**same_day, "dates": {**same_day["dates"], late: "2016-09-11"}}
        assert _case._fast_case(before, None) is None  # left to the precise path, which refuses it
        with pytest.raises(kb_core.CaseError, match="before the date of injury"):
            _case._precise_case(before, None, limits_checked=False)
