"""The shop's product catalog: loading, validation and price formatting.

A catalog file (JSON now; CSV later through the same row validator) flows in, a `Catalog` of
validated `Product`s flows out. Every later stage (retrieval, templates, the guard) trusts the
catalog as the only source of prices and facts, so validation is strict and reports every
problem at once: a shop fixing its file should not have to rerun the check once per typo.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
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
                for lang in LANGS:
                    texts += [p.price_spoken(lang), p.price_display(lang)]
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


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a catalog file (.json). Raises CatalogError listing every problem."""
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise CatalogError(source, [f"cannot read file: {e.strerror or e}"]) from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise CatalogError(
                source, [f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"]
            ) from None
        return parse_catalog(data, source)
    # CSV will produce the same row dicts and go through `validate_rows`.
    raise CatalogError(source, [f"unsupported catalog format {suffix!r} (supported: .json)"])


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


def validate_rows(
    rows: list[Any], problems: list[str], default_currency: str | None = None
) -> list[Product]:
    """Turn raw product rows into Products, appending one message per problem to `problems`."""
    products: list[Product] = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            problems.append(f"products[{i}]: must be an object, got {type(row).__name__}")
            continue
        pid = row.get("id")
        where = (
            f"products[{i}] (id {json.dumps(pid, ensure_ascii=False)})"
            if pid is not None
            else f"products[{i}]"
        )
        before = len(problems)

        def bad(fieldname: str, msg: str, where: str = where) -> None:
            problems.append(f"{where}: {fieldname} {msg}")

        if pid is None:
            bad("id", "is missing")
        elif not isinstance(pid, str) or not _ID_RE.match(pid):
            bad("id", f"must be letters, digits, '_', '-', '.' (1-64 chars), got {pid!r}")
        elif pid in seen:
            bad("id", f"duplicates products[{seen[pid]}]")
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
        if isinstance(discount, Mapping):
            discount = discount.get("percent")
        if discount is not None:
            if (
                isinstance(discount, bool)
                or not isinstance(discount, int)
                or not 0 < discount < 100
            ):
                bad(
                    "discount",
                    f"must be a whole percent between 1 and 99, got {row.get('discount')!r}",
                )
                discount = None

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
                )
            )
    return products


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
