"""What live-shopping chat asks beside specs and prices, in four languages: "show me the lamp"
(the product goes on screen as the host presents it), "what if it breaks?" (its warranty, not the
team's fault desk), "just bought the kettle!" (thanked in the viewer's language, the product
named), and the wordings that went to the operator though the catalog answers them."""

from __future__ import annotations

import pytest
from conftest import running_engine

from streamhost.chat.triage import Priority, make_classifier
from streamhost.frames import ChatEvent, Sentence, Source
from streamhost.talk.generator import TemplateGenerator
from streamhost.talk.retrieval import Retriever


def _gen(catalog) -> tuple[TemplateGenerator, list[str]]:
    gen = TemplateGenerator(catalog, "en", answer_in_question_language=True)
    handed: list[str] = []
    gen.on_unanswered = lambda ev, lang: handed.append(ev.text)
    return gen, handed


def _classify(catalog, on_screen: str = "kettle"):
    return make_classifier(Retriever(catalog), catalog, current_product=lambda: on_screen)


def _ask(catalog, lang: str, text: str, on_screen: str = "kettle"):
    """(what the host says to `text` with `on_screen` on screen, the texts handed on)."""
    gen, handed = _gen(catalog)
    return gen.answer(ChatEvent("anna", text, lang=lang), on_screen), handed


def _answered(catalog, lang: str, text: str) -> str:
    """What the host says to `text` (the kettle on screen), triaged as a question and not
    handed to the operator."""
    assert _classify(catalog)(ChatEvent("anna", text, lang=lang))[0] is Priority.QUESTION
    out, handed = _ask(catalog, lang, text)
    said = " ".join(s.text for s in out)
    assert out and not handed, said
    return said


SHOW = [
    ("en", "show me the lamp", "lamp", "LED desk lamp"),
    ("en", "can you show the backpack again?", "backpack", "travel backpack"),
    ("de", "Zeig mal die Lampe", "lamp", "Schreibtischlampe"),
    ("de", "Kannst du den Rucksack nochmal zeigen?", "backpack", "Reiserucksack"),
    ("it", "Fammi vedere la lampada", "lamp", "lampada da scrivania"),
    ("it", "mi fai vedere lo zaino?", "backpack", "zaino da viaggio"),
    ("zh", "给我看看台灯", "lamp", "LED护眼台灯"),
    ("zh", "再看看背包", "backpack", "旅行双肩包"),
]


@pytest.mark.parametrize(("lang", "text", "pid", "name"), SHOW)
def test_show_me_presents_the_product_and_marks_it_for_the_screen(
    catalog, lang, text, pid, name
) -> None:
    """ "show me the lamp" was dropped as chatter or handed on: now a question, answered in
    the viewer's language with the product, its price and a feature, each sentence marked to
    put that product on screen."""
    assert _classify(catalog)(ChatEvent("anna", text, lang=lang)) == (
        Priority.QUESTION, f"show:{pid}:{lang}",
    )  # fmt: skip
    out, handed = _ask(catalog, lang, text)
    assert out and not handed
    assert all(s.show and s.product_id == pid and s.lang == lang for s in out), out
    assert name in out[0].text
    assert str(int(catalog.get(pid).price)) in out[0].text, out[0].text  # and its price


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "how much again?"), ("zh", "看看台灯多少钱"), ("en", "how big is the lamp?"),
     ("de", "was kostet der nochmal?")],
)  # fmt: skip
def test_a_question_that_asks_more_than_to_see_is_answered_as_asked(catalog, lang, text) -> None:
    """A price or size question with "again" or 看看 in it is that question, not a request to
    see the product: the panel stays where the show has it."""
    out, handed = _ask(catalog, lang, text)
    assert out and not handed and not any(s.show for s in out), [s.text for s in out]


