-- The durable change feed: one row per committed change, written in the
-- change's own transaction. One writer commits in order, so the position is
-- the commit order. Consumers (live progress, cache reloads, the search
-- index, webhooks) keep their own cursor in change_cursors and catch up
-- after a restart. Old rows are pruned by a retention setting.
CREATE TABLE changes (
    position  INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    -- What changed: 'request', 'catalog', 'rules', 'calendar', or a module's record type.
    entity    TEXT NOT NULL,
    -- Which record: a tracking number, an id, or '' for a whole catalogue.
    key       TEXT NOT NULL,
    -- How: an event kind or a change kind.
    kind      TEXT NOT NULL
);
CREATE INDEX changes_at ON changes(at);

CREATE TABLE change_cursors (
    consumer    TEXT PRIMARY KEY,
    tx          INTEGER NOT NULL DEFAULT 0,
    position    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);
