-- The knowledge base of standard answers (知识库 / 标准答复).
-- Depends only on 0001 (categories). 0006 (the dashboard, on another branch) will sit
-- before it when merged; IF NOT EXISTS lets a database made on this branch take
-- the renumbering without failing.

CREATE TABLE IF NOT EXISTS knowledge_articles (
    id               INTEGER PRIMARY KEY,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    category_id      INTEGER REFERENCES categories(id),
    keywords         TEXT NOT NULL DEFAULT '[]',
    active           INTEGER NOT NULL DEFAULT 1,
    version          INTEGER NOT NULL DEFAULT 1,
    updated_at       TEXT NOT NULL,
    updated_by       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS knowledge_articles_active ON knowledge_articles(active, title);

-- Every version exactly as it read, so an answer given can be traced to its text.
-- No foreign key to users: the record outlives them.
CREATE TABLE IF NOT EXISTS knowledge_revisions (
    article_id   INTEGER NOT NULL REFERENCES knowledge_articles(id),
    version      INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    category_id  INTEGER,
    keywords     TEXT NOT NULL,
    active       INTEGER NOT NULL,
    at           TEXT NOT NULL,
    by_user_id   INTEGER,
    by_name      TEXT NOT NULL,
    PRIMARY KEY (article_id, version)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS knowledge_revisions_no_update BEFORE UPDATE ON knowledge_revisions
BEGIN SELECT RAISE(ABORT, 'knowledge revisions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS knowledge_revisions_no_delete BEFORE DELETE ON knowledge_revisions
BEGIN SELECT RAISE(ABORT, 'knowledge revisions are append-only'); END;
