"""The fast paths equal their source of truth, checked at run time on every sample case.

Each derived path (libyaml reader, compiled schema check, orjson encoder, cached knowledge
base, batch evaluation) is compared with the path it stands in for, not with a frozen file,
so the comparison holds while other changes alter the outputs themselves.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import kb_core
from conftest import load_first_party, sample_case_files
from kb_core import _render, _schemas, _yaml
from kb_core._yaml import data_files

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sample_case_files()
DATA_FILES = data_files([ROOT / "examples", ROOT / "tests", ROOT / "guidelines"])


def _same_located(fast: Any, slow: Any) -> None:
    """Same data, same types, same remembered lines (error messages depend on them)."""
    assert type(fast) is type(slow)
    if isinstance(slow, dict):
        assert list(fast) == list(slow) and fast.line == slow.line and fast.key_lines == slow.key_lines
        for key in slow:
            _same_located(fast[key], slow[key])
    elif isinstance(slow, list):
        assert len(fast) == len(slow) and fast.line == slow.line and fast.item_lines == slow.item_lines
        for a, b in zip(fast, slow):
            _same_located(a, b)
    else:
        assert repr(fast) == repr(slow)


def _line_tracking(text: str) -> Any:
    return yaml.load(text, Loader=_yaml._StrictLoader)  # noqa: S506 - the strict SafeLoader subclass


# ---------------------------------------------------------------- YAML: libyaml vs line-tracking


def test_libyaml_reader_gives_the_same_data_and_lines_for_every_data_file() -> None:
    fast_used = 0
    for path in DATA_FILES:
        text = path.read_bytes().decode("utf-8-sig")
        try:
            slow = _line_tracking(text)
        except yaml.YAMLError:
            assert _yaml._fast_parse(text) is _yaml._SLOW, path
            continue
        fast = _yaml._fast_parse(text)
        if fast is not _yaml._SLOW:
            fast_used += 1
            _same_located(fast, slow)
    assert fast_used >= len(DATA_FILES) * 0.8  # the fast reader is really the one in use


_SNIPPETS = [
    ": ", "- ", "\t", "  ", "\n", "!!str ", "!!python/name:os.system ", "? ", "{", "}", "[", "]", "'", '"', "#",
    "yes", "2014-01-01", "<<: {a: 1}\n", "\x7f", "\x00", "\ufeff", "%YAML 1.1\n---\n", "---\n", "...\n", "|\n",
    ">-\n", "\\", "0x1F", "1e3", ".nan", "~", "\r", "\u2028", "\x85", "%", "@", "`", "!", "é", "\U0001F600",
    "\x0b", "\x1b", "- - ", ":", "&a ", "*a", "!!binary ", "!!set ", "!!float ", "0o17", "+.inf", "1_000",
    "12:30:00", '"\\x41"', '"\\N"', "\ue000", "\ufffe", "\xa0", " #", "a: |2\n   x\n", "'a''b'", "!local ",
]


def _mutated_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = [p.read_bytes().decode("utf-8-sig") for p in CASE_FILES]
    out = []
    for _ in range(count):
        lines = rng.choice(texts).split("\n")
        for _ in range(rng.randint(1, 3)):
            j = rng.randrange(len(lines))
            roll = rng.random()
            if roll < 0.3:
                lines.insert(j, lines[rng.randrange(len(lines))])  # often a duplicate key
            elif roll < 0.45:
                del lines[j]
            else:
                k = rng.randrange(len(lines[j]) + 1)
                lines[j] = lines[j][:k] + rng.choice(_SNIPPETS) + lines[j][k:]
        out.append("\n".join(lines))
    return out


def test_libyaml_reader_accepts_nothing_the_line_tracking_reader_rejects() -> None:
    """Duplicate keys, tags, aliases, tabs, control characters...: where the strict reader
    refuses a text, the fast path must defer to it (and where both read it, agree)."""
    compared = 0
    for text in _mutated_texts(1500, seed=10):
        fast = _yaml._fast_parse(text)
        if fast is _yaml._SLOW:
            continue
        compared += 1
        _same_located(fast, _line_tracking(text))  # raises if the strict reader refuses it
    assert compared > 300


def test_errors_are_still_reported_by_the_line_tracking_reader(tmp_path: Path) -> None:
    bad = tmp_path / "dup.yaml"
    bad.write_text("case_id: a\ncase_id: b\n", "utf-8")
    with pytest.raises(kb_core.CaseError, match="duplicate key 'case_id'") as caught:
        kb_core.load_case(bad)
    assert caught.value.line == 2


# ---------------------------------------------------------------- schema: compiled check vs jsonschema


def _mutated_documents(doc: Any, rng: random.Random, count: int) -> list[Any]:
    values = [None, True, False, 0, -1, 1.5, 10**20, "", "x", "2014-13-40", "2014-01-01", [], ["x"], ["x", "x"], {}, {"x": 1}, float("nan")]
    out = []
    for _ in range(count):
        copy_ = copy.deepcopy(doc)
        node, parent, key = copy_, None, None
        while isinstance(node, (dict, list)) and node and rng.random() < 0.75:
            parent = node
            key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
            node = node[key]
        roll = rng.random()
        if parent is None:
            copy_ = rng.choice(values)
        elif roll < 0.6:
            parent[key] = rng.choice(values)
        elif roll < 0.8 and isinstance(parent, dict):
            del parent[key]
        elif isinstance(parent, dict):
            parent["unknown_" + str(rng.randrange(3))] = rng.choice(values)
        else:
            parent.append(rng.choice(values))
        out.append(copy_)
    return out


@pytest.mark.parametrize("name", ["case", "guideline"])
def test_compiled_schema_check_agrees_with_jsonschema(name: str) -> None:
    check = _schemas.compiled_check(name)
    assert check is not None, f"the {name} schema uses a keyword the compiler does not know"
    reference = _schemas._validator(name)
    files = CASE_FILES if name == "case" else data_files([ROOT / "guidelines"])
    rng = random.Random(name)
    verdicts = {True: 0, False: 0}
    for path in files:
        doc = _yaml.read_document(path, kb_core.CaseError)
        for variant in [doc, *_mutated_documents(doc, rng, 60 if name == "case" else 150)]:
            expected = reference.is_valid(variant)
            assert check(variant) is expected, (path, json.dumps(variant, default=str)[:400])
            verdicts[expected] += 1
    assert verdicts[True] and verdicts[False]


def test_bad_mapping_gets_the_same_error_message_as_before(kb: kb_core.KnowledgeBase) -> None:
    doc = _yaml.read_document(ROOT / "examples" / "seed-work-conditioning.yaml", kb_core.CaseError)
    doc["request"]["quantity"] = "ten"
    with pytest.raises(kb_core.CaseError) as caught:
        kb.evaluate(doc)
    errors = list(_schemas._validator("case").iter_errors(doc))
    assert jsonschema.exceptions.best_match(errors).message in str(caught.value)
    assert caught.value.where == "request.quantity"


# ---------------------------------------------------------------- JSON: orjson vs json.dumps


def _determinations(kb: kb_core.KnowledgeBase) -> list[kb_core.Determination]:
    return [kb.evaluate(kb_core.load_case(p)) for p in CASE_FILES]


def test_canonical_json_is_the_standard_encoders_bytes_for_every_sample_case(kb: kb_core.KnowledgeBase) -> None:
    for det in _determinations(kb):
        reference = json.dumps(kb_core.determination_dict(det), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert kb_core.determination_json(det) == reference, det.case_id


@pytest.mark.parametrize(
    "value", [1e16, 1e-5, 1e300, float("nan"), float("inf"), -0.0, 0.1, 2**70, -(2**63), "a\u2028\x7f\x00\x1f\"\\\n\t", "\ud800", "é😀"]
)
def test_canonical_json_matches_the_standard_encoder_on_awkward_values(value: Any) -> None:
    data = {"b": [_render._plain(value)], "a": {"z": _render._plain(value), "é": None}}
    assert _render.canonical_json(data) == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- cached knowledge base vs fresh from YAML


def test_cached_knowledge_base_gives_byte_identical_determinations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kb_core import _cache

    monkeypatch.setenv(_cache.CACHE_ENV, "off")
    fresh = load_first_party()
    monkeypatch.setenv(_cache.CACHE_ENV, str(tmp_path / "cache"))
    writing = load_first_party()  # reads YAML and stores the checked set
    assert len(list((tmp_path / "cache").glob("guidelines-*.pickle"))) == 1
    cached = load_first_party()  # reads the stored set
    assert cached.guidelines == fresh.guidelines and cached.digest == fresh.digest
    assert cached._graph is None  # not built until asked for
    for path in CASE_FILES:
        case = kb_core.load_case(path)
        expected = kb_core.determination_json(fresh.evaluate(case))
        assert kb_core.determination_json(cached.evaluate(case)) == expected, path
        assert kb_core.determination_json(writing.evaluate(case)) == expected, path
    import networkx as nx

    assert nx.utils.graphs_equal(cached.graph, fresh.graph)


def test_changed_or_corrupt_cache_is_rebuilt_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kb_core import _cache

    monkeypatch.setenv(_cache.CACHE_ENV, str(tmp_path))
    load_first_party()
    (stored,) = tmp_path.glob("guidelines-*.pickle")
    stored.write_bytes(b"not a pickle")
    kb = load_first_party()
    assert kb.graph is not None and "work_conditioning" in kb.treatments
    assert stored.read_bytes() != b"not a pickle"  # rewritten
    # Different guideline bytes give a different key: the stored set is never used for them.
    contents = [(f.plugin, f.path, f.content) for f in kb.guidelines.files]
    changed = [*contents[:-1], (contents[-1][0], contents[-1][1], contents[-1][2] + b"\n# edited\n")]
    versions = {name: record.version for name, record in kb.plugins.items()}
    assert _cache.cache_key(changed, versions) != _cache.cache_key(contents, versions)
    # So does another version of any plugin.
    assert _cache.cache_key(contents, {**versions, "work_conditioning": "9.9"}) != _cache.cache_key(contents, versions)


# ---------------------------------------------------------------- batch path and start-up


def test_evaluate_many_equals_evaluate_one_by_one(kb: kb_core.KnowledgeBase) -> None:
    cases = [kb_core.load_case(p) for p in CASE_FILES]
    many = kb.evaluate_many(cases * 2)
    assert [kb_core.determination_json(d) for d in many] == [kb_core.determination_json(kb.evaluate(c)) for c in cases * 2]


def test_mtus_evaluate_imports_no_graph_or_schema_library(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import sys, runpy\n"
        "sys.argv = ['mtus', 'evaluate', sys.argv[1]]\n"
        "try:\n    runpy.run_module('kb_core', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('networkx', 'jsonschema', 'pydot', 'hypothesis') if m in sys.modules), file=sys.stderr)\n"
    )
    env = {**__import__("os").environ, "MTUS_KB_CACHE_DIR": str(tmp_path)}
    seed = str(ROOT / "examples" / "seed-work-conditioning.yaml")
    subprocess.run([sys.executable, "-c", script, seed], check=True, capture_output=True, env=env)  # fills the cache
    done = subprocess.run([sys.executable, "-c", script, seed], check=True, capture_output=True, text=True, env=env)
    assert "DECISION: NON-CERTIFIED" in done.stdout
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_generated_fact_readers_equal_reading_each_path(kb: kb_core.KnowledgeBase) -> None:
    """Each criterion's facts are read by one generated function; the per-path readers
    (attribute access with a walk through lists, mappings and absent parents) are the truth."""
    cases = [kb_core.load_case(p) for p in CASE_FILES]
    compared = 0
    for treatment in kb.treatments:
        for vid in kb.guidelines.treatments[treatment].governed_by:
            for step in kb._plan(treatment, kb.guidelines.versions[vid]):
                for case in cases:
                    expected = {path: read(case) for path, read in step.fact_readers}
                    assert step.read_facts(case) == expected, (step.criterion.id, case.case_id)
                    compared += 1
    assert compared > 1000


def test_cache_keeps_only_the_newest_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from kb_core import _cache

    monkeypatch.setenv(_cache.CACHE_ENV, str(tmp_path))
    for age in range(12):
        stale = tmp_path / f"guidelines-{age:064x}.pickle"
        stale.write_bytes(b"old")
        os.utime(stale, (1_000_000 + age, 1_000_000 + age))
    load_first_party()
    kept = sorted(p.name for p in tmp_path.glob("guidelines-*.pickle"))
    assert len(kept) == _cache._KEEP
    assert f"guidelines-{11:064x}.pickle" in kept and f"guidelines-{0:064x}.pickle" not in kept
