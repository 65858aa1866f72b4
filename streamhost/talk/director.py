"""The director: decides what the host says next.

Chat events and operator requests in; sentences out, one at a time, synthesized and queued on
the speech player only when its buffer runs low (``lead_s``), so an answer or an operator line
waits at most for the sentence that is playing. Priority: operator > answers/thanks > script.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from ..chat.triage import Priority, Triage
from ..clock import Clock
from ..frames import ChatEvent, Emotion, Sentence, Source, Speech
from ..pipeline import Wake
from ..player import SpeechPlayer

log = logging.getLogger("streamhost.director")
_PRIORITY = frozenset({Source.OPERATOR, Source.ANSWER, Source.THANKS})


class Generator(Protocol):
    def next_segment(self, product_id: str) -> list[Sentence]: ...
    def answer(self, event: ChatEvent, current_product_id: str | None) -> list[Sentence]: ...
    def thanks(self, event: ChatEvent) -> list[Sentence]: ...


class Voice(Protocol):
    async def speak(self, sentence: Sentence) -> Speech: ...


class Director:
    """See module docstring. ``on_commit(sentence, speech)`` runs before a sentence is queued
    for air (the store writes it there: write before speaking)."""

    def __init__(
        self,
        clock: Clock,
        generator: Generator,
        voice: Voice,
        player: SpeechPlayer,
        triage: Triage,
        product_ids: list[str],
        lang: str,
        lead_s: float,
        sentence_gap_s: float,
        segment_pause_s: float,
        visemes: Callable[[Speech], list[tuple[float, float, int]]],
        on_commit: Callable[[Sentence, Speech], None],
        on_product: Callable[[str], None] | None = None,
    ) -> None:
        if not product_ids:
            raise ValueError("the catalog has no products to present")
        self.clock = clock
        self.gen = generator
        self.voice = voice
        self.player = player
        self.lang = lang
        self.lead_s = lead_s
        self.gap_s = sentence_gap_s
        self.segment_pause_s = segment_pause_s
        self._visemes = visemes
        self._on_commit = on_commit
        self._on_product = on_product
        self.products = list(product_ids)
        self._product_idx = -1
        self.current_product: str | None = None
        # Triaged chat waits here for the next sentence boundary (it does not hold the
        # virtual clock: it waits for media time to pass).
        self.triage = triage
        self._operator: deque[Sentence] = deque()
        self._pending: deque[Sentence] = deque()  # rest of an answer (several sentences)
        self._script: deque[Sentence] = deque()
        # Script speech taken back from the player so an answer could go first; already
        # synthesized and stored, it resumes where it left off.
        self._resume: deque[tuple[Speech, list]] = deque()
        self._idle_since: float | None = 0.0
        self._epoch = 0
        self.paused = False
        self.wake = Wake(clock)
        self.emotion = Emotion.NEUTRAL
        self._mood: tuple[str, float] | None = None  # (emotion, until media time) from chat

    # ---- inputs (called from the event loop; never block) ----
    def notify(self) -> None:
        """Chat was queued in triage: let it go first at the next sentence boundary."""
        taken = self.player.withdraw_queued(lambda sp: sp.sentence.source not in _PRIORITY)
        self._resume.extendleft(reversed(taken))
        self.wake.set()

    def say(self, text: str, now: bool) -> Sentence:
        s = Sentence(
            text=text,
            source=Source.OPERATOR,
            lang=self.lang,
            product_id=self.current_product,
            emotion=self.emotion,
        )
        if now:
            self.interrupt("say now")
            self._operator.appendleft(s)
        else:
            self._operator.append(s)
        self.wake.set()
        return s

    def set_mood(self, emotion: str, seconds: float) -> None:
        """Chat sentiment (abuse -> sad, purchases -> happy) colours the next sentences."""
        self._mood = (emotion, self.clock.now() + seconds)

    def interrupt(self, reason: str) -> int:
        """Control plane: drop queued and playing speech now; in-flight synthesis is discarded."""
        self._epoch += 1
        self._pending.clear()
        self._resume.clear()
        self._script.clear()  # the segment is abandoned; the next one follows the pause
        n = self.player.flush(self.clock.now())
        self._idle_since = self.clock.now()
        log.info("interrupt (%s): %d sentence(s) dropped", reason, n)
        return n

    def set_product(self, product_id: str) -> None:
        if product_id not in self.products:
            raise KeyError(product_id)
        self._product_idx = self.products.index(product_id)
        self._script.clear()
        self._switch(product_id)

    def _switch(self, product_id: str) -> None:
        self.current_product = product_id
        if self._on_product is not None:
            self._on_product(product_id)

    def tick(self) -> None:
        """Called by the AV loop each frame: wake the director when the player runs low."""
        if self.player.buffered_s() < self.lead_s:
            self.wake.set()

    # ---- choosing ----
    def _pick(self) -> Sentence | tuple[Speech, list] | None:
        now = self.clock.now()
        if self._operator:
            return self._operator.popleft()
        if self.paused:
            return None
        if self._pending:
            return self._pending.popleft()
        while (item := self.triage.pop(now)) is not None:
            if item.priority in (Priority.OPERATOR, Priority.THANKS):
                out = self.gen.thanks(item.event)
            elif item.priority in (Priority.QUESTION, Priority.GREETING):
                out = self.gen.answer(item.event, self.current_product)
            else:
                out = []
            if out:
                self._pending.extend(out[1:])
                return out[0]
        if self._resume:
            return self._resume.popleft()
        if self._script:
            return self._script.popleft()
        if not self.player.idle:
            return None
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.segment_pause_s:
            return None
        self._product_idx = (self._product_idx + 1) % len(self.products)
        pid = self.products[self._product_idx]
        self._switch(pid)
        self._script.extend(self.gen.next_segment(pid))
        return self._script.popleft() if self._script else None

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            try:
                while self.player.buffered_s() < self.lead_s:
                    s = self._pick()
                    if s is None:
                        break
                    if isinstance(s, tuple):  # taken back earlier: already stored
                        self.player.enqueue(s[0], s[1], 0.0 if self.player.idle else self.gap_s)
                        continue
                    epoch = self._epoch
                    if self._mood is not None:
                        if self.clock.now() > self._mood[1]:
                            self._mood = None
                        elif s.emotion == Emotion.NEUTRAL:
                            s.emotion = self._mood[0]
                    speech = await self.voice.speak(s)
                    if epoch != self._epoch and s.source != Source.OPERATOR:
                        continue  # interrupted while synthesizing: never air stale speech
                    visemes = self._visemes(speech)
                    self._on_commit(s, speech)
                    gap = 0.0 if self.player.idle else self.gap_s
                    self.player.enqueue(speech, visemes, gap)
                    self._idle_since = None
            finally:
                self.wake.done()
