"""Small sample files of every contract kind, written in every container and encoding.

Used by the tests/test_import_*.py files. Two units, three cadres and a few rows of each fact
kind; every row refers only to codes defined here.
"""

from __future__ import annotations

import io
import re
import zipfile

import duckdb
import pandas as pd

from data.store import Store

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
CONTAINERS = (*ENCODINGS, "xlsx")

SAMPLES: dict[str, pd.DataFrame] = {
    "units": pd.DataFrame(
        {
            "单位编码": ["U001", "U002"],
            "单位名称": ["市财政局", "姜堰区"],
            "单位类别": ["市直机关部门", "市(区)"],
            "所属地区": ["市直", "姜堰区"],
            "上级单位编码": [None, None],
        }
    ),
    "cadres": pd.DataFrame(
        {
            "干部编码": ["C001", "C002", "C003"],
            "姓名": ["王某001", "李某002", "张某003"],
            "单位编码": ["U001", "U001", "U002"],
            "职务": ["局长", "副局长", "区长"],
            "性别": ["男", "女", "男"],
            "出生年月": ["1975-03", "1980/7", "1972年12月"],
            "职级": ["正处", "副处", "正处"],
            "班子成员": ["是", "是", "否"],
            "任现职时间": ["2021-05", "2022-01", "2020-09"],
            "学历": ["研究生", "大学本科", "研究生"],
        }
    ),
    "ratings": pd.DataFrame(
        {
            "调研批次": ["2026上半年"] * 4,
            "单位编码": ["U001", "U001", "U001", "U002"],
            "测评人编号": ["R1", "R1", "R2", "R3"],
            "测评人类别": ["中层干部", "中层干部", "服务对象", "一般干部"],
            "测评对象": ["班子", "C001", "班子", "班子"],
            "测评维度": ["政治建设", "德", "担当作为", "工作实绩"],
            "评价": ["好", "3", "较差", "一般"],
            "考核期": ["2026Q2", "2026-Q2", "2026年第二季度", "2026年2季度"],
        }
    ),
    "quarterly_grades": pd.DataFrame(
        {
            "干部编码": ["C001", "C002", "C003"],
            "考核期": ["2026Q1", "2026Q1", "2026年第一季度"],
            "等次": ["好", "较好", "4"],
            "评语": ["成效突出", None, "担当作为"],
        }
    ),
    "annual_grades": pd.DataFrame(
        {
            "干部编码": ["C001", "C002", "C003"],
            "年度": ["2025", "2025", "2025年"],
            "等次": ["优秀", "称职", "基本称职"],
        }
    ),
    "report_items": pd.DataFrame(
        {
            "单位编码": ["U001", "U001", "U002"],
            "考核期": ["2026Q1", "2026Q1", "2026Q1"],
            "事项": ["重点项目推进", "营商环境优化", "民生实事办理"],
            "完成率": ["95", "80.5", "100"],
            "干部编码": ["C001", "C002", None],
            "权重": ["3", "1", "2"],
            "目标值": ["100", "200", "50"],
            "完成值": ["95", "161", "50"],
            "是否重点": ["是", "否", "是"],
        }
    ),
    "actions": pd.DataFrame(
        {
            "干部编码": ["C001", "C002", "C003"],
            "日期": ["2026-03-15", "2026/4/2", "2026年5月20日"],
            "类别": ["嘉奖", "提醒谈话", "问责"],
            "事由": ["年度优秀", "工作滞后", "先行先试失误"],
            "决定机关": ["市委", "市委组织部", "市纪委监委"],
            "关联编号": [None, None, "RC2026001"],
            "容错认定": [None, "否", "是"],
        }
    ),
    "petitions": pd.DataFrame(
        {
            "诉求编号": ["JY2026001", "JY2026002"],
            "受理日期": ["2026-01-05", "2026/2/1"],
            "诉求类别": ["澄清正名", "关心关爱"],
            "单位编码": ["U002", "U002"],
            "干部编码": ["C003", None],
            "办理状态": ["已办结", "办理中"],
            "办结日期": ["2026-01-20", None],
            "牵头部门": ["纪委监委", "组织部"],
            "协办部门": ["组织部、信访局", "无"],
            "关爱谈话次数": ["2", "0"],
        }
    ),
    "clarifications": pd.DataFrame(
        {
            "编号": ["CQ2025001", "CQ2025001", "CQ2025002"],
            "干部编码": ["C001", "C002", "C003"],
            "澄清日期": ["2025-06-01", "2025-06-01", "2025年8月8日"],
            "举报性质": ["诬告陷害", "诬告陷害", "失实检举控告"],
            "对举报人处理": ["党纪处分、行政处罚", "党纪处分、行政处罚", None],
            "说明": ["经查系诬告", "经查系诬告", "经核查失实"],
        }
    ),
    "study": pd.DataFrame(
        {
            "单位编码": ["U001", "U001", "U002"],
            "日期": ["2026-03-10", "2026/5/8", "2026年4月2日"],
            "学习形式": ["专题讨论", "案例教育", "专题民主生活会"],
            "主题": ["树立和践行正确政绩观", "正反典型案例", "对照检查"],
            "参加人数": ["9", "8", "11"],
            "班子成员数": ["9", "9", "12"],
            "学时": ["3", "2.5", "4"],
        }
    ),
    "meetings": pd.DataFrame(
        {
            "会商编号": ["HS2026001", "HS2026002"],
            "会商日期": ["2026-01-08", "2026/2/5"],
            "会商类别": ["问题会商", "定期调度"],
            "牵头部门": ["组织部", "组织部"],
            "参加部门": ["纪委监委、信访局", "纪委监委、人社局、信访局"],
            "涉及案件": ["JY2026001、CQ2025001", None],
            "议题": ["澄清正名会商", "月度调度"],
        }
    ),
    "meeting_tasks": pd.DataFrame(
        {
            "会商编号": ["HS2026001", "HS2026001", "HS2026002"],
            "责任部门": ["纪委监委", "组织部", "人社局"],
            "交办任务": ["出具核查结论", "开展关爱谈话", "落实待遇"],
            "案件编号": ["JY2026001", "CQ2025001", None],
            "交办日期": ["2026-01-08", None, "2026-02-05"],
            "完成时限": ["2026-01-20", "2026-01-31", "2026-03-05"],
            "完成日期": ["2026-01-18", None, "2026年3月1日"],
        }
    ),
}


