"""Answers that present one product on a viewer's request: "show me the lamp" (it goes on
screen as the host presents it) and "how much for two?" (the total for that many); an FAQ
entry's answer as said to the question; what to say of a product the shop does not sell; and
which messages are not an LLM's to answer.

A mixin of the template generator (``talk/generator.py``), which owns what it reads: the
catalog, the price now (``_now``, from ``price_answers.py``), the template picker and the slot
maker. In: a product id, the answer language, the viewer's name slots and event; out: the
`Sentence` s of the answer.
"""

from __future__ import annotations

from typing import Any

from ..frames import ChatEvent, Emotion, Sentence, Source
from ..language import detect_language
from .catalog import Catalog, FaqEntry
from .open_question import answer_to, without_yes
from .prices import format_price_spoken
from .quantity import count_word
from .reply import stock_family


class ProductRequests:
    """Show-me, how-much-for-N and FAQ-entry answers; the team's and the templates' share of
    the chat (see the module)."""

    catalog: Catalog
    retriever: Any
    lang: str
    _now: Any
    _pick: Any
    _slots: Any
    _sentence: Any

    def _said(
        self, fams: list[str], slots: dict[str, str], pid: str, lang: str, event: ChatEvent,
        emotion: str = Emotion.NEUTRAL,
    ) -> list[Sentence]:  # fmt: skip
        code = self.catalog.get(pid).grammar_of(lang)
        texts = [self._pick(fam, lang, slots, code) for fam in fams]
        return [self._sentence(t, Source.ANSWER, lang, pid, emotion, event) for t in texts if t]

    def shows(self, event: ChatEvent, current_product_id: str | None) -> bool:
        """Whether `event` asks to see a product ("show me the lamp"; the one on screen when it
        names none): the answer that puts it on screen is this generator's."""
        r = self.retriever
        text = event.text or ""
        lang = event.lang or detect_language(text, default=self.lang)
        named = r.find_product(text, lang, names_only=True)
        pid = named[0] if named else current_product_id
        return pid in self.catalog and r.asks_to_see(text, lang, pid)

    def _show_answer(
        self, pid: str, lang: str, user: dict[str, str], event: ChatEvent
    ) -> list[Sentence]:
        """ "Show me the lamp": the product and its price now, then its first feature; each
        sentence marked ``show``, which puts the product on screen as it is said."""
        slots = {**self._slots(pid, lang), **user}
        feats, _ = self.catalog.get(pid).features_in(lang)
        slots.update(zip(("feature",), feats[:1], strict=False))
        fams = ["answer_show", *(["answer_feature"] if feats else [])]
        out = self._said(fams, slots, pid, lang, event, Emotion.HAPPY)
        for s in out:
            s.show = True
        return out

    def _quantity_answer(
        self, pid: str, n: int, lang: str, user: dict[str, str], event: ChatEvent
    ) -> list[Sentence]:
        """ "How much for two?": the total for `n` at the price now, and the price of each;
        where fewer than `n` are left, how many are (a total the viewer cannot buy is no
        answer)."""
        p = self.catalog.get(pid)
        slots = {**self._slots(pid, lang), **user}
        if p.stock is not None and p.stock < n:
            return self._said([stock_family(p.stock)], slots, pid, lang, event)
        slots["count"] = count_word(n, lang)
        slots["total"] = format_price_spoken(self._now()(pid) * n, p.currency, lang)
        return self._said(["answer_quantity"], slots, pid, lang, event)

    def _entry_answer(
        self, entry: FaqEntry, lang: str, pid: str | None, event: ChatEvent, bare: bool = False
    ) -> Sentence:
        """An FAQ entry's answer (a product's or the shop's), as written, in `lang` or the
        language the catalog has it in; no leading yes to an open question (open_question)
        nor, `bare`, to one the entry does not ask."""
        text, text_lang = entry.a(lang)
        q = event.lang or detect_language(event.text)
        text = without_yes(text, text_lang) if bare else answer_to(event.text, q, text, text_lang)
        return self._sentence(text, Source.ANSWER, text_lang, pid, Emotion.NEUTRAL, event)

    def _not_carried(self, text: str, qlang: str, lang: str) -> tuple[str, dict[str, str], str]:
        """ "Do you have X?" for an X the shop does not sell: the family, slots and grammar
        code of "we don't have that tonight" with the closest product it does sell (content
        match, else none; the viewer's words are not repeated: chat is data). A service or a
        price for some buyers ("a store in Berlin?", "gibt es einen Studentenrabatt?") is no
        product: "I'll check", as "we don't have that" would be a guess about the shop."""
        r = self.retriever
        if any(r.asks(text, k) for k in ("shop_service", "group_price", "warranty")):
            return "dont_know", {}, "-"  # (a warranty: the product on screen's, unknown)
        hit = r.find_product(text, qlang)
        if hit is None:
            return "not_carried", {}, "-"
        return "not_carried", self._slots(hit[0], lang), self.catalog.get(hit[0]).grammar_of(lang)

    def for_the_team(self, event: ChatEvent) -> bool:
        """Whether the viewer writes about their own order or a fault ("where is my order?"):
        the shop's team answers that, so the host says so and hands it on, also where an LLM
        answers the rest (it cannot see orders either)."""
        r = self.retriever
        return r.asks(event.text, "order_help") and not r.asks_if_broken(event.text)
