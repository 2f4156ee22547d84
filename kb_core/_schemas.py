"""The published JSON Schemas (``kb_core/schemas/*.schema.json``) and validation with them.

Validation happens at the edges (reading files, parsing a case); errors are turned into
located errors that name the file, the line, the key and a fix.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from kb_core._resources import files
from kb_core._yaml import dotted, line_of
from kb_core.errors import LocatedError


_SHAPE_WORDS = {
    "scalar": "one number, text or flag (not a list or table)",
    "list": "a list of numbers, texts or flags",
    "table": "a mapping from ids to values or lists",
    "rows": "a list of records of named values",
}


def _shape_of(value: Any) -> str | None:
    if isinstance(value, list):
        return "rows" if value and all(isinstance(v, dict) for v in value) else "list"
    if isinstance(value, dict):
        return "table"
    return None if value is None else "scalar"


def _declared_shape(document: Any, location: list[Any]) -> str | None:
    """The ``shape`` a parameter declares, when the error is in its value or a by_version value."""
    if location[-1:] == ["value"]:
        parent_path = location[:-1]
    elif len(location) >= 2 and location[-2] == "by_version":
        parent_path = location[:-2]
    else:
        return None
    node = document
    for key in parent_path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    shape = node.get("shape") if isinstance(node, dict) else None
    return shape if isinstance(shape, str) else None


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema named ``guideline`` or ``case``, as shipped in the package."""
    text = files("kb_core").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator(name: str) -> Any:
    import jsonschema  # imported here: only the edges validate

    cls = jsonschema.validators.validator_for(schema(name))
    cls.check_schema(schema(name))
    # JSON Schema counts 10.0 as an integer; counts here are whole numbers written as such.
    strict_integers = cls.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    return jsonschema.validators.extend(cls, type_checker=strict_integers)(schema(name))


def _allowed_keys(subschema: dict[str, Any]) -> str:
    keys = sorted(subschema.get("properties", {}))
    return ", ".join(keys) if keys else "none"


# ---------------------------------------------------------------- compiled accept/reject check
#
# jsonschema is the reference and writes every error message; it is also ~100x slower than
# needed on the hot path (a case mapping per evaluate call). The published schemas are
# compiled once into nested Python checks that answer only "valid or not", with jsonschema's
# draft 2020-12 semantics for the keywords below; a document they reject goes to jsonschema
# for the message, and a schema using any other keyword is not compiled at all.
# tests/test_speed_equivalence.py keeps the two in step on sample and mutated documents.

Check = Callable[[Any], bool]
_ANNOTATIONS = frozenset({
    "$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default",
    "deprecated", "readOnly", "writeOnly", "format",  # format: not asserted, as in _validator
})


class _Unsupported(Exception):
    pass


def _is_number(value: Any) -> bool:
    return type(value) is not bool and isinstance(value, (int, float))


_TYPE_CHECKS: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: type(v) is not bool and isinstance(v, int),  # as _validator: 10.0 is not a count
}


_PYTHON_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _types_check(kinds: list[str]) -> Check:
    """``type: [...]``: one isinstance for the plain kinds, then numbers (never a bool)."""
    plain = tuple(_PYTHON_TYPES[k] for k in kinds if k in _PYTHON_TYPES)
    number, integer = "number" in kinds, "integer" in kinds
    if set(kinds) - set(_PYTHON_TYPES) - {"number", "integer"}:
        raise _Unsupported(f"type {kinds}")

    def check(v: Any) -> bool:
        if isinstance(v, plain):
            return True
        if type(v) is bool:
            return False
        if number and isinstance(v, (int, float)):
            return True
        return integer and isinstance(v, int)  # as _validator: 10.0 is not an integer here

    return check


