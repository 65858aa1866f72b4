"""The whole engine on the virtual clock: recording, chat answers, operator control, recovery."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import av
import numpy as np
import pytest
from conftest import running_engine

from streamhost.avatar import params as P
from streamhost.avatar.pack import load_pack
from streamhost.avatar.runner import OnnxRenderer
from streamhost.config import load_config
from streamhost.frames import AVFrame
from streamhost.store import Store

REPO = Path(__file__).resolve().parents[1]


def _mouth_box() -> tuple[slice, slice]:
    """Canvas rows/cols of the mouth, found by rendering open vs neutral (plus a margin for
    head motion), so the test does not hard-code the model's geometry."""
    pack = load_pack(load_config().avatar.pack)
    r = OnnxRenderer(pack.model)
    diff = np.abs(
        r.render(P.make(mouth_open=1.0)[None])[0][:3] - r.render(P.neutral()[None])[0][:3]
    )
    ys, xs = np.nonzero(diff.sum(0) > 0.1)
    m = 8
    return (
        slice(pack.tile_y + ys.min() - m, pack.tile_y + ys.max() + m),
        slice(pack.tile_x + xs.min() - m, pack.tile_x + xs.max() + m),
    )


def lipsync(mouth: list[np.ndarray], pcm: np.ndarray, spf: int = 1920) -> dict[int, float]:
    """Pearson correlation, per frame offset -3..3, between the mouth opening measured from the
    pixels (share of dark mouth-interior pixels in the mouth box) and the speech envelope (RMS per
    frame slot, smoothed over 3 frames). Offset k pairs video frame i + k with audio slot i."""
    n = min(len(mouth), len(pcm) // spf)
    opening = np.array([(m < 110).mean() for m in mouth[:n]])
    x = pcm[: n * spf].reshape(n, spf).astype(np.float64) / 32768.0
    env = np.convolve(np.sqrt((x**2).mean(1)), [0.25, 0.5, 0.25], mode="same")
    out = {}
    for k in range(-3, 4):
        a = opening[max(0, k) : n + min(0, k)]
        b = env[max(0, -k) : n - max(0, k)]
        out[k] = float(np.corrcoef(a, b)[0, 1])
    return out


def _run_cli(
    *args: str, env_extra: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "streamhost.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )


def _default_config_with_engine(engine: str) -> str:
    """configs/default.toml (paths made absolute) speaking with ``engine``'s defaults."""
    text = (REPO / "configs" / "default.toml").read_text().replace('"../', f'"{REPO}/')
    text, n = re.subn(r'(?m)^engine = "hibari"\nvoice = "heart".*\nspeed = .*\n',
                      f'engine = "{engine}"\n', text)  # fmt: skip
    assert n == 1, "the default [voice] changed: update this test"
    return text


@pytest.mark.timeout(300)
@pytest.mark.parametrize("engine", ["hibari", "espeak"])
def test_virtual_clock_recording_is_10s_of_synced_speech(tmp_path, engine: str) -> None:
    """The default neural voice (its model's own phoneme durations) and espeak-ng (its event
    timings) both lip-sync by the pixels."""
    out = tmp_path / "x.mp4"
    cfg = tmp_path / "voice.toml"
    cfg.write_text(_default_config_with_engine(engine))
    r = _run_cli(
        "run",
        "--config",
        str(cfg),
        "--virtual-clock",
        "--duration",
        "10",
        "--record",
        str(out),
        "--http",
        "127.0.0.1:0",
        env_extra={"STREAMHOST_DATA_DIR": str(tmp_path / "data")},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "stopped cleanly after 250 frames" in r.stdout
    rows, cols = _mouth_box()
    mouth, n_video = [], 0
    with av.open(str(out)) as c:
        vs, as_ = c.streams.video[0], c.streams.audio[0]
        assert vs.codec_context.name == "h264" and (vs.width, vs.height) == (720, 1280)
        assert as_.codec_context.name == "aac" and as_.sample_rate == 48000
        for f in c.decode(vs):
            n_video += 1
            y = f.to_ndarray(format="gray")
            mouth.append(y[rows, cols].astype(np.float32))
    with av.open(str(out)) as c:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    assert n_video == 250
    audio_s = len(pcm) / 48000
    assert abs(audio_s - 10.0) <= 0.04, audio_s  # within one frame of the video's 10.0 s
    # Speech, not silence: per-frame RMS over the 250 frame slots.
    rms = np.sqrt((pcm[: 250 * 1920].reshape(250, 1920).astype(np.float64) ** 2).mean(1))
    speaking = rms > 0.02
    assert speaking.mean() > 0.3, f"only {speaking.mean():.0%} of frames have speech"
    assert speaking[:5].any(), "the show opens with the spoken AI disclosure"
    # The mouth moves while speaking and stays (nearly) still between sentences.
    change = np.array([np.abs(mouth[i] - mouth[i - 1]).mean() for i in range(1, 250)])
    talk = change[speaking[1:] & speaking[:-1]]
    # Idle: silent for the last 4 frames (the mouth has had time to close after speech) and
    # the next one (the mouth shapes a sound 80 ms before it is heard).
    settled = np.array([not speaking[max(0, i - 3) : i + 2].any() for i in range(250)])
    idle = change[settled[1:]]
    assert len(idle) >= 5, "there should be pauses between sentences"
    assert talk.mean() > 3 * max(idle.mean(), 0.2), (talk.mean(), idle.mean())
    # Lip sync from the pixels: the mouth opens with the speech envelope, in step with it.
    r = lipsync(mouth, pcm)
    best = max(r, key=lambda k: r[k])
    assert r[0] >= 0.6 and abs(best) <= 1, r
    # Every sentence was stored before it aired.
    r2 = _run_cli("transcript", env_extra={"STREAMHOST_DATA_DIR": str(tmp_path / "data")})
    assert (
        r2.returncode == 0 and " script " in r2.stdout
    )  # the show opens with the advertiser script
    first = r2.stdout.splitlines()[0]
    assert " show " in first and "AI host" in first, first


def _record_mouth_and_audio(out: Path) -> tuple[list[np.ndarray], np.ndarray]:
    rows, cols = _mouth_box()
    with av.open(str(out)) as c:
        mouth = [
            f.to_ndarray(format="gray")[rows, cols].astype(np.float32) for f in c.decode(video=0)
        ]
    with av.open(str(out)) as c:
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(audio=0)])
    return mouth, pcm


@pytest.mark.timeout(300)
def test_audio_driver_pack_lip_syncs_from_the_speech_audio(tmp_path) -> None:
    """A puppet pack with driver = "audio" (a voice without timings): the mouth comes from the
    audio alone, and still opens with the speech envelope, in step with it."""
    pack = tmp_path / "pack"
    pack.mkdir()
    src = REPO / "assets" / "avatar" / "default"
    (pack / "puppet.onnx").write_bytes((src / "puppet.onnx").read_bytes())
    toml = (src / "pack.toml").read_text().replace('driver = "phonemes"', 'driver = "audio"')
    assert 'driver = "audio"' in toml
    (pack / "pack.toml").write_text(toml)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[avatar]\npack = "{pack}"\n')
    out = tmp_path / "a.mp4"
    r = _run_cli(
        "run", "--config", str(cfg), "--virtual-clock", "--duration", "10", "--record", str(out),
        "--http", "127.0.0.1:0", env_extra={"STREAMHOST_DATA_DIR": str(tmp_path / "data")},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    mouth, pcm = _record_mouth_and_audio(out)
    r = lipsync(mouth, pcm)
    best = max(r, key=lambda k: r[k])
    assert r[0] >= 0.6 and abs(best) <= 1, r


@pytest.mark.timeout(120)
async def test_chat_question_is_answered_with_the_catalog_price(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=12) as (engine, url, task):
        st = engine.primary
        async with aiohttp.ClientSession() as http, http.ws_connect(url + "/chat") as ws:
            await ws.send_str(json.dumps({"user": "anna", "text": "how much is the kettle?"}))
            reply = await ws.receive_json()
            assert reply["ok"] is True
            await ws.send_str("{broken")
            bad = await ws.receive_json()
            assert bad["ok"] is False and bad["error"]["code"] == "bad_json"
        await task
    price = st.price_spoken_now("kettle", "en")
    store = Store(tmp_path / "data", st.name)  # the engine closed its own connection
    lines = store.transcript()
    answers = [ln for ln in lines if ln.source == "answer" and ln.reply_to == reply["trace_id"]]
    assert answers, [ln.text for ln in lines]
    assert any(price in ln.text for ln in answers), (price, [ln.text for ln in answers])
    first = answers[0]
    assert first.aired_at is not None and first.media_time <= first.aired_at
    # Asked while idle or mid-sentence: the answer airs at the next sentence boundary at most.
    chat = store.chat_rows()
    assert [(c[1], c[3]) for c in chat] == [("anna", "queued")]
    assert st.chat_rejected == 1 and st.loop.stats.frames == 300
    store.close()


@pytest.mark.timeout(120)
async def test_operator_say_now_and_stop_over_control_socket(tmp_path) -> None:
    frames: list[AVFrame] = []
    async with running_engine(tmp_path, virtual=True, duration=None) as (engine, url, task):
        st = engine.primary
        orig = st.loop.sink

        async def tap(frame: AVFrame) -> None:
            frames.append(frame)
            await orig(frame)

        st.loop.sink = tap
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url + "/control") as ws:
                await ws.send_json({"id": 1, "type": "status"})
                assert (await ws.receive_json())["error"]["code"] == "unauthorized"
                await ws.send_json({"id": 2, "type": "auth", "token": "wrong"})
                assert (await ws.receive_json())["ok"] is False
            headers = {"Authorization": "Bearer test-token"}
            async with http.ws_connect(url + "/control", headers=headers) as ws:
                # Let the host get into its script first.
                await st.clock.sleep_until(3.0)
                await ws.send_json(
                    {"id": 3, "type": "say", "text": "Hello from the operator.", "mode": "now"}
                )
                say = await ws.receive_json()
                assert say["ok"] is True
                while st.clock.now() < say["media_time"] + 1.0:
                    await asyncio.sleep(0.01)
                await ws.send_json({"id": 4, "type": "stop"})
                stop = await ws.receive_json()
                assert stop["ok"] is True
                await ws.send_json({"id": 5, "type": "nonsense"})
                assert (await ws.receive_json())["error"]["code"] == "unknown_command"
                await ws.send_json({"id": 6, "type": "product", "product": "nope"})
                assert (await ws.receive_json())["error"]["code"] == "unknown_product"
                await ws.send_json({"id": 7, "type": "say", "text": ""})
                assert (await ws.receive_json())["error"]["code"] == "bad_args"
                while st.clock.now() < stop["media_time"] + 1.0:
                    await asyncio.sleep(0.01)
        engine.request_stop()
        await task
    by_index = {f.index: f for f in frames}
    fps = 25
    # "say now": the operator's sentence starts within two frames of the command.
    start = next(f for f in frames if say["trace_id"] in f.started)
    assert start.pts - say["media_time"] <= 2 / fps + 1e-9
    # "stop": silence from the next frame on (the segment pause follows).
    k = int(stop["media_time"] * fps) + 2
    silent = [not by_index[i].audio.any() for i in range(k, k + 20)]
    assert all(silent)
    assert any(by_index[i].audio.any() for i in range(k - 10, k - 2))
    store = Store(tmp_path / "data", "default")
    audit = store._db.execute("SELECT command, ok FROM audit ORDER BY id").fetchall()
    assert audit == [("say", 1), ("stop", 1), ("nonsense", 0), ("product", 0), ("say", 0)]
    op = [ln for ln in store.transcript() if ln.source == "operator"]
    assert [ln.text for ln in op] == ["Hello from the operator."] and op[0].aired_at is not None
    store.close()


@pytest.mark.timeout(120)
async def test_failing_stage_is_restarted_and_stream_stays_on_air(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=8) as (engine, url, task):
        st = engine.primary
        real = st.tts.speak
        calls = {"n": 0}

        async def flaky(sentence):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("voice exploded")
            return await real(sentence)

        st.tts.speak = flaky
        await task
    assert st.supervisor.restarts == {"director": 1}
    assert st.loop.stats.frames == 200
    assert calls["n"] >= 3 and st.sentences >= 2  # it went on speaking after the restart
    store = Store(tmp_path / "data", "default")
    assert store._db.execute(
        "SELECT detail FROM audit WHERE command='stage_restart'"
    ).fetchall() == [("RuntimeError('voice exploded')",)]
    store.close()


def test_check_reports_every_problem_with_exit_2(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[stream]\nfps = 7\nlanguage = "fr"\n[output]\nrtmp = ["ftp://x"]\n')
    r = _run_cli("check", "--config", str(bad), env_extra={})
    assert r.returncode == 2
    assert (
        "stream.fps = 7" in r.stderr
        and 'stream.language = "fr"' in r.stderr
        and "output.rtmp" in r.stderr
    )
    missing = tmp_path / "missing.toml"
    missing.write_text(f'[talk]\ncatalog = "nope.json"\n[avatar]\npack = "{tmp_path}"\n')
    r = _run_cli("check", "--config", str(missing), env_extra={})
    assert r.returncode == 2
    assert "talk.catalog" in r.stderr and "nope.json" in r.stderr
    assert "avatar.pack" in r.stderr and "pack.toml" in r.stderr
    r = _run_cli("check", env_extra={})
    assert r.returncode == 0 and "ok" in r.stdout


@pytest.mark.timeout(120)
async def test_question_mid_script_is_answered_at_the_next_sentence_boundary(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=14) as (engine, url, task):
        st = engine.primary
        # Sleeping on the virtual clock holds it: the stream cannot run past this point
        # before the question is in, so the test is deterministic.
        await st.clock.sleep_until(3.0)
        while not (st.player.speaking and st.player.buffered_s() > 0.5):
            await st.clock.sleep(0.04)
        ev, decision = st.submit_chat({"user": "ben", "text": "what does the backpack cost?"})
        assert decision == "queued"
        await task
    store = Store(tmp_path / "data", st.name)
    lines = [ln for ln in store.transcript() if ln.aired_at is not None]
    store.close()
    ans = next(ln for ln in lines if ln.reply_to == ev.trace_id)
    assert st.price_spoken_now("backpack", "en") in ans.text
    playing = [ln for ln in lines if ln.aired_at <= ev.received_at and ln.source != "answer"][-1]
    # The answer follows the sentence that was playing, with only the sentence gap between.
    ends = playing.aired_at + _duration(tmp_path, playing.trace_id)
    assert ans.aired_at <= ends + st.cfg.talk.sentence_gap_s + 0.04 + 1e-6, (ans.aired_at, ends)
    assert ans.aired_at >= ends - 1e-6


def _duration(tmp_path: Path, trace_id: str) -> float:
    store = Store(tmp_path / "data", "default")
    (d,) = store._db.execute(
        "SELECT duration FROM transcript WHERE trace_id=?", (trace_id,)
    ).fetchone()
    store.close()
    return d


@pytest.mark.timeout(120)
async def test_chat_ingest_survives_a_1mb_message_and_transcript_filters(tmp_path) -> None:
    async with running_engine(tmp_path, virtual=True, duration=6) as (engine, url, task):
        async with aiohttp.ClientSession() as http, http.ws_connect(url + "/chat") as ws:
            await ws.send_str(json.dumps({"user": "big", "text": "x" * 1_000_000}))
            reply = await ws.receive_json()
            assert reply["ok"] is False and reply["error"]["code"] == "too_large"
            await ws.send_str(json.dumps({"user": "ann", "text": "hello there"}))
            assert (await ws.receive_json())["ok"] is True  # same connection still works
        await task
    assert engine.primary.chat_rejected == 1
    env = {"STREAMHOST_DATA_DIR": str(tmp_path / "data")}
    r = _run_cli("transcript", "--stream", "default", env_extra=env)
    assert r.returncode == 0 and len(r.stdout.splitlines()) >= 2
    assert all("[default]" in line for line in r.stdout.splitlines())
    js = _run_cli("transcript", "--json", env_extra=env)
    rows = [json.loads(line) for line in js.stdout.splitlines()]
    assert js.returncode == 0 and len(rows) == len(r.stdout.splitlines())
    assert all(row["stream"] == "default" and row["lang"] == "en" for row in rows)
    assert [row["text"] for row in rows] == [ln.split(None, 5)[5].removesuffix(" (not aired)")
                                              for ln in r.stdout.splitlines()]  # fmt: skip
    assert rows[0]["aired_at"] is not None and rows[0]["media_time"] >= 0
    future = _run_cli("transcript", "--since", "2999-01-01T00:00:00", env_extra=env)
    assert future.returncode == 0 and future.stdout == ""
    missing = _run_cli("transcript", "--stream", "nope", env_extra=env)
    assert missing.returncode == 2 and "nope" in missing.stderr
