""" "How much are the bottle and the lamp together?", "Was kosten die Flasche und die Lampe
zusammen?", "Quanto costano insieme ...?", 水杯和台灯一起多少钱？ (``[intent] together`` with a
price question, two products named): both prices now and their total (``answer_total``).
The guard lets a sentence that names two products state the sum of their prices, and only
that sum. Before, these went to the operator."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import DEMO_CATALOG as DEMO
from support import ask_host

from streamhost.chat.triage import Priority, make_classifier
from streamhost.frames import ChatEvent, Sentence
from streamhost.talk.catalog import parse_catalog
from streamhost.talk.guard import Guard
from streamhost.talk.prices import format_price_spoken
from streamhost.talk.retrieval import Retriever


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "how much is the bottle and the lamp together?"),
     ("en", "how much for the lamp and the bottle in total?"),
     ("de", "Was kosten die Flasche und die Lampe zusammen?"),
     ("it", "Quanto costano insieme la borraccia e la lampada?"),
     ("zh", "水杯和台灯一起多少钱？")],
)  # fmt: skip
def test_two_products_together_get_both_prices_and_the_total(catalog, lang, text) -> None:
    handed, said = ask_host(catalog, lang, text)
    bottle, lamp = catalog.get("bottle"), catalog.get("lamp")
    total = bottle.price + lamp.price
    assert not handed and len(said) == 1, said
    for price in (bottle.price, lamp.price, total):
        assert format_price_spoken(price, "EUR", lang) in said[0], (price, said)
    guard = Guard(catalog, lang)
    assert guard.check(Sentence(said[0], "answer", lang, "bottle")).ok


def test_the_guard_allows_the_sum_of_the_named_products_only(catalog) -> None:
    guard = Guard(catalog, "en")
    line = (
        "Together that's {}: 24 euros 90 for the insulated water bottle, 34 euros 95 for the lamp."
    )
    assert guard.check(Sentence(line.format("59 euros 85"), "answer", "en", "bottle")).ok
    wrong = guard.check(Sentence(line.format("59 euros 95"), "answer", "en", "bottle"))
    assert wrong.reason == "price_mismatch:59 euros 95"
    # one product named: a sum is no price of it
    alone = guard.check(Sentence("The bottle is 59 euros 85.", "answer", "en", "bottle"))
    assert not alone.ok


def test_together_without_a_price_question_is_no_price_answer(catalog) -> None:
    _, said = ask_host(catalog, "en", "can I use the bottle and the lamp together?")
    assert not any("euro" in s for s in said), said


def test_two_currencies_get_each_price_and_no_total() -> None:
    raw = json.loads(DEMO.read_text(encoding="utf-8"))
    for p in raw["products"]:
        if p["id"] == "lamp":
            p["currency"] = "USD"
    cat = parse_catalog(raw, str(DEMO))
    _, said = ask_host(cat, "en", "how much is the bottle and the lamp together?")
    text = " ".join(said)
    assert "24 euros 90" in text and "together" not in text, said
    assert str(Decimal("24.90") + cat.get("lamp").price).replace(".", " euros ") not in text


def test_a_word_of_another_name_is_no_second_product(catalog) -> None:
    """ "water" of "water bottle" is not the kettle ("water boiler"): one price, no total."""
    _, said = ask_host(catalog, "en", "how much is the water bottle in total?")
    assert said == [s for s in said if "together" not in s] and "kettle" not in " ".join(said)


@pytest.mark.parametrize(
    ("lang", "text", "key"),
    [("en", "how much is the bottle and the lamp together?", "total:bottle:lamp:en"),
     ("zh", "水杯和台灯一起多少钱？", "total:bottle:lamp:zh"),
     ("en", "which is cheaper, the kettle or the lamp?", "compare:kettle:lamp:en"),
     ("en", "can I use the bottle and the lamp together?", None)],  # no price asked
)  # fmt: skip
def test_triage_keeps_totals_apart_from_single_prices(catalog, lang, text, key) -> None:
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    assert classify(ChatEvent("a", text, lang=lang)) == (Priority.QUESTION, key)


@pytest.mark.parametrize(
    ("lang", "text", "has"),
    [("en", "which is lighter, the headphones or the backpack?",
      ["The wireless headphones weigh 250 grams.", "The travel backpack weighs 1.1 kilograms."]),
     ("en", "which holds more, the kettle or the bottle?",
      ["The electric kettle holds 1.7 litres.", "The insulated water bottle holds 750 millilitres."]),
     ("de", "Was ist leichter, die Kopfhörer oder der Rucksack?",
      ["Die Funkkopfhörer wiegen 250 Gramm.", "Der Reiserucksack wiegt 1,1 Kilogramm."]),
     ("zh", "耳机和背包哪个轻？", ["无线降噪耳机重250克。", "旅行双肩包重1.1公斤。"])],
)  # fmt: skip
def test_a_spec_of_two_products_gets_each_ones_value(catalog, lang, text, has) -> None:
    """No verdict ("lighter") the units would have to make: each value, each product named."""
    handed, said = ask_host(catalog, lang, text)
    assert not handed and said == has, said  # in the order the viewer named them
