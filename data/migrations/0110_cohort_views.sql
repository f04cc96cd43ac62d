-- Version 110 (issue 13, differencing guard): the cohorts each researcher has viewed or
-- downloaded, with their membership (cadre codes, kept here only — never shown), so that a new
-- cohort differing from an earlier one of the same researcher by 1..k-1 persons is refused.
-- Rows are written with an audit entry (audit_id) in the same transaction.

CREATE SEQUENCE cohort_view_seq START 1;
CREATE TABLE cohort_views (
    view_id BIGINT PRIMARY KEY DEFAULT nextval('cohort_view_seq'),
    username VARCHAR NOT NULL,
    viewed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
    action VARCHAR NOT NULL CHECK (action IN ('view', 'download')),
    period VARCHAR NOT NULL,
    spec JSON NOT NULL,
    members_hash VARCHAR NOT NULL,
    n INTEGER NOT NULL,
    members VARCHAR[] NOT NULL,
    audit_id BIGINT
);
CREATE INDEX cohort_views_user ON cohort_views (username, viewed_at);
