"""The wav2lip face family: media time in, one full I420 canvas out.

``Wav2LipFace``: base video frame (looping back and forth) + the audio around that frame ->
Wav2Lip-contract model -> mouth crop pasted back through a feathered mask -> studio overlays.
Called from the AV loop's render thread, once per frame, in frame order.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .base import FaceContext, MouthSource
from .compositor import Compositor
from .mel import LiveMel
from .pack import Pack, PackError, base_frame_files, read_boxes
from .sprite import _YUV

log = logging.getLogger("streamhost.avatar")

SILENCE_PEAK = 64  # int16 peak below which a window counts as silence (about -54 dBFS)


def read_base_frames(base: Path) -> list[np.ndarray]:
    """(H, W, 3) uint8 RGB frames of a frames folder, a single image or a video file."""
    from PIL import Image

    if base.is_dir():
        return [np.asarray(Image.open(p).convert("RGB")) for p in base_frame_files(base)]
    if base.suffix.lower() in (".png", ".jpg", ".jpeg"):
        return [np.asarray(Image.open(base).convert("RGB"))]
    import av

    with av.open(str(base)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def smooth_boxes(boxes: np.ndarray, window: int) -> np.ndarray:
    """Centred moving average over ``window`` frames (edges repeat): detector jitter would
    otherwise make the pasted mouth shake against the still head."""
    if window <= 1 or len(boxes) < 2:
        return boxes.astype(np.float64)
    half = window // 2
    padded = np.pad(boxes.astype(np.float64), ((half, window - 1 - half), (0, 0)), mode="edge")
    kernel = np.ones(window) / window
    return np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(4)], axis=1)


def paste_regions(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """(N, 4) int x0, y0, x1, y1 covering each box, aligned for I420 (even x/y, height a
    multiple of 4) and inside the canvas."""
    out = np.empty((len(boxes), 4), dtype=np.int64)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        rx0, ry0 = int(np.floor(x0)) & ~1, int(np.floor(y0)) & ~1
        rw = min(width, -(-(int(np.ceil(x1)) - rx0) // 2) * 2)
        rh = min(height - height % 4, -(-(int(np.ceil(y1)) - ry0) // 4) * 4)
        rx0 = max(0, min(rx0, width - rw))
        ry0 = max(0, min(ry0, height - rh)) & ~1
        out[i] = (rx0, ry0, rx0 + rw, ry0 + rh)
    return out


def feather_mask(size: int) -> np.ndarray:
    """(S, S) float32 in [0, 1]: the mouth and jaw (lower half, inset from the sides) with
    soft edges, so the redrawn mouth blends into the untouched upper face and the background."""
    import cv2

    m = np.zeros((size, size), np.float32)
    m[int(size * 0.5) : int(size * 0.96), int(size * 0.12) : int(size * 0.88)] = 1.0
    sigma = size / 24
    return cv2.GaussianBlur(m, (0, 0), sigmaX=sigma, sigmaY=sigma)


# BT.601 limited range as the compositor uses, scaled for 0..255 inputs, offsets last.
_Y_ROW = np.hstack([_YUV[0, :3] / 255.0, [16.0]]).astype(np.float32)[None]
_UV_ROWS = np.hstack([_YUV[1:, :3] / 255.0, [[128.0], [128.0]]]).astype(np.float32)


def fast_i420(rgb: np.ndarray) -> np.ndarray:
    """(h, w, 3) uint8 RGB -> (h*3//2, w) I420, like ``rgb_to_i420`` within one code value
    (chroma from the 2x2 mean) but ~20x faster: a mouth region is pasted every frame."""
    import cv2

    h, w, _ = rgb.shape
    out = np.empty((h * 3 // 2, w), np.uint8)
    out[:h] = cv2.transform(rgb, _Y_ROW)
    small = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)  # 2x2 means
    uv = cv2.transform(small, _UV_ROWS)
    out[h : h + h // 4] = uv[:, :, 0].reshape(h // 4, w)
    out[h + h // 4 :] = uv[:, :, 1].reshape(h // 4, w)
    return out


def pingpong(i: int, n: int) -> int:
    """Base frame for video frame i: 0, 1, ..., n-1, n-2, ..., 1, 0, 1, ... (no jump cut)."""
    if n <= 1:
        return 0
    k = i % (2 * n - 2)
    return k if k < n else 2 * n - 2 - k


class Wav2LipFace:
    """Media time t in (frame i = round(t * fps)), I420 canvas out.

    Audio comes from the speech player's lookahead (``player.last_pull``: this frame's samples
    and the next ~210 ms), so the picture for frame i uses exactly the audio that plays with it
    and after it, as the model was trained. Silent windows skip inference and show the base
    frame; an inference failure shows the base frame too (logged once per failure streak).

    ``realtime`` (the real clock): inference runs in a worker thread, ``AHEAD`` frames ahead of
    the picture, on the audio the player already holds for that frame, so a slow model (on CPU
    ~70 ms for S = 96, against 40 ms per frame) never holds up the AV loop. Each frame shows the
    mouth computed for it, or while the worker is behind the newest one computed for an earlier
    frame (a lower lip frame rate, never a late frame). The virtual clock infers every frame
    inline (deterministic).
    """

    AHEAD = 4  # frames the realtime worker runs ahead (160 ms at 25 fps)
    needs_lookahead = True  # the model reads the audio around each frame
    mouth: MouthSource | None = None  # the model draws the mouth: no driver source to restore

    def __init__(
        self,
        pack: Pack,
        player: Any,
        compositor: Compositor,
        fps: int,
        sample_rate: int,
        providers: list[str] | None = None,
        threads: int = 1,
        realtime: bool = False,
    ) -> None:
        import cv2

        from .ort_session import make_session

        if pack.base is None or pack.boxes is None:
            raise PackError(f"{pack.root}: not a wav2lip pack")
        W, H = compositor.width, compositor.height
        pack.tile_xy(W, H)  # raises if the pack's canvas is not the stream's
        self.pack = pack
        self.player = player
        self.compositor = compositor
        self.fps = fps
        self.size = S = pack.size
        self.spf = sample_rate // fps
        self.mel = LiveMel(sample_rate, fps)
        self.ahead = self.AHEAD if realtime else 0
        need = self.mel.needed_ahead - self.spf + self.ahead * self.spf
        player.lookahead = max(player.lookahead, need)
        self.session, self.provider = make_session(pack.model, providers, threads, "wav2lip model")

        frames = read_base_frames(pack.base)
        boxes = smooth_boxes(read_boxes(pack.boxes), pack.smooth)
        if len(frames) != len(boxes):
            raise PackError(f"{pack.boxes}: {len(boxes)} boxes for {len(frames)} base frames")
        self.regions = paste_regions(boxes, W, H)
        self.n = len(frames)
        self.mask = feather_mask(S)
        rows = np.nonzero(self.mask.max(axis=1) > 1e-3)[0]
        mask_top = float(rows[0]) / S if rows.size else 0.0
        # Only the rows the mask touches are ever blended: per region, the first such row (a
        # multiple of 4 keeps the blended sub-tile I420-aligned).
        self.tops = [int(mask_top * (y1 - y0)) & ~3 for _, y0, _, y1 in self.regions]
        # Per base frame: the I420 picture (what silence shows), the RGB under the blended part
        # of the paste region, and the model's S x S BGR crop (its face input).
        self.base_i420 = [fast_i420(f) for f in frames]
        cache = self._cached_crops(pack)
        if cache is None:
            cache = np.stack(
                [
                    cv2.resize(f[y0:y1, x0:x1, ::-1], (S, S), interpolation=cv2.INTER_AREA)
                    for f, (x0, y0, x1, y1) in zip(frames, self.regions, strict=True)
                ]
            )
        self.crops_bgr = cache
        self.crops_rgb = [
            f[y0 + top : y1, x0:x1].copy()
            for f, (x0, y0, x1, y1), top in zip(frames, self.regions, self.tops, strict=True)
        ]
        del frames
        self._hist = np.zeros(0, dtype=np.int16)
        self._hist_end = 0  # stream sample index just after the history
        self._failing = False
        self.realtime = realtime
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="wav2lip") if realtime else None
        self._job: tuple[int, Future[np.ndarray]] | None = None
        self._ready: dict[int, np.ndarray] = {}  # frame index -> its mouth (realtime)
        self._masks: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.inferred = 0
        self.skipped = 0
        self.reused = 0
        log.info(
            "wav2lip face: %s (S=%d, %d base frames) on %s",
            pack.model.name,
            S,
            self.n,
            self.provider,
        )

    def _cached_crops(self, pack: Pack) -> np.ndarray | None:
        if pack.crops is None or not pack.crops.is_file():
            return None
        try:
            arr = np.load(pack.crops, allow_pickle=False)
        except (OSError, ValueError):
            return None
        if arr.shape != (self.n, self.size, self.size, 3) or arr.dtype != np.uint8:
            log.warning("%s: crop cache does not match the pack; recomputing", pack.crops)
            return None
        return arr

    def warmup(self) -> None:
        mel = np.zeros((1, 1, 80, 16), np.float32)
        self.infer(mel, 0)

    def before_frame(self, t: float) -> None:
        return None  # the player's look-ahead already holds the audio the model needs

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def infer(self, mel: np.ndarray, k: int) -> np.ndarray:
        """(1, 1, 80, 16) mel + base frame k -> (S, S, 3) uint8 RGB mouth crop."""
        ref = self.crops_bgr[k].astype(np.float32) * (1.0 / 255.0)
        masked = ref.copy()
        masked[self.size // 2 :] = 0.0
        face = np.concatenate([masked, ref], axis=2).transpose(2, 0, 1)[None]
        out = self.session.run(None, {"mel": mel, "face": np.ascontiguousarray(face)})[0][0]
        return (out.transpose(1, 2, 0)[:, :, ::-1] * 255.0 + 0.5).clip(0, 255).astype(np.uint8)

    def _audio(self, i: int, t: float) -> tuple[np.ndarray, int]:
        """Audio from ~0.1 s before frame i to its lookahead end, and its first sample index."""
        last = self.player.last_pull
        spf = self.spf
        if last is not None and abs(last[0] - t) < 0.5 / self.fps:
            pcm = last[1]
        else:
            pcm = np.zeros(spf, dtype=np.int16)
        start = i * spf
        if self._hist_end != start:  # first frame, or frames were skipped: history is silence
            self._hist = np.zeros(0, dtype=np.int16)
        keep = self.mel.needed_behind
        self._hist = np.concatenate([self._hist[-keep:], pcm[:spf]])
        self._hist_end = start + spf
        audio = np.concatenate([self._hist, pcm[spf:]])
        return audio, self._hist_end - len(self._hist)

    def _quiet(self, i: int, audio: np.ndarray, a0: int) -> bool:
        """Frame i's mel window hears nothing (its audio span peaks below SILENCE_PEAK)."""
        lo, hi = self.mel.span(i)
        seg = audio[max(0, lo - a0) : max(0, hi - a0)]
        return int(np.abs(seg, dtype=np.int32).max(initial=0)) < SILENCE_PEAK

    def _failed(self, exc: BaseException) -> None:
        if not self._failing:
            log.error("wav2lip inference failed: %s; showing base frames", exc)
        self._failing = True

    def picture(self, t: float) -> np.ndarray:
        i = int(round(t * self.fps))
        k = pingpong(i, self.n)
        audio, a0 = self._audio(i, t)
        out = self.base_i420[k].copy()
        if self.realtime:
            mouth = self._mouth_ahead(i, audio, a0)
        elif self._quiet(i, audio, a0):
            mouth = None
        else:
            try:
                mouth = self.infer(self.mel.window(i, audio, a0)[None, None], k)
                self._failing = False
                self.inferred += 1
            except Exception as exc:  # noqa: BLE001 - a failing model shows the base frame
                self._failed(exc)
                return self.compositor.overlay(out)
        if mouth is None:
            self.skipped += 1
        else:
            self._paste(out, k, mouth)
        return self.compositor.overlay(out)

    def _mouth_ahead(self, i: int, audio: np.ndarray, a0: int) -> np.ndarray | None:
        """Collect the worker's result, start frame i + AHEAD, and pick frame i's mouth."""
        assert self._pool is not None
        if self._job is not None and self._job[1].done():
            j, fut = self._job
            self._job = None
            try:
                self._ready[j] = fut.result()
                self._failing = False
            except Exception as exc:  # noqa: BLE001 - a failing model shows the base frame
                self._failed(exc)
        # Live operator audio cannot be heard ahead: then the worker takes the newest frame, and
        # its mouth shows one inference late (reused frames cover the gap).
        j = i if getattr(self.player, "live", False) else i + self.ahead
        if self._job is None and not self._quiet(j, audio, a0):
            mel = self.mel.window(j, audio, a0)[None, None]
            self._job = (j, self._pool.submit(self.infer, mel, pingpong(j, self.n)))
        for x in [x for x in self._ready if x < i - self.ahead]:
            del self._ready[x]
        if self._quiet(i, audio, a0):
            return None
        best = max((x for x in self._ready if x <= i), default=None)
        if best is None:
            return None
        if best == i:
            self.inferred += 1
        else:
            self.reused += 1
        return self._ready[best]

    def _mask_at(self, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
        """The feather mask resized to a region and its complement (cached: smoothed boxes
        change size by a pixel now and then, not every frame)."""
        import cv2

        key = (w, h)
        hit = self._masks.get(key)
        if hit is None:
            m = cv2.resize(self.mask, (w, h), interpolation=cv2.INTER_LINEAR)
            hit = (np.ascontiguousarray(1.0 - m), m)
            if len(self._masks) > 64:
                self._masks.clear()
            self._masks[key] = hit
        return hit

    def _paste(self, i420: np.ndarray, k: int, mouth: np.ndarray) -> None:
        import cv2

        x0, y0, x1, y1 = (int(v) for v in self.regions[k])
        w, h = x1 - x0, y1 - y0
        top = self.tops[k]
        y0, h = y0 + top, h - top
        crop = self.crops_rgb[k]
        mouth_r = cv2.resize(mouth, (w, h + top), interpolation=cv2.INTER_LINEAR)[top:]
        keep, take = self._mask_at(w, h + top)
        blended = cv2.blendLinear(crop, np.ascontiguousarray(mouth_r), keep[top:], take[top:])
        tile = fast_i420(blended)
        H, W = self.compositor.height, self.compositor.width
        i420[y0:y1, x0:x1] = tile[:h]
        u = tile[h : h + h // 4].reshape(h // 2, w // 2)
        v = tile[h + h // 4 :].reshape(h // 2, w // 2)
        i420[H : H + H // 4].reshape(H // 2, W // 2)[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = u
        i420[H + H // 4 :].reshape(H // 2, W // 2)[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] = v


def build_wav2lip(pack: Pack, ctx: FaceContext) -> Wav2LipFace:
    """The wav2lip family's builder (avatar/registry.py): the face owns its model session."""
    return Wav2LipFace(
        pack, ctx.player, ctx.compositor, ctx.fmt.fps, ctx.fmt.sample_rate, ctx.providers,
        ctx.threads, realtime=ctx.realtime,
    )  # fmt: skip
