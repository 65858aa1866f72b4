"""Answers about what things cost beyond "how much?": whether there is a deal now, when it
ends, which of two products is cheaper, and the cheapest product of the show.

A mixin of the template generator (``talk/generator.py``), which owns what it reads: the
catalog, its retriever, the price now (``price_value_now``, set by the engine), the flash
sale's countdown (``sale_countdown``) and the template picker. In: product ids, a language and
the viewer's event; out: `Sentence` s appended to the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..frames import ChatEvent, Emotion, Sentence, Source
from .catalog import Catalog, Product
from .templates import user_slots


class PriceAnswers:
    """Deal, deal-end, comparison and cheapest-product answers (see the module)."""

    catalog: Catalog
    retriever: Any
    price_value_now: Callable[[str], Decimal] | None
    sale_countdown: Callable[[str, str], str | None] | None
    _pick: Any
    _slots: Any
    _display: Any
    _sentence: Any

    def _deal_ends(self, pid: str, lang: str, event: ChatEvent, out: list[Sentence]) -> None:
        """ "When does the sale end?": the flash sale's time left and price, where one runs
        for the product; else whether it is on offer now (a catalog discount has no end the
        host could say)."""
        line = self.sale_countdown(pid, lang) if self.sale_countdown is not None else None
        if line:
            out.append(self._sentence(line, Source.ANSWER, lang, pid, Emotion.SURPRISED, event))
            return
        p = self.catalog.get(pid)
        now = self.price_value_now(pid) if self.price_value_now is not None else p.price
        slots = {**self._slots(pid, lang), **user_slots(self._display(event.user), lang)}
        slots["regular"] = p.price_spoken(lang)
        fam = "answer_deal_open" if now < p.price else "answer_no_deal"
        t = self._pick(fam, lang, slots, p.grammar_of(lang))
        if t is not None:
            out.append(self._sentence(t, Source.ANSWER, lang, pid, Emotion.NEUTRAL, event))

    def _compare(self, pair: list[str], lang: str, event: ChatEvent, out: list[Sentence]) -> None:
        """The cheaper of two named products with its price now, then the other's; at the
        same price, each one's price answer."""
        now = self.price_value_now or (lambda pid: self.catalog.get(pid).price)
        a, b = sorted(pair, key=lambda pid: (now(pid), pid))
        if now(a) == now(b):
            for pid in (a, b):
                t = self._pick("answer_price", lang, self._slots(pid, lang),
                               self.catalog.get(pid).grammar_of(lang))  # fmt: skip
                if t is not None:
                    out.append(self._sentence(t, Source.ANSWER, lang, pid, Emotion.NEUTRAL, event))
            return
        other = self._slots(b, lang)
        slots = {**self._slots(a, lang), "price2": other["price"], "the2": other["the"],
                 "acc2": other.get("acc", other["the"])}  # fmt: skip
        t = self._pick("answer_compare", lang, slots, self.catalog.get(a).grammar_of(lang))
        if t is not None:
            out.append(self._sentence(t, Source.ANSWER, lang, a, Emotion.NEUTRAL, event))

    def _price_family(self, p: Product, text: str) -> str:
        """answer_price; for "is it on sale?", whether it is now (answer_deal / _no_deal)."""
        if self.price_value_now is None or not self.retriever.asks(text, "deal"):
            return "answer_price"
        return "answer_deal" if self.price_value_now(p.id) < p.price else "answer_no_deal"

    def _cheapest(self) -> str | None:
        """The product of the show with the lowest price now, sold-out ones left out."""
        now = self.price_value_now or (lambda pid: self.catalog.get(pid).price)
        ids = [p.id for p in self.catalog if p.stock is None or p.stock > 0]
        return min(ids, key=lambda pid: (now(pid), pid), default=None)
