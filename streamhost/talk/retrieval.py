"""Catalog retrieval for viewer questions: language, intent, product, FAQ entry, features.

In: a `Catalog` (indexed once, at construction) and, per question, the viewer's text.
Out: ids, scores and catalog text only - never the viewer's text - so nothing downstream can
end up reading chat aloud. Matching is BM25 over small per-language documents with simple
tokenizers (no downloaded models): light suffix stripping for en/it, umlaut folding plus
compound-head matching for de ("Kocher" finds "Wasserkocher"), character bigrams for zh.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from .catalog import LANGS, Catalog, FaqEntry, Product

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_RUN_RE = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([^\W_]+)", re.UNICODE)

STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "a an the is are was were be been it its it's this that these those they them i you we he she"
        " me my your our do does did can could will would should to of in on at for with and or but"
        " how what which who where when why much many any some there here have has had get got so if"
        " about please just tell me one ones yes no not hi hello hey".split()
    ),
    "de": frozenset(
        "der die das den dem des ein eine einen einem einer eines ist sind war waren es er sie wir ihr"
        " ich du man mich mir dich dir und oder aber wie was wer wo wann warum viel viele wieviel mit"
        " fur von zu im in am an auf aus bei nach uber kann konnen hat haben habt gibt denn noch mal"
        " bitte auch so ja nein nicht kein keine dieser diese dieses hier da dass euer eure hallo".split()
    ),
    "it": frozenset(
        "il lo la i gli le un uno una l un' di del dello della dei degli delle a al allo alla ai agli"
        " alle da dal in nel nella con su per tra fra e o ma che chi come cosa quanto quanta quanti"
        " quante quale dove quando perche e' è sono ha hanno c ci si non mi ti vi questo questa questi"
        " queste quello quella si no anche molto piu po' ciao salve".split()
    ),
}
# zh: bigrams made only of these characters carry no content.
_ZH_STOP = frozenset(
    "的了吗呢吧啊呀是我你他她它这那个有在和也就都很还可以么什怎多少能不要会请问一下"
)

# Intent keywords, matched on folded lowercase text with word boundaries (zh: plain substring).
# "Strong" price words decide alone; weak ones ("how much") also open questions like weight.
_PRICE_STRONG = {
    "en": ["price", "prices", "cost", "costs", "pricing", "expensive", "cheap", "pricey"],
    "de": ["kostet", "kosten", "preis", "preise", "teuer", "gunstig", "billig"],
    "it": [
        "costa",
        "costano",
        "prezzo",
        "prezzi",
        "costo",
        "caro",
        "cara",
        "economico",
        "quanto viene",
    ],
    "zh": [
        "多少钱",
        "价格",
        "价钱",
        "几块",
        "多少欧",
        "贵",
        "便宜",
        "什么价",
        "售价",
        "怎么卖",
        "卖多少",
    ],
}
_PRICE_WEAK = {
    "en": ["how much"],
    "de": ["wie viel", "wieviel"],
    "it": ["quanto"],
    "zh": ["多少"],
}
_FEATURE = {
    "en": [
        "feature",
        "features",
        "what can",
        "what does",
        "does it",
        "do they",
        "can it",
        "tell me",
        "spec",
        "specs",
        "how big",
        "what about",
        "details",
        "good for",
        "is it",
        "are they",
    ],
    "de": [
        "was kann",
        "funktion",
        "funktionen",
        "eigenschaft",
        "eigenschaften",
        "kann er",
        "kann sie",
        "hat er",
        "hat sie",
        "haben sie",
        "erzahl",
        "details",
        "ist er",
        "ist sie",
        "ist es",
        "was ist mit",
    ],
    "it": [
        "caratteristiche",
        "funzioni",
        "funzione",
        "cosa fa",
        "com'e",
        "come funziona",
        "parlami",
        "dettagli",
        "ha una",
        "ha un",
        "hanno",
    ],
    "zh": ["功能", "特点", "有什么", "怎么样", "参数", "介绍", "好用", "优点"],
}
# Attribute words also signal a feature question, but they are content: "what colour?" must
# find a colour in the catalog or get a don't-know, so they are not question vocabulary.
_FEATURE_ATTR = {
    "en": [
        "battery",
        "size",
        "material",
        "colour",
        "colours",
        "color",
        "colors",
        "capacity",
        "weight",
    ],
    "de": ["akku", "grosse", "material", "farbe", "farben", "gewicht", "kapazitat"],
    "it": ["batteria", "dimensioni", "materiale", "colore", "colori", "peso", "capienza"],
    "zh": ["材质", "颜色", "电池", "尺寸", "重量", "容量"],
}
_GREETING = {
    "en": [
        "hi",
        "hello",
        "hey",
        "good evening",
        "good morning",
        "good night",
        "greetings",
        "yo",
        "hiya",
    ],
    "de": ["hallo", "servus", "moin", "guten abend", "guten morgen", "gruss", "gruezi", "huhu"],
    "it": ["ciao", "salve", "buonasera", "buongiorno", "buona sera", "ciao a tutti"],
    "zh": ["你好", "大家好", "主播好", "晚上好", "早上好", "嗨", "哈喽", "您好"],
}
# Language hints beyond stopwords: words typical of questions to a shop host.
_LANG_HINTS = {
    "en": frozenset(
        "how much price cost costs what does is the it do have hello hi thanks".split()
    ),
    "de": frozenset(
        "wie viel kostet preis der die das ist hat hallo danke gibt es wieviel".split()
    ),
    "it": frozenset("quanto costa prezzo il lo la che ha ciao grazie come cosa e c'e".split()),
}


# Words that belong to asking, not to the thing asked about; left out when deciding whether a
# question names a detail the catalog does not have.
_QUESTION_WORDS = {
    "en": "question want know tell more info information detail details product thing good nice"
    " really like love buy order get need think say use work works euro euros dollar dollars"
    " money pay".split(),
    "de": "frage wissen mehr info infos produkt ding gut schon toll wirklich kaufen bestellen"
    " brauche finde sagen benutzen funktioniert".split(),
    "it": "domanda sapere piu info informazioni prodotto cosa bello bella davvero comprare ordinare"
    " serve dire usare funziona".split(),
    "zh": ["问题", "知道", "产品", "东西", "买", "下单", "主播", "请问"],
}


class Intent(StrEnum):
    """What a viewer's message asks for."""

    PRICE = "price"
    FEATURE = "feature"
    FAQ = "faq"
    GREETING = "greeting"
    OTHER = "other"


