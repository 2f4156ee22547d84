"""The fast path from a case mapping to a Case (issue 10) equals the precise path.

- the check generated from case.schema.json and the document limits accepts exactly what
  jsonschema and ``check_document`` accept (hypothesis documents drawn from the schema
  itself, valid and invalid);
- a document the fast path accepts builds a Case equal to the precise path's; one it
  refuses gets the precise path's error, word for word (NaN, infinities, huge numbers,
  unknown keys, wrong types, yes/no for a count, missing facts);
- every sample case takes the fast path and builds the same Case as the precise path;
- the fast constructors make real, frozen instances; ``case_document`` with field lists
  worked out once equals the field-by-field reading.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kb_core
from conftest import sample_case_files
from kb_core import _case, _schemas, _yaml
from kb_core._yaml import CASE_LIMITS

ROOT = Path(__file__).resolve().parent.parent
CASE_FILES = sample_case_files()
SCHEMA = _schemas.schema("case")
BUDGET = settings(max_examples=min(settings().max_examples, 200), deadline=None, suppress_health_check=list(HealthCheck))


def _within_limits(document: Any) -> bool:
    try:
        _yaml.check_document(document, "<doc>", kb_core.CaseError, CASE_LIMITS)
    except kb_core.CaseError:
        return False
    return True


def _outcome(build: Any, document: Any, path: str | None = None) -> tuple[str, Any]:
    """("case", the Case and what equality leaves out) or ("error", the full message)."""
    try:
        case = build(document, path)
    except kb_core.CaseError as exc:
        return "error", (str(exc), exc.where, exc.fix)
    return "case", (case, repr(case), case.path, case._checked)


def _parse(document: Any, path: str | None) -> kb_core.Case:
    return kb_core.parse_case(document, path)


def _precise(document: Any, path: str | None) -> kb_core.Case:
    return _case._precise_case(document, path, limits_checked=False)


# ---------------------------------------------------------------- documents drawn from the schema

ODD: list[Any] = [
    math.nan, math.inf, -math.inf, 10**400, 10**20, -1, 0, 0.0, 1.5, 10.0, 7.5, 24.5, 168, 100_000, 100_001, True, False,
    None, "", "x", "2014-02-30", "2015-02-29", "2014-01-01\n", "20140101", [], {}, ["x", "x"], {"k": 1},
    "x" * (CASE_LIMITS.max_text + 1), "knee", ["knee", "knee"],
]
TEXTS = {
    "^[a-z][a-z0-9_]*$": ["work_conditioning", "physical_therapy", "chiropractic", "acupuncture", "x1"],
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": ["2013-05-10", "2014-05-21", "2016-02-29", "2017-12-01", "2012-01-31"],
    "^[A-TV-Z][0-9][0-9A-Z](\\.[0-9A-Z]{1,4})?$": ["S39.012A", "M54.5", "U07.1"],
}


def _resolved(node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        target = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _number(node: dict[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    low, high = node.get("minimum", node.get("exclusiveMinimum", -10)), node.get("maximum", 200)
    low += 1 if "exclusiveMinimum" in node else 0
    ints = st.integers(min_value=int(low), max_value=int(high))
    return ints if integer else st.one_of(ints, st.floats(min_value=low, max_value=high))


def _valid(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values ``node`` accepts (a date may still be one the calendar lacks, as 2015-02-29)."""
    node = _resolved(node)
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kinds = node.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    options: list[st.SearchStrategy[Any]] = []
    for kind in kinds:
        if kind == "string":
            options.append(st.sampled_from(TEXTS[node["pattern"]]) if "pattern" in node else st.text(min_size=node.get("minLength", 0), max_size=4))
        elif kind in ("integer", "number"):
            options.append(_number(node, kind == "integer"))
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
        elif kind == "array":
            options.append(st.lists(_valid(node.get("items", {})), max_size=3, unique=node.get("uniqueItems", False)))
        elif kind == "object":
            options.append(_object(node))
    return st.one_of(options)


