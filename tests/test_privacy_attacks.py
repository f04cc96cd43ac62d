"""Attacks a researcher might try, through the functions the pages and exports use; each fails.

- linkage: any combination of region / 单位类别 shown about a team matches at least k teams;
- subtraction: totals minus visible cells never give a count of 1..k-1;
- differencing: the 20-versus-19 cohort pair (女·正处·市直 with and without 40–44) is refused;
- free text: names planted in every free-text field never reach a researcher's output;
- small cells: no count between 1 and k-1 in any researcher table;
- every page as 研究人员 under AppTest, searched for every cadre name and code in the store.

Run on a copy of the session demo (with planted text) and on a small hand-built store whose
names and codes look nothing like the demo's.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from data import cohorts as C
from data.access import MIN_GROUP_SIZE, Viewer
from data.petitions import (
    _breakdown,
    days_to_close,
    department_involvement,
    petition_summary,
    petitions_by,
)
from data.privacy import OTHER_REGION, coarsen_attributes, unit_attributes
from data.store import Store
from data.tiers_store import latest_tiers, override_tier
from tests import access_helpers as H
from ui.loaders import QUERIES
from ui.registry import PAGES

ROOT = Path(__file__).resolve().parent.parent
ISSUER = "中共泰州市委组织部"
K = MIN_GROUP_SIZE
RESEARCHER = Viewer("attacker", "researcher", display_name="研究", study_salt="attack")
ORG = Viewer("plant_officer_zhao", "org", display_name="植入者赵某某")
# Distinctive planted strings: none may ever reach a researcher.
PLANTED = {
    "override": "书记植入甲（PLANT-CADRE-1）被诫勉，班子下调",
    "decision": "植入决定理由乙：与植入丙谈话",
    "action_reason": "植入事由丁",
    "clar_note": "植入说明戊",
    "comment": "植入评语己",
    "task": "植入事项庚",
    "file_name": "植入文件辛.xlsx",
    "user": "plant_officer_zhao",
    "user_display": "植入者赵某某",
    "study_topic": "植入学习主题壬",
    "meeting_topic": "植入会商议题癸",
    "meeting_task": "植入交办任务子",
}
RESEARCH_PAGES = [s for s in PAGES if "researcher" in s.roles]


# --------------------------------------------------------------------------------------------
# Stores


@pytest.fixture(scope="module")
def planted(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Return a demo copy with a name planted in every free-text field."""
    path = tmp_path_factory.mktemp("attacks") / "planted.duckdb"
    shutil.copy(demo_db_path, path)
    store = Store(path)
    with store.write() as con:
        period = con.execute("SELECT max(period) FROM tier_runs").fetchone()[0]
        units = [r[0] for r in con.execute("SELECT unit_code FROM tier_results WHERE run_id = "
                                           "(SELECT max(run_id) FROM tier_runs)").fetchall()]  # fmt: skip
        con.execute(
            "INSERT INTO users (username, display_name, role, unit_codes, password_hash) "
            "VALUES ($u, $d, 'org', [], 'x')",
            {"u": PLANTED["user"], "d": PLANTED["user_display"]},
        )
        for unit in units:
            computed = con.execute(
                "SELECT tier FROM tier_results WHERE unit_code = $u AND run_id = "
                "(SELECT max(run_id) FROM tier_runs WHERE period = $p)",
                {"u": unit, "p": period},
            ).fetchone()[0]
            override_tier(con, ORG, period, unit, 4 if computed < 4 else 3, PLANTED["override"])
        cadre = con.execute("SELECT min(cadre_code) FROM cadres").fetchone()[0]
        con.execute(
            "INSERT INTO suggestion_decisions VALUES ('k', $p, 'cadre', $c, 'r', 'a', 'h', "
            "'reject', $reason, $by, current_timestamp)",
            {"p": period, "c": cadre, "reason": PLANTED["decision"], "by": PLANTED["user"]},
        )
        con.execute("UPDATE actions SET reason = $r", {"r": PLANTED["action_reason"]})
        con.execute("UPDATE clarifications SET note = $r", {"r": PLANTED["clar_note"]})
        con.execute("UPDATE quarterly_grades SET comment = $r", {"r": PLANTED["comment"]})
        con.execute("UPDATE report_items SET task = task || $r", {"r": PLANTED["task"]})
        con.execute("UPDATE study_sessions SET topic = $r", {"r": PLANTED["study_topic"]})
        con.execute("UPDATE coord_meetings SET topic = $r", {"r": PLANTED["meeting_topic"]})
        con.execute("UPDATE coord_tasks SET task = task || $r", {"r": PLANTED["meeting_task"]})
        con.execute(
            "INSERT INTO import_batches (kind, file_name, sha256, imported_by, row_count) "
            "VALUES ('units', $f, 'x', $u, 0)",
            {"f": PLANTED["file_name"], "u": PLANTED["user"]},
        )
    return store


