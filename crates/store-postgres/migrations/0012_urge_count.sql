-- Queue badges (催办): how many times a request has been urged, kept on the row so a
-- queue shows the badge without reading each request's history.
ALTER TABLE requests ADD COLUMN urge_count INTEGER NOT NULL DEFAULT 0;
UPDATE requests SET urge_count = (SELECT COUNT(*) FROM events e WHERE e.request_id = requests.id AND e.kind = 'urged');
