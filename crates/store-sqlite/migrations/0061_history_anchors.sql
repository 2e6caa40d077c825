-- Anchors (锚点) cover the other histories too (ledger items, visits, accounts, …): the digest of
-- every record's chain head over the events recorded before `histories_before`, so that deleting a
-- record's last events, or all of them, shows. Empty in anchors kept before.
ALTER TABLE audit_anchors ADD COLUMN histories_before TEXT;
ALTER TABLE audit_anchors ADD COLUMN history_chains INTEGER;
ALTER TABLE audit_anchors ADD COLUMN history_events INTEGER;
ALTER TABLE audit_anchors ADD COLUMN history_digest TEXT;
