"""End-to-end traces: stage stamps per chat event / utterance, rolling windows, the store's
``traces`` table, /metrics and the control ``metrics`` event (virtual clock: exact)."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from conftest import running_engine

from streamhost.frames import ChatEvent, Sentence, Source
from streamhost.store import Store
from streamhost.trace import STAGES, TraceBook, percentile


class _Now:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def test_chat_trace_becomes_the_answer_trace_and_later_sentences_start_their_own() -> None:
    now = _Now()
    book = TraceBook(virtual=True, media_now=now)
    ev = ChatEvent(user="ann", text="price?")
    book.on_stage(ev, "received")
    now.t = 1.0
    book.on_stage(ev, "triaged")
    first = Sentence("Good question.", Source.ANSWER, reply_to=ev)
    second = Sentence("It is 20 euros.", Source.ANSWER, reply_to=ev)
    now.t = 1.1
    book.on_stage(first, "text_ready")
    now.t = 1.3
    book.on_stage(first, "first_audio")
    book.on_stage(second, "text_ready")
    now.t = 1.6
    book.stamp(first.trace_id, "first_frame_rendered")
    book.packet_out([first.trace_id], 1.64)
    book.on_stage(second, "first_audio")
    rows = book.take_rows()
    assert len(rows) == 1
    tid, utt, source, _wall, *stamps = rows[0]
    assert (tid, utt, source) == (ev.trace_id, first.trace_id, "answer")
    assert stamps == [0.0, 1.0, 1.1, 1.3, 1.6, 1.64]
    s = book.summary()
    assert s["triaged"]["p50"] == pytest.approx(1000.0)
    assert s["first_packet_out"]["p95"] == pytest.approx(40.0)
    assert s["received_to_first_packet_out"]["p95"] == pytest.approx(1640.0)
    # The second sentence is still open and began at text_ready (no chat stamps copied).
    book.stamp(second.trace_id, "first_frame_rendered", 3.0)
    book.packet_out([second.trace_id], 3.04)
    (row2,) = book.take_rows()
    assert row2[0] == second.trace_id and row2[4:6] == (None, None) and row2[6] == 1.3


def test_window_forgets_old_samples_and_unknown_stage_is_an_error() -> None:
    now = _Now()
    book = TraceBook(virtual=True, media_now=now, window_s=10.0)
    s = Sentence("Hello.", Source.SCRIPT)
    book.on_stage(s, "text_ready")
    book.on_stage(s, "first_audio")
    book.packet_out([s.trace_id], 0.5)
    assert book.values("first_packet_out") == [500.0]
    now.t = 11.0
    assert book.values("first_packet_out") == []
    with pytest.raises(ValueError, match="unknown trace stage 'tts'"):
        book.on_stage(s, "tts")


def test_percentile_nearest_rank() -> None:
    v = [float(i) for i in range(1, 101)]
    assert percentile(v, 50) == 50.0 and percentile(v, 95) == 95.0 and percentile(v, 100) == 100
    assert percentile([], 95) == 0.0


@pytest.mark.timeout(120)
async def test_engine_traces_a_chat_answer_and_an_operator_line_through_every_stage(
    tmp_path,
) -> None:
    async with running_engine(
        tmp_path, virtual=True, duration=12, talk={"show": "", "segment_pause_s": 30.0}
    ) as (engine, url, task):
        st = engine.primary
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(
                url + "/control", headers={"Authorization": "Bearer test-token"}
            )
            await ws.send_json({"id": 1, "type": "subscribe", "topics": ["metrics"]})
            await st.clock.sleep_until(0.5)  # idle host
            ev, decision = st.submit_chat({"user": "ann", "text": "how much is the kettle?"})
            assert decision == "queued"
            await st.clock.sleep_until(6.0)
            said = st.command({"type": "say", "text": "Welcome to the shop."}, "test")
            assert said["ok"], said
            await st.clock.sleep_until(11.0)
            latency = None
            # The opening AI disclosure's trace comes first; wait for the answer's stages.
            while latency is None or "received_to_first_packet_out" not in latency:
                msg = json.loads((await ws.receive(timeout=30)).data)
                if msg.get("topic") == "metrics" and msg.get("latency"):
                    latency = msg["latency"]
            body = await (await http.get(url + "/metrics")).text()
            await ws.close()
        await task
    assert "received_to_first_packet_out" in latency
    assert 'streamhost_latency_ms{quantile="0.95",stage="first_packet_out",stream="default"}' in (
        body
    )
    store = Store(tmp_path / "data", "default")
    traces = {r[0]: r for r in store.traces()}
    lines = {ln.trace_id: ln for ln in store.transcript()}
    store.close()
    chat = traces[ev.trace_id]
    stamps = chat[3:]
    assert all(t is not None for t in stamps), chat
    assert list(stamps) == sorted(stamps)  # stages happen in order
    answer = lines[chat[1]]
    assert answer.reply_to == ev.trace_id
    # Virtual clock: the rendered stamp is the media time of the first audio frame, exactly.
    assert stamps[STAGES.index("first_frame_rendered")] == pytest.approx(answer.aired_at)
    assert stamps[0] == pytest.approx(ev.received_at)
    op = traces[said["trace_id"]]
    assert op[2] == "operator" and op[3] == pytest.approx(6.0) and op[4] is None
    assert all(t is not None for t in op[5:])
    # Scripted / filler lines carry no chat stages.
    others = [r for r in traces.values() if r[0] not in (ev.trace_id, said["trace_id"])]
    assert all(r[3] is None and r[4] is None for r in others)


async def test_trace_rows_reach_the_store_without_blocking(tmp_path) -> None:
    store = Store(tmp_path, "s")
    book = TraceBook(virtual=True, media_now=_Now())
    for i in range(50):
        s = Sentence(f"line {i}", Source.SCRIPT)
        book.on_stage(s, "text_ready")
        book.packet_out([s.trace_id], 0.1)
    await asyncio.to_thread(store.write_traces, book.take_rows())
    assert len(store.traces()) == 50
    store.close()
