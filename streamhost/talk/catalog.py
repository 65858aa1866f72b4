"""The shop's product catalog: the import point for loading, the model and price formatting.

The parts live beside it: `products` (Product, Catalog), `catalog_rows` (row validation,
CatalogError), `catalog_csv` (CSV), `prices` (currencies, spoken/display prices); every name
they export is importable from here too.

A catalog file flows in, a `Catalog` of validated `Product`s flows out. Every later stage
(retrieval, templates, the guard) trusts the catalog as the only source of prices and facts, so
validation is strict and reports every problem at once: a shop fixing its file should not have
to rerun the check once per typo. `load_catalog` picks the format by extension (.json / .csv);
both end in the same row validator (`validate_rows`), so both accept exactly the same products.
Files are UTF-8; a byte-order mark (as spreadsheet programs write it) is tolerated.

JSON: ``{"shop": {"name": {lang: text}, "currency": "EUR", "faq": [...]}, "products": [row,
...]}``; the shop's ``faq`` (same form as a product's) answers questions about the shop itself
(shipping, returns, payment). A row:

- ``id`` (letters, digits, ``_-.``), ``names`` ``{lang: text}``, ``price`` (the regular price),
  ``currency`` (or the shop's), ``stock`` (whole number >= 0);
- ``discount``: a standing reduction, ``{"percent": 20}`` (or a bare 20) or ``{"price": 34.9}``;
- ``sale``: a flash-sale window, ``{"price": 29.9 | "percent": 25, "start": ISO, "end": ISO}``
  or a list of them. ISO times with an offset (``2025-11-28T20:00:00+01:00``) are instants;
  without an offset they are the shop's wall clock (see `Product.price_at`). start inclusive,
  end exclusive;
- ``features``, ``aliases``, ``allowed_claims``, ``forbidden_claims``: ``{lang: [text, ...]}``;
- ``faq``: ``[{"q": {lang: text}, "a": {lang: text}}, ...]``; ``specs``: ``{key: value}``
  (texts, e.g. ``{"capacity": "1.7 l"}``); ``grammar``: ``{lang: code}`` (GRAMMAR_CODES).

CSV: one product per row after a header row; empty cells mean "not given"; an empty row is
skipped. Columns (any order; only ``id`` and ``price`` are required, ``currency`` unless the
caller gives a default)::

    id, price, currency, stock, discount_percent, sale_price, sale_start, sale_end, specs,
    name_<lang>, aliases_<lang>, grammar_<lang>, features_<lang>, faq_<lang>,
    allowed_claims_<lang>, forbidden_claims_<lang>          (<lang> = en, de, it, zh)

List cells separate items with ``|`` (``\\|`` is a literal bar). ``faq_<lang>`` holds
``question::answer|question::answer``; the n-th pair of every language is the same FAQ entry.
``specs`` holds ``key=value|key=value``. ``sale_price`` with ``sale_start`` and ``sale_end`` is
a flash-sale window; ``sale_price`` alone is a standing discount price (JSON
``discount.price``). Problems name the CSV line (of the row's first line), the id and the
column, e.g. ``line 4 (id "kettle"): stock must be a whole number >= 0, got -3``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The model, validation and price formatting live in their own modules; this one reads files
# and stays the import point for all of them.
from .catalog_csv import CSV_COLUMNS, parse_catalog_csv
from .catalog_rows import CatalogError, lang_strings, parse_faq, validate_rows
from .prices import (
    _CURRENCIES,
    CURRENCIES,
    currency_digits,
    format_price_display,
    format_price_spoken,
    percent_off,
)
from .products import GRAMMAR_CODES, GRAMMAR_DEFAULT, LANGS, Catalog, FaqEntry, Product, Sale

__all__ = [
    "CSV_COLUMNS",
    "CURRENCIES",
    "GRAMMAR_CODES",
    "GRAMMAR_DEFAULT",
    "LANGS",
    "_CURRENCIES",
    "Catalog",
    "CatalogError",
    "FaqEntry",
    "Product",
    "Sale",
    "currency_digits",
    "format_price_display",
    "format_price_spoken",
    "load_catalog",
    "parse_catalog",
    "parse_catalog_csv",
    "percent_off",
    "validate_rows",
]


def load_catalog(path: str | Path, default_currency: str | None = None) -> Catalog:
    """Read and validate a catalog file (.json or .csv, by extension).

    `default_currency` applies to rows without one (a JSON shop currency takes precedence).
    Raises CatalogError listing every problem.
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".csv"):
        raise CatalogError(
            source, [f"unsupported catalog format {suffix!r} (supported: .json, .csv)"]
        )
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise CatalogError(source, [f"cannot read file: {e.strerror or e}"]) from None
    except UnicodeDecodeError as e:
        raise CatalogError(source, [f"not UTF-8 text (byte {e.start}): {e.reason}"]) from None
    if suffix == ".csv":
        return parse_catalog_csv(text, source, default_currency)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CatalogError(
            source, [f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"]
        ) from None
    if default_currency and isinstance(data, Mapping):
        shop = data.get("shop")
        if not (isinstance(shop, Mapping) and "currency" in shop):
            data = {**data, "shop": {**(shop or {}), "currency": default_currency}}
    return parse_catalog(data, source)


def parse_catalog(data: Any, source: str = "<memory>") -> Catalog:
    """Validate an already-parsed catalog document ({"shop": ..., "products": [...]})."""
    problems: list[str] = []
    if isinstance(data, list):
        data = {"products": data}
    if not isinstance(data, Mapping):
        raise CatalogError(source, ['top level must be an object with a "products" list'])
    shop = data.get("shop", {}) or {}
    shop_name: dict[str, str] = {}
    shop_faq: list[FaqEntry] = []
    default_currency: str | None = None
    if not isinstance(shop, Mapping):
        problems.append("shop must be an object")
    else:
        shop_name = lang_strings(shop.get("name", {}), "shop.name", problems)
        shop_faq = parse_faq(shop.get("faq", []), "shop", problems)
        if "currency" in shop:
            c = shop["currency"]
            if isinstance(c, str) and c.upper() in CURRENCIES:
                default_currency = c.upper()
            else:
                problems.append(
                    f"shop.currency: unknown currency {c!r} (allowed: {', '.join(sorted(CURRENCIES))})"
                )
    rows = data.get("products")
    if not isinstance(rows, list) or not rows:
        problems.append("products must be a non-empty list")
        raise CatalogError(source, problems)
    products = validate_rows(rows, problems, default_currency)
    if problems:
        raise CatalogError(source, problems)
    return Catalog(products, shop_name, source, shop_faq)
