"""The contract table and the value parsers: unit tests and hypothesis properties."""

from __future__ import annotations

import datetime as dt
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data.contract import KINDS, TABLES, match_header, normalize_header, resolve_kind
from data.parsers import (
    EXCEL_EPOCH,
    parse_annual_grade,
    parse_bool,
    parse_column,
    parse_date,
    parse_grade,
    parse_month,
)
from data.periods import PeriodError, format_period, parse_period

CN = {1: "一", 2: "二", 3: "三", 4: "四"}
FULL_WIDTH = str.maketrans("0123456789Q", "０１２３４５６７８９Ｑ")


def test_contract_matches_schema(tmp_store) -> None:
    with tmp_store.read() as con:
        for kind in KINDS.values():
            columns = {
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = $t",
                    {"t": kind.table},
                ).fetchall()
            }
            assert set(kind.column_names) <= columns, kind.name
            assert {"batch_id", "extra"} <= columns
            assert set(kind.key) <= set(kind.column_names)
    assert len(TABLES) == len(KINDS) == 12  # nine of the contract, three of issue 20


def test_every_header_spelling_is_unambiguous_within_a_kind() -> None:
    for kind in KINDS.values():
        seen: dict[str, str] = {}
        for col in kind.columns:
            for spelling in col.spellings:
                folded = normalize_header(spelling)
                assert seen.setdefault(folded, col.name) == col.name, (kind.name, spelling)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("单位类别", "unit_kind"),
        (" 单位 类别 ", "unit_kind"),
        ("unit_kind", "unit_kind"),
        ("UNIT_KIND", "unit_kind"),
        ("单位编码（unit_code）", "unit_code"),
        ("单位编码(unit_code)", "unit_code"),
        ("\ufeff单位编码", "unit_code"),
        ("*单位名称", "unit_name"),
        ("所属地区", "region"),
        ("别的列", None),
    ],
)
def test_header_normalization(header: str, expected: str | None) -> None:
    assert match_header(KINDS["units"], header) == expected


def test_resolve_kind_by_name_or_label() -> None:
    assert resolve_kind("ratings").name == "ratings"
    assert resolve_kind("民主测评").name == "ratings"
    assert resolve_kind(" 激励与纠偏 ").name == "actions"
    with pytest.raises(KeyError):
        resolve_kind("foo")


# --- periods -----------------------------------------------------------------------------------

quarters = st.tuples(st.integers(1990, 2100), st.integers(1, 4))


@given(
    quarters,
    st.sampled_from(
        [
            "{y}Q{q}",
            "{y}-Q{q}",
            "{y}q{q}",
            "{y} Q{q}",
            "{y}年第{c}季度",
            "{y}年{q}季度",
            "{y}年第{q}季度",
            " {y}Q{q} ",
        ]
    ),
    st.booleans(),
)
def test_period_spellings(yq: tuple[int, int], spelling: str, full_width: bool) -> None:
    year, quarter = yq
    text = spelling.format(y=year, q=quarter, c=CN[quarter])
    if full_width:
        text = text.translate(FULL_WIDTH)
    assert parse_period(text) == f"{year}Q{quarter}"


@given(quarters)
def test_period_format_round_trip(yq: tuple[int, int]) -> None:
    period = f"{yq[0]}Q{yq[1]}"
    assert parse_period(format_period(period)) == period


@given(st.text(max_size=12))
def test_period_rejects_or_returns_canonical(text: str) -> None:
    try:
        period = parse_period(text)
    except PeriodError:
        return
    assert len(period) == 6 and period[4] == "Q" and period[5] in "1234"


@pytest.mark.parametrize("bad", ["2026Q5", "2026Q0", "26Q3", "2026年第五季度", "Q3", "", "1800Q1"])
def test_period_rejects(bad: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(bad)


# --- dates -------------------------------------------------------------------------------------

days = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))


@given(
    days,
    st.sampled_from(
        [
            "iso",
            "slash",
            "slash0",
            "cn",
            "cn_no_day",
            "dot",
            "compact",
            "datetime",
            "date",
            "serial",
            "iso_time",
            "full_width",
        ]
    ),
)
def test_date_spellings(day: dt.date, how: str) -> None:
    text: object = {
        "iso": day.isoformat(),
        "slash": f"{day.year}/{day.month}/{day.day}",
        "slash0": day.strftime("%Y/%m/%d"),
        "cn": f"{day.year}年{day.month}月{day.day}日",
        "cn_no_day": f"{day.year}年{day.month}月{day.day}",
        "dot": f"{day.year}.{day.month}.{day.day}",
        "compact": day.strftime("%Y%m%d"),
        "datetime": dt.datetime(day.year, day.month, day.day, 0, 0),
        "date": day,
        "serial": str((day - EXCEL_EPOCH).days),
        "iso_time": f"{day.isoformat()} 00:00:00",
        "full_width": unicodedata.normalize("NFKC", day.isoformat()).translate(FULL_WIDTH),
    }[how]
    assert parse_date(text) == day.isoformat()


