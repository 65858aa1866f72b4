"""Word forms the light stemmers did not join and words that only frame a question: Italian
infinitives and participles ("si può piegare?" / "si piega"), German adjectives whose base ends
in -er and verbs in -et ("auslaufsicher" / "auslaufsicherer", "öffnet" / "öffnen"), English
plurals of -ing nouns and a final e ("settings" / "setting", "charge" / "charging"); "is there a
*place* for my passport?", "Quanto ci mettono ... a caricarsi?" (a time, not a price). And a
feature that says more of the question than the FAQ entry sharing one word ("does the kettle
keep the water warm?": the keep-warm mode, not the boiling time)."""

from __future__ import annotations

import pytest
from support import ask_host

from streamhost.talk.tokens import tokenize


@pytest.mark.parametrize(
    ("lang", "a", "b"),
    [("it", "piegare", "piega"), ("it", "collegare", "collegati"),
     ("it", "ricaricarlo", "ricarica"), ("it", "viaggiare", "viaggio"),
     ("it", "rettangolare", "rettangolari"), ("it", "portabicchiere", "portabicchieri"),
     ("de", "auslaufsicher", "auslaufsicherer"), ("de", "sicheren", "sicher"),
     ("de", "Wasserkocher", "Wasserkochern"), ("de", "leisem", "leiser"),
     ("de", "öffnet", "öffnen"), ("de", "Tablet", "Tablets"),
     ("en", "settings", "setting"), ("en", "charge", "charging"), ("en", "cables", "cable")],
)  # fmt: skip
def test_word_forms_meet_on_one_stem(lang, a, b) -> None:
    assert tokenize(a, lang) == tokenize(b, lang)


@pytest.mark.parametrize(
    ("lang", "text", "feature"),
    [("it", "La lampada si può piegare?", "un braccio che si piega completamente"),
     ("it", "Posso collegare le cuffie a due telefoni?", "Bluetooth con due dispositivi collegati"),
     ("de", "Ist die Flasche auslaufsicher?", "ein auslaufsicherer Deckel"),
     ("de", "Kann ich die Kopfhörer mit zwei Handys verbinden?", "zwei Geräte gleichzeitig"),
     ("de", "Kann man die Flasche mit einer Hand öffnen?", "den man mit einer Hand öffnet"),
     ("en", "can I set the temperature on the kettle?", "five temperature settings"),
     ("en", "can I dim the lamp?", "a touch dimmer"), ("en", "is the bottle slippery?", "not slip"),
     ("en", "is there a place for my passport in the backpack?", "back pocket for your passport"),
     ("en", "does the backpack have a laptop compartment?", "16 inches"),
     ("en", "does the kettle keep the water warm?", "keep-warm mode"),
     ("it", "Il bollitore mantiene l'acqua calda?", "mantenimento in caldo"),
     ("it", "Quanto ci mettono le cuffie a caricarsi?", "10 minuti per 5 ore"),
     ("it", "Lo zaino si aggancia al trolley?", "manico del trolley"),
     ("it", "Posso telefonare con le cuffie?", "microfoni integrati"),
     ("en", "does the kettle turn off by itself?", "automatic shut-off"),
     ("de", "Schaltet sich der Wasserkocher von selbst ab?", "automatische Abschaltung"),
     ("de", "Ist der Wasserkocher innen aus Plastik?", "Edelstahl"),  # "innen" frames it
     ("it", "Il bollitore è di plastica dentro?", "acciaio inox"),
     ("zh", "水壶里面是塑料的吗？", "不锈钢"),
     ("it", "La borraccia è grande?", "750 millilitri"),
     ("en", "do the headphones have anc?", "active noise cancelling"),
     ("en", "the kettle doesn't have a warranty?", "2 year warranty"),  # "doesn" asks nothing
     ("zh", "17寸电脑能放进背包吗", "16英寸"),  # 放进 frames it
     ("de", "Ist die Lampe dimmbar?", "Touch-Dimmer"),
     ("it", "La lampada è dimmerabile?", "dimmer touch"),
     ("de", "Kann man den Wasserkocher entkalken?", "Kalkfilter"),
     ("it", "Si può decalcificare il bollitore?", "filtro anticalcare"),
     ("en", "can I descale the kettle?", "limescale filter"),
     ("zh", "水壶烧水要多久？", "4分钟"),  # 烧水 is the FAQ's 烧开水
     ("de", "Ist der Rucksack handgepäcktauglich?", "Handgepäck"),
     ("de", "Kann ich Kaffee in die Flasche füllen?", "12 Stunden"),
     ("en", "is the bottle leakproof", "leak-proof lid"),
     ("it", "la borraccia perde?", "tappo antigoccia"), ("zh", "水杯漏水吗", "防漏杯盖"),
     ("en", "are the headphones comfortable?", "soft memory foam"),
     ("de", "sind die kopfhörer bequem?", "weiche Ohrpolster"),
     ("it", "le cuffie sono comode?", "cuscinetti morbidi"),
     ("zh", "耳机戴着舒服吗", "柔软的记忆棉耳垫"),  # 戴着 frames it
     ("de", "flackert die lampe nicht?", "flimmerfreies Licht"),
     ("it", "la lampada non sfarfalla?", "senza sfarfallio"), ("zh", "台灯会闪烁吗？", "无频闪")],
)  # fmt: skip
def test_a_feature_asked_in_another_word_form_is_answered(catalog, lang, text, feature) -> None:
    handed, out = ask_host(catalog, lang, text)
    assert not handed and feature in " ".join(out), out


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "how long does the lamp last?"), ("it", "Quanto ci mette il bollitore?"),
     ("en", "how long does the kettle take?")],
)  # fmt: skip
def test_a_duration_no_feature_says_is_no_recital_of_features(catalog, lang, text) -> None:
    """ "How long does the lamp last?" asks a lifetime the catalog does not hold: "I'll check",
    not the lamp's highlights (``[intent] ask_when`` holds "how long", "wie lange")."""
    handed, said = ask_host(catalog, lang, text)
    feats = [f for p in catalog for f in p.features_in(lang)[0]]
    assert handed and not any(f in s for s in said for f in feats), said


@pytest.mark.parametrize(
    ("lang", "text"),
    [("it", "Si può bollire il latte?"), ("it", "Si può bollire il latte nel bollitore?"),
     ("en", "can I boil milk in the kettle?"), ("de", "Kann man Milch im Wasserkocher kochen?")],
)  # fmt: skip
def test_a_question_split_between_an_faq_entry_and_a_feature_is_handed_on(
    catalog, lang, text
) -> None:
    """ "Si può bollire il latte?": the boiling time's entry says "bollire", the kettle's
    temperatures "latte (per neonati)"; neither says whether milk may be boiled in it."""
    handed, said = ask_host(catalog, lang, text)
    kettle = next(p for p in catalog if p.id == "kettle")
    told = [*kettle.features_in(lang)[0], *(e.a(lang)[0] for e in kettle.faq)]
    assert handed and not any(t in s for s in said for t in told), said


def test_an_italian_feature_answer_agrees_with_a_plural_feature(catalog) -> None:
    """ "C'è {feature}" made "C'è cuscinetti morbidi": the product has it, in its number."""
    from streamhost.langdata import load_languages

    it = load_languages()["it"].templates
    assert not any(t.lower().startswith(("c'è {feature}", "inoltre c'è")) for t in
                   [*it["answer_feature"], *it["feature"]])  # fmt: skip
