-- Tamper-evident history, one mechanism for every history besides requests' (留痕防篡改).
--
-- 1. Ledger item events join `history_seals` (history 'ledger_item_events', chained per item by
--    row id). Their seals move over unchanged: they cover the same bytes under the ledger's own
--    label, so a database sealed before verifies as it did. Events older than the ledger seals
--    and not yet sealed are listed in `history_legacy` like the others'.
INSERT INTO history_seals (history, chain_id, position, seal)
    SELECT 'ledger_item_events', e.item_id, e.id, s.seal
    FROM ledger_event_seals s JOIN ledger_item_events e ON e.id = s.event_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'ledger_item_events', e.item_id, MAX(e.id) FROM ledger_item_events e
    WHERE e.id <= (SELECT ledger_legacy_upto FROM audit_state)
      AND NOT EXISTS (SELECT 1 FROM ledger_event_seals s WHERE s.event_id = e.id)
    GROUP BY e.item_id;
DROP TABLE ledger_event_seals;  -- its triggers go with it
ALTER TABLE audit_state DROP COLUMN ledger_legacy_upto;
ALTER TABLE audit_state DROP COLUMN ledger_legacy_sealed_at;

-- 2. The command centres' history (command_events, already append-only) is sealed per subject:
--    the centre's own entries per centre, and per target, task, report form and pledge. A centre
--    chain needs a number: centres get one, in code order, and new centres the next.
ALTER TABLE command_centres ADD COLUMN id INTEGER;
UPDATE command_centres SET id = (SELECT COUNT(*) FROM command_centres o WHERE o.code <= command_centres.code);
CREATE UNIQUE INDEX command_centres_id ON command_centres(id);
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'command_events/centre', o.id, MAX(e.id) FROM command_events e JOIN command_centres o ON o.code = e.centre_code
    WHERE e.target_id IS NULL AND e.task_id IS NULL AND e.form_id IS NULL AND e.pledge_id IS NULL
    GROUP BY o.id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'command_events/target', target_id, MAX(id) FROM command_events WHERE target_id IS NOT NULL GROUP BY target_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'command_events/task', task_id, MAX(id) FROM command_events WHERE task_id IS NOT NULL GROUP BY task_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'command_events/form', form_id, MAX(id) FROM command_events WHERE form_id IS NOT NULL GROUP BY form_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'command_events/pledge', pledge_id, MAX(id) FROM command_events WHERE pledge_id IS NOT NULL GROUP BY pledge_id;

-- 3. Monitoring point and alert events (already append-only), chained per point and per alert.
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'monitoring_point_events', point_id, MAX(id) FROM monitoring_point_events GROUP BY point_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'monitoring_alert_events', alert_id, MAX(id) FROM monitoring_alert_events GROUP BY alert_id;
