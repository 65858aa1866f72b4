"""The catalog's model: `Product`s (with their FAQ entries and sale windows) and the `Catalog`.

In: validated values (from `streamhost.talk.catalog.load_catalog`). Out: per-language lookups
with fallbacks, the price a buyer pays at a moment, and every number the catalog can
legitimately put into speech. Nothing here reads files or validates input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from ..problems import ProblemsError
from .prices import format_price_display, format_price_spoken, percent_off

__all__ = [
    "GRAMMAR_CODES",
    "GRAMMAR_DEFAULT",
    "LANGS",
    "Catalog",
    "FaqEntry",
    "Product",
    "Sale",
]

# Languages a catalog may hold text in (names, features, FAQ, CSV columns).
LANGS: tuple[str, ...] = ("en", "de", "it", "zh")

# Grammar codes the templates understand (see templates.py): number for en, gender+number
# for de and it. Defaults apply when a product does not say.
GRAMMAR_CODES: dict[str, frozenset[str]] = {
    "en": frozenset({"sg", "pl"}),
    "de": frozenset({"m", "f", "n", "pl"}),
    "it": frozenset({"m", "f", "mpl", "fpl"}),
    "zh": frozenset({"-"}),
}
GRAMMAR_DEFAULT: dict[str, str] = {"en": "sg", "de": "m", "it": "m", "zh": "-"}


class CatalogError(ProblemsError):
    """Every problem found in a catalog; `problems` lists them, one string each."""

    what = "catalog"


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
    image: str = ""  # PNG/JPEG path as written in the catalog (relative to the catalog file)

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

    def texts(self) -> list[str]:
        """Every name, feature, FAQ question and answer and alias, all languages."""
        texts = list(self.names.values())
        for fl in self.features.values():
            texts += fl
        for e in self.faq:
            texts += list(e.question.values()) + list(e.answer.values())
        for al in self.aliases.values():
            texts += al
        return texts

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


class Catalog:
    """All products of one shop, keyed by id, in file order.

    In: validated products (from `load_catalog` / `parse_catalog`). Out: lookups by id,
    iteration, and `numbers()` - every digit run the catalog can legitimately put into speech,
    which the guard and tests use to tell catalog facts from invented ones.
    """

    def __init__(self, products: list[Product], shop_name: dict[str, str] | None = None,
                 source: str = "<memory>", shop_faq: list[FaqEntry] | None = None) -> None:  # fmt: skip
        self.products: dict[str, Product] = {p.id: p for p in products}
        self.shop_name: dict[str, str] = dict(shop_name or {})
        # Questions about the shop itself (shipping, returns, payment), answered as written.
        self.shop_faq: list[FaqEntry] = list(shop_faq or [])
        self.source = source
        self._numbers: frozenset[str] | None = None
        # Product pictures resolved against the catalog's folder; a missing or unreadable file
        # is a catalog error (streamhost check names it), not a blank panel on air.
        self.images: dict[str, str] = {}
        problems = []
        for p in products:
            if p.image:
                path, problem = _image_path(p.image, source)
                if problem:
                    problems.append(f"product {p.id!r}: image {problem}")
                self.images[p.id] = path
        if problems:
            raise CatalogError(source, problems)

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

    def shop_texts(self) -> list[str]:
        """The shop's own texts, all languages: its name and its FAQ."""
        faq = [t for e in self.shop_faq for t in (*e.question.values(), *e.answer.values())]
        return [*self.shop_name.values(), *faq]

    def shop(self, lang: str) -> str:
        return _pick(self.shop_name, lang) if self.shop_name else ""

    def numbers(self) -> frozenset[str]:
        """Digit runs ("39", "90", "1", "7") found in any catalog text or formatted price."""
        if self._numbers is None:
            texts: list[str] = []
            for p in self:
                texts += p.texts()
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
            texts += self.shop_texts()
            self._numbers = frozenset(n for t in texts for n in re.findall(r"\d+", t))
        return self._numbers


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


def _image_path(image: str, source: str) -> tuple[str, str]:
    """(absolute path, problem or "") for a catalog image relative to the catalog file."""
    from PIL import Image

    base = Path(source).parent if source and not source.startswith("<") else Path.cwd()
    path = (base / image).resolve()
    try:
        with Image.open(path) as im:
            im.verify()
            fmt = im.format
    except FileNotFoundError:
        return str(path), f"{image!r}: no such file ({path})"
    except (OSError, ValueError) as exc:
        return str(path), f"{image!r}: cannot read it as an image ({exc})"
    if fmt not in ("PNG", "JPEG"):
        return str(path), f"{image!r}: is {fmt}, must be PNG or JPEG"
    return str(path), ""
