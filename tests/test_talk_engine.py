"""The talk engine inside the running stream (virtual clock): LLM answers streamed sentence by
sentence against a fake server speaking the real SSE protocol, interrupts closing the LLM
stream, the guard, the run of show and advertiser scripts, dead air and repeats."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import running_engine
from fake_llm import FakeLlmServer, Script

from streamhost.store import Store


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "data", "default")


class _Clock:
    """Lets the fake LLM server sleep on the engine's clock, which exists only later."""

    clock: Any = None

    async def sleep(self, dt: float) -> None:
        await self.clock.sleep(dt)

    def now(self) -> float:
        return self.clock.now() if self.clock is not None else 0.0


async def _after_disclosure(st: Any) -> None:
    """Every stream opens with the spoken AI disclosure: wait until it has been said."""
    while st.director.disclosure.count == 0 or not st.player.idle:
        await st.clock.sleep(0.04)


def _llm_cfg(url: str) -> dict[str, Any]:
    return {
        "base_url": url,
        "model": "fake-model",
        "first_token_timeout_s": 5.0,
        "total_timeout_s": 60.0,
    }


@contextlib.asynccontextmanager
async def _llm_stream(
    tmp_path: Path, script: Script, duration: float | None, pause: float
) -> AsyncIterator[tuple[Any, Any, Any, FakeLlmServer]]:
    """A virtual-clock engine whose talk is the fake LLM server's; (engine, stream, task, llm)
    once the stream runs, its clock lent to the server."""
    holder = _Clock()
    async with FakeLlmServer(script, sleep=holder.sleep, now=holder.now) as llm:
        async with running_engine(
            tmp_path, virtual=True, duration=duration,
            talk={"generator": "llm", "show": "", "segment_pause_s": pause}, llm=_llm_cfg(llm.base_url),
        ) as (engine, url, task):  # fmt: skip
            holder.clock = engine.primary.clock
            yield engine, engine.primary, task, llm


@pytest.mark.timeout(120)
async def test_llm_answer_first_audio_within_450ms_of_the_question(tmp_path) -> None:
    script = Script(
        text="Good question! The electric kettle is 31 euros 92 right now.",
        ttft=0.3,
        tokens_per_s=100,
    )
    async with _llm_stream(tmp_path, script, 6, 3.0) as (engine, st, task, llm):
        await _after_disclosure(st)  # the host is idle: nothing queued or playing
        ev, decision = st.submit_chat({"user": "ann", "text": "how much is the kettle?"})
        assert decision == "queued"
        await task
    store = _store(tmp_path)
    answers = [ln for ln in store.transcript() if ln.reply_to == ev.trace_id]
    store.close()
    assert [a.source for a in answers][:2] == ["llm", "llm"], answers
    assert answers[0].text == "Good question!"
    assert "31 euros 92" in answers[1].text
    latency = answers[0].aired_at - ev.received_at
    assert 0.3 <= latency <= 0.45, latency
    # The request carried the grounding and the question only as data.
    body = llm.records[0].body
    assert body["stream"] is True and body["model"] == "fake-model"
    system = body["messages"][0]["content"]
    assert "31 euros 92" in system or "31.92" in system
    assert "how much is the kettle?" not in system


