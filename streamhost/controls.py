"""The control facade over one running stream (implements ``control.facade.Controls``).

Operator commands and the takeover call these methods; only this class touches the director,
player, driver, face, moderator and store on their behalf, so ``control/`` never reaches into
a stage.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from typing import Any

from .control.facade import LiveFeed
from .control.takeover import UNTRANSCRIBED
from .frames import Emotion, Sentence, Source
from .talk.script import load_script


class StreamControls:
    """Operator actions in (say, stop, pause, product, emotion, ban, script, takeover audio);
    results out. Built by the engine with the stream's stages; ``status``/``shutdown``/
    ``end_takeover`` are wired to the stream after it exists."""

    def __init__(
        self,
        *,
        clock: Any,
        director: Any,
        player: Any,
        driver: Any,
        face: Any,
        moderator: Any,
        catalog: Any,
        observer: Any,
        language: str,
        sample_rate: int,
        asr_model: str,
        mouth_lookahead_s: float,
        followups: Any = None,
    ) -> None:
        self.clock, self.director, self.player, self.driver = clock, director, player, driver
        self.face, self.moderator, self.catalog, self.obs = face, moderator, catalog, observer
        self.events = observer.events
        self.language = language
        self.sample_rate = sample_rate
        self.asr_model = asr_model
        self.mouth_lookahead_s = mouth_lookahead_s
        self.followups = followups  # talk/followup.Followups, or None
        self.status: Callable[[], dict[str, Any]] = dict
        self.shutdown: Callable[[], None] = lambda: None
        self.end_takeover: Callable[[str], tuple[bool, str]] = lambda reason: (False, "off")
        self.voice: Any = None  # the stream's voice (switch) and [voice] config, set by the
        self.voice_cfg: Any = None  # engine; None: the voice command is refused
        self.presence: Any = None  # presence.Presence, set by the engine

    def now(self) -> float:
        return self.clock.now()

    # ---- talk ----
    def say(self, text: str, now: bool) -> str:
        return self.director.say(text, now=now).trace_id

    def stop(self) -> int:
        return self.director.stop()

    def pause(self) -> int:
        return self.director.pause()

    def resume(self) -> None:
        self.director.resume()

    def products(self) -> list[str]:
        return list(self.catalog.ids)

    def set_product(self, product_id: str) -> None:
        self.director.set_product(product_id)

    def set_emotion(self, emotion: str, seconds: float | None) -> float | None:
        """Returns the media time the emotion ends, or None (until changed)."""
        self.director.set_emotion(Emotion(emotion), seconds)
        until = self.director.emotion_until
        return None if until is None or math.isinf(until) else until

    def ban(self, user: str, banned: bool) -> int:
        (self.moderator.ban if banned else self.moderator.unban)(user)
        return len(self.moderator.banned)

    def load_script(self, path: str) -> tuple[int, str]:
        """Load an advertiser script and queue it; (sentences, first line). Raises ValueError
        (a ScriptError naming each problem) for a bad or empty script."""
        script = load_script(path, self.catalog, self.language)
        if not script.sentences:
            raise ValueError("the script says nothing")
        self.director.set_script(script)
        return len(script.sentences), script.sentences[0].text

    def answer(self, question_id: int, text: str) -> dict[str, Any]:
        """The operator's answer to a question the host could not answer: said at the next
        sentence boundary, naming the viewer. KeyError: no such open question."""
        if self.followups is None:
            raise KeyError(question_id)
        return self.followups.answer(question_id, text).as_dict()

    def history(self, limit: int) -> dict[str, Any]:
        """The last ``limit`` transcript lines and chat rows, and the open questions."""
        out = self.obs.store.recent(limit)
        open_qs = self.followups.pending() if self.followups is not None else []
        out["questions"] = [q.as_dict() for q in open_qs]
        return out

    # ---- voice ----
    def set_voice(self, engine: str, lang: str | None, settings: dict[str, Any]) -> dict[str, Any]:
        """The operator's ``voice`` command: check ``engine`` with its configured settings plus
        ``settings`` now (ValueError naming each problem), load it on a thread (a model load
        must not stall frames), switch ``lang``'s voice on the event loop when it is ready and
        audit the outcome as ``voice_loaded``. Returns what was asked for, loading."""
        from .voice.registry import VOICES, build_one

        lang = lang or self.language
        if "api_key" in settings:  # the audit log keeps every command's arguments
            raise ValueError(
                "settings.api_key: not over the control socket; configure it "
                "([voice.openai] api_key or STREAMHOST_TTS_API_KEY)"
            )
        base = self.voice_cfg.engine_table(engine) if self.voice_cfg else {"engine": engine}
        problems, table = VOICES.check({**base, **settings, "engine": engine}, "voice", None,
                                       fixed=("engine",), type_key="engine")  # fmt: skip
        if problems or table is None or self.voice is None:
            raise ValueError("; ".join(problems) or "this stream's voice cannot be switched")
        loop = asyncio.get_running_loop()
        shown = {k: v for k, v in table.items() if k != "api_key"}

        def done(voice: Any, problem: str) -> None:
            if voice is not None:
                self.voice.switch(lang, voice, table)
            args = {"lang": lang, **shown}
            self.obs.audit("system", "voice_loaded", args, voice is not None, problem)

        def load() -> None:
            try:
                voice, problem = build_one(table, self.sample_rate, lang), ""
            except Exception as exc:  # noqa: BLE001 - reported; the old voice goes on speaking
                voice, problem = None, f"{type(exc).__name__}: {exc}"
            try:
                loop.call_soon_threadsafe(done, voice, problem)
            except RuntimeError:  # the stream closed meanwhile
                if voice is not None:
                    voice.close()

        threading.Thread(target=load, name="voice-load", daemon=True).start()
        return {**shown, "lang": lang, "loading": True}

    def check_in(self, name: str) -> dict[str, Any]:
        """An operator is in charge (control command ``presence``); ends safe mode."""
        if self.presence is None:
            raise ValueError("this stream has no presence check")
        return self.presence.check_in(name)

    # ---- log ----
    def audit(self, actor: str, action: str, args: dict[str, Any], ok: bool, detail: str) -> None:
        self.obs.audit(actor, action, args, ok, detail)
        if self.presence is not None:
            self.presence.seen(actor, action, ok)

    def alert(self, kind: str, **fields: Any) -> None:
        self.obs.alert(kind, **fields)

    # ---- live audio (takeover) ----
    def go_live(self, feed: LiveFeed, mouth: Callable[[float], Any]) -> bool:
        now = self.clock.now()
        was_paused = self.director.paused
        self.director.pause()
        self.player.flush(now)
        self.player.set_live(feed, now)
        self.driver.set_mouth_source(mouth)
        return was_paused

    def end_live(self, resume: bool) -> None:
        self.player.set_live(None, self.clock.now())
        # back to the face's own mouth driver: visemes, or the speech audio
        self.driver.set_mouth_source(self.face.mouth)
        if resume:
            self.director.resume()

    def operator_line(self, text: str | None, start: float, duration: float) -> None:
        """One utterance of the operator's voice: in the transcript, aired as it was spoken."""
        s = Sentence(
            text=text if text is not None else UNTRANSCRIBED,
            source=Source.OPERATOR_VOICE,
            lang=self.language,
            product_id=self.director.current_product,
        )
        store = self.obs.store
        store.add_sentence(s, start, duration)
        store.mark_aired(s.trace_id, start)
        if self.events.wants("transcript"):
            self.events.publish("transcript", {
                "phase": "committed", "trace_id": s.trace_id, "media_time": round(start, 3),
                "source": str(s.source), "product": s.product_id, "emotion": str(s.emotion),
                "lang": s.lang, "reply_to": None, "duration": round(duration, 3),
                "text": s.text, "transcribed": text is not None,
            })  # fmt: skip
            self.events.publish(
                "transcript",
                {"phase": "aired", "trace_id": s.trace_id, "media_time": round(start, 3)},
            )
