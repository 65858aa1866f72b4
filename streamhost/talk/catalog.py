"""The shop's product catalog: loading, validation and price formatting.

A catalog file flows in, a `Catalog` of validated `Product`s flows out. Every later stage
(retrieval, templates, the guard) trusts the catalog as the only source of prices and facts, so
validation is strict and reports every problem at once: a shop fixing its file should not have
to rerun the check once per typo. `load_catalog` picks the format by extension (.json / .csv);
both end in the same row validator (`validate_rows`), so both accept exactly the same products.
Files are UTF-8; a byte-order mark (as spreadsheet programs write it) is tolerated.

JSON: ``{"shop": {"name": {lang: text}, "currency": "EUR"}, "products": [row, ...]}``, a row:

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

import csv
import io
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

LANGS: tuple[str, ...] = ("en", "de", "it", "zh")

# Per currency: symbol, minor-unit digits, and per language the words
# (unit singular, unit plural, minor singular, minor plural). Words rather than digits with
# a decimal point because espeak-ng reads "24.90" as "twenty-four point nine zero".
_CURRENCIES: dict[str, dict[str, Any]] = {
    "EUR": {
        "symbol": "€",
        "digits": 2,
        "en": ("euro", "euros", "cent", "cents"),
        "de": ("Euro", "Euro", "Cent", "Cent"),
        "it": ("euro", "euro", "centesimo", "centesimi"),
        "zh": ("欧元",),
    },
    "USD": {
        "symbol": "$",
        "digits": 2,
        "en": ("dollar", "dollars", "cent", "cents"),
        "de": ("Dollar", "Dollar", "Cent", "Cent"),
        "it": ("dollaro", "dollari", "centesimo", "centesimi"),
        "zh": ("美元",),
    },
    "GBP": {
        "symbol": "£",
        "digits": 2,
        "en": ("pound", "pounds", "penny", "pence"),
        "de": ("Pfund", "Pfund", "Penny", "Pence"),
        "it": ("sterlina", "sterline", "penny", "pence"),
        "zh": ("英镑",),
    },
    "CHF": {
        "symbol": "CHF",
        "digits": 2,
        "en": ("franc", "francs", "centime", "centimes"),
        "de": ("Franken", "Franken", "Rappen", "Rappen"),
        "it": ("franco", "franchi", "centesimo", "centesimi"),
        "zh": ("瑞士法郎",),
    },
    "CNY": {
        "symbol": "¥",
        "digits": 2,
        "en": ("yuan", "yuan", "fen", "fen"),
        "de": ("Yuan", "Yuan", "Fen", "Fen"),
        "it": ("yuan", "yuan", "fen", "fen"),
        "zh": ("元",),
    },
    "JPY": {
        "symbol": "¥",
        "digits": 0,
        "en": ("yen", "yen", "", ""),
        "de": ("Yen", "Yen", "", ""),
        "it": ("yen", "yen", "", ""),
        "zh": ("日元",),
    },
}
CURRENCIES: frozenset[str] = frozenset(_CURRENCIES)

# Grammar codes the templates understand (see templates.py): number for en, gender+number
# for de and it. Defaults apply when a product does not say.
GRAMMAR_CODES: dict[str, frozenset[str]] = {
    "en": frozenset({"sg", "pl"}),
    "de": frozenset({"m", "f", "n", "pl"}),
    "it": frozenset({"m", "f", "mpl", "fpl"}),
    "zh": frozenset({"-"}),
}
GRAMMAR_DEFAULT: dict[str, str] = {"en": "sg", "de": "m", "it": "m", "zh": "-"}

_PRODUCT_FIELDS = frozenset(
    {
        "id",
        "names",
        "price",
        "currency",
        "features",
        "faq",
        "stock",
        "discount",
        "aliases",
        "grammar",
        "sale",
        "specs",
        "allowed_claims",
        "forbidden_claims",
    }
)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class CatalogError(ValueError):
    """Raised with every problem found; `problems` lists them, one string each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        n = len(problems)
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {n} problem{'s' if n != 1 else ''} in catalog:\n{lines}")


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One question/answer pair, per language (at least one language)."""

    question: dict[str, str]
    answer: dict[str, str]

    def q(self, lang: str) -> str:
        return _pick(self.question, lang)

    def a(self, lang: str) -> tuple[str, str]:
        """The answer and the language it is actually in (falls back to en, then any)."""
        return _pick_with_lang(self.answer, lang)


@dataclass(frozen=True, slots=True)
class Sale:
    """A flash-sale window: at `start` <= t < `end` the product sells for `price`, or for
    `percent` off the regular price (exactly one of the two is set)."""

    start: datetime
    end: datetime
    price: Decimal | None = None
    percent: int | None = None

    def active(self, when: datetime) -> bool:
        w = _wall(self.start, when)
        return self.start <= w < self.end


def _wall(ref: datetime, when: datetime) -> datetime:
    """`when` made comparable with `ref`: a naive window time is the shop's wall clock, so an
    aware `when` is compared by its own wall clock; a naive `when` against an aware window is
    taken as UTC (deterministic - no local zone lookup)."""
    if ref.tzinfo is None and when.tzinfo is not None:
        return when.replace(tzinfo=None)
    if ref.tzinfo is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when


@dataclass(slots=True)
class Product:
    """One product as the host may talk about it. `price` is exact (Decimal), in `currency`.

    Text fields are per language; lookups fall back to en, then to any language present.
    `grammar` holds per-language codes (GRAMMAR_CODES) so templates can pick articles/verbs.
    """

    id: str
    names: dict[str, str]
    price: Decimal
    currency: str
    features: dict[str, list[str]] = field(default_factory=dict)
    faq: list[FaqEntry] = field(default_factory=list)
    stock: int | None = None
    discount_percent: int | None = None
    aliases: dict[str, list[str]] = field(default_factory=dict)
    grammar: dict[str, str] = field(default_factory=dict)
    discount_price: Decimal | None = None
    sales: list[Sale] = field(default_factory=list)
    specs: dict[str, str] = field(default_factory=dict)
    allowed_claims: dict[str, list[str]] = field(default_factory=dict)
    forbidden_claims: dict[str, list[str]] = field(default_factory=dict)

    def name(self, lang: str = "en") -> str:
        return _pick(self.names, lang)

    def features_in(self, lang: str = "en") -> tuple[list[str], str]:
        """The feature phrases for `lang` and the language they are in (fallback en/any)."""
        if self.features.get(lang):
            return self.features[lang], lang
        if self.features.get("en"):
            return self.features["en"], "en"
        for k, v in self.features.items():
            if v:
                return v, k
        return [], lang

    def grammar_of(self, lang: str) -> str:
        return self.grammar.get(lang, GRAMMAR_DEFAULT.get(lang, "sg"))

    def price_spoken(self, lang: str = "en") -> str:
        """The price as TTS should read it: words for the currency, no decimal point in en/de/it."""
        return format_price_spoken(self.price, self.currency, lang)

    def price_display(self, lang: str = "en") -> str:
        """The price for the on-screen panel, with the language's separators and symbol."""
        return format_price_display(self.price, self.currency, lang)

    # `price` stays the regular price (price_spoken/price_display above read it, as before);
    # what a buyer pays at a moment is price_at: an active sale window beats a standing
    # discount, which beats the regular price.

    @property
    def standing_price(self) -> Decimal:
        """The regular price less a standing discount (price or percent), no sale windows."""
        if self.discount_price is not None:
            return self.discount_price
        if self.discount_percent is not None:
            return self._off(self.discount_percent)
        return self.price

    def active_sale(self, when: datetime) -> Sale | None:
        """The sale window containing `when` (the lowest price if several overlap), or None."""
        live = [s for s in self.sales if s.active(when)]
        return min(live, key=self._sale_price) if live else None

    def price_at(self, when: datetime) -> Decimal:
        """What a buyer pays at `when`: an active sale, else the standing price."""
        sale = self.active_sale(when)
        return self._sale_price(sale) if sale is not None else self.standing_price

    def price_spoken_at(self, when: datetime, lang: str = "en") -> str:
        """`price_at(when)` as TTS should read it (see `price_spoken`)."""
        return format_price_spoken(self.price_at(when), self.currency, lang)

    def price_display_at(self, when: datetime, lang: str = "en") -> str:
        """`price_at(when)` for the on-screen panel (see `price_display`)."""
        return format_price_display(self.price_at(when), self.currency, lang)

    def allowed_claims_in(self, lang: str) -> list[str]:
        """Claims the host may make in `lang` (no fallback: a claim is checked as written)."""
        return list(self.allowed_claims.get(lang, []))

    def forbidden_claims_in(self, lang: str) -> list[str]:
        """Claims the host must never make in `lang` (no fallback)."""
        return list(self.forbidden_claims.get(lang, []))

    def _off(self, percent: int) -> Decimal:
        return percent_off(self.price, percent, self.currency)

    def _sale_price(self, sale: Sale) -> Decimal:
        if sale.price is not None:
            return sale.price
        return self._off(sale.percent or 0)


