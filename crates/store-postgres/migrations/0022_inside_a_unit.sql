-- Inside a unit (docs/inside-a-unit.md), as SQLite's 0026.

ALTER TABLE requests ADD COLUMN unit_work TEXT;
ALTER TABLE requests ADD COLUMN review_pending BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX requests_review_pending ON requests(lead_unit_id) WHERE review_pending;

ALTER TABLE request_units DROP CONSTRAINT request_units_role_check;
ALTER TABLE request_units ADD CONSTRAINT request_units_role_check CHECK (role IN ('lead', 'co', 'sub', 'sub_done'));

ALTER TABLE inbox_entries DROP CONSTRAINT inbox_entries_kind_check;
ALTER TABLE inbox_entries ADD CONSTRAINT inbox_entries_kind_check
    CHECK (kind IN ('assigned', 'returned', 'extension_requested', 'urged', 'supervised', 'extension_answered',
                    'due_soon', 'overdue', 'review'));
