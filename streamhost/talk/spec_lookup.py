"""Which of a product's specs a question asks for ("how heavy is it?" -> weight), what it is
made of (the features naming a material), the details a question asks that the product's
catalog entry lacks (``unknown_details``; in a language written without spaces also those
beside a function character: 锁 in 有锁吗), another product's words asked of it, and the FAQ
answer that says such details.

A mixin of the retriever (``talk/retrieval.py``), which owns what it reads: the catalog, each
language's spec and question words, the products' tokenized features, FAQ and names, and its
frame test. In: a question, its language and a product id; out: spec names, details or an
FAQ entry.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ..langdata import LangData, load_languages
from ..language import fold
from .catalog import LANGS, Catalog
from .intent_words import has_any, intent_patterns, intent_tokens, question_vocab
from .matching import CJK_PAIR, FaqMatch, says
from .quantity import without_amounts
from .tokens import stop_chars, tokenize, with_synonyms


class SpecLookup:
    """Spec and detail lookups of the retriever (see the module)."""

    catalog: Catalog
    _spec_words: dict[str, tuple[bool, dict[str, tuple[str, ...]]]]
    _question_vocab: dict[str, set[str]]
    _spec_vocab: dict[tuple[str, str], set[str]]
    _faq: Any
    _name_words: dict[str, frozenset[str]]
    products_named_whole: Any
    _name_tokens: Any
    asks: Any
    _frame: Any
    _features: dict[tuple[str, str], list[set[str]]]
    _feature_vocab: dict[str, frozenset[str]]
    matching_features: Any
    _unnamed: dict[tuple[str, str], re.Pattern[str]]  # (product, lang) -> its names, compiled

    def unknown_chars(self, text: str, lang: str, product_id: str) -> set[str]:
        """In a language written without spaces, the content characters the question has
        only beside a function character (锁 in 有锁吗, 重 in 有多重): details too, which
        ``unknown_details`` leaves with the frame's bigrams."""
        if lang not in self._spec_words or not self._spec_words[lang][0]:
            return set()
        q = set(tokenize(text, lang, compounds=True))
        raw = self.unknown_terms(text, lang, product_id)
        words = [*(q - raw), *self.names_of(product_id, lang)]
        stop = stop_chars()
        out = set()
        for t in raw:
            if len(t) == 2 and (t[0] in stop) != (t[1] in stop):
                c = t[1] if t[0] in stop else t[0]
                if not any(c in w for w in words):
                    out.add(c)
        return out

    def amounts_as_condition(self, text: str, lang: str) -> str:
        """The text less the amounts it states where it asks how long (``[intent] ask_when``):
        "how long does it take to boil *1 litre*?", "Wie lange braucht er für *einen Liter*?"
        ask the boiling time, and "litre" there asks no capacity. Else the text itself ("is
        it 2 litres?" asks the capacity)."""
        return without_amounts(text, lang) if self.asks(text, "ask_when") else text

    def specs_asked(self, text: str, lang: str, product_id: str) -> list[str]:
        """The product's catalog specs the text asks about (the language file's ``[specs]``
        words: "how heavy" -> weight), in the catalog's order."""
        p = self.catalog.products.get(product_id)
        if p is None or not p.specs or lang not in self._spec_words:
            return []
        text = self.amounts_as_condition(text, lang)
        cjk, spec_words = self._spec_words[lang]
        # a phrase asking for a spec may hold a name of the product ("how much *light*",
        # "quanta *luce*": the lamp's aliases), which the blanked text no longer says
        whole = with_synonyms(fold(text), lang)
        folded = self._blank_names(whole, lang, product_id)
        own = {n.lower() for n in p.specs}
        # words that ask for one of the product's specs ("Volumen" is its capacity too)
        theirs = {w for n in own for w in spec_words.get(n, ())}
        rank: dict[str, int] = {}  # spec -> position of the first of its words the text says
        for name, words in spec_words.items():
            hits = [
                i
                for i, w in enumerate(words)
                if (name in own or w not in theirs)
                and (says(folded, w, cjk) or (" " in w and says(whole, w, cjk)))
            ]
            if hits:
                rank[name] = hits[0]
        # A spec named by its own word (功率, "power") wins over one a general word asks
        # about (多大, "how big"): "水壶功率多大？" asks for the power, not the capacity; and
        # so does one the product lacks: "Quanto tiene *caldo* il bollitore?" asks how long
        # it keeps warm (its keep-warm feature), not its capacity ("quanto tiene").
        best = min(rank.values(), default=0)
        return [n for n in p.specs if rank.get(n.lower()) == best]

    def unknown_terms(
        self, text: str, lang: str, product_id: str, strict: bool = False
    ) -> set[str]:
        """Content words of the question found neither in the product's features/FAQ nor in
        any product name nor among question/intent words nor the words asking for one of the
        product's specs: a detail the catalog lacks."""
        # a name in any language is no detail ("bollitore?"); not blanked where words run
        # together, which would leave 电 of 电水壶 a word of its own
        cjk = self._spec_words.get(lang, (True,))[0]
        q = set(tokenize(text if cjk else self.unnamed(text, lang, product_id), lang))
        if not q:
            return set()
        known = self._question_vocab.get(lang) or question_vocab(lang)
        known = known | self._spec_vocab.get((product_id, lang), set())
        feats = self._features.get((product_id, lang), [])
        qsets = self._faq.get((product_id, lang), ([], None))[0]
        seen = set().union(*feats, *qsets) if (feats or qsets) else set()
        # another product's name word is no detail of this one where words run together
        # (水壶是*无线*的吗？: 无线 of the headphones' name asks whether the kettle is cordless);
        # ``strict``: nor where they do, unless that product is named whole ("is the kettle
        # *wireless*?"; not "kettle or bottle?")
        names = (
            set(self._name_tokens(self.catalog.get(product_id), lang))
            if cjk or strict
            else self._name_words[lang]
        )
        if strict and not cjk:
            for o in self.products_named_whole(text, lang):
                names.update(self._name_tokens(self.catalog.get(o), lang))
        return {t for t in q if t not in known and t not in seen and t not in names}

    def unknown_details(
        self, text: str, lang: str, product_id: str, q: set[str] | None = None
    ) -> set[str]:
        """``unknown_terms`` less the frame of a question ("last", 量是): the things asked
        about that the product's catalog entry does not know ("how long does *shipping*
        take?", "how bright is the *screen*?"). ``q``: the text's compound tokens, when the
        caller has them."""
        frame = self._frame(lang)
        raw = self.unknown_terms(text, lang, product_id)
        unknown = {t for t in raw if not frame(t)}
        unknown |= self.magnitude_asked(text, lang, product_id)
        # A bigram across two known words (包防 in 背包防水: "backpack" + "waterproof"; 率大
        # in 功率大吗), or of a short name of the product (电水 in 电水壶 for 电热水壶), is not
        # a word: each character is in a known token, one of them in a real word. 白色 in
        # 有白色的吗 is: its characters appear only in the frame's bigrams (有白, 色的).
        if q is None:
            q = set(tokenize(text, lang, compounds=True))
        names = self.names_of(product_id, lang)
        known = [*(q - unknown), *names]
        words = [*(q - raw), *names]
        return {u for u in unknown if not (CJK_PAIR.fullmatch(u) and all(
            any(c in k for k in known) for c in u) and any(c in w for w in words for c in u))}  # fmt: skip

    def stray_names(self, text: str, lang: str, product_id: str) -> set[str]:
        """Another product's name words asked of this one, that product not named whole:
        "is the kettle *wireless*?" (of the wireless headphones) asks whether it is cordless.
        Not unknown details: "can the lamp fold up for *travel*?" still meets its feature."""
        strict = self.unknown_terms(text, lang, product_id, strict=True)
        return strict - self.unknown_terms(text, lang, product_id) if strict else set()

    def stray_features(self, text: str, lang: str, product_id: str) -> set[str]:
        """``stray_names`` that another product's feature also says: "can you turn off *noise
        cancelling*?" with the kettle on screen asks about the headphones' feature, not the
        kettle's shut-off; "fold up for *travel*" (the backpack's name only) still meets the
        lamp's folding arm."""
        stray = self.stray_names(text, lang, product_id)
        if not stray:
            return set()
        others = [f for o in self.catalog.ids if o != product_id
                  for f in self._features.get((o, lang), [])]  # fmt: skip
        return {t for t in stray if any(t in f for f in others)}

    def magnitude_asked(self, text: str, lang: str, product_id: str) -> set[str]:
        """The text's ``[intent] magnitude`` words ("hoch") where they are what is asked:
        "Wie hoch ist die Lampe?" asks its height, which the catalog does not say; "Wie hoch
        ist die Leistung?" (a spec), "... die Garantie?" and "... der Rabatt?" ask a value the
        catalog has, of which "hoch" is the frame (empty then)."""
        words = intent_tokens(lang, ("magnitude",))
        if not words:
            return set()  # (most languages list none: no second tokenizing of every question)
        mag = set(tokenize(text, lang)) & words
        if not mag or self.specs_asked(text, lang, product_id):
            return set()
        folded, pats = fold(text), intent_patterns()
        if any(has_any(folded, pats[k]) for k in ("warranty", "price_strong", "deal", "stock")):
            return set()
        # (not the FAQ: its match asks for the unknown details, this among them)
        return set() if self.matching_features(text, product_id, lang) else mag

    def names_of(self, product_id: str, lang: str) -> list[str]:
        """The product's own name and aliases in ``lang``, then in the other languages (a
        viewer names it as they know it: "bollitore?" on an English stream), as written."""
        p = self.catalog.get(product_id)
        other = [
            n for lg in LANGS if lg != lang for n in (p.names.get(lg, ""), *p.aliases.get(lg, []))
        ]
        return [p.names.get(lang, ""), *p.aliases.get(lang, []), *other]

    def unnamed(self, text: str, lang: str, product_id: str) -> str:
        """The folded text with the product's names and aliases blanked: a name says which
        product, not what is asked (保温杯漏水吗？ asks whether it leaks, not how long it keeps
        warm, 保温); synonyms applied first, as a phrase may hold a name ("regolare la luce")."""
        return self._blank_names(with_synonyms(fold(text), lang), lang, product_id)

    def _blank_names(self, folded: str, lang: str, product_id: str) -> str:
        """`unnamed` of a text already folded, synonyms applied."""
        if (pat := self._unnamed.get((product_id, lang))) is None:
            cjk = lang in self._spec_words and self._spec_words[lang][0]
            names = sorted({fold(n) for n in self.names_of(product_id, lang) if n}, key=len)
            pat = self._unnamed[(product_id, lang)] = _names_pattern(tuple(names[::-1]), cjk)
        return pat.sub(" ", folded)

    def asks_material(self, text: str, lang: str, unknown: set[str]) -> bool:
        """ "What is it made of?", "Aus welchem Material?", 是什么材质？ (``[intent]
        ask_material``), or a question whose only details the catalog lacks (`unknown`, as
        ``unknown_details`` gives them) are materials ("is the kettle plastic?", 是塑料的吗？)."""
        if self.asks(text, "ask_material"):
            return True
        return bool(unknown) and unknown <= _material_tokens(lang)

    def material_parts(self, lang: str, unknown: set[str]) -> set[str]:
        """Of a material question's details this product's entry lacks (`unknown`), the part
        it asks about: a thing another product's feature names ("what is the *lid* made
        of?", the bottle's lid), not a word asking for a material or naming one, nor a
        quality ("环保材料", eco-friendly, which its recycled fabric answers)."""
        asked = set(unknown) - _material_tokens(lang) - intent_tokens(lang, ("ask_material",))
        return asked & self._feature_vocab.get(lang, frozenset())

    def material_features(self, product_id: str, lang: str) -> list[int]:
        """Indexes of the product's features in ``lang`` that name a material (``[words]
        materials``: "brushed stainless steel", 记忆棉), in the catalog's order."""
        p = self.catalog.products.get(product_id)
        if p is None:
            return []
        feats, flang = p.features_in(lang)
        if flang != lang:
            return []
        return [i for i, f in enumerate(feats) if _names_material(f, lang)]

    def material_answer(self, product_id: str, lang: str) -> FaqMatch | None:
        """The product's first FAQ entry whose answer, in ``lang``, names a material ("...
        made from food-grade stainless steel"), or None."""
        p = self.catalog.products.get(product_id)
        for i, e in enumerate(p.faq if p is not None else ()):
            answer, alang = e.a(lang)
            if alang == lang and _names_material(answer, lang):
                return FaqMatch(e, i, 0.0)
        return None

    def asked_words(self, text: str, lang: str) -> set[str]:
        """The question's search tokens, compound parts included, less its frame of asking."""
        frame = self._frame(lang)
        return {t for t in tokenize(text, lang, compounds=True) if not frame(t)}

    def feature_words_met(self, text: str, product_id: str, lang: str, index: int) -> set[str]:
        """The question's words (not its frame) that the product's feature ``index`` says, a
        compound's parts each ("Getränkehalter": a drink and a holder)."""
        feats = self._features.get((product_id, lang), [])
        if not 0 <= index < len(feats):
            return set()
        # the product's own name, or a part of it, says which product, not what is asked
        # ("*Wasser*kocher" meets the keep-warm mode's "Wasser": "Kann man im Wasserkocher
        # Milch warm machen?" is no keep-warm question); where words run together, only a
        # name the text says whole: 降噪效果好吗？ asks the noise cancelling that 无线降噪耳机
        # is named for, and a bigram of a name is no word of it
        if self._spec_words.get(lang, (False,))[0]:
            said = set(tokenize(text, lang))
            own = {t for n in self.names_of(product_id, lang) if n and set(tokenize(n, lang))
                   <= said for t in tokenize(n, lang, compounds=True)}  # fmt: skip
        else:
            own = set(self._name_tokens(self.catalog.get(product_id), lang))
        return (self.asked_words(text, lang) - own) & feats[index]

    def faq_words_met(self, text: str, product_id: str, lang: str, index: int) -> set[str]:
        """The question's words (not its frame) that the product's FAQ entry ``index`` says,
        in its question or its answer."""
        p = self.catalog.products.get(product_id)
        if p is None or not 0 <= index < len(p.faq):
            return set()
        e = p.faq[index]
        said = set(tokenize(f"{e.q(lang)} {e.a(lang)[0]}", lang, compounds=True))
        return self.asked_words(text, lang) & said

    def answer_covering(
        self, text: str, product_id: str, lang: str, details: set[str]
    ) -> FaqMatch | None:
        """The product's first FAQ entry whose answer, in ``lang``, says the ``details`` of
        the question ``text`` (what it asks that the features and FAQ questions do not, as
        ``unknown_details`` gives them), or None: "is the lamp good for *reading*?" is
        answered by "How bright is it?": "... plenty for reading and drawing"."""
        p = self.catalog.products.get(product_id)
        if p is None or not details:
            return None
        q = tokenize(text, lang, compounds=True)
        for i, e in enumerate(p.faq):
            answer, alang = e.a(lang)
            if alang != lang:
                continue
            covered = details & set(tokenize(answer, lang, compounds=True))
            if not covered or all(t.replace(".", "").replace(",", "").isdigit() for t in covered):
                continue  # a number alone says nothing: "can I buy *2* kettles?" is no "2 year"
            # In a language written without spaces a bigram across two words (合看 in
            # 适合看书) is no detail of its own: each of its characters is in a word the
            # answer says or the question asks with.
            words = [t for t in q if t not in details or t in covered]
            if all(
                CJK_PAIR.fullmatch(u) and all(any(c in w for w in words) for c in u)
                for u in details - covered
            ):
                return FaqMatch(e, i, 0.0)
        return None

    def timed_answer(self, text: str, product_id: str, lang: str) -> FaqMatch | None:
        """For a question asking how long ("how long for a *litre*?", "Wie lange braucht ein
        Liter?", ``[intent] ask_when``): the product's FAQ entry that asks a time too and
        whose answer says what the question names ("A full 1.7 *litres* boils in about 4
        minutes"), or None. A feature that names the litre (its 1.7 litre body) says no time."""
        p = self.catalog.products.get(product_id)
        pats = intent_patterns()
        if p is None or not has_any(fold(text), pats["ask_when"]):
            return None
        frame = self._frame(lang)
        q = {t for t in tokenize(self.unnamed(text, lang, product_id), lang) if not frame(t)}
        for i, e in enumerate(p.faq):
            answer, alang = e.a(lang)
            if alang != lang or not has_any(fold(e.q(lang)), pats["ask_when"]):
                continue
            said = q & set(tokenize(answer, lang))
            if said and not all(t.replace(".", "").replace(",", "").isdigit() for t in said):
                return FaqMatch(e, i, 0.0)
        return None


