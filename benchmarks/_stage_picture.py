"""pipeline.py's picture stages, each measured alone on realistic inputs: the voice's synthesis,
the face driver, the ONNX puppet render, the compositor and its colour conversion.

Figures are CPU ms per AV frame (``time.thread_time``), added to a ``Results``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import Results, mean, ms, percentile  # noqa: E402


def measure_tts(res: Results, cfg: Any, sentences: list[str]) -> tuple[Any, list[Any]]:
    """The configured voice's synthesis CPU per second of speech (one sentence at a time, like
    the director)."""
    from streamhost.frames import Sentence
    from streamhost.voice.registry import build_voice

    tts = build_voice(cfg.voice, cfg.stream.sample_rate, cfg.stream.language)
    tts.synthesize(Sentence("Warm up.", "script"))  # loads the library and the voice
    speeches, per_s, cpu_total, audio_total = [], [], 0.0, 0.0
    for _ in range(2):  # each sentence twice: more samples, same content
        for text in sentences:
            c0 = time.thread_time()
            sp = tts.synthesize(Sentence(text, "script", lang=cfg.stream.language))
            cpu = time.thread_time() - c0
            if len(speeches) < len(sentences):
                speeches.append(sp)
            per_s.append(ms(cpu) / sp.duration)
            cpu_total += cpu
            audio_total += sp.duration
    ms_per_s = ms(cpu_total) / audio_total
    res.add("tts_ms_per_speech_second", ms_per_s, "ms/s", 3)
    res.add("tts_p50_ms_per_speech_second", percentile(per_s, 50), "ms/s", 3)
    res.add("tts_ms_per_frame", ms_per_s / cfg.stream.fps, "ms", 4)
    return tts, speeches


def drive(
    cfg: Any, voice: Any, speeches: list[Any], n_frames: int
) -> tuple[list[Any], list[Any], list[float]]:
    """The engine's per-frame inputs: SpeechPlayer.pull (audio) + FaceDriver.params_at (face),
    with the sentences queued back to back (sentence gap as in the config). Returns per-frame
    params, audio and the driver's CPU ms per frame."""
    from streamhost.avatar.driver import FaceDriver
    from streamhost.frames import StreamFormat
    from streamhost.player import SpeechPlayer

    fps = cfg.stream.fps
    driver = FaceDriver(fps=fps, seed=cfg.talk.seed)
    player = SpeechPlayer(StreamFormat(sample_rate=cfg.stream.sample_rate, fps=fps), driver)
    tracks = [voice.visemes(sp) for sp in speeches]
    params, audio, cpu_ms = [], [], []
    k = 0
    for i in range(n_frames):
        t = i / fps
        while player.buffered_s() < cfg.talk.lead_s:  # what the director's low-buffer tick does
            j = k % len(speeches)
            gap = cfg.talk.segment_pause_s if j == 0 and k else cfg.talk.sentence_gap_s
            player.enqueue(speeches[j], tracks[j], gap_s=gap)
            k += 1
        pcm, _ = player.pull(t)
        c0 = time.thread_time()
        p = driver.params_at(t)
        cpu_ms.append(ms(time.thread_time() - c0))
        params.append(p)
        audio.append(pcm)
    return params, audio, cpu_ms


