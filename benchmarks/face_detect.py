"""Do stock face detectors find the drawn host, look by look?

Platforms and auditors check frames with off-the-shelf detectors, so each built-in look
(``streamhost/avatar/looks.py``) speaks the same line (three seconds) and idles on to ten, in
three takes whose head motion, gaze and gestures differ (the driver's seed), and every frame
goes to the detectors available: OpenCV's Haar cascades (``frontalface_default``,
as ``tests/test_avatar.py`` uses it, and ``alt2``), dlib's HOG frontal face detector, and
MediaPipe's BlazeFace (short- and full-range models). The figure per look and detector is the
share of frames with a face found (and the mean confidence where the detector gives one).

dlib and MediaPipe are not project dependencies (the MediaPipe release that still ships its
models in the wheel, 0.10.14, pins an older protobuf). Run the two halves in two environments:

    .venv/bin/python benchmarks/face_detect.py --write-frames /tmp/looks
    OTHER/bin/python benchmarks/face_detect.py --frames /tmp/looks --json PATH

where OTHER has ``opencv-python-headless dlib-bin mediapipe==0.10.14``. Without ``--frames``
the script renders and scores in one go with whatever detectors this environment has; a
detector that cannot be imported is listed under ``config.missing``, never scored as zero.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import REPO, Results, arg_parser, machine_info, report  # noqa: E402

NAME = "face_detect"
LOOKS = ("ava", "kai", "mei", "zuri")
FPS = 25


def look_frames(look: str, n: int, seed: int = 1) -> Iterator[Any]:
    """``n`` BGR frames of ``look`` saying the test's line (tests/test_avatar.py), then idling;
    ``seed`` picks the idle head motion, gaze and gestures (the driver's)."""
    import cv2

    from streamhost.avatar.compositor import Compositor
    from streamhost.avatar.driver import FaceDriver
    from streamhost.avatar.figure import Figure
    from streamhost.avatar.looks import LOOKS as BUILT_IN
    from streamhost.avatar.runner import OnnxRenderer
    from streamhost.frames import Sentence

    renderer = OnnxRenderer(REPO / "assets/avatar/default/puppet.onnx")
    comp = Compositor(figure=Figure(BUILT_IN[look]))
    comp.set_product("Electric kettle", "29.90", ["1.7 l", "brushed steel"])
    driver = FaceDriver(fps=FPS, seed=seed)
    driver.set_look(BUILT_IN[look].params())
    visemes = [(k * 0.09, k * 0.09 + 0.09, 1 + k % 5) for k in range(33)]
    driver.start_speech(0.0, visemes, Sentence("This kettle boils in a minute", "script",
                                               product_id="kettle"))  # fmt: skip
    for i in range(n):
        p = driver.params_at(i / FPS)
        frame = comp.compose(renderer.render(p[None])[0], params=p, t=i / FPS)
        yield cv2.cvtColor(frame, cv2.COLOR_YUV2BGR_I420)


# a BGR frame -> the best face's confidence (1.0 from a detector that gives none), None: no face
Detector = Callable[[Any], float | None]


def detectors() -> tuple[dict[str, Detector], list[str]]:
    """The detectors this environment can run, and the names of those it cannot (and why)."""
    import cv2

    found: dict[str, Detector] = {}
    missing: list[str] = []
    for name in ("default", "alt2"):
        casc = cv2.CascadeClassifier(f"{cv2.data.haarcascades}haarcascade_frontalface_{name}.xml")

        def haar(bgr: Any, casc: Any = casc) -> float | None:
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            return 1.0 if len(casc.detectMultiScale(gray)) else None

        found[f"haar_{name}"] = haar
    try:
        import dlib

        hog = dlib.get_frontal_face_detector()

        def dlib_hog(bgr: Any) -> float | None:
            _, scores, _ = hog.run(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), 0, 0.0)
            return max(scores) if len(scores) else None

        found["dlib_hog"] = dlib_hog
    except ImportError as exc:
        missing.append(f"dlib_hog ({exc})")
    try:
        from mediapipe.python.solutions import face_detection

        for model, label in ((0, "short"), (1, "full")):
            det = face_detection.FaceDetection(model_selection=model, min_detection_confidence=0.5)

            def blaze(bgr: Any, det: Any = det) -> float | None:
                out = det.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).detections
                return max(d.score[0] for d in out) if out else None

            found[f"mediapipe_{label}"] = blaze
    except (ImportError, AttributeError) as exc:
        missing.append(f"mediapipe ({exc})")
    return found, missing


