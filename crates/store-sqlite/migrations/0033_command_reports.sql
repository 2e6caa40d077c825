-- Periodic reports (定期报送) and responsibility pledges (军令状) of command
-- centres (指挥部). Forms are defined as data by a centre's office; filings
-- are append-only revisions (a correction is a new revision, the old kept);
-- chases (催报) are append-only rows, an automatic one at most once per form,
-- period and unit so the scheduler chases once across restarts and nodes.

CREATE TABLE command_report_forms (
    id                 INTEGER PRIMARY KEY,
    centre_code        TEXT NOT NULL REFERENCES command_centres(code),
    name               TEXT NOT NULL,
    cadence            TEXT NOT NULL CHECK (cadence IN ('weekly', 'monthly')),
    -- JSON array of fields {key, label, kind, unit, required, min, max, max_len}.
    fields             TEXT NOT NULL,
    -- JSON array of unit ids that must file.
    filers             TEXT NOT NULL,
    due_working_days   INTEGER NOT NULL CHECK (due_working_days > 0),
    created_at         TEXT NOT NULL,
    created_by         TEXT NOT NULL
);
CREATE INDEX command_report_forms_centre ON command_report_forms(centre_code, id);

CREATE TABLE command_report_filings (
    id           INTEGER PRIMARY KEY,
    form_id      INTEGER NOT NULL REFERENCES command_report_forms(id),
    period       TEXT NOT NULL,
    unit_id      INTEGER NOT NULL REFERENCES units(id),
    revision     INTEGER NOT NULL CHECK (revision > 0),
    -- JSON object field key → normalized text.
    report_values TEXT NOT NULL,
    note         TEXT,
    late         INTEGER NOT NULL CHECK (late IN (0, 1)),
    filed_at     TEXT NOT NULL,
    by_user_id   INTEGER,
    by_name      TEXT NOT NULL,
    UNIQUE (form_id, period, unit_id, revision)
);
CREATE TRIGGER IF NOT EXISTS command_report_filings_no_update BEFORE UPDATE ON command_report_filings
BEGIN SELECT RAISE(ABORT, 'report filings are append-only'); END;
CREATE TRIGGER IF NOT EXISTS command_report_filings_no_delete BEFORE DELETE ON command_report_filings
BEGIN SELECT RAISE(ABORT, 'report filings are append-only'); END;

CREATE TABLE command_report_chases (
    id           INTEGER PRIMARY KEY,
    form_id      INTEGER NOT NULL REFERENCES command_report_forms(id),
    period       TEXT NOT NULL,
    unit_id      INTEGER NOT NULL REFERENCES units(id),
    note         TEXT NOT NULL,
    automatic    INTEGER NOT NULL CHECK (automatic IN (0, 1)),
    at           TEXT NOT NULL,
    by_user_id   INTEGER,
    by_name      TEXT NOT NULL
);
CREATE INDEX command_report_chases_period ON command_report_chases(form_id, period, unit_id);
CREATE UNIQUE INDEX command_report_chases_automatic ON command_report_chases(form_id, period, unit_id)
    WHERE automatic = 1;
CREATE TRIGGER IF NOT EXISTS command_report_chases_no_update BEFORE UPDATE ON command_report_chases
BEGIN SELECT RAISE(ABORT, 'report chases are append-only'); END;
CREATE TRIGGER IF NOT EXISTS command_report_chases_no_delete BEFORE DELETE ON command_report_chases
BEGIN SELECT RAISE(ABORT, 'report chases are append-only'); END;

CREATE TABLE command_pledges (
    id               INTEGER PRIMARY KEY,
    centre_code      TEXT NOT NULL REFERENCES command_centres(code),
    unit_id          INTEGER NOT NULL REFERENCES units(id),
    -- JSON array of command_targets ids.
    target_ids       TEXT NOT NULL,
    signed_on        TEXT NOT NULL,
    signatory        TEXT NOT NULL,
    document_name    TEXT NOT NULL,
    document_type    TEXT NOT NULL CHECK (document_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    document_size    INTEGER NOT NULL CHECK (document_size > 0 AND document_size <= 10485760),
    document_sha256  TEXT NOT NULL,
    document         BLOB NOT NULL,
    created_at       TEXT NOT NULL,
    created_by       TEXT NOT NULL
);
CREATE INDEX command_pledges_centre ON command_pledges(centre_code, id);
