"""banzi 命令行 / command line: a thin client over the same functions the dashboard uses.

Exit codes: 0 成功 ok; 1 运行错误 runtime error (e.g. the database is busy); 2 输入有误 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

from data.store import Store, StoreError

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """A user error: the message is printed and the exit code is 2."""


def _period(text: str) -> str:
    """Return the canonical period for any accepted spelling; bad input exits with code 2."""
    from data.periods import PeriodError, parse_period

    try:
        return parse_period(text)
    except PeriodError as exc:
        raise BadInput(str(exc)) from exc


def _store(args: argparse.Namespace) -> Store:
    return Store(args.db)


def cmd_init(args: argparse.Namespace) -> int:
    """Create the database (or upgrade its schema) and report the version."""
    version = _store(args).init()
    print(f"数据库已就绪：{_store(args).path}（结构版本 {version}）")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the synthetic demo data set."""
    from data.demo import SCALES, build_demo, is_demo

    if args.scale not in SCALES:
        raise BadInput(f"未知规模 {args.scale!r}，可选：{'、'.join(SCALES)}")
    store = _store(args)
    if store.exists() and not args.force:
        with store.read() as con:
            has_data = con.execute("SELECT count(*) FROM units").fetchone()[0] > 0
            demo = is_demo(con)
        if has_data and not demo:
            raise BadInput(f"{store.path} 中已有非演示数据；如确需用演示数据覆盖，请加 --force。")
    summary = build_demo(store, scale=args.scale, seed=args.seed)
    print(f"演示数据已生成（合成数据，非真实人员）：{store.path}")
    print(f"规模 {summary.scale}，随机种子 {summary.seed}，用时 {summary.seconds} 秒")
    for table, rows in summary.counts.items():
        print(f"  {table}: {rows}")
    if not args.no_tiers:
        from models.pipeline import tier_all_periods

        runs = tier_all_periods(store)
        seconds = sum(r.seconds for r in runs)
        print(f"已为 {len(runs)} 个考核期完成班子分层，用时 {seconds:.1f} 秒")
    return EXIT_OK


def cmd_refresh(args: argparse.Namespace) -> int:
    """Recompute tiers, integrity signals and suggestions for every period (after imports)."""
    from models.pipeline import tier_all_periods

    runs = tier_all_periods(_store(args))
    seconds = sum(r.seconds for r in runs)
    print(
        f"已为 {len(runs)} 个考核期重新分层，并更新考核质量信号与调整建议（分层用时 {seconds:.1f} 秒）"
    )
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Print the row counts of the main tables."""
    from data.catalog import store_summary

    with _store(args).read() as con:
        counts = store_summary(con)
    print(json.dumps(counts, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Import contract files (or only check them with --dry-run); exit 2 if any is refused."""
    from data.contract import kind_choices, resolve_kind
    from data.importer import import_paths

    if args.kind:
        try:
            resolve_kind(args.kind)
        except KeyError:
            raise BadInput(f"未知的数据类型 {args.kind!r}，可选：{kind_choices()}") from None
    report = import_paths(
        _store(args), args.files, kind=args.kind, dry_run=args.dry_run, user=args.user
    )
    print(report.to_text())
    if args.errors_out:
        report.problems().to_csv(args.errors_out, index=False, encoding="utf-8-sig")
        print(f"全部问题已写入 {args.errors_out}")
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def cmd_batches(args: argparse.Namespace) -> int:
    """List import batches, newest first."""
    from data.importer import list_batches

    frame = list_batches(_store(args), limit=args.limit)
    if frame.empty:
        print("还没有任何导入批次。")
        return EXIT_OK
    status = {"active": "有效", "rolled_back": "已回滚"}
    for row in frame.itertuples(index=False):
        counts = (
            ""
            if row.new != row.new or row.new is None
            else (f"  新增 {row.new} 替换 {row.replaced} 未变 {row.unchanged}")
        )
        print(
            f"批次 {row.batch_id:>4}  {status.get(row.status, row.status)}  "
            f"{row.imported_at:%Y-%m-%d %H:%M}  {row.imported_by}  {row.kind_label}  "
            f"{row.row_count} 行{counts}  {row.file_name}"
        )
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    """Roll back one import batch whole."""
    from data.importer import rollback_batch

    result = rollback_batch(_store(args), args.batch, user=args.user)
    print(result.to_text())
    return EXIT_OK


