"""A show walked as the director walks it, on media time, without rendering: for measures of what
the host says (benchmarks/voice.py's speech cache hit rate).

Chat from ``ChatSimulator`` goes through the engine's own moderation (``Moderator``) and triage
(``build_triage``: per-user rate limits, dedupe of the same question, stale questions dropped),
and at each sentence boundary the director's rules pick what to say: answers before thanks
before greetings (``_ANSWER_ORDER``), one greeting per ``greeting_every_s`` at most, the first
item that yields a sentence is said. Talk goes on between answers: the opening disclosure, the
slot's advertiser script, CTAs and disclosures when due, product segments from the generator.
Media time advances by each phrase's spoken length (the voice's own ``duration``) plus the
director's gaps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from streamhost.chat.inlet import build_triage
from streamhost.chat.moderation import Moderator, load_blocklists
from streamhost.chat.simulator import ChatSimulator
from streamhost.chat.triage import Priority
from streamhost.clock import VirtualClock
from streamhost.frames import ChatEvent, Sentence, Source
from streamhost.talk.director import _ANSWER_ORDER
from streamhost.talk.prefetch import as_said

GREETING_EVERY_S = 15.0  # the director's greeting_every_s


class MediaTime:
    """The walk's media clock; build the talk with ``clock_now=media.now`` so that its variety
    rules (what was said in the last 10 minutes) see the walk's time."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t


def walk_show(cfg: Any, talk: Any, synthesize: Callable[[Sentence], Any], minutes: float,
              wall: datetime, media: MediaTime, chat_per_s: float = 1.0) -> dict[str, int]:  # fmt: skip
    """Walk ``minutes`` of the show, calling ``synthesize`` for every phrase said; returns counts
    of chat events by the decision they got and of lines said by kind, and ``speech_seconds``
    (how much of the media time was speech)."""
    t = cfg.talk
    gap = t.sentence_gap_s
    now = 0.0
    speech = 0.0
    counts: dict[str, int] = {}
    show, gen = talk.show, talk.generator
    st = show.plan(0.0, wall)
    triage = build_triage(cfg, talk, lambda: st.product_id)
    moderator = Moderator(load_blocklists(cfg.chat.blocklists), max_chars=t.max_chat_chars)
    events: list[ChatEvent] = []
    names = [p.name(talk.lang) for p in talk.catalog]
    sim = ChatSimulator("sim", events.append, VirtualClock(), chat_per_s,
                        catalog_product_names=names)  # fmt: skip
    step = 1.0 / chat_per_s
    next_chat = 0.0
    last_greeting = -1e9

    def count(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    quiet_since = 0.0

    def say(s: Sentence) -> None:
        nonlocal now, speech, quiet_since
        count(f"said_{s.source}")
        for p in as_said(s, t.phrase_chars):
            d = synthesize(p).duration
            speech += d
            now += d + gap * (0.5 if p.continues else 1.0)
            media.t = now
        quiet_since = now

    def respond() -> list[Sentence]:
        nonlocal last_greeting
        while (item := triage.pop(now, order=_ANSWER_ORDER)) is not None:
            if item.priority is Priority.THANKS:
                out = gen.thanks(item.event)
            elif item.priority is Priority.GREETING and now - last_greeting < GREETING_EVERY_S:
                out = []  # a flood of "hi"s gets one greeting now and then
            else:
                if item.priority is Priority.GREETING:
                    last_greeting = now
                out = gen.answer(item.event, st.product_id)
            if out:
                return out
        return []

    say(Sentence(st.disclosure_sentence(talk.lang).text, Source.SHOW, talk.lang))
    show.mark_done("disclosure", 0.0)
    script = list(st.script.sentences) if st.script is not None else []
    end = minutes * 60.0
    while now < end:
        while next_chat <= now:  # chat that arrived while the last line was said
            ev = sim.generate(next_chat)
            if moderator.check(ev).allowed:
                count(triage.offer(ev, next_chat).action)
            else:
                count("blocked")
            next_chat += step
        for s in respond():
            say(s)
        st = show.plan(now, wall)
        for kind in ("disclosure", "cta"):
            if kind in st.due:
                s = (st.disclosure_sentence(talk.lang) if kind == "disclosure"
                     else st.cta_sentence(talk.lang))  # fmt: skip
                if s is not None:
                    say(Sentence(s.text, Source.SHOW, s.lang, s.product_id))
                show.mark_done(kind, now)
        if script:
            say(script.pop(0))
            continue
        segment = gen.segment_or_recap(st.product_id, now - quiet_since, t.max_quiet_s)
        for s in segment:
            say(s)
        now += t.segment_pause_s if segment else 1.0  # nothing new: asked again a second later
        media.t = now
    counts["media_seconds"] = round(now)
    counts["speech_seconds"] = round(speech)
    return counts
