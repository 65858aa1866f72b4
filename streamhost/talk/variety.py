"""Variety: what the host said recently, so product talk does not loop.

In: media time (``now``) and each generated segment sentence as it is picked. Out: whether a
candidate sentence may be said now. Rules (issue 16):

- a segment sentence is never repeated within ``hard_s`` (10 minutes) - a sentence whose text
  changed (a new price, a countdown) is a new sentence, so new information always passes;
- a sentence said within ``soft_s`` (an hour) is only said again when the segment would
  otherwise have nothing to say about the product (the host rather pauses than loops);
- but a pause has a bound (the director's ``talk.max_quiet_s``): once the host has been quiet
  that long with nothing fresh, a *refrain* may bring back a sentence, a price, an intro or a
  call to action not heard within ``refrain_s`` (2 minutes) - a recap for the viewers who joined
  since, as a live host does, rather than minutes of dead air;
- a product's price is said at most once per ``price_s`` (3 minutes) in product talk; answers
  to a viewer who asked are not limited, and so is a call to action; a product is introduced
  once per ``hard_s``, and each of its features is talked about once per ``hard_s``, whatever
  template sentence wraps it;
- the host says long sentences phrase by phrase (talk/phrases.py), and a template's fixed
  opening ("Something people often overlook:") is a phrase of its own: with ``split`` set, a
  sentence any of whose phrases was heard within ``hard_s`` is not fresh either (the viewer
  would hear that phrase again).

Memory is bounded: entries older than ``soft_s`` are forgotten as new ones come in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable


class Variety:
    """Media-time memory of segment sentences and price mentions (see module docstring)."""

    def __init__(
        self,
        now: Callable[[], float],
        *,
        hard_s: float = 600.0,
        soft_s: float = 3600.0,
        price_s: float = 180.0,
        refrain_s: float = 120.0,
        max_entries: int = 20_000,
        split: Callable[[str, str], list[str]] | None = None,
    ) -> None:
        self.now = now
        if not 0.0 < refrain_s <= hard_s:
            raise ValueError(f"refrain_s must be in (0, hard_s={hard_s}], got {refrain_s}")
        self.hard_s, self.soft_s, self.price_s = hard_s, soft_s, price_s
        self.refrain_s = refrain_s
        self.max_entries = max_entries
        self._said: OrderedDict[str, float] = OrderedDict()
        # (kind, key) -> when product talk last touched it; bounded by the catalog's size
        self._topics: dict[tuple[str, str], float] = {}
        self.split = split  # (text, lang) -> the phrases the viewer hears
        self._phrases: OrderedDict[str, float] = OrderedDict()

    def age(self, text: str) -> float:
        """Seconds since `text` was last said (inf: not within the soft window)."""
        t = self._said.get(text)
        return float("inf") if t is None else self.now() - t

    def allowed(
        self, text: str, *, last_resort: bool = False, refrain: bool = False, lang: str = "en"
    ) -> bool:
        """May `text` be said now? `last_resort`: only the hard window applies (whole
        sentences; phrases are never a last resort's concern). `refrain`: the sentence and each
        of its phrases only must not have been heard within ``refrain_s``."""
        age = self.age(text)
        if age < (self.refrain_s if refrain else self.hard_s if last_resort else self.soft_s):
            return False
        if self.split is None or last_resort:
            return True
        now, window = self.now(), self.refrain_s if refrain else self.hard_s
        return all(now - self._phrases.get(p, -1e18) >= window for p in self.split(text, lang))

    def said(self, text: str, lang: str = "en") -> None:
        now = self.now()
        if self.split is not None:
            for p in self.split(text, lang):
                self._phrases[p] = now
                self._phrases.move_to_end(p)
            while self._phrases and (
                now - next(iter(self._phrases.values())) > self.hard_s
                or len(self._phrases) > self.max_entries
            ):
                self._phrases.popitem(last=False)
        self._said[text] = now
        self._said.move_to_end(text)
        while self._said:
            k, t = next(iter(self._said.items()))
            if now - t <= self.soft_s and len(self._said) <= self.max_entries:
                break
            self._said.popitem(last=False)

    def topic_allowed(self, kind: str, key: str = "", refrain: bool = False) -> bool:
        """May product talk touch this topic again? ``kind``: "price", "urgency" or "cta" (once
        per ``price_s``: a price, a deal or a "tap the cart" is not an every-segment refrain),
        "intro" (a
        product is introduced once per ``hard_s``: later segments go on about it without the
        same opening) or "feature" (one feature's content once per ``hard_s``, whatever
        template wraps it: "It comes with X", "And you get X" and "Plus, X" are one repeat to
        the viewer); ``key``: the product, or product and feature. ``refrain``: once per
        ``refrain_s`` at most."""
        window = self.price_s if kind in ("price", "urgency", "cta") else self.hard_s
        t = self._topics.get((kind, key))
        return t is None or self.now() - t >= (min(window, self.refrain_s) if refrain else window)

    def topic_said(self, kind: str, key: str = "") -> None:
        self._topics[(kind, key)] = self.now()
