"""Avatar pack manifests: the default puppet pack loads as before, wav2lip packs are validated
with messages that name the file, the key and the problem, and the builder keeps consent."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from streamhost.avatar.pack import PackError, load_pack
from streamhost.avatar.wav2lip_face import paste_regions, pingpong, smooth_boxes
from streamhost.cli import main as cli_main

# torch is a dev extra (test models are built here); in CI it must be there.
torch = __import__("torch") if os.environ.get("CI") == "true" else pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "assets/avatar/default"
W, H = 384, 640


class _Contract(torch.nn.Module):
    """The smallest model with the wav2lip tensor contract (fast to export; its output is
    meaningless). ``s_out`` lets a test break the output shape."""

    def __init__(self, s_out: int | None = None) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(6, 3, 1)
        self.s_out = s_out

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        x = torch.sigmoid(self.conv(face) + mel.mean(dim=(1, 2, 3))[:, None, None, None])
        if self.s_out is not None:
            x = x[:, :, : self.s_out, : self.s_out]
        return x


def _export(path: Path, size: int, mel_shape=(1, 80, 16), s_out: int | None = None) -> Path:
    torch.onnx.export(
        _Contract(s_out).eval(),
        (torch.zeros(1, *mel_shape), torch.zeros(1, 6, size, size)),
        str(path),
        input_names=["mel", "face"],
        output_names=["out"],
        dynamic_axes={"mel": {0: "b"}, "face": {0: "b"}, "out": {0: "b"}},
        dynamo=False,
    )
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("models")
    return {
        "ok96": _export(d / "ok96.onnx", 96),
        "ok256": _export(d / "ok256.onnx", 256),
        "bad_mel": _export(d / "bad_mel.onnx", 96, mel_shape=(1, 80, 20)),
        "bad_out": _export(d / "bad_out.onnx", 96, s_out=48),
    }


MANIFEST = """family = "wav2lip"
model = "model.onnx"
driver = "audio"
size = 96
base = "frames"
boxes = "boxes.json"

[canvas]
width = {w}
height = {h}

