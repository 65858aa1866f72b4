"""What a chat event asks of the host, as the triage queue's priority and dedupe key.

In: a `ChatEvent` (moderated), the catalog's `Retriever`, the product on screen. Out:
(`Priority`, dedupe key or None) - thanks before questions before greetings before chatter,
with "how much?" and "how much is the kettle?" on screen sharing one key ("price:kettle:en").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from ..frames import ChatEvent
from ..langdata import load_languages
from ..language import Intent, filler_start, fold, other_language


class Priority(IntEnum):
    """Lower value = answered first."""

    OPERATOR = 0
    THANKS = 1
    QUESTION = 2
    GREETING = 3
    OTHER = 4


_CJK = re.compile(r"[\u4e00-\u9fff]")

# Event kinds that deserve a thank-you (platforms name them differently).
_THANKS_KINDS = frozenset({"gift", "purchase", "follow", "subscribe", "order", "donation"})


@functools.cache
def _question_mark() -> re.Pattern[str]:
    """A question mark, or a word that makes a message a question in a language that has such
    words instead (zh 吗, 怎么 ...; ``[intent] question_marks`` of the language files), or a
    message that starts with a question word ("whats the warranty on the kettle", "hat die
    lampe einen usb anschluss", typed without "?"; ``[intent] ask_open`` and ``ask_yes_no``),
    or a Chinese A-not-A question (烫不烫)."""
    data = load_languages().values()
    words = [w for d in data for w in d.intent["question_marks"]]
    opens = {w for d in data if d.script is None for w in d.intent["ask_open"]}
    opens = sorted(opens | {w for d in data for w in d.intent["ask_yes_no"]}, key=len)
    lead = filler_start()  # "wait is the kettle cordless or not"
    start = (
        rf"(?i:^\W*{lead}(?:{'|'.join(map(re.escape, opens[::-1]))})(?![^\W_]))" if opens else ""
    )
    # a Chinese A-not-A question asks without a question word: 烫不烫 ("hot or not?"), 有没有
    a_not_a = r"(?P<a>[\u4e00-\u9fff])[不没](?P=a)"
    marks = ["[?？]", a_not_a, *(re.escape(w) for w in words), *[start] * bool(start)]
    return re.compile("|".join(marks))


@functools.cache
def _yes_no_start() -> re.Pattern[str]:
    """A message that opens as a yes-no question ("hat der ...", "kann ich ...", "is it ...":
    ``[intent] ask_yes_no`` of the languages written with spaces)."""
    words = sorted({w for d in load_languages().values() if d.script is None
                    for w in d.intent["ask_yes_no"]}, key=len)[::-1]  # fmt: skip
    return re.compile(
        rf"(?i:^\W*{filler_start()}(?:{'|'.join(map(re.escape, words))})(?![^\W_]))"
        if words
        else "(?!)"
    )


@functools.cache
def _ask_host() -> re.Pattern[str]:
    """A word addressing the host or the shop (``[intent] ask_host``), whole words for
    languages written with spaces, anywhere for the others."""
    data = load_languages()
    lat = [fold(w) for d in data.values() if d.script is None for w in d.intent["ask_host"]]
    cjk = [w for d in data.values() if d.script is not None for w in d.intent["ask_host"]]
    alts = [r"(?<![^\W_])(?:" + "|".join(map(re.escape, lat)) + r")(?![^\W_])"] if lat else []
    alts += [re.escape(w) for w in cjk]
    return re.compile("|".join(alts) or "(?!)")


def make_classifier(
    retriever: Any,
    catalog: Any,
    *,
    current_product: Callable[[], str | None] | None = None,
) -> Callable[[ChatEvent], tuple[Priority, str | None]]:
    """The default classifier: event kind first, then `retriever.detect_intent` for comments.

    In: a `Retriever` and its `Catalog`; optionally a callable giving the product on screen
    (so "how much?" and "how much is the kettle?" dedupe together). Out: (Priority, dedupe
    key). Price questions dedupe per product ("price:kettle"), FAQ questions per entry
    ("faq:kettle:1"); other questions fall back to the normalized text. Operator events
    (kind or platform "operator") are OPERATOR; follows, gifts and purchases are THANKS.
    """

    question_mark = _question_mark()
    ask_host = _ask_host()

    # Chat repeats itself ("lol", "how much is the kettle?"), and classifying a comment is a
    # pure function of (text, language, product on screen) over a fixed catalog: bounded LRU.
    @functools.lru_cache(maxsize=8192)
    def comment(text: str, lang: str, on_screen: str | None) -> tuple[Priority, str | None]:
        text = retriever.respell(text)  # "backpak price?" names the backpack
        named = retriever.find_product(text, lang, names_only=True)
        pid = named[0] if named else on_screen
        if pid is not None and pid not in catalog:
            pid = None
        if retriever.asks(text, "stream_issue"):
            return Priority.QUESTION, f"stream_issue:{lang}"  # "I can't hear you": the team's
        if retriever.asks(text, "ask_shop_name"):
            return Priority.QUESTION, f"shop_name:{lang}"  # "what's the shop called?"
        if retriever.asks_ai(text):
            return Priority.QUESTION, f"ai:{lang}"  # "are you a bot?" is always answered
        if retriever.asks(text, "ask_language") or other_language(text):
            # "do you speak German?", or a question in a language the host does not speak
            # ("¿cuánto cuesta la lámpara?"): the languages it answers in
            return Priority.QUESTION, f"languages:{lang}"
        if not named and retriever.asks_small_talk(text, lang, "farewell"):
            return Priority.GREETING, f"bye:{lang}"  # "good night all": a goodbye, rarely aired
        if not named and retriever.asks_small_talk(text, lang):
            # "how are you?", "love your voice": a greeting's priority, and as rare on air
            return Priority.GREETING, f"smalltalk:{lang}"
        if pid is not None and retriever.asks_to_see(text, lang, pid):
            return Priority.QUESTION, f"show:{pid}:{lang}"  # "show me the lamp"
        if retriever.asks_if_broken(text):
            return Priority.QUESTION, f"warranty:{pid}:{lang}"  # "what if it breaks?"
        if retriever.asks(text, "order_help"):
            # "my order didn't arrive": a viewer's own problem, never chatter, never merged
            return Priority.QUESTION, None
        if retriever.asks(text, "bought") and not question_mark.search(text):
            # "just bought the kettle!": thanked as an order is; a burst of them, once
            return Priority.THANKS, f"bought:{lang}"
        cap = retriever.budget_cap(text)
        if cap is None and (kind := retriever.lineup_asked(text, lang, pid)):
            return Priority.QUESTION, f"{kind}:{lang}"  # "what do you sell?", "what's on sale?"
        if cap is not None and not named:
            return Priority.QUESTION, f"budget:{cap.normalize():f}:{lang}"  # "anything under 30 €?"
        if cap is None and (than := retriever.cheaper_than(text, lang, pid)) is not None:
            return Priority.QUESTION, f"cheaper:{than}:{lang}"  # "anything cheaper than X?"
        if not named and retriever.total_asked(text, lang, on_screen):
            return Priority.QUESTION, f"total_all:{lang}"  # "how much for everything?"
        pair = sorted(retriever.products_named_whole(text, lang)[:2])
        if len(pair) == 2 and (
            (compare := retriever.asks(text, "compare_price"))
            or retriever.detect_intent(text, lang, pid) is Intent.PRICE
        ):
            # "how much for both together?", "lamp + bottle?" are not "how much is the
            # kettle?": their own key
            kind = "compare" if compare else "total"
            return Priority.QUESTION, f"{kind}:{pair[0]}:{pair[1]}:{lang}"
        if pid is not None and (n := retriever.count_asked(text, lang, pid)):
            return Priority.QUESTION, f"price:{pid}:x{n}:{lang}"  # "2 kettles how much": not one's
        if pid is not None and retriever.asks(text, "how_to_buy"):
            return Priority.QUESTION, f"buy:{pid}:{lang}"
        if (rec := retriever.recommendation(text, lang, pid)) is not None:
            return Priority.QUESTION, f"recommend:{rec}:{lang}"  # "what do you recommend?"
        intent = retriever.detect_intent(text, lang, pid)
        if pid is not None and intent is not Intent.FAQ:
            # "what is this?" x 20 is one answer; "when does the sale end?" not "how much?"
            if retriever.asks_what_it_is(text, lang, pid):
                return Priority.QUESTION, f"what:{pid}:{lang}"
            if retriever.asks_deal_end(text, lang, pid):
                return Priority.QUESTION, f"deal_ends:{pid}:{lang}"
        # Keys carry the language: the same question asked in another language is answered
        # in that language, not merged into an answer the asker cannot follow.
        if intent is Intent.PRICE:
            if retriever.asks(text, "price_terms"):
                return Priority.QUESTION, f"price_terms:{lang}"  # "with VAT?": not "how much?"
            if end := retriever.price_end(text):  # "cheapest?", "most expensive?"
                return Priority.QUESTION, f"{end}:{lang}"  # not the product on screen's price
            return Priority.QUESTION, f"price:{pid or ''}:{lang}"
        if intent is Intent.STOCK:
            return Priority.QUESTION, f"stock:{pid or ''}:{lang}"
        if intent is Intent.FAQ:
            m = retriever.faq_match(text, pid, lang) if pid else None
            return Priority.QUESTION, (f"faq:{pid}:{m.index}:{lang}" if m else None)
        if intent in (Intent.FEATURE, Intent.HAVE):
            return Priority.QUESTION, None
        if intent is Intent.GREETING:
            return Priority.GREETING, None
        # A question about a product the keyword tables miss ("does the kettle have a
        # keep-warm mode?", a catalog FAQ worded differently) is still a question: the
        # generator answers it from the catalog or says it will check. Chatter with a
        # question mark but no product in it ("anyone here?") stays chatter.
        if question_mark.search(text):
            hit = named or retriever.find_product(text, lang)
            # BM25 score >= 1.1: a real overlap with the product's words, not "up late?"
            if (hit and hit[1] >= 1.1) or retriever.asks_about_feature(text, lang, pid):
                return Priority.QUESTION, None  # ... or a feature of the product on screen
            # A real question to the host with no product in it ("do you ship to Austria?")
            # is answered honestly and handed to the operator, never ignored; two-word
            # chatter ("up late?", "anyone here?") stays chatter.
            if ask_host.search(fold(text)) or retriever.asks(text, "use_it"):
                return Priority.QUESTION, None  # ... or how the product is used
            if (
                pid is not None
                and ("?" in text or "？" in text or _CJK.search(text))  # 吗 asks
                and (retriever.asks(text, "ask_detail") or _yes_no_start().search(text))
                and (
                    retriever.unknown_details(text, lang, pid)
                    or retriever.unknown_chars(text, lang, pid)  # 电*压*是多少
                )
            ):
                # "wie ist der Klang?", "hat der einen Brustgurt?" with a product on screen: a
                # question about a detail (its FAQ may answer it, else the team) is no chatter
                # ("what?" asks none)
                return Priority.QUESTION, None
            if any(
                retriever.asks(text, k)
                for k in ("courier", "days", "shop_service", "price_terms", "who_pays")
            ):
                # "发顺丰吗?", "consegnate il sabato?", "kriegt man eine Rechnung dazu?": the
                # carrier, the days, the shop's own services: for the team, never chatter
                return Priority.QUESTION, None
        if told := retriever.told_then_asked(text, lang):
            # "question: does the lamp have a usb port", "my kettle broke lol, does this one
            # have a warranty": what the question after the tale asks
            return comment(told[0], lang, told[1] or on_screen)
        return Priority.OTHER, None

    def classify(ev: ChatEvent) -> tuple[Priority, str | None]:
        if ev.kind == "operator" or ev.platform == "operator":
            return Priority.OPERATOR, None
        if ev.kind in _THANKS_KINDS:
            return Priority.THANKS, None
        if ev.kind != "comment" or not ev.text:
            return Priority.OTHER, None
        return comment(ev.text, ev.lang or "en", current_product() if current_product else None)

    return classify
