"""Validation of catalog rows: raw product rows (JSON objects, or CSV rows made JSON-shaped)
in, `Product`s out, with one message per problem naming the row, the id and the field.

JSON and CSV catalogs both end here, so both accept exactly the same products.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .prices import CURRENCIES, currency_digits
from .products import GRAMMAR_CODES, LANGS, CatalogError, FaqEntry, Product, Sale

__all__ = ["CatalogError", "lang_strings", "validate_rows"]

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
        "image",
    }
)
IMAGE_EXTS = (".png", ".jpg", ".jpeg")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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
            names = lang_strings(row["names"], "names", sub)
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
            _check_digits(price, currency, "price", row["price"], bad)

        features = _lang_lists(row.get("features", {}), "features", where, problems)
        aliases = _lang_lists(row.get("aliases", {}), "aliases", where, problems)
        faq = parse_faq(row.get("faq", []), where, problems)

        image = row.get("image", "")
        if not isinstance(image, str) or (image and not image.lower().endswith(IMAGE_EXTS)):
            bad("image", f"must be a PNG or JPEG file path (.png, .jpg, .jpeg), got {image!r}")
            image = ""

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
                    image=image,
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
    if currency is not None and not _check_digits(d, currency, name, value, bad):
        return None
    if regular is not None and d >= regular:
        bad(name, f"must be below the regular price {regular}, got {value!r}")
        return None
    return d


def _check_digits(price: Decimal, currency: str, name: str, value: Any, bad: Any) -> bool:
    """False (and a problem) when `price` has more decimals than the currency's minor unit."""
    digits = currency_digits(currency)
    if price != price.quantize(Decimal(1).scaleb(-digits)):
        bad(name, f"has more than {digits} decimal places for {currency}, got {value!r}")
        return False
    return True


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


def lang_strings(value: Any, name: str, problems: list[str]) -> dict[str, str]:
    """{"en": "...", ...} or a bare string (taken as en); problems are appended, unprefixed."""
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


def parse_faq(value: Any, where: str, problems: list[str]) -> list[FaqEntry]:
    """A product's (or the shop's) FAQ list; each problem names `where` and the entry."""
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
        qd = lang_strings(q, f"faq[{j}].q", sub) if q is not None else {}
        ad = lang_strings(a, f"faq[{j}].a", sub) if a is not None else {}
        if q is None:
            sub.append(f"faq[{j}].q is missing")
        if a is None:
            sub.append(f"faq[{j}].a is missing")
        problems.extend(f"{where}: {s}" for s in sub)
        if not sub and qd and ad:
            out.append(FaqEntry(qd, ad))
    return out
