-- Version 40 (appraisal integrity, issue #9 at province scale): the signals of a period,
-- computed once over every unit (models.integrity.run_integrity) so that pages, the CLI and the
-- briefing read them instead of recomputing. One run per period (a new run replaces it).
-- input_checksum covers the rows the signals read (data.integrity.input_checksum); results are
-- served only while it (or data_version, the fast check) still matches, with the same method
-- and parameters. Evidence holds cadre tokens ([[C:code]]) the data layer replaces with names,
-- or with pseudonyms for a researcher; evidence_research is the text a researcher may see.

CREATE TABLE integrity_runs (
    period VARCHAR PRIMARY KEY,
    input_checksum VARCHAR NOT NULL,
    data_version BIGINT NOT NULL,
    method_version VARCHAR NOT NULL,
    params JSON,
    units INTEGER NOT NULL,
    flagged INTEGER NOT NULL,
    seconds DOUBLE,
    computed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    computed_by VARCHAR NOT NULL
);

CREATE TABLE integrity_results (
    period VARCHAR NOT NULL,
    ord INTEGER NOT NULL,
    unit_code VARCHAR NOT NULL,
    signal VARCHAR NOT NULL CHECK (signal IN ('rotation', 'compression', 'leniency', 'mismatch')),
    signal_label VARCHAR NOT NULL,
    strength DOUBLE,
    p_value DOUBLE,
    q_value DOUBLE,
    flagged BOOLEAN NOT NULL,
    statistic DOUBLE,
    expected DOUBLE,
    evidence VARCHAR NOT NULL,
    evidence_research VARCHAR NOT NULL,
    PRIMARY KEY (period, unit_code, signal)
);
