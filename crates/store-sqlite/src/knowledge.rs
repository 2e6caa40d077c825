//! The knowledge base of standard answers in SQLite.
//!
//! Search is a scan of the active articles scoring each term of
//! [`search_terms`] with `instr` (title 3, keywords 2, answer 1). The table
//! is small (hundreds of answers), and the terms are mostly two-character
//! Chinese words, which FTS5's trigram tokenizer cannot match.

use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use mashangban_domain::DomainError;
use mashangban_store::{
    Article, ArticleAuthor, ArticleId, ArticleInput, ArticleRevision, KnowledgeStore, StoreError, StoreResult,
    article_changed, article_not_found, search_terms,
};

use crate::SqliteStore;
use crate::rows::{bad, db_err, instant, ts};

const ARTICLE_COLUMNS: &str = "id, title, body, category_id, keywords, active, version, updated_at, updated_by";

fn keywords(row: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<String>> {
    let s: String = row.get("keywords")?;
    serde_json::from_str(&s).map_err(|_| bad("keywords", &s))
}

fn article(row: &rusqlite::Row<'_>) -> rusqlite::Result<Article> {
    Ok(Article {
        id: row.get("id")?,
        title: row.get("title")?,
        body: row.get("body")?,
        category_id: row.get("category_id")?,
        keywords: keywords(row)?,
        active: row.get("active")?,
        version: row.get("version")?,
        updated_at: instant(row, "updated_at")?,
        updated_by: row.get("updated_by")?,
    })
}

fn revision(row: &rusqlite::Row<'_>) -> rusqlite::Result<ArticleRevision> {
    Ok(ArticleRevision {
        article_id: row.get("article_id")?,
        version: row.get("version")?,
        title: row.get("title")?,
        body: row.get("body")?,
        category_id: row.get("category_id")?,
        keywords: keywords(row)?,
        active: row.get("active")?,
        at: instant(row, "at")?,
        by_user_id: row.get("by_user_id")?,
        by: row.get("by_name")?,
    })
}

fn load(conn: &Connection, id: ArticleId) -> StoreResult<Option<Article>> {
    let sql = format!("SELECT {ARTICLE_COLUMNS} FROM knowledge_articles WHERE id = ?1");
    conn.query_row(&sql, [id], article).optional().map_err(db_err)
}

fn check_category(conn: &Connection, input: &ArticleInput) -> StoreResult<()> {
    let Some(id) = input.category_id else { return Ok(()) };
    let exists: bool =
        conn.query_row("SELECT EXISTS (SELECT 1 FROM categories WHERE id = ?1)", [id], |r| r.get(0)).map_err(db_err)?;
    if exists { Ok(()) } else { Err(DomainError::invalid("unknown_category", "所属分类不存在").into()) }
}

/// The article at `expected_version`, or why not.
fn current(conn: &Connection, id: ArticleId, expected_version: i64) -> StoreResult<Article> {
    let found = load(conn, id)?.ok_or_else(|| article_not_found(id))?;
    if found.version != expected_version {
        return Err(article_changed(found.version).into());
    }
    Ok(found)
}

/// Writes the article's row as it now stands into the revisions.
fn record_revision(conn: &Connection, id: ArticleId, author: &ArticleAuthor) -> StoreResult<Article> {
    conn.execute(
        "INSERT INTO knowledge_revisions (article_id, version, title, body, category_id, keywords, active, at, by_user_id, by_name)
         SELECT id, version, title, body, category_id, keywords, active, updated_at, ?2, updated_by
         FROM knowledge_articles WHERE id = ?1",
        params![id, author.user_id],
    )
    .map_err(db_err)?;
    load(conn, id)?.ok_or_else(|| StoreError::backend("the article vanished while being written"))
}

fn keywords_json(input: &ArticleInput) -> StoreResult<String> {
    serde_json::to_string(&input.keywords).map_err(StoreError::backend)
}

impl KnowledgeStore for SqliteStore {
    async fn create_article(&self, input: ArticleInput, author: ArticleAuthor) -> StoreResult<Article> {
        let input = input.validated()?;
        self.db
            .write(move |conn| {
                check_category(conn, &input)?;
                conn.execute(
                    "INSERT INTO knowledge_articles (title, body, category_id, keywords, updated_at, updated_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        input.title,
                        input.body,
                        input.category_id,
                        keywords_json(&input)?,
                        ts(&author.at),
                        author.name
                    ],
                )
                .map_err(db_err)?;
                record_revision(conn, conn.last_insert_rowid(), &author)
            })
            .await
    }

    async fn update_article(
        &self,
        id: ArticleId,
        expected_version: i64,
        input: ArticleInput,
        author: ArticleAuthor,
    ) -> StoreResult<Article> {
        let input = input.validated()?;
        self.db
            .write(move |conn| {
                current(conn, id, expected_version)?;
                check_category(conn, &input)?;
                conn.execute(
                    "UPDATE knowledge_articles SET title = ?2, body = ?3, category_id = ?4, keywords = ?5,
                        version = version + 1, updated_at = ?6, updated_by = ?7 WHERE id = ?1",
                    params![
                        id,
                        input.title,
                        input.body,
                        input.category_id,
                        keywords_json(&input)?,
                        ts(&author.at),
                        author.name
                    ],
                )
                .map_err(db_err)?;
                record_revision(conn, id, &author)
            })
            .await
    }

    async fn set_article_active(
        &self,
        id: ArticleId,
        expected_version: i64,
        active: bool,
        author: ArticleAuthor,
    ) -> StoreResult<Article> {
        self.db
            .write(move |conn| {
                let found = current(conn, id, expected_version)?;
                if found.active == active {
                    return Ok(found);
                }
                conn.execute(
                    "UPDATE knowledge_articles SET active = ?2, version = version + 1, updated_at = ?3, updated_by = ?4
                     WHERE id = ?1",
                    params![id, active, ts(&author.at), author.name],
                )
                .map_err(db_err)?;
                record_revision(conn, id, &author)
            })
            .await
    }

    async fn article(&self, id: ArticleId) -> StoreResult<Option<Article>> {
        self.db.read(move |conn| load(conn, id)).await
    }

    async fn list_articles(&self) -> StoreResult<Vec<Article>> {
        self.db
            .read(|conn| {
                let sql = format!("SELECT {ARTICLE_COLUMNS} FROM knowledge_articles ORDER BY active DESC, title, id");
                let mut stmt = conn.prepare_cached(&sql).map_err(db_err)?;
                let all = stmt.query_map([], article).map_err(db_err)?.collect::<Result<_, _>>();
                all.map_err(db_err)
            })
            .await
    }

    async fn article_revisions(&self, id: ArticleId) -> StoreResult<Vec<ArticleRevision>> {
        self.db
            .read(move |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT article_id, version, title, body, category_id, keywords, active, at, by_user_id, by_name
                         FROM knowledge_revisions WHERE article_id = ?1 ORDER BY version DESC",
                    )
                    .map_err(db_err)?;
                let all = stmt.query_map([id], revision).map_err(db_err)?.collect::<Result<_, _>>();
                all.map_err(db_err)
            })
            .await
    }

    async fn search_articles(&self, query: &str, limit: u32) -> StoreResult<Vec<Article>> {
        let terms = search_terms(query);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        self.db
            .read(move |conn| {
                let sql = search_sql(terms.len());
                let mut stmt = conn.prepare(&sql).map_err(db_err)?;
                let mut values: Vec<rusqlite::types::Value> = terms.into_iter().map(Into::into).collect();
                values.push(i64::from(limit.clamp(1, 50)).into());
                let found =
                    stmt.query_map(params_from_iter(values), article).map_err(db_err)?.collect::<Result<_, _>>();
                found.map_err(db_err)
            })
            .await
    }
}

/// `?1 … ?n` are the terms, `?n+1` the limit. Keywords are matched in their
/// JSON text, and Latin terms without regard to case. Articles scoring under
/// a quarter of the best one are noise (a common pair such as 工作) and left out.
fn search_sql(terms: usize) -> String {
    let score: Vec<String> = (1..=terms)
        .map(|i| {
            format!(
                "(instr(lower(title), ?{i}) > 0) * 3 + (instr(lower(keywords), ?{i}) > 0) * 2 + (instr(lower(body), ?{i}) > 0)"
            )
        })
        .collect();
    format!(
        "SELECT {ARTICLE_COLUMNS} FROM (
            SELECT *, MAX(score) OVER () AS best FROM (
                SELECT *, {} AS score FROM knowledge_articles WHERE active = 1
            ) WHERE score > 0
         ) WHERE score * 4 >= best ORDER BY score DESC, title, id LIMIT ?{}",
        score.join(" + "),
        terms + 1
    )
}
