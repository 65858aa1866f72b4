"""The spoken AI disclosure: at the start and on its schedule, in every stream language, with or
without a run of show.

In: the languages to disclose in (``compliance.disclosure_languages``: the stream's, then the
profile's own), one text per language (a show's own ``[disclosure] text`` first, else the
language file's ``[host] disclosure``), and the interval (the compliance profile's, or a show's
when it asks for more often). Out: ``due(media_t)``, the sentences to say now - one per
language, each schedule step once - which the director puts before everything but the operator.
A show's own disclosure defers to this one (the director marks it done without saying it), so
the host never discloses twice and never stops because a show was dropped or set otherwise.
"""

from __future__ import annotations

import logging
from typing import Any

from ..compliance import disclosure_interval_s, disclosure_languages
from ..frames import Emotion, Sentence, Source
from ..langdata import disclosure_texts

log = logging.getLogger("streamhost.disclosure")


class Disclosure:
    """The stream's disclosure schedule. ``texts``: language -> text, in speaking order;
    ``every_s``: longest gap between two disclosures (media seconds); ``at_start``: say it
    at media time 0. ``missing``: languages that should disclose but have no text."""

    def __init__(
        self,
        texts: dict[str, str],
        every_s: float,
        at_start: bool = True,
        missing: tuple[str, ...] = (),
    ) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be > 0, got {every_s}")
        self.texts = dict(texts)
        self.every_s = every_s
        self.at_start = at_start
        self.missing = missing
        self.last: float | None = None
        self.count = 0
        # Trace ids handed out and not yet taken by the director: its guard is skipped for
        # them (the text is validated language data, and a guard without that language, e.g.
        # zh on an en stream under douyin, would silently drop the disclosure).
        self._issued: set[str] = set()

    def next_at(self) -> float:
        """Media time the next disclosure is due."""
        if self.last is None:
            return 0.0 if self.at_start else self.every_s
        return self.last + self.every_s

    def due(self, media_t: float) -> list[Sentence]:
        """The disclosure sentences to say now (empty when not due); each due step once."""
        if not self.texts or media_t < self.next_at():
            return []
        self.last = media_t
        self.count += 1
        out = [Sentence(t, Source.SHOW, lg, None, Emotion.NEUTRAL) for lg, t in self.texts.items()]
        self._issued.update(s.trace_id for s in out)
        return out

    def owns(self, s: Sentence) -> bool:
        """True once for a sentence this schedule made (the director then skips its guard)."""
        if s.trace_id in self._issued:
            self._issued.discard(s.trace_id)
            return True
        return False

    def status(self) -> dict[str, Any]:
        return {
            "languages": list(self.texts), "missing": list(self.missing),
            "every_s": self.every_s, "said": self.count,
            "last": None if self.last is None else round(self.last, 3),
            "next": round(self.next_at(), 3),
        }  # fmt: skip


def build_disclosure(cfg: Any, show: Any = None) -> Disclosure:
    """The schedule of a ``Config`` (and its loaded ``Show``, if any). Languages without a text
    are left out and logged; ``check`` refuses them under a profile that requires one."""
    every = disclosure_interval_s(cfg)
    per = getattr(show, "disclosure", None)
    show_texts: dict[str, tuple[str, ...]] = {}
    if per is not None and per.enabled:
        every = min(every, per.every_minutes * 60.0)
        show_texts = per.texts
    data = disclosure_texts()
    texts: dict[str, str] = {}
    for lg in disclosure_languages(cfg):
        own = show_texts.get(lg)
        text = own[0] if own else data.get(lg, "")
        if text:
            texts[lg] = text
    missing = tuple(lg for lg in disclosure_languages(cfg) if lg not in texts)
    if missing:
        log.warning("no AI disclosure text for %s: add [host] disclosure to assets/talk/<lang>"
                    ".toml; the visible label alone discloses there", ", ".join(missing))  # fmt: skip
    return Disclosure(texts, every, at_start=True, missing=missing)
