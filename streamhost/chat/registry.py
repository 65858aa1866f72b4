"""Chat source types a config can name in ``[[chat.sources]]``, with their parameters.

Config tables in; validated keyword arguments (or problems naming key, value and what is
allowed) out; ``build_source`` makes the running source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..registry import Param, Plugin, Registry, is_bool, is_nonempty, is_url
from ..registry import is_int_in as _int
from ..registry import is_num_in as _num

_str, _bool, _url = is_nonempty, is_bool, is_url


def _mix(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and _num(0, 1e9)(w) for k, w in v.items())


SOURCES = Registry(
    "chat source",
    {
        "twitch": Plugin(
            "streamhost.chat.twitch:TwitchSource",
            {
                "channel": Param(_str, "a channel name", required=True),
                "host": Param(_str, "a host name"),
                "port": Param(_int(1, 65535), "a port 1..65535"),
                "tls": Param(_bool, "true or false"),
                "nick": Param(_str, "an IRC nick (default: anonymous justinfan)"),
                "token": Param(_str, "an oauth token"),
            },
        ),
        "youtube": Plugin(
            "streamhost.chat.youtube:YouTubeSource",
            {
                "live_chat_id": Param(_str, "a liveChatId", required=True),
                "api_key": Param(_str, "an API key", required=True),
                "base_url": Param(_url("http", "https"), "an http(s) URL"),
            },
        ),
        "bilibili": Plugin(
            "streamhost.chat.bilibili:BilibiliSource",
            {
                "url": Param(_url("ws", "wss"), "a ws:// or wss:// URL", required=True),
                "room_id": Param(_int(1, 2**63), "a room id (integer)", required=True),
                "uid": Param(_int(0, 2**63), "a user id (integer)"),
                "token": Param(_str, "an auth key"),
            },
        ),
        "relay": Plugin(
            "streamhost.chat.relay:RelaySource",
            {
                "url": Param(_url("ws", "wss"), "a ws:// or wss:// URL", required=True),
            },
        ),
        "replay": Plugin(
            "streamhost.chat.replay:ReplaySource",
            {
                "path": Param(_str, "a JSONL file", required=True, path=True),
                "speed": Param(_num(0.01, 1000), "a number 0.01..1000"),
                "loop": Param(_bool, "true or false"),
            },
        ),
        "simulator": Plugin(
            "streamhost.chat.simulator:ChatSimulator",
            {
                "rate_per_s": Param(
                    _num(0, 100000), "a number of messages per second 0..100000", required=True
                ),
                "seed": Param(_int(0, 2**31), "an integer >= 0"),
                "mix": Param(_mix, "a table of kind/class = weight"),
            },
        ),
    },
)


def source_problems(sources: Any, base: Path | None) -> tuple[list[str], list[dict[str, Any]]]:
    """Validate ``chat.sources``; returns (problems, normalized tables)."""
    if not isinstance(sources, list | tuple):
        return [f"chat.sources = {sources!r}: must be a list of tables ([[chat.sources]])"], []
    problems: list[str] = []
    out: list[dict[str, Any]] = []
    for i, table in enumerate(sources):
        where = f"chat.sources[{i}]"
        more, clean = SOURCES.check(table, where, base, fixed=("type", "name"))
        problems.extend(more)
        if clean is None:
            continue
        clean.setdefault("name", f"{clean['type']}{i}")
        if not _str(clean["name"]):
            problems.append(f"{where}.name = {clean['name']!r}: must be a non-empty string")
        out.append(clean)
    return problems, out


def build_source(table: dict[str, Any], **runtime: Any) -> Any:
    """Instantiate a validated source table; ``runtime`` adds emit/clock wiring."""
    return SOURCES.build(table, **runtime)
