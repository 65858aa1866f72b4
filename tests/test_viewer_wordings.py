"""Wordings of viewer chat found by session 38's blind sets (24 and 25, 100 messages in four
languages): the difference between two products is what each one is, a phone charged "without
a cable" is the lamp's wireless pad, a Zoom call is a call, "at once" is how a question is
asked, "what do I do if I don't like it?" is the returns entry (with no "yes" to an open
question), another product's name word asked of this one ("is the kettle *wireless*?") is a
detail it lacks, "quanto consuma?" asks the power and "how much is the 1.7 litre kettle?" its
price, and "can I get it in black?" or "wie ist der Klang?" is a question for the team, never
chatter. Set 26 (50 messages; 31 right before): chat's shorthand and colloquial words for
the price ("hm for", "kostn", "a quanto la mettete", 咋卖, 啥价, 多少米), a use the catalog's
answer names (painting: "reading and drawing"), ice cubes are cold drinks, no yes to returning
a used product, the headphones' noise cancelling with the kettle on screen is not its shut-off,
and a size the catalog lacks (背包多长) is the team's. Set 27 (50; 36 right before): "how
long for a litre?" is the boiling time's entry (not the 1.7 litre body), the battery asked as
能用多久, support words (支持), 七天无理由 the returns entry, "come si paga?", the kettle
switching itself off with its name between the words, "what material?" the product on screen's
(not the backpack's "recycled material"), "avete solo questi prodotti?" the lineup, no yes
after the return window or to two for less. Set 28 (50; 34 right before): VAT, tax and
customs are the team's (a price said nothing of them), typos ("teh", "watage"), "wasserfest",
"e ci sta", the United Kingdom as a place, a Chinese comma before an amount (40欧以内) and a
second Chinese question without its mark, 用什么好 a recommendation, another day's show
("domani sei in diretta?") the team's and no "I'm an AI". Set 29 (50 English messages; 41
right before): a card brand is a card, the product one likes most a recommendation, "other
colours" no "other countries" (the shipping entry), a night light no colour temperature, a
wrong order or another address the team's (it was thanked as a purchase), new or refurbished
and where it is made questions. Set 30 (50 German messages; 42 right before): a secret
compartment is the hidden pocket, the strap goes "auf den Koffer", the light's colour is its
colour temperature, setting the temperature and the time to send it back are frame words,
who pays the return shipping is the team's, and "Ich nehme den Wasserkocher!" / "I'll take
it!" get where to buy it. Set 31 (50 Italian messages; 40 right before): setting the
temperature, the filter that comes out, a folding lamp, "in quanti giorni arriva?" the
shipping time (it got the returns entry's 30 days), "does it have BPA?" no "Yes", who pays the
return parcel the team's, "prendo il bollitore!" how to buy, "fino a che ora siete in
diretta?" no question about an AI. Set 32 (50 Chinese messages; 43 right before): the trolley
strap (挂行李箱), the light's colour (调颜色), a leak (漏不漏), WeChat pay, the days to return
it, and an A-not-A question (烫不烫) a question. Set 33 (50 English-stream messages: other
languages, emoji, shouting, numbers, complaints, the stream itself; 33 right before): a
currency sign asks the price, units written short or onto their number ("2200w", "35h",
"kg"), a fault of the stream ("I can't hear you", "out of sync") is the team's, and a question
in a language the host does not speak (Spanish, French, Portuguese, Polish) gets the languages
it answers in, in the show's. Set 35 (30 messages with the headphones on screen; 27 right
before): "what's in the box?" is what an FAQ answer says is in the box. Set 36 (44 messages
on quantities, budgets and comparisons; 35 right before): "which is better, X or Y?" is what
each one is, a budget with a product named needs no currency ("is the lamp under 30?"), "con
25 euro" is a budget, and a count for each of two products is the team's (it said two kettles
for "2 bottles and 1 kettle"). Set 37 (40 messages in zh/it/de live-chat style; 36 right
before): how much water the pot boils, what its body is made of, and the material of a part
no feature names is the team's (it got the kettle's steel body). Set 38 (30 English
messages on use and care; 26 right before): a viewer's own product that broke is the team's.
Set 39 (30 messages with the backpack on screen; 19 right before): a question naming no
product that its spec or an FAQ answer covers is about the one on screen ("passt mein 15 Zoll
MacBook rein?", 能登机吗), a colour of it is the team's (not "not in the show"), a yes-no
question about its details is no chatter ("hat der einen Brustgurt?"). 161 of these 202 cases
fail on the code the session started from (1627dba, `other_language` absent); the other 41
are guards (marked) or held there already (三星 charging, "does it
come in white?", "com'è il suono?", the German 1,7-Liter price, 还有别的吗, 退货运费谁出 as a
question; the German VAT, the customs question, the wrong order, "Wer zahlt den
Rückversand?", "video keeps freezing", "non si sente niente", "my headphones broke after a
week" and 耳机坏了 in the generator alone; "domani sei in diretta?" as a question, answered
as one about an AI)."""

