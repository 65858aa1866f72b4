"""The director: decides what the host says next.

Chat (through triage), operator requests and the run of show in; sentences out, one at a time,
synthesized and queued on the speech player only when its buffer runs low (``lead_s``), so an
answer or an operator line waits at most for the sentence that is playing.

Order at each sentence boundary: operator > safety (AI disclosure) > answers > thanks >
scripted segment (advertiser script verbatim, calls to action, flash-sale countdowns) > filler
(generated product talk). A script broken off to answer resumes where it left. Every generated
sentence passes the guard before TTS; a rejected one is stored and replaced by a template
sentence. With an LLM, answers and segments stream sentence by sentence; an interrupt closes the
LLM stream at once; any LLM failure falls back to templates.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from ..chat.triage import Priority, Triage, Triaged
from ..clock import Clock
from ..frames import ChatEvent, Emotion, Sentence, Source, Speech
from ..pipeline import Wake
from ..player import SpeechPlayer
from .acceptance import Acceptance, Guard
from .followup import Followups
from .llm_turns import LlmTurns, StreamingTalk
from .operator_inputs import _SEGMENT, OperatorInputs
from .prefetch import as_said, operator_phrases
from .resume import ScriptSentence
from .show_turns import ShowTurns
from .synthesis import VOICE_TIMEOUT_S, Synthesis, Voice

log = logging.getLogger("streamhost.director")
# Answers before thanks (the triage's flood-drop order puts thanks first).
_ANSWER_ORDER = (
    Priority.OPERATOR,
    Priority.QUESTION,
    Priority.THANKS,
    Priority.GREETING,
    Priority.OTHER,
)


class Generator(Protocol):
    def next_segment(self, product_id: str) -> list[Sentence]: ...
    def segment_or_recap(self, pid: str, quiet_s: float, max_s: float) -> list[Sentence]: ...
    def answer(self, event: ChatEvent, current_product_id: str | None) -> list[Sentence]: ...
    def thanks(self, event: ChatEvent) -> list[Sentence]: ...


class Director(OperatorInputs, ShowTurns, LlmTurns, Acceptance, Synthesis):
    """See module docstring. ``on_commit(sentence, speech)`` runs before a sentence is queued
    for air (the store writes it there: write before speaking); ``on_reject(sentence,
    reason)`` for each sentence the guard stopped."""

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
        *,
        guard: Guard | None = None,
        on_reject: Callable[[Sentence, str], None] | None = None,
        show: Any = None,
        wall_start: datetime | None = None,
        llm: StreamingTalk | None = None,
        llm_error: type[BaseException] = RuntimeError,
        repeat_window: int = 20,
        phrase_chars: int = 40,
        followups: Followups | None = None,
        barge_in_s: float = 0.25,
        max_quiet_s: float = 20.0,
    ) -> None:
        if not product_ids:
            raise ValueError("the catalog has no products to present")
        self.clock = clock
        self.gen = generator
        self.voice = voice
        self.player = player
        self.triage = triage
        self.lang = lang
        self.lead_s = lead_s
        self.gap_s = sentence_gap_s
        self.voice_timeout_s = VOICE_TIMEOUT_S
        self.segment_pause_s = segment_pause_s
        self.max_quiet_s = max_quiet_s  # 0: wait for fresh talk, however long
        self._ask_gen_at = 0.0  # an empty segment is asked for again then, not every frame
        self._visemes = visemes
        self._on_commit = on_commit
        self._on_product = on_product
        self._on_reject = on_reject
        self.guard = guard
        self.show = show
        self.wall_start = wall_start or datetime.now().astimezone()
        self.llm = llm
        self._llm_error = llm_error
        self.products = list(product_ids)
        self._product_idx = -1
        self.current_product: str | None = None
        self._operator: deque[Sentence] = deque()
        self._urgent: str | None = None  # the trace id of the last "say now" line
        self._safety: deque[Sentence] = deque()
        self._pending: deque[Sentence] = deque()  # rest of an answer (or an LLM answer's stream)
        # CTA / countdown, spoken before the next segment line
        self._promo: deque[Sentence] = deque()
        self._script: deque[Sentence] = deque()  # generated segment
        # Script speech taken back from the player so an answer could go first; already
        # synthesized and stored, it resumes where it left off.
        self._resume: deque[tuple[Speech, list]] = deque()
        # A script sentence broken off mid-way is said again from its first phrase.
        self._sentence = ScriptSentence(on_commit)
        # The rest of a sentence being said phrase by phrase (already guarded and stored as
        # a whole in the repeat window); chat may go between two phrases.
        self.phrase_chars = phrase_chars
        self._phrases: deque[Sentence] = deque()
        self._phrase_ids: set[str] = set()
        self._after_phrase = False  # the last speech queued ends mid-sentence
        self._recent: deque[str] = deque(maxlen=repeat_window) if repeat_window else deque(maxlen=0)
        self._idle_since: float | None = 0.0
        self._epoch = 0
        # Set by interrupt() (and replaced by a fresh one): a synthesis in flight for speech
        # that was just dropped is not waited for (see _synthesize).
        self._interrupted = asyncio.Event()
        self._cancel: asyncio.Event | None = None
        self._llm_task: asyncio.Task[None] | None = None
        self._script_pause = 0.0
        self._quiet_until = -1.0
        self._last_greeting = -1e9
        self.greeting_every_s = 15.0
        self.paused = False
        self.wake = Wake(clock)
        self.emotion = Emotion.NEUTRAL
        self._mood: tuple[str, float] | None = None  # (emotion, until media time) from chat
        # Operator emotion: overrides every sentence's own until this media time (inf: until
        # changed); None when not set.
        self.emotion_until: float | None = None
        self._op_script: Any = None  # ScriptCursor of an operator-loaded script
        self._replaced_slot: tuple[bool, int | None] | None = None  # show slot it replaced
        self._op_product: tuple[str, Any] | None = None  # (product, show rotation step)
        # Bumped by set_script / set_product: a sentence synthesized meanwhile for the old
        # segment is dropped instead of aired.
        self._segment_epoch = 0
        self._script_epoch = 0
        self.guard_rejections = 0
        self.llm_failures = 0
        self._consumed = 0
        # Trace hook (``TraceBook.on_stage``): (sentence or chat event, stage name).
        self.on_stage: Callable[[Any, str], None] | None = None
        # Questions handed to the operator (talk/followup.py): answers and time-outs are said
        # at the next sentence boundary, the answer waits for nothing but the line on air.
        self.followups = followups
        if followups is not None:
            followups.on_due = self._followup_due
        self.barge_in_s = barge_in_s
        self._barged = False  # talk was broken off for a question: say a lead-in first
        # The stream's own AI disclosure (talk/disclosure.py), said with or without a show;
        # and the safe mode while no operator is in charge (presence.py): None, "facts", "break".
        self.disclosure: Any = None
        self.safe_mode: Callable[[], str | None] = lambda: None

    def _drop_phrases(self) -> None:
        self._phrases.clear()
        self._phrase_ids.clear()

    def _split(self, s: Sentence) -> Sentence:
        """Say a long talk sentence phrase by phrase: the first phrase now, the rest queued.
        The phrases are exactly the ones the prefetcher synthesized (``as_said``); an
        operator's line is phrased for speed (``operator_phrases``)."""
        if s.source == Source.OPERATOR:
            urgent, self._urgent = s.trace_id == self._urgent, None
            parts = operator_phrases(s, self.phrase_chars, urgent)
        else:
            parts = as_said(s, self.phrase_chars)
        if len(parts) < 2:
            return s
        rest = parts[1:]
        s.text, s.continues = parts[0].text, True  # the first keeps the sentence's trace id
        # An operator's phrases go before anything else, an answer's before the rest of the
        # answers (chat never breaks into either); talk's phrases wait behind chat, which may
        # break in between them.
        if s.source == Source.OPERATOR:
            self._operator.extendleft(reversed(rest))
        else:
            (self._pending if s.reply_to is not None else self._phrases).extendleft(reversed(rest))
        self._phrase_ids.update(r.trace_id for r in rest)
        return s

    def _switch(self, product_id: str) -> None:
        if product_id != self.current_product:
            self.current_product = product_id
            if self._on_product is not None:
                self._on_product(product_id)

    def tick(self) -> None:
        """Called by the AV loop each frame: wake the director when the player runs low."""
        if self.player.buffered_s() < self.lead_s:
            self.wake.set()

    # ---- choosing ----
    def _chat(self, now: float) -> Sentence | None:
        # Mid-sentence (phrases of it still to come) only what breaks in is answered; a
        # greeting waits for the end of the sentence.
        order = _ANSWER_ORDER[:3] if self._phrases else _ANSWER_ORDER
        while (item := self.triage.pop(now, order=order)) is not None:
            first = self._respond(item)
            if first is not None:
                return first
        return None

    def _respond(self, item: Triaged) -> Sentence | None:
        ev = item.event
        if self.on_stage is not None:
            self.on_stage(ev, "triaged")
        if item.priority in (Priority.OPERATOR, Priority.THANKS):
            out = self.gen.thanks(ev)
        elif (
            item.priority is Priority.GREETING
            and self.clock.now() - self._last_greeting < self.greeting_every_s
        ):
            out = []  # a flood of "hi"s gets one greeting now and then, not one each
        elif item.priority in (Priority.QUESTION, Priority.GREETING):
            if item.priority is Priority.GREETING:
                self._last_greeting = self.clock.now()
            # No LLM sees orders; "show me the lamp" is the template answer, which puts the
            # product on screen (an LLM's words cannot).
            ours = self.gen.for_the_team(ev) or self.gen.shows(ev, self.current_product)
            llm = None if ours else self.llm
            if llm is not None and item.priority is Priority.QUESTION:
                pid = self.current_product
                self._start_llm(lambda c: llm.answer(ev, pid, c), lambda: self.gen.answer(ev, pid))
                return None
            out = self.gen.answer(ev, self.current_product)
        else:
            out = []
        if not out:
            return None
        if self._barged:
            self._barged = False
            lead = (
                self.gen.barge_in(ev, out[0].lang) if item.priority is Priority.QUESTION else None
            )
            if lead is not None:
                out.insert(0, lead)
        self._pending.extend(out[1:])
        return out[0]

    def _pick(self) -> Sentence | tuple[Speech, list] | None:
        now = self.clock.now()
        if self._operator:
            return self._operator.popleft()
        if self.paused or now < self._quiet_until:
            return None
        st = self._plan_show(now)
        if self.disclosure is not None:
            self._safety.extend(self.disclosure.due(now))
        if self._safety:
            return self._safety.popleft()
        safe = self.safe_mode()
        if safe == "break":
            return None
        self._say_followups()
        if self._pending:
            return self._pending.popleft()
        if self._llm_task is not None:
            return None  # an LLM reply is on its way: nothing else may start before it
        first = self._chat(now) if safe is None else None  # nobody in charge: no free answers
        if first is not None or self._llm_task is not None:
            return first
        if self._resume:
            return self._resume.popleft()
        if self._phrases:
            return self._phrases.popleft()
        if self._op_script is not None:
            if not self._op_script.done:
                self._script_pause = self._op_script.pause_before_next()
                return self._op_script.next()
            self._op_script = None
        if self._promo:
            return self._promo.popleft()
        script = st.script if st is not None else None
        if self._replaced_slot is not None and st is not None:
            if self._replaced_slot == (st.slot is not None, st.slot_index):
                script = None  # the operator's script took this slot's place
            else:
                self._replaced_slot = None  # the show moved on to another slot
        if script is not None and not script.cursor.done:
            self._script_pause = script.cursor.pause_before_next()
            return script.cursor.next()
        if self._script:
            return self._script.popleft()
        if not self.player.idle:
            return None
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.segment_pause_s or now < self._ask_gen_at:
            return None
        if st is not None:
            pid = st.product_id
            if self._op_product is not None:
                if self._op_product[1] == (st.slot_index, st.product_until):
                    pid = self._op_product[0]
                else:
                    self._op_product = None  # the show moved on to its next product
            self._product_idx = (
                self.products.index(pid) if pid in self.products else self._product_idx
            )
        else:
            self._product_idx = (self._product_idx + 1) % len(self.products)
            pid = self.products[self._product_idx]
        self._switch(pid)
        if self.llm is not None and safe is None:
            self._start_llm(
                lambda c: self.llm.next_segment(pid, c),
                lambda: self.gen.next_segment(pid),
                into=self._script,
            )
            return None
        # Nothing fresh left, and quiet for max_quiet_s: a recap for whoever joined since.
        quiet = now - self._idle_since
        self._script.extend(self.gen.segment_or_recap(pid, quiet, self.max_quiet_s))
        if not self._script:
            self._ask_gen_at = now + 1.0
            return None
        return self._script.popleft()

    async def run(self) -> None:
        while True:
            await self.wake.wait()
            try:
                while self.player.buffered_s() < self.lead_s:
                    picked = self._pick()
                    if picked is None:
                        break
                    if isinstance(picked, tuple):  # taken back earlier: already stored
                        self.player.enqueue(
                            picked[0], picked[1], 0.0 if self.player.idle else self.gap_s
                        )
                        self._sentence.queued(*picked)
                        continue
                    if picked.trace_id in self._phrase_ids:
                        self._phrase_ids.discard(picked.trace_id)
                        s: Sentence | None = picked  # a phrase of a sentence accepted whole
                    else:
                        s = self._accept(picked)
                        if s is None:
                            continue
                        s = self._split(s)
                    if self.on_stage is not None:
                        self.on_stage(s, "text_ready")
                    epoch = self._epoch
                    seg_epoch, script_epoch = self._segment_epoch, self._script_epoch
                    if self._mood is not None:
                        if self.clock.now() > self._mood[1]:
                            self._mood = None
                        elif s.emotion == Emotion.NEUTRAL:
                            s.emotion = self._mood[0]
                    speech = await self._synthesize(s)
                    if speech is None or epoch != self._epoch:
                        continue  # interrupted while synthesizing: never air stale speech
                    if (seg_epoch != self._segment_epoch and s.source in _SEGMENT) or (
                        script_epoch != self._script_epoch and s.source == Source.SCRIPT
                    ):
                        continue  # the operator replaced the segment it belonged to
                    if self.on_stage is not None:
                        self.on_stage(s, "first_audio")
                    op_emotion = self._operator_emotion()
                    if op_emotion is not None:
                        s.emotion = op_emotion  # the player reads it from the sentence
                    visemes = self._visemes(speech)
                    self._on_commit(s, speech)
                    if self.paused and s.source != Source.OPERATOR:
                        # Paused while it was being synthesized: it waits for resume.
                        self._resume.append((speech, visemes))
                        continue
                    if s.product_id and (
                        s.show or s.source in (Source.SCRIPT, Source.TEMPLATE, Source.LLM)
                    ):
                        self._switch(s.product_id)
                    gap = 0.0 if self.player.idle else self.gap_s
                    if self._after_phrase:
                        gap *= 0.5  # between phrases of one sentence: a comma's pause
                    self._after_phrase = s.continues
                    gap += self._script_pause
                    self._script_pause = 0.0
                    self.player.enqueue(speech, visemes, gap)
                    self._sentence.queued(speech, visemes)
                    self._idle_since = None
            finally:
                self.wake.done()
