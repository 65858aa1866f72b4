"""Prices as the host says and shows them: currencies, percent reductions, spoken and display forms.

In: an exact `Decimal` price, an ISO currency code (CURRENCIES) and a language. Out: text -
words for TTS ("39 euros 90") or the on-screen form ("€39.90", "39,90 €"). The catalog,
the show (flash sales) and the guard all format through here, so a price reads the same
everywhere it appears.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "CURRENCIES",
    "currency_digits",
    "format_price_display",
    "format_price_spoken",
    "percent_off",
]

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


def currency_digits(currency: str) -> int:
    """Digits of the currency's minor unit (2 for EUR, 0 for JPY)."""
    return _CURRENCIES[currency]["digits"]


def percent_off(price: Decimal, percent: int | Decimal, currency: str) -> Decimal:
    """`price` less `percent`, rounded half up to the currency's minor unit."""
    digits = _CURRENCIES[currency]["digits"]
    q = Decimal(1).scaleb(-digits)
    return (price * (Decimal(100) - Decimal(percent)) / Decimal(100)).quantize(
        q, rounding=ROUND_HALF_UP
    )


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
