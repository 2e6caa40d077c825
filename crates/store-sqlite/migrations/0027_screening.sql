-- Spam screening (垃圾信息甄别) of public submissions: each screened request's score, reasons and
-- the digest of its text (for the look-up of repeats), whether it was held (待甄别) and what staff
-- decided; the flag on the request keeps held ones out of the dispatcher's queue; the settings
-- (ad phrases and threshold) are versioned, the newest in force.
ALTER TABLE requests ADD COLUMN screening_held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX requests_screening_held ON requests (received_at) WHERE screening_held = 1;

CREATE TABLE request_screenings (
    request_id   INTEGER PRIMARY KEY REFERENCES requests(id),
    score        REAL NOT NULL,
    reasons      TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    held         INTEGER NOT NULL,
    screened_at  TEXT NOT NULL,
    decision     TEXT CHECK (decision IN ('released', 'spam')),
    decided_by   TEXT,
    decided_at   TEXT
);
CREATE INDEX request_screenings_repeats ON request_screenings (fingerprint, screened_at);
CREATE INDEX request_screenings_decided ON request_screenings (decided_at) WHERE decision IS NOT NULL;

CREATE TABLE screening_settings (
    version     INTEGER PRIMARY KEY,
    phrases     TEXT NOT NULL,
    threshold   REAL NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TEXT NOT NULL
);
