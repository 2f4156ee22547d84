"""Strict, safe YAML reading that remembers where every key came from.

Built on ``yaml.SafeLoader`` (no object tags). On top of it: duplicate keys, non-string
keys and anchors/aliases are errors, and dates stay strings so YAML and JSON inputs
validate against the same JSON Schema.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from kb_core._records import record
from kb_core.errors import LocatedError


class LocatedDict(dict[str, Any]):
    """A mapping that knows the line of itself and of each key (1-based)."""

    line: int | None = None
    key_lines: dict[str, int]


class LocatedList(list[Any]):
    """A sequence that knows the line of itself and of each item (1-based)."""

    line: int | None = None
    item_lines: list[int]


def _compose_node(self: Any, parent: Any, index: Any) -> Any:
    import yaml

    event = self.peek_event()
    if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
        raise yaml.MarkedYAMLError(
            problem="anchors and aliases (&name, *name) are not allowed; write the value out",
            problem_mark=event.start_mark,
        )
    return yaml.SafeLoader.compose_node(self, parent, index)


def _construct_mapping(self: Any, node: Any, deep: bool = False) -> Any:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(
            None, None, f"expected a mapping, found {node.id}", node.start_mark
        )
    self.flatten_mapping(node)
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = self.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} is not a string; quote it (YAML reads yes/no/on/off and numbers as non-strings)",
                key_node.start_mark,
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key '{key}' (first on line {result.key_lines[key]}); keep one",
                key_node.start_mark,
            )
        result[key] = self.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(self: Any, node: Any, deep: bool = False) -> Any:
    result = LocatedList(self.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


@cache
def _loaders() -> tuple[Any, Any]:
    """The strict line-tracking loader and its libyaml twin (None without libyaml), made on
    first use: PyYAML takes ~14 ms to import, which a cached ``load()`` does not need."""
    import yaml

    class _StrictLoader(yaml.SafeLoader):
        pass

    # Keep ISO dates as strings: the schemas check their format and the model parses them.
    _StrictLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _StrictLoader.compose_node = _compose_node  # type: ignore[method-assign,assignment]
    _StrictLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
    _StrictLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)

    c_loader = getattr(yaml, "CSafeLoader", None)
    if c_loader is None:  # pragma: no cover - PyYAML built without libyaml
        return _StrictLoader, None

    class _FastStrictLoader(c_loader):  # type: ignore[valid-type,misc]
        """libyaml's parser with the very constructors and resolvers of ``_StrictLoader``
        (so the same duplicate-key, key-type and date rules, and the same line numbers).
        libyaml composes aliases itself, so text that could hold one never comes here."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            # The tag of a plain scalar depends on its text alone (there are no path
            # resolvers): remembered, as case files repeat the same keys and words.
            if kind is scalar_node and implicit[0]:
                tag = _plain_tags.get(value)
                if tag is None:
                    if len(_plain_tags) >= 4096:
                        _plain_tags.clear()
                    tag = _plain_tags[value] = super().resolve(kind, value, implicit)
                return tag
            return super().resolve(kind, value, implicit)

    scalar_node = yaml.ScalarNode
    _FastStrictLoader.yaml_implicit_resolvers = _StrictLoader.yaml_implicit_resolvers
    _FastStrictLoader.yaml_constructors = _StrictLoader.yaml_constructors
    return _StrictLoader, _FastStrictLoader


def __getattr__(name: str) -> Any:  # _yaml._StrictLoader / _FastStrictLoader, as before
    if name == "_StrictLoader":
        return _loaders()[0]
    if name == "_FastStrictLoader":
        return _loaders()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _fast_parse(text: str) -> Any:
    """Parse with libyaml (about 10x faster) unless the text holds a character on which it
    and the line-tracking reader part ways: ``&``/``*`` (anchors and aliases, which only the
    strict composer refuses), a tab, ``?`` (libyaml reads both in places PyYAML refuses) or
    a byte-order mark past the start. Any failure returns ``_SLOW``, so the line-tracking
    reader reports it as it always did. tests/test_speed_equivalence.py keeps this honest."""
    fast_loader = _loaders()[1]
    if fast_loader is None or "&" in text or "*" in text or "\t" in text or "?" in text or "\ufeff" in text:
        return _SLOW
    import yaml

    try:
        loader = fast_loader(text)
        try:
            node = loader.get_single_node()
            return None if node is None else _built(node, loader)
        except _Unusual:  # a merge key, a duplicate or non-text key, a tag: PyYAML's constructors judge
            return yaml.load(text, Loader=fast_loader)  # noqa: S506 - a CSafeLoader subclass
        finally:
            loader.dispose()
    except Exception:
        return _SLOW


