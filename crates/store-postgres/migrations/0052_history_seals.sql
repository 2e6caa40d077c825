-- Tamper-evident histories beyond requests and ledger items (留痕防篡改): the events of visits,
-- direct-line items, approval projects, fund applications, on-site service requests, enforcement
-- cases and compensation matters are SM3-sealed in their transaction, each chained to the
-- previous event of its record. `history` names the events table, `chain_id` the record, and
-- `position` the event within it (its seq, or its row id where the table has no seq).
CREATE TABLE history_seals (
    history     TEXT COLLATE "C" NOT NULL,
    chain_id    BIGINT NOT NULL,
    position    BIGINT NOT NULL,
    seal        TEXT NOT NULL,
    PRIMARY KEY (history, chain_id, position)
);
CREATE TRIGGER history_seals_no_update BEFORE UPDATE ON history_seals
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('history seals are append-only');
CREATE TRIGGER history_seals_no_delete BEFORE DELETE ON history_seals
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('history seals are append-only');

-- Events written before the seals existed: per record, the last such position. The program seals
-- them once (at start-up, or at the record's next event) and then removes the row; an unsealed
-- event past it was written past the platform.
CREATE TABLE history_legacy (
    history     TEXT COLLATE "C" NOT NULL,
    chain_id    BIGINT NOT NULL,
    upto        BIGINT NOT NULL,
    PRIMARY KEY (history, chain_id)
);
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'visit_events', visit_id, MAX(id) FROM visit_events GROUP BY visit_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'direct_line_events', item_id, MAX(id) FROM direct_line_events GROUP BY item_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'approval_actions', project_id, MAX(seq) FROM approval_actions GROUP BY project_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'fund_events', application_id, MAX(seq) FROM fund_events GROUP BY application_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'onsite_events', request_id, MAX(seq) FROM onsite_events GROUP BY request_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'enforcement_case_events', case_id, MAX(seq) FROM enforcement_case_events GROUP BY case_id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'compensation_events', matter_id, MAX(seq) FROM compensation_events GROUP BY matter_id;

-- The histories that were not yet append-only become so, as the others are.
CREATE TRIGGER visit_events_no_update BEFORE UPDATE ON visit_events
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('visit history is append-only');
CREATE TRIGGER visit_events_no_delete BEFORE DELETE ON visit_events
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('visit history is append-only');
CREATE TRIGGER direct_line_events_no_update BEFORE UPDATE ON direct_line_events
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('direct-line history is append-only');
CREATE TRIGGER direct_line_events_no_delete BEFORE DELETE ON direct_line_events
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('direct-line history is append-only');
CREATE TRIGGER approval_actions_no_update BEFORE UPDATE ON approval_actions
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('approval history is append-only');
CREATE TRIGGER approval_actions_no_delete BEFORE DELETE ON approval_actions
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('approval history is append-only');
CREATE TRIGGER fund_events_no_update BEFORE UPDATE ON fund_events
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('fund history is append-only');
CREATE TRIGGER fund_events_no_delete BEFORE DELETE ON fund_events
    FOR EACH ROW EXECUTE FUNCTION mashangban_refuse_change('fund history is append-only');