@pytest.fixture(scope="module")
def demo(planted: Store) -> H.Demo:
    """Return the identifiers of the planted demo."""
    with planted.read() as con:
        return H.demo_identifiers(con)


@pytest.fixture(scope="module")
def period(planted: Store) -> str:
    """Return the latest tiered period."""
    with planted.read() as con:
        return con.execute("SELECT max(period) FROM tier_runs").fetchone()[0]


def _names_and_codes(con) -> set[str]:
    """Return every cadre name and code, unit name and code in a store."""
    found: set[str] = set()
    for sql in ("SELECT cadre_code, name FROM cadres", "SELECT unit_code, unit_name FROM units"):
        for row in con.execute(sql).fetchall():
            found.update(str(v) for v in row if v)
    # The issuing body (中共泰州市委组织部) on every briefing is not a unit's data.
    return {s for s in found if s not in ISSUER}


def _leaks(value, secrets: set[str]) -> set[str]:
    """Return the secrets (names, codes, planted text) found in any string of a result."""
    found = set()
    for text in H.strings(value):
        for secret in secrets:
            if secret in text:
                found.add(secret)
    return found


def _planted_fragments() -> set[str]:
    fragments = {v for v in PLANTED.values()}
    return fragments | {"植入", "PLANT-CADRE-1"}


def _researcher_results(store: Store, demo: H.Demo) -> list[tuple[str, dict, object]]:
    """Call every registered query as the researcher, with every argument variant."""
    out = []
    with store.read() as con:
        for name, fn in QUERIES.items():
            for kwargs in H.calls(fn, demo, RESEARCHER):
                try:
                    result = fn(con, RESEARCHER, **kwargs)
                except Exception as exc:  # refusals are fine; they carry no data
                    result = str(exc)
                out.append((name, kwargs, result))
    return out


@pytest.fixture(scope="module")
def results(planted: Store, demo: H.Demo) -> list[tuple[str, dict, object]]:
    """Every researcher query result on the planted store (cohorts registered first)."""
    specs = {"A": C.CohortSpec(), "B": C.CohortSpec(regions=(OTHER_REGION,))}
    with planted.write(bump_version=False) as con:
        C.register_cohorts(con, RESEARCHER, demo.period, specs)
    return _researcher_results(planted, demo)


# --------------------------------------------------------------------------------------------
# Free text and identities


def test_no_planted_text_name_or_code_in_any_researcher_query(planted, results) -> None:
    with planted.read() as con:
        secrets = _names_and_codes(con) | _planted_fragments()
    # Unit kinds and region names of large groups are allowed; drop the unit names that
    # equal a kind or region (none in the demo) to avoid false alarms.
    leaks = {name: _leaks(result, secrets) for name, _, result in results}
    leaks = {k: sorted(v)[:5] for k, v in leaks.items() if v}
    assert not leaks, f"researcher outputs hold names, codes or free text: {leaks}"
    # Not even pseudonymous persons: no cadre pseudonym (C-XXXXXXXX) in any output.
    persons = {name for name, _, result in results
               for text in H.strings(result) if re.search(r"C-[0-9A-F]{8}", text)}  # fmt: skip
    assert not persons, f"researcher outputs list persons: {sorted(persons)}"


