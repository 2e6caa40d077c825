-- The durable change feed, as SQLite's 0008. Positions are taken at insert,
-- not at commit, so a reader orders by (transaction id, position) and reads
-- only rows of transactions older than every writing transaction of this
-- database still running (see store-sql's changes.rs): those can no longer
-- change, and no row can later appear before them. Writers append without
-- locking anything shared.
CREATE TABLE changes (
    position  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx        BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    at        TEXT COLLATE "C" NOT NULL,
    entity    TEXT NOT NULL,
    key       TEXT COLLATE "C" NOT NULL,
    kind      TEXT NOT NULL
);
CREATE INDEX changes_order ON changes(tx, position);
CREATE INDEX changes_at ON changes(at);

CREATE TABLE change_cursors (
    consumer    TEXT PRIMARY KEY,
    tx          BIGINT NOT NULL DEFAULT 0,
    position    BIGINT NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL
);
