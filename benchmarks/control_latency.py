"""Operator control latency on the wire, measured by a WebRTC viewer (aiortc) in this process.

- ``stop`` while the host speaks -> audio silent (300 ms below RMS 300) and -> first frame whose
  bench tag says "no utterance" (the idle mouth: the tag shows which utterance's audio is in
  the frame, so "idle" means the mouth is driven by no speech);
- ``say now`` while the host speaks -> first frame tagged with the new sentence's trace id;
- 50 /control subscribers to every event topic vs none: the p99 of the viewer's video frame
  inter-arrival times (receive side, so it includes the network path; alternating 10 s windows,
  the host reading an advertiser script and chat arriving at 2 messages/s in both conditions).

Result names: ``stop_to_silence_p95_ms``, ``say_now_to_frame_p95_ms``,
``subscribers50_p99_frame_interval_delta_ms`` (and p50/p99 companions).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Results, arg_parser, machine_info, percentile, report  # noqa: E402
from _receive import IDLE, TOKEN, EngineProcess, wait_for  # noqa: E402
from latency import QUESTIONS, SCRIPT, Bench  # noqa: E402

TOPICS = ["metrics", "transcript", "chat", "moderation", "alerts"]


class _Sessions:
    """The subscribers' client sessions, closed together."""

    def __init__(self, sessions: list[Any]) -> None:
        self.sessions = sessions

    async def close(self) -> None:
        for s in self.sessions:
            await s.close()


async def _subscribers(base: str, n: int) -> tuple[Any, list[Any], list[int]]:
    import aiohttp

    # Each subscriber from its own loopback address (127.0.0.2, .3, ...), as 50 dashboards on
    # 50 machines would be: the control socket caps open WebSockets per address.
    sessions = [
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(f"127.0.0.{2 + i}", 0)))
        for i in range(n)
    ]
    http = _Sessions(sessions)
    socks = []
    counts = [0] * n
    for session in sessions:
        ws = await session.ws_connect(
            base.replace("http://", "ws://") + "/control",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        await ws.send_json({"id": 1, "type": "subscribe", "topics": TOPICS})
        socks.append(ws)

    async def drain(i: int, ws: Any) -> None:
        async for _ in ws:
            counts[i] += 1

    tasks = [asyncio.ensure_future(drain(i, ws)) for i, ws in enumerate(socks)]
    return http, tasks, counts


async def _window(b: Bench, seconds: float, chat_n: itertools.count) -> list[float]:
    """Frame inter-arrival times (ms) on the WebRTC viewer over ``seconds``, with the host
    reading the script and chat arriving meanwhile."""
    if b.wr.last_tag() in (IDLE, None):
        await b.clients.command("script", path=str(SCRIPT))
        await wait_for(lambda: b.wr.last_tag() not in (IDLE, None), 20, "the script")
    start = len(b.wr.video)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        i = next(chat_n)
        await b.clients.send_chat(f"fan{i}", f"love it {i}")
        await asyncio.sleep(0.5)
    arrivals = [t for t, _ in b.wr.video[start:]]
    return [(y - x) * 1000.0 for x, y in zip(arrivals, arrivals[1:], strict=False)]


async def run(trials: int, window_s: float, rounds: int, n_subs: int) -> tuple[Bench, dict]:
    engine = EngineProcess(talk={"repeat_window": 0}).start()
    try:
        async with Bench(engine, rtmp=False) as b:
            # Subscribers first: after a stop only operator lines play for a segment pause.
            intervals: dict[str, list[float]] = {"0": [], str(n_subs): []}
            chat_n = itertools.count()
            events = 0
            for r in range(rounds):
                intervals["0"] += await _window(b, window_s, chat_n)
                http, tasks, counts = await _subscribers(engine.base, n_subs)
                try:
                    intervals[str(n_subs)] += await _window(b, window_s, chat_n)
                finally:
                    events += sum(counts)
                    for t in tasks:
                        t.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    await http.close()
                print(f"  subscribers round {r + 1}/{rounds}", flush=True)
            await b.clients.command("stop")
            for name in ("say_now", "stop"):
                for i in range(trials):
                    await getattr(b, name)(i)
                    print(f"  {name} {i + 1}/{trials}", flush=True)
            extra = {"intervals": intervals, "events": events, "n_subs": n_subs}
        return b, extra
    finally:
        engine.stop()


def main() -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=None, help="trials per command (default 10)")
    ap.add_argument("--window", type=float, default=None, help="seconds per window (default 10)")
    ap.add_argument("--rounds", type=int, default=None, help="window pairs (default 2)")
    ap.add_argument("--subscribers", type=int, default=50)
    args = ap.parse_args()
    trials = args.trials or (2 if args.quick else 10)
    window = args.window or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (1 if args.quick else 2)
    b, extra = asyncio.run(run(trials, window, rounds, args.subscribers))
    res = Results(
        "control_latency",
        config={
            "trials": trials,
            "window_s": window,
            "rounds": rounds,
            "subscribers": args.subscribers,
            "receive": "aiortc WebRTC viewer in the benchmark process; engine in a child process",
            "frame_interval": "viewer-side video frame inter-arrival (time.monotonic)",
            "silence": "300 ms of Opus-decoded audio below RMS 300 (int16)",
            "idle_mouth": "first frame whose bench tag is 'no utterance'",
        },
    )
    wr = b.samples.get("webrtc", {})
    names = {
        "stop_to_silence": "stop_to_silence",
        "stop_to_idle_frame": "stop_to_idle_mouth",
        "say_now_to_frame": "say_now_to_frame",
    }
    for key, name in names.items():
        v = wr.get(key, [])
        for q in (50, 95, 99):
            res.add(f"{name}_p{q}_ms", percentile(v, q), "ms", 1)
        res.add(f"{name}_trials", len(v), "trials", 0)
    for key, n in b.failures.items():
        res.add(f"{key}_missed", n, "trials", 0)
    iv = extra["intervals"]
    n = str(extra["n_subs"])
    p0, pn = percentile(iv["0"], 99), percentile(iv[n], 99)
    res.add("subscribers0_p99_frame_interval_ms", p0, "ms", 2)
    res.add(f"subscribers{n}_p99_frame_interval_ms", pn, "ms", 2)
    res.add(f"subscribers{n}_p99_frame_interval_delta_ms", pn - p0, "ms", 2)
    res.add(f"subscribers{n}_p50_frame_interval_ms", percentile(iv[n], 50), "ms", 2)
    res.add(f"subscribers{n}_events_received", extra["events"], "events", 0)
    res.config["chat_questions_pool"] = len(QUESTIONS)
    report(res, args.json, machine_info(("aiohttp",)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