def _object(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    properties = node.get("properties")
    if properties is None:  # extra, criterion_status: any keys
        values = _valid(node["additionalProperties"]) if isinstance(node.get("additionalProperties"), dict) else st.one_of(
            st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=3), st.lists(st.integers(), max_size=2))
        return st.dictionaries(st.text(max_size=3), values, max_size=2)
    required = node.get("required", [])
    if "anyOf" in node:  # dates: a request or UR decision date
        required = [*required, "request"]
    return st.fixed_dictionaries({k: _valid(properties[k]) for k in required},
                                 optional={k: _valid(v) for k, v in properties.items() if k not in required})


def _mutated(document: dict[str, Any], rng: random.Random) -> Any:
    """``document`` with one change: a value replaced by an odd one, a key dropped or an
    unknown key added, somewhere in it."""
    document = copy.deepcopy(document)
    node, parent, key = document, None, None
    while isinstance(node, (dict, list)) and node and rng.random() < 0.8:
        parent, key = node, rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        node = node[key]
    roll = rng.random()
    if parent is None:
        return rng.choice(ODD)
    if roll < 0.6:
        parent[key] = rng.choice(ODD)
    elif roll < 0.8 and isinstance(parent, dict):
        del parent[key]
    elif isinstance(parent, dict):
        parent["unknown_key"] = rng.choice(ODD)
    else:
        parent.append(rng.choice(ODD))
    return document


VALID = _object(SCHEMA)
DOCUMENTS = st.one_of(VALID, st.tuples(VALID, st.randoms(use_true_random=False)).map(lambda pair: _mutated(*pair)))


@BUDGET
@given(DOCUMENTS)
def test_the_generated_check_accepts_exactly_what_jsonschema_and_the_limits_accept(document: dict[str, Any]) -> None:
    expected = _within_limits(document) and _schemas._validator("case").is_valid(document)
    assert _case._case_check()(document) is expected


@BUDGET
@given(DOCUMENTS)
def test_a_case_from_either_path_is_equal_or_the_error_is_the_same(document: dict[str, Any]) -> None:
    precise = _outcome(_precise, document)
    assert _outcome(_parse, document) == precise
    fast = _case._fast_case(document, None)
    if fast is not None:  # the fast path accepted: the precise path must agree, value for value
        assert precise[0] == "case" and (fast, repr(fast), fast.path, fast._checked) == precise[1]


