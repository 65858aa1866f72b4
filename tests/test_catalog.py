"""Catalog formats (JSON and CSV), discounts, sale windows, specs and claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from streamhost.talk.catalog import (
    CSV_COLUMNS,
    CatalogError,
    load_catalog,
    parse_catalog,
    parse_catalog_csv,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "catalog"
CET = timezone(timedelta(hours=1))


@pytest.fixture(scope="module")
def both():
    return load_catalog(ASSETS / "demo.json"), load_catalog(ASSETS / "demo.csv")


def test_csv_and_json_load_to_the_same_products(both):
    j, c = both
    assert j.ids == c.ids and len(j) >= 5
    for a, b in zip(j, c, strict=True):
        assert a == b, a.id
    # The demo CSV is saved the way spreadsheets save it: with a byte-order mark.
    assert (ASSETS / "demo.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_new_fields_loaded(both):
    for cat in both:
        k = cat.get("kettle")
        assert k.specs["capacity"] == "1.7 l"
        assert "dishwasher safe" in k.forbidden_claims_in("en")
        assert k.allowed_claims_in("de") == ["kocht eine Tasse in etwa 1 Minute"]
        assert k.forbidden_claims_in("xx") == []
        assert len(k.sales) == 1 and k.sales[0].price == Decimal("29.9")
        assert cat.get("headphones").discount_price == Decimal("79")
        assert len(k.faq) == 3 and k.faq[0].a("it")[1] == "it"


def test_sale_window_changes_spoken_price_inside_only(both):
    for cat in both:
        k = cat.get("kettle")  # 39.90 regular, 20 % standing discount, 29.90 from 20:00 to 02:00
        start = datetime(2025, 11, 28, 20, 0, tzinfo=CET)
        end = datetime(2025, 11, 29, 2, 0, tzinfo=CET)
        before, inside, last = start - timedelta(seconds=1), start + timedelta(hours=3), end
        assert k.price_spoken_at(inside, "en") == "29 euros 90"
        assert k.price_spoken_at(start, "de") == "29 Euro 90"  # start inclusive
        assert k.price_display_at(inside, "de") == "29,90 €"
        assert k.price_at(end - timedelta(microseconds=1)) == Decimal("29.9")
        for t in (before, last):  # end exclusive
            assert k.price_at(t) == Decimal("31.92")  # 39.90 less 20 %, half up
            assert k.price_spoken_at(t, "it") == "31 euro e 92"
        # The same instant in another zone is the same instant.
        assert k.price_at(inside.astimezone(UTC)) == Decimal("29.9")
        # price_spoken / price_display stay the regular price (existing behaviour).
        assert k.price_spoken("en") == "39 euros 90"
        h = cat.get("headphones")
        assert h.price_at(inside) == Decimal("79") and h.price_spoken_at(inside) == "79 euros"
        assert cat.get("bottle").price_at(inside) == Decimal("24.9")
        # Sale prices are catalog facts the guard must accept.
        assert {"29", "31", "92", "79"} <= cat.numbers()


def test_naive_sale_window_is_the_shop_wall_clock():
    cat = parse_catalog(
        {
            "products": [
                {
                    "id": "x",
                    "names": {"en": "x"},
                    "price": "10",
                    "currency": "EUR",
                    "sale": [
                        {"percent": 50, "start": "2025-01-01T20:00", "end": "2025-01-01T21:00"},
                        {"price": 8, "start": "2025-01-02T20:00", "end": "2025-01-02T21:00"},
                    ],
                }
            ]
        }
    )
    x = cat.get("x")
    assert x.price_at(datetime(2025, 1, 1, 20, 30)) == Decimal("5.00")
    # An aware `when` is read on its own wall clock against a naive window.
    assert x.price_at(datetime(2025, 1, 1, 20, 30, tzinfo=CET)) == Decimal("5.00")
    assert x.price_at(datetime(2025, 1, 2, 20, 59)) == Decimal("8")
    assert x.price_at(datetime(2025, 1, 2, 21, 0)) == Decimal("10")


HEADER = "id,name_en,price,currency,stock,discount_percent,sale_price,sale_start,sale_end,faq_en,features_en,specs,grammar_de"


def test_invalid_csv_rows_all_named_with_line_id_and_column(tmp_path):
    rows = [
        'ok,Fine thing,10,EUR,1,,,,,"Q?::A.",a|b,size=1 m,m',  # line 2: valid
        "neg,Negative,-5,EUR,,,,,,,,,",  # 3
        "stk,Stock,10,EUR,-3,,,,,,,,",  # 4
        "pct,Percent,10,EUR,,150,,,,,,,",  # 5
        "win,Window,10,EUR,,,8,2025-01-01T10:00,,,,,",  # 6: sale_end empty
        "ord,Order,10,EUR,,,8,2025-01-02T10:00,2025-01-01T10:00,,,,",  # 7
        "hi,High,10,EUR,,,12,,,,,,",  # 8: sale price above regular
        "cur,Currency,10,XYZ,,,,,,,,,",  # 9
        "ok,Duplicate,10,EUR,,,,,,,,,",  # 10
        "faq,Faq,10,EUR,,,,,,no separator,,,",  # 11
        "emp,Empty,10,EUR,,,,,,,a||b,,",  # 12
        "spc,Specs,10,EUR,,,,,,,,size,",  # 13
        ",Noid,10,EUR,,,,,,,,,",  # 14
        "gr,Grammar,10,EUR,,,,,,,,,q",  # 15
        "tim,Time,10,EUR,,,8,tomorrow,2025-01-01T10:00,,,,",  # 16
        'ml,"Multi',  # 17-18: a quoted cell spanning two lines
        'line",abc,EUR,,,,,,,,,',
        "late,Late,10,EUR,x,,,,,,,,",  # 19: line numbers survive the multi-line cell
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\ufeff" + HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(CatalogError) as ei:
        load_catalog(path)
    msg = str(ei.value)
    print(msg)
    expected = [
        "line 3 (id \"neg\"): price must be a positive number, got '-5'",
        'line 4 (id "stk"): stock must be a whole number >= 0, got -3',
        'line 5 (id "pct"): discount_percent must be a whole percent between 1 and 99, got 150',
        'line 6 (id "win"): sale_end is empty',
        'line 7 (id "ord"): sale_end must be after start',
        'line 8 (id "hi"): sale_price must be below the regular price 10',
        "line 9 (id \"cur\"): currency unknown currency 'XYZ'",
        'line 10 (id "ok"): id duplicates line 2',
        "line 11 (id \"faq\"): faq_en item 1 'no separator' must be question::answer",
        'line 12 (id "emp"): features_en has an empty item',
        "line 13 (id \"spc\"): specs item 'size' must be name=value",
        "line 14: id is missing",
        "line 15 (id \"gr\"): grammar_de must be one of f, m, n, pl, got 'q'",
        'line 16 (id "tim"): sale_start must be an ISO date-time',
        'line 17 (id "ml"): price must be a positive number, got "abc"',
        "line 19 (id \"late\"): stock must be a whole number >= 0, got 'x'",
    ]
    for e in expected:
        assert e in msg, e
    assert len(ei.value.problems) == len(expected)
    assert [p.split(" (")[0] for p in ei.value.problems] == [e.split(" (")[0] for e in expected]
    assert str(path) in msg


def test_bad_csv_header_named():
    with pytest.raises(CatalogError) as ei:
        parse_catalog_csv("name_en,prcie,name_en\nx,1,y\n")
    msg = str(ei.value)
    assert "line 1: column 2 'prcie' is not a known column" in msg
    assert "line 1: column 'name_en' appears twice" in msg
    assert "line 1: column 'id' is missing" in msg
    assert "line 1: column 'price' is missing" in msg
    with pytest.raises(CatalogError, match="no products"):
        parse_catalog_csv("id,price,currency\n\n")
    with pytest.raises(CatalogError, match="has 4 cells, the header has 3"):
        parse_catalog_csv("id,price,currency\na,1,EUR,extra\n")


def test_csv_lists_escapes_and_default_currency():
    text = "id,price,name_en,features_en,faq_de,faq_en\nx,2.50,X,a \\| b|c,F?::A.,Q?::Ans.\n"
    cat = parse_catalog_csv(text, default_currency="usd")
    x = cat.get("x")
    assert x.currency == "USD" and x.features["en"] == ["a | b", "c"]
    assert x.faq[0].q("de") == "F?" and x.faq[0].q("en") == "Q?"
    assert all(c in CSV_COLUMNS for c in text.split("\n")[0].split(","))
    with pytest.raises(CatalogError, match="currency is missing"):
        parse_catalog_csv("id,price,name_en\nx,1,X\n")


def test_invalid_new_json_fields_named():
    bad = {
        "products": [
            {
                "id": "a",
                "names": {"en": "a"},
                "price": 10,
                "currency": "EUR",
                "discount": {"percent": 10, "price": 9},
                "sale": {"price": 8, "percent": 5, "start": "2025-01-01T10:00", "end": "x"},
                "specs": {"w": [1]},
                "allowed_claims": {"en": [""]},
                "forbidden_claims": "nope",
            },
            {
                "id": "b",
                "names": {"en": "b"},
                "price": 10,
                "currency": "EUR",
                "sale": {
                    "percent": 5,
                    "start": "2025-01-01T10:00+01:00",
                    "end": "2025-01-01T11:00",
                },
            },
        ]
    }
    with pytest.raises(CatalogError) as ei:
        parse_catalog(bad)
    msg = str(ei.value)
    for frag in [
        'products[0] (id "a"): discount must give percent or price, not both',
        'products[0] (id "a"): sale must give exactly one of price or percent',
        'products[0] (id "a"): sale.end must be an ISO date-time',
        'products[0] (id "a"): specs.w must be a text or number',
        'products[0] (id "a"): allowed_claims.en must be a list of non-empty texts',
        'products[0] (id "a"): forbidden_claims must be an object',
        'products[1] (id "b"): sale.end must have a UTC offset exactly when start has one',
    ]:
        assert frag in msg, frag


def test_unsupported_format_and_unreadable(tmp_path):
    with pytest.raises(CatalogError, match=r"supported: \.json, \.csv"):
        load_catalog(tmp_path / "c.xlsx")
    with pytest.raises(CatalogError, match="cannot read file"):
        load_catalog(tmp_path / "missing.csv")
