"""Which template the default talk says next: least recently used, never a text said lately.

In: the templates of every family and language (``templates.templates_by_family``, and
``spec_answer_templates`` as families ``spec:<name>``), the generator's random source (shared,
so one seed fixes the whole talk), the repeat window.
Out: ``pick(family, lang, slots, code)`` -> the filled text, or None when no template of that
family has every slot it needs.
"""

from __future__ import annotations

import random
from collections import Counter, deque

from .templates import fill, spec_answer_templates, template_slots, templates_by_family
from .variety import Variety


class TemplatePicker:
    """Filled template texts out, least recently used first, none inside the last ``window``
    texts while another one fits; ``variety`` (media-time rules) may veto a text too."""

    def __init__(self, rng: random.Random, window: int = 20) -> None:
        self._rng = rng
        self._recent: deque[str] = deque(maxlen=window)
        self._recent_count: Counter[str] = Counter()
        self._last_used: dict[str, int] = {}
        self._tick = 0
        # Slot sets parsed once: picking a template is then a subset test, not a parse.
        self.templates = {
            (fam, lg): [(t, template_slots(t)) for t in ts]
            for fam, by in (templates_by_family() | spec_answer_templates()).items()
            for lg, ts in by.items()
        }

    def count(self, lang: str) -> int:
        """Templates of every family in ``lang``."""
        return sum(len(v) for (_f, lg), v in self.templates.items() if lg == lang)

    def pick(
        self,
        family: str,
        lang: str,
        slots: dict[str, str],
        code: str,
        *,
        variety: Variety | None = None,
        last: bool = False,
        refrain: bool = False,
        prefer: frozenset[str] = frozenset(),
    ) -> str | None:
        """Render the least recently used eligible template whose text is not in the window.
        With ``variety``: only a text it allows now (``last``: its hard window alone;
        ``refrain``: its refrain window). ``prefer``: of the templates that fit, those using
        one of these slots when there are any (a purchase with its product names it)."""
        fits = [
            (t, need) for t, need in self.templates.get((family, lang), ()) if need <= slots.keys()
        ]
        cands = [t for t, need in fits if need & prefer] or [t for t, _need in fits]
        if not cands:
            return None
        best: tuple[int, int, float] | None = None
        best_text = None
        best_t = None
        for t in cands:
            text = fill(t, slots, code, lang)
            if variety is not None and not variety.allowed(
                text, last_resort=last, refrain=refrain, lang=lang
            ):
                continue
            key = (
                1 if self._recent_count[text] else 0,
                self._last_used.get(t, -1),
                self._rng.random(),
            )
            if best is None or key < best:
                best, best_text, best_t = key, text, t
        if best_text is None or best_t is None:
            return None
        self._tick += 1
        self._last_used[best_t] = self._tick
        self._remember(best_text)
        return best_text

    def _remember(self, text: str) -> None:
        if len(self._recent) == self._recent.maxlen:
            old = self._recent[0]
            self._recent_count[old] -= 1
            if not self._recent_count[old]:
                del self._recent_count[old]
        self._recent.append(text)
        self._recent_count[text] += 1