from __future__ import annotations

import re

import pytest
from support import ask_host

from streamhost.chat.classify import make_classifier
from streamhost.chat.triage import Priority
from streamhost.config import load_config
from streamhost.frames import ChatEvent
from streamhost.langdata import load_languages
from streamhost.language import other_language
from streamhost.talk.assemble import build_talk
from streamhost.talk.retrieval import Retriever


@pytest.mark.parametrize(
    ("lang", "text", "first", "second"),
    [("en", "whats the difference between the kettle and the bottle", "1.7 litre brushed",
      "cold for 24 hours"),
     ("en", "kettle vs bottle?", "1.7 litre brushed", "cold for 24 hours"),
     ("de", "was ist der Unterschied zwischen Lampe und Rucksack?", "Die Schreibtischlampe:",
      "Der Reiserucksack:"),
     ("it", "che differenza c'è tra il bollitore e la borraccia?", "Il bollitore elettrico ha",
      "La borraccia termica ha"),
     ("zh", "水壶和水杯有什么区别？", "电热水壶：", "保温水杯："),
     # set 36: "which is better?" gets the same (no verdict the catalog could back)
     ("en", "whats better, the kettle or the bottle?", "1.7 litre brushed", "cold for 24 hours"),
     ("de", "Was ist besser, Wasserkocher oder Flasche?", "Der Wasserkocher:", "Die Thermo"),
     ("it", "meglio il bollitore o la borraccia?", "Il bollitore elettrico ha", "La borraccia"),
     ("zh", "水壶和水杯哪个好", "电热水壶：", "保温水杯：")],
)  # fmt: skip
def test_the_difference_between_two_products_is_what_each_one_is(
    catalog, lang, text, first, second
) -> None:
    handed, out = ask_host(catalog, lang, text)
    said = " ".join(out)
    assert not handed and first in said and second in said, out
    assert said.index(first) < said.index(second), out  # in the order the viewer named them


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "what's the difference between the lamp and the headphones in weight?"),
     ("en", "which is lighter, the bottle or the headphones?")],  # guard: the bottle's weight
)  # fmt: skip
def test_a_difference_in_a_spec_one_of_them_lacks_goes_to_the_team(catalog, lang, text) -> None:
    handed, out = ask_host(catalog, lang, text)
    assert handed == [text], out