@pytest.mark.timeout(120)
async def test_interrupt_closes_the_llm_stream_within_one_frame(tmp_path) -> None:
    holder = _Clock()
    long = " ".join(["The electric kettle keeps water hot for 30 minutes."] * 20)
    async with FakeLlmServer(
        Script(text=long, ttft=0.1, tokens_per_s=10), sleep=holder.sleep, now=holder.now
    ) as llm:
        async with running_engine(
            tmp_path, virtual=True, duration=None,
            talk={"generator": "llm", "show": "", "segment_pause_s": 30.0}, llm=_llm_cfg(llm.base_url),
        ) as (engine, url, task):  # fmt: skip
            st = engine.primary
            holder.clock = st.clock
            await _after_disclosure(st)
            st.submit_chat({"user": "ann", "text": "tell me about the kettle"})
            await st.clock.sleep(1.8)
            assert (
                llm.records
                and llm.records[-1].tokens_sent > 5
                and llm.records[-1].disconnected_at is None
            )
            reply = st.command({"id": 1, "type": "stop"}, actor="test")
            t_stop = reply["media_time"]
            await asyncio.wait_for(llm.disconnected.wait(), 5)
            rec = llm.records[-1]
            engine.request_stop()
            await task
    assert rec.disconnected_media is not None
    assert rec.disconnected_media - t_stop <= 0.04 + 1e-9, (rec.disconnected_media, t_stop)
    assert not rec.done


@pytest.mark.timeout(120)
async def test_guard_stops_hallucinated_price_and_forbidden_claim_from_the_llm(tmp_path) -> None:
    holder = _Clock()
    bad = "The electric kettle is only 19 euros 90 today. It cures headaches, guaranteed."
    async with FakeLlmServer(
        Script(text=bad, ttft=0.1, tokens_per_s=200), sleep=holder.sleep, now=holder.now
    ) as llm:
        async with running_engine(
            tmp_path, virtual=True, duration=8,
            talk={"generator": "llm", "show": "", "segment_pause_s": 30.0}, llm=_llm_cfg(llm.base_url),
        ) as (engine, url, task):  # fmt: skip
            st = engine.primary
            holder.clock = st.clock
            await st.clock.sleep_until(0.2)
            ev, _ = st.submit_chat({"user": "ann", "text": "how much is the kettle?"})
            await task
    store = _store(tmp_path)
    lines = store.transcript()
    rejected = store.rejections()
    store.close()
    spoken = " ".join(ln.text for ln in lines)
    assert "19 euros 90" not in spoken and "cures" not in spoken
    reasons = [r[1] for r in rejected]
    assert "price_mismatch:19 euros 90" in reasons
    assert any(r.startswith("forbidden:") for r in reasons), reasons
    # The rejected answer was replaced by a template answer with the real price.
    answers = [ln for ln in lines if ln.reply_to == ev.trace_id]
    assert any(st.price_spoken_now("kettle", "en") in a.text for a in answers), answers
    assert st.director.guard_rejections >= 2


@pytest.mark.timeout(120)
async def test_llm_down_falls_back_to_templates(tmp_path) -> None:
    async with FakeLlmServer(Script(error="http500")) as llm:
        async with running_engine(
            tmp_path, virtual=True, duration=6,
            talk={"generator": "llm", "show": "", "segment_pause_s": 1.0}, llm=_llm_cfg(llm.base_url),
        ) as (engine, url, task):  # fmt: skip
            st = engine.primary
            await task
    store = _store(tmp_path)
    lines = store.transcript()
    store.close()
    assert st.director.llm_failures >= 1 and lines, "templates took over"
    assert {ln.source for ln in lines} <= {"template", "show"}


@contextlib.asynccontextmanager
async def _quiet_host(tmp_path: Path) -> AsyncIterator[tuple[Any, Any, Any]]:
    """A running engine (virtual clock, no show) whose host has said the disclosure and is
    quiet for the next 30 s unless told: (engine, its stream, the engine's task)."""
    async with running_engine(
        tmp_path, virtual=True, duration=None, talk={"show": "", "segment_pause_s": 30.0}
    ) as (engine, url, task):
        st = engine.primary
        await _after_disclosure(st)
        yield engine, st, task


class _StuckVoice:
    """The stream's voice, except that one text never finishes synthesizing (a slow remote TTS
    or a long LLM sentence, stretched to forever)."""

    def __init__(self, inner: Any, stuck_text: str) -> None:
        self.inner, self.stuck_text = inner, stuck_text
        self.started = asyncio.Event()

    async def speak(self, sentence: Any) -> Any:
        if sentence.text == self.stuck_text:
            self.started.set()
            await asyncio.Event().wait()
        return await self.inner.speak(sentence)


