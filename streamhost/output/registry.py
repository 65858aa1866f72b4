"""Outputs a stream can feed: one row per sink type, each a ``PacketSink`` of the encoder.

``[output]`` in the config names the common ones directly (``record``, ``rtmp``, ``webrtc``);
``[[output.sinks]]`` tables add any registered type. ``build_sinks`` attaches them all to the
stream's one encoder and returns them by type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..registry import Param, Plugin, Registry, is_bool, is_int_in, is_nonempty, is_url

SINKS = Registry(
    "output",
    {
        "record": Plugin(
            "streamhost.output.recorder:Mp4Recorder",
            {
                "path": Param(is_nonempty, "an .mp4 path", required=True, path=True),
                "fragmented": Param(is_bool, "true or false"),
                "segment_s": Param(
                    lambda v: v == 0 or is_int_in(10, 86400)(v), "0 (one file) or 10..86400"
                ),
            },
            "an MP4 recording (fragmented: crash-safe, no index growing in memory)",
        ),
        "rtmp": Plugin(
            "streamhost.output.rtmp:RtmpPusher",
            {
                "url": Param(is_url("rtmp", "rtmps"), "an rtmp:// or rtmps:// URL", required=True),
                "queue_packets": Param(is_int_in(10, 100000), "an integer 10..100000"),
            },
            "push to a platform's ingest or a media server, reconnecting with backoff",
        ),
        "webrtc": Plugin(
            "streamhost.output.webrtc:WebRtcHub",
            {"max_viewers": Param(is_int_in(1, 10000), "an integer 1..10000")},
            "low-latency viewers over WebRTC (pre-encoded packets; one encoder for all)",
        ),
    },
)


def output_tables(out: Any) -> list[dict[str, Any]]:
    """The sink tables an ``[output]`` section asks for (its shorthand keys, then its
    ``[[output.sinks]]`` tables), in the order they are attached."""
    tables: list[dict[str, Any]] = []
    if out.record:
        tables.append({"type": "record", "path": out.record, "fragmented": out.record_fragmented,
                       "segment_s": out.record_segment_s})  # fmt: skip
    tables += [{"type": "rtmp", "url": u} for u in out.rtmp]
    if out.webrtc:
        tables.append({"type": "webrtc"})
    return tables + [dict(t) for t in out.sinks]


def sink_problems(sinks: Any, base: Path | None) -> tuple[list[str], list[dict[str, Any]]]:
    """Validate ``output.sinks``; returns (problems, normalized tables)."""
    if not isinstance(sinks, list | tuple):
        return [f"output.sinks = {sinks!r}: must be a list of tables ([[output.sinks]])"], []
    problems: list[str] = []
    out: list[dict[str, Any]] = []
    for i, table in enumerate(sinks):
        more, clean = SINKS.check(table, f"output.sinks[{i}]", base)
        problems.extend(more)
        if clean is not None:
            out.append(clean)
    return problems, out


@dataclass
class Sinks:
    """The running sinks of one stream, by type (the engine watches RTMP, HTTP serves WebRTC)."""

    all: list[Any] = field(default_factory=list)

    def of(self, typ: str) -> list[Any]:
        cls = SINKS.cls(typ)
        return [s for s in self.all if isinstance(s, cls)]

    def first(self, typ: str) -> Any:
        found = self.of(typ)
        return found[0] if found else None


def build_sinks(tables: list[dict[str, Any]], encoder: Any, provenance: Any = None) -> Sinks:
    """Make each sink and attach it to ``encoder`` (a recording's folder is created).
    ``provenance`` (output/provenance.py) labels recordings and RTMP and signs recordings."""
    sinks = Sinks()
    for t in tables:
        if t["type"] == "record":
            Path(t["path"]).parent.mkdir(parents=True, exist_ok=True)
        labelled = provenance is not None and t["type"] in ("record", "rtmp")
        sink = SINKS.build(t, provenance=provenance) if labelled else SINKS.build(t)
        encoder.add_sink(sink)
        sinks.all.append(sink)
    return sinks
