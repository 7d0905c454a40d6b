-- The request log moves to one table per UTC day (request_log_YYYYMMDD),
-- made by the writers as days begin and dropped whole by retention (see
-- app/src/backend/log_segments.rs). The rows written so far stay in
-- request_log_legacy, read as the oldest segment and purged row by row
-- until it is empty, then dropped. request_log becomes a view over all of
-- them, rebuilt as segments come and go.
ALTER TABLE request_log RENAME TO request_log_legacy;
CREATE VIEW request_log AS
    SELECT id, org_id, key_id, at_ms, code, path, ip, user_agent FROM request_log_legacy;