def test_the_drawn_documents_reach_both_verdicts_and_the_fast_path() -> None:
    """The two properties above are not vacuous: the strategy gives valid cases (taking the
    fast path), invalid ones, and cases the schema passes but a date refuses."""
    seen = {"fast": 0, "refused": 0}

    @settings(max_examples=150, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(DOCUMENTS)
    def count(document: dict[str, Any]) -> None:
        seen["fast" if _case._fast_case(document, None) is not None else "refused"] += 1

    count()
    assert seen["fast"] >= 5 and seen["refused"] >= 5, seen


# ---------------------------------------------------------------- named kinds of bad input


def _seed() -> dict[str, Any]:
    return copy.deepcopy(dict(_yaml.read_document(ROOT / "examples" / "seed-work-conditioning.yaml", kb_core.CaseError)))


def _set(document: dict[str, Any], location: tuple[str, ...], value: Any) -> dict[str, Any]:
    node = document
    for step in location[:-1]:
        node = node.setdefault(step, {})
    node[location[-1]] = value
    return document


def _deleted(document: dict[str, Any], location: tuple[str, ...]) -> dict[str, Any]:
    node = document
    for step in location[:-1]:
        node = node[step]
    del node[location[-1]]
    return document


BAD_INPUT = {
    "NaN frequency": lambda d: _set(d, ("request", "frequency_per_week"), math.nan),
    "infinite duration": lambda d: _set(d, ("request", "duration_weeks"), math.inf),
    "negative infinite tolerance": lambda d: _set(d, ("findings", "tolerance_hours_per_day"), -math.inf),
    "NaN inside extra": lambda d: _set(d, ("extra", "plugin_fact"), [1, math.nan]),
    "huge count": lambda d: _set(d, ("request", "quantity"), 10**400),
    "count over the maximum": lambda d: _set(d, ("request", "quantity"), 100_001),
    "no sessions a week": lambda d: _set(d, ("request", "frequency_per_week"), 0),
    "count written 10.0": lambda d: _set(d, ("request", "quantity"), 10.0),
    "yes for a count": lambda d: _set(d, ("request", "quantity"), True),
    "yes for a number": lambda d: _set(d, ("request", "frequency_per_week"), True),
    "1 for a yes/no": lambda d: _set(d, ("findings", "screening_completed"), 1),
    "text for a count": lambda d: _set(d, ("request", "quantity"), "ten"),
    "unknown key at the top": lambda d: _set(d, ("diagnosis",), []),
    "unknown key in the request": lambda d: _set(d, ("request", "visits"), 10),
    "unknown finding": lambda d: _set(d, ("findings", "plateau"), True),
    "unknown key in a prior treatment": lambda d: _set(d, ("prior_treatments",), [{"treatment": "chiropractic", "visits": 3}]),
    "unknown region": lambda d: _set(d, ("request", "body_regions"), ["neck"]),
    "region twice": lambda d: _set(d, ("request", "body_regions"), ["knee", "knee"]),
    "no treatment": lambda d: _deleted(d, ("request", "treatment")),
    "no request": lambda d: _deleted(d, ("request",)),
    "no request or UR date": lambda d: _set(d, ("dates",), {"injury": "2013-05-10"}),
    "impossible date": lambda d: _set(d, ("dates", "ur_decision"), "2014-02-30"),
    "date with a newline": lambda d: _set(d, ("dates", "ur_decision"), "2014-05-21\n"),
    "request before injury": lambda d: _set(d, ("dates", "injury"), "2015-01-01"),
    "prior course ending on a bad date": lambda d: _set(d, ("prior_treatments",), [{"treatment": "chiropractic", "end": "2014-13-01"}]),
    "text too long": lambda d: _set(d, ("notes",), ["x" * (CASE_LIMITS.max_text + 1)]),
    "list too long": lambda d: _set(d, ("notes",), ["x"] * (CASE_LIMITS.max_items + 1)),
    "extra nested too deep": lambda d: _set(d, ("extra", "deep"), _nested(CASE_LIMITS.max_depth)),
    "not a mapping": lambda d: ["a", "list"],
    "empty case id": lambda d: _set(d, ("case_id",), ""),
}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("name", sorted(BAD_INPUT))
def test_bad_input_is_refused_with_the_precise_paths_words(name: str) -> None:
    document = BAD_INPUT[name](_seed())
    assert _case._fast_case(document, None) is None
    kind, error = _outcome(_parse, document)
    assert kind == "error" and (kind, error) == _outcome(_precise, document)


def test_bad_values_in_a_file_keep_their_line_in_the_message(tmp_path: Path) -> None:
    """A document read from a file (lines remembered) is refused with its file and line, as
    before, also after a tool changed it in place."""
    rng = random.Random(10)
    values = [math.nan, 10**400, True, "x", {}, [], None, "2014-02-30"]
    for path in rng.sample(CASE_FILES, 25):
        document = _yaml.read_document(path, kb_core.CaseError)
        if not isinstance(document, Mapping) or "request" not in document:
            continue
        for key in list(document["request"]):
            changed = _yaml.read_document(path, kb_core.CaseError)
            changed["request"][key] = rng.choice(values)
            assert _outcome(_parse, changed, str(path)) == _outcome(_precise, changed, str(path))


# ---------------------------------------------------------------- every sample case


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_sample_case_takes_the_fast_path_to_the_same_case(path: Path) -> None:
    try:
        document = _yaml.read_document(path, kb_core.CaseError)
        precise = _precise(document, str(path))
    except kb_core.CaseError:
        pytest.skip("an invalid sample case: refused by the precise path (tested in test_cases)")
    fast = _case._fast_case(document, str(path))
    assert fast is not None, "a valid sample case fell back to the precise path"
    assert (fast, repr(fast), fast.path, fast._checked, type(fast)) == (precise, repr(precise), precise.path, True, kb_core.Case)
    assert kb_core.load_case(path) == precise


# ---------------------------------------------------------------- the fast constructors

CASE_CLASSES = sorted(_case._CASE_CLASSES, key=lambda cls: cls.__name__)


@pytest.mark.parametrize("cls", CASE_CLASSES, ids=lambda cls: cls.__name__)
def test_a_fast_constructor_makes_the_same_frozen_instance(cls: type) -> None:
    make = _case._maker(cls)
    assert make is not cls, "the fast constructor fell back to the dataclass itself"
    required = {f.name: f"value of {f.name}" for f in dataclasses.fields(cls) if f.init and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING}
    for given_values in (required, {**required, **{f.name: f"set {f.name}" for f in dataclasses.fields(cls) if f.init}}):
        fast, slow = make(**given_values), cls(**given_values)
        assert type(fast) is cls and fast == slow and repr(fast) == repr(slow)
        first = dataclasses.fields(cls)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(fast, first, "changed")
        assert dataclasses.replace(fast) == fast
    if cls is kb_core.Case:  # the memo of prior() is each case's own
        one, two = make(**required), make(**required)
        assert one._prior_memo == {} and one._prior_memo is not two._prior_memo


# ---------------------------------------------------------------- case_document


def _reference_document(case: kb_core.Case) -> dict[str, Any]:
    """case_document as it read each field before the field lists were worked out once."""

    def plain(value: Any) -> Any:
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, (tuple, list)):
            return [plain(v) for v in value]
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if hasattr(value, "__dataclass_fields__"):
            return {name: plain(v) for name, f in value.__dataclass_fields__.items()
                    if f.init and not name.startswith("_") and (v := getattr(value, name)) is not None and not _case._is_default(f, v)}
        return value

    document = plain(case)
    document.pop("path", None)
    if document.get("expected") and "criterion_status" in document["expected"]:
        document["expected"]["criterion_status"] = dict(document["expected"]["criterion_status"])
    return document


