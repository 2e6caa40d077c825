-- The approval plan template administered as data (拿地即开工): each stored
-- version names who saved it and the version it replaced. The version in
-- force is the one no other replaces; `supersedes` is unique, so of two
-- saves made on the same version in force only one is stored. Rows stored
-- before this migration form a chain in the order they were stored.

ALTER TABLE approval_templates ADD COLUMN created_by TEXT NOT NULL DEFAULT '系统（内置模板）';
ALTER TABLE approval_templates ADD COLUMN created_by_user INTEGER REFERENCES users(id);
ALTER TABLE approval_templates ADD COLUMN supersedes INTEGER REFERENCES approval_templates(id);

UPDATE approval_templates
SET supersedes = (SELECT max(t.id) FROM approval_templates t WHERE t.id < approval_templates.id);

CREATE UNIQUE INDEX approval_templates_supersedes ON approval_templates(supersedes);
