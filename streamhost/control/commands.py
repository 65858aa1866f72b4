"""Operator control protocol, version 1: message validation and command handling.

A decoded JSON message in; a reply dict out, never an exception. Every message is checked
against ``schema.json`` (JSON Schema draft 2020-12, one ``$defs/cmd_<type>`` per message type)
by ``schema_check.py``.

`execute(stream, msg, actor, session)` runs one command on a stream and writes it to the audit
log (ok or not, with actor and args). `ControlSession` is one connection's state (auth,
command burst limit, event subscription); the HTTP handler feeds it decoded frames.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..frames import Emotion
from .events import TOPICS, Subscriber
from .facade import Controls
from .schema_check import (  # noqa: F401 - re-exported: the protocol's public names
    COMMANDS,
    ERROR_CODES,
    MESSAGE_TYPES,
    SCHEMA,
    SCHEMA_PATH,
    _show,
    check_message,
    validate,
)
from .security import no_surrogates, redact_args

log = logging.getLogger("streamhost.control")
PROTOCOL = 1
COMMAND_BURST = 50  # commands per connection per second
MAX_FRAME = 64 * 1024  # bytes of one control frame
MAX_SCRIPT_BYTES = 1024 * 1024


class CommandError(ValueError):
    """A control command that cannot be carried out; ``code`` is stable, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def error_reply(code: str, message: str, id_: Any = None) -> dict[str, Any]:
    return {"id": _safe_id(id_), "ok": False, "error": {"code": code, "message": message}}


def _safe_id(id_: Any) -> Any:
    """Echo an id only if it is one the schema allows (so a reply is always well-formed)."""
    if id_ is None or (isinstance(id_, int) and not isinstance(id_, bool)):
        return id_
    if isinstance(id_, str) and len(id_) <= 200:
        return id_
    return None


# ---- commands ----
def execute(
    ctl: Controls, msg: dict[str, Any], actor: str, session: ControlSession | None = None
) -> dict[str, Any]:
    """Run one operator command on a stream; every command is written to the audit log."""
    cid = _safe_id(msg.get("id")) if isinstance(msg, dict) else None
    typ = msg.get("type") if isinstance(msg, dict) else None
    ok, detail = True, ""
    reply: dict[str, Any] = {"id": cid, "ok": True}
    try:
        problem = check_message(msg)
        if problem is not None:
            raise CommandError(*problem)
        if typ in ("hello", "auth"):
            raise CommandError("bad_args", f"{typ} is a connection message, not a command")
        reply.update(_HANDLERS[typ](ctl, msg, session) or {})
    except CommandError as e:
        ok, detail = False, str(e)
        reply = error_reply(e.code, str(e), cid)
    except Exception as e:  # noqa: BLE001 - audited, answered, and the stream goes on
        log.exception("control command %r failed", typ)
        ok, detail = False, f"{type(e).__name__}: {e}"
        reply = error_reply("internal", f"command failed: {detail}", cid)
    reply["media_time"] = round(ctl.now(), 3)
    args = (
        {k: v for k, v in msg.items() if k not in ("id", "type")} if isinstance(msg, dict) else {}
    )
    actor = session.actor if session is not None else actor  # a check-in names the session
    args = redact_args(_jsonable(args))  # a token pasted into a command stays out of the log
    action = no_surrogates(typ if isinstance(typ, str) else _show(typ))
    ctl.audit(actor, action, args, ok, no_surrogates(detail))
    return reply


def _jsonable(args: dict[str, Any]) -> dict[str, Any]:
    try:
        json.dumps(args, ensure_ascii=False)
        return args
    except (TypeError, ValueError, RecursionError):
        return {k: _show(v) for k, v in args.items()}


