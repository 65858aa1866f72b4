"""'Anything under 30 euros?': a viewer's budget is answered with the products within it at
their price now, in every language, through the engine's own talk wiring - never with a
product's detail that happens to hold the number ("keeps water hot for 30 minutes", "returns
within 30 days") or "we don't carry that". Amounts that are no budget stay what they were."""

from __future__ import annotations

from decimal import Decimal

import pytest

from streamhost.chat.triage import Priority, make_classifier
from streamhost.config import load_config
from streamhost.frames import ChatEvent
from streamhost.talk.assemble import build_talk
from streamhost.talk.budget import budget_cap
from streamhost.talk.templates import TEMPLATES, fill, slots_for_product

# Prices now in the demo: bottle 24.90, lamp 29.71, kettle 31.92, headphones 79, backpack 64.50.
ASKS = {
    "en": ["do you have anything under 30 euros?", "what can I get for less than €30?",
           "my budget is 30 euros, what do you recommend?", "anything below 30?"],
    "de": ["Habt ihr was unter 30 Euro?", "Gibt es etwas für weniger als 30 €?",
           "Was bekomme ich für bis zu 30 Euro?"],
    "it": ["Avete qualcosa sotto i 30 euro?", "C'è qualcosa per meno di 30 euro?",
           "Cosa posso prendere con 30 euro?"],
    "zh": ["有30欧以下的吗？", "30欧元以内有什么推荐？", "有没有低于30欧的东西？"],
}  # fmt: skip
NOT_A_BUDGET = [
    "does the backpack fit under the seat?", "does it work under 2000 watts?",
    "is it safe for kids under 5?", "does it heat up to 100?", "fits laptops up to 16 inch?",
    "Bis 100 Grad?", "Hält er bis zu 30 Minuten warm?", "可以保温30分钟以上吗？",
    "how much is the kettle?", "returns within 30 days?", "I have 2 kids, which one?",
    "ho 30 anni, cosa mi consigli?", "我有2个孩子，推荐什么？",
]  # fmt: skip


@pytest.fixture(scope="module")
def talk():
    return build_talk(load_config(), lambda: 0.0, lambda name: True)


def _texts(talk, family: str, lang: str, first: str, second: str | None = None) -> set[str]:
    p = talk.catalog.get(first)
    slots = {**slots_for_product(p, lang), "price": talk.price_spoken_now(first, lang)}
    if second is not None:
        q = slots_for_product(talk.catalog.get(second), lang)
        slots.update(the2=q["the"], acc2=q.get("acc", q["the"]),
                     price2=talk.price_spoken_now(second, lang))  # fmt: skip
    return {fill(t, slots, p.grammar_of(lang), lang) for t in TEMPLATES[family][lang]}


@pytest.mark.parametrize("lang", sorted(ASKS))
def test_a_budget_gets_the_products_within_it(talk, lang) -> None:
    assert talk.price_value_now("lamp") <= 30 < talk.price_value_now("kettle")
    want = _texts(talk, "answer_budget_two", lang, "bottle", "lamp")
    for text in ASKS[lang]:
        said = talk.generator.answer(ChatEvent("ann", text), "kettle")
        assert [s.text for s in said][:1] and said[0].text in want, (text, [s.text for s in said])
        assert len(said) == 1 and talk.guard.check(said[0]).ok, talk.guard.check(said[0])


@pytest.mark.parametrize(
    ("text", "family", "first", "second"),
    [
        ("anything under 25 euros?", "answer_budget", "bottle", None),
        ("anything under 35 euros?", "answer_budget_many", "bottle", "lamp"),
        ("anything under 100 euros?", "answer_budget_all", "bottle", None),
        ("anything under 20 euros?", "answer_budget_none", "bottle", None),
    ],
)
def test_one_several_all_or_none_is_said_as_it_is(talk, text, family, first, second) -> None:
    said = [s.text for s in talk.generator.answer(ChatEvent("ann", text), "kettle")]
    assert said and said[0] in _texts(talk, family, "en", first, second), said


