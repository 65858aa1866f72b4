"""Wordings of real chat that the catalog answers, found by eleven blind sets of viewer
messages (session 37: 498 in four languages, 420 answered or handed on as a viewer would want
before these rules): a hedge word or chat's slang is no detail asked ("Wie viel Watt hat er
*eigentlich*?", "背包*到底*有多重", "how much is the lamp *rn*"), a brand of drink is a
carbonated one, hours of music are the battery's, a parcel carrier, a day of the week, a free
gift, a student discount, the best seller or an invoice is the team's to answer (no shop entry
says it), "how much for everything?" is the show's total, a voucher question gets the deal
without a "yes" no catalog gives, two questions with one answer get it once, a traveller is
recommended the travel backpack, "Wie hoch ist die Lampe?" asks a height the catalog does not
give, an Italian recommendation agrees with a plural product, and "dishwasher safe" in Italian
or Chinese chat is the dishwasher entry; where the parcel ships from, ordering by phone and a
viewer's own leaking kettle are the team's; arriving tomorrow is the shipping time, and what
to give one's mum a recommendation, camping the travel backpack. 95 of these 111 cases fail on the code the session
started from (f2ab650); the other 16 guard what the new rules must not break (a pair's total,
shipping "for everything", an adjustable strap the catalog does not mention, the English
traveller, "Wie hoch ist die Leistung/Garantie?", "wie viele Stunden halten die Kopfhörer?"
which a synonym of this session broke for a while) or held already in the generator (English
"bestseller", "which courier") or in the generator while triage dropped the message as chatter
(发顺丰吗, "kriegt man eine Rechnung dazu?", "Kann ich telefonisch bestellen?", "più venduto",
"consegnate il sabato?": the classifier tests)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from support import ask_host

from streamhost.chat.classify import make_classifier
from streamhost.chat.triage import Priority
from streamhost.config import load_config
from streamhost.frames import ChatEvent
from streamhost.langdata import load_languages
from streamhost.talk.assemble import build_talk
from streamhost.talk.generator import TemplateGenerator
from streamhost.talk.retrieval import Retriever


@pytest.mark.parametrize(
    ("lang", "text", "on_screen", "said"),
    [("de", "Wie viel Watt hat der Wasserkocher eigentlich?", "kettle", "2200 Watt"),
     ("de", "was wiegt der rucksack leer", "kettle", "1,1 Kilogramm"),
     ("en", "what does the backpack actually weigh", "kettle", "1.1 kilograms"),
     ("it", "quanto pesa esattamente lo zaino", "kettle", "1,1 chili"),
     ("zh", "背包到底有多重", "kettle", "1.1公斤"),
     ("zh", "背包大概多重", "kettle", "1.1公斤"),
     ("it", "Posso mettere la Coca Cola nella borraccia?", "kettle", "il tappo chiude bene"),
     ("en", "can I put coke in the bottle?", "kettle", "the lid seals well"),
     ("zh", "保温杯能装可乐吗", "kettle", "杯盖密封很好"),
     ("it", "Le cuffie sono comode per tante ore?", "headphones", "cuscinetti morbidi"),
     ("en", "are the headphones comfortable for hours?", "headphones", "memory foam"),
     ("it", "Quanti colori di luce ha la lampada?", "lamp", "cinque temperature di colore"),
     ("zh", "台灯有几种颜色的光", "lamp", "五种色温"),
     ("zh", "水壶烧一壶水要多久？", "kettle", "4分钟"),
     ("de", "Wie lange habe ich Rückgaberecht?", "kettle", "30 Tagen"),
     ("de", "Kann ich auf Rechnung kaufen?", "kettle", "PayPal"),
     ("it", "Fate spedizioni in Svizzera?", "kettle", "paesi dell'UE"),
     ("it", "Lo zaino si apre tutto come una valigia?", "backpack", "come una valigia"),
     ("zh", "耳机降噪效果怎么样", "headphones", "主动降噪"),
     # set 15: livestream chat's own words
     ("zh", "主播 水壶包邮吗", "kettle", "包邮"),
     ("zh", "宝宝们 这个背包能装多少东西", "kettle", "28升"),
     ("de", "Kann man mit den Kopfhörern Musik über Kabel hören?", "kettle", "Audiokabel"),
     ("it", "le cuffie isolano bene dal rumore in aereo?", "kettle", "cancellazione attiva"),
     ("en", "yo how much is the lamp rn", "kettle", "34 euros 95"),
     # set 16
     ("en", "omg the headphones look sick, how much??", "kettle", "89 euros"),
     ("en", "the lamp looks nice, does it work with iphone 15 wireless charging?", "kettle",
      "Qi wireless charging"),
     ("en", "how many colour settings on the lamp", "kettle", "five colour temperatures"),
     ("zh", "耳机带麦吗", "kettle", "麦克风"),
     ("zh", "耳机充满电要多久", "kettle", "快充10分钟"),
     # set 18: hours of music are the battery's
     ("en", "how many hours of music with the headphones", "kettle", "35 hours"),
     ("it", "quante ore di musica con le cuffie?", "kettle", "35 ore"),
     ("zh", "耳机能听多久音乐", "kettle", "35小时"),
     ("de", "wie viele stunden musik mit den kopfhörern", "kettle", "35 Stunden"),
     ("de", "wie viele stunden halten die kopfhörer?", "kettle", "35 Stunden"),
     ("de", "Sind die Kopfhörer auch viele Stunden bequem?", "kettle", "weiche Ohrpolster"),
     # set 19: English words in other languages' chat, and "lavabile"
     ("it", "il bollitore è dishwasher safe?", "kettle", "niente lavastoviglie"),
     ("zh", "水壶可以放dishwasher吗", "kettle", "不要放洗碗机"),
     ("it", "il bollitore è lavabile in lavastoviglie?", "kettle", "niente lavastoviglie"),
     # set 21: arriving tomorrow is the shipping time, not satisfied is the returns entry
     ("it", "se ordino oggi arriva domani?", "kettle", "2 o 4 giorni lavorativi"),
     ("de", "Wenn ich bestelle, ist es morgen da?", "kettle", "2 bis 4 Werktagen"),
     ("zh", "买了不满意怎么办", "kettle", "30天内"),
     ("de", "Was hat der Wasserkocher von vorhin gekostet?", "kettle", "39 Euro 90"),
     # set 22: how long the battery takes to charge is the quick charge, not its 35 hours
     ("en", "how long does the headphone battery take to charge?", "kettle", "10 minutes"),
     # guards: "hoch" as the frame of a value the catalog has
     ("de", "Wie hoch ist die Leistung?", "kettle", "2200 Watt"),
     ("de", "Wie hoch ist die Garantie?", "kettle", "2 Jahre")],
)  # fmt: skip
def test_what_chat_says_around_the_question_is_no_detail_asked(
    catalog, lang, text, on_screen, said
) -> None:
    handed, out = ask_host(catalog, lang, text, on_screen)
    assert not handed and said in " ".join(out), out
    # "comfortable for hours" asks about comfort, not the battery's 35 hours
    assert "35" not in " ".join(out) or "35" in said, out


@pytest.mark.parametrize(
    ("lang", "text"),
    [("de", "verschickt ihr mit DHL?"), ("it", "spedite con BRT?"), ("zh", "用什么快递"),
     ("zh", "发顺丰吗"), ("en", "which courier do you use?"),
     # guards: an adjustable strap or lamp is not said by the catalog
     ("de", "Ist der Gurt verstellbar"), ("it", "la cinghia è regolabile?"),
     # free gifts, shipping insurance, an invoice: the shop's services, not products it lacks
     ("zh", "有赠品吗"), ("zh", "有运费险吗"), ("en", "do you have free gifts?"),
     ("de", "kriegt man eine rechnung dazu?"),
     # a day of the week no shipping entry names; a price for some buyers (the shop's policy)
     ("en", "do you deliver on weekends"), ("de", "Liefert ihr auch am Samstag?"),
     ("it", "consegnate anche il sabato?"), ("zh", "周末发货吗"),
     ("en", "is there a student discount"), ("de", "gibt es einen studentenrabatt"),
     ("it", "c'è uno sconto per studenti?"), ("zh", "学生有优惠吗"),
     # set 20: where the parcel ships from, ordering by phone (the lamp's phone FAQ in Italian)
     ("en", "where are you shipping from?"), ("de", "Von wo verschickt ihr?"),
     ("it", "da dove spedite?"), ("it", "posso ordinare per telefono?"),
     ("de", "Kann ich telefonisch bestellen?"),
     # "hoch" of nothing the catalog measures: the lamp's height (it got a highlight)
     ("de", "Wie hoch ist die Lampe?"),
     # which product sells best: no catalog says (it got the shipping entry, or was dropped)
     ("de", "welches produkt verkauft sich heute am besten?"),
     ("it", "qual è il prodotto più venduto stasera?"), ("en", "what's your bestseller?")],
)  # fmt: skip
def test_a_parcel_carrier_or_an_unsaid_detail_goes_to_the_team(catalog, lang, text) -> None:
    handed, out = ask_host(catalog, lang, text)
    assert handed == [text], out


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("zh", "发顺丰吗"),
        ("de", "kriegt man eine rechnung dazu?"),
        ("en", "yo how much is the lamp rn"),
        ("it", "consegnate anche il sabato?"),
        ("zh", "台灯多高"),  # 多高 asks, as 多少 does: a question without a question mark
        ("it", "qual è il prodotto più venduto stasera?"),
    ],
)
def test_a_carrier_service_or_slang_question_is_a_question_not_chatter(catalog, lang, text) -> None:
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    priority, _ = classify(ChatEvent("ann", text, lang=lang))
    assert priority is Priority.QUESTION


@pytest.mark.parametrize(
    ("lang", "text"),
    [("de", "Habt ihr auch Gutscheine?"), ("en", "any coupon codes?"), ("zh", "有优惠券吗？")],
)
def test_a_voucher_question_gets_the_deal_without_a_yes(catalog, lang, text) -> None:
    """No catalog names a voucher: "Ja! Der Wasserkocher kostet gerade ..." claimed one (the
    default show's kettle deal on: a deal answer, whose openings include a yes)."""
    gen = build_talk(load_config(), lambda: 0.0, lambda name: True).generator
    said = []
    for _ in range(8):  # the deal answers' openings come round in turn
        said += [s.text for s in gen.answer(ChatEvent("ann", text, lang=lang), "kettle")]
    assert said and not any(s.startswith(("Ja", "Yes", "有优惠")) for s in said), said
    assert any("31" in s for s in said), said  # the deal itself is said


@pytest.mark.parametrize(
    ("lang", "text", "total"),
    [("en", "how much is everything together?", "253 euros 25"),
     ("de", "Was kostet das alles zusammen?", "253 Euro 25"),
     ("it", "quanto costa tutto insieme?", "253 euro e 25"),
     ("zh", "全部一起多少钱", "253.25欧元")],
)  # fmt: skip
def test_how_much_for_everything_is_the_shows_total(catalog, lang, text, total) -> None:
    assert sum(p.price for p in catalog) == Decimal("253.25")
    handed, out = ask_host(catalog, lang, text)
    said = " ".join(out)
    assert not handed and total in said, out
    for p in catalog:  # every product named, as the guard needs for the sum
        assert p.name(lang) in said, (p.id, out)
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    assert classify(ChatEvent("ann", text, lang=lang)) == (Priority.QUESTION, f"total_all:{lang}")


@pytest.mark.parametrize(
    ("lang", "text", "not_said"),
    [("de", "Wie viel kostet der Versand für alles?", "253"),  # the shipping entry
     ("it", "quanto costa il bollitore tutto compreso?", "253"),  # the kettle's price
     ("en", "how much for the kettle and the lamp together?", "253")],  # the pair's total
)  # fmt: skip
def test_everything_with_another_question_is_not_the_total(catalog, lang, text, not_said) -> None:
    _, out = ask_host(catalog, lang, text)
    assert out and not_said not in " ".join(out), out


@pytest.mark.parametrize(
    ("lang", "text"),
    [("de", "Bis wann kann ich zurückschicken?"), ("it", "Entro quanti giorni posso restituire?"),
     ("en", "until when can I return it?")],
)  # fmt: skip
def test_until_when_takes_no_yes(catalog, lang, text) -> None:
    handed, out = ask_host(catalog, lang, text)
    assert not handed and "30" in " ".join(out), out
    assert not any(s.startswith(("Ja", "Sì", "Yes")) for s in out), out


def test_two_questions_with_one_answer_say_it_once(catalog) -> None:
    """ "Is the bottle ok for hot tea and how long does it stay hot?": both parts find its 12
    hours, in two of the spec's templates; the second said the first again in other words."""
    _, out = ask_host(catalog, "en", "is the bottle ok for hot tea and how long does it stay hot")
    assert sum("12 hours" in s for s in out) == 1, out
    # two facts of one product are both said
    _, out = ask_host(catalog, "en", "how much is the backpack and how heavy is it?")
    said = " ".join(out)
    assert "64 euros 50" in said and "1.1 kilograms" in said, out


@pytest.mark.parametrize(
    ("lang", "text", "name"),
    [("de", "Was empfiehlst du für jemanden, der viel reist?", "Reiserucksack"),
     ("zh", "经常出差的人买哪个好？", "旅行双肩包"),
     ("en", "what would you pick for a dad who travels a lot?", "travel backpack")],
)  # fmt: skip
def test_a_recommendation_for_travellers_is_the_travel_backpack(catalog, lang, text, name) -> None:
    """ "reist" and 出差 (business trips) are the travel backpack's "Reise-" and 旅行: the
    kettle on screen was recommended to a traveller in German and Chinese."""
    handed, out = ask_host(catalog, lang, text)
    assert not handed and name in " ".join(out), out


def test_an_italian_recommendation_agrees_with_a_plural_product(catalog) -> None:
    """ "A 79 euro, le cuffie wireless vale davvero la pena": the verb follows the number."""
    gen = TemplateGenerator(catalog, "it", answer_in_question_language=True)
    said = []
    for _ in range(8):  # the recommendation's templates come round in turn
        ask = ChatEvent("ann", "vale la pena comprare le cuffie?", lang="it")
        said += [s.text for s in gen.answer(ask, "headphones")]
    assert any("cuffie wireless valgono davvero la pena" in s for s in said), said
    assert not any("cuffie wireless vale " in s for s in said), said


def test_which_number_of_link_is_how_to_buy_and_which_day_is_shipping(catalog) -> None:
    """几号链接是耳机 ("which link number are the headphones?") is how to buy them (it went to
    the operator); 几号发货 ("on which day does it ship?") stays the shipping entry."""
    handed, out = ask_host(catalog, "zh", "几号链接是耳机")
    ctas = {t.replace("{name}", "") for t in load_languages()["zh"].templates["cta"]}
    assert not handed and out and all("发货要" not in s for s in out), out
    assert any(c[:4] in out[-1] for c in ctas), out  # one of the call-to-action lines
    handed, out = ask_host(catalog, "zh", "几号发货")
    assert not handed and "24小时内发货" in " ".join(out), out


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "my kettle from last week is leaking"),
     ("de", "Mein Wasserkocher von letzter Woche ist undicht"),
     ("it", "il mio bollitore della settimana scorsa perde acqua"),
     ("zh", "我上周买的水壶漏水了")],
)  # fmt: skip
def test_a_product_of_ones_own_that_leaks_is_for_the_team(catalog, lang, text) -> None:
    """A viewer's own kettle leaking is a fault for the shop's team ([intent] order_help): it
    was dropped as chatter (no "?") in all four languages."""
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    assert classify(ChatEvent("ann", text, lang=lang))[0] is Priority.QUESTION
    handed, out = ask_host(catalog, lang, text)
    assert handed == [text] and out, out
    # a question whether the lid leaks is still the bottle's leak-proof lid
    _, out = ask_host(catalog, "en", "does the lid leak?")
    assert "leak-proof lid" in " ".join(out), out


