-- As SQLite's 0061.
-- Anchors (锚点) cover the other histories too (ledger items, visits, accounts, …): the digest of
-- every record's chain head over the events recorded before `histories_before`, so that deleting a
-- record's last events, or all of them, shows. Empty in anchors kept before.
ALTER TABLE audit_anchors ADD COLUMN histories_before TEXT COLLATE "C";
ALTER TABLE audit_anchors ADD COLUMN history_chains BIGINT;
ALTER TABLE audit_anchors ADD COLUMN history_events BIGINT;
ALTER TABLE audit_anchors ADD COLUMN history_digest TEXT;
