"""Questions the host could not answer from the catalog, handed to the operator.

In: ``open(event, lang)`` when the generator says it does not know (the honest sentence and the
hand-off happen in the same moment); ``answer(qid, text)`` from the operator (control command
``answer``); the media clock. Out: `Due` items the director turns into speech at its next
sentence boundary - an operator answer (lead-in naming the viewer, then the operator's words)
or, after ``timeout_s`` without one, "the team will answer in the comments" - and a callback per
change (``on_change(question)``: the observer stores it and publishes topic ``question``).

Bounded: at most ``max_open`` questions wait; a newer one closes the oldest as unanswered.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ..frames import ChatEvent


@dataclass(slots=True)
class Question:
    """One question handed to the operator. ``state``: open -> answered | unanswered."""

    id: int
    event: ChatEvent
    lang: str
    asked_at: float
    state: str = "open"
    answer: str | None = None
    closed_at: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "question": self.id, "trace_id": self.event.trace_id, "user": self.event.user,
            "text": self.event.text, "lang": self.lang, "asked_at": round(self.asked_at, 3),
            "state": self.state, "answer": self.answer,
            "closed_at": None if self.closed_at is None else round(self.closed_at, 3),
        }  # fmt: skip


class Followups:
    """Open questions and what is due to be said about them (see module docstring)."""

    def __init__(
        self,
        now: Callable[[], float],
        timeout_s: float,
        on_change: Callable[[Question], None] | None = None,
        *,
        max_open: int = 200,
        first_id: int = 1,
    ) -> None:
        self.now = now
        self.timeout_s = timeout_s
        self.on_change = on_change
        self.max_open = max_open
        self._ids = itertools.count(first_id)
        self._open: OrderedDict[int, Question] = OrderedDict()
        self._due: list[Question] = []
        self.on_due: Callable[[], None] | None = None  # wakes the director

    def number_from(self, first_id: int) -> None:
        """Ids of new questions start here (after those a store already holds)."""
        self._ids = itertools.count(first_id)

    def open(self, event: ChatEvent, lang: str) -> Question:
        q = Question(next(self._ids), event, lang, self.now())
        self._open[q.id] = q
        while len(self._open) > self.max_open:
            self._close(next(iter(self._open.values())), "unanswered", say=False)
        self._changed(q)
        return q

    def answer(self, qid: int, text: str) -> Question:
        """The operator's answer: said at the next sentence boundary. KeyError: no such open
        question (answered already, closed by the timeout, or never asked)."""
        q = self._open.get(qid)
        if q is None:
            raise KeyError(qid)
        q.answer = text.strip()
        self._close(q, "answered", say=True)
        return q

    def pending(self) -> list[Question]:
        """Open questions, oldest first."""
        return list(self._open.values())

    def take_due(self) -> list[Question]:
        """Answered or timed-out questions to speak about now (each once)."""
        now = self.now()
        for q in list(self._open.values()):
            if now - q.asked_at < self.timeout_s:
                break  # in ask order: the rest are younger
            self._close(q, "unanswered", say=True)
        due, self._due = self._due, []
        return due

    def _close(self, q: Question, state: str, *, say: bool) -> None:
        self._open.pop(q.id, None)
        q.state, q.closed_at = state, self.now()
        if say:
            self._due.append(q)
            if self.on_due is not None:
                self.on_due()
        self._changed(q)

    def _changed(self, q: Question) -> None:
        if self.on_change is not None:
            self.on_change(q)
