"""Questions about the shop itself (shipping, returns, payment), matched to the shop's FAQ.

In: the catalog's ``shop.faq`` entries, the retriever's frame test (how a question is asked, per
language) and every product's feature and FAQ words. Out: ``match(text, lang, names)`` -> the
entry a viewer's question asks, or None.

A product FAQ is matched on its question's words alone; a shop FAQ entry is short and its
answer carries the words viewers use ("can I pay with PayPal?" against "Which payment methods
do you accept?" / "... card, PayPal or bank transfer"), so an entry's words are those of its
question and its answer; entries are ranked with the frame of asking too ("how much is
shipping?" is the entry asked "how much"). Meeting a word of the entry's question, the text may
name as many unknown things ("do you ship to *Austria*?"); meeting only words of its answer,
none ("can I pay with PayPal?" yes, "avete la confezione *regalo*?" no); a question that
names a product must meet a word of the entry's question and be asked in the shop FAQ's
frame ("can I return the kettle?" yes; "what's in the box with the headphones?", "can I *use*
the kettle abroad?" no). A question that uses a product's word the shop FAQ lacks ("does the
kettle ship with a *filter*?") is about that product, not the shop; one that names more
unknown things than it meets ("do you ship to Mars and Venus?") is not this entry's question;
unknown things are whole words (the parts of "Österreich" are one). Chat's own words for the
shop's things ("Lieferzeit", "refund", 到货) meet the shop's through the language files'
``[words] synonyms``, which the tokenizer applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet

from ..langdata import load_languages
from ..language import fold
from .intent_words import has_any, intent_patterns
from .matching import CJK_PAIR, FaqMatch
from .products import LANGS, Catalog
from .tokens import BM25, compound_parts, tokenize


class ShopFaq:
    """The shop's FAQ entries indexed per language (question and answer words)."""

    def __init__(
        self,
        catalog: Catalog,
        frame: Callable[[str], Callable[[str], bool]],
        product_words: dict[str, set[str]],
    ) -> None:
        self.entries = catalog.shop_faq
        self._frame = frame
        self._product_words = product_words
        self._words: dict[str, list[set[str]]] = {}
        self._asked: dict[str, list[set[str]]] = {}  # the words of each entry's question
        self._asked_any: dict[str, set[str]] = {}  # ... of any entry's
        self._places: dict[str, set[str]] = {}  # country words: "do you ship to *Austria*?"
        self._bm25: dict[str, BM25] = {}
        for lang in LANGS:
            is_frame = frame(lang)
            docs = [tokenize(f"{e.q(lang)} {e.a(lang)[0]}", lang, compounds=True)
                    for e in self.entries]  # fmt: skip
            self._words[lang] = [{t for t in d if not is_frame(t)} for d in docs]
            self._asked[lang] = [
                {t for t in tokenize(e.q(lang), lang, compounds=True) if not is_frame(t)}
                for e in self.entries
            ]
            self._asked_any[lang] = set().union(*self._asked[lang])
            d = load_languages().get(lang)
            self._places[lang] = {
                t
                for w in (d.intent["places"] if d else ())
                for t in tokenize(w, lang, compounds=True)
            }
            # Ranked with the frame too: "how much is shipping?" is the entry asked "how
            # much", "how long does shipping take?" the one asked "how long".
            self._bm25[lang] = BM25(docs)
        # Whether an entry speaks of deals: only then is a question for one ("when will I get
        # a *discount*?") the shop's, not the offer's.
        deal = intent_patterns()["deal"]
        self.names_deals = any(
            has_any(fold(f"{e.q(lg)} {e.a(lg)[0]}"), deal) for e in self.entries for lg in LANGS
        )

    def match(
        self,
        text: str,
        lang: str,
        names: AbstractSet[str],
        about_it: bool = False,
        deal: bool = False,
    ) -> FaqMatch | None:
        """The entry `text` asks about (see the module), or None; `names`: product name
        tokens, which say which product, not what is asked; `about_it`: the text asks about
        the product ("is it ...?"), so a word found only in an entry's answer is no match
        ("is it original?" is not the returns answer's "original box"); `deal`: it says a
        deal word, which asks about the offer ("when will I get a *discount*?"), unless it
        names the entry's thing in its own words and no product ("a discount on *shipping*?":
        what shipping costs)."""
        words = self._words.get(lang)
        if not words or (deal and not self.says_own_words(text, lang)):
            return None
        m = self._match(text, lang, names, about_it, words)
        # What the entry does not speak of: "a refund on the lamp *if it breaks*?" (the returns
        # entry says "unused, in its original box", not what a fault brings), "do you ship
        # *with DHL*?", "do you deliver *on Saturday*?" (the shipping entries say when and
        # where, not who carries the parcel or on which days; the returns entry says nothing of
        # who pays the parcel back): the team answers.
        for key in ("fault", "courier", "days", "who_pays"):
            if m is not None and has_any(fold(text), pats := intent_patterns()[key]):
                e = m.entry
                if not has_any(fold(f"{e.q(lang)} {e.a(lang)[0]}"), pats):
                    return None
        if m is not None and deal:
            named = set(tokenize(text, lang)) & names
            return m if self.says_own_words(text, lang, m) and not named else None
        return m

    def _match(
        self,
        text: str,
        lang: str,
        names: AbstractSet[str],
        about_it: bool,
        words: list[set[str]],
    ) -> FaqMatch | None:
        is_frame = self._frame(lang)
        tokens = set(tokenize(text, lang, compounds=True))
        plain = set(tokenize(text, lang))
        # whole words: "funk" (a product's word) in "funktioniert" names no product
        named = bool(plain & names)
        tokens -= names
        # where the shop ships is its entries' business: a country is no unknown thing
        places = set(tokens) & self._places.get(lang, set())
        q = {t for t in tokens if not is_frame(t)} - places
        known = set().union(*words)
        # A compound made of known words ("Versandkosten": versand + kosten) is known, and
        # its other parts ("vers", "sandkost") are no unknown things. Other compounds keep
        # their parts: "Lieferumfang" asks about the box, not the delivery.
        for t in tokenize(text, lang):
            if t in q and t not in known and self._known_compound(t, known, is_frame):
                q -= {t, *compound_parts(t)} - known
        if not q or (q & self._product_words.get(lang, set())) - known:
            return None  # a product's word the shop FAQ lacks: a question about the product
        scores = self._bm25[lang].scores(sorted(tokens))
        best = max(range(len(words)), key=lambda i: (len(q & words[i]), scores[i]))
        # a number alone says nothing: "can I buy *2*?" is no "2 to 4 working days"
        met = {t for t in q & words[best] if not t.replace(".", "").replace(",", "").isdigit()}
        # A CJK bigram that shares a character with a met one straddles the word boundary
        # (到法 in 能寄到法国吗, beside 寄到): the unknown thing is 法国 alone.
        met_chars = {c for t in met | places if _is_cjk_pair(t) for c in t}
        # Whole words: the parts of an unknown compound ("oster", "reich" of "Österreich")
        # are one unknown thing, not nine.
        # A condition says when, not what ("can I return it *after 3 months*?"): its words
        # are no unknown thing (a fault in it is, above).
        said = plain & set(tokenize(_without_condition(text), lang))
        unknown = sum(not (_is_cjk_pair(t) and met_chars & set(t)) for t in (q - known) & said)
        # A word of the entry's question ("ship" in "Do you ship to other countries?") may
        # come with as many unknown ones ("Austria"); one found only in its answer
        # ("confezione" in the returns answer) with none ("avete la confezione *regalo*?").
        asked = met & self._asked[lang][best]
        if not met or unknown > (len(met) if asked else 0) or (about_it and not asked):
            return None
        if named:
            # About the product named, not the shop: "what's in the box with the headphones?"
            # meets only the returns answer's "original box"; "Kann man den Wasserkocher im
            # Ausland benutzen?" asks how it is used, a frame no shop entry has (words only:
            # 机可 in 耳机可以退货吗 is a bigram across the product's name).
            # A condition says when, not what is asked: "can I return the kettle *if I don't
            # like it*?" asks the returns entry ("like" is no frame word of the shop's).
            shop_tokens = self._bm25[lang].idf
            asking = set(tokenize(_without_condition(text), lang, compounds=True)) - names
            if not asked or any(
                t.isascii() and is_frame(t) and t not in shop_tokens for t in asking
            ):
                return None
        return FaqMatch(self.entries[best], best, scores[best])

    def says_own_words(self, text: str, lang: str, m: FaqMatch | None = None) -> bool:
        """Whether the text names, in a word and not through a ``[words] synonyms`` phrase,
        what the entry's question (any entry's, without ``m``) asks about: "is there a
        discount on *shipping*?" (or *delivery*) does for "How much is shipping?"; "when will
        I get a discount?" (a phrase for "how long does shipping take") does not."""
        own = self._asked[lang][m.index] if m is not None else self._asked_any.get(lang, set())
        return bool(own & set(tokenize(text, lang, compounds=True, phrases=False)))

    def topic_words(self, text: str, lang: str) -> str:
        """The words of `text` that an entry's question asks about, as the text wrote them
        ("shipping" of "how much is shipping?", 运费 of 运费多少): what a second question
        ("... and how long does it take?") may be about; "" when it names none."""
        asked = self._asked_any.get(lang)
        if not asked:
            return ""
        if CJK_PAIR.search(text):  # unspaced script: the bigrams the tokenizer makes
            return " ".join(t for t in tokenize(text, lang, compounds=True) if t in asked)
        return " ".join(
            w for w in _WORD.findall(text) if set(tokenize(w, lang, compounds=True)) & asked
        )

    @staticmethod
    def _known_compound(t: str, known: set[str], is_frame: Callable[[str], bool]) -> bool:
        """Whether `t` splits into two known words (or frame words: "kost" in "versandkost"),
        the first maybe with a linking s ("auslands|versand")."""
        if len(t) < 8:
            return False
        for i in range(4, len(t) - 2):
            head, tail = t[:i], t[i:]
            if (tail in known or is_frame(tail)) and (
                head in known or (head.endswith("s") and head[:-1] in known)
            ):
                return True
        return False


def _without_condition(text: str) -> str:
    """`text` less a condition clause (``[intent] condition``: "if ...", "wenn ...", 如果...),
    up to the next comma or the end; the text as it was where it has none."""
    folded = fold(text)
    lat, cjk = intent_patterns()["condition"]
    m = (lat and lat.search(folded)) or (cjk and cjk.search(folded))
    if not m:
        return folded
    end = _CLAUSE_END.search(folded, m.end())
    return folded[: m.start()] + (folded[end.start() :] if end else "")


_CLAUSE_END = re.compile(r"[,，;；]")
_WORD = re.compile(r"\w+")


def _is_cjk_pair(token: str) -> bool:
    return len(token) == 2 and not token.isascii()
