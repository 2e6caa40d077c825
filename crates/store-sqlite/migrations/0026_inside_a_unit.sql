-- Inside a unit (docs/inside-a-unit.md): co-handling units' parts (会签), a reply waiting for the unit
-- leader's review (审核) and assignments within a unit (二次派单) are kept on the request as JSON
-- (`unit_work`, NULL when there is none); `review_pending` lets the leader's queue find replies to review.
-- request_units gains the sub-units of assignments: 'sub' while open, 'sub_done' once replied; the data
-- scope reads every row, so the sub-unit's staff see the request. The inbox gains the kind `review`.

ALTER TABLE requests ADD COLUMN unit_work TEXT;
ALTER TABLE requests ADD COLUMN review_pending INTEGER NOT NULL DEFAULT 0;
CREATE INDEX requests_review_pending ON requests(lead_unit_id) WHERE review_pending;

CREATE TABLE request_units_new (
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    role        TEXT NOT NULL CHECK (role IN ('lead', 'co', 'sub', 'sub_done')),
    PRIMARY KEY (request_id, unit_id)
) WITHOUT ROWID;
INSERT INTO request_units_new (request_id, unit_id, role) SELECT request_id, unit_id, role FROM request_units;
DROP TABLE request_units;
ALTER TABLE request_units_new RENAME TO request_units;
CREATE INDEX request_units_unit ON request_units(unit_id, request_id);

-- The inbox's new kind: a reply to review, or sent back (答复审核).
CREATE TABLE inbox_entries_new (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL CHECK (kind IN ('assigned', 'returned', 'extension_requested', 'urged', 'supervised',
                                              'extension_answered', 'due_soon', 'overdue', 'review')),
    event_id    INTEGER NOT NULL REFERENCES events(id),
    event_kind  TEXT NOT NULL,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    created_at  TEXT NOT NULL,
    read_at     TEXT,
    UNIQUE (event_id, user_id)
);
INSERT INTO inbox_entries_new SELECT id, user_id, kind, event_id, event_kind, request_id, created_at, read_at
    FROM inbox_entries;
DROP TABLE inbox_entries;
ALTER TABLE inbox_entries_new RENAME TO inbox_entries;
CREATE INDEX inbox_entries_user ON inbox_entries(user_id, id);
CREATE INDEX inbox_entries_unread ON inbox_entries(user_id, id) WHERE read_at IS NULL;
