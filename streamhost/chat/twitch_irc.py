"""IRC wire syntax (IRCv3 tags, prefix, command, params) as Twitch chat speaks it.

In: one line of text; out: an ``IrcMessage`` (or ``ChatRejected``), and back to a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .intake import ChatRejected

_TAG_KEY = re.compile(r"\+?(?:[A-Za-z0-9][A-Za-z0-9.-]*/)?[A-Za-z0-9-]+\Z")
_COMMAND = re.compile(r"(?:[A-Za-z]+|[0-9]{3})\Z")
_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPE = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}


@dataclass(slots=True)
class IrcMessage:
    """One parsed IRC line: IRCv3 tags (unescaped), optional prefix, command, params.

    The trailing parameter (after ``" :"``) is the last item of ``params``, like any other.
    """

    command: str
    params: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    prefix: str | None = None

    @property
    def nick(self) -> str:
        """The nick part of ``nick!user@host``, or the whole prefix (a server name)."""
        return (self.prefix or "").split("!", 1)[0].split("@", 1)[0]

    def to_line(self) -> str:
        """Serialize (without CRLF); ``parse_irc_line(m.to_line()) == m`` for valid messages."""
        parts: list[str] = []
        if self.tags:
            parts.append(
                "@"
                + ";".join(
                    k + ("=" + "".join(_ESCAPE.get(c, c) for c in v) if v else "")
                    for k, v in self.tags.items()
                )
            )
        if self.prefix is not None:
            parts.append(":" + self.prefix)
        parts.append(self.command)
        if self.params:
            parts.extend(self.params[:-1])
            parts.append(":" + self.params[-1])
        return " ".join(parts)


def _unescape_tag_value(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\":
            if i + 1 < len(value):
                nxt = value[i + 1]
                # IRCv3: an unknown escape drops the backslash; a trailing lone one is dropped.
                out.append(_UNESCAPE.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_irc_line(line: str) -> IrcMessage:
    """Parse one IRC line (a trailing CRLF is allowed); raise ChatRejected if malformed."""
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    if not line.strip(" "):
        raise ChatRejected("irc_empty", "empty IRC line")
    if any(c in line for c in "\r\n\0"):
        raise ChatRejected("irc_bad_char", "IRC line contains CR, LF or NUL")
    rest = line
    tags: dict[str, str] = {}
    if rest.startswith("@"):
        raw_tags, _, rest = rest[1:].partition(" ")
        if not raw_tags:
            raise ChatRejected("irc_bad_tags", "empty tag section after '@'")
        for item in raw_tags.split(";"):
            if not item:
                continue  # tolerate ";;" and a trailing ";" (seen in the wild)
            key, _, value = item.partition("=")
            if not _TAG_KEY.match(key):
                raise ChatRejected("irc_bad_tags", f"invalid tag key {key[:40]!r}")
            tags[key] = _unescape_tag_value(value)
        rest = rest.lstrip(" ")
    prefix: str | None = None
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
        if not prefix:
            raise ChatRejected("irc_bad_prefix", "empty prefix after ':'")
        rest = rest.lstrip(" ")
    command, _, rest = rest.partition(" ")
    if not _COMMAND.match(command):
        raise ChatRejected("irc_bad_command", f"invalid IRC command {command[:40]!r}")
    params: list[str] = []
    rest = rest.lstrip(" ")
    while rest:
        if rest.startswith(":"):
            params.append(rest[1:])
            break
        param, _, rest = rest.partition(" ")
        params.append(param)
        rest = rest.lstrip(" ")
    return IrcMessage(command=command.upper(), params=params, tags=tags, prefix=prefix)
