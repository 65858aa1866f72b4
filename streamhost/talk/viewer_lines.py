"""Lines addressed to one viewer: the lead-in before an operator's answer, the closing line of
a question nobody answered, the "a question from Anna!" lead-in, and thanks for a follow, gift
or purchase.

A mixin of the template generator (``talk/generator.py``), which owns what it reads:
``catalog``, the stream language, the display-name policy (``name_ok``) and the template
picker (``_pick``, ``_slots``, ``_sentence``). In: a `ChatEvent` (and a language); out:
`Sentence` s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..frames import ChatEvent, Emotion, Sentence, Source
from ..langdata import load_languages
from ..language import detect_language, other_language
from .catalog import Catalog
from .generator_tables import _THANKS_KIND
from .templates import user_slots


class ViewerLines:
    """Follow-ups, barge-in lead-ins and thanks (see the module)."""

    catalog: Catalog
    retriever: Any
    lang: str
    answer_languages: tuple[str, ...]
    name_ok: Callable[[str], bool]
    _pick: Any
    _slots: Any
    _sentence: Any

    def _display(self, name: str) -> str | None:
        """The viewer's name as the host may say it, or None (the policy says no)."""
        name = (name or "").strip()
        try:
            ok = bool(name) and self.name_ok(name)
        except Exception:
            ok = False  # a broken policy must fail closed, not speak the name
        return name if ok else None

    def spoken(self, lang: str) -> dict[str, str]:
        """The {names} slot of answer_languages: the languages the host answers in, as `lang`
        names them ("English, German, Italian and Chinese")."""
        d = load_languages()[lang]
        order = sorted(self.answer_languages, key=lambda x: x != self.lang)  # the stream's first
        names = [d.language_names.get(x, x) for x in order]
        return {"names": d.said_list(names)}

    def viewer_family(
        self, text: str, qlang: str, lang: str, named: bool
    ) -> tuple[str, dict[str, str], str, str] | None:
        """The line for a message about the host, the stream or a viewer's own order rather
        than a product, as (family, slots, grammar code, emotion); None for the rest. A fault
        of the stream ("I can't hear you") or a viewer's own order ("where is my order?",
        "it arrived broken"; not "what if it breaks?") is the team's; whether the host is an
        AI gets the honest answer, never "I'll check"; the shop's name the catalog's;
        which languages it speaks, or a question in one it does not ("¿cuánto cuesta?"),
        the ones it answers in; a goodbye or small talk naming no product a line back to
        the products."""
        r = self.retriever
        if r.asks(text, "stream_issue"):
            return "answer_order_help", {}, "-", Emotion.NEUTRAL
        if (ai := r.asks_ai(text)) or r.asks(text, "ask_language") or other_language(text):
            fam = "answer_ai" if ai else "answer_languages"
            return fam, {} if ai else self.spoken(lang), "-", Emotion.NEUTRAL
        if r.asks(text, "ask_shop_name") and (shop := self.catalog.shop(lang)):
            return "answer_shop_name", {"shop": shop}, "-", Emotion.NEUTRAL
        for k in ("farewell", "small_talk") if not named else ():
            if r.asks_small_talk(text, qlang, k):
                return f"answer_{k}", {}, "-", Emotion.HAPPY
        if r.asks(text, "order_help") and not r.asks_if_broken(text):
            return "answer_order_help", {}, "-", Emotion.NEUTRAL
        return None

    def followup(self, event: ChatEvent, lang: str, answered: bool) -> Sentence | None:
        """The lead-in before an operator's answer to `event` (answered), or the closing line
        of a question nobody answered in time; in `lang`, naming the viewer."""
        fam = "followup_lead" if answered else "followup_timeout"
        user = user_slots(self._display(event.user), lang)
        t = self._pick(fam, lang, user, "-")
        if t is None:
            return None
        return self._sentence(t, Source.ANSWER, lang, None, Emotion.NEUTRAL, event)

    def barge_in(self, event: ChatEvent, lang: str) -> Sentence | None:
        """ "Oh, a question from Anna!": the lead-in when a question breaks into talk."""
        user = user_slots(self._display(event.user), lang)
        t = self._pick("barge_in", lang, user, "-")
        if t is None:
            return None
        return self._sentence(t, Source.ANSWER, lang, None, Emotion.SURPRISED, event)

    def thanks(self, event: ChatEvent) -> list[Sentence]:
        """Thank a viewer for a follow, gift or purchase, or for a comment saying they bought
        ("just bought the kettle!", ``[intent] bought``); other events give []."""
        fam = _THANKS_KIND.get(event.kind)
        raw_pid = (event.raw or {}).get("product_id") if isinstance(event.raw, dict) else None
        lang = self.lang
        if fam is None and event.kind == "comment" and self.retriever.asks(event.text, "bought"):
            fam = "thanks_purchase"
            # A viewer who writes "Hab gerade den Wasserkocher gekauft!" is thanked in German,
            # as their question would be answered.
            said = event.lang or detect_language(event.text, default=self.lang)
            lang = said if said in self.answer_languages else self.lang
            named = self.retriever.find_product(event.text, said, names_only=True)
            raw_pid = named[0] if named else None
        if fam is None:
            return []
        slots: dict[str, str] = {}
        code = "-"
        pid = None
        if fam == "thanks_purchase" and isinstance(raw_pid, str) and raw_pid in self.catalog:
            pid = raw_pid
            p = self.catalog.get(pid)
            slots = self._slots(pid, lang)
            code = p.grammar_of(lang)
            # Thanks must not repeat the price: a gift/purchase sentence is not an ad.
            slots.pop("price", None)
        named_slots = frozenset(slots)
        slots.update(user_slots(self._display(event.user), lang))
        t = self._pick(fam, lang, slots, code, prefer=named_slots)
        if t is None:
            return []
        return [self._sentence(t, Source.THANKS, lang, pid, Emotion.HAPPY, event)]