def percent_off(price: Decimal, percent: int | Decimal, currency: str) -> Decimal:
    """`price` less `percent`, rounded half up to the currency's minor unit."""
    digits = _CURRENCIES[currency]["digits"]
    q = Decimal(1).scaleb(-digits)
    return (price * (Decimal(100) - Decimal(percent)) / Decimal(100)).quantize(
        q, rounding=ROUND_HALF_UP
    )


class Catalog:
    """All products of one shop, keyed by id, in file order.

    In: validated products (from `load_catalog` / `parse_catalog`). Out: lookups by id,
    iteration, and `numbers()` - every digit run the catalog can legitimately put into speech,
    which the guard and tests use to tell catalog facts from invented ones.
    """

    def __init__(self, products: list[Product], shop_name: dict[str, str] | None = None,
                 source: str = "<memory>") -> None:  # fmt: skip
        self.products: dict[str, Product] = {p.id: p for p in products}
        self.shop_name: dict[str, str] = dict(shop_name or {})
        self.source = source
        self._numbers: frozenset[str] | None = None

    def __iter__(self) -> Iterator[Product]:
        return iter(self.products.values())

    def __len__(self) -> int:
        return len(self.products)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self.products

    def get(self, product_id: str) -> Product:
        try:
            return self.products[product_id]
        except KeyError:
            raise KeyError(f"unknown product id {product_id!r}") from None

    @property
    def ids(self) -> list[str]:
        return list(self.products)

    def shop(self, lang: str) -> str:
        return _pick(self.shop_name, lang) if self.shop_name else ""

    def numbers(self) -> frozenset[str]:
        """Digit runs ("39", "90", "1", "7") found in any catalog text or formatted price."""
        if self._numbers is None:
            texts: list[str] = []
            for p in self:
                texts += list(p.names.values())
                for fl in p.features.values():
                    texts += fl
                for e in p.faq:
                    texts += list(e.question.values()) + list(e.answer.values())
                for al in p.aliases.values():
                    texts += al
                prices = {p.price, p.standing_price} | {p._sale_price(x) for x in p.sales}
                for lang in LANGS:
                    for pr in prices:
                        texts += [
                            format_price_spoken(pr, p.currency, lang),
                            format_price_display(pr, p.currency, lang),
                        ]
                texts += [str(x.percent) for x in p.sales if x.percent is not None]
                texts += list(p.specs.values())
                for cl in p.allowed_claims.values():
                    texts += cl
                if p.stock is not None:
                    texts.append(str(p.stock))
                if p.discount_percent is not None:
                    texts.append(str(p.discount_percent))
            texts += list(self.shop_name.values())
            self._numbers = frozenset(n for t in texts for n in re.findall(r"\d+", t))
        return self._numbers


