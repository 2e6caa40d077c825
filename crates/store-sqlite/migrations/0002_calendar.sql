-- mashangban SQLite schema: the work calendar (工作日历).
-- Holidays and make-up working days per year, the daily working hours, and
-- the append-only record of every change to them.

-- One row per year with holiday data; the calendar covers exactly these years.
CREATE TABLE calendar_years (
    year        INTEGER PRIMARY KEY CHECK (year BETWEEN 1000 AND 9999),
    notice      TEXT,
    updated_at  TEXT NOT NULL
);

-- Holidays (放假) and make-up working days (调休上班) of a year. A date is one
-- or the other, never both: it is the key.
CREATE TABLE calendar_days (
    date  TEXT PRIMARY KEY CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'),
    year  INTEGER NOT NULL REFERENCES calendar_years(year) ON DELETE CASCADE,
    kind  TEXT NOT NULL CHECK (kind IN ('holiday', 'makeup_workday')),
    name  TEXT NOT NULL CHECK (trim(name) <> ''),
    CHECK (substr(date, 1, 4) = CAST(year AS TEXT))
) WITHOUT ROWID;
CREATE INDEX calendar_days_year ON calendar_days(year, date);

-- The daily working periods (作息时间), in order; `HH:MM:SS` in +08:00.
CREATE TABLE calendar_working_periods (
    position    INTEGER PRIMARY KEY,
    start_time  TEXT NOT NULL,
    end_time    TEXT NOT NULL CHECK (start_time < end_time)
);

-- Every change: who (no foreign key, the record outlives users), when, from
-- where, in what form, and the content before and after (JSON).
CREATE TABLE calendar_changes (
    id               INTEGER PRIMARY KEY,
    at               TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('year', 'working_hours')),
    year             INTEGER,
    actor_user_id    INTEGER,
    actor_name       TEXT NOT NULL,
    actor_role       TEXT NOT NULL,
    client_ip        TEXT,
    source           TEXT NOT NULL CHECK (source IN ('bundled', 'json', 'toml', 'xlsx')),
    holidays         INTEGER,
    makeup_workdays  INTEGER,
    previous         TEXT,
    current          TEXT NOT NULL,
    CHECK ((kind = 'year') = (year IS NOT NULL))
);
CREATE INDEX calendar_changes_year ON calendar_changes(year, id);

-- Calendar changes are never changed or deleted.
CREATE TRIGGER calendar_changes_no_update BEFORE UPDATE ON calendar_changes
BEGIN SELECT RAISE(ABORT, 'calendar changes are append-only'); END;
CREATE TRIGGER calendar_changes_no_delete BEFORE DELETE ON calendar_changes
BEGIN SELECT RAISE(ABORT, 'calendar changes are append-only'); END;
