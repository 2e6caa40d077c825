-- Online monitoring (在线监测): monitoring points with their device and
-- limits, the history of each point, readings deduplicated by (MN, data
-- time, command, parameter), exceedance alerts and their history. Readings
-- and the alerts they raise are written in one transaction; history rows are
-- never changed or deleted.

CREATE TABLE monitoring_points (
    id               INTEGER PRIMARY KEY,
    code             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('enterprise_outlet', 'park_outlet', 'creek_section')),
    credit_code      TEXT REFERENCES enterprises(credit_code),
    ledger_item_id   INTEGER REFERENCES ledger_items(id),
    mn               TEXT NOT NULL UNIQUE,
    -- SHA-256 of the device password (HJ 212 PW), salted with the MN; the password itself is never stored.
    password_hash    TEXT NOT NULL,
    standard_code    TEXT NOT NULL,
    grade            INTEGER NOT NULL,
    -- JSON: [{parameter, max?, min?, source}].
    permit_limits    TEXT NOT NULL,
    -- JSON: [{code, unit}].
    parameters       TEXT NOT NULL,
    unit_id          INTEGER NOT NULL REFERENCES units(id),
    version          INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    last_reading_at  TEXT
);

CREATE TABLE monitoring_point_events (
    id        INTEGER PRIMARY KEY,
    point_id  INTEGER NOT NULL REFERENCES monitoring_points(id),
    kind      TEXT NOT NULL,
    at        TEXT NOT NULL,
    by_name   TEXT NOT NULL,
    by_user   INTEGER,
    note      TEXT
);
CREATE INDEX monitoring_point_events_point ON monitoring_point_events(point_id);

CREATE TABLE monitoring_readings (
    id           INTEGER PRIMARY KEY,
    point_id     INTEGER NOT NULL REFERENCES monitoring_points(id),
    mn           TEXT NOT NULL,
    cn           INTEGER NOT NULL CHECK (cn IN (2011, 2051, 2061, 2031)),
    data_time    TEXT NOT NULL,
    parameter    TEXT NOT NULL,
    value        REAL NOT NULL,
    min_value    REAL,
    max_value    REAL,
    flag         TEXT,
    received_at  TEXT NOT NULL,
    UNIQUE (mn, data_time, cn, parameter)
);
CREATE INDEX monitoring_readings_series ON monitoring_readings(point_id, parameter, cn, data_time);

CREATE TABLE monitoring_alerts (
    id           INTEGER PRIMARY KEY,
    point_id     INTEGER NOT NULL REFERENCES monitoring_points(id),
    reading_id   INTEGER NOT NULL REFERENCES monitoring_readings(id),
    parameter    TEXT NOT NULL,
    value        REAL NOT NULL,
    limit_text   TEXT NOT NULL,
    description  TEXT NOT NULL,
    data_time    TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('open', 'dismissed', 'escalated')),
    opened_at    TEXT NOT NULL,
    closed_at    TEXT,
    reason       TEXT,
    version      INTEGER NOT NULL
);
CREATE INDEX monitoring_alerts_state ON monitoring_alerts(state, point_id);

CREATE TABLE monitoring_alert_events (
    id        INTEGER PRIMARY KEY,
    alert_id  INTEGER NOT NULL REFERENCES monitoring_alerts(id),
    kind      TEXT NOT NULL,
    at        TEXT NOT NULL,
    by_name   TEXT NOT NULL,
    by_user   INTEGER,
    note      TEXT
);
CREATE INDEX monitoring_alert_events_alert ON monitoring_alert_events(alert_id);

CREATE TRIGGER monitoring_point_events_no_update BEFORE UPDATE ON monitoring_point_events
BEGIN SELECT RAISE(ABORT, 'monitoring point history is append-only'); END;
CREATE TRIGGER monitoring_point_events_no_delete BEFORE DELETE ON monitoring_point_events
BEGIN SELECT RAISE(ABORT, 'monitoring point history is append-only'); END;
CREATE TRIGGER monitoring_alert_events_no_update BEFORE UPDATE ON monitoring_alert_events
BEGIN SELECT RAISE(ABORT, 'monitoring alert history is append-only'); END;
CREATE TRIGGER monitoring_alert_events_no_delete BEFORE DELETE ON monitoring_alert_events
BEGIN SELECT RAISE(ABORT, 'monitoring alert history is append-only'); END;
