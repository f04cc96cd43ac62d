"""banzi — 班子运行质态分析. Entry point: `streamlit run app.py` (wraps this file)."""

from pathlib import Path

import streamlit as st

from ui.auth import (
    check_session,
    hand_off,
    login_page,
    remember_target,
    restore_target,
    sidebar_account,
)
from ui.ballot_ui import BALLOT_PATH, ballot_flow, is_ballot_request
from ui.registry import PAGES
from ui.shell import navigation, run_page

# A local icon: a :material/…: page icon makes the browser fetch the favicon from a font host.
FAVICON = Path(__file__).resolve().parent / "ui" / "assets" / "favicon.png"

if is_ballot_request():
    # Raters reach the ballot by a one-time code, without an account (issue 18).
    st.set_page_config(page_title="民主测评", page_icon=str(FAVICON), layout="centered")
    # The default page always answers "/", so the ballot's own path needs a second entry.
    ballot = [st.Page(ballot_flow, title="民主测评", default=True),
              st.Page(ballot_flow, title="民主测评", url_path=BALLOT_PATH)]  # fmt: skip
    st.navigation(ballot, position="hidden").run()
    st.stop()

st.set_page_config(page_title="班子运行质态分析", page_icon=str(FAVICON), layout="wide")

viewer = check_session()
if viewer is None:
    # Only the login form exists until someone signs in. Every registered page's URL shows it
    # too, so a deep link (/duilie, /huaxiang?unit=…) survives the sign-in.
    login = [st.Page(login_page, title="登录", url_path="denglu", default=True)]
    login += [st.Page(login_page, title="登录", url_path=spec.url_path) for spec in PAGES]
    page = st.navigation(login, position="hidden")
    remember_target(page.url_path)
    page.run()
    st.stop()

if hand_off(viewer):  # just signed in under app.py: the browser goes to set its cookie
    st.stop()
page = navigation(viewer)
restore_target(page.url_path)
sidebar_account(viewer)
run_page(page)
