-- Saved views of any list, as SQLite's 0034: `list` is `work` (the work page,
-- every view saved before) or `ledger:{type}`; names unique per person and list.
ALTER TABLE saved_views ADD COLUMN list TEXT NOT NULL DEFAULT 'work';
ALTER TABLE saved_views DROP CONSTRAINT saved_views_user_id_name_key;
ALTER TABLE saved_views ADD CONSTRAINT saved_views_user_id_list_name_key UNIQUE (user_id, list, name);
