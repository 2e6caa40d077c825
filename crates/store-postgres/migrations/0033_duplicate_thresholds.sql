-- The thresholds of duplicate and hot-issue detection (疑似重复与热点问题), versioned: the newest is in
-- force; each version records who saved it and when.
CREATE TABLE duplicate_thresholds (
    version         BIGINT PRIMARY KEY,
    similarity      DOUBLE PRECISION NOT NULL,
    window_days     BIGINT NOT NULL,
    hot_min_size    BIGINT NOT NULL,
    hot_window_days BIGINT NOT NULL,
    hot_similarity  DOUBLE PRECISION NOT NULL,
    changed_by      TEXT NOT NULL,
    changed_at      TEXT COLLATE "C" NOT NULL
);
