-- The statistics panel (数说): the indicator catalogue, values by indicator and
-- cumulative period (January to `months` of `year`), and each value's
-- append-only history. One version number guards the whole data set: every
-- write bumps it, and a write checked against an older version is refused.

CREATE TABLE statistics_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL,
    -- The area every card speaks of (全市), from the saved catalogue. The row is made by the
    -- first write (none before: a fresh database has empty tables, as a copy requires).
    area     TEXT NOT NULL
);

-- `definition` is the indicator as JSON (see `mashangban_domain::statistics::Indicator`).
CREATE TABLE statistics_indicators (
    code        TEXT PRIMARY KEY,
    position    INTEGER NOT NULL,
    definition  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE statistics_values (
    indicator    TEXT NOT NULL REFERENCES statistics_indicators(code),
    year         INTEGER NOT NULL,
    months       INTEGER NOT NULL CHECK (months BETWEEN 1 AND 12),
    value        REAL NOT NULL,
    price_index  REAL,
    real_growth  REAL,
    source       TEXT,
    version      INTEGER NOT NULL,
    entered_at   TEXT NOT NULL,
    entered_by   TEXT NOT NULL,
    PRIMARY KEY (indicator, year, months)
) WITHOUT ROWID;

-- No foreign key to users: the history outlives them.
CREATE TABLE statistics_value_history (
    id                  INTEGER PRIMARY KEY,
    indicator           TEXT NOT NULL,
    year                INTEGER NOT NULL,
    months              INTEGER NOT NULL,
    version             INTEGER NOT NULL,
    action              TEXT NOT NULL CHECK (action IN ('entered', 'imported', 'corrected')),
    value_before        REAL,
    price_index_before  REAL,
    real_growth_before  REAL,
    value               REAL NOT NULL,
    price_index         REAL,
    real_growth         REAL,
    source              TEXT,
    note                TEXT,
    at                  TEXT NOT NULL,
    by_user_id          INTEGER,
    by_name             TEXT NOT NULL
);
CREATE INDEX statistics_value_history_value ON statistics_value_history(indicator, year, months, id);
CREATE TRIGGER IF NOT EXISTS statistics_value_history_no_update BEFORE UPDATE ON statistics_value_history
BEGIN SELECT RAISE(ABORT, 'statistics history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS statistics_value_history_no_delete BEFORE DELETE ON statistics_value_history
BEGIN SELECT RAISE(ABORT, 'statistics history is append-only'); END;
