-- Visits to enterprises (走访) and walking-office sessions (行走的办公室):
-- the plan, the record, the problems raised (each solved on the spot or
-- turned into a request) and the visit's own history.

CREATE TABLE visits (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('visit', 'walking_office')),
    credit_code    TEXT NOT NULL REFERENCES enterprises(credit_code),
    town_id        INTEGER NOT NULL REFERENCES units(id),
    planned_at     TEXT NOT NULL,
    lead_user_id   INTEGER NOT NULL REFERENCES users(id),
    purpose        TEXT,
    -- JSON array of the attending units' ids.
    units          TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('planned', 'recorded', 'cancelled')),
    -- JSON array of the attendees' names.
    attendees      TEXT NOT NULL,
    notes          TEXT,
    visited_at     TEXT,
    cancel_reason  TEXT,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX visits_enterprise ON visits(credit_code, planned_at);
CREATE INDEX visits_town ON visits(town_id, planned_at);
CREATE INDEX visits_lead ON visits(lead_user_id, planned_at);

CREATE TABLE visit_problems (
    id           INTEGER PRIMARY KEY,
    visit_id     INTEGER NOT NULL REFERENCES visits(id),
    seq          INTEGER NOT NULL,
    text         TEXT NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('dispatched', 'solved_on_site')),
    request_id   INTEGER REFERENCES requests(id),
    solved_by    TEXT,
    solution     TEXT,
    instruction  TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (visit_id, seq),
    CHECK ((outcome = 'dispatched') = (request_id IS NOT NULL)),
    CHECK (outcome <> 'solved_on_site' OR (solved_by IS NOT NULL AND solution IS NOT NULL))
);
CREATE INDEX visit_problems_request ON visit_problems(request_id);

CREATE TABLE visit_events (
    id        INTEGER PRIMARY KEY,
    visit_id  INTEGER NOT NULL REFERENCES visits(id),
    at        TEXT NOT NULL,
    by_name   TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN ('planned', 'recorded', 'cancelled')),
    comment   TEXT
);
CREATE INDEX visit_events_visit ON visit_events(visit_id, id);