def cmd_template(args: argparse.Namespace) -> int:
    """Write an empty Excel template for one kind of file."""
    from data.contract import kind_choices
    from data.templates import write_template

    try:
        path = write_template(args.kind, args.out)
    except KeyError:
        raise BadInput(f"未知的数据类型 {args.kind!r}，可选：{kind_choices()}") from None
    print(f"模板已写入 {path}")
    return EXIT_OK


def cmd_tiers(args: argparse.Namespace) -> int:
    """Tier the teams of a period (or show the stored tiers) as a table, CSV or JSON."""
    from data.access import SYSTEM_VIEWER
    from data.tiers_store import latest_tiers
    from models.pipeline import TieringError, run_tiering
    from models.tiers import METHODS, TIER_LABELS

    period = _period(args.period)
    if args.method and args.method not in METHODS:
        raise BadInput(f"未知方法 {args.method!r}，可选：{'、'.join(METHODS)}")
    store = _store(args)
    with store.read() as con:
        frame = latest_tiers(con, SYSTEM_VIEWER, period)
    if frame.empty or args.method or args.rerun:
        try:
            result = run_tiering(store, period, SYSTEM_VIEWER, method=args.method)
        except TieringError as exc:
            raise BadInput(str(exc)) from exc
        m = result.metrics
        print(
            f"已分层 {len(result.results)} 个班子（{m.get('method_chosen', result.method)}，用时 {result.seconds:.1f} 秒，"
            f"稳定性 ARI {m['stability_ari_mean'] or 0:.2f}）。{result.drivers_text}",
            file=sys.stderr,
        )
        for missing in result.missing:
            print(f"缺少数据来源：{missing}", file=sys.stderr)
        with store.read() as con:
            frame = latest_tiers(con, SYSTEM_VIEWER, period)
    out = frame.assign(
        tier_label=frame["tier"].map(TIER_LABELS),
        composite_tier_label=frame["composite_tier"].map(TIER_LABELS),
    )
    if args.format == "json":
        cols = ["unit_code", "unit_name", "unit_kind", "region", "tier", "tier_label",
                "computed_tier", "confidence", "is_boundary", "composite", "composite_tier",
                "pct_city", "pct_peer", "weakest", "disagree", "overridden"]  # fmt: skip
        text = out[cols].to_json(orient="records", force_ascii=False, indent=2)
        _emit(text, args.output, "utf-8")
        return EXIT_OK
    table = out.assign(
        confidence=out["confidence"].map("{:.0%}".format),
        is_boundary=out["is_boundary"].map({True: "是", False: ""}),
        disagree=out["disagree"].map({True: "是", False: ""}),
    )[["unit_code", "unit_name", "unit_kind", "tier_label", "confidence", "is_boundary",
       "composite", "composite_tier_label", "disagree", "weakest"]]  # fmt: skip
    table.columns = ["单位编码", "单位名称", "单位类别", "层级", "置信度", "边界", "综合得分",
                     "综合得分四分位层级", "两种分层不一致", "主要短板"]  # fmt: skip
    if args.format == "csv":
        # utf-8-sig so that Excel on a Chinese Windows opens the file with the right encoding.
        _emit(table.to_csv(index=False), args.output, "utf-8-sig")
    else:
        _emit(table.to_string(index=False), args.output, "utf-8")
    return EXIT_OK


def cmd_integrity(args: argparse.Namespace) -> int:
    """Print the appraisal-integrity signals of a period (flagged first) as table, CSV or JSON."""
    from data.access import SYSTEM_VIEWER
    from models.integrity import integrity_signals

    period = _period(args.period)
    frame = integrity_signals(_store(args), SYSTEM_VIEWER, period)
    if not args.all:
        frame = frame[frame["flagged"]]
    if args.format == "json":
        _emit(frame.to_json(orient="records", force_ascii=False, indent=2), args.output, "utf-8")
        return EXIT_OK
    table = frame.assign(flagged=frame["flagged"].map({True: "是", False: ""}))[
        ["unit_code", "unit_name", "signal_label", "strength", "p_value", "q_value", "flagged",
         "evidence"]
    ]  # fmt: skip
    table.columns = ["单位编码", "单位名称", "信号", "强度", "p值", "q值", "标记", "依据"]
    if args.format == "csv":
        _emit(table.to_csv(index=False), args.output, "utf-8-sig")
    elif table.empty:
        _emit(f"{period} 没有被标记的考核质量信号。", args.output, "utf-8")
    else:
        _emit(table.to_string(index=False), args.output, "utf-8")
    return EXIT_OK


