"""Answers about what things cost beyond "how much?": whether there is a deal now, when it
ends, which of two products is cheaper (and, asked about two, what each one is), the cheapest
product of the show, and what fits a viewer's budget ("anything under 30 euros?").

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
from ..langdata import load_languages
from ..language import fold
from .catalog import Catalog, Product
from .prices import format_price_spoken
from .templates import fill, second_product, user_slots
from .units import spoken_value

# A list read out longer than this loses the viewer: the first ones, "and more".
LINEUP_NAMES = 5


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

    def _pair_answer(
        self, text: str, qlang: str, lang: str, price: bool, event: ChatEvent, out: list[Sentence]
    ) -> bool:
        """Two products named whole ("water" of "water bottle" names no kettle), answered
        into `out`: "which is cheaper, the kettle or the lamp?" (the cheaper one first); a
        price question ("together?", "lamp + bottle?": both and the total); a spec both have ("which is
        lighter, the headphones or the backpack?": each one's value, no verdict the units
        would have to make). False where it is none of these."""
        r = self.retriever
        compare = r.asks(text, "compare_price")
        pair = r.products_named_whole(text, qlang)[:2]
        if len(pair) < 2:
            return False
        if compare or price:  # "price for lamp + bottle?": both prices and the total
            self._compare(pair, lang, event, out, total=not compare)
            return True
        folded = fold(text)

        def first_said(pid: str) -> int:  # in the order the viewer named them
            at = [folded.find(fold(n)) for n in r.names_of(pid, qlang) if n]
            return min([i for i in at if i >= 0], default=len(folded))

        pair.sort(key=first_said)
        specs = [r.specs_asked(text, qlang, pid)[:1] for pid in pair]
        if not any(specs):
            # "what's the difference between the kettle and the bottle?": what each one is,
            # in its first feature (the one a shop lists first says what the product is for)
            return r.asks(text, "difference") and self._each_said(pair, lang, event, out)
        if not all(specs):
            return False  # "... in weight?" where one of them has no weight: the team's
        said = []
        for pid, (spec,) in zip(pair, specs, strict=True):
            p = self.catalog.get(pid)
            value = spoken_value(p.specs[spec], lang)
            # each sentence names its product: "It weighs 1.1 kilograms" would leave which?
            named = [t for t in load_languages()[lang].spec_answers.get(spec, ())
                     if "{The}" in t or "{the}" in t]  # fmt: skip
            if not value or not named:
                return False
            slots = {**self._slots(pid, lang), "value": value}
            said.append(self._sentence(fill(named[0], slots, p.grammar_of(lang), lang),
                                       Source.ANSWER, lang, pid, Emotion.NEUTRAL, event))  # fmt: skip
        out += said
        return True

    def _each_said(self, pids: list[str], lang: str, event: ChatEvent, out: list[Sentence]) -> bool:
        """Each product named with its first feature (answer_difference), in `pids` order;
        False, saying nothing, where one has no features in `lang` (never an English one in a
        German answer)."""
        said = []
        for pid in pids:
            p = self.catalog.get(pid)
            feats, flang = p.features_in(lang)
            t = feats and flang == lang and self._pick("answer_difference", lang,
                                     {**self._slots(pid, lang), "feature": feats[0]}, p.grammar_of(lang))  # fmt: skip
            if not t:
                return False
            said.append(self._sentence(t, Source.ANSWER, lang, pid, Emotion.NEUTRAL, event))
        out += said
        return True

    def _compare(
        self, pair: list[str], lang: str, event: ChatEvent, out: list[Sentence], total: bool
    ) -> None:
        """The cheaper of two named products with its price now, then the other's; at the
        same price, each one's price answer. ``total``: both prices and their sum (where both
        are in one currency)."""
        now = self._now()
        a, b = sorted(pair, key=lambda pid: (now(pid), pid))
        currencies = {self.catalog.get(pid).currency for pid in pair}
        slots = {**self._slots(a, lang), **second_product(self._slots(b, lang))}
        if total and len(currencies) == 1:
            slots["total"] = format_price_spoken(now(a) + now(b), currencies.pop(), lang)
            fam = "answer_total"
        elif now(a) == now(b) or total:  # (a total in two currencies: each price)
            for pid in (a, b):
                t = self._pick("answer_price", lang, self._slots(pid, lang),
                               self.catalog.get(pid).grammar_of(lang))  # fmt: skip
                if t is not None:
                    out.append(self._sentence(t, Source.ANSWER, lang, pid, Emotion.NEUTRAL, event))
            return
        else:
            fam = "answer_compare"
        t = self._pick(fam, lang, slots, self.catalog.get(a).grammar_of(lang))
        if t is not None:
            out.append(self._sentence(t, Source.ANSWER, lang, a, Emotion.NEUTRAL, event))

    def lineup_answer(self, lang: str, kind: str = "lineup") -> tuple[str, dict[str, str]]:
        """ "What do you sell tonight?": the family and {names} slot naming the products in
        stock, in catalog order; more than LINEUP_NAMES: the first ones, as examples. ``kind``
        "deals": those whose price now is below the regular one (none: answer_no_deals)."""
        d = load_languages()[lang]
        ids = [p.id for p in self.catalog if p.stock is None or p.stock > 0] or self.catalog.ids
        if kind == "deals":
            now = self.price_value_now or (lambda pid: self.catalog.get(pid).standing_price)
            ids = [pid for pid in ids if now(pid) < self.catalog.get(pid).price]
            if not ids:
                return "answer_no_deals", {}
        names = [self._slots(pid, lang)["the"] for pid in ids[:LINEUP_NAMES]]
        said = d.said_list(names)
        many = len(ids) > LINEUP_NAMES
        fam = "answer_deals" if kind == "deals" else f"answer_lineup{'_many' * many}"
        return fam, {"names": said}

    def total_all_answer(self, lang: str) -> tuple[str, dict[str, str]] | None:
        """ "How much for everything?": the products in stock, named, and their total at
        today's prices; None where there is nothing to add up (one product, more than
        LINEUP_NAMES to name, or two currencies)."""
        ids = [p.id for p in self.catalog if p.stock is None or p.stock > 0]
        if not 1 < len(ids) <= LINEUP_NAMES:
            return None
        currencies = {self.catalog.get(pid).currency for pid in ids}
        if len(currencies) != 1:
            return None
        now = self._now()
        total = format_price_spoken(
            sum((now(pid) for pid in ids), Decimal(0)), currencies.pop(), lang
        )
        names = load_languages()[lang].said_list([self._slots(pid, lang)["the"] for pid in ids])
        return "answer_total_all", {"names": names, "total": total}

    def _price_family(self, p: Product, text: str) -> str:
        """answer_price; for "is it on sale?", whether it is now (answer_deal / _no_deal)."""
        if self.price_value_now is None or not self.retriever.asks(text, "deal"):
            return "answer_price"
        return "answer_deal" if self.price_value_now(p.id) < p.price else "answer_no_deal"

    def _budget_answer(self, text: str, cap: Decimal | None, named: bool, qlang: str, lang: str,
                       on_screen: str | None, event: ChatEvent, out: list[Sentence]) -> bool:  # fmt: skip
        """Whether the text asks for products within a budget, answered into `out` if so:
        "anything under 30 euros?" (`cap`, the text's ceiling) with no product `named`, or
        "anything cheaper than the kettle?" (the ceiling a cent under its price now)."""
        if cap is not None and named:
            return False  # "is the bottle under 30 euros?": its price answers it
        if cap is None and (pid := self.retriever.cheaper_than(text, qlang, on_screen)) is not None:
            cap = self._now()(pid) - Decimal("0.01")
        if cap is None:
            return False
        self._budget(cap, lang, event, out)
        return True

    def _budget(self, cap: Decimal, lang: str, event: ChatEvent, out: list[Sentence]) -> None:
        """ "Anything under 30 euros?": the products whose price now is within `cap`, the
        most affordable first - one, two, two of several, or all; with none, the most
        affordable one, honestly above it. The ceiling itself is never said (the guard holds
        every amount the host says to the catalog's)."""
        ids = self.products_by_price()
        if not ids:
            return
        now = self._now()
        n = sum(1 for pid in ids if now(pid) <= cap)
        fam = ("answer_budget_none", "answer_budget", "answer_budget_two")[n] if n < 3 else (
            "answer_budget_all" if n == len(ids) else "answer_budget_many")  # fmt: skip
        slots = self._slots(ids[0], lang)
        if n >= 2:
            slots.update(second_product(self._slots(ids[1], lang)))
        t = self._pick(fam, lang, slots, self.catalog.get(ids[0]).grammar_of(lang))
        if t is not None:
            out.append(self._sentence(t, Source.ANSWER, lang, ids[0], Emotion.NEUTRAL, event))

    def _now(self) -> Callable[[str], Decimal]:
        return self.price_value_now or (lambda pid: self.catalog.get(pid).price)

    def products_by_price(self) -> list[str]:
        """The products in stock, the lowest price now first."""
        now = self._now()
        ids = [p.id for p in self.catalog if p.stock is None or p.stock > 0]
        return sorted(ids, key=lambda pid: (now(pid), pid))
