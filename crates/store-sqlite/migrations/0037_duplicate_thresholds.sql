-- The thresholds of duplicate and hot-issue detection (疑似重复与热点问题), versioned: the newest is in
-- force; each version records who saved it and when.
CREATE TABLE duplicate_thresholds (
    version         INTEGER PRIMARY KEY,
    similarity      REAL NOT NULL,
    window_days     INTEGER NOT NULL,
    hot_min_size    INTEGER NOT NULL,
    hot_window_days INTEGER NOT NULL,
    hot_similarity  REAL NOT NULL,
    changed_by      TEXT NOT NULL,
    changed_at      TEXT NOT NULL
);
