"""The director's operator and chat inputs: say, stop, pause/resume, emotion, script, product,
chat notifications. Each is called from the event loop, never blocks, and changes only the
director's queues (and the player's queued speech); `Director` (talk/director.py) mixes it in.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from ..chat.triage import Priority
from ..frames import Emotion, Sentence, Source

log = logging.getLogger("streamhost.director")
# Speech that a question or an operator line never pushes back.
_PRIORITY = frozenset({Source.OPERATOR, Source.ANSWER, Source.THANKS, Source.SHOW})
_SEGMENT = frozenset({Source.TEMPLATE, Source.LLM, Source.FILLER})  # generated product talk
_BREAKS_IN = Priority.QUESTION  # this priority and above break into talk mid-phrase


class OperatorInputs:
    """Inputs of `Director` (see there for the state they touch)."""

    # Set by Director.__init__; declared for type checkers.
    clock: Any
    player: Any
    show: Any
    wall_start: Any
    wake: Any
    triage: Any
    products: list[str]
    barge_in_s: float
    _interrupted: asyncio.Event
    _operator: deque[Sentence]
    _phrase_ids: set[str]
    _urgent: str | None

    # ---- inputs (called from the event loop; never block) ----
    def notify(self) -> None:
        """Chat was queued in triage. A question (or thanks, or operator chat) breaks in: the
        talk playing now stops at the next word boundary after ``barge_in_s``, queued talk is
        taken back; generated talk that was broken off is dropped (never continued from the
        middle), a script sentence is said again from its first phrase (talk/resume.py).
        Greetings and chatter wait for the next sentence boundary."""
        head = self.triage.peek_priority()
        if head is None or head > _BREAKS_IN:
            self.wake.set()
            return
        movable = lambda sp: sp.sentence.source not in _PRIORITY  # noqa: E731
        taken = self.player.withdraw_queued(movable)
        cut = self.player.cut_at_word(self.barge_in_s, movable) if self.barge_in_s > 0 else None
        if cut is not None:
            self._barged = True
            taken.insert(0, cut)
        taken = self._sentence.restart(taken, cut)
        self._resume.extendleft(
            reversed([t for t in taken if t[0].sentence.source not in _SEGMENT])
        )
        if self._phrases and self._phrases[0].source in _SEGMENT:
            self._drop_phrases()
        self.wake.set()

    def say(self, text: str, now: bool) -> Sentence:
        s = Sentence(text=text, source=Source.OPERATOR, lang=self.lang,
                     product_id=self.current_product, emotion=self.emotion)  # fmt: skip
        if self.on_stage is not None:
            self.on_stage(s, "received")
        if now:
            self.interrupt("say now")
            self._operator.appendleft(s)
            self._urgent = s.trace_id
        else:
            self._operator.append(s)
        self.wake.set()
        return s

    def pause(self) -> int:
        """Operator pause: the sentence on air finishes, nothing new starts (operator lines
        excepted) until ``resume``. Queued speech is taken back and resumes then; chat is still
        triaged meanwhile. Returns the number of sentences taken back."""
        self.paused = True
        taken = self.player.withdraw_queued(lambda sp: sp.sentence.source != Source.OPERATOR)
        self._resume.extendleft(reversed(taken))
        return len(taken)

    def resume(self) -> None:
        self.paused = False
        self._idle_since = self.clock.now()
        self.wake.set()

    def set_emotion(self, emotion: str, seconds: float | None) -> None:
        """Operator emotion for the sentences committed from now on (and the operator's own
        lines), for ``seconds`` of media time or until changed. ``neutral`` without seconds
        hands emotion back to the scripts and chat mood."""
        if seconds is None and emotion == Emotion.NEUTRAL:
            self.emotion, self.emotion_until = Emotion.NEUTRAL, None
            return
        self.emotion = Emotion(emotion)
        self.emotion_until = float("inf") if seconds is None else self.clock.now() + seconds

    def _operator_emotion(self) -> str | None:
        if self.emotion_until is None:
            return None
        if self.clock.now() > self.emotion_until:
            self.emotion, self.emotion_until = Emotion.NEUTRAL, None
            return None
        return self.emotion

    def set_script(self, script: Any) -> None:
        """Operator script: spoken verbatim from its first sentence at the next sentence
        boundary, in place of the current segment (queued, not yet playing speech of that
        segment is dropped); the run of show goes on after its last sentence."""
        self._op_script = script.new_cursor()
        if self.show is not None:
            st = self.show.plan(self.clock.now(), self.wall_start)
            self._replaced_slot = (st.slot is not None, st.slot_index)
        self._script.clear()
        self._resume.clear()
        self._sentence.clear()
        self._drop_phrases()
        self._segment_epoch += 1
        self._script_epoch += 1
        self.player.withdraw_queued(lambda sp: sp.sentence.source not in _PRIORITY)
        self.wake.set()

    def set_mood(self, emotion: str, seconds: float) -> None:
        """Chat sentiment (abuse -> sad, purchases -> happy) colours the next sentences."""
        self._mood = (emotion, self.clock.now() + seconds)

    def stop(self) -> int:
        """Operator stop: silence now, and nothing but operator lines for a segment pause."""
        n = self.interrupt("operator stop")
        self._quiet_until = self.clock.now() + self.segment_pause_s
        return n

    def interrupt(self, reason: str) -> int:
        """Control plane: drop queued and playing speech now; in-flight synthesis and any LLM
        stream are cancelled (the HTTP stream is closed at once)."""
        self._epoch += 1
        self._interrupted.set()
        self._interrupted = asyncio.Event()
        if self._cancel is not None:
            self._cancel.set()
        self._pending.clear()
        self._resume.clear()
        self._sentence.clear()
        # The rest of an operator line said phrase by phrase goes with the phrase on air;
        # operator lines not yet begun stay queued.
        if self._phrase_ids:
            self._operator = deque(s for s in self._operator if s.trace_id not in self._phrase_ids)
        self._drop_phrases()
        self._script.clear()  # the generated segment is abandoned; the next follows the pause
        n = self.player.flush(self.clock.now())
        self._idle_since = self.clock.now()
        log.info("interrupt (%s): %d sentence(s) dropped", reason, n)
        return n

    def set_product(self, product_id: str) -> None:
        if product_id not in self.products:
            raise KeyError(product_id)
        # The next generated segment is about this product (the rotation goes on from it; with
        # a run of show, until its next rotation step).
        self._product_idx = self.products.index(product_id) - 1
        if self.show is not None:
            st = self.show.plan(self.clock.now(), self.wall_start)
            self._op_product = (product_id, (st.slot_index, st.product_until))
        self._script.clear()
        if self._phrases and self._phrases[0].source in _SEGMENT:
            self._drop_phrases()
        self._segment_epoch += 1
        self._switch(product_id)
