-- Retired monitoring points and the HJ 212 receivers' counts, as SQLite's 0048.
ALTER TABLE monitoring_points ADD COLUMN retired_at TEXT COLLATE "C";

CREATE TABLE monitoring_receiver_counts (
    source  TEXT COLLATE "C" NOT NULL,
    bucket  TEXT COLLATE "C" NOT NULL,
    counter TEXT COLLATE "C" NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (source, bucket, counter)
);
CREATE INDEX monitoring_receiver_counts_bucket ON monitoring_receiver_counts(bucket);
