"""A price ceiling in a viewer's question: "anything under 30 euros?", "Habt ihr was unter
30 €?", "qualcosa sotto i 30 euro?", 有30欧以下的吗？ - a budget, not a product's detail; and
"anything cheaper than the kettle?", whose ceiling is that product's price now.

In: the viewer's text. Out: the ceiling as a `Decimal`, or None (``budget_cap``); the product
another should cost less than, or None (``BudgetQuestions.cheaper_than``). The phrases come from the
language files' ``[intent] budget`` lists, each with one "…" where the amount stands ("under
…", "… or less", "…以内"). An amount counts when it carries a currency ("30 euros", "€30",
"30欧"), or when it ends a clause and the text asks for some product ("anything below 25?",
``[intent] budget_any``): "heats up to 100?", "for kids under 5?" and "up to 16 inch?" are no
budget.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

from ..langdata import load_languages
from ..language import fold
from .amounts import CUR_WORDS, NUM, parse_number
from .intent_words import has_any, intent_patterns

# 欧 alone is how Chinese chat writes euros ("30欧"); the guard's table keeps 欧元 only, since
# a generated sentence always writes it out.
_CURRENCY = sorted({*CUR_WORDS, "欧"}, key=len, reverse=True)
_CUR = "|".join(
    re.escape(w) + (r"(?![^\W\d_])" if w[0].isascii() and w[0].isalpha() else "") for w in _CURRENCY
)
# The amount: a number with its currency before or after it, or neither; "30,-" is a price.
_AMOUNT = (
    rf"(?:(?P<cur1>{_CUR})\s?)?(?<![\d.,])(?P<num>{NUM})(?:,-)?"
    rf"(?:\s*(?P<cur2>{_CUR}))?"
)
# What may follow a bare number for it to end a clause ("anything below 25?").
# 的 ends one in Chinese: 30以下的 is "ones under 30".
_CLAUSE_END = re.compile(r"\s*(?:[?？!！.。,，;；的]|$)")


@functools.cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    """One pattern per ``[intent] budget`` phrase of every language, the amount at its "…"."""
    out = []
    for d in load_languages().values():
        for phrase in d.intent["budget"]:
            # fold() turns "…" into "...": split first
            before, after = (fold(part) for part in phrase.split("…"))
            edge = r"(?<![^\W_])" if d.script is None else ""
            tail = r"(?![^\W_])" if d.script is None and after else ""
            out.append(
                re.compile(
                    edge + re.escape(before) + r"\s*" + _AMOUNT
                    + (r"\s*" + re.escape(after) if after else "") + tail
                )
            )  # fmt: skip
    return tuple(out)


def budget_cap(text: str) -> Decimal | None:
    """The most the viewer wants to pay, where the text sets one (see the module)."""
    folded = fold(text)
    if not any(ch.isdigit() for ch in folded):
        return None  # most chat names no amount: skip the phrase patterns
    asks_any: bool | None = None
    for pat in _patterns():
        for m in pat.finditer(folded):
            value = parse_number(m.group("num"))
            if value is None or value <= 0:
                continue
            if not (m.group("cur1") or m.group("cur2")):
                if asks_any is None:
                    asks_any = has_any(folded, intent_patterns()["budget_any"])
                if not (asks_any and _CLAUSE_END.match(folded, m.end())):
                    continue
            return value
    return None


class BudgetQuestions:
    """The retriever's budget questions (a mixin of ``talk.retrieval.Retriever``)."""

    budget_cap = staticmethod(budget_cap)  # "anything under 30 euros?" -> 30

    def cheaper_than(self, text: str, lang: str, on_screen: str | None = None) -> str | None:
        """ "Anything cheaper than the kettle?", "有比水壶便宜的吗？": the one product named, or
        the one on screen where none is ("do you have something cheaper?"), when the text asks
        for some other product that costs less (``[intent] cheaper`` and ``budget_any``); "is
        the lamp cheaper than the kettle?" names two (a comparison)."""
        pats = intent_patterns()
        folded = fold(text)
        if not (has_any(folded, pats["cheaper"]) and has_any(folded, pats["budget_any"])):
            return None
        named = self.named_products(text, lang)
        return named[0] if len(named) == 1 else None if named else on_screen

    named_products: Any