# ---------------------------------------------------------------------------------------------
# price formatting


def _split_price(price: Decimal, currency: str) -> tuple[int, int, int]:
    digits = _CURRENCIES[currency]["digits"]
    q = price.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    units = int(q)
    minor = int((q - units) * (10**digits)) if digits else 0
    return units, minor, digits


def format_price_spoken(price: Decimal, currency: str, lang: str) -> str:
    """ "39 euros 90" (en), "39 Euro 90" (de), "39 euro e 90" (it), "39.90欧元" (zh)."""
    units, minor, digits = _split_price(price, currency)
    info = _CURRENCIES[currency]
    if lang == "zh":
        num = f"{units}.{minor:0{digits}d}" if minor else str(units)
        return f"{num}{info['zh'][0]}"
    words = info.get(lang) or info["en"]
    u_sg, u_pl, m_sg, m_pl = words
    unit_word = u_sg if units == 1 else u_pl
    minor_word = m_sg if minor == 1 else m_pl
    if not minor:
        return f"{units} {unit_word}"
    if units == 0:
        return f"{minor} {minor_word}"
    # "39 euros 90" is how people say it; single-digit minor amounts need the unit word, or
    # "39 euros 5" would be heard as 39.50.
    small = minor < 10
    if lang == "de":
        return (
            f"{units} {unit_word} und {minor} {minor_word}"
            if small
            else f"{units} {unit_word} {minor}"
        )
    if lang == "it":
        return (
            f"{units} {unit_word} e {minor} {minor_word}"
            if small
            else f"{units} {unit_word} e {minor}"
        )
    return (
        f"{units} {unit_word} and {minor} {minor_word}" if small else f"{units} {unit_word} {minor}"
    )


