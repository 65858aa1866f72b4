"""The morning report as one self-contained HTML page: a ``Night`` and its figures in, text out.

Every value from the store goes through ``escape`` (chat text, user names, reasons, operator
arguments are untrusted); figures are base64 PNGs in ``<img>``. The page has no scripts and no
outside references, and fits a phone: tables wrap long words instead of widening the page.
"""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from .gather import Night, Span

LIST_MAX = 200  # rows per list; the rest are counted, not shown

CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;
 padding:12px;max-width:980px;color:#222;background:#fff}
h1{font-size:1.35em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;
 border-bottom:1px solid #ddd}
.sub{color:#666;font-size:.9em}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:8px}
.tile{border:1px solid #ddd;border-radius:6px;padding:6px 8px}
.tile b{display:block;font-size:1.25em}.tile span{color:#666;font-size:.85em}
.bad b{color:#c0392b}
figure{margin:.6em 0}figure img{max-width:100%;height:auto;display:block}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.88em;margin:.3em 0}
th,td{border-bottom:1px solid #eee;padding:3px 5px;text-align:left;vertical-align:top;
 overflow-wrap:anywhere}
td.n,th.n{text-align:right;white-space:nowrap}td.k{white-space:nowrap}
.more{color:#666;font-size:.85em}
@media print{body{max-width:none}h2{break-after:avoid}figure{break-inside:avoid}}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    return f"{h}h {rem // 60:02d}m" if h else f"{rem // 60}m {rem % 60:02d}s"


def clock(ts: float) -> str:
    """A table's time: weekday and time of day (the page's header has the dates)."""
    return time.strftime("%a %H:%M:%S", time.localtime(ts))


def cell(value: Any) -> str:
    # Break opportunities after underscores keep names like received_to_first_packet_out
    # whole on a phone instead of split at any letter.
    return esc(value).replace("_", "_<wbr>")


def table(
    head: Sequence[str],
    rows: Iterable[Sequence[Any]],
    numeric: Sequence[int] = (),
    keep: Sequence[int] = (0,),
) -> str:
    """An escaped table; columns in ``numeric`` align right, those in ``keep`` (short ones:
    times, kinds) never wrap, the rest wrap anywhere rather than widen the page."""
    rows = list(rows)
    if not rows:
        return '<p class="sub">none</p>'
    cls = [
        ' class="n"' if i in numeric else ' class="k"' if i in keep else ""
        for i in range(len(head))
    ]
    out = ['<div class="wrap"><table><thead><tr>']
    out += [f"<th{c}>{esc(h)}</th>" for h, c in zip(head, cls, strict=True)]
    out.append("</tr></thead><tbody>")
    for r in rows[:LIST_MAX]:
        out.append("<tr>" + "".join(f"<td{c}>{cell(v)}</td>" for v, c in zip(r, cls, strict=True))
                   + "</tr>")  # fmt: skip
    out.append("</tbody></table></div>")
    if len(rows) > LIST_MAX:
        out.append(f'<p class="more">… and {len(rows) - LIST_MAX} more</p>')
    return "".join(out)


def figure(name: str, png: bytes | None, alt: str) -> str:
    if png is None:
        return f'<p class="sub">no data for this figure ({esc(alt)})</p>'
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img class="plot" data-figure="{esc(name)}" alt="{esc(alt)}"'
            f' src="data:image/png;base64,{data}"></figure>')  # fmt: skip


def tile(label: str, value: Any, bad: bool = False) -> str:
    return f'<div class="tile{" bad" if bad else ""}"><b>{esc(value)}</b><span>{esc(label)}</span></div>'


def fields_text(fields: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
        for k, v in fields.items()
    )


def spans(rows: list[Span]) -> str:
    return table(("from", "to", "length", "what"),
                 ((clock(s.start), clock(s.end), duration(s.seconds), s.what) for s in rows),
                 numeric=(2,), keep=(0, 1))  # fmt: skip


def render(night: Night, figures: dict[str, bytes | None]) -> str:
    n = night
    up = n.uptime_pct
    window = (f"{when(n.start)} – {when(n.end)} ({time.strftime('%Z')})" if n.end
              else "nothing recorded in this window")  # fmt: skip
    since = f" · since {when(n.since)}" if n.since else ""
    lost = n.late_frames + n.dropped_frames
    gifts_n = sum(c for c, _ in n.gift_totals.values())
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>Morning report: {esc(n.stream)}</title><style>{CSS}</style></head><body>",
        f"<h1>Morning report: {esc(n.stream)}</h1>",
        f'<p class="sub">{esc(window)}{esc(since)} · made {esc(when(time.time()))}</p>',
        '<div class="tiles">',
        tile(
            "uptime", f"{up:.1f} %" if up is not None else "n/a", bad=up is not None and up < 99.0
        ),  # fmt: skip
        tile("on air", duration(n.on_air_s)),
        tile("outages", len(n.outages), bad=bool(n.outages)),
        tile("frames sent", f"{n.frames:,}"),
        tile("frames late or dropped", f"{lost:,}", bad=lost > 0),
        tile("max |A/V offset|", f"{n.av_offset_max_ms:.0f} ms", bad=n.av_offset_max_ms > 40),
        tile("lines said", n.sentences),
        tile("chat events", n.chat_total),
        tile("answered on air", n.replied),
        tile(
            "unanswered questions",
            n.questions.get("unanswered", 0),
            bad=bool(n.questions.get("unanswered")),
        ),  # fmt: skip
        tile("gifts and purchases", gifts_n),
        tile("alerts", len(n.alerts), bad=bool(n.alerts)),
        "</div>",
        "<h2>Uptime and outages</h2>",
        f"<p>{len(n.runs)} run(s) of the engine; RTMP outputs down for"
        f" {esc(duration(n.rtmp_down_s))} in all; {n.stalls} stall(s) of the AV clock"
        f" (frames skipped); {n.late_frames:,} late and {n.dropped_frames:,} dropped frames.</p>",
        spans(n.outages),
        figure("health", figures.get("health"), "frames lost, A/V offset, viewers, memory"),
        "<h2>Latency per stage (ms)</h2>",
        figure("latency", figures.get("latency"), "latency percentiles per stage"),
        table(
            ("stage", "n", "p50", "p95", "p99", "max"),
            (
                (r.key, r.count, f"{r.p50:.0f}", f"{r.p95:.0f}", f"{r.p99:.0f}", f"{r.max:.0f}")
                for r in n.latency
            ),
            numeric=(1, 2, 3, 4, 5),
        ),  # fmt: skip
        "<h2>Chat</h2>",
        figure("chat", figures.get("chat"), "chat volume per 10 minutes"),
        table(("decision", "events"), n.decisions.most_common(), numeric=(1,)),
        table(("kind", "events"), n.chat_kinds.most_common(), numeric=(1,)),
        "<h2>Questions</h2>",
        f"<p>{n.replied} chat event(s) answered on air; {sum(n.questions.values())} question(s)"
        " handed to the operator.</p>",
        figure("questions", figures.get("questions"), "questions by outcome"),
        table(("state", "questions"), sorted(n.questions.items()), numeric=(1,)),
        "<h3>Unanswered (promised a reply in the comments)</h3>",
        table(("asked", "viewer", "question"), ((clock(w), u, t) for w, u, t in n.unanswered)),
        "<h2>Purchases and gifts</h2>",
        table(
            ("kind", "currency", "events", "amount"),
            (
                (k, c or "-", cnt, f"{amt:g}")
                for (k, c), (cnt, amt) in sorted(n.gift_totals.items())
            ),
            numeric=(2, 3),
        ),  # fmt: skip
        table(
            ("time", "kind", "viewer", "item", "amount", "message"),
            (
                (
                    clock(g["wall_time"]),
                    g["kind"],
                    g["user"],
                    g["item"],
                    f"{g['amount']:g} {g['currency']}".strip(),
                    g["text"],
                )
                for g in n.gifts
            ),
        ),  # fmt: skip
        "<h2>Moderation</h2>",
        "<h3>Chat blocked</h3>",
        table(("reason", "events"), n.blocked.most_common(), numeric=(1,)),
        table(
            ("time", "viewer", "message", "reason"),
            ((clock(w), u, t, r) for w, u, t, r in n.blocked_rows),
        ),  # fmt: skip
        "<h3>Host lines stopped by the guard</h3>",
        table(("reason", "lines"), n.guard.most_common(), numeric=(1,)),
        table(("time", "reason", "line"), ((clock(w), r, t) for w, r, t in n.guard_rows)),
        "<h2>Alerts</h2>",
        table(("time", "kind", "details"), ((clock(w), k, fields_text(f)) for w, k, f in n.alerts)),
        "<h2>Operator actions</h2>",
        table(("operator", "actions"), n.operators.most_common(), numeric=(1,)),
        table(
            ("time", "operator", "action", "arguments", "ok", "detail"),
            (
                (clock(w), a, c, args, "yes" if ok else "no", d)
                for w, a, c, args, ok, d in n.actions
            ),
        ),  # fmt: skip
        "</body></html>",
    ]
    return "\n".join(parts)
