"""家家到 online (issue 18): 民主测评 waves, one-time codes, anonymous ballots, turnout, closing.

A wave (测评批次) names its period, units, team and member dimensions, rater groups, how many
codes each unit and group gets, and when it opens and closes. Codes are random (80 bits), tied
to a unit and a rater group — never to a person — and stored only as hashes with the store's
pepper. A rater opens the ballot with the code (no account), may leave and come back to a
saved draft, and submits once. The stored ballot carries a random rater id and the day, not the
code; comments are stored apart from ballots and only 组织部 reads them. On closing, the
ballots become 民主测评 rows through the importer (one batch, rollback as any import).

Anonymity rules the data layer enforces: turnout only during a wave; results only through the
ratings table after closing; a rater group with fewer than MIN_GROUP_BALLOTS ballots in a unit
is merged into 其他 (no group) when the ballots become ratings; the audit records wave actions,
never who rated what.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from data.access import Viewer
from data.appdb import analytics_of, app_store, is_postgres
from data.audit import audited, record
from data.frames import insert_frame
from data.periods import parse_period
from data.store import Store, StoreError
from data.vocab import GRADE_LABELS, MEMBER_DIMENSIONS, RATER_GROUPS, TEAM_TARGET
from data.vocab import TEAM_DIMENSIONS as DEFAULT_DIMENSIONS

# Crockford's base32: no I, L, O, U, so a typed code is hard to get wrong. 16 symbols = 80 bits.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16
# Fewer ballots than this in a unit's rater group: the group is merged into 其他 on closing,
# so that no group's answers can be traced to four or fewer people.
MIN_GROUP_BALLOTS = 5
# Wrong codes a client address may enter within the window before it is refused for a while.
CLIENT_FAILURE_LIMIT = 20
CLIENT_WINDOW = timedelta(minutes=15)
# Refused attempts on one valid code (used, closed, invalid answers) before it is locked.
CODE_FAILURE_LIMIT = 20
MAX_COMMENT_CHARS = 500
MAX_CODES = 2000


class BallotError(StoreError):
    """A ballot or wave request that cannot be done; the message is Chinese, for the user."""


@dataclass(frozen=True)
class WaveSpec:
    """What 组织部 sets for a wave."""

    name: str
    period: str
    unit_codes: tuple[str, ...]
    opens_at: datetime
    closes_at: datetime
    codes_per_group: int = 10
    team_dimensions: tuple[str, ...] = DEFAULT_DIMENSIONS
    member_dimensions: tuple[str, ...] = MEMBER_DIMENSIONS
    rater_groups: tuple[str, ...] = RATER_GROUPS


@dataclass(frozen=True)
class IssuedCode:
    """One code in plain text, as printed on the sheet; it exists only until handed out."""

    unit_code: str
    unit_name: str
    rater_group: str
    code: str


@dataclass
class BallotForm:
    """What a rater sees: the wave, the unit, their group, the questions and any saved draft."""

    wave_name: str
    period: str
    unit_code: str
    unit_name: str
    rater_group: str
    team_dimensions: list[str]
    member_dimensions: list[str]
    members: list[tuple[str, str, str]]  # (cadre_code, name, position)
    closes_at: datetime
    draft: dict[str, Any] = field(default_factory=dict)

    def questions(self) -> list[tuple[str, str]]:
        """Return every (target, dimension) the ballot asks, team first, in order."""
        team = [(TEAM_TARGET, d) for d in self.team_dimensions]
        members = [(c, d) for c, _, _ in self.members for d in self.member_dimensions]
        return team + members


def format_code(code: str) -> str:
    """Return a code as printed: four groups of four (ABCD-EFGH-JKMN-PQRS)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize_code(text: str) -> str:
    """Return a typed code in canonical form (upper case, no separators, O→0, I/L→1)."""
    cleaned = re.sub(r"[\s\-_.·]", "", str(text or "")).upper()
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


