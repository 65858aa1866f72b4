"""Chat text normalization and the patterns moderation matches on: obfuscation undone
(`normalize`, see chat/moderation.py for what it folds), links/e-mails/contacts found on the
lightly folded form (`_prep`), and blocklist terms compiled into one trie regex each.

Text in, folded text or a match decision out; no state.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from ..zh_variants import traditional_to_simplified

# ---------------------------------------------------------------------------------------------
# normalization tables (built once)


def _invisible_codepoints() -> list[int]:
    """Everything that renders as nothing: combining marks, format characters (ZWJ, bidi
    controls, tags), non-whitespace controls and a few blank letters."""
    extra = [0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x034F, 0x180E]
    # Planes 2-13 hold only ideographs; plane 14 has the tags and variation selectors.
    cps = [*range(0, 0x20000), *range(0xE0000, 0xE1000)]
    cats = ("Mn", "Me", "Cf", "Cc")
    return extra + [
        cp for cp in cps if unicodedata.category(chr(cp)) in cats and not chr(cp).isspace()
    ]


_INVISIBLE = _invisible_codepoints()
# ASCII text only needs its control characters removed.
_ASCII_CTRL_RE = re.compile(r"[\x00-\x08\x0e-\x1b\x7f]")

# Look-alikes that NFKD does not fold (it keeps Cyrillic/Greek as their own letters).
_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "г": "r", "д": "d", "е": "e", "ё": "e", "з": "3", "и": "u",
        "і": "i", "ї": "i", "ј": "j", "к": "k", "л": "n", "м": "m", "н": "h", "о": "o",
        "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "ф": "f", "х": "x", "ц": "u",
        "ч": "4", "ш": "w", "щ": "w", "ь": "b", "ы": "bi", "ѕ": "s", "ԁ": "d", "ԛ": "q",
        "ԝ": "w", "ӏ": "l", "һ": "h", "ү": "y", "ɡ": "g",
        # Greek
        "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "ζ": "z", "η": "n", "θ": "o",
        "ι": "i", "κ": "k", "λ": "l", "μ": "u", "ν": "v", "ο": "o", "π": "n", "ρ": "p",
        "σ": "o", "ς": "s", "τ": "t", "υ": "u", "φ": "f", "χ": "x", "ω": "w", "ϲ": "c",
        # Latin letters NFKD leaves alone, small capitals, IPA
        "ı": "i", "ɩ": "i", "ɪ": "i", "ł": "l", "ʟ": "l", "ø": "o", "đ": "d", "ħ": "h",
        "ɑ": "a", "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h",
        "ᴊ": "j", "ᴋ": "k", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s",
        "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ð": "d", "þ": "p",
        "æ": "ae", "œ": "oe", "ŀ": "l", "ƒ": "f", "¡": "i", "€": "e", "£": "l",
    }
)  # fmt: skip
# One translate pass for non-ASCII text: invisibles vanish, look-alikes become Latin.
# Traditional Chinese is folded too: 腦殘 meets the blocklist's 脑残.
_FOLD_TABLE = {**traditional_to_simplified(), **dict.fromkeys(_INVISIBLE), **_HOMOGLYPHS}
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "i"})  # fmt: skip

_WS_RE = re.compile(r"\s+")
_SQUEEZE_RE = re.compile(r"([^\W\d_])\1+")
_U = r"(?:[^\W_]|[@$])"  # one "unit": a letter, a digit or a leet symbol
_NOT_U_AHEAD = r"(?![^\W_]|[@$])"
_NOT_U_BEHIND = r"(?<![^\W_])(?<![@$])"
# Three or more single units separated by 1-3 non-units: "i d i o t", "i.d.i.o.t", "i_d_i_o_t".
_COLLAPSE_RE = re.compile(
    rf"{_NOT_U_BEHIND}{_U}{_NOT_U_AHEAD}(?:(?:[^\w@$]|_){{1,3}}{_U}{_NOT_U_AHEAD}){{2,}}"
)
_UNIT_RE = re.compile(_U)
_LETTER_RE = re.compile(r"[^\W\d_]")
# Cheap test for a leet symbol touching a letter; only then tokens are rewritten.
_LEET_HINT_RE = re.compile(r"[^\W\d_][\d@$]|[\d@$][^\W\d_]|[^\W\d_][!|][^\W\d_]")
_LEET_TOKEN_RE = re.compile(rf"{_U}+(?:[!|]{_U}+)*")
# Punctuation inside a word ("id.iot", "f-u-ck" leftovers, "sh*t"): dropped.
_INTRA_RE = re.compile(r"(?<=[^\W\d_])[.\-_*'`~^+·•]+(?=[^\W\d_])")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_GAP_RE = re.compile(rf"(?<=[{_CJK}])[\W_]+(?=[{_CJK}])")
_CJK_RE = re.compile(rf"[{_CJK}]")
_RLO, _PDF, _LRO = "\u202e", "\u202c", "\u202d"


def _undo_rlo(text: str) -> str:
    """Text after RIGHT-TO-LEFT OVERRIDE is *shown* reversed: "\u202etoidi" reads "idiot"."""
    out: list[str] = []
    i = 0
    while True:
        j = text.find(_RLO, i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        ends = [k for k in (text.find(_PDF, j + 1), text.find(_LRO, j + 1), text.find("\n", j + 1))
                if k >= 0]  # fmt: skip
        k = min(ends) if ends else len(text)
        out.append(text[j + 1 : k][::-1])
        i = k
    return "".join(out)


def _prep(text: str) -> str:
    """Unicode folding only: the form links and contacts are matched in (digits kept)."""
    if _RLO in text:
        text = _undo_rlo(text)
    if text.isascii():
        s = text.lower() if text.isprintable() else _ASCII_CTRL_RE.sub("", text).lower()
    else:
        # casefold first (İ -> i + dot), NFKD splits accents off and folds fullwidth/math
        # letters, then one translate drops marks and invisibles and maps look-alikes.
        s = unicodedata.normalize("NFKD", text.casefold()).lower().translate(_FOLD_TABLE)
    return " ".join(s.split())


def _collapse(m: re.Match[str]) -> str:
    units = _UNIT_RE.findall(m.group())
    # Needs letters: "1 2 3" is a list of numbers, "i d 1 o t" is a word.
    if sum(1 for u in units if _LETTER_RE.match(u)) < 2:
        return m.group()
    return "".join(units)


def _leet(m: re.Match[str]) -> str:
    tok = m.group()
    return tok.translate(_LEET) if _LETTER_RE.search(tok) else tok


_COLLAPSE_ASCII_RE = re.compile(
    r"(?<![a-z0-9@$])[a-z0-9@$](?![a-z0-9@$])(?:[^a-z0-9@$]{1,3}[a-z0-9@$](?![a-z0-9@$])){2,}"
)
_LEET_CHARS_RE = re.compile(r"[\d@$!|]")
_INTRA_HINT_RE = re.compile(r"[a-z][.\-_*'`~^+]+[a-z]")


def _core(s: str, squeeze: bool) -> tuple[str, bool]:
    """One round of the word-shape rules; True when a structural rule changed something.

    Cheap pre-checks keep ordinary messages to a few C-level scans: the rewriting regexes
    run only where a trick is possible.
    """
    if squeeze:
        s = _SQUEEZE_RE.sub(r"\1", s)
    ascii_ = s.isascii()
    changed = False
    t = (_COLLAPSE_ASCII_RE if ascii_ else _COLLAPSE_RE).sub(_collapse, s)
    changed |= t != s
    if _LEET_CHARS_RE.search(t) and _LEET_HINT_RE.search(t):
        u = _LEET_TOKEN_RE.sub(_leet, t)
        changed |= u != t
        t = u
    if not ascii_ or _INTRA_HINT_RE.search(t):
        u = _INTRA_RE.sub("", t)
        changed |= u != t
        t = u
    if not ascii_ and _CJK_RE.search(t):
        u = _CJK_GAP_RE.sub("", t)
        changed |= u != t
        t = u
    if changed and squeeze:
        t = _SQUEEZE_RE.sub(r"\1", t)
    return t, changed


def _shape(s: str, squeeze: bool = True) -> str:
    # Structural rules can enable each other ("4a b c" -> "aa b c" -> "a b c" -> "abc"), so
    # repeat until nothing changes; ordinary text needs exactly one round.
    for _ in range(8):
        s, changed = _core(s, squeeze)
        if not changed:
            break
    return s


def normalize(text: str) -> str:
    """The matching form of `text`: folded, de-obfuscated, lowercase, single-spaced.

    Idempotent and total (never raises on any str). Used for blocklists, name checks and
    triage dedupe keys - never for anything spoken.
    """
    if not text:
        return ""
    return _shape(_prep(text))


# ---------------------------------------------------------------------------------------------
# links and contacts (matched on the `_prep` form: digits and dots intact)

_TLDS = (
    "com|net|org|io|ly|gg|tv|me|de|it|cn|ru|xyz|shop|store|link|co|app|info|biz|top|vip|club"
    "|live|site|online|click|uk|us|eu|fr|es|ch|at|nl|pl|cc|to|ws|su|tk|ml|ga|cf|gq|icu|bit"
)
_LINK_HEAD_RE = re.compile(r"h[tx]{2}ps?\s*:\s*/\s*/|www\s*(?:\.|。|\(dot\)|\[dot\])")
_DOT_TLD_RE = re.compile(rf"[.。](?:{_TLDS}|gl)(?![a-z0-9])")
_DOT_WORD_RE = re.compile(rf"[a-z0-9]\s*(?:\(dot\)|\[dot\]|\sdot\s)\s*(?:{_TLDS})(?![a-z0-9])")
_EMAIL_RE = re.compile(
    r"[a-z0-9._%+-]+\s*(?:@|\(at\)|\[at\])\s*[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"
)
_DIGIT1_RE = re.compile(r"\d")
_PHONE_RE = re.compile(r"(?<!\d)(?:\+|00)?\d(?:[\s\-./()]{0,2}\d){6,}")
# No lookbehind in front, so the engine can skip to candidate first letters; the left word
# edge is checked in Python.
_MESSENGER_RE = re.compile(
    r"(?:telegram|whats\s?app|wechat|weixin|signal|snapchat|snap|discord|instagram|insta|kik"
    r"|line\s?id|tg|vx|wx|qq|微信|薇信|威信|v信|电报|飞机|扣扣)(?![a-z])"
)
_HANDLE_RE = re.compile(r"@[\w.]{2,}|[a-z0-9_.\-]*[\d_][a-z0-9_.\-]*")
_ZH_CONTACT_RE = re.compile(r"(?:加|\+)\s*(?:微信|薇信|威信|v信|vx|wx|v|qq|扣扣|我)")

# One character 12 times, or a 2-4 character unit 6 times ("lolololololol").
_REPEAT_RE = re.compile(r"(.)\1{11}|(.{2,4}?)\2{5}", re.DOTALL)


def _find_link(p: str) -> bool:
    """A URL or a domain in the `_prep` form; substring tests first, as most chat has none."""
    if ("www" in p or "/" in p) and _LINK_HEAD_RE.search(p):
        return True
    if "." in p or "。" in p:
        for m in _DOT_TLD_RE.finditer(p):
            if m.start() and p[m.start() - 1].isalnum():
                return True
    return "dot" in p and bool(_DOT_WORD_RE.search(p))


def _find_email(p: str) -> bool:
    return ("@" in p or "at)" in p or "at]" in p) and bool(_EMAIL_RE.search(p))


def _find_contact(p: str) -> bool:
    """A phone number, a "+vx"/"加微信" invitation, or a messenger name with a handle."""
    if _DIGIT1_RE.search(p) and len(_DIGIT1_RE.findall(p)) >= 7 and _PHONE_RE.search(p):
        return True
    if ("+" in p or not p.isascii()) and _ZH_CONTACT_RE.search(p):
        return True
    for m in _MESSENGER_RE.finditer(p):
        if m.start() and p[m.start() - 1].isalpha() and p[m.start() - 1].isascii():
            continue  # inside a word ("stgx", "aqq")
        # A messenger name alone is a topic ("whatsapp support?"); with a handle or an id
        # right after it, it is an invitation to leave the platform.
        if "@" in p:
            return True
        tail = p[m.end() : m.end() + 40]
        for h in _HANDLE_RE.finditer(tail):
            if len(h.group().strip("._-")) >= 4:
                return True
    return False


_SUFFIX = r"(?:s|es|ed|d|er|ers|en|in|ing|y|ic|a|e|i|o)?"


def _trie_regex(terms: dict[str, str] | Iterable[str], tolerant: bool = True) -> str:
    """One regex for many literal terms, shaped as a trie ("i(?:d+i+o+t+|m+b+...)").

    A flat alternation makes the engine try every term at every position; the trie tries
    only the terms that share the characters already seen, and because every branch starts
    with a literal the engine can skip positions no term starts at. With `tolerant`, letters
    may repeat and the words of a multi-word term may be glued. `terms` may map each term to
    a guard (a lookahead) that must hold right after it.
    """
    guards = terms if isinstance(terms, dict) else dict.fromkeys(terms, "")
    trie: dict = {}
    for t, guard in guards.items():
        node = trie
        for c in t:
            node = node.setdefault(c, {})
        node[""] = guard

    def emit(node: dict, depth: int) -> str:
        alts = []
        for c in sorted(k for k in node if k):
            if c == " " and tolerant:
                head = r"\ ?"
            elif tolerant:
                head = re.escape(c) + (re.escape(c) + "*" if depth == 0 else "+")
            else:
                head = re.escape(c)
            alts.append(head + emit(node[c], depth + 1))
        if "" in node:
            alts.append(node[""])  # children first: the longest term wins
        if len(alts) == 1:
            return alts[0]
        return "(?:" + "|".join(alts) + ")"

    return emit(trie, 0)


def _build_block_re(latin: Iterable[str], cjk: Iterable[str]) -> re.Pattern[str] | None:
    # Latin terms: whole words (left edge checked by the caller) plus a short inflection.
    # CJK terms: substrings; a one-character term ("滚") only when no other CJK character
    # follows, since it is also part of ordinary words (滚动, 滚烫).
    # The \b in front lets the engine reject positions inside words at once; the CJK
    # terms get their own trie without it (a CJK run has no word boundaries inside).
    alts = []
    if latin:
        guards = {t: rf"(?={_SUFFIX}(?![^\W_]))" for t in latin}
        alts.append(r"\b" + _trie_regex(guards))
    if cjk:
        alts.append(_trie_regex({t: rf"(?![{_CJK}])" if len(t) == 1 else "" for t in cjk}))
    if not alts:
        return None
    return re.compile("(?P<t>" + "|".join(alts) + ")")


def _build_name_re(terms: Iterable[str]) -> re.Pattern[str] | None:
    ts = sorted({t.replace(" ", "") for t in terms} | set(terms), key=len, reverse=True)
    if not ts:
        return None
    return re.compile(_trie_regex(ts, tolerant=False))
