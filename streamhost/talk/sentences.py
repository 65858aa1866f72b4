"""Cut a stream of text deltas (LLM tokens) into speakable sentences as soon as they end.

TTS can start on the first sentence while the model is still writing the second, so the
cutter emits a sentence the moment its end is certain - usually one token after the
terminator, because "39." might still become "39.90" and "etc." might go on in lowercase.
"""

from __future__ import annotations

# Terminators that end a sentence on their own: no space follows them in Chinese text.
_CJK_END = frozenset("。！？；")
# Latin terminators; a run of them ("?!", "...") is one end.
_LATIN_END = frozenset(".!?…")
# Closing quotes/brackets that belong to the sentence they follow.
_CLOSERS = frozenset("\"'”’」』）)]»›")
# Where a too-long run may be cut: after these (then a space for the Latin ones).
_SOFT_CJK = frozenset("，、：")
_SOFT_LATIN = frozenset(",;:")

# Words that take a period but do not end a sentence even before a capital ("Dr. Smith",
# "z.B. Kaffee"). Sentence-final abbreviations like "etc." are handled by the lowercase rule.
ABBREVIATIONS: frozenset[str] = frozenset(
    {
        # en
        "e.g", "i.e", "dr", "mr", "mrs", "ms", "prof", "st", "vs", "approx", "fig", "jr",
        "sr", "dept", "cf",
        # de
        "z.b", "d.h", "u.a", "bzw", "ca", "nr", "inkl", "ggf", "evtl", "vgl", "bspw", "sog",
        "str", "hr", "fr", "dipl", "ing",
        # it
        "sig", "sigg", "dott", "dott.ssa", "avv", "pag", "cfr", "tel",
    }
)  # fmt: skip


def _is_abbreviation(buf: str, dot: int) -> bool:
    """True when the word ending at `buf[dot]` (a '.') is a known abbreviation or an initial."""
    k = dot
    while k > 0 and not buf[k - 1].isspace():
        k -= 1
    word = buf[k:dot].lstrip("\"'“‘(«[").lower()
    if not word:
        return False
    if len(word) == 1 and word.isalpha():
        return True  # an initial or "z. B."
    return word in ABBREVIATIONS


class SentenceCutter:
    """Streamed text in, complete sentences out.

    In: text deltas of any size (``feed``), then ``flush`` at the end of the stream.
    Out: stripped, non-empty sentences, in order, each as soon as its end is certain.
    Cuts after . ! ? … (and runs like "?!" or "..."), after 。！？； and at newlines; never
    inside numbers ("39.90", "1,7"), after known abbreviations or initials, or before a
    lowercase continuation ("etc. and", "well... maybe"). A run longer than `max_chars`
    without an end is cut at its last comma or space (hard cut if there is none), so TTS
    never waits for an endless sentence. Joining the output gives the input back, modulo
    whitespace.
    """

    def __init__(self, max_chars: int = 200) -> None:
        if max_chars < 20:
            raise ValueError(f"max_chars must be >= 20, got {max_chars}")
        self.max_chars = max_chars
        self._buf = ""
        self._scan = 0  # buf[:scan] holds no sentence end: rescans start here

    def feed(self, delta: str) -> list[str]:
        """Add a delta; return the sentences it completed (often none)."""
        if not delta:
            return []
        self._buf += delta
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """End of stream: return what is left, cut the same way."""
        out = self._drain(final=True)
        rest = self._buf.strip()
        self._buf, self._scan = "", 0
        if rest:
            out.append(rest)
        return out

    def reset(self) -> None:
        """Drop buffered text (after a cancel: a half sentence must not be spoken later)."""
        self._buf, self._scan = "", 0

    # -- internals ----------------------------------------------------------------------------

    def _drain(self, final: bool) -> list[str]:
        out: list[str] = []
        buf = self._buf
        i = self._scan
        n = len(buf)
        while i < n:
            if i >= self.max_chars:
                cut = self._soft_cut(buf)
                self._emit(buf[:cut], out)
                buf, i, n = buf[cut:], 0, n - cut
                continue
            c = buf[i]
            if c == "\n":
                self._emit(buf[:i], out)
                buf, i, n = buf[i + 1 :], 0, n - i - 1
                continue
            if c in _CJK_END:
                j = i + 1
                while j < n and buf[j] in _CLOSERS:
                    j += 1
                if j == n and not final:
                    break  # a closing quote may still come
                self._emit(buf[:j], out)
                buf, i, n = buf[j:], 0, n - j
                continue
            if c in _LATIN_END:
                j = i + 1
                while j < n and buf[j] in _LATIN_END:
                    j += 1
                while j < n and buf[j] in _CLOSERS:
                    j += 1
                if j == n and not final:
                    break  # "39." may become "39.90"
                if j < n and not buf[j].isspace():
                    if buf[j] in _CJK_END or "\u4e00" <= buf[j] <= "\u9fff":
                        pass  # "好的!谢谢" - Chinese text often has no space after ! or ?
                    else:
                        i = j  # inside a number, URL or "z.B." - not an end
                        continue
                if buf[j - 1] in ".…" or (buf[j - 1] in _CLOSERS and "." in buf[i:j]):
                    if c == "." and j == i + 1 and _is_abbreviation(buf, i):
                        i = j
                        continue
                    k = j
                    while k < n and buf[k].isspace() and buf[k] != "\n":
                        k += 1
                    if k == n and not final:
                        break  # need the next word to know
                    if k < n and (buf[k].islower() or buf[k].isdigit()):
                        i = k  # "etc. and", "well... maybe", "ca. 5"
                        continue
                self._emit(buf[:j], out)
                buf, i, n = buf[j:], 0, n - j
                continue
            i += 1
        self._buf = buf
        self._scan = i
        return out

    def _soft_cut(self, buf: str) -> int:
        """Where to cut a run with no sentence end: after the last comma, else space."""
        limit = self.max_chars
        for k in range(limit - 1, limit // 3, -1):
            ch = buf[k]
            if ch in _SOFT_CJK or (ch in _SOFT_LATIN and k + 1 < len(buf) and buf[k + 1] == " "):
                return k + 1
        for k in range(limit - 1, limit // 3, -1):
            if buf[k].isspace():
                return k + 1
        return limit

    @staticmethod
    def _emit(text: str, out: list[str]) -> None:
        s = text.strip()
        if s:
            out.append(s)
