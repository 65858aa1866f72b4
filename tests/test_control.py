"""The operator control protocol over a real WebSocket, on the virtual clock: every command's
effect on the stream, event subscriptions, error codes, rate limits, and fuzzing."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from conftest import running_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

from streamhost.control.commands import (
    COMMANDS,
    ERROR_CODES,
    MESSAGE_TYPES,
    PROTOCOL,
    SCHEMA,
    ControlSession,
    validate,
)
from streamhost.control.events import EventBus
from streamhost.store import Store

AUTH = {"Authorization": "Bearer test-token"}
_ids = itertools.count(1)


class Client:
    """A control connection: ``call`` returns the reply to one command; events that arrive
    meanwhile are kept in ``events``."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def recv(self, timeout: float = 30) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        obj = json.loads(msg.data)
        assert validate(obj, SCHEMA["$defs"]["server_message"]) is None, obj
        return obj

    async def call(self, type_: str, **args: Any) -> dict[str, Any]:
        cid = next(_ids)
        await self.ws.send_json({"id": cid, "type": type_, **args})
        while True:
            r = await self.recv()
            if r.get("type") == "event":
                self.events.append(r)
            elif r["id"] == cid:
                return r

    async def collect(self, st: Any, until: float) -> None:
        """Read events until the stream's media time passes ``until``."""
        while st.clock.now() < until:
            try:
                r = await self.recv(timeout=0.05)
            except TimeoutError:
                continue
            assert r.get("type") == "event", r
            self.events.append(r)

    def of(self, topic: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["topic"] == topic and all(e.get(k) == v for k, v in match.items())
        ]


async def wait_media(st: Any, t: float) -> None:
    while st.clock.now() < t:
        await asyncio.sleep(0.01)


def code(reply: dict[str, Any]) -> str:
    assert reply["ok"] is False, reply
    return reply["error"]["code"]


def transcript(tmp_path: Path) -> list[Any]:
    store = Store(tmp_path / "data", "default")
    try:
        return store.transcript()
    finally:
        store.close()


def emotions(tmp_path: Path) -> dict[str, str]:
    store = Store(tmp_path / "data", "default")
    try:
        return dict(store._db.execute("SELECT trace_id, emotion FROM transcript").fetchall())
    finally:
        store.close()


