"""The director's checks on a generated sentence before it is synthesized: the guard (a
rejected sentence is reported and replaced by a template sentence for the same purpose that
passes) and the repeat window (a sentence said lately is skipped). Verbatim sources (operator,
script, the stream's own disclosure) pass as they are. `Director` (talk/director.py) mixes it
in.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from ..frames import Sentence, Source

log = logging.getLogger("streamhost.director")
_GENERATED = frozenset(
    {Source.ANSWER, Source.THANKS, Source.TEMPLATE, Source.LLM, Source.FILLER, Source.SHOW}
)
_NORM = re.compile(r"\W+")


class Guard(Protocol):
    def check(self, sentence: Sentence) -> Any: ...


def _norm(text: str) -> str:
    return _NORM.sub(" ", text.casefold()).strip()


class Acceptance:
    """Checks of `Director` (see there for the state they touch)."""

    # Set by Director.__init__; declared for type checkers.
    gen: Any
    guard: Guard | None
    disclosure: Any
    current_product: str | None
    guard_rejections: int
    _on_reject: Callable[[Sentence, str], None] | None
    _recent: deque[str]

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
