-- First-run setup claims this single row inside its transaction, so two
-- setups racing on any engine cannot both create an owner.
CREATE TABLE instance_setup (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms BIGINT NOT NULL
);
