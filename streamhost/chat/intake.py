"""Parse chat ingest messages (the built-in `/chat` WebSocket / POST) into ChatEvents.

Bytes or text in, a ChatEvent or a ``ChatRejected`` naming the problem out. The full triage and
moderation stage (dedupe, rate limits, blocklists) builds on this.
"""

from __future__ import annotations

import json
import math
import unicodedata
from typing import Any

from ..frames import EVENT_KINDS, ChatEvent

KINDS = EVENT_KINDS
MAX_FRAME_BYTES = 16 * 1024
MAX_USER_CHARS = 64


class ChatRejected(ValueError):
    """A chat message that cannot be accepted; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def utf8_size(data: bytes | bytearray | str) -> int:
    # surrogatepass: measuring must not raise on a str that holds a lone surrogate
    return len(data) if not isinstance(data, str) else len(data.encode("utf-8", "surrogatepass"))


def load_json(data: bytes | bytearray | str, what: str) -> Any:
    """``data`` (UTF-8 bytes or text) parsed as JSON, or ChatRejected ``bad_utf8`` / ``bad_json``
    whose message names ``what`` ("message", "body")."""
    if isinstance(data, bytes | bytearray):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ChatRejected(
                "bad_utf8", f"{what} is not valid UTF-8 ({e.reason} at byte {e.start})"
            ) from None
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:  # ValueError covers JSONDecodeError and huge ints
        raise ChatRejected("bad_json", f"{what} is not JSON: {e}") from None


def wire_number(value: Any, code: str, what: str) -> float:
    """A number from a platform's JSON, which may send it as a string (big integers often are).
    Only finite values in 0..1e15 pass: a count or an amount is never negative, and a huge one
    is an attack or a bug, not a gift. Anything else raises ``ChatRejected(code)`` naming ``what``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ChatRejected(code, f"{what} must be a number, got {type(value).__name__}")
    try:
        f = float(value)
    except (ValueError, OverflowError):
        raise ChatRejected(code, f"{what} must be a number, got {value!r:.40}") from None
    if not math.isfinite(f) or f < 0 or f > 1e15:
        raise ChatRejected(code, f"{what} out of range: {value!r:.40}")
    return f


def _clean(text: str) -> str:
    # Control and format characters (zero-width, bidi overrides) carry no meaning for the host
    # and are a common way to smuggle text past filters.
    if text.isprintable():
        # Fast path: printable text holds no Cc/Cf character (isprintable is False for both).
        return text.strip()
    # Lone surrogates (Cs) are not text at all: JSON lets "\ud800" through, and SQLite and
    # every UTF-8 encoder downstream refuse it.
    return "".join(
        c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs") or c == " "
    ).strip()


def parse_chat(
    data: bytes | str | dict[str, Any], max_chars: int, received_at: float, platform: str = "ws"
) -> ChatEvent:
    """One JSON object ``{"user": NAME, "text": TEXT, ["kind": ..., "user_id": ...]}``."""
    if isinstance(data, bytes | bytearray | str):
        size = utf8_size(data)
        if size > MAX_FRAME_BYTES:
            raise ChatRejected(
                "too_large", f"message is {size} bytes; the limit is {MAX_FRAME_BYTES}"
            )
        obj = load_json(data, "message")
    else:
        obj = data
    if not isinstance(obj, dict):
        raise ChatRejected("bad_shape", f"message must be a JSON object, got {type(obj).__name__}")
    user, text, kind = obj.get("user"), obj.get("text", ""), obj.get("kind", "comment")
    if not isinstance(user, str) or not _clean(user):
        raise ChatRejected("bad_user", 'field "user" must be a non-empty string')
    if not isinstance(text, str):
        raise ChatRejected("bad_text", 'field "text" must be a string')
    if kind not in KINDS:
        raise ChatRejected(
            "bad_kind", f'field "kind" = {kind!r}: must be one of {", ".join(KINDS)}'
        )
    text = _clean(text)
    if kind == "comment" and not text:
        raise ChatRejected("empty", 'field "text" is empty')
    if len(text) > max_chars:
        raise ChatRejected(
            "too_long", f'field "text" has {len(text)} characters; the limit is {max_chars}'
        )
    user_id = obj.get("user_id", "")
    return ChatEvent(
        user=_clean(user)[:MAX_USER_CHARS],
        text=text,
        platform=platform,
        kind=kind,
        user_id=_clean(str(user_id)) if isinstance(user_id, str | int) else "",
        received_at=received_at,
        raw=obj,
    )
