-- Throttle counts shared by every node (see store-sql's ratelimits.rs): one
-- row per key with its current fixed window (Unix seconds) and the attempts
-- counted in it, upserted atomically under the key's row lock.
CREATE TABLE rate_limits (
    key           TEXT COLLATE "C" PRIMARY KEY,
    window_start  BIGINT NOT NULL,
    attempts      BIGINT NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits(window_start);
