-- The enterprise registry (企业名录, 一企一档): one row per unified social
-- credit code. Requests link to it by their own credit_code (a join, no key).

CREATE TABLE enterprises (
    credit_code    TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    town_id        INTEGER NOT NULL REFERENCES units(id),
    address        TEXT,
    industry_code  TEXT,
    industry_name  TEXT,
    size           TEXT,
    registered_on  TEXT,
    contact_name   TEXT,
    contact_phone  TEXT,
    tags           TEXT NOT NULL DEFAULT '[]',
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX enterprises_town ON enterprises(town_id, name);
CREATE INDEX enterprises_industry ON enterprises(industry_code);
CREATE INDEX enterprises_name ON enterprises(name);