def new_code() -> str:
    """Return a fresh random code of CODE_LENGTH symbols (80 bits)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _pepper(con: duckdb.DuckDBPyConnection, create: bool = False) -> str:
    row = con.execute("SELECT value FROM meta WHERE key = 'ballot_pepper'").fetchone()
    if row:
        return row[0]
    if not create:
        return ""
    value = secrets.token_hex(32)
    con.execute("INSERT INTO meta VALUES ('ballot_pepper', $v)", {"v": value})
    return value


def _hash(pepper: str, code: str) -> str:
    return hashlib.sha256(f"{pepper}:{normalize_code(code)}".encode()).hexdigest()


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


# --- waves (组织部) -----------------------------------------------------------------------------


def _check_spec(con: duckdb.DuckDBPyConnection, spec: WaveSpec) -> list[str]:
    problems = []
    if not spec.name.strip() or len(spec.name) > 60:
        problems.append("批次名称不能为空，且不超过 60 个字")
    try:
        parse_period(spec.period)
    except ValueError:
        problems.append(f"考核期「{spec.period}」无法识别，应写作 2026Q3 或 2026年第三季度")
    if spec.closes_at <= spec.opens_at:
        problems.append("结束时间必须晚于开始时间")
    if not spec.unit_codes:
        problems.append("至少选择一个单位")
    with analytics_of(con) as duck:
        known = {
            r[0]
            for r in duck.execute(
                "SELECT unit_code FROM units WHERE list_contains($u, unit_code)",
                {"u": list(spec.unit_codes)},
            ).fetchall()
        }
    missing = sorted(set(spec.unit_codes) - known)
    if missing:
        problems.append("以下单位编码不存在：" + "、".join(missing[:10]))
    for label, dims in (
        ("班子测评维度", spec.team_dimensions),
        ("干部测评维度", spec.member_dimensions),
    ):
        if len(set(dims)) != len(dims) or any(not d.strip() or len(d) > 20 for d in dims):
            problems.append(f"{label}不能重复、不能为空，每项不超过 20 个字")
    if not spec.team_dimensions:
        problems.append("班子测评维度至少一项")
    bad = [g for g in spec.rater_groups if g not in RATER_GROUPS]
    if bad or not spec.rater_groups:
        problems.append(f"测评人类别应取自：{'、'.join(RATER_GROUPS)}")
    if not 1 <= spec.codes_per_group <= MAX_CODES:
        problems.append(f"每个单位每类测评人的测评码数量应在 1—{MAX_CODES} 之间")
    return problems


@audited("ballot_wave_create")
def create_wave(store: Store, viewer: Viewer, spec: WaveSpec) -> int:
    """Create a wave (no codes yet) and return its id; raise BallotError listing every problem."""
    viewer.require_decider()
    with app_store(store).write(bump_version=False) as con:
        problems = _check_spec(con, spec)
        if con.execute(
            "SELECT count(*) FROM ballot_waves WHERE name = $n", {"n": spec.name}
        ).fetchone()[0]:
            problems.append(f"已有名为「{spec.name}」的测评批次")
        if problems:
            raise BallotError("无法创建测评批次：" + "；".join(problems) + "。")
        wave_id = con.execute(
            "INSERT INTO ballot_waves (name, period, team_dimensions, member_dimensions, "
            "rater_groups, codes_per_group, opens_at, closes_at, created_by) "
            "VALUES ($n, $p, $td, $md, $rg, $k, $o, $c, $u) RETURNING wave_id",
            {
                "n": spec.name.strip(),
                "p": parse_period(spec.period),
                "td": list(spec.team_dimensions),
                "md": list(spec.member_dimensions),
                "rg": list(spec.rater_groups),
                "k": spec.codes_per_group,
                "o": spec.opens_at,
                "c": spec.closes_at,
                "u": viewer.username,
            },
        ).fetchone()[0]
        con.execute(
            "INSERT INTO ballot_wave_units SELECT $w, unnest(CAST($u AS VARCHAR[]))",
            {"w": wave_id, "u": sorted(set(spec.unit_codes))},
        )
        record(con, viewer, "ballot_wave_create", f"wave:{wave_id}",
               {"name": spec.name, "period": spec.period, "units": len(set(spec.unit_codes))})  # fmt: skip
    return int(wave_id)


def _wave(con: duckdb.DuckDBPyConnection, wave_id: int) -> dict[str, Any]:
    row = con.execute(
        "SELECT wave_id, name, period, team_dimensions, member_dimensions, rater_groups, "
        "codes_per_group, opens_at, closes_at, status, import_batch_id "
        "FROM ballot_waves WHERE wave_id = $w",
        {"w": wave_id},
    ).fetchone()
    if row is None:
        raise BallotError(f"测评批次 {wave_id} 不存在。")
    keys = ("wave_id", "name", "period", "team_dimensions", "member_dimensions", "rater_groups",
            "codes_per_group", "opens_at", "closes_at", "status", "import_batch_id")  # fmt: skip
    return dict(zip(keys, row, strict=True))


@audited("ballot_codes_issue")
def issue_codes(
    store: Store, viewer: Viewer, wave_id: int, per_group: int | None = None
) -> list[IssuedCode]:
    """Issue codes for every unit and rater group of the wave; return them in plain text.

    The plain codes exist only in the returned list (print or export them now); the store
    keeps hashes. Calling again issues more codes, e.g. for extra raters.
    """
    viewer.require_decider()
    issued: list[IssuedCode] = []
    with app_store(store).write(bump_version=False) as con:
        wave = _wave(con, wave_id)
        if wave["status"] != "open":
            raise BallotError("测评批次已结束，不能再发放测评码。")
        count = per_group or wave["codes_per_group"]
        if not 1 <= count <= MAX_CODES:
            raise BallotError(f"每组测评码数量应在 1—{MAX_CODES} 之间。")
        pepper = _pepper(con, create=True)
        codes = [r[0] for r in con.execute(
            "SELECT unit_code FROM ballot_wave_units WHERE wave_id = $w ORDER BY unit_code",
            {"w": wave_id},
        ).fetchall()]  # fmt: skip
        names = _unit_names(con, codes)
        units = [(code, names[code]) for code in codes if code in names]
        rows = []
        for unit_code, unit_name in units:
            for group in wave["rater_groups"]:
                for _ in range(count):
                    code = new_code()
                    issued.append(IssuedCode(unit_code, unit_name, group, code))
                    rows.append((_hash(pepper, code), wave_id, unit_code, group))
        if is_postgres(con):
            con.executemany(
                "INSERT INTO ballot_codes (code_hash, wave_id, unit_code, rater_group) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
        else:
            columns = ["code_hash", "wave_id", "unit_code", "rater_group"]
            insert_frame(con, "ballot_codes", pd.DataFrame(rows, columns=columns))
        record(con, viewer, "ballot_codes_issue", f"wave:{wave_id}",
               {"codes": len(issued), "per_group": count})  # fmt: skip
    return issued


@audited("ballot_wave_extend")
def extend_wave(store: Store, viewer: Viewer, wave_id: int, closes_at: datetime) -> None:
    """Move the wave's closing time later."""
    viewer.require_decider()
    with app_store(store).write(bump_version=False) as con:
        wave = _wave(con, wave_id)
        if wave["status"] != "open":
            raise BallotError("测评批次已结束，不能延期。")
        if closes_at <= max(wave["closes_at"], _now()):
            raise BallotError("新的结束时间必须晚于原结束时间和当前时间。")
        con.execute(
            "UPDATE ballot_waves SET closes_at = $c WHERE wave_id = $w",
            {"c": closes_at, "w": wave_id},
        )
        record(con, viewer, "ballot_wave_extend", f"wave:{wave_id}", {"closes_at": closes_at})