def cmd_suggest(args: argparse.Namespace) -> int:
    """Print a period's suggestions (adjustments, incentives, care talks) with their basis."""
    from data.access import SYSTEM_VIEWER
    from models.suggest import suggestion_run

    period = _period(args.period)
    run = suggestion_run(_store(args), SYSTEM_VIEWER, period, include_decided=args.all)
    for note in run.notes:
        print(f"提示：{note}", file=sys.stderr)
    frame = run.frame
    print(f"{period} 共 {len(frame)} 条建议。", file=sys.stderr)
    if args.format == "json":
        cols = ["cadre_code", "name", "unit_code", "unit_name", "subject_kind", "subject_code",
                "category", "action", "rule_id", "rule_ids", "evidence", "basis", "period",
                "suggestion_key", "facts_hash", "decision", "decided_by"]  # fmt: skip
        text = frame[cols].to_json(orient="records", force_ascii=False, indent=2)
        _emit(text, args.output, "utf-8")
        return EXIT_OK
    labels = {"cadre_code": "干部编码", "name": "姓名", "unit_code": "单位编码",
              "unit_name": "单位名称", "category": "类别", "action": "建议", "rule_ids": "规则",
              "basis": "依据", "evidence": "事实与理由", "period": "考核期",
              "suggestion_key": "建议编号", "decision": "决定"}  # fmt: skip
    table = frame.assign(decision=frame["decision"].map(SUGGEST_DECISIONS).fillna("待决定"))
    if args.format == "csv":
        # utf-8-sig so that Excel on a Chinese Windows opens the file with the right encoding.
        _emit(table[list(labels)].rename(columns=labels).to_csv(index=False), args.output,
              "utf-8-sig")  # fmt: skip
    else:
        short = ["cadre_code", "name", "unit_name", "action", "rule_ids", "decision"]
        _emit(table[short].rename(columns=labels).to_string(index=False), args.output, "utf-8")
    return EXIT_OK


SUGGEST_DECISIONS = {"accept": "采纳", "reject": "不采纳", "defer": "暂缓"}


