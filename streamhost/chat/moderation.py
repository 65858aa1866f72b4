"""Chat moderation: normalization, blocklists, links/contacts, bans and the display-name policy.

In: `ChatEvent`s (and display names). Out: a `Verdict` per event - allowed or not, one stable
reason string, and flags the director and store use (abusive, spam, name_ok). Nothing here
ever produces text for the host to say; moderation only decides what is dropped and whether a
name may be spoken.

Obfuscation is undone by `normalize` before matching: NFKC/NFKD folding (fullwidth, math
letters, circled letters), casefolding, stripping combining marks and invisible format
characters (zero-width joiners, bidi controls, variation selectors), undoing right-to-left
overrides, mapping Cyrillic/Greek/small-capital look-alikes to Latin, leetspeak inside words,
spaced or dotted letters ("i d i o t", "i.d.i.o.t") and repeated letters ("stuuupid").
Blocklist terms go through the same function, so a term matches however it is disguised.

Blocklist files (`<folder>/<lang>.txt`) hold one term per line, ``#`` starts a comment. A line
``+phrase`` is an allow phrase: a blocklist hit inside it does not count ("shiitake",
"垃圾桶"). The pseudo-language ``spam`` (``spam.txt``) holds scam/spam phrases: hits there set
``spam`` instead of ``abusive``.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..frames import ChatEvent
from .normalize import (
    _CJK,
    _CJK_RE,
    _LETTER_RE,
    _REPEAT_RE,
    _SQUEEZE_RE,
    _build_block_re,
    _build_name_re,
    _find_contact,
    _find_email,
    _find_link,
    _prep,
    _shape,
    _trie_regex,
    normalize,
)

__all__ = [
    "DEFAULT_FOLDER",
    "Moderator",
    "Verdict",
    "load_blocklists",
    "normalize",
]

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "assets" / "moderation"

REASONS: tuple[str, ...] = (
    "ok",
    "banned_user",
    "too_long",
    "empty",
    "blocklist:<lang>:<term>",
    "link",
    "contact",
    "repeated_chars",
)

# ---------------------------------------------------------------------------------------------
# blocklists


def load_blocklists(folder: str | Path | None = None) -> dict[str, list[str]]:
    """Read ``<folder>/<lang>.txt`` files into {lang: [term, ...]} (``+phrase`` = allow).

    Missing folder -> {}. Terms are kept as written; `Moderator` normalizes them.
    """
    folder = Path(folder) if folder is not None else DEFAULT_FOLDER
    out: dict[str, list[str]] = {}
    if not folder.is_dir():
        return out
    for f in sorted(folder.glob("*.txt")):
        terms: list[str] = []
        for line in f.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                terms.append(line)
        out[f.stem] = terms
    return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """What moderation decided about one event.

    ``allowed``: may reach triage/director. ``reason``: "ok" or the first rule that fired
    (see REASONS). ``abusive``: an abuse blocklist term; ``spam``: link, contact, spam phrase
    or character flood. ``name_ok``: the display name may be spoken (independent of
    ``allowed``; an allowed message from a bad name is answered anonymously).
    """

    allowed: bool
    reason: str
    abusive: bool = False
    spam: bool = False
    name_ok: bool = False


_NAME_CHARS_RE = re.compile(rf"[A-Za-z0-9_\-\u00c0-\u024f{_CJK}\u3040-\u30ff]+")
_DIGIT_RE = re.compile(
    r"[0-9\u3007\u96f6\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341]"
)
# Words that turn a name into an announcement ("kettle_one_euro", "Preis_gratis").
_NAME_PRICE_WORDS = (
    "euro", "eur", "dollar", "usd", "cent", "price", "preis", "prezzo", "gratis", "kostet",
    "costa", "free", "sale", "rabatt", "sconto", "discount", "元", "块", "钱", "欧", "价",
    "免费", "折",
)  # fmt: skip
_NAME_CONTACT_WORDS = (
    "http", "www", "telegram", "whatsapp", "wechat", "weixin", "discord", "onlyfans", "snapchat",
    "instagram", "微信", "电报", "dotcom", "admin", "moderator", "system", "official", "operator",
    "streamhost", "主播", "管理",
)  # fmt: skip
_NAME_TOKENS_BAD = frozenset({"vx", "wx", "tg", "qq", "com", "net", "org", "mod", "bot"})


class Moderator:
    """Decides per chat event whether it may reach the host, and whether the name may be said.

    In: blocklists ({lang: terms}, e.g. from `load_blocklists`; None = the shipped lists),
    limits; per call a `ChatEvent` (or a name). Out: `Verdict` / bool. Bans are kept in memory
    by user id and by casefolded name. Checks cost a few microseconds: all patterns are
    compiled once and the blocklist is one regex pass over the normalized text.
    """

    def __init__(
        self,
        blocklists: dict[str, list[str]] | None = None,
        max_chars: int = 500,
        max_name_chars: int = 24,
    ) -> None:
        if blocklists is None:
            blocklists = load_blocklists(DEFAULT_FOLDER)
        self.max_chars = max_chars
        self.max_name_chars = max_name_chars
        self._banned: set[str] = set()
        # normalized term (spaces removed) -> {lang: term as written}; a term can be in several
        # lists ("idiot" is en and de), the reason then names the message's language.
        self._terms: dict[str, dict[str, str]] = {}
        allow: list[str] = []
        latin: set[str] = set()
        cjk: set[str] = set()
        for lang, terms in blocklists.items():
            for raw in terms:
                if raw.startswith("+"):
                    n = normalize(raw[1:])
                    if n:
                        allow.append(n)
                    continue
                n = normalize(raw)
                if not n:
                    continue
                self._terms.setdefault(n.replace(" ", ""), {}).setdefault(lang, raw)
                (cjk if _CJK_RE.search(n) else latin).add(n)
        self._block_re = _build_block_re(latin, cjk)
        self._name_re = _build_name_re(latin | cjk)
        self._allow_re = re.compile(_trie_regex(allow)) if allow else None
        # Names repeat constantly in chat; the policy is pure, so cache it per moderator.
        self._name_ok_cached = functools.lru_cache(maxsize=8192)(self._name_ok)
        # Floods repeat the same texts ("lol", spam lines): the text part is cached too.
        self._text_verdict = functools.lru_cache(maxsize=4096)(self._check_text)

    # -- bans --------------------------------------------------------------------------------

    def ban(self, user: str) -> None:
        """Ban a user id or display name (names compare casefolded)."""
        self._banned.add(_ban_key(user))

    def unban(self, user: str) -> None:
        self._banned.discard(_ban_key(user))

    @property
    def banned(self) -> frozenset[str]:
        return frozenset(self._banned)

    def is_banned(self, ev: ChatEvent) -> bool:
        if not self._banned:
            return False
        return (bool(ev.user_id) and _ban_key(ev.user_id) in self._banned) or _ban_key(
            ev.user
        ) in self._banned

    # -- checks ------------------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        return normalize(text)

    def blocklist_hit(self, text: str, lang: str = "") -> tuple[str, str] | None:
        """(lang, term) of the first blocklist term in `text` outside allow phrases.

        `text` is normalized (`normalize`), squeezed or not; `lang` picks the list to name
        when a term is in several (else en, then any).
        """
        rx = self._block_re
        if rx is None:
            return None
        m = rx.search(text)
        if m is None:
            return None
        allowed_spans: list[tuple[int, int]] | None = None
        while m is not None:
            a, b = m.span("t")
            # Whole words for Latin terms: the left edge is checked here rather than with a
            # lookbehind, which would stop the regex engine from skipping ahead by first char.
            if a and text[a - 1].isalnum() and not _CJK_RE.match(text[a]):
                m = rx.search(text, a + 1)
                continue
            if allowed_spans is None:
                allowed_spans = (
                    [x.span() for x in self._allow_re.finditer(text)] if self._allow_re else []
                )
            if not any(x <= a and b <= y for x, y in allowed_spans):
                key = _SQUEEZE_RE.sub(r"\1", m.group("t")).replace(" ", "")
                by_lang = self._terms.get(key, {})
                for lg in (lang, "en"):
                    if lg in by_lang:
                        return lg, by_lang[lg]
                for lg, raw in by_lang.items():
                    return lg, raw
                return "?", m.group("t")
            m = rx.search(text, a + 1)
        return None

    def check(self, ev: ChatEvent) -> Verdict:
        """Moderate one event. Order: banned_user, too_long, empty, blocklist, link, contact,
        repeated_chars, ok (the first that fires is the reason; flags collect all seen)."""
        name_ok = self.name_ok(ev.user)
        if self.is_banned(ev):
            return Verdict(False, "banned_user", name_ok=name_ok)
        text = ev.text or ""
        if len(text) > self.max_chars:
            # Not normalized: a 100 kB message should cost nothing more than its length.
            return Verdict(False, "too_long", spam=True, name_ok=name_ok)
        if not text:
            if ev.kind == "comment":
                return Verdict(False, "empty", name_ok=name_ok)
            return Verdict(True, "ok", name_ok=name_ok)
        allowed, reason, abusive, spam = self._text_verdict(text, ev.lang, ev.kind == "comment")
        return Verdict(allowed, reason, abusive=abusive, spam=spam, name_ok=name_ok)

    def _check_text(self, text: str, lang: str, comment: bool) -> tuple[bool, str, bool, bool]:
        """(allowed, reason, abusive, spam) of a non-empty text that is not too long: a pure
        function of its arguments (the blocklists are fixed), cached per moderator."""
        p = _prep(text)
        if not p:
            return not comment, "empty" if comment else "ok", False, False
        # Not squeezed: the blocklist pattern itself tolerates repeated letters, which is
        # cheaper than rewriting every "kettle" and "good".
        hit = self.blocklist_hit(_shape(p, squeeze=False), lang)
        # An e-mail address also looks like a domain; it is a contact, not a link.
        email = _find_email(p)
        link = not email and _find_link(p)
        contact = email or (not link and _find_contact(p))
        repeated = len(text) >= 12 and bool(_REPEAT_RE.search(text))
        if hit is not None:
            hit_lang, term = hit
            is_spam = hit_lang == "spam"
            return False, f"blocklist:{hit_lang}:{term}", not is_spam, is_spam or link or contact
        if link:
            return False, "link", False, True
        if contact:
            return False, "contact", False, True
        if repeated:
            return False, "repeated_chars", False, True
        return True, "ok", False, False

    # -- names -------------------------------------------------------------------------------

    def name_ok(self, name: str) -> bool:
        """May the host say this display name? Pass `Moderator.name_ok` to the generator.

        Only short names of Latin letters (accents allowed), CJK, kana, '_' and '-' pass: no
        digits (a name is never a way to put a number or price into speech), no fullwidth or
        look-alike letters, no links/contact words, no blocklist term anywhere in the name,
        nothing that impersonates staff ("admin", "system").
        """
        if not isinstance(name, str):
            return False
        return self._name_ok_cached(name.strip())

    def _name_ok(self, name: str) -> bool:
        if not name or len(name) > self.max_name_chars:
            return False
        if not _NAME_CHARS_RE.fullmatch(name) or unicodedata.normalize("NFKC", name) != name:
            return False
        if _DIGIT_RE.search(name) or not _LETTER_RE.search(name):
            return False
        if name.strip("_-") != name or "__" in name or "--" in name:
            return False
        folded = _prep(name)
        tokens = set(re.split(r"[_\-]+", folded))
        if tokens & _NAME_TOKENS_BAD:
            return False
        flat = re.sub(r"[_\-]+", "", folded)
        if any(w in flat for w in _NAME_PRICE_WORDS) or any(w in flat for w in _NAME_CONTACT_WORDS):
            return False
        # Names are glued words ("xXidiotXx", "FuckBoy"), so blocklist terms match anywhere in
        # them (allow phrases still rescue "shiitake_fan"); checked on the spaced and the
        # glued form so "i-d-i-o-t" and "id_iot" both count.
        norm = normalize(name.replace("_", " ").replace("-", " "))
        glued = norm.replace(" ", "")
        for form in (norm, glued, _SQUEEZE_RE.sub(r"\1", flat)):
            if self._name_hit(form):
                return False
        return True

    def _name_hit(self, form: str) -> bool:
        if self._name_re is None:
            return False
        spans = [a.span() for a in self._allow_re.finditer(form)] if self._allow_re else []
        for m in self._name_re.finditer(form):
            a, b = m.span()
            if not any(x <= a and b <= y for x, y in spans):
                return True
        return False


def _ban_key(user: str) -> str:
    return unicodedata.normalize("NFKC", user or "").strip().casefold()


if __name__ == "__main__":  # pragma: no cover - manual probe: python -m streamhost.chat.moderation
    m = Moderator()
    for line in sys.stdin:
        print(normalize(line), m.check(ChatEvent(user="probe", text=line.rstrip("\n"))))