def list_waves(con: duckdb.DuckDBPyConnection, viewer: Viewer) -> pd.DataFrame:
    """Return the waves: wave_id, name, period, opens_at, closes_at, status, units, codes,
    ballots, import_batch_id (组织部 and 管理员 only)."""
    viewer.require_decider()
    return con.execute(
        """SELECT w.wave_id, w.name, w.period, w.opens_at, w.closes_at, w.status,
                  (SELECT count(*) FROM ballot_wave_units u WHERE u.wave_id = w.wave_id) AS units,
                  (SELECT count(*) FROM ballot_codes c WHERE c.wave_id = w.wave_id) AS codes,
                  (SELECT count(*) FROM ballots b WHERE b.wave_id = w.wave_id) AS ballots,
                  w.import_batch_id
           FROM ballot_waves w ORDER BY w.wave_id DESC"""
    ).df()


def wave_turnout(con: duckdb.DuckDBPyConnection, viewer: Viewer, wave_id: int) -> pd.DataFrame:
    """Return turnout per unit and rater group: unit_code, unit_name, rater_group, issued,
    cast, rate (组织部 and 管理员 only; counts, nothing else, during a wave)."""
    viewer.require_decider()
    _wave(con, wave_id)
    frame = con.execute(
        """SELECT unit_code, rater_group, count(*) AS issued, count(used_on) AS cast
           FROM ballot_codes WHERE wave_id = $w
           GROUP BY unit_code, rater_group ORDER BY unit_code, rater_group""",
        {"w": wave_id},
    ).df()
    names = _unit_names(con, frame["unit_code"].unique().tolist())
    frame = frame[frame["unit_code"].isin(names)].reset_index(drop=True)
    frame.insert(1, "unit_name", frame["unit_code"].map(names))
    frame["issued"] = frame["issued"].astype("int64")
    frame["cast"] = frame["cast"].astype("int64")
    frame["rate"] = (frame["cast"] / frame["issued"]).round(3)
    return frame


