"""The control protocol's schema and its validator: ``schema.json`` (JSON Schema draft 2020-12,
one ``$defs/cmd_<type>`` per message type) and a small validator that implements exactly the
keywords the schema uses (``$ref``, ``type``, ``const``, ``enum``, ``properties``, ``required``,
``additionalProperties``, ``minLength``, ``maxLength``, ``pattern``, ``minimum``, ``maximum``,
``exclusiveMinimum``, ``items``, ``minItems``, ``maxItems``, ``oneOf``) - no extra dependency.

A decoded message in; ``check_message`` gives (error code, a sentence naming the field, the
value and what is allowed) or None.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("schema.json")
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
ERROR_CODES: tuple[str, ...] = tuple(SCHEMA["x-error-codes"])
# Message types with their schema, in the order the schema lists them.
_DEFS: list[dict[str, Any]] = [
    SCHEMA["$defs"][ref["$ref"].removeprefix("#/$defs/")] for ref in SCHEMA["oneOf"]
]
MESSAGE_TYPES: dict[str, dict[str, Any]] = {d["properties"]["type"]["const"]: d for d in _DEFS}
COMMANDS: tuple[str, ...] = tuple(t for t in MESSAGE_TYPES if t not in ("hello", "auth"))
_MAX_SHOWN = 60


# ---- validation (the subset of JSON Schema that schema.json uses) ----
def _show(v: Any, limit: int = _MAX_SHOWN) -> str:
    try:
        s = json.dumps(v, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        s = repr(v)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _type_ok(v: Any, t: str) -> bool:
    if t == "string":
        return isinstance(v, str)
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "null":
        return v is None
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    return False


def _resolve(ref: str) -> dict[str, Any]:
    if not ref.startswith("#/$defs/"):
        raise ValueError(f"unsupported $ref {ref!r}")
    return SCHEMA["$defs"][ref.removeprefix("#/$defs/")]


def validate(value: Any, schema: dict[str, Any], where: str = "message") -> str | None:
    """The first problem of ``value`` against ``schema`` as a sentence naming the field, the
    value and what is allowed; None if it is valid."""
    if "$ref" in schema:
        err = validate(value, _resolve(schema["$ref"]), where)
        if err:
            return err
    if "oneOf" in schema:
        errs = [validate(value, s, where) for s in schema["oneOf"]]
        if sum(e is None for e in errs) != 1:
            return f"{where} must match exactly one of {len(errs)} forms: {next(filter(None, errs), 'several match')}"
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, t) for t in types):
            return f'"{where}" is {_show(value)}; allowed: {" or ".join(types)}'
    if "const" in schema and not _same(value, schema["const"]):
        return f'"{where}" is {_show(value)}; allowed: {_show(schema["const"])}'
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        allowed = ", ".join(_show(e) for e in schema["enum"])
        return f'"{where}" is {_show(value)}; allowed: one of {allowed}'
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return (
                f'"{where}" is {_show(value)}; allowed: at least {schema["minLength"]} character(s)'
            )
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return (
                f'"{where}" is {len(value)} characters long; allowed: at most {schema["maxLength"]}'
            )
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f'"{where}" is {_show(value)}; allowed: text matching /{schema["pattern"]}/ (not blank)'
    if _type_ok(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            return f'"{where}" is {_show(value)}; allowed: >= {schema["minimum"]}'
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            return f'"{where}" is {_show(value)}; allowed: > {schema["exclusiveMinimum"]}'
        if "maximum" in schema and value > schema["maximum"]:
            return f'"{where}" is {_show(value)}; allowed: <= {schema["maximum"]}'
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f'"{where}" is {_show(value)}; allowed: at least {schema["minItems"]} item(s)'
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f'"{where}" has {len(value)} items; allowed: at most {schema["maxItems"]}'
        if "items" in schema:
            for i, item in enumerate(value):
                err = validate(item, schema["items"], f"{where}[{i}]")
                if err:
                    return err
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                return f'"{key}" is missing; allowed: {_describe(props.get(key, {}))}'
        for key, v in value.items():
            if key in props:
                err = validate(v, props[key], key)
                if err:
                    return err
            elif schema.get("additionalProperties", True) is False:
                known = ", ".join(props)
                return f'"{key}" is not a field of this message; allowed: {known}'
    return None


def _same(a: Any, b: Any) -> bool:
    """JSON equality: true is not 1, but 1.0 is 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _type_ok(a, "number") and _type_ok(b, "number"):
        return a == b
    return type(a) is type(b) and a == b


def _describe(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        schema = _resolve(schema["$ref"])
    if "enum" in schema:
        return "one of " + ", ".join(_show(e) for e in schema["enum"])
    if "type" in schema:
        t = schema["type"]
        return " or ".join(t) if isinstance(t, list) else f"a {t}"
    return "a value"


def check_message(msg: Any) -> tuple[str, str] | None:
    """(code, message) if ``msg`` is not a valid protocol message, else None."""
    if not isinstance(msg, dict):
        return "bad_json", "a control message is one JSON object"
    typ = msg.get("type")
    if "type" not in msg:
        return "bad_args", '"type" is missing; allowed: one of ' + ", ".join(MESSAGE_TYPES)
    if not isinstance(typ, str):
        return "bad_args", f'"type" is {_show(typ)}; allowed: a string naming a command'
    schema = MESSAGE_TYPES.get(typ)
    if schema is None:
        return "unknown_command", f"unknown command type {_show(typ)}; known: " + ", ".join(
            COMMANDS
        )
    err = validate(msg, schema)
    return None if err is None else ("bad_args", f"{typ}: {err}")