@pytest.mark.timeout(120)
async def test_hello_auth_status_and_subscription_events(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=None) as (engine, url, task):
        st = engine.primary
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url + "/control") as ws:
                c = Client(ws)
                hello = await c.call("hello")
                assert hello["protocol"] == PROTOCOL == 1 and hello["authenticated"] is False
                assert set(hello["commands"]) == set(COMMANDS) and "metrics" in hello["topics"]
                assert code(await c.call("status")) == "unauthorized"
                auth = await c.call("auth", token="test-token")
                assert auth["ok"] is True and auth["protocol"] == 1 and auth["authenticated"]
                status = await c.call("status")
                assert status["ok"] and status["status"]["stream"] == "default"
                sub = await c.call("subscribe", topics=["metrics", "transcript", "chat"])
                assert sub["topics"] == ["chat", "metrics", "transcript"]
                assert (await c.call("subscribe", topics=["moderation", "alerts"]))["ok"]
                t0 = st.clock.now()
                async with http.ws_connect(url + "/chat") as chat:
                    await chat.send_json({"user": "anna", "text": "how much is the kettle?"})
                    q = await chat.receive_json()
                    await chat.send_json({"user": "spam", "text": "buy here http://x.example"})
                    spam = await chat.receive_json()
                assert q["decision"] == "queued" and spam["decision"] == "blocked"
                await c.collect(st, t0 + 8.0)
                assert (await c.call("unsubscribe", topics=["metrics"]))["topics"] == [
                    "alerts",
                    "chat",
                    "moderation",
                    "transcript",
                ]
                n_metrics = len(c.of("metrics"))
                await c.collect(st, st.clock.now() + 3.0)
                assert len(c.of("metrics")) == n_metrics  # unsubscribed: no more
        engine.request_stop()
        await task
    # Metrics once per second of media time, with the live numbers.
    m = c.of("metrics")
    assert 7 <= len(m) <= 9, [e["media_time"] for e in m]
    times = [e["media_time"] for e in m]
    assert all(abs((b - a) - 1.0) < 1e-6 for a, b in itertools.pairwise(times)), times
    for key in (
        "fps", "frames", "late_frames", "encoder_dropped", "speech_buffered_seconds",
        "render_ms_p50", "viewers", "rtmp_live", "chat_queue", "cpu", "rss_mb",
    ):  # fmt: skip
        assert key in m[-1], key
    assert m[-1]["frames"] > m[0]["frames"] and m[-1]["fps"] == 25 and m[-1]["rss_mb"] > 10
    assert 0.0 <= m[-1]["cpu"] < 64
    # Chat with its decision; blocked ones also on the moderation topic.
    chat = {e["trace_id"]: e for e in c.of("chat")}
    assert chat[q["trace_id"]]["decision"] == "queued"
    assert chat[spam["trace_id"]]["decision"] == "blocked"
    mod = c.of("moderation")
    assert [e["trace_id"] for e in mod] == [spam["trace_id"]] and mod[0]["reason"]
    # Transcript lines when committed and when they air; the answer among them.
    committed = {e["trace_id"]: e for e in c.of("transcript", phase="committed")}
    aired = {e["trace_id"]: e for e in c.of("transcript", phase="aired")}
    answer = next(e for e in committed.values() if e["reply_to"] == q["trace_id"])
    assert answer["source"] == "answer" and answer["text"]
    assert aired[answer["trace_id"]]["media_time"] >= answer["media_time"]
    stored = {ln.trace_id: ln for ln in transcript(tmp_path)}
    assert set(committed) <= set(stored)
    assert all(stored[t].aired_at == pytest.approx(e["media_time"]) for t, e in aired.items())


@pytest.mark.timeout(120)
async def test_pause_holds_new_sentences_chat_still_stored_then_resume(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=None) as (engine, url, task):
        st = engine.primary
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url + "/control", headers=AUTH) as ws:
                c = Client(ws)
                await st.clock.sleep_until(3.0)
                pause = await c.call("pause")
                assert pause["ok"] and pause["paused"] is True and st.director.paused
                async with http.ws_connect(url + "/chat") as chat:
                    await chat.send_json({"user": "ben", "text": "what does the lamp cost?"})
                    q = await chat.receive_json()
                assert q["decision"] == "queued"
                await wait_media(st, pause["media_time"] + 8.0)
                status = (await c.call("status"))["status"]
                assert status["speech_buffered_seconds"] == 0.0
                resume = await c.call("resume")
                assert resume["ok"] and not st.director.paused
                await wait_media(st, resume["media_time"] + 6.0)
        engine.request_stop()
        await task
    lines = transcript(tmp_path)
    t_p, t_r = pause["media_time"], resume["media_time"]
    # Nothing started on air while paused (the sentence playing at pause time finished).
    started_in_pause = [ln for ln in lines if ln.aired_at is not None and t_p < ln.aired_at < t_r]
    assert started_in_pause == [], [(ln.aired_at, ln.text) for ln in started_in_pause]
    assert any(ln.aired_at is not None and ln.aired_at < t_p for ln in lines)
    # The question was stored while paused, and answered after resume.
    store = Store(tmp_path / "data", "default")
    assert [(r[1], r[3]) for r in store.chat_rows()] == [("ben", "queued")]
    store.close()
    ans = [ln for ln in lines if ln.reply_to == q["trace_id"]]
    assert ans and ans[0].aired_at is not None and t_r <= ans[0].aired_at <= t_r + 3.0
    assert any(ln.aired_at is not None and ln.aired_at > t_r for ln in lines)


