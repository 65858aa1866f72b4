"""What kind of request a chat message is, beyond its intent: "what is this?", "when does the
sale end?", "show me the lamp", small talk to the host, "how much for two?", "what if it
breaks?" (its warranty), and a detail only another product has ("what bluetooth version?"
with the kettle on screen).

A mixin of the retriever (``talk/retrieval.py``), which owns what it reads: the catalog, its
phrase lists (``asks``), the "nothing else asked" test (``_asks_only``) and the spec, FAQ,
feature and unknown-detail lookups. In: a message, its language and the product on screen;
out: a yes/no, a count, a product id or the message as a warranty question.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..langdata import load_languages
from ..language import fold
from .catalog import Catalog
from .compound import greeting_lead, tale_and_question
from .intent_words import intent_patterns
from .quantity import quantity_asked, quantity_words


class RequestKinds:
    """Request tests of the retriever (see the module)."""

    catalog: Catalog
    asks: Any
    _asks_only: Any
    price_end: Any
    faq_match: Any
    shop_faq_match: Any
    specs_asked: Any
    matching_features: Any
    timed_answer: Any
    answer_covering: Any
    find_product: Any
    names_of: Any
    names_whole: Any
    feature_words_met: Any
    unknown_details: Any

    def asks_deal_end(self, text: str, lang: str, product_id: str) -> bool:
        """ "When does the sale end?", "Bis wann?", 优惠到什么时候？ about the product: the
        ``[intent] deal_ends`` words, with nothing else asked but the product's name ("Wie
        lange gilt die *Garantie*?" asks about a warranty, "how long does the *battery*
        last?" about the battery) and no FAQ entry of the product."""
        return self._asks_only(text, lang, product_id, ("deal_ends", "deal"))

    def asks_what_it_is(self, text: str, lang: str, product_id: str) -> bool:
        """ "What is this?", "Was ist das?", "Cos'è?", 这是什么？: the ``[intent] what_is_it``
        words and nothing else ("what is it *made* of?", "was ist das *teuerste*?" ask
        something else)."""
        return not self.price_end(text) and self._asks_only(text, lang, product_id, ("what_is_it",))

    def owner_of_detail(self, text: str, lang: str, product_id: str) -> str | None:
        """The one other product whose catalog says all that the question asks, a spec or an
        FAQ entry of it, where the product on screen (`product_id`) says none of it and the
        question does not point at it (``[intent] this_one``): "what bluetooth version?" with
        the kettle on screen asks about the headphones, "is *it* BPA free?" about the kettle,
        which the catalog does not say. None where no product or more than one does ("how
        heavy is it?": the headphones and the backpack both have a weight)."""
        if any(self.asks(text, k) for k in ("this_one", "ask_material", "warranty")):
            # "is *it* BPA free?" asks about the kettle on screen: "I'll check"; so does "what
            # material is it?" (not the backpack's "recycled material"), and "is there a
            # warranty?" with the headphones on screen (not the kettle's 2 years)
            return None
        if (
            self.specs_asked(text, lang, product_id)
            or self.faq_match(text, product_id, lang)
            or self.matching_features(text, product_id, lang)
            or self.timed_answer(text, product_id, lang)  # "how long for one cup?": boiling
        ):
            return None
        trade = self._asks_trade(text)
        owners = [
            o
            for o in self.catalog.ids
            if o != product_id
            and (
                self.specs_asked(text, lang, o)
                or self.faq_match(text, o, lang)
                or (not trade and self._feature_names(text, lang, o))
            )
            # a number is the value asked about ("a *17* inch laptop"), which the spec answers
            and not {u for u in self.unknown_details(text, lang, o) if not u.isdigit()}
        ]
        return owners[0] if len(owners) == 1 else None

    def ways_to_ask(
        self, text: str, lang: str, on_screen: str | None
    ) -> Iterator[tuple[str, str | None]]:
        """(text, product) pairs to answer in turn until one finds an answer: the message,
        about the product a compliment before it names ("omg that lamp is so pretty, how
        much??") or the one on screen; then the question after a tale (`told_then_asked`),
        sought only if the message found none (most do)."""
        lead = greeting_lead(text)
        yield text, self.named_in_lead(lead, text[len(lead) :], lang) or on_screen
        if told := self.told_then_asked(text, lang):  # "my kettle broke lol. warranty?"
            yield told[0], told[1] or on_screen

    def told_then_asked(self, text: str, lang: str) -> tuple[str, str | None] | None:
        """A message that tells something beside its question (``compound.tale_and_question``):
        the question, and the product the told part names where the question names none ("my
        daughter needs a backpack for uni, how many litres is it?": the backpack), its name
        put before the question, as the viewer named it ("meine alte Flasche stinkt, ist die
        aus Edelstahl?" is no question about the kettle's steel body); None."""
        split = tale_and_question(text)
        if split is None:
            return None
        lead, question = split
        if self.find_product(question, lang, names_only=True):
            # "we have a gas stove, does the kettle work on *it*?": with the product named,
            # "it" is the thing told of, which the question alone would lose
            return None if self.asks(question, "this_one") else (question, None)
        named = self._named_whole(lead, lang)
        if named is not None:
            question = f"{next(n for n in self.names_of(named, lang) if n)} {question}"
        return question, named

    def named_in_lead(self, lead: str, question: str, lang: str) -> str | None:
        """The product `lead` names where `question` names none, else None: "omg that *lamp*
        is so pretty, how much??" asks the lamp's price, whatever is on screen."""
        if not lead or self.find_product(question, lang, names_only=True):
            return None
        return self._named_whole(lead, lang)

    def _named_whole(self, text: str, lang: str) -> str | None:
        """The product `text` names by a whole name or alias: "my *desk* is small, will it
        fit?" is no question about the lamp."""
        hit = self.find_product(text, lang, names_only=True)
        return hit[0] if hit and self.names_whole(text, lang, hit[0]) else None

    def charges_itself(self, text: str, product_id: str | None) -> bool:
        """ "How do I charge the lamp?", 台灯怎么充电？ (``[intent] charge_self``, no ``phone``
        word): how the product itself is powered, which a product without a battery spec
        does not say; its FAQ about the phones its base charges is no answer."""
        p = self.catalog.products.get(product_id) if product_id else None
        return (
            p is not None
            and self.asks(text, "charge_self")
            and not self.asks(text, "phone")
            and not any("battery" in n.lower() for n in p.specs)
        )

    def asks_of_product(self, text: str, lang: str, product_id: str | None) -> bool:
        """A question naming no product that is about the one on screen all the same: one a
        feature of it answers (``asks_about_feature``), or how it is used or what is in its
        box with a detail asked ("what's in the box?": an FAQ answer may say "... a cable is in
        the box", else the team's); not "what comes with it?", which asks nothing more."""
        if product_id is None:
            return False
        if self.asks(text, "ask_material") or self.specs_asked(text, lang, product_id):
            # "壶身是什么材料？" ("what is the body made of?"): its features say; "passt mein
            # 15 Zoll MacBook rein?": its laptop spec answers
            return True
        if self.asks_about_feature(text, lang, product_id):
            return True
        unknown = self.unknown_details(text, lang, product_id)
        # "能登机吗？" (cabin luggage?): an FAQ answer says it ("... 随身行李")
        return bool(unknown) and (
            self.asks(text, "use_it")
            or self.answer_covering(text, product_id, lang, unknown) is not None
        )

    def asks_about_feature(self, text: str, lang: str, product_id: str | None) -> bool:
        """A question no intent word marks that a feature of the product on screen answers:
        it names a thing the feature says and nothing the catalog lacks ("把手烫吗？": the
        kettle's 防烫把手, its cool-touch handle)."""
        return (
            product_id is not None
            and not self._asks_trade(text)
            and self._feature_names(text, lang, product_id)
            and not self.unknown_details(text, lang, product_id)
        )

    def _asks_trade(self, text: str) -> bool:
        """A price, deal or stock question: a feature's words in it are no detail asked ("is
        the sale *over*?" asks the deal, not the strap that slides over a trolley handle)."""
        return any(self.asks(text, k) for k in ("price_strong", "price_weak", "deal", "stock"))

    def _feature_names(self, text: str, lang: str, product_id: str) -> bool:
        """Whether a feature of the product says a thing the text asks about ("Sind die
        *Ohrpolster* bequem?": the headphones' "weiche Ohrpolster"); a number or a count is
        no such thing ("if I buy *two*" is not "*two* devices at once")."""
        feats = self.matching_features(text, product_id, lang)
        if not feats:
            return False
        counts = quantity_words(lang)
        met = self.feature_words_met(text, product_id, lang, feats[0])
        return any(not w.isdigit() and w not in counts for w in met)

    def asks_to_see(self, text: str, lang: str, product_id: str) -> bool:
        """ "Show me the lamp", "Zeig mal die Lampe", 给我看看台灯: ``[intent] show_me`` words
        and nothing else but the product's name and the frame of asking."""
        return not self.asks(text, "price_strong") and self._asks_only(
            text, lang, product_id, ("show_me", "again")
        )  # 看看台灯多少钱 asks the price

    def asks_small_talk(self, text: str, lang: str, key: str = "small_talk") -> bool:
        """ "How are you?", "love your voice", 你好吗 (``key`` "farewell": "good night all",
        拜拜): ``[intent] key`` and nothing else but greetings, small talk and the frame of
        asking ("how are you *shipping* it?" asks something)."""
        if not self.asks(text, key) or not self.catalog.ids:
            return False
        # the frame test wants a product; none is named in small talk, so any will do
        keys = (key, "small_talk", "greeting", "farewell")
        return self._asks_only(text, lang, self.catalog.ids[0], keys)

    def count_asked(self, text: str, lang: str, product_id: str) -> int | None:
        """How many of the product a price question asks for ("how much for two bottles?",
        see ``talk/quantity.py``), or None: no count, no price words, a deal asked about ("if
        I buy two, is there a discount?" asks about the offer), or a spec ("how much do two
        bottles hold?")."""
        if not (self.asks(text, "price_strong") or self.asks(text, "price_weak")):
            return None
        if self.asks(text, "deal"):
            return None
        n = quantity_asked(text, lang)
        return n if n is not None and not self.specs_asked(text, lang, product_id) else None

    def asks_if_broken(self, text: str) -> bool:
        """ "What if the kettle breaks?", "Was ist, wenn er kaputtgeht?", 坏了怎么办？: a fault
        under a condition (``[intent] what_if`` and ``fault``), which asks what the warranty
        covers; not a viewer's own broken order ("it arrived broken")."""
        return self.asks(text, "what_if") and self.asks(text, "fault")

    def with_warranty(self, text: str, lang: str) -> str:
        """The text as a warranty question where it asks what happens if the product breaks
        (see `asks_if_broken`), folded: the language's first ``[intent] warranty`` word in
        place of its fault words and its condition words dropped, so the product's warranty
        entry or spec answers it (none: "I'll check")."""
        if not self.asks_if_broken(text):
            return text  # (first: most messages ask nothing of the kind, and listing the
            # language files each time cost a quarter of a millisecond per answer)
        d = load_languages().get(lang)
        if d is None or not d.intent["warranty"]:
            return text
        if self.shop_faq_match(text, lang) is not None:
            return text  # the shop's own entry speaks of faults ("a faulty item is replaced")
        out = fold(text)
        pats = intent_patterns()
        # the fault is what the warranty covers and the condition frames it: no details
        for key, put in (("fault", f" {d.intent['warranty'][0]} "), ("what_if", " ")):
            for pat in pats[key]:
                if pat is not None:
                    out = pat.sub(put, out)
        return out
