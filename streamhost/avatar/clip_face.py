"""The clip face family: a presenter's own video, its mouth replaced by sampled lower faces.

Media time t in: the idle loop's frame (played back and forth) and the driver's mouth
params at t (visemes through the driver's springs, which lead the sound and ease from one
viseme into the next), the jaw scaled by the speech's loudness (``jaw.py``) -> up to three
viseme classes mixing that mouth, their samples morphed along optical flow from the resting
mouth (``morph_flows``, computed at load) -> warped from the stabilized reference onto this idle frame's head
pose -> pasted through the feathered mask -> I420 canvas with the studio overlays. Built by
``avatar/clip_build.py``; no model, no weights.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..frames import StreamFormat
from .audio_driver import SpeechMouth
from .base import DrivenFace, FaceContext
from .compositor import Compositor
from .driver import _MOUTH_TARGETS, CLOSED, REST
from .jaw import JawFromSpeech
from .pack import Pack, PackError, _consent, _file, _int
from .params import P
from .photo_face import _NullDriver, paste_i420
from .wav2lip_face import fast_i420, pingpong, read_base_frames

log = logging.getLogger("streamhost.avatar")

_KEYS = ("region", "mask", "patches", "classes", "buckets", "idle_affine", "idle_bucket")
LEAD_S = 0.0
MORPH = True  # flow morph between samples (False: plain cross-fade)
# The samples' pixels mix by their weights cubed (the shape still follows the plain weights):
# flows from the resting mouth cannot make a cavity appear, so an even pixel mix of two
# samples shows two mouths at once, the dark cavity washed grey by the other's teeth. With
# hibari on the test video, pixel lip sync r0 0.53 -> 0.64 (63 s source), 0.65 -> 0.70 (90 s),
# for 11 % more frame-to-frame change in the mouth box.
TEXTURE_POWER = 3.0
BLEND = 3  # classes cross-faded at once: the mouth between two visemes and the closed one
_MOUTH = [int(P.MOUTH_OPEN), int(P.MOUTH_WIDE), int(P.MOUTH_ROUND), int(P.LIP_BITE)]


def load_clip_manifest(
    root: Path, manifest: Path, data: dict, problems: list[str], driver: str, check_model: bool
) -> Pack:
    """The clip family's keys: ``base`` (the idle loop video), ``samples`` (.npz: mask,
    patches per viseme class and pose bucket, the idle frames' head poses), ``[canvas]`` size
    and a ``[consent]`` table (required)."""
    base = _file(root, data, "base", problems)
    samples = _file(root, data, "samples", problems)
    cw = _int(data, "canvas", "width", manifest, problems, 16)
    ch = _int(data, "canvas", "height", manifest, problems, 16)
    consent = _consent(data, problems, required=True)
    n = 0
    if not problems and samples is not None:
        try:
            with np.load(samples, allow_pickle=False) as z:
                missing = [k for k in _KEYS if k not in z.files]
                if missing:
                    problems.append(f"samples = {samples.name!r}: lacks {', '.join(missing)}")
                else:
                    n = len(z["idle_affine"])
                    if len(z["patches"]) != len(z["classes"]) or not (z["classes"] == REST).any():
                        problems.append(f"samples = {samples.name!r}: no REST sample")
        except (OSError, ValueError) as e:
            problems.append(f"samples = {samples.name!r}: cannot read ({e})")
    if problems:
        raise PackError(f"{manifest}: " + "; ".join(problems))
    assert base is not None and samples is not None
    return Pack(
        root, "clip", samples, driver, cw, ch, 0, 0, False, base=base, canvas_width=cw,
        canvas_height=ch, n_frames=n, consent=consent, whole_canvas=True,
        summary=f"clip {cw}x{ch}, {n}-frame idle loop, sampled mouths",
    )  # fmt: skip


class ClipFace(DrivenFace):
    """Media time t in (idle frame ``pingpong(round(t * fps))``), I420 canvas out.

    Everything per frame is small: a cross-fade of two lower-face patches, one affine warp
    into the idle frame's paste box, one masked blend, an I420 conversion of that box."""

    needs_lookahead = False

    def __init__(
        self, pack: Pack, driver: Any, compositor: Compositor, fps: int,
        mouth: SpeechMouth | None = None, jaw: JawFromSpeech | None = None,
    ) -> None:  # fmt: skip
        import cv2

        if pack.base is None:
            raise PackError(f"{pack.root}: not a clip pack")
        W, H = compositor.width, compositor.height
        pack.tile_xy(W, H)
        self.driver, self.compositor, self.fps, self.speech_mouth = driver, compositor, fps, mouth
        self.needs_lookahead = mouth is not None
        if mouth is not None:
            driver.set_mouth_source(mouth.target_at)
        self.jaw = jaw if mouth is None else None  # the audio driver reads loudness itself
        with np.load(pack.model, allow_pickle=False) as z:
            d = {k: z[k] for k in _KEYS}
        frames = read_base_frames(pack.base)
        if len(frames) != len(d["idle_affine"]) or frames[0].shape[:2] != (H, W):
            raise PackError(f"{pack.base}: not {len(d['idle_affine'])} frames of {W}x{H}")
        rx0, ry0, rx1, ry1 = (int(v) for v in d["region"])
        # One paste box for the whole loop: the sample region carried by every idle pose.
        corners = np.array([[rx0, ry0], [rx1, ry0], [rx0, ry1], [rx1, ry1]], np.float64)
        aff = d["idle_affine"].astype(np.float64)
        moved = np.concatenate([corners @ a[:, :2].T + a[:, 2] for a in aff])
        x0, y0 = max(0, int(moved[:, 0].min()) - 2) & ~1, max(0, int(moved[:, 1].min()) - 2) & ~3
        x1 = min(W, x0 + ((int(moved[:, 0].max()) + 3 - x0 + 1) & ~1))
        y1 = min(H - H % 4, y0 + ((int(moved[:, 1].max()) + 3 - y0 + 3) & ~3))
        self.box = (x0, y0, x1, y1)
        bw, bh = x1 - x0, y1 - y0
        # Per idle frame: patch pixels -> box pixels, the warped mask and the base under it.
        self._warp = [a + np.array([[0, 0, a[0, 0] * rx0 + a[0, 1] * ry0 - x0],
                                    [0, 0, a[1, 0] * rx0 + a[1, 1] * ry0 - y0]])
                      for a in aff]  # fmt: skip
        self._take, self._keep, self._under = [], [], []
        for f, m in zip(frames, self._warp, strict=True):
            take = cv2.warpAffine(d["mask"], m, (bw, bh), flags=cv2.INTER_LINEAR)
            self._take.append(take)
            self._keep.append(np.ascontiguousarray(1.0 - take))
            self._under.append(np.ascontiguousarray(f[y0:y1, x0:x1]))
        self.base_i420 = [fast_i420(f) for f in frames]
        self.n = len(frames)
        del frames
        self.patches = d["patches"]
        self._idle_bucket = d["idle_bucket"].astype(int)
        self._lookup: dict[tuple[int, int], int] = {}
        for i, (c, b) in enumerate(zip(d["classes"].tolist(), d["buckets"].tolist(), strict=True)):
            self._lookup.setdefault((c, b), i)
            self._lookup.setdefault((c, 99), i)  # any bucket, when this pose has none
        self.present = sorted({c for c, _ in self._lookup})
        self._open_classes = [c for c in self.present if c not in (REST, CLOSED)]
        self._basis = _MOUTH_TARGETS[self._open_classes].T.copy()  # (4, k)
        self.shown: list[tuple[int, float]] = [(REST, 1.0)]
        self._flows = morph_flows(self.patches, self._lookup) if MORPH else None
        ph, pw = self.patches.shape[1:3]
        g = np.mgrid[0:ph, 0:pw].astype(np.float32)
        self._pgrid = np.ascontiguousarray(np.stack([g[1], g[0]], -1))

    def _index(self, cls: int, bucket: int) -> int:
        i = self._lookup.get((cls, bucket), self._lookup.get((cls, 99)))
        return 0 if i is None else i

    def _sample(self, cls: int, bucket: int) -> np.ndarray:
        return self.patches[self._index(cls, bucket)]

    def mix(self, parts: list[tuple[int, float]], bucket: int) -> np.ndarray:
        """The lower face for (class, weight) parts: a morph (MikeTalk): every sample is warped
        along its optical flow from the resting mouth to the weighted mean shape, then the
        warped samples are blended; the lips move and the opening grows, where a cross-fade
        would show two mouths at once. The pixels mix by sharpened weights
        (``TEXTURE_POWER``), so one sample's texture leads at every moment."""
        import cv2

        idx = [(self._index(c, bucket), x) for c, x in parts]
        if len(idx) == 1:
            return self.patches[idx[0][0]]
        if self._flows is None:
            acc = self.patches[idx[0][0]].astype(np.float32) * idx[0][1]
            for i, x in idx[1:]:
                acc += self.patches[i].astype(np.float32) * x
            return acc.astype(np.uint8)
        mean = self._flows[idx[0][0]] * idx[0][1]
        for i, x in idx[1:]:
            mean = mean + self._flows[i] * x
        at = self._pgrid - mean
        tex = [x**TEXTURE_POWER for _, x in idx]  # two or three floats: no array per frame
        total = sum(tex)
        acc = None
        for (i, _), x in zip(idx, (t / total for t in tex), strict=True):
            m = at + self._flows[i]
            w = cv2.remap(self.patches[i], m, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE).astype(np.float32)  # fmt: skip
            acc = w * x if acc is None else acc + w * x
        return acc.astype(np.uint8)  # type: ignore[union-attr]

    def blend_weights(self, mouth: np.ndarray, speaking: bool) -> list[tuple[int, float]]:
        """(class, weight) pairs, largest first, summing to 1, for the driver's mouth (open,
        wide, round, bite): the mouth as a non-negative mix of the sampled classes' targets
        (the closed mouth takes what is left), its three largest parts kept. Linear in the
        driver's springs, so a viseme fades in as the mouth moves towards it and the next
        one's share grows before it sounds (the driver's lead: coarticulation). REST and
        CLOSED share a target: CLOSED (pressed lips) while speaking, REST otherwise."""
        from scipy.optimize import nnls

        w, _ = nnls(self._basis, mouth)
        total = float(w.sum())
        if total > 1.0:
            w, total = w / total, 1.0
        closed = CLOSED if speaking and CLOSED in self.present else REST
        parts = [(c, x) for x, c in zip(w.tolist(), self._open_classes, strict=True)]
        parts.append((closed, 1.0 - total))
        parts = sorted(parts, key=lambda p: -p[1])[:BLEND]
        norm = max(sum(x for _, x in parts), 1e-9)
        return [(c, x / norm) for c, x in parts if x > 0.02 * norm]

    def picture(self, t: float) -> np.ndarray:
        import cv2

        # The driver's mouth at t (its springs lead the sound), the jaw scaled by the loudness
        # of the sound it shapes (avatar/jaw.py). Measured with hibari on the test video: pixel
        # lip sync r0 0.64 at t, best offset 0; 0.57 at t + 20 ms (best -1).
        m = self.driver.params_at(t + LEAD_S)[_MOUTH].astype(np.float64)
        if self.jaw is not None:
            m *= self.jaw.gain_at(t + LEAD_S)
        k = pingpong(int(round(t * self.fps)), self.n)
        bucket = int(self._idle_bucket[k])
        parts = self.blend_weights(m, bool(getattr(self.driver, "speaking", False)))
        self.shown = parts
        patch = self.mix(parts, bucket)
        x0, y0, x1, y1 = self.box
        warped = cv2.warpAffine(patch, self._warp[k], (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        tile = cv2.blendLinear(self._under[k], warped, self._keep[k], self._take[k])
        out = self.base_i420[k].copy()
        paste_i420(out, fast_i420(tile), x0, y0, x1, y1)
        return self.compositor.overlay(out)


def morph_flows(patches: np.ndarray, lookup: dict[tuple[int, int], int]) -> np.ndarray:
    """Per sample, the optical flow (h, w, 2) from its pose bucket's resting mouth (the REST
    sample) to it: rest pixel q shows in the sample at q + flow(q). DIS, once at load."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    grey = [cv2.cvtColor(p, cv2.COLOR_RGB2GRAY) for p in patches]
    out = np.zeros((*patches.shape[:3], 2), np.float32)
    bucket_of = {i: b for (c, b), i in lookup.items() if b != 99}
    for i in range(len(patches)):
        r = lookup.get((REST, bucket_of.get(i, 0)), lookup.get((REST, 99), 0))
        if r != i:
            out[i] = dis.calc(grey[r], grey[i], None)
    return out


def build_clip(pack: Pack, ctx: FaceContext) -> ClipFace:
    """The clip family's builder (avatar/registry.py)."""
    mouth = (
        SpeechMouth(ctx.player, ctx.fmt.sample_rate, ctx.mouth_lookahead_s)
        if pack.driver == "audio"
        else None
    )
    jaw = JawFromSpeech(ctx.player, ctx.fmt.sample_rate) if ctx.player is not None else None
    return ClipFace(pack, ctx.driver, ctx.compositor, ctx.fmt.fps, mouth, jaw)


def check_clip(pack: Pack) -> None:
    """``streamhost check``: the idle loop decodes at the canvas size and the samples fit."""
    ClipFace(
        pack, _NullDriver(), Compositor(StreamFormat(pack.canvas_width, pack.canvas_height)), 25
    )