def _equal(a: Any, b: Any) -> bool:
    """jsonschema's equality: True is not 1, False is not 0; containers compared deeply."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if (type(a) is bool) != (type(b) is bool):
        return False
    return bool(a == b)


class _Defs(dict[str, Check]):
    """Compiled definitions; ``names`` are all those the schema declares (a reference may
    be compiled before the definition it names)."""

    names: frozenset[str] = frozenset()


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]

    def every(v: Any) -> bool:
        for check in checks:
            if not check(v):
                return False
        return True

    return every


def _compile(node: Any, defs: _Defs) -> Check:
    if node is True:
        return lambda v: True
    if node is False:
        return lambda v: False
    if not isinstance(node, dict):
        raise _Unsupported(repr(node))
    keys = node.keys() - _ANNOTATIONS
    checks: list[Check] = []
    if node.get("type") == "object":  # the common object node as one function
        checks.append(_object(node, defs))
        keys -= {"type", "properties", "additionalProperties", "required"}
    elif "enum" in keys and all(o is None or isinstance(o, str) for o in node["enum"]):
        options = frozenset(node["enum"])  # only a string equals a string: no bool/int care
        if None in options:
            checks.append(lambda v: v is None or (type(v) is str and v in options))
        else:
            checks.append(lambda v: type(v) is str and v in options)
        keys -= {"enum"}
    for key in sorted(keys):
        checks.append(_keyword(key, node[key], node, defs))
    return _all(checks)


def _object(node: dict[str, Any], defs: _Defs) -> Check:
    if "patternProperties" in node:
        raise _Unsupported("patternProperties")
    props = {name: _compile(sub, defs) for name, sub in node.get("properties", {}).items()}
    known = frozenset(props)
    extra = node.get("additionalProperties", True)
    closed = extra is False
    extra_check = None if extra is True or closed else _compile(extra, defs)
    required = tuple(node.get("required", ()))

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return False
        if closed and not v.keys() <= known:
            return False
        for key in required:
            if key not in v:
                return False
        for key, item in v.items():
            sub = props.get(key, extra_check)
            if sub is not None and not sub(item):
                return False
        return True

    return check


def _keyword(key: str, arg: Any, node: dict[str, Any], defs: _Defs) -> Check:
    if key == "$ref":
        if not isinstance(arg, str) or not arg.startswith("#/$defs/") or arg[8:] not in defs.names:
            raise _Unsupported(f"$ref {arg}")
        name = arg[8:]
        if name in defs:
            return defs[name]
        return lambda v: defs[name](v)  # looked up late: a definition compiled after this one
    if key == "type":
        kinds = [arg] if isinstance(arg, str) else list(arg)
        if len(kinds) == 1:
            return _TYPE_CHECKS[kinds[0]]
        return _types_check(kinds)
    if key == "enum":
        options = list(arg)
        return lambda v: any(_equal(v, o) for o in options)
    if key == "const":
        return lambda v: _equal(v, arg)
    if key == "pattern":
        search = re.compile(arg).search
        return lambda v: not isinstance(v, str) or search(v) is not None
    if key == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= arg
    if key == "maxLength":
        return lambda v: not isinstance(v, str) or len(v) <= arg
    if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        # Written as jsonschema tests for a violation, so NaN passes as it does there.
        violates = {"minimum": operator.lt, "maximum": operator.gt, "exclusiveMinimum": operator.le, "exclusiveMaximum": operator.ge}[key]
        return lambda v: not _is_number(v) or not violates(v, arg)
    if key == "minItems":
        return lambda v: not isinstance(v, list) or len(v) >= arg
    if key == "maxItems":
        return lambda v: not isinstance(v, list) or len(v) <= arg
    if key == "minProperties":
        return lambda v: not isinstance(v, dict) or len(v) >= arg
    if key == "maxProperties":
        return lambda v: not isinstance(v, dict) or len(v) <= arg
    if key == "uniqueItems":
        if not arg:
            return lambda v: True
        return lambda v: not isinstance(v, list) or not any(_equal(v[i], v[j]) for i in range(len(v)) for j in range(i))
    if key == "items":
        each = _compile(arg, defs)

        def items(v: Any) -> bool:
            if isinstance(v, list):
                for item in v:
                    if not each(item):
                        return False
            return True

        return items
    if key in ("properties", "additionalProperties", "required"):
        object_part = _object({k: node[k] for k in ("properties", "additionalProperties", "required") if k in node}, defs)
        return lambda v: not isinstance(v, dict) or object_part(v)
    if key in ("anyOf", "allOf", "oneOf"):
        subs = [_compile(sub, defs) for sub in arg]
        if key == "anyOf":
            return lambda v: any(s(v) for s in subs)
        if key == "allOf":
            return _all(subs)
        return lambda v: sum(1 for s in subs if s(v)) == 1
    if key == "propertyNames":
        name_check = _compile(arg, defs)
        return lambda v: not isinstance(v, dict) or all(name_check(k) for k in v)
    if key == "not":
        sub = _compile(arg, defs)
        return lambda v: not sub(v)
    if key == "dependentRequired":
        deps = {k: tuple(vs) for k, vs in arg.items()}
        return lambda v: not isinstance(v, dict) or all(d in v for k, ds in deps.items() if k in v for d in ds)
    if key == "if":
        test = _compile(arg, defs)
        then = _compile(node.get("then", True), defs)
        otherwise = _compile(node.get("else", True), defs)
        return lambda v: then(v) if test(v) else otherwise(v)
    if key in ("then", "else"):
        return lambda v: True  # applied with "if"
    raise _Unsupported(key)


@cache
def compiled_check(name: str) -> Check | None:
    """The schema ``name`` as a fast valid/invalid check, or None if it uses a keyword the
    compiler does not know (then jsonschema alone validates)."""
    root = schema(name)
    defs = _Defs()
    defs.names = frozenset(root.get("$defs", {}))
    try:
        for def_name, sub in root.get("$defs", {}).items():
            defs[def_name] = _compile(sub, defs)
        return _compile(root, defs)
    except (_Unsupported, KeyError, TypeError, re.error):
        return None


def validate(document: Any, name: str, path: str, error: type[LocatedError]) -> None:
    """Raise ``error`` for the first (most relevant) schema violation in ``document``."""
    check = compiled_check(name)
    try:
        if check is not None and check(document):
            return
    except RecursionError:
        pass  # let jsonschema judge it
    import jsonschema

    errors = list(_validator(name).iter_errors(document))
    if not errors:
        return
    worst = jsonschema.exceptions.best_match(errors)
    location = list(worst.absolute_path)
    problem = worst.message
    fix = "see the schema kb_core/schemas/%s.schema.json" % name
    if worst.validator == "additionalProperties" and isinstance(worst.instance, dict):
        allowed = set(worst.schema.get("properties", {}))
        unknown = sorted(k for k in worst.instance if k not in allowed)
        if unknown:
            location.append(unknown[0])
            problem = f"unknown key '{unknown[0]}'"
            fix = f"allowed keys here: {_allowed_keys(worst.schema)}"
    elif worst.validator == "required":
        fix = "add the missing key"
    elif worst.validator in ("enum", "type", "pattern"):
        fix = f"use a valid value ({worst.validator}: {json.dumps(worst.validator_value)[:200]})"
    declared = _declared_shape(document, location)
    if declared is not None and declared != _shape_of(worst.instance if location == list(worst.absolute_path) else None):
        fix = f"the parameter declares shape: {declared}, so write {_SHAPE_WORDS.get(declared, declared)} (or correct the shape)"
    raise error(problem, path=path, line=line_of(document, location), where=dotted(location), fix=fix)


@cache
def _case_paths() -> tuple[frozenset[str], frozenset[str]]:
    root = schema("case")
    defs = root["$defs"]
    paths: set[str] = set()
    lists: set[str] = set()

    def walk(node: dict[str, Any], prefix: str) -> None:
        if "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[-1]]
        if "items" in node:
            lists.add(prefix)
            walk(node["items"], prefix)
        for key, sub in node.get("properties", {}).items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            walk(sub, path)

    walk({k: v for k, v in root.items() if k == "properties"}, "")
    return frozenset(p for p in paths if p.split(".")[0] != "expected"), frozenset(lists)


def case_fact_paths() -> frozenset[str]:
    """Every dotted fact path a case can state (list items contribute their fields)."""
    return _case_paths()[0]


def case_list_paths() -> frozenset[str]:
    """Fact paths whose value is a list (e.g. ``prior_treatments``)."""
    return _case_paths()[1]


# ---------------------------------------------------------------- generated one-pass check
#
# For the hot path of a case mapping (kb.evaluate(mapping)) even the compiled closures above
# cost a call per key. Here the schema and the document limits (NaN/inf, depth, sizes: what
# check_document refuses) become the source text of ONE Python function, compiled once: a
# loop per object and array, the checks of each property written out in place. It answers
# only "valid and within the limits" (True) or "let the precise path judge" (False); it may
# refuse more than jsonschema (then the precise path accepts the document), never less.
# tests/test_fast_case.py keeps it in step with jsonschema and check_document.

_GENERATED_KEYWORDS = frozenset({
    "$ref", "type", "enum", "const", "pattern", "minLength", "maxLength", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "items",
    "properties", "additionalProperties", "required", "anyOf", "allOf",
})

# Python conditions for each JSON type ({x}: the value). Exact types: a subclass (an IntEnum,
# a bool, which Python counts as an int) is left to the precise path.
_TYPE_CONDITIONS = {
    "object": "type({x}) in _dicts",
    "array": "type({x}) in _lists",
    "string": "type({x}) is str",
    "boolean": "({x} is True or {x} is False)",
    "null": "{x} is None",
    "integer": "type({x}) is int",
    "number": "(type({x}) is float or type({x}) is int)",
}


def _unique_items(items: list[Any]) -> bool:
    """jsonschema's uniqueItems (True is not 1); texts, the usual case, by one set."""
    if all(type(item) is str for item in items):
        return len(set(items)) == len(items)
    return not any(_equal(items[i], items[j]) for i in range(len(items)) for j in range(i))


