"""Builds one stream's pipeline from config and runs one or more streams.

Config in; a running stream out: chat -> director -> TTS -> player -> AV loop -> encoder ->
RTMP / MP4 / WebRTC, with the store written as things happen.
"""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .avatar.audio_driver import SpeechMouth
from .avatar.batcher import shared_renderer
from .avatar.compositor import Compositor
from .avatar.driver import FaceDriver
from .avatar.face import build_face
from .avatar.ort_session import resolve_threads
from .avatar.pack import load_pack
from .avatar.tag import draw_tag, tag_value
from .avloop import AVLoop, steady_malloc
from .budget import BudgetWatch, load_budget
from .chat.intake import ChatRejected, parse_chat
from .chat.moderation import Moderator, load_blocklists
from .chat.registry import build_source
from .chat.triage import Decision, Triage, make_classifier
from .clock import Clock, RealClock, VirtualClock
from .config import Config
from .control import commands
from .control.commands import CommandError
from .control.events import EventBus
from .control.takeover import Takeover
from .frames import AVFrame, ChatEvent, Emotion, Sentence, Speech
from .output.encoder import Encoder
from .output.recorder import Mp4Recorder
from .output.rtmp import RtmpPusher
from .output.webrtc import WebRtcHub
from .pipeline import Supervisor
from .player import SpeechPlayer
from .store import Store
from .talk.catalog import format_price_display, load_catalog
from .talk.director import Director
from .talk.generator import TemplateGenerator
from .talk.guard import Guard
from .talk.llm import LlmError, LlmGenerator, LlmTalk
from .talk.show import load_show
from .trace import TraceBook
from .voice.espeak import EspeakTTS
from .voice.visemes import viseme_track

log = logging.getLogger("streamhost.engine")


__all__ = ["CommandError", "Engine", "Stream"]
RTMP_DOWN_ALERT_S = 5.0  # an RTMP output that was live and has not been for this long: alert


