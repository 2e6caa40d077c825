-- Ledger rollups and choice values kept up to date, as SQLite's 0043.

CREATE TABLE ledger_item_choices (
    item_id    BIGINT NOT NULL REFERENCES ledger_items(id),
    field      TEXT COLLATE "C" NOT NULL,
    type_code  TEXT COLLATE "C" NOT NULL,
    code       TEXT COLLATE "C" NOT NULL,
    town_id    BIGINT,
    stage      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (item_id, field)
);
CREATE INDEX ledger_item_choices_code ON ledger_item_choices(type_code, field, code, town_id, stage, item_id);

CREATE TABLE ledger_rollups (
    type_code  TEXT COLLATE "C" NOT NULL,
    field      TEXT COLLATE "C" NOT NULL,
    code       TEXT COLLATE "C" NOT NULL,
    town_id    BIGINT NOT NULL,
    stage      TEXT COLLATE "C" NOT NULL,
    items      BIGINT NOT NULL,
    PRIMARY KEY (type_code, field, code, town_id, stage)
);

INSERT INTO ledger_item_choices (item_id, field, type_code, code, town_id, stage)
SELECT i.id, j.key, i.type_code, j.value ->> 'v', i.town_id, i.stage
FROM ledger_items i, jsonb_each(CAST(i.item_values AS jsonb)) j
WHERE j.value ->> 't' = 'choice';

INSERT INTO ledger_rollups (type_code, field, code, town_id, stage, items)
SELECT type_code, '', '', COALESCE(town_id, 0), stage, COUNT(*) FROM ledger_items
GROUP BY type_code, COALESCE(town_id, 0), stage;

INSERT INTO ledger_rollups (type_code, field, code, town_id, stage, items)
SELECT type_code, field, code, COALESCE(town_id, 0), stage, COUNT(*) FROM ledger_item_choices
GROUP BY type_code, field, code, COALESCE(town_id, 0), stage;
