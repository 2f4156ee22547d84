"""Determinations as JSON (byte-stable) and as a reviewer's worksheet (text)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import keyword
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from kb_core._model import CriterionResult, Determination, Status


@functools.cache
def _orjson_dumps() -> Callable[[Any], bytes] | None:
    """orjson's encoder with json.dumps(indent=2, sort_keys=True)'s layout, or None without
    orjson. Imported on first use: it pulls in uuid and platform (~10 ms at start-up)."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is a dependency; keep working without it
        return None
    options = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    return lambda data: orjson.dumps(data, option=options)


@functools.cache
def _orjson_fragment() -> Callable[[str], Any] | None:
    """orjson.Fragment (already-encoded JSON put in a document as it is), or None."""
    try:
        from orjson import Fragment
    except ImportError:  # pragma: no cover - orjson without Fragment (before 3.9) or no orjson
        return None
    return Fragment  # type: ignore[no-any-return]


_SCALARS = (str, int, float, bool, type(None))
_PLAIN_TYPES: frozenset[type] = frozenset({str, int, bool, type(None)})


class _StdlibFloat(float):
    """A float whose JSON text only the standard encoder writes as today (NaN, infinity,
    exponent form such as 1e+16): it makes the fast encoder defer to ``json.dumps``."""


def _portable(value: float) -> float:
    if value == 0.0 or 1e-4 <= abs(value) < 1e16:  # repr and orjson agree in this range
        return value
    return _StdlibFloat(value)


# per dataclass type: a generated function converting one instance field by field
_converters: dict[type, Callable[[Any], dict[str, Any]]] = {}


def _dataclass_converter(
    kind: type, plain_types: frozenset[type] | None = None, convert: Callable[[Any], Any] | None = None,
) -> Callable[[Any], dict[str, Any]]:
    """``{field: convert(value)}`` (by default ``_plain``) in field order for instances of
    ``kind``, as one generated function: a value of ``plain_types`` is taken without a call,
    and no getattr by name per field."""
    plain_types = _PLAIN_TYPES if plain_types is None else plain_types
    convert = _plain if convert is None else convert
    names = tuple(f.name for f in dataclasses.fields(kind))
    if not all(name.isidentifier() and not keyword.iskeyword(name) for name in names):
        return lambda value: {name: convert(getattr(value, name)) for name in names}  # type: ignore[misc]
    reads = "".join(f"    v{i} = value.{name}\n" for i, name in enumerate(names))
    items = ", ".join(f"{name!r}: v{i} if type(v{i}) in plain_types else convert(v{i})" for i, name in enumerate(names))
    source = f"def convert_fields(value):\n{reads}    return {{{items}}}\n"
    namespace: dict[str, Any] = {"plain_types": plain_types, "convert": convert}
    exec(compile(source, f"<plain {kind.__qualname__}>", "exec"), namespace)  # noqa: S102 - names checked above
    return namespace["convert_fields"]  # type: ignore[no-any-return]


# Lone surrogates cannot be encoded as UTF-8; other control characters would act on a terminal.
_UNSAFE_JSON = re.compile("[\ud800-\udfff]")
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """``text`` with lone surrogates and control characters (except newline and tab)
    written as ``\\uXXXX``/``\\xXX`` escapes: printable and encodable for any input."""
    return _UNSAFE_TEXT.sub(_escape, text) if not text.isascii() or not text.isprintable() else text


def safe_json(text: str) -> str:
    """JSON text whose lone surrogates are written as ``\\uXXXX`` escapes (still the same
    JSON value, but encodable as UTF-8)."""
    return text if text.isascii() else _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN_TYPES:  # the common case first: no isinstance chain
        return value
    if kind is float:  # JSON has no NaN or Infinity; the loader refuses them in inputs
        return _portable(value) if math.isfinite(value) else str(value)
    if kind is dt.date:
        return value.isoformat()
    # Traces repeat the prior treatments (a dozen fields each) under several criteria: a
    # dataclass's field names are looked up once per type, and plain items taken without a call.
    convert = _converters.get(kind)
    if convert is not None:
        return convert(value)
    if kind is tuple or kind is list:
        return [v if type(v) in _PLAIN_TYPES else _plain(v) for v in value]
    if kind is dt.date:
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity; the loader refuses them in inputs
    if isinstance(value, _SCALARS) and not isinstance(value, enum.Enum):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _PLAIN_TYPES else _plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): v if type(v) in _PLAIN_TYPES else _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        convert = _converters[kind] = _dataclass_converter(kind)
        return convert(value)
    return repr(value)  # never reached for checked results; keeps the output JSON whatever comes in


_STATUS_VALUE = {status: status.value for status in Status}  # an enum's .value is a slow property
# Fact values orjson writes just as the standard encoder writes their _plain form
# (a date as its ISO text): passed to it as they are.
_ENCODED_AS_IS: frozenset[type] = frozenset({*_PLAIN_TYPES, dt.date})


