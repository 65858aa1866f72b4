"""Which of a product's features and FAQ entries product talk says next, in turn.

A mixin of the template generator (``talk/generator.py``), which owns the state it reads:
``catalog``, ``variety`` (media-time repeat rules), the random source and the per-product
cursors. In: a product and a language; out: the next feature text, or the next FAQ entry
(question, answer) that may be said unprompted.
"""

from __future__ import annotations

import random
from typing import Any

from ..frames import Sentence, Source
from .catalog import Catalog, Product
from .variety import Variety


def feature_key(product_id: str, feature: str) -> str:  # NUL: in no id and no feature text
    """Variety's topic key of one feature of one product."""
    return f"{product_id}\0{feature}"


class ProductRotation:
    """Feature and FAQ rotation for product talk (see the module)."""

    catalog: Catalog
    variety: Variety | None
    _rng: random.Random
    _feature_cursor: dict[tuple[str, ...], int]
    _faq_ok: dict[tuple[str, str, str], bool]
    _faq_guards: dict[str, Any]

    def _next_feature(self, p: Product, lang: str, refrain: bool = False) -> str | None:
        """The product's next feature in turn that variety lets product talk say now."""
        feats, flang = p.features_in(lang)
        if not feats or flang != lang:
            return None  # never mix an English feature into a German sentence
        key = (p.id, lang)
        i = self._feature_cursor.get(key)
        if i is None:
            i = self._rng.randrange(len(feats))
        v = self.variety
        for k in range(i, i + len(feats)):
            f = feats[k % len(feats)]
            if v is None or v.topic_allowed("feature", feature_key(p.id, f), refrain):
                self._feature_cursor[key] = k + 1
                return f
        return None

    def _next_faq(self, p: Product, lang: str) -> tuple[str, str] | None:
        """The product's next FAQ entry in ``lang`` (question, answer), in turn; None when it
        has none written in that language (never an English answer in a German sentence)."""
        entries = [(e.question.get(lang, ""), e.answer.get(lang, "")) for e in p.faq]
        entries = [(q, a) for q, a in entries if q and a and self._faq_sayable(p, lang, q, a)]
        if not entries:
            return None
        key = (p.id, lang, "faq")
        i = self._feature_cursor.get(key, 0)
        self._feature_cursor[key] = i + 1
        return entries[i % len(entries)]

    def _faq_sayable(self, p: Product, lang: str, q: str, a: str) -> bool:
        """An FAQ entry said unprompted must pass the claims guard as it stands: "Is it
        dishwasher safe? ... keep it out of the dishwasher" names a forbidden claim in its
        question, and the guard cannot tell a question from a claim (asked by a viewer, the
        answer alone is said, which passes)."""
        key = (p.id, lang, q)
        ok = self._faq_ok.get(key)
        if ok is None:
            from .guard import Guard  # built once per language, on the first FAQ entry

            guard = self._faq_guards.get(lang)
            if guard is None:
                guard = self._faq_guards[lang] = Guard(self.catalog, lang)
            ok = self._faq_ok[key] = guard.check(
                Sentence(f"{q} {a}", Source.TEMPLATE, lang, p.id)
            ).ok
        return ok