[consent]
person = "Ana Test"
agreed = true
date = 2026-11-20
note = "release form #12"
"""


def _pack(tmp_path: Path, models: dict[str, Path], n: int = 3, **edits: str) -> Path:
    """A valid 3-frame wav2lip pack; ``edits`` replace manifest lines by key ('' drops one)."""
    root = tmp_path / "pack"
    (root / "frames").mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (W, H), (90 + i, 100, 110)).save(root / "frames" / f"{i:04d}.png")
    (root / "boxes.json").write_text(json.dumps([[100, 120, 280, 330]] * n))
    shutil.copyfile(models["ok96"], root / "model.onnx")
    text = MANIFEST.format(w=W, h=H)
    for key, value in edits.items():
        lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key} =")]
        if value:
            lines.insert(1, f"{key} = {value}")
        text = "\n".join(lines) + "\n"
    (root / "pack.toml").write_text(text)
    return root


def test_default_puppet_pack_loads_unchanged() -> None:
    p = load_pack(DEFAULT)
    assert (p.family, p.driver, p.model.name) == ("puppet", "phonemes", "puppet.onnx")
    assert (p.render_width, p.render_height, p.premultiplied) == (368, 400, True)
    assert p.tile_xy(720, 1280) == (176, 140) and p.consent is None
    assert "puppet 368x400" in p.describe() and "no real person" in p.describe()


def test_puppet_pack_takes_the_audio_driver(tmp_path) -> None:
    d = tmp_path / "p"
    shutil.copytree(DEFAULT, d)
    toml = (d / "pack.toml").read_text().replace('driver = "phonemes"', 'driver = "audio"')
    (d / "pack.toml").write_text(toml)
    assert load_pack(d).driver == "audio"
    (d / "pack.toml").write_text(toml.replace('driver = "audio"', 'driver = "visemes"'))
    with pytest.raises(PackError, match=r"driver = 'visemes': a puppet pack takes phonemes or"):
        load_pack(d)


def test_valid_wav2lip_pack(tmp_path, models) -> None:
    p = load_pack(_pack(tmp_path, models))
    assert (p.family, p.size, p.n_frames, p.smooth) == ("wav2lip", 96, 3, 5)
    assert p.consent is not None and p.consent.date == "2026-11-20"
    assert p.describe() == (
        "wav2lip S=96, 3 base frames, driver audio; "
        "consent: Ana Test, agreed 2026-11-20 (release form #12)"
    )
    assert p.tile_xy(W, H) == (0, 0)
    with pytest.raises(PackError, match=r"\[canvas\] 384x640 does not match the stream's 720x1280"):
        p.tile_xy(720, 1280)


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ({"family": '"deepfake"'}, "family = 'deepfake': must be one of puppet, wav2lip"),
        ({"model": '"nope.onnx"'}, "model = 'nope.onnx': .*nope.onnx does not exist"),
        ({"base": '"missing.mp4"'}, "base = 'missing.mp4': .*does not exist"),
        ({"boxes": ""}, "boxes = None: must name a file in the pack folder"),
        ({"size": "128"}, "size = 128: must be one of 96, 256"),
        (
            {"size": "256"},
            r"model .*model.onnx: inputs must be mel \(B, 1, 80, 16\) and face "
            r"\(B, 6, 256, 256\) for size = 256; the model has mel \['b', 1, 80, "
            r"16\], face \['b', 6, 96, 96\]",
        ),  # fmt: skip
        ({"driver": '"phonemes"'}, "driver = 'phonemes': a wav2lip pack takes audio"),
        ({"smooth": "0"}, "smooth = 0: must be an integer 1..25"),
    ],
)
def test_broken_manifest_is_rejected_by_name(tmp_path, models, edits, message) -> None:
    with pytest.raises(PackError, match=message) as e:
        load_pack(_pack(tmp_path, models, **edits))
    assert str(tmp_path / "pack" / "pack.toml") in str(e.value)


def test_consent_is_required_and_must_be_agreed(tmp_path, models) -> None:
    root = _pack(tmp_path, models)
    toml = (root / "pack.toml").read_text()
    (root / "pack.toml").write_text(toml.split("[consent]")[0])
    with pytest.raises(PackError, match=r"\[consent\] missing: a pack showing a real person"):
        load_pack(root)
    (root / "pack.toml").write_text(toml.replace("agreed = true", "agreed = false"))
    with pytest.raises(PackError, match=r"\[consent\] agreed = False: must be true"):
        load_pack(root)
    (root / "pack.toml").write_text(toml.replace('person = "Ana Test"', 'person = " "'))
    with pytest.raises(PackError, match=r"\[consent\] person = ' ': must name who appears"):
        load_pack(root)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("bad_mel", r"inputs must be mel \(B, 1, 80, 16\).*mel \['b', 1, 80, 20\]"),
        ("bad_out", r"output must be one \(B, 3, 96, 96\) tensor; the model has out \['b', 3, 48"),
    ],
)
def test_model_with_wrong_tensor_shapes(tmp_path, models, model, message) -> None:
    root = _pack(tmp_path, models)
    shutil.copyfile(models[model], root / "model.onnx")
    with pytest.raises(PackError, match=message):
        load_pack(root)


def test_puppet_model_is_not_a_wav2lip_model(tmp_path, models) -> None:
    root = _pack(tmp_path, models)
    shutil.copyfile(DEFAULT / "puppet.onnx", root / "model.onnx")
    with pytest.raises(PackError, match=r"inputs must be mel .* the model has params \["):
        load_pack(root)
    (root / "model.onnx").write_bytes(b"not onnx")
    with pytest.raises(PackError, match="model .*model.onnx: cannot load as ONNX"):
        load_pack(root)


def test_boxes_outside_the_frame_or_miscounted(tmp_path, models) -> None:
    root = _pack(tmp_path, models)
    boxes = root / "boxes.json"
    boxes.write_text(json.dumps([[100, 120, 280, 330], [300, 500, 400, 700], [0, 0, 10, 10]]))
    with pytest.raises(PackError, match=r"box 1 \[300.0, 500.0, 400.0, 700.0\] lies outside "
                                        r"the 384x640 frame \(1 boxes outside\)"):  # fmt: skip
        load_pack(root)
    boxes.write_text(json.dumps([[100, 120, 280, 330]] * 2))
    with pytest.raises(PackError, match="2 boxes for 3 base frames"):
        load_pack(root)
    boxes.write_text(json.dumps([[100, 120, 80, 330]] * 3))
    with pytest.raises(PackError, match=r"box 0 \[100.0, 120.0, 80.0, 330.0\] is empty"):
        load_pack(root)
    boxes.write_text(json.dumps([[1, 2, 3]] * 3))
    with pytest.raises(PackError, match=r"must be N boxes of 4 numbers .* shape \(3, 3\)"):
        load_pack(root)
    np.save(root / "boxes.npy", np.array([[100, 120, 280, 330]] * 3))
    toml = (root / "pack.toml").read_text().replace("boxes.json", "boxes.npy")
    (root / "pack.toml").write_text(toml)
    assert load_pack(root).n_frames == 3


def test_base_frames_must_match_the_canvas(tmp_path, models) -> None:
    root = _pack(tmp_path, models)
    Image.new("RGB", (320, 640)).save(root / "frames" / "0000.png")
    with pytest.raises(PackError, match=r"frames are 320x640, but \[canvas\] says 384x640"):
        load_pack(root)
    (root / "frames" / "0000.png").write_bytes(b"junk")
    with pytest.raises(PackError, match=r"0000.png: not a readable image"):
        load_pack(root)


def test_box_smoothing_alignment_and_pingpong() -> None:
    jitter = np.array([[100, 100, 200, 220], [110, 96, 210, 216], [100, 100, 200, 220]], float)
    sm = smooth_boxes(jitter, 3)
    assert np.allclose(sm[1], jitter.mean(axis=0))
    assert np.allclose(sm[0], (2 * jitter[0] + jitter[1]) / 3)  # edges repeat
    r = paste_regions(np.array([[101.3, 99.5, 200.2, 230.9], [370.0, 600.0, 384.0, 640.0]]), W, H)
    for x0, y0, x1, y1 in r:
        assert x0 % 2 == 0 and y0 % 2 == 0 and (x1 - x0) % 2 == 0 and (y1 - y0) % 4 == 0
        assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
    assert r[0][0] <= 101.3 and r[0][2] >= 200.2 and r[0][3] >= 230.9
    assert [pingpong(i, 4) for i in range(9)] == [0, 1, 2, 3, 2, 1, 0, 1, 2]
    assert pingpong(7, 1) == 0


def _portrait(path: Path) -> Path:
    from streamhost.avatar.driver import FaceDriver
    from streamhost.avatar.runner import OnnxRenderer

    rgba = OnnxRenderer(DEFAULT / "puppet.onnx").render(FaceDriver(25, seed=3).params_at(0.0))[0]
    rgb = (rgba[:3] + (1 - rgba[3:4]) * 0.75).transpose(1, 2, 0)
    # A portrait with room around the head (the tile alone is all face, edge to edge, and the
    # build cover-fits it to the canvas, cutting the cheeks off: no detector finds that face).
    page = np.full((1200, 720, 3), 0.75, np.float32)
    page[300:700, 176:544] = rgb
    Image.fromarray((page.clip(0, 1) * 255).astype(np.uint8)).save(path)
    return path


def test_photo_pack_and_check_shows_family_size_consent(tmp_path, models, capsys) -> None:
    photo = _portrait(tmp_path / "portrait.png")
    args = ["avatar", "build", "--image", str(photo), "--out", str(tmp_path / "photo"),
            "--model", str(models["ok256"]), "--width", str(W), "--height", str(H)]  # fmt: skip
    assert cli_main(args) == 2
    assert "refusing to build: no consent record" in capsys.readouterr().err
    assert cli_main([*args, "--size", "96", "--person", "Bo", "--consent", "yes"]) == 2
    assert "--size 96 but the model" in capsys.readouterr().err
    assert cli_main([*args, "--person", "Bo Test", "--consent", "yes"]) == 0
    p = load_pack(tmp_path / "photo")
    assert (p.family, p.size, p.n_frames, p.base.name) == ("wav2lip", 256, 1, "base.png")
    assert np.load(tmp_path / "photo/crops.npy").shape == (1, 256, 256, 3)
    (x0, y0, x1, y1) = json.loads((tmp_path / "photo/boxes.json").read_text())[0]
    assert x0 < W / 2 < x1 and y0 < H / 2 < y1  # the puppet's face, centred by the cover-fit
    assert cli_main([*args, "--person", "Bo Test", "--consent", "yes"]) == 2
    assert "exists and is not empty" in capsys.readouterr().err

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f"[stream]\nwidth = {W}\nheight = {H}\n"
        f'[talk]\ncatalog = "{ROOT}/assets/catalog/demo.json"\nshow = ""\n'
        f'[avatar]\npack = "{tmp_path / "photo"}"\n'
    )
    capsys.readouterr()
    assert cli_main(["check", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "wav2lip S=256, 1 base frames, driver audio; consent: Bo Test, agreed " in out
    cfg.write_text(cfg.read_text().replace(f"width = {W}", "width = 720"))
    assert cli_main(["check", "--config", str(cfg)]) == 2
    assert "does not match the stream's 720x640" in capsys.readouterr().err


async def test_engine_runs_the_default_puppet_through_its_face(tmp_path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from conftest import running_engine

    from streamhost.avatar.puppet_face import PuppetFace

    async with running_engine(tmp_path, virtual=True, duration=1.0) as (engine, _url, task):
        st = engine.streams[0]
        await task
    assert isinstance(st.face, PuppetFace) and st.face.renderer is not None
    assert st.loop.stats.frames == 25 and st.player.lookahead == 0
    assert st.face._idle_rgba is not None  # warmed up: a renderer failure shows the idle face


def test_failing_model_shows_base_frames_and_logs_once(tmp_path, models, caplog) -> None:
    from streamhost.avatar.compositor import Compositor
    from streamhost.avatar.wav2lip_face import Wav2LipFace
    from streamhost.frames import StreamFormat
    from streamhost.player import SpeechPlayer

    class _Mouth:
        def start_speech(self, t0, visemes) -> None: ...
        def stop_speech(self, t) -> None: ...
        def set_emotion(self, name) -> None: ...

    player = SpeechPlayer(StreamFormat(sample_rate=48000, fps=25), _Mouth())
    comp = Compositor(StreamFormat(W, H), tile_xy=(0, 0))
    face = Wav2LipFace(load_pack(_pack(tmp_path, models)), player, comp, 25, 48000)
    loud = np.full(1920 + player.lookahead, 9000, np.int16)
    player.last_pull = (0.0, loud)
    assert not np.array_equal(face.picture(0.0), comp.overlay(face.base_i420[0].copy()))

    class _Broken:
        def run(self, *a, **k):
            raise RuntimeError("device lost")

    face.session = _Broken()
    for i in range(1, 4):
        player.last_pull = (i / 25, loud)
        pic = face.picture(i / 25)
        assert np.array_equal(pic, comp.overlay(face.base_i420[pingpong(i, 3)].copy()))
    errors = [r for r in caplog.records if "wav2lip inference failed: device lost" in r.message]
    assert len(errors) == 1 and face.inferred == 1


def _two_faces(tmp_path, models):
    from streamhost.avatar.compositor import Compositor
    from streamhost.avatar.wav2lip_face import Wav2LipFace
    from streamhost.frames import StreamFormat
    from streamhost.player import SpeechPlayer

    class _Mouth:
        def start_speech(self, t0, visemes) -> None: ...
        def stop_speech(self, t) -> None: ...
        def set_emotion(self, name) -> None: ...

    pack = load_pack(_pack(tmp_path, models))
    comp = Compositor(StreamFormat(W, H), tile_xy=(0, 0))
    faces = []
    for realtime in (True, False):
        player = SpeechPlayer(StreamFormat(sample_rate=48000, fps=25), _Mouth())
        faces.append((Wav2LipFace(pack, player, comp, 25, 48000, realtime=realtime), player))
    return faces


def _speech(n: int) -> np.ndarray:
    t = np.arange(n) / 48000
    return (np.sin(2 * np.pi * 180 * t) * np.sin(2 * np.pi * 3 * t) * 12000).astype(np.int16)


def test_realtime_face_infers_ahead_and_shows_each_frame_its_own_mouth(tmp_path, models) -> None:
    """The real-clock face infers frame i + AHEAD in a worker while frame i is shown; once the
    pipeline is full every picture equals the virtual-clock picture of the same frame (same
    audio window, same base frame): ahead, but in sync."""
    (rt, rt_player), (vc, vc_player) = _two_faces(tmp_path, models)
    assert rt_player.lookahead == vc_player.lookahead + rt.AHEAD * 1920
    audio = _speech(48000)
    for i in range(12):
        lo = i * 1920
        rt_player.last_pull = (i / 25, audio[lo : lo + 1920 + rt_player.lookahead])
        vc_player.last_pull = (i / 25, audio[lo : lo + 1920 + vc_player.lookahead])
        pic_rt, pic_vc = rt.picture(i / 25), vc.picture(i / 25)
        if rt._job is not None:
            rt._job[1].result()  # a fast worker: done before the next frame
        if i < rt.AHEAD:
            assert np.array_equal(
                pic_rt, rt.compositor.overlay(rt.base_i420[pingpong(i, 3)].copy())
            )
        else:
            assert np.array_equal(pic_rt, pic_vc), i
    assert (rt.inferred, rt.reused) == (12 - rt.AHEAD, 0)
    rt.close()


def test_slow_worker_reuses_the_newest_mouth_and_never_blocks(tmp_path, models) -> None:
    import threading

    (rt, player), _ = _two_faces(tmp_path, models)
    gate = threading.Event()
    real = rt.session

    class _Slow:
        def run(self, *a, **k):
            gate.wait(10)  # the "inference" ends when the test says so
            return real.run(*a, **k)

    rt.session = _Slow()
    audio = _speech(48000)

    def show(i: int) -> np.ndarray:
        player.last_pull = (i / 25, audio[i * 1920 : (i + 1) * 1920 + player.lookahead])
        return rt.picture(i / 25)

    for i in range(4):  # frame 0 started frame 4's mouth; the worker is stuck on it
        show(i)
    assert rt._job is not None and rt._job[0] == 4 and not rt._job[1].done()
    gate.set()
    rt._job[1].result()
    gate.clear()
    show(4)  # frame 4 gets its own mouth and starts frame 8's
    assert (rt.inferred, rt.reused, rt._job[0]) == (1, 0, 8)
    pics = [show(i) for i in (5, 6, 7)]  # the worker is stuck again: mouth 4 is reused
    assert (rt.inferred, rt.reused) == (1, 3)
    assert not np.array_equal(pics[0], rt.compositor.overlay(rt.base_i420[pingpong(5, 3)].copy()))
    gate.set()
    rt.close()


def test_live_operator_audio_still_moves_the_mouth(tmp_path, models) -> None:
    """Takeover audio has no lookahead (the player peeks silence): the worker infers the newest
    frame instead, and its mouth appears one inference later."""
    (rt, player), _ = _two_faces(tmp_path, models)
    tone = _speech(1920 * 30)
    player.set_live(lambda n, t: tone[round(t * 25) * 1920 : round(t * 25) * 1920 + n], 0.0)
    drawn = []
    for i in range(8):
        player.pull(i / 25)
        before = rt.inferred + rt.reused
        rt.picture(i / 25)
        drawn.append(rt.inferred + rt.reused > before)
        if rt._job is not None:
            rt._job[1].result()
    assert not drawn[0] and all(drawn[2:]), drawn
    rt.close()
