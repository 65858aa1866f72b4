"""Builds a stream's talk stage from config: catalog, template generator, run of show,
guard, and the optional LLM, all sharing one "price valid now" function.

Config + clock in; a ``Talk`` (the pieces the director and the engine need) out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..avatar.studio import PanelInfo
from ..frames import Sentence
from ..langdata import available_languages
from .catalog import Catalog, format_price_display, load_catalog
from .followup import Followups
from .generator import TemplateGenerator
from .guard import Guard, GuardResult
from .llm import LlmGenerator, LlmTalk
from .phrases import split_phrases
from .prices import format_price_spoken
from .show import Show
from .show_parse import load_show
from .variety import Variety


class LangGuards:
    """One `Guard` per language the host may speak; a sentence is checked by the guard of its
    own language (an answer in German passes the German checks, not the stream's). A
    language outside the set is rejected as ``wrong_language``."""

    def __init__(self, guards: dict[str, Guard], main: str) -> None:
        self.guards, self.main = guards, main
        self.lang = main

    def check(self, s: Sentence) -> GuardResult:
        g = self.guards.get(s.lang)
        if g is None:
            return GuardResult(False, f"wrong_language:{s.lang}")
        return g.check(s)


@dataclass
class Talk:
    """What the talk stage is made of. ``wall_start`` is when the show began (the engine
    resets it when the stream goes on air); prices follow the show and the catalog's windows."""

    catalog: Catalog
    generator: TemplateGenerator
    show: Show | None
    guard: LangGuards
    llm: LlmGenerator | None
    llm_talk: LlmTalk | None
    clock_now: Callable[[], float]
    lang: str
    wall_start: datetime
    followups: Followups | None = None

    def price_value_now(self, product_id: str) -> Decimal:
        """What a buyer pays now (show flash sale, catalog sale window, standing discount)."""
        if self.show is not None:
            return self.show.price_at(product_id, self.clock_now(), self.wall_start)
        return self.catalog.get(product_id).price_at(datetime.now().astimezone())

    def sale_countdown(self, product_id: str, lang: str) -> str | None:
        """The show's countdown line for the flash sale on `product_id` running now, or None."""
        if self.show is None:
            return None
        plan = self.show.plan(self.clock_now(), self.wall_start)
        fs = plan.flash_sale
        return plan.countdown_text(lang) if fs is not None and fs.product_id == product_id else None

    def price_spoken_now(self, product_id: str, lang: str) -> str:
        """`price_value_now` as the host says it."""
        p = self.catalog.get(product_id)
        return format_price_spoken(self.price_value_now(product_id), p.currency, lang)

    def panel(self, product_id: str) -> tuple[str, str, list[str], PanelInfo]:
        """(name, price shown now, up to three features, the rest of the panel: picture,
        regular price struck through and percent off when cheaper now, stock, sale end)."""
        p = self.catalog.get(product_id)
        feats, _ = p.features_in(self.lang)
        ends_at = None
        price_now = self.price_value_now(product_id)
        if self.show is not None:
            fs = self.show.plan(self.clock_now(), self.wall_start).flash_sale
            if fs is not None and fs.product_id == product_id:
                ends_at = fs.ends_at
        price = format_price_display(price_now, p.currency, self.lang)
        off = price_now < p.price
        info = PanelInfo(
            was=format_price_display(p.price, p.currency, self.lang) if off else "",
            discount=round(100 * (1 - float(price_now / p.price))) if off else None,
            stock=p.stock,
            image=self.catalog.images.get(product_id, ""),
            sale_ends_at=ends_at,
        )
        return p.name(self.lang), price, feats[:3], info


def build_talk(cfg: Any, clock_now: Callable[[], float], name_ok: Callable[[str], bool]) -> Talk:
    """``cfg`` is the whole Config (talk, llm and stream.language are read)."""
    lang = cfg.stream.language
    catalog = load_catalog(cfg.talk.catalog)
    show = load_show(cfg.talk.show, catalog, default_lang=lang) if cfg.talk.show else None
    answer_langs = tuple(cfg.talk.answer_languages) or available_languages()
    generator = TemplateGenerator(catalog, lang=lang, seed=cfg.talk.seed, name_ok=name_ok,
                                  answer_languages=answer_langs)  # fmt: skip
    extra: dict[str, list] = {}
    for fs in show.flash_sales if show is not None else []:
        extra.setdefault(fs.product_id, []).append(fs.price)
    # The show may be in another language than the stream (it runs in its own language).
    spoken = {lang, *generator.answer_languages, *((show.lang,) if show is not None else ())}
    guard = LangGuards({lg: Guard(
        catalog, lg, extra_prices=extra,
        extra_numbers=show.numbers() if show is not None else (),
    ) for lg in sorted(spoken)}, lang)  # fmt: skip
    talk = Talk(catalog, generator, show, guard, None, None, clock_now, lang,
                datetime.now().astimezone())  # fmt: skip
    generator.price_now = talk.price_spoken_now
    generator.price_value_now = talk.price_value_now
    generator.sale_countdown = talk.sale_countdown
    pc = cfg.talk.phrase_chars
    generator.variety = Variety(clock_now, refrain_s=cfg.talk.refrain_s,
                                split=lambda text, lg: split_phrases(text, lg, pc))  # fmt: skip
    talk.followups = Followups(clock_now, cfg.talk.followup_timeout_s)
    generator.on_unanswered = talk.followups.open
    if cfg.talk.generator == "llm":
        lc = cfg.llm
        talk.llm = LlmGenerator(
            lc.base_url,
            lc.model,
            api_key=os.environ.get("STREAMHOST_LLM_API_KEY") or lc.api_key,
            temperature=lc.temperature,
            max_tokens=lc.max_tokens,
            connect_timeout=lc.connect_timeout_s,
            first_token_timeout=lc.first_token_timeout_s,
            total_timeout=lc.total_timeout_s,
        )
        talk.llm_talk = LlmTalk(talk.llm, catalog, lang, name_ok=name_ok)
        talk.llm_talk.price_now = talk.price_spoken_now
        talk.llm_talk.sale_countdown = talk.sale_countdown
    return talk
