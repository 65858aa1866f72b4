"""A real person in charge: operator check-ins, and the safe mode while nobody has checked in.

In: ``check_in(name)`` (control command ``presence``; the control session then carries the name
as its actor in the audit log), ``seen(actor, command, ok)`` for every audited operator command
(a named operator acting is present), ``tick(media_t)`` every frame. Out: ``mode()`` - None while
an operator is in charge or the check is off, else the configured safe mode:

- ``"facts"``: only advertiser scripts, the show's lines and catalog template talk; chat is not
  answered (``hold(ev)`` stores each event as ``held``; questions go to the operator's open
  questions, so they are answered when someone is back or closed with "the team will answer in
  the comments");
- ``"break"``: the host stops talking (the disclosure goes on) and the product panel shows the
  language file's ``[host] on_break`` card; chat is held the same way.

Switching raises alert ``presence_lost`` / ``presence_back`` and writes an audit row (actor
``system``). The timeout is ``control.presence_timeout_s`` (-1: the compliance profile's; 0: off);
the first one runs from the stream's start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .chat.triage import Priority
from .compliance import _glyph_problems, presence_limit_s
from .frames import ChatEvent
from .langdata import TalkDataError, load_language
from .language import detect_language

log = logging.getLogger("streamhost.presence")
# Commands that show a dashboard is open, not that a person acts: they do not count as presence.
PASSIVE = frozenset({"status", "history", "subscribe", "unsubscribe"})
MAX_NAMES = 64  # operators remembered as checked in (a bound, not a roster)
HELD = "safe_mode: no operator checked in"


class Presence:
    """See module docstring. ``alert(kind, **fields)`` and ``audit(actor, action, args, ok,
    detail)`` are the observer's; ``on_change(mode)`` runs at each switch (mode None: back)."""

    def __init__(
        self,
        timeout_s: float,
        safe_mode: str,
        now: Callable[[], float],
        alert: Callable[..., None],
        audit: Callable[[str, str, dict[str, Any], bool, str], None],
        on_change: Callable[[str | None], None] | None = None,
    ) -> None:
        if safe_mode not in ("facts", "break"):
            raise ValueError(f"safe_mode must be facts or break, got {safe_mode!r}")
        self.timeout_s = timeout_s
        self.safe_mode = safe_mode
        self.now = now
        self._alert, self._audit, self.on_change = alert, audit, on_change
        self.operator: str | None = None
        self.checked_in_at: float | None = None
        self.safe = False
        self.safe_since: float | None = None
        self.held = 0  # chat events held while in safe mode
        self._names: set[str] = set()
        # Set by the engine: questions held in safe mode go to the operator's open questions.
        self.handoff: Callable[[ChatEvent], None] | None = None

    @property
    def enabled(self) -> bool:
        return self.timeout_s > 0

    def due_at(self) -> float | None:
        """Media time safe mode starts without a check-in (None: the check is off)."""
        if not self.enabled:
            return None
        return (self.checked_in_at or 0.0) + self.timeout_s

    def mode(self) -> str | None:
        """None (speak freely), "facts" or "break" - what the director may do now."""
        return self.safe_mode if self.safe else None

    def check_in(self, name: str) -> dict[str, Any]:
        """``name`` is in charge from now on; ends safe mode. Returns ``status()``."""
        name = name.strip()
        if not name:
            raise ValueError("an operator check-in needs a name")
        if name not in self._names and len(self._names) >= MAX_NAMES:
            self._names.pop()
        self._names.add(name)
        self.operator, self.checked_in_at = name, self.now()
        if self.safe:
            self._switch(False, f"{name} checked in")
        return self.status()

    def seen(self, actor: str, command: str, ok: bool) -> None:
        """An audited command: one that acts, from an operator who checked in, counts as a
        check-in (an operator at work need not also press the button)."""
        if ok and actor in self._names and command not in PASSIVE and command != "presence":
            self.check_in(actor)

    def tick(self, media_t: float) -> None:
        due = self.due_at()
        if due is not None and not self.safe and media_t >= due:
            self._switch(True, f"no operator check-in for {self.timeout_s:g} s")

    def hold(self, ev: ChatEvent) -> str | None:
        """In safe mode: the reason ``ev`` is held (stored, not answered), after handing a
        question to the operator; None when an operator is in charge."""
        if not self.safe or ev.kind == "operator" or ev.platform == "operator":
            return None
        self.held += 1
        if self.handoff is not None:
            self.handoff(ev)
        return HELD

    def status(self) -> dict[str, Any]:
        due = self.due_at()
        return {
            "required": self.enabled, "timeout_s": self.timeout_s, "operator": self.operator,
            "checked_in_at": None if self.checked_in_at is None else round(self.checked_in_at, 3),
            "due_at": None if due is None else round(due, 3),
            "safe_mode": self.mode(), "safe_mode_kind": self.safe_mode,
            "safe_since": None if self.safe_since is None else round(self.safe_since, 3),
            "held": self.held,
        }  # fmt: skip

    def _switch(self, safe: bool, why: str) -> None:
        self.safe = safe
        self.safe_since = self.now() if safe else None
        kind = "presence_lost" if safe else "presence_back"
        fields = {"safe_mode": self.safe_mode, "operator": self.operator, "reason": why}
        (log.warning if safe else log.info)("%s: %s", kind, why)
        self._alert(kind, **fields)
        self._audit("system", "safe_mode_on" if safe else "safe_mode_off", fields, True, why)
        if self.on_change is not None:
            self.on_change(self.mode())


