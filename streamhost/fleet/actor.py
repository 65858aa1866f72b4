"""One stream of the fleet inside a Ray actor: the real engine, its own HTTP app, its status.

``StreamActor(spec)`` starts its stream as soon as it is constructed, so a restart by Ray
(process killed, node gone) brings the stream back with no call from outside. Before going on
air it reads its own store: if lines were said in this fleet run (since ``spec["run_started"]``)
the stream resumes at the media time of the last one, which puts the run of show where it
stood, and writes the gap to the store's audit log (actor ``fleet``, command ``resume``) and
to its alerts. Out: ``status()`` (state, node, frames, alerts), ``snapshots()`` (for the fleet's
/metrics) and ``stop()`` (a clean stop: recording finalized, store closed).

The module imports Ray only where it needs it, so the resume logic is testable without it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..config import Config, load_config
from ..engine import Engine
from ..store import Store
from .placement import avatar_threads

log = logging.getLogger("streamhost.fleet.actor")


@dataclass(frozen=True)
class Resume:
    """Where a restarted stream picks up: ``at`` (media seconds, on a frame boundary), the wall
    time of the last line said before the failure and how many lines this run had said."""

    at: float
    last_wall: float
    lines: int


def resume_point(data_dir: str, name: str, since_wall: float, fps: int) -> Resume | None:
    """The stream's own store -> where to resume, or None when this run has said nothing yet
    (a first start, or a failure during warm-up: start from the top)."""
    store = Store(data_dir, name)
    try:
        lines = store.transcript(since_wall)
    finally:
        store.close()
    if not lines:
        return None
    last = lines[-1]
    return Resume(round(last.media_time * fps) / fps, last.wall_time, len(lines))


def stream_config(spec: dict[str, Any], host: str, resume: bool) -> Config:
    """The engine config of a fleet stream: its own file and overrides, then what the fleet
    fixes (name, store, token, where its HTTP app listens, render threads for its CPU share).
    A resumed stream records into a new part file rather than over the interrupted one."""
    cfg = load_config(spec["config"] or None)
    over: dict[str, dict[str, Any]] = {k: dict(v) for k, v in spec["overrides"].items()}
    over.setdefault("stream", {})["name"] = spec["name"]
    over.setdefault("store", {})["data_dir"] = spec["data_dir"]
    over.setdefault("control", {})["token"] = spec["token"]
    own = list(over.get("http", {}).get("trusted_proxies", cfg.http.trusted_proxies))
    proxies = list(dict.fromkeys(own + list(spec.get("front_ips", ()))))
    over["http"] = {"host": host, "port": 0, "trusted_proxies": proxies}
    over.setdefault("avatar", {}).setdefault("threads", avatar_threads(spec["cpus"]))
    cfg = cfg.with_overrides(**over)
    if resume and cfg.output.record:
        rec = Path(cfg.output.record)
        n = 1 + len(list(rec.parent.glob(f"{rec.stem}-part*{rec.suffix}")))
        cfg = cfg.with_overrides(
            output={"record": str(rec.with_name(f"{rec.stem}-part{n}{rec.suffix}"))}
        )
    return cfg


async def run_resumed(engine: Engine, duration_s: float | None, at: float,
                      on_air: Any = None) -> None:  # fmt: skip
    """``Engine.run`` with the media clock starting at ``at`` instead of 0: the AV loop's frame
    index, the clock and the show's wall anchor move together, so schedules and rotations
    continue from there and ``duration_s`` stays the show's total length."""
    engine.running = True
    try:
        await asyncio.gather(*(s.prepare() for s in engine.streams))
        engine.clock.restart()
        if at > 0:
            if engine.clock.virtual:
                engine.clock.advance_to(at)
            else:
                engine.clock.shift(-at)  # now() reads `at` from here on
            for s in engine.streams:
                s.loop.index = round(at * s.cfg.stream.fps)
        wall = datetime.now().astimezone() - timedelta(seconds=at)
        for s in engine.streams:
            s.talk.wall_start = s.director.wall_start = wall
        if on_air is not None:
            on_air()
        await asyncio.gather(*(s.run(duration_s) for s in engine.streams))
    finally:
        engine.running = False


