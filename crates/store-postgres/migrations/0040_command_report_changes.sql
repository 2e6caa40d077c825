-- Report forms (定期报表) and pledges (军令状) of command centres become editable and withdrawable:
-- a version for optimistic concurrency, and who withdrew one, when and why (the row is kept).
-- Their definition, edits and withdrawals are entries of the centre's history: command_events gains
-- a form and a pledge column and six actions. The forms and pledges already defined get their
-- definition entry, marked as recorded at the upgrade.
ALTER TABLE command_report_forms
    ADD COLUMN version BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN withdrawn_at TEXT COLLATE "C",
    ADD COLUMN withdrawn_by TEXT,
    ADD COLUMN withdrawn_reason TEXT;
ALTER TABLE command_pledges
    ADD COLUMN version BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN withdrawn_at TEXT COLLATE "C",
    ADD COLUMN withdrawn_by TEXT,
    ADD COLUMN withdrawn_reason TEXT;

ALTER TABLE command_events
    ADD COLUMN form_id BIGINT REFERENCES command_report_forms(id),
    ADD COLUMN pledge_id BIGINT REFERENCES command_pledges(id);
ALTER TABLE command_events DROP CONSTRAINT command_events_action_check;
ALTER TABLE command_events ADD CONSTRAINT command_events_action_check CHECK (action IN ('centre_installed',
    'centre_saved', 'target_set', 'target_changed', 'task_assigned', 'task_reported', 'task_done', 'task_urged',
    'task_supervised', 'report_form_defined', 'report_form_changed', 'report_form_withdrawn', 'pledge_recorded',
    'pledge_changed', 'pledge_withdrawn'));
CREATE INDEX command_events_form ON command_events(form_id, id) WHERE form_id IS NOT NULL;
CREATE INDEX command_events_pledge ON command_events(pledge_id, id) WHERE pledge_id IS NOT NULL;

INSERT INTO command_events (centre_code, form_id, at, by_user_id, by_name, action, note)
    SELECT centre_code, id, created_at, NULL, created_by, 'report_form_defined', name || '（升级时补记）'
    FROM command_report_forms ORDER BY id;
INSERT INTO command_events (centre_code, pledge_id, at, by_user_id, by_name, action, note)
    SELECT centre_code, id, created_at, NULL, created_by, 'pledge_recorded', signatory || ' 签署于 ' || signed_on || '（升级时补记）'
    FROM command_pledges ORDER BY id;
