"""The fleet: one Ray actor per stream, placed by its resources, watched, changed, stopped.

A ``FleetConfig`` in; running stream actors out, with ``status()`` (where each runs, frames,
state, alerts, restarts) and ``snapshots()`` for the fleet's /metrics. ``add``/``remove``/
``restart``/``down`` change a running fleet. Restarts are Ray's (``max_restarts``): a killed
process or a removed node brings the actor back on a node with room, and the actor resumes its
show from its store (actor.py). The manager runs in the driver (``fleet up``), with the front.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from ..config import load_config
from .actor import StreamActor
from .config import FleetConfig, StreamSpec
from .placement import GpuPacker, Resources, gpu_bundle, resources_for

log = logging.getLogger("streamhost.fleet")
CALL_TIMEOUT_S = 5.0  # a status call slower than this counts the stream as unreachable


def connect(fc: FleetConfig, log_to_driver: bool = True) -> bool:
    """Join the cluster ``fc.address`` names, or start a local one; True when this call
    started Ray (the caller shuts it down)."""
    import ray

    if ray.is_initialized():
        return False
    common = {"namespace": fc.namespace, "log_to_driver": log_to_driver}
    if fc.address:
        ray.init(address=fc.address, **common)
    else:
        ray.init(num_cpus=fc.num_cpus or os.cpu_count(), include_dashboard=False,
                 object_store_memory=fc.object_store_mb * 2**20, **common)  # fmt: skip
    return True


@dataclass
class Member:
    """One stream of the fleet as the manager sees it."""

    spec: StreamSpec
    res: Resources
    token: str
    actor: Any
    added: float = field(default_factory=time.time)
    status: dict[str, Any] = field(default_factory=dict)
    boot: float | None = None
    restarts: int = 0
    killed_at: float | None = None  # a restart asked for (or a death seen): timing it
    restart_s: list[float] = field(default_factory=list)


class Fleet:
    """Streams in (``FleetConfig.streams``, ``add``); Ray actors out, one per stream."""

    def __init__(self, fc: FleetConfig) -> None:
        self.fc = fc
        self.run_started = time.time()
        self.members: dict[str, Member] = {}
        self.packer = GpuPacker(fc.gpu_streams_per_device)
        self._pgs: dict[str, Any] = {}
        self._remote: Any = None
        self.stopping = False

    def start(self) -> None:
        for spec in self.fc.streams:
            self.add(spec)

    def add(self, spec: StreamSpec) -> Member:
        """Place one stream (its config is checked here, before anything starts)."""
        import ray
        from ray.util.placement_group import placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        if spec.name in self.members:
            raise ValueError(f"stream {spec.name!r} is already in the fleet")
        cfg = load_config(spec.config or None).with_overrides(**spec.overrides)
        res = resources_for(spec, cfg, self.fc.cpus_per_stream, self.fc.gpu_streams_per_device)
        opts: dict[str, Any] = {
            "num_cpus": res.cpus,
            "num_gpus": res.gpus,
            "max_restarts": self.fc.max_restarts,
            "max_task_retries": 0,
        }
        if res.gpus > 0:
            group, new = self.packer.assign(spec.name, res.model)
            if new:
                self._pgs[group.key] = placement_group(
                    [gpu_bundle(self.fc.gpu_streams_per_device, res.cpus)], strategy="STRICT_PACK"
                )
            opts["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                self._pgs[group.key], placement_group_bundle_index=0
            )
        else:
            opts["scheduling_strategy"] = "SPREAD"
        if self._remote is None:
            self._remote = ray.remote(StreamActor)
        token = secrets.token_urlsafe(24)
        actor = self._remote.options(**opts).remote(self._actor_spec(spec, res, token))
        m = self.members[spec.name] = Member(spec, res, token, actor)
        return m

    def _actor_spec(self, spec: StreamSpec, res: Resources, token: str) -> dict[str, Any]:
        return {
            "name": spec.name, "config": spec.config, "overrides": spec.overrides,
            "token": token, "data_dir": self.fc.data_dir, "cpus": res.cpus,
            "run_started": self.run_started, "virtual_clock": self.fc.virtual_clock,
            "duration_s": self.fc.duration_s, "stream_host": self.fc.stream_host,
            "front_ips": self._front_ips(),
        }  # fmt: skip

    def _front_ips(self) -> list[str]:
        """Where the front's proxied requests come from: this (the driver's) node. A stream
        trusts ``X-Forwarded-For`` from there only, so its per-address limits count viewers,
        not the front as one address."""
        import ray

        ips = ["127.0.0.1"]
        try:
            ips.append(ray.util.get_node_ip_address())
        except Exception:  # noqa: BLE001 - no Ray node here (tests): loopback only
            pass
        return list(dict.fromkeys(ips))

    async def remove(self, name: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """Stop one stream cleanly, then free its actor (and its GPU group when empty)."""
        import ray
        from ray.util.placement_group import remove_placement_group

        m = self.members.pop(name)
        final = await self._call(m.actor.stop.remote(timeout_s), timeout_s + 5)
        ray.kill(m.actor, no_restart=True)
        group = self.packer.release(name)
        if group is not None and group.key in self._pgs:
            remove_placement_group(self._pgs.pop(group.key))
        return final or {"name": name, "state": "killed"}

    def restart(self, name: str) -> None:
        """Kill the stream's process; Ray restarts it and it resumes from its store."""
        import ray

        m = self.members[name]
        m.killed_at = time.time()
        ray.kill(m.actor, no_restart=False)

    async def down(self, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        """Stop every stream cleanly (in parallel); their final status rows."""
        self.stopping = True
        names = list(self.members)
        return list(await asyncio.gather(*(self.remove(n, timeout_s) for n in names)))

    # ---- watching ----
    async def _call(self, ref: Any, timeout_s: float = CALL_TIMEOUT_S) -> Any:
        try:
            return await asyncio.wait_for(ref, timeout_s)
        except Exception as e:  # noqa: BLE001 - dead, restarting or slow: the caller reports it
            log.debug("fleet call failed: %r", e)
            return None

    async def poll(self) -> None:
        """Ask every stream for its status; count restarts (a new boot time) and time them."""
        members = list(self.members.values())
        rows = await asyncio.gather(*(self._call(m.actor.status.remote()) for m in members))
        now = time.time()
        for m, row in zip(members, rows, strict=True):
            if row is None:
                m.status = {**m.status, "state": "unreachable"}
                if m.killed_at is None and m.boot is not None:
                    m.killed_at = now  # a death seen from outside: time its recovery from here
                continue
            if m.boot is not None and row["boot"] != m.boot:
                m.restarts += 1
            m.boot = row["boot"]
            if m.killed_at is not None and row["state"] == "running" and row["frames"] > 0 \
                    and row["boot"] > m.killed_at:  # fmt: skip
                m.restart_s.append(now - m.killed_at)
                m.killed_at = None
            m.status = row

    async def watch(self, period_s: float = 1.0) -> None:
        while not self.stopping:
            await self.poll()
            await asyncio.sleep(period_s)

    def status(self) -> list[dict[str, Any]]:
        """One row per stream: the actor's last report plus placement and restarts."""
        out = []
        for name, m in sorted(self.members.items()):
            g = self.packer.group_of(name)
            out.append({**m.status, "name": name, "state": m.status.get("state", "placing"),
                        "cpus": m.res.cpus, "gpus": m.res.gpus, "gpu_group": g.key if g else None,
                        "restarts": m.restarts, "restart_s": [round(x, 2) for x in m.restart_s]})  # fmt: skip
        return out

    async def snapshots(self) -> list[dict[str, Any]]:
        """Every running stream's engine snapshot (unreachable streams are left out)."""
        members = list(self.members.values())
        rows = await asyncio.gather(*(self._call(m.actor.snapshots.remote()) for m in members))
        return [s for r in rows if r for s in r]

    def token_of(self, name: str) -> str:
        return self.members[name].token
