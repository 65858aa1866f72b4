"""Assembles one stream from the stage builders and runs one or more streams.

Config in; a running stream out: chat -> director -> voice -> player -> face -> AV loop ->
encoder -> sinks (RTMP / MP4 / WebRTC). Each stage kind comes from its builder (``build_talk``,
``build_voice``, ``build_face``, ``build_sinks``, ``build_source``); what the stream reports
goes through ``Observer``, what operators do through ``StreamControls``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .avatar.base import FaceContext
from .avatar.compositor import Compositor
from .avatar.driver import FaceDriver
from .avatar.figure import studio_figure
from .avatar.looks import parse_colour
from .avatar.ort_session import resolve_threads
from .avatar.pack import load_pack
from .avatar.registry import build_face
from .avatar.tag import draw_tag, tag_value
from .avloop import AVLoop
from .avpool import DeadlinePool
from .chat.inlet import ChatInlet, build_triage
from .chat.moderation import Moderator, load_blocklists
from .clock import Clock, RealClock, VirtualClock
from .config import Config
from .control.commands import CommandError, execute
from .control.takeover import Takeover
from .controls import StreamControls
from .frames import AVFrame
from .gc_pauses import settle, settle_forever
from .heap import huge_pages_on, steady_malloc, trim_forever
from .observe import Observer
from .output.encoder import Encoder
from .output.provenance import stream_provenance
from .output.registry import build_sinks, output_tables
from .pipeline import Supervisor
from .player import SpeechPlayer
from .presence import attach_presence
from .store import Store
from .talk.assemble import build_talk
from .talk.director import Director
from .talk.disclosure import build_disclosure
from .talk.llm import LlmError
from .talk.prefetch import likely_lines
from .voice.cache import cached
from .voice.registry import build_voice, voice_status

log = logging.getLogger("streamhost.engine")

__all__ = ["CommandError", "Engine", "Stream"]


class Stream:
    """One live stream. Chat (raw JSON) and operator commands in; AV frames out to outputs."""

    def __init__(self, cfg: Config, clock: Clock, speech_caches: dict | None = None) -> None:
        self.cfg, self.clock, self.name = cfg, clock, cfg.stream.name
        fmt, s, t, a = cfg.format, cfg.stream, cfg.talk, cfg.avatar
        self.store = Store(cfg.store.data_dir, s.name)
        self.obs = Observer(self.store, clock, s.budget)
        self.events, self.trace, self.budget = self.obs.events, self.obs.trace, self.obs.budget
        self.moderator = Moderator(load_blocklists(cfg.chat.blocklists), max_chars=t.max_chat_chars)
        self.talk = build_talk(cfg, clock.now, self.moderator.name_ok)
        self.catalog, self.show = self.talk.catalog, self.talk.show
        self.triage = build_triage(cfg, self.talk, lambda: self.director.current_product)
        self.tts = cached(build_voice(cfg.voice, fmt.sample_rate, s.language), cfg.voice,
                          cfg.store.data_dir, speech_caches)  # fmt: skip
        self.driver = FaceDriver(fps=fmt.fps, seed=t.seed)
        self.player = SpeechPlayer(fmt, self.driver)
        self.pack = load_pack(a.pack)
        self.compositor = self._build_studio()
        self.face = build_face(self.pack, FaceContext(
            fmt, self.player, self.driver, self.compositor, list(a.providers),
            resolve_threads(a.threads), a.batch_max, a.batch_wait_ms / 1000,
            cfg.voice.mouth_lookahead_ms / 1000, realtime=not clock.virtual,
        ))  # fmt: skip
        self.director = Director(
            clock, self.talk.generator, self.tts, self.player, self.triage, self.catalog.ids,
            s.language, lead_s=t.lead_s, sentence_gap_s=t.sentence_gap_s,
            segment_pause_s=t.segment_pause_s, visemes=self.tts.visemes,
            on_commit=self.obs.commit, on_product=self._show_product, guard=self.talk.guard,
            on_reject=self.obs.rejected, show=self.show, wall_start=self.talk.wall_start,
            llm=self.talk.llm_talk, llm_error=LlmError, repeat_window=t.repeat_window,
            phrase_chars=t.phrase_chars, followups=self.talk.followups,
            max_quiet_s=t.max_quiet_s,
        )  # fmt: skip
        self.obs.track_questions(self.talk.followups)
        self.director.on_stage = self.trace.on_stage
        self.director.disclosure = build_disclosure(cfg, self.show)
        o = cfg.output
        self.encoder = Encoder(fmt, video_bitrate=o.video_bitrate_kbps * 1000,
                               audio_bitrate=o.audio_bitrate_kbps * 1000,
                               video_encoder=o.video_encoder)  # fmt: skip
        self.encoder.on_frame_out = lambda f: (self.trace.packet_out(f.started, f.pts),
                                               self.obs.frame_out(f.pts))  # fmt: skip
        self.sinks = build_sinks(output_tables(o), self.encoder,
                                 stream_provenance(cfg, self.pack, self.obs.alert))  # fmt: skip
        self.rtmp, self.webrtc = self.sinks.of("rtmp"), self.sinks.first("webrtc")
        self.recorder = self.sinks.first("record")
        self.supervisor = Supervisor(on_restart=self.obs.restart)
        self.loop = AVLoop(clock, fmt, self.player, self._picture, self._emit,
                           on_tick=self._tick, on_started=self.obs.aired,
                           on_render_fault=lambda e: self.obs.restart("render", e))  # fmt: skip
        self.loop.render_ahead = cfg.stream.render_ahead
        self.chat = ChatInlet(cfg, clock, self.moderator, self.triage, self.director, self.obs)
        self.sources = self.chat.sources(cfg.chat.sources, [p.name("en") for p in self.catalog])
        self.submit_chat, self.ingest = self.chat.submit, self.chat.ingest  # chat in (inlet.py)
        self.controls = self._build_controls()
        self.takeover = Takeover(self.controls)  # operator voice over WebRTC
        self.controls.end_takeover = lambda r: (self.takeover.end_now(r), self.takeover.state)
        self.on_shutdown: Callable[[], None] | None = None  # Engine.request_stop when run by one
        self.stopping = False
        self._shown_product: str | None = None
        self._panel_task: asyncio.Task[None] | None = None
        self.presence = attach_presence(self)  # a real person in charge, or safe mode
        log.info("voice: %s", _describe_voice(self.tts))

    def _build_studio(self) -> Compositor:
        """The studio canvas around the host: background, figure, title, panel, AI label."""
        fmt, s, a = self.cfg.format, self.cfg.stream, self.cfg.avatar
        return Compositor(
            fmt, tile_xy=self.pack.tile_xy(fmt.width, fmt.height),
            label=a.label, label_corner=a.label_corner, figure=studio_figure(self.pack, a, fmt),
            title=s.title or self.catalog.shop(s.language) or "LIVE SHOP",
            wall=parse_colour(a.wall) if a.wall else None,
        )  # fmt: skip

    def _build_controls(self) -> StreamControls:
        ctl = StreamControls(
            clock=self.clock, director=self.director, player=self.player, driver=self.driver,
            face=self.face, moderator=self.moderator, catalog=self.catalog, observer=self.obs,
            language=self.cfg.stream.language, sample_rate=self.cfg.stream.sample_rate,
            asr_model=self.cfg.voice.asr_model,
            mouth_lookahead_s=self.cfg.voice.mouth_lookahead_ms / 1000,
            followups=self.talk.followups,
        )  # fmt: skip
        ctl.status, ctl.shutdown = self.snapshot, self.request_shutdown
        ctl.voice, ctl.voice_cfg = self.tts, self.cfg.voice
        return ctl

    # ---- per-frame path ----
    def _tick(self) -> None:
        """Before each frame's audio is pulled (AV loop, event-loop thread)."""
        self.presence.tick(self.clock.now())
        self.director.tick()
        self.face.before_frame(self.loop.index / self.cfg.stream.fps)

    def _picture(self, t: float) -> np.ndarray:
        return self.face.picture(t)  # looked up per frame: a face may be swapped or wrapped

    async def _emit(self, frame: AVFrame) -> None:
        if self.cfg.stream.bench_tag:
            # The frame was just pulled: the player's frame_sentence is the audio in it.
            # Answers show the chat event's id (what /chat returned to the sender).
            s = self.player.frame_sentence
            tid = None if s is None else (s.reply_to.trace_id if s.reply_to else s.trace_id)
            draw_tag(frame.video, tag_value(tid))
        if self.clock.virtual:
            # Faster than real time: wait for the encoder rather than let it drop frames.
            while self.encoder.queue_depth >= 4:
                await asyncio.sleep(0.002)
        self.encoder.submit(frame)

    # ---- product panel ----
    @property
    def wall_start(self) -> datetime:
        return self.talk.wall_start

    def price_spoken_now(self, product_id: str, lang: str) -> str:
        return self.talk.price_spoken_now(product_id, lang)

    def _show_product(self, product_id: str) -> None:
        if product_id == self._shown_product:
            return
        self._shown_product = product_id
        # Drawing a panel takes ~100 ms: never on the event loop (it would stall the AV clock).
        prev = self._panel_task
        self.clock.hold()
        self._panel_task = asyncio.get_running_loop().create_task(
            self._draw_panel(prev, product_id)
        )

    async def _draw_panel(self, prev: asyncio.Task[None] | None, product_id: str) -> None:
        try:
            if prev is not None:
                await asyncio.gather(prev, return_exceptions=True)
            await asyncio.to_thread(self.compositor.set_product, *self.talk.panel(product_id))
        except Exception as exc:  # noqa: BLE001 - a panel failure keeps the old panel on air
            log.error("product panel for %s failed: %s", product_id, exc)
        finally:
            self.clock.release()

    # ---- inputs ----
    def command(self, msg: dict[str, Any], actor: str, session: Any = None) -> dict[str, Any]:
        """Operator command (control protocol) in; reply dict out. Every command is audited."""
        return execute(self.controls, msg, actor, session)

    def request_shutdown(self) -> None:
        """The ``shutdown`` command: a clean stop of the engine (or of this stream alone)."""
        if self.on_shutdown is not None:
            self.on_shutdown()
        else:
            self.stopping = True

    # ---- what it reports ----
    # Counters live in the observer; these names are what tests and dashboards read.
    chat_accepted = property(lambda self: self.obs.chat_accepted)
    chat_blocked = property(lambda self: self.obs.chat_blocked)
    chat_rejected = property(lambda self: self.obs.chat_rejected)
    sentences = property(lambda self: self.obs.sentences)

    def snapshot(self) -> dict[str, Any]:
        r = sorted(self.loop.stats.render_ms[-100:]) or [0.0]
        o = self.obs
        return {
            "stream": self.name, "frames": self.loop.stats.frames,
            "late_frames": self.loop.stats.late_frames,
            "stalls": self.loop.stats.stalls,  # AV clock re-anchored after a stall: frames lost
            "media_time_seconds": round(self.clock.now(), 3),
            "encoder_dropped": self.encoder.stats.frames_dropped,
            "video_encoder": self.encoder.info.video_codec,  # libx264, or h264_nvenc
            "av_offset_ms": round(self.encoder.av_offset_ms, 1),  # up to a frame stale
            "chat_accepted": o.chat_accepted, "chat_rejected": o.chat_rejected,
            "sentences": o.sentences, "stage_restarts": sum(self.supervisor.restarts.values()),
            "stale_questions": self.triage.stats.get("stale", 0),
            "guard_rejections": self.director.guard_rejections,
            "llm_failures": self.director.llm_failures, "chat_blocked": o.chat_blocked,
            "chat_queue": len(self.triage),
            "chat_sources": [src.health.as_dict() for src in self.sources],
            "viewers": self.webrtc.viewer_count if self.webrtc else 0,
            "speech_buffered_seconds": round(self.player.buffered_s(), 3),
            "render_ms_p50": round(r[len(r) // 2], 3),
            "rtmp_live": sum(1 for p in self.rtmp if p.state == "live"),
            "product": self.director.current_product, "products": self.catalog.ids,
            "latency": self.trace.summary(), "takeover": self.takeover.status(),
            "voice": voice_status(self.tts), "presence": self.presence.status(),
            "disclosure": self.director.disclosure.status(),
        }  # fmt: skip

    def metrics(self) -> dict[str, Any]:
        return self.obs.metrics(self.snapshot(), self.cfg.stream.fps, self.director.paused)

    # ---- lifecycle ----
    async def prepare(self) -> None:
        """Warm up before going on air: model sessions, the first product panel, the encoder."""
        await asyncio.to_thread(self.face.warmup)
        first = self.catalog.ids[0]
        await asyncio.to_thread(self.compositor.set_product, *self.talk.panel(first))
        self._shown_product = self.director.current_product = first
        self.encoder.start()

    async def run(self, duration_s: float | None) -> None:
        """Go on air (after ``prepare``) until ``duration_s`` of media time or a stop request."""
        self.supervisor.start("director", self.director.run)
        self.supervisor.start("store-flush", self.obs.flush_store)
        self.supervisor.start("monitor", lambda: self.obs.monitor(self.rtmp, self.metrics))
        for src in self.sources:
            self.supervisor.start(f"chat:{src.name}", src.run)
        # Prefetch buys latency on air; a virtual-clock render would only lose CPU to it.
        if (
            self.cfg.voice.prefetch
            and not self.clock.virtual
            and hasattr(self.tts, "prefetch_in_background")
        ):
            lines = lambda: likely_lines(self.talk, self.cfg.talk.phrase_chars)  # noqa: E731
            self.supervisor.start("speech-prefetch", lambda: self.tts.prefetch_in_background(lines))
        self.director.wake.set()
        try:
            await self.loop.run(duration_s, stop=lambda: self.stopping)
        finally:
            await self.close()

    async def close(self) -> None:
        for src in self.sources:
            src.stop()
        await self.takeover.close()
        await self.director.close()
        await self.supervisor.stop()
        if self.talk.llm is not None:
            await self.talk.llm.aclose()
        if self.webrtc is not None:
            await self.webrtc.close()
        await self.encoder.aclose()
        self.face.close()
        self.tts.close()
        self.store.close()


def _describe_voice(voice: Any) -> str:
    i = voice.info()
    return f"engine {i.engine}, voice {i.voice}, {i.sample_rate} Hz, model from {i.source}"


def copy_config(cfg: Config, k: int) -> Config:
    """Stream k of ``streamhost run --copies N``: k = 0 is the config itself; the others get
    their own name (so their own store file), RTMP stream keys and recording, and no viewers."""
    if k == 0:
        return cfg
    o = cfg.output
    rec = Path(o.record)
    return cfg.with_overrides(
        stream={"name": f"{cfg.stream.name}-{k}"},
        output={
            "rtmp": [f"{u}-{k}" for u in o.rtmp],
            "record": str(rec.with_name(f"{rec.stem}-{k}{rec.suffix}")) if o.record else "",
            "webrtc": False,
        },
    )


class Engine:
    """Runs the stream(s) of a config; owns the clock and the HTTP-facing token."""

    def __init__(
        self, cfg: Config, virtual_clock: bool = False, token: str | None = None, copies: int = 1
    ) -> None:
        if copies < 1:
            raise ValueError(f"copies must be >= 1, got {copies}")
        self.clock: Clock = VirtualClock() if virtual_clock else RealClock()
        # process-wide: keeps per-frame buffers from fragmenting the heap; one arena for one
        # stream's threads, glibc's arenas for the copies' pool (measured both ways, heap.py)
        steady_malloc(one_arena=copies == 1)
        log.info("heap: %s", "transparent huge pages (glibc.malloc.hugetlb=1)" if huge_pages_on()
                 else "small pages (STREAMHOST_HUGE_PAGES=1 for huge ones: see heap.py)")  # fmt: skip
        # Copies share the avatar model: with [avatar] batch_max > 1 their frames are rendered
        # in one batched inference (avatar/batcher.py).
        caches: dict = {}  # one speech cache for the copies (see voice.cache.cached)
        self.streams = [Stream(copy_config(cfg, k), self.clock, caches) for k in range(copies)]
        # Copies render and encode on one pool sized to the cores, the frame due first first
        # (avpool.py), rather than on 2N threads the OS schedules blind; one stream keeps its
        # own two threads (the render thread keeps the model's working set in its core's cache).
        # With batched rendering (avatar.batch_max > 1, the GPU setting) each render waits in
        # the batcher for the other streams' frames: on a pool of two workers no batch could
        # grow past two, so the renders keep their own threads there and only encodes pool.
        self.pool = DeadlinePool() if copies > 1 else None
        if self.pool is not None:
            for k, s in enumerate(self.streams):
                if cfg.avatar.batch_max <= 1:
                    s.loop.use_lane(self.pool.lane(f"render-{k}"))
                s.encoder.use_lane(self.pool.lane(f"encode-{k}"))
        for s in self.streams:
            s.on_shutdown = self.request_stop
        self.token = token or cfg.control.token or secrets.token_urlsafe(24)
        self.running = False

    @property
    def primary(self) -> Stream:
        return self.streams[0]

    def snapshots(self) -> list[dict[str, Any]]:
        return [s.snapshot() for s in self.streams]

    def request_stop(self) -> None:
        for s in self.streams:
            s.stopping = True

    async def run(self, duration_s: float | None = None) -> None:
        self.running = True
        try:
            await asyncio.gather(*(s.prepare() for s in self.streams))
            # What start-up built stays for the night: out of every later collection's walk
            # (a full one stopped the stream for 46-141 ms; gc_pauses.py)
            log.info("gc: settled start-up in %.0f ms", settle())
            self.clock.restart()  # media time starts when every stream is ready for frame 0
            for s in self.streams:
                s.talk.wall_start = s.director.wall_start = datetime.now().astimezone()
            chores = [asyncio.create_task(trim_forever()), asyncio.create_task(settle_forever())]
            try:
                await asyncio.gather(*(s.run(duration_s) for s in self.streams))
            finally:
                for c in chores:
                    c.cancel()
                await asyncio.gather(*chores, return_exceptions=True)
        finally:
            self.running = False
            if self.pool is not None:
                self.pool.close()
