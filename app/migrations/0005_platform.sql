-- The platform (DESIGN.md §2, §11): instance admins, suspended orgs,
-- invitations made by the operator (no inviting user), portal sessions.

-- 1 for instance admins (the user made at /setup is the first).
ALTER TABLE users ADD COLUMN is_admin BIGINT NOT NULL DEFAULT 0;

-- Set while the org is suspended: its members read, nothing changes, every
-- key verifies as DISABLED.
ALTER TABLE orgs ADD COLUMN suspended_at BIGINT;
CREATE INDEX orgs_by_name ON orgs (name);

-- Invitations may come from the operator (console, CLI, operator API), so
-- the inviting user is optional and a label names who else it was.
CREATE TABLE invitations_v2 (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email            TEXT NOT NULL,
    role             TEXT NOT NULL,
    token_hash       TEXT NOT NULL UNIQUE,
    invited_by       TEXT REFERENCES users (id) ON DELETE SET NULL,
    invited_by_label TEXT,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    accepted_at      BIGINT,
    revoked_at       BIGINT
);
INSERT INTO invitations_v2 (id, org_id, email, role, token_hash, invited_by, created_at,
                            expires_at, accepted_at, revoked_at)
    SELECT id, org_id, email, role, token_hash, invited_by, created_at, expires_at,
           accepted_at, revoked_at
    FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_v2 RENAME TO invitations;
CREATE INDEX invitations_by_org ON invitations (org_id);

-- One-time sign-in links the platform's backend asks for (§11). Only the
-- token's SHA-256 is stored.
CREATE TABLE portal_sessions (
    token_hash TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    role       TEXT NOT NULL,
    return_url TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- A session opened from a portal link offers "Back to <platform>".
ALTER TABLE sessions ADD COLUMN return_url TEXT;
