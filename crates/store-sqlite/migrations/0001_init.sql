-- mashangban SQLite schema, version 1.
-- Timestamps are RFC 3339 text in +08:00 with milliseconds, so text order is time order.

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    short_name  TEXT,
    kind        TEXT NOT NULL CHECK (kind IN ('city', 'department', 'town', 'subunit')),
    parent_id   INTEGER REFERENCES units(id),
    active      INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    unit_id        INTEGER REFERENCES units(id),
    credit_code    TEXT,
    phone          TEXT,
    password_hash  TEXT NOT NULL,
    disabled       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    client_ip   TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    unit_id     INTEGER REFERENCES units(id),
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE categories (
    id                    INTEGER PRIMARY KEY,
    code                  TEXT NOT NULL UNIQUE,
    name                  TEXT NOT NULL,
    parent_id             INTEGER REFERENCES categories(id),
    default_lead_unit_id  INTEGER REFERENCES units(id),
    keywords              TEXT NOT NULL DEFAULT '[]',
    active                INTEGER NOT NULL DEFAULT 1
);

-- The last sequence number handed out per day, for tracking numbers.
CREATE TABLE tracking_counters (
    day   TEXT PRIMARY KEY,
    last  INTEGER NOT NULL
);

CREATE TABLE requests (
    id                  INTEGER PRIMARY KEY,
    tracking_no         TEXT NOT NULL UNIQUE,
    check_code          TEXT NOT NULL,
    kind                TEXT NOT NULL,
    urgency             TEXT NOT NULL,
    channel             TEXT NOT NULL,
    asker_type          TEXT NOT NULL CHECK (asker_type IN ('enterprise', 'resident')),
    credit_code         TEXT,
    enterprise_name     TEXT,
    contact_name        TEXT NOT NULL,
    contact_phone       TEXT NOT NULL,
    title               TEXT NOT NULL,
    content             TEXT NOT NULL,
    category_id         INTEGER NOT NULL REFERENCES categories(id),
    town_id             INTEGER REFERENCES units(id),
    address             TEXT,
    lat                 REAL,
    lon                 REAL,
    state               TEXT NOT NULL,
    lead_unit_id        INTEGER REFERENCES units(id),
    co_unit_ids         TEXT NOT NULL DEFAULT '[]',
    ext_requested_due   TEXT,
    ext_reason          TEXT,
    ext_requested_at    TEXT,
    merged_into         INTEGER REFERENCES requests(id),
    rating              TEXT,
    resolved            INTEGER,
    reopen_count        INTEGER NOT NULL DEFAULT 0,
    return_count        INTEGER NOT NULL DEFAULT 0,
    extension_count     INTEGER NOT NULL DEFAULT 0,
    due_at              TEXT,
    ledger_ref          TEXT,
    submitted_by        INTEGER,
    received_at         TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    closed_at           TEXT,
    version             INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX requests_state ON requests(state, id);
CREATE INDEX requests_lead ON requests(lead_unit_id, id);
CREATE INDEX requests_town ON requests(town_id, id);
CREATE INDEX requests_credit ON requests(credit_code, id) WHERE credit_code IS NOT NULL;
CREATE INDEX requests_phone ON requests(contact_phone, id);
CREATE INDEX requests_submitter ON requests(submitted_by, id) WHERE submitted_by IS NOT NULL;
CREATE INDEX requests_received ON requests(received_at);

-- Lead (主办) and co-handling (协办) units of a request; the lead is also in requests.lead_unit_id.
CREATE TABLE request_units (
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    role        TEXT NOT NULL CHECK (role IN ('lead', 'co')),
    PRIMARY KEY (request_id, unit_id)
) WITHOUT ROWID;
CREATE INDEX request_units_unit ON request_units(unit_id, request_id);

-- The audit trail. No foreign keys to users or units: it outlives them.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    request_id      INTEGER NOT NULL REFERENCES requests(id),
    seq             INTEGER NOT NULL,
    at              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    actor_user_id   INTEGER,
    actor_name      TEXT NOT NULL,
    actor_role      TEXT NOT NULL,
    actor_unit_id   INTEGER,
    client_ip       TEXT,
    from_state      TEXT,
    to_state        TEXT NOT NULL,
    comment         TEXT,
    details         TEXT NOT NULL DEFAULT '{}',
    attachment_ids  TEXT NOT NULL DEFAULT '[]',
    due_at          TEXT,
    UNIQUE (request_id, seq)
);
CREATE INDEX events_at ON events(at);

-- Events are never changed or deleted.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE attachments (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES requests(id),
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    content       BLOB NOT NULL,
    uploaded_at   TEXT NOT NULL,
    uploaded_by   INTEGER
);
CREATE INDEX attachments_request ON attachments(request_id);