def test_researcher_briefing_has_no_names_codes_or_free_text(planted, period) -> None:
    from openpyxl import load_workbook

    from reports.brief import render_bytes
    from reports.content import Scope, briefing_content

    with planted.read() as con:
        secrets = _names_and_codes(con) | _planted_fragments()
        regions = sorted(set(unit_attributes(con, RESEARCHER)["region"]))
    for scope in [Scope(), *(Scope("region", r) for r in regions)]:
        briefing = briefing_content(planted, RESEARCHER, period, scope)
        assert not _leaks(briefing, secrets), scope
        book = load_workbook(io.BytesIO(render_bytes(briefing, "xlsx")), read_only=True)
        cells = [str(c) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                 for c in row if c is not None]  # fmt: skip
        assert not _leaks(cells, secrets), scope
        # Linkage: the roster's region / kind combinations each match at least k teams.
        for table in briefing.sheets.values():
            frame = getattr(table, "frame", None)
            if isinstance(frame, pd.DataFrame) and {"所属地区", "单位类别"} <= set(frame.columns):
                sizes = frame.groupby(["所属地区", "单位类别"]).size()
                assert (sizes >= K).all() or scope.kind != "city", sizes.to_dict()


def test_researcher_briefing_cannot_pick_a_lone_region(planted, period, demo) -> None:
    from data.access import AccessDenied
    from reports.content import Scope, briefing_content

    with pytest.raises(AccessDenied):
        briefing_content(planted, RESEARCHER, period, Scope("region", demo.own_region))


def test_override_and_user_names_are_blank_for_researcher(planted, period) -> None:
    from data.tiers_store import tier_overrides

    with planted.read() as con:
        tiers = latest_tiers(con, RESEARCHER, period)
        overrides = tier_overrides(con, RESEARCHER, period)
        org = latest_tiers(con, ORG, period)
    assert org["override_reason"].eq(PLANTED["override"]).all()  # the plant is there ...
    assert tiers["override_reason"].isna().all() and tiers["override_by"].isna().all()
    assert overrides["reason"].isna().all() and overrides["decided_by"].isna().all()
    assert not _leaks(tiers, _planted_fragments())


# --------------------------------------------------------------------------------------------
# Linkage by region and kind


def test_every_region_kind_combination_matches_k_teams(planted, results) -> None:
    for name, kwargs, result in results:
        for where, frame in H.frames(result):
            cols = [c for c in ("region", "unit_kind") if c in frame.columns]
            if not cols or "unit_code" not in frame.columns or frame.empty:
                continue
            teams = frame.drop_duplicates("unit_code")
            with planted.read() as con:
                everyone = unit_attributes(con, RESEARCHER)
            sizes = everyone.groupby(cols).size()
            shown = teams.groupby(cols).size().index
            small = [combo for combo in shown if sizes.get(combo, 0) < K]
            assert not small, f"{name}{kwargs}{where}: {small} match fewer than {K} teams"


def test_the_seven_counties_become_one_group(planted, period, demo) -> None:
    with planted.read() as con:
        tiers = latest_tiers(con, RESEARCHER, period)
        header = QUERIES["team_header"](con, RESEARCHER, RESEARCHER.pseudonym("TZ-JY"))
        regions = QUERIES["regions"](con, RESEARCHER)
    assert demo.own_region not in set(tiers["region"]) and demo.own_region not in regions
    county = tiers[tiers["unit_kind"] == "市（区）"]
    assert set(county["region"]) == {OTHER_REGION} and len(county) >= K
    assert header["region"] == OTHER_REGION


def test_coarsening_on_a_hand_built_city() -> None:
    units = pd.DataFrame(
        [(f"QX{i:02d}", "东川", "市直机关部门") for i in range(6)]
        + [(f"QX{i:02d}", "西岭", "事业单位") for i in range(6, 8)]
        + [("QX08", "北汀", "国有企业")]
        + [
            (f"QX{i:02d}", r, "市（区）")
            for i, r in zip(range(9, 12), ("南垣", "东川", "云渚"), strict=True)
        ],
        columns=["unit_code", "region", "unit_kind"],
    )
    out = coarsen_attributes(units, k=5)
    sizes = out.groupby(["region", "unit_kind"]).size()
    assert (sizes >= 5).all(), sizes.to_dict()
    assert set(out.loc[out.unit_code.isin([f"QX{i:02d}" for i in range(6)]), "region"]) == {"东川"}
    # Fewer than k units in all: nothing narrows.
    tiny = coarsen_attributes(units.head(3), k=5)
    assert tiny.groupby(["region", "unit_kind"]).size().min() >= 3