def _group(units: int, sep: str) -> str:
    return f"{units:,}".replace(",", sep)


def format_price_display(price: Decimal, currency: str, lang: str) -> str:
    """ "€39.90" (en, zh), "39,90 €" (de, it); thousands grouped per language."""
    units, minor, digits = _split_price(price, currency)
    symbol = _CURRENCIES[currency]["symbol"]
    if lang in ("de", "it"):
        num = _group(units, ".") + (f",{minor:0{digits}d}" if digits else "")
        return f"{num} {symbol}"
    num = _group(units, ",") + (f".{minor:0{digits}d}" if digits else "")
    return f"{symbol} {num}" if symbol.isalpha() else f"{symbol}{num}"


# ---------------------------------------------------------------------------------------------
# loading and validation


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
    default_currency: str | None = None
    if not isinstance(shop, Mapping):
        problems.append("shop must be an object")
    else:
        shop_name = _lang_strings(shop.get("name", {}), "shop.name", problems)
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
    return Catalog(products, shop_name, source)


# CSV columns: scalar ones, then per-language list/text ones (name_<lang> ...).
_CSV_SCALARS = (
    "id",
    "price",
    "currency",
    "stock",
    "discount_percent",
    "sale_price",
    "sale_start",
    "sale_end",
    "specs",
)
_CSV_PER_LANG = (
    "name",
    "aliases",
    "grammar",
    "features",
    "faq",
    "allowed_claims",
    "forbidden_claims",
)
CSV_COLUMNS: tuple[str, ...] = _CSV_SCALARS + tuple(
    f"{c}_{lang}" for c in _CSV_PER_LANG for lang in LANGS
)
# validate_rows speaks JSON field names; a CSV user should read the column they typed.
_CSV_FIELD_NAMES: dict[str, str] = {
    "discount": "discount_percent",
    "discount.price": "sale_price",
    "sale": "sale_price",
    "sale.price": "sale_price",
    "sale.start": "sale_start",
    "sale.end": "sale_end",
    "names": "name_*",
    **{f"grammar.{lang}": f"grammar_{lang}" for lang in LANGS},
}
_BAR_RE = re.compile(r"(?<!\\)\|")


def _split_list(cell: str) -> list[str]:
    """``a|b|c`` -> items; ``\\|`` is a literal bar inside an item."""
    return [part.replace("\\|", "|").strip() for part in _BAR_RE.split(cell)]


def _csv_int(cell: str) -> int | str:
    """Whole numbers become int; anything else stays text so the validator names it."""
    t = cell.strip()
    return int(t) if re.fullmatch(r"[+-]?\d+", t) else t