@pytest.mark.timeout(120)
async def test_say_now_does_not_wait_for_a_synthesis_in_flight(tmp_path) -> None:
    """An operator's "say now" while the voice is busy with another line: the new line airs
    within two frames of its synthesis, the line in flight is dropped, never aired late."""
    stuck = "This line takes the voice forever to say."
    async with _quiet_host(tmp_path) as (engine, st, task):
        st.director.voice = voice = _StuckVoice(st.director.voice, stuck)
        st.director.voice_timeout_s = 600.0  # the stuck line's deadline is no way out
        assert st.command({"id": 1, "type": "say", "text": stuck}, actor="test")["ok"]
        await asyncio.wait_for(voice.started.wait(), 5)
        t0 = st.clock.now()
        said = st.command({"id": 2, "type": "say", "text": "News now!", "mode": "now"}, "test")
        assert said["ok"], said

        async def on_air() -> None:
            while (s := st.player.frame_sentence) is None or s.text != "News now!":
                await st.clock.sleep(0.04)

        # The virtual clock waits for the director's work, so a director stuck behind the
        # first line would hold media time still: the bound is on the wall clock too.
        await asyncio.wait_for(on_air(), 10)
        await st.clock.sleep(0.5)
        engine.request_stop()
        await task
    store = _store(tmp_path)
    lines = {ln.text: ln for ln in store.transcript()}
    store.close()
    assert stuck not in lines
    assert lines["News now!"].aired_at is not None
    assert lines["News now!"].aired_at - t0 <= 0.08 + 1e-9, (lines["News now!"].aired_at, t0)


@pytest.mark.timeout(120)
async def test_a_second_say_now_drops_the_rest_of_the_first(tmp_path) -> None:
    """A "say now" line is said phrase by phrase; a second "say now" while its first phrase is
    on air cuts it off for good: its later phrases never air, the new line airs whole."""
    first = "Quick update, the kettle is back in stock and the lamp is half price tonight!"
    second = "Short notice, the sale is over."
    async with _quiet_host(tmp_path) as (engine, st, task):
        st.command({"id": 1, "type": "say", "text": first, "mode": "now"}, "test")
        while (s := st.player.frame_sentence) is None or s.text != "Quick update,":
            await st.clock.sleep(0.04)
        st.command({"id": 2, "type": "say", "text": second, "mode": "now"}, "test")
        await st.clock.sleep(6.0)
        engine.request_stop()
        await task
    store = _store(tmp_path)
    said = [ln.text for ln in store.transcript() if ln.aired_at is not None]
    store.close()
    i = said.index("Quick update,")
    assert " ".join(said[i + 1 :]).startswith(second), said[i:]
    assert not any("kettle" in t for t in said), said


