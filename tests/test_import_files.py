"""Importing contract files: every kind in every container, each error class, all-or-nothing,
idempotency, replacement, rollback, provenance."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from data.contract import KINDS
from data.importer import import_files, list_batches, rollback_batch
from data.store import Store, StoreError
from tests.import_samples import (
    CONTAINERS,
    SAMPLES,
    base_files,
    file_bytes,
    sample,
    snapshot,
    with_formula,
)

FACT_KINDS = [k for k in KINDS if k not in ("units", "cadres")]


@pytest.fixture(scope="module")
def template_dbs(tmp_path_factory) -> tuple[Path, Path]:
    """Return paths of an empty migrated database and one holding the sample units/cadres."""
    folder = tmp_path_factory.mktemp("import_templates")
    empty = Store(folder / "empty.duckdb")
    empty.init()
    base = Store(folder / "base.duckdb")
    report = import_files(base, base_files(), user="tester")
    assert report.ok, report.to_text()
    return empty.path, base.path


@pytest.fixture
def tmp_store(template_dbs, tmp_path) -> Store:
    """Return a private copy of the empty database (faster than migrating per test)."""
    return Store(shutil.copy(template_dbs[0], tmp_path / "empty.duckdb"))


@pytest.fixture
def base_store(template_dbs, tmp_path) -> Store:
    """Return a private copy of a store holding the sample units and cadres."""
    return Store(shutil.copy(template_dbs[1], tmp_path / "base.duckdb"))


def _one(store, name, data, **kw):
    report = import_files(store, [(name, data)], user="tester", **kw)
    assert len(report.files) == 1
    return report.files[0]


def _refused(store, name, data, **kw):
    """Import a file that must be refused; assert nothing changed; return its report."""
    before = snapshot(store)
    result = _one(store, name, data, **kw)
    assert result.status == "refused", result.to_text()
    assert not result.problems.empty
    assert snapshot(store) == before
    return result


def _count(store, table):
    with store.read() as con:
        return con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]


# --- every kind, every container -----------------------------------------------------------


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_kind_in_every_container(tmp_store, container) -> None:
    files = [sample(kind, container) for kind in reversed(list(KINDS))]  # order must not matter
    report = import_files(tmp_store, files, user="tester")
    assert report.ok, report.to_text()
    by_kind = {f.kind: f for f in report.files}
    assert [f.kind for f in report.files] == list(KINDS)  # dependency order
    for kind, frame in SAMPLES.items():
        assert by_kind[kind].status == "imported"
        assert by_kind[kind].new == len(frame)
        assert _count(tmp_store, KINDS[kind].table) == len(frame)
    expected = {
        "utf-8": "CSV，UTF-8",
        "utf-8-sig": "CSV，UTF-8 带 BOM",
        "gb18030": "CSV，GB18030/GBK",
        "xlsx": "Excel 工作簿",
    }[container]
    assert {f.container for f in report.files} == {expected}


def test_stored_values_are_canonical(tmp_store) -> None:
    assert import_files(tmp_store, [sample(k) for k in KINDS]).ok
    with tmp_store.read() as con:
        assert con.execute("SELECT unit_kind FROM units WHERE unit_code = 'U002'").fetchall() == [
            ("市（区）",)
        ]
        ratings = con.execute(
            "SELECT grade, period FROM ratings ORDER BY rater_code, target"
        ).fetchall()
        assert ratings == [(3, "2026Q2"), (4, "2026Q2"), (1, "2026Q2"), (2, "2026Q2")]
        assert con.execute("SELECT period FROM survey_waves").fetchall() == [("2026Q2",)]
        cadre = con.execute(
            "SELECT birth_month, is_team_member, in_post_since FROM cadres "
            "WHERE cadre_code = 'C003'"
        ).fetchall()[0]
        assert str(cadre[0]) == "1972-12-01" and cadre[1] is False and str(cadre[2]) == "2020-09-01"
        comp = dict(con.execute("SELECT task, completion FROM report_items").fetchall())
        assert comp == {"重点项目推进": 0.95, "营商环境优化": 0.805, "民生实事办理": 1.0}
        acts = con.execute(
            "SELECT kind, tolerated, action_date FROM actions ORDER BY cadre_code"
        ).fetchall()
        assert [(a[0], a[1], str(a[2])) for a in acts] == [
            ("嘉奖", False, "2026-03-15"),
            ("提醒谈话", False, "2026-04-02"),
            ("问责", True, "2026-05-20"),
        ]
        pet = con.execute(
            "SELECT case_code, co_depts, care_talks FROM petitions ORDER BY 1"
        ).fetchall()
        assert pet == [("JY2026001", ["组织部", "信访局"], 2), ("JY2026002", [], 0)]
        clar = con.execute(
            "SELECT accuser_outcome FROM clarifications ORDER BY cadre_code"
        ).fetchall()
        assert clar == [(["党纪处分", "行政处罚"],), (["党纪处分", "行政处罚"],), (None,)]
        assert (
            con.execute("SELECT count(*) FROM cadre_posts WHERE end_month IS NULL").fetchall()[0][0]
            == 3
        )


def test_kind_given_explicitly_and_english_headers(base_store) -> None:
    frame = SAMPLES["quarterly_grades"].rename(
        columns={"干部编码": "cadre_code", "考核期": "period", "等次": "grade"}
    )
    result = _one(base_store, "q.csv", file_bytes(frame, "utf-8"), kind="平时考核")
    assert result.status == "imported" and result.kind == "quarterly_grades"


def test_title_row_and_blank_rows_keep_excel_row_numbers(base_store) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["2026年第一季度平时考核结果"])
    sheet.append(["干部编码", "考核期", "等次"])
    sheet.append(["C001", "2026Q1", "好"])
    sheet.append([None, None, None])
    sheet.append(["C002", "2026Q1", "优"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = _refused(base_store, "titled.xlsx", buffer.getvalue())
    assert result.problems[["行号", "列", "值"]].values.tolist() == [[5, "等次", "优"]]


def test_extra_columns_kept_as_json_and_reported(base_store) -> None:
    frame = SAMPLES["quarterly_grades"].assign(备注=["a", None, "c"], 考核组=["一组", "二组", None])
    result = _one(base_store, "q.xlsx", file_bytes(frame, "xlsx"))
    assert result.status == "imported"
    assert result.extra_columns == ["备注", "考核组"]
    assert "额外列" in result.to_text()
    with base_store.read() as con:
        extras = dict(
            con.execute(
                "SELECT cadre_code, CAST(extra AS VARCHAR) FROM quarterly_grades"
            ).fetchall()
        )
    assert json.loads(extras["C001"]) == {"备注": "a", "考核组": "一组"}
    assert json.loads(extras["C003"]) == {"备注": "c", "考核组": None}


# --- each error class: refused, nothing written, every problem named ------------------------


def test_missing_column(base_store) -> None:
    frame = SAMPLES["ratings"].drop(columns=["评价"])
    result = _refused(base_store, "r.csv", file_bytes(frame, "utf-8"), kind="ratings")
    assert "缺少必填列「评价」" in result.to_text()


def test_missing_column_detected_kind(base_store) -> None:
    frame = SAMPLES["ratings"].drop(columns=["测评维度"])
    result = _refused(base_store, "r.csv", file_bytes(frame, "utf-8"))
    assert result.kind == "ratings"
    assert "测评维度" in result.to_text()


def test_bad_grade_reports_every_bad_row(base_store) -> None:
    frame = SAMPLES["ratings"].copy()
    frame["评价"] = ["优", "好", "5", "差"]
    result = _refused(base_store, "r.csv", file_bytes(frame, "gb18030"))
    assert result.problems[["行号", "列", "值"]].values.tolist() == [
        [2, "评价", "优"],
        [4, "评价", "5"],
        [5, "评价", "差"],
    ]
    assert all("好 / 较好 / 一般 / 较差" in e for e in result.problems["期望"])


def test_bad_annual_grade(base_store) -> None:
    frame = SAMPLES["annual_grades"].copy()
    frame["等次"] = ["优秀", "好", "称职"]
    result = _refused(base_store, "a.csv", file_bytes(frame, "utf-8"))
    assert result.problems["行号"].tolist() == [3]


def test_bad_period_and_date(base_store) -> None:
    frame = SAMPLES["report_items"].copy()
    frame["考核期"] = ["2026Q1", "2026Q5", "2026年第五季度"]
    result = _refused(base_store, "ri.csv", file_bytes(frame, "utf-8"))
    assert result.problems[["行号", "列"]].values.tolist() == [[3, "考核期"], [4, "考核期"]]
    actions = SAMPLES["actions"].copy()
    actions["日期"] = ["2026-02-30", "2026/4/2", "去年"]
    result = _refused(base_store, "act.xlsx", file_bytes(actions, "xlsx"))
    assert result.problems[["行号", "列", "值"]].values.tolist() == [
        [2, "日期", "2026-02-30"],
        [4, "日期", "去年"],
    ]


def test_petition_closed_before_received(base_store) -> None:
    frame = SAMPLES["petitions"].copy()
    frame["办结日期"] = ["2025-12-31", None]
    result = _refused(base_store, "p.csv", file_bytes(frame, "utf-8"))
    assert "不得早于受理日期" in result.problems["期望"].iloc[0]


def test_unknown_codes(base_store) -> None:
    frame = SAMPLES["ratings"].copy()
    frame["单位编码"] = ["U001", "U999", "U001", "U002"]
    frame["测评对象"] = ["班子", "C999", "班子", "C001"]
    result = _refused(base_store, "r.csv", file_bytes(frame, "utf-8"))
    assert result.problems[["行号", "列", "值"]].values.tolist() == [
        [3, "单位编码", "U999"],
        [3, "测评对象", "C999"],
    ]


def test_unknown_cadre_in_fact_file_on_empty_store(tmp_store) -> None:
    result = _refused(tmp_store, *sample("quarterly_grades"))
    assert len(result.problems) == 3 and "请先导入干部文件" in result.problems["期望"].iloc[0]


def test_duplicate_key_within_file(base_store) -> None:
    frame = pd.concat([SAMPLES["quarterly_grades"], SAMPLES["quarterly_grades"].iloc[[0]]])
    frame.iloc[3, 1] = "2026-Q1"  # the same period, spelled differently
    result = _refused(base_store, "q.csv", file_bytes(frame, "utf-8"))
    assert result.problems["行号"].tolist() == [2, 5]
    assert all("第 2、5 行" in e for e in result.problems["期望"])


def test_several_error_classes_at_once(base_store) -> None:
    frame = SAMPLES["quarterly_grades"].copy()
    frame["等次"] = ["好", "优", "较好"]
    frame["考核期"] = ["2026Q1", "2026Q1", "2026Q9"]
    frame["干部编码"] = ["C001", "C002", "C404"]
    result = _refused(base_store, "q.csv", file_bytes(frame, "utf-8"))
    assert result.problems[["行号", "列"]].values.tolist() == [
        [3, "等次"],
        [4, "考核期"],
        [4, "干部编码"],
    ]


def test_empty_files(base_store) -> None:
    header_only = SAMPLES["quarterly_grades"].head(0)
    assert "没有数据行" in _refused(base_store, "h.csv", file_bytes(header_only, "utf-8")).to_text()
    assert "没有数据行" in _refused(base_store, "h.xlsx", file_bytes(header_only, "xlsx")).to_text()
    assert "没有任何内容" in _refused(base_store, "blank.csv", b"\r\n\r\n  \n").to_text()
    empty_book = io.BytesIO()
    openpyxl.Workbook().save(empty_book)
    assert "没有任何内容" in _refused(base_store, "e.xlsx", empty_book.getvalue()).to_text()


def test_zero_byte_file(base_store) -> None:
    assert "0 字节" in _refused(base_store, "zero.csv", b"").to_text()
    assert "0 字节" in _refused(base_store, "zero.xlsx", b"").to_text()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, ".xls"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "二进制"),
        (bytes(range(256)) * 4, "二进制"),
    ],
)
def test_not_a_spreadsheet(base_store, data, message) -> None:
    assert message in _refused(base_store, "thing.csv", data).to_text()


def test_word_document_is_not_a_spreadsheet(base_store) -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    assert "Word" in _refused(base_store, "letter.xlsx", buffer.getvalue()).to_text()


def test_text_that_is_no_table(base_store) -> None:
    text = "这是一份会议纪要。\n没有表格。\n".encode()
    assert "无法从表头识别" in _refused(base_store, "notes.csv", text).to_text()


def test_wrong_sheet(base_store) -> None:
    book = openpyxl.Workbook()
    cover = book.active
    cover.title = "封面"
    cover.append(["2026年平时考核汇总"])
    data = book.create_sheet("Sheet2")
    data.append(["干部编码", "考核期", "等次"])
    data.append(["C001", "2026Q1", "好"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = _refused(base_store, "wrong.xlsx", buffer.getvalue())
    assert "工作表「封面」" in result.to_text()
    # Naming the data sheet like the kind is enough.
    data.title = "平时考核"
    buffer = io.BytesIO()
    book.save(buffer)
    assert _one(base_store, "right.xlsx", buffer.getvalue()).status == "imported"


def test_csv_with_stray_bom_from_concatenation(base_store) -> None:
    first = SAMPLES["quarterly_grades"].iloc[:2].to_csv(index=False).encode("utf-8-sig")
    second = SAMPLES["quarterly_grades"].iloc[2:].to_csv(index=False).encode("utf-8-sig")
    result = _refused(base_store, "cat.csv", first + second)
    assert "BOM" in result.to_text()
    assert result.problems[["行号", "期望"]].values.tolist()[0][0] == 4
    assert "重复了表头" in result.problems["期望"].iloc[0]


def test_csv_with_stray_bom_inside_a_row_is_cleaned(base_store) -> None:
    text = "干部编码,考核期,等次\nC001,2026Q1,好\n\ufeffC002,2026Q1,较好\n"
    result = _one(base_store, "bom.csv", text.encode("utf-8"))
    assert result.status == "imported", result.to_text()
    assert any("第 3 行" in w and "BOM" in w for w in result.warnings)
    with base_store.read() as con:
        assert (
            con.execute(
                "SELECT count(*) FROM quarterly_grades WHERE cadre_code = 'C002'"
            ).fetchall()[0][0]
            == 1
        )


def test_csv_mixing_encodings_is_refused(base_store) -> None:
    first = "干部编码,考核期,等次\nC001,2026Q1,好\n".encode("gb18030")
    second = "\ufeffC002,2026Q1,较好\n".encode("utf-8")
    assert "BOM" in _refused(base_store, "mixed.csv", first + second).to_text()


def _formula_book() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["干部编码", "考核期", "等次"])
    sheet.append(["C001", "2026Q1", '=IF(1>0,"好","较差")'])
    sheet.append(["C002", "2026Q1", "较好"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_formula_without_cached_value_is_refused(base_store) -> None:
    result = _refused(base_store, "f.xlsx", _formula_book())
    assert result.problems[["行号", "列"]].values.tolist() == [[2, "等次"]]
    assert "公式" in result.problems["期望"].iloc[0]


def test_formula_with_cached_value_is_read(base_store) -> None:
    result = _one(base_store, "f.xlsx", with_formula(_formula_book(), "好"))
    assert result.status == "imported", result.to_text()
    assert any("公式" in w for w in result.warnings)
    with base_store.read() as con:
        assert con.execute(
            "SELECT grade FROM quarterly_grades WHERE cadre_code = 'C001'"
        ).fetchall() == [(4,)]


def test_refused_file_does_not_block_the_others(tmp_store) -> None:
    bad = SAMPLES["cadres"].copy()
    bad["单位编码"] = ["U001", "U404", "U002"]
    report = import_files(
        tmp_store,
        [sample("units"), ("cadres.csv", file_bytes(bad, "utf-8")), sample("quarterly_grades")],
    )
    assert [f.status for f in report.files] == ["imported", "refused", "refused"]
    assert not report.ok
    assert _count(tmp_store, "units") == 2 and _count(tmp_store, "cadres") == 0
    problems = report.problems()
    assert list(problems.columns) == ["文件", "行号", "列", "值", "期望"]
    assert set(problems["文件"]) == {"cadres.csv", "quarterly_grades-utf-8.csv"}


def test_dry_run_writes_nothing_but_sees_earlier_files(tmp_store) -> None:
    before = snapshot(tmp_store)
    report = import_files(tmp_store, [sample(k) for k in KINDS], dry_run=True)
    assert report.ok, report.to_text()
    assert {f.status for f in report.files} == {"valid"}
    assert snapshot(tmp_store) == before


def test_dry_run_without_database_file(tmp_path) -> None:
    store = Store(tmp_path / "none.duckdb")
    report = import_files(store, base_files(), dry_run=True)
    assert report.ok and not store.exists()


# --- idempotency, replacement, rollback -------------------------------------------------------


def test_same_file_twice_adds_nothing(base_store) -> None:
    name, data = sample("ratings", "xlsx")
    first = _one(base_store, name, data)
    before = snapshot(base_store)
    second = _one(base_store, "renamed.xlsx", data)
    assert second.status == "duplicate" and second.batch_id == first.batch_id
    assert "已导入过" in second.to_text()
    assert snapshot(base_store) == before


def test_same_rows_in_a_new_file_are_unchanged(base_store) -> None:
    assert _one(base_store, *sample("ratings", "utf-8")).new == 4
    again = _one(base_store, *sample("ratings", "gb18030"))
    assert (again.status, again.new, again.replaced, again.unchanged) == ("imported", 0, 0, 4)
    assert _count(base_store, "ratings") == 4


def test_corrected_reimport_replaces_and_rollback_restores(base_store) -> None:
    first = _one(base_store, *sample("quarterly_grades"))
    corrected = SAMPLES["quarterly_grades"].copy()
    corrected["等次"] = ["好", "一般", "4"]  # C002 corrected
    extra_row = pd.DataFrame(
        {"干部编码": ["C001"], "考核期": ["2026Q2"], "等次": ["较好"], "评语": [None]}
    )
    corrected = pd.concat([corrected, extra_row])
    second = _one(base_store, "q-fixed.csv", file_bytes(corrected, "utf-8"))
    assert (second.new, second.replaced, second.unchanged) == (1, 1, 2)
    assert "替换 1" in second.to_text()
    with base_store.read() as con:
        rows = con.execute(
            "SELECT cadre_code, period, grade, batch_id FROM quarterly_grades ORDER BY 1, 2"
        ).fetchall()
    assert rows == [
        ("C001", "2026Q1", 4, first.batch_id),
        ("C001", "2026Q2", 3, second.batch_id),
        ("C002", "2026Q1", 2, second.batch_id),
        ("C003", "2026Q1", 4, first.batch_id),
    ]
    result = rollback_batch(base_store, second.batch_id, user="admin")
    assert (result.removed, result.restored) == (2, 1)
    with base_store.read() as con:
        rows = con.execute(
            "SELECT cadre_code, period, grade, batch_id FROM quarterly_grades ORDER BY 1, 2"
        ).fetchall()
        audit = con.execute(
            "SELECT action, username, detail->>'label' FROM audit_log ORDER BY audit_id"
        ).fetchall()
    assert rows == [
        ("C001", "2026Q1", 4, first.batch_id),
        ("C002", "2026Q1", 3, first.batch_id),
        ("C003", "2026Q1", 4, first.batch_id),
    ]
    # `user` is only a label beside the acting viewer (here the system viewer).
    assert audit[-1] == ("rollback", "system", "admin") and ("import", "system", "tester") in audit
    batches = list_batches(base_store)
    assert batches.set_index("batch_id").loc[second.batch_id, "status"] == "rolled_back"
    # The file can be imported again after its batch was rolled back.
    assert _one(base_store, "q-fixed.csv", file_bytes(corrected, "utf-8")).status == "imported"


def test_rollback_of_a_rollback_and_unknown_batch(base_store) -> None:
    batch = _one(base_store, *sample("annual_grades")).batch_id
    rollback_batch(base_store, batch)
    with pytest.raises(StoreError, match="已经回滚"):
        rollback_batch(base_store, batch)
    with pytest.raises(StoreError, match="不存在"):
        rollback_batch(base_store, 999)


def test_rollback_refused_while_units_are_referenced(base_store) -> None:
    units_batch = int(list_batches(base_store).query("kind == 'units'")["batch_id"].iloc[0])
    before = snapshot(base_store)
    with pytest.raises(StoreError, match="仍有数据引用"):
        rollback_batch(base_store, units_batch)
    assert snapshot(base_store) == before


def test_cadre_moves_close_and_reopen_posts(base_store) -> None:
    moved = SAMPLES["cadres"].copy()
    moved.loc[0, ["单位编码", "职务", "任现职时间"]] = ["U002", "区委书记", "2026-03"]
    batch = _one(base_store, "moved.csv", file_bytes(moved, "utf-8"))
    assert (batch.replaced, batch.unchanged) == (1, 2)
    with base_store.read() as con:
        posts = con.execute(
            "SELECT unit_code, position, CAST(start_month AS VARCHAR), "
            "CAST(end_month AS VARCHAR) FROM cadre_posts WHERE cadre_code = 'C001' "
            "ORDER BY start_month"
        ).fetchall()
    assert posts == [
        ("U001", "局长", "2021-05-01", "2026-03-01"),
        ("U002", "区委书记", "2026-03-01", None),
    ]
    result = rollback_batch(base_store, batch.batch_id)
    assert result.posts_reopened == 1
    with base_store.read() as con:
        posts = con.execute(
            "SELECT unit_code, end_month FROM cadre_posts WHERE cadre_code = 'C001'"
        ).fetchall()
    assert posts == [("U001", None)]


def test_provenance_and_audit(base_store) -> None:
    result = _one(base_store, *sample("actions"))
    with base_store.read() as con:
        batch = con.execute(
            "SELECT kind, file_name, sha256, imported_by, row_count, status, report "
            "FROM import_batches WHERE batch_id = $b",
            {"b": result.batch_id},
        ).fetchall()[0]
        stamped = con.execute("SELECT DISTINCT batch_id FROM actions").fetchall()
        audit = con.execute(
            "SELECT username, action, target, detail->>'label' FROM audit_log "
            "ORDER BY audit_id DESC LIMIT 1"
        ).fetchall()[0]
    assert batch[:6] == (
        "actions", "actions-utf-8.csv", result.sha256, "system（tester）", 3, "active"
    )  # fmt: skip
    assert json.loads(batch[6])["new"] == 3
    assert stamped == [(result.batch_id,)]
    assert audit == ("system", "import", f"batch:{result.batch_id}", "tester")


def test_wave_cannot_change_period(base_store) -> None:
    assert _one(base_store, *sample("ratings")).status == "imported"
    frame = SAMPLES["ratings"].copy()
    frame["考核期"] = "2026Q3"
    frame["测评人编号"] = ["R7", "R7", "R8", "R9"]
    result = _refused(base_store, "r2.csv", file_bytes(frame, "utf-8"))
    assert "2026Q2" in result.problems["期望"].iloc[0]


def test_import_speed_is_set_based(tmp_store) -> None:
    """200,000 rating rows import in seconds (1,000,000: see bench/bench_import.py)."""
    import time

    import numpy as np

    assert import_files(tmp_store, base_files()).ok
    n = 200_000
    frame = pd.DataFrame(
        {
            "调研批次": "W",
            "单位编码": np.where(np.arange(n) % 2, "U001", "U002"),
            "测评人编号": pd.Series(np.arange(n) // 7).astype(str),
            "测评对象": "班子",
            "测评维度": pd.Series(np.arange(n) % 7).astype(str),
            "评价": "好",
        }
    )
    started = time.perf_counter()
    result = _one(tmp_store, "big.csv", file_bytes(frame, "utf-8"))
    assert result.new == n
    assert time.perf_counter() - started < 30


def test_store_with_duplicate_keys_is_handled(base_store) -> None:
    """Rows written outside the importer may repeat a natural key; nothing is doubled."""
    _one(base_store, *sample("ratings"))
    with base_store.write() as con:
        con.execute("INSERT INTO ratings SELECT * FROM ratings WHERE rater_code = 'R1'")
    frame = SAMPLES["ratings"].copy()
    frame["评价"] = ["较差", "3", "较差", "一般"]
    result = _one(base_store, "r2.csv", file_bytes(frame, "utf-8"))
    assert (result.new, result.replaced, result.unchanged) == (0, 1, 3)
    assert _count(base_store, "ratings") == 5  # the R1/班子 pair became one row; R1/C001 pair kept


def test_negative_weight_is_a_problem(base_store) -> None:
    frame = SAMPLES["report_items"].copy()
    frame["权重"] = ["3", "-1", "2"]
    result = _refused(base_store, "ri.csv", file_bytes(frame, "utf-8"))
    assert result.problems[["行号", "列", "期望"]].values.tolist() == [
        [3, "权重", "不小于 0 的数字"]
    ]


@pytest.mark.parametrize("container", ["utf-8", "xlsx"])
def test_a_wave_keeps_one_period(base_store, container) -> None:
    """A survey wave given two periods, in the file or against the store, is refused by row."""
    frame = SAMPLES["ratings"].copy()
    frame.loc[3, "考核期"] = "2026Q1"  # the same wave, another quarter
    report = _one(base_store, f"r.{container}", file_bytes(frame, container))
    assert report.status == "refused"
    assert list(report.problems["行号"]) == [2, 3, 4, 5]
    assert set(report.problems["期望"]) == {
        "同一调研批次只能对应一个考核期（文件中出现了 2026Q1、2026Q2）"
    }
    assert _one(base_store, "ok.csv", file_bytes(SAMPLES["ratings"], container)).ok
    later = SAMPLES["ratings"].copy()
    later["考核期"] = "2026Q1"
    later["测评人编号"] = ["R7", "R7", "R8", "R9"]  # new rows of the stored wave 2026Q2
    for dry_run in (True, False):
        report = _one(base_store, "later.csv", file_bytes(later, container), dry_run=dry_run)
        assert report.status == "refused"
        assert set(report.problems["期望"]) == {
            "同一调研批次只能对应一个考核期（数据库中该批次为 2026Q2）"
        }
