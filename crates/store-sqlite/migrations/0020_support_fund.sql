-- The industry support fund (产业扶持资金): policies, one budget row per
-- policy and year (the budget guard updates it conditionally), measures with
-- their formulas as source text, applications, their history (written in the
-- same transaction as each change) and the objections of the public notice.
-- Amounts are integer fen.

CREATE TABLE fund_policies (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL,
    issuer               TEXT NOT NULL,
    total_fen            INTEGER NOT NULL CHECK (total_fen > 0),
    notice_working_days  INTEGER NOT NULL,
    created_at           TEXT NOT NULL,
    created_by           TEXT NOT NULL
);

CREATE TABLE fund_budgets (
    policy_id       INTEGER NOT NULL REFERENCES fund_policies(id),
    year            INTEGER NOT NULL,
    allocation_fen  INTEGER NOT NULL CHECK (allocation_fen >= 0),
    reserved_fen    INTEGER NOT NULL DEFAULT 0 CHECK (reserved_fen >= 0 AND reserved_fen <= allocation_fen),
    paid_fen        INTEGER NOT NULL DEFAULT 0 CHECK (paid_fen >= 0 AND paid_fen <= reserved_fen),
    PRIMARY KEY (policy_id, year)
);

CREATE TABLE fund_measures (
    id           INTEGER PRIMARY KEY,
    policy_id    INTEGER NOT NULL REFERENCES fund_policies(id),
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    fields       TEXT NOT NULL,
    eligibility  TEXT NOT NULL,
    award        TEXT NOT NULL,
    cap_fen      INTEGER,
    UNIQUE (policy_id, code)
);

CREATE TABLE fund_applications (
    id              INTEGER PRIMARY KEY,
    policy_id       INTEGER NOT NULL REFERENCES fund_policies(id),
    measure_id      INTEGER NOT NULL REFERENCES fund_measures(id),
    year            INTEGER NOT NULL,
    credit_code     TEXT NOT NULL REFERENCES enterprises(credit_code),
    data            TEXT NOT NULL,
    materials       TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('submitted', 'town_reviewed', 'department_reviewed',
                        'publicised', 'paid', 'rejected')),
    computed_fen    INTEGER NOT NULL CHECK (computed_fen >= 0),
    award_fen       INTEGER NOT NULL CHECK (award_fen >= 0),
    notice_ends_at  TEXT,
    version         INTEGER NOT NULL,
    submitted_at    TEXT NOT NULL,
    submitted_by    TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    FOREIGN KEY (policy_id, year) REFERENCES fund_budgets(policy_id, year)
);
CREATE INDEX fund_applications_policy ON fund_applications(policy_id, state);
CREATE INDEX fund_applications_enterprise ON fund_applications(credit_code);

CREATE TABLE fund_events (
    application_id  INTEGER NOT NULL REFERENCES fund_applications(id),
    seq             INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    from_state      TEXT,
    to_state        TEXT NOT NULL,
    award_fen       INTEGER NOT NULL,
    note            TEXT,
    at              TEXT NOT NULL,
    by_name         TEXT NOT NULL,
    by_user         INTEGER,
    PRIMARY KEY (application_id, seq)
);

CREATE TABLE fund_objections (
    id              INTEGER PRIMARY KEY,
    application_id  INTEGER NOT NULL REFERENCES fund_applications(id),
    text            TEXT NOT NULL,
    raised_at       TEXT NOT NULL,
    raised_by       TEXT NOT NULL,
    raised_by_user  INTEGER,
    answer          TEXT,
    answered_at     TEXT,
    answered_by     TEXT
);
CREATE INDEX fund_objections_application ON fund_objections(application_id);
