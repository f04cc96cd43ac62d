"""banzi 命令行 / command line: a thin client over the same functions the dashboard uses.

Exit codes: 0 成功 ok; 1 运行错误 runtime error (e.g. the database is busy); 2 输入有误 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

from data.store import Store, StoreError
from data.vocab import DECISION_LABELS, ROLES

__version__ = "0.1.0"

EXIT_OK, EXIT_ERROR, EXIT_BAD_INPUT = 0, 1, 2
OUTPUT_FORMATS = ("table", "csv", "json")
BRIEF_FORMATS = ("docx", "pdf", "xlsx")
DEMO_SCALES = ("city", "tiny", "province")  # data.demo.SCALES (a test keeps them equal)
TIER_METHODS = (
    "auto",
    "gmm_blocks",
    "gmm_core",
    "kmeans_std",
    "gmm_composite",
    "kmeans_pca2",
    "gmm",
    "kmeans",
    "agglomerative",
)  # models.tiers.METHODS (tested)


class BadInput(Exception):
    """A user error: the message is printed and the exit code is 2."""


class ArgumentProblem(Exception):
    """A command line argparse refused; main() prints it in Chinese and exits with 2."""


_TYPES = {"int": "整数", "float": "数字"}


def _choices(text: str) -> str:
    return text.replace("'", "").replace(", ", "、")


# argparse's English messages -> Chinese (Python 3.11 wording).
_ARGPARSE_CHINESE = [
    (r"^argument (.+?): invalid choice: '?(.*?)'? \(choose from (.*)\)$",
     lambda m: f"参数 {m[1]} 的取值 {m[2]} 无效，可选：{_choices(m[3])}"),
    (r"^argument (.+?): invalid (\w+) value: '?(.*?)'?$",
     lambda m: f"参数 {m[1]} 的取值 {m[3]} 无效（需要{_TYPES.get(m[2], m[2])}）"),
    (r"^argument (.+?): expected one argument$", lambda m: f"参数 {m[1]} 需要一个值"),
    (r"^argument (.+?): expected at least one argument$", lambda m: f"参数 {m[1]} 至少需要一个值"),
    (r"^the following arguments are required: (.*)$", lambda m: f"缺少必需的参数：{m[1]}"),
    (r"^unrecognized arguments: (.*)$", lambda m: f"无法识别的参数：{m[1]}"),
    (r"^argument (.+?): not allowed with argument (.*)$",
     lambda m: f"参数 {m[1]} 不能与 {m[2]} 同时使用"),
    (r"^argument (.+?): (.*)$", lambda m: f"参数 {m[1]}：{m[2]}"),
]  # fmt: skip


def chinese_argparse_message(message: str) -> str:
    """Return argparse's English error message in Chinese (unknown wording kept as is)."""
    import re

    for pattern, render in _ARGPARSE_CHINESE:
        match = re.match(pattern, message, re.S)
        if match:
            return render(match)
    return message


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become ArgumentProblem with a Chinese message."""

    def error(self, message: str):  # type: ignore[override]
        """Raise ArgumentProblem instead of printing English usage and exiting."""
        raise ArgumentProblem(f"{chinese_argparse_message(message)}（用法：{self.prog} --help）")


def _out_file(text: str) -> str:
    """Return an output file path; refuse a folder (argparse type)."""
    from pathlib import Path

    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} 是一个文件夹，请给出文件名（含扩展名）")
    return text


def _brief_formats(text: str) -> str:
    """Return the --format of brief (docx, pdf, xlsx, a comma list of them, or all)."""
    parts = [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
    if text.strip() != "all" and (not parts or any(p not in BRIEF_FORMATS for p in parts)):
        raise argparse.ArgumentTypeError(
            f"未知格式 {text!r}，可选：docx、pdf、xlsx（可用逗号连写）或 all"
        )
    return text.strip() if text.strip() == "all" else ",".join(parts)


def _interactive() -> bool:
    """Return whether progress bars may be drawn (stderr is a terminal)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """A tqdm progress bar on stderr, quiet when stderr is not a terminal.

    Call it with (step text[, done, total]); without `done` it advances by one.
    """

    def __init__(self, desc: str, total: int | None = None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=desc, unit="步", file=sys.stderr, leave=False,
                        disable=not _interactive(), dynamic_ncols=True,
                        mininterval=0, miniters=1)  # fmt: skip

    def __call__(self, step: str, done: int | None = None, total: int | None = None) -> None:
        """Show step and advance the bar (to `done` of `total` when given)."""
        if total is not None and self.bar.total != total:
            self.bar.total = total
        self.bar.set_postfix_str(step, refresh=False)
        if done is None:
            self.bar.update(1)
        else:
            self.bar.update(done - self.bar.n)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def _period(text: str, store: Store | None = None) -> str:
    """Return the canonical period for any accepted spelling; bad input exits with code 2.

    With a store, the period must have data there ('latest' = the newest period with data).
    """
    from data.periods import PeriodError, parse_period, require_period_with_data

    try:
        if store is None:
            return parse_period(text)
        with store.read() as con:
            return require_period_with_data(con, text)
    except PeriodError as exc:
        raise BadInput(str(exc)) from exc


