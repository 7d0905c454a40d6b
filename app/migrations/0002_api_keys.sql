-- API keys. Only the SHA-256 of a token is stored (hex, unique), plus its
-- display prefix. Booleans are 0/1 integers so both engines share the query set.

CREATE TABLE api_keys (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name                TEXT NOT NULL,
    environment         TEXT NOT NULL,
    key_type            TEXT NOT NULL,
    permissions         TEXT NOT NULL,
    token_hash          TEXT NOT NULL UNIQUE,
    start               TEXT NOT NULL,
    expires_at          BIGINT,
    rate_limit          BIGINT NOT NULL,
    rate_window_secs    BIGINT NOT NULL,
    disabled            BIGINT NOT NULL DEFAULT 0,
    revoked_at          BIGINT,
    created_at          BIGINT NOT NULL,
    created_by          TEXT,
    rotated_at          BIGINT,
    -- After a regenerate with a grace period: the old secret's hash and when
    -- it stops working.
    previous_token_hash TEXT UNIQUE,
    previous_expires_at BIGINT,
    last_used_at        BIGINT,
    request_count       BIGINT NOT NULL DEFAULT 0
);

-- A name is unique among the org's keys that are not revoked.
CREATE UNIQUE INDEX api_keys_unrevoked_name ON api_keys (org_id, name) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_by_created ON api_keys (org_id, created_at);
CREATE INDEX api_keys_by_last_used ON api_keys (org_id, last_used_at);