def measure_render_compose(
    res: Results, cfg: Any, params: list[Any]
) -> tuple[list[Any], list[Any], Any]:
    """ONNX puppet (batch 1, 1 thread) and Compositor.compose -> I420, the compositor built as
    the engine builds it (the default host's figure: body, collar and per-frame arms posed by
    each frame's parameters, in the configured look and framing)."""
    import numpy as np

    from streamhost.avatar.compositor import Compositor
    from streamhost.avatar.figure import studio_figure
    from streamhost.avatar.pack import load_pack
    from streamhost.avatar.runner import OnnxRenderer
    from streamhost.avatar.studio import PanelInfo
    from streamhost.talk.catalog import load_catalog

    s, a = cfg.stream, cfg.avatar
    pack = load_pack(a.pack)
    renderer = OnnxRenderer(pack.model, providers=list(a.providers), threads=1)
    renderer.warmup()
    cat = load_catalog(cfg.talk.catalog)
    # as streamhost/engine.py builds it
    comp = Compositor(
        cfg.format, tile_xy=pack.tile_xy(s.width, s.height),
        label=a.label, label_corner=a.label_corner, figure=studio_figure(pack, a, cfg.format),
        title=s.title or cat.shop(s.language) or "LIVE SHOP",
    )  # fmt: skip
    # a product on the panel, as on air (the engine sets one when the show starts)
    pid = cat.ids[0]
    prod = cat.get(pid)
    feats, _ = prod.features_in(s.language)
    info = PanelInfo(stock=prod.stock, image=cat.images.get(pid, ""))
    comp.set_product(prod.name(s.language), prod.price_display(s.language), feats[:3], info)
    # The frames are kept for the encode stage, copied (outside the timed region) into one
    # preallocated, pre-faulted block. Keeping compose()'s own output arrays alive instead would
    # make every compose() fault in fresh pages for its 1.4 MB output -- a cost the engine,
    # which frees each frame after encoding, does not pay in steady state.
    n = len(params)
    frames = np.empty((n, s.height * 3 // 2, s.width), dtype=np.uint8)
    frames.fill(0)
    tiles, r_ms, c_ms, r_wall = [], [], [], []
    keep_tiles = 60
    proc, thr = 0.0, 0.0
    for i, p in enumerate(params):
        p0 = time.process_time()
        w0, c0 = time.perf_counter(), time.thread_time()
        rgba = renderer.render(p[None, :])[0]
        c1, w1 = time.thread_time(), time.perf_counter()
        frame = comp.compose(rgba, premultiplied=pack.premultiplied, params=p)
        c2 = time.thread_time()
        proc += time.process_time() - p0
        thr += c2 - c0
        r_ms.append(ms(c1 - c0))
        r_wall.append(ms(w1 - w0))
        c_ms.append(ms(c2 - c1))
        frames[i] = frame
        del frame
        if i < keep_tiles:
            tiles.append(rgba.copy())
    res.add_stage("render", r_ms)
    res.add("render_wall_p50_ms", percentile(r_wall, 50), "ms", 4)
    res.add_stage("compose", c_ms)
    # The same work paced at the frame rate (sleeping until the next 40 ms tick, as the AV loop
    # does): caches go cold between frames and the CPU time per frame rises accordingly.
    pr_ms, pc_ms = [], []
    period = 1.0 / s.fps
    next_t = time.perf_counter()
    for p in params[: max(25, min(len(params), 100))]:
        next_t += period
        c0 = time.thread_time()
        rgba = renderer.render(p[None, :])[0]
        c1 = time.thread_time()
        comp.compose(rgba, premultiplied=pack.premultiplied, params=p)
        c2 = time.thread_time()
        pr_ms.append(ms(c1 - c0))
        pc_ms.append(ms(c2 - c1))
        time.sleep(max(0.0, next_t - time.perf_counter()))
    res.add_stage("render_paced", pr_ms)
    res.add_stage("compose_paced", pc_ms)
    # ORT with intra_op_num_threads=1 and numpy's BLAS should run in the calling thread only:
    # process CPU == thread CPU over the same spans shows no helper threads the figures miss.
    res.add("render_compose_other_threads_ms_per_frame", ms(proc - thr) / n, "ms", 4)
    return frames, tiles, (comp, pack)


def measure_colour(res: Results, cfg: Any, tiles: list[Any], comp_pack: Any) -> None:
    """RGB->YUV: the compositor's per-frame conversion of the head tile (``tile_yuv``, which
    compose() runs) vs a full-frame rgb24->yuv420p through PyAV's reformat."""
    import av
    import numpy as np

    from streamhost.avatar import compositor as cm

    comp, pack = comp_pack
    reps = max(1, 300 // len(tiles))
    tile_ms = []
    for _ in range(reps):
        for rgba in tiles:
            c0 = time.thread_time()
            # --- the colour-conversion part of Compositor.compose (Y full-res, UV of 2x2 means)
            y_fg, uv, _ = cm.tile_yuv(np.asarray(rgba, dtype=np.float32))
            tile_ms.append(ms(time.thread_time() - c0))
            del y_fg, uv
    res.add("colour_conversion_ms_per_frame", mean(tile_ms), "ms", 4)
    res.add("colour_conversion_p50_ms", percentile(tile_ms, 50), "ms", 4)

    # Reference: full RGB frames (real tiles blended over the RGB background), converted whole.
    bg = comp.background_rgb.astype(np.float32)
    x, y = comp.tile_xy
    rgb_frames = []
    for rgba in tiles:
        a = rgba[3][..., None]
        fg = np.moveaxis(rgba[:3], 0, -1) * 255.0
        if not pack.premultiplied:
            fg = fg * a
        img = bg.copy()
        th, tw = rgba.shape[1:]
        img[y : y + th, x : x + tw] = fg + img[y : y + th, x : x + tw] * (1.0 - a)
        rgb_frames.append(np.ascontiguousarray(img.clip(0, 255).astype(np.uint8)))
    sws_ms, np_ms = [], []
    for _ in range(reps):
        for rgb in rgb_frames:
            c0 = time.thread_time()
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            sws_ms.append(ms(time.thread_time() - c0))
            del vf
    for rgb in rgb_frames[:20]:
        c0 = time.thread_time()
        cm.rgb_to_i420(rgb)
        np_ms.append(ms(time.thread_time() - c0))
    res.add("rgb_full_frame_conversion_ms_per_frame", mean(sws_ms), "ms", 4)
    res.add("rgb_full_frame_conversion_p50_ms", percentile(sws_ms, 50), "ms", 4)
    res.add("rgb_full_frame_numpy_rgb_to_i420_ms_per_frame", mean(np_ms), "ms", 4)