@pytest.mark.timeout(120)
async def test_show_me_switches_the_panel_and_an_answer_does_not(tmp_path) -> None:
    """On air: an answer about the bottle leaves the product on screen; "show me the bottle"
    puts the bottle on screen with the answer's first sentence."""
    async with running_engine(tmp_path, virtual=True, duration=40, talk={"show": ""}) as (
        engine, _url, task,
    ):  # fmt: skip
        st = engine.primary
        sub = st.events.add()
        sub.subscribe(["transcript"])
        await st.clock.sleep_until(2.0)
        first = st.director.current_product
        assert first != "bottle"  # the show opens with the catalog's first product

        async def reply_committed(trace_id: str) -> str | None:
            while st.clock.now() < 30.0:
                await st.clock.sleep(0.02)
                for e in sub.take():
                    if e.get("phase") == "committed" and e.get("reply_to") == trace_id:
                        return st.director.current_product
            return None

        asked, _ = st.submit_chat({"user": "anna", "text": "how big is the bottle?"})
        assert await reply_committed(asked.trace_id) == first
        shown, _ = st.submit_chat({"user": "ben", "text": "show me the bottle"})
        assert await reply_committed(shown.trace_id) == "bottle"
        engine.request_stop()
        await task


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "what if the kettle breaks?", "2 year warranty"),
     ("en", "what if it breaks", "2 year warranty"),
     ("de", "Was passiert, wenn der Wasserkocher kaputtgeht?", "2 Jahre Garantie"),
     ("de", "und wenn er kaputt geht?", "2 Jahre Garantie"),
     ("it", "Cosa succede se il bollitore si rompe?", "garanzia di 2 anni"),
     ("zh", "水壶坏了怎么办？", "保修2年"),
     ("zh", "如果水壶坏了呢？", "保修2年"),
     ("en", "does the kettle have a guarantee?", "2 year warranty"),
     ("de", "Wie lange ist die Gewährleistung?", "2 Jahre Garantie")],
)  # fmt: skip
def test_what_if_it_breaks_is_answered_with_the_warranty(catalog, lang, text, said) -> None:
    """A fault under a condition asks what the warranty covers: went to the operator (or was
    dropped as chatter) as if the viewer's own order were broken."""
    assert said in _answered(catalog, lang, text)
    assert not _gen(catalog)[0].for_the_team(ChatEvent("anna", text, lang=lang))


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "what if the lamp breaks?"), ("en", "my kettle arrived broken"),
     ("en", "I bought the kettle last week and it broke"), ("de", "mein Wasserkocher ist kaputt")],
)  # fmt: skip
def test_no_warranty_or_a_broken_order_still_goes_to_the_team(catalog, lang, text) -> None:
    """The lamp's catalog has no warranty: "I'll check", never a guess; a viewer whose own
    product broke is the team's (and never thanked for an order)."""
    prio, _ = _classify(catalog)(ChatEvent("anna", text, lang=lang))
    assert prio is Priority.QUESTION
    out, handed = _ask(catalog, lang, text)
    assert handed == [text]
    assert not any("warranty" in s.text or "Garantie" in s.text for s in out)