def _store(args: argparse.Namespace) -> Store:
    return Store(args.db)


def _existing_store(args: argparse.Namespace) -> Store:
    """Return the store, refusing a database file that does not exist yet (no silent create)."""
    from data.store import StoreMissingError

    store = _store(args)
    if not store.exists():
        raise StoreMissingError(
            f"数据库文件 {store.path} 不存在。请先运行 `python cli.py init` 建立空库，"
            "或 `python cli.py demo` 生成演示数据。"
        )
    return store


def cmd_init(args: argparse.Namespace) -> int:
    """Create the database (or upgrade its schema) and report the version."""
    from data.appdb import PgAppStore, app_store

    version = _store(args).init()
    print(f"数据库已就绪：{_store(args).path}（结构版本 {version}）")
    app = app_store(_store(args))
    if isinstance(app, PgAppStore):
        print(f"应用数据库已就绪：{app!r}（结构版本 {app.init()}）")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the synthetic demo data set."""
    from data.catalog import is_demo, store_summary
    from data.demo import SCALES, build_demo

    if args.scale not in SCALES:
        raise BadInput(f"未知规模 {args.scale!r}，可选：{'、'.join(SCALES)}")
    store = _store(args)
    viewer = _cli_admin()
    if store.exists() and not args.force:
        with store.read() as con:
            has_data = store_summary(con)["units"] > 0
            demo = is_demo(con)
        if has_data and not demo:
            raise BadInput(f"{store.path} 中已有非演示数据；如确需用演示数据覆盖，请加 --force。")
    with Progress("演示数据") as progress:
        summary = build_demo(store, scale=args.scale, seed=args.seed)
        progress("已生成数据")
        if not args.no_tiers:
            from models.pipeline import tier_all_periods

            runs = tier_all_periods(
                store,
                viewer,
                progress=lambda step, done, total: progress(step, done + 1, total + 1),
            )
    print(f"演示数据已生成（合成数据，非真实人员）：{store.path}")
    print(f"规模 {summary.scale}，随机种子 {summary.seed}，用时 {summary.seconds} 秒")
    for table, rows in summary.counts.items():
        print(f"  {table}: {rows}")
    if not args.no_tiers:
        seconds = sum(r.seconds for r in runs)
        print(f"已为 {len(runs)} 个考核期完成班子分层，用时 {seconds:.1f} 秒")
    return EXIT_OK


def cmd_refresh(args: argparse.Namespace) -> int:
    """Recompute tiers, integrity signals and suggestions for every period (after imports)."""
    from data.refresh import clear_refresh
    from models.pipeline import tier_all_periods

    _period("latest", _store(args))  # a database without data: say so, write nothing
    store = _existing_store(args)
    with Progress("重新计算") as progress:
        runs = tier_all_periods(store, _cli_admin(), progress=progress)
    with store.write(bump_version=True) as con:
        clear_refresh(con, [r.period for r in runs])
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
    from data.cells import safe_frame
    from data.contract import kind_choices, resolve_kind
    from data.importer import import_paths

    if args.kind:
        try:
            resolve_kind(args.kind)
        except KeyError:
            raise BadInput(f"未知的数据类型 {args.kind!r}，可选：{kind_choices()}") from None
    _check_import_paths(args.files, args.errors_out)
    steps = 2 * len(args.files)
    with Progress("校验" if args.dry_run else "导入", total=steps) as progress:
        report = import_paths(_store(args), args.files, kind=args.kind, dry_run=args.dry_run,
                              user=args.user, viewer=_cli_admin(),
                              progress=lambda text, share: progress(text, round(share * steps), steps))  # fmt: skip
    print(report.to_text())
    if args.errors_out:
        try:
            safe_frame(report.problems()).to_csv(args.errors_out, index=False, encoding="utf-8-sig")
        except OSError as exc:
            raise BadInput(f"无法写入问题清单 {args.errors_out}：{exc.strerror or exc}") from exc
        print(f"全部问题已写入 {args.errors_out}")
    imported = [f.batch_id for f in report.files if f.status == "imported" and f.batch_id]
    if imported and not args.dry_run:
        from data.periods import format_period
        from models.refresh import queue_after_import, refresh_after_import

        if args.no_refresh:
            queued = queue_after_import(_store(args), imported)
            if queued:
                names = "、".join(format_period(p) for p in queued)
                print(f"{names} 的分析结果已排队，运行 `python cli.py refresh` 完成计算。")
        else:
            print(refresh_after_import(_store(args), imported).to_text())
    return EXIT_OK if report.ok else EXIT_BAD_INPUT


def _check_import_paths(files: list[str], errors_out: str | None) -> None:
    """Refuse (exit 2) missing files, folders, and an --errors-out that is a folder."""
    from pathlib import Path

    for name in files:
        path = Path(name)
        if path.is_dir():
            raise BadInput(f"{name} 是文件夹，不是文件：请给出要导入的 .xlsx 或 .csv 文件。")
        if not path.is_file():
            raise BadInput(f"找不到文件 {name}。")
    if errors_out and Path(errors_out).is_dir():
        raise BadInput(f"--errors-out {errors_out} 是文件夹：请给出问题清单的文件名，如 问题.csv。")


def cmd_batches(args: argparse.Namespace) -> int:
    """List import batches, newest first."""
    from data.importer import list_batches

    frame = list_batches(_store(args), limit=args.limit)
    if frame.empty:
        print("还没有任何导入批次。")
        return EXIT_OK
    import pandas as pd

    status = {"active": "有效", "rolled_back": "已回滚"}
    for row in frame.itertuples(index=False):
        counts = (
            ""
            if pd.isna(row.new)  # batches written before reports held counts (e.g. the demo)
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
    from models.refresh import refresh_after_import, touched_periods

    store = _existing_store(args)
    periods = touched_periods(store, [args.batch])
    result = rollback_batch(store, args.batch, user=args.user, viewer=_cli_admin())
    print(result.to_text())
    print(refresh_after_import(store, [args.batch], periods=periods).to_text())
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
    from data.tiers_store import latest_tiers
    from models.pipeline import TieringError, run_tiering
    from models.tiers import METHODS, TIER_LABELS

    period = _period(args.period, _store(args))
    if args.method and args.method not in METHODS:
        raise BadInput(f"未知方法 {args.method!r}，可选：{'、'.join(METHODS)}")
    store = _store(args)
    with store.read() as con:
        frame = latest_tiers(con, _cli_admin(), period)
    if frame.empty or args.method or args.rerun:
        try:
            result = run_tiering(store, period, _cli_admin(), method=args.method)
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
            frame = latest_tiers(con, _cli_admin(), period)
    _audit_export(args, period, len(frame))
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
        _emit(csv_text(table), args.output, "utf-8-sig")
    else:
        _emit(table.to_string(index=False), args.output, "utf-8")
    return EXIT_OK


def cmd_integrity(args: argparse.Namespace) -> int:
    """Print a period's integrity signals (标记 first, then 提示) or its case findings."""
    from models.integrity import case_findings, integrity_signals

    period = _period(args.period, _store(args))
    if args.cases:
        cases = case_findings(_store(args), _cli_admin(), period)
        _audit_export(args, period, len(cases))
        table = cases[["unit_code", "unit_name", "name", "kind_label", "year", "evidence"]]
        table.columns = ["单位编码", "单位名称", "姓名", "情形", "年度", "依据"]
        if args.format == "json":
            text = cases.to_json(orient="records", force_ascii=False, indent=2)
            _emit(text, args.output, "utf-8")
        elif args.format == "csv":
            _emit(csv_text(table), args.output, "utf-8-sig")
        elif table.empty:
            _emit(f"{period} 没有需要核实的个人考核矛盾。", args.output, "utf-8")
        else:
            _emit(table.to_string(index=False), args.output, "utf-8")
        return EXIT_OK
    frame = integrity_signals(_store(args), _cli_admin(), period)
    if not args.all:
        frame = frame[frame["level"] != ""]
    _audit_export(args, period, len(frame))
    if args.format == "json":
        _emit(frame.to_json(orient="records", force_ascii=False, indent=2), args.output, "utf-8")
        return EXIT_OK
    table = frame[["unit_code", "unit_name", "signal_label", "strength", "p_value", "q_value",
                   "level", "evidence"]]  # fmt: skip
    table.columns = ["单位编码", "单位名称", "信号", "强度", "p值", "q值", "级别", "依据"]
    if args.format == "csv":
        _emit(csv_text(table), args.output, "utf-8-sig")
    elif table.empty:
        _emit(f"{period} 没有被标记或提示的考核质量信号。", args.output, "utf-8")
    else:
        note = "级别：标记 = q ≤ 0.05（错误发现率 5%）；提示 = q ≤ 0.2，证据较弱，仅供留意。\n"
        _emit(note + table.to_string(index=False), args.output, "utf-8")
    return EXIT_OK


