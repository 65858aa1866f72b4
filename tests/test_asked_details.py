"""What a question asks when its words say more than that: an amount stated as a condition
("how long does it take to boil *1 litre*?" asks the boiling time, not the capacity), a German
compound name that is the question ("Wie lange braucht der *Wasserkocher*?"), and a detail only
another product's feature names ("Sind die *Ohrpolster* bequem?" with the kettle on screen:
the headphones' ear cushions). 16 of these 25 cases fail on session 35's code (a worktree at
8f2a3c3: the capacity, or the operator, instead of the answer the catalog holds); the other 9
guard what the new rules could break (an amount asked about is the capacity, a question
pointing at the product on screen stays its own, a deal word names no feature's owner)."""

from __future__ import annotations

import pytest
from support import ask_host

from streamhost.language import detect_language


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "how long does it take to boil 1 litre?", "4 minutes"),
     ("en", "how long does it take to boil half a litre?", "4 minutes"),
     ("de", "Wie lange braucht der Wasserkocher für einen Liter?", "4 Minuten"),
     ("zh", "水壶烧一升水要多久？", "4分钟"),
     ("en", "how long does the kettle take to boil a full pot", "4 minutes")],
)  # fmt: skip
def test_an_amount_in_a_how_long_question_is_its_condition(catalog, lang, text, said) -> None:
    handed, out = ask_host(catalog, lang, text)
    joined = " ".join(out)
    assert not handed and said in joined, out
    # the capacity sentence ("It takes 1.7 litres.") is not the answer
    assert not any(s.startswith(("It takes", "They take", "Der Wasserkocher fasst")) for s in out)


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "is it 2 litres?", "1.7 litres"), ("de", "Fasst er 2 Liter?", "1,7 Liter")],
)
def test_an_amount_asked_about_is_still_the_capacity(catalog, lang, text, said) -> None:
    handed, out = ask_host(catalog, lang, text)
    assert not handed and said in " ".join(out) and "Minute" not in " ".join(out), out


def test_a_german_compound_name_asked_in_an_entrys_own_frame_is_that_entry(catalog) -> None:
    """ "Wie lange braucht der Wasserkocher?" is the FAQ's "Wie lange braucht er zum Kochen?"
    (the name's "kocher" is its "Kochen"); "Ist der Wasserkocher gut?" asks no boiling time."""
    handed, out = ask_host(catalog, "de", "Wie lange braucht der Wasserkocher?")
    assert not handed and "4 Minuten" in " ".join(out), out
    _, out = ask_host(catalog, "de", "Ist der Wasserkocher gut?")
    assert "4 Minuten" not in " ".join(out), out


OTHER_FEATURE = [
    ("de", "Sind die Ohrpolster bequem?", "Funkkopfhörer", "weiche Ohrpolster"),
    ("it", "I cuscinetti sono comodi?", "cuffie wireless", "cuscinetti morbidi"),
    ("zh", "耳垫舒服吗？", "无线降噪耳机", "记忆棉耳垫"),
    ("de", "Ist der Deckel auslaufsicher?", "Thermo-Trinkflasche", "auslaufsicherer Deckel"),
    ("it", "Il tappo è a prova di perdite?", "borraccia termica", "tappo antigoccia"),
    ("zh", "杯盖会漏吗？", "保温水杯", "防漏杯盖"),
    ("en", "are the ear cushions comfy?", "wireless headphones", "memory foam ear cushions"),
    ("zh", "保温杯装咖啡能保温多久？", "保温水杯", "12小时"),
]


@pytest.mark.parametrize(("lang", "text", "product", "said"), OTHER_FEATURE)
def test_a_detail_only_another_products_feature_names_is_answered_about_it(
    catalog, lang, text, product, said
) -> None:
    """With the kettle on screen; the answer names the product it is about."""
    handed, out = ask_host(catalog, lang, text)
    joined = " ".join(out)
    assert not handed and product in joined and said in joined, out


@pytest.mark.parametrize(
    ("lang", "text"),
    [("it", "È impermeabile?"), ("it", "ma è impermeabile?"), ("en", "is it BPA free?")],
)
def test_a_question_pointing_at_the_product_on_screen_stays_its_own(catalog, lang, text) -> None:
    """Italian drops the subject: "È impermeabile?" asks about the kettle on screen, which the
    catalog does not say ("I'll check"), not the backpack's FAQ; "I cuscinetti *sono* ..."
    above has its own subject."""
    handed, out = ask_host(catalog, lang, text)
    assert handed and "zaino" not in " ".join(out) and "bottle" not in " ".join(out), out


