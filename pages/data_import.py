"""数据导入: upload contract files, check them, import them, see and roll back batches."""

import streamlit as st

from data.access import AccessDenied
from data.contract import KINDS
from data.importer import ImportReport, import_files, list_batches, rollback_batch
from data.store import StoreError
from data.templates import build_template
from models.refresh import touched_periods
from reports.tables import csv_bytes
from ui import widgets
from ui.labels import md, relabel
from ui.refresh_ui import refresh_after_upload, refresh_with_progress
from ui.state import current_viewer, get_store

# Same limit as server.maxUploadSize in .streamlit/config.toml (MB).
MAX_UPLOAD_MB = 200
AUTO = "auto"
BATCH_LABELS = {
    "batch_id": "批次",
    "kind_label": "数据类型",
    "file_name": "文件",
    "imported_at": "导入时间",
    "imported_by": "导入人",
    "row_count": "数据行",
    "new": "新增",
    "replaced": "替换",
    "unchanged": "未变",
    "status": "状态",
}
STATUS = {"active": "有效", "rolled_back": "已回滚"}

viewer = current_viewer()
store = get_store()

st.title("数据导入")
st.caption(
    "上传组织部的数据文件（.xlsx 或 .csv，UTF-8 / GBK 均可）。先校验：有问题的文件一行也不会写入，"
    "全部问题一次列出；确认后导入，每个文件一个批次，可整批回滚。"
)

with st.expander("下载空白模板", icon=":material/download:"):
    kind_name = st.selectbox(
        "数据类型", list(KINDS), format_func=lambda k: KINDS[k].label, key="imp_tpl_kind"
    )
    st.download_button(
        "下载模板（.xlsx）",
        data=build_template(KINDS[kind_name]),
        file_name=f"模板_{KINDS[kind_name].label}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="imp_tpl_download",
    )

uploads = widgets.file_uploader(
    f"选择文件（可多选，每个不超过 {MAX_UPLOAD_MB} MB）",
    ["xlsx", "csv"],
    MAX_UPLOAD_MB,
    key="imp_files",
    accept_multiple_files=True,
)
kind_choice = st.selectbox(
    "数据类型",
    [AUTO, *KINDS],
    format_func=lambda k: "按表头自动识别" if k == AUTO else KINDS[k].label,
    key="imp_kind",
)
too_big = [f.name for f in uploads or [] if f.size > MAX_UPLOAD_MB * 1024 * 1024]
if too_big:
    st.error("以下文件超过大小限制，未处理：" + "、".join(too_big))
files = [(f.name, f.getvalue()) for f in uploads or [] if f.name not in too_big]
kind = None if kind_choice == AUTO else kind_choice
signature = (*tuple((name, len(data)) for name, data in files), kind)


def run_import(dry_run: bool) -> ImportReport:
    """Validate (dry run) or import the uploaded files, with progress per file and stage."""
    verb = "校验" if dry_run else "导入"
    with st.status(f"正在{verb} {len(files)} 个文件……", expanded=True) as status:
        bar = st.progress(0.0, text="准备中……")

        def progress(text: str, share: float) -> None:
            bar.progress(min(max(share, 0.0), 1.0), text=md(text))

        report = import_files(store, files, kind, dry_run=dry_run, viewer=viewer, progress=progress)
        state = "complete" if report.ok else "error"
        label = f"{verb}完成" if report.ok else f"{verb}完成：有文件存在问题"
        status.update(label=label, state=state, expanded=False)
    return report


