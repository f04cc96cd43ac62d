-- Version 60 (suggestions at province scale, issues #5/#8): the raw suggestions of a period,
-- computed once over every unit as the system viewer (models.suggest.run_suggestions) before
-- any decision is applied, so that pages, the CLI and the briefing read them instead of
-- recomputing. One run per period (a new run replaces it). Served only while input_checksum
-- (data.suggestions.suggestion_input_checksum; data_version is the fast check) still matches
-- and method_version (rules and settings) is the same. Decisions are joined at read time.

CREATE TABLE suggestion_runs (
    period VARCHAR PRIMARY KEY,
    input_checksum VARCHAR NOT NULL,
    data_version BIGINT NOT NULL,
    method_version VARCHAR NOT NULL,
    tier_period VARCHAR,
    notes JSON,
    skipped_rules JSON,
    suggestions INTEGER NOT NULL,
    seconds DOUBLE,
    computed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    computed_by VARCHAR NOT NULL
);

CREATE TABLE suggestion_results (
    period VARCHAR NOT NULL,
    ord INTEGER NOT NULL,
    subject_kind VARCHAR NOT NULL CHECK (subject_kind IN ('cadre', 'unit')),
    subject_code VARCHAR NOT NULL,
    cadre_code VARCHAR,
    name VARCHAR,
    unit_code VARCHAR NOT NULL,
    unit_name VARCHAR,
    unit_kind VARCHAR,
    region VARCHAR,
    position VARCHAR,
    tier TINYINT,
    category VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    rule_ids VARCHAR NOT NULL,
    title VARCHAR,
    evidence VARCHAR NOT NULL,
    basis VARCHAR NOT NULL,
    suggestion_key VARCHAR NOT NULL,
    facts_hash VARCHAR NOT NULL,
    facts VARCHAR,
    PRIMARY KEY (period, suggestion_key)
);
