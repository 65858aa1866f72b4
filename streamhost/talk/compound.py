"""Two questions in one message ("how much is the kettle and does it have a warranty?").

In: a viewer's text. Out: ``split_question(text)`` -> the one or two questions it asks, split
where a conjunction starts a second question (``[intent] and_ask``: "and does", "und hat", "e
che"); ``answer_parts`` answers each in turn with one lead-in, the product of the first part
carried into the second ("... and does *it* have a warranty?"), and hands the message to the
operator once if any part has no answer.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

from ..frames import ChatEvent, Sentence
from ..langdata import load_languages
from ..language import filler_start, fold
from .intent_words import has_any, intent_patterns
from .matching import CJK_PAIR

_NUMBER = re.compile(r"\d+")

MIN_PART_CHARS = 4  # "and is it?" alone asks nothing: both sides must say something


def split_question(text: str) -> list[str]:
    """The questions of `text`: itself, or two folded parts around the first ``and_ask``
    phrase (its conjunction dropped: "and does it ..." -> "does it ..."), or two questions
    each with its own mark ("how much is it? does it have a warranty?", 耳机多少钱？续航多久？;
    in Chinese a comma may end the first: 水壶多少钱，有保修吗？); a greeting before them is no
    question ("hello from brazil! how much is the lamp?": Brazil is asked nothing)."""
    text = _without_greeting(text)
    if two := _two_marked(text):
        return two
    lat, _ = intent_patterns()["and_ask"]
    if lat is None:
        return [text]
    folded = fold(text)
    m = lat.search(folded)
    if m is None:
        return [text]
    first = folded[: m.start()].strip(" ,;")
    second = folded[m.start() :].split(" ", 1)[1].strip()
    if len(first) < MIN_PART_CHARS or len(second) < MIN_PART_CHARS:
        return [text]
    return [first, second]


def tale_and_question(text: str) -> tuple[str, str] | None:
    """A message that tells something beside its question: (what it tells, the question),
    else None. Told first: "my old kettle broke lol, does this one have a warranty", "sorry
    for my english. how much for the bag?", 我家的旧水壶坏了，这个有保修吗？ (the question is
    the last clause that opens as one or ends with its mark, and nothing before it asks);
    or after: "does it flicker? I get headaches". Two questions are ``split_question``'s.
    Used where the whole message finds no answer: the tale may hold a condition the catalog
    cannot speak to ("we have a gas stove, does it work on it?"), so the whole is tried
    first."""
    t = text.strip()
    for m in reversed(list(_CLAUSE_END.finditer(t))):
        lead, question = t[: m.start()].strip(), t[m.end() :].strip()
        if "?" in lead or "？" in lead or len(question) < MIN_PART_CHARS:
            continue
        if len(lead) < 2 or _opens_question().match(fold(lead)):
            return None  # "Kann ich sie zurückgeben, wenn sie kaputtgeht?" asks from the start
        folded = fold(question)
        asks = question[-1] in "?？" or _opens_question().match(folded)
        if asks or (CJK_PAIR.search(question) and _zh_asks().search(question)):
            return lead, question
    m = _ASKED_FIRST.match(t)
    if m is None or len(m["q"]) < MIN_PART_CHARS or len(m["tale"]) < 2:
        return None
    tale = m["tale"]
    asks = "?" in tale or "？" in tale or _opens_question().match(fold(tale))
    return None if asks else (tale, m["q"].strip())


def greeting_lead(text: str) -> str:
    """What `split_question` drops before the question: a greeting or a compliment ("omg
    that lamp is so pretty, how much??"), or ''. It may name the product asked about."""
    rest = _without_greeting(text)
    return text[: len(text) - len(rest)] if rest != text else ""


def answer_parts(
    gen: Any,
    parts: list[str],
    current_product_id: str | None,
    answer: Callable[[str, str | None, bool], list[Sentence]],
    topic_of: Callable[[str, str | None], str] = lambda _, __: "",
) -> list[Sentence]:
    """`answer(text, product, lead_in)` for each part; the later parts without their lead-in
    and about the product the first answer was about (the one on screen where it named
    none). An answered part lends its topic (`topic_of(part, product answered about)`: the
    shop's "shipping", else the product's name) to the next one that has no answer of its
    own: "how much is shipping and how long does it take?", 水杯多少钱？漏水吗？.
    `gen.on_unanswered` is called once for the message, however many parts miss."""
    if len(parts) == 1:
        return answer(parts[0], current_product_id, True)
    hand_on = gen.on_unanswered
    missed: list[tuple[ChatEvent, str]] = []
    gen.on_unanswered = lambda ev, lang: missed.append((ev, lang))
    out: list[Sentence] = []
    pid = current_product_id
    topic = ""
    try:
        for i, part in enumerate(parts):
            n = len(missed)
            said = answer(part, pid, i == 0)
            if len(missed) > n and topic:
                m = len(missed)
                again = answer(f"{part} {topic}", pid, False)
                if len(missed) == m and _unsaid(again, out):  # answered with the topic after all
                    said, missed[n:] = again, []
                else:
                    del missed[m:]
            about = next((s.product_id for s in said if s.product_id), None)
            topic = topic_of(part, about) if len(missed) == n and said else ""
            pid = about or pid
            # both parts may find one answer ("how bright is it and is it good for reading?")
            out += _unsaid(said, out)
    finally:
        gen.on_unanswered = hand_on
    if missed and hand_on is not None:
        hand_on(*missed[0])
    return out


def first_answered(
    gen: Any,
    tries: Iterable[tuple[str, str | None]],
    answer: Callable[[str, str | None], list[Sentence]],
) -> list[Sentence]:
    """`answer(text, product)` for each try in turn until one finds an answer (hands nothing
    to the operator): the whole message, then its question without the tale told before it
    (``tale_and_question``). "We don't have that" (`gen.lacking` set) is an answer only where
    no later try finds the thing ("we have a lot of limescale here, do you have a filter?":
    the kettle's). None does: the first try's words, handed on once."""
    hand_on = gen.on_unanswered
    missed: list[tuple[ChatEvent, str]] = []
    gen.on_unanswered = lambda ev, lang: missed.append((ev, lang))
    first: list[Sentence] = []
    lacking: list[Sentence] | None = None
    try:
        for i, (text, pid) in enumerate(tries):
            n, gen.lacking = len(missed), False
            said = answer(text, pid)
            if len(missed) == n and said and not gen.lacking:
                del missed[:]
                return said
            if len(missed) == n and said and lacking is None:
                lacking = said
            first = said if i == 0 else first
        if lacking is not None:
            del missed[:]
            return lacking
    finally:
        gen.on_unanswered = hand_on
        if missed and hand_on is not None:
            hand_on(*missed[0])
    return first


def _unsaid(said: list[Sentence], out: list[Sentence]) -> list[Sentence]:
    """The sentences of `said` that `out` does not hold yet: not the same text, nor the same
    amounts of the same product in other words ("is the bottle ok for hot tea and how long
    does it stay hot?" found its 12 hours twice, in two of the spec's templates)."""
    held = {(o.product_id, n) for o in out if (n := _amounts(o.text))}
    return [
        s for s in said
        if all(s.text != o.text for o in out) and (s.product_id, _amounts(s.text)) not in held
    ]  # fmt: skip


def _amounts(text: str) -> frozenset[str]:
    return frozenset(_NUMBER.findall(text))


@functools.cache
def _zh_asks() -> re.Pattern[str]:
    """A word that makes a Chinese clause a question (``[intent] question_marks``: 吗, 多少)."""
    words = [w for d in load_languages().values() if d.script is not None
             for w in d.intent["question_marks"]]  # fmt: skip
    return re.compile("|".join(map(re.escape, words)) or r"(?!)")


def _two_marked(text: str) -> list[str] | None:
    """A question, its mark (or, in Chinese, a comma after a clause that asks), then a second
    question that ends with its own mark: the two, else None. "Is it on sale? I want one"
    is one question: the rest is no question and would only be handed to the operator."""
    t = text.strip()
    m = _FIRST_END.search(t)
    if m is None:
        return None
    first, second = t[: m.start()].strip(), t[m.end() :].strip()
    if m.group().strip(" ") in ("，", ",") and not _zh_asks().search(first):
        return None
    # Chinese chat often leaves the last mark off: a clause that asks is a question
    # (台灯多少钱，发货要多久); "水壶多少钱？我想买" stays one
    asks = second[-1] in "?？" or (CJK_PAIR.search(second) and _zh_asks().search(second))
    if len(first) < MIN_PART_CHARS or len(second) < MIN_PART_CHARS or not asks:
        return None
    return [first + m.group().strip(" ，,") or first, second]


def _without_greeting(text: str) -> str:
    """`text` less a first sentence that greets or chats (``[intent] greeting``,
    ``small_talk``), where a question for the host follows: one with its mark that opens as a
    question does ("how much ...", "is the ...": ``[intent] ask_open``, ``ask_yes_no``) or
    asks a price, the stock or a deal. "Hi everyone! Anyone here from Spain?" stays a
    greeting."""
    m = _GREETING_END.search(text)
    if m is None:
        return text
    first, rest = text[: m.start()], text[m.end() :].strip()
    pats = intent_patterns()
    if len(rest) < MIN_PART_CHARS or rest[-1] not in "?？":
        return text
    if not (has_any(fold(first), pats["greeting"]) or has_any(fold(first), pats["small_talk"])):
        return text  # "Love your voice! How much is the kettle?" drops its compliment too
    folded = fold(rest)
    asks = _opens_question().match(folded) or any(
        has_any(folded, pats[k]) for k in ("price_strong", "price_weak", "stock", "deal")
    )
    return rest if asks else text


@functools.cache
def _opens_question() -> re.Pattern[str]:
    """The start of a question ("how", "ist", "quanto", 什么): ``[intent] ask_open`` and
    ``ask_yes_no`` words at the start, or a Chinese one anywhere."""
    data = load_languages().values()
    lat = sorted({fold(w) for d in data if d.script is None
                  for k in ("ask_open", "ask_yes_no") for w in d.intent[k]}, key=len)[::-1]  # fmt: skip
    cjk = [w for d in data if d.script is not None for w in d.intent["ask_open"]]
    lead = filler_start(folded=True)  # "wait, is it ...", "allora quanto costa"
    alts = [rf"\W*{lead}(?:{'|'.join(map(re.escape, lat))})(?![^\W_])"] if lat else []
    alts += [rf".*?(?:{'|'.join(map(re.escape, cjk))})"] if cjk else []
    return re.compile("|".join(alts) or r"(?!)")


# (a comma too: "first time here, what are you selling?"; the first part must greet or chat)
_GREETING_END = re.compile(r"[!.！。~,，]+\s*(?=\S)")

# Where a told clause ends and a question may start: a sentence's end, a comma, a colon or a
# dash between spaces ("quick q - is it BPA free"), a Chinese comma or stop; not the point or
# comma of a number ("is 1.7 litres enough?").
_CLAUSE_END = re.compile(r"(?:[!…;，。！；：~]|(?<!\d)[.,:]|[.,:](?!\d))+\s*(?=\S)|\s[-–—]+\s")

# A question with its mark, then more words ("does it flicker? I get headaches").
_ASKED_FIRST = re.compile(r"(?P<q>[^?？]+[?？]+)\s*(?P<tale>\S.*)$", re.S)

# The end of a first question: its mark(s), or a Chinese comma (checked: the clause asks).
_FIRST_END = re.compile(r"[?？]+\s*(?=\S)|[，,](?=[^，,?？]*[\u4e00-\u9fff][^，,]*[?？]?$)")