class Stream:
    """One live stream. Chat (raw JSON) and operator commands in; AV frames out to outputs."""

    def __init__(self, cfg: Config, clock: Clock) -> None:
        self.cfg = cfg
        self.clock = clock
        s = cfg.stream
        self.name = s.name
        self.store = Store(cfg.store.data_dir, s.name)
        self.catalog = load_catalog(cfg.talk.catalog)
        c = cfg.chat
        self.moderator = Moderator(load_blocklists(c.blocklists), max_chars=cfg.talk.max_chat_chars)
        self.generator = TemplateGenerator(
            self.catalog, lang=s.language, seed=cfg.talk.seed, name_ok=self.moderator.name_ok
        )
        self.show = (
            load_show(cfg.talk.show, self.catalog, default_lang=s.language)
            if cfg.talk.show
            else None
        )
        self.wall_start = datetime.now().astimezone()
        self.generator.price_now = self.price_spoken_now
        flash = self.show.flash_sales if self.show is not None else []
        extra: dict[str, list] = {}
        for fs in flash:
            extra.setdefault(fs.product_id, []).append(fs.price)
        self.guard = Guard(
            self.catalog,
            s.language,
            extra_prices=extra,
            extra_numbers=self.show.numbers() if self.show is not None else (),
        )
        self.llm: LlmGenerator | None = None
        llm_talk = None
        if cfg.talk.generator == "llm":
            lc = cfg.llm
            self.llm = LlmGenerator(
                lc.base_url,
                lc.model,
                api_key=os.environ.get("STREAMHOST_LLM_API_KEY") or lc.api_key,
                temperature=lc.temperature,
                max_tokens=lc.max_tokens,
                connect_timeout=lc.connect_timeout_s,
                first_token_timeout=lc.first_token_timeout_s,
                total_timeout=lc.total_timeout_s,
            )
            llm_talk = LlmTalk(self.llm, self.catalog, s.language, name_ok=self.moderator.name_ok)
            llm_talk.price_now = self.price_spoken_now
        self.triage = Triage(
            make_classifier(
                self.generator.retriever,
                self.catalog,
                current_product=lambda: self.director.current_product,
            ),
            max_queue=c.max_queue,
            max_age_s=cfg.talk.max_question_age_s,
            per_user_burst=c.per_user_burst,
            per_user_window_s=c.per_user_window_s,
            dedupe_window_s=c.dedupe_window_s,
            lang=s.language,
        )
        self.tts = EspeakTTS(
            sample_rate=s.sample_rate, default_lang=s.language, rate_wpm=cfg.voice.rate_wpm
        )
        self.pack = load_pack(cfg.avatar.pack)
        a = cfg.avatar
        # The puppet renderer exists for puppet packs only (a wav2lip pack's face owns its model).
        self.renderer = (
            shared_renderer(
                self.pack.model,
                providers=list(a.providers),
                threads=resolve_threads(a.threads),
                batch_max=a.batch_max,
                max_wait_s=a.batch_wait_ms / 1000,
            )
            if self.pack.family == "puppet"
            else None
        )
        self.driver = FaceDriver(fps=s.fps, seed=cfg.talk.seed)
        self.compositor = Compositor(
            width=s.width,
            height=s.height,
            tile_xy=self.pack.tile_xy(s.width, s.height),
            label=a.label,
            label_corner=a.label_corner,
        )
        self.player = SpeechPlayer(s.sample_rate, s.fps, self.driver)
        # A puppet pack with driver = "audio" moves its mouth from the speech audio itself
        # (as for a voice without timings) instead of the TTS's phoneme timings.
        self.speech_mouth: SpeechMouth | None = None
        if self.pack.family == "puppet" and self.pack.driver == "audio":
            self.speech_mouth = SpeechMouth(
                self.player, s.sample_rate, cfg.voice.mouth_lookahead_ms / 1000.0
            )
            self.driver.set_mouth_source(self.speech_mouth.target_at)
        self.face = build_face(
            self.pack,
            player=self.player,
            compositor=self.compositor,
            fps=s.fps,
            sample_rate=s.sample_rate,
            driver=self.driver,
            renderer=self.renderer,
            providers=list(a.providers),
            threads=resolve_threads(a.threads),
            realtime=not clock.virtual,
        )
        self.director = Director(
            clock,
            self.generator,
            self.tts,
            self.player,
            self.triage,
            self.catalog.ids,
            s.language,
            lead_s=cfg.talk.lead_s,
            sentence_gap_s=cfg.talk.sentence_gap_s,
            segment_pause_s=cfg.talk.segment_pause_s,
            visemes=viseme_track,
            on_commit=self._commit,
            on_product=self._show_product,
            guard=self.guard,
            on_reject=self._rejected,
            show=self.show,
            wall_start=self.wall_start,
            llm=llm_talk,
            llm_error=LlmError,
            repeat_window=cfg.talk.repeat_window,
            phrase_chars=cfg.talk.phrase_chars,
        )
        self.encoder = Encoder(
            s.width,
            s.height,
            s.fps,
            s.sample_rate,
            video_bitrate=cfg.output.video_bitrate_kbps * 1000,
            audio_bitrate=cfg.output.audio_bitrate_kbps * 1000,
        )
        self.recorder: Mp4Recorder | None = None
        if cfg.output.record:
            Path(cfg.output.record).parent.mkdir(parents=True, exist_ok=True)
            self.recorder = Mp4Recorder(
                cfg.output.record, fragmented=cfg.output.record_fragmented
            )
            self.encoder.add_sink(self.recorder)
        self.rtmp = [RtmpPusher(url) for url in cfg.output.rtmp]
        for p in self.rtmp:
            self.encoder.add_sink(p)
        self.webrtc = WebRtcHub(self.encoder) if cfg.output.webrtc else None
        self.supervisor = Supervisor(on_restart=self._on_restart)
        self.loop = AVLoop(
            clock,
            s.fps,
            self.player,
            self._picture,
            self._emit,
            on_tick=self._tick,
            on_started=self._aired,
        )
        self._shown_product: str | None = None
        self._panel_task: asyncio.Task[None] | None = None
        self.sources = [self._make_source(t) for t in c.sources]
        self.chat_accepted = 0
        self.chat_rejected = 0
        self.chat_blocked = 0
        self.sentences = 0
        self.stopping = False
        self.events = EventBus()  # control-socket subscribers (see control/events.py)
        self.takeover = Takeover(self)  # operator voice over WebRTC (control/takeover.py)
        self.on_shutdown: Callable[[], None] | None = None  # Engine.request_stop when run by one
        self._cpu_mark = (time.monotonic(), time.process_time())
        self.cpu_fraction = 0.0
        # End-to-end traces and the latency budget (trace.py, budget.py); in bench mode each
        # frame carries the playing utterance's id as a block code (avatar/tag.py).
        budget = load_budget(s.budget)
        self.trace = TraceBook(clock.virtual, clock.now, window_s=budget.window_s)
        self.budget = BudgetWatch(budget, self.trace, self.alert)
        self.director.on_stage = self.trace.on_stage
        self.encoder.on_frame_out = lambda f: self.trace.packet_out(f.started, f.pts)
        self.bench_tag = s.bench_tag

    # ---- per-frame path ----
    def _tick(self) -> None:
        """Before each frame's audio is pulled (AV loop, event-loop thread)."""
        self.director.tick()
        if self.speech_mouth is not None and not self.player.live:
            self.speech_mouth.before_pull(self.loop.index / self.cfg.stream.fps)

    def _picture(self, t: float) -> np.ndarray:
        return self.face.picture(t)  # avatar/face.py: puppet or wav2lip, per the pack

    async def _emit(self, frame: AVFrame) -> None:
        if self.bench_tag:
            self._draw_tag(frame)
        if self.clock.virtual:
            # Faster than real time: wait for the encoder rather than let it drop frames.
            while self.encoder.queue_depth >= 4:
                await asyncio.sleep(0.002)
        self.encoder.submit(frame)

    # ---- events ----
    def _commit(self, s: Sentence, speech: Speech) -> None:
        self.store.add_sentence(s, self.clock.now(), speech.duration)
        self.sentences += 1
        if self.events.wants("transcript"):
            self.events.publish(
                "transcript",
                {
                    "phase": "committed",
                    "trace_id": s.trace_id,
                    "media_time": round(self.clock.now(), 3),
                    "source": str(s.source),
                    "product": s.product_id,
                    "emotion": str(s.emotion),
                    "lang": s.lang,
                    "reply_to": s.reply_to.trace_id if s.reply_to else None,
                    "duration": round(speech.duration, 3),
                    "text": s.text,
                },
            )

    def _rejected(self, s: Sentence, reason: str) -> None:
        self.store.add_rejection(s, reason, self.clock.now())
        self.alert("guard_rejection", reason=reason, source=str(s.source), text=s.text)

    def alert(self, kind: str, **fields: Any) -> None:
        self.events.publish(
            "alerts", {"kind": kind, "media_time": round(self.clock.now(), 3), **fields}
        )

    def price_spoken_now(self, product_id: str, lang: str) -> str:
        """The price valid now (show flash sale, catalog sale window, standing discount)."""
        if self.show is not None:
            return self.show.price_spoken(product_id, lang, self.clock.now(), self.wall_start)
        return self.catalog.get(product_id).price_spoken_at(datetime.now().astimezone(), lang)

    def _draw_tag(self, frame: AVFrame) -> None:
        # The frame was just pulled: the player's frame_sentence is the audio in it. Answers
        # show the chat event's id (what /chat returned to the sender), others their own.
        s = self.player.frame_sentence
        tid = None if s is None else (s.reply_to.trace_id if s.reply_to else s.trace_id)
        draw_tag(frame.video, tag_value(tid))

    def _aired(self, trace_id: str, t: float) -> None:
        self.trace.stamp(trace_id, "first_frame_rendered")
        self.store.mark_aired(trace_id, t)
        self.events.publish(
            "transcript", {"phase": "aired", "trace_id": trace_id, "media_time": round(t, 3)}
        )

    def _panel_args(self, product_id: str) -> tuple[str, str, list[str]]:
        p = self.catalog.get(product_id)
        lang = self.cfg.stream.language
        feats, _ = p.features_in(lang)
        when = datetime.now().astimezone()
        if self.show is not None:
            price = format_price_display(
                self.show.price_at(product_id, self.clock.now(), self.wall_start), p.currency, lang
            )
        else:
            price = p.price_display_at(when, lang)
        return p.name(lang), price, feats[:3]

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
            await asyncio.to_thread(self.compositor.set_product, *self._panel_args(product_id))
        except Exception as exc:  # noqa: BLE001 - a panel failure keeps the old panel on air
            log.error("product panel for %s failed: %s", product_id, exc)
        finally:
            self.clock.release()

    def _on_restart(self, stage: str, exc: BaseException) -> None:
        self.store.add_audit(
            "engine", "stage_restart", {"stage": stage}, False, repr(exc), self.clock.now()
        )
        self.alert("stage_restart", stage=stage, error=repr(exc))

    # ---- inputs ----
    def _make_source(self, table: dict[str, Any]) -> Any:
        if table["type"] in ("replay", "simulator"):
            extra: dict[str, Any] = {"clock": self.clock}
            if table["type"] == "simulator":
                extra["catalog_product_names"] = [p.name("en") for p in self.catalog]
        else:
            extra = {"clock_now": self.clock.now}
        return build_source(table, emit=self.ingest, **extra)

    def submit_chat(self, raw: bytes | str | dict[str, Any]) -> tuple[ChatEvent, str]:
        """Built-in ingest: raw JSON in; (event, decision) out, or ChatRejected."""
        try:
            ev = parse_chat(raw, self.cfg.talk.max_chat_chars, self.clock.now())
        except ChatRejected as e:
            self.chat_rejected += 1
            log.debug("chat rejected (%s): %s", e.code, e)
            raise
        return ev, self.ingest(ev)

    def ingest(self, ev: ChatEvent) -> str:
        """Every chat event from every source: moderation, then triage; stored with the
        decision and its reason. Returns the decision."""
        t_in = self.trace.now()
        v = self.moderator.check(ev)
        if not v.allowed:
            self.chat_blocked += 1
            self.store.add_chat(ev, "blocked", v.reason)
            if v.abusive:
                self.director.set_mood(Emotion.SAD, 20.0)
            self._publish_chat(ev, "blocked", v.reason)
            return "blocked"
        d: Decision = self.triage.offer(ev, self.clock.now())
        self.store.add_chat(ev, d.action, d.reason)
        if d.action == "queued":  # only events that may be answered open a trace
            self.trace.on_stage(ev, "received", t_in)
        self._publish_chat(ev, d.action, d.reason)
        self.chat_accepted += 1
        if d.action in ("queued", "merged"):
            if ev.kind == "purchase" or (ev.kind == "gift" and ev.streak_end):
                self.director.set_mood(Emotion.HAPPY, 15.0)
            self.director.notify()
        return d.action

    def _publish_chat(self, ev: ChatEvent, decision: str, reason: str) -> None:
        topics = ("chat", "moderation") if decision == "blocked" else ("chat",)
        if not any(self.events.wants(t) for t in topics):
            return
        payload = {
            "trace_id": ev.trace_id,
            "media_time": round(self.clock.now(), 3),
            "platform": ev.platform,
            "kind": ev.kind,
            "user_id": ev.user_id,
            "user": ev.user,
            "text": ev.text,
            "decision": decision,
            "reason": reason,
        }
        for t in topics:
            self.events.publish(t, payload)

    def command(self, msg: dict[str, Any], actor: str, session: Any = None) -> dict[str, Any]:
        """Operator command (control protocol) in; reply dict out. Every command is audited.
        See ``control/commands.py``."""
        return commands.execute(self, msg, actor, session)

    def request_shutdown(self) -> None:
        """The ``shutdown`` command: a clean stop of the engine (or of this stream alone)."""
        if self.on_shutdown is not None:
            self.on_shutdown()
        else:
            self.stopping = True

    def snapshot(self) -> dict[str, Any]:
        r = sorted(self.loop.stats.render_ms[-100:]) or [0.0]
        return {
            "stream": self.name,
            "frames": self.loop.stats.frames,
            "late_frames": self.loop.stats.late_frames,
            "stalls": self.loop.stats.stalls,  # AV clock re-anchored after a stall: frames lost
            "media_time_seconds": round(self.clock.now(), 3),
            "encoder_dropped": self.encoder.stats.frames_dropped,
            "chat_accepted": self.chat_accepted,
            "chat_rejected": self.chat_rejected,
            "sentences": self.sentences,
            "stage_restarts": sum(self.supervisor.restarts.values()),
            "stale_questions": self.triage.stats.get("stale", 0),
            "guard_rejections": self.director.guard_rejections,
            "llm_failures": self.director.llm_failures,
            "chat_blocked": self.chat_blocked,
            "chat_queue": len(self.triage),
            "chat_sources": [src.health.as_dict() for src in self.sources],
            "viewers": self.webrtc.viewer_count if self.webrtc else 0,
            "speech_buffered_seconds": round(self.player.buffered_s(), 3),
            "render_ms_p50": round(r[len(r) // 2], 3),
            "rtmp_live": sum(1 for p in self.rtmp if p.state == "live"),
            "product": self.director.current_product,
            "products": self.catalog.ids,
            "latency": self.trace.summary(),
            "takeover": self.takeover.status(),
        }

    # ---- lifecycle ----
    async def prepare(self) -> None:
        """Warm up before going on air: model sessions, the first product panel, the encoder."""
        await asyncio.to_thread(self.face.warmup)
        first = self.catalog.ids[0]
        await asyncio.to_thread(self.compositor.set_product, *self._panel_args(first))
        self._shown_product = self.director.current_product = first
        self.encoder.start()

    async def run(self, duration_s: float | None) -> None:
        """Go on air (after ``prepare``) until ``duration_s`` of media time or a stop request."""
        self.supervisor.start("director", self.director.run)
        self.supervisor.start("store-flush", self._flush_store)
        self.supervisor.start("monitor", self._monitor)
        for src in self.sources:
            self.supervisor.start(f"chat:{src.name}", src.run)
        self.director.wake.set()
        try:
            await self.loop.run(duration_s, stop=lambda: self.stopping)
        finally:
            await self.close()

    async def _flush_store(self) -> None:
        while True:
            await asyncio.sleep(0.1)  # wall time: chat rows reach the file within 100 ms
            rows = self.store.take_chat()
            if rows:
                await asyncio.to_thread(self.store.write_chat, rows)
            traces = self.trace.take_rows()
            if traces:
                await asyncio.to_thread(self.store.write_traces, traces)

    async def _monitor(self) -> None:
        """Once per media second: a metrics event, and an alert for an RTMP output that was
        live and has not been for more than RTMP_DOWN_ALERT_S (once per outage)."""
        down_since: dict[int, float | None] = {}
        was_live: set[int] = set()
        alerted: set[int] = set()
        t = float(int(self.clock.now())) + 1.0
        while True:
            await self.clock.sleep_until(t)
            now = self.clock.now()
            self._sample_cpu()
            self.budget.check()
            for i, p in enumerate(self.rtmp):
                if p.state == "live":
                    was_live.add(i)
                    down_since[i] = None
                    alerted.discard(i)
                elif i in was_live:
                    since = down_since.get(i)
                    if since is None:
                        down_since[i] = since = now
                    if now - since > RTMP_DOWN_ALERT_S and i not in alerted:
                        alerted.add(i)
                        self.alert(
                            "rtmp_down", output=i, url=_redact(p.url), state=p.state,
                            down_s=round(now - since, 3),
                        )  # fmt: skip
            if self.events.wants("metrics"):
                self.events.publish("metrics", self.metrics())
            t = max(t + 1.0, float(int(now)) + 1.0)

    def _sample_cpu(self) -> None:
        wall, cpu = time.monotonic(), time.process_time()
        w0, c0 = self._cpu_mark
        if wall - w0 > 1e-3:
            self.cpu_fraction = max(0.0, (cpu - c0) / (wall - w0))
            self._cpu_mark = (wall, cpu)

    def metrics(self) -> dict[str, Any]:
        """One metrics event: the snapshot's live numbers plus process CPU and RSS."""
        snap = self.snapshot()
        keys = (
            "frames", "late_frames", "encoder_dropped", "speech_buffered_seconds",
            "render_ms_p50", "viewers", "rtmp_live", "chat_queue", "sentences",
            "chat_accepted", "chat_blocked", "stage_restarts", "guard_rejections", "product",
        )  # fmt: skip
        out = {k: snap[k] for k in keys}
        out["media_time"] = snap["media_time_seconds"]
        out["fps"] = self.cfg.stream.fps
        out["paused"] = self.director.paused
        out["cpu"] = round(self.cpu_fraction, 3)  # process CPU seconds per wall second
        out["rss_mb"] = round(_rss_mb(), 1)
        out["latency"] = snap["latency"]  # {stage: {p50, p95, count}} in ms, see trace.py
        return out

    async def close(self) -> None:
        for src in self.sources:
            src.stop()
        await self.takeover.close()
        await self.director.close()
        await self.supervisor.stop()
        if self.llm is not None:
            await self.llm.aclose()
        if self.webrtc is not None:
            await self.webrtc.close()
        await self.encoder.aclose()
        self.face.close()
        if self.renderer is not None:
            self.renderer.close()
        self.store.close()


def _redact(url: str) -> str:
    """An RTMP URL without its stream key (the last path segment)."""
    head, _, _ = url.rpartition("/")
    return head + "/***" if head else "***"


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, KiB on Linux


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
        self,
        cfg: Config,
        virtual_clock: bool = False,
        token: str | None = None,
        copies: int = 1,
    ) -> None:
        if copies < 1:
            raise ValueError(f"copies must be >= 1, got {copies}")
        self.clock: Clock = VirtualClock() if virtual_clock else RealClock()
        steady_malloc()  # process-wide: keeps per-frame buffers from fragmenting the heap
        # Copies share the avatar model: with [avatar] batch_max > 1 their frames are rendered
        # in one batched inference (avatar/batcher.py).
        self.streams = [Stream(copy_config(cfg, k), self.clock) for k in range(copies)]
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
            self.clock.restart()  # media time starts when every stream is ready for frame 0
            for s in self.streams:
                s.wall_start = s.director.wall_start = datetime.now().astimezone()
            await asyncio.gather(*(s.run(duration_s) for s in self.streams))
        finally:
            self.running = False