def test_a_deal_question_never_finds_an_owner_in_a_feature_word(catalog) -> None:
    """ "is the sale *over*?": the deal, not the backpack's strap "that slides over your
    trolley handle", and no "Yes!" to a question whose yes would mean the sale has ended."""
    handed, out = ask_host(catalog, "en", "is the sale over?")
    joined = " ".join(out)
    assert not handed and "electric kettle" in joined and "backpack" not in joined, out
    assert not joined.startswith("Yes"), out


def test_if_i_buy_two_is_no_feature_of_two_devices(catalog) -> None:
    _, out = ask_host(catalog, "en", "if I buy two, is there a discount?")
    assert "devices" not in " ".join(out), out


@pytest.mark.parametrize(
    ("text", "lang"),
    [("usb c?", "en"), ("USB-C port?", "en"), ("c'è uno sconto?", "it"), ("c è?", "it")],
)
def test_a_lone_consonant_is_no_italian_word(text, lang) -> None:
    assert detect_language(text) == lang


# Session 36's blind set 7 (63 product questions in de/it/zh, written before any fix of its
# own): 14 went wrong or unanswered. Each is asked here as the chat inlet runs it (moderation,
# triage, the generator; the kettle on screen) and must be answered with the catalog's words.
SET7 = [
    ("de", "Wird der Griff heiß?", "Griff, der kühl bleibt"),  # not the keep-warm's "heiß"
    ("en", "does the handle get hot?", "cool-touch handle"),
    ("de", "Hat der Rucksack ein Fach für den Reisepass?", "Rückentasche"),  # not "Laptopfach"
    ("de", "Hat der Rucksack ein Fach für den Pass?", "Rückentasche"),
    ("zh", "把手烫不烫？", "防烫把手"),  # no intent word: a feature of the product on screen
    ("it", "Il manico si scalda?", "manico che resta freddo"),  # was dropped as chatter
    ("it", "Quanto fa luce la lampada?", "800 lumen"),  # "luce" is the lamp's alias: not a price
    ("en", "how much light does the lamp give?", "800 lumens"),
    ("de", "Wie viel Licht macht die Lampe?", "800 Lumen"),
    ("it", "Le cuffie si possono usare col cavo?", "cavo audio"),
    ("it", "Posso mettere bibite gassate nella borraccia?", "il tappo chiude bene"),
    ("it", "Che versione di bluetooth hanno le cuffie?", "5,3"),
    ("zh", "水壶会自己断电吗？", "自动断电"),
    ("zh", "台灯可以折起来吗？", "可折叠"),
    ("zh", "保温杯能装汽水吗？", "杯盖密封"),
    ("zh", "背包能带上飞机吗？", "随身行李"),
    ("de", "Passt die Flasche in den Flaschenhalter im Auto?", "Getränkehalter"),
    ("de", "Kann ich zwei Handys gleichzeitig verbinden?", "zwei Geräte"),
    ("en", "can I connect two phones at once?", "two devices"),
]


# Blind set 9 (78 live-chat messages in four languages): 11 went wrong or unanswered.
SET9 = [
    ("en", "how much r the headfones", "79 euros"),  # "ph" spelt as said
    ("en", "price for lamp + bottle?", "54 euros 61"),  # two products named: both, and the total
    ("en", "does the kettle have different temperatures?", "five temperature settings"),
    ("it", "Il bollitore ha diverse temperature?", "cinque temperature"),
    ("zh", "水壶能调温吗？", "五档温度"),
    ("en", "is the backpack good for travelling", "travel backpack"),  # "travelling": "travel"
    ("en", "first time watching, what are you selling?", "insulated water bottle"),  # line-up
    ("zh", "第一次来，你们卖什么？", "保温水杯"),
    ("it", "Quanto ci mette la consegna?", "2 o 4 giorni"),  # the time, not the shipping cost
]