_result_items: Callable[[CriterionResult], Iterator[Any]] = tuple.__iter__  # a result's stored fields, read in one unpacking


def _result(r: CriterionResult, plain_fact: Callable[[Any], Any] = _plain, fragments: bool = False) -> dict[str, Any]:
    # Canonical JSON (its own plain_fact) does not hand the converted mapping out: there the
    # parameters, one mapping per plan, are converted once (_plain_params_once), and with
    # ``fragments`` encoded once (_encoded_once).
    if type(r) is CriterionResult:
        criterion, title, status, reason, citation, tier, role, parameters, facts, verification, needed, approvable, plugin, decides = _result_items(r)
        if type(reason) is not str:  # lazy: rendered (once) by the attribute
            reason = r.reason
    else:
        criterion, title, status, reason, citation, tier, role, parameters, facts, verification, needed, approvable, plugin, decides = (
            r.criterion, r.title, r.status, r.reason, r.citation, r.tier, r.role, r.parameters, r.facts, r.verification,
            r.documentation_needed, r.approvable, r.plugin, r.decides,
        )
    plain_types = _ENCODED_AS_IS if fragments else _PLAIN_TYPES
    out: dict[str, Any] = {
        "criterion": criterion, "title": title, "status": _STATUS_VALUE[status], "reason": reason,
        "citation": citation, "tier": tier, "role": role, "verification": verification,
        "parameters": _plain(parameters) if plain_fact is _plain else (
            _encoded_once(parameters, _PARAMETERS_DEPTH, _plain_params_once) if fragments else _plain_params_once(parameters)
        ), "facts": {
            k if type(k) is str else str(k): v if type(v) in plain_types else plain_fact(v) for k, v in facts.items()
        },
    }
    return _with_optional_fields(out, needed, approvable, plugin, decides)


def _with_optional_fields(out: dict[str, Any], needed: str | None, approvable: int | None, plugin: str | None, decides: bool) -> dict[str, Any]:
    """A result's keys written only when they say something (both JSON paths)."""
    if needed is not None:
        out["documentation_needed"] = needed
    if approvable is not None:
        out["approvable"] = approvable
    if plugin is not None:
        out["plugin"] = plugin
    if not decides:
        out["decides"] = False
    return out


_native_converters: dict[type, Callable[[Any], dict[str, Any]]] = {}  # as _converters, for _json_native


def _json_native(value: Any) -> Any:
    """:func:`_plain` for orjson: the same JSON, but what orjson writes just as the standard
    encoder writes its _plain form (dates, lists and tuples of such) is left as it is."""
    kind = type(value)
    if kind in _ENCODED_AS_IS:
        return value
    if kind is tuple or kind is list:  # (inline, not _all_encoded_as_is: the hot path of canonical JSON)
        for item in value:
            if type(item) not in _ENCODED_AS_IS:
                return [_json_native(v) for v in value]
        return value
    convert = _native_converters.get(kind)
    if convert is not None:
        return convert(value)
    if kind in _converters:  # a dataclass _plain has met (it decides what is one)
        convert = _native_converters[kind] = _dataclass_converter(kind, _ENCODED_AS_IS, _json_native)
        return convert(value)
    return _plain(value)


def _all_encoded_as_is(items: Iterable[Any]) -> bool:
    for item in items:
        if type(item) not in _ENCODED_AS_IS:
            return False
    return True


def _encoded_result(r: Any, plain_fact: Callable[[Any], Any]) -> dict[str, Any]:
    """:func:`_result` for canonical JSON through orjson (a result from evaluate): the plan's
    parameters pre-encoded, dates left to orjson, keys left as they are (orjson refuses a
    key that is not text, and the standard path then writes it)."""
    if type(r) is not CriterionResult:
        return _result(r, plain_fact, True)
    criterion, title, status, reason, citation, tier, role, parameters, facts, verification, needed, approvable, plugin, decides = _result_items(r)
    if type(reason) is not str:  # lazy: rendered (once) by the attribute
        reason = r.reason
    entry = _encoded_parameters.get(id(parameters))
    as_is = _ENCODED_AS_IS
    out: dict[str, Any] = {
        "criterion": criterion, "title": title, "status": _STATUS_VALUE[status], "reason": reason,
        "citation": citation, "tier": tier, "role": role, "verification": verification,
        "parameters": entry[1] if entry is not None and entry[0] is parameters else _encoded_once(parameters, _PARAMETERS_DEPTH, _plain_params_once),
        "facts": facts,
    }
    if type(facts) is not dict:
        out["facts"] = {k: v if type(v) in as_is else plain_fact(v) for k, v in facts.items()}
    else:
        for v in facts.values():
            if type(v) not in as_is:  # converted in a copy; a dict of plain values goes to orjson as it is
                out["facts"] = {k: v if type(v) in as_is else plain_fact(v) for k, v in facts.items()}
                break
    return _with_optional_fields(out, needed, approvable, plugin, decides)


