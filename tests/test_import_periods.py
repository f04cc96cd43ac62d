"""Periods from the world: no future quarter goes in, and a period without data writes nothing.

"Today" comes from the clock, or from $BANZI_TODAY (an ISO date) when it is set; `latest` is the
newest period that has data.
"""

from __future__ import annotations

import datetime as dt

import pytest

import cli
from data.importer import import_files
from data.periods import (
    NoDataError,
    current_period,
    last_allowed_day,
    periods_with_data,
    require_period_with_data,
    today,
)
from tests.import_samples import contract_base_files, table_counts

NO_DATA_PERIOD = "2030Q1"


def test_today_follows_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("BANZI_TODAY", "2024-01-15")
    assert today() == dt.date(2024, 1, 15)
    assert current_period() == "2024Q1"
    assert last_allowed_day() == "2024-03-31"
    monkeypatch.setenv("BANZI_TODAY", "not a date")
    assert today() == dt.date.today()
    monkeypatch.delenv("BANZI_TODAY")
    assert today() == dt.date.today()


def test_import_refuses_what_is_later_than_the_current_quarter(tmp_store, monkeypatch) -> None:
    monkeypatch.setenv("BANZI_TODAY", "2024-01-15")
    assert import_files(tmp_store, contract_base_files(), user="t").ok
    head = "干部编码,考核期,等次\n"
    later = import_files(tmp_store, [("q.csv", (head + "K1,2024Q2,好\n").encode())], user="t")
    problem = later.files[0].problems.iloc[0]
    assert not later.ok and problem["行号"] == 2 and problem["列"] == "考核期"
    assert "2024年第一季度" in problem["期望"]
    now = import_files(tmp_store, [("q2.csv", (head + "K1,2024Q1,好\n").encode())], user="t")
    assert now.ok, now.to_text()
    acts = "干部编码,日期,类别\nK1,2024-03-31,嘉奖\nK2,2024-04-01,嘉奖\n"
    dated = import_files(tmp_store, [("a.csv", acts.encode())], user="t").files[0]
    assert dated.status == "refused" and list(dated.problems["行号"]) == [3]


def test_latest_is_the_newest_period_with_data(demo_store) -> None:
    with demo_store.read() as con:
        periods = periods_with_data(con)
        assert require_period_with_data(con, "latest") == periods[0] == "2023Q4"
        assert require_period_with_data(con, "2023年第三季度") == "2023Q3"
        with pytest.raises(NoDataError, match="没有考核数据"):
            require_period_with_data(con, NO_DATA_PERIOD)


def test_latest_in_an_empty_store_says_so(tmp_store) -> None:
    with tmp_store.read() as con, pytest.raises(NoDataError, match="还没有任何考核数据"):
        require_period_with_data(con, "latest")


@pytest.mark.parametrize(
    "argv",
    [
        ["tiers", "--period", NO_DATA_PERIOD],
        ["tiers", "--period", NO_DATA_PERIOD, "--rerun"],
        ["integrity", "--period", NO_DATA_PERIOD],
        ["suggest", "--period", NO_DATA_PERIOD],
        ["brief", "--period", "2099Q1", "--format", "docx", "--out", "{tmp}/b.docx"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_commands_on_a_period_without_data_write_nothing(demo_copy, tmp_path, capsys, argv):
    before = table_counts(demo_copy)
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert cli.main(["--db", str(demo_copy.path), *args]) == 2
    err = capsys.readouterr().err
    assert "没有考核数据" in err and "Traceback" not in err
    assert table_counts(demo_copy) == before
    assert not (tmp_path / "b.docx").exists()


def test_refresh_without_data_says_so(tmp_store, capsys) -> None:
    before = table_counts(tmp_store)
    assert cli.main(["--db", str(tmp_store.path), "refresh"]) == 2
    assert "还没有任何考核数据" in capsys.readouterr().err
    assert table_counts(tmp_store) == before


def test_writers_behind_the_commands_refuse_a_period_without_data(demo_copy) -> None:
    from models.integrity import run_integrity
    from models.pipeline import TieringError, run_tiering
    from models.suggest import run_suggestions

    before = table_counts(demo_copy)
    with pytest.raises(TieringError, match="没有考核数据"):
        run_tiering(demo_copy, NO_DATA_PERIOD)
    with pytest.raises(NoDataError):
        run_integrity(demo_copy, NO_DATA_PERIOD)
    with pytest.raises(NoDataError):
        run_suggestions(demo_copy, NO_DATA_PERIOD)
    assert table_counts(demo_copy) == before


def test_batches_on_the_demo_database(demo_store, capsys) -> None:
    """Demo batches carry no counts (report NULL): listed without them, no TypeError."""
    assert cli.main(["--db", str(demo_store.path), "batches"]) == 0
    out = capsys.readouterr().out
    assert "批次" in out and "新增" not in out.splitlines()[0]


def test_batches_after_an_import_show_counts(tmp_store, capsys) -> None:
    assert import_files(tmp_store, contract_base_files(), user="t").ok
    assert cli.main(["--db", str(tmp_store.path), "batches"]) == 0
    assert "新增 2" in capsys.readouterr().out