@pytest.mark.timeout(120)
async def test_emotion_ban_unban_product_and_script(tmp_path) -> None:
    script = tmp_path / "promo.txt"
    script.write_text(
        "[product: backpack]\nOperator script opens here. It has a second sentence.\n",
        encoding="utf-8",
    )
    broken = tmp_path / "broken.txt"
    broken.write_text("Fine line.\n[colour: red] bad marker\n", encoding="utf-8")
    async with running_engine(tmp_path, virtual=True, duration=None) as (engine, url, task):
        st = engine.primary
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url + "/control", headers=AUTH) as ws:
                c = Client(ws)
                assert (await c.call("subscribe", topics=["transcript"]))["ok"]
                await st.clock.sleep_until(2.0)
                # emotion: the sentences committed from now on carry it.
                emo = await c.call("emotion", emotion="surprised")
                assert emo["ok"] and emo["emotion"] == "surprised"
                await c.collect(st, emo["media_time"] + 6.0)
                after_emo = [
                    e for e in c.of("transcript", phase="committed")
                    if e["media_time"] > emo["media_time"]
                ]  # fmt: skip
                assert after_emo and all(e["emotion"] == "surprised" for e in after_emo)
                assert (await c.call("emotion", emotion="neutral"))["ok"]
                assert st.director.emotion_until is None

                # ban / unban: by name, and by platform user id.
                async with http.ws_connect(url + "/chat") as chat:

                    async def post(**m: Any) -> dict[str, Any]:
                        await chat.send_json(m)
                        return await chat.receive_json()

                    assert (await post(user="troll", text="hello all"))["decision"] != "blocked"
                    assert (await c.call("ban", user="troll"))["ok"]
                    assert (await c.call("ban", user="u-42"))["ok"]
                    b1 = await post(user="troll", text="hello again")
                    b2 = await post(user="someone", user_id="u-42", text="hi there")
                    assert b1["decision"] == b2["decision"] == "blocked"
                    assert (await c.call("unban", user="troll"))["ok"]
                    ok = await post(user="troll", text="sorry everyone")
                    assert ok["decision"] != "blocked"

                # script: errors name line and column; a good one is spoken next, verbatim.
                bad = await c.call("script", path=str(broken))
                assert code(bad) == "bad_args" and "line 2, column" in bad["error"]["message"]
                missing = await c.call("script", path=str(tmp_path / "nope.txt"))
                assert code(missing) == "bad_args" and "nope.txt" in missing["error"]["message"]
                sc = await c.call("script", path=str(script))
                assert sc["ok"] and sc["sentences"] == 2
                while (
                    len(
                        [
                            e for e in c.of("transcript", phase="committed", source="script")
                            if e["media_time"] >= sc["media_time"]
                        ]
                    ) < 2
                ):  # fmt: skip
                    await c.collect(st, st.clock.now() + 1.0)
                # product: the director's product and the next generated lines'.
                other = next(p for p in st.catalog.ids if p != st.director.current_product)
                prod = await c.call("product", product=other)
                assert prod["ok"] and st.director.current_product == other
                await c.collect(st, prod["media_time"] + 10.0)
                gen = [
                    e for e in c.of("transcript", phase="committed")
                    if e["media_time"] > prod["media_time"] + 0.1 and e["source"] == "template"
                ]  # fmt: skip
                seen = [
                    (e["media_time"], e["source"], e["product"], e["text"])
                    for e in c.of("transcript", phase="committed")
                ]
                assert gen and gen[0]["product"] == other, seen[-12:]
                assert (await c.call("status"))["status"]["product"] == other

        engine.request_stop()
        await task
    lines = transcript(tmp_path)
    scripted = [ln for ln in lines if ln.source == "script" and ln.media_time >= sc["media_time"]]
    assert [ln.text for ln in scripted[:2]] == [
        "Operator script opens here.",
        "It has a second sentence.",
    ]
    assert scripted[0].product_id == "backpack" and scripted[0].aired_at is not None
    # Nothing but already-playing speech aired between the command and the script's first line.
    between = [
        ln for ln in lines
        if ln.aired_at is not None and sc["media_time"] < ln.aired_at < scripted[0].aired_at
    ]  # fmt: skip
    assert len(between) <= 1, [ln.text for ln in between]
    emo_rows = emotions(tmp_path)
    assert all(emo_rows[e["trace_id"]] == "surprised" for e in after_emo)
    store = Store(tmp_path / "data", "default")
    chat = {(r[1], r[2]): (r[3], r[4]) for r in store.chat_rows()}
    audit = store._db.execute("SELECT actor, command, args, ok FROM audit ORDER BY id").fetchall()
    store.close()
    assert chat[("troll", "hello again")] == ("blocked", "banned_user")
    assert chat[("someone", "hi there")] == ("blocked", "banned_user")
    assert chat[("troll", "sorry everyone")][0] != "blocked"
    cmds = [(a[1], a[3]) for a in audit]
    assert ("ban", 1) in cmds and ("unban", 1) in cmds and ("script", 0) in cmds
    assert all(a[0] == "control" for a in audit)
    assert ("control", "ban", '{"user": "troll"}', 1) in audit


