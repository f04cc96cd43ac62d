"""banzi — 班子运行质态分析. Entry point: `streamlit run dashboard.py`."""

import streamlit as st

from ui.auth import check_session, login_page, sidebar_account
from ui.shell import navigation, run_page

st.set_page_config(page_title="班子运行质态分析", page_icon=":material/groups:", layout="wide")

viewer = check_session()
if viewer is None:
    # Only the login page exists until someone signs in (no registered page is reachable).
    st.navigation([st.Page(login_page, title="登录", url_path="denglu")], position="hidden").run()
    st.stop()

page = navigation(viewer)
sidebar_account(viewer)
run_page(page)