def test_case_document_equals_the_field_by_field_reading() -> None:
    compared = 0
    for path in CASE_FILES:
        try:
            case = kb_core.load_case(path)
        except kb_core.CaseError:
            continue
        variants = [
            case,
            dataclasses.replace(case, worker=_case.Worker(), extra={}, notes=()),
            dataclasses.replace(case, request=dataclasses.replace(case.request, quantity=1.5, body_regions=("knee", "knee"))),
            dataclasses.replace(case, findings=_case.Findings(), diagnoses=[{"description": "odd"}]),  # type: ignore[list-item]
        ]
        for variant in variants:
            assert _case.case_document(variant) == _reference_document(variant)
            compared += 1
    assert compared > 1000


# ---------------------------------------------------------------- the generator on other schemas

SMALL = _yaml.Limits(max_bytes=1_000, max_depth=3, max_items=4, max_text=10)
OTHER_SCHEMAS: list[tuple[dict[str, Any], list[Any]]] = [
    ({"type": "number", "minimum": 0}, [0, 1.5, 10**30, math.inf, math.nan, -1, True, "1", None]),
    ({"type": ["number", "null"], "exclusiveMaximum": 5}, [None, 4.9, 5, -math.inf, math.nan, False]),
    ({"type": "number", "exclusiveMinimum": 0, "maximum": 1}, [0, 0.0, 1e-9, 1, 1.5, math.nan]),
    ({"type": "object", "properties": {"a": {"type": "object", "properties": {"b": {"type": "object", "properties": {
        "c": {"type": "object", "properties": {"d": {"type": "integer"}}}}}}}}},  # declared deeper than the limit
     [{"a": {"b": {"c": {}}}}, {"a": {"b": {"c": {"d": 1}}}}, {"a": {"b": {}}}]),
    ({"type": "integer", "minimum": 1, "maximum": 3}, [1, 3, 0, 4, 2.0, True, math.nan]),
    ({"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^a"}, ["ab", "abcd", "a", "abcde", "ba", "a" * 11, 1]),
    ({"enum": ["a", 1, None, True]}, ["a", 1, None, True, 1.0, False, 0, "b"]),
    ({"const": 1}, [1, 1.0, True, "1"]),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3, "uniqueItems": True},
     [[1], [1, 2, 3], [], [1, 1], [1, True], [1, 2, 3, 4], ["x"], [[1]]]),
    ({"type": "array", "uniqueItems": True}, [[1, True], [[1], [1]], [{"a": 1}, {"a": 1}], [0, False], list(range(5)), [[[[1]]]]]),
    ({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a"],
      "additionalProperties": {"type": "string"}}, [{"a": 1}, {"a": 1, "c": "x"}, {"a": 1, "c": 2}, {"b": 1}, {"a": 1, "c": "x" * 11}]),
    ({"anyOf": [{"type": "string"}, {"type": "integer", "minimum": 5}]}, ["x", 5, 4, None, "x" * 11]),
    ({"allOf": [{"type": "integer"}, {"maximum": 3}]}, [3, 4, "x"]),
    ({"minimum": 2, "pattern": "^x", "maxItems": 1, "required": ["a"]}, [1, 3, "y", "x", [1, 2], {}, {"a": math.nan}, None]),
    ({"$defs": {"n": {"type": "number", "minimum": 0}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/n"}}},
     [{"x": 1}, {"x": -1}, {"x": math.inf}, {"y": [[[1]]]}, {"y": [[1]]}]),
]


@pytest.mark.parametrize(("root", "documents"), OTHER_SCHEMAS, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_the_generator_follows_jsonschema_and_the_limits_on_other_schemas(root: dict[str, Any], documents: list[Any]) -> None:
    import jsonschema

    check = _schemas._generated(root, SMALL, "test")
    assert check is not None
    validator = jsonschema.validators.extend(
        jsonschema.Draft202012Validator,
        type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool)),
    )(root)
    verdicts = set()
    for document in documents:
        try:
            _yaml.check_document(document, "<doc>", kb_core.CaseError, SMALL)
            within = True
        except kb_core.CaseError:
            within = False
        expected = within and validator.is_valid(document)
        assert check(document) is expected, (document, getattr(check, "source", ""))
        verdicts.add(expected)
    assert verdicts == {True, False}


