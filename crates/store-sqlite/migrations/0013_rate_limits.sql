-- Throttle counts (see store-sql's ratelimits.rs): one row per key with its
-- current fixed window (Unix seconds) and the attempts counted in it. SQLite
-- serves one node and keeps its counts in memory; the table is here so the
-- store is the same on both databases.
CREATE TABLE rate_limits (
    key           TEXT PRIMARY KEY,
    window_start  INTEGER NOT NULL,
    attempts      INTEGER NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits(window_start);