@pytest.mark.parametrize(
    ("lang", "text", "on_screen", "said"),
    [("en", "can the lamp charge my iphone without cable?", "kettle", "Qi wireless"),
     ("de", "lädt die Lampe auch Samsung Handys kabellos?", "kettle", "nach Qi"),
     ("it", "posso ricaricare il mio samsung senza fili sulla lampada?", "kettle", "wireless Qi"),
     ("zh", "三星手机能在台灯上无线充电吗？", "kettle", "Qi无线充电"),
     ("en", "are the headphones good for zoom calls?", "kettle", "microphones"),
     ("de", "taugen die Kopfhörer für Videokonferenzen?", "kettle", "Mikrofone"),
     ("it", "le cuffie vanno bene per le videochiamate?", "kettle", "microfoni"),
     ("zh", "耳机开会用可以吗？", "kettle", "麦克风"),
     ("en", "how many cups can the kettle boil at once?", "kettle", "1.7 litres"),
     ("it", "Quanto consuma?", "kettle", "2200 watt"),
     ("de", "Wie viel Strom verbraucht der Wasserkocher?", "kettle", "2200 Watt"),
     ("en", "how much is the 1.7 litre kettle?", "kettle", "39 euros 90"),
     ("de", "wie viel kostet der 1,7 Liter Wasserkocher?", "kettle", "39 Euro 90"),
     ("en", "how many litres?", "kettle", "1.7 litres"),  # guard
     ("en", "can the lamp fold up for travel", "lamp", "folds flat"),  # guard: "travel"
     # set 26: chat's shorthand and colloquial words, a use the catalog's answer names
     ("en", "hm for the lamp", "kettle", "34 euros 95"),
     ("de", "was kostn die kopfhörer", "kettle", "89 Euro"),
     ("it", "a quanto la mettete la lampada?", "kettle", "34 euro e 95"),
     ("zh", "台灯咋卖", "kettle", "34.95欧元"), ("zh", "耳机啥价", "kettle", "89欧元"),
     ("zh", "水杯多少米", "kettle", "24.90欧元"), ("zh", "背包啥时候发货", "kettle", "24小时内发货"),
     ("de", "hat der Wasserkocher keinen Filter?", "kettle", "Kalkfilter"),
     ("en", "is the lamp bright enough for painting?", "kettle", "800 lumens"),
     ("de", "ist die Lampe hell genug zum Malen?", "kettle", "800 Lumen"),
     ("zh", "台灯够亮吗？画画用", "kettle", "800流明"),
     ("de", "kann man Eiswürfel in die Flasche tun?", "kettle", "24 Stunden kalt"),
     # set 27: a time asked of what an FAQ answer times, support words, words of chat
     ("en", "how long for a litre?", "kettle", "4 minutes"),
     ("de", "Wie lange braucht ein Liter?", "kettle", "4 Minuten"),
     ("it", "quanto ci mette un litro?", "kettle", "4 minuti"),
     ("en", "how long does the kettle keep water warm?", "kettle", "30 minutes"),  # guard
     ("zh", "耳机能用多久", "kettle", "35小时"), ("zh", "耳机支持蓝牙几", "kettle", "5.3"),
     ("zh", "七天无理由吗", "kettle", "30天内"), ("it", "come si paga?", "kettle", "PayPal"),
     ("it", "lo zaino ha uno scomparto per il portatile?", "kettle", "16 pollici"),
     ("de", "Schaltet sich der Kocher selbst ab?", "kettle", "automatische Abschaltung"),
     ("de", "Was ist das für ein Material?", "kettle", "Edelstahl"),
     ("it", "avete solo questi prodotti?", "kettle", "la borraccia termica"),
     ("de", "habt ihr noch andere Produkte?", "kettle", "die Thermo-Trinkflasche"),
     ("zh", "还有别的吗", "kettle", "保温水杯"),  # (held already)
     # set 28: typos, a comma before an amount, a Chinese second question without its mark
     ("en", "hw much is teh lamp", "kettle", "34 euros 95"),
     ("en", "whats the watage of the kettle", "kettle", "2200 watts"),
     ("de", "Ist der Rucksack wasserfest und passt ein Laptop rein?", "kettle", "16 Zoll"),
     ("it", "lo zaino è impermeabile e ci sta un portatile?", "kettle", "idrorepellente"),
     ("it", "spedite nel regno unito?", "kettle", "paesi dell'UE"),
     ("zh", "想给妹妹买个礼物，40欧以内", "kettle", "24.90欧元"),
     ("zh", "学生用什么好", "kettle", "电热水壶"),
     # set 29: a card brand is a card; the product one likes most is a recommendation
     ("en", "do you accept amex", "kettle", "card, PayPal"),
     ("en", "which product do you like most", "kettle", "the travel backpack"),
     ("en", "do you ship to other countries?", "kettle", "every country in the EU"),  # guard
     # set 30: German chat's words for the backpack's pocket and strap, the light's colour,
     # setting the temperature, the time to send it back
     ("de", "Hat der Rucksack ein Geheimfach?", "kettle", "versteckte Rückentasche"),
     ("de", "Kann man den Rucksack auf den Koffer stecken?", "kettle", "Trolley-Gurt"),
     ("de", "Kann man die Farbe vom Licht ändern?", "kettle", "Farbtemperaturen"),
     ("de", "Kann man die Temperatur einstellen?", "kettle", "Temperaturstufen"),
     ("de", "Wie lange habe ich Zeit zum Zurückschicken?", "kettle", "30 Tagen"),
     ("en", "does the backpack have a secret pocket?", "kettle", "hidden back pocket"),
     # set 31: Italian chat's words for setting the temperature, the filter coming out,
     # folding, the days to arrive (it got the returns entry's "30 giorni")
     ("it", "si può regolare la temperatura del bollitore?", "kettle", "cinque temperature"),
     ("it", "il filtro si toglie?", "kettle", "filtro anticalcare estraibile"),
     ("it", "la lampada è pieghevole?", "kettle", "si piega"),
     ("it", "in quanti giorni arriva?", "kettle", "giorni lavorativi"),
     # set 32: Chinese chat's words for the trolley strap, the light's colour, a leak, WeChat
     # pay, the days to return it, and an A-not-A question (烫不烫: dropped as chatter)
     ("zh", "背包能挂行李箱上吗", "kettle", "拉杆箱固定带"),
     ("zh", "台灯能调颜色吗", "kettle", "五种色温"), ("zh", "保温杯漏不漏", "kettle", "防漏杯盖"),
     ("zh", "能用微信支付吗", "kettle", "PayPal"), ("zh", "多少天可以退", "kettle", "30天内"),
     # set 33: a currency sign asks the price, a unit written short or onto its number
     ("en", "lamp €?", "kettle", "34 euros 95"),
     ("en", "is the kettle really 2200w??", "kettle", "2200 watts"),
     ("en", "35h battery for real?", "kettle", "35 hours"),
     ("en", "how many kg is the backpack", "kettle", "1.1 kilograms"),
     ("en", "16inch laptop ok?", "kettle", "16 inches"),
     # set 35 (the headphones on screen): what's in the box is what an FAQ answer says is
     ("en", "what's in the box", "headphones", "cable is in the box"),
     ("de", "was ist im Lieferumfang?", "headphones", "Audiokabel liegt bei"),
     ("it", "cosa c'è nella scatola?", "headphones", "Nella confezione"),
     # set 36: a budget with a product named and no currency, "con 25 euro" a budget (it got
     # the kettle recommended at 31.92)
     ("en", "is the lamp under 30?", "kettle", "34 euros 95"),
     ("en", "is the bottle cheaper than 25?", "kettle", "24 euros 90"),
     ("it", "cosa prendo con 25 euro?", "kettle", "borraccia termica"),
     # set 37: how much water the pot boils, what its body is made of (no name but 壶)
     ("zh", "这个壶能烧多少水", "kettle", "1.7升"), ("zh", "壶身是什么材料", "kettle", "不锈钢"),
     ("zh", "背包是环保材料做的吗？", "kettle", "再生面料"),  # guard: a quality, no part
     # set 39 (the backpack on screen, no product named): a laptop named by its brand, the
     # cabin-luggage answer for boarding, the passport pocket as "a place for it"
     ("de", "passt mein 15 zoll macbook rein?", "backpack", "16 Zoll"),
     ("it", "ci sta il mio macbook da 15?", "backpack", "16 pollici"),
     ("zh", "能登机吗", "backpack", "随身行李"),
     ("it", "posso portarlo in aereo come bagaglio a mano?", "backpack", "bagaglio a mano"),
     ("de", "kann ich den als handgepäck mitnehmen?", "backpack", "Handgepäck"),
     ("it", "ha il cinturino per il trolley?", "backpack", "manico del trolley"),
     ("zh", "有放护照的地方吗", "backpack", "放护照"),
     ],
)  # fmt: skip
def test_chats_words_for_what_the_catalog_says(catalog, lang, text, on_screen, said) -> None:
    handed, out = ask_host(catalog, lang, text, on_screen)
    assert not handed and said in " ".join(out), out


