-- The staff inbox (消息提醒): one entry per request event and person it
-- concerns, written in the event's own transaction (so never twice: the
-- pair is unique), and each person's choice of SMS and e-mail copies per kind.

CREATE TABLE inbox_entries (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL CHECK (kind IN ('assigned', 'returned', 'extension_requested', 'urged', 'supervised',
                                              'extension_answered', 'due_soon', 'overdue')),
    event_id    INTEGER NOT NULL REFERENCES events(id),
    event_kind  TEXT NOT NULL,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    created_at  TEXT NOT NULL,
    read_at     TEXT,
    UNIQUE (event_id, user_id)
);
CREATE INDEX inbox_entries_user ON inbox_entries(user_id, id);
CREATE INDEX inbox_entries_unread ON inbox_entries(user_id, id) WHERE read_at IS NULL;

CREATE TABLE inbox_preferences (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    kind        TEXT NOT NULL,
    sms         INTEGER NOT NULL DEFAULT 0,
    email       INTEGER NOT NULL DEFAULT 0,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
