-- Sessions opened before 0007 have no public id, so "Sign out everywhere
-- else" could not tell the current one from the others. They get one now,
-- taken from their hash (which is no credential: the cookie's token is).
UPDATE sessions SET id = substr(id_hash, 1, 32) WHERE id IS NULL;
