-- Liaison cadres (领导干部联系企业): each cadre's profile (level, post and work
-- phone, as printed on contact cards) and their assignments to enterprises.
-- An assignment is ended (ended_at, ended_by), never deleted: the rows are the
-- history of who assigned whom when.

CREATE TABLE liaison_cadres (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id),
    level       TEXT NOT NULL CHECK (level IN ('city', 'department', 'town')),
    post        TEXT NOT NULL,
    work_phone  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);

CREATE TABLE liaison_assignments (
    id           INTEGER PRIMARY KEY,
    credit_code  TEXT NOT NULL REFERENCES enterprises(credit_code),
    user_id      INTEGER NOT NULL REFERENCES liaison_cadres(user_id),
    kind         TEXT NOT NULL CHECK (kind IN ('lead', 'member')),
    assigned_at  TEXT NOT NULL,
    assigned_by  TEXT NOT NULL,
    ended_at     TEXT,
    ended_by     TEXT,
    CHECK ((ended_at IS NULL) = (ended_by IS NULL))
);
-- One assignment in force per cadre and enterprise, one lead per enterprise.
CREATE UNIQUE INDEX liaison_assignments_current ON liaison_assignments(credit_code, user_id) WHERE ended_at IS NULL;
CREATE UNIQUE INDEX liaison_assignments_lead ON liaison_assignments(credit_code) WHERE ended_at IS NULL AND kind = 'lead';
-- The scope of a cadre (their enterprises and those enterprises' requests).
CREATE INDEX liaison_assignments_user ON liaison_assignments(user_id, credit_code) WHERE ended_at IS NULL;
