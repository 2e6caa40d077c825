-- Environmental enforcement (环境执法): inspections (检查记录) and
-- enforcement cases (执法案件) with their history. A case comes from one
-- alert or one inspection (each unique, so two people opening one alert get
-- one case); every change of a case appends to its history in the same
-- transaction, and history rows are never changed or deleted.

CREATE TABLE inspections (
    id               INTEGER PRIMARY KEY,
    unit_id          INTEGER NOT NULL REFERENCES units(id),
    inspector        TEXT NOT NULL,
    inspected_at     TEXT NOT NULL,
    place            TEXT NOT NULL,
    credit_code      TEXT NOT NULL REFERENCES enterprises(credit_code),
    point_id         INTEGER REFERENCES monitoring_points(id),
    findings         TEXT NOT NULL,
    -- JSON: [{parameter, value?, unit?, lab, result}].
    samples          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_by_user  INTEGER
);
CREATE INDEX inspections_enterprise ON inspections(credit_code);

CREATE TABLE enforcement_cases (
    id                INTEGER PRIMARY KEY,
    number            TEXT NOT NULL,
    credit_code       TEXT NOT NULL REFERENCES enterprises(credit_code),
    unit_id           INTEGER NOT NULL REFERENCES units(id),
    origin            TEXT NOT NULL CHECK (origin IN ('alert', 'inspection')),
    alert_id          INTEGER UNIQUE REFERENCES monitoring_alerts(id),
    inspection_id     INTEGER UNIQUE REFERENCES inspections(id),
    summary           TEXT NOT NULL,
    stage             TEXT NOT NULL CHECK (stage IN ('filed', 'investigating', 'notified', 'decided', 'executing',
                          'closed')),
    stage_started_at  TEXT NOT NULL,
    stage_due_at      TEXT,
    penalty_fen       INTEGER CHECK (penalty_fen >= 0),
    decision          TEXT,
    closed_reason     TEXT,
    opened_at         TEXT NOT NULL,
    closed_at         TEXT,
    version           INTEGER NOT NULL,
    CHECK ((origin = 'alert' AND alert_id IS NOT NULL AND inspection_id IS NULL)
        OR (origin = 'inspection' AND inspection_id IS NOT NULL AND alert_id IS NULL))
);
CREATE INDEX enforcement_cases_enterprise ON enforcement_cases(credit_code);
CREATE INDEX enforcement_cases_stage ON enforcement_cases(stage, stage_due_at);

CREATE TABLE enforcement_case_events (
    case_id     INTEGER NOT NULL REFERENCES enforcement_cases(id),
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    from_stage  TEXT,
    to_stage    TEXT NOT NULL,
    due_at      TEXT,
    at          TEXT NOT NULL,
    by_name     TEXT NOT NULL,
    by_user     INTEGER,
    note        TEXT,
    PRIMARY KEY (case_id, seq)
);

CREATE TRIGGER enforcement_case_events_no_update BEFORE UPDATE ON enforcement_case_events
BEGIN SELECT RAISE(ABORT, 'enforcement case history is append-only'); END;
CREATE TRIGGER enforcement_case_events_no_delete BEFORE DELETE ON enforcement_case_events
BEGIN SELECT RAISE(ABORT, 'enforcement case history is append-only'); END;