def cmd_suggest(args: argparse.Namespace) -> int:
    """Print a period's suggestions (adjustments, incentives, care talks) with their basis."""
    from models.suggest import suggestion_run

    period = _period(args.period, _store(args))
    run = suggestion_run(_store(args), _cli_admin(), period, include_decided=args.all)
    for note in run.notes:
        print(f"提示：{note}", file=sys.stderr)
    frame = run.frame
    _audit_export(args, period, len(frame))
    print(f"{period} 共 {len(frame)} 条建议。", file=sys.stderr)
    if args.format == "json":
        cols = ["cadre_code", "name", "unit_code", "unit_name", "subject_kind", "subject_code",
                "category", "action", "rule_id", "rule_ids", "evidence", "basis", "period",
                "suggestion_key", "facts_hash", "decision", "decided_by"]  # fmt: skip
        text = frame[cols].to_json(orient="records", force_ascii=False, indent=2)
        _emit(text, args.output, "utf-8")
        return EXIT_OK
    labels = {"cadre_code": "干部编码", "name": "姓名", "unit_code": "单位编码",
              "unit_name": "单位名称", "category": "类别", "action": "建议", "rule_names": "规则",
              "basis": "依据", "evidence": "事实与理由", "period": "考核期",
              "suggestion_key": "建议编号", "decision": "决定"}  # fmt: skip
    table = frame.assign(decision=frame["decision"].map(DECISION_LABELS).fillna("待决定"))
    if args.format == "csv":
        # utf-8-sig so that Excel on a Chinese Windows opens the file with the right encoding.
        _emit(csv_text(table[list(labels)].rename(columns=labels)), args.output, "utf-8-sig")
    else:
        short = ["cadre_code", "name", "unit_name", "action", "rule_names", "decision"]
        _emit(table[short].rename(columns=labels).to_string(index=False), args.output, "utf-8")
    return EXIT_OK


