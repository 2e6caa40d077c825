-- Land to construction in minutes (拿地即开工): approval plan templates (kept
-- as TOML text, one row per version), approval projects and the log of each
-- project's actions (transaction, pre-review, start, issue). A project's plan
-- is rebuilt from its actions in order; `version` counts them and is bumped
-- with every append, in the same transaction. Actions are never changed or deleted.

CREATE TABLE approval_templates (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (code, version)
);

CREATE TABLE approval_projects (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,
    credit_code     TEXT,
    ledger_key      TEXT,
    unit_id         INTEGER REFERENCES units(id),
    template_id     INTEGER NOT NULL REFERENCES approval_templates(id),
    version         INTEGER NOT NULL DEFAULT 0,
    transaction_at  TEXT,
    permit_at       TEXT,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL
);
CREATE INDEX approval_projects_unit ON approval_projects(unit_id);

CREATE TABLE approval_actions (
    project_id        INTEGER NOT NULL REFERENCES approval_projects(id),
    seq               INTEGER NOT NULL,
    kind              TEXT NOT NULL
                      CHECK (kind IN ('record_transaction', 'record_pre_review', 'start_step', 'issue_step')),
    step              TEXT,
    unit              TEXT,
    at                TEXT NOT NULL,
    document_no       TEXT,
    recorded_at       TEXT NOT NULL,
    recorded_by       TEXT NOT NULL,
    recorded_by_user  INTEGER REFERENCES users(id),
    PRIMARY KEY (project_id, seq)
);
