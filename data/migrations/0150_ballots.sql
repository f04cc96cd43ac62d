-- Version 150 (issue 18): 家家到 online — 民主测评 waves, one-time codes and anonymous ballots.
-- Codes are stored only as salted SHA-256 hashes. A ballot carries a random rater id and the
-- day it was cast, never its code; comments are kept apart from ballots. On closing, a wave's
-- ballots become 民主测评 rows through the importer (one batch, import_batch_id).
CREATE SEQUENCE ballot_wave_seq START 1;
CREATE TABLE ballot_waves (
    wave_id INTEGER PRIMARY KEY DEFAULT nextval('ballot_wave_seq'),
    name VARCHAR NOT NULL UNIQUE,
    period VARCHAR NOT NULL CHECK (regexp_full_match(period, '\d{4}Q[1-4]')),
    team_dimensions VARCHAR[] NOT NULL,
    member_dimensions VARCHAR[] NOT NULL,
    rater_groups VARCHAR[] NOT NULL,
    codes_per_group INTEGER NOT NULL CHECK (codes_per_group BETWEEN 1 AND 2000),
    opens_at TIMESTAMP NOT NULL,
    closes_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_by VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    closed_at TIMESTAMP,
    import_batch_id INTEGER,
    CHECK (closes_at > opens_at)
);
CREATE TABLE ballot_wave_units (
    wave_id INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    PRIMARY KEY (wave_id, unit_code)
);
CREATE TABLE ballot_codes (
    code_hash VARCHAR PRIMARY KEY,
    wave_id INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    rater_group VARCHAR NOT NULL,
    used_on DATE,
    draft JSON,
    failures INTEGER NOT NULL DEFAULT 0
);
CREATE SEQUENCE ballot_seq START 1;
CREATE TABLE ballots (
    ballot_id INTEGER PRIMARY KEY DEFAULT nextval('ballot_seq'),
    wave_id INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    rater_group VARCHAR NOT NULL,
    rater_id VARCHAR NOT NULL UNIQUE,
    cast_on DATE NOT NULL
);
CREATE TABLE ballot_answers (
    ballot_id INTEGER NOT NULL,
    target VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL,
    grade TINYINT NOT NULL CHECK (grade BETWEEN 1 AND 4),
    PRIMARY KEY (ballot_id, target, dimension)
);
CREATE TABLE ballot_comments (
    wave_id INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL,
    comment VARCHAR NOT NULL
);
-- Failed code entries per client (address hashed, rows older than the window are purged).
CREATE TABLE ballot_failures (
    client_hash VARCHAR NOT NULL,
    failed_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
