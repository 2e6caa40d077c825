-- Notifications (通知): the outbox written with each event, templates, webhooks, e-mail addresses.

ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE requests ADD COLUMN contact_email TEXT;

-- One row per delivery. Written in the transaction of the event that causes it;
-- the delivery worker claims due rows, sends them and marks them.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'webhook')),
    recipient        TEXT NOT NULL,
    template_key     TEXT,
    subject          TEXT,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- When a pending row is due, or when a claimed ('sending') row's lease ends.
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    event_id         INTEGER,
    request_id       INTEGER
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_status ON outbox(status, id);

-- Templates edited by administrators; the built-in ones are used where none is stored.
CREATE TABLE notification_templates (
    key         TEXT NOT NULL,
    channel     TEXT NOT NULL,
    subject     TEXT,
    body        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (key, channel)
) WITHOUT ROWID;

-- Partner systems told of events, signed with HMAC-SHA256.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    -- Event kinds (JSON array of codes); empty means every event.
    events      TEXT NOT NULL DEFAULT '[]',
    created_at  TEXT NOT NULL
);

-- Notices are written once the delivery worker has started on this database
-- (so history loaded before, like the demo city, causes none); link_base is the
-- public address used for progress links.
CREATE TABLE notification_settings (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    link_base  TEXT NOT NULL
);
