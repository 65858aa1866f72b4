"""Catalog retrieval for viewer questions: language, intent, product, FAQ entry, features.

In: a `Catalog` (indexed once, at construction) and, per question, the viewer's text.
Out: ids, scores and catalog text only - never the viewer's text - so nothing downstream can
end up reading chat aloud. Matching is BM25 over small per-language documents with simple
tokenizers (no downloaded models): light suffix stripping for en/it, umlaut folding plus
compound-head matching for de ("Kocher" finds "Wasserkocher"), character bigrams for zh.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..langdata import load_languages
from ..language import Intent, detect_language, fold
from .budget import BudgetQuestions
from .catalog import LANGS, Catalog, Product
from .intent_words import has_any, intent_patterns, intent_tokens, question_vocab
from .matching import CJK_PAIR, FaqMatch, related, spelled
from .quantity import without_amounts
from .request_kinds import RequestKinds
from .shop_faq import ShopFaq
from .spec_lookup import SpecLookup, attribute_tokens, spec_words_of
from .spelling import NameSpeller
from .tokens import BM25, compound_parts, splits_compounds, stop_chars, tokenize

# Intent, detect_language and fold live in streamhost.language (chat needs them too); they
# stay importable from here.
__all__ = ["BM25", "FaqMatch", "Intent", "Retriever", "detect_language", "fold", "tokenize"]


class Retriever(SpecLookup, BudgetQuestions, RequestKinds):
    """Indexes one catalog per language at construction; answers lookups in microseconds.

    In: catalog; per call the viewer text and a language. Out: product ids, FAQ entries,
    feature indexes and intents - catalog material only.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._ids = catalog.ids
        self._names: dict[str, BM25] = {}
        self._content: dict[str, BM25] = {}
        # (product, lang) -> (faq question token sets, BM25 over them)
        self._faq: dict[tuple[str, str], tuple[list[set[str]], BM25]] = {}
        self._features: dict[tuple[str, str], list[set[str]]] = {}
        self._feature_words: dict[tuple[str, str], list[set[str]]] = {}  # whole words only
        self._faq_words: dict[tuple[str, str], list[list[tuple[str, set[str]]]]] = {}
        self._whole: dict[tuple[str, str], list[frozenset[str]]] = {}  # names_whole's token sets
        self._unnamed: dict[tuple[str, str], re.Pattern[str]] = {}  # unnamed's, per product
        for lang in LANGS:
            name_docs, content_docs = [], []
            for p in catalog:
                name_docs.append(self._name_tokens(p, lang))
                content_docs.append(self._content_tokens(p, lang))
                qs = [set(tokenize(e.q(lang), lang, compounds=True)) for e in p.faq]
                self._faq[(p.id, lang)] = (qs, BM25([sorted(q) for q in qs]))
                # per entry, per question word: it and its compound parts (not "mic"+"phone")
                split = compound_parts if splits_compounds(lang) else lambda t: []
                self._faq_words[(p.id, lang)] = [
                    [(t, {t, *split(t)}) for t in dict.fromkeys(tokenize(e.q(lang), lang))]
                    for e in p.faq
                ]
                feats, flang = p.features_in(lang)
                self._features[(p.id, lang)] = [
                    set(tokenize(f, flang, compounds=True)) for f in feats
                ]
                self._feature_words[(p.id, lang)] = [set(tokenize(f, flang)) for f in feats]
            self._names[lang] = BM25(name_docs)
            self._content[lang] = BM25(content_docs)
        self._question_vocab = {lang: question_vocab(lang) for lang in LANGS}
        # Words that ask for one of the product's specs ("capacity", 容量) are known words of
        # a question about it, not details it lacks; for a product without that spec ("how
        # heavy is the lamp?") they stay unknown.
        data = load_languages()
        self._spec_vocab = {
            (p.id, lg): {
                t
                for name in p.specs
                for w in spec_words_of(d, name.lower())
                for t in tokenize(w, lg)
            }
            for p in catalog
            for lg, d in data.items()
        }
        # What a question asks that these do not (faq_match), per FAQ entry: its question's
        # words less the frame of asking, a pure function of the catalog and the language data.
        self._faq_content = {
            key: [[t for t, _ in words if not self._frame(key[1])(t)] for words in entries]
            for key, entries in self._faq_words.items()
        }
        # specs_asked: per language, whether it is written without spaces, and each spec's
        # words folded once
        self._spec_words = {
            lg: (d.script is not None, {n: tuple(map(fold, spec_words_of(d, n))) for n in d.specs})
            for lg, d in data.items()
        }
        # The shop's own FAQ (shipping, returns, payment): what a question about no product
        # is matched against (talk/shop_faq.py).
        # Every word some product's feature says, per language ("lid": the bottle's): a part
        # of something sold (spec_lookup.material_parts); with the FAQ questions' words, what
        # a shop question must not ask about.
        self._feature_vocab = {
            lg: frozenset().union(*(f for p in catalog for f in self._features[(p.id, lg)]))
            for lg in LANGS
        }
        product_words = {
            lg: set(self._feature_vocab[lg]).union(
                *(q for p in catalog for q in self._faq[(p.id, lg)][0])
            )
            for lg in LANGS
        }
        self._shop = ShopFaq(catalog, self._frame, product_words) if catalog.shop_faq else None
        self._name_words = {lg: frozenset(self._names[lg].idf) for lg in LANGS}
        self.respell = NameSpeller(catalog).correct  # "backpak price?": the backpack's
        # The same question is asked about the shop by triage, intent detection and the
        # generator in turn: the last answer is kept.
        self._shop_last: tuple[str, str, FaqMatch | None] | None = None

    def topic(self, text: str, lang: str, product_id: str | None = None) -> str:
        """What of the shop `text` asks about, in its own words ("shipping" of "how much is
        shipping?"); else the name of the product it was answered about; else ""."""
        if self._shop is not None and self.shop_faq_match(text, lang) is not None:
            return self._shop.topic_words(text, lang)
        return self.names_of(product_id, lang)[0] if product_id in self.catalog else ""

    def shop_faq_match(self, text: str, lang: str) -> FaqMatch | None:
        """The shop FAQ entry a question about no product asks ("how long does shipping
        take?", "can I return it?"), or None."""
        if self._shop is None or self.asks(text, "use_it"):
            return None  # "can I use it abroad?" asks about the product, not shipping abroad
        last = self._shop_last
        if last is not None and last[0] == text and last[1] == lang:
            return last[2]
        folded, pats = fold(text), intent_patterns()
        about_it = has_any(folded, pats["feature"])  # "is it ...?"
        deal = has_any(folded, pats["deal"]) and not self._shop.names_deals
        m = self._shop.match(text, lang, self._name_words[lang], about_it, deal)
        self._shop_last = (text, lang, m)
        return m

    @staticmethod
    def _name_tokens(p: Product, lang: str) -> list[str]:
        own = [p.names.get(lang, ""), *p.aliases.get(lang, [])]
        toks = [t for n in own for t in tokenize(n, lang, compounds=True)]
        # Viewers often use the English name in any stream (and product ids are English). Not
        # split as a German compound: "headphones" would offer "phones" as a name.
        english = [p.names.get("en", ""), *p.aliases.get("en", [])] if lang != "en" else []
        return toks + [t for n in [*english, p.id] for t in tokenize(n, lang)]

    @staticmethod
    def _content_tokens(p: Product, lang: str) -> list[str]:
        feats, flang = p.features_in(lang)
        toks: list[str] = []
        for f in feats:
            toks += tokenize(f, flang, compounds=True)
        for e in p.faq:
            toks += tokenize(e.q(lang), lang, compounds=True)
        return toks

    # -- products ----------------------------------------------------------------------------

    def find_product(
        self, text: str, lang: str, *, names_only: bool = False
    ) -> tuple[str, float] | None:
        """The product the text is about and its score, or None.

        Names/aliases are tried first in `lang`, then in the other languages (a viewer may write
        in another language than the stream's); features and FAQ questions only when no name
        matched and `names_only` is False.
        """
        order = [lang] + [x for x in LANGS if x != lang]
        for index in (self._names,) if names_only else (self._names, self._content):
            for lg in order:
                q = tokenize(text, lg, written_in=lang)
                if not q:
                    continue
                scores = index[lg].scores(q)
                best = max(range(len(scores)), key=scores.__getitem__)
                if scores[best] > 0.5:
                    if index is self._names and not self.names_whole(text, lang, self._ids[best]):
                        # 水杯可以装热水吗: 水杯 says the bottle whole, 热水 only part of 电热水壶
                        whole = [i for i, s in enumerate(scores) if s > 0.5 and i != best
                                 and self.names_whole(text, lang, self._ids[i])]  # fmt: skip
                        best = max(whole, key=scores.__getitem__, default=best)
                    return self._ids[best], scores[best]
        return None

    def names_whole(self, text: str, lang: str, product_id: str) -> bool:
        """Whether the text says one of the product's names or aliases whole (in any
        language, `lang`'s first): "the headphones", 耳机; not "water" of "water bottle"."""
        if (names := self._whole.get((product_id, lang))) is None:  # tokenized once
            names = [t for n in self.names_of(product_id, lang) if n
                     and (t := frozenset(tokenize(n, lang)))]  # fmt: skip
            self._whole[(product_id, lang)] = names
        said = set(tokenize(text, lang))
        return any(toks <= said for toks in names)

    def named_products(self, text: str, lang: str) -> list[str]:
        """Every product the text names (names and aliases, its language first, then the
        others), best first: "which is cheaper, the kettle or the lamp?" names two."""
        for lg in [lang] + [x for x in LANGS if x != lang]:
            q = tokenize(text, lg, written_in=lang)
            if q:
                scores = self._names[lg].scores(q)
                hits = sorted((-s, i) for i, s in enumerate(scores) if s > 0.5)
                if hits:
                    return [self._ids[i] for _, i in hits]
        return []

    # -- FAQ and features --------------------------------------------------------------------

    def faq_match(self, text: str, product_id: str, lang: str) -> FaqMatch | None:
        """Best FAQ entry of the product whose question the text covers well enough."""
        p = self.catalog.products.get(product_id)
        if p is None or not p.faq:
            return None
        text = self.amounts_as_condition(text, lang)
        bm = self._faq[(product_id, lang)][1]
        # Tokenized as the index is: "Reiserucksack" must meet the compound parts the FAQ
        # question was indexed with, or a German compound never covers its own FAQ.
        q = set(tokenize(text, lang, compounds=True))
        if not q:
            return None
        scores = bm.scores(sorted(q))
        frame = self._frame(lang)
        unknown = self.unknown_details(text, lang, product_id, q)
        # Another product's name ("water" of "water bottle") asks about it, not this FAQ.
        names = set(self._name_tokens(p, lang))
        named = self.find_product(text, lang, names_only=True)
        if named and named[0] != product_id:
            q = q - set(self._name_tokens(self.catalog.get(named[0]), lang))
        plain = set(tokenize(text, lang)) & q  # whole words: a compound's parts are not
        # The product's own name met by its parts asks nothing ("kocher" of "Wasserkocher"
        # is not the boiling FAQ's "Kochen": "Hat der Wasserkocher eine automatische
        # Abschaltung?" got the boiling time).
        own = {c for t in plain & names for c in compound_parts(t)} - plain
        q, plain_other, said = q - own, plain - names, tokenize(text, lang)
        # Nothing asked but the frame and the name: the name's parts count where the text
        # asks in an entry's own frame ("Wie lange braucht der Wasserkocher?" is its "Wie
        # lange braucht er zum Kochen?"; "Ist der Wasserkocher gut?" is not)
        bare = q | own if own and not {t for t in plain_other if not frame(t)} else None
        best: tuple[float, float, int] | None = None
        entries = zip(
            scores,
            self._faq_words[(product_id, lang)],
            self._faq_content[(product_id, lang)],
            strict=True,
        )
        for i, (s, words, content) in enumerate(entries):
            # The FAQ question's content words the text meets, itself or by a compound part
            # ("Spülmaschine" meets "spülmaschinenfest", "water proof" "waterproof"); the frame
            # of a question ("how long ...", "can I put ... in it?", 可以...吗) does not count:
            # sharing only that, the text asks something else, and that entry's answer would be
            # a wrong answer, which is worse than an honest "I'll check".
            if not content:
                # An entry asked in frame words only ("Wie viel passt hinein?"): only that
                # question itself, with nothing the entry does not say but the product's name.
                if {t for t, _ in words} <= q and not {t for t in plain_other if not frame(t)}:
                    content = [t for t, _ in words]
            # (a compound written apart counts whole: "water" of "water proof" names no bottle)
            asked = q
            if bare is not None and {t for t, _ in words if frame(t)} <= plain:
                asked = bare
            met = [t for t, parts in words if t in content and (parts & asked or spelled(t, said))]
            cover = len(met) / max(1, len(content))
            if not met or cover < 0.3 or (best is not None and (s, cover) <= best[:2]):
                continue
            # Details the catalog lacks, as many as the entry's words the text meets ("how
            # bright is the *screen*?" against "how bright is it?", "safe for *kids*?" against
            # "dishwasher safe?"): a different question too. A part of one of the entry's
            # words ("wash" in "dishwasher", 含 in 不含) is not such a detail.
            entry = [t for t, _ in words]
            if len([u for u in unknown if not related(u, entry)]) >= len(met):
                continue
            best = (s, cover, i)
        if best is None:
            return None
        return FaqMatch(p.faq[best[2]], best[2], best[0])

    def _frame(self, lang: str) -> Callable[[str], bool]:
        """Is a token part of how a question is asked rather than what it asks about: the
        language's asking words (``question_vocab``), or a CJK bigram with a function
        character (吗, 能, 要 ...), which in a question belongs to its frame."""
        vocab = self._question_vocab.get(lang) or question_vocab(lang)
        stop = stop_chars()
        return lambda t: t in vocab or (len(t) == 2 and (t[0] in stop or t[1] in stop))

    def find_faq(self, text: str, product_id: str, lang: str) -> str | None:
        """The catalog's answer text (in `lang`, else en) for the matching FAQ entry, or None."""
        m = self.faq_match(text, product_id, lang)
        return m.entry.a(lang)[0] if m else None

    def matching_features(self, text: str, product_id: str, lang: str) -> list[int]:
        """Indexes of the product's features sharing words with the text, best first."""
        feats = self._features.get((product_id, lang), [])
        # how a question is asked is not what it asks about: "funziona a 110 volt?" does not
        # ask for the "funzione mantenimento in caldo"
        frame = self._frame(lang)
        q = {t for t in tokenize(self.unnamed(text, lang, product_id), lang) if not frame(t)}
        # a thing named outweighs an attribute ("does the *handle* get hot?": the cool-touch
        # handle, not the keep-warm mode's "hot"), and a word the feature says whole one of
        # its compounds' parts ("ein *Fach* für den *Reisepass*?": the passport pocket, not
        # the "Laptopfach")
        attr, whole = attribute_tokens(lang), self._feature_words.get((product_id, lang), [])
        hits = [
            (-len((q & f) - attr), -len(q & whole[i]), -len(q & f), i)
            for i, f in enumerate(feats)
            if q & f
        ]
        return [h[3] for h in sorted(hits)]

    # -- intent ------------------------------------------------------------------------------

    @staticmethod
    def asks(text: str, key: str) -> bool:
        """Whether the text says a word of the language files' ``[intent] key`` list, any
        language: "deal" ("is it on sale?", 有优惠吗), "cheapest", "ask_ai" ("are you a
        bot?"), "how_to_buy" ("where's the link?"), "have_it" ("do you have *it* in black?",
        a detail of the product on screen, not a product the shop may not sell)."""
        return has_any(fold(text), intent_patterns()[key])

    def asks_ai(self, text: str) -> bool:
        """Whether the text asks if the host is an AI or live ("are you a bot?", "is this
        live?"); not "are you live *tomorrow*?" (``[intent] later``), the team's schedule."""
        return self.asks(text, "ask_ai") and not self.asks(text, "later")

    def _asks_only(self, text: str, lang: str, product_id: str, keys: tuple[str, ...]) -> bool:
        """The text says a word of ``[intent] keys[0]`` and nothing but words of those lists,
        the product's name and the frame of asking; and it is none of the product's FAQ."""
        if not self.asks(text, keys[0]) or self.faq_match(text, product_id, lang):
            return False
        own, frame = intent_tokens(lang, keys), self._frame(lang)
        names = set(self._name_tokens(self.catalog.get(product_id), lang))
        chars = {c for t in (*own, *names) for c in t} | stop_chars()
        rest = {t for t in tokenize(text, lang) if t not in own and t not in names and not frame(t)}
        # a CJK bigram across two of those words (惠到 in 优惠到什么时候, 看台 in 看看台灯) is no word
        return not {t for t in rest if not (CJK_PAIR.fullmatch(t) and set(t) <= chars)}

    def detect_intent(self, text: str, lang: str, product_id: str | None = None) -> Intent:
        """price > faq > feature > greeting > other; keywords of all languages are checked."""
        folded = fold(text)
        pats = intent_patterns()
        if self.shop_faq_match(text, lang) is not None:
            # "how long does shipping take?", "Was kostet der Versand?": the shop's own FAQ
            # (a question naming only a product has no word left for it)
            return Intent.FAQ
        if self.price_end(text):
            return Intent.PRICE  # the show's cheapest (priciest) product: a price answer
        if has_any(folded, pats["price_strong"]) or has_any(folded, pats["deal"]):
            return Intent.PRICE
        if has_any(folded, pats["stock"]):
            # "is it available in blue?" asks about a detail, not the stock
            if product_id is not None and self.unknown_details(text, lang, product_id):
                return Intent.OTHER
            return Intent.STOCK
        weak_price = has_any(folded, pats["price_weak"])
        if product_id is not None and self.faq_match(text, product_id, lang) is not None:
            return Intent.FAQ
        if weak_price:
            # "how much does it weigh?" is not a price question; a detail we do not know
            # must not be answered with the price.
            bare = without_amounts(text, lang)
            if has_any(fold(bare), pats["feature_attr"]) or (
                product_id is not None and self.specs_asked(bare, lang, product_id)
            ):
                # "wie viel Liter?", 容量是多少？, "quanto consuma?" (its power); not "how much
                # is the 1.7 litre kettle?", an amount naming it
                return Intent.FEATURE
            if product_id is not None and self.unknown_terms(text, lang, product_id):
                return Intent.OTHER
            return Intent.PRICE
        if has_any(folded, pats["feature"]) or has_any(folded, pats["feature_attr"]):
            return Intent.FEATURE
        if has_any(folded, pats["have"]):
            return Intent.HAVE
        if has_any(folded, pats["greeting"]):
            return Intent.GREETING
        return Intent.OTHER
