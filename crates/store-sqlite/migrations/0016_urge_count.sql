-- Queue badges (催办): how many times a request has been urged, kept on the row so a
-- queue shows the badge without reading each request's history. Numbered 0016 on
-- its branch (0014 and 0015 are other branches'); its position in MIGRATIONS is
-- its version, which the merge settles.
ALTER TABLE requests ADD COLUMN urge_count INTEGER NOT NULL DEFAULT 0;
UPDATE requests SET urge_count = (SELECT COUNT(*) FROM events e WHERE e.request_id = requests.id AND e.kind = 'urged');
