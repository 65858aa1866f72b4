"""The wav2lip family end to end: mel features against a float64 reference, the real Wav2Lip
architecture (random weights, exported by the test), the pack builder on a presenter video the
test renders, and the engine streaming that pack on the virtual clock."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from streamhost.avatar import mel as M
from streamhost.avatar.pack import load_pack
from streamhost.avatar.wav2lip_face import SILENCE_PEAK, pingpong
from streamhost.cli import main as cli_main

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import running_engine  # noqa: E402

# torch is a dev extra (the model is built here, never downloaded); in CI it must be there.
torch = __import__("torch") if os.environ.get("CI") == "true" else pytest.importorskip("torch")
from streamhost.avatar.wav2lip_arch import Wav2Lip, export_onnx  # noqa: E402

W, H = 384, 640  # a small portrait canvas keeps the test quick


# ---- mel features ------------------------------------------------------------------------------


def _ref_mel(wav: np.ndarray) -> np.ndarray:
    """Independent float64 reference: explicit loops over frames and filters, textbook
    formulas (librosa's slaney mel + Wav2Lip's audio.py normalisation)."""
    sr, n_fft, hop = 16000, 800, 200
    y = np.empty_like(wav)
    y[0] = wav[0]
    for n in range(1, len(wav)):
        y[n] = wav[n] - 0.97 * wav[n - 1]
    pad = n_fft // 2
    yp = np.concatenate([y[1 : pad + 1][::-1], y, y[-pad - 1 : -1][::-1]])
    win = np.array([0.5 - 0.5 * math.cos(2 * math.pi * k / n_fft) for k in range(n_fft)])

    def hz2mel(f: float) -> float:
        return f / (200 / 3) if f < 1000 else 15 + math.log(f / 1000) / (math.log(6.4) / 27)

    def mel2hz(m: float) -> float:
        return m * (200 / 3) if m < 15 else 1000 * math.exp((m - 15) * math.log(6.4) / 27)

    lo, hi = hz2mel(55.0), hz2mel(7600.0)
    edges = [mel2hz(lo + (hi - lo) * k / 81) for k in range(82)]
    freqs = [sr * k / n_fft for k in range(n_fft // 2 + 1)]
    fb = np.zeros((80, len(freqs)))
    for b in range(80):
        left, mid, right = edges[b], edges[b + 1], edges[b + 2]
        for k, f in enumerate(freqs):
            up = (f - left) / (mid - left)
            down = (right - f) / (right - mid)
            fb[b, k] = max(0.0, min(up, down)) * 2.0 / (right - left)
    n_frames = 1 + len(wav) // hop
    out = np.zeros((80, n_frames))
    for t in range(n_frames):
        seg = yp[t * hop : t * hop + n_fft] * win
        mag = np.abs(np.fft.fft(seg)[: n_fft // 2 + 1])
        mel = fb @ mag
        db = 20 * np.log10(np.maximum(1e-5, mel)) - 20
        out[:, t] = np.clip(8 * (db + 100) / 100 - 4, -4, 4)
    return out


def test_mel_matches_float64_reference() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(16000) / 16000
    wav = 0.3 * np.sin(2 * np.pi * 220 * t) * (t < 0.6) + 0.05 * rng.standard_normal(t.size)
    wav[12000:] = 0.0  # a silent tail exercises the -4 clip floor
    got = M.melspectrogram(wav)
    ref = _ref_mel(wav)
    assert got.shape == ref.shape == (80, 81)
    assert np.abs(got - ref).max() < 1e-4
    assert got.min() == -4.0 and got.max() > 0.0


def test_mel_windows_follow_the_frame_rule_and_repeat_at_the_end() -> None:
    mel = np.arange(80 * 40, dtype=np.float64).reshape(80, 40)
    assert M.window_start(7, 25) == int(7 * 80 / 25) == 22
    assert np.array_equal(M.mel_window(mel, 1, 25), mel[:, 3:19])
    assert np.array_equal(M.mel_window(mel, 9, 25), mel[:, 24:40])  # 28 + 16 > 40: last window
    assert np.array_equal(M.mel_window(mel, 500, 25), mel[:, 24:40])
    with pytest.raises(ValueError, match="at least 16 mel frames"):
        M.mel_window(mel[:, :10], 0, 25)


@pytest.mark.parametrize("sr", [16000, 24000, 44100, 48000])
def test_live_windows_equal_batch_windows(sr: int) -> None:
    """A stream fed 40 ms at a time (plus the player's lookahead) at any stream rate gets the
    windows of the batch computation on the whole signal resampled to 16 kHz at once."""
    from math import gcd

    from scipy.signal import resample_poly

    rng = np.random.default_rng(2)
    x16 = np.clip(rng.standard_normal(16000 * 2) * 0.2, -1, 1)
    g = gcd(sr, 16000)
    up, down = sr // g, 16000 // g
    pcm = (resample_poly(x16, up, down) * 32767).clip(-32768, 32767).astype(np.int16)
    batch = M.melspectrogram(resample_poly(pcm / 32768.0, down, up))
    live = M.LiveMel(sr, 25)
    spf = sr // 25
    for i in (0, 1, 2, 7, 20, 33):
        lo = max(0, i * spf - live.needed_behind)
        chunk = pcm[lo : i * spf + live.needed_ahead]
        err = np.abs(live.window(i, chunk, lo) - M.mel_window(batch, i, 25)).max()
        assert err < 1e-4, (i, err)


def test_face_audio_is_the_audio_that_plays_with_and_after_each_frame() -> None:
    """Speech queued in a real SpeechPlayer (with gaps), pulled frame by frame: the window the
    face computes for frame i from the player's lookahead equals the batch window of the whole
    played-out audio (so picture and sound stay in sync)."""
    from streamhost.avatar.wav2lip_face import Wav2LipFace
    from streamhost.frames import Sentence, Speech, StreamFormat
    from streamhost.player import SpeechPlayer

    sr, fps = 16000, 25
    player = SpeechPlayer(StreamFormat(sample_rate=sr, fps=fps), _NoMouth())
    face = Wav2LipFace.__new__(Wav2LipFace)  # only the audio path: no model, no pack
    face.player, face.fps, face.spf, face.mel = player, fps, sr // fps, M.LiveMel(sr, fps)
    face._hist, face._hist_end = np.zeros(0, np.int16), 0
    player.lookahead = face.mel.needed_ahead - face.spf
    rng = np.random.default_rng(5)
    for n, gap in ((9000, 0.3), (5000, 0.0), (12000, 0.5)):
        pcm = (rng.standard_normal(n) * 6000).clip(-32768, 32767).astype(np.int16)
        player.enqueue(Speech(Sentence("x", "test"), pcm, sr, [], []), [], gap_s=gap)
    played, windows = [], []
    for i in range(60):
        audio, _ = player.pull(i / fps)
        played.append(audio)
        a, a0 = face._audio(i, i / fps)
        windows.append(face.mel.window(i, a, a0))
    batch = M.melspectrogram(np.concatenate(played) / 32768.0)
    for i in range(60 - 6):  # the last frames' windows reach past what was pulled
        assert np.abs(windows[i] - M.mel_window(batch, i, fps)).max() < 1e-4, i


# ---- the model ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model96(tmp_path_factory) -> Path:
    return export_onnx(tmp_path_factory.mktemp("m") / "w96.onnx", 96)


@pytest.mark.parametrize("size", [96, 256])
def test_architecture_is_wav2lip(size: int) -> None:
    m = Wav2Lip(size).eval()
    n = sum(p.numel() for p in m.parameters())
    if size == 96:
        assert n == 36_298_035  # the published Wav2Lip generator's parameter count
    with torch.no_grad():
        out = m(torch.zeros(2, 1, 80, 16), torch.rand(2, 6, size, size))
    assert out.shape == (2, 3, size, size) and 0 <= out.min() and out.max() <= 1


# ---- builder + engine --------------------------------------------------------------------------


def _presenter_video(path: Path, n: int = 20) -> Path:
    """The project's puppet, rendered over a grey studio wall: a face the Haar cascade finds."""
    from streamhost.avatar.driver import FaceDriver
    from streamhost.avatar.runner import OnnxRenderer

    root = Path(__file__).resolve().parents[1]
    r = OnnxRenderer(root / "assets/avatar/default/puppet.onnx")
    d = FaceDriver(fps=25, seed=3)
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=25)
        vs.width, vs.height = 480, 600  # the head tile (368x400) with room around it
        vs.pix_fmt = "yuv420p"
        for i in range(n):
            rgba = r.render(d.params_at(i / 25)[None])[0]
            rgb = np.full((600, 480, 3), 0.75, np.float32)
            rgb[60:460, 56:424] = (rgba[:3] + (1 - rgba[3:4]) * 0.75).transpose(1, 2, 0)
            img = (rgb.clip(0, 1) * 255).astype(np.uint8)
            c.mux(vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        c.mux(vs.encode(None))
    return path


def _build(tmp_path: Path, model: Path, src: list[str], *extra: str) -> int:
    return cli_main(
        ["avatar", "build", *src, "--out", str(tmp_path / "pack"), "--model", str(model),
         "--width", str(W), "--height", str(H), *extra]
    )  # fmt: skip


def test_builder_refuses_without_consent(tmp_path, model96, capsys) -> None:
    video = _presenter_video(tmp_path / "p.mp4", 3)
    assert _build(tmp_path, model96, ["--video", str(video)]) == 2
    assert "refusing to build: no consent record" in capsys.readouterr().err
    assert _build(tmp_path, model96, ["--video", str(video)], "--person", "Ana", "--consent",
                  "no") == 2  # fmt: skip
    assert "'Ana' has not agreed" in capsys.readouterr().err
    assert not (tmp_path / "pack").exists()


async def test_video_pack_streams_with_lip_sync(tmp_path, model96, capsys) -> None:
    video = _presenter_video(tmp_path / "presenter.mp4")
    rc = _build(tmp_path, model96, ["--video", str(video)], "--person", "Ana Test",
                "--consent", "yes", "--consent-date", "2026-11-20", "--seconds", "0.6")  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    pack = load_pack(tmp_path / "pack")
    assert pack.family == "wav2lip" and pack.size == 96 and pack.n_frames == 15  # 0.6 s kept
    assert pack.consent is not None and pack.consent.person == "Ana Test"
    assert "consent: Ana Test, agreed 2026-11-20" in pack.describe()
    crops = np.load(tmp_path / "pack/crops.npy")
    assert crops.shape == (15, 96, 96, 3)
    boxes = np.array(__import__("json").loads((tmp_path / "pack/boxes.json").read_text()))
    # The face is where the puppet's head is: centred, upper-middle of the canvas.
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    assert np.all(np.abs(cx - W / 2) < W * 0.15), cx

    out = tmp_path / "rec.mp4"
    seen: list[tuple[bool, float, int]] = []
    async with running_engine(
        tmp_path,
        virtual=True,
        duration=4.0,
        stream={"width": W, "height": H},
        avatar={"pack": str(tmp_path / "pack")},
        output={"record": str(out)},
        talk={"sentence_gap_s": 0.8},
    ) as (engine, _url, task):
        st = engine.streams[0]
        face = st.face
        real = face.picture

        def spy(t: float) -> np.ndarray:
            before = face.inferred
            pic = real(t)
            k = pingpong(round(t * 25), face.n)
            base = face.compositor.overlay(face.base_i420[k].copy())
            x0, y0, x1, y1 = face.regions[k]
            diff = float(np.abs(pic[y0:y1, x0:x1].astype(np.int16) - base[y0:y1, x0:x1]).mean())
            own = st.player.last_pull[1][:1920]  # this frame's own audio
            peak = int(np.abs(own.astype(np.int32)).max())
            seen.append((face.inferred > before, diff, peak))
            return pic

        face.picture = spy
        await task
    inferred = [d for inf, d, _ in seen if inf]
    skipped = [(d, p) for inf, d, p in seen if not inf]
    assert len(seen) == 100
    assert len(inferred) >= 20 and len(skipped) >= 5, (len(inferred), len(skipped))
    assert min(inferred) > 1.0  # the redrawn mouth differs from the base frame while speaking
    assert all(d == 0.0 for d, _ in skipped)  # and silence shows the base frame as it is
    assert all(p < SILENCE_PEAK for _, p in skipped)  # only silent frames are skipped
    assert all(inf for inf, _, p in seen if p >= SILENCE_PEAK)  # every speaking frame is drawn
    # The redrawn mouth depends on the sound: different mel windows, different mouths.
    rng = np.random.default_rng(0)
    mouths = [face.infer(rng.uniform(-4, 4, (1, 1, 80, 16)).astype(np.float32), 0) for _ in "ab"]
    quiet = face.infer(np.full((1, 1, 80, 16), -4.0, np.float32), 0)
    assert np.abs(mouths[0].astype(int) - mouths[1]).mean() > 2
    assert np.abs(mouths[0].astype(int) - quiet).mean() > 2
    # The panel and the disclosure label are drawn over the presenter video.
    lx0, ly0, lx1, ly1 = face.compositor.label_box
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 100 and frames[0].shape == (H, W, 3)
    label = frames[-1][ly0 + 4 : ly1 - 4, lx0 + 14 : lx0 + 20].astype(int)
    assert label.mean() < 60  # the label's dark box, not the grey studio wall of the video


def test_s256_model_renders_through_the_face(tmp_path) -> None:
    """S = 256: export, validate through a pack, and run a few frames of the face directly."""
    from streamhost.avatar.compositor import Compositor
    from streamhost.avatar.wav2lip_face import Wav2LipFace
    from streamhost.frames import StreamFormat
    from streamhost.player import SpeechPlayer

    model = export_onnx(tmp_path / "w256.onnx", 256)
    import cv2

    pack_dir = tmp_path / "pack256"
    pack_dir.mkdir()
    img = np.full((H, W, 3), 120, np.uint8)
    cv2.circle(img, (W // 2, 260), 90, (220, 180, 160), -1)
    cv2.imwrite(str(pack_dir / "base.png"), img)
    (pack_dir / "boxes.json").write_text(f"[[{W // 2 - 100}, 160, {W // 2 + 100}, 370]]")
    (pack_dir / "model.onnx").symlink_to(model)
    (pack_dir / "pack.toml").write_text(
        'family = "wav2lip"\nmodel = "model.onnx"\nsize = 256\nbase = "base.png"\n'
        f'boxes = "boxes.json"\n[canvas]\nwidth = {W}\nheight = {H}\n'
        '[consent]\nperson = "Synthetic"\nagreed = true\ndate = "2026-11-21"\n'
    )
    pack = load_pack(pack_dir)
    player = SpeechPlayer(StreamFormat(sample_rate=16000, fps=25), _NoMouth())
    face = Wav2LipFace(pack, player, Compositor(StreamFormat(W, H), tile_xy=(0, 0)), 25, 16000)
    assert player.lookahead == face.mel.needed_ahead - 640
    tone = (np.sin(np.arange(640 + player.lookahead) * 0.2) * 8000).astype(np.int16)
    pics = []
    for i in range(3):
        player.last_pull = (i / 25, tone)
        pics.append(face.picture(i / 25))
    assert face.inferred == 3 and pics[0].shape == (H * 3 // 2, W)
    x0, y0, x1, y1 = face.regions[0]
    assert np.abs(pics[0][y0:y1, x0:x1].astype(int) - face.base_i420[0][y0:y1, x0:x1]).mean() > 1


class _NoMouth:
    def start_speech(self, t0, visemes) -> None: ...
    def stop_speech(self, t) -> None: ...
    def set_emotion(self, name) -> None: ...


# ---- import-wav2lip: an original checkpoint -> the contract's ONNX ------------------------------


def test_import_wav2lip_checkpoint_in_the_original_layout(tmp_path, capsys) -> None:
    """A random-weights S=96 checkpoint saved as DataParallel training saves it (module.
    prefix, inside "state_dict") imports, and the ONNX computes what the torch model does."""
    import onnxruntime as ort

    torch.manual_seed(1)
    model = Wav2Lip(96).eval()
    ckpt = tmp_path / "wav2lip_gan.pth"
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "global_step": 1, "optimizer": {}}, ckpt)
    out = tmp_path / "model.onnx"
    assert cli_main(["avatar", "import-wav2lip", str(ckpt), "--size", "96",
                     "--out", str(out)]) == 0, capsys.readouterr().err  # fmt: skip
    mel = torch.randn(2, 1, 80, 16)
    face = torch.rand(2, 6, 96, 96)
    with torch.no_grad():
        want = model(mel, face).numpy()
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"mel": mel.numpy(), "face": face.numpy()})[0]
    assert np.abs(got - want).max() < 1e-4


def test_import_wav2lip_refuses_wrong_or_truncated_checkpoints(tmp_path, capsys) -> None:
    state = Wav2Lip(96).state_dict()
    truncated = dict(list(state.items())[: len(state) // 2])
    torch.save({"state_dict": truncated}, tmp_path / "cut.pth")
    args = ["avatar", "import-wav2lip", "--size", "96", "--out", str(tmp_path / "m.onnx")]
    assert cli_main([*args, str(tmp_path / "cut.pth")]) == 2
    err = capsys.readouterr().err
    assert "missing keys (" in err and "conv_block" in err and "cut.pth" in err
    torch.save(state, tmp_path / "s96.pth")  # a bare state dict is accepted as a layout...
    assert cli_main([*args[:2], str(tmp_path / "s96.pth"), "--size", "256", "--out",
                     str(tmp_path / "m.onnx")]) == 2  # ...but not as the other size  # fmt: skip
    assert "not a Wav2Lip S=256 generator" in capsys.readouterr().err
    (tmp_path / "junk.pth").write_bytes(b"\x00" * 100)
    assert cli_main([*args, str(tmp_path / "junk.pth")]) == 2
    assert "cannot read as a torch checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()
