-- Ledger rollups and choice values kept up to date in each item write's transaction
-- (issue 14, speed): lists filtered by a choice field and rollups by town or choice
-- field × stage read these instead of every item's JSON.

-- Each choice value of an item (选项值), copied out of `item_values` with the item's
-- town and stage, for choice filters (one row per item and choice field).
CREATE TABLE ledger_item_choices (
    item_id    INTEGER NOT NULL REFERENCES ledger_items(id),
    field      TEXT NOT NULL,
    type_code  TEXT NOT NULL,
    code       TEXT NOT NULL,
    town_id    INTEGER,
    stage      TEXT NOT NULL,
    PRIMARY KEY (item_id, field)
) WITHOUT ROWID;
CREATE INDEX ledger_item_choices_code ON ledger_item_choices(type_code, field, code, town_id, stage, item_id);

-- Item counts (台账汇总) per type, town and stage (field = '' and code = ''), and per
-- type, choice field, code, town and stage. town_id 0 stands for no town (a key column
-- cannot be NULL). Rows whose count fell to 0 may stay.
CREATE TABLE ledger_rollups (
    type_code  TEXT NOT NULL,
    field      TEXT NOT NULL,
    code       TEXT NOT NULL,
    town_id    INTEGER NOT NULL,
    stage      TEXT NOT NULL,
    items      INTEGER NOT NULL,
    PRIMARY KEY (type_code, field, code, town_id, stage)
) WITHOUT ROWID;

INSERT INTO ledger_item_choices (item_id, field, type_code, code, town_id, stage)
SELECT i.id, j.key, i.type_code, json_extract(j.value, '$.v'), i.town_id, i.stage
FROM ledger_items i, json_each(i.item_values) j
WHERE json_extract(j.value, '$.t') = 'choice';

INSERT INTO ledger_rollups (type_code, field, code, town_id, stage, items)
SELECT type_code, '', '', COALESCE(town_id, 0), stage, COUNT(*) FROM ledger_items
GROUP BY type_code, COALESCE(town_id, 0), stage;

INSERT INTO ledger_rollups (type_code, field, code, town_id, stage, items)
SELECT type_code, field, code, COALESCE(town_id, 0), stage, COUNT(*) FROM ledger_item_choices
GROUP BY type_code, field, code, COALESCE(town_id, 0), stage;
