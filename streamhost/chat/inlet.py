"""A stream's chat inlet: every chat event, from the built-in ingest (the viewer page's chat box,
WebSocket ``/chat``) and from the configured chat sources, goes through moderation and then
triage, is stored with its decision and reason, and wakes the director when it may be answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..clock import Clock
from ..frames import ChatEvent, Emotion
from .intake import ChatRejected, parse_chat
from .moderation import Moderator
from .registry import build_source
from .triage import Triage, make_classifier

log = logging.getLogger("streamhost.engine")


def build_triage(cfg: Any, talk: Any, current_product: Callable[[], str | None]) -> Triage:
    """The stream's triage from ``[chat]`` and ``[talk]`` (``cfg`` is the whole Config)."""
    c, t = cfg.chat, cfg.talk
    classify = make_classifier(talk.generator.retriever, talk.catalog,
                               current_product=current_product)  # fmt: skip
    return Triage(
        classify, max_queue=c.max_queue, max_age_s=t.max_question_age_s,
        per_user_burst=c.per_user_burst, per_user_window_s=c.per_user_window_s,
        dedupe_window_s=c.dedupe_window_s, lang=cfg.stream.language,
    )  # fmt: skip


class ChatInlet:
    """Raw chat JSON (``submit``) or `ChatEvent`s from sources (``ingest``) in; the decision
    ("blocked", "queued", "merged", "ignored", ...) out. Abuse makes the host sad, purchases and
    gift streaks happy (``director.set_mood``); whatever may be answered calls
    ``director.notify`` so a question breaks in at the next word boundary."""

    def __init__(
        self, cfg: Any, clock: Clock, moderator: Moderator, triage: Triage, director: Any,
        obs: Any,
    ) -> None:  # fmt: skip
        self.cfg, self.clock, self.moderator, self.triage = cfg, clock, moderator, triage
        self.director, self.obs = director, obs
        # Safe mode (presence.py): the reason an event is held rather than answered, or None.
        self.hold: Callable[[ChatEvent], str | None] = lambda ev: None

    def sources(self, tables: list[dict[str, Any]], product_names: list[str]) -> list[Any]:
        """The configured chat sources, each emitting into ``ingest``."""
        out = []
        for table in tables:
            if table["type"] in ("replay", "simulator"):
                extra: dict[str, Any] = {"clock": self.clock}
                if table["type"] == "simulator":
                    extra["catalog_product_names"] = product_names
            else:
                extra = {"clock_now": self.clock.now}
            out.append(build_source(table, emit=self.ingest, **extra))
        return out

    def submit(self, raw: bytes | str | dict[str, Any]) -> tuple[ChatEvent, str]:
        """Built-in ingest: raw JSON in; (event, decision) out, or ChatRejected."""
        try:
            ev = parse_chat(raw, self.cfg.talk.max_chat_chars, self.clock.now())
        except ChatRejected as e:
            self.obs.chat_rejected += 1
            log.debug("chat rejected (%s): %s", e.code, e)
            raise
        return ev, self.ingest(ev)

    def ingest(self, ev: ChatEvent) -> str:
        """Every chat event from every source: moderation, then triage; stored with the
        decision and its reason. Returns the decision."""
        t_in = self.obs.trace.now()
        v = self.moderator.check(ev)
        if not v.allowed:
            if v.abusive:
                self.director.set_mood(Emotion.SAD, 20.0)
            self.obs.chat(ev, "blocked", v.reason)
            return "blocked"
        held = self.hold(ev)  # nobody in charge: stored, not answered
        if held is not None:
            self.obs.chat(ev, "held", held)
            return "held"
        d = self.triage.offer(ev, self.clock.now())
        if d.action == "queued":  # only events that may be answered open a trace
            self.obs.trace.on_stage(ev, "received", t_in)
        self.obs.chat(ev, d.action, d.reason)
        if d.action in ("queued", "merged"):
            if ev.kind == "purchase" or (ev.kind == "gift" and ev.streak_end):
                self.director.set_mood(Emotion.HAPPY, 15.0)
            self.director.notify()
        return d.action
