"""Two questions in one message (talk/compound.py): both are answered, the second about the
product the first named, with one lead-in; a message with an unanswerable part goes to the
operator once."""

from __future__ import annotations

import pytest

from streamhost.frames import ChatEvent
from streamhost.talk.compound import split_question
from streamhost.talk.generator import TemplateGenerator


@pytest.mark.parametrize(
    ("lang", "text", "has"),
    [("en", "how much is the kettle and does it have a warranty?", ["39 euros 90", "2 year"]),
     ("de", "Was kostet der Wasserkocher und hat er Garantie?", ["39 Euro 90", "2 Jahre"]),
     ("it", "quanto costa il bollitore e che garanzia ha?", ["39 euro e 90", "2 anni"]),
     # the second part is about the product the first one named, not the one on screen
     ("en", "how much are the headphones and how long does the battery last?",
      ["89 euros", "35 hours"]),
     # two questions, each with its own mark; in Chinese a comma may end the first
     ("en", "how much is the kettle? does it have a warranty?", ["39 euros 90", "2 year"]),
     ("zh", "耳机多少钱？续航多久？", ["89欧元", "35小时"]),
     ("zh", "水壶多少钱，有保修吗？", ["39.90欧元", "保修2年"]),
     ("zh", "运费多少，几天到？", ["包邮", "2到4个工作日"]),
     # a second part that names nothing and says no asking word (漏水吗？) is asked again
     # with the product the first part was answered about
     ("zh", "水杯多少钱？漏水吗？", ["24.90欧元", "防漏杯盖"]),
     ("it", "quanto costa la borraccia? perde?", ["24 euro e 90", "antigoccia"]),
     # Italian joins a second question with "e" and its verb ("ed è", "e va")
     ("it", "quanto costa lo zaino ed è impermeabile?", ["64 euro e 50", "idrorepellente"]),
     ("it", "quanto costa il bollitore e va in lavastoviglie?", ["39 euro e 90", "lavastoviglie"]),
     # a second question about the shop topic the first one named ("it" is the shipping)
     ("en", "how much is shipping and how long does it take?", ["free", "2 to 4 working days"]),
     ("de", "Was kostet der Versand und wie lange dauert es?", ["kostenlos", "2 bis 4 Werktagen"]),
     ("it", "Quanto costa la spedizione e quanto ci vuole?", ["gratuita", "2 o 4 giorni"])],
)  # fmt: skip
def test_both_questions_of_one_message_are_answered(catalog, lang, text, has) -> None:
    gen = TemplateGenerator(catalog, lang, answer_in_question_language=True)
    handed: list[str] = []
    gen.on_unanswered = lambda ev, lg: handed.append(ev.text)
    ev = ChatEvent(user="ann", text=text)
    out = gen.answer(ev, "lamp")
    said = " ".join(s.text for s in out)
    assert all(h in said for h in has), said
    assert handed == [] and all(s.reply_to is ev for s in out)
    assert len(out) <= 3, said  # at most one lead-in


def test_a_message_with_one_unanswerable_part_is_handed_on_once(catalog) -> None:
    gen = TemplateGenerator(catalog, "en")
    handed: list[str] = []
    gen.on_unanswered = lambda ev, lg: handed.append(ev.text)
    text = "how much is the lamp and does it have a timer?"
    said = " ".join(s.text for s in gen.answer(ChatEvent(user="ann", text=text), "kettle"))
    assert "euros" in said and handed == [text], said


@pytest.mark.parametrize(
    ("lang", "text", "has"),
    [  # the first part asks about a product, not the shop: nothing to lend
        ("en", "how much is the kettle and how long does it take?", "39 euros 90"),
        # the shop's topic does not answer what the second part asks
        ("en", "how much is shipping and is it waterproof?", "free"),
        # 运费 (the shipping *cost*) lent to 要多久 finds the answer the first part already
        # gave: the second part is handed on, not dropped as said
        ("zh", "运费多少？要多久？", "包邮"),
    ],
)
def test_a_lent_topic_that_does_not_answer_hands_on(catalog, lang, text, has) -> None:
    gen = TemplateGenerator(catalog, lang)
    handed: list[str] = []
    gen.on_unanswered = lambda ev, lg: handed.append(ev.text)
    said = " ".join(s.text for s in gen.answer(ChatEvent(user="ann", text=text), "lamp"))
    assert has in said and handed == [text], said


@pytest.mark.parametrize(
    "text", ["black and white?", "salt and pepper grinder?", "and does it?", "rock and roll"]
)
def test_a_plain_and_splits_nothing(text) -> None:
    assert split_question(text) == [text]


@pytest.mark.parametrize(
    ("text", "parts"),
    [("how much is it? does it have a warranty?", ["how much is it?", "does it have a warranty?"]),
     ("水壶多少钱，有保修吗？", ["水壶多少钱", "有保修吗？"]),
     ("Is it on sale? I want one", ["Is it on sale? I want one"]),  # the rest asks nothing
     ("好的，多少钱？", ["好的，多少钱？"]),  # 好的 ("OK") asks nothing
     ("台灯多少钱？？？", ["台灯多少钱？？？"])],
)  # fmt: skip
def test_two_marked_questions_split_and_nothing_else_does(text, parts) -> None:
    assert split_question(text) == parts


@pytest.mark.parametrize(
    ("lang", "text", "has"),
    [("en", "hello from brazil! how much is the lamp?", "lamp"),
     ("de", "Hallo aus Wien! Was kostet die Lampe?", "lamp"),
     ("it", "Ciao da Roma! Quanto costa la lampada?", "lamp"),
     ("en", "hi! how much is the kettle and does it have a warranty?", "2 year")],
)  # fmt: skip
def test_a_greeting_before_a_question_asks_nothing(catalog, lang, text, has) -> None:
    """ "hello from brazil!" got "I'll check" (Brazil, a detail the catalog lacks)."""
    has = catalog.get(has).price_spoken(lang) if has in catalog else has
    gen = TemplateGenerator(catalog, lang, answer_in_question_language=True)
    handed: list[str] = []
    gen.on_unanswered = lambda ev, lg: handed.append(ev.text)
    said = " ".join(s.text for s in gen.answer(ChatEvent(user="ann", text=text), "kettle"))
    assert has in said and handed == [], said


def test_a_greeting_before_chatter_stays_a_greeting(catalog) -> None:
    assert split_question("Hi everyone! Anyone here from Spain?") == [
        "Hi everyone! Anyone here from Spain?"
    ]
    gen = TemplateGenerator(catalog, "en")
    handed: list[str] = []
    gen.on_unanswered = lambda ev, lg: handed.append(ev.text)
    gen.answer(ChatEvent(user="ann", text="Hi everyone! Anyone here from Spain?"), "kettle")
    assert handed == []
