"""ONNX runtime around the avatar: provider fallback, thread choice, batching of streams that
share a model, and the configurable disclosure label."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from streamhost.avatar.batcher import SharedRenderer, shared_renderer
from streamhost.avatar.compositor import LABEL_CORNERS, Compositor
from streamhost.avatar.ort_session import free_cores, make_session, resolve_threads
from streamhost.avatar.params import N_PARAMS
from streamhost.avatar.runner import OnnxRenderer
from streamhost.config import ConfigError, load_config
from streamhost.frames import StreamFormat

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "assets" / "avatar" / "default" / "puppet.onnx"


@pytest.fixture(scope="module")
def renderer() -> OnnxRenderer:
    return OnnxRenderer(MODEL, threads=1)


def _params(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, N_PARAMS)).astype(np.float32)


def test_provider_fallback_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="streamhost.avatar")
    session, in_use = make_session(
        MODEL, ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    import onnxruntime as ort

    assert in_use == session.get_providers()[0]
    lines = [r.getMessage() for r in caplog.records if "puppet.onnx" in r.getMessage()]
    assert len(lines) == 1, lines
    assert f"running on {in_use}" in lines[0]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        # This machine's onnxruntime is the CPU build: the line must say why CUDA is not used.
        assert in_use == "CPUExecutionProvider"
        assert "CUDAExecutionProvider not in this onnxruntime build" in lines[0]


def test_bad_model_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="broken.onnx: cannot load as ONNX"):
        make_session(bad, ["CUDAExecutionProvider"])


def test_threads_auto_leaves_a_core_per_encoder() -> None:
    n = len(os.sched_getaffinity(0))
    assert resolve_threads(3) == 3
    assert resolve_threads(0) == max(1, n - 1)
    assert resolve_threads(0, streams=n + 5) == 1
    assert free_cores(reserved=n) == 1


def test_threads_zero_is_valid_config_and_negative_is_not(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[avatar]\nthreads = -1\n")
    with pytest.raises(ConfigError, match="threads = -1"):
        load_config(cfg)
    cfg.write_text('[avatar]\nlabel_corner = "middle"\n')
    with pytest.raises(ConfigError, match="label_corner"):
        load_config(cfg)


def test_batched_frames_equal_single_frames(renderer: OnnxRenderer) -> None:
    shared = SharedRenderer(renderer, batch_max=4, max_wait_s=5.0)
    clients = [shared.client() for _ in range(4)]
    params = _params(4, seed=1)
    out: list[np.ndarray | None] = [None] * 4
    barrier = threading.Barrier(4)

    def run(i: int) -> None:
        barrier.wait()
        out[i] = clients[i].render(params[i][None, :])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # Every client was in, so the worker made exactly one inference of four frames.
    assert shared.stats.batches == 1 and shared.stats.max_batch == 4
    for i in range(4):
        single = renderer.render(params[i][None, :])
        assert out[i] is not None and out[i].shape == single.shape
        assert np.abs(out[i] - single).max() < 1e-5
    for c in clients:
        c.close()
    shared.close()


def test_a_closed_client_is_not_waited_for(renderer: OnnxRenderer) -> None:
    shared = SharedRenderer(renderer, batch_max=8, max_wait_s=30.0)
    a, b = shared.client(), shared.client()
    b.close()  # a stream that ended: the batch must not wait 30 s for it
    t0 = time.monotonic()
    a.render(_params(1)[0])
    assert time.monotonic() - t0 < 10
    assert shared.stats.max_batch == 1
    a.close()
    shared.close()


def test_a_failing_batch_reaches_every_caller(renderer: OnnxRenderer) -> None:
    class Boom:
        n_params, provider, size, path, threads = N_PARAMS, "CPU", None, MODEL, 1

        def render(self, p: np.ndarray) -> np.ndarray:
            raise RuntimeError("gpu fell over")

    shared = SharedRenderer(Boom(), batch_max=2, max_wait_s=5.0)  # type: ignore[arg-type]
    clients = [shared.client(), shared.client()]
    errors: list[str] = []

    def run(c) -> None:  # noqa: ANN001
        try:
            c.render(_params(1)[0])
        except RuntimeError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == ["gpu fell over"] * 2
    shared.close()


def test_streams_with_the_same_model_share_one_session() -> None:
    a = shared_renderer(MODEL, ["CPUExecutionProvider"], 1, batch_max=1)
    b = shared_renderer(MODEL, ["CPUExecutionProvider"], 1, batch_max=1)
    assert a._shared is b._shared
    p = _params(1, seed=3)
    assert np.array_equal(a.render(p), b.render(p))
    with pytest.raises(ValueError, match="params"):
        a.render(np.zeros((1, N_PARAMS + 1), np.float32))
    a.close()
    b.close()


def _label_pixels(c: Compositor) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = c.label_box
    region = c.background_rgb[y0:y1, x0:x1].astype(int).mean(axis=2)
    return (region > 200), (region < 60)


@pytest.mark.parametrize("corner", LABEL_CORNERS)
def test_label_text_and_corner_are_configurable(corner: str) -> None:
    c = Compositor(StreamFormat(720, 1280), label="KI-generiert", label_corner=corner)
    x0, y0, x1, y1 = c.label_box
    assert 0 <= x0 < x1 <= 720 and 0 <= y0 < y1 <= 1280
    assert (x0 < 360) == corner.endswith("left")
    assert (y0 < 640) == corner.startswith("top")
    white, dark = _label_pixels(c)
    assert white.sum() > 80 and dark.sum() > 1500
    # The label never covers the product panel.
    assert y1 <= c.panel_box[1]


def test_label_can_be_turned_off_and_on_is_default() -> None:
    on, off = Compositor(StreamFormat(720, 1280)), Compositor(StreamFormat(720, 1280), label="")
    assert on.label == "AI-generated"
    x0, y0, x1, y1 = on.label_box
    dark_on = (on.background_rgb[y0:y1, x0:x1].astype(int).mean(axis=2) < 60).sum()
    dark_off = (off.background_rgb[y0:y1, x0:x1].astype(int).mean(axis=2) < 60).sum()
    assert dark_on > 1500 and dark_off == 0


def test_copy_config_gives_each_copy_its_own_outputs() -> None:
    from streamhost.engine import copy_config

    cfg = load_config().with_overrides(
        output={"rtmp": ["rtmp://127.0.0.1/live/shop"], "record": "/tmp/night.mp4"}
    )
    assert copy_config(cfg, 0) is cfg
    c2 = copy_config(cfg, 2)
    assert c2.stream.name == "default-2"
    assert c2.output.rtmp == ["rtmp://127.0.0.1/live/shop-2"]
    assert c2.output.record == "/tmp/night-2.mp4" and c2.output.webrtc is False


@pytest.mark.timeout(120)
async def test_copies_in_one_process_batch_their_frames(tmp_path: Path) -> None:
    from streamhost.engine import Engine

    cfg = load_config().with_overrides(
        store={"data_dir": str(tmp_path)},
        avatar={"batch_max": 3, "batch_wait_ms": 20},
        output={"webrtc": False},
    )
    engine = Engine(cfg, virtual_clock=True, token="t", copies=3)
    await engine.run(3.0)
    shared = engine.primary.face.renderer._shared
    assert all(s.face.renderer._shared is shared for s in engine.streams)
    assert [s.loop.stats.frames for s in engine.streams] == [75, 75, 75]
    # The three streams tick together on the virtual clock: most frames share an inference.
    assert shared.stats.mean_batch > 2.0, shared.stats
    assert sorted(p.name for p in tmp_path.glob("*.sqlite")) == [
        "default-1.sqlite",
        "default-2.sqlite",
        "default.sqlite",
    ]


def test_several_workers_serve_every_client_its_own_tile(renderer: OnnxRenderer) -> None:
    """Two batch workers in flight: each caller still gets the tile of its own parameters,
    and every worker thread ends on close."""
    shared = SharedRenderer(renderer, batch_max=2, max_wait_s=0.002, workers=2)
    clients = [shared.client() for _ in range(6)]
    params = _params(6, seed=3)
    out: list[np.ndarray | None] = [None] * 6

    def run(i: int) -> None:
        for _ in range(3):
            out[i] = clients[i].render(params[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(shared._threads) == 2 and shared.stats.frames == 18
    for i in range(6):
        assert out[i] is not None
        assert np.abs(out[i] - renderer.render(params[i][None, :])).max() < 1e-5
    for c in clients:
        c.close()
    shared.close()
    assert not any(t.is_alive() for t in shared._threads)
    with pytest.raises(ValueError, match="workers must be >= 1"):
        SharedRenderer(renderer, workers=0)
