-- Saved views of any list (保存的视图): `list` says which list a view belongs
-- to — `work` (the work page, every view saved before) or `ledger:{type}` (a
-- ledger's list). Names are unique per person and list. SQLite cannot change a
-- unique constraint in place, so the table is rebuilt with the column last (as
-- PostgreSQL's ALTER TABLE ADD COLUMN places it).
CREATE TABLE saved_views_new (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    filters     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    list        TEXT NOT NULL DEFAULT 'work',
    UNIQUE (user_id, list, name)
);
INSERT INTO saved_views_new (id, user_id, name, filters, created_at, updated_at, list)
    SELECT id, user_id, name, filters, created_at, updated_at, 'work' FROM saved_views;
DROP TABLE saved_views;
ALTER TABLE saved_views_new RENAME TO saved_views;
