"""The DuckDB fast path for plain UTF-8 CSV gives the same report and rows as the general path."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from data import import_csv
from data.contract import KINDS
from data.importer import import_files
from data.store import Store
from tests.import_samples import SAMPLES, base_files, file_bytes, snapshot


@pytest.fixture(scope="module")
def base_db(tmp_path_factory):
    """Return the path of a store holding the sample units and cadres."""
    store = Store(tmp_path_factory.mktemp("fast") / "base.duckdb")
    assert import_files(store, base_files(), user="tester").ok
    return store.path


def _both(base_db, tmp_path, monkeypatch, name: str, data: bytes):
    """Return (fast report, fast tables, general report, general tables) for one file."""
    out = []
    for fast in (True, False):
        store = Store(shutil.copy(base_db, tmp_path / f"{fast}.duckdb"))
        with monkeypatch.context() as m:
            if not fast:
                m.setattr(import_csv, "plain_csv_header", lambda _data: None)
            calls = []
            real = import_csv.stage_csv
            m.setattr(import_csv, "stage_csv", lambda *a, c=calls, r=real: c.append(1) or r(*a))
            report = import_files(store, [(name, data)], user="tester").files[0]
            assert bool(calls) == fast  # the fast path really ran (or really did not)
        tables = snapshot(store)
        for volatile in ("audit_log", "import_batches", "meta", "refresh_queue"):
            tables.pop(volatile, None)
        out += [report, tables]
    return out


def _problems(report) -> list[tuple]:
    frame = report.problems.fillna("")
    return [tuple(str(v) for v in row) for row in frame.itertuples(index=False)]


def test_clean_file_same_rows(base_db, tmp_path, monkeypatch) -> None:
    frame = SAMPLES["ratings"].copy()
    frame["备注"] = ["甲", None] * (len(frame) // 2) + ["乙"] * (len(frame) % 2)
    fast, fast_tables, slow, slow_tables = _both(
        base_db, tmp_path, monkeypatch, "r.csv", file_bytes(frame, "utf-8")
    )
    assert fast.status == slow.status == "imported", fast.to_text()
    assert fast.rows == slow.rows and fast.extra_columns == slow.extra_columns
    assert fast_tables == slow_tables


def test_problems_same_rows_and_messages(base_db, tmp_path, monkeypatch) -> None:
    frame = SAMPLES["ratings"].copy().astype(object)
    headers = list(frame.columns)
    grade, period, unit = KINDS["ratings"].column("grade").header, "考核期", "单位编码"
    frame.loc[1, grade] = "很好"  # not a grade
    frame.loc[2, unit] = None  # required, empty
    frame.loc[3, period] = "2099Q1"  # future
    frame.loc[4, unit] = "  "  # blank is empty
    frame.loc[5, unit] = "NOPE"  # unknown unit
    repeated = pd.DataFrame([headers], columns=headers)  # a pasted header row
    blank = pd.DataFrame([[None] * len(headers)], columns=headers)  # an empty row
    frame = pd.concat([frame.iloc[:6], blank, repeated, frame.iloc[6:]], ignore_index=True)
    assert period in headers and unit in headers
    fast, fast_tables, slow, slow_tables = _both(
        base_db, tmp_path, monkeypatch, "r.csv", file_bytes(frame, "utf-8")
    )
    assert fast.status == slow.status == "refused"
    assert _problems(fast) == _problems(slow)
    assert {"很好", "2099Q1", "NOPE", "(表头)"} <= set(fast.problems["值"])
    assert fast_tables == slow_tables


def test_irregular_files_take_the_general_path() -> None:
    plain = file_bytes(SAMPLES["ratings"], "utf-8")
    assert import_csv.plain_csv_header(plain) is not None
    assert import_csv.plain_csv_header(file_bytes(SAMPLES["ratings"], "gb18030")) is None
    assert import_csv.plain_csv_header(b"title\n" + plain) is None
    assert import_csv.plain_csv_header(plain.replace(b",", b";")) is None
    assert import_csv.plain_csv_header(plain.replace(b"\n", b'"\n', 1)) is None


@pytest.mark.parametrize("defect", ["ragged", "encoding"])
def test_file_the_reader_refuses_falls_back_to_the_same_report(
    base_db, tmp_path, monkeypatch, defect: str
) -> None:
    """A file that looks plain but that DuckDB's reader refuses (inside the write transaction)
    is read again the general way: same report, nothing written."""
    lines = file_bytes(SAMPLES["ratings"], "utf-8").split(b"\n")
    if defect == "ragged":  # one cell too many on one line, one too few on another
        lines[2] += b",x"
        lines[3] = lines[3].rsplit(b",", 1)[0]
    else:  # invalid UTF-8 past the lines the header check decodes
        lines[3] = lines[3].replace(b",", b",\xff", 1)
    data = b"\n".join(lines)
    assert import_csv.plain_csv_header(data) is not None  # it does look plain
    fast, fast_tables, slow, slow_tables = _both(base_db, tmp_path, monkeypatch, "r.csv", data)
    assert fast.status == slow.status == "refused"
    assert _problems(fast) == _problems(slow) and _problems(fast)
    assert fast_tables == slow_tables


def test_row_numbers_hold_on_a_file_read_in_parallel(base_db, tmp_path, monkeypatch) -> None:
    """Excel row numbers come from DuckDB's row ids inside the write transaction: on a file
    large enough for the parallel reader (~14 MB), with an empty line in the middle, a bad
    value near the start and near the end is reported at its own row."""
    n = 300_000
    sample = SAMPLES["ratings"].iloc[[0]]
    frame = pd.DataFrame({c: [sample[c].iloc[0]] * n for c in sample.columns})
    frame["测评人编号"] = [f"R{i}" for i in range(n)]
    grade = KINDS["ratings"].column("grade").header
    frame.loc[[10, n - 5], grade] = ["很好", "特好"]
    lines = file_bytes(frame, "utf-8").split(b"\n")
    lines.insert(n // 2, b",,,,,,,")  # an empty row: dropped, later rows keep their numbers
    data = b"\n".join(lines)
    assert len(data) > 8_000_000 and import_csv.plain_csv_header(data) is not None
    store = Store(shutil.copy(base_db, tmp_path / "big.duckdb"))
    calls = []
    real = import_csv.stage_csv
    monkeypatch.setattr(import_csv, "stage_csv", lambda *a: calls.append(1) or real(*a))
    report = import_files(store, [("big.csv", data)], user="tester").files[0]
    assert report.status == "refused" and calls  # refused by the fast path itself
    found = dict(zip(report.problems["值"], report.problems["行号"].astype(int), strict=True))
    # Data line i (0-based) is Excel row i + 2; the empty line shifts the later ones by one.
    assert found == {"很好": 12, "特好": n - 5 + 2 + 1}


def test_duckdb_reads_the_file_in_place_only_while_it_is_unchanged(
    base_db, tmp_path, monkeypatch
) -> None:
    """import_paths lets DuckDB read a plain CSV in place (no copy); a file changed since its
    bytes were read and hashed, or whose path DuckDB would glob, is read from a copy of them."""
    from data.importer import import_paths

    copies = []
    real = import_csv.tempfile.mkstemp
    monkeypatch.setattr(import_csv.tempfile, "mkstemp", lambda **k: copies.append(1) or real(**k))
    data = file_bytes(SAMPLES["ratings"], "utf-8")
    plain = tmp_path / "评分.csv"
    plain.write_bytes(data)
    store = Store(shutil.copy(base_db, tmp_path / "a.duckdb"))
    assert import_paths(store, [plain], user="tester").ok and not copies

    globbed = tmp_path / "评分[1].csv"  # '[' is a glob character for DuckDB
    globbed.write_bytes(data)
    assert import_csv.SourceFile.of(globbed) is None
    store = Store(shutil.copy(base_db, tmp_path / "b.duckdb"))
    assert import_paths(store, [globbed], user="tester").ok and copies == [1]

    for i, raw_name in enumerate(["评分.csv".encode("gbk"), b"\xff\xfe.csv"]):
        odd = tmp_path / os.fsdecode(raw_name)  # a name that is not UTF-8 on disk
        odd.write_bytes(data)
        assert import_csv.SourceFile.of(odd) is None
        store = Store(shutil.copy(base_db, tmp_path / f"d{i}.duckdb"))
        report = import_paths(store, [odd], user="tester")
        assert report.ok and len(copies) == 2 + i  # read from a copy
        # Stored and shown as text: GBK bytes decoded, anything else replaced.
        assert report.files[0].file_name == ["评分.csv", "\ufffd\ufffd.csv"][i]

    gz = tmp_path / "评分.csv.gz"  # plain text whatever its name says: read as it is
    gz.write_bytes(data)
    store = Store(shutil.copy(base_db, tmp_path / "e.duckdb"))
    assert import_paths(store, [gz], user="tester").ok and len(copies) == 3  # in place

    source = import_csv.SourceFile.of(plain)
    plain.write_bytes(data.replace(b"2026Q2", b"2099Q1"))  # changed since read
    assert source is not None and not source.holds(data)
    store = Store(shutil.copy(base_db, tmp_path / "c.duckdb"))
    report = import_files(store, [("评分.csv", data)], user="tester", sources=[source])
    assert report.ok and len(copies) == 4  # the bytes read, not the file as it is now


@pytest.mark.parametrize("duplicate", [False, True])
def test_one_wave_one_period_file_same_as_general(
    base_db, tmp_path, monkeypatch, duplicate: bool
) -> None:
    """A file of one wave and one period (the usual survey file): its waves come from one row
    and the key check hashes only the varying columns; same tables, same duplicate report."""
    frame = SAMPLES["ratings"].copy()
    frame["考核期"] = "2026Q2"
    if duplicate:  # row 5 repeats row 2's key (wave, unit, rater, target, dimension)
        frame = pd.concat([frame, frame.iloc[[0]].assign(评价="较差")], ignore_index=True)
    data = file_bytes(frame, "utf-8")
    staged = []
    real = import_csv._stage
    monkeypatch.setattr(import_csv, "_stage", lambda *a: staged.append(r := real(*a)) or r)
    fast, fast_tables, slow, slow_tables = _both(base_db, tmp_path, monkeypatch, "r.csv", data)
    assert {"wave", "period"} <= staged[0][2]  # seen as holding one value
    assert "unit_code" not in staged[0][2]
    assert fast_tables == slow_tables
    if duplicate:
        assert fast.status == slow.status == "refused"
        assert _problems(fast) == _problems(slow)
        assert list(fast.problems["行号"]) == [2, 6]
    else:
        assert fast.status == slow.status == "imported", fast.to_text()
        waves = fast_tables["survey_waves"]
        assert len(waves) == 1 and "2026Q2" in waves[0]


def _variant(name: str) -> bytes:
    """Return the sample ratings as a hand-written file would vary them."""
    frame = SAMPLES["ratings"].copy()
    frame["考核期"] = "2026Q2"
    text = file_bytes(frame, "utf-8")
    lines = text.rstrip(b"\n").split(b"\n")
    return {
        "crlf": b"\r\n".join(lines) + b"\r\n",
        "no final newline": b"\n".join(lines),
        "bom": b"\xef\xbb\xbf" + text,
        "trailing blank lines": text + b"\n\n",
        "blank line after header": b"\n".join([lines[0], b"", *lines[1:]]) + b"\n",
        "last line ragged": b"\n".join([*lines[:-1], lines[-1].rsplit(b",", 1)[0]]) + b"\n",
        "spaces around cells": b"\n".join(
            [lines[0], *(b" , ".join(c.strip() for c in ln.split(b",")) for ln in lines[1:])]
        )
        + b"\n",
        "only the header": lines[0] + b"\n",
    }[name]


@pytest.mark.parametrize(
    "variant",
    [
        "crlf",
        "no final newline",
        "bom",
        "trailing blank lines",
        "blank line after header",
        "last line ragged",
        "spaces around cells",
        "only the header",
    ],
)
def test_hand_written_variants_same_as_general(base_db, tmp_path, monkeypatch, variant) -> None:
    """Line endings, BOM, blank and ragged lines, padded cells: whichever path reads the file
    (the fast one, or the general one after NotPlain), the report and tables are the same."""
    data = _variant(variant)
    fast, fast_tables, slow, slow_tables = _both(base_db, tmp_path, monkeypatch, "r.csv", data)
    assert fast.status == slow.status, (fast.to_text(), slow.to_text())
    assert _problems(fast) == _problems(slow)
    assert fast.rows == slow.rows
    assert fast_tables == slow_tables
