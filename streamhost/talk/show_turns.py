"""The director's scheduled turns: the run of show's due items (AI disclosure, calls to action,
flash-sale countdowns) and the operator's follow-up answers to questions handed over. Each
turns what is due now into sentences on the director's queues; `Director` (talk/director.py)
mixes it in.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..frames import Sentence, Source
from .operator_inputs import _PRIORITY, _SEGMENT


class ShowTurns:
    """Scheduled turns of `Director` (see there for the state they touch)."""

    # Set by Director.__init__; declared for type checkers.
    show: Any
    wall_start: Any
    disclosure: Any
    lang: str
    player: Any
    wake: Any
    gen: Any
    followups: Any
    current_product: str | None
    _sentence: Any
    _safety: deque[Sentence]
    _promo: deque[Sentence]
    _pending: deque[Sentence]
    _resume: deque[Any]

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