def csv_text(frame) -> str:
    """Return a table as CSV text with formula-like text cells escaped (data.cells)."""
    from data.cells import csv_text as _csv_text

    return _csv_text(frame)


def _audit_export(args: argparse.Namespace, period: str, rows: int) -> None:
    """Audit what a listing command is about to hand out (before it leaves the program)."""
    from data.audit import record_event

    detail = {"command": args.command, "period": period, "format": args.format, "rows": rows,
              "output": args.output, "all": bool(getattr(args, "all", False))}  # fmt: skip
    record_event(_store(args), _cli_admin(), "export", f"{args.command} {period}", detail)


def _emit(text: str, output: str | None, encoding: str) -> None:
    """Write text to a file (with the given encoding) or to stdout."""
    if output:
        with open(output, "w", encoding=encoding, newline="") as handle:
            handle.write(text)
        print(f"已写入 {output}", file=sys.stderr)
    else:
        print(text)


def cli_login() -> str:
    """Return the OS login running the command line ('unknown' if it cannot be told)."""
    import getpass

    try:
        return getpass.getuser() or "unknown"
    except Exception:
        return "unknown"


def _cli_admin(label: str | None = None):
    """Return the viewer the CLI acts as: cli:<OS login>, an administrator (whoever can run it
    can open the file anyway); `label` (--user) is recorded beside it in the audit, verbatim."""
    from data.access import Viewer

    return Viewer(f"cli:{cli_login()}", "admin", display_name="命令行").with_label(label)


