"""Variety over a long show (issue 16, item 6): a 60-minute virtual show of the demo catalog
in the stream language, product talk from the template generator with the director's repeat
window and phrase splitting, and simulated chat (a question every ``ask_every_s`` seconds from
the viewers' question bank) answered in between. Media time advances by each line's length at
the speaking rate, so the generator's variety memory (talk/variety.py) runs on show time.

``distinct_phrase_pct``: distinct / total template phrases as the viewer hears them (each
phrase a transcript line). A fixed opening such as "Something people often overlook:" is its
own phrase and counts as a repeat every time - on purpose: that is what the viewer hears.
``distinct_sentence_pct`` gives the same per template sentence beside it. Used by
benchmarks/talk.py."""

from __future__ import annotations

import random
import re
from collections import deque
from typing import Any

CHARS_PER_S = 14.0  # speaking rate (espeak/hibari at the default rate, measured on en lines)


def simulate_show(
    cfg: Any, question_bank: Any, vary: Any, minutes: float = 60.0, ask_every_s: float = 20.0,
    seed: int = 7,
) -> dict[str, Any]:  # fmt: skip
    """Template phrases/sentences said and answers given over ``minutes`` of show time;
    viewers' questions from ``question_bank(catalog, lang)`` varied by ``vary(text, lang,
    rng)`` (benchmarks/talk.py)."""
    from streamhost.chat.moderation import Moderator, load_blocklists
    from streamhost.frames import ChatEvent
    from streamhost.talk.assemble import build_talk
    from streamhost.talk.phrases import split_phrases

    t = cfg.talk
    now = [0.0]
    mod = Moderator(load_blocklists(cfg.chat.blocklists))
    talk = build_talk(cfg.with_overrides(talk={"show": ""}), lambda: now[0], mod.name_ok)
    gen, lang = talk.generator, cfg.stream.language
    rng = random.Random(seed)
    bank = [q for _, q in question_bank(talk.catalog, lang)]
    recent: deque[str] = deque(maxlen=t.repeat_window)
    phrases: list[str] = []
    sentences: list[str] = []
    answers = 0
    ids = talk.catalog.ids
    next_ask = ask_every_s
    per_product = 10 * 60.0  # the demo show's minutes per product
    end = minutes * 60.0
    while now[0] < end:
        if now[0] >= next_ask:
            ev = ChatEvent(
                f"viewer{answers}", vary(rng.choice(bank), lang, rng), received_at=now[0]
            )
            for s in gen.answer(ev, ids[int(now[0] // per_product) % len(ids)]):
                now[0] += len(s.text) / CHARS_PER_S + t.sentence_gap_s
            answers += 1
            next_ask += ask_every_s
            continue
        pid = ids[int(now[0] // per_product) % len(ids)]
        said = 0
        for s in gen.next_segment(pid):
            key = re.sub(r"\W+", " ", s.text.casefold()).strip()
            if key in recent:
                continue  # the director's repeat window drops it
            recent.append(key)
            sentences.append(s.text)
            phrases.extend(split_phrases(s.text, s.lang, t.phrase_chars))
            now[0] += len(s.text) / CHARS_PER_S + t.sentence_gap_s
            said += 1
            if now[0] >= next_ask:
                break  # a question breaks in at the next boundary; the rest of the segment goes
        now[0] += t.segment_pause_s if said else 5.0  # nothing new to say: the host idles
    return {"phrases": phrases, "sentences": sentences, "answers": answers}


def measure_variety(
    res: Any, cfg: Any, question_bank: Any, vary: Any, minutes: float = 60.0
) -> dict[str, Any]:
    r = simulate_show(cfg, question_bank, vary, minutes)
    ph, se = r["phrases"], r["sentences"]
    res.add("distinct_phrase_pct", round(100.0 * len(set(ph)) / max(1, len(ph)), 1), "%", 1)
    res.add("distinct_sentence_pct", round(100.0 * len(set(se)) / max(1, len(se)), 1), "%", 1)
    res.add("template_phrases_per_hour", len(ph), "phrases", 0)
    top = sorted(((ph.count(p), p) for p in set(ph)), reverse=True)[:5]
    return {"minutes": minutes, "answers": r["answers"], "most_repeated": top}
