"""Bench tag: block code round trip through the real encoder (H.264 2.5 Mbit/s, MP4, PyAV
decode), no false positives on ordinary frames, and the engine drawing the playing utterance's
id in bench mode only."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import running_engine

from streamhost.avatar.tag import IDLE, draw_tag, read_tag, tag_value
from streamhost.frames import AVFrame, StreamFormat
from streamhost.output.encoder import Encoder
from streamhost.output.recorder import Mp4Recorder
from streamhost.store import Store

W, H, FPS, SR = 720, 1280, 25, 48000


def _busy_picture(i: int, rng: np.random.Generator) -> np.ndarray:
    """A frame with edges, gradients, text and noise everywhere (the tag corner included)."""
    y = np.add.outer(np.arange(H), np.arange(W)).astype(np.float32)
    luma = (128 + 100 * np.sin(y / (17.0 + i % 7))).astype(np.uint8)
    luma = cv2.add(luma, rng.integers(0, 40, (H, W), dtype=np.uint8))
    cv2.putText(luma, f"frame {i} 0110", (8, 60), cv2.FONT_HERSHEY_SIMPLEX, 2.2, 255, 5)
    cv2.rectangle(luma, (20 + i, 20), (90 + i, 90), 16, -1)
    chroma = rng.integers(60, 200, (H // 2, W), dtype=np.uint8)
    return np.vstack([luma, chroma])


def _encode(frames: list[np.ndarray], path: Path) -> list[np.ndarray]:
    enc = Encoder(StreamFormat(W, H, FPS, SR), video_bitrate=2_500_000)
    enc.add_sink(Mp4Recorder(str(path)))
    enc.start()
    silence = np.zeros(SR // FPS, np.int16)
    for i, f in enumerate(frames):
        enc.submit(AVFrame(i, i / FPS, f, silence))
        while enc.queue_depth > 4:  # never let the encoder drop a frame in this test
            import time

            time.sleep(0.002)
    enc.close()
    with av.open(str(path)) as c:
        return [fr.to_ndarray(format="yuv420p")[:H] for fr in c.decode(video=0)]


def test_roundtrip_through_h264_for_many_ids(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    ids = [f"{rng.integers(0, 2**31):x}{k:06x}" for k in range(120)]
    frames = []
    for i, tid in enumerate([None, *ids]):
        f = _busy_picture(i, rng)
        draw_tag(f, tag_value(tid))
        frames.append(f)
    decoded = _encode(frames, tmp_path / "tagged.mp4")
    assert len(decoded) == len(frames)
    got = [read_tag(d) for d in decoded]
    assert got == [IDLE] + [tag_value(t) for t in ids]


def test_no_false_positives_on_untagged_frames(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    frames = [_busy_picture(i, rng) for i in range(100)]
    frames += [np.full((H * 3 // 2, W), v, np.uint8) for v in (0, 16, 128, 235, 255)]
    for f in frames:
        assert read_tag(f[:H]) is None
    for d in _encode(frames, tmp_path / "plain.mp4"):
        assert read_tag(d) is None
    for _ in range(2000):  # random luma: the sync row, the cell levels and the CRC all must hold
        assert read_tag(rng.integers(0, 256, (128, 160), dtype=np.uint8)) is None


def test_tag_values_are_24_bit_never_idle_and_bad_input_is_named() -> None:
    vals = {tag_value(f"id{i}") for i in range(5000)}
    assert IDLE not in vals and max(vals) < 2**24 and len(vals) > 4990
    with pytest.raises(ValueError, match="not a 24-bit number"):
        draw_tag(np.zeros((H * 3 // 2, W), np.uint8), 2**24)
    with pytest.raises(ValueError, match="bench tag needs a uint8 I420 frame"):
        draw_tag(np.zeros((60, 60), np.uint8), 1)


def _tags(path: Path) -> list[int | None]:
    with av.open(str(path)) as c:
        return [read_tag(fr.to_ndarray(format="yuv420p")[:H]) for fr in c.decode(video=0)]


@pytest.mark.timeout(120)
async def test_engine_tags_the_frames_that_carry_an_answer_only_in_bench_mode(
    tmp_path: Path,
) -> None:
    rec = tmp_path / "bench.mp4"
    async with running_engine(
        tmp_path, virtual=True, duration=6,
        stream={"bench_tag": True}, talk={"show": "", "segment_pause_s": 30.0},
        output={"record": str(rec), "webrtc": False},
    ) as (engine, _url, task):  # fmt: skip
        st = engine.primary
        await st.clock.sleep_until(1.0)
        while not st.player.idle:  # the stream opens with the spoken AI disclosure
            await st.clock.sleep(0.04)
        ev, decision = st.submit_chat({"user": "ann", "text": "how much is the kettle?"})
        assert decision == "queued"
        await task
    store = Store(tmp_path / "data", "default")
    answer = next(ln for ln in store.transcript() if ln.reply_to == ev.trace_id)
    opening = {tag_value(ln.trace_id) for ln in store.transcript() if ln.source == "show"}
    store.close()
    tags = _tags(rec)
    assert all(t is not None for t in tags)  # every frame carries a valid tag
    first = tags.index(tag_value(ev.trace_id))
    # The first tagged frame is the one whose audio starts the answer; before it, the opening
    # disclosure and idle.
    assert first == round(answer.aired_at * FPS)
    assert set(tags[:first]) <= {IDLE, *opening}

    plain = tmp_path / "plain.mp4"
    async with running_engine(
        tmp_path / "p", virtual=True, duration=3, talk={"show": "", "segment_pause_s": 0.5},
        output={"record": str(plain), "webrtc": False},
    ) as (_engine, _url, task):  # fmt: skip
        await task
    assert set(_tags(plain)) == {None}


def _bench(script: str, *args: str, tmp_path: Path) -> dict[str, float]:
    import json
    import subprocess
    import sys

    out = tmp_path / f"{script}.json"
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, str(repo / "benchmarks" / f"{script}.py"), *args, "--json", str(out)],
        cwd=repo, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["machine"]["cores"] >= 1
    return {r["name"]: r["value"] for r in data["results"]}


@pytest.mark.slow
def test_latency_benchmark_smoke(tmp_path: Path) -> None:
    r = _bench("latency", "--trials", "1", "--scenarios", "idle,stop", tmp_path=tmp_path)
    for name in (
        "webrtc_idle_chat_to_frame_p95_ms", "rtmp_idle_chat_to_frame_p95_ms",
        "webrtc_idle_chat_to_audio_p95_ms", "webrtc_stop_to_silence_p95_ms",
    ):  # fmt: skip
        assert 0 < r[name] < 5000, (name, r)


@pytest.mark.slow
def test_control_latency_benchmark_smoke(tmp_path: Path) -> None:
    r = _bench(
        "control_latency", "--quick", "--trials", "1", "--subscribers", "5", tmp_path=tmp_path
    )
    assert 0 < r["say_now_to_frame_p95_ms"] < 5000
    assert r["subscribers5_events_received"] > 0
