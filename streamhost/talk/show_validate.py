"""Loading a run of show: typed getters that collect every problem (key, value, what is
allowed) instead of stopping at the first, slot scripts, and slot overlap checks. Used by
`parse_show` (talk/show.py).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .catalog import _CURRENCIES, LANGS, Catalog
from .script import Script, ScriptError, parse_script
from .show_types import _PLACEHOLDER_RE, DEFAULT_MINUTES_PER_PRODUCT, Slot, TimeSpec, _duration

_HHMM_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_TIME_ALLOWED = '"HH:MM" (00:00-23:59, time of day) or a number >= 0 (minutes from the start)'
_CTA_PLACEHOLDERS = frozenset({"name", "price", "shop"})

_TOP_KEYS = ("show", "slot", "flash_sale", "cta", "disclosure")
_SHOW_KEYS = ("name", "lang", "minutes_per_product")
_SLOT_KEYS = ("name", "start", "end", "products", "minutes_per_product", "script")
_SALE_KEYS = (
    "product",
    "price",
    "percent",
    "start",
    "minutes",
    "countdown_every_minutes",
    "feature",
)
_CTA_KEYS = ("enabled", "every_minutes", "at_start", "texts", "family")
_DISCLOSURE_KEYS = ("enabled", "every_minutes", "at_start", "text")


def _tables(
    data: Mapping[str, Any], key: str, problems: list[str]
) -> Iterator[tuple[int, str, Mapping]]:
    """The tables of ``[[key]]`` with their names (``key[i]``); shape problems are recorded."""
    raw = data.get(key, [])
    if not isinstance(raw, list):
        problems.append(f"{key} must be an array of tables ([[{key}]])")
        return
    for i, rs in enumerate(raw):
        if isinstance(rs, Mapping):
            yield i, f"{key}[{i}]", rs
        else:
            problems.append(f"{key}[{i}] must be a table")


def _load_slot_script(
    path: Path, catalog: Catalog, lang: str, rotation: list[tuple[str, float]]
) -> Script:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ScriptError(str(path), [f"cannot read file: {e}"]) from None
    # Sentences before any [product: ..] marker are about the slot's first product.
    first = rotation[0][0] if rotation else None
    return parse_script(text, catalog, lang, source=str(path), default_product=first)


def _check_slot_overlap(slots: list[Slot], problems: list[str]) -> None:
    kinds = {s.start.kind for s in slots}
    if len(kinds) > 1:
        problems.append(
            'slot: all slots must use the same kind of time (all "HH:MM" or all minutes)'
        )
        return
    # Intervals in minutes; clock ones unrolled over two days so wraps compare simply.
    iv: list[tuple[float, float, int]] = []
    for s in slots:
        a = s.start.minutes
        b = a + _duration(s.start, s.end)
        iv.append((a, b, s.index))
        if s.start.kind == "clock":
            iv.append((a + 1440, b + 1440, s.index))
    reported: set[tuple[int, int]] = set()
    for a1, b1, i1 in iv:  # few slots: pairwise is clearer than a sweep
        for a2, b2, i2 in iv:
            if i1 < i2 and a1 < b2 and a2 < b1 and (i1, i2) not in reported:
                reported.add((i1, i2))
                problems.append(f"slot[{i2}]: overlaps slot[{i1}]")


class _Validator:
    """Small typed getters that append a problem (key, value, allowed) instead of raising."""

    def __init__(self, problems: list[str]) -> None:
        self.p = problems

    def unknown(self, d: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in d:
            if key not in allowed:
                self.p.append(f"{prefix}{key}: unknown key (allowed: {', '.join(allowed)})")

    def table(self, d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        t = d.get(key, {})
        if not isinstance(t, Mapping):
            self.p.append(f"{key} must be a table ([{key}])")
            return {}
        return t

    def text(self, d: Mapping[str, Any], key: str, name: str, default: str) -> str:
        val = d.get(key, default)
        if not isinstance(val, str):
            self.p.append(f"{name}: {val!r} is not allowed (allowed: a text)")
            return default
        return val

    def choice(self, d: Mapping[str, Any], key: str, name: str, allowed: tuple[str, ...],
               default: str) -> str:  # fmt: skip
        val = d.get(key, default)
        if val not in allowed:
            self.p.append(f"{name}: {val!r} is not allowed (allowed: {', '.join(allowed)})")
            return default
        return val

    def boolean(self, d: Mapping[str, Any], key: str, name: str, default: bool) -> bool:
        val = d.get(key, default)
        if not isinstance(val, bool):
            self.p.append(f"{name}: {val!r} is not allowed (allowed: true, false)")
            return default
        return val

    def positive(self, d: Mapping[str, Any], key: str, prefix: str,
                 default: float | None) -> float | None:  # fmt: skip
        if key not in d:
            if default is None:
                self.p.append(f"{prefix}{key} is missing (allowed: minutes > 0)")
            return default
        val = d[key]
        if (
            isinstance(val, bool)
            or not isinstance(val, int | float)
            or not math.isfinite(val)
            or val <= 0
        ):
            self.p.append(f"{prefix}{key}: {val!r} is not allowed (allowed: minutes > 0)")
            return default
        return float(val)

    def time(self, d: Mapping[str, Any], key: str, name: str, required: bool) -> TimeSpec | None:
        if key not in d:
            if required:
                self.p.append(f"{name} is missing (allowed: {_TIME_ALLOWED})")
            return None
        val = d[key]
        if isinstance(val, str):
            m = _HHMM_RE.match(val.strip())
            if m:
                return TimeSpec("clock", int(m.group(1)) * 60 + int(m.group(2)))
        elif (
            not isinstance(val, bool)
            and isinstance(val, int | float)
            and math.isfinite(val)
            and val >= 0
        ):
            return TimeSpec("offset", float(val))
        self.p.append(f"{name}: {val!r} is not allowed (allowed: {_TIME_ALLOWED})")
        return None

    def rotation(self, val: Any, name: str, catalog: Catalog,
                 minutes: float | None) -> list[tuple[str, float]]:  # fmt: skip
        allowed = ", ".join(catalog.ids)
        if val is None:
            self.p.append(f"{name} is missing (allowed: a list of product ids: {allowed})")
            return []
        if not isinstance(val, list) or not val:
            self.p.append(f"{name}: {val!r} is not allowed (allowed: a non-empty list of ids)")
            return []
        out: list[tuple[str, float]] = []
        for j, item in enumerate(val):
            m = minutes or DEFAULT_MINUTES_PER_PRODUCT
            if isinstance(item, Mapping):
                bad = set(item) - {"id", "minutes"}
                if bad:
                    self.p.append(f"{name}[{j}]: unknown keys {sorted(bad)} (allowed: id, minutes)")
                m = self.positive(item, "minutes", f"{name}[{j}].", m) or m
                item = item.get("id")
            if not isinstance(item, str) or item not in catalog:
                self.p.append(f"{name}[{j}]: {item!r} is not in the catalog (allowed: {allowed})")
                continue
            out.append((item, m))
        return out

    def money(self, val: Any, name: str, prod: Any) -> Decimal | None:
        try:
            if isinstance(val, bool) or not isinstance(val, int | float | str):
                raise InvalidOperation
            d = Decimal(str(val).strip())
            if not d.is_finite() or d <= 0:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            self.p.append(f"{name}: {val!r} is not allowed (allowed: a positive price)")
            return None
        if prod is not None:
            digits = _CURRENCIES[prod.currency]["digits"]
            if d != d.quantize(Decimal(1).scaleb(-digits)):
                self.p.append(
                    f"{name}: {val!r} is not allowed (allowed: at most {digits} decimals)"
                )
                return None
            if d >= prod.price:
                self.p.append(
                    f"{name}: {val!r} is not allowed (allowed: below the regular price "
                    f"{prod.price})"
                )
                return None
        return d

    def lang_texts(self, val: Any, name: str, *, single: bool = False,
                   placeholders: bool = False) -> dict[str, tuple[str, ...]]:  # fmt: skip
        if val is None:
            return {}
        if not isinstance(val, Mapping):
            self.p.append(f"{name}: {val!r} is not allowed (allowed: a table lang = text)")
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for lg, t in val.items():
            items = [t] if isinstance(t, str) else t
            if lg not in LANGS:
                self.p.append(f"{name}.{lg}: unknown language (allowed: {', '.join(LANGS)})")
                continue
            if (
                not isinstance(items, list)
                or not items
                or (single and len(items) != 1)
                or not all(isinstance(x, str) and x.strip() for x in items)
            ):
                what = "a non-empty text" if single else "a text or a list of non-empty texts"
                self.p.append(f"{name}.{lg}: {t!r} is not allowed (allowed: {what})")
                continue
            for x in items:
                for ph in _PLACEHOLDER_RE.findall(x):
                    if not placeholders or ph not in _CTA_PLACEHOLDERS:
                        allowed = ", ".join(f"{{{p}}}" for p in sorted(_CTA_PLACEHOLDERS))
                        self.p.append(
                            f"{name}.{lg}: placeholder {{{ph}}} is not allowed "
                            f"(allowed: {allowed if placeholders else 'none'})"
                        )
            out[lg] = tuple(x.strip() for x in items)
        return out
