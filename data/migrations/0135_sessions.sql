-- Version 135: server-side sign-in sessions (data/sessions.py). The browser holds a random
-- token in a cookie; this table holds only its SHA-256, so a copy of the database file does
-- not let anyone sign in. A session is valid while not revoked, not idle longer than the idle
-- timeout (last_seen) and not older than its absolute lifetime (expires_at).
CREATE TABLE sessions (
    session_id VARCHAR PRIMARY KEY,          -- random, not secret: names the session in the log
    token_hash VARCHAR,                      -- sha256 hex of the cookie token; NULL until issued
    handoff_hash VARCHAR,                    -- sha256 hex of the one-time code that issues it
    username VARCHAR NOT NULL,
    method VARCHAR NOT NULL,                 -- password | sso
    created_at TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT false,
    revoked_at TIMESTAMP,
    revoked_reason VARCHAR                   -- logout | timeout | disabled | password_changed
);
