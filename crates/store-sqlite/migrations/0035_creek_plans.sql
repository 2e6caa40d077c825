-- Creek remediation (河涌整治): water-quality grab samples per creek ledger
-- item (classed under GB 3838-2002 when read, never stored as a class), and
-- the one plan per creek (一河一策) as a versioned JSON document with every
-- save's before and after. Samples and plan changes are append-only.
-- Numbered 0035 on its branch (0033 and 0034 are other branches'); its
-- position in MIGRATIONS is its version.
CREATE TABLE creek_samples (
    id          INTEGER PRIMARY KEY,
    item_id     INTEGER NOT NULL REFERENCES ledger_items(id),
    sampled_at  TEXT NOT NULL,
    section     TEXT,
    -- JSON: {item key: value in mg/L}.
    parameters  TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('manual', 'import')),
    by_user     INTEGER,
    by_name     TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX creek_samples_item ON creek_samples(item_id, sampled_at);

CREATE TABLE creek_plans (
    item_id     INTEGER PRIMARY KEY REFERENCES ledger_items(id),
    -- JSON: {unit, chief_name, chief_post, measures: [{text, kind, budget_cents, due_on, unit, status}]}.
    plan        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);

CREATE TABLE creek_plan_changes (
    id           INTEGER PRIMARY KEY,
    item_id      INTEGER NOT NULL REFERENCES ledger_items(id),
    version      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    by_user      INTEGER,
    by_name      TEXT NOT NULL,
    before_plan  TEXT,
    after_plan   TEXT NOT NULL,
    UNIQUE (item_id, version)
);

CREATE TRIGGER creek_samples_no_update BEFORE UPDATE ON creek_samples
BEGIN SELECT RAISE(ABORT, 'creek samples are append-only'); END;
CREATE TRIGGER creek_samples_no_delete BEFORE DELETE ON creek_samples
BEGIN SELECT RAISE(ABORT, 'creek samples are append-only'); END;
CREATE TRIGGER creek_plan_changes_no_update BEFORE UPDATE ON creek_plan_changes
BEGIN SELECT RAISE(ABORT, 'creek plan history is append-only'); END;
CREATE TRIGGER creek_plan_changes_no_delete BEFORE DELETE ON creek_plan_changes
BEGIN SELECT RAISE(ABORT, 'creek plan history is append-only'); END;
