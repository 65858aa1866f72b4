""" "What do you recommend?", "is the kettle worth it?", "Was empfiehlst du?", 你推荐哪个？:
the host presents a product with its price now and a feature (``[intent] recommend``,
``answer_recommend``): the one named, else the one the viewer's wish finds ("for travel": the
travel backpack), else the one on screen. Before, these went to the operator or were dropped
as chatter."""

from __future__ import annotations

import pytest
from support import ask_host

from streamhost.chat.triage import Priority, make_classifier
from streamhost.frames import ChatEvent
from streamhost.langdata import load_languages
from streamhost.talk.retrieval import Retriever


@pytest.mark.parametrize(
    ("lang", "text", "pid"),
    [("en", "what do you recommend?", "kettle"), ("en", "which one should i buy?", "kettle"),
     ("en", "is the lamp worth it?", "lamp"), ("en", "what do you recommend for travel?", "backpack"),
     ("en", "what do you recommend for reading?", "lamp"),  # the lamp's FAQ answer says reading
     ("de", "Was empfiehlst du zum Lesen?", "lamp"),
     ("de", "Was empfiehlst du?", "kettle"), ("de", "Lohnt sich der Wasserkocher?", "kettle"),
     ("it", "Cosa mi consigli?", "kettle"), ("it", "Qual è il prodotto migliore?", "kettle"),
     ("zh", "你推荐哪个？", "kettle"), ("zh", "耳机值得买吗？", "headphones"),
     # a gift asked for is a recommendation (these were dropped as chatter)
     ("en", "good gift for my mom?", "kettle"), ("en", "any gift ideas?", "kettle"),
     ("de", "geschenkidee für meine mutter?", "kettle"),
     ("de", "was kann ich meiner mutter schenken?", "kettle"),
     ("it", "idea regalo per mia mamma?", "kettle"), ("zh", "送妈妈什么好？", "kettle"),
     ("en", "is the lamp a good gift for a student?", "lamp"),
     ("en", "any suggestions for travel?", "backpack"), ("zh", "有什么建议吗？", "kettle")],
)  # fmt: skip
def test_a_recommendation_presents_a_product_and_its_price(catalog, lang, text, pid) -> None:
    retriever = Retriever(catalog)
    classify = make_classifier(retriever, catalog, current_product=lambda: "kettle")
    assert classify(ChatEvent("a", text, lang=lang)) == (
        Priority.QUESTION,
        f"recommend:{pid}:{lang}",
    )
    handed, said = ask_host(catalog, lang, text)
    p = catalog.get(pid)
    assert not handed and p.price_spoken(lang) in said[0], said
    heads = {t.split("{")[0] for t in load_languages()[lang].templates["answer_recommend"]}
    assert any(said[0].startswith(h) for h in heads if h) or p.name(lang) in said[0], said
    feats, _ = p.features_in(lang)
    assert any(f in " ".join(said[1:]) for f in feats), said


def test_a_budget_is_no_recommendation(catalog) -> None:
    """ "My budget is 30, what do you recommend?" is the budget's answer, not a pitch."""
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    text = "my budget is 30 euros, what do you recommend?"
    assert classify(ChatEvent("a", text, lang="en"))[1] == "budget:30:en"
    assert Retriever(catalog).recommendation("how much is the kettle?", "en", "kettle") is None


@pytest.mark.parametrize(
    ("lang", "text"),
    [("de", "Verpackt ihr die Flasche als Geschenk?"),
     ("it", "Fate la confezione regalo per la borraccia?"), ("en", "can you gift wrap the lamp?"),
     ("zh", "运送什么时候到？")],
)  # fmt: skip
def test_gift_wrapping_and_shipping_are_no_recommendation(catalog, lang, text) -> None:
    """The shop's services ([intent] shop_service) are the team's to answer, never a pitch."""
    assert Retriever(catalog).recommendation(text, lang, "kettle") is None
    handed, _ = ask_host(catalog, lang, text)
    assert handed == [text]
