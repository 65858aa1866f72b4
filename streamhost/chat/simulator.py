"""A chat simulator: realistic, deterministic chat traffic for demos, tests and load tests.

Messages come in classes: comment classes ``question`` (about a catalog product), ``greeting``,
``chatter`` and ``spam`` (flood-like: links, repeated characters, emoji walls, from a small
set of spammer accounts), and the event kinds ``gift``, ``like``, ``follow``, ``join``,
``share``, ``purchase``. ``comment`` in a mix means ``chatter``. Comment text comes in English,
German, Italian and Chinese. Every event carries its class in ``raw["sim"]`` so triage tests
know the ground truth.

Timing: the simulator wakes every ``tick_s`` (20 ms) of clock time and emits the messages due
in that tick: tick k emits ``floor((k+1)·rate·tick) - floor(k·rate·tick)``, so the count over
any run is exact and 5,000 msgs/s costs 50 wake-ups a second, not 5,000. Contents depend only
on the seed and the tick index, so a run on the VirtualClock is reproducible.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import random
from collections.abc import Callable, Mapping, Sequence

from ..clock import Clock
from ..frames import ChatEvent
from .source import Backoff, ChatSource

COMMENT_CLASSES = ("question", "greeting", "chatter", "spam")
EVENT_CLASSES = ("gift", "like", "follow", "join", "share", "purchase")
CLASSES = COMMENT_CLASSES + EVENT_CLASSES
LANGUAGES = ("en", "de", "it", "zh")

DEFAULT_MIX: dict[str, float] = {
    "question": 0.22,
    "greeting": 0.10,
    "chatter": 0.35,
    "spam": 0.05,
    "like": 0.14,
    "gift": 0.05,
    "follow": 0.03,
    "join": 0.04,
    "share": 0.01,
    "purchase": 0.01,
}

QUESTIONS = {
    "en": (
        "how much is the {p}?",
        "is the {p} still available?",
        "what sizes does the {p} come in?",
        "can you show the {p} again?",
        "{p} price pls",
        "does the {p} ship to {place}?",
        "is the {p} good for gifts?",
        "what colours does the {p} have?",
    ),
    "de": (
        "Was kostet {p}?",
        "Ist {p} noch verfügbar?",
        "Kannst du {p} nochmal zeigen?",
        "Gibt es {p} auch in anderen Farben?",
        "Wird {p} auch nach {place} geliefert?",
        "Wie groß ist {p}?",
    ),
    "it": (
        "quanto costa {p}?",
        "{p} è ancora disponibile?",
        "puoi mostrare di nuovo {p}?",
        "ci sono altre taglie per {p}?",
        "spedite {p} a {place}?",
        "di che materiale è {p}?",
    ),
    "zh": (
        "{p}多少钱？",
        "{p}还有货吗？",
        "可以再展示一下{p}吗？",
        "{p}有其他颜色吗？",
        "{p}包邮吗？",
        "{p}质量怎么样？",
    ),
}
GREETINGS = {
    "en": ("hi!", "hello from {place}", "good evening everyone", "first time here 👋", "hey host"),
    "de": ("Hallo!", "Guten Abend aus {place}", "Servus zusammen", "Hallo, bin neu hier"),
    "it": ("ciao!", "buonasera da {place}", "ciao a tutti", "salve!"),
    "zh": ("主播好", "大家好", "来了来了", "晚上好", "从{place}来的"),
}
CHATTER = {
    "en": (
        "love this stream",
        "lol",
        "this looks great",
        "😂😂",
        "who else is up this late?",
        "nice music",
        "wow",
        "the lighting is good today",
        "ok I want one",
    ),
    "de": ("Sieht gut aus", "haha", "tolle Sendung", "Wow", "Will ich haben", "Schöne Musik"),
    "it": ("bellissimo", "ahah", "che bello", "lo voglio!", "bella musica", "wow"),
    "zh": ("哈哈哈", "好看", "666", "支持主播", "想要", "太美了"),
}
SPAM = (
    "FREE FOLLOWERS at {url}",
    "check my profile!!! {url}",
    "buy cheap coins {url}",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥",
    "first first first first first",
    "加微信 {digits} 领福利",
    "WIN AN IPHONE >>> {url} <<<",
)
PLACES = ("Berlin", "Milano", "London", "Shanghai", "Texas", "Wien", "Napoli", "Chengdu")
GIFTS = (("Rose", 1.0), ("Heart", 5.0), ("Star", 10.0), ("Rocket", 100.0), ("Castle", 500.0))
_GIFT_W = (60, 20, 12, 6, 2)
_ADJ = ("happy", "blue", "lazy", "night", "lucky", "tiny", "cosmic", "silver", "wild", "quiet")
_NOUN = ("cat", "fox", "panda", "owl", "tiger", "bean", "cloud", "otter", "wolf", "koala")
_ZH = ("小明", "阿花", "大白", "星星", "月亮", "小鱼", "糖糖", "可乐")
# Names a host can say: real chats mix these with handles full of digits (which the host does
# not read out). Two viewers in five get one, so a walk of the show hears both kinds.
_FIRST = ("Anna", "marco", "Lena", "sofia_b", "Jonas", "giulia", "Mia", "luca_r", "Emma", "felix",
          "Chiara", "ben_k", "Hannah", "Paolo", "nina")  # fmt: skip


class ChatSimulator(ChatSource):
    """Generates chat at ``rate_per_s`` on ``clock`` and hands it to ``emit``.

    In: ``mix`` (class or kind -> weight; see module docstring; normalised), ``seed``,
    ``catalog_product_names`` (what questions ask about), ``languages`` (codes, or code ->
    weight). Out: ChatEvents with ``platform="sim"``, ``received_at`` = clock time of the tick,
    ``lang`` set for comments and ``raw={"sim": class}``. Runs until ``stop()`` or
    cancellation. On the real clock a stall longer than ``max_lag_s`` skips the missed ticks
    instead of flooding; on the virtual clock every tick is emitted (determinism first).
    """

    platform = "sim"

    def __init__(
        self,
        name: str,
        emit: Callable[[ChatEvent], None],
        clock: Clock,
        rate_per_s: float,
        mix: Mapping[str, float] | None = None,
        seed: int = 0,
        catalog_product_names: Sequence[str] = (),
        languages: Sequence[str] | Mapping[str, float] = LANGUAGES,
        *,
        tick_s: float = 0.02,
        users: int = 2000,
        max_lag_s: float = 1.0,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(name, emit, backoff=backoff)
        if not (rate_per_s >= 0 and math.isfinite(rate_per_s)):
            raise ValueError(f"rate_per_s must be >= 0, got {rate_per_s!r}")
        if not tick_s > 0:
            raise ValueError("tick_s must be > 0")
        self.clock = clock
        self.rate_per_s = float(rate_per_s)
        self.tick_s = tick_s
        self.max_lag_s = max_lag_s
        self.seed = seed
        self.products = [p for p in catalog_product_names if p] or ["this"]
        self.classes, self._class_cum = _cumulative(
            _merge_comment(mix if mix is not None else DEFAULT_MIX), CLASSES, "mix"
        )
        langs = dict.fromkeys(languages, 1.0) if not isinstance(languages, Mapping) else languages
        self.languages, self._lang_cum = _cumulative(dict(langs), LANGUAGES, "languages")
        self._rng = random.Random(seed)
        self._names = self._make_users(users)
        self._spammers = [f"promo_{self._rng.randrange(10**6):06d}" for _ in range(8)]
        self._tick = 0
        self._t0: float | None = None
        self.generated = 0

    def _make_users(self, n: int) -> list[str]:
        rng = self._rng
        out = []
        for i in range(max(1, n)):
            if i % 5 == 4:
                out.append(rng.choice(_ZH) + str(rng.randrange(100)))
            else:
                out.append(f"{rng.choice(_ADJ)}_{rng.choice(_NOUN)}{rng.randrange(1000)}")
            # Chosen from the index, not the RNG: every other draw (and so every message
            # a seed gives) stays as it was.
            if i % 5 == 1:
                out[-1] = _FIRST[(i // 5) % len(_FIRST)]
            elif i % 5 == 3:
                out[-1] = _ZH[(i // 5) % len(_ZH)]
        return out

    def messages_in_tick(self, k: int) -> int:
        """Exact count for tick k: the running total floor(rate·t) never drifts."""
        per = self.rate_per_s * self.tick_s
        return math.floor((k + 1) * per + 1e-9) - math.floor(k * per + 1e-9)

    def generate(self, at: float) -> ChatEvent:
        """One event from the RNG (advances it)."""
        rng = self._rng
        cls = self.classes[bisect.bisect_right(self._class_cum, rng.random() * self._class_cum[-1])]
        idx = int(len(self._names) * rng.random() ** 2)  # a few regulars talk a lot
        user, user_id = self._names[idx], f"sim{idx}"
        ev = ChatEvent(
            user=user,
            text="",
            platform="sim",
            kind=cls if cls in EVENT_CLASSES else "comment",
            user_id=user_id,
            received_at=at,
            raw={"sim": cls},
        )
        if cls in COMMENT_CLASSES:
            lang = self.languages[
                bisect.bisect_right(self._lang_cum, rng.random() * self._lang_cum[-1])
            ]
            ev.lang = lang
            fill = {
                "p": rng.choice(self.products),
                "place": rng.choice(PLACES),
                "url": f"www.{rng.choice(_NOUN)}{rng.randrange(100)}.biz",
                "digits": str(rng.randrange(10**8, 10**9)),
            }
            if cls == "question":
                ev.text = rng.choice(QUESTIONS[lang]).format(**fill)
                ev.item = fill["p"]
            elif cls == "greeting":
                ev.text = rng.choice(GREETINGS[lang]).format(**fill)
            elif cls == "chatter":
                ev.text = rng.choice(CHATTER[lang])
            else:
                i = rng.randrange(len(self._spammers))
                ev.user, ev.user_id = self._spammers[i], f"spam{i}"
                ev.text = rng.choice(SPAM).format(**fill)
        elif cls == "gift":
            name, value = rng.choices(GIFTS, _GIFT_W)[0]
            ev.item, ev.count = name, rng.choice((1, 1, 1, 2, 3, 5, 10))
            ev.amount, ev.currency = value * ev.count, "coins"
        elif cls == "like":
            ev.count = rng.randint(1, 15)
        elif cls == "purchase":
            ev.item, ev.count = rng.choice(self.products), rng.choice((1, 1, 1, 2))
        self.generated += 1
        return ev

    def _emit_tick(self) -> None:
        now = self.clock.now()
        for _ in range(self.messages_in_tick(self._tick)):
            self.accept(self.generate(now))
        self._tick += 1

    async def session(self) -> None:
        if self._t0 is None:
            self._t0 = self.clock.now()
        self.live()
        burst = 0
        while not self._stopping:
            due = self._t0 + (self._tick + 1) * self.tick_s  # emit tick k at its end
            now = self.clock.now()
            if due > now + 1e-9:  # tolerance: k * tick_s is not exact in binary floats
                burst = 0
                await self.clock.sleep_until(due)
            elif not self.clock.virtual and now - due > self.max_lag_s:
                # The loop stalled (GC, a blocked callback): drop the missed ticks rather than
                # dumping seconds of chat at once, which no real platform would do.
                self._tick = int((now - self._t0) / self.tick_s)
                continue
            elif burst >= 50:
                burst = 0
                with self.clock.work():  # hold a virtual clock while we let others run
                    await asyncio.sleep(0)
            burst += 1
            self._emit_tick()


def _merge_comment(mix: Mapping[str, float]) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, w in mix.items():
        key = "chatter" if k == "comment" else k
        out[key] = out.get(key, 0.0) + w
    return out


def _cumulative(
    weights: Mapping[str, float], allowed: Sequence[str], what: str
) -> tuple[list[str], list[float]]:
    names, cum, total = [], [], 0.0
    for k, w in weights.items():
        if k not in allowed:
            raise ValueError(f"{what}: unknown key {k!r}; allowed: {', '.join(allowed)}")
        if isinstance(w, bool) or not isinstance(w, int | float) or not (w >= 0) or math.isinf(w):
            raise ValueError(f"{what}: weight of {k!r} must be a number >= 0, got {w!r}")
        if w > 0:
            total += w
            names.append(k)
            cum.append(total)
    if not names:
        raise ValueError(f"{what}: needs at least one positive weight")
    return names, cum
