-- A new inbox kind, monitoring_alert (在线监测报警): a point of one's unit exceeds its limits (超标报警) or has sent
-- no valid data for too long (数据缺失). Overdue compensation obligations (赔偿履行督办) use the kind supervised.
CREATE TABLE inbox_entries_new (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    kind         TEXT NOT NULL CHECK (kind IN ('assigned', 'returned', 'extension_requested', 'urged', 'supervised',
                                               'extension_answered', 'due_soon', 'overdue', 'review',
                                               'command_task', 'report_chased', 'monitoring_alert')),
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
INSERT INTO inbox_entries_new SELECT id, user_id, kind, event_id, event_kind, request_id, notice_key, notice_title,
    notice_link, created_at, read_at FROM inbox_entries;
DROP TABLE inbox_entries;
ALTER TABLE inbox_entries_new RENAME TO inbox_entries;
CREATE INDEX inbox_entries_user ON inbox_entries(user_id, id);
CREATE INDEX inbox_entries_unread ON inbox_entries(user_id, id) WHERE read_at IS NULL;

-- A co-handling unit's deadline (协办期限: its own, else the reply deadline) on its row while its part is missing, so the scheduler finds the
-- requests whose co-handling units' deadlines are near or past (临期, 超期) by index, as it does sub-units'.
UPDATE request_units SET due_at = (
    SELECT COALESCE(json_extract(r.unit_work, '$.co_due'), r.due_at) FROM requests r
    WHERE r.id = request_units.request_id
      AND NOT EXISTS (SELECT 1 FROM json_each(r.unit_work, '$.co_answers') a
                      WHERE json_extract(a.value, '$.unit_id') = request_units.unit_id))
WHERE role = 'co';
-- Deadlines read from the requests' JSON (here and in the previous migration) are written as the store writes
-- times, with milliseconds (2026-12-04T10:00:00.000+08:00), so text order is time order and a recorded notice's due
-- time matches its row's.
UPDATE request_units SET due_at = substr(due_at, 1, 19) || '.000' || substr(due_at, 20) WHERE length(due_at) = 25;
DROP INDEX request_units_sub_due;
CREATE INDEX request_units_due ON request_units(due_at) WHERE due_at IS NOT NULL;