def test_sold_out_products_are_not_offered(talk) -> None:
    bottle = talk.catalog.get("bottle")
    stock = bottle.stock
    object.__setattr__(bottle, "stock", 0)
    try:
        said = [s.text for s in talk.generator.answer(ChatEvent("a", "anything under 25?"), None)]
    finally:
        object.__setattr__(bottle, "stock", stock)
    assert said and said[0] in _texts(talk, "answer_budget_none", "en", "lamp"), said


def test_a_named_product_under_a_budget_gets_its_price(talk) -> None:
    said = [
        s.text
        for s in talk.generator.answer(ChatEvent("a", "is the bottle under 30 euros?"), "kettle")
    ]
    assert said and talk.price_spoken_now("bottle", "en") in said[0], said


@pytest.mark.parametrize("text", NOT_A_BUDGET)
def test_amounts_that_are_no_budget(text) -> None:
    assert budget_cap(text) is None


def test_the_ceiling_is_read_in_every_way_it_is_written() -> None:
    assert budget_cap("anything under €40?") == 40
    assert budget_cap("qualcosa sotto i 30,50 euro?") == Decimal("30.50")
    assert budget_cap("Habt ihr was bis 25?") == 25
    assert budget_cap("有30以下的吗") == 30
    assert budget_cap("anything under 30,- ?") == 30
    assert budget_cap("I have 30 euros, what can I get?") == 30
    assert budget_cap("Ich habe nur 20 €, was empfehlt ihr?") == 20


def _keys(talk, *asked: tuple[str, str]) -> list[tuple[Priority, str | None]]:
    """Chat triage's priority and dedupe key of each (text, language), the kettle on screen."""
    classify = make_classifier(
        talk.generator.retriever, talk.catalog, current_product=lambda: "kettle"
    )
    return [classify(ChatEvent("a", text, lang=lang)) for text, lang in asked]


def test_budget_askers_merge_per_ceiling_and_language(talk) -> None:
    a, b, c, d = _keys(talk, ("anything under 30 euros?", "en"), ("something below €30?", "en"),
                       ("anything below 25?", "en"), ("Habt ihr was unter 30 Euro?", "de"))  # fmt: skip
    assert a == b == (Priority.QUESTION, "budget:30:en")
    assert c == (Priority.QUESTION, "budget:25:en") and d == (Priority.QUESTION, "budget:30:de")


CHEAPER = {  # the bottle (24.90) and the lamp (29.71) cost less than the kettle (31.92) now
    "en": ["anything cheaper than the kettle?", "do you have something cheaper?"],
    "de": ["Gibt es was Günstigeres als den Wasserkocher?", "Habt ihr was Billigeres?"],
    "it": ["C'è qualcosa di più economico del bollitore?", "Avete qualcosa di più economico?"],
    "zh": ["有比水壶便宜的吗？", "有没有更便宜的？"],
}


@pytest.mark.parametrize("lang", sorted(CHEAPER))
def test_something_cheaper_gets_what_costs_less_than_that_product(talk, lang) -> None:
    """ "Anything cheaper than the kettle?" (or, none named, than the product on screen): the
    products below its price now. Before: its own price, "we don't carry that", the operator."""
    want = _texts(talk, "answer_budget_two", lang, "bottle", "lamp")
    for text in CHEAPER[lang]:
        said = talk.generator.answer(ChatEvent("ann", text), "kettle")
        assert len(said) == 1 and said[0].text in want, (text, [s.text for s in said])
        assert talk.guard.check(said[0]).ok


def test_cheaper_askers_merge_per_product_and_two_products_stay_a_comparison(talk) -> None:
    a, b, c = _keys(talk, ("anything cheaper than the kettle?", "en"),
                    ("do you have something cheaper?", "en"),
                    ("is the lamp cheaper than the kettle?", "en"))  # fmt: skip
    assert a == b == (Priority.QUESTION, "cheaper:kettle:en")
    assert c == (Priority.QUESTION, "compare:kettle:lamp:en")
