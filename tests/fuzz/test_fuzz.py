"""The fuzz suite of issue 9: mutated sample cases, schema-drawn cases, mutated guideline files
and a hostile plugin, each asserting that every input gives a determination or a typed error
naming the file (never a traceback), and never CERTIFIED from a mutation that makes the case
invalid.

Budgets (cases per test) come from MTUS_FUZZ_EXAMPLES, else from the Hypothesis profile:
default 600 (a local run), ``HYPOTHESIS_PROFILE=ci`` 6,000. The larger run, done once and
reported in the issue:

    MTUS_FUZZ_EXAMPLES=50000 HYPOTHESIS_PROFILE=ci python -m pytest -q tests/fuzz -s

(``-s`` shows the counts each test prints.)
"""

from __future__ import annotations

import copy
import json
import math
import os
import sys
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kb_core
from conftest import load_first_party
from kb_core._loader import load_guidelines
from kb_core._schemas import schema
from kb_core._yaml import read_document
from kb_core.graph import build_graph
from kb_core.testing import case_dicts

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "hostile"))
import hostile_plugins as hostile  # noqa: E402

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
CASE_BUDGET = int(os.environ.get("MTUS_FUZZ_EXAMPLES") or (6000 if PROFILE == "ci" else 600))
GUIDELINE_BUDGET = max(20, CASE_BUDGET // 60)
PLUGIN_BUDGET = max(50, CASE_BUDGET // 20)

KB = load_first_party()
SAMPLE_PATHS = sorted((ROOT / "tests" / "cases").rglob("*.yaml")) + [ROOT / "examples" / "seed-work-conditioning.yaml"]
SAMPLES = [(path, json.loads(json.dumps(read_document(path, kb_core.CaseError)))) for path in SAMPLE_PATHS]
KINDS = sorted(kind for t in KB.guidelines.treatments.values() for kind in t.requested_as)


def _numeric_fields() -> dict[str, str]:
    """Dotted case path (list items as ``[]``) -> 'integer' or 'number', from the case schema."""
    root = schema("case")
    found: dict[str, str] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        if "$ref" in node:
            node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        kinds = node.get("type")
        kinds = [kinds] if isinstance(kinds, str) else kinds or []
        if "integer" in kinds or "number" in kinds:
            found[prefix] = "integer" if "integer" in kinds else "number"
        if "items" in node:
            walk(node["items"], prefix + "[]")
        for key, sub in node.get("properties", {}).items():
            walk(sub, f"{prefix}.{key}" if prefix else key)

    walk(root, "")
    return {k: v for k, v in found.items() if not k.startswith("expected")}


NUMERIC = _numeric_fields()

# Values that make any numeric fact invalid: the case must then be a CaseError, never certified.
INVALID_NUMBERS = [float("nan"), float("inf"), float("-inf"), -1, -0.5, "3", "three", True, False, [3], {"a": 1}, ""]
INVALID_COUNTS = [*INVALID_NUMBERS, 2.5, 10.0]
# Values that may or may not be valid where they land; only "no traceback" is asserted.
ANY_VALUES = [
    None, 0, 1, 3, 6, 7, 18, 24, 10**30, 0.001, 1e308, "", "x", "\ud800", "\x1b[2J", "é" * 50, "2015-02-30", "1900-01-01",
    "9999-12-31", [], {}, [None], {"treatment": "acupuncture"}, "acupuncture", "work_conditioning", "knee", "lumbar_spine",
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _schema_path(path: tuple[Any, ...]) -> str:
    out = ""
    for step in path:
        out += "[]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _set(document: Any, path: tuple[Any, ...], value: Any) -> None:
    node = document
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _delete(document: Any, path: tuple[Any, ...]) -> None:
    node = document
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]


@st.composite
def mutated_cases(draw: st.DrawFn) -> tuple[str, Any, str | None]:
    """(file name, mutated case mapping, why it is invalid or None when validity is unknown)."""
    if draw(st.integers(0, 4)) == 0:  # a case drawn from the schema, valid before mutation
        kind = draw(st.sampled_from(KINDS))
        name, document = f"drawn-{kind}.yaml", draw(case_dicts(KB, kind))
    else:
        path, original = draw(st.sampled_from(SAMPLES))
        name, document = str(path), copy.deepcopy(original)
    # First 0-2 mutations whose validity is unknown, then at most one that makes the case
    # invalid by construction (last, so nothing undoes it).
    for _ in range(draw(st.sampled_from([0, 1, 1, 2]))):
        targets = [p for p in _paths(document) if p]
        if not targets:
            break
        where = draw(st.sampled_from(targets))
        if draw(st.integers(0, 2)):
            _set(document, where, copy.deepcopy(draw(st.sampled_from(ANY_VALUES))))
        else:
            _delete(document, where)
    invalid: str | None = None
    if not isinstance(document, dict):
        return name, document, invalid
    targets = [p for p in _paths(document) if p]
    numeric_targets = [p for p in targets if _schema_path(p) in NUMERIC]
    action = draw(st.sampled_from(["none", "none", "numeric", "non_finite", "unknown_key", "deep"]))
    if action == "numeric" and numeric_targets:
        where = draw(st.sampled_from(numeric_targets))
        kind = NUMERIC[_schema_path(where)]
        value = draw(st.sampled_from(INVALID_COUNTS if kind == "integer" else INVALID_NUMBERS))
        _set(document, where, value)
        invalid = f"{_schema_path(where)} = {value!r}"
    elif action == "non_finite" and targets:
        where = draw(st.sampled_from(targets))
        value = draw(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
        _set(document, where, value)
        invalid = f"non-finite: {where} = {value!r}"
    elif action == "unknown_key":
        mappings = [p for p in _paths(document) if isinstance(_get(document, p), dict) and "extra" not in p]
        where = draw(st.sampled_from(mappings))
        _get(document, where)["zz_" + draw(st.sampled_from(["typo", "quantityy", "x"]))] = 1
        invalid = f"unknown key under {where}"
    elif action == "deep":
        deep: Any = 1
        for _ in range(draw(st.integers(25, 60))):
            deep = [deep]
        document["notes"] = [deep]
        invalid = "nesting"
    return name, document, invalid


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    node = document
    for step in path:
        node = node[step]
    return node


def _render_checked(det: kb_core.Determination) -> None:
    kb_core.determination_text(det).encode("utf-8")
    text = kb_core.determination_json(det)
    text.encode("utf-8")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))


def _judge(name: str, document: Any, invalid: str | None, kb: kb_core.KnowledgeBase = KB) -> str:
    """Evaluate one mutated case; any exception other than a KBError fails the test."""
    try:
        case = kb_core.parse_case(document, name)
        det = kb.evaluate(case)
    except kb_core.CaseError as error:
        assert error.path == name, error  # the typed error names the file
        return "case_error"
    except kb_core.KBError as error:
        pytest.fail(f"{type(error).__name__} for a case: {error}")
    assert invalid is None, f"a case made invalid ({invalid}) was accepted: {det.decision.value}"
    assert det.decision is not kb_core.Decision.ERROR, det.summary  # first-party plugins never fail
    _render_checked(det)
    return det.decision.value


def _budgeted(examples: int) -> Any:
    return settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def test_mutated_cases_give_a_determination_or_a_case_error() -> None:
    tally: dict[str, int] = {}

    @_budgeted(CASE_BUDGET)
    @given(mutated_cases())
    def check(drawn: tuple[str, Any, str | None]) -> None:
        outcome = _judge(*drawn)
        tally[outcome] = tally.get(outcome, 0) + 1

    check()
    total = sum(tally.values())
    print(f"\nfuzz: {total} mutated cases: {tally}")
    assert total >= CASE_BUDGET and tally.get("case_error") and len(tally) > 2


def test_case_files_with_hostile_bytes_give_a_case_error(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same mutations written to files (YAML and JSON), read back through load_case."""
    folder = tmp_path_factory.mktemp("fuzz")
    count = 0

    @_budgeted(max(50, CASE_BUDGET // 20))
    @given(mutated_cases(), st.sampled_from(["yaml", "json"]))
    def check(drawn: tuple[str, Any, str | None], fmt: str) -> None:
        nonlocal count
        _, document, invalid = drawn
        path = folder / f"case.{fmt}"
        plain = json.loads(json.dumps(document))
        text = json.dumps(plain) if fmt == "json" else _yaml_text(plain)
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            det = KB.evaluate(path)
        except kb_core.CaseError as error:
            assert error.path == str(path)
        else:
            # JSON has no NaN: the token reads as the text "NaN", valid where text is
            assert invalid is None or (fmt == "json" and invalid.startswith("non-finite")), invalid
            _render_checked(det)
        count += 1

    check()
    print(f"\nfuzz: {count} case files")


def _yaml_text(document: Any) -> str:
    import yaml

    return yaml.safe_dump(document, allow_unicode=True)


# ---------------------------------------------------------------- guideline files

GUIDELINE_FILES = ["acupuncture.yaml", "chiropractic.yaml", "physical_medicine.yaml", "work_conditioning.yaml"]
GUIDELINE_DOCS = {name: json.loads(json.dumps(read_document(ROOT / "guidelines" / name, kb_core.GuidelineError))) for name in GUIDELINE_FILES}
COUNT_UNITS = ("visits", "treatments", "sessions")


class _Blob:
    def __init__(self, name: str, content: bytes) -> None:
        self.name, self._content = name, content

    def read_bytes(self) -> bytes:
        return self._content

    def __str__(self) -> str:
        return self.name


@st.composite
def mutated_guidelines(draw: st.DrawFn) -> tuple[str, Any, str | None]:
    name = draw(st.sampled_from(GUIDELINE_FILES))
    document = copy.deepcopy(GUIDELINE_DOCS[name])
    parameters = [
        (tid, key, node) for tid, treatment in document["treatments"].items()
        for key, node in treatment.get("parameters", {}).items()
    ]
    tid, key, node = draw(st.sampled_from(parameters))
    value = draw(st.sampled_from([*INVALID_COUNTS, 0, 7, 12.5, "text", None]))
    node["value"] = value
    counts = node["unit"].split()[0] in COUNT_UNITS
    invalid = None
    if isinstance(value, float) and not math.isfinite(value):
        invalid = f"{tid}.{key} = {value}"
    elif counts and not _counts(value):
        invalid = f"count {tid}.{key} = {value!r}"
    return name, document, invalid


def _counts(value: Any) -> bool:
    """A count, or a list or table of counts (a scalar and a table look alike to the schema)."""
    one = lambda v: type(v) is int and v >= 0  # noqa: E731
    if isinstance(value, list):
        return bool(value) and all(map(one, value))
    if isinstance(value, dict):
        return bool(value) and all(map(one, value.values()))
    return one(value)


def test_mutated_guideline_files_load_or_name_the_file() -> None:
    common = files("kb_guidelines") / "common.yaml"
    others = {name: files("kb_guidelines") / name for name in GUIDELINE_FILES}
    count = 0

    @_budgeted(GUIDELINE_BUDGET)
    @given(mutated_guidelines())
    def check(drawn: tuple[str, Any, str | None]) -> None:
        nonlocal count
        name, document, invalid = drawn
        blob = _Blob(f"fuzzed-{name}", _yaml_text(document).encode())  # YAML: .nan and .inf stay numbers
        try:
            build_graph(load_guidelines([("kb_core", common), *((n, r) for n, r in others.items() if n != name), ("fuzz", blob)]))
        except kb_core.GuidelineError as error:
            assert error.path == f"fuzzed-{name}", error
        else:
            assert invalid is None, f"a broken guideline file loaded: {invalid}"
        count += 1

    check()
    print(f"\nfuzz: {count} guideline files")


# ---------------------------------------------------------------- a hostile plugin


@pytest.fixture(scope="module")
def hostile_kbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, kb_core.KnowledgeBase]:
    folder = tmp_path_factory.mktemp("hostile")
    kbs = {f"evaluator:{m}": load_first_party(plugins=[("hostile", hostile.plugin(folder / f"e-{m}", evaluator_mode=m))])
           for m in hostile.EVALUATOR_MODES if m != "interrupt"}
    kbs.update({f"combine:{m}": load_first_party(plugins=[("hostile", hostile.plugin(folder / f"c-{m}", combine_mode=m))])
                for m in hostile.COMBINE_MODES})
    return kbs


def test_hostile_plugin_never_changes_first_party_outcomes_or_escapes(hostile_kbs: dict[str, kb_core.KnowledgeBase]) -> None:
    count = 0

    @_budgeted(PLUGIN_BUDGET)
    @given(st.sampled_from(sorted(hostile_kbs)), mutated_cases(), st.booleans())
    def check(mode: str, drawn: tuple[str, Any, str | None], own: bool) -> None:
        nonlocal count
        kb = hostile_kbs[mode]
        name, document, invalid = drawn
        if own:  # the hostile plugin's own treatment: an error naming it, or a decision
            document = {**hostile.MASSAGE_CASE, "case_id": name}
            det = kb.evaluate(document)
            assert det.decision is kb_core.Decision.ERROR and "hostile" in (det.summary + " ".join(r.reason for r in det.criteria))
            _render_checked(det)
        else:
            assert _judge(name, document, invalid, kb) == _judge(name, document, invalid, KB)
        count += 1

    check()
    print(f"\nfuzz: {count} cases with a hostile plugin installed")
