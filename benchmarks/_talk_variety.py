"""Variety over a long show (issue 16, item 6): a 60-minute virtual show of the demo catalog
in the stream language, product talk from the template generator with the director's repeat
window and phrase splitting, and simulated chat (a question every ``ask_every_s`` seconds from
the viewers' question bank) answered in between. Media time advances by each line's length at
the speaking rate, so the generator's variety memory (talk/variety.py) runs on show time.

``distinct_phrase_pct``: distinct / total template phrases as the viewer hears them (each
phrase a transcript line). A fixed opening such as "Something people often overlook:" is its
own phrase and counts as a repeat every time - on purpose: that is what the viewer hears.
``distinct_sentence_pct`` gives the same per template sentence beside it.

The loop is the director's: with nothing fresh to say the host idles, asks again a second
later, and once quiet for ``talk.max_quiet_s`` says a recap (``segment_or_recap``).
``longest_quiet_s`` is the longest stretch with nothing said; ``talk_airtime_pct`` the share of
show time spent speaking. The same show is run again with no chat at all (``*_no_chat``): the
night's quiet hours, where fresh product talk runs out. Used by benchmarks/talk.py."""

from __future__ import annotations

import random
import re
from collections import deque
from typing import Any

CHARS_PER_S = 14.0  # speaking rate (espeak/hibari at the default rate, measured on en lines)


def simulate_show(
    cfg: Any, question_bank: Any, vary: Any, minutes: float = 60.0, ask_every_s: float = 20.0,
    seed: int = 7, max_quiet_s: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Template phrases/sentences said and answers given over ``minutes`` of show time;
    viewers' questions from ``question_bank(catalog, lang)`` varied by ``vary(text, lang,
    rng)`` (benchmarks/talk.py)."""
    from streamhost.chat.moderation import Moderator, load_blocklists
    from streamhost.frames import ChatEvent
    from streamhost.talk.assemble import build_talk
    from streamhost.talk.phrases import split_phrases

    t = cfg.talk
    max_quiet = t.max_quiet_s if max_quiet_s is None else max_quiet_s
    now = [0.0]
    spoken, quiet_since, longest_quiet = 0.0, 0.0, 0.0
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
            longest_quiet = max(longest_quiet, now[0] - quiet_since)
            for s in gen.answer(ev, ids[int(now[0] // per_product) % len(ids)]):
                spoken += len(s.text) / CHARS_PER_S
                now[0] += len(s.text) / CHARS_PER_S + t.sentence_gap_s
            quiet_since = now[0]
            answers += 1
            next_ask += ask_every_s
            continue
        pid = ids[int(now[0] // per_product) % len(ids)]
        said = 0
        quiet = now[0] - quiet_since
        segment = gen.segment_or_recap(pid, quiet, max_quiet)  # as the director asks
        if segment:
            longest_quiet = max(longest_quiet, quiet)
        for s in segment:
            key = re.sub(r"\W+", " ", s.text.casefold()).strip()
            if key in recent:
                continue  # the director's repeat window drops it
            recent.append(key)
            sentences.append(s.text)
            phrases.extend(split_phrases(s.text, s.lang, t.phrase_chars))
            spoken += len(s.text) / CHARS_PER_S
            now[0] += len(s.text) / CHARS_PER_S + t.sentence_gap_s
            quiet_since = now[0]
            said += 1
            if now[0] >= next_ask:
                break  # a question breaks in at the next boundary; the rest of the segment goes
        now[0] += t.segment_pause_s if said else 1.0  # nothing new: the director asks again
    longest_quiet = max(longest_quiet, now[0] - quiet_since)
    return {"phrases": phrases, "sentences": sentences, "answers": answers,
            "longest_quiet_s": longest_quiet, "airtime_pct": 100.0 * spoken / now[0]}  # fmt: skip


def measure_variety(
    res: Any, cfg: Any, question_bank: Any, vary: Any, minutes: float = 60.0
) -> dict[str, Any]:
    out: dict[str, Any] = {"minutes": minutes, "max_quiet_s": cfg.talk.max_quiet_s}
    for suffix, ask in (("", 20.0), ("_no_chat", float("inf"))):
        r = simulate_show(cfg, question_bank, vary, minutes, ask_every_s=ask)
        ph, se = r["phrases"], r["sentences"]
        res.add(f"distinct_phrase_pct{suffix}", 100.0 * len(set(ph)) / max(1, len(ph)), "%", 1)
        res.add(f"distinct_sentence_pct{suffix}", 100.0 * len(set(se)) / max(1, len(se)), "%", 1)
        res.add(f"template_phrases_per_hour{suffix}", len(ph) * 60.0 / minutes, "phrases", 0)
        res.add(f"longest_quiet_s{suffix}", r["longest_quiet_s"], "s", 1)
        res.add(f"talk_airtime_pct{suffix}", r["airtime_pct"], "%", 1)
        top = sorted(((ph.count(p), p) for p in set(ph)), reverse=True)[:5]
        out[f"answers{suffix}"] = r["answers"]
        out[f"most_repeated{suffix}"] = top
    return out
