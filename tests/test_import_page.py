"""The 数据导入 page under AppTest: check, confirm, problems table, batches, rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data.access import Viewer
from data.store import Store
from tests.import_samples import SAMPLES, file_bytes, sample, snapshot

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "data_import.py")
ADMIN = Viewer("admin", "admin", display_name="管理员")
ORG = Viewer("org", "org", display_name="组织部")


@pytest.fixture
def page_db(tmp_path, monkeypatch) -> Store:
    """Point the page at an empty database of its own."""
    store = Store(tmp_path / "page.duckdb")
    store.init()
    monkeypatch.setenv("BANZI_DB", str(store.path))
    return store


def _page(viewer: Viewer) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["viewer"] = viewer
    return at.run()


def _table(at: AppTest, column: str):
    """Return the first dataframe shown that has `column` (AppTest exposes no dataframe keys)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with column {column}")


def _upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="imp_files").set_value([(n, d, "text/csv") for n, d in files])
    return at.run()


def test_check_then_confirm_then_rollback(page_db) -> None:
    at = _page(ADMIN)
    assert not at.exception
    assert any("还没有导入过数据" in i.value for i in at.info)
    at = _upload(at, [sample("cadres"), sample("units")])
    before = snapshot(page_db)
    at.button(key="imp_check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    summary = _table(at, "结果")
    assert summary["结果"].tolist() == ["校验通过（试运行，未写入）"] * 2
    assert snapshot(page_db) == before
    at.button(key="imp_confirm").click().run()
    assert not at.exception
    assert any("2 个文件已写入" in s.value for s in at.success)
    batches = _table(at, "导入时间")
    assert batches["数据类型"].tolist() == ["干部", "单位"]
    # Roll back the cadres batch (admin only).
    at.selectbox(key="imp_rollback_batch").set_value(2)
    at.checkbox(key="imp_rollback_sure").check()
    at.run()
    at.button(key="imp_rollback").click().run()
    assert not at.exception
    assert any("已回滚批次 2" in s.value for s in at.success)
    assert _table(at, "导入时间")["状态"].tolist() == ["已回滚", "有效"]


def test_problems_table_and_no_confirm_for_refused(page_db) -> None:
    bad = SAMPLES["units"].copy()
    bad["单位类别"] = ["市直机关部门", "街道"]
    at = _upload(_page(ORG), [("units.csv", file_bytes(bad, "gb18030"))])
    at.button(key="imp_check").click().run()
    assert not at.exception
    problems = _table(at, "期望")
    assert problems[["文件", "行号", "列", "值"]].values.tolist() == [
        ["units.csv", 3, "单位类别", "街道"]
    ]
    assert not [b for b in at.button if b.key == "imp_confirm"]
    assert not at.error


def test_rollback_hidden_from_org(page_db) -> None:
    from data.importer import import_files

    assert import_files(page_db, [sample("units")]).ok
    at = _page(ORG)
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "imp_rollback_batch"]
    assert len(_table(at, "导入时间")) == 1


def test_unit_head_cannot_import(page_db) -> None:
    head = Viewer("head", "unit_head", unit_codes=("U001",))
    at = _page(head)
    assert not at.exception
    assert not at.file_uploader
    assert not [b for b in at.button if b.key == "imp_check"]


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        (
            "long.csv",
            ("干部编码,日期,类别,事由\nC001,2023-03-01,嘉奖," + "长" * 140_000 + "\n").encode(),
            "32,767",
        ),
        (
            "mixed.csv",
            "单位编码,单位名称,单位类别\nU9,市财政二局,市直机关部门\n".encode("gbk")
            + "U8,市测试局,市直机关部门\n".encode(),
            "混用了两种编码",
        ),
    ],
    ids=["long-cell", "mixed-encoding"],
)
def test_hostile_file_shows_the_chinese_problem(page_db, name, data, says) -> None:
    """A file the reader refuses shows its Chinese reason with row, never the generic error."""
    at = _upload(_page(ORG), [(name, data)])
    at.button(key="imp_check").click().run()
    assert not at.exception, [e.value for e in at.exception]
    problems = _table(at, "期望")
    assert problems["文件"].tolist() == [name]
    assert says in problems["期望"].iloc[0]
    assert int(problems["行号"].iloc[0]) in (2, 3)
    assert not [e for e in at.error if "意外" in e.value]
