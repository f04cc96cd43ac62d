"""测评批次: 家家到 民主测评 online — waves, one-time codes, turnout, closing (组织部)."""

import streamlit as st

from ui import widgets
from ui.ballot_admin_ui import create_wave_form, wave_actions, waves_table
from ui.state import current_viewer

viewer = current_viewer()
st.title("测评批次")
st.caption(
    "线上民主测评：设定批次、发放一次性测评码（扫码或输入，无需账号）、查看回收率，"
    "结束后结果作为一个导入批次写入民主测评数据，分层与简报随即更新。"
)
with st.expander("新建测评批次", expanded=False):
    create_wave_form(viewer)
st.header("全部批次")
waves = waves_table(viewer)
if not waves.empty:
    labels = {int(r.wave_id): f"{r.name}（编号 {r.wave_id}）" for r in waves.itertuples()}
    chosen = widgets.selectbox("选择批次", list(labels), format_func=labels.get, key="ballot_wave")
    wave_actions(
        viewer,
        waves.set_index("wave_id")
        .loc[chosen]
        .rename(None)
        .to_frame()
        .T.assign(wave_id=chosen)
        .iloc[0],
    )
