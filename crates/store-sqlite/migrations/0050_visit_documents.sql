-- Documents (附件) of visits (走访照片: the photos and papers of a visit or walking-office session), each upload
-- and withdrawal in the visit's history. SQLite cannot change a CHECK constraint, so `documents` is rebuilt with
-- the wider owner_kind (as 0041: keeping its rows, its index and its append-only triggers), and `visit_events`
-- with the two new actions (keeping its rows and its index).
CREATE TABLE documents_new (
    id                  INTEGER PRIMARY KEY,
    owner_kind          TEXT NOT NULL CHECK (owner_kind IN ('fund_application', 'enforcement_case', 'inspection',
                            'compensation_matter', 'direct_line_item', 'onsite_request', 'visit')),
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

CREATE TABLE visit_events_new (
    id        INTEGER PRIMARY KEY,
    visit_id  INTEGER NOT NULL REFERENCES visits(id),
    at        TEXT NOT NULL,
    by_name   TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('planned', 'recorded', 'cancelled', 'document_added',
                  'document_withdrawn')),
    comment   TEXT
);
INSERT INTO visit_events_new (id, visit_id, at, by_name, action, comment)
    SELECT id, visit_id, at, by_name, action, comment FROM visit_events;
DROP TABLE visit_events;
ALTER TABLE visit_events_new RENAME TO visit_events;
CREATE INDEX visit_events_visit ON visit_events(visit_id, id);
