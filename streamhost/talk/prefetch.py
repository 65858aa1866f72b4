"""The lines the host is likely to say, nearest-needed first, for the speech cache's prefetch.

A ``Talk`` (catalog, generator, show) in; Sentences out, cut into phrases exactly as the
director cuts them (the cache is keyed by what the voice is asked to say). Read-only: it uses
the public API of the generator, show, script and template modules and changes no state (the
generator's rotation and the show's counters are untouched).

Order: the AI disclosure (the show opens with it) and the first slot's advertiser script; then
the answers a viewer's question gets in the stream's language (greeting, don't-know, thanks
without a name, the shop FAQ's answers, a budget's, the lineup, the deals and everything's total; per product, in
the show's rotation order and the catalog's for the rest: price, deal, stock, key specs, FAQ
answers), because a viewer waits
for those; then per product its calls to action
and countdown-free show lines and the product talk templates with every feature; the later
slots' scripts; then the answers in each other language the stream answers in. Lines that carry
a viewer's name are not predictable and are left out: they are synthesized, phrase by phrase,
when they are needed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any

from ..frames import Emotion, Sentence, Source
from .open_question import without_yes
from .phrases import first_clause, split_phrases, split_sentences
from .prices import format_price_spoken
from .reply import stock_family
from .templates import (
    fill,
    second_product,
    slots_for_product,
    spec_answer_templates,
    template_slots,
    templates_by_family,
    user_slots,
)
from .units import spoken_value

# The director says these in phrases (talk/director.py ``_split``), so that chat can break into
# talk sooner and so that a line naming a viewer ("Good question, Anna. I don't have that
# info...") costs a synthesis only for the phrase with the name: the rest is in the cache.
# Show lines (disclosures, CTAs) and the operator's words are said whole.
PHRASED = frozenset(
    {Source.SCRIPT, Source.TEMPLATE, Source.LLM, Source.FILLER, Source.ANSWER, Source.THANKS}
)
TALK_FAMILIES = ("intro", "feature", "price", "urgency", "social", "cta", "faq_talk")
ANSWER_FAMILIES = (
    "answer_price",
    "answer_show",  # "show me the lamp": its name and price now
    "answer_deal",
    "answer_no_deal",
    "answer_cheapest",
    "answer_in_stock",
    "answer_few_left",
    "answer_sold_out",
    "ask_question",
    "answer_feature",
)
# "Anything under 30 euros?": the most affordable product first, the next one second.
BUDGET_FAMILIES = ("answer_budget", "answer_budget_two", "answer_budget_many",
                   "answer_budget_all", "answer_budget_none")  # fmt: skip
_STOCK_FAMILIES = frozenset({"answer_in_stock", "answer_few_left", "answer_sold_out"})
# Families that need no product: said to anyone (a viewer's name only where the template has
# the anonymous form), also in thanks for follows and gifts.
GENERAL_FAMILIES = ("greeting", "dont_know", "other_language", "barge_in", "thanks_follow",
                    "thanks_gift", "thanks_purchase", "answer_ai", "answer_order_help")  # fmt: skip


# Stands in for a viewer's name in the templates only used with one ("Good question, {name}.
# I don't have that info ..."): their sentences without the name are prefetched, the one
# with it is dropped (likely_lines) and made when a named viewer asks.
_NAME_MARK = "xqzviewerx"


@functools.lru_cache(maxsize=16)
def _viewers(lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """The slots of an unnamed viewer and of the name mark (read only: callers copy)."""
    return user_slots(None, lang), user_slots(_NAME_MARK, lang)


def _fill_user(t: str, slots: dict[str, str], lang: str) -> dict[str, str] | None:
    """The slots that fill template ``t``: ``slots`` with an unnamed viewer, else with the
    name mark (templates that say a name only); None when neither fills it."""
    for user in _viewers(lang):
        full = {**slots, **user}
        if template_slots(t) <= full.keys():
            return full
    return None


def as_said(s: Sentence, phrase_chars: int) -> list[Sentence]:
    """``s`` as the voice will be asked for it: one sentence, or its phrases (``continues``
    set on all but the last)."""
    if s.source not in PHRASED or phrase_chars <= 0:
        return [s]
    # Replies break at sentence ends only: the name stays in its clause ("Good question,
    # Anna."), never a phrase of its own.
    if s.reply_to is not None or s.source in (Source.ANSWER, Source.THANKS):
        parts = split_sentences(s.text)
    else:
        parts = split_phrases(s.text, s.lang, phrase_chars)
    return _phrased(s, parts)


def operator_phrases(s: Sentence, phrase_chars: int, urgent: bool) -> list[Sentence]:
    """An operator's line as said. Nothing prefetches it, so a long line is said phrase by
    phrase (it starts after its first phrase's synthesis, not the whole line's); a "say now"
    line (``urgent``) starts with its opening clause ("Big news, | the lamp is back!") or a
    first phrase of at most half that where a natural place allows: ~10-20 ms less synthesis
    before it is on air."""
    if phrase_chars <= 0:
        return [s]
    text = s.text.strip()
    head = first_clause(text, phrase_chars // 2) if urgent else None
    head = head or split_phrases(text, s.lang, phrase_chars // 2 if urgent else phrase_chars)[0]
    rest = text[len(head) :].strip()
    return _phrased(s, [head, *(split_phrases(rest, s.lang, phrase_chars) if rest else [])])


def _phrased(s: Sentence, parts: list[str]) -> list[Sentence]:
    if len(parts) < 2:
        return [s]
    return [
        Sentence(
            t,
            s.source,
            s.lang,
            s.product_id,
            s.emotion,
            reply_to=s.reply_to,
            continues=i < len(parts) - 1,
        )  # fmt: skip
        for i, t in enumerate(parts)
    ]


def likely_lines(
    talk: Any, phrase_chars: int, wall_start: datetime | None = None
) -> Iterator[Sentence]:
    """Every predictable line of ``talk`` (a talk.assemble.Talk), nearest-needed first, each
    at most once, phrased as the director will say it."""
    seen: set[tuple[str, str, bool]] = set()
    for s in _lines(talk, wall_start or talk.wall_start):
        for p in as_said(s, phrase_chars):
            key = (" ".join(p.text.split()), p.lang, p.continues)
            if _NAME_MARK in p.text.lower():
                continue  # the sentence with the viewer's name: made when it is needed
            if p.text.strip() and key not in seen:
                seen.add(key)
                yield p


def _lines(talk: Any, wall: datetime) -> Iterator[Sentence]:
    show, catalog, gen = talk.show, talk.catalog, talk.generator
    lang = talk.lang
    # Answers come in every language the generator answers in (a viewer's own, when listed).
    langs = list(dict.fromkeys([lang, *getattr(gen, "answer_languages", (lang,))]))
    order: list[str] = []
    scripts: list[Sentence] = []
    if show is not None:
        st = show.plan(0.0, wall)
        s = st.disclosure_sentence(lang)
        yield Sentence(s.text, Source.SHOW, s.lang)  # the show opens with it
        for slot in show.slots:
            if slot.script is not None:
                scripts.extend(slot.script.sentences)
            order.extend(pid for pid, _ in slot.rotation)
    # The first slot's script opens the show after the disclosure; later ones come later.
    first = show.slots[0].script if show is not None and show.slots else None
    if first is not None:
        yield from first.sentences
    order = list(dict.fromkeys([*order, *catalog.ids]))
    # Answers before talk: a viewer waits for an answer (a miss costs a synthesis, ~30 ms, on
    # the glass-to-glass path) while talk is said one phrase after another and a miss only
    # lengthens a pause. Measured: with talk first, the stream-language answers of the last
    # products were reached minutes after start, and idle answers took 115-150 ms, not ~60.
    # The stream's own language first: most viewers ask in it, and a cache that fills up
    # should lose the other languages' answers, not the host's own talk.
    yield from _general_lines(lang)
    yield from _faq_answers(catalog.shop_faq, lang)
    yield from _budget_lines(talk, lang)
    yield from _lineup_lines(talk, lang)
    for pid in order:
        yield from _product_lines(talk, pid, lang, ANSWER_FAMILIES, Source.ANSWER)
        yield from _catalog_answers(catalog.get(pid), lang)
    for pid in order:
        if show is not None:
            yield from _show_lines(show, pid, lang, wall)
        yield from _product_lines(talk, pid, lang, TALK_FAMILIES, Source.TEMPLATE)
    yield from scripts  # likely_lines says each line once: the first slot's are not repeated
    for lg in langs[1:]:
        yield from _general_lines(lg)
        yield from _faq_answers(catalog.shop_faq, lg)
        yield from _budget_lines(talk, lg)
        yield from _lineup_lines(talk, lg)
        for pid in order:
            yield from _product_lines(talk, pid, lg, ANSWER_FAMILIES, Source.ANSWER)
            yield from _catalog_answers(catalog.get(pid), lg)


def _show_lines(show: Any, pid: str, lang: str, wall: datetime) -> Iterator[Sentence]:
    """The show's CTA texts for ``pid`` at its regular price (a flash sale's countdown names
    minutes left: not predictable)."""
    texts = show.cta.texts.get(lang) or show.cta.texts.get("en") or ()
    if not texts:
        return
    st = show.plan(0.0, wall)
    for k in range(len(texts)):
        s = replace(st, product_id=pid, flash_sale=None, cta_count=k).cta_sentence(lang)
        if s is not None:
            yield Sentence(s.text, Source.SHOW, s.lang, pid, s.emotion)


def _prices(talk: Any, pid: str, lang: str) -> list[str]:
    """The spoken price now, plus any flash-sale price of the show."""
    p = talk.catalog.get(pid)
    out = [talk.price_spoken_now(pid, lang)]
    for fs in talk.show.flash_sales if talk.show is not None else ():
        if fs.product_id == pid:
            out.append(format_price_spoken(fs.price, p.currency, lang))
    return list(dict.fromkeys(out))


def _product_lines(
    talk: Any, pid: str, lang: str, families: tuple[str, ...], source: str
) -> Iterator[Sentence]:
    p = talk.catalog.get(pid)
    code = p.grammar_of(lang)
    base = {**slots_for_product(p, lang), "regular": p.price_spoken(lang)}
    shop = talk.catalog.shop(lang)
    if shop:
        base["shop"] = shop
    feats, flang = p.features_in(lang)
    feats = feats if flang == lang else []
    variants: list[dict[str, str]] = [{}]
    if feats:
        variants = [{"feature": f} for f in feats]
        if len(feats) > 1:
            variants.insert(0, {"feature": feats[0], "feature2": feats[1]})
    faqs = [{"question": e.question.get(lang, ""), "answer": e.answer.get(lang, "")}
            for e in getattr(p, "faq", ())]  # fmt: skip
    faqs = [f for f in faqs if f["question"] and f["answer"]]
    by_family = templates_by_family()
    for fam in families:
        if fam in _STOCK_FAMILIES and fam != stock_family(p.stock):
            continue  # the one stock answer this product's stock gives
        for price in _prices(talk, pid, lang):
            if fam == "faq_talk":
                extras = faqs
            elif fam in ("feature", "ask_question", "answer_feature"):
                extras = variants
            else:
                extras = [{}]
            for extra in extras:
                slots = {**base, "price": price, **extra}
                for t in by_family.get(fam, {}).get(lang, []):
                    full = _fill_user(t, slots, lang) if source == Source.ANSWER else slots
                    if full is not None and template_slots(t) <= full.keys():
                        yield Sentence(
                            fill(t, full, code, lang), source, lang, pid, Emotion.NEUTRAL
                        )


def _budget_lines(talk: Any, lang: str) -> Iterator[Sentence]:
    """The answers to a viewer's budget, as the order of the prices now makes them."""
    ids = talk.generator.products_by_price()
    if not ids:
        return
    p = talk.catalog.get(ids[0])
    slots = {**slots_for_product(p, lang), "price": talk.price_spoken_now(ids[0], lang)}
    if len(ids) > 1:
        q = talk.catalog.get(ids[1])
        slots.update(second_product({**slots_for_product(q, lang),
                                     "price": talk.price_spoken_now(ids[1], lang)}))  # fmt: skip
    by_family = templates_by_family()
    for fam in BUDGET_FAMILIES:
        for t in by_family.get(fam, {}).get(lang, []):
            if template_slots(t) <= slots.keys():
                yield Sentence(fill(t, slots, p.grammar_of(lang), lang), Source.ANSWER, lang, p.id)