# --------------------------------------------------------------------------------------------
# Subtraction


def _sum_visible(frame: pd.DataFrame, col: str) -> int:
    return int(pd.to_numeric(frame.loc[~frame["suppressed"].astype(bool), col]).sum())


@pytest.mark.parametrize("region", [None, OTHER_REGION, "市直"])
def test_totals_minus_cells_give_no_small_count(planted, demo, region) -> None:
    with planted.read() as con:
        summary = petition_summary(con, RESEARCHER, demo.year, region=region)
        # The unsuppressed figures over the same teams (a coarsened region is no stored one).
        status = _breakdown(con, RESEARCHER, demo.year, "status", region)
        org_open = int((status["received"] - status["closed"]).sum())
        if 0 < org_open < K:
            assert summary["open"] is None and summary["closed"] is None  # 508 − 507 closed
        for by in ("category", "status", "month", "lead_dept"):
            frame = petitions_by(con, RESEARCHER, demo.year, by, region=region)
            raw = _breakdown(con, RESEARCHER, demo.year, by, region)
            if frame.empty:
                continue
            hidden = frame["suppressed"].astype(bool)
            assert hidden.sum() != 1, f"{by}: one hidden cell is recoverable"
            hidden_received = int(raw.loc[hidden.to_numpy(), "received"].sum())
            assert hidden_received == 0 or hidden_received >= K, by
            raw_open = raw["received"] - raw["closed"]
            visible_open = raw_open[~hidden.to_numpy()]
            assert not ((visible_open > 0) & (visible_open < K)).any(), f"{by}: 48 vs 47"
            hidden_open = int(raw_open[hidden.to_numpy()].sum())
            if summary["open"] is not None:  # else the hidden rows' open cases are unknown
                assert hidden_open == 0 or hidden_open >= K, f"{by}: open by subtraction"
            if summary["received"] is not None:
                assert summary["received"] - _sum_visible(frame, "received") in {0} | set(
                    range(K, 10**6)
                )
        lead = petitions_by(con, RESEARCHER, demo.year, "lead_dept", region=region)
        days = days_to_close(con, RESEARCHER, demo.year, region=region)
        inv = department_involvement(con, RESEARCHER, demo.year, region=region)
    hidden_sets = [
        set(lead.loc[lead["suppressed"], "key"]),
        set(days.loc[days["suppressed"], "lead_dept"]),
        set(inv.loc[inv["suppressed"], "dept"]) & set(lead["key"]),
    ]
    assert hidden_sets[0] == hidden_sets[1] == hidden_sets[2], hidden_sets
    assert days["max_days"].isna().all()  # one case's value


def test_team_action_counts_are_never_small(planted, period) -> None:
    with planted.read() as con:
        tiers = latest_tiers(con, RESEARCHER, period)
        for unit in tiers["unit_code"]:
            frame = QUERIES["team_actions"](con, RESEARCHER, unit, period)
            assert not H.small_groups(frame), unit
            for col in ("records",):
                values = pd.to_numeric(frame[col], errors="coerce")
                assert not ((values > 0) & (values < K)).any()
            hidden = frame["records"].isna()
            if int(hidden.sum()) == 1:
                assert hidden.all(), f"{unit}: one hidden row beside visible ones"


# --------------------------------------------------------------------------------------------
# Small cells


def test_no_small_cell_in_any_researcher_result(results) -> None:
    small = {f"{name}{kwargs}": H.small_groups(result) for name, kwargs, result in results}
    small = {k: v for k, v in small.items() if v}
    assert not small, f"counts between 1 and {K - 1}: {small}"