def file_bytes(frame: pd.DataFrame, container: str, sheet: str = "Sheet1") -> bytes:
    """Return a frame written as .xlsx or as CSV in the given encoding."""
    if container == "xlsx":
        buffer = io.BytesIO()
        frame.to_excel(buffer, index=False, sheet_name=sheet)
        return buffer.getvalue()
    return frame.to_csv(index=False).encode(container)


def file_name(kind: str, container: str) -> str:
    """Return a file name for a sample: ratings.xlsx, ratings-gb18030.csv, …"""
    return f"{kind}.xlsx" if container == "xlsx" else f"{kind}-{container}.csv"


def sample(kind: str, container: str = "utf-8") -> tuple[str, bytes]:
    """Return (name, bytes) of one kind's sample file."""
    return file_name(kind, container), file_bytes(SAMPLES[kind], container)


def base_files(container: str = "utf-8") -> list[tuple[str, bytes]]:
    """Return the units and cadres files the fact kinds depend on."""
    return [sample("units", container), sample("cadres", container)]


def snapshot(store: Store) -> dict[str, list[tuple]]:
    """Return every table's full content, rows sorted, for before/after comparisons."""
    out = {}
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                "ORDER BY table_name"
            ).fetchall()
        ]
        for table in tables:
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            out[table] = sorted(rows, key=repr)
    finally:
        con.close()
    return out


