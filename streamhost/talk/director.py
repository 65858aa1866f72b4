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
import contextlib
import logging
import re
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, Protocol

from ..chat.triage import Priority, Triage, Triaged
from ..clock import Clock
from ..frames import ChatEvent, Emotion, Sentence, Source, Speech
from ..pipeline import Wake
from ..player import SpeechPlayer
from .followup import Followups
from .operator_inputs import _PRIORITY, _SEGMENT, OperatorInputs
from .prefetch import as_said, operator_phrases
from .resume import ScriptSentence

log = logging.getLogger("streamhost.director")
_GENERATED = frozenset(
    {Source.ANSWER, Source.THANKS, Source.TEMPLATE, Source.LLM, Source.FILLER, Source.SHOW}
)
# Answers before thanks (the triage's flood-drop order puts thanks first).
_ANSWER_ORDER = (
    Priority.OPERATOR,
    Priority.QUESTION,
    Priority.THANKS,
    Priority.GREETING,
    Priority.OTHER,
)
# Talk that is spoken in phrases (talk/phrases.py) so chat can break in sooner; answers, thanks,
# operator and show lines are said whole.
_NORM = re.compile(r"\W+")
VOICE_TIMEOUT_S = 20.0  # one sentence's synthesis; a remote TTS's slowest answer stays well under


class Generator(Protocol):
    def next_segment(self, product_id: str) -> list[Sentence]: ...
    def answer(self, event: ChatEvent, current_product_id: str | None) -> list[Sentence]: ...
    def thanks(self, event: ChatEvent) -> list[Sentence]: ...


class StreamingTalk(Protocol):
    def answer(
        self, event: ChatEvent, current_pid: str | None, cancel: asyncio.Event | None
    ) -> AsyncIterator[Sentence]: ...
    def next_segment(
        self, product_id: str, cancel: asyncio.Event | None
    ) -> AsyncIterator[Sentence]: ...


class Voice(Protocol):
    async def speak(self, sentence: Sentence) -> Speech: ...


class Guard(Protocol):
    def check(self, sentence: Sentence) -> Any: ...


def _norm(text: str) -> str:
    return _NORM.sub(" ", text.casefold()).strip()