@pytest.mark.timeout(120)
async def test_shutdown_ends_the_engine_cleanly(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=None) as (engine, url, task):
        st = engine.primary
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url + "/control", headers=AUTH) as ws:
                await st.clock.sleep_until(1.0)
                r = await Client(ws).call("shutdown")
                assert r["ok"] and r["stopping"] is True
                await asyncio.wait_for(asyncio.shield(task), 30)
        assert task.done() and task.exception() is None and not engine.running
    store = Store(tmp_path / "data", "default")
    assert store._db.execute("SELECT command, ok FROM audit").fetchall() == [("shutdown", 1)]
    store.close()


class _FakePusher:
    url = "rtmp://example.invalid/live/secret-key"
    state = "live"


@pytest.mark.timeout(120)
async def test_alerts_for_a_stage_restart_and_an_rtmp_output_down(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=None) as (engine, url, task):
        st = engine.primary
        fake = _FakePusher()
        st.rtmp.append(fake)
        real = st.tts.speak
        calls = {"n": 0}

        async def flaky(sentence):
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("voice exploded")
            return await real(sentence)

        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url + "/control", headers=AUTH) as ws:
                c = Client(ws)
                assert (await c.call("subscribe", topics=["alerts", "metrics"]))["ok"]
                st.tts.speak = flaky
                await c.collect(st, 3.0)
                fake.state = "reconnecting"
                down_at = st.clock.now()
                await c.collect(st, down_at + 8.0)
        engine.request_stop()
        await task
    restarts = c.of("alerts", kind="stage_restart")
    assert [(e["stage"], e["error"]) for e in restarts] == [
        ("director", "RuntimeError('voice exploded')")
    ]
    down = c.of("alerts", kind="rtmp_down")
    assert len(down) == 1 and down[0]["url"] == "rtmp://example.invalid/live/***"
    assert 5.0 < down[0]["media_time"] - down_at <= 7.0
    live = [e["rtmp_live"] for e in c.of("metrics")]
    assert live[0] == 1 and live[-1] == 0


