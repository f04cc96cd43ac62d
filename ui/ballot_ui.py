"""The rater's ballot (no account): code entry, one section at a time, review, submit."""

from __future__ import annotations

from urllib.parse import urlparse

import streamlit as st

from data.ballots import (
    BallotForm,
    normalize_code,
    open_ballot,
    save_draft,
    submit_ballot,
)
from data.contract import GRADE_LABELS, TEAM_TARGET
from data.store import Store, StoreError, resolve_db_path
from ui.labels import md, period_label

BALLOT_PATH = "toupiao"
GRADES = [GRADE_LABELS[s] for s in (4, 3, 2, 1)]  # 好, 较好, 一般, 较差
_STATE = "ballot"


def is_ballot_request() -> bool:
    """Return whether this browser session asked for the ballot page (/toupiao)."""
    try:
        url = st.context.url
    except Exception:  # AppTest and very old clients have no URL
        return False
    return bool(url) and urlparse(url).path.rstrip("/").endswith("/" + BALLOT_PATH)


def _store() -> Store:
    return Store(resolve_db_path(), wait_s=5.0)


def _client() -> str:
    try:
        return st.context.ip_address or "unknown"
    except Exception:
        return "unknown"


def _key(target: str, dim: str) -> str:
    return f"{target}|{dim}"


def _sections(form: BallotForm) -> list[tuple[str, str, list[str]]]:
    """Return (target, title, dimensions) of each step of the ballot."""
    steps = [(TEAM_TARGET, f"对{form.unit_name}领导班子的总体评价", form.team_dimensions)]
    for code, name, position in form.members:
        steps.append((code, f"对{name}（{position}）的评价", form.member_dimensions))
    return steps


def _state() -> dict:
    return st.session_state.setdefault(_STATE, {})


def _enter_code() -> None:
    st.markdown("请输入测评码（印在测评卡上，不区分大小写，可省略短横线）。")
    typed = st.text_input("测评码", value=st.query_params.get("code", ""), key="ballot_code_input",
                          placeholder="例如 ABCD-EFGH-JKMN-PQRS")  # fmt: skip
    if st.button("开始测评", type="primary", key="ballot_start", use_container_width=True):
        try:
            form = open_ballot(_store(), typed, _client())
        except StoreError as exc:
            st.error(str(exc))
            return
        draft = form.draft or {}
        _state().update(code=normalize_code(typed), form=form, step=int(draft.get("step", 0)),
                        answers=dict(draft.get("answers", {})),
                        comments=dict(draft.get("comments", {})), resumed=bool(draft))  # fmt: skip
        st.rerun()


def _save(state: dict) -> None:
    draft = {"step": state["step"], "answers": state["answers"], "comments": state["comments"]}
    try:
        save_draft(_store(), state["code"], draft)
    except StoreError:
        pass  # the answers stay in this session; the draft is only a safety net


def _question_step(state: dict, form: BallotForm) -> None:
    sections = _sections(form)
    index = state["step"]
    target, title, dims = sections[index]
    st.progress(
        (index + 1) / (len(sections) + 1), text=f"第 {index + 1} 步，共 {len(sections) + 1} 步"
    )
    # One form per section: choosing an answer costs no round trip to the server.
    with st.form(f"ballot_form_{index}", border=False):
        st.subheader(md(title))
        chosen = {}
        for dim in dims:
            current = state["answers"].get(_key(target, dim))
            chosen[dim] = st.radio(dim, GRADES, horizontal=True, key=f"ballot_q_{index}_{dim}",
                                   index=GRADES.index(current) if current in GRADES else None)  # fmt: skip
        with st.expander("补充意见（选填，只有组织部能看到）"):
            notes = {
                dim: st.text_input(
                    dim,
                    value=state["comments"].get(_key(target, dim), ""),
                    max_chars=500,
                    key=f"ballot_c_{index}_{dim}",
                )
                for dim in dims
            }
        back, forward = st.columns(2)
        went_back = index > 0 and back.form_submit_button(
            "上一步", key=f"ballot_back_{index}", use_container_width=True
        )
        went_on = forward.form_submit_button(
            "下一步", type="primary", key=f"ballot_next_{index}", use_container_width=True
        )
    if not (went_back or went_on):
        return
    for dim in dims:
        if chosen[dim] is not None:
            state["answers"][_key(target, dim)] = chosen[dim]
        state["comments"][_key(target, dim)] = notes[dim]
    missing = [d for d in dims if _key(target, d) not in state["answers"]]
    if went_on and missing:
        st.warning("请先评价：" + "、".join(missing))
        return
    state["step"] = index + (1 if went_on else -1)
    _save(state)
    st.rerun()


def _review_step(state: dict, form: BallotForm) -> None:
    sections = _sections(form)
    st.progress(1.0, text=f"第 {len(sections) + 1} 步，共 {len(sections) + 1} 步：确认")
    st.subheader("请确认您的评价")
    for target, title, dims in sections:
        st.markdown(f"**{md(title)}**")
        rows = [
            {"测评维度": d, "评价": state["answers"].get(_key(target, d), "—"),
             "补充意见": state["comments"].get(_key(target, d)) or "—"}
            for d in dims
        ]  # fmt: skip
        st.dataframe(rows, hide_index=True, use_container_width=True)
    back, submit = st.columns(2)
    if back.button("返回修改", key="ballot_review_back", use_container_width=True):
        state["step"] = len(sections) - 1
        st.rerun()
    if submit.button("确认提交", type="primary", key="ballot_submit", use_container_width=True):
        answers = {tuple(k.split("|", 1)): v for k, v in state["answers"].items()}
        comments = {tuple(k.split("|", 1)): v for k, v in state["comments"].items() if v}
        try:
            submit_ballot(_store(), state["code"], answers, comments, _client())
        except StoreError as exc:
            st.error(str(exc))
            return
        st.session_state[_STATE] = {"done": True}
        st.rerun()


def ballot_flow() -> None:
    """Draw the ballot for this browser session: code, questions, review, thanks."""
    state = _state()
    st.title("民主测评")
    if state.get("done"):
        st.success("提交成功，感谢您的参与！本测评码已失效，可以关闭此页面。")
        return
    form: BallotForm | None = state.get("form")
    if form is None:
        _enter_code()
        return
    st.caption(md(f"{form.wave_name} · {period_label(form.period)} · {form.unit_name} · ")
               + f"您的测评身份：{form.rater_group}（匿名，测评码与本人身份无关）")  # fmt: skip
    if state.pop("resumed", False):
        st.info("已恢复您上次未提交的作答，可以继续。")
    if state["step"] >= len(_sections(form)):
        _review_step(state, form)
    else:
        _question_step(state, form)
