-- Ecological-damage compensation (生态环境损害赔偿): the expert pool (专家库)
-- and compensation matters opened from enforcement cases, one per case, with
-- their history. History rows are never changed or deleted.

CREATE TABLE experts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    specialty   TEXT NOT NULL,
    employer    TEXT NOT NULL,
    -- JSON: credit codes of enterprises the expert must not assess.
    conflicts   TEXT NOT NULL,
    active      INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    version     INTEGER NOT NULL
);

CREATE TABLE compensation_matters (
    id                  INTEGER PRIMARY KEY,
    number              TEXT NOT NULL,
    case_id             INTEGER NOT NULL UNIQUE REFERENCES enforcement_cases(id),
    credit_code         TEXT NOT NULL REFERENCES enterprises(credit_code),
    unit_id             INTEGER NOT NULL REFERENCES units(id),
    procedure           TEXT NOT NULL CHECK (procedure IN ('simple', 'ordinary')),
    stage               TEXT NOT NULL CHECK (stage IN ('assessing', 'consulting', 'performing', 'reviewing', 'closed')),
    stage_started_at    TEXT NOT NULL,
    damage_fen          INTEGER CHECK (damage_fen > 0),
    assessment          TEXT,
    appraiser           TEXT,
    -- JSON: expert ids drawn for the assessment and for the review.
    assessment_experts  TEXT NOT NULL,
    review_experts      TEXT NOT NULL,
    consultations       INTEGER NOT NULL,
    -- JSON: {amount_fen, signed_on, instalments: [{due, amount_fen}], remediation, remediation_due}.
    agreement           TEXT,
    paid_fen            INTEGER NOT NULL CHECK (paid_fen >= 0),
    remediation_passed  INTEGER NOT NULL,
    closed_reason       TEXT,
    opened_at           TEXT NOT NULL,
    closed_at           TEXT,
    version             INTEGER NOT NULL
);
CREATE INDEX compensation_matters_enterprise ON compensation_matters(credit_code);

CREATE TABLE compensation_events (
    matter_id   INTEGER NOT NULL REFERENCES compensation_matters(id),
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    stage       TEXT NOT NULL,
    note        TEXT,
    amount_fen  INTEGER,
    -- JSON: structured facts, e.g. a draw's seed, eligible and chosen experts.
    detail      TEXT,
    at          TEXT NOT NULL,
    by_name     TEXT NOT NULL,
    by_user     INTEGER,
    PRIMARY KEY (matter_id, seq)
);

CREATE TRIGGER compensation_events_no_update BEFORE UPDATE ON compensation_events
BEGIN SELECT RAISE(ABORT, 'compensation history is append-only'); END;
CREATE TRIGGER compensation_events_no_delete BEFORE DELETE ON compensation_events
BEGIN SELECT RAISE(ABORT, 'compensation history is append-only'); END;