def _lineup_lines(talk: Any, lang: str) -> Iterator[Sentence]:
    """ "What do you sell tonight?", "what's on sale?" and "how much for everything?", as the
    catalog's stock and the prices now make them at the start (a later deal is said when
    asked, from the voice)."""
    by_family = templates_by_family()
    answers = [talk.generator.lineup_answer(lang, kind) for kind in ("lineup", "deals")]
    total = talk.generator.total_all_answer(lang)
    for fam, slots in answers + ([total] if total else []):
        for t in by_family.get(fam, {}).get(lang, []):
            if template_slots(t) <= slots.keys():
                yield Sentence(fill(t, slots, "-", lang), Source.ANSWER, lang)


def _catalog_answers(product: Any, lang: str) -> Iterator[Sentence]:
    """The product's FAQ answers, then each spec's value as the host states it."""
    yield from _faq_answers(getattr(product, "faq", ()), lang, product.id)
    slots = slots_for_product(product, lang)
    by_family = spec_answer_templates()
    for name, value in getattr(product, "specs", {}).items():
        spoken = spoken_value(value, lang)
        for t in by_family.get(f"spec:{name.lower()}", {}).get(lang, []) if spoken else ():
            if template_slots(t) <= slots.keys() | {"value"}:
                text = fill(t, {**slots, "value": spoken}, product.grammar_of(lang), lang)
                yield Sentence(text, Source.ANSWER, lang, product.id)


def _faq_answers(entries: Any, lang: str, pid: str | None = None) -> Iterator[Sentence]:
    """FAQ answers as the generator says them: as written, in `lang` or the catalog's; and
    without a leading yes, as an open question gets them ("Sì, è in acciaio inox ..." to "di
    che materiale è?": talk/open_question.py)."""
    for entry in entries:
        text, text_lang = entry.a(lang)
        if text:
            yield Sentence(text, Source.ANSWER, text_lang, pid)
            if (bare := without_yes(text, text_lang)) != text:
                yield Sentence(bare, Source.ANSWER, text_lang, pid)


def _general_lines(lang: str) -> Iterator[Sentence]:
    by_family = templates_by_family()
    for fam in GENERAL_FAMILIES:
        for t in by_family.get(fam, {}).get(lang, []):
            slots = _fill_user(t, {}, lang)
            if slots is not None:
                src = Source.THANKS if fam.startswith("thanks") else Source.ANSWER
                yield Sentence(fill(t, slots, "-", lang), src, lang)