@pytest.mark.timeout(120)
async def test_bad_input_gets_stable_error_codes_and_the_stream_keeps_running(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=None) as (engine, url, task):
        st = engine.primary
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url + "/control", headers=AUTH) as ws:
                c = Client(ws)
                frames_before = st.loop.stats.frames
                assert code(await c.call("dance")) == "unknown_command"
                r = await c.call("say", text=5)
                assert code(r) == "bad_args"
                assert '"text"' in r["error"]["message"] and "5" in r["error"]["message"]
                r = await c.call("say", text="hi", mode="later")
                msg = r["error"]["message"]
                assert code(r) == "bad_args" and '"mode"' in msg and '"later"' in msg
                assert '"now"' in msg and '"next"' in msg
                assert code(await c.call("say", text="   ")) == "bad_args"
                r = await c.call("product")
                assert code(r) == "bad_args" and '"product" is missing' in r["error"]["message"]
                r = await c.call("ban", user="x", reason="spam")
                assert code(r) == "bad_args" and '"reason"' in r["error"]["message"]
                r = await c.call("subscribe", topics=["metrics", "gossip"])
                assert code(r) == "bad_args" and "topics[1]" in r["error"]["message"]
                assert code(await c.call("subscribe", topics=[])) == "bad_args"
                r = await c.call("emotion", emotion="happy", seconds=-1)
                assert code(r) == "bad_args" and '"seconds"' in r["error"]["message"]
                assert code(await c.call("emotion", emotion="angry")) == "bad_args"
                assert code(await c.call("product", product="nope")) == "unknown_product"
                await ws.send_json({"id": "x", "type": 7})
                assert code(await c.recv()) == "bad_args"
                await ws.send_json({"id": "y"})
                assert code(await c.recv()) == "bad_args"
                await ws.send_str("{not json")
                assert code(await c.recv()) == "bad_json"
                await ws.send_str("[1, 2]")
                assert code(await c.recv()) == "bad_json"
                await ws.send_str('{"type": "status", "x": NaN}')
                assert code(await c.recv()) == "bad_json"
                await ws.send_bytes(b'{"type": "status"}')
                assert code(await c.recv()) == "bad_frame"
                await ws.send_str(json.dumps({"type": "say", "text": "x" * 70_000}))
                assert code(await c.recv()) == "too_large"
                # A burst: at most 50 commands per second per connection.
                # (The loop sends them all before reading: they arrive within a second.)
                for i in range(80):
                    await ws.send_json({"id": f"b{i}", "type": "status"})
                replies = [await c.recv() for _ in range(80)]
                limited = [r for r in replies if not r["ok"]]
                assert limited and all(code(r) == "rate_limited" for r in limited)
                assert sum(r["ok"] for r in replies) <= 50
                await asyncio.sleep(1.05)
                assert (await c.call("status"))["ok"]  # the connection still works
                await c.collect(st, st.clock.now() + 1.0)
                assert st.loop.stats.frames > frames_before
        assert not task.done()
        # Failed auth attempts: 5 per minute per address, then rate_limited (even if right).
        async with aiohttp.ClientSession() as http:
            for i in range(5):
                async with http.ws_connect(url + "/control") as ws:
                    r = await Client(ws).call("auth", token=f"wrong{i}")
                    assert code(r) == "unauthorized"
            async with http.ws_connect(url + "/control") as ws:
                assert code(await Client(ws).call("auth", token="wrong")) == "rate_limited"
                assert code(await Client(ws).call("auth", token="test-token")) == "rate_limited"
            async with http.ws_connect(url + "/control", headers=AUTH) as ws:
                assert code(await Client(ws).call("status")) == "unauthorized"
        engine.request_stop()
        await task
    store = Store(tmp_path / "data", "default")
    audit = store._db.execute("SELECT command, ok FROM audit ORDER BY id").fetchall()
    store.close()
    assert ("dance", 0) in audit and ("7", 0) in audit
    assert all(ok == 0 for cmd, ok in audit if cmd != "status")


def test_schema_is_valid_draft_2020_12_and_agrees_with_the_validator() -> None:
    import jsonschema  # dev extra: a missing package must fail, not skip

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    v = jsonschema.Draft202012Validator(SCHEMA)
    samples = [
        {"type": "status"},
        {"id": 1, "type": "say", "text": "hi", "mode": "now"},
        {"id": "a", "type": "say", "text": "hi", "mode": "soon"},
        {"type": "emotion", "emotion": "sad", "seconds": 2.5},
        {"type": "emotion", "emotion": "sad", "seconds": 0},
        {"type": "subscribe", "topics": ["chat", "alerts"]},
        {"type": "subscribe", "topics": "chat"},
        {"type": "ban"},
        {"type": "ban", "user": "x", "extra": 1},
        {"type": "shutdown", "id": None},
        {"type": "shutdown", "id": True},
        {"type": "product", "product": ""},
    ]
    for s in samples:
        ours = validate(s, MESSAGE_TYPES[s["type"]]) is None
        assert ours == v.is_valid(s), s


