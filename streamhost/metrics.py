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
            "chat_blocked": "chat events blocked by moderation",
            "sentences": "sentences committed to air",
            "stage_restarts": "pipeline stage restarts",
            "stale_questions": "questions dropped as too old to answer",
            "guard_rejections": "generated sentences stopped by the guard",
            "llm_failures": "LLM requests that failed (templates took over)",
        }
        gauges = {
            "viewers": "connected WebRTC viewers",
            "speech_buffered_seconds": "speech queued ahead of the wire",
            "render_ms_p50": "render + composite ms per frame (recent median)",
            "rtmp_live": "RTMP outputs currently live",
            "media_time_seconds": "stream media clock",
            "chat_queue": "chat items waiting in triage",
        }
        for key, doc in counters.items():
            fam = CounterMetricFamily(f"streamhost_{key}", doc, labels=["stream"])
            for s in snaps:
                fam.add_metric([s["stream"]], float(s.get(key, 0)))
            yield fam
        # One family per chat-source health field: (name, help, kind, value of a health dict).
        labels = ["stream", "source", "platform"]
        fams = [
            (kind(f"streamhost_chat_source_{name}", doc, labels=labels), value)
            for name, doc, kind, value in (
                ("events", "events read per chat source", CounterMetricFamily,
                 lambda h: h["events"]),
                ("rejected", "bad inputs rejected per chat source", CounterMetricFamily,
                 lambda h: h["rejected"]),
                ("reconnects", "reconnects per chat source", CounterMetricFamily,
                 lambda h: h["reconnects"]),
                ("up", "1 while a chat source is live", GaugeMetricFamily,
                 lambda h: 1.0 if h["state"] == "live" else 0.0),
            )
        ]  # fmt: skip
        for s in snaps:
            for h in s.get("chat_sources", []):
                for fam, value in fams:
                    fam.add_metric([s["stream"], h["name"], h["platform"]], value(h))
        yield from (fam for fam, _ in fams)
        for key, doc in gauges.items():
            fam = GaugeMetricFamily(f"streamhost_{key}", doc, labels=["stream"])
            for s in snaps:
                fam.add_metric([s["stream"]], float(s.get(key, 0)))
            yield fam
        # Rolling-window percentiles from the traces (see trace.py): a summary per stage.
        lat = GaugeMetricFamily(
            "streamhost_latency_ms",
            "stage latency percentile over the budget window (step from the previous stage, or "
            "received_to_<stage>)",
            labels=["stream", "stage", "quantile"],
        )
        lat_n = GaugeMetricFamily(
            "streamhost_latency_samples",
            "trace samples in the latency window",
            labels=["stream", "stage"],
        )
        for s in snaps:
            for stage, v in s.get("latency", {}).items():
                lat.add_metric([s["stream"], stage, "0.5"], v["p50"])
                lat.add_metric([s["stream"], stage, "0.95"], v["p95"])
                lat_n.add_metric([s["stream"], stage], v["count"])
        yield from (lat, lat_n)


def make_registry(snapshots: Callable[[], list[dict[str, Any]]]) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StreamsCollector(snapshots))
    return reg


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
