-- Documents (附件) of ledger items (台账条目): the files a ledger's file fields name (e.g. the outlet's
-- 销号验收材料), each upload and withdrawal in the item's history. SQLite cannot change a CHECK constraint, so
-- `documents` is rebuilt with the wider owner_kind (as 0050: keeping its rows, its index and its append-only
-- triggers), and `ledger_item_events` with the two new actions (keeping its rows, its indexes and its
-- append-only triggers).
CREATE TABLE documents_new (
    id                  INTEGER PRIMARY KEY,
    owner_kind          TEXT NOT NULL CHECK (owner_kind IN ('fund_application', 'enforcement_case', 'inspection',
                            'compensation_matter', 'direct_line_item', 'onsite_request', 'visit', 'ledger_item')),
    owner_id            INTEGER NOT NULL,
    purpose             TEXT,
    file_name           TEXT NOT NULL,
    content_type        TEXT NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png',
                            'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
                            'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')),
    byte_size           INTEGER NOT NULL CHECK (byte_size > 0 AND byte_size <= 10485760),
    sha256              TEXT NOT NULL,
    content             BLOB NOT NULL,
    uploaded_at         TEXT NOT NULL,
    uploaded_by         TEXT NOT NULL,
    uploaded_by_user    INTEGER,
    withdrawn_at        TEXT,
    withdrawn_by        TEXT,
    withdrawn_by_user   INTEGER,
    withdrawn_reason    TEXT
);
INSERT INTO documents_new (id, owner_kind, owner_id, purpose, file_name, content_type, byte_size, sha256, content,
        uploaded_at, uploaded_by, uploaded_by_user, withdrawn_at, withdrawn_by, withdrawn_by_user, withdrawn_reason)
    SELECT id, owner_kind, owner_id, purpose, file_name, content_type, byte_size, sha256, content,
        uploaded_at, uploaded_by, uploaded_by_user, withdrawn_at, withdrawn_by, withdrawn_by_user, withdrawn_reason
    FROM documents;
DROP TABLE documents;
ALTER TABLE documents_new RENAME TO documents;
CREATE INDEX documents_owner ON documents(owner_kind, owner_id, id);

CREATE TRIGGER documents_no_delete BEFORE DELETE ON documents
BEGIN SELECT RAISE(ABORT, 'documents are append-only'); END;
CREATE TRIGGER documents_kept BEFORE UPDATE OF id, owner_kind, owner_id, purpose, file_name, content_type, byte_size,
    sha256, content, uploaded_at, uploaded_by, uploaded_by_user ON documents
BEGIN SELECT RAISE(ABORT, 'documents are append-only'); END;
CREATE TRIGGER documents_withdrawn_once BEFORE UPDATE ON documents WHEN OLD.withdrawn_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a withdrawn document stays withdrawn'); END;

CREATE TABLE ledger_item_events_new (
    id            INTEGER PRIMARY KEY,
    item_id       INTEGER NOT NULL REFERENCES ledger_items(id),
    item_version  INTEGER NOT NULL,
    at            TEXT NOT NULL,
    by_user_id    INTEGER,
    by_name       TEXT NOT NULL,
    by_role       TEXT NOT NULL,
    ledger_roles  TEXT NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('created', 'updated', 'moved', 'imported', 'migrated',
                      'document_added', 'document_withdrawn')),
    from_stage    TEXT,
    to_stage      TEXT,
    changes       TEXT NOT NULL,
    note          TEXT
);
INSERT INTO ledger_item_events_new (id, item_id, item_version, at, by_user_id, by_name, by_role, ledger_roles, action,
        from_stage, to_stage, changes, note)
    SELECT id, item_id, item_version, at, by_user_id, by_name, by_role, ledger_roles, action,
        from_stage, to_stage, changes, note
    FROM ledger_item_events;
DROP TABLE ledger_item_events;
ALTER TABLE ledger_item_events_new RENAME TO ledger_item_events;
CREATE INDEX ledger_item_events_item ON ledger_item_events(item_id, id);
CREATE INDEX ledger_item_events_moves ON ledger_item_events(at) WHERE action = 'moved';
CREATE TRIGGER ledger_item_events_no_update BEFORE UPDATE ON ledger_item_events
BEGIN SELECT RAISE(ABORT, 'ledger history is append-only'); END;
CREATE TRIGGER ledger_item_events_no_delete BEFORE DELETE ON ledger_item_events
BEGIN SELECT RAISE(ABORT, 'ledger history is append-only'); END;