def _read_password(args: argparse.Namespace) -> str:
    """Return a password from a prompt (twice) or, when stdin is not a terminal, its first line."""
    import getpass

    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise BadInput("标准输入中没有密码：请在第一行给出密码，或在终端中运行以提示输入。")
        return password
    first = getpass.getpass("密码：")
    if first != getpass.getpass("再次输入密码："):
        raise BadInput("两次输入的密码不一致。")
    return first


def _user_write(args: argparse.Namespace, fn, *extra) -> None:
    from data.appdb import app_store
    from data.users import UserError

    try:
        with app_store(_existing_store(args)).write() as con:
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

    from data.appdb import app_store
    from data.users import list_users

    with app_store(_store(args)).read() as con:
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


def cmd_appdb_migrate(args: argparse.Namespace) -> int:
    """Copy the app state (users, sessions, audit log) from the DuckDB file into PostgreSQL."""
    from data.appdb import MigrateError, migrate_app_state

    try:
        result = migrate_app_state(_existing_store(args), _cli_admin(), args.url)
    except MigrateError as exc:
        raise BadInput(str(exc)) from exc
    counts = "，".join(f"{table} {n} 行" for table, n in result.counts.items())
    print(f"已复制到 {result.url}：{counts}。请在所有进程的环境中设置 BANZI_APP_DB 后重启。")
    return EXIT_OK


def cmd_brief(args: argparse.Namespace) -> int:
    """Write the briefing (简报) of a period as Word, PDF and/or Excel; audit each export."""
    import time
    from datetime import date
    from pathlib import Path

    from data.access import AccessDenied
    from data.periods import PeriodError
    from reports.brief import FORMATS, build_briefings, settings_for
    from reports.content import Scope
    from reports.settings import SettingsError

    started = time.perf_counter()
    store = _store(args)
    try:
        period = _period(args.period, store)
        issued = date.fromisoformat(args.issued_on) if args.issued_on else None
    except (PeriodError, ValueError) as exc:
        raise BadInput(str(exc)) from exc
    try:
        issued = date.fromisoformat(args.issued_on) if args.issued_on else None
    except ValueError:
        raise BadInput(
            f"简报日期 {args.issued_on!r} 无效，应为 YYYY-MM-DD 形式的有效日期。"
        ) from None
    formats = list(FORMATS) if args.format == "all" else _brief_formats(args.format).split(",")
    chosen = [(k, v) for k, v in (("region", args.region), ("unit_kind", args.kind),
                                  ("unit", args.unit)) if v]  # fmt: skip
    if len(chosen) > 1:
        raise BadInput("--region、--kind、--unit 只能选一个。")
    scope = Scope(*chosen[0]) if chosen else Scope()
    viewer = _brief_viewer(store, args.user)
    if not args.no_tiering:
        _ensure_brief_tiers(store, period)
    try:
        settings = settings_for(store, issuer=args.issuer, issued_on=issued)
    except SettingsError as exc:
        raise BadInput(str(exc)) from exc
    try:
        with Progress("简报", total=1 + len(formats)) as progress:
            files = build_briefings(store, viewer, period, formats, scope, settings, progress)
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


