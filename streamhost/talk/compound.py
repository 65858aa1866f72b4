"""Two questions in one message ("how much is the kettle and does it have a warranty?").

In: a viewer's text. Out: ``split_question(text)`` -> the one or two questions it asks, split
where a conjunction starts a second question (``[intent] and_ask``: "and does", "und hat", "e
che"); ``answer_parts`` answers each in turn with one lead-in, the product of the first part
carried into the second ("... and does *it* have a warranty?"), and hands the message to the
operator once if any part has no answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..frames import ChatEvent, Sentence
from ..language import fold
from .intent_words import intent_patterns

MIN_PART_CHARS = 4  # "and is it?" alone asks nothing: both sides must say something


def split_question(text: str) -> list[str]:
    """The questions of `text`: itself, or two folded parts around the first ``and_ask``
    phrase (its conjunction dropped: "and does it ..." -> "does it ...")."""
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


def answer_parts(
    gen: Any,
    parts: list[str],
    current_product_id: str | None,
    answer: Callable[[str, str | None, bool], list[Sentence]],
) -> list[Sentence]:
    """`answer(text, product, lead_in)` for each part; the later parts without their lead-in
    and about the product the first answer was about (the one on screen where it named
    none). `gen.on_unanswered` is called once for the message, however many parts miss."""
    if len(parts) == 1:
        return answer(parts[0], current_product_id, True)
    handed = False
    hand_on = gen.on_unanswered

    def once(ev: ChatEvent, lang: str) -> None:
        nonlocal handed
        if not handed and hand_on is not None:
            hand_on(ev, lang)
        handed = True

    gen.on_unanswered = once
    out: list[Sentence] = []
    pid = current_product_id
    try:
        for i, part in enumerate(parts):
            said = answer(part, pid, i == 0)
            pid = next((s.product_id for s in said if s.product_id), pid)
            # both parts may find one answer ("how bright is it and is it good for reading?")
            out += [s for s in said if all(s.text != o.text for o in out)]
    finally:
        gen.on_unanswered = hand_on
    return out