# --------------------------------------------------------------------------------------------
# Differencing


def _twenty_and_nineteen() -> tuple[C.CohortSpec, C.CohortSpec]:
    base = {"genders": ("女",), "ranks": ("正处",), "unit_kinds": ("市直机关部门",)}
    without = tuple(b for b in C.AGE_BANDS if b != "40-44")
    return C.CohortSpec(**base), C.CohortSpec(**base, age_bands=without)


def test_twenty_versus_nineteen_is_refused(planted, period) -> None:
    viewer = Viewer("diff_attacker", "researcher", study_salt="d")
    twenty, nineteen = _twenty_and_nineteen()
    with planted.read() as con:
        org = C.cohort_summary(con, ORG, period, twenty, nineteen)
        # Unregistered cohorts give nothing, even through the data functions directly.
        direct = C.cohort_summary(con, viewer, period, twenty, nineteen)
    diff = int(org["n"].iloc[0]) - int(org["n"].iloc[1])
    assert 0 < diff < K, "the attack needs a pair that differs by a few persons"
    assert direct["withheld"].all() and direct["mean_grade"].isna().all()
    with planted.write(bump_version=False) as con:
        assert C.register_cohorts(con, viewer, period, {"A": twenty}) == {}
    with planted.write(bump_version=False) as con:
        refused = C.register_cohorts(con, viewer, period, {"B": nineteen})
    assert "B" in refused and "不予显示" in refused["B"]
    with planted.read() as con:
        seen = C.cohort_summary(con, viewer, period, twenty, nineteen)
        grades = C.cohort_grade_distribution(con, viewer, period, twenty, nineteen)
        comparison = C.cohort_comparison(con, viewer, period, twenty, nineteen)
        audit = con.execute(
            "SELECT count(*) FROM audit_log WHERE username = $u AND action = 'cohort_view'",
            {"u": viewer.username},
        ).fetchone()[0]
    assert not bool(seen["withheld"].iloc[0]) and bool(seen["withheld"].iloc[1])
    assert pd.isna(seen["mean_grade"].iloc[1]) and set(grades["cohort"]) <= {"A"}
    assert comparison.empty
    assert audit == 1  # the admitted cohort is kept with the audit


def test_both_cohorts_on_one_page_are_checked_against_each_other(planted, period) -> None:
    viewer = Viewer("pair_attacker", "researcher", study_salt="p")
    twenty, nineteen = _twenty_and_nineteen()
    with planted.write(bump_version=False) as con:
        refused = C.register_cohorts(con, viewer, period, {"A": twenty, "B": nineteen})
    assert list(refused) == ["B"]


def test_differencing_window_is_a_setting(planted, period, monkeypatch) -> None:
    viewer = Viewer("window_attacker", "researcher", study_salt="w")
    twenty, nineteen = _twenty_and_nineteen()
    with planted.write(bump_version=False) as con:
        C.register_cohorts(con, viewer, period, {"A": twenty})
        con.execute(
            "UPDATE cohort_views SET viewed_at = viewed_at - INTERVAL 400 DAY WHERE username = $u",
            {"u": viewer.username},
        )
    with planted.write(bump_version=False) as con:
        assert C.register_cohorts(con, viewer, period, {"B": nineteen}) == {}  # 365 days ago
    monkeypatch.setattr(C, "COHORT_WINDOW_DAYS", 500)
    with planted.write(bump_version=False) as con:
        refused = C.register_cohorts(con, viewer, period, {"A": twenty})
    assert "A" in refused  # the 400-day-old view counts again within 500 days


def test_cohort_options_offer_only_coarsened_regions(planted, demo) -> None:
    with planted.read() as con:
        opts = C.cohort_options(con, RESEARCHER)
    assert demo.own_region not in opts["regions"] and OTHER_REGION in opts["regions"]
    lone = C.CohortSpec(regions=(demo.own_region,))
    with planted.read() as con:
        assert C.cohort_summary(con, RESEARCHER, demo.period, lone)["withheld"].all()


# --------------------------------------------------------------------------------------------
# Cohort statistics (issue 16) and the researcher's download