@pytest.mark.parametrize(
    ("lang", "text"),
    [("it", "cosa regalo a mia mamma?"), ("it", "cosa prendo per il mio ragazzo?"),
     ("de", "Was schenke ich meiner Mama?")],
)  # fmt: skip
def test_what_to_give_someone_is_a_recommendation(catalog, lang, text) -> None:
    """ "What do I give my mum?" asks for a recommendation (it was dropped as chatter): a
    product named with its price."""
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    assert classify(ChatEvent("ann", text, lang=lang))[0] is Priority.QUESTION
    handed, out = ask_host(catalog, lang, text)
    said = " ".join(out)
    assert not handed and any(p.name(lang) in said for p in catalog) and "Euro" in said.title()


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "which product is best for camping?"), ("it", "quale prodotto è meglio per il campeggio?"),
     ("de", "Welches Produkt ist am besten zum Campen?"), ("zh", "露营买哪个好")],
)  # fmt: skip
def test_camping_is_travel_not_the_kettle_on_screen(catalog, lang, text) -> None:
    """Camping is the travel backpack's kind of trip: an electric kettle was recommended."""
    handed, out = ask_host(catalog, lang, text)
    said = " ".join(out)
    assert not handed and catalog.get("backpack").name(lang) in said, out
    assert catalog.get("kettle").name(lang) not in said, out


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "is the bottle stainless steel inside?", "food-grade stainless steel"),
     ("zh", "保温杯内胆是不锈钢的吗", "食品级不锈钢")],
)  # fmt: skip
def test_the_inside_of_the_bottle_is_its_material(catalog, lang, text, said) -> None:
    handed, out = ask_host(catalog, lang, text)
    assert not handed and said in " ".join(out), out