@pytest.mark.parametrize("root", [{"not": {"type": "string"}}, {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}},
                                  {"enum": ["x" * 11]}, {"enum": [[1]]}, {"type": "decimal"}, {"oneOf": [{}]}])
def test_the_generator_declines_what_it_does_not_write_out(root: dict[str, Any]) -> None:
    assert _schemas._generated(root, SMALL, "test") is None


# ---------------------------------------------------------------- reading YAML: the node walker

YAML_TEXTS = [
    "a: 1\nb: [x, 2.5, true, null, ~, '3']\nc: {d: e}\n",
    "<<: {a: 1}\nb: 2\n",  # a merge key: PyYAML's flatten_mapping merges it
    "a: 1\na: 2\n",  # duplicate key: refused, with both lines
    "1: a\n",  # a number as a key: refused
    "? [a]\n: b\n",  # a list as a key
    "a: !!str 1\nb: !!int '2'\nc: !!float 3\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x, y}\n",
    "a: !!timestamp 2014-01-01\n",
    "a: !!omap [x: 1]\n",
    "a: 2014-01-01\nb: 0x1F\nc: 1_000\nd: .inf\ne: .nan\nf: yes\ng: 0o17\nh: 1:30\n",
    "", "~\n", "- a\n- - b\n  - c\n", "'just text'\n", "a:\n  - b: 1\n    c: [1, {d: 2}]\n",
]


@pytest.mark.parametrize("text", YAML_TEXTS)
def test_the_fast_yaml_reader_reads_what_the_line_tracking_reader_reads_or_defers(text: str) -> None:
    import yaml

    try:
        slow: Any = yaml.load(text, Loader=_yaml._StrictLoader)  # noqa: S506 - the strict SafeLoader subclass
    except yaml.YAMLError:
        slow = _yaml._SLOW
    fast = _yaml._fast_parse(text)
    if slow is _yaml._SLOW:
        assert fast is _yaml._SLOW
        return

    def located(value: Any) -> Any:
        if isinstance(value, dict):
            return (type(value), getattr(value, "line", None), getattr(value, "key_lines", None), {k: located(v) for k, v in value.items()})
        if isinstance(value, list):
            return (type(value), getattr(value, "line", None), getattr(value, "item_lines", None), [located(v) for v in value])
        return (type(value).__name__, repr(value))

    assert located(fast) == located(slow)


