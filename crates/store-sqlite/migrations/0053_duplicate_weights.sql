-- The likeness weights (相同诉求人/相同地址/同类别同镇街 加分) and the cross-town hot-issue similarity
-- (跨镇街热点), versioned with the duplicate thresholds. Earlier versions keep the values that were in
-- force when they were saved: the constants of before.
ALTER TABLE duplicate_thresholds ADD COLUMN same_asker_weight REAL NOT NULL DEFAULT 0.25;
ALTER TABLE duplicate_thresholds ADD COLUMN same_place_weight REAL NOT NULL DEFAULT 0.15;
ALTER TABLE duplicate_thresholds ADD COLUMN same_category_and_town_weight REAL NOT NULL DEFAULT 0.1;
ALTER TABLE duplicate_thresholds ADD COLUMN cross_town_similarity REAL NOT NULL DEFAULT 0.5;
