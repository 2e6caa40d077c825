-- mashangban SQLite schema: scoring (考核) rollups.
--
-- The counters of mashangban_domain::scoring::Counter, summed per day and
-- per month for each unit. They are updated in the transaction of every
-- event (crates/store-sqlite/src/scoring.rs) and can be rebuilt from the
-- events at any time; they are never the source of truth.
-- `unit_id` 0 holds what no unit answers for (it counts for the city only).
-- A report sums whole months from score_months and the days at either end
-- from score_days, so its cost depends on the period and the number of
-- units, not on the number of requests.

CREATE TABLE score_days (
    day                 INTEGER NOT NULL,  -- YYYYMMDD in Asia/Shanghai
    unit_id             INTEGER NOT NULL,
    assigned            INTEGER NOT NULL DEFAULT 0,
    answered            INTEGER NOT NULL DEFAULT 0,
    dropped             INTEGER NOT NULL DEFAULT 0,
    sign_timed          INTEGER NOT NULL DEFAULT 0,
    signed_on_time      INTEGER NOT NULL DEFAULT 0,
    signed              INTEGER NOT NULL DEFAULT 0,
    returned            INTEGER NOT NULL DEFAULT 0,
    extended            INTEGER NOT NULL DEFAULT 0,
    closed              INTEGER NOT NULL DEFAULT 0,
    closed_with_due     INTEGER NOT NULL DEFAULT 0,
    closed_on_time      INTEGER NOT NULL DEFAULT 0,
    followed_up         INTEGER NOT NULL DEFAULT 0,
    resolved            INTEGER NOT NULL DEFAULT 0,
    very_satisfied      INTEGER NOT NULL DEFAULT 0,
    satisfied           INTEGER NOT NULL DEFAULT 0,
    fairly_satisfied    INTEGER NOT NULL DEFAULT 0,
    dissatisfied        INTEGER NOT NULL DEFAULT 0,
    very_dissatisfied   INTEGER NOT NULL DEFAULT 0,
    reopened            INTEGER NOT NULL DEFAULT 0,
    merged_duplicates   INTEGER NOT NULL DEFAULT 0,
    handled             INTEGER NOT NULL DEFAULT 0,
    handling_seconds    INTEGER NOT NULL DEFAULT 0,
    handling_uncovered  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit_id)
) WITHOUT ROWID;

CREATE TABLE score_months (
    month               INTEGER NOT NULL,  -- YYYYMM in Asia/Shanghai
    unit_id             INTEGER NOT NULL,
    assigned            INTEGER NOT NULL DEFAULT 0,
    answered            INTEGER NOT NULL DEFAULT 0,
    dropped             INTEGER NOT NULL DEFAULT 0,
    sign_timed          INTEGER NOT NULL DEFAULT 0,
    signed_on_time      INTEGER NOT NULL DEFAULT 0,
    signed              INTEGER NOT NULL DEFAULT 0,
    returned            INTEGER NOT NULL DEFAULT 0,
    extended            INTEGER NOT NULL DEFAULT 0,
    closed              INTEGER NOT NULL DEFAULT 0,
    closed_with_due     INTEGER NOT NULL DEFAULT 0,
    closed_on_time      INTEGER NOT NULL DEFAULT 0,
    followed_up         INTEGER NOT NULL DEFAULT 0,
    resolved            INTEGER NOT NULL DEFAULT 0,
    very_satisfied      INTEGER NOT NULL DEFAULT 0,
    satisfied           INTEGER NOT NULL DEFAULT 0,
    fairly_satisfied    INTEGER NOT NULL DEFAULT 0,
    dissatisfied        INTEGER NOT NULL DEFAULT 0,
    very_dissatisfied   INTEGER NOT NULL DEFAULT 0,
    reopened            INTEGER NOT NULL DEFAULT 0,
    merged_duplicates   INTEGER NOT NULL DEFAULT 0,
    handled             INTEGER NOT NULL DEFAULT 0,
    handling_seconds    INTEGER NOT NULL DEFAULT 0,
    handling_uncovered  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (month, unit_id)
) WITHOUT ROWID;

-- Flags of the rollups. `rebuild_needed` = 1: events exist that the rollups
-- have not seen (a database from before this migration); the first report
-- rebuilds them.
CREATE TABLE score_meta (
    key     TEXT PRIMARY KEY,
    value   INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO score_meta (key, value) SELECT 'rebuild_needed', 1 WHERE EXISTS (SELECT 1 FROM events);