def show_report(report: ImportReport, prefix: str) -> None:
    """Draw an import report: one row per file, then every problem in a table."""
    st.dataframe(
        relabel(report.summary()), hide_index=True, width="stretch", key=f"{prefix}_imp_summary"
    )
    for file_report in report.files:
        for warning in file_report.warnings:
            st.warning(f"{md(file_report.file_name)}：{md(warning)}")
        if file_report.extra_columns:
            st.info(
                f"{md(file_report.file_name)}：额外列已原样保存 — "
                + "、".join(md(c) for c in file_report.extra_columns)
            )
    problems = report.problems()
    if not problems.empty:
        st.subheader(f"需要修改的问题（共 {len(problems)} 个）")
        st.caption("行号即 Excel 中看到的行号（表头为第 1 行）。改好后重新上传即可。")
        st.dataframe(
            relabel(problems), hide_index=True, width="stretch", key=f"{prefix}_imp_problems"
        )
        st.download_button(
            "下载问题清单（CSV）",
            data=csv_bytes(problems),
            file_name="导入问题清单.csv",
            mime="text/csv",
            key=f"{prefix}_imp_problems_download",
        )


can_import = viewer.can_import
if files and not can_import:
    st.warning("只有组织部或管理员可以导入数据。")
elif files:
    if st.button("校验（不写入）", key="imp_check", type="secondary"):
        try:
            st.session_state["imp_dry"] = (signature, run_import(dry_run=True))
        except (StoreError, AccessDenied) as exc:
            st.error(str(exc))
    checked = st.session_state.get("imp_dry")
    if checked and checked[0] == signature:
        report = checked[1]
        show_report(report, "dry")
        if any(f.status == "valid" for f in report.files):
            note = "" if report.ok else "（有问题的文件不会写入）"
            if st.button(f"确认导入{note}", key="imp_confirm", type="primary"):
                try:
                    result = run_import(dry_run=False)
                except (StoreError, AccessDenied) as exc:
                    st.error(str(exc))
                else:
                    st.session_state.pop("imp_dry", None)
                    st.session_state["imp_done"] = result
                    st.session_state["imp_refresh"] = refresh_after_upload(store, result, viewer)
        elif report.ok:
            st.info("这些文件都已导入过，无需重复导入。")

done = st.session_state.get("imp_done")
if done is not None:
    imported = sum(f.status == "imported" for f in done.files)
    st.success(f"导入完成：{imported} 个文件已写入。")
    if refreshed := st.session_state.get("imp_refresh"):
        (st.warning if refreshed.error else st.info)(refreshed.to_text())
    show_report(done, "done")

st.header("导入批次")
if message := st.session_state.pop("imp_rollback_msg", None):
    st.success(message)
try:
    batches = list_batches(store)
except StoreError as exc:
    st.error(str(exc))
    st.stop()
if batches.empty:
    st.info("还没有导入过数据。")
else:
    shown = batches.assign(status=batches["status"].map(STATUS))[list(BATCH_LABELS)]
    st.dataframe(relabel(shown, BATCH_LABELS), hide_index=True, width="stretch", key="imp_batches")

if viewer.is_admin and not batches.empty:
    active = batches[batches["status"] == "active"]
    with st.expander("回滚批次（仅管理员）", icon=":material/undo:"):
        st.caption(
            "回滚删除该批次写入的全部行，并恢复被它替换的旧行。若其他数据仍引用该批次的单位或干部，"
            "回滚会被拒绝。"
        )
        choice = st.selectbox(
            "批次",
            active["batch_id"].tolist(),
            format_func=lambda b: " · ".join(
                str(v)
                for v in active.loc[
                    active["batch_id"] == b, ["batch_id", "kind_label", "file_name"]
                ].iloc[0]
            ),
            key="imp_rollback_batch",
        )
        sure = st.checkbox("我确认要回滚这个批次", key="imp_rollback_sure")
        if st.button("回滚", key="imp_rollback", disabled=not (sure and choice)):
            try:
                periods = touched_periods(store, [int(choice)])
                result = rollback_batch(store, int(choice), viewer=viewer)
            except (StoreError, AccessDenied) as exc:
                st.error(str(exc))
            else:
                refreshed = refresh_with_progress(store, [int(choice)], viewer, periods)
                message = md(result.to_text())
                if refreshed is not None:
                    message += "\n\n" + refreshed.to_text()
                st.session_state["imp_rollback_msg"] = message
                st.rerun()