def fold(text: str) -> str:
    """Lowercase, NFKC, strip accents/umlauts (ä -> a, ß -> ss) so spellings without them match."""
    if text.isascii():
        # NFKC/NFD leave ASCII alone and it has no combining marks, "ß" or "’": same result.
        return text.lower()
    text = unicodedata.normalize("NFKC", text).lower().replace("ß", "ss")
    text = text.replace("’", "'")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def detect_language(text: str, default: str = "en") -> str:
    """zh if any CJK character; else the best stopword/keyword score among en/de/it."""
    if _CJK_RE.search(text):
        return "zh"
    raw = text.lower()
    words = re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", fold(text))
    scores = {lang: 0.0 for lang in ("en", "de", "it")}
    for w in words:
        for lang in scores:
            if w in STOPWORDS[lang]:
                scores[lang] += 1.0
            if w in _LANG_HINTS[lang]:
                scores[lang] += 1.0
    if re.search(r"[äöüß]", raw):
        scores["de"] += 2.0
    if re.search(r"[àèéìòù]", raw):
        scores["it"] += 1.5
    best = max(scores, key=lambda k: scores[k])
    if scores[best] <= 0:
        return default
    # On ties prefer the default language (the stream's), then en.
    top = [k for k, v in scores.items() if v == scores[best]]
    if default in top:
        return default
    return "en" if "en" in top else top[0]


def _stem_en(w: str) -> str:
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        return w[:-3]
    if len(w) > 4 and w.endswith("ed"):
        return w[:-2]
    if len(w) > 4 and w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def _stem_de(w: str) -> str:
    for suf in ("ern", "en", "er", "es", "e", "n", "s"):
        if len(w) - len(suf) >= 4 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def _stem_it(w: str) -> str:
    if len(w) > 4 and w[-1] in "aeio":
        return w[:-1]
    return w


