"""Fast paths added for issue 10 equal the paths they stand in for (checked at run time).

- the one-pass document check (``_yaml._within``) against the located check;
- canonical JSON with parameters converted once per plan against ``json.dumps`` of
  ``determination_dict`` (fresh conversion), after the cache has been filled;
- the evaluation fast path for well-formed findings against the full contract check.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

import kb_core
from conftest import sample_case_files
from kb_core import _kb, _render, _yaml
from kb_core._yaml import CASE_LIMITS, GUIDELINE_LIMITS, Limits

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sample_case_files()


def _located_check_passes(document: Any, limits: Limits) -> bool:
    """The located, iterative check alone (as before the one-pass check was added)."""
    original = _yaml._within
    try:
        _yaml._within = lambda node, depth, limits: False  # type: ignore[assignment]
        _yaml.check_document(document, "<doc>", kb_core.CaseError, limits)
    except kb_core.CaseError:
        return False
    finally:
        _yaml._within = original  # type: ignore[assignment]
    return True


def _variants(doc: Any, rng: random.Random, count: int) -> list[Any]:
    odd = [float("nan"), float("inf"), -float("inf"), 1.5, "x" * 50, [], {}, [[[[1]]]], True, None, 10**30]
    out = []
    for _ in range(count):
        variant = copy.deepcopy(doc)
        node = variant
        for _ in range(rng.randint(0, 4)):
            if isinstance(node, dict) and node:
                node = node[rng.choice(list(node))]
            elif isinstance(node, list) and node:
                node = node[rng.randrange(len(node))]
        if isinstance(node, dict):
            node[f"k{rng.randrange(5)}"] = rng.choice(odd)
        elif isinstance(node, list):
            node.append(rng.choice(odd))
        out.append(variant)
    return out


@pytest.mark.parametrize("limits", [CASE_LIMITS, Limits(max_bytes=1, max_depth=4, max_items=12, max_text=120), GUIDELINE_LIMITS])
def test_one_pass_document_check_agrees_with_the_located_check(limits: Limits) -> None:
    rng = random.Random(10)
    verdicts = {True: 0, False: 0}
    for path in CASE_FILES[::3]:
        doc = json.loads(json.dumps(_yaml.read_document(path, kb_core.CaseError)))  # plain dicts and lists
        for variant in [doc, *_variants(doc, rng, 20)]:
            expected = _located_check_passes(variant, limits)
            assert _yaml._within(variant, 0, limits) is expected, path
            verdicts[expected] += 1
    deep: Any = 1
    for _ in range(limits.max_depth + 1):
        deep = [deep]
    assert _yaml._within(deep, 0, limits) is _located_check_passes(deep, limits) is False
    assert verdicts[True] and verdicts[False]


def test_canonical_json_equals_the_standard_encoder_after_the_parameter_cache_is_warm(kb: kb_core.KnowledgeBase) -> None:
    dets = [kb.evaluate(kb_core.load_case(p)) for p in CASE_FILES]
    for det in dets:
        kb_core.determination_json(det)  # fills the cache
    assert _render._plain_params_cache
    for det in dets:
        reference = json.dumps(kb_core.determination_dict(det), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert kb_core.determination_json(det) == reference, det.case_id


def test_a_changed_parameter_mapping_is_converted_afresh(kb: kb_core.KnowledgeBase) -> None:
    det = kb.evaluate(kb_core.load_case(ROOT / "examples" / "seed-work-conditioning.yaml"))
    kb_core.determination_json(det)
    first = det.criteria[0]
    changed = first._replace(parameters={**first.parameters, "extra": 1})
    text = kb_core.determination_json(type(det)(**{**{f: getattr(det, f) for f in det.__dataclass_fields__}, "criteria": (changed,)}))
    assert '"extra": 1' in text


def test_the_evaluation_fast_path_accepts_exactly_what_the_contract_check_accepts(kb: kb_core.KnowledgeBase) -> None:
    """Every finding the first-party evaluators return on the sample cases, plus malformed
    variants: the fast path's verdict equals _check_finding's."""
    status_met = kb_core.Status.MET
    cases = [kb_core.load_case(p) for p in CASE_FILES]
    findings = []
    for treatment in kb.treatments:
        for vid in kb.guidelines.treatments[treatment].governed_by:
            for step in kb._plan(treatment, kb.guidelines.versions[vid]):
                findings += [step.evaluator.func(case, step.params) for case in cases[::7]]
    bad = [
        kb_core.Finding(status_met, ""), kb_core.Finding("met", "x"), kb_core.Finding(kb_core.Status.ERROR, "x"),
        kb_core.Finding(status_met, "x", -1), kb_core.Finding(status_met, "x", True), kb_core.Finding(status_met, "x", None, {"a": float("nan")}),
        kb_core.Finding(status_met, "x", None, {1: "a"}), kb_core.Finding(status_met, b"x"), kb_core.Finding(status_met, "x", None, {"a": object()}),
        kb_core.Finding(status_met, "x", None, {"a": (cases[0].dates, 1.5)}),
    ]
    step = kb._plan("work_conditioning", kb.guidelines.versions["cpmtg-2009"])[0]
    agreed = 0
    for finding in [*findings, *bad]:
        try:
            _kb._check_finding(finding)
            expected = True
        except (TypeError, ValueError):
            expected = False
        fake = _kb._Step(**{**{f: getattr(step, f) for f in step.__dataclass_fields__}, "evaluator": kb_core.evaluator(step.criterion.id)(lambda case, p, f=finding: f), "regions": frozenset()})
        result = kb._run(fake, cases[0], strict=False)
        assert (result.status is not kb_core.Status.ERROR) is expected, finding
        agreed += 1
    assert agreed > 500


def test_evaluate_many_restores_the_garbage_collector_as_it_was(kb: kb_core.KnowledgeBase) -> None:
    import gc

    case = kb_core.load_case(ROOT / "examples" / "seed-work-conditioning.yaml")
    assert gc.isenabled()
    assert len(kb.evaluate_many([case, case])) == 2 and gc.isenabled()
    with pytest.raises(kb_core.CaseError):
        kb.evaluate_many([case, {"request": {}}])
    assert gc.isenabled()
    gc.disable()
    try:
        kb.evaluate_many([case])
        assert not gc.isenabled()  # a host that paused it keeps it paused
    finally:
        gc.enable()
