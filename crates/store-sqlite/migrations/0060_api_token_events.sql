-- API tokens' histories (接口令牌变更记录): who created or revoked a token and when, written in the
-- change's transaction and SM3-sealed in `history_seals` (history 'api_token_events', chained per
-- token by row id). Never the token's secret or its hash.
CREATE TABLE api_token_events (
    id        INTEGER PRIMARY KEY,
    token_id  INTEGER NOT NULL REFERENCES api_tokens(id),
    at        TEXT NOT NULL,
    by_name   TEXT NOT NULL,
    by_user   INTEGER,
    action    TEXT NOT NULL,
    detail    TEXT
);
CREATE INDEX api_token_events_token ON api_token_events(token_id);
CREATE TRIGGER api_token_events_no_update BEFORE UPDATE ON api_token_events
BEGIN SELECT RAISE(ABORT, 'API token history is append-only'); END;
CREATE TRIGGER api_token_events_no_delete BEFORE DELETE ON api_token_events
BEGIN SELECT RAISE(ABORT, 'API token history is append-only'); END;

-- The tokens already there start with an `existing` entry at their creation time (who created them
-- was never kept), and those revoked with a `revoked` entry at that time; both sealed once after
-- the fact like other events older than the seals.
INSERT INTO api_token_events (token_id, at, by_name, by_user, action, detail)
    SELECT id, created_at, '系统', NULL, 'existing', '令牌变更记录启用前已创建' FROM api_tokens ORDER BY id;
INSERT INTO api_token_events (token_id, at, by_name, by_user, action, detail)
    SELECT id, revoked_at, '系统', NULL, 'revoked', '令牌变更记录启用前已吊销'
    FROM api_tokens WHERE revoked_at IS NOT NULL ORDER BY id;
INSERT INTO history_legacy (history, chain_id, upto)
    SELECT 'api_token_events', token_id, MAX(id) FROM api_token_events GROUP BY token_id;