def test_the_remembered_scalar_tags_stay_bounded() -> None:
    """Many distinct words (a long run of a batch job) do not grow the memory of tags."""
    text = "".join(f"k{n}: word{n}\n" for n in range(5000))
    parsed = _yaml._fast_parse(text)
    assert parsed is not _yaml._SLOW and parsed["k4999"] == "word4999"
    assert 0 < len(_yaml._plain_tags) <= 4096


def _full(node: dict[str, Any]) -> Any:
    """A valid value for ``node`` with every property the schema declares set (not null)."""
    node = _resolved(node)
    if "enum" in node:
        return next(o for o in node["enum"] if o is not None)
    kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
    kind = next(k for k in kinds if k != "null")
    if kind == "object":
        if "properties" not in node:
            extra = node.get("additionalProperties")
            return {"k": _full(extra) if isinstance(extra, dict) else 1}
        return {name: _full(sub) for name, sub in node["properties"].items()}
    if kind == "array":
        return [_full(node["items"])]
    if kind == "string":
        return TEXTS[node["pattern"]][0] if "pattern" in node else "text"
    if kind in ("integer", "number"):
        return int(node.get("minimum", 0)) + 1
    return True


def test_a_case_stating_every_fact_the_schema_knows_builds_every_field_by_both_paths() -> None:
    """Every field of every case class is carried over by the fast path: a field added to
    the schema and the precise path but not to _build makes this fail."""
    document = _full(SCHEMA)
    fast = _case._fast_case(document, None)
    assert fast is not None
    assert (fast, repr(fast)) == (lambda c: (c, repr(c)))(_precise(document, None))

    def unset(value: Any, where: str) -> list[str]:
        if type(value) not in _case._CASE_CLASSES:
            return []
        missing = []
        for f in dataclasses.fields(value):
            if f.init and f.name != "path":
                item = getattr(value, f.name)
                if item is None or item == () or item == {}:
                    missing.append(f"{where}.{f.name}")
                for inner in item if isinstance(item, tuple) else [item]:
                    missing += unset(inner, f"{where}.{f.name}")
        return missing

    assert unset(fast, "case") == []


def test_the_remembered_pattern_matches_stay_bounded_and_right() -> None:
    check = _case._case_check()
    first = dt.date(2000, 1, 1)
    for day in range(5000):
        text = (first + dt.timedelta(days=day)).isoformat()
        assert check({"dates": {"request": text}, "request": {"treatment": "acupuncture"}})
        assert not check({"dates": {"request": text + "x"}, "request": {"treatment": "acupuncture"}})
    memories = [value for value in check.__globals__.values() if isinstance(value, _schemas._Matches)]
    assert any(memories) and all(len(memory) <= 4096 for memory in memories)


def test_a_process_parses_its_first_cases_the_precise_way_then_the_fast_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generating the fast path costs more than a few cases save: a one-case process never
    pays for it, a batch takes it after the first cases."""
    document = _seed()
    monkeypatch.setattr(_case, "_precise_parses", 0)
    monkeypatch.setattr(_case, "_fast_case", lambda *args: pytest.fail("the fast path was taken for a first case"))
    for _ in range(_case._PRECISE_BEFORE_FAST):
        assert kb_core.parse_case(document) == _precise(document, None)
    monkeypatch.undo()
    monkeypatch.setattr(_case, "_precise_parses", _case._PRECISE_BEFORE_FAST)
    monkeypatch.setattr(_case, "_precise_case", lambda *args: pytest.fail("the precise path was taken for a valid case"))
    assert kb_core.parse_case(document) == _case._fast_case(document, None)
