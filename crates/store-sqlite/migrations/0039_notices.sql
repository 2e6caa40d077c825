-- Notices in the staff inbox: entries about a command centre's task or an overdue periodic report (催报), which
-- belong to no request. Such an entry has no event or request but its own key (one entry per key and person), title
-- and page. Two new kinds: command_task (指挥部任务) and report_chased (催报).
CREATE TABLE inbox_entries_new (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    kind         TEXT NOT NULL CHECK (kind IN ('assigned', 'returned', 'extension_requested', 'urged', 'supervised',
                                               'extension_answered', 'due_soon', 'overdue', 'review',
                                               'command_task', 'report_chased')),
    event_id     INTEGER REFERENCES events(id),
    event_kind   TEXT NOT NULL,
    request_id   INTEGER REFERENCES requests(id),
    notice_key   TEXT,
    notice_title TEXT,
    notice_link  TEXT,
    created_at   TEXT NOT NULL,
    read_at      TEXT,
    UNIQUE (event_id, user_id),
    UNIQUE (notice_key, user_id),
    CHECK ((event_id IS NOT NULL AND request_id IS NOT NULL AND notice_key IS NULL)
        OR (event_id IS NULL AND request_id IS NULL AND notice_key IS NOT NULL AND notice_title IS NOT NULL
            AND notice_link IS NOT NULL))
);
INSERT INTO inbox_entries_new (id, user_id, kind, event_id, event_kind, request_id, created_at, read_at)
    SELECT id, user_id, kind, event_id, event_kind, request_id, created_at, read_at FROM inbox_entries;
DROP TABLE inbox_entries;
ALTER TABLE inbox_entries_new RENAME TO inbox_entries;
CREATE INDEX inbox_entries_user ON inbox_entries(user_id, id);
CREATE INDEX inbox_entries_unread ON inbox_entries(user_id, id) WHERE read_at IS NULL;

-- A sub-unit's deadline (二次派单) on its open assignment's row, so the scheduler finds the requests whose
-- sub-unit deadlines are near or past (临期, 超期) by index. Open assignments are read from the request's
-- unit_work once here; from now on the row is written with the assignment.
ALTER TABLE request_units ADD COLUMN due_at TEXT;
UPDATE request_units SET due_at = (
    SELECT json_extract(s.value, '$.due') FROM requests r, json_each(r.unit_work, '$.subs') s
    WHERE r.id = request_units.request_id AND json_extract(s.value, '$.sub_unit_id') = request_units.unit_id
      AND json_extract(s.value, '$.state') <> 'replied'
    LIMIT 1)
WHERE role = 'sub';
CREATE INDEX request_units_sub_due ON request_units(due_at) WHERE role = 'sub';
