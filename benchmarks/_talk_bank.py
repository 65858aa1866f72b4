"""The questions talk.py asks: a bank per language (price, feature, FAQ, unknown; each product
under its names and aliases) and the greetings and suffixes that vary them as viewers type.
"""

from __future__ import annotations

import random
from typing import Any

PRICE = {
    "en": ("how much is the {p}?", "{p} price?", "what does the {p} cost?",
           "price of the {p} pls", "how much is it?", "how much?"),
    "de": ("Was kostet {p}?", "Wie viel kostet {p}?", "Preis von {p}?", "Was kostet das?",
           "wie teuer ist {p}?"),
    "it": ("quanto costa {p}?", "qual è il prezzo di {p}?", "prezzo {p}?", "quanto costa?",
           "quanto viene {p}?"),
    "zh": ("{p}多少钱？", "{p}价格是多少", "{p}怎么卖？", "多少钱？", "这个多少钱"),
}  # fmt: skip
FEATURE = {
    "en": ("what can the {p} do?", "tell me more about the {p}", "what is special about the {p}?",
           "does the {p} have {kw}?", "does it have {kw}?"),
    "de": ("Was kann {p}?", "Erzähl mehr über {p}", "Was ist besonders an {p}?",
           "Hat {p} {kw}?", "hat das {kw}?"),
    "it": ("cosa sa fare {p}?", "dimmi di più su {p}", "che caratteristiche ha {p}?",
           "{p} ha {kw}?", "ha {kw}?"),
    "zh": ("{p}有什么功能？", "介绍一下{p}", "{p}有什么特别的？", "{p}有{kw}吗？", "有{kw}吗？"),
}  # fmt: skip
FEATURE_KW = {
    "en": {"kettle": "a keep warm mode", "headphones": "noise cancelling",
           "backpack": "a laptop sleeve", "lamp": "a dimmer", "bottle": "insulation"},
    "de": {"kettle": "eine Warmhaltefunktion", "headphones": "Geräuschunterdrückung",
           "backpack": "ein Laptopfach", "lamp": "einen Dimmer", "bottle": "eine Isolierung"},
    "it": {"kettle": "il mantenimento in caldo", "headphones": "la cancellazione del rumore",
           "backpack": "una tasca per il laptop", "lamp": "il dimmer",
           "bottle": "l'isolamento"},
    "zh": {"kettle": "保温功能", "headphones": "降噪", "backpack": "电脑隔层", "lamp": "调光",
           "bottle": "保温"},
}  # fmt: skip
UNKNOWN = {
    "en": ("what colours does the {p} come in?", "do you offer gift wrapping?",
           "who designed the {p}?", "is there a {p} in red?"),
    "de": ("Gibt es {p} in Rot?", "Verpackt ihr als Geschenk?", "Wer hat {p} entworfen?",
           "Welche Farben hat {p}?"),
    "it": ("{p} c'è in rosso?", "avete la confezione regalo?", "chi ha disegnato {p}?",
           "di che colori è {p}?"),
    "zh": ("{p}有红色的吗？", "你们有礼品包装吗？", "{p}是谁设计的？", "{p}有几种颜色？"),
}  # fmt: skip
PREFIX = {
    "en": ("", "", "hey ", "@host ", "quick question: ", "hi! "),
    "de": ("", "", "Hey ", "@Host ", "Frage: ", "Hallo! "),
    "it": ("", "", "ehi ", "@host ", "domanda: ", "ciao! "),
    "zh": ("", "", "主播，", "请问", "@主播 ", "你好，"),
}
SUFFIX = ("", "", " 🙏", " pls" , "??", " 😍")  # fmt: skip


def question_bank(catalog: Any, lang: str) -> list[tuple[str, str]]:
    """(kind, text) for one language: price, feature, FAQ, unknown (before variation)."""
    out: list[tuple[str, str]] = []
    for p in catalog:
        names = [p.name(lang), *p.aliases.get(lang, [])][:3]
        for n in names:
            out += [("price", t.format(p=n)) for t in PRICE[lang]]
            kw = FEATURE_KW[lang].get(p.id, FEATURE_KW[lang]["kettle"])
            out += [("feature", t.format(p=n, kw=kw)) for t in FEATURE[lang]]
            out += [("unknown", t.format(p=n)) for t in UNKNOWN[lang]]
        for e in p.faq:
            if lang in e.question:
                q = e.question[lang]
                out.append(("faq", q))
                out.append(("faq", q.rstrip("?？") + (" " if lang != "zh" else "") + names[0]))
    return out


def vary(text: str, lang: str, rng: random.Random) -> str:
    t = rng.choice(PREFIX[lang]) + text
    s = rng.choice(SUFFIX)
    if lang == "zh" and s == " pls":
        s = "呀"
    return t + s