def wave_comments(con: duckdb.DuckDBPyConnection, viewer: Viewer, wave_id: int) -> pd.DataFrame:
    """Return a closed wave's comments: unit_code, unit_name, target, target_name, dimension,
    comment (组织部 and 管理员 only; never 单位负责人 or researchers)."""
    viewer.require_decider()
    if _wave(con, wave_id)["status"] != "closed":
        raise BallotError("测评批次结束后才能查看意见。")
    frame = con.execute(
        """SELECT unit_code, target, dimension, comment FROM ballot_comments
           WHERE wave_id = $w ORDER BY unit_code, target, dimension""",
        {"w": wave_id},
    ).df()
    names = _unit_names(con, frame["unit_code"].unique().tolist())
    with analytics_of(con) as duck:
        cadres = {} if frame.empty else dict(duck.execute(
            "SELECT cadre_code, name FROM cadres WHERE list_contains($c, cadre_code)",
            {"c": frame["target"].unique().tolist()},
        ).fetchall())  # fmt: skip
    frame = frame[frame["unit_code"].isin(names)].reset_index(drop=True)
    frame.insert(1, "unit_name", frame["unit_code"].map(names))
    frame.insert(3, "target_name", [
        "班子" if t == TEAM_TARGET else cadres.get(t, t) for t in frame["target"]])  # fmt: skip
    return frame


# --- the ballot (no account) ----------------------------------------------------------------


def lookup_code(con: duckdb.DuckDBPyConnection, code: str) -> tuple | None:
    """Return (wave_id, unit_code, rater_group, used_on, draft, failures) of a code, or None."""
    normalized = normalize_code(code)
    if len(normalized) != CODE_LENGTH or set(normalized) - set(CODE_ALPHABET):
        return None
    return con.execute(
        "SELECT wave_id, unit_code, rater_group, used_on, draft, failures "
        "FROM ballot_codes WHERE code_hash = $h",
        {"h": _hash(_pepper(con), normalized)},
    ).fetchone()


def _client_hash(con: duckdb.DuckDBPyConnection, client: str) -> str:
    return hashlib.sha256(f"{_pepper(con)}:client:{client}".encode()).hexdigest()


def _client_blocked(con: duckdb.DuckDBPyConnection, client: str) -> bool:
    count = con.execute(
        "SELECT count(*) FROM ballot_failures WHERE client_hash = $c AND failed_at > $since",
        {"c": _client_hash(con, client), "since": _now() - CLIENT_WINDOW},
    ).fetchone()[0]
    return count >= CLIENT_FAILURE_LIMIT


def _fail(store: Store, client: str, code: str | None, message: str) -> BallotError:
    """Record a refused attempt (per client and, for a known code, per code); return the error."""
    with app_store(store).write(bump_version=False) as con:
        con.execute(
            "DELETE FROM ballot_failures WHERE failed_at < $old", {"old": _now() - CLIENT_WINDOW}
        )
        con.execute(
            "INSERT INTO ballot_failures (client_hash, failed_at) VALUES ($c, $t)",
            {"c": _client_hash(con, client), "t": _now()},
        )
        if code is not None:
            con.execute(
                "UPDATE ballot_codes SET failures = failures + 1 WHERE code_hash = $h",
                {"h": _hash(_pepper(con), code)},
            )
    return BallotError(message)