@pytest.mark.parametrize(
    ("lang", "text", "pid", "name"),
    [("en", "bought the kettle!", "kettle", "electric kettle"),
     ("en", "just ordered the headphones 🎧", "headphones", "wireless headphones"),
     ("de", "Hab gerade den Wasserkocher gekauft!", "kettle", "Wasserkocher"),
     ("it", "Ho appena comprato il bollitore!", "kettle", "bollitore elettrico"),
     ("zh", "刚买了水壶！", "kettle", "电热水壶")],
)  # fmt: skip
def test_a_purchase_comment_is_thanked_in_the_viewers_language_naming_it(
    catalog, lang, text, pid, name
) -> None:
    """Thanks went out in the stream's language, and half the time without the product the
    viewer named ("just bought something"): now in the viewer's language, naming it."""
    assert _classify(catalog)(ChatEvent("anna", text, lang=lang))[0] is Priority.THANKS
    gen, _ = _gen(catalog)
    for _ in range(6):  # every template the picker rotates through
        out = gen.thanks(ChatEvent("Anna", text, lang=lang))
        assert len(out) == 1 and out[0].source == Source.THANKS and out[0].lang == lang
        assert out[0].product_id == pid and name in out[0].text, out[0].text
    # a stream that answers only in its own language thanks in it
    plain = TemplateGenerator(catalog, "en").thanks(ChatEvent("Anna", text, lang=lang))
    assert plain[0].lang == "en"


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("de", "Wie viele Rucksäcke habt ihr noch?", "8"), ("zh", "背包还有几个？", "8"),
     ("zh", "耳机还有多少？", "15"),
     ("en", "what would you buy for my mum", "electric kettle"),
     ("it", "Cosa regaleresti a mia mamma?", "bollitore"),
     ("en", "which one is best for travel?", "travel backpack"),
     ("en", "what would you get if you had 30 euros", "24 euros 90"),
     ("de", "Passt der Rucksack ins Handgepäck?", "Handgepäck"),
     ("it", "Si può regolare la luce della lampada?", "dimmer"),
     ("en", "will my samsung charge on the lamp", "Qi wireless"),
     ("en", "is there a money back guarantee?", "30 days"),
     ("en", "how much again?", "39 euros 90")],
)  # fmt: skip
def test_wordings_the_catalog_answers(catalog, lang, text, said) -> None:
    """Each of these went to the operator or was dropped, though the catalog says it: stock
    counted in German and Chinese, a gift or a pick asked as "what would you buy", a
    carry-on bag, a dimmer, a phone by its make, a money-back guarantee (the returns policy)."""
    assert said in _answered(catalog, lang, text)


@pytest.mark.parametrize(
    ("lang", "text", "pid", "name", "said"),
    [("en", "what bluetooth version?", "headphones", "wireless headphones", "5.3"),
     ("en", "how many lumens?", "lamp", "LED desk lamp", "800"),
     ("de", "Wie lange hält der Akku?", "headphones", "Funkkopfhörer", "35"),
     ("it", "quanti lumen?", "lamp", "lampada da scrivania", "800"),
     ("zh", "电池能用多久？", "headphones", "无线降噪耳机", "35"),
     ("zh", "蓝牙是什么版本？", "headphones", "无线降噪耳机", "5.3")],
)  # fmt: skip
def test_a_detail_only_another_product_has_is_answered_about_it_by_name(
    catalog, lang, text, pid, name, said
) -> None:
    """With the kettle on screen, "what bluetooth version?" can only mean the headphones (the
    one product whose catalog says it): answered about them, the lead-in naming them every
    time, where it went to the operator."""
    for _ in range(6):  # the lead-in templates rotate; each must name the product
        out, handed = _ask(catalog, lang, text)
        assert not handed and all(s.product_id == pid for s in out), [s.text for s in out]
        assert name in out[0].text and said in out[-1].text, [s.text for s in out]


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "is it BPA free?"), ("en", "how heavy is it?"), ("zh", "它防水吗？"),
     ("en", "does it have a screen?")],
)  # fmt: skip
def test_a_question_about_the_product_on_screen_is_not_moved_to_another(
    catalog, lang, text
) -> None:
    """ "is *it* BPA free?" points at the kettle, whose catalog does not say (the bottle's
    does): "I'll check", not the bottle's answer; "how heavy is it?" has two products with a
    weight and none on screen; a screen no product has."""
    out, handed = _ask(catalog, lang, text)
    assert handed == [text] and all(s.product_id in (None, "kettle") for s in out), out


@pytest.mark.parametrize(
    ("lang", "text", "n"),
    [("en", "how much for two bottles?", 2), ("en", "price for 3 kettles", 3),
     ("en", "how much for 2?", 2), ("de", "Was kosten zwei Flaschen?", 2),
     ("de", "was kosten 3 Wasserkocher?", 3), ("it", "quanto costano due borracce?", 2),
     ("zh", "两个水杯多少钱？", 2), ("zh", "买3个水壶多少钱", 3),
     ("en", "how much is the 2 litre kettle?", None), ("en", "anything under 30 euros?", None),
     ("en", "2 year warranty, how much?", None), ("de", "Kostet der zwei Euro?", None),
     ("en", "how much for 11?", None), ("en", "how much?", None), ("zh", "一个多少钱？", None)],
)  # fmt: skip
def test_the_count_a_price_question_asks_for(lang, text, n) -> None:
    """Two to ten of a product; a number with a unit or a currency is a measure or a budget."""
    from streamhost.talk.quantity import quantity_asked

    assert quantity_asked(text, lang) == n


