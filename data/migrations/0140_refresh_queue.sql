-- Version 140 (issue 17): periods whose derived results (tiers, appraisal-integrity signals,
-- suggestions) an import invalidated and that could not be recomputed in the same step.
-- The import's own refresh, the next import or `cli.py refresh` empties it; pages read it to
-- say in Chinese that results are being brought up to date.
CREATE TABLE refresh_queue (
    period VARCHAR PRIMARY KEY CHECK (regexp_full_match(period, '\d{4}Q[1-4]')),
    queued_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    reason VARCHAR NOT NULL
);
