"""Long sentences -> phrase-sized parts, so a viewer's question can break in sooner.

The director answers chat at the next sentence boundary. With whole sentences of 4-6 s, a
question asked mid-sentence waited up to 6 s (``benchmarks/latency.py``, mid-script p95 4.7 s);
spoken in phrases of at most ~40 characters (about 2.5 s at the default rate), the wait is at
most one phrase. Text in, a list of verbatim parts out (joined with single spaces, or with
nothing for CJK, they give the text back).

Cuts are made, in order of preference: after clause punctuation (", ; :" and CJK commas), then
before a connecting word ("and", "that", "with", "für", "che" ...) nearest the middle. Never
next to a number (a price "31 euros 92" stays whole), never leaving a part under 12
characters. CJK text is cut at its commas only, with a third of the length limit (a character
is a syllable). A text with no such place stays long: a natural sentence beats a fast answer.
"""

from __future__ import annotations

import re

MIN_PART = 12

_CLAUSE = re.compile(r"[,;:]\s+|[，；：、]")
# A sentence end inside a text: ". ! ?" before a space (so "24.99" stays whole), or a CJK stop.
_SENTENCE_END = re.compile(r"[.!?]+\s+|[。！？]+")

_CONNECTORS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "and but or so that which who with for to because while when if in on from at "
        "plus without is are costs".split()
    ),
    "de": frozenset(
        "und aber oder mit für die der das dass weil wenn zum zur in auf von ohne damit ist "
        "kostet".split()
    ),
    "it": frozenset("e ma o con per che perché quando in su di da senza è costa".split()),
    "zh": frozenset(),
}


def _cjk(text: str) -> bool:
    return any("\u3000" <= ch <= "\u9fff" for ch in text)


def _merge(pieces: list[str], max_chars: int, sep: str) -> list[str]:
    """Greedily join neighbouring pieces while the result fits."""
    out: list[str] = []
    for p in pieces:
        if out and len(out[-1]) + len(sep) + len(p) <= max_chars:
            out[-1] = out[-1] + sep + p
        else:
            out.append(p)
    return out


def _clause_pieces(text: str, min_part: int) -> list[str]:
    pieces, start = [], 0
    for m in _CLAUSE.finditer(text):
        cut = m.end()
        if len(text[start:cut].strip()) >= min_part and len(text[cut:].strip()) >= min_part:
            pieces.append(text[start:cut].strip())
            start = cut
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]


def _split_at_connector(part: str, lang: str, max_chars: int) -> list[str]:
    if len(part) <= max_chars:
        return [part]
    words = part.split(" ")
    connectors = _CONNECTORS.get(lang, _CONNECTORS["en"])
    best, best_score = None, None
    pos = 0
    for i, w in enumerate(words):
        if i > 0:
            left = pos - 1  # characters before this word (without the joining space)
            right = len(part) - pos
            prev = words[i - 1]
            if (
                w.lower().strip("\"'“‘(") in connectors
                and left >= MIN_PART
                and right >= MIN_PART
                and not any(c.isdigit() for c in prev + w)
            ):
                score = abs(left - right)
                if best_score is None or score < best_score:
                    best, best_score = pos, score
        pos += len(w) + 1
    if best is None:
        return [part]
    head, tail = part[: best - 1], part[best:]
    return _split_at_connector(head, lang, max_chars) + _split_at_connector(tail, lang, max_chars)


def split_phrases(text: str, lang: str = "en", max_chars: int = 40) -> list[str]:
    """``text`` cut into verbatim parts of at most ``max_chars`` where a natural place allows
    (see the module docstring); ``max_chars <= 0`` or a short text gives ``[text]``."""
    text = text.strip()
    if max_chars <= 0:
        return [text]
    cjk = _cjk(text)
    if cjk:
        # A CJK character is a syllable: about three times as long to say as a Latin letter.
        max_chars = max(8, max_chars // 3)
    if len(text) <= max_chars:
        return [text]
    sep = "" if cjk else " "
    parts = _merge(_clause_pieces(text, MIN_PART // 3 if cjk else MIN_PART), max_chars, sep)
    if not cjk:
        parts = [q for p in parts for q in _split_at_connector(p, lang, max_chars)]
        parts = _merge(parts, max_chars, sep)
    return parts


def first_clause(text: str, max_chars: int, min_chars: int = 6) -> str | None:
    """The text's opening clause up to its first clause punctuation ("Big news," "Hold on,"),
    verbatim, when it is ``min_chars``..``max_chars`` long, not at a number and not the whole
    text; else None. Shorter than ``split_phrases`` allows: for a line that must start at
    once, where a comma's pause after two words is natural."""
    m = _CLAUSE.search(text)
    if m is None or m.end() >= len(text.rstrip()):
        return None
    head = text[: m.end()].strip()
    if not min_chars <= len(head) <= max_chars or head[:-1].rstrip()[-1:].isdigit():
        return None
    return head


def split_sentences(text: str) -> list[str]:
    """``text`` cut after each sentence end into verbatim parts (a reply that is two sentences,
    "Good question, Anna. I don't have that info.", gives two). Clauses are not cut: a reply
    breaks only where a speaker would stop anyway."""
    text = text.strip()
    parts, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() < len(text):
            parts.append(text[start : m.end()].strip())
            start = m.end()
    parts.append(text[start:].strip())
    return [p for p in parts if p]
