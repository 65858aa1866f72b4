"""The puppet face family: the project's own drawn host, rendered per frame by its ONNX model.

Driver params at t -> puppet renderer (shared and batched across streams) -> RGBA head tile ->
studio compositor, which adds the figure (body, collar, arms posed by the same params). With ``driver = "audio"`` the mouth follows the queued speech audio itself
(``SpeechMouth``) instead of the voice's phoneme timings.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from .audio_driver import SpeechMouth
from .base import FaceContext, MouthSource
from .batcher import shared_renderer
from .compositor import Compositor
from .pack import Pack

log = logging.getLogger("streamhost.avatar")


class PuppetFace:
    """Driver params at t -> puppet renderer -> head tile composited onto the studio canvas.
    A renderer failure shows the idle face (rendered at warm-up), never a black frame."""

    def __init__(
        self,
        driver: Any,
        renderer: Any,
        compositor: Compositor,
        premultiplied: bool,
        speech_mouth: SpeechMouth | None = None,
        owns_renderer: bool = False,
    ) -> None:
        self.driver = driver
        self.renderer = renderer
        self.compositor = compositor
        self.premultiplied = premultiplied
        self.speech_mouth = speech_mouth
        self.needs_lookahead = speech_mouth is not None
        self._owns_renderer = owns_renderer
        self._idle_rgba: np.ndarray | None = None
        self._last_rgba: np.ndarray | None = None  # the last rendered tile, and its params
        n = int(getattr(renderer, "n_params", 0) or 0)
        self._q = np.zeros(n, np.float32)
        self._last_q = np.full(n, np.nan, np.float32)
        if speech_mouth is not None:
            driver.set_mouth_source(speech_mouth.target_at)
        figure = getattr(compositor, "figure", None)
        if figure is not None and hasattr(driver, "set_look"):
            driver.set_look(figure.look.params())  # head colours match the drawn body

    @property
    def mouth(self) -> MouthSource | None:
        return self.speech_mouth.target_at if self.speech_mouth is not None else None

    def warmup(self) -> None:
        self.renderer.warmup()
        self._idle_rgba = self.renderer.render(self.driver.params_at(0.0)[None, :])[0].copy()

    def before_frame(self, t: float) -> None:
        # The audio driver analyses what will be heard one look-ahead later; while the operator
        # is live the mouth follows the operator's voice instead.
        sm = self.speech_mouth
        if sm is not None and not sm.player.live:
            sm.before_pull(t)

    def picture(self, t: float) -> np.ndarray:
        params = self.driver.params_at(t)
        # Skip the renderer when the face parameters did not change beyond 1/1024 of their range
        # (a held pose, a frozen or paused face): the last tile is still the right picture.
        np.multiply(params, 1024.0, out=self._q)
        np.rint(self._q, out=self._q)
        if self._last_rgba is not None and np.array_equal(self._q, self._last_q):
            return self.compositor.compose(self._last_rgba, premultiplied=self.premultiplied,
                                           params=params, t=t)  # fmt: skip
        try:
            rgba = self.renderer.render(params[None, :])[0]
            self._last_rgba = rgba
            self._last_q, self._q = self._q, self._last_q
        except Exception as exc:  # noqa: BLE001 - degrade to the idle face, never black
            log.error("renderer failed: %s; showing the idle face", exc)
            if self._idle_rgba is None:
                raise
            rgba = self._idle_rgba
        return self.compositor.compose(rgba, premultiplied=self.premultiplied, params=params, t=t)

    def close(self) -> None:
        if self._owns_renderer:
            self.renderer.close()  # a client of the shared renderer: releases this stream's use


def build_puppet(pack: Pack, ctx: FaceContext) -> PuppetFace:
    """The puppet family's builder (avatar/registry.py). Streams of one process that use the
    same model share one ONNX session; with ``batch_max`` > 1 their frames go in one batch."""
    renderer = shared_renderer(
        pack.model,
        providers=list(ctx.providers),
        threads=ctx.threads,
        batch_max=ctx.batch_max,
        max_wait_s=ctx.batch_wait_s,
    )
    mouth = (
        SpeechMouth(ctx.player, ctx.fmt.sample_rate, ctx.mouth_lookahead_s)
        if pack.driver == "audio"
        else None
    )
    return PuppetFace(
        ctx.driver, renderer, ctx.compositor, pack.premultiplied, mouth, owns_renderer=True
    )


def check_puppet(pack: Pack) -> None:
    """``streamhost check``: open the model once (raises on a broken or wrong-shaped model)."""
    from .runner import OnnxRenderer

    OnnxRenderer(pack.model, providers=["CPUExecutionProvider"], threads=1)
