"""用户管理: add accounts, disable or re-enable them, reset passwords, unlock — admin only."""

import streamlit as st

from data.access import ROLES
from data.users import LOCKOUT_MINUTES, MAX_FAILED_ATTEMPTS, MIN_PASSWORD_LENGTH
from ui.admin_ui import create_account, disable_account, fresh, reset_password, unlock_account
from ui.labels import EMPTY, ROLE_LABELS, relabel
from ui.loaders import load
from ui.state import current_viewer

LABELS = {
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "unit_codes": "负责单位",
    "disabled": "已停用",
    "failed_attempts": "连续失败次数",
    "locked_until": "锁定至",
    "created_at": "创建时间",
}

viewer = current_viewer()
viewer.require_admin()
st.title("用户管理")
st.caption(
    f"密码以 argon2 加密保存。连续 {MAX_FAILED_ATTEMPTS} 次登录失败将锁定 {LOCKOUT_MINUTES} 分钟；"
    "重置密码或解除锁定可立即恢复。单位负责人只能看到所列单位；研究人员只能看到汇总数据。"
)

users = fresh("list_users")
units = load("units_in_scope")
unit_names = dict(zip(units["unit_code"], units["unit_name"], strict=True))


def _unit_text(codes: object) -> str:
    """Return 「姜堰区」 for 'TZ-JY' (names of the 、-separated codes; unknown codes as typed)."""
    if not isinstance(codes, str) or not codes:
        return EMPTY
    return "、".join(unit_names.get(c, c) for c in codes.split("、"))


shown = users.assign(
    role=users["role"].map(ROLE_LABELS),
    unit_codes=users["unit_codes"].map(_unit_text),
    disabled=users["disabled"].map({True: "是", False: "否"}),
)
st.dataframe(relabel(shown, LABELS), hide_index=True, width="stretch", key="usr_table")
names = users["username"].tolist()

add, manage = st.tabs(["新增用户", "停用 / 重置密码"])
with add, st.form("usr_add", clear_on_submit=True):
    username = st.text_input("用户名（字母、数字及 _ . @ -）", key="usr_new_name", max_chars=64)
    display = st.text_input("姓名", key="usr_new_display", max_chars=64)
    role = st.selectbox("角色", ROLES, format_func=ROLE_LABELS.get, key="usr_new_role")
    units = st.text_input("负责单位编码（仅单位负责人；多个用逗号分隔）", key="usr_new_units")
    password = st.text_input(
        f"初始密码（至少 {MIN_PASSWORD_LENGTH} 位）", type="password", key="usr_new_pw"
    )
    if st.form_submit_button("创建", type="primary"):
        codes = [c.strip() for c in units.replace("，", ",").split(",") if c.strip()]
        if create_account(viewer, username, password, role, codes, display):
            st.rerun()

with manage:
    if not names:
        st.info("还没有用户。")
    else:
        target = st.selectbox("用户", names, key="usr_target")
        row = users.set_index("username").loc[target]
        cols = st.columns(3)
        if row["disabled"]:
            if cols[0].button("启用", key="usr_enable"):
                disable_account(viewer, target, False)
        elif cols[0].button("停用", key="usr_disable", disabled=target == viewer.username):
            disable_account(viewer, target, True)
        if cols[1].button("解除锁定", key="usr_unlock"):
            unlock_account(viewer, target)
        with cols[2].form("usr_pw", clear_on_submit=True):
            new_pw = st.text_input("新密码", type="password", key="usr_pw_new")
            if st.form_submit_button("重置密码"):
                reset_password(viewer, target, new_pw)
