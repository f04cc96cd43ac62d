"""data/vocab.py is the one vocabulary: the schema's CHECKs and tables agree with it."""

from __future__ import annotations

import re

from data import vocab
from data.contract import KINDS

# (table, column) -> the vocabulary its CHECK must list, in any order.
IN_LISTS = {
    ("units", "unit_kind"): vocab.UNIT_KINDS,
    ("cadres", "gender"): vocab.GENDERS,
    ("actions", "kind"): vocab.INCENTIVES + vocab.CORRECTIONS,
    ("petitions", "status"): vocab.PETITION_STATUSES,
    ("clarifications", "nature"): vocab.NATURES,
    ("import_batches", "status"): vocab.BATCH_STATUSES,
}
# App tables may move out of DuckDB (PostgreSQL app state); checked where they are here.
APP_IN_LISTS = {
    ("users", "role"): vocab.ROLES,
    ("suggestion_decisions", "decision"): vocab.DECISIONS,
    ("suggestion_decisions", "subject_kind"): vocab.SUBJECT_KINDS,
    ("suggestion_results", "subject_kind"): vocab.SUBJECT_KINDS,
    ("ballot_waves", "status"): vocab.WAVE_STATUSES,
}
RANGES = {
    ("quarterly_grades", "grade"): vocab.Grade,
    ("ratings", "grade"): vocab.Grade,
    ("ballot_answers", "grade"): vocab.Grade,
    ("annual_grades", "grade"): vocab.ANNUAL_LABELS,
    ("tier_results", "tier"): vocab.Tier,
    ("tier_results", "composite_tier"): vocab.Tier,
    ("tier_overrides", "tier"): vocab.Tier,
    ("tier_overrides", "computed_tier"): vocab.Tier,
}


def _checks(store) -> dict[tuple[str, str], str]:
    with store.read() as con:
        rows = con.execute(
            "SELECT table_name, constraint_column_names, constraint_text FROM duckdb_constraints() "
            "WHERE constraint_type = 'CHECK' AND len(list_distinct(constraint_column_names)) = 1"
        ).fetchall()
    return {(t, cols[0]): text for t, cols, text in rows}


def test_in_list_checks_match_the_vocabulary(tmp_store) -> None:
    checks = _checks(tmp_store)
    tables = {t for t, _ in checks}
    expected = {**IN_LISTS, **{k: v for k, v in APP_IN_LISTS.items() if k[0] in tables}}
    for key, values in expected.items():
        assert key in checks, f"no CHECK on {key}"
        listed = re.findall(r"'([^']*)'", checks[key])
        assert sorted(listed) == sorted(values), key


def test_range_checks_match_the_vocabulary(tmp_store) -> None:
    checks = _checks(tmp_store)
    for key, values in RANGES.items():
        if key not in checks and key[0] in APP_IN_LISTS:
            continue
        low, high = re.search(r"BETWEEN (\d+) AND (\d+)", checks[key]).groups()
        assert (int(low), int(high)) == (min(values), max(values)), key


def test_rater_groups_and_dimensions_tables_match_the_vocabulary(tmp_store) -> None:
    with tmp_store.read() as con:
        groups = con.execute("SELECT code, label, side FROM rater_groups ORDER BY ord").fetchall()
        dims = con.execute("SELECT target, label FROM dimensions ORDER BY target, ord").fetchall()
    assert groups == [(g.code, g.label, g.side) for g in vocab.RATER_GROUP_ROWS]
    assert [d for t, d in dims if t == "team"] == list(vocab.TEAM_DIMENSIONS)
    assert [d for t, d in dims if t == "member"] == list(vocab.MEMBER_DIMENSIONS)
    # The importer's enum is the vocabulary's list, not a copy.
    assert KINDS["ratings"].column("rater_group").allowed is vocab.RATER_GROUPS


def test_labels_are_ordered_best_first() -> None:
    assert [g.label for g in vocab.Grade] == ["好", "较好", "一般", "较差"]
    assert [t.label for t in vocab.Tier] == vocab.TIER_ORDER
    assert vocab.Grade.AVERAGE == 2 and vocab.GRADE_SCORES["一般"] == 2
    assert vocab.grade_label(1) == "较差" and vocab.tier_label(None) == ""
