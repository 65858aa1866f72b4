""" "What do you sell tonight?", "Welche Produkte habt ihr?", "Cosa vendete stasera?",
今晚卖什么？ (``[intent] ask_lineup``): the show's products in stock, named as a list in the
viewer's language (``answer_lineup``, the language file's ``[host] list_sep`` / ``list_and``);
more than ``LINEUP_NAMES``: the first ones and "and more" (``answer_lineup_many``). Before, the
host said "We don't have that here tonight" or handed it to the operator."""

from __future__ import annotations

import json

import pytest
from conftest import DEMO_CATALOG as DEMO
from support import ask_host

from streamhost.chat.triage import Priority, make_classifier
from streamhost.frames import ChatEvent
from streamhost.talk.catalog import parse_catalog
from streamhost.talk.price_answers import LINEUP_NAMES
from streamhost.talk.retrieval import Retriever


@pytest.mark.parametrize(
    ("lang", "text", "joined"),
    [("en", "what products do you have?", "the LED desk lamp and the insulated water bottle"),
     ("en", "what's for sale tonight?", "the travel backpack, "),  # sold, not on offer
     ("en", "what are you selling tonight?", "the electric kettle, the wireless headphones, "),
     ("de", "Welche Produkte habt ihr?", "die Schreibtischlampe und die Thermo-Trinkflasche"),
     ("it", "Cosa vendete stasera?", "la lampada da scrivania e la borraccia termica"),
     ("zh", "今晚卖什么？", "电热水壶、无线降噪耳机、旅行双肩包、LED护眼台灯和保温水杯"),
     # how many: the list says it ("That's not something we have in the show" before)
     ("en", "how many products do you have?", "the LED desk lamp and the insulated water bottle"),
     ("it", "quanti prodotti avete?", "la lampada da scrivania e la borraccia termica")],
)  # fmt: skip
def test_the_lineup_names_every_product_in_a_list(catalog, lang, text, joined) -> None:
    handed, said = ask_host(catalog, lang, text)
    assert not handed and len(said) == 1 and joined in said[0], said
    assert all(p.name(lang) in said[0] for p in catalog), said
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    assert classify(ChatEvent("a", text, lang=lang)) == (Priority.QUESTION, f"lineup:{lang}")


def test_sold_out_products_are_left_out_and_a_long_lineup_gives_examples() -> None:
    raw = json.loads(DEMO.read_text(encoding="utf-8"))
    raw["products"][0]["stock"] = 0  # the kettle
    base = raw["products"][1]
    for i in range(LINEUP_NAMES):  # more products than the host reads out
        extra = json.loads(json.dumps(base))
        extra["id"], extra["names"] = f"extra{i}", {"en": f"gadget number {i}"}
        extra["aliases"] = {}
        raw["products"].append(extra)
    cat = parse_catalog(raw, str(DEMO))
    _, said = ask_host(cat, "en", "what do you sell?", on_screen="lamp")
    assert "electric kettle" not in said[0] and "more" in said[0], said
    assert said[0].count(", ") + said[0].count(" and ") >= LINEUP_NAMES - 1, said
    assert "gadget number 4" not in said[0], said


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "who makes these headphones?"), ("en", "what brand is the kettle?"),
     ("de", "Welche Marke ist der Wasserkocher?"), ("it", "Che marca sono le cuffie?"),
     ("zh", "耳机是什么牌子？")],
)  # fmt: skip
def test_a_maker_the_catalog_does_not_name_is_no_recital_of_features(catalog, lang, text) -> None:
    handed, said = ask_host(catalog, lang, text)
    feats = [f for p in catalog for f in p.features_in(lang)[0]]
    assert handed and not any(f in s for s in said for f in feats), said


@pytest.mark.parametrize(
    "text",
    ["what else do you have in black?",  # a colour
     "which products are on sale?",  # the deals
     "what products do you recommend?"],  # a recommendation
)  # fmt: skip
def test_a_lineup_phrase_with_something_else_asked_is_no_lineup(catalog, text) -> None:
    _, said = ask_host(catalog, "en", text)
    assert not any("wireless headphones, the travel backpack" in s for s in said), said


@pytest.mark.parametrize(
    ("lang", "text", "joined"),
    [("en", "what's on sale tonight?", "the wireless headphones and the LED desk lamp"),
     ("en", "any deals?", "the electric kettle, the wireless headphones and the LED desk lamp"),
     ("de", "Was ist heute im Angebot?", "die Funkkopfhörer und die Schreibtischlampe"),
     ("it", "Cosa c'è in offerta?", "le cuffie wireless e la lampada da scrivania"),
     ("zh", "有什么优惠？", "电热水壶、无线降噪耳机和LED护眼台灯"),
     # "today" is no detail asked (the kettle's deal alone before)
     ("en", "which products are on sale today?", "the wireless headphones and the LED desk lamp"),
     ("it", "quali prodotti sono in offerta oggi?", "le cuffie wireless e la lampada da scrivania")],
)  # fmt: skip
def test_the_deals_name_the_products_below_their_regular_price(catalog, lang, text, joined):
    """The demo's standing discounts: kettle, headphones and lamp; bottle and backpack none."""
    handed, said = ask_host(catalog, lang, text)
    assert not handed and len(said) == 1 and joined in said[0], said
    assert catalog.get("bottle").name(lang) not in said[0], said
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    assert classify(ChatEvent("a", text, lang=lang)) == (Priority.QUESTION, f"deals:{lang}")


def test_no_deal_is_said_so() -> None:
    raw = json.loads(DEMO.read_text(encoding="utf-8"))
    for p in raw["products"]:
        p.pop("discount", None)
        p.pop("sale", None)
    cat = parse_catalog(raw, str(DEMO))
    _, said = ask_host(cat, "en", "what's on sale tonight?")
    assert said == ["Nothing is on offer right now; every price is the regular one."], said


def test_a_named_product_is_no_lineup_question(catalog) -> None:
    """耳机有什么特别的？ ("what's special about the headphones?") asks about them."""
    _, said = ask_host(catalog, "zh", "耳机有什么特别的？")
    assert not any("旅行双肩包" in s for s in said) and "主动降噪" in " ".join(said), said


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "wheres the link"), ("en", "add to cart how?"), ("it", "come faccio a comprare")],
)  # fmt: skip
def test_how_to_buy_typed_loosely_gets_the_call_to_action(catalog, lang, text) -> None:
    handed, said = ask_host(catalog, lang, text)
    assert not handed and said, said
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    assert classify(ChatEvent("a", text, lang=lang))[0] is Priority.QUESTION


@pytest.mark.parametrize(
    ("lang", "text", "feature"),
    [("zh", "有滤网吗？", "可拆卸除垢滤网"),  # "is there a filter?": the kettle's, not "we lack it"
     ("en", "do you have a filter?", "removable limescale filter"),
     ("de", "Habt ihr einen Filter?", "Kalkfilter")],
)  # fmt: skip
def test_have_asks_about_the_product_on_screen_when_a_feature_says_it(catalog, lang, text, feature):
    handed, said = ask_host(catalog, lang, text)
    assert not handed and feature in " ".join(said), said


def test_a_thing_only_part_of_a_feature_is_still_not_carried(catalog) -> None:
    """有咖啡机吗？ ("a coffee machine?") is not the kettle's 咖啡 (coffee) setting."""
    handed, said = ask_host(catalog, "zh", "有咖啡机吗？")
    assert not any("五档温度" in s for s in said), said
