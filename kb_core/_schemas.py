"""The published JSON Schemas (``kb_core/schemas/*.schema.json``) and validation with them.

Validation happens at the edges (reading files, parsing a case); errors are turned into
located errors that name the file, the line, the key and a fix.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from kb_core._yaml import dotted, line_of
from kb_core.errors import LocatedError


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


def validate(document: Any, name: str, path: str, error: type[LocatedError]) -> None:
    """Raise ``error`` for the first (most relevant) schema violation in ``document``."""
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
