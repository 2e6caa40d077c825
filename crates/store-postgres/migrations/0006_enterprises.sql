-- The enterprise registry (企业名录, 一企一档), as SQLite's 0009.

CREATE TABLE enterprises (
    credit_code    TEXT COLLATE "C" PRIMARY KEY,
    name           TEXT COLLATE "C" NOT NULL,
    town_id        BIGINT NOT NULL REFERENCES units(id),
    address        TEXT,
    industry_code  TEXT COLLATE "C",
    industry_name  TEXT,
    size           TEXT,
    registered_on  TEXT,
    contact_name   TEXT,
    contact_phone  TEXT,
    tags           TEXT NOT NULL DEFAULT '[]',
    version        BIGINT NOT NULL DEFAULT 1,
    created_at     TEXT COLLATE "C" NOT NULL,
    updated_at     TEXT COLLATE "C" NOT NULL,
    updated_by     TEXT NOT NULL
);
CREATE INDEX enterprises_town ON enterprises(town_id, name);
CREATE INDEX enterprises_industry ON enterprises(industry_code);
CREATE INDEX enterprises_name ON enterprises(name);