class StreamActor:
    """One stream. In: ``spec`` (name, config path, overrides, token, data_dir, cpus,
    run_started, virtual_clock, duration_s, stream_host). Out: status, snapshots, a clean stop.
    Wrapped with ``ray.remote`` by the fleet (``max_restarts``), never imported by the engine."""

    def __init__(self, spec: dict[str, Any]) -> None:
        logging.basicConfig(level=os.environ.get("STREAMHOST_LOG", "WARNING"))
        self.spec = spec
        self.name: str = spec["name"]
        self.state = "starting"
        self.boot = time.time()
        self.error: str | None = None
        self.engine: Engine | None = None
        self.url: str | None = None
        self.resumed: dict[str, Any] | None = None
        self.alerts: deque[dict[str, Any]] = deque(maxlen=20)
        self._runner: Any = None
        self._stopping = False
        self._node = _node()
        self._task = asyncio.get_running_loop().create_task(self._main())

    async def _main(self) -> None:
        try:
            await self._start_and_run()
            self.state = "stopped"
        except Exception as e:  # noqa: BLE001 - reported through status(); Ray keeps the actor
            log.exception("stream %s failed", self.name)
            self.state, self.error = "failed", repr(e)
        finally:
            if self._runner is not None:
                await self._runner.cleanup()

    async def _start_and_run(self) -> None:
        from aiohttp import web

        from ..control.http import build_app

        spec = self.spec
        host = (
            self._node["ip"] if spec.get("stream_host", "node") == "node" else spec["stream_host"]
        )
        with _data_dir_env(spec["data_dir"]):
            probe = load_config(spec["config"] or None).with_overrides(**spec["overrides"])
            res = resume_point(spec["data_dir"], self.name, spec["run_started"], probe.stream.fps)
            cfg = stream_config(spec, host, res is not None)
        self.engine = engine = Engine(cfg, virtual_clock=spec["virtual_clock"], token=spec["token"])
        if self._stopping:  # stop() came during warm-up
            engine.request_stop()
        sub = engine.primary.events.add(maxlen=64)
        sub.subscribe(["alerts"])
        pump = asyncio.get_running_loop().create_task(self._pump_alerts(sub))
        self._runner = web.AppRunner(build_app(engine), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{host}:{port}"
        self.state = "running"
        try:
            await run_resumed(engine, spec["duration_s"] or None, res.at if res else 0.0,
                              on_air=(lambda: self._record_gap(res)) if res else None)  # fmt: skip
        finally:
            sub.close()
            pump.cancel()

    def _record_gap(self, res: Resume) -> None:
        """The outage, in the store's audit log and the stream's alerts (called on air)."""
        assert self.engine is not None
        s = self.engine.primary
        gap = round(time.time() - res.last_wall, 3)
        self.resumed = {**asdict(res), "gap_s": gap, "node": self._node["ip"]}
        detail = (f"restarted on node {self._node['ip']}; off air up to {gap:.1f} s since the "
                  f"last line; show resumed at media {res.at:.2f} s")  # fmt: skip
        s.store.add_audit("fleet", "resume", self.resumed, True, detail, res.at)
        s.events.publish("alerts", {"kind": "stream_resumed", "media_time": res.at, **self.resumed})

    async def _pump_alerts(self, sub: Any) -> None:
        while not sub.closed:
            for ev in await sub.wait():
                self.alerts.append({k: v for k, v in ev.items() if k not in ("type", "topic")})

    # ---- what the fleet asks ----
    async def status(self) -> dict[str, Any]:
        snap = self.engine.primary.snapshot() if self.engine is not None else {}
        return {
            "name": self.name, "state": self.state, "error": self.error, "boot": self.boot,
            "pid": os.getpid(), "node_id": self._node["id"], "node_ip": self._node["ip"],
            "url": self.url, "frames": snap.get("frames", 0),
            "media_time": snap.get("media_time_seconds", 0.0),
            "late_frames": snap.get("late_frames", 0), "sentences": snap.get("sentences", 0),
            "resumed": self.resumed, "alerts": list(self.alerts),
        }  # fmt: skip

    async def snapshots(self) -> list[dict[str, Any]]:
        if self.engine is None or self.state != "running":
            return []
        return self.engine.snapshots()

    async def stop(self, timeout_s: float = 30.0) -> dict[str, Any]:
        """A clean stop: the engine closes its outputs (recording finalized) and its store."""
        self._stopping = True
        if self.engine is not None:
            self.engine.request_stop()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            self.error = f"did not stop within {timeout_s} s"
        return await self.status()


@contextmanager
def _data_dir_env(path: str) -> Iterator[None]:
    """The config loader lets STREAMHOST_DATA_DIR win over the config; a worker may inherit one
    from whoever started Ray, but a fleet stream's store is the fleet's data_dir."""
    old = os.environ.get("STREAMHOST_DATA_DIR")
    os.environ["STREAMHOST_DATA_DIR"] = path
    try:
        yield
    finally:
        if old is None:
            del os.environ["STREAMHOST_DATA_DIR"]
        else:
            os.environ["STREAMHOST_DATA_DIR"] = old


def _node() -> dict[str, str]:
    try:
        import ray
    except ImportError:
        ray = None
    # Asking Ray for the runtime context outside a worker would start a local Ray.
    if ray is None or not ray.is_initialized():
        return {"id": "local", "ip": "127.0.0.1"}
    return {"id": ray.get_runtime_context().get_node_id(), "ip": ray.util.get_node_ip_address()}
