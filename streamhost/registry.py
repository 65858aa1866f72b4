"""Plugin tables: a config table's ``type`` -> the class that implements it, with its checked
parameters. One ``Registry`` per stage kind (chat sources, voices, faces, outputs).

A config table (``{"type": "twitch", "channel": "x"}``) in; validated keyword arguments, or
problems naming the key, the value and what is allowed, out; ``build`` makes the object. Adding
a plugin is one module plus one row: nothing else in the engine names the type.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

Check = Callable[[Any], bool]


# ---- value checks shared by config.py and every registry ----
def is_int_in(lo: int, hi: int) -> Check:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def is_num_in(lo: float, hi: float) -> Check:
    return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi


def is_str(v: Any) -> bool:
    return isinstance(v, str)


def is_nonempty(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


def is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def is_url(*schemes: str) -> Check:
    return lambda v: (
        isinstance(v, str) and urlparse(v).scheme in schemes and bool(urlparse(v).netloc)
    )


def one_of(*values: Any) -> Check:
    return lambda v: v in values


def fmt(v: Any) -> str:
    """A value as a problem message shows it (strings quoted TOML-style)."""
    return f'"{v}"' if isinstance(v, str) else repr(v)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter of a plugin: how to check it, what to say when it is wrong."""

    check: Check
    allowed: str
    required: bool = False
    path: bool = False  # resolved against the config file's folder
    default: Any = None


@dataclass(frozen=True, slots=True)
class Plugin:
    """One registry row: ``target`` is "module:Class" (imported only when built)."""

    target: str
    params: Mapping[str, Param] = field(default_factory=dict)
    doc: str = ""


class Registry:
    """Type name -> Plugin for one stage kind; ``kind`` names it in messages ("chat source")."""

    def __init__(self, kind: str, rows: Mapping[str, Plugin]) -> None:
        self.kind = kind
        self.rows = dict(rows)

    def __contains__(self, typ: object) -> bool:
        return typ in self.rows

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.rows)

    def types(self) -> list[str]:
        return list(self.rows)

    def check(
        self,
        table: Any,
        where: str,
        base: Path | None,
        fixed: tuple[str, ...] = ("type",),
        type_key: str = "type",
    ) -> tuple[list[str], dict[str, Any] | None]:
        """(problems, normalized table). ``fixed`` keys (the type key among them) pass
        through unchecked; every other key must be a parameter of the type."""
        if not isinstance(table, Mapping):
            return [f"{where} = {fmt(table)}: must be a table"], None
        typ = table.get(type_key)
        if typ not in self.rows:
            return [f"{where}.{type_key} = {fmt(typ)}: must be one of {', '.join(self.rows)}"], None
        params = self.rows[typ].params
        problems: list[str] = []
        clean: dict[str, Any] = {k: table[k] for k in fixed if k in table}
        for key, value in table.items():
            if key in fixed:
                continue
            p = params.get(key)
            if p is None:
                problems.append(
                    f"{where}.{key}: unknown key for {self.kind} type {typ}; "
                    f"allowed: {', '.join(params) or 'none'}"
                )
                continue
            if not p.check(value):
                problems.append(f"{where}.{key} = {fmt(value)}: must be {p.allowed}")
                continue
            if p.path and base is not None and isinstance(value, str) and value:
                value = str((base / value).resolve())
            clean[key] = value
        for key, p in params.items():
            if p.required and key not in table:
                problems.append(f"{where}.{key}: missing; must be {p.allowed}")
        return problems, clean

    def cls(self, typ: str) -> Any:
        module, name = self.rows[typ].target.split(":")
        return getattr(importlib.import_module(module), name)

    def build(
        self,
        table: Mapping[str, Any],
        *,
        drop: tuple[str, ...] = ("type",),
        type_key: str = "type",
        **runtime: Any,
    ) -> Any:
        """Instantiate a checked table; ``runtime`` adds the wiring the engine supplies."""
        kwargs = {k: v for k, v in table.items() if k not in drop and k != type_key}
        return self.cls(table[type_key])(**kwargs, **runtime)
