"""A catalog spec's value as the host says it: "2200 W" -> "2200 watts", "1,7 Liter", "250克".

In: the value as the catalog writes it (a number, then a unit symbol or word, or no unit) and
a language. Out: the text to speak, or None when the value is not a number with a unit known in
that language: the host then says it will check rather than read out a symbol ("lm") or a
foreign word to the viewer. Like the currencies (talk/prices.py) the unit words live here, so
a spec reads the same wherever it is said.
"""

from __future__ import annotations

import re

__all__ = ["UNITS", "spoken_value"]

# Per unit: per language (singular, plural) or (one form). The symbol a catalog writes and
# every listed word, in any language, name the unit ("1.7 l", "1.7 litres", "1,7 Liter", "1.7升").
# fmt: off
UNITS: dict[str, dict[str, tuple[str, ...]]] = {
    "w": {"en": ("watt", "watts"), "de": ("Watt",), "it": ("watt",), "zh": ("瓦",)},
    "kw": {"en": ("kilowatt", "kilowatts"), "de": ("Kilowatt",), "it": ("kilowatt",),
           "zh": ("千瓦",)},
    "v": {"en": ("volt", "volts"), "de": ("Volt",), "it": ("volt",), "zh": ("伏",)},
    "mah": {"en": ("milliamp hour", "milliamp hours"), "de": ("Milliamperestunden",),
            "it": ("milliampere ora", "milliampere ora"), "zh": ("毫安时",)},
    "g": {"en": ("gram", "grams"), "de": ("Gramm",), "it": ("grammo", "grammi"), "zh": ("克",)},
    "kg": {"en": ("kilogram", "kilograms"), "de": ("Kilogramm",), "it": ("chilo", "chili"),
           "zh": ("公斤",)},
    "ml": {"en": ("millilitre", "millilitres"), "de": ("Milliliter",),
           "it": ("millilitro", "millilitri"), "zh": ("毫升",)},
    "l": {"en": ("litre", "litres"), "de": ("Liter",), "it": ("litro", "litri"), "zh": ("升",)},
    "mm": {"en": ("millimetre", "millimetres"), "de": ("Millimeter",),
           "it": ("millimetro", "millimetri"), "zh": ("毫米",)},
    "cm": {"en": ("centimetre", "centimetres"), "de": ("Zentimeter",),
           "it": ("centimetro", "centimetri"), "zh": ("厘米",)},
    "m": {"en": ("metre", "metres"), "de": ("Meter",), "it": ("metro", "metri"), "zh": ("米",)},
    "in": {"en": ("inch", "inches"), "de": ("Zoll",), "it": ("pollice", "pollici"),
           "zh": ("英寸",)},
    "min": {"en": ("minute", "minutes"), "de": ("Minute", "Minuten"), "it": ("minuto", "minuti"),
            "zh": ("分钟",)},
    "h": {"en": ("hour", "hours"), "de": ("Stunde", "Stunden"), "it": ("ora", "ore"),
          "zh": ("小时",)},
    "month": {"en": ("month", "months"), "de": ("Monat", "Monate"), "it": ("mese", "mesi"),
              "zh": ("个月",)},
    "year": {"en": ("year", "years"), "de": ("Jahr", "Jahre"), "it": ("anno", "anni"),
             "zh": ("年",)},
    "lm": {"en": ("lumen", "lumens"), "de": ("Lumen",), "it": ("lumen",), "zh": ("流明",)},
}
# fmt: on
# Other ways catalogs write a unit; each unit's own words are added below.
# fmt: off
_ALIASES = {
    "liter": "l", "liters": "l", "milliliter": "ml",
    "milliliters": "ml", "″": "in", '"': "in", "hr": "h", "hrs": "h", "std": "h", "mins": "min",
    "yr": "year", "yrs": "year", "y": "year", "meter": "m", "meters": "m", "millimeter": "mm",
    "centimeter": "cm", "kilo": "kg", "kilos": "kg",
}
# fmt: on
_UNIT_OF = {
    **{w.lower(): u for u, by in UNITS.items() for ws in by.values() for w in ws},
    **{u: u for u in UNITS},
    **_ALIASES,
}
# Languages that write a decimal comma, and those that put no space before a unit.
_DECIMAL_COMMA = frozenset({"de", "it", "fr", "es", "pt", "nl"})
_NO_SPACE = frozenset({"zh", "ja"})
_VALUE_RE = re.compile(r"^\s*(\d+)(?:[.,](\d{1,2}|\d{4,}))?\s*(.*?)\s*\.?$")


def spoken_value(value: str, lang: str) -> str | None:
    """The spec `value` ("1.7 l") spoken in `lang` ("1,7 Liter"), or None (see the module)."""
    m = _VALUE_RE.match(value)
    if m is None:
        return None  # "5.300" or "approx. 2 kg": not a value this can read safely
    whole, frac, unit_text = m.groups()
    sep = "," if lang in _DECIMAL_COMMA else "."
    number = f"{whole}{sep}{frac}" if frac else whole
    if not unit_text:
        return number
    unit = _UNIT_OF.get(unit_text.lower())
    forms = UNITS.get(unit or "", {}).get(lang)
    if not forms:
        return None
    word = forms[0] if (number == "1" or len(forms) == 1) else forms[1]
    return f"{number}{'' if lang in _NO_SPACE else ' '}{word}"
