"""An FAQ answer that starts with a yes fits a yes-no question, not an open one: "what's in the
box?" gets "A 3.5 mm cable is in the box", "is there a cable?" keeps "Yes, ..."
(talk/open_question.py, ``[intent] ask_open`` / ``answer_yes``); and a detail only an FAQ
answer says ("good for reading?") answered once."""

from __future__ import annotations

import pytest
from support import ask_host

from streamhost.talk.open_question import answer_to, without_yes


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "what's in the box with the headphones?", "A 3.5 millimetre audio cable is in the box."),
     ("it", "Cosa c'è nella confezione delle cuffie?",
      "Nella confezione c'è un cavo audio da 3,5 millimetri."),
     ("zh", "耳机包装里有什么？", "包装里附带3.5毫米音频线。"),
     ("en", "what's your return policy?",
      "You can return anything within 30 days, unused and in its original box."),
     ("de", "Wie funktioniert die Rückgabe?",
      "Ihr könnt alles innerhalb von 30 Tagen zurückgeben, unbenutzt und in der Originalverpackung.")],
)  # fmt: skip
def test_an_open_question_gets_the_answer_without_its_yes(catalog, lang, text, said) -> None:
    handed, out = ask_host(catalog, lang, text)
    assert not handed and out[-1:] == [said], out


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "is there a cable in the box with the headphones?"),
     ("en", "can I return it?"), ("de", "Kann ich es zurückgeben?"),
     ("it", "Posso usare le cuffie con un cavo?")],
)  # fmt: skip
def test_a_yes_no_question_keeps_the_yes(catalog, lang, text) -> None:
    handed, out = ask_host(catalog, lang, text)
    yes = {"en": "Yes, ", "de": "Ja, ", "it": "Sì, "}[lang]
    assert not handed and out[-1].startswith(yes), out


def test_only_a_leading_yes_word_goes() -> None:
    assert without_yes("Yes, a cable.", "en") == "A cable."
    assert without_yes("Yesterday it sold out.", "en") == "Yesterday it sold out."
    assert without_yes("Sì, nella confezione.", "it") == "Nella confezione."
    assert without_yes("可以，包装里附带音频线。", "zh") == "包装里附带音频线。"
    assert without_yes("It comes with a cable.", "en") == "It comes with a cable."
    # the question's language decides whether it is open, the answer's which word is a yes
    assert answer_to("Was ist im Karton?", "de", "Yes, a cable.", "en") == "A cable."
    assert answer_to("Was it shipped?", "en", "Yes, a cable.", "en") == "Yes, a cable."
    # an open word inside a sentence does not open it: "va bene *come* regalo?" is yes-no
    assert answer_to("Va bene come regalo?", "it", "Sì, certo.", "it") == "Sì, certo."
    assert answer_to("Ciao! Come si usa?", "it", "Sì, certo.", "it") == "Certo."


@pytest.mark.parametrize(
    "text",
    ["how bright is the lamp, is it good for reading?",  # a spec and a detail its FAQ answer says
     "how bright is the lamp and is it good for reading?",  # two parts, one answer: said once
     "does the lamp give enough light for reading?"],
)  # fmt: skip
def test_a_detail_the_faq_answer_says_is_answered_once(catalog, text) -> None:
    handed, out = ask_host(catalog, "en", text)
    answer = catalog.get("lamp").faq[0].a("en")[0]
    assert not handed and out.count(answer) == 1 and out[-1] == answer, out
