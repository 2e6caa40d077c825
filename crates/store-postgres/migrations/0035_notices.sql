-- Notices in the staff inbox, as SQLite's 0039: entries about a command centre's task or an overdue periodic
-- report (催报) have no event or request but their own key (one entry per key and person), title and page.
ALTER TABLE inbox_entries ALTER COLUMN event_id DROP NOT NULL;
ALTER TABLE inbox_entries ALTER COLUMN request_id DROP NOT NULL;
ALTER TABLE inbox_entries ADD COLUMN notice_key TEXT COLLATE "C";
ALTER TABLE inbox_entries ADD COLUMN notice_title TEXT;
ALTER TABLE inbox_entries ADD COLUMN notice_link TEXT;
ALTER TABLE inbox_entries ADD CONSTRAINT inbox_entries_notice_key UNIQUE (notice_key, user_id);
ALTER TABLE inbox_entries ADD CONSTRAINT inbox_entries_cause_check
    CHECK ((event_id IS NOT NULL AND request_id IS NOT NULL AND notice_key IS NULL)
        OR (event_id IS NULL AND request_id IS NULL AND notice_key IS NOT NULL AND notice_title IS NOT NULL
            AND notice_link IS NOT NULL));
ALTER TABLE inbox_entries DROP CONSTRAINT inbox_entries_kind_check;
ALTER TABLE inbox_entries ADD CONSTRAINT inbox_entries_kind_check
    CHECK (kind IN ('assigned', 'returned', 'extension_requested', 'urged', 'supervised', 'extension_answered',
                    'due_soon', 'overdue', 'review', 'command_task', 'report_chased'));

-- A sub-unit's deadline (二次派单) on its open assignment's row, as SQLite's 0039.
ALTER TABLE request_units ADD COLUMN due_at TEXT COLLATE "C";
UPDATE request_units ru SET due_at = (
    SELECT s ->> 'due' FROM requests r, jsonb_array_elements(COALESCE(r.unit_work::jsonb -> 'subs', '[]'::jsonb)) s
    WHERE r.id = ru.request_id AND (s ->> 'sub_unit_id')::bigint = ru.unit_id AND s ->> 'state' <> 'replied'
    LIMIT 1)
WHERE ru.role = 'sub';
CREATE INDEX request_units_sub_due ON request_units(due_at) WHERE role = 'sub';
