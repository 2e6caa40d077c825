-- Ledgers (台账): types defined as data with every version kept, items with
-- their values as JSON, and each item's history (append-only), written in the
-- change's transaction. Town and responsible unit are copied out of the values
-- into indexed columns for the data scope and the rollups.

CREATE TABLE ledger_types (
    code              TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    version           INTEGER NOT NULL,
    definition        TEXT NOT NULL,
    -- The org code of the command-centre office (指挥部办公室); a code, not a key, so a type
    -- can name a unit before the org tree is loaded.
    office_unit_code  TEXT,
    updated_at        TEXT NOT NULL,
    updated_by        TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE ledger_type_versions (
    type_code       TEXT NOT NULL REFERENCES ledger_types(code),
    version         INTEGER NOT NULL,
    definition      TEXT NOT NULL,
    report          TEXT,
    migrated_items  INTEGER NOT NULL DEFAULT 0,
    at              TEXT NOT NULL,
    by_name         TEXT NOT NULL,
    PRIMARY KEY (type_code, version)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS ledger_type_versions_no_update BEFORE UPDATE ON ledger_type_versions
BEGIN SELECT RAISE(ABORT, 'ledger type versions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_type_versions_no_delete BEFORE DELETE ON ledger_type_versions
BEGIN SELECT RAISE(ABORT, 'ledger type versions are append-only'); END;

CREATE TABLE ledger_items (
    id             INTEGER PRIMARY KEY,
    type_code      TEXT NOT NULL REFERENCES ledger_types(code),
    item_key       TEXT NOT NULL,
    item_name      TEXT,
    stage          TEXT NOT NULL,
    item_values    TEXT NOT NULL,
    town_id        INTEGER REFERENCES units(id),
    unit_id        INTEGER REFERENCES units(id),
    type_version   INTEGER NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    UNIQUE (type_code, item_key)
);
CREATE INDEX ledger_items_town ON ledger_items(type_code, town_id, stage);
CREATE INDEX ledger_items_unit ON ledger_items(type_code, unit_id, stage);
CREATE INDEX ledger_items_stage ON ledger_items(type_code, stage, item_key);

-- No foreign key to users: the history outlives them.
CREATE TABLE ledger_item_events (
    id            INTEGER PRIMARY KEY,
    item_id       INTEGER NOT NULL REFERENCES ledger_items(id),
    item_version  INTEGER NOT NULL,
    at            TEXT NOT NULL,
    by_user_id    INTEGER,
    by_name       TEXT NOT NULL,
    by_role       TEXT NOT NULL,
    ledger_roles  TEXT NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('created', 'updated', 'moved', 'imported', 'migrated')),
    from_stage    TEXT,
    to_stage      TEXT,
    changes       TEXT NOT NULL,
    note          TEXT
);
CREATE INDEX ledger_item_events_item ON ledger_item_events(item_id, id);
CREATE TRIGGER IF NOT EXISTS ledger_item_events_no_update BEFORE UPDATE ON ledger_item_events
BEGIN SELECT RAISE(ABORT, 'ledger history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_item_events_no_delete BEFORE DELETE ON ledger_item_events
BEGIN SELECT RAISE(ABORT, 'ledger history is append-only'); END;

-- The requests linked to a ledger item (by `type:key`).
CREATE INDEX requests_ledger_ref ON requests(ledger_ref) WHERE ledger_ref IS NOT NULL;
