-- A new inbox kind, monitoring_alert (在线监测报警), as SQLite's 0040.
ALTER TABLE inbox_entries DROP CONSTRAINT inbox_entries_kind_check;
ALTER TABLE inbox_entries ADD CONSTRAINT inbox_entries_kind_check
    CHECK (kind IN ('assigned', 'returned', 'extension_requested', 'urged', 'supervised', 'extension_answered',
                    'due_soon', 'overdue', 'review', 'command_task', 'report_chased', 'monitoring_alert'));

-- A co-handling unit's deadline (协办期限) on its row while its part is missing, as SQLite's 0040.
UPDATE request_units ru SET due_at = (
    SELECT COALESCE(r.unit_work::jsonb ->> 'co_due', r.due_at) FROM requests r
    WHERE r.id = ru.request_id
      AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(COALESCE(r.unit_work::jsonb -> 'co_answers', '[]'::jsonb)) a
                      WHERE (a ->> 'unit_id')::bigint = ru.unit_id))
WHERE ru.role = 'co';
-- Deadlines read from the requests' JSON (here and in the previous migration) are written as the store writes
-- times, with milliseconds (2026-12-04T10:00:00.000+08:00), so text order is time order and a recorded notice's due
-- time matches its row's.
UPDATE request_units SET due_at = substr(due_at, 1, 19) || '.000' || substr(due_at, 20) WHERE length(due_at) = 25;
DROP INDEX request_units_sub_due;
CREATE INDEX request_units_due ON request_units(due_at) WHERE due_at IS NOT NULL;
