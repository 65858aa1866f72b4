"""fleet.toml: where the Ray cluster is, the fleet's HTTP front, and the streams to run.

A TOML file in; a frozen ``FleetConfig`` out (or ``ConfigError`` naming every bad key, its value
and what is allowed). Each ``[[stream]]`` names an ordinary streamhost config plus optional
overrides; relative paths are read against the fleet file's folder::

    [fleet]
    address = ""          # "" = start a local Ray; "auto"; "ray://head:10001"
    data_dir = "data"     # every stream's store (shared storage when nodes are machines)

    [front]
    port = 8090

    [[stream]]
    name = "shop-a"
    config = "shop-a.toml"
    cpus = 0.5
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..problems import ConfigError

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class StreamSpec:
    """One stream of the fleet: its streamhost config (path, "" = embedded defaults), config
    overrides (section -> keys), and resources: ``cpus`` (None = the fleet default) and
    ``gpus`` (None = one GPU share when the avatar runs on CUDA, else 0)."""

    name: str
    config: str = ""
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    cpus: float | None = None
    gpus: float | None = None


@dataclass(frozen=True)
class FleetConfig:
    """The fleet: Ray connection and limits, placement defaults, the front, the streams."""

    address: str = ""
    num_cpus: int = 0  # local cluster only; 0 = every core of this machine
    object_store_mb: int = 256  # Ray's default is 30 % of RAM: capped
    namespace: str = "streamhost"
    data_dir: str = "data"
    virtual_clock: bool = False
    duration_s: float = 0.0  # 0 = until `fleet down`
    max_restarts: int = -1  # per stream actor; -1 = always restart
    cpus_per_stream: float = 0.5
    gpu_streams_per_device: int = 8  # streams sharing one model packed onto one GPU
    stream_host: str = "node"  # where each stream's own HTTP app listens: "node" = the node IP
    front_host: str = "127.0.0.1"
    front_port: int = 8090
    token: str = ""  # operator token for the front; STREAMHOST_FLEET_TOKEN overrides
    streams: tuple[StreamSpec, ...] = ()
    source: str = "dict"

    def stream(self, name: str) -> StreamSpec | None:
        return next((s for s in self.streams if s.name == name), None)


_FLEET_KEYS: dict[str, tuple[Any, str]] = {
    "address": (lambda v: isinstance(v, str) and (v in ("", "auto") or v.startswith("ray://")
                                                  or ":" in v), '"", "auto", "ray://HOST:PORT" or HOST:PORT'),
    "num_cpus": (lambda v: _int(v) and 0 <= v <= 4096, "an integer 0..4096 (0 = all cores)"),
    "object_store_mb": (lambda v: _int(v) and 64 <= v <= 1 << 20, "an integer >= 64 (MB)"),
    "namespace": (lambda v: isinstance(v, str) and NAME.match(v), "a name of letters, digits, - and _"),
    "data_dir": (lambda v: isinstance(v, str) and v.strip() != "", "a folder path"),
    "virtual_clock": (lambda v: isinstance(v, bool), "true or false"),
    "duration_s": (lambda v: _num(v) and v >= 0, "a number of seconds >= 0 (0 = until down)"),
    "max_restarts": (lambda v: _int(v) and v >= -1, "an integer >= -1 (-1 = always)"),
    "cpus_per_stream": (lambda v: _num(v) and 0.01 <= v <= 256, "a number of cores 0.01..256"),
    "gpu_streams_per_device": (lambda v: _int(v) and 1 <= v <= 1024, "an integer 1..1024"),
    "stream_host": (lambda v: isinstance(v, str) and v.strip() != "",
                    '"node" (the node\'s IP) or an interface address'),
}  # fmt: skip
_FRONT_KEYS: dict[str, tuple[Any, str]] = {
    "host": (lambda v: isinstance(v, str) and v.strip() != "", "an interface address"),
    "port": (lambda v: _int(v) and 0 <= v <= 65535, "a port 0..65535 (0 = any free port)"),
    "token": (lambda v: isinstance(v, str), "a string (empty = generated at start)"),
}
_STREAM_KEYS: dict[str, tuple[Any, str]] = {
    "name": (lambda v: isinstance(v, str) and NAME.match(v), "a name of letters, digits, - and _"),
    "config": (lambda v: isinstance(v, str), "a streamhost config path (empty = defaults)"),
    "overrides": (lambda v: isinstance(v, dict) and all(isinstance(t, dict) for t in v.values()),
                  "a table of config sections, e.g. [stream.overrides.output]"),
    "cpus": (lambda v: _num(v) and 0.01 <= v <= 256, "a number of cores 0.01..256"),
    "gpus": (lambda v: _num(v) and 0 <= v <= 64, "a number of GPUs 0..64 (fractions share one)"),
}  # fmt: skip


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _checked(table: Any, keys: dict[str, tuple[Any, str]], where: str,
             problems: list[str]) -> dict[str, Any]:  # fmt: skip
    if not isinstance(table, dict):
        problems.append(f"[{where}]: must be a table")
        return {}
    out: dict[str, Any] = {}
    for k, v in table.items():
        if k not in keys:
            problems.append(f"{where}.{k}: unknown key; allowed: {', '.join(keys)}")
        elif not keys[k][0](v):
            problems.append(f"{where}.{k} = {v!r}: must be {keys[k][1]}")
        else:
            out[k] = v
    return out


def parse_stream(table: Any, where: str, base: Path | None,
                 problems: list[str]) -> StreamSpec | None:  # fmt: skip
    """One ``[[stream]]`` table (also what ``fleet add`` sends) -> a spec, or None with
    problems. The streamhost config it names is loaded to check it, with its overrides."""
    from ..config import load_config

    n = len(problems)
    t = _checked(table, _STREAM_KEYS, where, problems)
    if "name" not in t and isinstance(table, dict) and "name" not in table:
        problems.append(f"{where}.name: missing; every stream needs a name")
    if len(problems) > n:
        return None
    path = t.get("config", "")
    if path and base is not None and not Path(path).is_absolute():
        path = str((base / path).resolve())
    try:
        load_config(path or None).with_overrides(**t.get("overrides", {}))
    except ConfigError as e:
        problems.extend(f"{where} ({t['name']}): {p}" for p in e.problems)
        return None
    return StreamSpec(t["name"], path, t.get("overrides", {}), t.get("cpus"), t.get("gpus"))


def fleet_from_dict(data: dict[str, Any], base: Path | None = None,
                    source: str = "dict") -> FleetConfig:  # fmt: skip
    """A fleet config as a dict (tests, the CLI) -> ``FleetConfig``; paths against ``base``."""
    problems: list[str] = []
    for k in data:
        if k not in ("fleet", "front", "stream"):
            problems.append(f"[{k}]: unknown section; allowed: fleet, front, stream")
    fleet = _checked(data.get("fleet", {}), _FLEET_KEYS, "fleet", problems)
    front = _checked(data.get("front", {}), _FRONT_KEYS, "front", problems)
    raw = data.get("stream", [])
    if not isinstance(raw, list):
        problems.append("[[stream]]: must be an array of tables")
        raw = []
    streams: list[StreamSpec] = []
    for i, table in enumerate(raw):
        spec = parse_stream(table, f"stream[{i}]", base, problems)
        if spec is not None:
            if any(s.name == spec.name for s in streams):
                problems.append(f"stream[{i}].name = {spec.name!r}: used twice; names are unique")
            streams.append(spec)
    if problems:
        raise ConfigError(problems, source)
    data_dir = Path(os.environ.get("STREAMHOST_DATA_DIR") or fleet.get("data_dir", "data"))
    if not data_dir.is_absolute() and base is not None:
        data_dir = base / data_dir
    fleet["data_dir"] = str(data_dir.resolve())
    token = os.environ.get("STREAMHOST_FLEET_TOKEN") or front.get("token", "")
    return FleetConfig(
        **fleet, front_host=front.get("host", "127.0.0.1"), front_port=front.get("port", 8090),
        token=token, streams=tuple(streams), source=source,
    )  # fmt: skip


def load_fleet(path: str | Path) -> FleetConfig:
    """Load and check a fleet.toml (every problem at once, as ``ConfigError``)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError([f"fleet file {str(p)!r} does not exist"], str(p))
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError([f"not valid TOML: {e}"], str(p)) from None
    return fleet_from_dict(data, base=p.resolve().parent, source=str(p))
