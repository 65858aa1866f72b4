"""Session 39's blind sets (40-60, 744 messages in four languages; 632 answered or handed on
as a viewer would expect before their fixes), the kettle on screen unless a test says other.

Set 44 (40 English messages that tell something before they ask; 22 answered or handed on as
a viewer would expect before these fixes): the question after the tale is answered ("my old
kettle broke lol, does this one have a warranty" was dropped as chatter, "sorry for my
english. how much for the bag?" handed on), about the product the tale names ("my daughter
needs a backpack for uni, how many litres is it?"; "omg that lamp is so pretty, how much??"
got the kettle's price), and only where the whole message finds no answer: "we have a gas
stove at home, does the kettle work on it?" stays the team's. Sets 40-43 (50 each, en/de/it/
zh; 49, 43, 47 and 48 right before): the same tale in German, Italian and Chinese, how fast it
boils a litre (the German got the 1.7 litre capacity), a noise asked about ("wie laut ist
der?", "è rumoroso?") and the sound gone ("der ton ist weg") never chatter, a count in pieces
("quanti pezzi rimangono?") the stock, instalments the payment entry (the German got "not in
the show"), the descaling filter, taking the backpack on a plane its cabin-luggage answer, and
charging the lamp itself (not the phones its base charges) the team's: the catalog does not
say how it is powered. Sets 45-46 (45 de/it and 40 zh messages of the same kinds, written
after those fixes; 39 and 33 right before): a compliment before the question, "wireless
charging" the lamp's pad in any language, 上车了 a purchase, and Chinese chat words (送线,
杯子, 瑞士能寄吗). Sets 47-60: the comments of the tables below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import ask_host

from streamhost.chat.classify import make_classifier
from streamhost.chat.triage import Priority
from streamhost.frames import ChatEvent
from streamhost.talk.catalog import parse_catalog
from streamhost.talk.compound import tale_and_question
from streamhost.talk.retrieval import Retriever

DEMO = Path(__file__).resolve().parents[1] / "assets" / "catalog" / "demo.json"


@pytest.mark.parametrize(
    ("text", "split"),
    [("my old kettle broke lol, does this one have a warranty",
      ("my old kettle broke lol", "does this one have a warranty")),
     ("my kettle broke lol. warranty?", ("my kettle broke lol", "warranty?")),
     ("quick q - is the kettle BPA free", ("quick q", "is the kettle BPA free")),
     ("ok, so the headphones, do they have a mic?", ("ok, so the headphones", "do they have a mic?")),
     ("我家的旧水壶坏了，这个有保修吗？", ("我家的旧水壶坏了", "这个有保修吗？")),
     # the point of a number is no clause's end; a told part ends at the comma before it
     ("we're 4 people, is 1.7 litres enough?", ("we're 4 people", "is 1.7 litres enough?")),
     ("is 1.7 litres enough", None),
     # set 47: told after the question
     ("does it flicker? I get headaches", ("I get headaches", "does it flicker?")),
     ("how much is it? and the lamp?", None),
     # guards: a message that asks from its start, two questions, a tale with no question
     ("Kann ich sie zurückgeben, wenn sie kaputtgeht?", None),
     ("wow 24 hours cold?? is that true", None),
     ("just bought the kettle, so happy", None)],
)  # fmt: skip
def test_the_question_after_a_tale(text, split) -> None:
    assert tale_and_question(text) == split


# (lang, message, product on screen, words the answer says); nothing handed on
ANSWERED = [
    # set 44: the question after a tale, about the product the tale names
    ("en", "my old kettle broke last week lol, does this one have a warranty", "kettle", "2 year"),
    ("en", "my kettle broke lol. warranty?", "kettle", "2 year"),
    ("de", "mein alter ist kaputt gegangen, hat der garantie?", "kettle", "2 Jahre Garantie"),
    ("it", "il mio vecchio si è rotto, questo ha la garanzia?", "kettle", "garanzia di 2 anni"),
    ("zh", "我家的旧水壶坏了，这个有保修吗？", "kettle", "保修2年"),
    ("en", "sorry if asked already, how much is the lamp?", "kettle", "LED desk lamp"),
    ("en", "sorry for my english. how much for the bag?", "kettle", "64 euros 50"),
    ("en", "question: does the lamp have a usb port", "kettle", "USB port"),
    ("en", "I travel a lot for work. is the backpack ok as hand luggage?", "kettle", "cabin luggage"),
    ("en", "dropped my phone in water yesterday lol. is the backpack waterproof?", "kettle", "light rain"),
    ("en", "my daughter needs a backpack for uni, how many litres is it?", "kettle", "28 litres"),
    ("en", "my old headphones hurt my ears. are these comfy?", "kettle", "memory foam"),
    ("en", "omg that lamp is so pretty, how much??", "kettle", "LED desk lamp"),
    ("en", "hmm how heavy are the headphones", "kettle", "250 grams"),  # a filler is no detail
    ("it", "boh quanto pesano le cuffie?", "kettle", "250 grammi"),
    ("en", "I drink a lot of green tea, can this do lower temperatures?", "kettle", "five temperature"),
    # sets 40-43: chat's words for what the catalog says
    ("de", "wie schnell kocht der einen liter?", "kettle", "4 Minuten"),
    ("en", "how fast does it boil one litre?", "kettle", "4 minutes"),
    ("it", "quanto velocemente bolle un litro?", "kettle", "4 minuti"),
    ("zh", "烧一升水多快？", "kettle", "4分钟"),
    ("de", "ist ein entkalkungsfilter dabei?", "kettle", "Kalkfilter"),
    ("de", "darf ich den rucksack im flugzeug mitnehmen?", "kettle", "Handgepäck"),
    ("en", "can I take the backpack on a plane?", "kettle", "cabin luggage"),
    ("zh", "大家好，这个水壶能装多少水？", "kettle", "1.7升"),
    ("de", "gibt es ratenzahlung?", "kettle", "PayPal"),
    ("it", "quanti pezzi rimangono?", "kettle", "bollitore"),
    ("de", "wie viele stück sind noch da?", "kettle", "Wasserkocher"),
    # sets 45-46: a compliment before "how much for everything?" (the kettle's price), the
    # lamp's pad asked as "wireless charging" (the headphones' quick charge, by the
    # "wireless" of their name), "we don't have that" only where the question after the
    # tale finds nothing either (有滤网吗: the kettle's filter)
    ("de", "toll präsentiert! wie viel kostet alles zusammen?", "kettle", "253 Euro 25"),
    ("it", "bravissima! quanto costa tutto insieme?", "kettle", "253 euro e 25"),
    ("en", "is there wireless charging?", "kettle", "Qi"),
    ("it", "c'è la ricarica wireless?", "kettle", "Qi"),
    ("zh", "能无线充电吗？", "kettle", "底座"),
    ("zh", "我们这水垢很多，有滤网吗？", "kettle", "除垢滤网"),
    ("zh", "宝宝们，这个杯子保温怎么样？", "kettle", "12小时"),
    ("zh", "我家猫把充电线咬坏了，耳机送线吗？", "kettle", "音频线"),
    ("zh", "瑞士能寄吗？", "kettle", "欧盟"),
    ("de", "habe gestern bestellt, wann kommt das?", "kettle", "Werktagen"),
    ("de", "ich koche jeden morgen kaffee, schaltet der wasserkocher selbst ab?", "kettle", "Abschaltung"),
    # set 47 (44 messages, the lamp on screen; 39 right before): a tale after the question,
    # its touch dimmer asked in other words
    ("en", "does it flicker? I get headaches", "lamp", "flicker-free"),
    ("en", "is it touch controlled?", "lamp", "touch dimmer"),
    ("en", "does it remember the last setting?", "lamp", "memory"),
    # set 48 (40 English messages on gifts, comparisons, deals and the lineup; 31 right before)
    ("en", "what's the total for the lamp and the backpack?", "kettle", "Together that's"),
    ("en", "which one would you recommend for a traveller?", "kettle", "travel backpack"),
    ("en", "is everything on sale?", "kettle", "Tonight's deals"),  # was the total of all five
    ("en", "can you go back to the headphones?", "kettle", "wireless headphones"),
    ("en", "do all products ship free?", "kettle", "free on every order"),
    ("en", "will the price go up after the show?", "kettle", "on offer"),  # was "just 31 euros 92"
    # sets 49-51 (95 messages: German dialect and Italian typos without marks, Chinese
    # colloquial chat, English words in de/it/zh chat; 78 right before)
    ("de", "gibts versandkostenfrei", "kettle", "kostenlos"),  # was "not in the show"
    ("de", "wie schwer sin die kopfhörer", "kettle", "250 Gramm"),
    ("de", "habts noch welche", "kettle", "Wasserkocher"),
    ("de", "kopfhörer mit ANC?", "kettle", "Geräuschunterdrückung"),
    ("it", "c'è lo shipping gratis?", "kettle", "gratuita"),  # was "not tonight"
    ("it", "lo zaino è waterproof?", "kettle", "idrorepellente"),
    ("it", "la borraccia è BPA free?", "kettle", "senza BPA"),
    ("zh", "耳机能连两个设备吗", "kettle", "两台设备"),
    ("zh", "耳机有ANC吗", "kettle", "主动降噪"),
    ("zh", "包邮free shipping吗", "kettle", "包邮"),
    # sets 52-55 (80 messages: tales before questions in it/de/zh, English confirmations and
    # corrections; 67 right before), the product the tale names taken as named ("my old
    # *bottle* smells" got the kettle's steel body)
    ("it", "arrivo adesso, cosa state vendendo?", "kettle", "borraccia termica"),  # was dropped
    ("it", "ho un macbook da 14, entra nello zaino?", "kettle", "16 pollici"),
    ("de", "meine alte flasche stinkt, ist die aus edelstahl?", "kettle", "lebensmittelechtem"),
    ("de", "ich geh jeden tag ins fitnessstudio, läuft die flasche aus?", "kettle", "auslaufsicher"),
    ("de", "wir haben ein baby, kann man damit babynahrung machen?", "kettle", "Babynahrung"),
    ("zh", "家里有宝宝，能调到冲奶粉的温度吗？", "kettle", "冲奶粉"),  # was "not in the show"
    ("zh", "我们这水很硬，有过滤吗？", "kettle", "滤网"),
    ("zh", "所以是两年保修？", "kettle", "保修2年"),
    # sets 56-57 (30 de/it questions on the shop's policies, 30 English ones to the host; 49
    # right before): the shop's name is the catalog's, and whether a person reads the chat
    # gets the honest AI answer
    ("en", "what's the shop called?", "kettle", "Nordlicht Home"),
    ("de", "wie heißt der laden?", "kettle", "Nordlicht Home"),
    ("it", "come si chiama il negozio?", "kettle", "Nordlicht Home"),
    ("zh", "店叫什么", "kettle", "北极光家居"),
    ("en", "is there a human here?", "kettle", "AI"),  # was "we don't have that"
    ("en", "who is reading the chat?", "kettle", "real person"),  # was dropped
    ("en", "you're a robot lol", "kettle", "AI"),
    ("en", "are you chatgpt?", "kettle", "AI"),
    # set 58 (40, the headphones on screen; 37 right before): the noise cancelling their
    # Chinese name is made of (the team's)
    ("zh", "降噪效果好吗？", "headphones", "主动降噪"),
    # set 59 (30 English messages in chat's slang, emoji and shouting; 23 right before)
    ("en", "bruh how heavy is the backpack", "kettle", "1.1 kilograms"),
    ("en", "smh the kettle is sold out?", "kettle", "electric kettle"),
    ("en", "tbh i need a kettle, how fast does it boil", "kettle", "4 minutes"),
    ("en", "backpack size pls 🙏", "kettle", "28 litres"),  # was its laptop sleeve
    ("en", "idk which to get, lamp or bottle?", "kettle", "insulated water bottle has"),
    # set 60 (30 de/it/zh messages opening with a filler; 27 right before)
    ("zh", "哇35小时续航？", "kettle", "35小时"),  # handed on
    ("zh", "哎，还剩几个？", "kettle", "电热水壶"),  # dropped
    ("zh", "话说保修多久？", "kettle", "保修2年"),  # handed on
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "on_screen", "said"), ANSWERED)
def test_what_the_blind_sets_asked_is_answered(catalog, lang, text, on_screen, said) -> None:
    handed, out = ask_host(catalog, lang, text, on_screen)
    assert not handed and said in " ".join(out), out


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "we have a gas stove at home, does the kettle work on it?"),  # "it" is the stove
     ("en", "quick q - is the kettle BPA free"),  # the catalog does not say
     # sets 56-57: the shop's own policies
     ("de", "kann ich meine bestellung noch ändern?"),  # got the free shipping entry
     ("de", "gibt es einen newsletter rabatt?"),  # got the kettle's sale
     ("it", "c'è uno sconto per la newsletter?"),
     ("it", "c'è un numero di assistenza?")],  # got "not in the show"
)  # fmt: skip
def test_what_the_catalog_cannot_back_is_the_teams(catalog, lang, text) -> None:
    handed, out = ask_host(catalog, lang, text)
    assert handed == [text] and len(out) == 1, out


@pytest.mark.parametrize(
    ("lang", "text", "priority"),
    [("en", "my old kettle broke last week lol, does this one have a warranty", Priority.QUESTION),
     ("en", "question: does the lamp have a usb port", Priority.QUESTION),
     ("en", "quick q - is the kettle BPA free", Priority.QUESTION),
     ("de", "wie laut ist der?", Priority.QUESTION),
     ("it", "è rumoroso?", Priority.QUESTION),
     ("de", "der ton ist weg", Priority.QUESTION),
     ("it", "quanti pezzi rimangono?", Priority.QUESTION),
     ("zh", "是正品吗？", Priority.QUESTION),  # set 46: is it genuine? (dropped)
     ("zh", "上车了！", Priority.THANKS),  # "I'm on board": bought (dropped)
     ("zh", "多高？", Priority.QUESTION),  # set 47: how tall (dropped)
     # sets 49-51: the voltage, a plug, a use asked with 是多少, 是…吗, 适合 and no "？"
     ("zh", "电压是多少", Priority.QUESTION),
     ("zh", "是欧标插头吗", Priority.QUESTION),
     ("zh", "适合看书吗？", Priority.QUESTION),
     # set 59: a filler before a question (dropped as chatter)
     ("en", "wait is the kettle cordless or not", Priority.QUESTION),
     ("en", "no cap does the bottle keep ice 24h", Priority.QUESTION),
     # guards: chatter after chatter, fillers and no question, stay chatter
     ("en", "lol, what a night", Priority.OTHER),
     ("en", "haha ok. anyone here?", Priority.OTHER),
     ("en", "ngl what a night", Priority.OTHER)],
)  # fmt: skip
def test_a_question_beside_a_tale_or_a_filler_is_no_chatter(catalog, lang, text, priority) -> None:
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: "kettle")
    assert classify(ChatEvent("ann", text, lang=lang))[0] is priority


@pytest.mark.parametrize(
    ("lang", "text", "handed_on"),
    [("en", "how do I charge the lamp?", True),
     ("de", "wie lade ich die Lampe auf?", True),
     ("it", "come si ricarica la lampada?", True),
     ("zh", "台灯怎么充电？", True),
     ("en", "is the lamp rechargeable?", True),
     # guards: the phones it charges, and a product whose battery the catalog gives
     ("en", "can I charge my phone with the lamp?", False),
     ("zh", "台灯能给手机充电吗？", False),
     ("en", "how do I charge the headphones?", False)],
)  # fmt: skip
def test_charging_the_lamp_itself_is_the_teams(catalog, lang, text, handed_on) -> None:
    """The lamp's FAQ says which phones charge on its base; how the lamp is powered it does
    not say (it got "Any phone that supports Qi wireless charging")."""
    handed, out = ask_host(catalog, lang, text)
    assert (handed == [text]) is handed_on and out, out
    assert handed_on or "Qi" in " ".join(out) or "USB" in " ".join(out) or "5 hours" in out[-1]


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "how much cheaper is the kettle today?"),
     ("de", "ich hab die lampe letztes jahr gekauft, ist die jetzt billiger?"),
     ("it", "ho comprato la lampada l'anno scorso, adesso costa meno?")],
)  # fmt: skip
def test_cheaper_now_asks_the_deal(catalog, lang, text) -> None:
    assert Retriever(catalog).asks(text, "deal")


def test_a_tale_names_its_product_whole(catalog) -> None:
    """ "my *desk* is small" names no lamp (part of "LED desk lamp"): the team's."""
    handed, _ = ask_host(catalog, "en", "my desk is small, will it fit?")
    assert handed


def test_no_shop_name_no_shop_line() -> None:
    """A catalog without a shop name: "what's the shop called?" is the team's."""
    raw = json.loads(DEMO.read_text("utf-8"))
    raw["shop"].pop("name")
    for p in raw["products"]:
        p.pop("image")
    handed, _ = ask_host(parse_catalog(raw), "en", "what's the shop called?")
    assert handed


def test_a_warranty_asked_is_the_product_on_screens(catalog) -> None:
    """Set 58: "is there a warranty?" with the headphones on screen is theirs, which the
    catalog does not give (it got the kettle's 2 years)."""
    handed, out = ask_host(catalog, "en", "is there a warranty?", "headphones")
    assert handed and "2 year" not in " ".join(out), out