def attach_presence(stream: Any) -> Presence:
    """Build the presence check of an assembled ``engine.Stream`` and wire it in: the director
    asks ``mode()``, the controls report check-ins and audited commands, held questions go to
    the stream's follow-ups, and "break" shows the card on the product panel."""
    cfg = stream.cfg
    lang = cfg.stream.language
    p = Presence(presence_limit_s(cfg), cfg.control.safe_mode, stream.clock.now,
                 stream.obs.alert, stream.obs.audit)  # fmt: skip
    stream.director.safe_mode = p.mode
    stream.controls.presence = p
    followups, classify = stream.talk.followups, stream.triage.classify

    def handoff(ev: ChatEvent) -> None:
        if followups is None or ev.kind != "comment" or not ev.text:
            return
        ev.lang = ev.lang or detect_language(ev.text, lang)
        got = classify(ev)
        if (got[0] if isinstance(got, tuple) else got) is Priority.QUESTION:
            followups.open(ev, ev.lang)

    p.handoff = handoff
    inlet = getattr(stream, "chat", None)  # chat/inlet.ChatInlet, where the engine has one
    if inlet is not None:
        inlet.hold = p.hold
    p.on_change = lambda mode: _show_card(stream, break_card(lang) if mode == "break" else None)
    return p


def break_card(lang: str) -> str:
    """The language's ``[host] on_break`` text, or English where the frame's font cannot draw
    it (DejaVu Sans has no CJK glyphs: a card of boxes would say nothing)."""
    for lg in (lang, "en"):
        try:
            text = load_language(lg).on_break
        except TalkDataError:
            continue
        if text and not _glyph_problems(text):
            return text
    return "Back soon"


def _show_card(stream: Any, text: str | None) -> None:
    """Draw the break card (text) or the product panel again (None) off the event loop, after
    any panel drawing already under way (the same chain the engine's product switches use)."""
    prev = stream._panel_task
    pid = stream.director.current_product or stream.catalog.ids[0]
    stream.clock.hold()  # a panel takes ~100 ms: the virtual clock waits for it

    async def draw() -> None:
        try:
            if prev is not None:
                await asyncio.gather(prev, return_exceptions=True)
            args = (text, "", []) if text is not None else stream.talk.panel(pid)
            await asyncio.to_thread(stream.compositor.set_product, *args)
            stream._shown_product = None if text is not None else pid
        except Exception as exc:  # noqa: BLE001 - the old picture stays on air
            log.error("break card failed: %s", exc)
        finally:
            stream.clock.release()

    stream._panel_task = asyncio.get_running_loop().create_task(draw())
