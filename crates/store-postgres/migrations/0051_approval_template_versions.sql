-- The approval plan template administered as data, as SQLite's 0055.

ALTER TABLE approval_templates ADD COLUMN created_by TEXT NOT NULL DEFAULT '系统（内置模板）';
ALTER TABLE approval_templates ADD COLUMN created_by_user BIGINT REFERENCES users(id);
ALTER TABLE approval_templates ADD COLUMN supersedes BIGINT REFERENCES approval_templates(id);

UPDATE approval_templates
SET supersedes = (SELECT max(t.id) FROM approval_templates t WHERE t.id < approval_templates.id);

CREATE UNIQUE INDEX approval_templates_supersedes ON approval_templates(supersedes);