_SLOW = object()
_plain_tags: dict[str, str] = {}  # plain scalar text -> its tag, for _FastStrictLoader.resolve (bounded)


class _Unusual(Exception):
    """A node :func:`_built` leaves to PyYAML's own constructors."""


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_PLAIN_SCALAR_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"})


def _built(node: Any, loader: Any) -> Any:
    """What ``_construct_mapping``/``_construct_sequence`` and the scalar constructors make
    of a composed node, without PyYAML's general bookkeeping (about 3x faster). Any node
    they might treat differently raises :class:`_Unusual`."""
    kind = node.id
    if kind == "scalar":
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag in _PLAIN_SCALAR_TAGS:
            return loader.yaml_constructors[tag](loader, node)
        raise _Unusual
    if kind == "mapping":
        if node.tag != _MAP:
            raise _Unusual
        result = LocatedDict()
        result.line = node.start_mark.line + 1
        key_lines: dict[str, int] = {}
        result.key_lines = key_lines
        for key_node, value_node in node.value:
            key = key_node.value
            if key_node.tag != _STR or key_node.id != "scalar" or key in result:
                raise _Unusual
            result[key] = _built(value_node, loader)
            key_lines[key] = key_node.start_mark.line + 1
        return result
    if kind == "sequence" and node.tag == _SEQ:
        items = LocatedList([_built(child, loader) for child in node.value])
        items.line = node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items
    raise _Unusual


def parse_text(text: str, path: str | Path, error: type[LocatedError]) -> Any:
    """Parse YAML (or JSON, a YAML subset) text strictly; raise ``error`` with file:line."""
    fast = _fast_parse(text)
    if fast is not _SLOW:
        return fast
    import yaml

    try:
        return yaml.load(text, Loader=_loaders()[0])  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        raise error(problem, path=path, line=line, fix="correct the YAML syntax at that line") from None
    except yaml.YAMLError as exc:
        raise error(f"malformed YAML: {exc}", path=path, fix="correct the YAML syntax") from None
    except RecursionError:
        raise error("nesting is too deep", path=path, fix="flatten the document") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a float too large to hold
        raise error(f"unreadable value: {exc}", path=path, fix="correct the value") from None


def _parse_json(text: str, path: str | Path, error: type[LocatedError]) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise error(f"duplicate key '{key}'", path=path, fix="keep one of the two")
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise error(exc.msg, path=path, line=exc.lineno, fix="correct the JSON syntax") from None
    except RecursionError:
        raise error("nesting is too deep", path=path, fix="flatten the document") from None


@record
class Limits:
    """Bounds on one input document, checked before and after parsing: the reader's time and
    memory stay proportional to inputs of a sensible size."""

    max_bytes: int
    max_depth: int = 24
    max_items: int = 2_000  # entries of any one list or mapping
    max_text: int = 20_000  # characters of any one string


CASE_LIMITS = Limits(max_bytes=256 * 1024)
GUIDELINE_LIMITS = Limits(max_bytes=4 * 1024 * 1024, max_items=20_000, max_text=100_000)


def read_document(path: str | Path, error: type[LocatedError], limits: Limits = CASE_LIMITS) -> Any:
    """Read a YAML or JSON file; every failure becomes ``error`` naming the file."""
    raw = read_bounded(path, error, limits.max_bytes)
    document = parse_bytes(raw, path, error)
    check_document(document, path, error, limits)
    return document