@pytest.mark.timeout(180)
async def test_script_breaks_off_to_answer_and_resumes_where_it_left(tmp_path) -> None:
    """A question breaks into a script sentence at a word boundary; after the answer the
    interrupted sentence is said again from its start (never continued from the middle) and
    the script goes on from there, nothing skipped."""
    async with running_engine(tmp_path, virtual=True, duration=40) as (engine, url, task):
        st = engine.primary
        script = st.show.plan(0.0, st.wall_start).script
        # Ask while a script sentence is on air with more of its phrases still to come.
        while True:
            await st.clock.sleep(0.04)
            on_air = st.player.frame_sentence
            if on_air is not None and on_air.source == "script" and on_air.continues:
                if script.cursor.index >= 2:
                    break
        ev, _ = st.submit_chat({"user": "ben", "text": "what does the backpack cost?"})
        await task
    store = _store(tmp_path)
    lines = sorted(
        (ln for ln in store.transcript() if ln.aired_at is not None), key=lambda ln: ln.aired_at
    )
    store.close()
    verbatim = [s.text for s in script.sentences]
    k = next(j for j, v in enumerate(verbatim) if v.startswith(on_air.text + " "))
    i = next(j for j, ln in enumerate(lines) if ln.reply_to == ev.trace_id)
    before = [ln.text for ln in lines[:i] if ln.source == "script"]
    after = [ln.text for ln in lines[i + 1 :] if ln.source == "script"]
    # Said phrase by phrase (talk.phrase_chars), so compare the words.
    assert max(len(t) for t in before + after) < max(len(t) for t in verbatim)
    said_before, said_after = " ".join(before), " ".join(after)
    # Before the answer: whole sentences, then the interrupted one from its start, unfinished.
    head = " ".join(verbatim[:k])
    assert said_before.startswith(head), (before, verbatim)
    part = said_before[len(head) :].strip()
    assert part and verbatim[k].startswith(part + " "), (part, verbatim[k])
    # After it: the interrupted sentence again from its first word, then the script in order,
    # nothing skipped.
    assert after[0] == verbatim[k] or verbatim[k].startswith(after[0] + " "), (after, verbatim[k])
    assert " ".join(verbatim[k:]).startswith(said_after), (after, verbatim[k:])
    assert len(said_after) > len(verbatim[k])
    # The answer came at the next word boundary: nothing else aired between question and answer.
    between = [ln for ln in lines if ev.received_at < ln.aired_at < lines[i].aired_at]
    assert between == [], between


@pytest.mark.timeout(240)
async def test_a_minute_of_show_has_no_dead_air_no_repeats_and_the_disclosure(tmp_path) -> None:
    async with running_engine(
        tmp_path, virtual=True, duration=66,
        chat={"sources": [{"type": "simulator", "rate_per_s": 2, "seed": 3}]},
    ) as (engine, url, task):  # fmt: skip
        st = engine.primary
        await st.clock.sleep_until(30.0)
        from streamhost.frames import ChatEvent

        st.ingest(
            ChatEvent(
                "buyer",
                "",
                kind="purchase",
                amount=39.9,
                currency="EUR",
                received_at=st.clock.now(),
            )
        )
        await task
    store = _store(tmp_path)
    lines = [ln for ln in store.transcript() if ln.aired_at is not None]
    durs = dict(store._db.execute("SELECT trace_id, duration FROM transcript").fetchall())
    emotions = store._db.execute("SELECT emotion, media_time FROM transcript").fetchall()
    store.close()
    assert lines[0].source == "show" and "AI" in lines[0].text
    gaps = [
        b.aired_at - (a.aired_at + durs[a.trace_id]) for a, b in zip(lines, lines[1:], strict=False)
    ]
    assert max(gaps) <= 3.0, max(gaps)
    generated = [ln.text for ln in lines if ln.source in ("template", "answer", "thanks", "llm")]
    for k, text in enumerate(generated):
        assert text not in generated[max(0, k - 20) : k], f"repeated within the window: {text!r}"
    assert any(e == "happy" and t >= 30.0 for e, t in emotions), "a purchase makes the host happy"


def _one_product_catalog(tmp_path: Path, features: int) -> Path:
    """The demo catalog's kettle alone, with only its first ``features`` features and no FAQ:
    fresh talk about it runs out in well under a minute."""
    import json

    demo = Path(__file__).resolve().parents[1] / "assets" / "catalog" / "demo.json"
    doc = json.loads(demo.read_text())
    kettle = next(p for p in doc["products"] if p["id"] == "kettle")
    kettle["image"] = str(demo.parent / kettle["image"])
    kettle["features"] = {lg: fs[:features] for lg, fs in kettle["features"].items()}
    kettle["faq"] = []
    doc["products"] = [kettle]
    path = tmp_path / "one.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.timeout(240)
