"""chat_load.py's chat traffic and its part 2: simulated viewers' /chat bytes, the flooder child
process, and the flood run on a real Engine in this process (see chat_load.py's docstring).

    python benchmarks/_chat_flood.py --_flooder ARGS_JSON   (started by the flood run)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Results, ms, percentile, proc_cpu_seconds  # noqa: E402

FLOOD_MIX = {"chatter": 0.45, "spam": 0.15, "greeting": 0.10, "like": 0.20, "join": 0.10}
ABUSE = ("you idiot", "i d i o t host", "this is sh1t", "stuuupid stream", "ur a m0ron")

RELAY_TOKEN = "bench-relay"


def wire_bytes(ev: Any) -> bytes:
    """The JSON bytes a /chat client sends for one simulated event."""
    obj: dict[str, Any] = {"user": ev.user, "user_id": ev.user_id, "kind": ev.kind}
    if ev.text:
        obj["text"] = ev.text
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


class _NoClock:
    virtual = True

    def now(self) -> float:
        return 0.0


def chat_simulator(catalog: Any, seed: int, mix: dict[str, float] | None = None) -> Any:
    from streamhost.chat.simulator import ChatSimulator

    return ChatSimulator(
        "bench",
        lambda ev: None,
        _NoClock(),  # type: ignore[arg-type]
        5000.0,
        mix=mix,
        seed=seed,
        catalog_product_names=[p.name("en") for p in catalog],
    )


# -- part 2: a flood on a running stream --------------------------------------------------------


def run_flooder(url: str, rate: float, seconds: float, conns: int, seed: int) -> None:
    """Child process: `rate` msgs/s over `conns` WebSockets for `seconds`, batches every 10 ms,
    reading every reply. Prints one JSON line when connected, one with the totals at the end."""
    import aiohttp

    from streamhost.config import load_config
    from streamhost.talk.catalog import load_catalog

    catalog = load_catalog(load_config().talk.catalog)
    sim = chat_simulator(catalog, seed=seed, mix=FLOOD_MIX)
    pool: list[str] = []
    for i in range(20_000):
        ev = sim.generate(0.0)
        if ev.raw and ev.raw.get("sim") == "chatter" and i % 7 == 0:
            ev.text = ABUSE[i % len(ABUSE)]
        pool.append(wire_bytes(ev).decode("utf-8"))

    async def main() -> None:
        sent = [0] * conns
        got = [0] * conns
        async with aiohttp.ClientSession() as http:
            wss = [await http.ws_connect(url, max_msg_size=0) for _ in range(conns)]

            async def reader(i: int) -> None:
                async for _ in wss[i]:
                    got[i] += 1

            readers = [asyncio.create_task(reader(i)) for i in range(conns)]
            print(json.dumps({"connected": conns}), flush=True)
            # "go" (read off the loop: the readers must keep answering the server's pings)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            t0 = time.monotonic()
            batch = 0
            total = 0
            j = 0
            while True:
                batch += 1
                due = t0 + batch * 0.01
                target = int(rate * min(seconds, due - t0))
                k = target - total
                for m in range(k):
                    i = m % conns
                    await wss[i].send_str(pool[j])
                    sent[i] += 1
                    j = (j + 1) % len(pool)
                total = target
                if due - t0 >= seconds:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            t1 = time.monotonic()
            deadline = time.monotonic() + 10
            while sum(got) < sum(sent) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            for ws in wss:
                await ws.close()
            for t in readers:
                t.cancel()
            print(
                json.dumps({"sent": sum(sent), "replies": sum(got), "send_seconds": t1 - t0}),
                flush=True,
            )

    asyncio.run(main())


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


async def _readline(proc: asyncio.subprocess.Process, timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"flooder exited ({await proc.wait()})")
        try:
            return json.loads(line)
        except ValueError:
            continue


async def _flood_run(
    phase_s: float, rate: float, conns: int, data_dir: str, ask_every: float = 6.0
) -> dict[str, Any]:
    import aiohttp
    from aiohttp import web

    from streamhost.config import load_config
    from streamhost.control.http import build_app
    from streamhost.engine import Engine

    # The flood and the asker come in as a relay holding the chat token (as a platform bridge
    # would): metered per user, not per address, so the flood reaches moderation and triage
    # instead of being cut at the door by the per-address limit.
    # Speech prefetch off: its start-up fill (hundreds of MB of cached speech) would land in
    # the flood's RSS growth, which is meant to show what the flood itself leaves behind.
    cfg = load_config().with_overrides(
        chat={"dedupe_window_s": 0.0, "ws_token": RELAY_TOKEN},
        http={"port": 0},
        store={"data_dir": data_dir},
        voice={"prefetch": False},
    )
    engine = Engine(cfg)
    stream = engine.primary
    emits: list[float] = []
    orig = stream.loop.sink

    async def timed_sink(frame: Any) -> None:
        emits.append(time.monotonic())
        await orig(frame)

    stream.loop.sink = timed_sink
    runner = web.AppRunner(build_app(engine), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/chat?token={RELAY_TOKEN}"
    run_task = asyncio.create_task(engine.run(None))
    pid = os.getpid()
    products = [p.name(cfg.stream.language) for p in stream.catalog]
    asked: list[tuple[str, str]] = []  # (phase, trace id)
    phase = ["warmup"]
    flooder = None
    try:
        t_wait = time.monotonic() + 120
        while stream.loop.stats.frames < 25:  # on air
            if run_task.done():
                await run_task
            if time.monotonic() > t_wait:
                raise RuntimeError("engine did not go on air")
            await asyncio.sleep(0.1)
        flooder = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--_flooder",
            json.dumps({"url": url, "rate": rate, "seconds": phase_s, "conns": conns}),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        await _readline(flooder, 60)  # connected
        async with aiohttp.ClientSession() as http:
            asker = await http.ws_connect(url)

            async def ask_loop() -> None:
                n = 0
                while True:
                    product = products[n % len(products)]
                    await asker.send_json(
                        {
                            "user": f"asker{n}",
                            "user_id": f"asker-{n}",
                            "text": f"how much is the {product}?",
                        }  # fmt: skip
                    )
                    reply = await asker.receive_json()
                    if phase[0] in ("quiet", "flood") and reply.get("ok"):
                        asked.append((phase[0], reply["trace_id"]))
                    n += 1
                    await asyncio.sleep(ask_every)

            await asyncio.sleep(3.0)  # settle
            marks: dict[str, dict[str, Any]] = {}

            def mark(name: str) -> None:
                s = stream.snapshot()
                marks[name] = {
                    "t": time.monotonic(),
                    "cpu": proc_cpu_seconds(pid, children=False),
                    "loop_cpu": time.thread_time(),  # the event loop thread (we run on it)
                    "flooder_cpu": proc_cpu_seconds(flooder.pid, children=False),
                    "rss": _rss_mb(),
                    "late": s["late_frames"],
                    "rows": s["chat_accepted"] + s["chat_blocked"] + s["chat_rejected"],
                    "blocked": s["chat_blocked"],
                    "ignored": stream.triage.stats["actions"].get("ignored", 0),
                }

            ask = asyncio.create_task(ask_loop())
            phase[0] = "quiet"
            mark("quiet0")
            await asyncio.sleep(phase_s)
            mark("quiet1")
            phase[0] = "flood"
            assert flooder.stdin is not None
            flooder.stdin.write(b"go\n")
            await flooder.stdin.drain()
            mark("flood0")
            await asyncio.sleep(min(10.0, phase_s / 2))
            mark("flood10")
            await asyncio.sleep(max(0.0, phase_s - min(10.0, phase_s / 2)))
            mark("flood1")
            phase[0] = "after"
            flood_totals = await _readline(flooder, 60)
            await flooder.wait()
            await asyncio.sleep(12.0)  # the last questions get answered
            ask.cancel()
            await asyncio.gather(ask, return_exceptions=True)
            await asker.close()
        stream.store.flush()
        lines = stream.store.transcript()
        received = dict(
            stream.store._db.execute(
                "SELECT trace_id, media_time FROM chat WHERE user_id LIKE 'asker-%'"
            ).fetchall()
        )
    finally:
        if flooder is not None and flooder.returncode is None:
            flooder.kill()
            await flooder.wait()
        engine.request_stop()
        await asyncio.gather(run_task, return_exceptions=True)
        await runner.cleanup()

    aired: dict[str, float] = {}
    for ln in lines:
        if ln.reply_to and ln.aired_at is not None:
            aired[ln.reply_to] = min(ln.aired_at, aired.get(ln.reply_to, ln.aired_at))
    return {
        "emits": emits,
        "marks": marks,
        "asked": asked,
        "aired": aired,
        "received": received,
        "flooder": flood_totals,
    }


def measure_flood(
    res: Results, phase_s: float, rate: float, conns: int, ask_every: float = 6.0
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="streamhost-chatload-") as d:
        r = asyncio.run(_flood_run(phase_s, rate, conns, d, ask_every))
    m = r["marks"]

    def intervals(a: str, b: str) -> list[float]:
        ts = [t for t in r["emits"] if m[a]["t"] <= t <= m[b]["t"]]
        return [ms(y - x) for x, y in zip(ts, ts[1:], strict=False)]

    def latencies(phase: str) -> tuple[list[float], int]:
        out, missing = [], 0
        for ph, tid in r["asked"]:
            if ph != phase:
                continue
            if tid in r["aired"] and tid in r["received"]:
                out.append(ms(r["aired"][tid] - r["received"][tid]))
            else:
                missing += 1
        return out, missing

    qi, fi = intervals("quiet0", "quiet1"), intervals("flood0", "flood1")
    ql, qmiss = latencies("quiet")
    fl, fmiss = latencies("flood")
    q99, f99 = percentile(qi, 99), percentile(fi, 99)
    q95, f95 = percentile(ql, 95), percentile(fl, 95)
    qw = m["quiet1"]["t"] - m["quiet0"]["t"]
    fw = m["flood1"]["t"] - m["flood0"]["t"]
    res.add("flood_p99_frame_interval_delta_ms", f99 - q99, "ms", 2)
    res.add("flood_answer_p95_ratio", f95 / q95 if q95 else None, "x", 3)
    res.add("flood_rss_growth_mb", m["flood1"]["rss"] - m["flood10"]["rss"], "MB", 2)
    res.add("quiet_frame_interval_p99_ms", q99, "ms", 2)
    res.add("flood_frame_interval_p99_ms", f99, "ms", 2)
    res.add("quiet_frame_interval_p50_ms", percentile(qi, 50), "ms", 2)
    res.add("flood_frame_interval_p50_ms", percentile(fi, 50), "ms", 2)
    res.add("quiet_frame_interval_max_ms", max(qi) if qi else None, "ms", 2)
    res.add("flood_frame_interval_max_ms", max(fi) if fi else None, "ms", 2)
    res.add("quiet_answer_p95_ms", q95, "ms", 1)
    res.add("flood_answer_p95_ms", f95, "ms", 1)
    res.add("quiet_answer_p50_ms", percentile(ql, 50), "ms", 1)
    res.add("flood_answer_p50_ms", percentile(fl, 50), "ms", 1)
    res.add("quiet_questions_answered", len(ql), "questions", 0)
    res.add("flood_questions_answered", len(fl), "questions", 0)
    res.add("questions_unanswered", qmiss + fmiss, "questions", 0)
    res.add("flood_rate_sent_per_s", r["flooder"]["sent"] / fw, "msgs/s", 0)
    res.add(
        "flood_rate_received_per_s", (m["flood1"]["rows"] - m["flood0"]["rows"]) / fw, "msgs/s", 0
    )
    res.add("flood_replies_received", r["flooder"]["replies"], "msgs", 0)
    res.add("flood_blocked", m["flood1"]["blocked"] - m["flood0"]["blocked"], "msgs", 0)
    res.add("flood_ignored", m["flood1"]["ignored"] - m["flood0"]["ignored"], "msgs", 0)
    res.add("quiet_late_frames", m["quiet1"]["late"] - m["quiet0"]["late"], "frames", 0)
    res.add("late_frames", m["flood1"]["late"] - m["flood0"]["late"], "frames", 0)
    res.add(
        "quiet_engine_core_fraction", (m["quiet1"]["cpu"] - m["quiet0"]["cpu"]) / qw, "cores", 3
    )
    res.add(
        "flood_engine_core_fraction", (m["flood1"]["cpu"] - m["flood0"]["cpu"]) / fw, "cores", 3
    )
    for ph in ("quiet", "flood"):
        a, b = m[f"{ph}0"], m[f"{ph}1"]
        res.add(
            f"{ph}_event_loop_core_fraction",
            (b["loop_cpu"] - a["loop_cpu"]) / (b["t"] - a["t"]),
            "cores",
            3,
        )
    res.add(
        "flooder_core_fraction",
        (m["flood1"]["flooder_cpu"] - m["flood0"]["flooder_cpu"]) / fw,
        "cores",
        3,
    )
    res.add("rss_at_flood_10s_mb", m["flood10"]["rss"], "MB", 1)
    return {"flooder": r["flooder"], "quiet_window_s": qw, "flood_window_s": fw}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--_flooder":
        a = json.loads(sys.argv[2])
        run_flooder(a["url"], a["rate"], a["seconds"], a["conns"], seed=7)
    else:
        sys.exit(__doc__)