@pytest.mark.parametrize(
    ("lang", "text", "said"),
    [("it", "se non mi piace cosa faccio?", "Potete restituire"),
     ("en", "if i don't like it what do i do?", "You can return"),
     ("en", "what if i don't like it?", "You can return"),
     ("de", "wenn er mir nicht gefällt, was mache ich dann?", "zurückgeben"),
     ("zh", "不喜欢怎么办？", "退货"),
     ("en", "if I don't like it can I return it?", "Yes, you can return")],  # guard: a yes-no
)  # fmt: skip
def test_not_liking_it_is_the_returns_entry(catalog, lang, text, said) -> None:
    handed, out = ask_host(catalog, lang, text)
    assert not handed and said in " ".join(out), out


@pytest.mark.parametrize(
    ("lang", "text", "said", "yes"),
    [("de", "kann ich es zurückschicken wenn ich es schon benutzt habe?", "innerhalb von 30", "Ja"),
     ("zh", "用过了还能退吗", "30天内未使用", "可以"),
     ("it", "posso restituirlo se l'ho usato?", "entro 30 giorni", "Sì"),
     ("en", "can i return it if i used it?", "within 30 days", "Yes"),
     # set 27: after the return window, or a discount for two (the sale is no multi-buy deal)
     ("en", "can I return it after 30 days?", "within 30 days", "Yes"),
     # set 31: "does it have BPA?" is answered "BPA free", never "Yes"
     ("it", "la borraccia ha il bpa?", "senza BPA", "Sì"),
     ("en", "does the bottle have bpa?", "BPA free", "Yes"),
     ("it", "posso restituirlo dopo 30 giorni?", "entro 30 giorni", "Sì")],
)  # fmt: skip
def test_a_yes_would_grant_what_no_entry_says(catalog, lang, text, said, yes) -> None:
    """A yes would grant what the entry excludes ("unused and in its original box", "within
    30 days")."""
    handed, out = ask_host(catalog, lang, text)
    answer = next((t for t in out if said in t), None)
    assert not handed and answer is not None and not answer.startswith(yes), out


