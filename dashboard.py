"""banzi — 班子运行质态分析. Entry point: `streamlit run dashboard.py`."""

import streamlit as st

from data.access import Viewer
from ui.shell import navigation, run_page, sidebar_identity

st.set_page_config(page_title="班子运行质态分析", page_icon=":material/groups:", layout="wide")

if "viewer" not in st.session_state:
    st.session_state["viewer"] = Viewer("demo", "org", display_name="演示用户")
viewer = st.session_state["viewer"]

page = navigation(viewer)
sidebar_identity(viewer)
run_page(page)