def _usable(wave: dict[str, Any], used_on: Any, failures: int) -> str | None:
    """Return why a code cannot be used now, or None."""
    now = _now()
    if used_on is not None:
        return "该测评码已经提交过测评，每个测评码只能提交一次。"
    if failures >= CODE_FAILURE_LIMIT:
        return "该测评码尝试次数过多，已暂停使用，请联系组织部。"
    if wave["status"] != "open" or now > wave["closes_at"]:
        return "本次测评已经结束，不再接受提交。"
    if now < wave["opens_at"]:
        return f"本次测评尚未开始，开始时间：{wave['opens_at']:%Y年%-m月%-d日 %H:%M}。"
    return None


class _Refused(Exception):
    """Why a code cannot be used; `record` says what the refusal counts against."""

    def __init__(self, message: str, record: str | None) -> None:
        super().__init__(message)
        self.record = record  # None, "client" or "code"


def _form(con: duckdb.DuckDBPyConnection, code: str, client: str) -> BallotForm:
    """Return the ballot a code opens, on one connection; raise _Refused when it cannot."""
    if _client_blocked(con, client):
        raise _Refused("输入错误次数过多，请 15 分钟后再试。", None)
    found = lookup_code(con, code)
    if found is None:
        raise _Refused("测评码无效，请核对后重新输入（不区分大小写，可省略短横线）。", "client")
    wave_id, unit_code, group, used_on, draft, failures = found
    wave = _wave(con, wave_id)
    why = _usable(wave, used_on, failures)
    if why:
        raise _Refused(why, "code")
    unit_name = _unit_names(con, [unit_code])[unit_code]
    return BallotForm(
        wave_name=wave["name"],
        period=wave["period"],
        unit_code=unit_code,
        unit_name=unit_name,
        rater_group=group,
        team_dimensions=list(wave["team_dimensions"]),
        member_dimensions=list(wave["member_dimensions"]),
        members=_members(con, unit_code) if wave["member_dimensions"] else [],  # DuckDB
        closes_at=wave["closes_at"],
        draft=_DRAFTS.get(_memory_key(code), (None, 0.0))[0]
        or (json.loads(draft) if draft else {}),
    )


def _refuse(store: Store, client: str, code: str, refused: _Refused) -> BallotError:
    if refused.record is None:
        return BallotError(str(refused))
    return _fail(store, client, normalize_code(code) if refused.record == "code" else None,
                 str(refused))  # fmt: skip


def open_ballot(store: Store, code: str, client: str = "unknown") -> BallotForm:
    """Return the ballot a code opens (with any saved draft); raise BallotError (Chinese)."""
    try:
        with app_store(store).read() as con:
            return _form(con, code, client)
    except _Refused as refused:
        raise _refuse(store, client, code, refused) from None


def _members(con: duckdb.DuckDBPyConnection, unit_code: str) -> list[tuple[str, str, str]]:
    with analytics_of(con) as duck:
        return [
            tuple(r)
            for r in duck.execute(
                "SELECT cadre_code, name, position FROM cadres "
                "WHERE unit_code = $u AND coalesce(is_team_member, true) ORDER BY cadre_code",
                {"u": unit_code},
            ).fetchall()
        ]


def _unit_names(con: duckdb.DuckDBPyConnection, codes: list[str]) -> dict[str, str]:
    """Return unit_code -> unit_name for the codes, from the roster (always in DuckDB)."""
    if not codes:
        return {}
    with analytics_of(con) as duck:
        return dict(
            duck.execute(
                "SELECT unit_code, unit_name FROM units WHERE list_contains($u, unit_code)",
                {"u": list(codes)},
            ).fetchall()
        )


