-- The statistics panel (数说): the history of the indicator catalogue (every indicator added,
-- changed or removed, by the editor or a data file, with the definition before and after), and
-- the published panels (公开发布): a snapshot of a period's panel as it was when the statistics
-- office published it, which the public pages show until a newer one is published. Both are
-- append-only: re-publishing stores a newer snapshot and keeps the older ones.

-- `definition_before` / `definition` are the indicator as JSON (none before it was added, none
-- after it was removed). `version` counts the indicator's changes from 1; an edit names the
-- version it was made on.
CREATE TABLE statistics_indicator_history (
    id                 INTEGER PRIMARY KEY,
    code               TEXT NOT NULL,
    version            INTEGER NOT NULL,
    action             TEXT NOT NULL CHECK (action IN ('added', 'changed', 'removed')),
    via                TEXT NOT NULL CHECK (via IN ('editor', 'data_file')),
    definition_before  TEXT,
    definition         TEXT,
    at                 TEXT NOT NULL,
    by_user_id         INTEGER,
    by_name            TEXT NOT NULL,
    UNIQUE (code, version)
);
CREATE TRIGGER IF NOT EXISTS statistics_indicator_history_no_update BEFORE UPDATE ON statistics_indicator_history
BEGIN SELECT RAISE(ABORT, 'statistics history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS statistics_indicator_history_no_delete BEFORE DELETE ON statistics_indicator_history
BEGIN SELECT RAISE(ABORT, 'statistics history is append-only'); END;

-- `panel` is the published panel as JSON (the app's `PublishedPanel`); `data_version` the data
-- set's version it was computed from.
CREATE TABLE statistics_publications (
    id            INTEGER PRIMARY KEY,
    year          INTEGER NOT NULL,
    months        INTEGER NOT NULL CHECK (months BETWEEN 1 AND 12),
    data_version  INTEGER NOT NULL,
    panel         TEXT NOT NULL,
    published_at  TEXT NOT NULL,
    by_user_id    INTEGER,
    by_name       TEXT NOT NULL
);
CREATE INDEX statistics_publications_period ON statistics_publications(year, months, id);
CREATE TRIGGER IF NOT EXISTS statistics_publications_no_update BEFORE UPDATE ON statistics_publications
BEGIN SELECT RAISE(ABORT, 'published statistics are append-only'); END;
CREATE TRIGGER IF NOT EXISTS statistics_publications_no_delete BEFORE DELETE ON statistics_publications
BEGIN SELECT RAISE(ABORT, 'published statistics are append-only'); END;
