-- Refused verifications by org, outcome and time, for the request log's
-- outcome filter: without it, listing or counting a rare outcome read every
-- entry of the period (seconds at ten million entries). Partial, so the
-- valid calls (nearly every row) cost nothing more to write; a filter on
-- VALID reads the (org, time) index, where valid entries are dense.
CREATE INDEX request_log_refused ON request_log (org_id, code, at_ms) WHERE code <> 'VALID';
