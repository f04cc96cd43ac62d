"""`cli.py ballot …`: 家家到 online waves from the command line (issue 18), a thin client."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, time, timedelta
from pathlib import Path

from data.access import Viewer
from data.store import Store

EXIT_OK = 0


class BallotInputError(Exception):
    """A bad argument; cli.py prints the message and exits with code 2."""


def _viewer(args: argparse.Namespace) -> Viewer:
    from cli import _cli_admin

    return _cli_admin(args.user)


def _when(text: str, end_of_day: bool = False) -> datetime:
    """Return a datetime from 2026-12-08, 2026/12/8 18:00 or 2026年12月8日 (Chinese error)."""
    from data.parsers import parse_date

    match = re.match(r"^\s*(.+?)(?:[ T](\d{1,2}):(\d{2}))?\s*$", str(text))
    try:
        day = datetime.fromisoformat(parse_date(match[1] if match else text))
    except (ValueError, TypeError) as exc:
        raise BallotInputError(
            f"无法识别的时间「{text}」，应写作 2026-12-08 或 2026-12-08 18:00"
        ) from exc
    if match and match[2]:
        return day.replace(hour=int(match[2]), minute=int(match[3]))
    return datetime.combine(day.date(), time(23, 59) if end_of_day else time(0, 0))


def _split(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    if text is None:
        return default
    if text.strip() in ("", "无"):
        return ()
    return tuple(p.strip() for p in re.split(r"[,，、]", text) if p.strip())


def cmd_create(args: argparse.Namespace) -> int:
    """Create a wave; print its id."""
    from data import ballots as B
    from data.catalog import units_in_scope
    from data.contract import DEFAULT_DIMENSIONS, RATER_GROUPS

    store = Store(args.db)
    viewer = _viewer(args)
    if args.unit:
        units = tuple(args.unit)
    else:
        with store.read() as con:
            units = tuple(units_in_scope(con, viewer)["unit_code"])
    opens = _when(args.opens) if args.opens else datetime.now().replace(second=0, microsecond=0)
    closes = (
        _when(args.closes, end_of_day=True) if args.closes else opens + timedelta(days=args.days)
    )
    spec = B.WaveSpec(
        name=args.name,
        period=args.period,
        unit_codes=units,
        opens_at=opens,
        closes_at=closes,
        codes_per_group=args.codes,
        team_dimensions=_split(args.team_dims, DEFAULT_DIMENSIONS),
        member_dimensions=_split(args.member_dims, B.MEMBER_DIMENSIONS),
        rater_groups=_split(args.groups, RATER_GROUPS),
    )
    wave_id = B.create_wave(store, viewer, spec)
    print(f"已创建测评批次「{args.name}」（编号 {wave_id}），{len(units)} 个单位，"
          f"{opens:%Y-%m-%d %H:%M} 至 {closes:%Y-%m-%d %H:%M}。")  # fmt: skip
    print(f"下一步：python cli.py ballot codes {wave_id} --out 测评码.pdf")
    return EXIT_OK


def cmd_codes(args: argparse.Namespace) -> int:
    """Issue codes and write the printable PDF (and a CSV list)."""
    from data import ballots as B
    from data.appdb import app_store
    from reports.ballot_codes import codes_csv, codes_pdf

    out = Path(args.out)
    for path in filter(None, (out, Path(args.csv) if args.csv else None)):
        if path.is_dir() or not path.parent.exists():
            raise BallotInputError(f"无法写入 {path}：应为一个文件路径，且所在文件夹已存在。")
    store = Store(args.db)
    codes = B.issue_codes(store, _viewer(args), args.wave, args.per_group)
    with app_store(store).read() as con:
        name = B.list_waves(con, _viewer(args)).set_index("wave_id").loc[args.wave, "name"]
    out.write_bytes(codes_pdf(codes, name, args.base_url))
    print(
        f"已发放 {len(codes)} 个测评码，卡片已写入 {out}（测评码只此一次以明文输出，请妥善保管）。"
    )
    if args.csv:
        Path(args.csv).write_bytes(codes_csv(codes, args.base_url))
        print(f"测评码清单已写入 {args.csv}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """List waves, or one wave's turnout per unit and rater group."""
    from data import ballots as B
    from data.appdb import app_store

    store = Store(args.db)
    viewer = _viewer(args)
    with app_store(store).read() as con:
        if args.wave is None:
            waves = B.list_waves(con, viewer)
            if waves.empty:
                print("还没有测评批次。")
            for w in waves.itertuples():
                state = "进行中" if w.status == "open" else "已结束"
                print(f"{w.wave_id:>4}  {state}  {w.name}  {w.period}  单位 {w.units}  "
                      f"测评码 {w.codes}  已提交 {w.ballots}  截止 {w.closes_at:%Y-%m-%d %H:%M}")  # fmt: skip
            return EXIT_OK
        turnout = B.wave_turnout(con, viewer, args.wave)
    total, cast = int(turnout["issued"].sum()), int(turnout["cast"].sum())
    print(f"回收 {cast} / {total}" + (f"（{cast / total:.0%}）" if total else ""))
    for r in turnout.itertuples():
        print(f"  {r.unit_code}  {r.unit_name}  {r.rater_group}  {r.cast}/{r.issued}  {r.rate:.0%}")
    return EXIT_OK