def test_member_level_comparison_and_safe_download(planted, period) -> None:
    viewer = Viewer("stats_researcher", "researcher", study_salt="s")
    women, men = C.CohortSpec(genders=("女",)), C.CohortSpec(genders=("男",))
    with planted.write(bump_version=False) as con:
        assert C.register_cohorts(con, viewer, period, {"A": women, "B": men}) == {}
    with planted.read() as con:
        cmp = C.cohort_comparison(con, viewer, period, women, men)
        summary = C.cohort_summary(con, viewer, period, women, men)
        tiers = C.cohort_tier_distribution(con, viewer, period, women, men)
        grades = C.cohort_grade_distribution(con, viewer, period, women, men)
        dims = C.cohort_dimension_means(con, viewer, period, women, men)
        secrets = _names_and_codes(con) | _planted_fragments()
    own = cmp[cmp["level"] == "成员本人"]
    assert len(own) >= 2 and own["measure"].str.contains("民主测评").any()
    row = own.iloc[0]
    assert row["ci_lo"] <= row["diff"] <= row["ci_hi"]
    assert 0 <= row["p_value"] <= 1 and -1 <= row["effect_size"] <= 1
    # Members' own ratings differ between the cohorts (team means would be shared).
    assert own["mean_a"].round(6).ne(own["mean_b"].round(6)).any()
    sheets = C.export_tables(C.comparison_table(summary, tiers, grades, dims), cmp)
    for sheet in sheets.values():
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in str(c)) for c in sheet.columns)
        assert not _leaks(sheet, secrets)
        assert not any(c in sheet.columns for c in ("n_units", "mean_tier", "cohort"))
    desc = sheets["描述"]
    assert set(desc["队列"]) <= {"队列A", "队列B"} and set(desc["因人数过少隐藏"]) <= {"是", "否"}
    means = pd.to_numeric(desc["均值"], errors="coerce").dropna()
    assert (means.round(3) == means).all()
    back = pd.read_parquet(io.BytesIO(C.parquet_bytes(sheets["比较"])))
    assert list(back.columns) == list(sheets["比较"].columns)


def test_compare_samples_against_scipy() -> None:
    from scipy import stats

    x = [4, 4, 3, 3, 3, 2, 4, 3]
    y = [2, 3, 2, 1, 2, 3, 2, 2, 3]
    out = C.compare_samples(x, y)
    welch = stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    assert out["ci_lo"] == pytest.approx(welch.low) and out["ci_hi"] == pytest.approx(welch.high)
    assert out["p_value"] == pytest.approx(stats.mannwhitneyu(x, y).pvalue)
    greater = sum(a > b for a in x for b in y) - sum(a < b for a in x for b in y)
    assert out["effect_size"] == pytest.approx(greater / (len(x) * len(y)))


# --------------------------------------------------------------------------------------------
# A small hand-built store with other names


@pytest.fixture
def other_city(tmp_store: Store) -> Store:
    """Return a store of 13 units and 78 cadres whose names and codes are unlike the demo's."""
    surnames = "欧阳 司马 上官 诸葛 东方 慕容 皇甫 公孙 令狐 长孙 宇文 尉迟 独孤".split()
    units = (
        [(f"QX{i:02d}", f"青溪{i}局", "市直机关部门", "青溪本级") for i in range(7)]
        + [(f"QX{i:02d}", f"{r}县", "市（区）", r) for i, r in zip(range(7, 10), "碧水 岚山 云渚".split(), strict=True)]
        + [(f"QX{i:02d}", f"青溪{i}中心", "事业单位", "青溪本级") for i in range(10, 13)]
    )  # fmt: skip
    with tmp_store.write() as con:
        for code, name, kind, region in units:
            con.execute("INSERT INTO units (unit_code, unit_name, unit_kind, region) VALUES "
                        "($c, $n, $k, $r)", {"c": code, "n": name, "k": kind, "r": region})  # fmt: skip
        for i in range(78):
            unit = units[i % len(units)][0]
            con.execute(
                "INSERT INTO cadres (cadre_code, name, unit_code, position, gender, rank, "
                "birth_month, in_post_since) VALUES ($c, $n, $u, '局长', $g, '副处', "
                "DATE '1975-01-01', DATE '2020-01-01')",
                {"c": f"RY{i:04d}", "n": f"{surnames[i % 13]}明{i}", "u": unit,
                 "g": "女" if i % 3 else "男"},
            )  # fmt: skip
        for i in range(12):
            unit = "QX08" if i < 9 else "QX01"
            status = "办理中" if i in (0, 9) else "已办结"
            con.execute(
                "INSERT INTO petitions (case_code, received_on, category, unit_code, status, "
                "closed_on, lead_dept, care_talks) VALUES ($c, DATE '2024-03-01' + $i, '待遇', "
                "$u, $s, CASE WHEN $s = '已办结' THEN DATE '2024-04-01' END, '组织部', 1)",
                {"c": f"SQ{i:03d}", "i": i, "u": unit, "s": status},
            )
    return tmp_store