_STEM = {"en": _stem_en, "de": _stem_de, "it": _stem_it}


def tokenize(text: str, lang: str, *, compounds: bool = False) -> list[str]:
    """Search tokens of `text`: stopwords dropped, words stemmed per `lang`, CJK as bigrams.

    `compounds` (index side, de only) also emits the compound's tails and heads of >= 4
    letters, so a query for a part ("kocher", "akku") meets the compound.
    """
    folded = fold(text)
    out: list[str] = []
    word_lang = lang if lang in _STEM else "en"
    stop = STOPWORDS.get(word_lang, frozenset())
    stem = _STEM[word_lang]
    for cjk, word in _RUN_RE.findall(folded.replace("'", " ")):
        if cjk:
            if len(cjk) == 1:
                if cjk not in _ZH_STOP:
                    out.append(cjk)
                continue
            for i in range(len(cjk) - 1):
                bg = cjk[i : i + 2]
                if not (bg[0] in _ZH_STOP and bg[1] in _ZH_STOP):
                    out.append(bg)
            continue
        if word in stop or (len(word) == 1 and not word.isdigit()):
            continue
        s = stem(word)
        out.append(s)
        if compounds and word_lang == "de" and len(s) >= 8:
            out.extend(s[i:] for i in range(3, len(s) - 3))  # heads: "kocher" in "wasserkocher"
            out.extend(s[:i] for i in range(4, len(s) - 3))  # modifiers: "akku" in "akkulaufzeit"
    return out