def parse_catalog_csv(
    text: str, source: str = "<memory>", default_currency: str | None = None
) -> Catalog:
    """Validate CSV catalog text (columns: see the module docstring) into a Catalog.

    Each data row becomes the same row dict a JSON product would be, then goes through
    `validate_rows`; problems name the CSV line, id and column, all at once.
    """
    text = text.removeprefix("\ufeff")
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogError(source, ["the file is empty (need a header row and products)"]) from None
    except csv.Error as e:
        raise CatalogError(source, [f"line {reader.line_num}: {e}"]) from None
    cols = [h.strip().lower() for h in header]
    known = set(CSV_COLUMNS)
    seen_cols: set[str] = set()
    for j, c in enumerate(cols):
        if c not in known:
            problems.append(
                f"line 1: column {j + 1} {c!r} is not a known column "
                f"(known: id, price, currency, stock, discount_percent, sale_price, sale_start, "
                f"sale_end, specs, and name/aliases/grammar/features/faq/allowed_claims/"
                f"forbidden_claims with _en, _de, _it, _zh)"
            )
        elif c in seen_cols:
            problems.append(f"line 1: column {c!r} appears twice")
        seen_cols.add(c)
    for need in ("id", "price"):
        if need not in seen_cols:
            problems.append(f"line 1: column {need!r} is missing")
    if problems:
        raise CatalogError(source, problems)

    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    line = reader.line_num + 1  # first line of the next record (quoted cells span lines)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(f"line {line}: {e}")
            break
        label = f"line {line}"
        line = reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(cols):
            problems.append(f"{label}: has {len(cells)} cells, the header has {len(cols)}")
            continue
        cells += [""] * (len(cols) - len(cells))
        raw = {c: v.strip() for c, v in zip(cols, cells, strict=True) if v.strip()}
        rows.append(_csv_row(raw, label, problems))
        labels.append(label)
    if not rows:
        problems.append("no products (need at least one row after the header)")
    products = validate_rows(
        rows, problems, default_currency, labels=labels, field_names=_CSV_FIELD_NAMES
    )
    if problems:
        # Cell checks ran before row validation: put the messages back in file order.
        problems.sort(key=_line_of)
        raise CatalogError(source, problems)
    return Catalog(products, {}, source)


def _line_of(message: str) -> int:
    m = re.match(r"line (\d+)", message)
    return int(m.group(1)) if m else 0


def _csv_row(raw: dict[str, str], label: str, problems: list[str]) -> dict[str, Any]:
    """One CSV record's non-empty cells -> a JSON-shaped product row. Cell-level problems
    (an empty list item, a FAQ pair without ``::``) are reported here, naming the column."""
    pid = raw.get("id")
    where = f"{label} (id {json.dumps(pid, ensure_ascii=False)})" if pid is not None else label
    row: dict[str, Any] = {}
    if pid is not None:
        row["id"] = pid
    for k in ("price", "currency"):
        if k in raw:
            row[k] = raw[k]
    if "stock" in raw:
        row["stock"] = _csv_int(raw["stock"])
    if "discount_percent" in raw:
        row["discount"] = {"percent": _csv_int(raw["discount_percent"])}
    window = [k for k in ("sale_start", "sale_end") if k in raw]
    if "sale_price" in raw:
        if not window:
            row["discount"] = {**row.get("discount", {}), "price": raw["sale_price"]}
        elif len(window) == 2:
            row["sale"] = {
                "price": raw["sale_price"],
                "start": raw["sale_start"],
                "end": raw["sale_end"],
            }
        else:
            missing = ({"sale_start", "sale_end"} - set(window)).pop()
            problems.append(f"{where}: {missing} is empty (a sale window needs both ends)")
    elif window:
        problems.append(f"{where}: sale_price is empty but {window[0]} is given")
    if "specs" in raw:
        specs: dict[str, str] = {}
        for item in _split_list(raw["specs"]):
            k, sep, v = item.partition("=")
            if not sep or not k.strip() or not v.strip():
                problems.append(f"{where}: specs item {item!r} must be name=value")
            else:
                specs[k.strip()] = v.strip()
        row["specs"] = specs
    faq: dict[int, dict[str, dict[str, str]]] = {}
    for lang in LANGS:
        if f"name_{lang}" in raw:
            row.setdefault("names", {})[lang] = raw[f"name_{lang}"]
        if f"grammar_{lang}" in raw:
            row.setdefault("grammar", {})[lang] = raw[f"grammar_{lang}"]
        for col, key in (
            ("aliases", "aliases"),
            ("features", "features"),
            ("allowed_claims", "allowed_claims"),
            ("forbidden_claims", "forbidden_claims"),
        ):
            cell = raw.get(f"{col}_{lang}")
            if cell is None:
                continue
            items = _split_list(cell)
            if not all(items):
                problems.append(f"{where}: {col}_{lang} has an empty item (check the '|')")
            row.setdefault(key, {})[lang] = [t for t in items if t]
        cell = raw.get(f"faq_{lang}")
        if cell is not None:
            for n, item in enumerate(_split_list(cell)):
                q, sep, a = item.partition("::")
                if not sep or not q.strip() or not a.strip():
                    problems.append(
                        f"{where}: faq_{lang} item {n + 1} {item!r} must be question::answer"
                    )
                    continue
                e = faq.setdefault(n, {"q": {}, "a": {}})
                e["q"][lang] = q.strip()
                e["a"][lang] = a.strip()
    if faq:
        row["faq"] = [faq[n] for n in sorted(faq)]
    return row


