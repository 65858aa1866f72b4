"""CSV catalogs: text in, the same row dicts a JSON catalog has, then `validate_rows`.

Columns, list cells and FAQ pairs are described in `streamhost.talk.catalog`; problems name the
CSV line (of the row's first line), the id and the column.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from .catalog_rows import CatalogError, validate_rows
from .products import LANGS, Catalog

__all__ = ["CSV_COLUMNS", "parse_catalog_csv"]

# CSV columns: scalar ones, then per-language list/text ones (name_<lang> ...).
_CSV_SCALARS = (
    "id",
    "price",
    "currency",
    "stock",
    "discount_percent",
    "sale_price",
    "sale_start",
    "sale_end",
    "specs",
    "image",
)
_CSV_PER_LANG = (
    "name",
    "aliases",
    "grammar",
    "features",
    "faq",
    "allowed_claims",
    "forbidden_claims",
)
CSV_COLUMNS: tuple[str, ...] = _CSV_SCALARS + tuple(
    f"{c}_{lang}" for c in _CSV_PER_LANG for lang in LANGS
)
# validate_rows speaks JSON field names; a CSV user should read the column they typed.
_CSV_FIELD_NAMES: dict[str, str] = {
    "discount": "discount_percent",
    "discount.price": "sale_price",
    "sale": "sale_price",
    "sale.price": "sale_price",
    "sale.start": "sale_start",
    "sale.end": "sale_end",
    "names": "name_*",
    **{f"grammar.{lang}": f"grammar_{lang}" for lang in LANGS},
}
_BAR_RE = re.compile(r"(?<!\\)\|")


def _split_list(cell: str) -> list[str]:
    """``a|b|c`` -> items; ``\\|`` is a literal bar inside an item."""
    return [part.replace("\\|", "|").strip() for part in _BAR_RE.split(cell)]


def _csv_int(cell: str) -> int | str:
    """Whole numbers become int; anything else stays text so the validator names it."""
    t = cell.strip()
    return int(t) if re.fullmatch(r"[+-]?\d+", t) else t


def parse_catalog_csv(
    text: str, source: str = "<memory>", default_currency: str | None = None
) -> Catalog:
    """Validate CSV catalog text (columns: see the module docstring) into a Catalog.

    Each data row becomes the same row dict a JSON product would be, then goes through
    `validate_rows`; problems name the CSV line, id and column, all at once.
    """
    text = text.removeprefix("\ufeff")
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogError(source, ["the file is empty (need a header row and products)"]) from None
    except csv.Error as e:
        raise CatalogError(source, [f"line {reader.line_num}: {e}"]) from None
    cols = [h.strip().lower() for h in header]
    known = set(CSV_COLUMNS)
    seen_cols: set[str] = set()
    for j, c in enumerate(cols):
        if c not in known:
            problems.append(
                f"line 1: column {j + 1} {c!r} is not a known column "
                f"(known: id, price, currency, stock, discount_percent, sale_price, sale_start, "
                f"sale_end, specs, image, and name/aliases/grammar/features/faq/allowed_claims/"
                f"forbidden_claims with _en, _de, _it, _zh)"
            )
        elif c in seen_cols:
            problems.append(f"line 1: column {c!r} appears twice")
        seen_cols.add(c)
    for need in ("id", "price"):
        if need not in seen_cols:
            problems.append(f"line 1: column {need!r} is missing")
    if problems:
        raise CatalogError(source, problems)

    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    line = reader.line_num + 1  # first line of the next record (quoted cells span lines)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(f"line {line}: {e}")
            break
        label = f"line {line}"
        line = reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(cols):
            problems.append(f"{label}: has {len(cells)} cells, the header has {len(cols)}")
            continue
        cells += [""] * (len(cols) - len(cells))
        raw = {c: v.strip() for c, v in zip(cols, cells, strict=True) if v.strip()}
        rows.append(_csv_row(raw, label, problems))
        labels.append(label)
    if not rows:
        problems.append("no products (need at least one row after the header)")
    products = validate_rows(
        rows, problems, default_currency, labels=labels, field_names=_CSV_FIELD_NAMES
    )
    if problems:
        # Cell checks ran before row validation: put the messages back in file order.
        problems.sort(key=_line_of)
        raise CatalogError(source, problems)
    return Catalog(products, {}, source)


def _line_of(message: str) -> int:
    m = re.match(r"line (\d+)", message)
    return int(m.group(1)) if m else 0


def _csv_row(raw: dict[str, str], label: str, problems: list[str]) -> dict[str, Any]:
    """One CSV record's non-empty cells -> a JSON-shaped product row. Cell-level problems
    (an empty list item, a FAQ pair without ``::``) are reported here, naming the column."""
    pid = raw.get("id")
    where = f"{label} (id {json.dumps(pid, ensure_ascii=False)})" if pid is not None else label
    row: dict[str, Any] = {}
    if pid is not None:
        row["id"] = pid
    for k in ("price", "currency", "image"):
        if k in raw:
            row[k] = raw[k]
    if "stock" in raw:
        row["stock"] = _csv_int(raw["stock"])
    if "discount_percent" in raw:
        row["discount"] = {"percent": _csv_int(raw["discount_percent"])}
    window = [k for k in ("sale_start", "sale_end") if k in raw]
    if "sale_price" in raw:
        if not window:
            row["discount"] = {**row.get("discount", {}), "price": raw["sale_price"]}
        elif len(window) == 2:
            row["sale"] = {
                "price": raw["sale_price"],
                "start": raw["sale_start"],
                "end": raw["sale_end"],
            }
        else:
            missing = ({"sale_start", "sale_end"} - set(window)).pop()
            problems.append(f"{where}: {missing} is empty (a sale window needs both ends)")
    elif window:
        problems.append(f"{where}: sale_price is empty but {window[0]} is given")
    if "specs" in raw:
        specs: dict[str, str] = {}
        for item in _split_list(raw["specs"]):
            k, sep, v = item.partition("=")
            if not sep or not k.strip() or not v.strip():
                problems.append(f"{where}: specs item {item!r} must be name=value")
            else:
                specs[k.strip()] = v.strip()
        row["specs"] = specs
    faq: dict[int, dict[str, dict[str, str]]] = {}
    for lang in LANGS:
        if f"name_{lang}" in raw:
            row.setdefault("names", {})[lang] = raw[f"name_{lang}"]
        if f"grammar_{lang}" in raw:
            row.setdefault("grammar", {})[lang] = raw[f"grammar_{lang}"]
        for col, key in (
            ("aliases", "aliases"),
            ("features", "features"),
            ("allowed_claims", "allowed_claims"),
            ("forbidden_claims", "forbidden_claims"),
        ):
            cell = raw.get(f"{col}_{lang}")
            if cell is None:
                continue
            items = _split_list(cell)
            if not all(items):
                problems.append(f"{where}: {col}_{lang} has an empty item (check the '|')")
            row.setdefault(key, {})[lang] = [t for t in items if t]
        cell = raw.get(f"faq_{lang}")
        if cell is not None:
            for n, item in enumerate(_split_list(cell)):
                q, sep, a = item.partition("::")
                if not sep or not q.strip() or not a.strip():
                    problems.append(
                        f"{where}: faq_{lang} item {n + 1} {item!r} must be question::answer"
                    )
                    continue
                e = faq.setdefault(n, {"q": {}, "a": {}})
                e["q"][lang] = q.strip()
                e["a"][lang] = a.strip()
    if faq:
        row["faq"] = [faq[n] for n in sorted(faq)]
    return row
