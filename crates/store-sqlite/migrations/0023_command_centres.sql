-- Command centres (指挥部): their definitions, targets counted from ledgers,
-- tasks (施工图) assigned to units and towns, and one append-only history of
-- every change to a centre, a target or a task (progress reports, urges and
-- supervision are history entries too), written in the change's transaction.

CREATE TABLE command_centres (
    code              TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    description       TEXT,
    -- JSON array of {name, title}.
    commanders        TEXT NOT NULL,
    -- Org codes (not keys): a centre may name units before the org tree is loaded.
    office_unit_code  TEXT NOT NULL,
    member_units      TEXT NOT NULL,
    towns             TEXT NOT NULL,
    ledger_types      TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    updated_at        TEXT NOT NULL,
    updated_by        TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE command_targets (
    id            INTEGER PRIMARY KEY,
    centre_code   TEXT NOT NULL REFERENCES command_centres(code),
    name          TEXT NOT NULL,
    ledger_type   TEXT NOT NULL REFERENCES ledger_types(code),
    -- JSON array of stage codes counted.
    stages        TEXT NOT NULL,
    choice_field  TEXT,
    choice_code   TEXT,
    -- The town of a per-town target; NULL city-wide.
    town_id       INTEGER REFERENCES units(id),
    goal          INTEGER NOT NULL CHECK (goal > 0),
    due_on        TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK ((choice_field IS NULL) = (choice_code IS NULL))
);
CREATE INDEX command_targets_centre ON command_targets(centre_code, id);

CREATE TABLE command_tasks (
    id                INTEGER PRIMARY KEY,
    centre_code       TEXT NOT NULL REFERENCES command_centres(code),
    title             TEXT NOT NULL,
    description       TEXT,
    unit_id           INTEGER NOT NULL REFERENCES units(id),
    working_days      INTEGER NOT NULL,
    due_at            TEXT NOT NULL,
    ledger_ref        TEXT,
    state             TEXT NOT NULL CHECK (state IN ('assigned', 'reported', 'done')),
    report_count      INTEGER NOT NULL DEFAULT 0,
    urge_count        INTEGER NOT NULL DEFAULT 0,
    supervised_at     TEXT,
    supervision_note  TEXT,
    done_at           TEXT,
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CHECK ((state = 'done') = (done_at IS NOT NULL))
);
CREATE INDEX command_tasks_centre ON command_tasks(centre_code, state, due_at);
CREATE INDEX command_tasks_unit ON command_tasks(unit_id, state);

-- No foreign key to users: the history outlives them.
CREATE TABLE command_events (
    id           INTEGER PRIMARY KEY,
    centre_code  TEXT NOT NULL REFERENCES command_centres(code),
    target_id    INTEGER REFERENCES command_targets(id),
    task_id      INTEGER REFERENCES command_tasks(id),
    at           TEXT NOT NULL,
    by_user_id   INTEGER,
    by_name      TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('centre_installed', 'centre_saved', 'target_set', 'target_changed',
                     'task_assigned', 'task_reported', 'task_done', 'task_urged', 'task_supervised')),
    note         TEXT
);
CREATE INDEX command_events_task ON command_events(task_id, id) WHERE task_id IS NOT NULL;
CREATE INDEX command_events_centre ON command_events(centre_code, id);
CREATE TRIGGER IF NOT EXISTS command_events_no_update BEFORE UPDATE ON command_events
BEGIN SELECT RAISE(ABORT, 'command history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS command_events_no_delete BEFORE DELETE ON command_events
BEGIN SELECT RAISE(ABORT, 'command history is append-only'); END;

-- The forecast reads a type's stage moves of the last weeks.
CREATE INDEX ledger_item_events_moves ON ledger_item_events(at) WHERE action = 'moved';
