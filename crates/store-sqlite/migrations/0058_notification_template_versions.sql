-- The edit history of notification templates (通知模板版本记录): every save of a template, and every
-- removal that puts the built-in words back in force (`deleted`, with no words), appends a version in
-- the transaction of the change, with when and by whom. Append-only. Templates stored before this
-- migration get their first version from their last save (`updated_at`, `updated_by`).
CREATE TABLE notification_template_versions (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL,
    channel     TEXT NOT NULL,
    subject     TEXT,
    body        TEXT NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    saved_at    TEXT NOT NULL,
    saved_by    TEXT NOT NULL,
    CHECK (deleted <> 0 OR body <> '')
);
CREATE INDEX notification_template_versions_key ON notification_template_versions(key, channel, id);
CREATE TRIGGER notification_template_versions_no_update BEFORE UPDATE ON notification_template_versions
BEGIN SELECT RAISE(ABORT, 'notification template history is append-only'); END;
CREATE TRIGGER notification_template_versions_no_delete BEFORE DELETE ON notification_template_versions
BEGIN SELECT RAISE(ABORT, 'notification template history is append-only'); END;

INSERT INTO notification_template_versions (key, channel, subject, body, deleted, saved_at, saved_by)
    SELECT key, channel, subject, body, 0, updated_at, updated_by FROM notification_templates
    WHERE body <> '' ORDER BY updated_at, key, channel;