def test_hand_built_city_is_safe_for_a_researcher(other_city: Store) -> None:
    viewer = Viewer("r2", "researcher", study_salt="x")
    with other_city.read() as con:
        secrets = _names_and_codes(con)
        units = QUERIES["units_in_scope"](con, viewer)
        regions = QUERIES["regions"](con, viewer)
        summary = petition_summary(con, viewer, 2024)
        lone = petition_summary(con, viewer, 2024, region="岚山")
        opts = C.cohort_options(con, viewer)
    assert not _leaks(units, secrets) and not _leaks(opts, secrets)
    assert (units.groupby(["region", "unit_kind"]).size() >= K).all()
    assert "岚山" not in regions and "岚山" not in opts["regions"]
    assert summary["received"] == 12 and summary["open"] is None and summary["closed"] is None
    assert lone["received"] == 0  # a lone county cannot be asked for by name
    spec = C.CohortSpec(unit_kinds=("市（区）",))
    with other_city.write(bump_version=False) as con:
        refused = C.register_cohorts(con, viewer, "2024Q1", {"A": spec})
    assert "A" in refused  # three counties: the kind itself is coarsened away
    everyone, fewer = C.CohortSpec(), C.CohortSpec(genders=("女",))
    with other_city.write(bump_version=False) as con:
        assert C.register_cohorts(con, viewer, "2024Q1", {"A": everyone, "B": fewer}) == {}
        stored = con.execute("SELECT spec FROM cohort_views").fetchall()
    assert all(not _leaks(json.loads(s[0]), secrets) for s in stored)


# --------------------------------------------------------------------------------------------
# Every page as 研究人员 under AppTest


@pytest.fixture(scope="module")
def page_env(planted: Store):
    """Point the dashboard at the planted demo."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BANZI_DB", str(planted.path))
        yield planted


@pytest.mark.parametrize("spec", RESEARCH_PAGES, ids=[s.url_path for s in RESEARCH_PAGES])
def test_page_as_researcher_shows_no_name_code_or_free_text(page_env, spec) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.test_pages_access import rendered

    with page_env.read() as con:
        secrets = _names_and_codes(con) | _planted_fragments()
        lone_regions = {r for r in con.execute("SELECT DISTINCT region FROM units").fetchall()}
    at = AppTest.from_file(str(ROOT / spec.path), default_timeout=120)
    at.session_state["viewer"] = RESEARCHER
    at.run()
    assert not at.exception, [e.value for e in at.exception][:1]
    shown = rendered(at)
    leaks = _leaks(shown, secrets)
    assert not leaks, f"{spec.path}: {sorted(leaks)[:8]}"
    small = [p for item in shown if isinstance(item, pd.DataFrame) for p in H.small_groups(item)]
    assert not small, f"{spec.path}: {small}"
    with page_env.read() as con:
        attrs = coarsen_attributes(
            con.execute("SELECT unit_code, region, unit_kind FROM units").df()
        )
    hidden = {r[0] for r in lone_regions} - set(attrs["region"])
    text = " ".join(s for s in H.strings(shown))
    assert not [r for r in hidden if r in text], f"{spec.path} names a lone region"
