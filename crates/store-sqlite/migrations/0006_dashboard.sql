-- mashangban SQLite schema: leader dashboard (领导驾驶舱) rollups.
--
-- Counts of requests per day (or month) and per (dimension, key), added in
-- the transaction that writes each request (crates/store-sqlite/src/dashboard.rs,
-- the definitions in crates/domain/src/dashboard.rs). Derived data: rebuilt
-- from the requests table at any time, never the source of truth.
--   dim 'total'    key ''            the whole city
--   dim 'unit'     key lead unit id  ('' before dispatch)
--   dim 'town'     key town id       ('' without a town)
--   dim 'kind'     key type code     (complaint, ...)
--   dim 'category' key category id   (the leaf; reports fold it to its top level)
-- `received` counts on the receipt day; the other columns on the close day.

CREATE TABLE dash_days (
    day                 INTEGER NOT NULL,  -- YYYYMMDD in Asia/Shanghai
    dim                 TEXT NOT NULL,
    key                 TEXT NOT NULL,
    received            INTEGER NOT NULL DEFAULT 0,
    closed              INTEGER NOT NULL DEFAULT 0,
    closed_with_due     INTEGER NOT NULL DEFAULT 0,
    closed_on_time      INTEGER NOT NULL DEFAULT 0,
    very_satisfied      INTEGER NOT NULL DEFAULT 0,
    satisfied           INTEGER NOT NULL DEFAULT 0,
    fairly_satisfied    INTEGER NOT NULL DEFAULT 0,
    dissatisfied        INTEGER NOT NULL DEFAULT 0,
    very_dissatisfied   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, dim, key)
) WITHOUT ROWID;

CREATE TABLE dash_months (
    month               INTEGER NOT NULL,  -- YYYYMM in Asia/Shanghai
    dim                 TEXT NOT NULL,
    key                 TEXT NOT NULL,
    received            INTEGER NOT NULL DEFAULT 0,
    closed              INTEGER NOT NULL DEFAULT 0,
    closed_with_due     INTEGER NOT NULL DEFAULT 0,
    closed_on_time      INTEGER NOT NULL DEFAULT 0,
    very_satisfied      INTEGER NOT NULL DEFAULT 0,
    satisfied           INTEGER NOT NULL DEFAULT 0,
    fairly_satisfied    INTEGER NOT NULL DEFAULT 0,
    dissatisfied        INTEGER NOT NULL DEFAULT 0,
    very_dissatisfied   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (month, dim, key)
) WITHOUT ROWID;

-- `rebuild_needed` = 1: requests exist that the rollups have not seen (a
-- database from before this migration); the first dashboard rebuilds them.
CREATE TABLE dash_meta (
    key     TEXT PRIMARY KEY,
    value   INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO dash_meta (key, value) SELECT 'rebuild_needed', 1 WHERE EXISTS (SELECT 1 FROM requests);

-- The drill-down lists of closed requests (closed_from / closed_to).
CREATE INDEX requests_closed ON requests(closed_at) WHERE closed_at IS NOT NULL;
