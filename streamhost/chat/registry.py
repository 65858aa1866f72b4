"""Chat source types a config can name in ``[[chat.sources]]``, with their parameters.

Config tables in; validated keyword arguments (or problems naming key, value and what is
allowed) out; ``build_source`` makes the running source.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

Check = Callable[[Any], bool]


def _str(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


def _int(lo: int, hi: int) -> Check:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _num(lo: float, hi: float) -> Check:
    return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and lo <= v <= hi


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _url(*schemes: str) -> Check:
    return lambda v: (
        isinstance(v, str) and urlparse(v).scheme in schemes and bool(urlparse(v).netloc)
    )


def _mix(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and _num(0, 1e9)(w) for k, w in v.items())


# type -> (module:class, {param: (check, allowed, required)}); "path" params resolve against
# the config file's folder.
SOURCES: dict[str, tuple[str, dict[str, tuple[Check, str, bool]]]] = {
    "twitch": (
        "streamhost.chat.twitch:TwitchSource",
        {
            "channel": (_str, "a channel name", True),
            "host": (_str, "a host name", False),
            "port": (_int(1, 65535), "a port 1..65535", False),
            "tls": (_bool, "true or false", False),
            "nick": (_str, "an IRC nick (default: anonymous justinfan)", False),
            "token": (_str, "an oauth token", False),
        },
    ),
    "youtube": (
        "streamhost.chat.youtube:YouTubeSource",
        {
            "live_chat_id": (_str, "a liveChatId", True),
            "api_key": (_str, "an API key", True),
            "base_url": (_url("http", "https"), "an http(s) URL", False),
        },
    ),
    "bilibili": (
        "streamhost.chat.bilibili:BilibiliSource",
        {
            "url": (_url("ws", "wss"), "a ws:// or wss:// URL", True),
            "room_id": (_int(1, 2**63), "a room id (integer)", True),
            "uid": (_int(0, 2**63), "a user id (integer)", False),
            "token": (_str, "an auth key", False),
        },
    ),
    "relay": (
        "streamhost.chat.relay:RelaySource",
        {
            "url": (_url("ws", "wss"), "a ws:// or wss:// URL", True),
        },
    ),
    "replay": (
        "streamhost.chat.replay:ReplaySource",
        {
            "path": (_str, "a JSONL file", True),
            "speed": (_num(0.01, 1000), "a number 0.01..1000", False),
            "loop": (_bool, "true or false", False),
        },
    ),
    "simulator": (
        "streamhost.chat.simulator:ChatSimulator",
        {
            "rate_per_s": (_num(0, 100000), "a number of messages per second 0..100000", True),
            "seed": (_int(0, 2**31), "an integer >= 0", False),
            "mix": (_mix, "a table of kind/class = weight", False),
        },
    ),
}
PATH_PARAMS = {("replay", "path")}


def source_problems(sources: Any, base: Path | None) -> tuple[list[str], list[dict[str, Any]]]:
    """Validate ``chat.sources``; returns (problems, normalized tables)."""
    if not isinstance(sources, list | tuple):
        return [f"chat.sources = {sources!r}: must be a list of tables ([[chat.sources]])"], []
    problems: list[str] = []
    out: list[dict[str, Any]] = []
    for i, table in enumerate(sources):
        where = f"chat.sources[{i}]"
        if not isinstance(table, dict):
            problems.append(f"{where} = {table!r}: must be a table")
            continue
        typ = table.get("type")
        if typ not in SOURCES:
            problems.append(f"{where}.type = {typ!r}: must be one of {', '.join(SOURCES)}")
            continue
        params = SOURCES[typ][1]
        clean: dict[str, Any] = {"type": typ, "name": table.get("name", f"{typ}{i}")}
        if not _str(clean["name"]):
            problems.append(f"{where}.name = {clean['name']!r}: must be a non-empty string")
        for key, value in table.items():
            if key in ("type", "name"):
                continue
            if key not in params:
                problems.append(
                    f"{where}.{key}: unknown key for type {typ}; allowed: {', '.join(params)}"
                )
                continue
            check, allowed, _ = params[key]
            if not check(value):
                problems.append(f"{where}.{key} = {value!r}: must be {allowed}")
                continue
            if (typ, key) in PATH_PARAMS and base is not None:
                value = str((base / value).resolve())
            clean[key] = value
        for key, (_, allowed, required) in params.items():
            if required and key not in table:
                problems.append(f"{where}.{key}: missing; must be {allowed}")
        out.append(clean)
    return problems, out


def build_source(table: dict[str, Any], **runtime: Any) -> Any:
    """Instantiate a validated source table; ``runtime`` adds emit/clock wiring."""
    target, _ = SOURCES[table["type"]]
    module, cls = target.split(":")
    kwargs = {k: v for k, v in table.items() if k != "type"}
    return getattr(importlib.import_module(module), cls)(**kwargs, **runtime)