def _emit(text: str, output: str | None, encoding: str) -> None:
    """Write text to a file (with the given encoding) or to stdout."""
    if output:
        with open(output, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
        print(f"已写入 {output}", file=sys.stderr)
    else:
        print(text)


def _cli_admin():
    """Return the admin viewer the CLI acts as (the OS login is recorded in the audit log)."""
    import getpass

    from data.access import Viewer

    try:
        who = getpass.getuser()
    except Exception:
        who = "unknown"
    return Viewer(f"cli:{who}", "admin", display_name="命令行")


def _read_password(args: argparse.Namespace) -> str:
    """Return the password from --password, else a prompt (twice) or one line of stdin."""
    import getpass

    if args.password is not None:
        return args.password
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码：")
    if first != getpass.getpass("再次输入密码："):
        raise BadInput("两次输入的密码不一致。")
    return first


def _user_write(args: argparse.Namespace, fn, *extra) -> None:
    from data.users import UserError

    try:
        with _store(args).write() as con:
            fn(con, _cli_admin(), *extra)
    except UserError as exc:
        raise BadInput(str(exc)) from exc


def cmd_user_add(args: argparse.Namespace) -> int:
    """Create a login account with a role (and units for a 单位负责人)."""
    from data.users import add_user

    units = [c for code in args.unit for c in code.replace("，", ",").split(",") if c.strip()]
    password = _read_password(args)
    _user_write(args, add_user, args.username, password, args.role, units, args.name or "")
    print(f"已创建用户 {args.username}（{args.role}）。")
    return EXIT_OK


def cmd_user_list(args: argparse.Namespace) -> int:
    """List the accounts (never their password hashes)."""
    import pandas as pd

    from data.users import list_users

    with _store(args).read() as con:
        frame = list_users(con, _cli_admin())
    if frame.empty:
        print("还没有用户。")
    for row in frame.itertuples(index=False):
        locked = pd.notna(row.locked_until) and row.locked_until > pd.Timestamp.now()
        state = "已停用" if row.disabled else ("已锁定" if locked else "正常")
        print(f"{row.username:<20} {row.role:<11} {state:<4} {row.display_name}  {row.unit_codes}")
    return EXIT_OK


def cmd_user_disable(args: argparse.Namespace) -> int:
    """Disable an account (or re-enable it with --enable)."""
    from data.users import set_disabled

    _user_write(args, set_disabled, args.username, not args.enable)
    print(f"已{'启用' if args.enable else '停用'}用户 {args.username}。")
    return EXIT_OK


def cmd_user_passwd(args: argparse.Namespace) -> int:
    """Set a new password for an account (also clears a lock-out)."""
    from data.users import set_password

    _user_write(args, set_password, args.username, _read_password(args))
    print(f"已重置用户 {args.username} 的密码。")
    return EXIT_OK


def cmd_brief(args: argparse.Namespace) -> int:
    """Write the briefing (简报) of a period as Word, PDF and/or Excel; audit each export."""
    import time
    from datetime import date
    from pathlib import Path

    from data.access import AccessDenied
    from data.periods import PeriodError, parse_period
    from reports.brief import FORMATS, build_briefings
    from reports.content import Scope
    from reports.settings import BriefingSettings

    started = time.perf_counter()
    store = _store(args)
    try:
        period = _latest_period(store) if args.period == "latest" else parse_period(args.period)
        issued = date.fromisoformat(args.issued_on) if args.issued_on else None
    except (PeriodError, ValueError) as exc:
        raise BadInput(str(exc)) from exc
    formats = list(FORMATS) if args.format == "all" else args.format.split(",")
    if any(f not in FORMATS for f in formats):
        raise BadInput(f"未知格式 {args.format!r}，可选：docx、pdf、xlsx（可用逗号连写）或 all")
    chosen = [(k, v) for k, v in (("region", args.region), ("unit_kind", args.kind),
                                  ("unit", args.unit)) if v]  # fmt: skip
    if len(chosen) > 1:
        raise BadInput("--region、--kind、--unit 只能选一个。")
    scope = Scope(*chosen[0]) if chosen else Scope()
    viewer = _brief_viewer(store, args.user)
    if not args.no_tiering:
        _ensure_brief_tiers(store, period)
    settings = BriefingSettings.from_env(issuer=args.issuer, issued_on=issued)
    try:
        files = build_briefings(store, viewer, period, formats, scope, settings)
    except AccessDenied as exc:
        raise BadInput(str(exc)) from exc
    out = Path(args.out)
    for fmt, data in files.items():
        target = out if len(files) == 1 else out.with_suffix(FORMATS[fmt][1])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        print(f"已写入 {target}（{len(data) / 1024:.0f} KB）", file=sys.stderr)
    print(f"用时 {time.perf_counter() - started:.1f} 秒。", file=sys.stderr)
    return EXIT_OK


def _latest_period(store: Store) -> str:
    """Return the newest period with data (for `brief --period latest`, e.g. from cron)."""
    from data.access import SYSTEM_VIEWER
    from data.catalog import available_periods

    with store.read() as con:
        periods = available_periods(con, SYSTEM_VIEWER)
    if not periods:
        raise BadInput("数据库中还没有考核数据。")
    return periods[0]


def _brief_viewer(store: Store, username: str | None):
    """Return the viewer a briefing is built for: --user's account, else the CLI admin."""
    if not username:
        return _cli_admin()
    from data.users import get_viewer

    with store.read() as con:
        viewer = get_viewer(con, username)
    if viewer is None:
        raise BadInput(f"用户 {username} 不存在。")
    return viewer


def _ensure_brief_tiers(store: Store, period: str) -> None:
    """Run the tiering of period (and of the quarter before, for changes) where none is stored."""
    from data.access import SYSTEM_VIEWER
    from data.catalog import available_periods
    from data.periods import shift_period
    from data.tiers_store import latest_run, previous_tier_period
    from models.pipeline import TieringError, run_tiering

    with store.read() as con:
        have = latest_run(con, SYSTEM_VIEWER, period) is not None
        has_previous = previous_tier_period(con, SYSTEM_VIEWER, period) is not None
        periods = set(available_periods(con, SYSTEM_VIEWER))
    wanted = [] if have else [period]
    before = shift_period(period, -1)
    if not has_previous and before in periods:
        wanted.insert(0, before)
    for p in wanted:
        print(f"{p} 尚无分层结果，正在分层……", file=sys.stderr)
        try:
            run_tiering(store, p, SYSTEM_VIEWER)
        except TieringError as exc:
            print(f"分层未完成：{exc}", file=sys.stderr)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark (issue 8); write bench/results.json and bench/results.md."""
    from bench.run import run_from_args

    return run_from_args(args)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="cli.py",
        description="banzi 班子运行质态分析命令行 — leadership-team quality analytics, batch tools.",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="数据库文件路径（默认 $BANZI_DB 或 data/banzi.duckdb） / database file path",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("init", help="建立或升级数据库 / create or upgrade the database")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help="生成演示数据（合成） / build the synthetic demo data set")
    p.add_argument(
        "--scale", default="city", help="规模 city|tiny|province（默认 city） / size of the demo"
    )
    p.add_argument("--seed", type=int, default=42, help="随机种子 / random seed (default 42)")
    p.add_argument(
        "--force", action="store_true", help="覆盖已有的非演示数据 / overwrite non-demo data"
    )
    p.add_argument(
        "--no-tiers",
        action="store_true",
        help="生成后不运行班子分层 / skip tiering after generating",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "refresh",
        help="导入后重新计算分层、考核质量信号和建议 / recompute tiers, signals, suggestions",
    )
    p.set_defaults(func=cmd_refresh)

    p = sub.add_parser("status", help="各表行数 / row counts of the main tables")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("bench", help="性能基准测试 / run the benchmark (bench/results.md)")
    from bench.run import add_arguments as add_bench_arguments

    add_bench_arguments(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("import", help="导入数据文件（.xlsx/.csv） / import contract files")
    p.add_argument("files", nargs="+", metavar="FILE", help="要导入的文件 / files to import")
    p.add_argument(
        "--kind",
        default=None,
        help="数据类型（默认按表头识别），如 ratings 或 民主测评 / kind of the files",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="只校验、不写入 / validate only, write nothing"
    )
    p.add_argument("--user", default=None, help="记录为导入人 / who imports (default: login)")
    p.add_argument(
        "--errors-out",
        default=None,
        metavar="CSV",
        help="把全部问题写入 CSV 文件 / write every problem to a CSV file",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("batches", help="列出导入批次 / list import batches")
    p.add_argument("--limit", type=int, default=50, help="最多显示几条 / how many (default 50)")
    p.set_defaults(func=cmd_batches)

    p = sub.add_parser("rollback", help="整批回滚一次导入 / roll back an import batch")
    p.add_argument("batch", type=int, metavar="BATCH", help="批次号 / batch id")
    p.add_argument("--user", default=None, help="记录为操作人 / who rolls back")
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("template", help="生成空白导入模板 / write an empty Excel template")
    p.add_argument("kind", metavar="KIND", help="数据类型，如 ratings 或 民主测评 / kind")
    p.add_argument("--out", required=True, metavar="FILE.xlsx", help="输出文件 / output file")
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("tiers", help="班子分层 / tier the teams of a period")
    p.add_argument("--period", required=True, help="考核期，如 2023Q4 / period, e.g. 2023Q4")
    p.add_argument(
        "--format", choices=("table", "csv", "json"), default="table",
        help="输出格式 table|csv|json（默认 table） / output format",
    )  # fmt: skip
    p.add_argument(
        "--method", default=None,
        help="分层模型，默认 auto 按数据自动选择；可指定 gmm_blocks|gmm_core|kmeans_std|gmm_composite|kmeans_pca2（指定即重新分层） / model (re-runs)",
    )  # fmt: skip
    p.add_argument("--rerun", action="store_true", help="重新分层 / run the tiering again")
    p.add_argument("--output", default=None, help="写入文件而非屏幕 / write to this file")
    p.set_defaults(func=cmd_tiers)

    p = sub.add_parser(
        "integrity", help="考核质量信号（优秀轮流上等） / appraisal-integrity signals of a period"
    )
    p.add_argument("--period", required=True, help="考核期，如 2023Q4 / period, e.g. 2023Q4")
    p.add_argument(
        "--format", choices=("table", "csv", "json"), default="table",
        help="输出格式 table|csv|json（默认 table） / output format",
    )  # fmt: skip
    p.add_argument(
        "--all", action="store_true", help="含未标记的单位和信号 / include unflagged rows"
    )
    p.add_argument("--output", default=None, help="写入文件而非屏幕 / write to this file")
    p.set_defaults(func=cmd_integrity)

    p = sub.add_parser("suggest", help="调整与激励建议 / suggestions with evidence and basis")
    p.add_argument("--period", required=True, help="考核期，如 2023Q4 / period, e.g. 2023Q4")
    p.add_argument(
        "--format", choices=("table", "csv", "json"), default="table",
        help="输出格式 table|csv|json（默认 table） / output format",
    )  # fmt: skip
    p.add_argument("--all", action="store_true", help="含已决定的建议 / include decided ones")
    p.add_argument("--output", default=None, help="写入文件而非屏幕 / write to this file")
    p.set_defaults(func=cmd_suggest)

    p = sub.add_parser("brief", help="导出简报 Word/PDF/Excel / write the briefing of a period")
    p.add_argument("--period", required=True,
                   help="考核期，如 2023Q4，或 latest（最新一期） / period, or latest")  # fmt: skip
    p.add_argument(
        "--format", default="docx",
        help="docx|pdf|xlsx，可逗号连写或 all（默认 docx） / format(s), e.g. docx,pdf or all",
    )  # fmt: skip
    p.add_argument("--out", required=True, metavar="FILE",
                   help="输出文件；多种格式时按格式替换扩展名 / output file")  # fmt: skip
    p.add_argument("--region", default=None, help="只含一个地区，如 姜堰区 / one region")
    p.add_argument("--kind", default=None, help="只含一类单位，如 市直机关部门 / one unit kind")
    p.add_argument("--unit", default=None, metavar="CODE", help="只含一个单位 / one unit code")
    p.add_argument("--user", default=None,
                   help="按该账户的权限生成并记入审计 / build as this account")  # fmt: skip
    p.add_argument("--issuer", default=None,
                   help="发文单位（默认 $BANZI_ISSUER 或 中共泰州市委组织部） / issuing body")  # fmt: skip
    p.add_argument("--issued-on", default=None, metavar="YYYY-MM-DD",
                   help="简报日期（默认今天） / date on the briefing")  # fmt: skip
    p.add_argument("--no-tiering", action="store_true",
                   help="缺分层结果时不自动分层 / do not run a missing tiering")  # fmt: skip
    p.set_defaults(func=cmd_brief)

    p = sub.add_parser("user", help="用户账户 / login accounts (add, list, disable, passwd)")
    user_sub = p.add_subparsers(dest="user_command", metavar="ACTION")
    user_sub.required = True
    q = user_sub.add_parser("add", help="新增用户 / create an account")
    q.add_argument("username", metavar="USERNAME", help="用户名 / login name")
    q.add_argument(
        "--role",
        required=True,
        choices=("admin", "org", "unit_head", "researcher"),
        help="角色 / role: admin 管理员, org 组织部, unit_head 单位负责人, researcher 研究人员",
    )
    q.add_argument(
        "--unit",
        action="append",
        default=[],
        metavar="CODE",
        help="负责单位编码（单位负责人，可多次） / unit code of a unit_head (repeatable)",
    )
    q.add_argument("--name", default=None, help="显示姓名 / display name")
    q.add_argument(
        "--password",
        default=None,
        help="密码（缺省时提示输入或读标准输入一行） / password (else prompt or stdin)",
    )
    q.set_defaults(func=cmd_user_add)
    q = user_sub.add_parser("list", help="列出用户 / list accounts")
    q.set_defaults(func=cmd_user_list)
    q = user_sub.add_parser("disable", help="停用用户 / disable an account")
    q.add_argument("username", metavar="USERNAME", help="用户名 / login name")
    q.add_argument("--enable", action="store_true", help="重新启用 / re-enable instead")
    q.set_defaults(func=cmd_user_disable)
    q = user_sub.add_parser("passwd", help="重置密码并解除锁定 / set a new password, unlock")
    q.add_argument("username", metavar="USERNAME", help="用户名 / login name")
    q.add_argument(
        "--password",
        default=None,
        help="新密码（缺省时提示输入或读标准输入一行） / new password (else prompt or stdin)",
    )
    q.set_defaults(func=cmd_user_passwd)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except BadInput as exc:
        print(f"输入有误：{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StoreError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