# Blind set 10 (60 English product questions the catalog mostly answers): 12 went wrong or
# unanswered (chat's words for the catalog's: ear pads, a wire, sparkling water, "turn itself
# off", "heat up", "on a charge"; "up" of "fold up" met the lamp's "up to 800 lumens"; "water"
# of "how long does it keep the water hot?" named the bottle with the kettle on screen).
SET10 = [
    ("en", "does the kettle turn itself off when it boils", "automatic shut-off"),
    ("en", "how long does it keep the water hot", "30 minutes"),  # the kettle's, on screen
    ("en", "how fast does the kettle heat up", "4 minutes"),
    ("en", "how long do the headphones last on a charge", "35 hours"),  # not the quick charge
    ("en", "can the headphones connect to my laptop and phone at the same time", "two devices"),
    ("en", "are the ear pads soft", "ear cushions"),
    ("en", "can i use the headphones with a wire", "audio cable"),
    ("en", "will the backpack keep my stuff dry in the rain", "water-repellent"),
    ("en", "can i change the color temperature of the lamp", "colour temperatures"),
    ("en", "does the lamp remember my brightness setting", "dimmer with memory"),
    ("en", "can the lamp fold up for travel", "folds flat"),  # not "up to 800 lumens"
    ("en", "can i put sparkling water in the bottle", "lid seals well"),
]


# Blind set 11 (set 10's questions asked in de/it/zh): 23 of 60 handed on though the catalog
# answers them (three more ask for 80 degrees, which it does not say): chat's words again.
SET11 = [
    ("de", "Schaltet sich der Wasserkocher automatisch aus, wenn das Wasser kocht?", "Abschaltung"),
    ("de", "Kann man den Kalkfilter rausnehmen?", "herausnehmbarer Kalkfilter"),
    ("de", "Wie lange halten die Kopfhörer mit einer Akkuladung?", "35 Stunden"),
    ("de", "Kann man die Kopfhörer auch mit Kabel nutzen?", "Audiokabel"),
    ("de", "Haben die Kopfhörer ein Mikro für Videocalls?", "Mikrofone"),
    ("de", "Kann man den Rucksack auf den Trolley schieben?", "Trolley-Gurt"),
    ("de", "Bleiben meine Sachen im Regen trocken?", "wasserabweisend"),
    ("de", "Merkt sich die Lampe die Helligkeit?", "Speicherfunktion"),
    ("de", "Rutscht die Flasche aus der Hand?", "griffige"),
    ("it", "Il filtro del calcare si può togliere?", "anticalcare estraibile"),
    ("it", "Posso collegare le cuffie al portatile e al telefono insieme?", "due dispositivi"),
    ("it", "Si possono usare le cuffie con il filo?", "cavo audio"),
    ("it", "Lo zaino tiene asciutte le cose sotto la pioggia?", "idrorepellente"),
    ("it", "La lampada ricorda la luminosità?", "memoria"),
    ("it", "Posso mettere acqua frizzante nella borraccia?", "il tappo chiude bene"),
    ("it", "La borraccia scivola dalle mani?", "non scivola"),
    ("zh", "耳机充满电能用多久？", "35小时"),
    ("zh", "耳机能同时连电脑和手机吗？", "两台设备"),
    ("zh", "耳机可以用线连吗？", "音频线"),
    ("zh", "耳机有麦克风可以视频通话吗？", "麦克风"),
    ("zh", "下雨天背包里的东西会湿吗？", "防泼水"),
    ("zh", "台灯能记住亮度吗？", "记忆功能"),
    ("zh", "保温杯手滑吗？", "防滑"),
]


# Blind set 12 (45 product questions, four languages): 10 of those the catalog answers were
# handed on or half answered ("which product is on sale?" got the kettle's deal alone).
SET12 = [
    ("en", "whats the max brightness", "800 lumens"),
    ("de", "Ist die Flasche isoliert?", "doppelwandige Isolierung"),
    ("it", "La borraccia è isolata?", "doppia parete isolante"),
    ("de", "Kann man nur eine Tasse Wasser kochen?", "eine Tasse in etwa 1 Minute"),
    ("it", "Si può bollire una sola tazza?", "una tazza in circa 1 minuto"),
    ("zh", "能只烧一杯水吗？", "一杯水大约1分钟"),
    ("en", "which product is on sale right now", "LED desk lamp"),
    ("de", "Welches Produkt ist gerade im Angebot?", "Schreibtischlampe"),
    ("it", "Quale prodotto è in offerta adesso?", "lampada da scrivania"),
    ("zh", "现在哪个在打折？", "LED护眼台灯"),
]


