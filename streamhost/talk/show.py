"""The run of show: what to feature when, flash sales, calls to action, AI disclosure.

A `Show` (built by `show_parse.load_show` from a TOML file and the Catalog) flows out. The
director asks `Show.plan(media_t, wall_start)` at every sentence boundary and gets a
`ShowState`: the slot,
the product to feature, the active flash sale (with a spoken countdown builder), and which
periodic announcements are due. After saying one it calls `Show.mark_done(kind, media_t)`.
No clocks inside: the same (media_t, wall_start, marks) give the same plan, so the virtual
clock tests it exactly.

The file format and its parser: ``talk/show_parse.py`` (`load_show`, `parse_show`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from ..frames import Emotion, Sentence, Source
from ..langdata import disclosure_texts
from .catalog import (
    LANGS,
    Catalog,
    format_price_display,
    format_price_spoken,
)
from .script import Script
from .show_types import (
    _COUNTDOWN,
    _LEFT,
    _PLACEHOLDER_RE,
    DEFAULT_MINUTES_PER_PRODUCT,
    ActiveFlashSale,
    FlashSale,
    Periodic,
    ShowError,
    Slot,
    TimeSpec,
    _duration,
    _rotate,
)

__all__ = ["KINDS", "ActiveFlashSale", "FlashSale", "Periodic", "Show", "ShowError", "ShowState",
           "Slot", "TimeSpec"]  # fmt: skip

KINDS: tuple[str, ...] = ("cta", "disclosure", "countdown")


def default_disclosure() -> dict[str, str]:
    """The language files' ``[host] disclosure`` texts: the wording is language data."""
    return disclosure_texts()


@dataclass(frozen=True, slots=True)
class ShowState:
    """What the show asks for at one moment (from `Show.plan`).

    `product_id`: feature this product now (`product_until`: media time of the next rotation
    step, a hint - plan again at every sentence boundary). `slot`/`script`: the running slot and
    its advertiser script (None between slots). `flash_sale`: the sale running now. `due`: the
    kinds ("cta", "disclosure", "countdown") to say at the next boundary; build their sentences
    with `cta_sentence` / `disclosure_sentence` / `countdown_sentence` and then call
    `Show.mark_done(kind, media_t)`.
    """

    show: Show
    media_t: float
    wall: datetime
    slot: Slot | None
    product_id: str
    product_until: float
    flash_sale: ActiveFlashSale | None
    due: frozenset[str]
    cta_count: int = 0

    @property
    def slot_index(self) -> int | None:
        return self.slot.index if self.slot else None

    @property
    def script(self) -> Script | None:
        return self.slot.script if self.slot else None

    @property
    def cta_due(self) -> bool:
        return "cta" in self.due

    @property
    def disclosure_due(self) -> bool:
        return "disclosure" in self.due

    @property
    def countdown_due(self) -> bool:
        return "countdown" in self.due

    def countdown_text(self, lang: str) -> str | None:
        """ "Only 5 minutes left on the electric kettle deal, now just 27 euros 90!" """
        fs = self.flash_sale
        if fs is None:
            return None
        lang = lang if lang in _COUNTDOWN else "en"
        p = self.show.catalog.get(fs.product_id)
        one, many = _LEFT[lang]
        # Whole minutes, rounded up ("14:30 left" is "15 minutes"); the final minute has its
        # own wording rather than a seconds count that would be stale once spoken.
        mins = math.ceil(fs.seconds_left / 60 - 1e-9)
        form = _COUNTDOWN[lang][1 if fs.seconds_left <= 60 else 0]
        return form.format(
            left=one if mins == 1 else many.format(n=mins),
            name=p.name(lang),
            price=format_price_spoken(fs.price, p.currency, lang),
            Manca="Manca" if mins == 1 else "Mancano",
        )

    def countdown_sentence(self, lang: str) -> Sentence | None:
        text = self.countdown_text(lang)
        if text is None or self.flash_sale is None:
            return None
        return Sentence(text, Source.TEMPLATE, lang, self.flash_sale.product_id, Emotion.SURPRISED)

    def disclosure_sentence(self, lang: str) -> Sentence:
        texts = self.show.disclosure.texts
        t = texts.get(lang) or texts.get("en") or (default_disclosure()[lang],)
        text_lang = lang if lang in texts else ("en" if "en" in texts else lang)
        return Sentence(t[0], Source.TEMPLATE, text_lang, None, Emotion.NEUTRAL)

    def cta_sentence(self, lang: str) -> Sentence | None:
        """The next CTA text (rotating) with {name}/{price}/{shop} filled for the featured
        product; None when the CTA names a template `family` (the director's generator)."""
        cta = self.show.cta
        texts = cta.texts.get(lang) or cta.texts.get("en")
        if not texts:
            return None
        text_lang = lang if lang in cta.texts else "en"
        p = self.show.catalog.get(self.product_id)
        price = self.show.price_at(self.product_id, self.media_t, self.wall, from_wall=True)
        text = texts[self.cta_count % len(texts)]
        text = _PLACEHOLDER_RE.sub(
            lambda m: {
                "name": p.name(text_lang),
                "price": format_price_spoken(price, p.currency, text_lang),
                "shop": self.show.catalog.shop(text_lang),
            }[m.group(1)],
            text,
        )
        return Sentence(text, Source.TEMPLATE, text_lang, self.product_id, Emotion.HAPPY)


