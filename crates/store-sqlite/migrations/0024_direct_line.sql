-- The secretary-mayor direct line (书记市长直通车): items from the portal,
-- letters and calls; their screening, the leader's instruction and the
-- request it became, the office's review of the reply, the asker's rating,
-- and each item's own history.

CREATE TABLE direct_line_items (
    id               INTEGER PRIMARY KEY,
    tracking_no      TEXT NOT NULL UNIQUE,
    check_code       TEXT NOT NULL,
    source           TEXT NOT NULL CHECK (source IN ('portal', 'letter', 'call')),
    addressee        TEXT NOT NULL CHECK (addressee IN ('secretary', 'mayor')),
    name             TEXT NOT NULL,
    phone            TEXT NOT NULL,
    credit_code      TEXT,
    title            TEXT NOT NULL,
    content          TEXT NOT NULL,
    publish_consent  INTEGER NOT NULL,
    state            TEXT NOT NULL
        CHECK (state IN ('new', 'submitted', 'converted', 'merged', 'handling', 'answered')),
    category_id      INTEGER REFERENCES categories(id),
    leader_user_id   INTEGER REFERENCES users(id),
    merged_into_id   INTEGER REFERENCES direct_line_items(id),
    instruction      TEXT,
    lead_unit_id     INTEGER REFERENCES units(id),
    -- JSON array of the co-units' ids.
    co_unit_ids      TEXT NOT NULL DEFAULT '[]',
    days             INTEGER,
    instructed_at    TEXT,
    due_at           TEXT,
    request_id       INTEGER REFERENCES requests(id),
    reply            TEXT,
    answered_at      TEXT,
    rating           TEXT,
    rating_comment   TEXT,
    rated_at         TEXT,
    created_at       TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK (state <> 'handling' OR (request_id IS NOT NULL AND instruction IS NOT NULL AND lead_unit_id IS NOT NULL)),
    CHECK (state <> 'merged' OR merged_into_id IS NOT NULL)
);
CREATE INDEX direct_line_items_created ON direct_line_items(created_at);
CREATE INDEX direct_line_items_state ON direct_line_items(state, created_at);
CREATE INDEX direct_line_items_leader ON direct_line_items(leader_user_id, created_at);
CREATE INDEX direct_line_items_request ON direct_line_items(request_id);

CREATE TABLE direct_line_events (
    id        INTEGER PRIMARY KEY,
    item_id   INTEGER NOT NULL REFERENCES direct_line_items(id),
    at        TEXT NOT NULL,
    by_name   TEXT NOT NULL,
    action    TEXT NOT NULL,
    comment   TEXT
);
CREATE INDEX direct_line_events_item ON direct_line_events(item_id, id);
