"""Canonical JSON with pre-encoded parts (a plan's parameters, the receipt) is still the
standard encoder's bytes, also for values orjson writes differently or refuses."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import kb_core
from kb_core import _render

ROOT = Path(__file__).resolve().parent.parent


def _standard(det: kb_core.Determination) -> str:
    return json.dumps(kb_core.determination_dict(det), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.fixture(scope="module")
def seed(kb: kb_core.KnowledgeBase) -> kb_core.Determination:
    return kb.evaluate(kb_core.load_case(ROOT / "examples" / "seed-work-conditioning.yaml"))


@pytest.mark.parametrize("value", [
    "two\nlines", "é😀", {"nested": [1, {"deeper": ["a\nb", None]}], "": {}}, [], {}, 1e16, 1e-5, 0.1, 2**70,
    "\ud800", dt.date(5, 1, 2), ("tuple", 1), [dt.date(2020, 1, 2), "x"], dt.datetime(2020, 1, 2, 3, 4),
    (dt.date(2020, 1, 1), 1.5), ((1, 2), [3, (dt.date(2021, 2, 3),)]), {3: "a key that is not text"},
    kb_core.Status.MET, 2**63,
])
def test_parameters_and_facts_of_any_shape_give_the_standard_bytes(seed: kb_core.Determination, value: Any) -> None:
    first = seed.criteria[0]
    changed = first._replace(parameters={**first.parameters, "given": value}, facts={**first.facts, "given": value})
    det = dataclasses.replace(seed, criteria=(changed, *seed.criteria[1:]))
    expected = _render.safe_json(_standard(det))
    assert kb_core.determination_json(det) == expected
    assert kb_core.determination_json(det) == expected  # the encoded parameters are reused


def test_a_receipt_of_any_content_gives_the_standard_bytes(seed: kb_core.Determination) -> None:
    receipt = dataclasses.replace(seed.receipt, supersessions=("old\nline", "é"), plugins={"b": "1", "a": "2\ud800"})
    det = dataclasses.replace(seed, receipt=receipt)
    for _ in range(2):
        assert kb_core.determination_json(det) == _render.safe_json(_standard(det))
    plain = dataclasses.replace(seed, receipt=dataclasses.replace(seed.receipt, supersessions=("x",)))
    for _ in range(2):
        assert kb_core.determination_json(plain) == _standard(plain)


def test_shared_parts_are_really_encoded_once(seed: kb_core.Determination) -> None:
    # Start from empty caches: a cache filled by earlier tests is cleared when full, which
    # may happen in the middle of this very call (order-dependent, not a fault).
    _render._encoded_cache.clear()
    _render._encoded_parameters.clear()
    kb_core.determination_json(seed)
    fragment = _render._orjson_fragment()
    assert fragment is not None
    entry = _render._encoded_cache[(id(seed.receipt), _render._RECEIPT_DEPTH)]
    assert entry[0] is seed.receipt and type(entry[1]) is fragment
    params = seed.criteria[0].parameters
    assert type(_render._encoded_cache[(id(params), _render._PARAMETERS_DEPTH)][1]) is fragment


def test_prior_treatments_reported_under_several_criteria_give_the_standard_bytes(kb: kb_core.KnowledgeBase) -> None:
    """The same records in several tuples (all of them, a program's) are converted once."""
    seen = 0
    for path in sorted((ROOT / "tests" / "cases").rglob("*.yaml")):
        try:
            det = kb.evaluate(kb_core.load_case(path))
        except kb_core.KBError:
            continue
        tuples = {id(v) for r in det.criteria for v in r.facts.values() if type(v) is tuple and v}
        if len(tuples) >= 2:
            seen += 1
            assert kb_core.determination_json(det) == _render.safe_json(_standard(det)), path
    assert seen >= 10