# A criterion's parameters are one mapping per knowledge-base plan, the same object in every
# determination: for canonical JSON (where the converted value is not handed out) it is
# converted once. The entry keeps the mapping itself, so its id is never reused meanwhile.
_plain_params_cache: dict[int, tuple[Any, Any]] = {}
_PARAMS_SLOTS = 4096


def _plain_params_once(params: Any) -> Any:
    entry = _plain_params_cache.get(id(params))
    if entry is not None and entry[0] is params:
        return entry[1]
    if len(_plain_params_cache) >= _PARAMS_SLOTS:
        _plain_params_cache.clear()
    plain = _plain(params)
    _plain_params_cache[id(params)] = (params, plain)
    return plain


# Canonical JSON of what is the same in many determinations (a plan's parameters, a version
# choice's receipt), encoded once as an orjson.Fragment indented for its place in the
# document: (id, depth) -> (the object itself, so its id is never reused meanwhile; the
# Fragment, or the plain value where orjson refuses it and the standard encoder will run).
_encoded_cache: dict[tuple[int, int], tuple[Any, Any]] = {}
_PARAMETERS_DEPTH = 3  # document -> "criteria" list -> a result -> its "parameters"
_RECEIPT_DEPTH = 1  # document -> "receipt"
_encoded_parameters: dict[int, tuple[Any, Any]] = {}  # id -> (parameters, encoded), as in _encoded_cache


def _encoded_once(value: Any, depth: int, convert: Callable[[Any], Any]) -> Any:
    key = (id(value), depth)
    entry = _encoded_cache.get(key)
    if entry is not None and entry[0] is value:
        return entry[1]
    if len(_encoded_cache) >= _PARAMS_SLOTS:
        _encoded_cache.clear()
    encoded = _encoded(convert(value), depth)
    _encoded_cache[key] = (value, encoded)
    if depth == _PARAMETERS_DEPTH:  # looked up per result: by id alone
        if len(_encoded_parameters) >= _PARAMS_SLOTS:
            _encoded_parameters.clear()
        _encoded_parameters[id(value)] = (value, encoded)
    return encoded


def _encoded(plain: Any, depth: int) -> Any:
    """``plain`` as canonical JSON text (an orjson.Fragment) for a value nested ``depth``
    levels deep, or ``plain`` itself where orjson refuses it (the standard encoder then runs)."""
    dumps, fragment = _orjson_dumps(), _orjson_fragment()
    if dumps is None or fragment is None:
        return plain
    try:  # orjson escapes every newline inside a string: each one here starts a line
        return fragment(dumps(plain).decode("utf-8").replace("\n", "\n" + "  " * depth))
    except (TypeError, UnicodeError):
        return plain


def _plain_receipt(receipt: Any) -> dict[str, Any]:
    return {k: v for k, v in _plain(receipt).items() if k != "supersessions" or v}


def determination_dict(det: Determination) -> dict[str, Any]:
    """A JSON-ready mapping of everything in the determination."""
    return _determination_dict(det, _plain)


def _determination_dict(det: Determination, plain_fact: Callable[[Any], Any], fragments: bool = False) -> dict[str, Any]:
    return {
        "case_id": det.case_id,
        "treatment": det.treatment,
        "decision": det.decision.value,
        "summary": det.summary,
        "requested_quantity": det.requested_quantity,
        "approved_quantity": det.approved_quantity,
        "deciding_criteria": list(det.deciding_criteria),
        # Deprecated name of deciding_criteria, still written for one release (CHANGELOG).
        "decisive_criteria": list(det.deciding_criteria),
        "criteria": [_encoded_result(r, plain_fact) for r in det.criteria] if fragments else [_result(r, plain_fact) for r in det.criteria],
        "receipt": _encoded_once(det.receipt, _RECEIPT_DEPTH, _plain_receipt) if fragments else _plain_receipt(det.receipt),
    }


def determination_json(det: Determination) -> str:
    """Canonical JSON: same determination, same bytes."""
    # Criteria often record the same (immutable) fact value, e.g. the prior treatments:
    # converted once per determination here, where the mapping is not handed out.
    seen: dict[int, Any] = {}

    def plain_once(value: Any) -> Any:
        if type(value) in _PLAIN_TYPES:
            return value
        key = id(value)
        if key not in seen:
            seen[key] = _plain(value)
        return seen[key]

    dumps = _orjson_dumps()
    if dumps is not None and _orjson_fragment() is not None:
        # Through orjson: what it writes as the standard encoder does (dates, lists of plain
        # values) goes in as it is; the rest is converted once per determination.
        native: dict[int, Any] = {}

        def native_once(value: Any) -> Any:
            key = id(value)
            if key not in native:
                # Criteria report the case's prior treatments in several tuples (all of them, a
                # program's): each record is converted once.
                native[key] = [native_once(v) for v in value] if type(value) is tuple and not _all_encoded_as_is(value) else _json_native(value)
            return native[key]

        try:
            return dumps(_determination_dict(det, native_once, fragments=True)).decode("utf-8") + "\n"
        except (TypeError, UnicodeError):  # what orjson writes otherwise or refuses: as below
            pass
    return canonical_json(_determination_dict(det, plain_once), encodable=True)


