"""Advertiser scripts: text the host speaks VERBATIM (script mode).

A script file (UTF-8) flows in; a `Script` flows out: the sentences to say, in order, each a
`Sentence` with source SCRIPT, the product it is about, its emotion and language, plus the
pauses between them. The director reads it through a `ScriptCursor`, which it may leave at any
sentence boundary (to answer chat) and resume later at the same place.

File format:

- Text is spoken exactly as written. Lines of one paragraph are joined (with a space, or with
  nothing between two CJK characters); a blank line ends a paragraph. Paragraphs are split
  into sentences after ``. ! ? …`` (and ``。！？``) - never inside a number ("39.90"), after a
  known abbreviation ("e.g.", "z.B.", "ca.") or a single initial, or before a lower-case word.
- A line whose first non-blank character is ``#`` is a comment (a ``#`` later in a line is
  text, so "#1 bestseller" can be said).
- Markers, anywhere in a line, case-insensitive names:
  ``[product: kettle]`` (a catalog id; ``none`` clears it), ``[emotion: happy]``
  (neutral, happy, sad, surprised), ``[pause: 1.5]`` (seconds, 0 < s <= 30),
  ``[lang: de]`` (en, de, it, zh). A marker is a sentence boundary: text before it is said
  with the state before it. ``[[`` is a literal ``[``.
- Problems (unknown marker, unknown product, bad value, unclosed ``[``) raise `ScriptError`
  naming line and column, all of them at once. The parser raises nothing else.

Pauses are kept beside the sentences, not in them (`Sentence` has no pause field):
``Script.pauses`` is a list of ``(index, seconds)`` meaning "be silent this long before
sentence `index`" (``index == len(sentences)``: after the last one).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..frames import Emotion, Sentence, Source, new_trace_id
from ..problems import ProblemsError
from .catalog import LANGS, Catalog

MARKERS: tuple[str, ...] = ("product", "emotion", "pause", "lang")
MAX_PAUSE_S = 30.0

# Lower-case abbreviations (without the final dot) after which a "." does not end a sentence.
_ABBREVIATIONS = frozenset(
    """
    e.g i.e etc vs approx ca mr mrs ms dr prof st no nr inc ltd co jr sr
    z.b u.a d.h usw bzw inkl ggf evtl ca bspw vgl s.o s.u ca zzgl max min
    ecc sig sigg dott ing pag es
    """.split()
)
_CJK_RE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
_END_CJK = "。！？"
_END = ".!?…"
_CLOSERS = "\"'”’»)]」』"
_MARKER_RE = re.compile(r"\[\s*([A-Za-z_]*)\s*(?::\s*([^\]\[]*?))?\s*\]")


class ScriptError(ProblemsError):
    """A script's problems; `problems` lists each as ``line L, column C: ...``."""

    what = "script"


@dataclass(slots=True)
class ScriptCursor:
    """A reading position in a Script. `index` is the next sentence to say; only `next()`
    moves it, so a director that stops between sentences resumes exactly there.

    `next()` returns a fresh copy of the sentence (new trace id): a script spoken twice is two
    transcript lines, not one line said twice.
    """

    script: Script
    index: int = 0

    @property
    def done(self) -> bool:
        return self.index >= len(self.script.sentences)

    def peek(self) -> Sentence | None:
        """The next sentence without moving (the stored object, not a copy), or None."""
        return None if self.done else self.script.sentences[self.index]

    def pause_before_next(self) -> float:
        """Seconds of silence the script asks for before the next sentence (or at the end)."""
        return self.script.pause_before(self.index)

    def next(self) -> Sentence | None:
        """The next sentence (a copy with a new trace id), advancing; None when done."""
        if self.done:
            return None
        s = self.script.sentences[self.index]
        self.index += 1
        return dataclasses.replace(s, trace_id=new_trace_id())

    def rewind(self, n: int = 1) -> None:
        """Step back `n` sentences (e.g. one taken but dropped by an interrupt)."""
        self.index = max(0, self.index - n)

    def seek(self, index: int) -> None:
        self.index = min(max(0, index), len(self.script.sentences))

    def reset(self) -> None:
        self.index = 0