def _json_values() -> hs.SearchStrategy[Any]:
    scalars = (
        hs.none()
        | hs.booleans()
        | hs.integers(-(2**70), 2**70)
        | hs.floats(allow_nan=False, allow_infinity=False)
        | hs.text(max_size=30)
    )
    return hs.recursive(
        scalars,
        lambda kids: (
            hs.lists(kids, max_size=4) | hs.dictionaries(hs.text(max_size=8), kids, max_size=4)
        ),
        max_leaves=12,
    )


_FIELDS = sorted({k for d in MESSAGE_TYPES.values() for k in d["properties"]} - {"type"})


def _messages() -> hs.SearchStrategy[Any]:
    typed = hs.fixed_dictionaries(
        {"type": hs.sampled_from([*MESSAGE_TYPES, "nope"]) | _json_values()},
        optional={
            f: _json_values() | hs.sampled_from(["now", "happy", "chat", "kettle"]) for f in _FIELDS
        },
    )
    return typed | _json_values()


@pytest.mark.timeout(240)
async def test_fuzzed_messages_always_get_a_well_formed_reply(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=None) as (engine, url, task):
        st = engine.primary
        await st.clock.sleep_until(0.5)
        shutdowns = []
        st.on_shutdown = lambda: shutdowns.append(1)
        session = ControlSession(st.controls, lambda tok: "bad", authed=True, burst=10**9)
        cold = ControlSession(st.controls, lambda tok: "bad", authed=False, burst=10**9)
        server = SCHEMA["$defs"]["server_message"]

        def check(reply: Any) -> None:
            assert isinstance(reply, dict) and isinstance(reply["ok"], bool) and "id" in reply
            json.dumps(reply, allow_nan=False)
            assert validate(reply, server) is None, reply
            if not reply["ok"]:
                assert reply["error"]["code"] in ERROR_CODES and reply["error"]["message"]
                assert reply["error"]["code"] != "internal", reply

        @settings(
            max_examples=300,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        )
        @given(_messages())
        def fuzz(msg: Any) -> None:
            check(session.handle(msg))
            check(cold.handle(msg))
            check(session.handle_text(json.dumps(msg)))

        @settings(max_examples=200, deadline=None)
        @given(hs.text(max_size=200) | hs.binary(max_size=50).map(lambda b: b.decode("latin-1")))
        def fuzz_text(text: str) -> None:
            check(session.handle_text(text))

        fuzz()
        fuzz_text()
        session.close()
        await st.clock.sleep(1.0)
        assert not task.done() and st.loop.stats.frames > 0


async def test_event_bus_drops_oldest_for_a_slow_subscriber_and_counts() -> None:
    bus = EventBus()
    bus.publish("chat", {"n": -1})  # nobody listens: nothing happens
    slow, other = bus.add(maxlen=3), bus.add(maxlen=10)
    slow.subscribe(["chat"])
    other.subscribe(["alerts"])
    for i in range(5):
        bus.publish("chat", {"n": i})
    bus.publish("alerts", {"kind": "x"})
    got = await slow.wait()
    assert [e["n"] for e in got] == [2, 3, 4] and all(e["dropped"] == 2 for e in got)
    assert [e["topic"] for e in other.take()] == ["alerts"]
    slow.unsubscribe(["chat"])
    bus.publish("chat", {"n": 9})
    assert slow.pending() == 0 and not bus.wants("chat")
    other.close()
    assert not bus.wants("alerts") and await other.wait() == []
