"""Chat's typos of the catalog's product names: "ketle", "backpak", "botle", "kettel",
"boraccia" are the kettle, the backpack, the bottle and the borraccia.

In: the catalog (every product's names and aliases, in every language written with spaces).
Out: ``NameSpeller(catalog).correct(text)`` -> the text with each misspelt name word written as
the catalog writes it. A typo is one letter left out, one doubled or added, or two neighbours
swapped, in a name word of six letters or more; one letter *replaced* is not taken for a typo
("settle" is no "kettle", "battle" no "bottle"), nor is a word near a shorter name word ("lame"
and "lampe", "nose" and "noise", "slight" and "light" are words of their own). A word the
catalog's names spell, or one shorter than five letters, is left alone. "backpak price?" got
the kettle's price (the product on screen).
"""

from __future__ import annotations

import re

from .catalog import Catalog

MIN_NAME_LETTERS = 6  # "lampe", "light", "water" have too many neighbours to guess at
MIN_TYPO_LETTERS = 5
_WORD = re.compile(r"[^\W\d_]{5,}")
_CJK = re.compile(r"[\u3400-\u9fff]")


class NameSpeller:
    """The catalog's name words and their typos, one lookup per chat word (see the module)."""

    def __init__(self, catalog: Catalog) -> None:
        spelt = {
            w
            for p in catalog
            for n in [*p.names.values(), *(a for al in p.aliases.values() for a in al)]
            for w in re.findall(r"[^\W\d_]+", n.lower())
            if not _CJK.search(w)
        }
        self._typos: dict[str, str] = {}
        for w in sorted(x for x in spelt if len(x) >= MIN_NAME_LETTERS):
            # a letter left out ("ketle") or doubled ("kettlle"), two neighbours swapped
            # ("kettel"); never at the last letter, where languages inflect ("viaggi" is no
            # "viaggio" misspelt, "leuchtet" no "leuchte")
            typos = {w[:i] + w[i + 1 :] for i in range(len(w) - 1)}
            typos |= {w[:i] + w[i] + w[i:] for i in range(len(w) - 1)}
            typos |= {_swap(w, i) for i in range(len(w) - 1)}
            typos.add(w.replace("ph", "f"))  # spelt as said: "headfones"
            for typo in sorted(typos):
                if typo != w and typo not in spelt and len(typo) >= MIN_TYPO_LETTERS:
                    self._typos.setdefault(typo, w)

    def correct(self, text: str) -> str:
        """`text` with its misspelt name words spelt as the catalog does (see the module)."""
        if self._typos.keys().isdisjoint(_WORD.findall(text.lower())):
            return text  # (every chat message comes here: one pass for the common case)
        return _WORD.sub(lambda m: self._typos.get(m.group().lower(), m.group()), text)


def _swap(w: str, i: int) -> str:
    return w[:i] + w[i + 1] + w[i] + w[i + 2 :]
