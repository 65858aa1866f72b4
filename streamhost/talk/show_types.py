"""The run of show's data: time specs, slots, flash sales, periodic announcements, and the
countdown wording per language. Built by the loader (talk/show_validate.py, talk/show.py), read
by `Show.plan`; immutable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from ..problems import ProblemsError
from .script import Script

DEFAULT_MINUTES_PER_PRODUCT = 10.0
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")

# (minutes left, last minute) per language.
_COUNTDOWN: dict[str, tuple[str, str]] = {
    "en": (
        "Only {left} left on the {name} deal, now just {price}!",
        "Last minute for the {name} deal, now just {price}!",
    ),
    "de": (
        "Nur noch {left} für das Angebot: {name} für nur {price}!",
        "Letzte Minute für das Angebot: {name} für nur {price}!",
    ),
    "it": (
        "{Manca} solo {left} all'offerta: {name} a soli {price}!",
        "Ultimo minuto per l'offerta: {name} a soli {price}!",
    ),
    "zh": (
        "{name}限时特价只剩{left}，现在只要{price}！",
        "{name}限时特价最后一分钟，现在只要{price}！",
    ),
}
# (one minute, N minutes)
_LEFT: dict[str, tuple[str, str]] = {
    "en": ("1 minute", "{n} minutes"),
    "de": ("1 Minute", "{n} Minuten"),
    "it": ("1 minuto", "{n} minuti"),
    "zh": ("1分钟", "{n}分钟"),
}


class ShowError(ProblemsError):
    """Every problem in a show file; `problems` lists them, one string each."""

    what = "show"


@dataclass(frozen=True, slots=True)
class TimeSpec:
    """A schedule time: ``clock`` (minutes after local midnight, recurring daily) or
    ``offset`` (minutes after the stream start, once)."""

    kind: str
    minutes: float

    def __str__(self) -> str:
        if self.kind == "clock":
            return f"{int(self.minutes) // 60:02d}:{int(self.minutes) % 60:02d}"
        return f"+{self.minutes:g} min"


@dataclass(frozen=True, slots=True)
class Slot:
    """A time slot: featured products in rotation order with minutes each, optional script."""

    index: int
    name: str
    start: TimeSpec
    end: TimeSpec
    rotation: tuple[tuple[str, float], ...]
    script: Script | None = None
    script_path: str | None = None


@dataclass(frozen=True, slots=True)
class FlashSale:
    """A per-show flash sale: `product_id` sells for `price` from `start` for `minutes`."""

    index: int
    product_id: str
    price: Decimal
    percent: int | None
    start: TimeSpec
    minutes: float
    countdown_every_minutes: float = 5.0
    feature: bool = True


@dataclass(frozen=True, slots=True)
class Periodic:
    """A periodic announcement (CTA or disclosure): due every `every_minutes` of media time
    after the last `mark_done` (from the stream start, or at once with `at_start`)."""

    enabled: bool
    every_minutes: float
    at_start: bool
    texts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    family: str | None = None


@dataclass(frozen=True, slots=True)
class ActiveFlashSale:
    """A flash sale running now: its price, and when it ends (media seconds)."""

    sale: FlashSale
    product_id: str
    price: Decimal
    started_at: float
    ends_at: float
    seconds_left: float


def _duration(start: TimeSpec, end: TimeSpec) -> float:
    """Minutes from start to end; clock slots may wrap past midnight."""
    if start.kind == "clock":
        return (end.minutes - start.minutes) % 1440
    return end.minutes - start.minutes


def _rotate(rotation: tuple[tuple[str, float], ...], elapsed: float) -> tuple[str, float]:
    """(product, seconds into the cycle at which its turn ends) at `elapsed` seconds."""
    cycle = sum(m for _, m in rotation) * 60
    k = elapsed % cycle if cycle > 0 else 0.0
    base = elapsed - k
    acc = 0.0
    for pid, m in rotation:
        acc += m * 60
        if k < acc:
            return pid, base + acc
    return rotation[-1][0], base + cycle
