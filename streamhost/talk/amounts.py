"""Amounts in a sentence, as a viewer would read them aloud: prices with their currency
("39 euros 90", "€39.90", "39,90 Euro", "39块9", "90 cents"), percentages ("20%",
"20 Prozent", "百分之20") and bare numbers in either decimal convention. Used by the guard
(talk/guard.py) to hold a generated sentence to the catalog's figures.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

NUM = r"\d+(?:[.,]\d+)*"
DIGIT_RE = re.compile(r"\d")
NUM_RE = re.compile(r"(?<![\d.,])" + NUM)

# Currency words/symbols -> ISO code ("" = any currency: "元"/"块" is generic money in zh).
CUR_WORDS: dict[str, str] = {
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "dollaro": "USD",
    "dollari": "USD",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "pfund": "GBP",
    "sterlina": "GBP", "sterline": "GBP",
    "chf": "CHF", "franc": "CHF", "francs": "CHF", "franken": "CHF", "franco": "CHF",
    "franchi": "CHF",
    "¥": "", "cny": "CNY", "rmb": "CNY", "yuan": "CNY", "jpy": "JPY", "yen": "JPY",
    "欧元": "EUR", "美元": "USD", "英镑": "GBP", "瑞士法郎": "CHF", "日元": "JPY",
    "人民币": "CNY", "块钱": "", "块": "", "元": "",
}  # fmt: skip
MINOR_WORDS = (
    "cents|cent|centesimi|centesimo|pence|penny|rappen|centimes|centime|fen|分钱|毛钱|分|毛|角"
)
_cur_alt = "|".join(
    re.escape(w) + (r"(?![^\W\d_])" if w[0].isascii() and w[0].isalpha() else "")
    for w in sorted(CUR_WORDS, key=len, reverse=True)
)
# "39 euros 90", "39 Euro und 5 Cent", "39 euro e 90", "39,90 €", "39.90欧元", "39块9"
PRICE_AFTER = re.compile(
    rf"(?<![\d.,])(?P<num>{NUM})\s*(?P<cur>{_cur_alt})"
    rf"(?:\s*(?:(?:and|und|e)\s+)?(?P<minor>\d{{1,2}})(?![\d.,]\d)\s*(?P<mw>{MINOR_WORDS})(?![^\W\d_])"
    rf"|\s*(?:(?:and|und|e)\s+)?(?P<minor2>\d{{2}})(?![\d.,]?\d)"
    rf"|(?<=[块元])(?P<jiao>\d)(?!\d))?"
)
# "€39.90", "$5", "CHF 39.90", "EUR 39,90", "¥39.9"
PRICE_BEFORE = re.compile(
    rf"(?P<cur>[€$£¥]|(?<![^\W\d_])(?:eur|usd|gbp|chf|cny|rmb|jpy)(?![^\W\d_]))\s?(?P<num>{NUM})"
)
# "90 cents" alone
MINOR_ONLY = re.compile(rf"(?<![\d.,])(?P<minor>\d{{1,2}})\s*(?P<mw>{MINOR_WORDS})(?![^\W\d_])")
PERCENT = re.compile(
    rf"(?<![\d.,])(?P<num>{NUM})\s*(?:%|percent|per cent|prozent|per cento|percento)(?![^\W\d_])"
    rf"|百分之\s*(?P<num2>{NUM})"
)


def fold(text: str) -> str:
    # NFKC turns fullwidth digits, "％" and "￥" into their ASCII/common forms.
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def parse_number(token: str) -> Decimal | None:
    """ "39.90" / "39,90" -> 39.90; "1,299" / "1.299" -> 1299; "1.234,50" -> 1234.50."""
    seps = [i for i, c in enumerate(token) if c in ".,"]
    try:
        if not seps:
            return Decimal(token)
        last = seps[-1]
        tail = token[last + 1 :]
        if len(tail) == 3 and len(seps) >= 1 and (len(seps) > 1 or token[0] != "0"):
            # a group of three after the last separator reads as thousands ("1,299")
            if all(token[s] == token[last] for s in seps) and len(token[: seps[0]]) <= 3:
                return Decimal(token.replace(",", "").replace(".", ""))
        whole = token[:last].replace(",", "").replace(".", "")
        return Decimal(f"{whole}.{tail}")
    except InvalidOperation:
        return None


def canon(d: Decimal) -> str:
    s = format(d.normalize(), "f")
    return s


def text_of(text: str, folded: str, m: re.Match[str]) -> str:
    """The matched amount as found (folded form; the original when lengths agree)."""
    if len(text) == len(folded):
        return text[m.start() : m.end()].strip()
    return m.group(0).strip()


def price_value(num: str, minor: str | None, jiao: str | None) -> Decimal | None:
    """A price's value from its parts: "39" + "90" cents = 39.90, "39块" + "9" jiao = 39.90."""
    d = parse_number(num)
    if d is None:
        return None
    if minor is not None:
        if d != d.to_integral_value():
            return None  # "39.90 euros 90" is no price
        d += Decimal(minor) / 100
    elif jiao is not None:
        d += Decimal(jiao) / 10  # "39块9" = 39.90
    return d
