"""A price ceiling in a viewer's question: "anything under 30 euros?", "Habt ihr was unter
30 €?", "qualcosa sotto i 30 euro?", 有30欧以下的吗？ - a budget, not a product's detail; and
"anything cheaper than the kettle?", whose ceiling is that product's price now; and "what do
you recommend?", the product to present.

In: the viewer's text. Out: the ceiling as a `Decimal`, or None (``budget_cap``); the
product another should cost less than, or None (``BudgetQuestions.cheaper_than``). The
phrases come from the language files' ``[intent] budget`` lists, each with one "…" where the
amount stands ("under …", "… or less", "…以内"). An amount counts when it carries a currency
("30 euros", "€30", "30欧"), or when it ends a clause and the text asks for some product
("anything below 25?", ``[intent] budget_any``): "heats up to 100?", "for kids under 5?"
and "up to 16 inch?" are no budget.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

from ..langdata import load_languages
from ..language import fold
from .amounts import CUR_WORDS, NUM, parse_number
from .intent_words import has_any, intent_patterns, intent_tokens

# 欧 alone is how Chinese chat writes euros ("30欧"); the guard's table keeps 欧元 only, since
# a generated sentence always writes it out.
_CURRENCY = sorted({*CUR_WORDS, "欧"}, key=len, reverse=True)
_CUR = "|".join(
    re.escape(w) + (r"(?![^\W\d_])" if w[0].isascii() and w[0].isalpha() else "") for w in _CURRENCY
)
# The amount: a number ("30,-" is a price) with its currency before or after it, or neither;
# the currency is looked for next to each number found, not tried at every position of the text.
# not the tail of a number ("1,5"); a comma that ends a clause may come right before one
# (礼物，40欧以内: fold makes the Chinese comma ",")
_NUMBER = re.compile(rf"(?<!\d)(?<!\d[.,])(?P<num>{NUM})(?:,-)?")
_CUR_BEFORE = re.compile(rf"(?:{_CUR})\s?\Z")
_CUR_AFTER = re.compile(rf"\s*(?:{_CUR})")
# What may follow a bare number for it to end a clause ("anything below 25?").
# 的 ends one in Chinese: 30以下的 is "ones under 30".
_CLAUSE_END = re.compile(r"\s*(?:[?？!！.。,，;；的]|$)")
_NEVER = re.compile("(?!)")


@functools.cache
def _phrases() -> tuple[re.Pattern[str], re.Pattern[str], tuple[tuple[re.Pattern[str], ...], ...]]:
    """The ``[intent] budget`` phrases of every language as three kinds: words before the
    amount (one pattern over the *reversed* text, matched once at the amount: a search
    backwards from it tried every alternative at every position, 15 us an amount), words
    after it (one pattern, matched from it), and the few with words on both sides (a pair
    each)."""
    befores, afters, both = [], [], []
    for d in load_languages().values():
        latin = d.script is None
        for phrase in d.intent["budget"]:
            # fold() turns "…" into "...": split first
            before, after = (fold(part) for part in phrase.split("…"))
            b = r"\s*" + re.escape(before[::-1]) + (r"(?![^\W_])" if latin else "")
            a = r"\s*" + re.escape(after) + (r"(?![^\W_])" if latin else "")
            if before and after:
                both.append((re.compile(b), re.compile(a)))
            elif before:
                befores.append(b)
            elif after:
                afters.append(a)

    def one(alts: list[str]) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{x})" for x in alts)) if alts else _NEVER

    return one(befores), one(afters), tuple(both)


def budget_cap(text: str, bare: bool = False) -> Decimal | None:
    """The most the viewer wants to pay, where the text sets one (see the module). `bare`: a
    number without a currency is a price even with no word asking for some product (the
    text names one: "is the lamp under 30?")."""
    folded = fold(text)
    if not any(ch.isdigit() for ch in folded):
        return None  # most chat names no amount
    before, after, both = _phrases()
    back = folded[::-1]  # back[len(folded) - i:] is folded[:i] read backwards
    asks_any: bool | None = None
    for m in _NUMBER.finditer(folded):
        cur1 = _CUR_BEFORE.search(folded, max(0, m.start() - 12), m.start())
        cur2 = _CUR_AFTER.match(folded, m.end())
        start, stop = (cur1.start() if cur1 else m.start()), (cur2.end() if cur2 else m.end())
        end = stop if before.match(back, len(folded) - start) else None
        if end is None and (a := after.match(folded, stop)):
            end = a.end()
        for b, a2 in both if end is None else ():
            if b.match(back, len(folded) - start) and (a := a2.match(folded, stop)):
                end = a.end()
                break
        value = parse_number(m.group("num")) if end is not None else None
        if value is None or value <= 0:
            continue
        if not (cur1 or cur2):
            if asks_any is None:
                asks_any = has_any(folded, intent_patterns()["budget_any"])
            if not ((asks_any or bare) and _CLAUSE_END.match(folded, end)):
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

    def price_end(self, text: str) -> str:
        """ "cheapest" for "what's the cheapest thing tonight?" (``[intent] cheapest``),
        "priciest" for "... the most expensive?" (``priciest``), else ""."""
        folded, pats = fold(text), intent_patterns()
        return next((k for k in ("cheapest", "priciest") if has_any(folded, pats[k])), "")

    def recommendation(self, text: str, lang: str, on_screen: str | None) -> str | None:
        """ "What do you recommend?", "is the kettle worth it?", 你推荐哪个？ (``[intent]
        recommend``): the product named, else the one the wish's words find ("what do you
        recommend for *travel*?": the travel backpack), else the one on screen; None when the
        text asks for no recommendation."""
        folded, pats = fold(text), intent_patterns()
        if not has_any(folded, pats["recommend"]) or has_any(folded, pats["shop_service"]):
            return None  # "Fate la confezione *regalo* per la borraccia?" asks for a service
        named = self.named_products(text, lang) or [
            # a number is no wish ("a gift for a *10* year old" is not "5 hours in *10* minutes")
            hit[0]
            for hit in [self.find_product(re.sub(r"\d+", " ", text), lang)]
            if hit and hit[1] >= 1.1
        ]
        if not named:
            # a wish only an FAQ answer speaks of ("for *reading*": the lamp's "800 lumens,
            # plenty for reading")
            own = intent_tokens(lang, ("recommend",))
            for pid in self.catalog.ids:
                wish = self.unknown_details(text, lang, pid) - own
                if wish and self.answer_covering(text, pid, lang, wish) is not None:
                    return pid
        return named[0] if named else on_screen

    def lineup_asked(self, text: str, lang: str, on_screen: str | None) -> str | None:
        """ "What do you sell tonight?" (``[intent] ask_lineup``) with nothing else asked:
        "lineup"; with a deal word ("what's on sale?", 有什么优惠): "deals"; else None ("what
        else do you have *in black*?" asks for a colour)."""
        folded, pats = fold(text), intent_patterns()
        keys = ("ask_lineup", "deal")
        if not has_any(folded, pats["ask_lineup"]):  # (every chat message comes here)
            if not (has_any(folded, pats["everything"]) and has_any(folded, pats["deal"])):
                return None
            keys = ("deal", "everything")  # "is everything on sale?": which deals there are
        if self.named_products(text, lang):
            return None  # "耳机有什么特别的？" asks about the headphones
        pid = on_screen if on_screen in self.catalog.products else self.catalog.ids[0]
        # "for sale" is what is sold, though "Sale" is a German deal word
        if has_any(folded.replace("for sale", " "), pats["deal"]):
            return "deals" if self._asks_only(text, lang, pid, keys) else None
        return "lineup" if self._asks_only(text, lang, pid, ("ask_lineup",)) else None

    def total_asked(self, text: str, lang: str, on_screen: str | None) -> bool:
        """ "How much for everything together?" (``[intent] everything`` with a price or
        together word, no product named and nothing else asked: not "shipping for all of it?")."""
        folded, pats = fold(text), intent_patterns()
        if not has_any(folded, pats["everything"]) or self.named_products(text, lang):
            return False
        if has_any(folded, pats["deal"]):
            return False  # "is everything on sale?" asks which deals there are
        pid = on_screen if on_screen in self.catalog.products else self.catalog.ids[0]
        keys = ("everything", "together", "price_strong", "price_weak")
        return any(has_any(folded, pats[k]) for k in keys[1:]) and self._asks_only(
            text, lang, pid, keys
        )

    def products_named_whole(self, text: str, lang: str) -> list[str]:
        """The products the text names by a whole name or alias, best first: "which is
        cheaper, the kettle or the lamp?"; not the kettle for "water" of "water bottle"."""
        return [x for x in self.named_products(text, lang) if self.names_whole(text, lang, x)]

    def on_screen_has(self, text: str, lang: str, pid: str | None) -> bool:
        """Whether "有滤网吗？" ("is there a filter?" / "do you have filters?") asks about the
        product on screen: a feature of it says every detail asked (the kettle's limescale
        filter), so it is no product the shop lacks."""
        if pid is None:
            return False
        q = self.asked_words(text, lang) - set(self._name_tokens(self.catalog.get(pid), lang))
        # every word asked in one feature: 有咖啡机吗 ("a coffee machine?") is not the kettle's
        # "咖啡" (tea, coffee and baby formula)
        return bool(q) and any(q <= f for f in self._features.get((pid, lang), []))

    catalog: Any
    _features: Any
    _name_tokens: Any
    asked_words: Any
    names_whole: Any
    _asks_only: Any
    named_products: Any
    find_product: Any
    unknown_details: Any
    answer_covering: Any