def spec_words_of(d: LangData, name: str) -> tuple[str, ...]:
    """The words that ask for a spec, then what it is about (``[spec_about]``, ranked after)."""
    return (*d.specs.get(name, ()), *d.spec_about.get(name, ()))


@functools.cache
def attribute_tokens(lang: str) -> frozenset[str]:
    """The search tokens of the language's words asking for a spec ("hot", "heavy", "bright"):
    attributes of a thing, not the thing."""
    d = load_languages().get(lang)
    if d is None:
        return frozenset()
    return frozenset(t for n in d.specs for w in spec_words_of(d, n) for t in tokenize(w, lang))


@functools.cache
def _materials(lang: str) -> tuple[str, ...]:
    d = load_languages().get(lang)
    return tuple(fold(w) for w in d.materials) if d is not None else ()


def _names_pattern(names: tuple[str, ...], cjk: bool) -> re.Pattern[str]:
    """Any of `names` (longest first): anywhere in a language written without spaces, else as
    whole words."""
    alts = "|".join(map(re.escape, names)) or r"(?!)"
    return re.compile(alts if cjk else rf"(?<![^\W_])(?:{alts})(?![^\W_])")


def _names_material(text: str, lang: str) -> bool:
    d = load_languages().get(lang)
    folded = fold(text)
    return d is not None and any(says(folded, w, d.script is not None) for w in _materials(lang))


@functools.cache
def _material_tokens(lang: str) -> frozenset[str]:
    """The search tokens of the language's material words ("plastic", 塑料)."""
    return frozenset(t for w in _materials(lang) for t in tokenize(w, lang))
