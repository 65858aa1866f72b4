"""Scripts resume verbatim at sentence level: a script sentence broken off for a question is
said again from its first phrase, never continued from the middle.

The director says long sentences phrase by phrase (talk/phrases.py) so a question can break in
at the next word boundary. For generated product talk the broken-off rest is simply dropped;
an advertiser's script must be said whole, so the phrases of the script sentence on air are
remembered here and, at a break-in, handed back from the sentence's start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from ..frames import Sentence, Source, Speech, new_trace_id

Queued = tuple[Speech, list]


class ScriptSentence:
    """The phrases of the script sentence on air. In: every speech the director queues on the
    player (``queued``); at a break-in, the speech taken back from the player and the word cut
    (``restart``). Out: what to say after the answer, in order - the whole sentence from its
    first phrase. A phrase the viewers already heard is said again under a new trace id and
    committed again through ``recommit`` (the transcript shows it twice, as it was said)."""

    def __init__(self, recommit: Callable[[Sentence, Speech], None]) -> None:
        self._recommit = recommit
        self._said: list[Queued] = []

    def clear(self) -> None:
        self._said = []

    def queued(self, speech: Speech, visemes: list) -> None:
        if speech.sentence.source != Source.SCRIPT:
            return
        if not (self._said and self._said[-1][0].sentence.continues):
            self._said = []  # the last script speech ended its sentence: this one starts anew
        self._said.append((speech, visemes))

    def restart(self, taken: list[Queued], cut: Queued | None) -> list[Queued]:
        """``taken``: speech taken back from the player in play order (the cut one first, if
        any). Returns it with the interrupted script sentence put back from its start, or as it
        is when no script sentence was interrupted mid-way."""
        if not self._said:
            return taken
        mine = {sp.sentence.trace_id for sp, _ in self._said}
        withdrawn = {sp.sentence.trace_id for sp, _ in taken if cut is None or sp is not cut[0]}
        heard = {sp.sentence.trace_id for sp, _ in self._said} - withdrawn
        unfinished = (
            (cut is not None and cut[0].sentence.trace_id in mine)
            or bool(withdrawn & mine)
            or self._said[-1][0].sentence.continues  # its next phrase is not queued yet
        )
        if not heard or not unfinished:
            return taken
        again = [self._again(q) if q[0].sentence.trace_id in heard else q for q in self._said]
        self._said = []
        return again + [q for q in taken if q[0].sentence.trace_id not in mine]

    def _again(self, q: Queued) -> Queued:
        s = dataclasses.replace(q[0].sentence, trace_id=new_trace_id())
        sp = dataclasses.replace(q[0], sentence=s)
        self._recommit(s, sp)  # write before speaking, also the second time
        return sp, q[1]
