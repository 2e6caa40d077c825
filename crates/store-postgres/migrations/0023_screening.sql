-- Spam screening (垃圾信息甄别), as SQLite's 0027.
ALTER TABLE requests ADD COLUMN screening_held BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX requests_screening_held ON requests (received_at) WHERE screening_held;

CREATE TABLE request_screenings (
    request_id   BIGINT PRIMARY KEY REFERENCES requests(id),
    score        DOUBLE PRECISION NOT NULL,
    reasons      TEXT NOT NULL,
    fingerprint  TEXT COLLATE "C" NOT NULL,
    held         BOOLEAN NOT NULL,
    screened_at  TEXT COLLATE "C" NOT NULL,
    decision     TEXT CHECK (decision IN ('released', 'spam')),
    decided_by   TEXT,
    decided_at   TEXT COLLATE "C"
);
CREATE INDEX request_screenings_repeats ON request_screenings (fingerprint, screened_at);
CREATE INDEX request_screenings_decided ON request_screenings (decided_at) WHERE decision IS NOT NULL;

CREATE TABLE screening_settings (
    version     BIGINT PRIMARY KEY,
    phrases     TEXT NOT NULL,
    threshold   DOUBLE PRECISION NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT COLLATE "C" NOT NULL
);
