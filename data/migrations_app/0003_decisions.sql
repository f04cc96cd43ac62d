-- Tier overrides and suggestion decisions (DuckDB migration 0002) in PostgreSQL, when
-- $BANZI_APP_DB is set: the same columns in PostgreSQL types. The analytics read them from
-- here (data/appdb.py registers them on each DuckDB connection under these names).
CREATE TABLE tier_overrides (
    period VARCHAR NOT NULL,
    unit_code VARCHAR NOT NULL,
    computed_tier SMALLINT CHECK (computed_tier BETWEEN 1 AND 4),
    tier SMALLINT NOT NULL CHECK (tier BETWEEN 1 AND 4),
    reason VARCHAR NOT NULL CHECK (length(trim(reason)) > 0),
    decided_by VARCHAR NOT NULL,
    decided_at TIMESTAMP NOT NULL DEFAULT LOCALTIMESTAMP
);
CREATE INDEX tier_overrides_period ON tier_overrides (period, unit_code);
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
    decided_at TIMESTAMP NOT NULL DEFAULT LOCALTIMESTAMP
);
CREATE INDEX suggestion_decisions_period ON suggestion_decisions (period);
-- The app-state version: one row, bumped by every statement that changes the two tables above
-- (in the writer's transaction). The UI cache and the per-process copy of the two tables are
-- keyed by it, as they are by the DuckDB file's data_version.
CREATE TABLE app_state_version (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO app_state_version (id, version) VALUES (1, 0);
CREATE FUNCTION bump_app_state_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE app_state_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER tier_overrides_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON tier_overrides FOR EACH STATEMENT EXECUTE FUNCTION bump_app_state_version();
CREATE TRIGGER suggestion_decisions_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON suggestion_decisions FOR EACH STATEMENT EXECUTE FUNCTION bump_app_state_version();
