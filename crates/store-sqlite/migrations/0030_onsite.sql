-- On-site service (行走办): the service catalogue (服务事项目录), the service
-- centres with their daily capacity (a centre references the unit whose
-- staff work its queue), and the requests of enterprises with their history.
-- History rows are never changed or deleted.

CREATE TABLE onsite_items (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    active      INTEGER NOT NULL
);

CREATE TABLE onsite_centres (
    id              INTEGER PRIMARY KEY,
    unit_id         INTEGER NOT NULL UNIQUE REFERENCES units(id),
    name            TEXT NOT NULL,
    daily_capacity  INTEGER NOT NULL CHECK (daily_capacity > 0),
    active          INTEGER NOT NULL
);

CREATE TABLE onsite_requests (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL,
    centre_id       INTEGER NOT NULL REFERENCES onsite_centres(id),
    credit_code     TEXT NOT NULL,
    enterprise_name TEXT NOT NULL,
    submitted_by    INTEGER REFERENCES users(id),
    address         TEXT NOT NULL,
    contact_name    TEXT NOT NULL,
    contact_phone   TEXT NOT NULL,
    note            TEXT,
    stage           TEXT NOT NULL CHECK (stage IN ('submitted', 'proposed', 'accepted', 'held', 'rated', 'refused',
                        'withdrawn')),
    people          INTEGER NOT NULL CHECK (people > 0),
    -- JSON: the preferred dates, YYYY-MM-DD.
    preferred_dates TEXT NOT NULL,
    -- JSON: [{item_id, count, handled}].
    items           TEXT NOT NULL,
    -- The session's date (YYYY-MM-DD) while accepted, proposed, held or rated.
    session_date    TEXT,
    team            TEXT,
    rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
    rating_comment  TEXT,
    submitted_at    TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL
);
CREATE INDEX onsite_requests_enterprise ON onsite_requests(credit_code);
CREATE INDEX onsite_requests_sessions ON onsite_requests(centre_id, session_date);

CREATE TABLE onsite_events (
    request_id  INTEGER NOT NULL REFERENCES onsite_requests(id),
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    stage       TEXT NOT NULL,
    note        TEXT,
    at          TEXT NOT NULL,
    by_name     TEXT NOT NULL,
    by_user     INTEGER,
    PRIMARY KEY (request_id, seq)
);

CREATE TRIGGER onsite_events_no_update BEFORE UPDATE ON onsite_events
BEGIN SELECT RAISE(ABORT, 'on-site service history is append-only'); END;
CREATE TRIGGER onsite_events_no_delete BEFORE DELETE ON onsite_events
BEGIN SELECT RAISE(ABORT, 'on-site service history is append-only'); END;
