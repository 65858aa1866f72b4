"""Bilibili danmaku commands (the JSON of op-5 packets) to ChatEvents.

In: an op-5 body, or its parsed command object, and ``received_at``; out: ``ChatEvent``s, or
``ChatRejected`` for a malformed known command.

Money: Bilibili prices are in "gold" (金瓜子, 1000 gold = 1 CNY) or free "silver". Gold becomes
``amount`` in ``CNY``; silver stays ``amount`` in ``silver`` (no money value).
"""

from __future__ import annotations

from typing import Any

from ..frames import ChatEvent
from .intake import MAX_USER_CHARS, ChatRejected, _clean, load_json, wire_number

MAX_TEXT_CHARS = 500
GOLD_PER_CNY = 1000.0


def parse_command(body: bytes) -> dict[str, Any]:
    """The JSON object in an op-5 body, or ChatRejected (bad_utf8, bad_json, bad_shape)."""
    obj = load_json(body, "body")
    if not isinstance(obj, dict) or not isinstance(obj.get("cmd"), str):
        raise ChatRejected("bad_shape", 'a command must be a JSON object with a string "cmd"')
    return obj


def _user(value: Any) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ChatRejected("bad_user", f"user name must be a string, got {type(value).__name__}")
    name = _clean(str(value))[:MAX_USER_CHARS]
    if not name:
        raise ChatRejected("bad_user", "user name is empty")
    return name


def _uid(value: Any) -> str:
    # uid 0 means "not logged in / masked" on Bilibili: keep it empty rather than a fake id.
    if isinstance(value, bool) or not isinstance(value, int | str):
        return ""
    s = str(value)
    return "" if s in ("", "0") else s[:32]


def _num(value: Any, code: str, default: float = 0.0) -> float:
    return default if value is None else wire_number(value, code, code.removeprefix("bad_"))


def _count(value: Any) -> int:
    return max(1, int(_num(value, "bad_count", 1)))


def _data(cmd: dict[str, Any]) -> dict[str, Any]:
    data = cmd.get("data")
    if not isinstance(data, dict):
        raise ChatRejected("bad_shape", f'{cmd.get("cmd")}: "data" must be an object')
    return data


def _gift_amount(total: float, coin_type: Any) -> tuple[float, str]:
    if coin_type == "silver":
        return total, "silver"
    return total / GOLD_PER_CNY, "CNY"


def _gift(
    d: dict,
    cmd: str,
    item_key: str,
    num: int,
    amount: float,
    currency: str,
    streak_end: bool,
    sent_at: float | None,
    common: dict,
) -> ChatEvent:
    """A gift event from SEND_GIFT / COMBO_END data (they differ only in field names)."""
    item = d.get(item_key)
    if not isinstance(item, str):
        raise ChatRejected("bad_shape", f'{cmd}: "{item_key}" must be a string')
    return ChatEvent(
        user=_user(d.get("uname")), user_id=_uid(d.get("uid")), text="", kind="gift",
        item=_clean(item)[:64], count=num, amount=amount, currency=currency,
        streak_end=streak_end, sent_at=sent_at, **common,
    )  # fmt: skip


