"""The embedded default talk: catalog-grounded template sentences in en, de, it, zh.

Chat text is only ever *classified* here (language, intent, product, FAQ entry); what comes out
is template text filled with catalog text, prices formatted by the catalog, and - where the
`name_ok` policy allows - the viewer's display name. That keeps prompt injection out by
construction: there is no path from a viewer's words to the host's mouth.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..frames import ChatEvent, Emotion, Sentence, Source
from ..langdata import available_languages
from ..language import Intent, detect_language, other_language
from .catalog import Catalog
from .compound import answer_parts, first_answered, split_question
from .generator_tables import _EMOTION, _HANDED_ON
from .open_question import answer_to
from .picker import TemplatePicker
from .price_answers import PriceAnswers
from .product_requests import ProductRequests
from .reply import catalog_reply, stock_family
from .retrieval import Retriever
from .rotation import ProductRotation, feature_key
from .templates import default_name_ok, slots_for_product, user_slots
from .units import spoken_value
from .variety import Variety
from .viewer_lines import ViewerLines

# Segment families variety limits as a topic (talk/variety.py): a price, a deal (urgency) and
# an intro per product, a call to action whichever product it names.
_TOPICS = frozenset({"price", "intro", "cta", "urgency"})


class TemplateGenerator(PriceAnswers, ProductRequests, ViewerLines, ProductRotation):
    """Product talk, answers and thanks from templates and the catalog.

    In: a `Catalog`, the stream language, a seed; per call a product id or a `ChatEvent`.
    Out: lists of `Sentence` (source TEMPLATE / ANSWER / THANKS) in the stream language (or the
    question's language with `answer_in_question_language`). Deterministic for a given seed
    and call sequence. No sentence repeats within the last `window` sentences while the
    templates allow it.
    """

    def __init__(
        self,
        catalog: Catalog,
        lang: str = "en",
        seed: int = 0,
        *,
        name_ok: Callable[[str], bool] | None = None,
        answer_in_question_language: bool = False,
        answer_languages: tuple[str, ...] | None = None,
        window: int = 20,
    ) -> None:
        langs = available_languages()
        if lang not in langs:
            raise ValueError(f"lang must be one of {', '.join(langs)}, got {lang!r}")
        self.catalog = catalog
        self.lang = lang
        self.name_ok = name_ok or default_name_ok
        self.answer_in_question_language = answer_in_question_language
        # Languages a question is answered in (its own); None: every language with templates
        # when answer_in_question_language, else the stream language only.
        if answer_languages is None:
            answer_languages = langs if answer_in_question_language else (lang,)
        self.answer_languages = tuple(x for x in answer_languages if x in langs) or (lang,)
        # Called with (event, answer language) when the catalog has no answer: the question
        # goes to the operator (talk/followup.py) in the same moment the host says so.
        self.on_unanswered: Callable[[ChatEvent, str], None] | None = None
        self.lacking = False  # the last answer said the shop lacks what was asked
        # Media-time memory of product talk (talk/variety.py); None: no time-based rules.
        self.variety: Variety | None = None
        self.retriever = Retriever(catalog)
        self._rng = random.Random(seed)
        self._picker = TemplatePicker(self._rng, window)
        self._feature_cursor: dict[tuple[str, ...], int] = {}
        self._faq_ok: dict[tuple[str, str, str], bool] = {}
        self._faq_guards: dict[str, Any] = {}
        self.languages = langs
        self._product_slots = {
            (p.id, lg): slots_for_product(p, lg) for p in catalog for lg in langs
        }
        for (_pid, lg), s in self._product_slots.items():
            shop = catalog.shop(lg)
            if shop:
                s["shop"] = shop

        # Prices change during a show (standing discounts, flash sales): the engine sets this
        # to the price that is valid now; by default the catalog's regular price is spoken.
        self.price_now: Callable[[str, str], str] | None = None
        # ... and as a number, to answer "is it on sale?" (None: that gets the price alone).
        self.price_value_now: Callable[[str], Decimal] | None = None
        # (product id, language) -> the running flash sale's countdown line for that product
        # ("Only 5 minutes left on ..."), None when none runs: "when does the deal end?"
        self.sale_countdown: Callable[[str, str], str | None] | None = None

    def _slots(self, pid: str, lang: str) -> dict[str, str]:
        slots = dict(self._product_slots[(pid, lang)])
        if self.price_now is not None:
            slots["price"] = self.price_now(pid, lang)
        return slots

    # -- public API ----------------------------------------------------------------------------

    def next_segment(self, product_id: str, refrain: bool = False) -> list[Sentence]:
        """A few sentences presenting one product: intro, features, price, maybe urgency or
        social proof, call to action. ``refrain``: a recap, from what was not heard within the
        variety's refrain window (the director asks for one when nothing fresh is left)."""
        p = self.catalog.get(product_id)
        lang = self.lang
        plan = ["intro", "feature"]
        if self._rng.random() < 0.5:
            plan.append("feature")
        if self._rng.random() < 0.5 and p.faq:
            plan.append("faq_talk")  # a common question, asked and answered unprompted
        extra = self._rng.choice(["urgency", "social", None])
        if extra == "social":
            plan.append("social")
        plan.append("price")
        if extra == "urgency":
            plan.append("urgency")
        plan.append("cta")
        out: list[Sentence] = []
        v = self.variety
        for fam in plan:
            topic = fam if fam in _TOPICS else None
            about = "" if topic == "cta" else p.id
            if topic and v is not None and not v.topic_allowed(topic, about, refrain):
                continue  # said a moment ago (a price, an intro, a call to action)
            slots = self._slots(p.id, lang)
            if fam == "feature":
                f = self._next_feature(p, lang, refrain)
                if f is None:
                    continue
                slots["feature"] = f
            elif fam == "faq_talk":
                qa = self._next_faq(p, lang)
                if qa is None:
                    continue
                slots["question"], slots["answer"] = qa
            text = self._pick(
                fam, lang, slots, p.grammar_of(lang), fresh=v is not None, refrain=refrain
            )
            if text is None and v is not None and fam == "intro":
                text = self._pick(fam, lang, slots, p.grammar_of(lang), fresh=True, last=True)
            if text is not None:
                if v is not None:
                    v.said(text, lang)
                    if topic:
                        v.topic_said(topic, about)
                    elif fam == "feature":
                        v.topic_said("feature", feature_key(p.id, slots["feature"]))
                mood = _EMOTION.get(fam, Emotion.NEUTRAL)
                out.append(self._sentence(text, Source.TEMPLATE, lang, p.id, mood))
        return out

    def segment_or_recap(self, pid: str, quiet_s: float, max_s: float) -> list[Sentence]:
        """``next_segment``; when it has nothing fresh and the host has been quiet for
        ``max_s`` (> 0) already, a recap (``refrain``) instead of more dead air."""
        out = self.next_segment(pid)
        return out or (self.next_segment(pid, refrain=True) if max_s and quiet_s >= max_s else [])

    def answer(self, event: ChatEvent, current_product_id: str | None) -> list[Sentence]:
        """Answer a viewer's question from the catalog (price, feature, FAQ), greet, or say
        "let me check". The viewer's words are never part of the output."""
        text = self.retriever.respell(event.text or "")
        qlang = event.lang or detect_language(text, default=self.lang)
        if other_language(text):  # "¿cuánto cuesta?": the languages it speaks, in the show's
            qlang = self.lang
        lang = qlang if qlang in self.answer_languages else self.lang
        r = self.retriever

        def ask(t: str, pid: str | None) -> list[Sentence]:
            return answer_parts(self, split_question(t), pid,
                                lambda t, p, lead: self._answer(event, t, qlang, lang, p, lead),
                                lambda t, p: r.topic(t, qlang, p))  # fmt: skip

        out = first_answered(self, r.ways_to_ask(text, qlang, current_product_id), ask)
        if lang != qlang and out:
            note = self._pick("other_language", lang, {}, "-")
            if note is not None:
                pid = out[0].product_id
                out.insert(
                    0, self._sentence(note, Source.ANSWER, lang, pid, Emotion.NEUTRAL, event)
                )
        return out

    def _answer(
        self, event: ChatEvent, text: str, qlang: str, lang: str,
        current_product_id: str | None, lead_in: bool = True,
    ) -> list[Sentence]:  # fmt: skip
        r = self.retriever
        text = r.with_warranty(text, qlang)  # "what if it breaks?": its warranty
        named = r.find_product(text, qlang, names_only=True)
        pid = named[0] if named else current_product_id
        if pid is not None and pid not in self.catalog:
            pid = None
        if pid is None:
            hit = r.find_product(text, qlang)
            pid = hit[0] if hit else None
        on_screen = current_product_id if current_product_id in self.catalog else None
        if (
            named
            and on_screen
            and pid != on_screen
            and r.faq_match(text, pid, qlang) is None
            and (
                r.faq_match(text, on_screen, qlang) is not None
                or r.matching_features(text, on_screen, qlang)
            )
            and not r.names_whole(text, qlang, pid)
        ):
            # A weak name hit ("water" in "water bottle") loses to the product on screen
            # whose own FAQ or feature the question is ("how long does it keep the water
            # hot?": the kettle's keep-warm mode); a whole name does not: "is there a
            # warranty on the headphones?" is not the kettle's warranty.
            pid, named = on_screen, None
        if not named and pid is not None and (owner := r.owner_of_detail(text, qlang, pid)):
            # "what bluetooth version?" with the kettle on screen: the detail names the headphones
            pid, named = owner, (owner, 0.0)
        intent = r.detect_intent(text, qlang, pid)
        if (
            intent is Intent.HAVE
            and not named
            and (r.asks(text, "have_it") or r.asks(text, "use_it"))
        ):
            # "do you have it in black?", "cosa c'è nella confezione?": the product on screen
            intent = Intent.OTHER
        cap = r.budget_cap(text, bare=bool(named))  # "is the lamp under 30?": a price
        if cap is not None and named:
            intent = Intent.PRICE  # "is the bottle under 30 euros?": its price answers it
        user = user_slots(self._display(event.user), lang)

        def say(fam: str, slots: dict[str, str], code: str, emotion: str = Emotion.NEUTRAL) -> None:
            if fam in _HANDED_ON:
                self._unanswered(event, lang)
            elif fam == "ask_question" and not lead_in:
                return  # the second question of one message (talk/compound.py)
            # answered about another product than the one on screen: the lead-in names it
            prefer = frozenset(slots) if fam == "ask_question" and pid != on_screen else frozenset()
            t = self._pick(fam, lang, {**slots, **user}, code, prefer=prefer)
            if t is not None:  # "how much do I save?" takes no "Yes!" (talk/open_question.py)
                t = answer_to(text, qlang, t, lang)
                out.append(self._sentence(t, Source.ANSWER, lang, pid, emotion, event))

        out: list[Sentence] = []
        if lines := self.viewer_family(text, qlang, lang, bool(named)):
            say(*lines)  # "are you a bot?", "good night all", "where is my order?" ...
            return out
        if self._budget_answer(text, cap, bool(named), qlang, lang, on_screen, event, out):
            return out  # "anything under 30 euros?", "anything cheaper than the kettle?"
        if (
            not named
            and r.total_asked(text, qlang, on_screen)
            and (total := self.total_all_answer(lang))
        ):
            say(*total, "-")  # "how much for everything together?"
            return out
        if self._pair_answer(text, qlang, lang, intent is Intent.PRICE, event, out):
            return out  # "which is cheaper, the kettle or the lamp?", "... together?"
        if pid is not None and cap is None and (n := r.count_asked(text, qlang, pid)):
            if len(r.products_named_whole(text, qlang)) > 1:  # "2 bottles and 1 kettle": each
                return say("dont_know", {}, "-") or out  # its own count, the team's to add up
            return self._quantity_answer(pid, n, lang, user, event)  # "how much for two?"
        if kind := r.lineup_asked(text, qlang, pid):  # "what do you sell?", "what's on sale?"
            say(*self.lineup_answer(lang, kind), "-")
            return out
        if pid is not None and r.asks(text, "how_to_buy"):
            # "how do I order?", "where's the link?": how to buy the product asked about
            # (before the shop FAQ, whose answers speak of orders: "Come ordino?")
            say("cta", self._slots(pid, lang), self.catalog.get(pid).grammar_of(lang))
            return out
        if r.charges_itself(text, pid):  # "how do I charge the lamp?": not its phone pad
            return say("dont_know", {}, "-") or out
        shop = r.shop_faq_match(text, qlang) if intent is Intent.FAQ else None
        if shop is not None and (pid is None or r.faq_match(text, pid, qlang) is None):
            # About the shop, not a product ("can I return it?"): the shop's own answer,
            # after a lead-in that names no product.
            say("ask_question", {}, "-")
            out.append(self._entry_answer(shop.entry, lang, None, event))
            return out
        if pid is not None and r.asks_to_see(text, qlang, pid):
            return self._show_answer(pid, lang, user, event)  # "show me the lamp"
        if rec := r.recommendation(text, qlang, pid):  # "what do you recommend?"
            pid = rec
        if pid is not None and (rec or r.asks_what_it_is(text, qlang, pid)):
            # ... or "what is this?": the product, its price, a feature (the one asked first)
            p = self.catalog.get(pid)
            slots, code = {**self._slots(pid, lang), **user}, p.grammar_of(lang)
            feats, _ = p.features_in(lang)
            first = r.matching_features(text, pid, qlang)[:1] if rec and feats else []
            feats = [feats[i] for i in first] + [f for i, f in enumerate(feats) if i not in first]
            slots.update(zip(("feature", "feature2"), feats[:2], strict=False))
            say("answer_recommend" if rec else "answer_what_is", slots, code)
            if feats:
                say("answer_feature", slots, code)
            return out
        if pid is not None and r.asks_deal_end(text, qlang, pid):
            self._deal_ends(pid, lang, event, out)
            return out
        if intent is Intent.GREETING and not named:
            say("greeting", {}, "-", Emotion.HAPPY)
            return out
        if intent is Intent.HAVE and not named and not r.on_screen_has(text, qlang, pid):
            self.lacking = True  # (talk/compound.py: a question after a tale may find it)
            say(*self._not_carried(text, qlang, lang))  # a product (service, price) it lacks
            return out
        if intent is Intent.PRICE and (
            r.asks(text, "price_terms") or (not named and r.asks(text, "group_price"))
        ):
            # "is there a student discount?", "is the price with VAT?": the shop's policy,
            # which no catalog price says
            say("dont_know", {}, "-")
            return out
        if intent is Intent.PRICE and (end := r.price_end(text)):
            # "what's the cheapest thing tonight?" (or the most expensive): the product that
            # costs least (most) now, a sale counts, whichever is on screen; the guard checks
            # its price.
            if ids := self.products_by_price():
                pid = ids[0] if end == "cheapest" else ids[-1]
                say(f"answer_{end}", self._slots(pid, lang), self.catalog.get(pid).grammar_of(lang))
                return out
        if intent is Intent.OTHER and not named and r.asks_of_product(text, qlang, pid):
            intent = (
                Intent.FEATURE
            )  # "把手烫吗？" ("does the handle get hot?"), "what's in the box?"
        if pid is None or intent is Intent.GREETING or (intent is Intent.OTHER and not named):
            say("dont_know", {}, "-")
            return out
        p = self.catalog.get(pid)
        code = p.grammar_of(lang)
        slots = self._slots(pid, lang)
        if intent is Intent.PRICE:
            # The price comes first: a viewer who asked should hear it within a second, not
            # after a lead-in sentence.
            say(self._price_family(p, text), {**slots, "regular": p.price_spoken(lang)}, code)
            return out
        if intent is Intent.STOCK:
            say(stock_family(p.stock), slots, code)
            return out
        rep = catalog_reply(r, p, text, qlang, lang, intent)
        t = None
        if rep.kind == "spec":
            # The spec's value in words ("2200 watts"), where the language has an answer for
            # that spec and words for its unit; else what the reply found that states it.
            value = spoken_value(p.specs[rep.spec], lang)
            t = value and self._pick(f"spec:{rep.spec}", lang, {**slots, "value": value}, code)
        if t:
            say("ask_question", slots, code)
            out.append(self._sentence(t, Source.ANSWER, lang, pid, Emotion.NEUTRAL, event))
        elif rep.faq is not None:
            say("ask_question", slots, code)
            out.append(self._entry_answer(rep.faq.entry, lang, pid, event, rep.bare))
        elif rep.features:
            feats, _ = p.features_in(lang)
            slots["feature"] = feats[rep.features[0]]
            if rep.pair:
                slots["feature2"] = feats[rep.features[1]]
            say("ask_question", slots, code)
            say("answer_feature", slots, code)
        else:
            say("dont_know", {}, "-")
        return out

    def _unanswered(self, event: ChatEvent, lang: str) -> None:
        if self.on_unanswered is not None:
            self.on_unanswered(event, lang)

    def template_counts(self) -> dict[str, int]:
        """Number of templates per language."""
        return {lg: self._picker.count(lg) for lg in self.languages}

    # -- internals -----------------------------------------------------------------------------

    def _pick(
        self, family: str, lang: str, slots: dict[str, str], code: str, *,
        fresh: bool = False, last: bool = False, refrain: bool = False,
        prefer: frozenset[str] = frozenset(),
    ) -> str | None:  # fmt: skip
        """`fresh`: only a text `variety` allows now (`last`: the hard window alone;
        `refrain`: the refrain window); `prefer`: see `TemplatePicker.pick`."""
        variety = self.variety if fresh else None
        return self._picker.pick(
            family, lang, slots, code, variety=variety, last=last, refrain=refrain, prefer=prefer
        )

    def _sentence(
        self,
        text: str,
        source: str,
        lang: str,
        product_id: str | None,
        emotion: str,
        reply_to: ChatEvent | None = None,
    ) -> Sentence:
        return Sentence(text, source, lang, product_id, emotion=emotion, reply_to=reply_to)