@dataclass(slots=True)
class Script:
    """A parsed advertiser script.

    `sentences`: what to say, verbatim, in order (source SCRIPT, with product id, emotion and
    lang from the markers before each). `pauses`: ``(index, seconds)`` - silence before
    sentence `index`. `cursor`: the script's own reading position (see ScriptCursor);
    `new_cursor()` gives an independent one.
    """

    sentences: list[Sentence]
    pauses: list[tuple[int, float]] = field(default_factory=list)
    source: str = "<memory>"
    cursor: ScriptCursor = field(init=False)

    def __post_init__(self) -> None:
        self.cursor = ScriptCursor(self)

    def new_cursor(self) -> ScriptCursor:
        return ScriptCursor(self)

    def pause_before(self, index: int) -> float:
        return sum(s for i, s in self.pauses if i == index)

    @property
    def product_ids(self) -> list[str]:
        """Products the script talks about, in order of first mention."""
        return list(dict.fromkeys(s.product_id for s in self.sentences if s.product_id))

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


def load_script(path: str | Path, catalog: Catalog | None, default_lang: str = "en") -> Script:
    """Read and parse a script file. Raises ScriptError (also for an unreadable file)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ScriptError(str(path), [f"cannot read file: {e}"]) from None
    return parse_script(text, catalog, default_lang, source=str(path))


def parse_script(
    text: str,
    catalog: Catalog | None,
    default_lang: str = "en",
    *,
    source: str = "<memory>",
    default_product: str | None = None,
) -> Script:
    """Parse script text (format: module docstring). `catalog` None accepts any product id."""
    if default_lang not in LANGS:
        raise ScriptError(source, [f"default language {default_lang!r} is not one of {LANGS}"])
    p = _Parser(catalog, default_lang, default_product)
    for lineno, line in enumerate(text.splitlines(), start=1):
        p.line(line, lineno)
    p.flush()
    if p.problems:
        raise ScriptError(source, p.problems)
    return Script(p.sentences, p.pauses, source)


class _Parser:
    def __init__(self, catalog: Catalog | None, lang: str, product: str | None) -> None:
        self.catalog = catalog
        self.lang = lang
        self.product = product
        self.emotion: str = Emotion.NEUTRAL
        self.buf: list[str] = []
        self.sentences: list[Sentence] = []
        self.pauses: list[tuple[int, float]] = []
        self.problems: list[str] = []

    def line(self, line: str, lineno: int) -> None:
        if not line.strip():
            self.flush()  # a blank line ends the paragraph
            return
        if line.lstrip().startswith("#"):
            return
        pos = 0
        while pos < len(line):
            j = line.find("[", pos)
            if j < 0:
                self.text(line[pos:])
                break
            self.text(line[pos:j])
            if line.startswith("[[", j):
                self.text("[")
                pos = j + 2
                continue
            m = _MARKER_RE.match(line, j)
            col = j + 1
            if m is None:
                self.problems.append(
                    f"line {lineno}, column {col}: '[' starts no marker "
                    f"(write [name: value] with name one of {', '.join(MARKERS)}, or [[ for '[')"
                )
                close = line.find("]", j)
                pos = len(line) if close < 0 else close + 1
                continue
            self.flush()  # a marker is a sentence boundary
            self.marker(m.group(1).lower(), (m.group(2) or "").strip(), lineno, col)
            pos = m.end()
        self.text("\n")

    def text(self, t: str) -> None:
        if t:
            self.buf.append(t)

    def marker(self, name: str, value: str, lineno: int, col: int) -> None:
        where = f"line {lineno}, column {col}"
        if name == "product":
            if value.lower() in ("none", "-", ""):
                self.product = None
            elif self.catalog is not None and value not in self.catalog:
                known = ", ".join(self.catalog.ids)
                self.problems.append(f"{where}: unknown product {value!r} (known: {known})")
            else:
                self.product = value
        elif name == "emotion":
            allowed = [e.value for e in Emotion]
            if value.lower() in allowed:
                self.emotion = Emotion(value.lower())
            else:
                self.problems.append(
                    f"{where}: emotion {value!r} is not one of {', '.join(allowed)}"
                )
        elif name == "pause":
            try:
                secs = float(value)
            except ValueError:
                secs = math.nan
            if not (0 < secs <= MAX_PAUSE_S):
                self.problems.append(
                    f"{where}: pause {value!r} must be seconds between 0 and {MAX_PAUSE_S:g}"
                )
            else:
                self.pauses.append((len(self.sentences), secs))
        elif name == "lang":
            if value.lower() in LANGS:
                self.lang = value.lower()
            else:
                self.problems.append(f"{where}: lang {value!r} is not one of {', '.join(LANGS)}")
        else:
            self.problems.append(
                f"{where}: unknown marker {name!r} (allowed: {', '.join(MARKERS)})"
            )

    def flush(self) -> None:
        """Turn the buffered paragraph text into sentences with the current state."""
        if not self.buf:
            return
        raw = "".join(self.buf)
        self.buf = []
        for s in (
            part for sent in split_sentences(_join_lines(raw)) for part in split_clauses(sent)
        ):
            self.sentences.append(
                Sentence(
                    text=s,
                    source=Source.SCRIPT,
                    lang=self.lang,
                    product_id=self.product,
                    emotion=self.emotion,
                )
            )


def _join_lines(raw: str) -> str:
    """Join a paragraph's lines: a space between words, nothing between two CJK characters;
    runs of whitespace become one space (the only change made to the written text)."""
    parts = [p.strip() for p in raw.split("\n")]
    out = ""
    for part in parts:
        if not part:
            continue
        if out and not (_CJK_RE.match(out[-1]) and _CJK_RE.match(part[0])):
            out += " "
        out += part
    return re.sub(r"\s+", " ", out).strip()


def split_sentences(text: str) -> list[str]:
    """Split one paragraph into sentences (rules: module docstring). Joining the result with
    single spaces gives back the text (up to spaces after CJK terminators)."""
    out: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in _END_CJK:
            j = i + 1
            while j < n and (text[j] in _END_CJK or text[j] in _CLOSERS):
                j += 1
            out.append(text[start:j].strip())
            start = i = j
            continue
        if ch in _END:
            j = i + 1
            while j < n and text[j] in _END:
                j += 1
            while j < n and text[j] in _CLOSERS:
                j += 1
            if (j >= n or text[j].isspace()) and _ends_sentence(text, start, i, j):
                out.append(text[start:j].strip())
                start = i = j
                continue
            i = j
            continue
        i += 1
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return [s for s in out if s]


_CLAUSE = re.compile(r"[,;:]\s|[，；：]")


def split_clauses(sentence: str, max_chars: int = 70) -> list[str]:
    """Cut a long sentence at clause boundaries (", ", "; ", ": ", CJK commas) into parts of at
    most ``max_chars`` where possible. The text stays verbatim (parts joined with a space give
    it back); the director can then break off for an answer after a clause instead of waiting
    out an eight-second sentence."""
    if len(sentence) <= max_chars:
        return [sentence]
    cuts = [m.end() for m in _CLAUSE.finditer(sentence) if 20 <= m.end() <= len(sentence) - 20]
    fitting = [c for c in cuts if c <= max_chars]
    if not fitting:
        return [sentence]
    cut = fitting[-1]
    head, tail = sentence[:cut].strip(), sentence[cut:].strip()
    return [head, *split_clauses(tail, max_chars)]


def _ends_sentence(text: str, start: int, i: int, j: int) -> bool:
    """Does the terminator at text[i:j] end a sentence? (text[j] is a space or the end)."""
    nxt = text[j:].lstrip()
    if not nxt:
        return True
    if nxt[0].islower():
        return False  # "e.g. this", "ca. vier" - a sentence does not start lower-case
    if text[i] == ".":
        word = re.search(r"(\S+)$", text[start:i])
        w = word.group(1).lower().lstrip("(\"'“‘«") if word else ""
        if w in _ABBREVIATIONS or (len(w) == 1 and w.isalpha()):
            return False
        if i > start and text[i - 1].isdigit() and nxt[0].isdigit():
            return False  # "am 1. 2." style dates: never split between numbers
    return True
