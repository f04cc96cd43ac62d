"""审计日志: who signed in, imported, rolled back, decided, overrode, exported — admin only."""

from datetime import date, timedelta

import streamlit as st

from data.audit import ACTION_LABELS
from ui.admin_ui import fresh
from ui.labels import detail_label, relabel
from ui.state import current_viewer

ALL = "（全部）"
LABELS = {
    "audit_id": "序号",
    "logged_at": "时间",
    "username": "用户",
    "action": "操作",
    "target": "对象",
    "detail": "详情",
}

viewer = current_viewer()
viewer.require_admin()
st.title("审计日志")
st.caption(
    "记录登录（含失败）、导入、撤销、建议处理、分层调整、导出和用户变更。日志只追加，不可修改。"
)

facets = fresh("audit_facets")
cols = st.columns(4)
user = cols[0].selectbox("用户", [ALL, *facets["usernames"]], key="aud_user")
action = cols[1].selectbox(
    "操作",
    [ALL, *facets["actions"]],
    format_func=lambda a: a if a == ALL else ACTION_LABELS.get(a, a),
    key="aud_action",
)
today = date.today()
since = cols[2].date_input("起始日期", today - timedelta(days=30), key="aud_since")
until = cols[3].date_input("截止日期", today, key="aud_until")

entries = fresh(
    "audit_entries",
    username=None if user == ALL else user,
    action=None if action == ALL else action,
    since=since,
    until=until,
)
failures = int(entries["action"].isin(["login_failed", "login_locked"]).sum())
c1, c2 = st.columns(2)
c1.metric("记录数", len(entries))
c2.metric("登录失败或被拒", failures)
if entries.empty:
    st.info("所选条件下没有审计记录。")
else:
    entries["action"] = entries["action"].map(lambda a: ACTION_LABELS.get(a, a))
    entries["detail"] = entries["detail"].map(detail_label)
    st.dataframe(relabel(entries, LABELS), hide_index=True, width="stretch", key="aud_table")
    if len(entries) >= 2000:
        st.caption("只显示最近 2000 条；请缩小日期范围。")