@pytest.mark.parametrize(
    ("lang", "text"),
    [("it", "fate sconti se ne prendo due?"), ("en", "any discount if i buy two?"),
     ("de", "gibt es Rabatt wenn ich zwei Sachen kaufe?")],  # (the latter two guards)
)  # fmt: skip
def test_a_discount_for_two_gets_the_sale_without_a_yes(lang, text) -> None:
    """The kettle's sale is no two-for-less deal: its price now, never after "Yes!"."""
    gen = build_talk(load_config(), lambda: 0.0, lambda name: True).generator
    said = []
    for _ in range(8):  # the deal answers' openings come round in turn
        said += [s.text for s in gen.answer(ChatEvent("ann", text, lang=lang), "kettle")]
    assert said and not any(s.startswith(("Sì", "Yes", "Ja")) for s in said), said
    assert any("31" in s for s in said), said


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "is the price with VAT?"), ("de", "Ist die MwSt. inklusive?"),
     # set 31: who pays the parcel back, which the returns entry does not say
     ("it", "chi paga la spedizione del reso?"), ("en", "who pays for return shipping?"),
     ("de", "Wer zahlt den Rückversand?"),
     ("it", "il prezzo è iva inclusa?"), ("zh", "价格含税吗"),
     ("en", "do I pay customs to switzerland?")],
)  # fmt: skip
def test_what_a_price_includes_is_the_teams(catalog, lang, text) -> None:
    """VAT, tax or customs: no catalog price says what it includes (it got the price); nor
    does the returns entry say who pays the return parcel (it got the entry)."""
    handed, out = ask_host(catalog, lang, text)
    assert handed == [text], out


def test_two_chinese_questions_without_the_last_mark_get_both_answers(catalog) -> None:
    handed, out = ask_host(catalog, "zh", "台灯多少钱，发货要多久")
    said = " ".join(out)
    assert not handed and "34.95欧元" in said and "24小时内发货" in said, out
    assert (
        ask_host(catalog, "zh", "水壶多少钱，我想买")[1] == ask_host(catalog, "zh", "水壶多少钱")[1]
    )