class BM25:
    """Okapi BM25 over a fixed list of token lists (idf kept positive for tiny collections)."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tfs = [Counter(d) for d in docs]
        self.lens = [len(d) for d in docs]
        self.avg = (sum(self.lens) / len(docs)) if docs and sum(self.lens) else 1.0
        df: Counter[str] = Counter()
        for tf in self.tfs:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}

    def scores(self, query: list[str]) -> list[float]:
        out = []
        q = [t for t in dict.fromkeys(query) if t in self.idf]
        for tf, dl in zip(self.tfs, self.lens, strict=True):
            s = 0.0
            norm = self.k1 * (1 - self.b + self.b * dl / self.avg)
            for t in q:
                f = tf.get(t)
                if f:
                    s += self.idf[t] * f * (self.k1 + 1) / (f + norm)
            out.append(s)
        return out


@dataclass(frozen=True, slots=True)
class FaqMatch:
    entry: FaqEntry
    index: int
    score: float


class Retriever:
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
        for lang in LANGS:
            name_docs, content_docs = [], []
            for p in catalog:
                name_docs.append(self._name_tokens(p, lang))
                content_docs.append(self._content_tokens(p, lang))
                qs = [set(tokenize(e.q(lang), lang, compounds=True)) for e in p.faq]
                self._faq[(p.id, lang)] = (qs, BM25([sorted(q) for q in qs]))
                feats, flang = p.features_in(lang)
                self._features[(p.id, lang)] = [
                    set(tokenize(f, flang, compounds=True)) for f in feats
                ]
            self._names[lang] = BM25(name_docs)
            self._content[lang] = BM25(content_docs)
        self._question_vocab = {lang: _question_vocab(lang) for lang in LANGS}

    @staticmethod
    def _name_tokens(p: Product, lang: str) -> list[str]:
        texts = [p.names.get(lang, ""), *p.aliases.get(lang, [])]
        if lang != "en":
            # Viewers often use the English name in any stream (and product ids are English).
            texts += [p.names.get("en", ""), *p.aliases.get("en", []), p.id]
        else:
            texts.append(p.id)
        toks: list[str] = []
        for t in texts:
            toks += tokenize(t, lang, compounds=True)
        return toks

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
                q = tokenize(text, lg)
                if not q:
                    continue
                scores = index[lg].scores(q)
                best = max(range(len(scores)), key=scores.__getitem__)
                if scores[best] > 0.5:
                    return self._ids[best], scores[best]
        return None

    # -- FAQ and features --------------------------------------------------------------------

    def faq_match(self, text: str, product_id: str, lang: str) -> FaqMatch | None:
        """Best FAQ entry of the product whose question the text covers well enough."""
        p = self.catalog.products.get(product_id)
        if p is None or not p.faq:
            return None
        qsets, bm = self._faq[(product_id, lang)]
        q = set(tokenize(text, lang))
        if not q:
            return None
        scores = bm.scores(sorted(q))
        best_i, best_s = -1, 0.0
        for i, s in enumerate(scores):
            overlap = len(q & qsets[i])
            # Coverage of the FAQ question guards against one shared common word ("long")
            # pulling in an unrelated entry.
            if overlap and overlap / max(1, len(qsets[i])) >= 0.3 and s > best_s:
                best_i, best_s = i, s
        if best_i < 0:
            return None
        return FaqMatch(p.faq[best_i], best_i, best_s)

    def find_faq(self, text: str, product_id: str, lang: str) -> str | None:
        """The catalog's answer text (in `lang`, else en) for the matching FAQ entry, or None."""
        m = self.faq_match(text, product_id, lang)
        return m.entry.a(lang)[0] if m else None

    def matching_features(self, text: str, product_id: str, lang: str) -> list[int]:
        """Indexes of the product's features sharing words with the text, best first."""
        feats = self._features.get((product_id, lang), [])
        q = set(tokenize(text, lang))
        hits = [(len(q & f), i) for i, f in enumerate(feats) if q & f]
        return [i for _, i in sorted(hits, key=lambda h: (-h[0], h[1]))]

    def unknown_terms(self, text: str, lang: str, product_id: str) -> set[str]:
        """Content words of the question found neither in the product's features/FAQ nor in
        any product name nor among question/intent words: a detail the catalog lacks."""
        q = set(tokenize(text, lang))
        if not q:
            return set()
        known = self._question_vocab.get(lang) or _question_vocab(lang)
        feats = self._features.get((product_id, lang), [])
        qsets = self._faq.get((product_id, lang), ([], None))[0]
        seen = set().union(*feats, *qsets) if (feats or qsets) else set()
        names = self._names[lang].idf
        return {t for t in q if t not in known and t not in seen and t not in names}

    # -- intent ------------------------------------------------------------------------------

    def detect_intent(self, text: str, lang: str, product_id: str | None = None) -> Intent:
        """price > faq > feature > greeting > other; keywords of all languages are checked."""
        folded = fold(text)
        if _has_any(folded, _PRICE_STRONG):
            return Intent.PRICE
        weak_price = _has_any(folded, _PRICE_WEAK)
        if product_id is not None and self.faq_match(text, product_id, lang) is not None:
            return Intent.FAQ
        if weak_price:
            # "how much does it weigh?" is not a price question; a detail we do not know
            # must not be answered with the price.
            if product_id is not None and self.unknown_terms(text, lang, product_id):
                return Intent.OTHER
            return Intent.PRICE
        if _has_any(folded, _FEATURE) or _has_any(folded, _FEATURE_ATTR):
            return Intent.FEATURE
        if _has_any(folded, _GREETING):
            return Intent.GREETING
        return Intent.OTHER


def _question_vocab(lang: str) -> set[str]:
    words: list[str] = list(_QUESTION_WORDS.get(lang, []))
    for table in (_PRICE_STRONG, _PRICE_WEAK, _FEATURE, _GREETING):
        words += table.get(lang, [])
    return {t for w in words for t in tokenize(w, lang)}


def _compile(table: dict[str, list[str]]) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
    latin = sorted(
        {fold(w) for lg, ws in table.items() if lg != "zh" for w in ws}, key=len, reverse=True
    )
    cjk = table.get("zh", [])
    lat = re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(w) for w in latin) + r")(?![^\W_])")
    zh = re.compile("|".join(re.escape(w) for w in cjk)) if cjk else None
    return lat, zh


_PATTERNS: dict[int, tuple[re.Pattern[str], re.Pattern[str] | None]] = {}


def _has_any(folded: str, table: dict[str, list[str]]) -> bool:
    pats = _PATTERNS.get(id(table))
    if pats is None:
        pats = _PATTERNS[id(table)] = _compile(table)
    lat, zh = pats
    return bool(lat.search(folded) or (zh is not None and zh.search(folded)))
