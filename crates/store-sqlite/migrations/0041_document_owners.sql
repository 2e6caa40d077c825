-- Documents (附件) of two more owners: direct-line items (直通车来信: scans of letters) and on-site service
-- requests (行走办: photos and documents of the session). SQLite cannot change a CHECK constraint, so the
-- table is rebuilt with the wider owner_kind, keeping its rows, its index and its append-only triggers.
CREATE TABLE documents_new (
    id                  INTEGER PRIMARY KEY,
    owner_kind          TEXT NOT NULL CHECK (owner_kind IN ('fund_application', 'enforcement_case', 'inspection',
                            'compensation_matter', 'direct_line_item', 'onsite_request')),
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