@pytest.mark.parametrize(
    ("lang", "text", "on_screen"),
    [("en", "is the kettle wireless?", "kettle"), ("it", "il bollitore è wireless?", "kettle"),
     ("it", "Il bollitore è senza fili?", "kettle"), ("en", "is the backpack wireless?", "kettle"),
     # set 26: the headphones' feature named with the kettle on screen (it got the shut-off)
     ("en", "can you turn off noise cancelling", "kettle"),
     # a size the catalog does not give (it got the laptop sleeve)
     ("zh", "背包多长", "kettle"), ("zh", "背包尺寸多少", "kettle"),  # (the latter a guard)
     # set 29: a thing the catalog lacks (it got the colour temperatures, or the countries
     # entry for "other"); a mistaken order or another address is the team's (it was thanked
     # as a purchase, or got "shipping is free")
     ("en", "does the lamp have a night light", "kettle"),
     ("en", "do you have the backpack in other colours", "kettle"),
     ("en", "any other colours?", "kettle"),
     ("en", "i ordered the wrong one", "kettle"),  # (held in the generator; see triage below)
     ("en", "can i order for delivery to a different address", "kettle"),
     ("en", "what comes with it?", "headphones"),  # guard: it asks nothing an answer says
     ("en", "what's in the box?", "kettle"),  # guard: no kettle answer says a box
     # set 36: a count for each of two products (it said two kettles for "2 bottles")
     ("en", "how much for 2 bottles and 1 kettle", "kettle"),
     ("en", "how much for 2 kettles and a lamp", "kettle"),
     # set 37: the material of a part no feature names (it got the kettle's steel body)
     ("en", "what material is the lid?", "kettle"), ("en", "what is the kettle's lid made of?", "kettle"),
     # set 38: a viewer's own product that broke is the team's (dropped as chatter)
     ("en", "my headphones broke after a week", "kettle"), ("zh", "耳机坏了", "kettle"),
     # set 39: a colour of the product on screen is the team's (it got "not in the show")
     ("it", "c'è anche nero?", "backpack"), ("zh", "有黑色吗", "backpack")],
)  # fmt: skip
def test_another_products_name_word_is_a_detail_this_one_lacks(
    catalog, lang, text, on_screen
) -> None:
    handed, out = ask_host(catalog, lang, text, on_screen)
    assert handed == [text], out


@pytest.mark.parametrize(
    ("lang", "text", "on_screen", "priority"),
    [("en", "can I get it in black?", "kettle", Priority.QUESTION),
     ("en", "does it come in white?", "kettle", Priority.QUESTION),
     ("en", "hows the sound quality?", "headphones", Priority.QUESTION),
     # set 28: another day's show is the team's, not "I'm an AI"
     ("zh", "明天还直播吗", "kettle", Priority.QUESTION),
     ("zh", "直播几点结束", "kettle", Priority.QUESTION),
     ("it", "domani sei in diretta?", "kettle", Priority.QUESTION),
     ("en", "what a show!", "kettle", Priority.OTHER),  # guard
     # set 29: new or refurbished, where it is made: the shop's to answer, never chatter
     ("en", "are these products new or refurbished", "kettle", Priority.QUESTION),
     ("en", "where are the products made", "kettle", Priority.QUESTION),
     ("en", "i ordered the wrong one", "kettle", Priority.QUESTION),  # was thanked (THANKS)
     ("en", "my headphones broke after a week", "kettle", Priority.QUESTION),  # set 38
     ("it", "le mie cuffie si sono rotte", "kettle", Priority.QUESTION),
     # set 39: a yes-no question about a detail of the product on screen (dropped)
     ("de", "hat der einen brustgurt?", "backpack", Priority.QUESTION),
     ("de", "kann ich den als handgepäck mitnehmen?", "backpack", Priority.QUESTION),
     ("en", "is anyone here?", "backpack", Priority.OTHER),  # guard
     ("de", "Wer zahlt den Rückversand?", "kettle", Priority.QUESTION),  # set 30
     ("de", "Ich nehme den Wasserkocher!", "kettle", Priority.QUESTION),
     ("zh", "退货运费谁出", "kettle", Priority.QUESTION),  # set 31
     ("zh", "水壶把手烫不烫", "kettle", Priority.QUESTION),  # set 32
     ("zh", "哈哈哈哈", "kettle", Priority.OTHER),  # guard
     # set 33: the stream itself is the team's to fix (all four were dropped as chatter)
     ("en", "the audio is laggy", "kettle", Priority.QUESTION),
     ("en", "your mouth is out of sync", "kettle", Priority.QUESTION),
     ("de", "ich höre nichts", "kettle", Priority.QUESTION),
     ("zh", "听不到声音", "kettle", Priority.QUESTION),
     ("en", "i can't hear you", "kettle", Priority.QUESTION),
     # a question in a language the host does not speak (dropped as chatter)
     ("en", "¿cuánto cuesta la lámpara?", "kettle", Priority.QUESTION),
     ("en", "combien coûte la bouilloire?", "kettle", Priority.QUESTION),
     ("de", "wie ist der Klang?", "headphones", Priority.QUESTION),
     ("it", "com'è il suono?", "headphones", Priority.QUESTION),
     # guards: chatter with a question word stays chatter
     ("en", "who else is up this late?", "kettle", Priority.OTHER),
     ("en", "where is everyone?", "headphones", Priority.OTHER),
     ("en", "what?", "headphones", Priority.OTHER)],
)  # fmt: skip
def test_a_detail_asked_of_the_product_on_screen_is_a_question(
    catalog, lang, text, on_screen, priority
) -> None:
    classify = make_classifier(Retriever(catalog), catalog, current_product=lambda: on_screen)
    assert classify(ChatEvent("ann", text, lang=lang))[0] is priority