def cmd_extend(args: argparse.Namespace) -> int:
    """Move a wave's closing time later."""
    from data import ballots as B

    closes = _when(args.closes, end_of_day=True)
    B.extend_wave(Store(args.db), _viewer(args), args.wave, closes)
    print(f"测评批次 {args.wave} 已延期至 {closes:%Y-%m-%d %H:%M}。")
    return EXIT_OK


def cmd_close(args: argparse.Namespace) -> int:
    """Close a wave: its ballots become one 民主测评 import batch, then results are recomputed."""
    from models.refresh import close_wave

    print(close_wave(Store(args.db), _viewer(args), args.wave).to_text())
    return EXIT_OK


def add_ballot_parser(sub: argparse._SubParsersAction) -> None:
    """Add `ballot create|codes|status|extend|close` to the CLI."""
    p = sub.add_parser("ballot", help="线上民主测评（家家到） / online 民主测评 waves")
    p.add_argument("--user", default=None, help="记录为操作人（标签） / label recorded as actor")
    actions = p.add_subparsers(dest="ballot_command", metavar="ACTION")
    actions.required = True
    q = actions.add_parser("create", help="新建测评批次 / create a wave")
    q.add_argument("--name", required=True, help="批次名称 / wave name")
    q.add_argument("--period", required=True, help="考核期，如 2026Q4 / period")
    q.add_argument("--unit", action="append", help="单位编码，可重复；默认全部 / unit (repeat)")
    q.add_argument("--opens", default=None, help="开始时间，默认现在 / opens (2026-12-01 08:00)")
    q.add_argument("--closes", default=None, help="结束时间 / closes (2026-12-08 18:00)")
    q.add_argument("--days", type=int, default=7, help="未给结束时间时开放几天 / days open")
    q.add_argument("--codes", type=int, default=10, help="每单位每类测评人码数 / codes per group")
    q.add_argument("--team-dims", default=None, help="班子维度，逗号分隔 / team dimensions")
    q.add_argument("--member-dims", default=None, help="干部维度，逗号分隔，无=不评 / member dims")
    q.add_argument("--groups", default=None, help="测评人类别，逗号分隔 / rater groups")
    q.set_defaults(func=cmd_create)
    q = actions.add_parser("codes", help="发放测评码并输出 PDF 卡片 / issue codes, write the PDF")
    q.add_argument("wave", type=int, metavar="WAVE", help="批次编号 / wave id")
    q.add_argument("--out", required=True, metavar="FILE.pdf", help="PDF 文件 / PDF file")
    q.add_argument("--csv", default=None, metavar="FILE.csv", help="另存清单 / also a CSV list")
    q.add_argument("--per-group", type=int, default=None, help="每组码数 / codes per group")
    q.add_argument("--base-url", default=None, help="测评页面地址 / where phones reach banzi")
    q.set_defaults(func=cmd_codes)
    q = actions.add_parser("status", help="批次与回收率 / waves and turnout")
    q.add_argument("wave", type=int, nargs="?", default=None, metavar="WAVE", help="批次编号")
    q.set_defaults(func=cmd_status)
    q = actions.add_parser("extend", help="延期 / extend a wave")
    q.add_argument("wave", type=int, metavar="WAVE", help="批次编号 / wave id")
    q.add_argument("--closes", required=True, help="新的结束时间 / new closing time")
    q.set_defaults(func=cmd_extend)
    q = actions.add_parser("close", help="结束并写入民主测评数据 / close and import the ballots")
    q.add_argument("wave", type=int, metavar="WAVE", help="批次编号 / wave id")
    q.set_defaults(func=cmd_close)