class Director(OperatorInputs):
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
        self._promo: deque[Sentence] = (
            deque()
        )  # CTA / countdown, spoken before the next segment line
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
    def _plan_show(self, now: float) -> Any:
        if self.show is None:
            return None
        st = self.show.plan(now, self.wall_start)
        for kind in sorted(st.due):
            s = None
            if kind == "disclosure":
                # With the stream's own schedule the show's turn is only marked: one disclosure.
                s = st.disclosure_sentence(self.lang) if self.disclosure is None else None
                if s is not None:
                    self._safety.append(s)
            elif kind == "cta":
                s = st.cta_sentence(self.lang)
            elif kind == "countdown":
                s = st.countdown_sentence(self.lang)
            if s is not None:
                s.source = Source.SHOW
                if kind != "disclosure":
                    self._promo.append(s)
            self.show.mark_done(kind, now)
        return st

    def _followup_due(self) -> None:
        taken = self.player.withdraw_queued(lambda sp: sp.sentence.source not in _PRIORITY)
        taken = self._sentence.restart(taken, None)
        self._resume.extendleft(
            reversed([t for t in taken if t[0].sentence.source not in _SEGMENT])
        )
        self.wake.set()

    def _say_followups(self) -> None:
        """Operator answers (lead-in naming the viewer, then the operator's words, verbatim
        like ``say``) and "the team will answer in the comments" for timed-out questions."""
        for q in self.followups.take_due() if self.followups is not None else ():
            lead = self.gen.followup(q.event, q.lang, q.answer is not None)
            out = [lead] if lead is not None else []
            if q.answer is not None:
                out.append(Sentence(q.answer, Source.OPERATOR, q.lang, self.current_product,
                                    reply_to=q.event))  # fmt: skip
            self._pending.extend(out)

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
            if self.llm is not None and item.priority is Priority.QUESTION:
                pid = self.current_product
                self._start_llm(
                    lambda c: self.llm.answer(ev, pid, c), lambda: self.gen.answer(ev, pid)
                )
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
        if now - self._idle_since < self.segment_pause_s:
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
        self._script.extend(self.gen.next_segment(pid))
        return self._script.popleft() if self._script else None

    # ---- LLM streaming ----
    def _start_llm(
        self,
        make: Callable[[asyncio.Event], AsyncIterator[Sentence]],
        fallback: Callable[[], list[Sentence]],
        into: deque[Sentence] | None = None,
    ) -> None:
        self._cancel = asyncio.Event()
        self._llm_task = asyncio.get_running_loop().create_task(
            self._stream_llm(
                make, fallback, self._cancel, self._epoch, self._pending if into is None else into
            )
        )

    async def _stream_llm(
        self,
        make: Callable[[asyncio.Event], AsyncIterator[Sentence]],
        fallback: Callable[[], list[Sentence]],
        cancel: asyncio.Event,
        epoch: int,
        into: deque[Sentence],
    ) -> None:
        try:
            with self.clock.io():
                await self._consume(make(cancel), into, epoch)
        except Exception as e:  # noqa: BLE001 - the host must keep talking whatever the LLM does
            self.llm_failures += 1
            expected = isinstance(e, self._llm_error)
            (log.warning if expected else log.error)(
                "LLM failed after %d sentence(s): %s; falling back to templates", self._consumed, e
            )
            if epoch == self._epoch and self._consumed == 0:
                into.extend(fallback())
        finally:
            self._llm_task = None
            self.wake.set()

    async def _consume(
        self, it: AsyncIterator[Sentence], into: deque[Sentence], epoch: int
    ) -> None:
        self._consumed = 0
        async with contextlib.aclosing(it):  # type: ignore[type-var]
            async for s in it:
                if epoch != self._epoch:
                    break
                into.append(s)
                self._consumed += 1
                self.wake.set()

    # ---- checks ----
    def _accept(self, s: Sentence) -> Sentence | None:
        """Guard and repeat window for generated sentences; verbatim sources pass as they are."""
        if s.source not in _GENERATED or (self.disclosure is not None and self.disclosure.owns(s)):
            return s
        if self.guard is not None:
            res = self.guard.check(s)
            if not res.ok:
                self.guard_rejections += 1
                if self._on_reject is not None:
                    self._on_reject(s, res.reason)
                log.warning("guard rejected (%s): %r", res.reason, s.text)
                return self._replacement(s)
        key = _norm(s.text)
        if key in self._recent and s.source != Source.SHOW:
            return None
        self._recent.append(key)
        return s

    def _replacement(self, bad: Sentence) -> Sentence | None:
        """A template sentence for the same purpose, if one passes the guard."""
        if bad.reply_to is not None:
            cands = self.gen.answer(bad.reply_to, bad.product_id or self.current_product)
        elif bad.product_id:
            cands = self.gen.next_segment(bad.product_id)
        else:
            cands = []
        for c in cands:
            if self.guard is None or self.guard.check(c).ok:
                return c
        return None

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
                    if s.source in (Source.SCRIPT, Source.TEMPLATE, Source.LLM) and s.product_id:
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

    async def _synthesize(self, s: Sentence) -> Speech | None:
        """The voice's speech for ``s``; None when an interrupt (say now, stop) came first.
        A "say now" must not wait behind a stale sentence's synthesis (a long LLM sentence
        takes 50-100 ms): that one finishes in its worker (filling the speech cache) unwaited.
        A hung voice would silence the host for good: past the deadline the stage fails, the
        supervisor restarts it (alert) and the next line speaks."""
        cut = self._interrupted
        job = asyncio.ensure_future(asyncio.wait_for(self.voice.speak(s), self.voice_timeout_s))
        stop = asyncio.ensure_future(cut.wait())
        try:
            await asyncio.wait((job, stop), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            job.cancel()
            raise
        finally:
            stop.cancel()
        if job.done():
            return job.result()  # the voice's error or the deadline's TimeoutError: raised
        job.add_done_callback(_unwaited)
        return None

    async def close(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        if self._llm_task is not None:
            self._llm_task.cancel()
            await asyncio.gather(self._llm_task, return_exceptions=True)


def _unwaited(job: asyncio.Future[Any]) -> None:
    """Done callback of a synthesis nobody waits for any more: its error is logged, not left
    to asyncio's "exception was never retrieved"."""
    if not job.cancelled() and job.exception() is not None:
        log.warning("synthesis of dropped speech failed: %r", job.exception())