def validate_rows(
    rows: list[Any],
    problems: list[str],
    default_currency: str | None = None,
    *,
    labels: list[str] | None = None,
    field_names: Mapping[str, str] | None = None,
) -> list[Product]:
    """Turn raw product rows into Products, appending one message per problem to `problems`.

    `labels` name the rows in messages (default ``products[i]``; CSV passes ``line N``);
    `field_names` renames fields in messages (CSV maps ``discount`` to ``discount_percent``...)
    so a message names what the user actually wrote.
    """
    products: list[Product] = []
    seen: dict[str, int] = {}
    rename = field_names or {}
    for i, row in enumerate(rows):
        label = labels[i] if labels is not None else f"products[{i}]"
        if not isinstance(row, Mapping):
            problems.append(f"{label}: must be an object, got {type(row).__name__}")
            continue
        pid = row.get("id")
        where = f"{label} (id {json.dumps(pid, ensure_ascii=False)})" if pid is not None else label
        before = len(problems)

        def bad(fieldname: str, msg: str, where: str = where) -> None:
            problems.append(f"{where}: {rename.get(fieldname, fieldname)} {msg}")

        if pid is None:
            bad("id", "is missing")
        elif not isinstance(pid, str) or not _ID_RE.match(pid):
            bad("id", f"must be letters, digits, '_', '-', '.' (1-64 chars), got {pid!r}")
        elif pid in seen:
            first = labels[seen[pid]] if labels is not None else f"products[{seen[pid]}]"
            bad("id", f"duplicates {first}")
        else:
            seen[pid] = i
        for k in row:
            if k not in _PRODUCT_FIELDS:
                bad(repr(k), f"is not a known field (known: {', '.join(sorted(_PRODUCT_FIELDS))})")

        if "names" not in row:
            bad("names", "is missing (need at least one of en, de, it, zh)")
            names: dict[str, str] = {}
        else:
            sub: list[str] = []
            names = _lang_strings(row["names"], "names", sub)
            for s in sub:
                problems.append(f"{where}: {s}")
            if not sub and not names:
                bad("names", "must name the product in at least one language")

        price = _parse_price(row.get("price"), "price" in row, bad)

        currency = row.get("currency", default_currency)
        if currency is None:
            bad("currency", f"is missing (allowed: {', '.join(sorted(CURRENCIES))})")
        elif not isinstance(currency, str) or currency.upper() not in CURRENCIES:
            bad(
                "currency",
                f"unknown currency {currency!r} (allowed: {', '.join(sorted(CURRENCIES))})",
            )
            currency = None
        else:
            currency = currency.upper()
        if price is not None and currency is not None:
            digits = _CURRENCIES[currency]["digits"]
            if price != price.quantize(Decimal(1).scaleb(-digits)):
                bad(
                    "price",
                    f"has more than {digits} decimal places for {currency}, got {row['price']!r}",
                )

        features = _lang_lists(row.get("features", {}), "features", where, problems)
        aliases = _lang_lists(row.get("aliases", {}), "aliases", where, problems)
        faq = _parse_faq(row.get("faq", []), where, problems)

        stock = row.get("stock")
        if stock is not None and (
            isinstance(stock, bool) or not isinstance(stock, int) or stock < 0
        ):
            bad("stock", f"must be a whole number >= 0, got {stock!r}")
            stock = None

        discount = row.get("discount")
        discount_price: Decimal | None = None
        if isinstance(discount, Mapping):
            unknown = set(discount) - {"percent", "price"}
            if unknown:
                bad("discount", f"has unknown keys {sorted(unknown)} (allowed: percent, price)")
            if "percent" in discount and "price" in discount:
                bad("discount", "must give percent or price, not both")
            elif "price" in discount:
                discount_price = _reduced_price(
                    discount["price"], "discount.price", price, currency, bad
                )
            discount = discount.get("percent")
        if discount is not None:
            if (
                isinstance(discount, bool)
                or not isinstance(discount, int)
                or not 0 < discount < 100
            ):
                bad(
                    "discount",
                    f"must be a whole percent between 1 and 99, got {discount!r}",
                )
                discount = None

        sales = _parse_sales(row.get("sale"), price, currency, bad)
        specs: dict[str, str] = {}
        sp = row.get("specs", {})
        if not isinstance(sp, Mapping):
            bad("specs", "must be an object of name -> text")
        else:
            for k, v in sp.items():
                if isinstance(v, bool) or not isinstance(v, str | int | float):
                    bad(f"specs.{k}", f"must be a text or number, got {v!r}")
                elif not str(k).strip() or not str(v).strip():
                    bad(f"specs.{k}", "must have a non-empty name and value")
                else:
                    specs[str(k).strip()] = str(v).strip()
        allowed_claims = _lang_lists(
            row.get("allowed_claims", {}), "allowed_claims", where, problems
        )
        forbidden_claims = _lang_lists(
            row.get("forbidden_claims", {}), "forbidden_claims", where, problems
        )

        grammar: dict[str, str] = {}
        g = row.get("grammar", {})
        if not isinstance(g, Mapping):
            bad("grammar", "must be an object of language -> code")
        else:
            for lang, code in g.items():
                allowed = GRAMMAR_CODES.get(lang)
                if allowed is None:
                    bad(f"grammar.{lang}", f"is not a supported language ({', '.join(LANGS)})")
                elif code not in allowed:
                    bad(
                        f"grammar.{lang}",
                        f"must be one of {', '.join(sorted(allowed))}, got {code!r}",
                    )
                else:
                    grammar[lang] = code

        if len(problems) == before:
            products.append(
                Product(
                    id=pid,
                    names=names,
                    price=price,  # type: ignore[arg-type]
                    currency=currency,  # type: ignore[arg-type]
                    features=features,
                    faq=faq,
                    stock=stock,
                    discount_percent=discount,
                    aliases=aliases,
                    grammar=grammar,
                    discount_price=discount_price,
                    sales=sales,
                    specs=specs,
                    allowed_claims=allowed_claims,
                    forbidden_claims=forbidden_claims,
                )
            )
    return products