# Drafts are kept in this process's memory at every step (sessions are sticky to a process) and
# written to the store at most every DRAFT_SAVE_EVERY_S per code, so a dropped connection
# resumes from memory and a restarted process from the store, without one write per click.
DRAFT_SAVE_EVERY_S = 30.0
_DRAFTS: dict[str, tuple[dict[str, Any], float]] = {}
_DRAFTS_LOCK = threading.Lock()


def _memory_key(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()


def save_draft(store: Store, code: str, draft: Mapping[str, Any]) -> None:
    """Keep a rater's unfinished answers under their code, so a dropped connection resumes."""
    payload = json.dumps(dict(draft), ensure_ascii=False)
    if len(payload) > 200_000:
        raise BallotError("草稿过大，无法保存。")
    key, now = _memory_key(code), time.monotonic()
    with _DRAFTS_LOCK:
        _, saved = _DRAFTS.get(key, (None, float("-inf")))
        due = now - saved >= DRAFT_SAVE_EVERY_S
        _DRAFTS[key] = (dict(draft), now if due else saved)
    if not due:
        return
    with app_store(store).write(bump_version=False) as con:
        con.execute(
            "UPDATE ballot_codes SET draft = $d WHERE code_hash = $h AND used_on IS NULL",
            {"d": payload, "h": _hash(_pepper(con), code)},
        )


def _check_answers(
    form: BallotForm,
    answers: Mapping[tuple[str, str], Any],
    comments: Mapping[tuple[str, str], str],
) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, str]]]:
    expected = form.questions()
    problems = []
    unknown = set(answers) - set(expected)
    if unknown:
        problems.append("包含不属于本测评的题目")
    missing = [q for q in expected if answers.get(q) is None]
    if missing:
        problems.append(f"还有 {len(missing)} 题未作答")
    clean = []
    for q in expected:
        value = answers.get(q)
        if value is None:
            continue
        if isinstance(value, str):
            score = {v: k for k, v in GRADE_LABELS.items()}.get(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            score = value if value in GRADE_LABELS else None
        else:
            score = None
        if score is None:
            problems.append(f"评价「{value}」无效，应为 好/较好/一般/较差")
            break
        clean.append((q[0], q[1], score))
    notes = []
    for q, text in comments.items():
        if q not in expected:
            problems.append("意见对应的题目不存在")
            break
        text = str(text or "").strip()
        if len(text) > MAX_COMMENT_CHARS:
            problems.append(f"每条意见不超过 {MAX_COMMENT_CHARS} 字")
            break
        if text:
            notes.append((q[0], q[1], text))
    if problems:
        raise BallotError("提交未成功：" + "；".join(problems) + "。")
    return clean, notes


def submit_ballot(
    store: Store,
    code: str,
    answers: Mapping[tuple[str, str], Any],
    comments: Mapping[tuple[str, str], str] | None = None,
    client: str = "unknown",
) -> None:
    """Store one ballot, once per code, atomically; raise BallotError (Chinese) if refused.

    Everything — the code's validity, the wave's state, the answers' check and the writes —
    happens in one write transaction, so a ballot costs one connection.
    """
    try:
        with app_store(store).write(bump_version=False) as con:
            form = _form(con, code, client)
            try:
                clean, notes = _check_answers(form, answers, comments or {})
            except BallotError as exc:
                raise _Refused(str(exc), "code") from None
            _store_ballot(con, code, clean, notes)
    except _Refused as refused:
        raise _refuse(store, client, code, refused) from None
    with _DRAFTS_LOCK:
        _DRAFTS.pop(_memory_key(code), None)


def _store_ballot(
    con: duckdb.DuckDBPyConnection,
    code: str,
    clean: list[tuple[str, str, int]],
    notes: list[tuple[str, str, str]],
) -> None:
    """Mark the code used (once, atomically) and insert the ballot, its answers and comments."""
    h = _hash(_pepper(con), code)
    found = con.execute(
        "UPDATE ballot_codes SET used_on = current_date, draft = NULL "
        "WHERE code_hash = $h AND used_on IS NULL RETURNING wave_id, unit_code, rater_group",
        {"h": h},
    ).fetchall()
    if not found:
        raise BallotError("该测评码已经提交过测评，每个测评码只能提交一次。")
    wave_id, unit_code, group = found[0]
    status = con.execute(
        "SELECT status = 'open' AND $now <= closes_at FROM ballot_waves WHERE wave_id = $w",
        {"w": wave_id, "now": _now()},
    ).fetchone()[0]
    if not status:
        raise BallotError("本次测评已经结束，不再接受提交。")  # rolls the UPDATE back
    ballot_id = con.execute(
        "INSERT INTO ballots (wave_id, unit_code, rater_group, rater_id, cast_on) "
        "VALUES ($w, $u, $g, $r, current_date) RETURNING ballot_id",
        {"w": wave_id, "u": unit_code, "g": group, "r": secrets.token_hex(8)},
    ).fetchone()[0]
    con.executemany(
        "INSERT INTO ballot_answers VALUES (?, ?, ?, ?)",
        [(ballot_id, t, d, s) for t, d, s in clean],
    )
    if notes:
        con.executemany(
            "INSERT INTO ballot_comments VALUES (?, ?, ?, ?, ?)",
            [(wave_id, unit_code, t, d, c) for t, d, c in notes],
        )


# --- closing: ballots become 民主测评 rows ------------------------------------------------------


def wave_ratings_csv(con: duckdb.DuckDBPyConnection, wave_id: int) -> tuple[str, bytes, int]:
    """Return (file name, UTF-8 CSV in the contract's 民主测评 format, rows) of a wave's ballots.

    A rater group with fewer than MIN_GROUP_BALLOTS ballots in a unit gets no group (其他).
    """
    wave = _wave(con, wave_id)
    frame = con.execute(
        """WITH sizes AS (
               SELECT unit_code, rater_group, count(*) AS n FROM ballots
               WHERE wave_id = $w GROUP BY unit_code, rater_group)
           SELECT b.unit_code, 'B' || b.rater_id AS rater_code,
                  CASE WHEN s.n >= $k THEN b.rater_group ELSE '' END AS rater_group,
                  a.target, a.dimension, a.grade
           FROM ballots b JOIN ballot_answers a USING (ballot_id)
           JOIN sizes s ON s.unit_code = b.unit_code AND s.rater_group = b.rater_group
           WHERE b.wave_id = $w
           ORDER BY b.unit_code, rater_code, a.target, a.dimension""",
        {"w": wave_id, "k": MIN_GROUP_BALLOTS},
    ).fetchall()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "调研批次",
            "单位编码",
            "测评人编号",
            "测评人类别",
            "测评对象",
            "测评维度",
            "评价",
            "考核期",
        ]
    )
    for unit, rater, group, target, dim, grade in frame:
        writer.writerow(
            [wave["name"], unit, rater, group, target, dim, GRADE_LABELS[grade], wave["period"]]
        )
    name = f"测评批次{wave_id}_{wave['name']}.csv"
    return name, out.getvalue().encode("utf-8"), len(frame)