def _status(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    return {"status": st.status()}


def _subscribe(st: Controls, msg: dict[str, Any], session: ControlSession | None) -> dict[str, Any]:
    if session is None:
        raise CommandError("bad_args", "subscribe needs a control connection to send events on")
    sub = session.subscriber()
    if msg["type"] == "subscribe":
        sub.subscribe(msg["topics"])
    else:
        sub.unsubscribe(msg["topics"])
    return {"topics": sorted(sub.topics)}


def _say(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    return {"trace_id": st.say(msg["text"].strip(), now=msg.get("mode", "next") == "now")}


def _stop(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    return {"dropped": st.stop()}


def _pause(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    return {"paused": True, "withheld": st.pause()}


def _resume(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    st.resume()
    return {"paused": False}


def _product(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    pid = msg["product"]
    if pid not in st.products():
        known = ", ".join(st.products())
        raise CommandError("unknown_product", f'"product" is {_show(pid)}; known: {known}')
    st.set_product(pid)
    return {"product": pid}


def _emotion(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    emo, secs = Emotion(msg["emotion"]), msg.get("seconds")
    until = st.set_emotion(emo, float(secs) if secs is not None else None)
    # until: media time it ends, or None (until changed)
    return {"emotion": str(emo), "until": None if until is None or math.isinf(until) else until}


def _ban(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    user = msg["user"].strip()
    return {"user": user, "banned": st.ban(user, msg["type"] == "ban")}


def _script(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    path = Path(msg["path"])
    try:
        if not path.is_file():
            raise CommandError(
                "bad_args", f'"path" is {_show(msg["path"], 500)}: not a file on the server'
            )
        if path.stat().st_size > MAX_SCRIPT_BYTES:
            raise CommandError(
                "bad_args", f'"path" is {_show(msg["path"], 500)}: over {MAX_SCRIPT_BYTES} bytes'
            )
    except (OSError, ValueError) as e:
        if isinstance(e, CommandError):
            raise
        raise CommandError("bad_args", f'"path" is {_show(msg["path"], 500)}: {e}') from None
    try:
        n, first = st.load_script(str(path))  # a ProblemsError (ValueError) names each problem
    except ValueError as e:
        raise CommandError("bad_args", f'"path" is {_show(msg["path"], 500)}: {e}') from None
    return {"sentences": n, "first": first}


def _shutdown(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    st.shutdown()
    return {"stopping": True}


def _takeover(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    # action is "end" (the schema allows nothing else): a takeover starts over WebRTC only.
    ended, state = st.end_takeover("operator ended it")
    return {"ended": ended, "takeover": state}


def _answer(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    try:
        return {"question": st.answer(msg["question"], msg["text"].strip())}
    except KeyError:
        raise CommandError(
            "bad_args",
            f'"question" is {msg["question"]}: not an open question (answered, '
            "closed after talk.followup_timeout_s, or never asked)",
        ) from None


def _history(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    return {"history": st.history(msg.get("limit", 50))}


def _voice(st: Controls, msg: dict[str, Any], _: Any) -> dict[str, Any]:
    try:
        return {"voice": st.set_voice(msg["engine"], msg.get("lang"), msg.get("settings") or {})}
    except ValueError as e:  # the engine's settings named with what is allowed
        raise CommandError("bad_args", str(e)) from None


def _presence(st: Controls, msg: dict[str, Any], session: Any) -> dict[str, Any]:
    """An operator checks in by name: the stream may speak freely, and this connection's
    commands are audited under that name from now on."""
    name = msg["name"].strip()
    presence = st.check_in(name)
    if session is not None:
        session.actor = name
    return {"presence": presence}


_HANDLERS: dict[str, Callable[[Controls, dict[str, Any], Any], dict[str, Any] | None]] = {
    "status": _status,
    "subscribe": _subscribe,
    "unsubscribe": _subscribe,
    "say": _say,
    "stop": _stop,
    "pause": _pause,
    "resume": _resume,
    "product": _product,
    "emotion": _emotion,
    "ban": _ban,
    "unban": _ban,
    "script": _script,
    "shutdown": _shutdown,
    "takeover": _takeover,
    "voice": _voice,
    "answer": _answer,
    "history": _history,
    "presence": _presence,
}
assert set(_HANDLERS) == set(COMMANDS), set(_HANDLERS) ^ set(COMMANDS)


# ---- one connection ----
class ControlSession:
    """One control connection: auth state, command burst limit, event subscription.

    ``handle(obj)`` takes a decoded JSON value and returns the reply; it never raises.
    ``check_token(token) -> "ok" | "bad" | "rate_limited"`` is supplied by the HTTP layer
    (per-address failed-auth limit).
    """

    def __init__(
        self,
        controls: Controls,
        check_token: Callable[[Any], str],
        authed: bool = False,
        actor: str = "control",
        burst: int = COMMAND_BURST,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.controls = controls
        self._check_token = check_token
        self.authed = authed
        self.actor = actor
        self.burst = burst
        self._now = now
        self._recent: deque[float] = deque()
        self._sub: Subscriber | None = None

    def subscriber(self) -> Subscriber:
        if self._sub is None:
            self._sub = self.controls.events.add()
        return self._sub

    @property
    def subscription(self) -> Subscriber | None:
        return self._sub

    def close(self) -> None:
        if self._sub is not None:
            self._sub.close()

    def _limited(self) -> bool:
        t = self._now()
        while self._recent and t - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.burst:
            return True
        self._recent.append(t)
        return False

    def hello(self, id_: Any) -> dict[str, Any]:
        return {
            "id": _safe_id(id_),
            "ok": True,
            "protocol": PROTOCOL,
            "authenticated": self.authed,
            "commands": list(COMMANDS),
            "topics": list(TOPICS),
        }

    def handle_text(self, text: str) -> dict[str, Any]:
        """One text frame in (size limit, JSON decoding), the reply out; never raises."""
        if len(text) > MAX_FRAME or len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME:
            return error_reply("too_large", f"control frames are at most {MAX_FRAME} bytes")
        try:
            obj = json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return error_reply("bad_json", "a control message is one JSON object")
        return self.handle(obj)

    def handle(self, obj: Any) -> dict[str, Any]:
        try:
            return self._handle(obj)
        except Exception as e:  # noqa: BLE001 - a bad message must never end the connection
            log.exception("control message failed")
            cid = obj.get("id") if isinstance(obj, dict) else None
            return error_reply("internal", f"command failed: {type(e).__name__}: {e}", cid)

    def _handle(self, obj: Any) -> dict[str, Any]:
        if not isinstance(obj, dict):
            return error_reply("bad_json", "a control message is one JSON object")
        cid = obj.get("id")
        if self._limited():
            return error_reply(
                "rate_limited", f"more than {self.burst} messages in one second", cid
            )
        typ = obj.get("type")
        if typ in ("hello", "auth"):
            problem = check_message(obj)
            if problem is not None:
                return error_reply(*problem, cid)
            if typ == "hello":
                return self.hello(cid)
            if self.authed:
                return self.hello(cid)
            verdict = self._check_token(obj.get("token"))
            if verdict == "ok":
                self.authed = True
                return self.hello(cid)
            if verdict == "rate_limited":
                return error_reply("rate_limited", "too many failed auth attempts; wait", cid)
            return error_reply("unauthorized", "wrong token", cid)
        if not self.authed:
            return error_reply("unauthorized", "send {type: auth, token} first", cid)
        return execute(self.controls, obj, actor=self.actor, session=self)
