-- Accounts' histories (账号变更记录): who changed an account, what and when. Each change of a user
-- (created, role or unit changed, disabled or enabled, a password reset or changed, the e-mail or
-- the person's own contact changed) writes an entry in the change's transaction, SM3-sealed in
-- `history_seals` (history 'account_events', chained per user by row id). Details mask phones and
-- e-mail and never hold a password, its hash or a code.
CREATE TABLE account_events (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users(id),
    at       TEXT NOT NULL,
    by_name  TEXT NOT NULL,
    by_user  INTEGER,
    action   TEXT NOT NULL,
    detail   TEXT
);
CREATE INDEX account_events_user ON account_events(user_id);
CREATE TRIGGER account_events_no_update BEFORE UPDATE ON account_events
BEGIN SELECT RAISE(ABORT, 'account history is append-only'); END;
CREATE TRIGGER account_events_no_delete BEFORE DELETE ON account_events
BEGIN SELECT RAISE(ABORT, 'account history is append-only'); END;

-- Every account has a history: the accounts already there (their creation time was never kept)
-- start with an `existing` entry at this migration, sealed once after the fact like other events
-- older than the seals.
INSERT INTO account_events (user_id, at, by_name, by_user, action, detail)
    SELECT id, strftime('%Y-%m-%dT%H:%M:%f', 'now', '+8 hours') || '+08:00', '系统', NULL, 'existing',
        '账号变更记录启用前已有此账号'
    FROM users ORDER BY id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'account_events', user_id, MAX(id) FROM account_events GROUP BY user_id;
