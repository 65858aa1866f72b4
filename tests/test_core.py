"""Config, clock, wake-ups, supervision, player, chat intake and store."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import numpy as np
import pytest

from streamhost.chat.intake import ChatRejected, parse_chat
from streamhost.clock import VirtualClock
from streamhost.config import ConfigError, config_from_dict, load_config
from streamhost.frames import ChatEvent, Sentence, Source, Speech, StreamFormat
from streamhost.pipeline import Supervisor, Wake
from streamhost.player import SpeechPlayer
from streamhost.store import Store


# ---------- config ----------
def test_default_config_describes_the_stream() -> None:
    cfg = load_config()
    assert (cfg.stream.width, cfg.stream.height, cfg.stream.fps) == (720, 1280, 25)
    assert cfg.stream.sample_rate == 48000 and cfg.stream.language == "en"
    assert cfg.talk.catalog.endswith("assets/catalog/demo.json")
    assert cfg.avatar.pack.endswith("assets/avatar/default")
    assert cfg.http.host == "127.0.0.1" and cfg.http.port == 8080


def test_config_errors_name_key_value_and_allowed() -> None:
    with pytest.raises(ConfigError) as ei:
        config_from_dict(
            {
                "stream": {"fps": 0, "width": 721, "language": "fr", "colour": "red"},
                "output": {"rtmp": ["http://example/live"]},
                "bogus": {},
            }
        )
    probs = ei.value.problems
    text = "\n".join(probs)
    assert len(probs) == 6
    assert "stream.fps = 0: must be one of 20, 24, 25, 30, 50, 60" in text
    assert "stream.width = 721" in text and "multiple of 16" in text
    assert 'stream.language = "fr": must be one of en, de, it, zh' in text
    assert "stream.colour: unknown key" in text
    assert "output.rtmp" in text and "rtmp://" in text
    assert "[bogus]: unknown section" in text


def test_config_zero_means_off_only_as_a_number() -> None:
    # TOML's false compares equal to 0 in Python; "0 (off)" keys must not take it as off.
    cfg = config_from_dict({"talk": {"max_quiet_s": 0, "refrain_s": 60, "phrase_chars": 0}})
    assert (cfg.talk.max_quiet_s, cfg.talk.refrain_s, cfg.talk.phrase_chars) == (0, 60, 0)
    with pytest.raises(ConfigError) as ei:
        config_from_dict({"talk": {"max_quiet_s": False, "refrain_s": 10, "phrase_chars": False}})
    text = "\n".join(ei.value.problems)
    assert "talk.max_quiet_s = False: must be 0 (off) or seconds 2..600" in text
    assert "talk.refrain_s = 10" in text and "talk.phrase_chars" in text


def test_config_bad_toml_and_missing_file(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[stream\nfps = 25\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_data_dir_env_override(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("STREAMHOST_DATA_DIR", str(tmp_path / "d"))
    assert load_config().store.data_dir == str(tmp_path / "d")


def test_relative_paths_resolve_against_config_file(tmp_path) -> None:
    (tmp_path / "c.toml").write_text('[talk]\ncatalog = "cat.json"\n')
    assert load_config(tmp_path / "c.toml").talk.catalog == str(tmp_path / "cat.json")


# ---------- clock + wake-ups ----------
async def test_virtual_clock_wakes_sleepers_in_order_and_waits_for_work() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, t: float) -> None:
        await clock.sleep_until(t)
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(sleeper("b", 0.08)), asyncio.create_task(sleeper("a", 0.04))]
    await asyncio.sleep(0)
    for i in range(1, 4):
        await clock.wait_idle()
        clock.advance_to(i * 0.04)
    await asyncio.gather(*tasks)
    assert woke == [("a", 0.04), ("b", 0.08)]
    clock.hold()
    waiter = asyncio.create_task(clock.wait_idle())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    clock.release()
    await asyncio.wait_for(waiter, 1)


async def test_wake_counts_as_pending_work() -> None:
    clock = VirtualClock()
    w = Wake(clock)
    w.set()
    w.set()
    assert clock.busy == 1
    await w.wait()
    w.done()
    assert clock.busy == 0


async def test_supervisor_restarts_a_failing_stage() -> None:
    restarts: list[str] = []
    runs = 0
    done = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            raise RuntimeError(f"boom {runs}")
        done.set()

    sup = Supervisor(on_restart=lambda name, exc: restarts.append(f"{name}:{exc}"), backoff_s=0.001)
    sup.start("flaky", flaky)
    await asyncio.wait_for(done.wait(), 2)
    await sup.stop()
    assert restarts == ["flaky:boom 1", "flaky:boom 2"] and sup.restarts == {"flaky": 2}


# ---------- player ----------
class RecordingDriver:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def start_speech(self, t0: float, visemes: list) -> None:
        self.calls.append(("start", round(t0, 6), len(visemes)))

    def stop_speech(self, t: float) -> None:
        self.calls.append(("stop", t))

    def set_emotion(self, name: str) -> None:
        self.calls.append(("emotion", name))


def _speech(text: str, n: int, value: int, sr: int = 48000) -> Speech:
    return Speech(Sentence(text, Source.SCRIPT), np.full(n, value, np.int16), sr, [], [])


def test_player_pulls_exact_frames_with_gaps_and_start_marks() -> None:
    drv = RecordingDriver()
    p = SpeechPlayer(StreamFormat(sample_rate=48000, fps=25), drv)
    a, b = _speech("a", 3000, 7), _speech("b", 1000, 9)
    p.enqueue(a, [(0, 0.1, 2)])
    p.enqueue(b, [], gap_s=0.01)  # 480 samples of silence between
    assert p.buffered_s() == pytest.approx((3000 + 480 + 1000) / 48000)
    f0, s0 = p.pull(0.0)
    f1, s1 = p.pull(0.04)
    f2, s2 = p.pull(0.08)
    assert all(len(f) == 1920 for f in (f0, f1, f2))
    joined = np.concatenate([f0, f1, f2])
    assert (joined[:3000] == 7).all() and (joined[3000:3480] == 0).all()
    assert (joined[3480:4480] == 9).all() and (joined[4480:] == 0).all()
    assert s0 == (a.sentence.trace_id,) and s1 == (b.sentence.trace_id,) and s2 == ()
    # b starts at sample 3480 = frame 1 offset 1560 -> t = 0.04 + 1560/48000
    assert ("start", round(0.04 + 1560 / 48000, 6), 0) in drv.calls
    assert p.idle and p.buffered_s() == 0


def test_player_flush_is_an_interrupt() -> None:
    drv = RecordingDriver()
    p = SpeechPlayer(StreamFormat(sample_rate=48000, fps=25), drv)
    p.enqueue(_speech("long", 48000, 5), [])
    p.enqueue(_speech("next", 48000, 5), [])
    p.pull(0.0)
    assert p.flush(0.04) == 2
    out, started = p.pull(0.04)
    assert not out.any() and started == () and drv.calls[-1] == ("stop", 0.04)
    with pytest.raises(ValueError):
        p.enqueue(_speech("x", 10, 1, sr=22050), [])


# ---------- chat intake ----------
@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xff\xfe{", "bad_utf8"),
        ("{not json", "bad_json"),
        ("[1,2]", "bad_shape"),
        ('{"text": "hi"}', "bad_user"),
        ('{"user": "a", "text": 5}', "bad_text"),
        ('{"user": "a", "text": "hi", "kind": "nuke"}', "bad_kind"),
        ('{"user": "a", "text": "\\u200b "}', "empty"),
        ('{"user": "a", "text": "' + "x" * 600 + '"}', "too_long"),
        (b"{" + b" " * 20000 + b"}", "too_large"),
    ],
)
def test_chat_intake_rejects_bad_input_with_a_code(raw, code) -> None:
    with pytest.raises(ChatRejected) as ei:
        parse_chat(raw, max_chars=500, received_at=0.0)
    assert ei.value.code == code and str(ei.value)


def test_chat_intake_cleans_invisible_characters() -> None:
    ev = parse_chat('{"user": "bo\\u200bb", "text": "how\\u202e much?", "user_id": 7}', 500, 1.5)
    assert (ev.user, ev.text, ev.user_id, ev.received_at) == ("bob", "how much?", "7", 1.5)
    # Lone surrogates (valid JSON escapes, not text): dropped, so the store can write the row.
    ev = parse_chat('{"user": "\\ud800ann", "text": "hi\\udfff", "user_id": "u\\ud801"}', 500, 0)
    assert (ev.user, ev.text, ev.user_id) == ("ann", "hi", "u")
    (ev.user + ev.text + ev.user_id).encode("utf-8")


# ---------- store ----------
def test_store_write_that_fails_leaves_no_open_transaction(tmp_path) -> None:
    """A batch SQLite refuses (here a lone surrogate, which cannot be encoded) is rolled back
    and raised; the next writes still work (an open transaction would fail every later one)."""
    st = Store(tmp_path, "s1")
    st.add_chat(ChatEvent("ann", "ok", received_at=1.0), "queued", "")
    good = st.take_chat()
    st.add_chat(ChatEvent("b\ud800", "bad", received_at=2.0), "queued", "")
    with pytest.raises(UnicodeEncodeError):
        st.write_chat(good + st.take_chat())
    st.write_chat(good)
    st.add_audit("op", "say", {"text": "hi"}, True, "", 3.0)
    assert [r[1] for r in st.chat_rows()] == ["ann"]
    st.close()


def test_store_writes_transcript_chat_and_audit(tmp_path) -> None:
    st = Store(tmp_path, "s1")
    ev = ChatEvent("ann", "how much?", received_at=1.0)
    st.add_chat(ev, "accepted", "")
    s = Sentence("It costs 10 euros.", Source.ANSWER, product_id="kettle", reply_to=ev)
    st.add_sentence(s, 1.2, 1.5)
    st.mark_aired(s.trace_id, 1.3)
    st.add_audit("op", "say", {"text": "hi"}, True, "", 2.0)
    st.flush()  # chat rows are batched (the engine flushes every 100 ms)
    # A second connection sees committed rows at once (nothing buffered in the process).
    db = sqlite3.connect(tmp_path / "s1.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute(
        "SELECT text, source, product_id, aired_at, reply_to FROM transcript"
    ).fetchall() == [("It costs 10 euros.", "answer", "kettle", 1.3, ev.trace_id)]
    assert db.execute("SELECT user, decision FROM chat").fetchall() == [("ann", "accepted")]
    assert db.execute("SELECT command, args FROM audit").fetchall() == [("say", '{"text": "hi"}')]
    st.close()


def test_store_batches_chat_but_loses_nothing_on_close(tmp_path) -> None:
    st = Store(tmp_path, "s2")
    for i in range(300):
        st.add_chat(ChatEvent(f"u{i}", "hi", received_at=i), "queued", "")
    db = sqlite3.connect(tmp_path / "s2.sqlite")
    assert db.execute("SELECT count(*) FROM chat").fetchone()[0] == 0  # buffered
    rows = st.take_chat()
    st.add_chat(ChatEvent("late", "hi"), "queued", "")  # arrives while a batch is written
    threading.Thread(target=st.write_chat, args=(rows,)).start()
    time.sleep(0.2)
    assert db.execute("SELECT count(*) FROM chat").fetchone()[0] == 300
    st.close()
    assert db.execute("SELECT count(*) FROM chat").fetchone()[0] == 301


# ---------- property tests on the built-in ingest parser ----------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as hst  # noqa: E402

_json_values = hst.recursive(
    hst.none()
    | hst.booleans()
    | hst.integers()
    | hst.floats(allow_nan=False)
    | hst.text(max_size=40),
    lambda children: (
        hst.lists(children, max_size=4)
        | hst.dictionaries(hst.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(hst.binary(max_size=300))
@settings(max_examples=300, deadline=None)
def test_parse_chat_on_arbitrary_bytes_only_rejects(raw: bytes) -> None:
    try:
        ev = parse_chat(raw, max_chars=500, received_at=0.0)
    except ChatRejected as e:
        assert e.code and str(e)
    else:
        assert ev.user and len(ev.text) <= 500


@given(hst.dictionaries(hst.sampled_from(["user", "text", "kind", "user_id", "x"]), _json_values))
@settings(max_examples=300, deadline=None)
def test_parse_chat_on_arbitrary_objects_only_rejects(obj: dict) -> None:
    import json as _json

    try:
        ev = parse_chat(_json.dumps(obj), max_chars=500, received_at=0.0)
    except ChatRejected as e:
        assert e.code in {"bad_user", "bad_text", "bad_kind", "empty", "too_long", "bad_shape"}
    else:
        assert isinstance(obj.get("user"), str) and ev.kind in (
            "comment",
            "gift",
            "like",
            "follow",
            "join",
            "share",
            "purchase",
        )
