-- Keys for the platform's customers (DESIGN.md §1, §5.1, §5.4): allowed
-- addresses, a customer id, metadata and a usage limit with its refill.

-- Normalised addresses and CIDRs, one per line; NULL lets any address in.
ALTER TABLE api_keys ADD COLUMN ip_allowlist TEXT;
ALTER TABLE api_keys ADD COLUMN customer TEXT;
-- A compact JSON object of at most 4 KiB.
ALTER TABLE api_keys ADD COLUMN meta TEXT;
-- The usage limit (NULL: none) and how it refills (none, daily, monthly).
ALTER TABLE api_keys ADD COLUMN usage_limit BIGINT;
ALTER TABLE api_keys ADD COLUMN usage_refill TEXT NOT NULL DEFAULT 'none';
-- Uses not yet handed to any instance. Instances take leases from it with
-- one atomic UPDATE and give back what they did not spend.
ALTER TABLE api_keys ADD COLUMN usage_remaining BIGINT;
-- The start of the refill period the balance belongs to (Unix seconds).
ALTER TABLE api_keys ADD COLUMN usage_period BIGINT NOT NULL DEFAULT 0;
-- Bumped whenever the balance is set back to the limit (an edit or a
-- refill): a lease taken before is never given back into the new balance.
ALTER TABLE api_keys ADD COLUMN usage_epoch BIGINT NOT NULL DEFAULT 0;
-- The size of the last lease, as the leasing UPDATE returns it.
ALTER TABLE api_keys ADD COLUMN usage_taken BIGINT NOT NULL DEFAULT 0;
CREATE INDEX api_keys_by_customer ON api_keys (org_id, customer);

-- Verifications admitted per key by all instances together (PostgreSQL):
-- each instance adds what it admitted and reads what the others did.
CREATE TABLE rate_admitted (
    key_id   TEXT PRIMARY KEY,
    admitted BIGINT NOT NULL
);
