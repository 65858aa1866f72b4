"""Typed reads from a parsed TOML file's tables, each wrong value one problem naming its key.

In: the file's raw mapping and a list that collects problems (``"<table>.<key>: <what>"``).
Out: the values, or an empty default where a value is wrong, so that every problem of a
file is found in one pass (``streamhost.langdata`` reads the language files with it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any


class TableReader:
    """Typed reads from one file's tables; each wrong value becomes one problem naming its key."""

    def __init__(self, raw: Mapping[str, Any], problems: list[str]) -> None:
        self.raw = raw
        self.problems = problems

    def table(self, name: str, keys: tuple[str, ...], required: bool = True) -> Mapping[str, Any]:
        t = self.raw.get(name)
        if t is None:
            if required:
                self.problems.append(f"[{name}]: table is missing")
            return {}
        if not isinstance(t, Mapping):
            self.problems.append(f"{name}: must be a table, got {type(t).__name__}")
            return {}
        for k in t:
            if k not in keys:
                self.problems.append(f"{name}.{k}: is not a known key (known: {', '.join(keys)})")
        return t

    def text(self, t: Mapping[str, Any], key: str, where: str, default: str | None) -> str:
        v = t.get(key, default)
        if v is None:
            self.problems.append(f"{where}.{key}: is missing")
            return ""
        if not isinstance(v, str) or (default is None and not v.strip()):
            self.problems.append(f"{where}.{key}: must be a non-empty text, got {v!r}")
            return ""
        return v

    def named_lists(
        self, name: str, check: Callable[[str], str | None] | None = None
    ) -> dict[str, tuple[str, ...]]:
        """An optional table of free names (lower-cased) -> lists of texts."""
        t = self.raw.get(name, {})
        if not isinstance(t, Mapping):
            self.problems.append(f"{name}: must be a table, got {type(t).__name__}")
            return {}
        return {str(k).strip().lower(): self.words(t, k, name, check) for k in t}

    def text_table(
        self, t: Mapping[str, Any], key: str, where: str, shape: str, one_word: bool = False
    ) -> Mapping[str, str]:
        """A table of non-empty texts (absent: empty); `one_word`: each value one word."""
        v = t.get(key, {})
        if not isinstance(v, Mapping) or not all(
            isinstance(k, str) and k.strip() and isinstance(x, str) and x.strip()
            and not (one_word and " " in x.strip())
            for k, x in v.items()
        ):  # fmt: skip
            self.problems.append(f"{where}.{key}: must be a table of {shape}, got {v!r}")
            return {}
        return v

    def words(
        self,
        t: Mapping[str, Any],
        key: str,
        where: str,
        check: Callable[[str], str | None] | None = None,
    ) -> tuple[str, ...]:
        """A list of non-empty texts (absent: empty); `check` returns a problem or None."""
        v = t.get(key, [])
        if not isinstance(v, list):
            self.problems.append(f"{where}.{key}: must be a list of texts, got {type(v).__name__}")
            return ()
        out: list[str] = []
        for i, w in enumerate(v):
            msg = None
            if not isinstance(w, str) or not w.strip():
                msg = f"must be a non-empty text, got {w!r}"
            elif check is not None:
                msg = check(w)
            if msg:
                self.problems.append(f"{where}.{key}[{i}]: {msg}")
            else:
                out.append(w)
        return tuple(out)

    def char_class(self, chars: str, key: str, literal: bool = False) -> re.Pattern[str] | None:
        """``[chars]`` compiled; `literal` escapes the characters, otherwise ranges (a-z) work."""
        if not chars:
            return None
        body = "".join(re.escape(c) for c in chars) if literal else chars
        try:
            return re.compile(f"[{body}]")
        except re.error as e:
            self.problems.append(f"{key}: not a valid character range ({e})")
            return None


def gap_pair(phrase: str, words: str) -> str | None:
    """A synonym with a gap ("when will … arrive" = "how long does shipping take for …": the
    viewer's words in the gap are kept where the replacement's "…" stands): at most one "…"
    in the phrase, with words around it, and the replacement has one exactly when the phrase
    has. None, or the problem."""
    n, m = phrase.count("…"), words.count("…")
    if n > 1 or m != n:
        return f'{phrase!r} = {words!r}: a "…" in both or in neither, at most one'
    if n and not (phrase.split("…")[0].strip() or phrase.split("…")[1].strip()):
        return f'{phrase!r}: words must stand beside the "…"'
    return None


def one_gap(phrase: str) -> str | None:
    """A phrase with exactly one "…" (where the viewer's amount or words stand), or the problem."""
    n = phrase.count("…")
    return None if n == 1 else f'needs exactly one "…" where the amount stands, has {n}: {phrase!r}'
