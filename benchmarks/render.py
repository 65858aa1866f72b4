"""How fast do the avatar models render, per core on this machine and on a GPU when there is one?

For each family and size -- the default host's ONNX puppet (params -> 368x400 RGBA head tile) and the
Wav2Lip contract at S = 96 and 256 (``mel`` (B,1,80,16) + ``face`` (B,6,S,S) -> (B,3,S,S); random
weights of the real architecture, exported by ``streamhost.avatar.wav2lip_arch``) -- the model
runs at batch 1, 4 and 16 on ONE core (process pinned, ``intra_op_num_threads = 1``, the
engine's session settings). Per batch size: CPU time per frame -> ``*_fps_per_core`` (frames
per CPU-second), and wall time per inference -> ``*_p50_ms`` / ``*_p99_ms``. Batch-1 names carry
no suffix (``puppet_fps_per_core``, ``wav2lip96_p99_ms``); others end in ``_b4`` / ``_b16``.

``puppet_figure_ms`` is the default host's per-frame figure cost on the same core: placing its
two posed arms (sprites cached per pose) and blending them and the collar into the I420 frame,
over the speaking-and-gesturing parameter sequence (the head tile's own blend is not included).

Inputs are realistic: the puppet gets the FaceDriver's parameters for a speaking, gesturing host
(sentences naming a product, greetings and plain talk in turn); wav2lip
gets mel windows of real espeak speech and a face crop.

With an NVIDIA GPU and onnxruntime-gpu (``pip install .[gpu]``), the same models also run with
the CUDA provider at batch 1..256 (``gpu_*`` names), and ``gpu_puppet_streams`` is how many
25-fps default-host streams one GPU sustains when their frames are batched
(``streamhost.avatar.batcher``): the largest B * (1 s / 25) / t_B over batch sizes B whose p99
inference time t_B stays under 20 ms (half a frame period, leaving the rest for compose and
encode). The JSON names the GPU (nvidia-smi) in its machine description.

    python benchmarks/render.py [--json PATH] [--quick] [--frames N] [--no-gpu]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import (  # noqa: E402
    Results,
    arg_parser,
    machine_info,
    percentile,
    pin_one_core,
    report,
)

NAME = "render"
BATCHES = (1, 4, 16)
GPU_BATCHES = (1, 4, 16, 64, 128, 256)
PUPPET = Path(__file__).resolve().parents[1] / "assets" / "avatar" / "default" / "puppet.onnx"
TARGETS = {
    "puppet_fps_per_core": (">=", 300),
    "puppet_p99_ms": ("<=", 5),
    "photo_fps_per_core": (">=", 100),
    "photo_p99_ms": ("<=", 10),
    "clip_fps_per_core": (">=", 200),
    "clip_p99_ms": ("<=", 10),
    "clip_pack_build_x_video": ("<=", 2),
}


def _suffix(b: int) -> str:
    return "" if b == 1 else f"_b{b}"


def time_runs(run: Callable[[int], Any], batch: int, frames: int) -> tuple[float, list[float]]:
    """(CPU ms per frame, wall ms per inference samples) over ~``frames`` frames at ``batch``."""
    for _ in range(3 if batch == 1 else 1):
        run(batch)
    n = max(3, frames // batch)
    walls: list[float] = []
    c0 = time.process_time()
    for _ in range(n):
        w0 = time.perf_counter()
        run(batch)
        walls.append((time.perf_counter() - w0) * 1000)
    cpu_ms = (time.process_time() - c0) * 1000 / (n * batch)
    return cpu_ms, walls


def puppet_inputs(n: int) -> Any:
    import numpy as np

    from streamhost.avatar.driver import FaceDriver
    from streamhost.frames import Sentence

    d = FaceDriver(seed=1)
    lines = [
        Sentence("This kettle boils in a minute", "script", product_id="kettle"),
        Sentence("Hello and welcome to the show", "template"),
        Sentence("Ask me anything in the chat", "template"),
    ]
    out = []
    for i in range(n):
        if i % 75 == 0:  # a new 3-second sentence
            d.start_speech(i / 25, [(k * 0.09, k * 0.09 + 0.09, 1 + k % 5) for k in range(33)],
                           lines[(i // 75) % len(lines)])  # fmt: skip
        out.append(d.params_at(i / 25))
    return np.stack(out).astype(np.float32)


def figure_ms(params: Any) -> float:
    """CPU ms per frame of the default figure: arms placed and blended, collar blended."""
    import numpy as np

    from streamhost.avatar.compositor import Compositor
    from streamhost.avatar.figure import Figure
    from streamhost.avatar.looks import LOOKS

    comp = Compositor(figure=Figure(LOOKS["ava"]))
    empty = np.zeros((4, 400, 368), np.float32)
    for p in params:  # warm the pose cache once, as a running stream has after its first minutes
        comp.compose(empty, params=p)
    c0 = time.process_time()
    for p in params:
        comp.compose(empty, params=p)
    with_fig = (time.process_time() - c0) * 1000 / len(params)
    c0 = time.process_time()
    for _ in params:
        comp.compose(empty)
    without = (time.process_time() - c0) * 1000 / len(params)
    return max(0.0, with_fig - without)


def wav2lip_inputs(size: int, n: int) -> tuple[Any, Any]:
    """Mel windows of real speech and a face crop pair (masked + reference), (n, ...) each."""
    import numpy as np

    from streamhost.avatar import mel as melmod
    from streamhost.frames import Sentence

    rng = np.random.default_rng(0)
    try:
        from streamhost.voice.espeak import EspeakTTS

        text = "Welcome back! These earbuds last forty hours and cost forty nine ninety today."
        speech = EspeakTTS(sample_rate=16000).synthesize(Sentence(text, "script"))
        pcm = speech.pcm.astype(np.float32) / 32768.0
    except ImportError:  # a bare GPU machine without espeak-ng: a convolution's time does not
        pcm = rng.normal(0.0, 0.1, 16000 * 3).astype(np.float32)  # depend on what it convolves
    spec = melmod.melspectrogram(pcm)
    mels = np.stack([melmod.mel_window(spec, i % 50, 25) for i in range(n)])[:, None]
    ref = rng.uniform(0.2, 0.8, (3, size, size)).astype(np.float32)
    masked = ref.copy()
    masked[:, size // 2 :] = 0.0
    face = np.concatenate([masked, ref])[None].repeat(n, axis=0)
    return mels.astype(np.float32), face


def bench_cpu(res: Results, frames: int, tmp: Path) -> dict[str, Any]:
    import numpy as np

    from streamhost.avatar.ort_session import make_session
    from streamhost.avatar.wav2lip_arch import export_onnx

    notes: dict[str, Any] = {}
    sess, _ = make_session(PUPPET, ["CPUExecutionProvider"], 1)
    params = puppet_inputs(256)

    def run_puppet(b: int) -> Any:
        i = np.random.randint(0, len(params) - b)
        return sess.run(None, {"params": params[i : i + b]})

    models: list[tuple[str, Callable[[int], Any], int]] = [("puppet", run_puppet, frames)]
    res.add("puppet_figure_ms", figure_ms(params), "ms", 3)
    for size in (96, 256):
        path = export_onnx(tmp / f"wav2lip{size}.onnx", size)
        s, _ = make_session(path, ["CPUExecutionProvider"], 1, what="wav2lip model")
        mels, face = wav2lip_inputs(size, 16)

        def run_w2l(b: int, s: Any = s, mels: Any = mels, face: Any = face) -> Any:
            return s.run(None, {"mel": mels[:b], "face": face[:b]})

        # S=256 is ~30x the work of S=96: fewer frames keep the run within minutes.
        models.append((f"wav2lip{size}", run_w2l, frames // (1 if size == 96 else 8)))
    for name, run, n in models:
        for b in BATCHES:
            cpu_ms, walls = time_runs(run, b, n)
            sfx = _suffix(b)
            res.add(f"{name}_fps_per_core{sfx}", 1000.0 / cpu_ms, "frames/s", 1)
            res.add(f"{name}_ms_per_frame{sfx}", cpu_ms, "ms", 3)
            res.add(f"{name}_p50_ms{sfx}", percentile(walls, 50), "ms", 3)
            res.add(f"{name}_p99_ms{sfx}", percentile(walls, 99), "ms", 3)
            notes[f"{name}{sfx}_inferences"] = len(walls)
    return notes


def bench_gpu(res: Results, frames: int, tmp: Path) -> dict[str, Any] | None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return None
    from streamhost.avatar.ort_session import make_session

    sess, used = make_session(PUPPET, ["CUDAExecutionProvider"], 1)
    if used != "CUDAExecutionProvider":
        return {"gpu": f"CUDA provider did not start; ran on {used}"}
    params = puppet_inputs(max(GPU_BATCHES) + 1)
    best = 0.0
    for b in GPU_BATCHES:
        _, walls = time_runs(lambda k: sess.run(None, {"params": params[:k]}), b, frames * 4)
        p99 = percentile(walls, 99)
        res.add(f"gpu_puppet_p50_ms{_suffix(b)}", percentile(walls, 50), "ms", 3)
        res.add(f"gpu_puppet_p99_ms{_suffix(b)}", p99, "ms", 3)
        res.add(f"gpu_puppet_fps{_suffix(b)}", b * 1000.0 / percentile(walls, 50), "frames/s", 1)
        if p99 <= 20.0:
            best = max(best, b * 40.0 / p99)
    res.add("gpu_puppet_streams", int(best), "streams", 0)
    from streamhost.avatar.wav2lip_arch import export_onnx

    for size in (96, 256):
        s, _ = make_session(export_onnx(tmp / f"g{size}.onnx", size), ["CUDAExecutionProvider"], 1)
        mels, face = wav2lip_inputs(size, 16)
        for b in BATCHES:
            _, walls = time_runs(
                lambda k, s=s, m=mels, f=face: s.run(None, {"mel": m[:k], "face": f[:k]}),
                b,
                frames,
            )
            res.add(f"gpu_wav2lip{size}_p99_ms{_suffix(b)}", percentile(walls, 99), "ms", 3)
            res.add(
                f"gpu_wav2lip{size}_fps{_suffix(b)}",
                b * 1000.0 / percentile(walls, 50),
                "frames/s",
                1,
            )
    return {"gpu_provider": used, "stream_rule": "B*40ms/p99(t_B) for p99(t_B) <= 20 ms"}


def bench_photo(res: Results, frames: int, tmp: Path) -> dict[str, Any] | None:
    """The photo family's whole picture() per frame (warp, mouth interior, I420, overlays) for
    a pack built from scikit-image's astronaut portrait, driven by a talking parameter track.
    Skipped (None) where scikit-image or the landmark models are missing."""
    try:
        import skimage

        from streamhost.avatar import landmarks

        landmarks.models_dir()
    except (ImportError, landmarks.FaceModelsMissing) as e:
        print(f"photo: skipped ({e})", file=sys.stderr)
        return None
    import numpy as np

    from streamhost.avatar.compositor import Compositor
    from streamhost.avatar.packbuild import ConsentInfo
    from streamhost.avatar.params import N_PARAMS, P
    from streamhost.avatar.photo_build import build_photo_pack
    from streamhost.avatar.photo_face import PhotoFace
    from streamhost.frames import StreamFormat

    img = Path(skimage.__file__).parent / "data" / "astronaut.png"
    t0 = time.perf_counter()
    pack = build_photo_pack(tmp / "photo", images=[img], consent=ConsentInfo("bench", True),
                            progress=False)  # fmt: skip
    build_s = time.perf_counter() - t0

    class Track:  # mouth opening and closing at syllable rate, blinks, head motion
        def params_at(self, t: float) -> Any:
            v = np.zeros(N_PARAMS, np.float32)
            v[P.MOUTH_OPEN] = 0.5 + 0.5 * np.sin(t * 25.0)
            v[P.MOUTH_WIDE] = 0.3 + 0.3 * np.sin(t * 7.0)
            v[P.BLINK] = float((t % 3.0) < 0.15)
            v[P.HEAD_X], v[P.HEAD_Y] = np.sin(t * 0.7), np.sin(t * 0.5)
            return v

        def set_mouth_source(self, source: object) -> None:
            return None

    face = PhotoFace(pack, Track(), Compositor(StreamFormat(pack.canvas_width, pack.canvas_height)))
    _time_face(res, "photo", face, frames, build_s)
    return {"photo_region": list(face.region)}


def bench_clip(
    res: Results, frames: int, tmp: Path, seconds: float = 62.0
) -> dict[str, Any] | None:
    """The clip family: a 720p talking-face video made like the tests make one (the astronaut
    photo pack speaking, recorded on the virtual clock), the pack built from it (its time
    against the video's length), then picture() per frame driven by the real FaceDriver over
    a random viseme track. Skipped (None) where scikit-image or the landmark models are missing."""
    try:
        import skimage

        from streamhost.avatar import landmarks

        landmarks.models_dir()
    except (ImportError, landmarks.FaceModelsMissing) as e:
        print(f"clip: skipped ({e})", file=sys.stderr)
        return None
    import asyncio

    import numpy as np

    from streamhost.avatar.clip_build import build_clip_pack
    from streamhost.avatar.clip_face import ClipFace
    from streamhost.avatar.compositor import Compositor
    from streamhost.avatar.driver import FaceDriver
    from streamhost.avatar.packbuild import ConsentInfo
    from streamhost.avatar.photo_build import build_photo_pack
    from streamhost.config import load_config
    from streamhost.engine import Engine
    from streamhost.frames import StreamFormat

    w, h = 720, 1280
    img = Path(skimage.__file__).parent / "data" / "astronaut.png"
    build_photo_pack(tmp / "clip-src", images=[img], consent=ConsentInfo("bench", True),
                     width=w, height=h, progress=False)  # fmt: skip
    video = tmp / "clip-talk.mp4"
    cfg = load_config().with_overrides(
        stream={"width": w, "height": h}, avatar={"pack": str(tmp / "clip-src")},
        output={"record": str(video)}, store={"data_dir": str(tmp / "clip-data")},
    )  # fmt: skip
    asyncio.run(Engine(cfg, virtual_clock=True, token="bench").run(seconds))
    t0 = time.perf_counter()
    pack = build_clip_pack(tmp / "clip", video=video, consent=ConsentInfo("bench", True),
                           width=w, height=h, progress=False)  # fmt: skip
    build_s = time.perf_counter() - t0
    driver = FaceDriver(25)
    rng = np.random.default_rng(0)
    track, t = [], 0.0
    while t < frames / 25 + 1:
        d = float(rng.uniform(0.06, 0.2))
        track.append((t, t + d, int(rng.integers(0, 7))))
        t += d
    driver.start_speech(0.0, track)
    face = ClipFace(pack, driver, Compositor(StreamFormat(w, h)), 25)
    _time_face(res, "clip", face, frames, build_s)
    res.add("clip_pack_build_x_video", build_s / seconds, "x", 2)
    return {"clip_box": list(face.box), "clip_video_s": seconds}


def _time_face(res: Results, family: str, face: Any, frames: int, build_s: float) -> None:
    """picture() per frame on one thread: fps per core, wall p50/p99, and the pack's build time."""
    k = [0]

    def run(b: int) -> None:
        for _ in range(b):
            face.picture(k[0] / 25)
            k[0] += 1

    cpu_ms, walls = time_runs(run, 1, frames)
    res.add(f"{family}_fps_per_core", 1000.0 / cpu_ms, "frames/s", 1)
    res.add(f"{family}_p50_ms", percentile(walls, 50), "ms", 3)
    res.add(f"{family}_p99_ms", percentile(walls, 99), "ms", 3)
    res.add(f"{family}_pack_build_s", build_s, "s", 2)


def main() -> int:
    ap = arg_parser(__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=None, help="frames per measurement (400)")
    ap.add_argument("--no-gpu", action="store_true", help="skip the CUDA measurements")
    args = ap.parse_args()
    frames = args.frames or (48 if args.quick else 400)
    core = pin_one_core()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    res = Results(
        NAME,
        config={
            "frames": frames,
            "batches": list(BATCHES),
            "pinned_core": core,
            "threads": 1,
            "timing": "CPU ms per frame from process_time; p50/p99 = wall ms per inference",
            "targets": {k: f"{op} {v}" for k, (op, v) in TARGETS.items()},
        },
    )
    with tempfile.TemporaryDirectory() as d:
        res.config["cpu"] = bench_cpu(res, frames, Path(d))
        res.config["photo"] = bench_photo(res, frames, Path(d))
        res.config["clip"] = bench_clip(res, frames, Path(d))
        if not args.no_gpu:
            os.sched_setaffinity(0, os.sched_getaffinity(0) | set(range(os.cpu_count() or 1)))
            res.config["gpu"] = bench_gpu(res, frames, Path(d))
    report(res, args.json, machine_info(["onnxruntime"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
