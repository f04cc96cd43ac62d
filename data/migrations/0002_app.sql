-- Version 2: what the application itself records: tiers, suggestion decisions, users, audit.

CREATE SEQUENCE tier_run_seq START 1;
CREATE TABLE tier_runs (
    run_id INTEGER PRIMARY KEY DEFAULT nextval('tier_run_seq'),
    period VARCHAR NOT NULL,
    model_version VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    params JSON,
    metrics JSON,
    data_checksum VARCHAR,
    artifact_path VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    created_by VARCHAR NOT NULL
);

-- tier: 1=好, 2=较好, 3=一般, 4=较差 (ordered best to worst).
CREATE TABLE tier_results (
    run_id INTEGER NOT NULL,
    period VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    tier TINYINT NOT NULL CHECK (tier BETWEEN 1 AND 4),
    confidence DOUBLE CHECK (confidence BETWEEN 0 AND 1),
    is_boundary BOOLEAN NOT NULL DEFAULT false,
    composite DOUBLE,
    composite_tier TINYINT CHECK (composite_tier BETWEEN 1 AND 4),
    pct_city DOUBLE,
    pct_peer DOUBLE,
    explanation JSON,
    PRIMARY KEY (run_id, unit_code)
);

CREATE TABLE tier_overrides (
    period VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    computed_tier TINYINT CHECK (computed_tier BETWEEN 1 AND 4),
    tier TINYINT NOT NULL CHECK (tier BETWEEN 1 AND 4),
    reason VARCHAR NOT NULL CHECK (length(trim(reason)) > 0),
    decided_by VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- A person's decision on a suggestion. facts_hash identifies the facts the suggestion
-- rested on: when they change, the suggestion may come back.
CREATE TABLE suggestion_decisions (
    suggestion_key VARCHAR NOT NULL,
    period VARCHAR NOT NULL,
    subject_kind VARCHAR NOT NULL CHECK (subject_kind IN ('cadre', 'unit')),
    subject_code VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    facts_hash VARCHAR NOT NULL,
    decision VARCHAR NOT NULL CHECK (decision IN ('accept', 'reject', 'defer')),
    reason VARCHAR NOT NULL CHECK (length(trim(reason)) > 0),
    decided_by VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- role: admin 管理员, org 组织部, unit_head 单位负责人, researcher 研究人员.
CREATE TABLE users (
    username VARCHAR PRIMARY KEY,
    display_name VARCHAR NOT NULL,
    role VARCHAR NOT NULL CHECK (role IN ('admin', 'org', 'unit_head', 'researcher')),
    unit_codes VARCHAR[] NOT NULL DEFAULT [],
    password_hash VARCHAR NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT false,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    study_salt VARCHAR,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE SEQUENCE audit_seq START 1;
CREATE TABLE audit_log (
    audit_id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    logged_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    username VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    target VARCHAR,
    detail JSON
);

-- The demo generator's hidden truth (quality group, planted appraisal patterns).
-- Read only by tests and the benchmark; never by a page.
CREATE TABLE demo_truth (
    unit_code VARCHAR PRIMARY KEY,
    quality DOUBLE NOT NULL,
    quality_group TINYINT NOT NULL CHECK (quality_group BETWEEN 1 AND 4),
    pattern VARCHAR
);