@pytest.mark.parametrize(
    ("lang", "text", "pid", "said"),
    [("en", "how much for two bottles?", "bottle", ["insulated water bottle", "49 euros 80",
                                                    "24 euros 90"]),
     ("de", "Was kosten zwei Flaschen?", "bottle", ["Thermo-Trinkflasche", "49 Euro 80",
                                                    "24 Euro 90"]),
     ("it", "quanto costano 2 lampade?", "lamp", ["lampada da scrivania", "69 euro e 90",
                                                  "34 euro e 95"]),
     ("zh", "买3个水壶多少钱", "kettle", ["电热水壶", "119.70欧元", "39.90欧元"])],
)  # fmt: skip
def test_how_much_for_two_is_the_total_and_each(catalog, lang, text, pid, said) -> None:
    """ "How much for two bottles?" went to the operator: the total at the price now and the
    price of each, which the guard lets through (the price times the count the sentence says)
    and triage does not merge with "how much is it?"."""
    from streamhost.talk.guard import Guard

    out, handed = _ask(catalog, lang, text)
    assert not handed and len(out) == 1 and out[0].product_id == pid
    assert all(s in out[0].text for s in said), out[0].text
    assert Guard(catalog, lang).check(out[0]).ok
    n = 3 if "3" in text else 2
    assert _classify(catalog)(ChatEvent("anna", text, lang=lang)) in (
        (Priority.QUESTION, f"price:{pid}:x{n}:{lang}"), (Priority.QUESTION, None),
    )  # fmt: skip


def test_more_than_are_left_is_answered_with_how_many_are(catalog) -> None:
    gen, handed = _gen(catalog)
    out = gen.answer(ChatEvent("anna", "how much for 10 backpacks?", lang="en"), "kettle")
    assert not handed and "8" in out[0].text and "euro" not in out[0].text, out


@pytest.mark.parametrize(
    ("text", "ok"),
    [("The insulated water bottle: two come to 49 euros 80, at 24 euros 90 each.", True),
     ("The insulated water bottle costs 49 euros 80.", False),
     ("The insulated water bottle: three come to 49 euros 80.", False)],
)  # fmt: skip
def test_the_guard_lets_a_total_stand_only_with_its_count(catalog, text, ok) -> None:
    from streamhost.talk.guard import Guard

    result = Guard(catalog, "en").check(Sentence(text, Source.ANSWER, "en", "bottle"))
    assert result.ok is ok, result


@pytest.mark.parametrize(
    ("lang", "text", "name"),
    [("en", "are you selling anything else?", "travel backpack"),
     ("en", "what's next?", "travel backpack"), ("de", "Was kommt als nächstes?", "Reiserucksack"),
     ("it", "Cos'altro vendete?", "zaino da viaggio"), ("zh", "还有别的吗？", "旅行双肩包")],
)  # fmt: skip
def test_anything_else_is_the_lineup(catalog, lang, text, name) -> None:
    """ "are you selling anything else?" got the returns policy ("anywhere else" of the
    shipping entry), "Cos'altro vendete?" "not in tonight's show": the products of the show."""
    said = _answered(catalog, lang, text)
    assert name in said and "30" not in said, said


