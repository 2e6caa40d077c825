-- Work-page views a person saved (保存的视图): the filters and search of the
-- work page under a name, per user (at most 20 each, names unique per user).
-- And when an asker's request to reopen (申请重办) is waiting for an answer:
-- a second one meanwhile is refused. Numbered 0028 on its branch (0026 and
-- 0027 are other branches'); its position in MIGRATIONS is its version.
CREATE TABLE saved_views (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    filters     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (user_id, name)
);

ALTER TABLE requests ADD COLUMN reopen_requested_at TEXT;
-- A request still followed up whose asker asked for a reopening after the last follow-up waits for an answer.
UPDATE requests SET reopen_requested_at = (
    SELECT MAX(e.at) FROM events e
    WHERE e.request_id = requests.id AND e.kind = 'reopen_requested'
      AND e.seq > (SELECT MAX(f.seq) FROM events f WHERE f.request_id = requests.id AND f.kind = 'followed_up'))
WHERE state = 'followed_up';