def read_bounded(path: str | Path, error: type[LocatedError], max_bytes: int) -> bytes:
    """At most ``max_bytes`` of a file (never more is read: /dev/zero is refused, not drained)."""
    try:
        with open(path, "rb") as stream:
            raw = stream.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"cannot read file: {exc.strerror or exc}", path=path, fix="check the path") from None
    if len(raw) > max_bytes:
        raise error(f"the file is larger than {max_bytes} bytes", path=path, fix="split it or remove what is not needed")
    return raw


def _within(node: Any, depth: int, limits: Limits) -> bool:
    """Whether ``node`` (at ``depth``) passes :func:`check_document`: the same rules in one
    recursive pass without locations (recursion is bounded by ``max_depth``)."""
    if depth > limits.max_depth:
        return False
    kind = type(node)
    if kind is str:
        return len(node) <= limits.max_text
    if kind in _SCALARS:
        return True
    if isinstance(node, dict):
        children: Any = node.values()
    elif isinstance(node, list):
        children = node
    elif isinstance(node, float):
        return math.isfinite(node)
    elif isinstance(node, str):
        return len(node) <= limits.max_text
    else:
        return True
    if len(node) > limits.max_items:
        return False
    deeper = depth + 1
    leaves_fit = deeper <= limits.max_depth
    max_text = limits.max_text
    for child in children:
        kind = type(child)
        if leaves_fit and (kind in _SCALARS or (kind is str and len(child) <= max_text)):
            continue
        if not _within(child, deeper, limits):
            return False
    return True


_SCALARS = frozenset({int, bool, type(None)})


def check_document(document: Any, path: str | Path, error: type[LocatedError], limits: Limits) -> None:
    """Refuse what a schema cannot: NaN and infinities (they pass minimum/maximum), and
    documents nested too deep or with too many items (checked iteratively: no recursion)."""
    if _within(document, 0, limits):  # the usual answer, found without building locations
        return
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(document, ())]
    while stack:
        node, location = stack.pop()
        if len(location) > limits.max_depth:
            raise error(f"nested deeper than {limits.max_depth} levels", path=path, line=line_of(document, location),
                        where=dotted(location), fix="flatten the document")
        if isinstance(node, dict):
            children: Any = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise error(f"{node} is not a finite number", path=path, line=line_of(document, location),
                            where=dotted(location), fix="write a finite number (no .nan or .inf)")
            continue
        elif isinstance(node, str):
            if len(node) > limits.max_text:
                raise error(f"a text of {len(node)} characters is longer than {limits.max_text}", path=path,
                            line=line_of(document, location), where=dotted(location), fix="shorten it")
            continue
        else:
            continue
        if len(node) > limits.max_items:
            raise error(f"{len(node)} entries are more than {limits.max_items}", path=path, line=line_of(document, location),
                        where=dotted(location), fix="remove entries that are not needed")
        stack.extend((child, (*location, key)) for key, child in children)


def parse_bytes(raw: bytes, path: str | Path, error: type[LocatedError]) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(
            f"not UTF-8 text (byte {exc.start})", path=path, fix="save the file as UTF-8"
        ) from None
    if str(path).endswith(".json"):
        # JSON gets line numbers from the YAML reader when it can parse it, else from json.
        try:
            return parse_text(text, path, error)
        except LocatedError:
            return _parse_json(text, path, error)
    return parse_text(text, path, error)


def line_of(document: Any, location: Sequence[str | int]) -> int | None:
    """The line of the deepest element of ``location`` that exists in ``document``."""
    line: int | None = getattr(document, "line", None)
    node = document
    for step in location:
        if isinstance(node, LocatedDict) and isinstance(step, str) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, LocatedList) and isinstance(step, int) and 0 <= step < len(node) and step < len(node.item_lines):
            line = node.item_lines[step]
            node = node[step]
        else:
            break
    return line


def dotted(location: Sequence[str | int]) -> str:
    """``('criteria', 'a', 0)`` -> ``criteria.a[0]``."""
    out = ""
    for step in location:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def data_files(paths: Sequence[Path]) -> list[Path]:
    """The given files, plus every .yaml/.yml/.json file under the given directories, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
        else:
            found.append(path)
    return found
