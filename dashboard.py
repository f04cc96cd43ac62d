"""banzi — 班子运行质态分析. Entry point: `streamlit run dashboard.py`."""

import streamlit as st

from ui.auth import check_session, login_page, sidebar_account
from ui.ballot_ui import BALLOT_PATH, is_ballot_request
from ui.shell import navigation, run_page

if is_ballot_request():
    # Raters reach the ballot by a one-time code, without an account (issue 18).
    st.set_page_config(page_title="民主测评", page_icon=":material/how_to_vote:", layout="centered")
    ballot = st.Page("pages/ballot.py", title="民主测评", url_path=BALLOT_PATH)
    st.navigation([ballot], position="hidden").run()
    st.stop()

st.set_page_config(page_title="班子运行质态分析", page_icon=":material/groups:", layout="wide")

viewer = check_session()
if viewer is None:
    # Only the login page exists until someone signs in (no registered page is reachable).
    st.navigation([st.Page(login_page, title="登录", url_path="denglu")], position="hidden").run()
    st.stop()

page = navigation(viewer)
sidebar_account(viewer)
run_page(page)