@pytest.mark.parametrize(
    ("lang", "text", "family"),
    [("en", "how are you?", "answer_small_talk"), ("en", "love your voice", "answer_small_talk"),
     ("en", "what time is it there?", "answer_small_talk"),
     ("de", "Wie geht es dir?", "answer_small_talk"), ("zh", "你好吗？", "answer_small_talk"),
     ("it", "ciao, come stai?", "answer_small_talk"),
     ("en", "thanks for the info!", "answer_small_talk"), ("zh", "谢谢主播！", "answer_small_talk"),
     ("en", "thanks!", "answer_small_talk"), ("de", "Danke!", "answer_small_talk"),
     ("en", "good night all", "answer_farewell"), ("de", "Tschüss!", "answer_farewell"),
     ("it", "Buonanotte a tutti", "answer_farewell"), ("zh", "拜拜", "answer_farewell"),
     ("en", "are you live?", "answer_ai"), ("en", "do you use it yourself?", "answer_ai"),
     ("en", "where are you from?", "answer_ai"), ("de", "Benutzt du den selbst?", "answer_ai"),
     ("it", "Sei in diretta?", "answer_ai"), ("zh", "你自己用吗？", "answer_ai")],
)  # fmt: skip
def test_talk_to_the_host_gets_the_host_s_answer(catalog, lang, text, family) -> None:
    """ "what time is it there?" got the kettle's features, "how are you?", "thanks!" and "good
    night all" were ignored, "do you use it yourself?" went to the operator: small talk gets a
    friendly line back to the products and a goodbye a goodbye (a greeting's priority, so a
    flood of either is rare on air); a question about the host herself, the honest AI
    answer."""
    from streamhost.talk.templates import TEMPLATES, fill, user_slots

    prio, key = _classify(catalog)(ChatEvent("anna", text, lang=lang))
    assert (prio, key) == {
        "answer_small_talk": (Priority.GREETING, f"smalltalk:{lang}"),
        "answer_farewell": (Priority.GREETING, f"bye:{lang}"),
        "answer_ai": (Priority.QUESTION, f"ai:{lang}"),
    }[family]
    out, handed = _ask(catalog, lang, text)
    names = user_slots("anna", lang)
    lines = {fill(t, names, "-", lang) for t in TEMPLATES[family][lang]}
    assert not handed and [s.text for s in out][-1] in lines, [s.text for s in out]


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "how are you shipping it?", "Shipping is free"),
     ("en", "love your voice! how much is the kettle?", "39 euros 90"),
     ("zh", "声音真好听！水壶多少钱？", "39.90欧元"),
     ("en", "thanks, how much is the lamp?", "34 euros 95"),
     ("de", "danke, was kostet die Lampe?", "34 Euro 95")],
)  # fmt: skip
def test_small_talk_words_in_a_real_question_do_not_hide_it(catalog, lang, text, said) -> None:
    assert said in _answered(catalog, lang, text)


@pytest.mark.parametrize(
    ("lang", "text"),
    [("de", "Welche Farbe hat die Lampe?"), ("it", "Di che colore è la lampada?"),
     ("en", "how many colours does the lamp come in?")],
)  # fmt: skip
def test_a_colour_is_not_a_colour_temperature(catalog, lang, text) -> None:
    """The lamp's "five colour temperatures" said nothing about the colour it comes in."""
    _, handed = _ask(catalog, lang, text, "lamp")
    assert handed == [text]


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "how many colour temperatures does the lamp have?", "five colour temperatures"),
     ("de", "Wie viele Farbtemperaturen hat die Lampe?", "fünf Farbtemperaturen"),
     ("en", "does the lamp have warm light?", "five colour temperatures"),
     ("zh", "台灯有暖光吗？", "五种色温")],
)  # fmt: skip
def test_colour_temperatures_are_still_found(catalog, lang, text, said) -> None:
    assert said in _answered(catalog, lang, text)


@pytest.mark.parametrize(
    ("lang", "text", "yes"),
    [("en", "is this the lowest price?", "Yes"), ("it", "È il prezzo più basso?", "Sì"),
     ("de", "Ist das der niedrigste Preis?", "Ja")],
)  # fmt: skip
def test_is_this_the_lowest_price_is_the_deal_without_a_yes(catalog, lang, text, yes) -> None:
    """It got the show's cheapest product; now the price on screen against the regular one,
    and never "Yes!": no catalog says a price is the lowest there will be."""
    for _ in range(4):  # every deal template in turn
        said = _answered(catalog, lang, text)
        assert "39" in said and not said.startswith(yes), said


