-- Tamper-evident history (防篡改留痕): each event's SM3 seal, chaining it to the
-- previous event of its request, written in the event's transaction.
CREATE TABLE event_seals (
    event_id    INTEGER PRIMARY KEY REFERENCES events(id),
    seal        TEXT NOT NULL
);
CREATE TRIGGER event_seals_no_update BEFORE UPDATE ON event_seals
BEGIN SELECT RAISE(ABORT, 'event seals are append-only'); END;
CREATE TRIGGER event_seals_no_delete BEFORE DELETE ON event_seals
BEGIN SELECT RAISE(ABORT, 'event seals are append-only'); END;

-- Anchors (锚点): the digest of every request's chain head up to an event, written daily
-- and to the log, so that deleting a request's last events or a whole request shows.
CREATE TABLE audit_anchors (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    last_event_id   INTEGER NOT NULL,
    requests        INTEGER NOT NULL,
    events          INTEGER NOT NULL,
    digest          TEXT NOT NULL
);
CREATE TRIGGER audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
CREATE TRIGGER audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;

-- Events written before seals existed are sealed once, by the program, up to this id;
-- an unsealed event after it was written past the platform.
CREATE TABLE audit_state (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    legacy_upto         INTEGER NOT NULL,
    legacy_sealed_at    TEXT
);
INSERT INTO audit_state (id, legacy_upto) SELECT 1, COALESCE(MAX(id), 0) FROM events;
