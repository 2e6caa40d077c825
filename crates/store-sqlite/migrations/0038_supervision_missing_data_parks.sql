-- 督办 of overdue obligations of compensation agreements (below: missing
-- monitoring data). One 督办 per (matter, obligation) — an instalment (`instalment:N`) or the remediation —
-- raised once by the scheduler and resolved when the obligation is met.

CREATE TABLE compensation_supervisions (
    id          INTEGER PRIMARY KEY,
    matter_id   INTEGER NOT NULL REFERENCES compensation_matters(id),
    obligation  TEXT NOT NULL,
    -- The obligation's due date, YYYY-MM-DD.
    due         TEXT NOT NULL,
    raised_at   TEXT NOT NULL,
    resolved_at TEXT,
    resolution  TEXT,
    UNIQUE (matter_id, obligation)
);
CREATE INDEX compensation_supervisions_open ON compensation_supervisions(matter_id) WHERE resolved_at IS NULL;

-- Missing data (数据缺失): each point's time without valid data before it is
-- offline, the newest data time flagged normal (N or none), and the outages —
-- at most one open per point, ended when valid data arrives.
ALTER TABLE monitoring_points ADD COLUMN offline_after_minutes INTEGER NOT NULL DEFAULT 120;
ALTER TABLE monitoring_points ADD COLUMN last_valid_at TEXT;
UPDATE monitoring_points SET last_valid_at = (
    SELECT MAX(r.data_time) FROM monitoring_readings r
    WHERE r.point_id = monitoring_points.id AND (r.flag IS NULL OR r.flag = 'N')
);

CREATE TABLE monitoring_outages (
    id            INTEGER PRIMARY KEY,
    point_id      INTEGER NOT NULL REFERENCES monitoring_points(id),
    kind          TEXT NOT NULL CHECK (kind IN ('silent', 'flagged')),
    since         TEXT NOT NULL,
    opened_at     TEXT NOT NULL,
    recovered_at  TEXT
);
CREATE UNIQUE INDEX monitoring_outages_open ON monitoring_outages(point_id) WHERE recovered_at IS NULL;

-- Parks under online monitoring (智慧园区) with their shared facilities (共性工厂); points name their park.
CREATE TABLE monitoring_parks (
    id           INTEGER PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    unit_id      INTEGER NOT NULL REFERENCES units(id),
    description  TEXT,
    -- JSON: [{name, kind, note?}].
    facilities   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    version      INTEGER NOT NULL
);
ALTER TABLE monitoring_points ADD COLUMN park_id INTEGER REFERENCES monitoring_parks(id);
CREATE INDEX monitoring_points_park ON monitoring_points(park_id);
