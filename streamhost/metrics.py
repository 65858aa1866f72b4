"""Prometheus exposition for running streams.

Read at scrape time from the streams' own counters (a custom collector), so the per-frame path
does no metrics work at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StreamsCollector(Collector):
    """Snapshots in (one dict per stream from ``snapshot()``), metric families out."""

    def __init__(self, snapshots: Callable[[], list[dict[str, Any]]]) -> None:
        self._snapshots = snapshots

    def collect(self) -> Iterable[Any]:
        snaps = self._snapshots()
        counters = {
            "frames": "AV frames produced",
            "late_frames": "ticks that started more than one frame late",
            "encoder_dropped": "frames dropped before encoding",
            "chat_accepted": "chat events accepted",
            "chat_rejected": "chat events rejected as malformed or oversized",
            "sentences": "sentences committed to air",
            "stage_restarts": "pipeline stage restarts",
            "stale_questions": "questions dropped as too old to answer",
        }
        gauges = {
            "viewers": "connected WebRTC viewers",
            "speech_buffered_seconds": "speech queued ahead of the wire",
            "render_ms_p50": "render + composite ms per frame (recent median)",
            "rtmp_live": "RTMP outputs currently live",
            "media_time_seconds": "stream media clock",
        }
        for key, doc in counters.items():
            fam = CounterMetricFamily(f"streamhost_{key}", doc, labels=["stream"])
            for s in snaps:
                fam.add_metric([s["stream"]], float(s.get(key, 0)))
            yield fam
        for key, doc in gauges.items():
            fam = GaugeMetricFamily(f"streamhost_{key}", doc, labels=["stream"])
            for s in snaps:
                fam.add_metric([s["stream"]], float(s.get(key, 0)))
            yield fam


def make_registry(snapshots: Callable[[], list[dict[str, Any]]]) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StreamsCollector(snapshots))
    return reg


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