def _stdlib_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def canonical_json(data: Any, *, encodable: bool = False) -> str:
    """``json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)`` plus a newline,
    through orjson where it writes the very same bytes (tests compare the two). What orjson
    writes otherwise or refuses (NaN and extreme floats, integers beyond 64 bits, lone
    surrogates) goes through the standard encoder; with ``encodable``, lone surrogates are
    then written as ``\\uXXXX`` escapes (orjson's own output never holds one)."""
    dumps = _orjson_dumps()
    if dumps is not None:
        try:
            return dumps(data).decode("utf-8") + "\n"
        except (TypeError, UnicodeError):  # orjson.JSONEncodeError is a TypeError
            pass
    text = _stdlib_json(data)
    return safe_json(text) if encodable else text


_LABEL = {
    Status.MET: "MET",
    Status.NOT_MET: "NOT MET",
    Status.NOT_DOCUMENTED: "NOT DOCUMENTED",
    Status.NOT_APPLICABLE: "N/A",
    Status.ERROR: "ERROR",
}


_NOTE_LABEL = "NOTE (not deciding)"  # a failing result whose burden makes it a note
_LABEL_WIDTH = max(len(_NOTE_LABEL), *map(len, _LABEL.values()))  # every label in one column


def _wrap(label: str, text: str, indent: int = _LABEL_WIDTH + 4) -> str:
    import textwrap  # text output only: not paid for by a cold load

    return textwrap.fill(text, width=100, initial_indent=" " * indent + label, subsequent_indent=" " * (indent + len(label)))


DECIDING_CRITERIA_LABEL = "Deciding criteria: "


def deciding_criteria_line(det: Determination) -> str:
    """``Deciding criteria: a, b`` (``none`` when empty): exactly ``det.deciding_criteria``, in order,
    wrapped at width 100 between ids only."""
    ids = ", ".join(det.deciding_criteria) or "none"
    import textwrap

    return textwrap.fill(
        DECIDING_CRITERIA_LABEL + ids, width=100, subsequent_indent=" " * len(DECIDING_CRITERIA_LABEL),
        break_long_words=False, break_on_hyphens=False,
    )


def determination_text(det: Determination) -> str:
    """A worksheet: decision first, then each criterion with status, reason and citation."""
    import textwrap

    r = det.receipt
    qty = "unspecified" if det.requested_quantity is None else str(det.requested_quantity)
    lines = [
        f"DECISION: {det.decision.value.upper().replace('_', '-')}",
        f"Treatment: {det.treatment}" + (f"    Case: {det.case_id}" if det.case_id else ""),
        f"Requested: {qty}" + ("" if det.approved_quantity is None else f"    Approved: {det.approved_quantity}"),
        textwrap.fill(det.summary, width=100),
        deciding_criteria_line(det),
        f"Guideline: {r.guideline_version_label or 'none in force'} (chosen by {r.version_chosen_by})",
        "",
    ]
    if det.criteria:
        lines.append("CRITERIA")
    for res in det.criteria:
        label = _LABEL[res.status] if res.decides else _NOTE_LABEL
        lines.append(f"  {label:<{_LABEL_WIDTH}}  {res.criterion} [{res.verification}]: {res.title}")
        lines.append(_wrap("Why:   ", res.reason))
        tier = "" if res.tier == "mtus" else f" [decided by the {res.tier.upper()} tier: MTUS is silent]"
        lines.append(_wrap("Cite:  ", res.citation + tier))
        if res.documentation_needed:
            lines.append(_wrap("To pass: ", res.documentation_needed))
    plugins = ", ".join(f"{k} {v}" for k, v in r.plugins.items())
    if any(res.verification not in ("V", "D") for res in det.criteria):
        lines += ["", "[V] verified against the source, [D] as quoted in IMR decisions; [K]/[U] not yet checked against the guideline text."]
    lines += ["", f"Receipt: mtus-kb {r.package_version}; knowledge base {r.knowledge_base_version or 'unversioned'} sha256 {r.knowledge_base_digest}", f"         plugins: {plugins}"]
    lines += [f"         SUPERSEDED: {item}" for item in r.supersessions]
    return safe_text("\n".join(lines) + "\n")
