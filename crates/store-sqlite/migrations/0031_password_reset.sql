-- Password reset by SMS code (短信验证码找回密码): one row per code sent, the
-- code kept only as a salted hash; its SMS goes through the outbox, written in
-- the same transaction. Numbered 0031 on its branch (0030 is another
-- branch's); its position in MIGRATIONS is its version.
CREATE TABLE password_resets (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    code_hash   TEXT NOT NULL,
    salt        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_at     TEXT,
    client_ip   TEXT
);
CREATE INDEX password_resets_user ON password_resets(user_id, id);
-- Accounts are found by the phone on file.
CREATE INDEX users_phone ON users(phone);
