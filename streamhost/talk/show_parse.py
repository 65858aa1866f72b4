"""Reading a run-of-show file: TOML and the Catalog in, a validated `Show` out (`load_show`,
`parse_show`); every problem is collected and raised together as a `ShowError`.

File format (all keys optional except where noted; times are either ``"HH:MM"`` - a local time
of day on the wall clock of `wall_start`, recurring daily, may wrap past midnight - or a
number of minutes from the stream start, once)::

    [show]
    name = "Night shopping"
    lang = "en"                    # language of slot scripts without a [lang: ..] marker
    minutes_per_product = 10       # rotation through the whole catalog outside any slot

    [[slot]]                       # all slots use one kind of time; slots must not overlap
    name = "evening"
    start = "20:00"                # or 0   (minutes from the stream start)
    end = "23:00"                  # or 180
    products = ["kettle", { id = "lamp", minutes = 12 }]   # rotation order (required)
    minutes_per_product = 8        # default 10
    script = "../scripts/demo_advertiser.txt"  # relative to this file; spoken verbatim

    [[flash_sale]]
    product = "kettle"             # required
    price = 27.9                   # or: percent = 30 (off the regular price)
    start = 30                     # or "21:30" (then daily); required
    minutes = 15                   # duration, required
    countdown_every_minutes = 5    # a countdown at the start, every N minutes, last minute
    feature = true                 # feature the product while the sale runs

    [cta]                          # periodic call to action (off unless this table exists)
    every_minutes = 10
    at_start = false
    texts = { en = ["Tap the cart to get the {name} for {price}!"], de = ["..."] }
    family = "cta"                 # instead of texts: the director's template family

    [disclosure]                   # spoken AI disclosure: ON by default, every 15 minutes
    enabled = true
    every_minutes = 15
    at_start = true
    text = { en = "Just so you know: I'm an AI host.", de = "..." }

CTA texts may use {name}, {price} (what the featured product costs now, flash sales
included) and {shop}. Problems raise `ShowError` listing each with the key (``slot[1].start``),
the value and what is allowed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .catalog import LANGS, Catalog, percent_off
from .script import ScriptError
from .show import Show, default_disclosure
from .show_types import DEFAULT_MINUTES_PER_PRODUCT, FlashSale, Periodic, ShowError, Slot, _duration
from .show_validate import (
    _CTA_KEYS,
    _DISCLOSURE_KEYS,
    _SALE_KEYS,
    _SHOW_KEYS,
    _SLOT_KEYS,
    _TOP_KEYS,
    _check_slot_overlap,
    _load_slot_script,
    _tables,
    _Validator,
)

__all__ = ["load_show", "parse_show"]


def load_show(path: str | Path, catalog: Catalog, *, default_lang: str | None = None) -> Show:
    """Read and validate a show TOML file against `catalog` (slot scripts are loaded too,
    relative to the file). Raises ShowError listing every problem."""
    path = Path(path)
    source = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as e:
        raise ShowError(source, [f"cannot read file: {e.strerror or e}"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ShowError(source, [f"invalid TOML: {e}"]) from None
    return parse_show(data, catalog, base_dir=path.parent, source=source, default_lang=default_lang)


def parse_show(
    data: Mapping[str, Any],
    catalog: Catalog,
    *,
    base_dir: str | Path = ".",
    source: str = "<memory>",
    default_lang: str | None = None,
) -> Show:
    """Validate an already-parsed show document (see the module docstring)."""
    problems: list[str] = []
    v = _Validator(problems)
    v.unknown(data, _TOP_KEYS, "")

    show = v.table(data, "show")
    v.unknown(show, _SHOW_KEYS, "show.")
    name = v.text(show, "name", "show.name", "")
    lang = v.choice(show, "lang", "show.lang", LANGS, default_lang or "en")
    mpp = v.positive(show, "minutes_per_product", "show.", DEFAULT_MINUTES_PER_PRODUCT)

    slots: list[Slot] = []
    for i, k, rs in _tables(data, "slot", problems):
        n0 = len(problems)
        v.unknown(rs, _SLOT_KEYS, f"{k}.")
        start = v.time(rs, "start", f"{k}.start", required=True)
        end = v.time(rs, "end", f"{k}.end", required=True)
        if start and end:
            if start.kind != end.kind:
                problems.append(f"{k}.end: {end} must be the same kind of time as start ({start})")
            elif _duration(start, end) <= 0:
                problems.append(
                    f"{k}.end: {end} must differ from start ({start})"
                    if start.kind == "clock"
                    else f"{k}.end: {end} must be after start ({start})"
                )
        minutes = v.positive(rs, "minutes_per_product", f"{k}.", DEFAULT_MINUTES_PER_PRODUCT)
        rotation = v.rotation(rs.get("products"), f"{k}.products", catalog, minutes)
        script = None
        script_path = rs.get("script")
        if script_path is not None:
            if not isinstance(script_path, str) or not script_path.strip():
                problems.append(f"{k}.script: {script_path!r} must be a file path")
            else:
                sp = Path(base_dir) / script_path
                try:
                    script = _load_slot_script(sp, catalog, lang, rotation)
                except ScriptError as e:
                    problems += [f"{k}.script ({sp}): {p}" for p in e.problems]
        if len(problems) == n0 and start and end:
            slots.append(
                Slot(
                    i,
                    v.text(rs, "name", f"{k}.name", f"slot {i}"),
                    start,
                    end,
                    tuple(rotation),
                    script,
                    script_path,
                )  # fmt: skip
            )
    _check_slot_overlap(slots, problems)

    sales: list[FlashSale] = []
    for i, k, rs in _tables(data, "flash_sale", problems):
        n0 = len(problems)
        v.unknown(rs, _SALE_KEYS, f"{k}.")
        pid = rs.get("product")
        prod = None
        if pid is None:
            problems.append(f"{k}.product is missing (allowed: {', '.join(catalog.ids)})")
        elif pid not in catalog:
            problems.append(
                f"{k}.product: {pid!r} is not in the catalog (allowed: {', '.join(catalog.ids)})"
            )
        else:
            prod = catalog.get(pid)
        price = percent = None
        if ("price" in rs) == ("percent" in rs):
            problems.append(f"{k}: give exactly one of price or percent")
        elif "percent" in rs:
            percent = rs["percent"]
            if isinstance(percent, bool) or not isinstance(percent, int) or not 0 < percent < 100:
                problems.append(
                    f"{k}.percent: {percent!r} is not allowed (allowed: whole percent 1-99)"
                )
                percent = None
            elif prod is not None:
                price = percent_off(prod.price, percent, prod.currency)
        else:
            price = v.money(rs["price"], f"{k}.price", prod)
        start = v.time(rs, "start", f"{k}.start", required=True)
        dur = v.positive(rs, "minutes", f"{k}.", None)
        if start and start.kind == "clock" and dur is not None and dur >= 1440:
            problems.append(f"{k}.minutes: {dur!r} is not allowed (a daily sale: below 1440)")
        every = v.positive(rs, "countdown_every_minutes", f"{k}.", 5.0)
        feature = v.boolean(rs, "feature", f"{k}.feature", True)
        if len(problems) == n0 and prod and price is not None and start and dur and every:
            sales.append(FlashSale(i, prod.id, price, percent, start, dur, every, feature))

    cta_raw = v.table(data, "cta")
    v.unknown(cta_raw, _CTA_KEYS, "cta.")
    cta_texts = v.lang_texts(cta_raw.get("texts"), "cta.texts", placeholders=True)
    family = cta_raw.get("family")
    if family is not None:
        from .templates import TEMPLATES  # the generator's families (read-only)

        if family not in TEMPLATES:
            problems.append(
                f"cta.family: {family!r} is not a template family "
                f"(allowed: {', '.join(sorted(TEMPLATES))})"
            )
    if "cta" in data and not cta_texts and family is None:
        problems.append("cta: give texts (per language) or family")
    cta = Periodic(
        enabled=v.boolean(cta_raw, "enabled", "cta.enabled", "cta" in data),
        every_minutes=v.positive(cta_raw, "every_minutes", "cta.", 10.0) or 10.0,
        at_start=v.boolean(cta_raw, "at_start", "cta.at_start", False),
        texts=cta_texts,
        family=family if isinstance(family, str) else None,
    )

    d_raw = v.table(data, "disclosure")
    v.unknown(d_raw, _DISCLOSURE_KEYS, "disclosure.")
    d_texts = v.lang_texts(d_raw.get("text"), "disclosure.text", single=True)
    disclosure = Periodic(
        enabled=v.boolean(d_raw, "enabled", "disclosure.enabled", True),
        every_minutes=v.positive(d_raw, "every_minutes", "disclosure.", 15.0) or 15.0,
        at_start=v.boolean(d_raw, "at_start", "disclosure.at_start", True),
        texts={**{lg: (t,) for lg, t in default_disclosure().items()}, **d_texts},
    )

    if problems:
        raise ShowError(source, problems)
    return Show(catalog, slots, sales, cta, disclosure, name=name, lang=lang,
                minutes_per_product=mpp or DEFAULT_MINUTES_PER_PRODUCT, source=source)  # fmt: skip
