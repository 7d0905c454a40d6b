-- Organisation policies and account security (DESIGN.md §2, §4, §7, §9).

-- The owner's policies; NULL leaves a rule off (the rotation period then
-- follows the operator's default).
ALTER TABLE orgs ADD COLUMN max_key_lifetime_days BIGINT;
ALTER TABLE orgs ADD COLUMN rotation_days BIGINT;
ALTER TABLE orgs ADD COLUMN disable_unused_after_days BIGINT;
ALTER TABLE orgs ADD COLUMN require_two_factor BIGINT NOT NULL DEFAULT 0;

-- Set when the unused-keys policy disabled the key (cleared on enable).
ALTER TABLE api_keys ADD COLUMN disabled_by_policy_at BIGINT;
-- When a person last enabled the key: the policy counts idleness from
-- then, so a key enabled again is not disabled again within the hour.
ALTER TABLE api_keys ADD COLUMN enabled_at BIGINT;

-- Two-factor sign-in (TOTP, RFC 6238). The secret is kept to check codes;
-- it is set while being set up and counts once `totp_enabled_at` is set.
-- `totp_last_step` refuses a code used once already.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT;

-- Ten one-time recovery codes per user, as SHA-256 hashes.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Where and when each session was used, for the Account page.
ALTER TABLE sessions ADD COLUMN id TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT;

-- A password checked, the second factor not yet: lives 5 minutes.
CREATE TABLE pending_sign_ins (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    next       TEXT,
    expires_at BIGINT NOT NULL
);