def test_a_number_in_a_wish_is_no_feature(catalog) -> None:
    """ "a gift for a 10 year old?" chose the headphones for their "5 hours in 10 minutes"."""
    gen, _ = _gen(catalog)
    out = gen.answer(ChatEvent("anna", "gift for a 10 year old?", lang="en"), "kettle")
    assert out and out[0].product_id == "kettle", [s.text for s in out]


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("it", "La spedizione in Austria è gratis?", "gratuita"),
     ("zh", "寄到奥地利包邮吗？", "包邮"), ("zh", "寄到德国包邮吗？", "包邮"),
     ("de", "Passt ein 17 Zoll Laptop rein?", "16 Zoll"),
     ("en", "does a 17 inch laptop fit?", "16 inches")],
)  # fmt: skip
def test_a_country_or_a_number_asked_is_no_unknown_detail(catalog, lang, text, said) -> None:
    """A country in a shipping question is the shop's entries' business, and a laptop's size
    is the value the backpack's spec answers ("up to 16 inches"): these went to the operator."""
    assert said in _answered(catalog, lang, text)


@pytest.mark.parametrize(
    ("lang", "text"),
    [("zh", "水壶是无线的吗？"), ("it", "Il bollitore è prodotto in Germania?"),
     ("en", "is it made in germany?")],
)  # fmt: skip
def test_what_the_catalog_does_not_say_is_still_handed_on(catalog, lang, text) -> None:
    """无线 (of the headphones' name) asks whether the kettle is cordless, which its catalog
    does not say: it got the kettle's features. A country is a detail of where it is made."""
    _, handed = _ask(catalog, lang, text)
    assert handed == [text]


