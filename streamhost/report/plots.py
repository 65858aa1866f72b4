"""The report's figures: a ``Night`` in, PNG bytes out (matplotlib, Agg, no pyplot state).

PNG rather than inline SVG: an SVG would carry the data's text (user names, reasons) as markup
inside the page; a picture carries none, and it prints the same into the PDF.
"""

from __future__ import annotations

import io
from datetime import datetime

from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

from .gather import CHAT_BUCKET_S, Night

DPI = 150  # sharp on a phone screen (2-3 device pixels per CSS pixel)
WIDTH_IN = 6.4  # inches: small enough that its text stays readable scaled down to a phone
# Colours per chat decision (others get the cycle's): readable in print and for common
# colour-vision deficiencies (blue/orange contrast, red only with a label).
DECISION_COLOURS = {
    "queued": "#1f77b4", "merged": "#9ecae1", "ignored": "#bdbdbd", "held": "#ff7f0e",
    "blocked": "#d62728", "rate_limited": "#8c564b", "dropped_flood": "#7f7f7f",
}  # fmt: skip


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts)


def _time_axis(ax) -> None:  # type: ignore[no-untyped-def]
    loc = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))


def health_png(night: Night) -> bytes | None:
    """Frames lost per sample, A/V offset, viewers and RSS over the night; outages shaded."""
    if not night.health:
        return None
    h = night.health
    x = [_when(r["wall_time"]) for r in h]
    fig = Figure(figsize=(WIDTH_IN, 6.4))
    axes = fig.subplots(4, 1, sharex=True)
    series = (
        ("frames late or dropped\nper sample", [r["lost"] for r in h], "#d62728"),
        ("A/V offset (ms)", [r["av_offset_ms"] for r in h], "#1f77b4"),
        ("WebRTC viewers", [r["viewers"] for r in h], "#2ca02c"),
        ("RSS (MB)", [r["rss_mb"] for r in h], "#9467bd"),
    )
    for ax, (label, ys, colour) in zip(axes, series, strict=True):
        ax.plot(x, ys, color=colour, linewidth=1.2, marker="." if len(x) < 60 else None)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
        for o in night.outages:
            ax.axvspan(_when(o.start), _when(o.end), color="#ffbb78", alpha=0.5, linewidth=0)
    _time_axis(axes[-1])
    axes[0].set_title("Health (shaded: outages)", fontsize=10)
    return _png(fig)


def latency_png(night: Night) -> bytes | None:
    """p50 / p95 / p99 per stage (ms), horizontal bars, the slowest at the top."""
    if not night.latency:
        return None
    rows = night.latency[::-1]
    fig = Figure(figsize=(WIDTH_IN, 0.45 * len(rows) + 1.2))
    ax = fig.subplots()
    y = range(len(rows))
    for off, (name, colour) in enumerate((("p50", "#1f77b4"), ("p95", "#ff7f0e"),
                                          ("p99", "#d62728"))):  # fmt: skip
        ax.barh([i + (off - 1) * 0.27 for i in y], [getattr(r, name) for r in rows],
                height=0.27, color=colour, label=name)  # fmt: skip
    ax.set_yticks(list(y), [r.key for r in rows], fontsize=8)
    ax.set_xlabel("ms")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Latency per stage", fontsize=10)
    return _png(fig)


def chat_png(night: Night) -> bytes | None:
    """Chat events per 10 minutes, stacked by decision."""
    if not night.chat_buckets:
        return None
    buckets = sorted(night.chat_buckets)
    decisions = [d for d, _ in night.decisions.most_common()]
    x = [_when(b + CHAT_BUCKET_S / 2) for b in buckets]
    width = CHAT_BUCKET_S / 86400 * 0.9  # bar width in days (matplotlib's date unit)
    fig = Figure(figsize=(WIDTH_IN, 3.2))
    ax = fig.subplots()
    bottom = [0] * len(buckets)
    for d in decisions:
        ys = [night.chat_buckets[b].get(d, 0) for b in buckets]
        ax.bar(x, ys, width=width, bottom=bottom, label=d, color=DECISION_COLOURS.get(d))
        bottom = [a + b for a, b in zip(bottom, ys, strict=True)]
    _time_axis(ax)
    ax.set_ylabel("events / 10 min")
    ax.legend(
        fontsize=8, ncol=min(4, len(decisions)), loc="upper center", bbox_to_anchor=(0.5, -0.12)
    )
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("Chat volume by decision", fontsize=10)
    return _png(fig)


def questions_png(night: Night) -> bytes | None:
    """Questions handed to the operator by outcome, beside chat answered on air."""
    bars = {"answered on air": night.replied}
    bars.update({f"operator: {k}": v for k, v in sorted(night.questions.items())})
    if not any(bars.values()):
        return None
    fig = Figure(figsize=(WIDTH_IN, 0.4 * len(bars) + 1.0))
    ax = fig.subplots()
    ax.barh(list(bars)[::-1], list(bars.values())[::-1], color="#1f77b4")
    for i, v in enumerate(list(bars.values())[::-1]):
        ax.text(v, i, f" {v}", va="center", fontsize=8)
    ax.set_xlabel("count")
    ax.set_title("Questions and answers", fontsize=10)
    return _png(fig)


FIGURES = {
    "health": health_png,
    "latency": latency_png,
    "chat": chat_png,
    "questions": questions_png,
}
