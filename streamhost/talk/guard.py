"""The last check before TTS: a generated sentence may only state what the catalog states.

In: a `Sentence` (from the LLM or any generator). Out: `GuardResult(ok, reason)`. Rules, in
order (the first failure is the reason):

- ``empty`` / ``too_long``: nothing to say, or more than `max_chars` characters;
- ``wrong_language:<detected>``: CJK script for zh, no CJK and no clearly stronger other
  language (stopword score) for en/de/it;
- ``forbidden:<term>``: a global forbidden word of the stream language (medical and absolute
  claims; en terms are checked in every Latin-script stream too, since models drift into
  English) or a forbidden claim of the product - unless the words sit inside one of the
  product's allowed claims;
- ``price_mismatch:<found>``: a currency amount ("39 euros 90", "€39.90", "39,90 Euro",
  "39.90欧元", "$5", "90 cents") that is not a catalog price in that currency - and, when the
  sentence belongs to a product and names no other product, not that product's price;
- ``percent_not_in_catalog:<n>``: a percentage ("20%", "20 Prozent", "百分之20") that is not a
  catalog discount (same product rule as prices) or a percentage written in catalog text;
- ``number_not_in_catalog:<n>``: any other number whose digit runs are not in
  `Catalog.numbers()`, or whose decimal value ("2.5") is not a catalog decimal.

The viewer's display name (``sentence.reply_to.user``) is masked before the language and bare
number checks: the name policy, not the guard, decides whether a name like "b0b" is spoken.
Everything is compiled at construction; a check takes tens of microseconds.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..frames import Sentence
from .amounts import (
    CUR_WORDS,
    DIGIT_RE,
    MINOR_ONLY,
    NUM_RE,
    PERCENT,
    PRICE_AFTER,
    PRICE_BEFORE,
    canon,
    fold,
    parse_number,
    price_value,
    text_of,
)
from .catalog import LANGS, Catalog
from .guard_terms import TOKEN_RE, LanguageCheck, Terms
from .quantity import counts_said

DEFAULT_FORBIDDEN: dict[str, list[str]] = {
    "en": [
        "cure", "cures", "cured", "heals", "guaranteed", "100% safe", "100 percent safe",
        "completely safe", "risk-free", "risk free", "best in the world", "world's best",
        "miracle", "clinically proven", "no side effects", "never breaks",
    ],
    "de": [
        "heilt", "heilen", "geheilt", "garantiert", "100% sicher", "100 prozent sicher",
        "absolut sicher", "risikofrei", "der beste der welt", "die beste der welt",
        "das beste der welt", "weltbeste", "wundermittel", "klinisch erwiesen",
        "ohne nebenwirkungen",
    ],
    "it": [
        "cura", "guarisce", "guarire", "garantito", "garantita", "garantiti", "garantite",
        "100% sicuro", "100% sicura", "sicuro al 100%", "il migliore al mondo",
        "la migliore al mondo", "miracoloso", "clinicamente provato", "senza effetti collaterali",
    ],
    "zh": [
        "治愈", "治疗", "根治", "保证", "最好", "世界第一", "全网第一", "100%安全", "绝对安全",
        "无副作用", "神药",
    ],
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class GuardResult:
    """`ok` and, when not ok, a machine-readable `reason` ("price_mismatch:$5", ...)."""

    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


_OK = GuardResult(True)


def _lang_lists(value: Any) -> dict[str, list[str]]:
    """A per-product claims value: a list (any language) or {lang: list}."""
    if not value:
        return {}
    if isinstance(value, Mapping):
        return {str(k): [str(x) for x in v] for k, v in value.items() if v}
    return {"*": [str(x) for x in value]}


class Guard:
    """Checks sentences against the catalog, the product's claims and the stream language.

    In: the catalog, the stream language, optional forbidden words per language (None: the
    defaults in DEFAULT_FORBIDDEN; a dict replaces the defaults for the languages it names),
    optional per-product claims ``{product_id: {"allowed": [...], "forbidden": [...]}}``
    (lists, or dicts of language -> list; products carrying ``allowed_claims`` /
    ``forbidden_claims`` attributes are read too). Out: `check(sentence) -> GuardResult`.
    """

    def __init__(
        self,
        catalog: Catalog,
        lang: str,
        forbidden_words: Mapping[str, list[str]] | None = None,
        max_chars: int = 300,
        *,
        claims: Mapping[str, Mapping[str, Any]] | None = None,
        extra_prices: Mapping[str, Iterable[Decimal]] | None = None,
        extra_numbers: Iterable[str] = (),
    ) -> None:
        if lang not in LANGS:
            raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
        self.catalog = catalog
        self.lang = lang
        self.max_chars = max_chars
        self.numbers = catalog.numbers() | frozenset(extra_numbers)

        words = {k: list(v) for k, v in DEFAULT_FORBIDDEN.items()}
        if forbidden_words is not None:
            words.update({k: list(v) for k, v in forbidden_words.items()})
        terms = list(words.get(lang, []))
        if lang != "zh" and lang != "en":
            terms += words.get("en", [])
        self._forbidden = Terms((t, t) for t in terms)

        # Claims per product: forbidden ones in the stream language (and language-free ones),
        # allowed ones in every language (they only ever un-forbid words).
        self._claim_forbidden: dict[str, Terms] = {}
        self._claim_allowed: dict[str, Terms] = {}
        claim_numbers: set[str] = set()
        for p in catalog:
            extra = (claims or {}).get(p.id, {})
            forb = _lang_lists(getattr(p, "forbidden_claims", None))
            allow = _lang_lists(getattr(p, "allowed_claims", None))
            for k, v in _lang_lists(extra.get("forbidden")).items():
                forb.setdefault(k, []).extend(v)
            for k, v in _lang_lists(extra.get("allowed")).items():
                allow.setdefault(k, []).extend(v)
            self._claim_forbidden[p.id] = Terms(
                (t, t) for t in forb.get(lang, []) + forb.get("*", [])
            )
            all_allowed = [c for v in allow.values() for c in v]
            self._claim_allowed[p.id] = Terms((t, t) for t in all_allowed)
            claim_numbers.update(n for c in all_allowed for n in re.findall(r"\d+", c))
        self.numbers = self.numbers | frozenset(claim_numbers)
        # A sentence without a product is checked against every product's forbidden claims.
        every_forbidden: list[str] = []
        for p in catalog:
            extra = (claims or {}).get(p.id, {})
            forb = _lang_lists(getattr(p, "forbidden_claims", None))
            for k, v in _lang_lists(extra.get("forbidden")).items():
                forb.setdefault(k, []).extend(v)
            every_forbidden += forb.get(lang, []) + forb.get("*", [])
        self._any_forbidden_claim = Terms((t, t) for t in every_forbidden)

        # Prices and percentages, per product and for the whole catalog.
        self._prices: dict[str, set[tuple[str, Decimal]]] = {}
        self._percents: dict[str, set[Decimal]] = {}
        texts_all: list[str] = []
        for p in catalog:
            # Every price the product can legitimately have: regular, standing discount, sale
            # windows, and show flash sales (``extra_prices``).
            valid = {p.price, p.standing_price, *(p._sale_price(x) for x in p.sales)}
            valid |= {Decimal(str(d)) for d in (extra_prices or {}).get(p.id, ())}
            self._prices[p.id] = {(p.currency, d) for d in valid}
            # A spec's value is a catalog fact the host may state ("1.1 kg" -> "1,1 Kilogramm").
            texts = p.texts() + list(p.specs.values()) + [c for v in _lang_lists(
                getattr(p, "allowed_claims", None)).values() for c in v]  # fmt: skip
            texts_all += texts
            pct = {Decimal(p.discount_percent)} if p.discount_percent is not None else set()
            for t in texts:
                for m in PERCENT.finditer(fold(t)):
                    d = parse_number(m.group("num") or m.group("num2"))
                    if d is not None:
                        pct.add(d)
            self._percents[p.id] = pct
        self._all_prices = set().union(*self._prices.values()) if self._prices else set()
        self._all_percents = set().union(*self._percents.values()) if self._percents else set()
        # Decimal values the catalog writes ("1.7", "1,7", "39.90"): "2.5" is invented even
        # though "2" and "5" are catalog digit runs.
        texts_all += catalog.shop_texts()
        for p in catalog:
            texts_all += [p.price_display(lg) for lg in LANGS] + [
                p.price_spoken(lg) for lg in LANGS
            ]
        self._decimals: set[str] = set()
        for t in texts_all:
            for tok in NUM_RE.findall(fold(t)):
                d = parse_number(tok)
                if d is not None:
                    self._decimals.add(canon(d))
        self._decimals |= {canon(d) for ps in self._prices.values() for _, d in ps}

        # Product mentions (names and aliases in every language), to tell "the kettle costs
        # 89 euros" (wrong) from "the kettle is 39.90, the headphones 89" (fine).
        self._mentions = Terms(
            (t, p.id)
            for p in catalog
            for t in [*p.names.values(), *(a for al in p.aliases.values() for a in al), p.id]
        )

        self._lang_check = LanguageCheck(lang)

    # -- public API -----------------------------------------------------------------------------

    def check(self, sentence: Sentence) -> GuardResult:
        """Check one sentence; the first rule it breaks is the reason."""
        text = sentence.text or ""
        if not text.strip():
            return GuardResult(False, "empty")
        if len(text) > self.max_chars:
            return GuardResult(False, "too_long")
        folded = fold(text)
        name = ""
        ev = sentence.reply_to
        if ev is not None and ev.user and ev.user.strip():
            name = fold(ev.user)
        masked = folded
        if name and len(name) >= 3 and name in folded:
            masked = folded.replace(name, " ")
        elif name and name in folded:
            masked = re.sub(rf"(?<![^\W_]){re.escape(name)}(?![^\W_])", " ", folded)

        lang_bad = self._lang_check.mismatch(masked)
        if lang_bad:
            return GuardResult(False, f"wrong_language:{lang_bad}")

        pid = sentence.product_id if sentence.product_id in self.catalog.products else None
        tokens = TOKEN_RE.findall(folded)
        claim_text = folded
        covered: set[int] = set()
        allowed = self._claim_allowed.get(pid) if pid else None
        if allowed:
            # Words inside an allowed claim ("2 year guarantee") are not forbidden words.
            for _v, found, idx in allowed.matches(tokens, folded):
                covered.update(idx)
                if not idx:
                    claim_text = claim_text.replace(found, " ")
        found = self._forbidden.first(tokens, claim_text, covered)
        if found is None:
            claims = self._claim_forbidden.get(pid) if pid else self._any_forbidden_claim
            if claims:
                found = claims.first(tokens, claim_text, covered)
        if found is not None:
            return GuardResult(False, f"forbidden:{found}")

        if not DIGIT_RE.search(folded):
            return _OK  # most sentences state no amount: skip the price/number scans

        # Which prices/percents are right: this product's, unless others are named too.
        if pid is not None:
            named = {pid, *(v for v, _f, _i in self._mentions.matches(tokens, folded))}
            others = len(named) > 1
            # two products named: their total too ("54 euros 61 together", answer_total)
            prices = self._all_prices | self._sums(named) if others else self._prices[pid]
            if not others and (said := counts_said(folded, sentence.lang)):
                # "For two, you pay 63 euros 84": the price times a count the sentence says
                prices = prices | {(c, d * k) for c, d in prices for k in said}
            percents = self._all_percents if others else self._percents[pid]
        else:
            prices, percents = self._all_prices, self._all_percents

        spans: list[tuple[int, int]] = []
        for m in PRICE_AFTER.finditer(folded):
            minor = m.group("minor") or m.group("minor2")
            amount = price_value(m.group("num"), minor, m.group("jiao"))
            if not self._price_ok(amount, CUR_WORDS.get(m.group("cur"), ""), prices):
                return GuardResult(False, f"price_mismatch:{text_of(text, folded, m)}")
            spans.append(m.span())
        for m in PRICE_BEFORE.finditer(folded):
            if _inside(m.span(), spans):
                continue
            amount = price_value(m.group("num"), None, None)
            if not self._price_ok(amount, CUR_WORDS.get(m.group("cur"), ""), prices):
                return GuardResult(False, f"price_mismatch:{text_of(text, folded, m)}")
            spans.append(m.span())
        for m in MINOR_ONLY.finditer(folded):
            if _inside(m.span(), spans):
                continue
            amount = Decimal(m.group("minor")) / 100
            if not self._price_ok(amount, "", prices):
                return GuardResult(False, f"price_mismatch:{text_of(text, folded, m)}")
            spans.append(m.span())
        for m in PERCENT.finditer(folded):
            d = parse_number(m.group("num") or m.group("num2"))
            if d is None or d not in percents:
                return GuardResult(
                    False, f"percent_not_in_catalog:{m.group('num') or m.group('num2')}"
                )
            spans.append(m.span())

        rest = masked
        if spans:
            # Blank the checked amounts (same length, so the name mask offsets do not matter
            # when no name was masked; with a name we re-find the spans' texts instead).
            if rest is folded:
                chars = list(rest)
                for a, b in spans:
                    chars[a:b] = " " * (b - a)
                rest = "".join(chars)
            else:
                for a, b in spans:
                    rest = rest.replace(folded[a:b], " ")
        for tok in NUM_RE.findall(rest):
            for run in re.findall(r"\d+", tok):
                if run not in self.numbers:
                    return GuardResult(False, f"number_not_in_catalog:{tok}")
            if "." in tok or "," in tok:
                d = parse_number(tok)
                if d is None or canon(d) not in self._decimals:
                    # "1,2,3" style lists: every run is a catalog number, accept.
                    if not (tok.count(",") > 1 or tok.count(".") > 1):
                        return GuardResult(False, f"number_not_in_catalog:{tok}")
        return _OK

    # -- internals ------------------------------------------------------------------------------

    def _sums(self, named: set[str]) -> set[tuple[str, Decimal]]:
        """Each pair of the named products' valid prices added, in one currency; with more
        than two named, also all of them added ("everything together": answer_total_all)."""
        out: set[tuple[str, Decimal]] = set()
        for x, y in itertools.combinations(sorted(named), 2):
            px, py = self._prices.get(x, set()), self._prices.get(y, set())
            out |= {(c, a + b) for c, a in px for c2, b in py if c == c2}
        if len(named) > 2:
            every = {("", Decimal(0))}
            for pid in sorted(named):
                every = {(c, a + b) for c0, a in every for c, b in self._prices.get(pid, set())
                         if c0 in ("", c)}  # fmt: skip
                if len(every) > _MAX_SUMS:
                    break  # (the named products' prices combine past any one answer)
            else:
                out |= every
        return out

    @staticmethod
    def _price_ok(amount: Decimal | None, cur: str, prices: set[tuple[str, Decimal]]) -> bool:
        if amount is None:
            return False
        return any(amount == p and (not cur or cur == c) for c, p in prices)


_MAX_SUMS = 4096


def _inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a <= span[0] and span[1] <= b or (span[0] < b and a < span[1]) for a, b in spans)
