"""Glass-to-glass latency: chat or operator command in, first tagged frame / audio out.

The engine runs in a child process in bench mode (each frame carries the playing utterance's
trace id as a block code, ``streamhost/avatar/tag.py``) with RTMP out to a private nginx-rtmp.
This process sends chat over ``/chat`` and commands over ``/control``, and receives the stream
as a WebRTC viewer (aiortc, ``/offer``) and as an RTMP player (PyAV); it decodes the tag of
every frame and the RMS of every audio frame, stamping arrivals with its own monotonic clock,
the same clock the sender stamps with. No engine timestamp is used.

Scenarios (``--trials`` each): host idle (chat -> first frame tagged with the chat's id, and
-> first audio above silence), host mid-script (an advertiser script is playing; the answer
starts at the next sentence boundary), operator ``say now`` while the host speaks (-> first
frame of the new sentence), operator ``stop`` while the host speaks (-> audio silent for 300
ms, and -> first frame tagged "idle"). Result names: ``<transport>_<scenario>_p50/p95/p99_ms``.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Results, arg_parser, machine_info, percentile, report  # noqa: E402
from _receive import (  # noqa: E402
    IDLE,
    REPO,
    Clients,
    EngineProcess,
    RtmpReceiver,
    Timeline,
    WebRtcReceiver,
    ms,
    wait_for,
)

from streamhost.avatar.tag import tag_value  # noqa: E402

QUESTIONS = (
    "how much is the kettle?",
    "does the lamp have a timer?",
    "is the backpack waterproof?",
    "how much does the bottle hold?",
    "do the headphones have noise cancelling?",
)
SCRIPT = REPO / "assets" / "scripts" / "demo_advertiser.txt"
# "say now" lines as an operator types them: every trial's line is new text (nothing in the
# speech cache), 24 distinct openers before one repeats.
_OPEN_A = ("Quick", "Big", "Small", "Fresh", "Late", "Short")
_OPEN_B = ("update", "news", "notice", "reminder")
_NEWS = (
    "the kettle is back in stock!", "the backpack sale ends soon!",
    "free shipping tonight only!", "new colours just arrived!",
    "the lamp is half price now!", "we restocked the mugs!",
)  # fmt: skip


def say_now_line(i: int) -> str:
    a, b = _OPEN_A[i % len(_OPEN_A)], _OPEN_B[i // len(_OPEN_A) % len(_OPEN_B)]
    return f"{a} {b}, {_NEWS[i % len(_NEWS)]}"


LONG_LINE = (
    "Welcome back everyone, and thank you for staying with us tonight, because we have "
    "a long list of lovely things to show you before the end of the evening"
)
Samples = dict[str, dict[str, list[float]]]  # transport -> scenario -> ms


class Bench:
    """One engine + receivers; scenario methods append samples per transport."""

    def __init__(self, engine: EngineProcess, rtmp: bool = True) -> None:
        self.engine = engine
        self.use_rtmp = rtmp
        self.samples: Samples = {}
        self.failures: dict[str, int] = {}
        self.boundary: dict[str, list[float]] = {}  # 1 per answer at the next sentence boundary
        self.rng = random.Random(7)

    async def __aenter__(self) -> Bench:
        self.webrtc = WebRtcReceiver(self.engine.base + "/offer")
        await self.webrtc.start()
        self.rtmp = RtmpReceiver(self.engine.rtmp_url) if self.use_rtmp else None
        if self.rtmp is not None:
            self.rtmp.start()
        self.clients = Clients(self.engine.base)
        await self.clients.open()
        tls = self.timelines
        await wait_for(lambda: all(len(t.video) > 25 for t in tls), 60, "video on every transport")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.clients.close()
        await self.webrtc.close()
        if self.rtmp is not None:
            self.rtmp.close()

    @property
    def timelines(self) -> list[Timeline]:
        return [self.webrtc.timeline] + ([self.rtmp.timeline] if self.rtmp else [])

    @property
    def wr(self) -> Timeline:
        return self.webrtc.timeline

    def add(self, scenario: str, tl: Timeline, value: float | None) -> None:
        if value is None:
            key = f"{tl.name}_{scenario}"
            self.failures[key] = self.failures.get(key, 0) + 1
            return
        self.samples.setdefault(tl.name, {}).setdefault(scenario, []).append(value)

    async def _seen(self, found: Callable[[Timeline], float | None], timeout: float) -> None:
        try:
            await wait_for(lambda: all(found(t) is not None for t in self.timelines), timeout, "")
        except TimeoutError:
            pass  # counted as a failure per transport by add()

    async def _idle_host(self, quiet_s: float = 0.8, timeout: float = 40.0) -> None:
        def quiet() -> bool:
            v = self.wr.video
            n = int(quiet_s * 25)
            return len(v) > n and all(tag == IDLE for _, tag in v[-n:])

        await wait_for(quiet, timeout, "the host to fall idle")

    async def _speaking(self, timeout: float = 20.0) -> int:
        """Start a long operator line (mode next), wait until it is on the wire; its tag."""
        _, r = await self.clients.command("say", text=LONG_LINE, mode="next")
        v = tag_value(r["trace_id"])
        await wait_for(lambda: self.wr.last_tag() == v, timeout, "the operator line on air")
        await asyncio.sleep(self.rng.uniform(0.3, 1.5))
        return v

    async def _done(self, value: int, timeout: float = 40.0) -> None:
        """Wait until the utterance tagged ``value`` has been on air and left it."""
        await wait_for(
            lambda: self.wr.first_tag(value, 0.0) is not None and self.wr.last_tag() != value,
            timeout,
            "the utterance to finish",
        )

    async def idle(self, i: int) -> None:
        await self._idle_host()
        # Right after a frame arrived is one fixed phase of the frame clock, and the answer
        # then makes or misses the next tick by a hair (the results came out bimodal, ~33 or
        # ~70 ms): a viewer's chat comes at any phase.
        await asyncio.sleep(self.rng.uniform(0.0, 0.04))
        t0, r = await self.clients.send_chat(f"viewer{i}", QUESTIONS[i % len(QUESTIONS)])
        if r.get("decision") != "queued":
            raise RuntimeError(f"chat not queued: {r}")
        v = tag_value(r["trace_id"])
        await self._seen(lambda t: t.first_tag(v, t0), 20)
        await self._seen(lambda t: t.audio_onset(t0), 5)
        for tl in self.timelines:
            self.add("idle_chat_to_frame", tl, ms(t0, tl.first_tag(v, t0)))
            self.add("idle_chat_to_audio", tl, ms(t0, tl.audio_onset(t0)))
        await self._done(v)

    async def midscript(self, i: int) -> None:
        def script_on_air() -> bool:
            return self.clients.sources.get(self.wr.last_tag()) == "script"

        # Mid-script means a script line on air, not the rest of the previous trial's answer
        # (the director finishes an answer before it starts the next one) nor other talk.
        if not script_on_air():
            await self.clients.command("script", path=str(SCRIPT))
            await wait_for(script_on_air, 30, "a script line on air")
        await asyncio.sleep(self.rng.uniform(0.0, 0.5))  # anywhere in a script phrase
        t0, r = await self.clients.send_chat(f"shopper{i}", QUESTIONS[i % len(QUESTIONS)])
        v = tag_value(r["trace_id"])
        await self._seen(lambda t: t.first_tag(v, t0), 25)
        for tl in self.timelines:
            first = tl.first_tag(v, t0)
            self.add("midscript_chat_to_frame", tl, ms(t0, first))
            if first is None:
                continue
            # The answer must follow the sentence that was on air when the chat was sent, with
            # no other script sentence between; the split shows sentence length vs engine.
            on_air = [tag for _, tag in tl.tags_between(t0 - 0.05, t0 + 0.05) if tag]
            spoken = [(t, tag) for t, tag in tl.tags_between(t0, first) if tag not in (None, IDLE)]
            if on_air and spoken:
                ok = all(tag == on_air[-1] for _, tag in spoken)
                self.boundary.setdefault(tl.name, []).append(1.0 if ok else 0.0)
                self.add("midscript_boundary_to_frame", tl, ms(spoken[-1][0], first))
        await self._done(v)

    async def say_now(self, i: int) -> None:
        await self._speaking()
        t0, r = await self.clients.command("say", text=say_now_line(i), mode="now")
        v = tag_value(r["trace_id"])
        await self._seen(lambda t: t.first_tag(v, t0), 10)
        for tl in self.timelines:
            self.add("say_now_to_frame", tl, ms(t0, tl.first_tag(v, t0)))
        await self._done(v)

    async def stop(self, i: int) -> None:
        await self._speaking()
        t0, _ = await self.clients.command("stop")
        await self._seen(lambda t: t.silence(t0), 10)
        await self._seen(lambda t: t.first_tag(IDLE, t0), 5)
        for tl in self.timelines:
            self.add("stop_to_silence", tl, ms(t0, tl.silence(t0)))
            self.add("stop_to_idle_frame", tl, ms(t0, tl.first_tag(IDLE, t0)))
        await asyncio.sleep(0.5)


def add_results(res: Results, samples: Samples, failures: dict[str, int]) -> None:
    for transport, by in samples.items():
        for scenario, v in by.items():
            for q in (50, 95, 99):
                res.add(f"{transport}_{scenario}_p{q}_ms", percentile(v, q), "ms", 1)
            res.add(f"{transport}_{scenario}_trials", len(v), "trials", 0)
            res.series[f"{transport}_{scenario}_ms"] = [round(x, 1) for x in v]
    for key, n in failures.items():
        res.add(f"{key}_missed", n, "trials", 0)


SCENARIOS = ("idle", "midscript", "say_now", "stop")


async def run(trials: int, scenarios: tuple[str, ...], rtmp: bool) -> tuple[Samples, Any, Any]:
    engine = EngineProcess(talk={"repeat_window": 0}).start()
    try:
        async with Bench(engine, rtmp=rtmp) as b:
            for name in scenarios:
                for i in range(trials):
                    t = time.monotonic()
                    await getattr(b, name)(i)
                    print(f"  {name} {i + 1}/{trials} ({time.monotonic() - t:.1f}s)", flush=True)
            snap = engine.healthz()
            add = b.failures
            err = b.rtmp.error if b.rtmp is not None else None
        return b.samples, add, (snap, err, b.boundary)
    finally:
        engine.stop()


def main() -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=None, help="trials per scenario (default 20)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset")
    ap.add_argument("--no-rtmp", action="store_true", help="WebRTC receiver only")
    args = ap.parse_args()
    trials = args.trials or (2 if args.quick else 20)
    scenarios = tuple(s for s in args.scenarios.split(",") if s)
    bad = [s for s in scenarios if s not in SCENARIOS]
    if bad:
        ap.error(f"unknown scenario(s) {bad}; known: {', '.join(SCENARIOS)}")
    samples, failures, (snap, rtmp_err, boundary) = asyncio.run(
        run(trials, scenarios, not args.no_rtmp)
    )
    res = Results(
        "latency",
        config={
            "trials": trials,
            "scenarios": list(scenarios),
            "receive": "aiortc WebRTC viewer + PyAV RTMP player via nginx-rtmp, same process",
            "clock": "receiver's time.monotonic() for sends and arrivals",
            "talk": {"show": "", "segment_pause_s": 60.0, "repeat_window": 0},
            "rtmp_reader_error": rtmp_err,
        },
    )
    add_results(res, samples, failures)
    for transport, v in boundary.items():
        res.add(f"{transport}_midscript_at_next_boundary_pct", 100.0 * sum(v) / len(v), "%", 1)
    # The engine's own view (trace stamps, received -> first packet out) for comparison.
    for key, v in (snap.get("latency") or {}).items():
        if key.startswith("received_to_"):
            res.add(f"engine_{key}_p95_ms", v["p95"], "ms", 1)
    report(res, args.json, machine_info(("aiohttp",)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
