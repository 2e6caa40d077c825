-- The waiting reopen request, as SQLite's 0028.
ALTER TABLE requests ADD COLUMN reopen_requested_at TEXT COLLATE "C";
UPDATE requests SET reopen_requested_at = (
    SELECT MAX(e.at) FROM events e
    WHERE e.request_id = requests.id AND e.kind = 'reopen_requested'
      AND e.seq > (SELECT MAX(f.seq) FROM events f WHERE f.request_id = requests.id AND f.kind = 'followed_up'))
WHERE state = 'followed_up';
