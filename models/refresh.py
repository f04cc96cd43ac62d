"""Bring derived results up to date after an import: only the periods it invalidated."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from data.access import SYSTEM_VIEWER, Viewer
from data.periods import format_period as period_label
from data.refresh import clear_refresh, pending_refresh, periods_touched, queue_refresh
from data.store import Store, StoreBusyError, StoreError

Progress = Callable[[str, float], None]


@dataclass
class RefreshSummary:
    """What a refresh recomputed, what it left queued, and how long it took."""

    periods: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None

    def to_text(self) -> str:
        """Return one Chinese line for the CLI and the import page."""
        if self.error:
            return (
                f"分析结果暂未更新（{self.error}）；{len(self.queued)} 个考核期已排队，"
                "稍后再次导入或运行 `python cli.py refresh` 即可完成。"
            )
        if not self.periods:
            return "本次导入不影响分层、考核质量信号和调整建议，无需重新计算。"
        names = "、".join(period_label(p) for p in self.periods)
        return f"已重新计算 {names} 的分层、考核质量信号和调整建议（用时 {self.seconds:.1f} 秒）。"


def refresh_periods(
    store: Store,
    periods: list[str],
    viewer: Viewer = SYSTEM_VIEWER,
    progress: Progress | None = None,
) -> list[str]:
    """Re-tier each period, then store its integrity signals and suggestions again.

    Returns, in Chinese, the steps the data do not allow (e.g. too few teams to tier); a busy
    file raises StoreBusyError so that the caller can queue the periods.
    """
    notes: list[str] = []
    from models.integrity import run_integrity
    from models.pipeline import run_tiering
    from models.suggest import run_suggestions

    steps = max(1, len(periods) * 3)
    done = 0
    for period in periods:
        for label, job in (
            ("分层", lambda p=period: run_tiering(store, p, viewer)),
            ("考核质量信号", lambda p=period: run_integrity(store, p)),
            ("调整建议", lambda p=period: run_suggestions(store, p)),
        ):
            if progress:
                progress(f"{period} {label}", done / steps)
            try:
                job()
            except StoreBusyError:
                raise
            except (ValueError, StoreError) as exc:  # TieringError, PeriodError: data, not code
                notes.append(f"{period_label(period)}{label}（{exc}）")
            done += 1
    if progress:
        progress("完成", 1.0)
    return notes


def touched_periods(store: Store, batch_ids: list[int]) -> list[str]:
    """Return the periods whose derived results the batches invalidate (read before a rollback)."""
    with store.read() as con:
        return periods_touched(con, batch_ids)


def refresh_after_import(
    store: Store,
    batch_ids: list[int],
    viewer: Viewer = SYSTEM_VIEWER,
    progress: Progress | None = None,
    periods: list[str] | None = None,
) -> RefreshSummary:
    """Recompute what the batches (or the given periods) and any earlier queue invalidated.

    When the file is busy the periods stay queued (pages say so) and the summary says why.
    """
    started = time.perf_counter()
    with store.read() as con:
        own = periods if periods is not None else periods_touched(con, batch_ids)
        todo = sorted(set(own) | set(pending_refresh(con)))
    summary = RefreshSummary(periods=todo)
    if not todo:
        return summary
    try:
        with store.write(bump_version=False) as con:
            queue_refresh(con, todo, "导入批次 " + "、".join(map(str, batch_ids)))
        summary.notes = refresh_periods(store, todo, viewer, progress)
        with store.write(bump_version=True) as con:
            clear_refresh(con, todo)
    except StoreBusyError as exc:
        summary.error, summary.queued, summary.periods = str(exc), todo, []
        return summary
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def queue_after_import(store: Store, batch_ids: list[int]) -> list[str]:
    """Queue the periods the batches invalidated without recomputing them; return them."""
    periods = touched_periods(store, batch_ids)
    if periods:
        with store.write(bump_version=True) as con:
            queue_refresh(con, periods, "导入批次 " + "、".join(map(str, batch_ids)))
    return periods


@dataclass
class WaveClosed:
    """What closing a ballot wave did: the import report and the recomputation after it."""

    wave_name: str
    ballots_rows: int
    report_text: str
    batch_id: int | None
    refresh: RefreshSummary | None

    def to_text(self) -> str:
        """Return Chinese lines for the CLI and the page."""
        lines = [f"测评批次「{self.wave_name}」已结束，不再接受提交。"]
        if self.batch_id is None and self.ballots_rows == 0:
            lines.append("没有收到任何测评票，无需写入民主测评数据。")
        elif self.batch_id is None:
            lines.append("测评结果写入民主测评数据时被拒绝：\n" + self.report_text)
        else:
            lines.append(
                f"{self.ballots_rows} 条测评结果已作为导入批次 {self.batch_id} 写入民主测评数据。"
            )
        if self.refresh is not None:
            lines.append(self.refresh.to_text())
        return "\n".join(lines)


def close_wave(store: Store, viewer: Viewer, wave_id: int) -> WaveClosed:
    """Close a ballot wave, import its ballots as 民主测评 rows (one batch), recompute after it."""
    from data.appdb import app_store
    from data.ballots import link_batch, mark_closed, wave_ratings_csv
    from data.importer import import_files

    wave = mark_closed(store, viewer, wave_id)
    with app_store(store).read() as con:  # ballots: PostgreSQL when configured
        name, payload, rows = wave_ratings_csv(con, wave_id)
    if rows == 0:
        return WaveClosed(wave["name"], 0, "", None, None)
    report = import_files(store, [(name, payload)], kind="ratings", viewer=viewer)
    batch = next((f.batch_id for f in report.files if f.batch_id), None)
    if not report.ok or batch is None:
        return WaveClosed(wave["name"], rows, report.to_text(), None, None)
    link_batch(store, wave_id, batch)
    return WaveClosed(
        wave["name"], rows, report.to_text(), batch, refresh_after_import(store, [batch], viewer)
    )