class _Matches(dict[str, bool]):
    """Whether a text matches a pattern, remembered: dates and ids repeat from case to case,
    and a lookup costs a fraction of a regular expression search. Bounded."""

    def __init__(self, search: Callable[[str], Any]) -> None:
        super().__init__()
        self.search = search

    def __missing__(self, text: str) -> bool:
        found = self.search(text) is not None
        if len(self) >= 4096:
            self.clear()
        self[text] = found
        return found


class _Generator:
    """Writes the source of one check function for a schema (see above)."""

    def __init__(self, root: dict[str, Any], limits: Any) -> None:
        self.root = root
        self.limits = limits
        self.lines: list[str] = []
        from kb_core._yaml import LocatedDict, LocatedList

        mappings: tuple[type, ...] = (dict, LocatedDict)
        sequences: tuple[type, ...] = (list, LocatedList)
        self.names: dict[str, Any] = {"_unique": _unique_items, "_equal": _equal,
                                      "_dicts": frozenset(mappings), "_lists": frozenset(sequences)}
        self.count = 0
        self.refs: list[str] = []
        self.functions: list[str] = []  # anyOf branches, beside the check
        self.shared: dict[tuple[str, Any], str] = {}

    def name(self, prefix: str, value: Any = None, key: Any = None) -> str:
        """A new variable name; one bound to ``value`` is shared by all uses of an equal ``key``
        (so equal checks are written the same and grouped)."""
        if key is not None and (prefix, key) in self.shared:
            return self.shared[prefix, key]
        self.count += 1
        name = f"{prefix}{self.count}"
        if value is not None:
            self.names[name] = value
        if key is not None:
            self.shared[prefix, key] = name
        return name

    def emit(self, node: Any, x: str, depth: int, ind: str, limits: bool) -> None:
        """Lines that ``return False`` unless the value in variable ``x`` is valid."""
        out = self.lines.append
        if depth > self.limits.max_depth:
            out(f"{ind}return False")  # deeper than check_document allows
            return
        if node is False:
            out(f"{ind}return False")
            return
        if node is True:
            node = {}
        if not isinstance(node, dict):
            raise _Unsupported(repr(node))
        keys = node.keys() - _ANNOTATIONS
        if keys - _GENERATED_KEYWORDS:
            raise _Unsupported(", ".join(sorted(keys - _GENERATED_KEYWORDS)))
        if "$ref" in keys:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/$defs/") or ref[8:] not in self.root.get("$defs", {}) or ref in self.refs:
                raise _Unsupported(f"$ref {ref}")  # recursive or elsewhere: not written out
            self.refs.append(ref)
            self.emit(self.root["$defs"][ref[8:]], x, depth, ind, limits)
            self.refs.pop()
            keys -= {"$ref"}
            if not keys:
                return
        kinds = node.get("type")
        kinds = None if kinds is None else [kinds] if isinstance(kinds, str) else list(kinds)
        if kinds is not None and (not kinds or set(kinds) - set(_TYPE_CONDITIONS)):
            raise _Unsupported(f"type {kinds}")
        for word in ("enum", "const"):
            if word in keys:
                options = list(node[word]) if word == "enum" else [node[word]]
                if not all(o is None or type(o) in (str, int, bool) for o in options):
                    raise _Unsupported(word)  # a container or float option: its limits are not written out
                if limits and any(isinstance(o, str) and len(o) > self.limits.max_text for o in options):
                    raise _Unsupported(word)
                if all(o is None or isinstance(o, str) for o in options):  # only a text equals a text
                    options_set = frozenset(o for o in options if o is not None)
                    texts = self.name("_texts", options_set, key=options_set)
                    none = f"{x} is None or " if None in options else ""
                    out(f"{ind}if not ({none}(isinstance({x}, str) and {x} in {texts})): return False")
                else:
                    values = self.name("_values", tuple(options))
                    out(f"{ind}if not any(_equal({x}, o) for o in {values}): return False")
        bounded = "enum" in keys or "const" in keys  # the value is one of a few short scalars
        if kinds is not None:
            out(f"{ind}if not ({' or '.join(_TYPE_CONDITIONS[k].format(x=x) for k in kinds)}): return False")
        elif not bounded and not (keys & {"properties", "additionalProperties", "required", "items", "anyOf", "allOf"}):
            if limits:  # any value: only the document limits apply
                out(f"{ind}if not _within({x}, {depth}, _limits): return False")
            if not keys:
                return

        def could_be(kind: str) -> bool:
            return kinds is None or kind in kinds or (kind == "number" and "integer" in kinds)

        def only(kind: str) -> bool:
            return kinds is not None and set(kinds) <= ({kind, "integer"} if kind == "number" else {kind})

        def guard(kind: str, condition: str) -> str:
            """``condition`` applies to values of ``kind`` only (as JSON Schema keywords do)."""
            if only(kind):
                return condition
            if kinds is not None and set(kinds) - ({kind, "integer"} if kind == "number" else {kind}) == {"null"}:
                return f"{x} is not None and {condition}"  # the type is checked: not None is enough
            test = {"string": f"isinstance({x}, str)", "array": f"isinstance({x}, list)", "object": f"isinstance({x}, dict)",
                    "number": f"(isinstance({x}, (int, float)) and {x} is not True and {x} is not False)"}[kind]
            return f"{test} and {condition}"

        if could_be("string") and not bounded:
            if limits:
                out(f"{ind}if {guard('string', f'len({x}) > {self.limits.max_text}')}: return False")
            for word, op in (("minLength", "<"), ("maxLength", ">")):
                if word in keys:
                    length = int(node[word])
                    out(f"{ind}if {guard('string', f'len({x}) {op} {length}')}: return False")
            if "pattern" in keys:
                matches = self.name("_matches", _Matches(re.compile(node["pattern"]).search), key=node["pattern"])
                out(f"{ind}if {guard('string', f'not {matches}[{x}]')}: return False")
        if could_be("number") and not bounded:
            words = [w for w in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum") if w in keys]
            if any(not _is_number(node[w]) for w in words):
                raise _Unsupported("a bound that is not a number")
            ops = {"minimum": "{b} <= {x}", "exclusiveMinimum": "{b} < {x}", "maximum": "{x} <= {b}", "exclusiveMaximum": "{x} < {b}"}
            within = " and ".join(ops[w].format(b=repr(node[w]), x=x) for w in words)
            lower, upper = words and words[0].endswith("inimum"), words and words[-1].endswith("aximum")
            # A bound on each side refuses NaN and the infinities too (every comparison with NaN is false).
            if limits and (kinds is None or "number" in kinds) and not (lower and upper):
                out(f"{ind}if {guard('number', f'type({x}) is float and not _isfinite({x})')}: return False")
            if within:
                out(f"{ind}if {guard('number', f'not ({within})')}: return False")
        if could_be("array") and (keys & {"items", "minItems", "maxItems", "uniqueItems"} or (limits and not bounded)):
            self.array(node, keys, x, depth, ind, limits, only("array"))
        if could_be("object") and (keys & {"properties", "additionalProperties", "required"} or (limits and not bounded)):
            self.object(node, keys, x, depth, ind, limits, only("object"))
        for word in ("allOf", "anyOf"):
            if word not in keys:
                continue
            if word == "allOf":  # every branch applies: written out in place, limits and all
                for sub in node[word]:
                    self.emit(sub, x, depth, ind, limits)
                continue
            branches = [self.branch(sub, depth) for sub in node[word]]
            out(f"{ind}if not ({' or '.join(f'{b}({x})' for b in branches)}): return False")

    def branch(self, node: Any, depth: int) -> str:
        """A separate function for one anyOf branch (schema only: the main flow checks limits)."""
        name = self.name("_branch")
        saved, self.lines = self.lines, []
        self.emit(node, "v", depth, "    ", limits=False)
        body, self.lines = self.lines, saved
        self.functions += [f"def {name}(v):", *body, "    return True"]
        return name

    def array(self, node: dict[str, Any], keys: set[str], x: str, depth: int, ind: str, limits: bool, only: bool) -> None:
        out = self.lines.append
        if not only:
            out(f"{ind}if isinstance({x}, list):")
            ind += "    "
        if limits:
            out(f"{ind}if len({x}) > {self.limits.max_items}: return False")
        for word, op in (("minItems", "<"), ("maxItems", ">")):
            if word in keys:
                out(f"{ind}if len({x}) {op} {int(node[word])}: return False")
        items = node.get("items", True)
        if items is not True or limits:
            item = self.name("_i")
            out(f"{ind}for {item} in {x}:")
            saved, self.lines = self.lines, []
            self.emit(items, item, depth + 1, ind + "    ", limits)
            body, self.lines = _merged(self.lines, ind + "    "), saved
            self.lines.extend(body or [f"{ind}    pass"])
        if node.get("uniqueItems") is True:
            out(f"{ind}if not _unique({x}): return False")
        if not only and self.lines[-1] == f"{ind[:-4]}if isinstance({x}, list):":
            out(f"{ind}pass")

    def object(self, node: dict[str, Any], keys: set[str], x: str, depth: int, ind: str, limits: bool, only: bool) -> None:
        out = self.lines.append
        if not only:
            out(f"{ind}if isinstance({x}, dict):")
            ind += "    "
        properties = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        if limits:
            out(f"{ind}if len({x}) > {self.limits.max_items}: return False")
        if extra is False:
            known = self.name("_known", frozenset(properties), key=frozenset(properties))
            out(f"{ind}if not {x}.keys() <= {known}: return False")
        if node.get("required"):
            required = self.name("_required", frozenset(node["required"]), key=frozenset(node["required"]))
            out(f"{ind}if not {required} <= {x}.keys(): return False")
        # The properties' checks, the same ones written once: a case has many yes/no findings.
        bodies: dict[str, list[str]] = {}
        members: dict[str, list[str]] = {}
        key, value, group = self.name("_k"), self.name("_v"), self.name("_group_of_")
        for prop, sub in properties.items():
            saved, self.lines = self.lines, []
            self.emit(sub, value, depth + 1, ind + "        ", limits)
            body, self.lines = _merged(self.lines, ind + "        "), saved
            text = "\n".join(body)
            bodies.setdefault(text, body)
            members.setdefault(text, []).append(prop)
        saved, self.lines = self.lines, []
        if extra is not False and (extra is not True or limits):
            self.emit(extra, value, depth + 1, ind + "        ", limits)
        other, self.lines = _merged(self.lines, ind + "        "), saved
        if not bodies and not other:
            if not only and self.lines[-1] == f"{ind[:-4]}if isinstance({x}, dict):":
                out(f"{ind}pass")
            return
        if extra is False and len(bodies) == 1:  # one check for every key (e.g. all dates)
            out(f"{ind}for {value} in {x}.values():")
            self.lines.extend(line[4:] for line in next(iter(bodies.values())) or [f"{ind}        pass"])
            return
        ordered = sorted(bodies, key=lambda text: -len(members[text]))  # the likeliest first
        table = self.name("_group", {prop: number for number, text in enumerate(ordered) for prop in members[text]})
        out(f"{ind}for {key}, {value} in {x}.items():")
        out(f"{ind}    {group} = {table}.get({key})")
        branch = "if"
        for number, text in enumerate(ordered):
            out(f"{ind}    {branch} {group} == {number}:")
            self.lines.extend(bodies[text] or [f"{ind}        pass"])
            branch = "elif"
        if other:
            out(f"{ind}    {'elif' if bodies else 'if'} {group} is None:")
            self.lines.extend(other)


def _merged(lines: list[str], ind: str) -> list[str]:
    """``if a: return False`` lines at one level as one ``if a or b: return False`` (fewer
    steps for the interpreter; ``or`` keeps their order, so a type test still comes first)."""
    head, tail = f"{ind}if ", ": return False"
    if len(lines) < 2 or not all(line.startswith(head) and line.endswith(tail) for line in lines):
        return lines
    return [head + " or ".join(f"({line[len(head):-len(tail)]})" for line in lines) + tail]


@cache
def generated_check(name: str, limits: Any) -> Check | None:
    """The schema ``name`` and the document ``limits`` (a ``_yaml.Limits``) as one generated
    function: True only for a document both jsonschema and ``check_document`` accept. None
    when the schema uses a keyword the generator does not write out."""
    return _generated(schema(name), limits, f"{name}.schema.json")


def _generated(root: dict[str, Any], limits: Any, label: str) -> Check | None:
    import math

    from kb_core import _yaml

    generator = _Generator(root, limits)
    try:
        generator.emit(root, "document", 0, "    ", limits=True)
    except (_Unsupported, TypeError, ValueError, re.error):
        return None
    source = "\n".join([*generator.functions, "def check(document):", *generator.lines, "    return True"])
    namespace = {**generator.names, "_within": _yaml._within, "_isfinite": math.isfinite, "_limits": limits}
    try:
        exec(compile(source, f"<generated check of {label}>", "exec"), namespace)  # noqa: S102 - our own schema's text
    except (SyntaxError, RecursionError):  # pragma: no cover - nesting beyond Python's limits
        return None
    check: Check = namespace["check"]
    check.source = source  # type: ignore[attr-defined]  # for reading when a test fails
    return check