def to_chat_events(cmd: dict[str, Any], received_at: float) -> list[ChatEvent]:
    """Map one op-5 command object to ChatEvents.

    DANMU_MSG (prefix match; the cmd may carry suffixes like ``DANMU_MSG:4:0:2:2:2:0``):
    ``info[0]`` metadata (``info[0][4]`` send time in ms), ``info[1]`` text, ``info[2]`` =
    ``[uid, uname, ...]`` -> comment. SEND_GIFT -> gift (``streak_end`` False while a combo is
    running, i.e. ``combo_send``/``batch_combo_send`` is set); COMBO_END -> gift with the combo's
    total and ``streak_end``. GUARD_BUY -> purchase. SUPER_CHAT_MESSAGE -> paid comment.
    INTERACT_WORD msg_type 1 join, 2/4/5 follow, 3 share. LIKE_INFO_V3_CLICK -> like.
    Others -> ``[]``. Malformed known commands raise ChatRejected.
    """
    name = cmd.get("cmd")
    if not isinstance(name, str):
        raise ChatRejected("bad_shape", 'command has no string "cmd"')
    base = name.split(":", 1)[0]
    common = {"platform": "bilibili", "received_at": received_at, "raw": cmd}

    if base == "DANMU_MSG":
        info = cmd.get("info")
        if not isinstance(info, list) or len(info) < 3:
            raise ChatRejected("bad_shape", 'DANMU_MSG: "info" must be a list of at least 3')
        meta, text, who = info[0], info[1], info[2]
        if not isinstance(text, str):
            raise ChatRejected("bad_text", "DANMU_MSG: info[1] must be the text")
        if not isinstance(who, list) or len(who) < 2:
            raise ChatRejected("bad_user", "DANMU_MSG: info[2] must be [uid, uname, ...]")
        text = _clean(text)
        if not text:
            raise ChatRejected("empty", "DANMU_MSG: empty text")
        if len(text) > MAX_TEXT_CHARS:
            raise ChatRejected("too_long", f"DANMU_MSG: {len(text)} characters")
        sent_at = None
        if isinstance(meta, list) and len(meta) > 4 and not isinstance(meta[4], bool):
            try:
                ts = _num(meta[4], "bad_time")
            except ChatRejected:
                ts = 0.0  # metadata is advisory: a bad timestamp does not cost the comment
            # Bilibili sends milliseconds; anything that large cannot be seconds.
            sent_at = (ts / 1000.0 if ts > 1e11 else ts) or None
        return [
            ChatEvent(
                user=_user(who[1]),
                user_id=_uid(who[0]),
                text=text,
                kind="comment",
                sent_at=sent_at,
                **common,
            )
        ]

    if base == "SEND_GIFT":
        d = _data(cmd)
        num = _count(d.get("num"))
        total = d.get("total_coin")
        total_f = (
            _num(total, "bad_amount")
            if total is not None
            else _num(d.get("price"), "bad_amount") * num
        )
        amount, currency = _gift_amount(total_f, d.get("coin_type"))
        in_combo = bool(d.get("combo_send")) or bool(d.get("batch_combo_send"))
        sent_at = _num(d.get("timestamp"), "bad_time", 0.0) or None
        return [
            _gift(d, "SEND_GIFT", "giftName", num, amount, currency, not in_combo, sent_at, common)
        ]

    if base == "COMBO_END":
        d = _data(cmd)
        num = _count(d.get("combo_num") or d.get("batch_combo_num"))
        total = _num(d.get("combo_total_coin"), "bad_amount", -1.0)
        if total < 0:
            total = _num(d.get("price"), "bad_amount") * num
        amount, currency = _gift_amount(total, d.get("coin_type", "gold"))
        return [_gift(d, "COMBO_END", "gift_name", num, amount, currency, True, None, common)]

    if base == "GUARD_BUY":
        d = _data(cmd)
        num = _count(d.get("num"))
        price = _num(d.get("price"), "bad_amount")  # gold per unit (month)
        level = d.get("guard_level")
        item = d.get("gift_name") or (
            {1: "总督", 2: "提督", 3: "舰长"}.get(level, "") if isinstance(level, int) else ""
        )
        return [
            ChatEvent(
                user=_user(d.get("username") or d.get("uname")),
                user_id=_uid(d.get("uid")),
                text="",
                kind="purchase",
                item=_clean(item if isinstance(item, str) else "")[:64],
                count=num,
                amount=price * num / GOLD_PER_CNY,
                currency="CNY",
                **common,
            )
        ]

    if base == "SUPER_CHAT_MESSAGE":
        d = _data(cmd)
        info = d.get("user_info") if isinstance(d.get("user_info"), dict) else {}
        text = d.get("message")
        if not isinstance(text, str) or not _clean(text):
            raise ChatRejected("bad_text", 'SUPER_CHAT_MESSAGE: "message" must be text')
        text = _clean(text)[:MAX_TEXT_CHARS]
        return [
            ChatEvent(
                user=_user(info.get("uname") or d.get("uname")),
                user_id=_uid(d.get("uid")),
                text=text,
                kind="comment",
                amount=_num(d.get("price"), "bad_amount"),  # already CNY for super chats
                currency="CNY",
                **common,
            )
        ]

    if base == "INTERACT_WORD":
        d = _data(cmd)
        msg_type = d.get("msg_type")
        kind = (
            {1: "join", 2: "follow", 3: "share", 4: "follow", 5: "follow"}.get(msg_type)
            if isinstance(msg_type, int)
            else None
        )
        if kind is None:
            return []
        return [
            ChatEvent(
                user=_user(d.get("uname")), user_id=_uid(d.get("uid")), text="", kind=kind, **common
            )
        ]

    if base == "LIKE_INFO_V3_CLICK":
        d = _data(cmd)
        return [
            ChatEvent(
                user=_user(d.get("uname")),
                user_id=_uid(d.get("uid")),
                text="",
                kind="like",
                **common,
            )
        ]

    return []
