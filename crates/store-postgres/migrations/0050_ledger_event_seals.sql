-- Tamper-evident ledger history (台账留痕防篡改): each ledger item event's SM3 seal, chaining it
-- to the previous event of its item, written in the event's transaction (as event_seals for requests).
CREATE TABLE ledger_event_seals (
    event_id    BIGINT PRIMARY KEY REFERENCES ledger_item_events(id),
    seal        TEXT NOT NULL
);
CREATE TRIGGER ledger_event_seals_no_update BEFORE UPDATE ON ledger_event_seals
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('ledger event seals are append-only');
CREATE TRIGGER ledger_event_seals_no_delete BEFORE DELETE ON ledger_event_seals
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('ledger event seals are append-only');

-- Ledger events written before their seals existed are sealed once, by the program, up to this
-- id; an unsealed one after it was written past the platform.
ALTER TABLE audit_state ADD COLUMN ledger_legacy_upto BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit_state ADD COLUMN ledger_legacy_sealed_at TEXT COLLATE "C";
UPDATE audit_state SET ledger_legacy_upto = (SELECT COALESCE(MAX(id), 0) FROM ledger_item_events);
