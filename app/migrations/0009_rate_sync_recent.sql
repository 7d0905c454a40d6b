-- Rate limits across instances: each key's total also says when it last
-- changed (the database's clock, in ms) and one request's share of the
-- key's window (ns), so every instance reads every key that moved lately,
-- including keys it has not served yet, and can charge them.
ALTER TABLE rate_admitted ADD COLUMN interval_ns BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rate_admitted ADD COLUMN updated_ms BIGINT NOT NULL DEFAULT 0;
CREATE INDEX rate_admitted_recent ON rate_admitted (updated_ms);