def _reduced_price(
    value: Any, name: str, regular: Decimal | None, currency: str | None, bad: Any
) -> Decimal | None:
    """A discount or sale price: positive, below the regular price, in the currency's unit."""
    errs: list[str] = []
    d = _parse_price(value, True, lambda _f, msg: errs.append(msg))
    if errs:
        bad(name, errs[0].replace("is missing", "is empty"))
        return None
    assert d is not None
    if currency is not None:
        digits = _CURRENCIES[currency]["digits"]
        if d != d.quantize(Decimal(1).scaleb(-digits)):
            bad(name, f"has more than {digits} decimal places for {currency}, got {value!r}")
            return None
    if regular is not None and d >= regular:
        bad(name, f"must be below the regular price {regular}, got {value!r}")
        return None
    return d


def _parse_time(value: Any, name: str, bad: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value.strip():
        bad(name, f"must be an ISO date-time like 2025-11-28T20:00:00+01:00, got {value!r}")
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        bad(name, f"must be an ISO date-time like 2025-11-28T20:00:00+01:00, got {value!r}")
        return None


def _parse_sales(value: Any, regular: Decimal | None, currency: str | None, bad: Any) -> list[Sale]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[Sale] = []
    for j, item in enumerate(items):
        name = "sale" if not isinstance(value, list) else f"sale[{j}]"
        if not isinstance(item, Mapping):
            bad(name, "must be an object with price or percent, start and end")
            continue
        errs: list[str] = []

        def sbad(f: str, msg: str, errs: list[str] = errs) -> None:
            errs.append(f)
            bad(f, msg)

        unknown = set(item) - {"price", "percent", "start", "end"}
        if unknown:
            sbad(name, f"has unknown keys {sorted(unknown)} (allowed: price, percent, start, end)")
        price = percent = None
        if ("price" in item) == ("percent" in item):
            sbad(name, "must give exactly one of price or percent")
        elif "price" in item:
            price = _reduced_price(item["price"], f"{name}.price", regular, currency, sbad)
        else:
            percent = item["percent"]
            if isinstance(percent, bool) or not isinstance(percent, int) or not 0 < percent < 100:
                sbad(
                    f"{name}.percent", f"must be a whole percent between 1 and 99, got {percent!r}"
                )
        start = _parse_time(item.get("start"), f"{name}.start", sbad)
        end = _parse_time(item.get("end"), f"{name}.end", sbad)
        if start is not None and end is not None:
            if (start.tzinfo is None) != (end.tzinfo is None):
                sbad(f"{name}.end", "must have a UTC offset exactly when start has one")
            elif end <= start:
                sbad(
                    f"{name}.end",
                    f"must be after start ({item.get('start')}), got {item.get('end')!r}",
                )
        if not errs and start is not None and end is not None:
            out.append(Sale(start, end, price, percent))
    return out


def _parse_price(value: Any, present: bool, bad: Any) -> Decimal | None:
    if not present or value is None:
        bad("price", "is missing")
        return None
    if isinstance(value, bool):
        bad("price", f"must be a positive number, got {json.dumps(value)}")
        return None
    try:
        if isinstance(value, int | float):
            if isinstance(value, float) and not math.isfinite(value):
                raise InvalidOperation
            # str() of a float gives the shortest repr ("39.9"), avoiding binary noise.
            d = Decimal(str(value))
        elif isinstance(value, str):
            # Strings are accepted so CSV rows can share this validator.
            d = Decimal(value.strip())
            if not d.is_finite():
                raise InvalidOperation
        else:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        bad(
            "price",
            f"must be a positive number, got {json.dumps(value, ensure_ascii=False, default=str)}",
        )
        return None
    if d <= 0:
        bad("price", f"must be a positive number, got {value!r}")
        return None
    if d >= Decimal("1e9"):
        bad("price", f"is implausibly large, got {value!r}")
        return None
    return d


def _lang_strings(value: Any, name: str, problems: list[str]) -> dict[str, str]:
    """{"en": "...", ...} or a bare string (taken as en)."""
    if isinstance(value, str):
        value = {"en": value}
    if not isinstance(value, Mapping):
        problems.append(f"{name} must be an object of language -> text, got {type(value).__name__}")
        return {}
    out: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in LANGS:
            problems.append(f"{name}.{lang} is not a supported language ({', '.join(LANGS)})")
        elif not isinstance(text, str) or not text.strip():
            problems.append(f"{name}.{lang} must be a non-empty text, got {text!r}")
        else:
            out[lang] = text.strip()
    return out


def _lang_lists(value: Any, name: str, where: str, problems: list[str]) -> dict[str, list[str]]:
    """{"en": [...], ...} or a bare list (taken as en)."""
    if isinstance(value, list):
        value = {"en": value}
    if not isinstance(value, Mapping):
        problems.append(f"{where}: {name} must be an object of language -> list of texts")
        return {}
    out: dict[str, list[str]] = {}
    for lang, items in value.items():
        if lang not in LANGS:
            problems.append(
                f"{where}: {name}.{lang} is not a supported language ({', '.join(LANGS)})"
            )
            continue
        if not isinstance(items, list) or not all(isinstance(t, str) and t.strip() for t in items):
            problems.append(f"{where}: {name}.{lang} must be a list of non-empty texts")
            continue
        out[lang] = [t.strip() for t in items]
    return out


def _parse_faq(value: Any, where: str, problems: list[str]) -> list[FaqEntry]:
    if not isinstance(value, list):
        problems.append(f'{where}: faq must be a list of {{"q": ..., "a": ...}} objects')
        return []
    out: list[FaqEntry] = []
    for j, item in enumerate(value):
        if not isinstance(item, Mapping):
            problems.append(f"{where}: faq[{j}] must be an object with q and a")
            continue
        q = item.get("q", item.get("question"))
        a = item.get("a", item.get("answer"))
        sub: list[str] = []
        qd = _lang_strings(q, f"faq[{j}].q", sub) if q is not None else {}
        ad = _lang_strings(a, f"faq[{j}].a", sub) if a is not None else {}
        if q is None:
            sub.append(f"faq[{j}].q is missing")
        if a is None:
            sub.append(f"faq[{j}].a is missing")
        problems.extend(f"{where}: {s}" for s in sub)
        if not sub and qd and ad:
            out.append(FaqEntry(qd, ad))
    return out


def _pick_with_lang(d: Mapping[str, str], lang: str) -> tuple[str, str]:
    if lang in d:
        return d[lang], lang
    if "en" in d:
        return d["en"], "en"
    for k, v in d.items():
        return v, k
    return "", lang


def _pick(d: Mapping[str, str], lang: str) -> str:
    return _pick_with_lang(d, lang)[0]
