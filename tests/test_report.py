"""The morning report (issue 19, item 4): ``streamhost report`` reads a night from the store.

A night is written into a real SQLite store through the Store API (two engine runs with an
off-air gap, a frozen minute, an RTMP outage, chat of every decision with gifts and hostile
text, questions, guard rejections, alerts, two operators, traces), then its wall times are
set to a fixed evening so windows and buckets are exact. The figures must match the store,
``--since`` must cut the night, hostile text must come out escaped, and the page must render
in headless Chromium with its plots (non-zero size) and no sideways scrolling at 390 px. One
short virtual-clock stream checks the engine's own rows (health, alerts, totals)."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from chromium import chromium_page, require_chromium
from conftest import running_engine

from streamhost.cli import main as cli_main
from streamhost.frames import ChatEvent, Sentence
from streamhost.report import ReportError, gather, parse_since, write_report
from streamhost.store import HEALTH_COLUMNS, Store

BASE = datetime(2026, 12, 2, 22, 0).timestamp()  # the night starts at 22:00 local time
HOSTILE_USER = '<img src=x onerror="window.__pwned=1">'
HOSTILE_TEXT = "</td></table><script>window.__pwned=2</script>"
FPS = 25


def _health(run: list[float], late_at: float = -1, drop_at: float = -1,
            down: tuple[float, float] = (-1, -1), skip: tuple[float, float] = (-1, -1),
            offset: dict[float, float] | None = None) -> list[dict]:  # fmt: skip
    """Samples of one run at media seconds ``run`` (wall times set later, per run)."""
    rows = []
    for m in run:
        if skip[0] < m < skip[1]:
            continue
        rows.append({
            "media_time": m, "frames": int(m * FPS), "late_frames": 3 if m >= late_at >= 0 else 0,
            "stalls": 0, "encoder_dropped": 2 if m >= drop_at >= 0 else 0,
            "av_offset_ms": (offset or {}).get(m, 0.0),
            "rtmp": "reconnecting" if down[0] <= m < down[1] else "live",
            "rtmp_reconnects": 1 if m >= down[0] >= 0 else 0, "viewers": 2, "rss_mb": 300.0,
            "cpu": 0.4,
        })  # fmt: skip
    return rows


def fill_night(data: Path) -> dict:
    """Write the night; returns what the test knows about it."""
    st = Store(data, "shop")
    # Run 1: media 1..601, RTMP down at 201..241; run 2 starts at wall +900: media 1..301,
    # no sample between media 101 and 161 (a frozen minute).
    run1 = _health([1.0 + 10 * i for i in range(61)], late_at=301, drop_at=401,
                   down=(201, 241), offset={51.0: 35.0, 61.0: -52.0})  # fmt: skip
    run2 = _health([1.0 + 10 * i for i in range(31)], skip=(101, 161))
    for h in run1:
        st.add_health({**h, "wall_time": BASE + h["media_time"]})
    for h in run2:
        st.add_health({**h, "wall_time": BASE + 900 + h["media_time"]})
    ev = {}
    chat = [  # (media s, kind, user, text, decision, reason, extras)
        (10, "comment", "anna", "how much is the kettle?", "queued", "ok", {}),
        (20, "comment", "ben", "does it come in red?", "queued", "ok", {}),
        (25, "comment", "ben", "does it come in red?", "merged", "dedupe", {}),
        (30, "like", "cara", "", "ignored", "like", {}),
        (40, "comment", HOSTILE_USER, HOSTILE_TEXT, "blocked", "blocklist:en:idiot", {}),
        (700, "comment", "dan", "you idiot", "blocked", "blocklist:en:idiot", {}),
        (710, "gift", "eve", "", "queued", "ok", {"amount": 100.0, "currency": "bits"}),
        (950, "gift", "fay", "love it", "queued", "ok",
         {"amount": 5.0, "currency": "USD", "item": "superchat"}),
        (960, "purchase", "gus", "", "queued", "ok",
         {"amount": 1.0, "currency": "sub", "item": "1000"}),
        (970, "comment", "hal", "where do you ship?", "held", "nobody_in_charge", {}),
        (980, "comment", "ivy", "is it dishwasher safe?", "queued", "ok", {}),
    ]  # fmt: skip
    for t, kind, user, text, decision, reason, extras in chat:
        e = ChatEvent(user=user, text=text, kind=kind, received_at=t, **extras)
        ev[t] = e
        st.add_chat(e, decision, reason)
    st.flush()
    for t, reply in ((15, ev[10]), (27, ev[20]), (990, ev[980]), (50, None)):
        st.add_sentence(Sentence("a line", "template", reply_to=reply), t, 2.0)
    for qid, (t, user, text, state) in enumerate(
        [(12, "anna", "colours?", "answered"), (45, "joe", HOSTILE_TEXT, "unanswered"),
         (985, "kim", "warranty?", "open")], start=1,
    ):  # fmt: skip
        st.put_question({"question": qid, "trace_id": f"q{qid}", "user": user, "text": text,
                         "lang": "en", "asked_at": t, "state": state, "answer": None,
                         "closed_at": None})  # fmt: skip
    for t, reason in ((60, "price_mismatch:19 euros 90"), (70, "price_mismatch:5"),
                      (1000, "claim:waterproof")):  # fmt: skip
        st.add_rejection(Sentence("It costs 19 euros 90.", "llm"), reason, t)
    st.add_alert("rtmp_down", {"output": 0, "url": "rtmp://x/***", "down_s": 5.0}, 206)
    st.add_alert("stage_restart", {"stage": "director", "error": "<b>boom</b>"}, 950)
    st.add_audit("alice", "ban", {"user": "troll"}, True, "", 35)
    st.add_audit("bob", "say", {"text": "<i>hi</i>"}, True, "", 45)
    st.add_audit("alice", "pause", {}, False, "not allowed", 960)
    # Traces: received -> first packet out of i * 100 ms (i = 1..10), and one filler line
    # that starts at text_ready (steps only, no from-received figure).
    rows = [(f"t{i}", f"u{i}", "chat", BASE + 100 + i, 100.0, 100.0 + 0.001 * i, 100.02,
             100.03, 100.04, 100.0 + 0.1 * i) for i in range(1, 11)]  # fmt: skip
    rows.append(("f", "f", "filler", BASE + 990, None, None, 990.0, 990.2, 990.3, 990.35))
    st.write_traces(rows)
    st.close()
    db = sqlite3.connect(data / "shop.sqlite")  # a fixed evening: wall = 22:00 + media time
    for table, col in (("chat", "media_time"), ("transcript", "media_time"),
                       ("rejected", "media_time"), ("audit", "media_time"),
                       ("alerts", "media_time"), ("questions", "asked_at")):  # fmt: skip
        db.execute(f"UPDATE {table} SET wall_time = ? + {col}", (BASE,))
    db.commit()
    db.close()
    return {"chat": chat}


@pytest.fixture
def night_db(tmp_path) -> Path:
    fill_night(tmp_path / "data")
    return tmp_path / "data" / "shop.sqlite"


def test_figures_match_the_store(night_db) -> None:
    n = gather(night_db, "shop")
    # Uptime: two runs (22:00:00-22:10:01, 22:15:00-22:20:01), off air in between, a frozen
    # minute in run 2, RTMP down 40 s in run 1.
    assert [(r.start - BASE, r.end - BASE) for r in n.runs] == [(0, 601), (900, 1201)]
    spans = [(o.start - BASE, o.end - BASE, o.what.split(" (")[0]) for o in n.outages]
    assert spans == [(201, 241, "RTMP output 0 not live"), (601, 900, "off air"),
                     (1001, 1061, "no health sample")], spans  # fmt: skip
    assert n.on_air_s == pytest.approx(601 + 301 - 60)
    assert n.uptime_pct == pytest.approx(100 * 842 / 1201)
    assert n.rtmp_down_s == 40
    assert n.frames == 601 * FPS + 301 * FPS
    assert (n.late_frames, n.dropped_frames, n.av_offset_max_ms) == (3, 2, 52.0)
    with sqlite3.connect(night_db) as db:
        decisions = dict(db.execute("SELECT decision, COUNT(*) FROM chat GROUP BY decision"))
        health_rows = db.execute("SELECT COUNT(*) FROM health").fetchone()[0]
    assert dict(n.decisions) == decisions and n.chat_total == 11
    assert len(n.health) == health_rows == 61 + 31 - 5
    # Chat per 10 minutes: 5 events in 22:00-22:10, 6 in 22:10-22:20.
    assert {b - BASE: sum(c.values()) for b, c in n.chat_buckets.items()} == {0: 5, 600: 6}
    assert n.replied == 3 and n.sentences == 4  # the line with no reply_to is not an answer
    assert dict(n.questions) == {"answered": 1, "unanswered": 1, "open": 1}
    assert [u for _, u, _ in n.unanswered] == ["joe"]
    assert n.gift_totals == {("gift", "bits"): (1, 100.0), ("gift", "USD"): (1, 5.0),
                             ("purchase", "sub"): (1, 1.0)}  # fmt: skip
    assert dict(n.blocked) == {"blocklist:en:idiot": 2}
    assert dict(n.guard) == {"price_mismatch": 2, "claim": 1}
    assert [k for _, k, _ in n.alerts] == ["rtmp_down", "stage_restart"]
    assert n.alerts[1][2] == {"stage": "director", "error": "<b>boom</b>"}
    assert dict(n.operators) == {"alice": 2, "bob": 1}
    lat = {r.key: r for r in n.latency}
    total = lat["received_to_first_packet_out"]
    assert (total.count, total.p50, total.p95, total.max) == pytest.approx((10, 500, 1000, 1000))
    assert lat["first_audio"].count == 11  # the filler's steps count, not its totals


def test_since_cuts_the_night(night_db, tmp_path) -> None:
    n = gather(night_db, "shop", since=BASE + 800)
    assert [(r.start - BASE, r.end - BASE) for r in n.runs] == [(900, 1201)]
    assert n.frames == 301 * FPS  # run 2 began inside the window: counted from its start
    assert n.chat_total == 4 and dict(n.decisions) == {"queued": 3, "held": 1}
    assert [k for _, k, _ in n.alerts] == ["stage_restart"]
    assert [(a, c) for _, a, c, *_ in n.actions] == [("alice", "pause")]
    assert dict(n.questions) == {"open": 1}
    # Mid-run: the counters before the window are not the window's.
    mid = gather(night_db, "shop", since=BASE + 300)
    assert mid.frames == (601 - 301) * FPS + 301 * FPS
    # Relative and ISO forms of --since, and a clear error.
    assert parse_since("12h", now=BASE) == BASE - 12 * 3600
    assert parse_since("30m", now=BASE) == BASE - 1800
    assert parse_since("2026-12-02T22:13:20") == BASE + 800
    with pytest.raises(ReportError, match="12h"):
        parse_since("yesterday")
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\ndata_dir = "{night_db.parent}"\n')
    out = tmp_path / "r.html"
    assert cli_main(["report", "--config", str(cfg), "--since", "2026-12-02T22:13:20",
                     "--out", str(out)]) == 0  # fmt: skip
    page = out.read_text()
    assert "you idiot" not in page and "love it" in page  # blocked at 22:11:40, gift at 22:15:50
    assert cli_main(["report", "--config", str(cfg), "--since", "soon"]) == 2
    assert cli_main(["report", "--config", str(cfg), "--stream", "nope"]) == 2


def test_hostile_text_is_escaped(night_db, tmp_path) -> None:
    out = tmp_path / "night.html"
    write_report(night_db, "shop", out)
    page = out.read_text().replace("<wbr>", "")  # the page's own break hints after "_"
    assert "<script" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert "&lt;script&gt;window.__pwned=2&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;" in page
    assert "&lt;b&gt;boom&lt;/b&gt;" in page and "&lt;i&gt;hi&lt;/i&gt;" in page
    assert page.count('class="plot"') == 4


async def test_page_renders_on_a_phone_in_chromium(night_db, tmp_path) -> None:
    binary = require_chromium()
    out = tmp_path / "night.html"
    write_report(night_db, "shop", out)
    url = out.resolve().as_uri()
    async with chromium_page(binary, url, tmp_path) as (cdp, _):
        await cdp.call("Emulation.setDeviceMetricsOverride", width=390, height=844,
                       deviceScaleFactor=2, mobile=True)  # fmt: skip
        await cdp.until("document.readyState === 'complete'", 10, "page load")
        figs = await cdp.until(
            "(() => { const f = [...document.querySelectorAll('img.plot')].map(i => ({"
            " name: i.dataset.figure, ok: i.complete && i.naturalWidth > 0,"
            " w: i.getBoundingClientRect().width, h: i.getBoundingClientRect().height}));"
            " return f.length === 4 && f.every(x => x.ok) ? f : null; })()",
            10, "four decoded figures",
        )  # fmt: skip
        assert {f["name"] for f in figs} == {"health", "latency", "chat", "questions"}
        assert all(0 < f["w"] <= 390 and f["h"] > 20 for f in figs), figs
        width = await cdp.js(
            "[document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]"
        )
        assert width[0] <= width[2] and width[1] <= width[2], width
        assert await cdp.js("window.__pwned === undefined && !document.querySelector('script')")
        text = await cdp.js("document.body.innerText")
        assert HOSTILE_TEXT in text and "alice" in text and "bob" in text


def test_pdf_by_headless_chromium_or_a_clear_error(night_db, tmp_path, monkeypatch, capsys) -> None:
    binary = require_chromium()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[store]\ndata_dir = "{night_db.parent}"\n')
    out = tmp_path / "night.html"
    monkeypatch.setenv("STREAMHOST_CHROMIUM", binary)
    assert cli_main(["report", "--config", str(cfg), "--out", str(out), "--pdf"]) == 0
    pdf = (tmp_path / "night.pdf").read_bytes()
    pages = re.findall(rb"/Type\s*/Page\b", pdf)  # not /Pages, the page tree
    assert pdf.startswith(b"%PDF-") and len(pages) >= 2, len(pages)  # the whole page, not a screen
    monkeypatch.delenv("STREAMHOST_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    capsys.readouterr()
    assert cli_main(["report", "--config", str(cfg), "--out", str(out), "--pdf", "x.pdf"]) == 2
    assert "--pdf needs Chromium" in capsys.readouterr().err and out.is_file()


def test_an_old_store_still_reports(tmp_path) -> None:
    """A file from before health/alerts (and chat amounts) opens, migrates, and reports."""
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "old.sqlite")
    db.execute("CREATE TABLE chat (id INTEGER PRIMARY KEY, trace_id TEXT NOT NULL, wall_time"
               " REAL NOT NULL, media_time REAL NOT NULL, platform TEXT NOT NULL, kind TEXT NOT"
               " NULL, user_id TEXT NOT NULL, user TEXT NOT NULL, text TEXT NOT NULL, decision"
               " TEXT NOT NULL, reason TEXT NOT NULL)")  # fmt: skip
    db.execute("INSERT INTO chat VALUES (1, 't', 1.0, 1.0, 'ws', 'gift', '', 'u', '', 'queued',"
               " 'ok')")  # fmt: skip
    db.commit()
    db.close()
    n = gather(data / "old.sqlite", "old")  # read-only: no migration, no health
    assert n.chat_total == 1 and n.gift_totals == {("gift", ""): (1, 0.0)} and not n.runs
    Store(data, "old").close()  # opening it for writing adds the tables and columns
    with sqlite3.connect(data / "old.sqlite") as db:
        cols = {r[1] for r in db.execute("PRAGMA table_info(chat)")}
        health = {r[1] for r in db.execute("PRAGMA table_info(health)")}
        alerts = {r[1] for r in db.execute("PRAGMA table_info(alerts)")}
    assert {"amount", "currency", "item", "count"} <= cols
    assert health == {"id", *HEALTH_COLUMNS} and alerts == {"id", "wall_time", "media_time",
                                                              "kind", "fields"}  # fmt: skip


@pytest.mark.timeout(120)
async def test_a_streamed_night_reports_what_the_engine_logged(tmp_path) -> None:
    """A real (virtual-clock) stream: health rows every 10 media seconds plus one at the stop
    (the frame total is exact), the RTMP watch's alert and an alert raised through the observer
    are stored, chat and the operator's command appear, the report's totals equal the
    engine's. The RTMP output is a stand-in whose state the test sets (the monitor reads only
    ``state`` and ``url``; test_live covers a real nginx-rtmp)."""
    async with running_engine(tmp_path, virtual=True, duration=12) as (engine, _, task):
        st = engine.primary
        out = _Output()
        st.rtmp.append(out)
        await st.clock.sleep_until(1.5)
        out.state = "reconnecting"
        st.submit_chat({"user": "anna", "text": "how much is the kettle?"})
        st.submit_chat({"user": "dan", "text": "you idiot"})
        st.ingest(ChatEvent(user="eve", text="", kind="gift", amount=50.0, currency="bits",
                            received_at=st.clock.now()))  # fmt: skip
        assert st.command({"id": 1, "type": "pause"}, "alice")["ok"]
        st.obs.alert("test_alert", detail="<x>")
        await task
        frames = st.loop.stats.frames
    n = gather(tmp_path / "data" / "default.sqlite", "default")
    assert n.frames == frames == 12 * 25
    assert [round(h["media_time"]) for h in n.health][:2] == [1, 11] and len(n.health) == 3
    assert n.chat_total == 3 and n.blocked and n.gift_totals[("gift", "bits")] == (1, 50.0)
    assert ("test_alert", {"detail": "<x>"}) in [(k, f) for _, k, f in n.alerts]
    assert ("alice", "pause") in [(a, c) for _, a, c, *_ in n.actions]
    assert n.uptime_pct == pytest.approx(100.0)
    assert [h["rtmp"] for h in n.health] == ["live", "reconnecting", "reconnecting"]
    assert [o.what for o in n.outages] == ["RTMP output 0 not live"]
    assert n.outages[0].end == n.health[-1]["wall_time"]  # still down when the stream stopped
    assert "rtmp_down" in [k for _, k, _ in n.alerts]


class _Output:
    url = "rtmp://example.invalid/live/key"
    state = "live"