@pytest.fixture(scope="module")
def inlet_outcomes() -> dict[str, dict]:
    """The blind sets' cases asked as the chat inlet runs them (_talk_questions.py)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from _talk_questions import account_questions

    sets = SET7 + SET9 + SET10 + SET11 + SET12
    items = [{"lang": lg, "user": "anna", "text": t, "expect": ""} for lg, t, _ in sets]
    return {r["text"]: r for r in account_questions(items)}


@pytest.mark.parametrize(("lang", "text", "said"), SET7 + SET9 + SET10 + SET11 + SET12)
def test_blind_sets_7_and_9_to_12_are_answered_from_the_catalog(
    inlet_outcomes, lang, text, said
) -> None:
    row = inlet_outcomes[text]
    assert row["outcome"] == "answered" and said in row["said"], row


@pytest.mark.parametrize(
    ("lang", "text", "deal"),
    [("en", "if I buy two, is there a discount?", "Yes! The electric kettle is 31 euros 92."),
     ("de", "Gibt es Rabatt wenn ich zwei Sachen kaufe?", "Ja! Der Wasserkocher kostet 31 Euro 92."),
     ("it", "C'è uno sconto se compro due cose?", "Sì! Il bollitore costa 31 euro e 92."),
     ("zh", "买两件有优惠吗？", "有优惠！电热水壶现在只要31.92欧元。")],
)  # fmt: skip
def test_no_yes_to_a_discount_for_buying_more(lang, text, deal) -> None:
    """The catalog has a product's sale, no multi-buy discount: the sale is said without the
    yes (``[intent] no_yes``; 有优惠 is a Chinese answer's yes) that would promise one."""
    from streamhost.talk.open_question import answer_to

    said = answer_to(text, lang, deal, lang)
    assert said != deal and said[:2] in deal[3:], said


def test_the_products_own_name_is_no_word_of_a_feature(catalog) -> None:
    """ "Kann man im Wasserkocher Milch warm machen?": "Wasser" of the name met the keep-warm
    mode ("... hält das Wasser 30 Minuten heiß") and outweighed the milk the catalog does not
    speak of; the question is handed on (it was, until "machen" became a frame word)."""
    handed, out = ask_host(catalog, "de", "Kann man im Wasserkocher auch Milch warm machen?")
    assert handed and "Warmhaltefunktion" not in " ".join(out), out


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("en", "will the bottle keep ice for a day?", "24 hours"),
     ("de", "Hält die Flasche Eis einen Tag lang?", "24 Stunden"),
     ("it", "La borraccia tiene il ghiaccio per un giorno?", "24 ore")],
)  # fmt: skip
def test_a_time_stated_beside_a_spec_is_the_value_asked_about(catalog, lang, text, said) -> None:
    """ "for a day" is the amount the viewer hopes for, not a detail the catalog lacks: the
    cold spec answers it (it went to the operator, "day" an unknown word)."""
    handed, out = ask_host(catalog, lang, text)
    assert not handed and said in " ".join(out), out


@pytest.mark.parametrize(
    ("lang", "text", "said", "not_said"),
    [("en", "can i adjust the brightness of the lamp?", "dimmer", "800"),
     ("de", "Kann man die Helligkeit der Lampe einstellen?", "Dimmer", "800"),
     ("it", "Si può regolare la luminosità della lampada?", "dimmer", "800"),
     ("zh", "台灯可以调亮度吗？", "调光", "800"),
     ("en", "how bright is the lamp?", "800 lumens", "dimmer")],
)  # fmt: skip
def test_adjusting_the_brightness_is_the_dimmer(catalog, lang, text, said, not_said) -> None:
    """ "Can I adjust the brightness?" asks for the touch dimmer, not the 800 lumens (session
    35 left this for 台灯可以调亮度吗？; en and zh got the lumens, de and it the operator)."""
    handed, out = ask_host(catalog, lang, text, on_screen="lamp")
    joined = " ".join(out)
    assert not handed and said in joined and not_said not in joined, out