@pytest.mark.parametrize(
    ("lang", "text"),
    [("de", "Ich nehme den Wasserkocher!"), ("en", "i'll take it!"), ("it", "lo prendo!"),
     ("zh", "我要了"), ("it", "prendo il bollitore!")],
)  # fmt: skip
def test_ill_take_it_gets_how_to_buy_it(catalog, lang, text) -> None:
    """ "I'll take it!" (set 30: dropped as chatter) is answered with where to buy it."""
    handed, out = ask_host(catalog, lang, text)
    # each template as a pattern: a slot is any text, an alternation any of its forms
    ctas = [re.compile(re.sub(r"\\\{\w+\\\}", ".+", re.sub(
        r"\\\[(.*?)\\\]", lambda m: "(?:" + m.group(1).replace("\\|", "|") + ")", re.escape(t))))
        for t in load_languages()[lang].templates["cta"]]  # fmt: skip
    assert not handed and len(out) == 1 and any(c.fullmatch(out[0]) for c in ctas), out


@pytest.mark.parametrize(
    ("text", "foreign"),
    [("¿cuánto cuesta la lámpara?", "es"), ("combien coûte la bouilloire?", "fr"),
     ("quanto custa a mochila?", "pt"), ("ile kosztuje czajnik?", "pl"),
     # guards: the host's own languages, and the closest calls of the probe messages
     ("klarna?", None), ("la borraccia tiene caldo?", None), ("made in China?", None),
     ("Wasserdicht?", None), ("how much is the lamp?", None), ("hola", None)],
)  # fmt: skip
def test_a_question_in_another_language_is_told(text, foreign) -> None:
    assert other_language(text) == foreign


def test_a_question_in_another_language_gets_the_languages_in_the_shows(catalog) -> None:
    """ "¿cuánto cuesta la lámpara?" on an English stream: which languages the host answers
    in, said in English (the n-grams took it for Italian), never handed on."""
    for text in ("¿cuánto cuesta la lámpara?", "combien coûte la bouilloire?"):
        handed, out = ask_host(catalog, "en", text)
        assert not handed and len(out) == 1 and "English, German, Italian and Chinese" in out[0]


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "can you speak slower"), ("en", "video keeps freezing"), ("it", "non si sente niente")],
)  # fmt: skip
def test_a_fault_of_the_stream_is_the_teams(catalog, lang, text) -> None:
    """ "Can you speak slower" got the languages answer; triage dropped the others (the
    generator alone handed them on: the classifier cases above)."""
    handed, out = ask_host(catalog, lang, text)
    assert handed == [text] and len(out) == 1, out


@pytest.mark.parametrize(
    ("lang", "text", "ai"),
    [("it", "domani sei in diretta?", False), ("en", "are you live tomorrow?", False),
     ("it", "fino a che ora siete in diretta?", False),
     ("en", "are you live?", True), ("zh", "是直播吗", True)],  # (the latter two guards)
)  # fmt: skip
def test_live_tomorrow_is_no_question_about_the_host_being_an_ai(catalog, lang, text, ai) -> None:
    assert Retriever(catalog).asks_ai(text) is ai
