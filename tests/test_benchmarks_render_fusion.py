"""render_fusion.py's variants of the default host leave out exactly the face details they name,
so its per-part figures (eyes, lower face, large layers) measure those parts and nothing else."""

from __future__ import annotations

import numpy as np
import torch

from streamhost.avatar.params import P, neutral
from tests.support import load_bench

fusion = load_bench("render_fusion")


def _draw(drop: tuple[str, ...], params: np.ndarray) -> tuple[np.ndarray, object]:
    model = fusion._model(drop)
    with torch.no_grad():
        return model(torch.from_numpy(params[None, :]))[0].numpy(), model


def test_variants_drop_only_the_parts_they_name() -> None:
    p = neutral()
    p[P.MOUTH_OPEN] = 0.7  # an open mouth and open eyes: both parts draw something
    p[P.HEAD_X] = 0.4
    full, m = _draw((), p)
    no_eyes, _ = _draw(("eyes",), p)
    no_lower, _ = _draw(("lower",), p)
    none, _ = _draw(("eyes", "lower"), p)
    rows_e = slice(m.cy0, m.cy0 + m.cgy_e.shape[2])  # the crop's eyes-only band
    rows_l = slice(m.cy1 - m.cgy_l.shape[2], m.cy1)  # its lower-face-only band
    cols = slice(m.cx0, m.cx1)

    def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.abs(a - b).max(axis=0) > 0.05

    # Outside the face crop the face details draw nothing, in every variant.
    outside = np.ones(full.shape[1:], bool)
    outside[m.cy0 : m.cy1, cols] = False
    for other in (no_eyes, no_lower, none):
        assert np.array_equal(full[:, outside], other[:, outside])
    # Each variant loses its own part (a visible area of it) and keeps the other's.
    assert changed(full, no_eyes)[rows_e, cols].sum() > 500
    assert not changed(full, no_eyes)[rows_l, cols].any()
    assert changed(full, no_lower)[rows_l, cols].sum() > 500
    assert not changed(full, no_lower)[rows_e, cols].any()
    assert changed(full, none).sum() >= changed(full, no_eyes).sum() + 500


def test_variant_drawing_matches_the_shipped_model() -> None:
    """The timed ONNX file is the model these variants are cut from (same picture, full model)."""
    import onnxruntime as ort

    p = neutral()
    p[P.MOUTH_OPEN] = 0.5
    full, _ = _draw((), p)
    sess = ort.InferenceSession(str(fusion.PUPPET), providers=["CPUExecutionProvider"])
    shipped = sess.run(None, {sess.get_inputs()[0].name: p[None, :]})[0][0]
    assert np.abs(shipped - full).max() < 1e-4
