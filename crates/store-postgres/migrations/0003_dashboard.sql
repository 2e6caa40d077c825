-- Leader dashboard (领导驾驶舱) rollups, as SQLite's 0006: counts of requests
-- per day (or month) and per (dimension, key), added in the transaction that
-- writes each request; derived data, rebuilt from the requests at any time.

CREATE TABLE dash_days (
    day                 BIGINT NOT NULL,  -- YYYYMMDD in Asia/Shanghai
    dim                 TEXT NOT NULL,
    key                 TEXT COLLATE "C" NOT NULL,
    received            BIGINT NOT NULL DEFAULT 0,
    closed              BIGINT NOT NULL DEFAULT 0,
    closed_with_due     BIGINT NOT NULL DEFAULT 0,
    closed_on_time      BIGINT NOT NULL DEFAULT 0,
    very_satisfied      BIGINT NOT NULL DEFAULT 0,
    satisfied           BIGINT NOT NULL DEFAULT 0,
    fairly_satisfied    BIGINT NOT NULL DEFAULT 0,
    dissatisfied        BIGINT NOT NULL DEFAULT 0,
    very_dissatisfied   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, dim, key)
);

CREATE TABLE dash_months (
    month               BIGINT NOT NULL,  -- YYYYMM in Asia/Shanghai
    dim                 TEXT NOT NULL,
    key                 TEXT COLLATE "C" NOT NULL,
    received            BIGINT NOT NULL DEFAULT 0,
    closed              BIGINT NOT NULL DEFAULT 0,
    closed_with_due     BIGINT NOT NULL DEFAULT 0,
    closed_on_time      BIGINT NOT NULL DEFAULT 0,
    very_satisfied      BIGINT NOT NULL DEFAULT 0,
    satisfied           BIGINT NOT NULL DEFAULT 0,
    fairly_satisfied    BIGINT NOT NULL DEFAULT 0,
    dissatisfied        BIGINT NOT NULL DEFAULT 0,
    very_dissatisfied   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month, dim, key)
);

-- `rebuild_needed` = 1: requests exist that the rollups have not seen.
CREATE TABLE dash_meta (
    key     TEXT PRIMARY KEY,
    value   BIGINT NOT NULL
);

INSERT INTO dash_meta (key, value) SELECT 'rebuild_needed', 1 WHERE EXISTS (SELECT 1 FROM requests);

-- The drill-down lists of closed requests (closed_from / closed_to).
CREATE INDEX requests_closed ON requests(closed_at) WHERE closed_at IS NOT NULL;
