"""The fast evaluation path (issue 10, round 3) equals the paths it stands in for.

Each shortcut is compared at run time with what it replaces, on every sample case:
kb_core's combine rule called directly on the results that may decide vs the combine hook
on every result; the deciding criteria of the counted results vs of every result; a
Determination built slot by slot vs by its constructor; answers shared per case
(plugins/_caps.once_per_case) and per description (plugins/_text.first_category) vs asked
afresh.
"""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

import pytest

import kb_core
from conftest import load_first_party, sample_case_files
from kb_plugins import _text
from kb_plugins._caps import once_per_case

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sample_case_files()


def _outputs(kb: kb_core.KnowledgeBase, cases: list[kb_core.Case]) -> list[tuple[str, str, str]]:
    out = []
    for case in cases:
        det = kb.evaluate(case)
        out.append((kb_core.determination_json(det), kb_core.determination_text(det), repr(det)))
    return out


@pytest.fixture(scope="module")
def cases() -> list[kb_core.Case]:
    return [kb_core.load_case(path) for path in CASE_FILES]


def test_the_default_rule_called_directly_gives_every_sample_case_the_outputs_of_the_hook(cases: list[kb_core.Case]) -> None:
    fast = load_first_party()
    plain = load_first_party()
    plain._default_combine = {treatment: False for treatment in plain._default_combine}  # every combine through the hooks
    calls = []
    real_combine = plain._combine
    plain._combine = lambda *args: calls.append(args[0]) or real_combine(*args)  # type: ignore[method-assign]
    expected = _outputs(plain, cases)
    got = _outputs(fast, cases)
    assert len(got) == len(cases) > 300 and len(calls) > 300
    for path, a, b in zip(CASE_FILES, got, expected):
        assert a == b, path


def test_deciding_criteria_of_the_counted_results_equal_those_of_every_result(kb: kb_core.KnowledgeBase, cases: list[kb_core.Case]) -> None:
    decisions = set()
    for case in cases:
        det = kb.evaluate(case)
        decisions.add(det.decision)
        # The rule over every result: a plugin's error always; a failing result that decides unless certified.
        every = tuple(
            r.criterion for r in det.criteria
            if r.status is kb_core.Status.ERROR
            or (det.decision is not kb_core.Decision.CERTIFIED and r.decides and r.status in (kb_core.Status.NOT_MET, kb_core.Status.NOT_DOCUMENTED))
        )
        assert det.deciding_criteria == every, case.path
    assert {kb_core.Decision.CERTIFIED, kb_core.Decision.MODIFIED, kb_core.Decision.NON_CERTIFIED} <= decisions


def test_a_determination_built_slot_by_slot_equals_the_constructors(kb: kb_core.KnowledgeBase, cases: list[kb_core.Case]) -> None:
    det = kb.evaluate(cases[0])
    fields = {name: getattr(det, name) for name in det.__dataclass_fields__}
    assert det == kb_core.Determination(**fields)
    assert pickle.loads(pickle.dumps(det)) == det and dataclasses.replace(det) == det
    with pytest.raises(dataclasses.FrozenInstanceError):
        det.summary = "changed"  # type: ignore[misc]


class _Case:  # stands in for a frozen case: only its identity matters here
    pass


def test_once_per_case_answers_again_for_another_case_or_other_arguments() -> None:
    asked: list[tuple[Any, ...]] = []

    @once_per_case
    def question(case: Any, *args: Any) -> tuple[Any, ...]:
        asked.append((case, *args))
        return (case, *args)

    first, second = _Case(), _Case()
    assert question(first, "a") == (first, "a") and question(first, "a") == (first, "a")
    assert len(asked) == 1
    assert question(first, "b") == (first, "b") and question(second, "b") == (second, "b")
    assert question(first, ("a",)) == (first, ("a",)) and question(first, ("a",)) == (first, ("a",))
    assert len(asked) == 4
    assert question.__name__ == "question"


def test_first_category_equals_a_fresh_search_and_a_new_table_is_searched_afresh() -> None:
    table = {"knee": "knee, patella", "back": "lumbar, spine"}
    texts = ["Knee sprain", "lumbar strain", "patellar tendinitis", "wrist", None, ""]
    for text in texts:
        fresh = next((category for category, terms in table.items() if _text.mentions(text, terms)), None)
        assert _text.first_category(text, table) == fresh == _text.first_category(text, table)
    other = {"back": "lumbar, spine", "knee": "knee, patella, lumbar"}
    assert _text.first_category("lumbar strain", other) == "back"
    assert _text.first_category("knee and lumbar", {"knee": "knee"}) == "knee"