@given(st.text(max_size=14))
def test_date_rejects_or_returns_iso(text: str) -> None:
    try:
        value = parse_date(text)
    except ValueError:
        return
    assert dt.date.fromisoformat(value)


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "2026", "明天", "30/9/2026", "1"])
def test_date_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_date(bad)


@given(days)
def test_month_spellings(day: dt.date) -> None:
    first = day.replace(day=1).isoformat()
    for text in (
        f"{day.year}-{day.month:02d}",
        f"{day.year}/{day.month}",
        f"{day.year}年{day.month}月",
        day.isoformat(),
        dt.datetime(day.year, day.month, day.day),
    ):
        assert parse_month(text) == first


# --- grades ------------------------------------------------------------------------------------

GRADES = {4: "好", 3: "较好", 2: "一般", 1: "较差"}
ANNUAL = {4: "优秀", 3: "称职", 2: "基本称职", 1: "不称职"}


@given(st.integers(1, 4), st.sampled_from(["label", "digit", "float", "full", "spaced"]))
def test_grade_spellings(score: int, how: str) -> None:
    for labels, parse in ((GRADES, parse_grade), (ANNUAL, parse_annual_grade)):
        text = {
            "label": labels[score],
            "digit": str(score),
            "float": f"{score}.0",
            "full": str(score).translate(FULL_WIDTH),
            "spaced": f" {labels[score]} ",
        }[how]
        assert parse(text) == score


@given(st.text(max_size=6))
def test_grade_rejects_or_returns_score(text: str) -> None:
    for parse in (parse_grade, parse_annual_grade):
        try:
            assert parse(text) in (1, 2, 3, 4)
        except ValueError:
            pass


def test_grade_scales_do_not_mix() -> None:
    with pytest.raises(ValueError):
        parse_grade("优秀")
    with pytest.raises(ValueError):
        parse_annual_grade("较好")
    with pytest.raises(ValueError):
        parse_grade("5")


def test_bool() -> None:
    assert [parse_bool(t) for t in ("是", "否", "Y", "no", "TRUE", "0", "1.0")] == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
    ]
    with pytest.raises(ValueError):
        parse_bool("也许")


# --- whole columns -----------------------------------------------------------------------------


def _col(kind: str, name: str):
    return KINDS[kind].column(name)


def test_completion_decided_per_column() -> None:
    col = _col("report_items", "completion")
    percent = parse_column(pd.Series(["95", "0.5", "100", "80%"], dtype="str"), col)
    assert percent.values.tolist() == [0.95, 0.005, 1.0, 0.8]
    fraction = parse_column(pd.Series(["0.95", "1", "0", "50%"], dtype="str"), col)
    assert fraction.values.tolist() == [0.95, 1.0, 0.0, 0.5]
    bad = parse_column(pd.Series(["120", "-5", "abc", None], dtype="str"), col)
    assert bad.bad.tolist() == [True, True, True, False]


def test_column_parse_marks_bad_and_keeps_missing() -> None:
    parsed = parse_column(
        pd.Series(["好", "优", None, " 3 ", ""], dtype="str"), _col("ratings", "grade")
    )
    assert parsed.bad.tolist() == [False, True, False, False, False]
    assert parsed.values.tolist()[0] == 4 and parsed.values.tolist()[3] == 3
    assert pd.isna(parsed.values[2]) and pd.isna(parsed.values[4])


def test_enum_matches_width_variants() -> None:
    parsed = parse_column(
        pd.Series(["市(区)", "市（区）", " 事业单位", "国企"], dtype="str"),
        _col("units", "unit_kind"),
    )
    assert parsed.values.tolist()[:3] == ["市（区）", "市（区）", "事业单位"]
    assert parsed.bad.tolist() == [False, False, False, True]


def test_lists() -> None:
    outcome = parse_column(
        pd.Series(["党纪处分、行政处罚", "无", "行政处罚,党纪处分", "罚款"], dtype="str"),
        _col("clarifications", "accuser_outcome"),
    )
    assert outcome.values.tolist()[:3] == ["党纪处分、行政处罚", "", "行政处罚、党纪处分"]
    assert outcome.bad.tolist() == [False, False, False, True]
    depts = parse_column(
        pd.Series(["组织部、 信访局", "无"], dtype="str"), _col("petitions", "co_depts")
    )
    assert depts.values.tolist() == ["组织部、信访局", ""]


def test_codes_fold_width_and_spaces() -> None:
    parsed = parse_column(
        pd.Series(["Ｕ００１", " U 001 ", "1001.0"], dtype="str"), _col("units", "unit_code")
    )
    assert parsed.values.tolist() == ["U001", "U001", "1001"]


@settings(max_examples=30)
@given(st.lists(st.sampled_from(["好", "较好", "一般", "较差", "4", "x", None]), max_size=40))
def test_column_parse_equals_scalar_parse(values: list[str | None]) -> None:
    parsed = parse_column(pd.Series(values, dtype="str"), _col("ratings", "grade"))
    for value, got, bad in zip(values, parsed.values, parsed.bad, strict=True):
        if value is None:
            assert pd.isna(got) and not bad
        elif value == "x":
            assert bad
        else:
            assert got == parse_grade(value) and not bad
    assert isinstance(parsed.bad, np.ndarray)