def _brief_viewer(store: Store, username: str | None):
    """Return the viewer a briefing is built for: the CLI admin, or with --user that account's
    role and units, still audited as cli:<login> (the account's name is the label)."""
    from dataclasses import replace

    if not username:
        return _cli_admin()
    from data.appdb import app_store
    from data.users import get_viewer

    with app_store(store).read() as con:
        viewer = get_viewer(con, username)
    if viewer is None:
        raise BadInput(f"用户 {username} 不存在或已停用。")
    return replace(viewer, username=_cli_admin().username).with_label(username)


def _ensure_brief_tiers(store: Store, period: str) -> None:
    """Run the tiering of period (and of the quarter before, for changes) where none is stored."""
    from data.catalog import available_periods
    from data.periods import shift_period
    from data.tiers_store import latest_run, previous_tier_period
    from models.pipeline import TieringError, run_tiering

    with store.read() as con:
        have = latest_run(con, _cli_admin(), period) is not None
        has_previous = previous_tier_period(con, _cli_admin(), period) is not None
        periods = set(available_periods(con, _cli_admin()))
    wanted = [] if have else [period]
    before = shift_period(period, -1)
    if not has_previous and before in periods:
        wanted.insert(0, before)
    for p in wanted:
        print(f"{p} 尚无分层结果，正在分层……", file=sys.stderr)
        try:
            run_tiering(store, p, _cli_admin())
        except TieringError as exc:
            print(f"分层未完成：{exc}", file=sys.stderr)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark (issue 8); write bench/results.json and bench/results.md."""
    from bench.run import run_from_args

    return run_from_args(args)


def _add_table_options(p: argparse.ArgumentParser) -> None:
    """Add the options every table command shares: --period, --format, --output."""
    p.add_argument("--period", required=True, help="考核期，如 2023Q4 / period, e.g. 2023Q4")
    p.add_argument(
        "--format", choices=OUTPUT_FORMATS, default="table",
        help="输出格式 table|csv|json（默认 table） / output format",
    )  # fmt: skip
    p.add_argument("--output", default=None, type=_out_file,
                   help="写入文件而非屏幕 / write to this file")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    import os

    prog = "banzi" if os.path.basename(sys.argv[0] or "") == "banzi" else "cli.py"
    parser = ChineseArgumentParser(
        prog=prog,
        description="banzi 班子运行质态分析命令行 — leadership-team quality analytics, batch tools.",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="数据库文件路径（默认 $BANZI_DB 或 data/banzi.duckdb） / database file path",
    )
    parser.add_argument(
        "--version", action="version", version=f"banzi {__version__}",
        help="显示版本号 / show the version",
    )  # fmt: skip
    parser.add_argument(
        "--debug", action="store_true",
        help="意外错误时显示完整的错误追踪 / show the full traceback of an unexpected error",
    )  # fmt: skip
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("init", help="建立或升级数据库 / create or upgrade the database")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("demo", help="生成演示数据（合成） / build the synthetic demo data set")
    p.add_argument(
        "--scale", default="city", choices=DEMO_SCALES,
        help="规模 city|tiny|province（默认 city） / size of the demo",
    )  # fmt: skip
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
    p.add_argument("--user", default=None,
                   help="备注经办人，记在操作系统登录名旁 / a label beside the OS login")  # fmt: skip
    p.add_argument(
        "--no-refresh",
        action="store_true",
        help="导入后不立即重新计算（排队，稍后 refresh）/ skip the recomputation after import",
    )
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
    p.add_argument("--user", default=None,
                   help="备注经办人，记在操作系统登录名旁 / a label beside the OS login")  # fmt: skip
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("template", help="生成空白导入模板 / write an empty Excel template")
    p.add_argument("kind", metavar="KIND", help="数据类型，如 ratings 或 民主测评 / kind")
    p.add_argument("--out", required=True, metavar="FILE.xlsx", type=_out_file,
                   help="输出文件 / output file")  # fmt: skip
    p.set_defaults(func=cmd_template)

    p = sub.add_parser("tiers", help="班子分层 / tier the teams of a period")
    _add_table_options(p)
    p.add_argument(
        "--method", default=None, choices=TIER_METHODS,
        help="分层模型，默认 auto 按数据自动选择；可指定 gmm_blocks|gmm_core|kmeans_std|"
        "gmm_composite|kmeans_pca2（指定即重新分层） / model (re-runs)",
    )  # fmt: skip
    p.add_argument("--rerun", action="store_true", help="重新分层 / run the tiering again")
    p.set_defaults(func=cmd_tiers)

    p = sub.add_parser(
        "integrity", help="考核质量信号（优秀轮流上等） / appraisal-integrity signals of a period"
    )
    _add_table_options(p)
    p.add_argument(
        "--all", action="store_true",
        help="含未标记、未提示的信号 / include rows at neither level (标记 / 提示)",
    )  # fmt: skip
    p.add_argument(
        "--cases", action="store_true",
        help="列出个人考核矛盾（附依据） / list case findings on persons, with evidence",
    )  # fmt: skip
    p.set_defaults(func=cmd_integrity)

    p = sub.add_parser("suggest", help="调整与激励建议 / suggestions with evidence and basis")
    _add_table_options(p)
    p.add_argument("--all", action="store_true", help="含已决定的建议 / include decided ones")
    p.set_defaults(func=cmd_suggest)

    p = sub.add_parser("brief", help="导出简报 Word/PDF/Excel / write the briefing of a period")
    p.add_argument("--period", required=True,
                   help="考核期，如 2023Q4，或 latest（最新一期） / period, or latest")  # fmt: skip
    p.add_argument(
        "--format", default="docx", type=_brief_formats,
        help="docx|pdf|xlsx，可逗号连写或 all（默认 docx） / format(s), e.g. docx,pdf or all",
    )  # fmt: skip
    p.add_argument("--out", required=True, metavar="FILE", type=_out_file,
                   help="输出文件；多种格式时按格式替换扩展名 / output file")  # fmt: skip
    p.add_argument("--region", default=None, help="只含一个地区，如 姜堰区 / one region")
    p.add_argument("--kind", default=None, help="只含一类单位，如 市直机关部门 / one unit kind")
    p.add_argument("--unit", default=None, metavar="CODE", help="只含一个单位 / one unit code")
    p.add_argument("--user", default=None,
                   help="按该账户的权限生成并记入审计 / build as this account")  # fmt: skip
    p.add_argument("--issuer", default=None,
                   help="发文单位（默认 $BANZI_ISSUER、$BANZI_BRIEFING_TOML 或“组织部”） / issuing body")  # fmt: skip
    p.add_argument("--issued-on", default=None, metavar="YYYY-MM-DD",
                   help="简报日期（默认今天） / date on the briefing")  # fmt: skip
    p.add_argument("--no-tiering", action="store_true",
                   help="缺分层结果时不自动分层 / do not run a missing tiering")  # fmt: skip
    p.set_defaults(func=cmd_brief)

    from cli_ballot import add_ballot_parser

    add_ballot_parser(sub)

    p = sub.add_parser("user", help="用户账户 / login accounts (add, list, disable, passwd)")
    user_sub = p.add_subparsers(dest="user_command", metavar="ACTION")
    user_sub.required = True
    q = user_sub.add_parser(
        "add",
        help="新增用户（密码在提示时输入，或由标准输入第一行给出） / create an account "
        "(password prompted, or the first line of stdin)",
    )
    q.add_argument("username", metavar="USERNAME", help="用户名 / login name")
    q.add_argument(
        "--role",
        required=True,
        choices=ROLES,
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
    q.set_defaults(func=cmd_user_add)
    q = user_sub.add_parser("list", help="列出用户 / list accounts")
    q.set_defaults(func=cmd_user_list)
    q = user_sub.add_parser("disable", help="停用用户 / disable an account")
    q.add_argument("username", metavar="USERNAME", help="用户名 / login name")
    q.add_argument("--enable", action="store_true", help="重新启用 / re-enable instead")
    q.set_defaults(func=cmd_user_disable)
    q = user_sub.add_parser(
        "passwd",
        help="重置密码并解除锁定（提示输入或读标准输入） / set a new password (prompt or stdin), unlock",
    )
    q.add_argument("username", metavar="USERNAME", help="用户名 / login name")
    q.set_defaults(func=cmd_user_passwd)

    p = sub.add_parser(
        "appdb", help="PostgreSQL 应用数据库（$BANZI_APP_DB） / app state in PostgreSQL"
    )
    app_sub = p.add_subparsers(dest="appdb_command", metavar="ACTION")
    app_sub.required = True
    q = app_sub.add_parser(
        "migrate",
        help="把数据库文件中的用户、会话和审计日志一次性复制到空的 PostgreSQL / copy users, "
        "sessions and the audit log from the DuckDB file into an empty PostgreSQL, once",
    )
    q.add_argument(
        "--url",
        default=None,
        help="PostgreSQL 地址（默认 $BANZI_APP_DB） / URL (default $BANZI_APP_DB)",
    )
    q.set_defaults(func=cmd_appdb_migrate)

    return parser


_OS_ERRORS = {
    IsADirectoryError: "是一个文件夹，不是文件",
    NotADirectoryError: "路径中有一段不是文件夹",
    FileNotFoundError: "文件或文件夹不存在",
    PermissionError: "没有读写权限",
}


def _os_message(exc: OSError) -> str:
    """Return a Chinese one-liner for a file-system error."""
    what = next((text for cls, text in _OS_ERRORS.items() if isinstance(exc, cls)), None)
    where = f"{exc.filename}：" if exc.filename else ""
    return f"无法读写 {where}{what or exc.strerror or exc}"


def _log_unexpected(exc: BaseException) -> str | None:
    """Append the traceback to the CLI's error log; return the log's path (None if unwritable)."""
    import os
    import tempfile
    import traceback
    from datetime import datetime
    from pathlib import Path

    folder = Path(os.environ.get("BANZI_LOG_DIR") or Path(tempfile.gettempdir()) / "banzi")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "cli-errors.log"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {datetime.now():%Y-%m-%d %H:%M:%S} {' '.join(sys.argv)}\n")
            handle.write("".join(traceback.format_exception(exc)))
        return str(path)
    except OSError:
        return None


def _is_catalog_error(exc: BaseException) -> bool:
    """Return whether exc is DuckDB's 'no such table/column' (a foreign or damaged database)."""
    import duckdb

    return isinstance(exc, duckdb.CatalogException | duckdb.BinderException)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (never a traceback unless --debug)."""
    from data.access import AccessDenied

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except ArgumentProblem as exc:
        print(f"输入有误：{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from cli_ballot import BallotInputError
    from data.ballots import BallotError

    try:
        return args.func(args)
    except (BadInput, BallotInputError, BallotError) as exc:
        print(f"输入有误：{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AccessDenied as exc:
        print(f"无权操作：{exc}", file=sys.stderr)
        return EXIT_ERROR
    except StoreError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (e.g. `banzi tiers … | head`): stop quietly.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except OSError as exc:
        if args.debug:
            raise
        print(f"错误：{_os_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        if _is_catalog_error(exc):
            print(f"错误：数据库文件 {_store(args).path} 不是 banzi 的数据库，或其结构不完整"
                  "（缺少表或列）。请检查 --db；若是旧版 banzi 的文件，请先运行 init 升级。",
                  file=sys.stderr)  # fmt: skip
            return EXIT_ERROR
        log = _log_unexpected(exc)
        where = f"详情已写入 {log}" if log else "详情未能写入日志"
        print(f"错误：出现意外错误（{type(exc).__name__}），操作未完成。{where}；加 --debug 可显示。",
              file=sys.stderr)  # fmt: skip
        return EXIT_ERROR


def run() -> None:
    """Console-script entry point (`banzi`): run main() and exit with its code."""
    sys.exit(main())


if __name__ == "__main__":
    run()
