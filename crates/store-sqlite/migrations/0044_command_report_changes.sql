-- Report forms (定期报表) and pledges (军令状) of command centres become editable and withdrawable:
-- a version for optimistic concurrency, and who withdrew one, when and why (the row is kept).
-- Their definition, edits and withdrawals are entries of the centre's history, so command_events
-- gains a form and a pledge column and six actions; SQLite cannot change a CHECK constraint, so the
-- table is rebuilt, keeping its rows and ids (inbox notices are keyed by them), its indexes and its
-- append-only triggers. The forms and pledges already defined get their definition entry, marked
-- as recorded at the upgrade.
ALTER TABLE command_report_forms ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE command_report_forms ADD COLUMN withdrawn_at TEXT;
ALTER TABLE command_report_forms ADD COLUMN withdrawn_by TEXT;
ALTER TABLE command_report_forms ADD COLUMN withdrawn_reason TEXT;
ALTER TABLE command_pledges ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE command_pledges ADD COLUMN withdrawn_at TEXT;
ALTER TABLE command_pledges ADD COLUMN withdrawn_by TEXT;
ALTER TABLE command_pledges ADD COLUMN withdrawn_reason TEXT;

CREATE TABLE command_events_new (
    id           INTEGER PRIMARY KEY,
    centre_code  TEXT NOT NULL REFERENCES command_centres(code),
    target_id    INTEGER REFERENCES command_targets(id),
    task_id      INTEGER REFERENCES command_tasks(id),
    form_id      INTEGER REFERENCES command_report_forms(id),
    pledge_id    INTEGER REFERENCES command_pledges(id),
    at           TEXT NOT NULL,
    by_user_id   INTEGER,
    by_name      TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('centre_installed', 'centre_saved', 'target_set', 'target_changed',
                     'task_assigned', 'task_reported', 'task_done', 'task_urged', 'task_supervised',
                     'report_form_defined', 'report_form_changed', 'report_form_withdrawn',
                     'pledge_recorded', 'pledge_changed', 'pledge_withdrawn')),
    note         TEXT
);
INSERT INTO command_events_new (id, centre_code, target_id, task_id, at, by_user_id, by_name, action, note)
    SELECT id, centre_code, target_id, task_id, at, by_user_id, by_name, action, note FROM command_events;
DROP TABLE command_events;
ALTER TABLE command_events_new RENAME TO command_events;
CREATE INDEX command_events_task ON command_events(task_id, id) WHERE task_id IS NOT NULL;
CREATE INDEX command_events_centre ON command_events(centre_code, id);
CREATE INDEX command_events_form ON command_events(form_id, id) WHERE form_id IS NOT NULL;
CREATE INDEX command_events_pledge ON command_events(pledge_id, id) WHERE pledge_id IS NOT NULL;

INSERT INTO command_events (centre_code, form_id, at, by_user_id, by_name, action, note)
    SELECT centre_code, id, created_at, NULL, created_by, 'report_form_defined', name || '（升级时补记）'
    FROM command_report_forms ORDER BY id;
INSERT INTO command_events (centre_code, pledge_id, at, by_user_id, by_name, action, note)
    SELECT centre_code, id, created_at, NULL, created_by, 'pledge_recorded', signatory || ' 签署于 ' || signed_on || '（升级时补记）'
    FROM command_pledges ORDER BY id;

CREATE TRIGGER command_events_no_update BEFORE UPDATE ON command_events
BEGIN SELECT RAISE(ABORT, 'command history is append-only'); END;
CREATE TRIGGER command_events_no_delete BEFORE DELETE ON command_events
BEGIN SELECT RAISE(ABORT, 'command history is append-only'); END;