@pytest.mark.parametrize("max_quiet_s", [0.0, 4.0])
async def test_dead_air_is_bounded_by_a_recap(tmp_path, max_quiet_s: float) -> None:
    # No chat and one product with two features: fresh talk runs out in about 80 s. With
    # max_quiet_s off the host goes quiet until something may be said again (the price after
    # 3 minutes);
    # with it, the longest quiet stays near max_quiet_s and what comes back is a recap of
    # lines not heard within refrain_s.
    talk = {"show": "", "catalog": str(_one_product_catalog(tmp_path, 2)),
            "max_quiet_s": max_quiet_s, "refrain_s": 30.0}  # fmt: skip
    small = {"width": 544, "height": 960, "fps": 20}  # only the talk is looked at
    async with running_engine(tmp_path, virtual=True, duration=140, talk=talk, stream=small) as (
        _e,
        _u,
        task,
    ):
        await task
    store = _store(tmp_path)
    lines = [ln for ln in store.transcript() if ln.aired_at is not None]
    durs = dict(store._db.execute("SELECT trace_id, duration FROM transcript").fetchall())
    store.close()
    ends = [ln.aired_at + durs[ln.trace_id] for ln in lines]
    quiet = [b.aired_at - e for e, b in zip(ends, lines[1:], strict=False)] + [140.0 - ends[-1]]
    if not max_quiet_s:
        assert max(quiet) > 40.0, max(quiet)
        return
    assert max(quiet) <= max_quiet_s + 2.5, quiet  # + one retry second + the segment pause
    heard: dict[str, float] = {}
    repeats = 0
    for ln, end in zip(lines, ends, strict=True):
        if ln.source == "template" and ln.text in heard:
            repeats += 1
            assert ln.aired_at - heard[ln.text] >= 30.0, (ln.text, heard[ln.text], ln.aired_at)
        heard[ln.text] = end
    assert repeats > 0  # the recap did bring lines back


@pytest.mark.timeout(120)
async def test_an_order_problem_goes_to_the_team_not_the_llm(tmp_path) -> None:
    """ "Where is my order?" with an LLM configured: no LLM can see orders, so the host says
    the team takes it (``answer_order_help``) and the question waits for the operator; the
    LLM server gets no request for it."""
    from streamhost.langdata import load_languages

    script = Script(text="Your order is on its way!", ttft=0.1, tokens_per_s=100)
    async with _llm_stream(tmp_path, script, 6, 30.0) as (engine, st, task, llm):
        await _after_disclosure(st)
        sent = len(llm.records)
        ev, decision = st.submit_chat({"user": "ann", "text": "where is my order?"})
        assert decision == "queued"
        await task
        pending = [q.event.text for q in st.talk.followups.pending()]
    store = _store(tmp_path)
    answers = [ln.text for ln in store.transcript() if ln.reply_to == ev.trace_id]
    store.close()
    assert answers and set(answers) <= set(load_languages()["en"].templates["answer_order_help"])
    assert len(llm.records) == sent and pending == ["where is my order?"]


@pytest.mark.timeout(120)
async def test_show_me_is_answered_by_the_templates_where_an_llm_talks(tmp_path) -> None:
    """An LLM answers questions, but its words cannot put a product on screen: "show me the
    bottle" is the template answer, which does, and the LLM is not asked."""
    script = Script(text="The insulated water bottle keeps drinks cold.", ttft=0.3)
    async with _llm_stream(tmp_path, script, 12, 30.0) as (engine, st, task, llm):
        await _after_disclosure(st)
        asked = len(llm.records)
        ev, decision = st.submit_chat({"user": "ann", "text": "show me the bottle"})
        assert decision == "queued"
        while st.clock.now() < 10.0 and st.director.current_product != "bottle":
            await st.clock.sleep(0.05)
        assert st.director.current_product == "bottle"
        await task
    store = _store(tmp_path)
    answers = [ln for ln in store.transcript() if ln.reply_to == ev.trace_id]
    store.close()
    assert answers and all(a.source == "answer" for a in answers), answers
    assert "insulated water bottle" in answers[0].text
    assert len(llm.records) == asked  # the LLM was not asked to answer it
