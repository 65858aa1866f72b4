"""What each stream asks of the cluster, and which streams share a GPU.

A stream's config in; its ``Resources`` out: a CPU share, a GPU share when its avatar runs on
CUDA (or TensorRT), and the model it renders with. ``GpuPacker`` groups GPU streams that share
a model, up to ``per_device`` streams a group; the fleet gives each group one Ray placement group
holding one GPU, so streams of one model land on one device and can batch their frames there
(``[avatar] batch_max``). CPU streams are spread over the nodes by Ray (``SPREAD``).

Pure data: nothing here imports Ray, so the plan is testable without a cluster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config
from .config import StreamSpec

GPU_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")


@dataclass(frozen=True)
class Resources:
    """One stream's request: ``cpus`` (a share of a core, Ray logical CPUs), ``gpus`` (a share
    of one device; 0 = CPU only) and ``model`` (the avatar pack: streams with the same key can
    share one loaded model on one GPU)."""

    cpus: float
    gpus: float
    model: str


def uses_gpu(cfg: Config) -> bool:
    """True when the avatar's first choice of execution provider is a GPU one."""
    return bool(cfg.avatar.providers) and cfg.avatar.providers[0] in GPU_PROVIDERS


def resources_for(spec: StreamSpec, cfg: Config, default_cpus: float, per_device: int) -> Resources:
    """The request for ``spec`` (its checked config ``cfg``): explicit ``cpus``/``gpus`` win;
    otherwise the fleet default CPU share and, on CUDA, 1/``per_device`` of a GPU."""
    gpus = spec.gpus
    if gpus is None:
        gpus = 1.0 / per_device if uses_gpu(cfg) else 0.0
    model = str(Path(cfg.avatar.pack).resolve())
    return Resources(spec.cpus if spec.cpus is not None else default_cpus, gpus, model)


def avatar_threads(cpus: float) -> int:
    """ONNX Runtime threads for a stream given ``cpus`` cores: oversubscribing a node's cores
    doubles render time (DESIGN.md), and a fleet packs several streams per node."""
    return max(1, math.floor(cpus))


@dataclass
class GpuGroup:
    """Streams sharing one model on one GPU (one Ray placement group)."""

    key: str
    model: str
    members: set[str] = field(default_factory=set)


class GpuPacker:
    """Stream names in (with their model); a group per (model, device) out, at most
    ``per_device`` streams each, filled before a new one is opened."""

    def __init__(self, per_device: int) -> None:
        self.per_device = per_device
        self.groups: dict[str, GpuGroup] = {}
        self._seq = 0

    def assign(self, name: str, model: str) -> tuple[GpuGroup, bool]:
        """The group ``name`` joins, and whether it is new (the fleet then reserves a GPU)."""
        for g in self.groups.values():
            if g.model == model and len(g.members) < self.per_device:
                g.members.add(name)
                return g, False
        self._seq += 1
        g = GpuGroup(f"gpu-{self._seq}", model, {name})
        self.groups[g.key] = g
        return g, True

    def release(self, name: str) -> GpuGroup | None:
        """Remove ``name``; returns its group if that group is now empty (free its GPU)."""
        for key, g in list(self.groups.items()):
            if name in g.members:
                g.members.discard(name)
                if not g.members:
                    del self.groups[key]
                    return g
                return None
        return None

    def group_of(self, name: str) -> GpuGroup | None:
        return next((g for g in self.groups.values() if name in g.members), None)


def gpu_bundle(per_device: int, cpus_each: float) -> dict[str, float]:
    """The placement-group bundle of one GPU group: the device and its streams' CPU shares."""
    return {"GPU": 1.0, "CPU": per_device * cpus_each}


def describe(resources: dict[str, Resources], packer: GpuPacker) -> list[dict[str, Any]]:
    """The plan as rows (``fleet status``, tests): name, cpus, gpus, GPU group."""
    rows = []
    for name, r in sorted(resources.items()):
        g = packer.group_of(name)
        rows.append({"name": name, "cpus": r.cpus, "gpus": r.gpus,
                     "gpu_group": g.key if g else None})  # fmt: skip
    return rows
