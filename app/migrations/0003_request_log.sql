-- What verification saw, written in batches by each instance.

-- One row per verification of a known key (malformed and unknown keys
-- belong to no org). Kept for the operator's retention period. The id
-- (time-ordered, unique by construction) only breaks ties in the order;
-- it carries no index, as every index costs on each of many inserts.
CREATE TABLE request_log (
    id          TEXT NOT NULL,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    key_id      TEXT NOT NULL,
    at_ms       BIGINT NOT NULL,
    code        TEXT NOT NULL,
    path        TEXT,
    ip          TEXT,
    user_agent  TEXT
);
CREATE INDEX request_log_by_org ON request_log (org_id, at_ms);
CREATE INDEX request_log_by_key ON request_log (key_id, at_ms);

-- Verifications per key, hour (Unix seconds at the hour's start) and outcome
-- code, for the usage chart.
CREATE TABLE key_usage (
    key_id  TEXT NOT NULL,
    hour    BIGINT NOT NULL,
    code    TEXT NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (key_id, hour, code)
);
CREATE INDEX key_usage_by_hour ON key_usage (hour);