class Show:
    """A validated run of show (from `load_show`). `plan()` is pure; `mark_done()` records
    that a periodic announcement was said (the only state the show keeps)."""

    def __init__(
        self,
        catalog: Catalog,
        slots: list[Slot],
        flash_sales: list[FlashSale],
        cta: Periodic,
        disclosure: Periodic,
        *,
        name: str = "",
        lang: str = "en",
        minutes_per_product: float = DEFAULT_MINUTES_PER_PRODUCT,
        source: str = "<memory>",
    ) -> None:
        self.catalog = catalog
        self.slots = slots
        self.flash_sales = flash_sales
        self.cta = cta
        self.disclosure = disclosure
        self.name = name
        self.lang = lang
        self.minutes_per_product = minutes_per_product
        self.source = source
        self._last: dict[str, float] = {}
        self._count: dict[str, int] = {}

    # -- state ----------------------------------------------------------------------------

    def mark_done(self, kind: str, media_t: float) -> None:
        """`kind` ("cta", "disclosure", "countdown") was said at media time `media_t`."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        self._last[kind] = media_t
        self._count[kind] = self._count.get(kind, 0) + 1

    def reset(self) -> None:
        self._last.clear()
        self._count.clear()

    # -- planning -------------------------------------------------------------------------

    def plan(self, media_t: float, wall_start: datetime) -> ShowState:
        """The show at media time `media_t` (seconds since the stream start, whose wall-clock
        time was `wall_start`; "HH:MM" times are read on that datetime's own wall clock)."""
        ws = wall_start.replace(tzinfo=None)
        slot, slot_start, slot_end = self._slot_at(media_t, ws)
        if slot is not None:
            since = max(slot_start, 0.0)
            pid, until = _rotate(slot.rotation, media_t - since)
            until = min(since + until, slot_end)
        else:
            rot = tuple((p, self.minutes_per_product) for p in self.catalog.ids)
            pid, until = _rotate(rot, media_t)
        fs = self._flash_sale_at(media_t, ws)
        if fs is not None and fs.sale.feature:
            pid, until = fs.product_id, fs.ends_at
        due = {k for k, per in (("cta", self.cta), ("disclosure", self.disclosure))
               if self._periodic_due(k, per, media_t)}  # fmt: skip
        if fs is not None:
            last = self._last.get("countdown")
            every = fs.sale.countdown_every_minutes * 60
            if (
                last is None
                or last < fs.started_at
                or media_t - last >= every
                or (fs.seconds_left <= 60 and last < fs.ends_at - 60)
            ):
                due.add("countdown")
        return ShowState(
            show=self,
            media_t=media_t,
            wall=wall_start + timedelta(seconds=media_t),
            slot=slot,
            product_id=pid,
            product_until=until,
            flash_sale=fs,
            due=frozenset(due),
            cta_count=self._count.get("cta", 0),
        )

    def price_at(
        self, product_id: str, media_t: float, wall: datetime, *, from_wall: bool = False
    ) -> Decimal:
        """What `product_id` costs at media time `media_t`: a show flash sale, else the
        catalog's `price_at` (sale windows, standing discounts). `wall` is the stream's start
        (or, with from_wall, the wall time at `media_t`)."""
        start = wall - timedelta(seconds=media_t) if from_wall else wall
        ws = start.replace(tzinfo=None)
        prices = [
            fs.price
            for fs in self.flash_sales
            if fs.product_id == product_id and self._occurrence(fs, media_t, ws) is not None
        ]
        if prices:
            return min(prices)
        return self.catalog.get(product_id).price_at(start + timedelta(seconds=media_t))

    def price_spoken(self, product_id: str, lang: str, media_t: float, wall_start: datetime) -> str:
        p = self.catalog.get(product_id)
        return format_price_spoken(self.price_at(product_id, media_t, wall_start), p.currency, lang)

    def numbers(self) -> frozenset[str]:
        """Digit runs the show itself may put into speech (flash-sale prices and percents,
        CTA and disclosure texts), for the guard alongside `Catalog.numbers()`."""
        texts: list[str] = []
        for fs in self.flash_sales:
            cur = self.catalog.get(fs.product_id).currency
            for lg in LANGS:
                texts += [
                    format_price_spoken(fs.price, cur, lg),
                    format_price_display(fs.price, cur, lg),
                ]
            if fs.percent is not None:
                texts.append(str(fs.percent))
        for per in (self.cta, self.disclosure):
            texts += [t for ts in per.texts.values() for t in ts]
        return frozenset(n for t in texts for n in re.findall(r"\d+", t))

    # -- internals ------------------------------------------------------------------------

    def _periodic_due(self, kind: str, per: Periodic, t: float) -> bool:
        if not per.enabled:
            return False
        last = self._last.get(kind)
        if last is None:
            return per.at_start or t >= per.every_minutes * 60
        return t - last >= per.every_minutes * 60

    def _window(
        self, start: TimeSpec, minutes: float, t: float, ws: datetime
    ) -> tuple[float, float] | None:
        """The (start, end) media seconds of the occurrence of a window containing t."""
        if start.kind == "offset":
            s = start.minutes * 60
            e = s + minutes * 60
            return (s, e) if s <= t < e else None
        now = ws + timedelta(seconds=t)
        midnight = datetime.combine(now.date(), datetime.min.time())
        for back in (1, 0):  # yesterday's occurrence may wrap past midnight into today
            occ = midnight - timedelta(days=back) + timedelta(minutes=start.minutes)
            s = (occ - ws).total_seconds()
            e = s + minutes * 60
            if s <= t < e:
                return s, e
        return None

    def _slot_at(self, t: float, ws: datetime) -> tuple[Slot | None, float, float]:
        for slot in self.slots:
            w = self._window(slot.start, _duration(slot.start, slot.end), t, ws)
            if w is not None:
                return slot, w[0], w[1]
        return None, 0.0, math.inf

    def _occurrence(self, fs: FlashSale, t: float, ws: datetime) -> tuple[float, float] | None:
        return self._window(fs.start, fs.minutes, t, ws)

    def _flash_sale_at(self, t: float, ws: datetime) -> ActiveFlashSale | None:
        best: ActiveFlashSale | None = None
        for fs in self.flash_sales:
            w = self._occurrence(fs, t, ws)
            if w is None:
                continue
            a = ActiveFlashSale(fs, fs.product_id, fs.price, w[0], w[1], w[1] - t)
            if best is None or a.ends_at < best.ends_at:  # the one ending first is urgent
                best = a
        return best