@audited("ballot_wave_close")
def mark_closed(store: Store, viewer: Viewer, wave_id: int) -> dict[str, Any]:
    """Close the wave to ballots (idempotent) and return it; the import follows."""
    viewer.require_decider()
    with app_store(store).write(bump_version=False) as con:
        wave = _wave(con, wave_id)
        if wave["import_batch_id"] is not None:
            raise BallotError(
                f"测评批次已结束，结果已作为导入批次 {wave['import_batch_id']} 写入。"
            )
        if wave["status"] == "open":
            con.execute(
                "UPDATE ballot_waves SET status = 'closed', closed_at = $t WHERE wave_id = $w",
                {"t": _now(), "w": wave_id},
            )
            con.execute("UPDATE ballot_codes SET draft = NULL WHERE wave_id = $w", {"w": wave_id})
            record(con, viewer, "ballot_wave_close", f"wave:{wave_id}", {"name": wave["name"]})
        wave["status"] = "closed"
    return wave


def link_batch(store: Store, wave_id: int, batch_id: int) -> None:
    """Record the import batch that holds a closed wave's ratings."""
    with app_store(store).write(bump_version=False) as con:
        con.execute(
            "UPDATE ballot_waves SET import_batch_id = $b WHERE wave_id = $w",
            {"b": batch_id, "w": wave_id},
        )