def takes(look: str, n: int, seeds: list[int]) -> Iterator[tuple[str, Any]]:
    """(file stem, BGR frame) for every frame of every seed's take of ``look``."""
    for seed in seeds:
        for i, bgr in enumerate(look_frames(look, n, seed)):
            yield f"{seed}_{i:04d}", bgr


def write_frames(root: Path, n: int, seeds: list[int]) -> None:
    import cv2

    for look in LOOKS:
        (root / look).mkdir(parents=True, exist_ok=True)
        for stem, bgr in takes(look, n, seeds):
            cv2.imwrite(str(root / look / f"{stem}.png"), bgr)
    (root / "takes.json").write_text(json.dumps({"frames_per_take": n, "seeds": seeds}))
    print(f"wrote {n} frames per look and seed ({seeds}) under {root}")


def read_frames(root: Path, look: str) -> list[Any]:
    import cv2

    paths = sorted((root / look).glob("*.png"))
    if not paths:
        raise SystemExit(f"{root / look}: no frames (write them with --write-frames)")
    return [cv2.imread(str(p)) for p in paths]


def main(argv: list[str] | None = None) -> None:
    ap = arg_parser(__doc__.splitlines()[0])
    ap.add_argument("--frames", type=Path, help="score frames written by --write-frames")
    ap.add_argument("--write-frames", type=Path, metavar="DIR", help="render frames and stop")
    ap.add_argument(
        "--count", type=int, default=250, help="frames per take (default 250: 10 s, 7 of them idle)"
    )
    ap.add_argument("--seeds", default="1,2,3", help="driver seeds, one take each (default 1,2,3)")
    args = ap.parse_args(argv)
    n = 15 if args.quick else args.count
    seeds = [1] if args.quick else [int(s) for s in args.seeds.split(",")]
    if args.write_frames:
        write_frames(args.write_frames, n, seeds)
        return
    found, missing = detectors()
    res = Results(NAME)
    res.config = {
        "line": "tests/test_avatar.py's: 33 visemes of 90 ms (3 s), then idle; 720x1280",
        "frames_per_take": n,
        "seeds": seeds,
        "frames_per_look": None,
        "detectors": list(found),
        "missing": missing,
        "haar": "detectMultiScale defaults (scaleFactor 1.1, minNeighbors 3)",
        "dlib_hog": "upsample 0, score > 0",
        "mediapipe": "0.10.x solutions API, min_detection_confidence 0.5",
    }
    if args.frames:
        takes_file = args.frames / "takes.json"  # absent in folders written before it existed
        takes = json.loads(takes_file.read_text()) if takes_file.exists() else {}
        res.config.update(frames_per_take=takes.get("frames_per_take"), seeds=takes.get("seeds"))
        res.config["notes"] = [
            f"frames rendered by --write-frames (the project's environment) into {args.frames} "
            "and scored in this one: the machine's versions below are the scoring environment's"
        ]
    for look in LOOKS:
        frames = (
            read_frames(args.frames, look) if args.frames else [f for _, f in takes(look, n, seeds)]
        )
        res.config["frames_per_look"] = len(frames)
        for name, detect in found.items():
            scores = [detect(f) for f in frames]
            hits = [s for s in scores if s is not None]
            res.add(f"{look}_{name}_found", 100.0 * len(hits) / len(frames), "%", 1)
            # issue 15's bar: a stock detector finds the host in 95 % of frames, every look
            res.config.setdefault("targets", {})[f"{look}_{name}_found"] = ">= 95"
            if not name.startswith("haar"):
                res.add(f"{look}_{name}_confidence", sum(hits) / len(hits) if hits else None, "")
    modules = ("cv2", "dlib", "mediapipe")
    report(res, args.json, machine_info(extra_modules=modules))


if __name__ == "__main__":
    main()
