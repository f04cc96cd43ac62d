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
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Print the row counts of the main tables."""
    from data.catalog import store_summary

    with _store(args).read() as con:
        counts = store_summary(con)
    print(json.dumps(counts, ensure_ascii=False, indent=2))
    return EXIT_OK


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
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("status", help="各表行数 / row counts of the main tables")
    p.set_defaults(func=cmd_status)

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