def test_the_labelled_viewer_requests_keep_their_outcomes() -> None:
    """tests/data/viewer_requests.json through moderation, triage and the generator as the
    inlet runs them: every message ends as labelled."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _talk_questions import VIEWER_REQUESTS, account_questions, load_questions

    out = account_questions(load_questions(VIEWER_REQUESTS))
    assert len(out) == 2488
    misses = {r["text"]: r["outcome"] for r in out if r["outcome"] != r["expect"]}
    # Session 35 left nine gaps here, all handed to the operator (a detail only another
    # product's feature says, with the kettle on screen; coffee in the bottle; the boiling
    # time asked for one litre in Chinese): all answered since session 36.
    assert not misses, misses


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "klarna?", "card, PayPal"), ("en", "do you accept bitcoin?", "card, PayPal"),
     ("en", "any coupons?", "39 euros 90"),
     ("en", "can I return it after 3 months?", "within 30 days"),
     ("zh", "两周之后可以退货吗？", "30天内"),
     ("zh", "15寸的macbook能放吗？", "16英寸"), ("zh", "17寸电脑能放吗？", "16英寸"),
     ("de", "Was ist dein Lieblingsprodukt?", "Wasserkocher"),
     ("it", "Qual è il tuo preferito?", "bollitore"), ("zh", "你最喜欢哪个？", "电热水壶")],
)  # fmt: skip
def test_the_gaps_left_by_the_labelled_set(catalog, lang, text, said) -> None:
    """A payment method named alone, or by bitcoin (a question, not crypto spam); coupons; a
    return after a time (its words a condition, no unknown thing, and no "Yes" granting the
    viewer's 3 months); a laptop size in Chinese, "macbook" beside Chinese characters; a
    favourite asked for."""
    said_ = _answered(catalog, lang, text)
    assert said in said_ and not any(y in said_ for y in ("Yes,", "Ja,", "Sì,")), said_


def test_spam_still_blocked_beside_a_payment_question() -> None:
    from streamhost.chat.moderation import Moderator

    mod = Moderator()
    assert mod.check(ChatEvent("a", "do you accept bitcoin?")).allowed
    for spam in ("buy bitcoin now", "follow me for free followers"):
        assert not mod.check(ChatEvent("a", spam)).allowed, spam


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "can you show me the headphones up close?", "wireless headphones"),
     ("en", "2 kettles how much", "79 euros 80"), ("en", "just got the lamp 😍", "LED desk lamp"),
     ("en", "can i choose the temperature on the kettle?", "five temperature settings"),
     ("en", "when does the kettle deal end?", "39 euros 90"),
     ("zh", "寄到意大利要几天？", "24小时内发货")],
)  # fmt: skip
def test_a_blind_set_s_misses(catalog, lang, text, said) -> None:
    """Written before any fix of this session's third probe set (106 messages, 94 as a viewer
    would expect), then mended: these were handed on, dropped as chatter, or (寄到意大利要几天？)
    answered with the countries entry instead of the shipping time."""
    gen, handed = _gen(catalog)
    ev = ChatEvent("anna", text, lang=lang)
    out = gen.thanks(ev) if text.startswith("just got") else gen.answer(ev, "kettle")
    assert not handed and said in " ".join(s.text for s in out), [s.text for s in out]


@pytest.mark.parametrize(
    ("lang", "pid", "want"),
    [("it", "headphones", "la cosa più vicina sono le cuffie"), ("de", "headphones", "sind die"),
     ("en", "headphones", "the wireless headphones are for you")],
)  # fmt: skip
def test_a_plural_product_takes_a_plural_verb(catalog, lang, pid, want) -> None:
    """ "la cosa più vicina è le cuffie", "Maybe the wireless headphones is for you?": the
    not-carried and budget lines agree with a plural product."""
    from streamhost.talk.templates import TEMPLATES, fill, slots_for_product

    p = catalog.get(pid)
    slots = {**slots_for_product(p, lang), "user_vocative_free": "Anna", "price": "1"}
    texts = [fill(t, slots, p.grammar_of(lang), lang)
             for fam in ("not_carried", "answer_budget_all", "answer_budget_none", "answer_what_is")
             for t in TEMPLATES.get(fam, {}).get(lang, [])]  # fmt: skip
    assert any(want in t for t in texts), texts
    assert not any(bad in t for t in texts for bad in (" è le ", " ist die Funk", " is for you"))


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "pls show kettle", "electric kettle"), ("en", "wat is the warranty", "2 year warranty"),
     ("en", "how much 4 3 lamps", "three"), ("it", "Ciao ciao!", "alla prossima"),
     ("zh", "拜拜啦", "下次见"), ("en", "how r u", "products")],
)  # fmt: skip
def test_chat_spelling(catalog, lang, text, said) -> None:
    """A fourth set, written blind (71 messages, 62 as a viewer would expect): chat's own
    spelling ("pls", "wat", "u", "4" for "for": "how much 4 3 lamps" got the price of four),
    "ciao ciao" as a goodbye (it got a welcome), a particle after a goodbye (拜拜啦)."""
    assert _classify(catalog)(ChatEvent("anna", text, lang=lang))[0] is not Priority.OTHER
    out, handed = _ask(catalog, lang, text)
    assert not handed and said in " ".join(s.text for s in out), [s.text for s in out]


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "my order hasnt arrived"), ("en", "do u have a store in berlin")],
)  # fmt: skip
def test_chat_spelling_still_reaches_the_team(catalog, lang, text) -> None:
    """Both were dropped as chatter: a viewer's own order, a question about the shop."""
    prio, _ = _classify(catalog)(ChatEvent("anna", text, lang=lang))
    assert prio is Priority.QUESTION
    _, handed = _ask(catalog, lang, text)
    assert handed == [text]


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("it", "Per quanto tempo la borraccia tiene fresca l'acqua?", "fredde per 24 ore"),
     ("de", "Ist die Flasche rutschfest?", "griffige"),
     ("it", "Si può scegliere la temperatura del bollitore?", "cinque temperature"),
     ("it", "La borraccia entra nel portabicchieri della macchina?", "portabicchieri"),
     ("zh", "耳机充电快吗？", "快充"), ("zh", "水杯放得进车里的杯架吗？", "车载杯架")],
)  # fmt: skip
def test_a_fifth_blind_set(catalog, lang, text, said) -> None:
    """Written blind near the end (62 questions the catalog answers, in de/it/zh): "Per quanto
    tempo ... fresca" got the price ("quanto"), then the hot drinks' 12 hours; the rest went
    to the operator."""
    assert said in _answered(catalog, lang, text)
