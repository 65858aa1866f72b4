"""Variety: what the host said recently, so product talk does not loop.

In: media time (``now``) and each generated segment sentence as it is picked. Out: whether a
candidate sentence may be said now. Rules (issue 16):

- a segment sentence is never repeated within ``hard_s`` (10 minutes) - a sentence whose text
  changed (a new price, a countdown) is a new sentence, so new information always passes;
- a sentence said within ``soft_s`` (an hour) is only said again when the segment would
  otherwise have nothing to say about the product (the host rather pauses than loops);
- a product's price is said at most once per ``price_s`` (3 minutes) in product talk; answers
  to a viewer who asked are not limited, and so is a call to action; a product is introduced
  once per ``hard_s``;
- the host says long sentences phrase by phrase (talk/phrases.py), and a template's fixed
  opening ("Something people often overlook:") is a phrase of its own: with ``split`` set, a
  sentence any of whose phrases was heard within ``hard_s`` is not fresh either (the viewer
  would hear that phrase again).

Memory is bounded: entries older than ``soft_s`` are forgotten as new ones come in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

_CTA = "\0cta"  # never a product id


class Variety:
    """Media-time memory of segment sentences and price mentions (see module docstring)."""

    def __init__(
        self,
        now: Callable[[], float],
        *,
        hard_s: float = 600.0,
        soft_s: float = 3600.0,
        price_s: float = 180.0,
        max_entries: int = 20_000,
        split: Callable[[str, str], list[str]] | None = None,
    ) -> None:
        self.now = now
        self.hard_s, self.soft_s, self.price_s = hard_s, soft_s, price_s
        self.max_entries = max_entries
        self._said: OrderedDict[str, float] = OrderedDict()
        self._price: dict[str, float] = {}
        self._intro: dict[str, float] = {}
        self.split = split  # (text, lang) -> the phrases the viewer hears
        self._phrases: OrderedDict[str, float] = OrderedDict()

    def age(self, text: str) -> float:
        """Seconds since `text` was last said (inf: not within the soft window)."""
        t = self._said.get(text)
        return float("inf") if t is None else self.now() - t

    def allowed(self, text: str, *, last_resort: bool = False, lang: str = "en") -> bool:
        """May `text` be said now? `last_resort`: only the hard window applies (whole
        sentences; phrases are never a last resort's concern)."""
        age = self.age(text)
        if age < (self.hard_s if last_resort else self.soft_s):
            return False
        if self.split is None or last_resort:
            return True
        now = self.now()
        return all(now - self._phrases.get(p, -1e18) >= self.hard_s for p in self.split(text, lang))

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

    def price_allowed(self, product_id: str) -> bool:
        t = self._price.get(product_id)
        return t is None or self.now() - t >= self.price_s

    def price_said(self, product_id: str) -> None:
        self._price[product_id] = self.now()

    def cta_allowed(self) -> bool:
        """Product talk ends with a call to action at most once per ``price_s`` (the run of
        show has its own periodic one): a "tap the cart" after every segment is a refrain."""
        t = self._price.get(_CTA)
        return t is None or self.now() - t >= self.price_s

    def cta_said(self) -> None:
        self._price[_CTA] = self.now()

    def intro_allowed(self, product_id: str) -> bool:
        """A product is introduced ("let's take a closer look at...") once per ``hard_s``: the
        segments after that go on about it without the same opening every minute."""
        t = self._intro.get(product_id)
        return t is None or self.now() - t >= self.hard_s

    def intro_said(self, product_id: str) -> None:
        self._intro[product_id] = self.now()
