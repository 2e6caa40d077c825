-- Deadlines, time-limit rules, suspension, supervision and scheduler notices.

ALTER TABLE requests ADD COLUMN sign_due_at TEXT;
ALTER TABLE requests ADD COLUMN contact_due_at TEXT;
ALTER TABLE requests ADD COLUMN stage_due_at TEXT;
-- The limits resolved at receipt, with their rule version (JSON).
ALTER TABLE requests ADD COLUMN time_limits TEXT;
ALTER TABLE requests ADD COLUMN suspended_at TEXT;
-- Supervision (督办): instructions, due, by, at (JSON).
ALTER TABLE requests ADD COLUMN supervision TEXT;
CREATE INDEX requests_due ON requests(due_at) WHERE due_at IS NOT NULL;
CREATE INDEX requests_sign_due ON requests(sign_due_at) WHERE sign_due_at IS NOT NULL;

-- Versions of the time-limit rule table; the highest is in force. Never changed.
CREATE TABLE time_limit_rules (
    version     INTEGER PRIMARY KEY,
    rules       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE TRIGGER time_limit_rules_no_update BEFORE UPDATE ON time_limit_rules
BEGIN SELECT RAISE(ABORT, 'rule versions are immutable'); END;

-- One row per notice the scheduler sent; the key makes a rescan after a restart harmless.
CREATE TABLE deadline_notices (
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    deadline    TEXT NOT NULL,
    level       TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (request_id, deadline, level, due_at)
) WITHOUT ROWID;