def with_formula(xlsx: bytes, cached: str | None) -> bytes:
    """Return an xlsx whose first formula cell gets a cached value (or none) in the XML."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/") and cached is not None:
                text = data.decode("utf-8")
                text = re.sub(
                    r"(<c [^>]*?)(?: t=\"\w+\")?(>)<f>([^<]*)</f>(<v>[^<]*</v>|<v/>)?",
                    rf'\1 t="str"\2<f>\3</f><v>{cached}</v>',
                    text,
                    count=1,
                )
                data = text.encode("utf-8")
            target.writestr(item, data)
    return buffer.getvalue()


# --- files generated from the contract (data/contract.py), not from an export ----------------

# Codes of the minimal store the contract-generated fact files refer to.
BASE_UNITS = ("G1", "G2")
BASE_CADRES = ("K1", "K2", "K3")
BASE_CASES = ("PE1", "PE2")  # 诉求编号 of the contract-generated petitions
BASE_MEETINGS = ("ME1", "ME2")
BASE_CODES = {"units": BASE_UNITS, "cadres": BASE_CADRES, "cases": BASE_CASES}
BASE_CODES["meetings"] = BASE_MEETINGS
# Every container and encoding the contract promises: Excel, CSV UTF-8, UTF-8 with BOM, GBK.
CONTRACT_CONTAINERS = ("xlsx", "utf-8", "utf-8-sig", "gbk")


def contract_value(kind_name: str, column: str, i: int) -> str:
    """Return a valid cell text for row i of one contract column, chosen by its type."""
    from data.contract import KINDS, TEAM_TARGET, references

    kind = KINDS[kind_name]
    col = kind.column(column)
    refers = dict(references(kind))
    if column in refers and not (kind_name == "units" and column == "unit_code"):
        codes = BASE_CODES[refers[column]]
        if column == "target":
            return TEAM_TARGET if i % 2 == 0 else BASE_CADRES[i % len(BASE_CADRES)]
        return codes[i % len(codes)]
    by_type = {
        "code": f"{kind_name[:2].upper()}{column[:2].upper()}{i:03d}",
        "text": f"{col.header}{i}号",
        "enum": col.allowed[i % len(col.allowed)] if col.allowed else "",
        "enum_list": col.allowed[i % len(col.allowed)] if col.allowed else "",
        "text_list": "组织部、信访局" if i % 2 else "无",
        "grade": ("好", "较好", "一般", "较差")[i % 4],
        "annual_grade": ("优秀", "称职", "基本称职", "不称职")[i % 4],
        "period": f"2023Q{i % 4 + 1}",
        "date": f"2023-{i % 9 + 1:02d}-15",
        "month": f"20{10 + i % 10}-{i % 12 + 1:02d}",
        "bool": ("是", "否")[i % 2],
        "completion": ("95", "80.5", "100")[i % 3],
        "number": f"{i + 1.5}",
        "int": str(i),
        "year": str(2022 + i % 2),
    }
    return by_type[col.type]


def contract_frame(
    kind_name: str,
    columns: list[str] | None = None,
    rows: int = 3,
    spelling: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Return a file of one kind with the given columns (default: required ones), in that order.

    Headers are the Chinese header unless `spelling` picks another accepted spelling.
    """
    from data.contract import KINDS

    kind = KINDS[kind_name]
    names = columns if columns is not None else [c.name for c in kind.required]
    data = {}
    for name in names:
        col = kind.column(name)
        spellings = col.spellings
        header = spellings[(spelling or {}).get(name, 0) % len(spellings)]
        data[header] = [contract_value(kind_name, name, i) for i in range(rows)]
    return pd.DataFrame(data)


def contract_bytes(frame: pd.DataFrame, container: str) -> bytes:
    """Return a frame as .xlsx or as CSV in an encoding (gbk included)."""
    if container == "xlsx":
        return file_bytes(frame, "xlsx")
    return frame.to_csv(index=False).encode(container)


def contract_base_files() -> list[tuple[str, bytes]]:
    """Return the files (required columns only) the contract's references point at.

    Units BASE_UNITS, cadres BASE_CADRES, petitions BASE_CASES and meetings BASE_MEETINGS.
    """
    files = []
    for kind, codes in (
        ("units", BASE_UNITS),
        ("cadres", BASE_CADRES),
        ("petitions", BASE_CASES),
        ("meetings", BASE_MEETINGS),
    ):
        from data.contract import KINDS

        frame = contract_frame(kind, rows=len(codes))
        frame[KINDS[kind].columns[0].header] = list(codes)
        files.append((f"base-{kind}.csv", frame.to_csv(index=False).encode("utf-8")))
    return files


def table_counts(store: Store) -> dict[str, int]:
    """Return the row count of every table in the store."""
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        ]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()
