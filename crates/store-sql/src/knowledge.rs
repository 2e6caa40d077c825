//! The knowledge base of standard answers (知识库 / 标准答复): every write
//! bumps the version under an optimistic check and appends the article as it
//! now reads to `knowledge_revisions`, in one transaction.
//!
//! Search is a scan of the active articles scoring each term of
//! [`search_terms`] (title 3, keywords 2, answer 1). The table is small
//! (hundreds of answers), and the terms are mostly two-character Chinese
//! words, which FTS5's trigram tokenizer cannot match.

use mashangban_domain::DomainError;
use mashangban_store::{
    Article, ArticleAuthor, ArticleId, ArticleInput, ArticleRevision, KnowledgeStore, StoreError, StoreResult,
    article_changed, article_not_found, search_terms,
};

use crate::rows::json_text;
use crate::sql::{Args, Conn, Database, Dialect, Row, job};
use crate::{SqlStore, args};

impl<D: Database> KnowledgeStore for SqlStore<D> {
    async fn create_article(&self, input: ArticleInput, author: ArticleAuthor) -> StoreResult<Article> {
        let input = input.validated()?;
        self.db.write(job(move |c| Box::pin(async move { create(c, &input, &author).await }))).await
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
            .write(job(move |c| Box::pin(async move { update(c, id, expected_version, &input, &author).await })))
            .await
    }

    async fn set_article_active(
        &self,
        id: ArticleId,
        expected_version: i64,
        active: bool,
        author: ArticleAuthor,
    ) -> StoreResult<Article> {
        let set = job(move |c| Box::pin(async move { set_active(c, id, expected_version, active, &author).await }));
        self.db.write(set).await
    }

    async fn article(&self, id: ArticleId) -> StoreResult<Option<Article>> {
        self.db.read(job(move |c| Box::pin(async move { load(c, id, false).await }))).await
    }

    async fn list_articles(&self) -> StoreResult<Vec<Article>> {
        let list = job(|c| {
            Box::pin(async move {
                let title = bytewise(c.dialect(), "title");
                let sql = format!("SELECT {ARTICLE_COLUMNS} FROM knowledge_articles ORDER BY active DESC, {title}, id");
                c.map(&sql, &[], article).await
            })
        });
        self.db.read(list).await
    }

    async fn article_revisions(&self, id: ArticleId) -> StoreResult<Vec<ArticleRevision>> {
        let sql =
            format!("SELECT {REVISION_COLUMNS} FROM knowledge_revisions WHERE article_id = $1 ORDER BY version DESC");
        self.db.read(job(move |c| Box::pin(async move { c.map(&sql, &args![id], revision).await }))).await
    }

    async fn search_articles(&self, query: &str, limit: u32) -> StoreResult<Vec<Article>> {
        let terms = search_terms(query);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        self.db.read(job(move |c| Box::pin(async move { search(c, terms, limit).await }))).await
    }
}

const ARTICLE_COLUMNS: &str = "id, title, body, category_id, keywords, active, version, updated_at, updated_by";

fn article(row: Row) -> StoreResult<Article> {
    let mut c = row.cols();
    Ok(Article {
        id: c.get()?,
        title: c.get()?,
        body: c.get()?,
        category_id: c.get()?,
        keywords: c.json()?,
        active: c.get()?,
        version: c.get()?,
        updated_at: c.get()?,
        updated_by: c.get()?,
    })
}

const REVISION_COLUMNS: &str =
    "article_id, version, title, body, category_id, keywords, active, at, by_user_id, by_name";

fn revision(row: Row) -> StoreResult<ArticleRevision> {
    let mut c = row.cols();
    Ok(ArticleRevision {
        article_id: c.get()?,
        version: c.get()?,
        title: c.get()?,
        body: c.get()?,
        category_id: c.get()?,
        keywords: c.json()?,
        active: c.get()?,
        at: c.get()?,
        by_user_id: c.get()?,
        by: c.get()?,
    })
}

/// `expr` compared and lowered byte by byte, as SQLite always does: on
/// PostgreSQL the C collation, under which `lower` changes ASCII letters only
/// and text sorts in code point order, whatever the database's locale.
fn bytewise(d: Dialect, expr: &str) -> String {
    match d {
        Dialect::Sqlite => expr.to_owned(),
        Dialect::Postgres => format!("{expr} COLLATE \"C\""),
    }
}

/// An article; `lock` holds its row until the transaction ends (PostgreSQL).
async fn load(c: &dyn Conn, id: ArticleId, lock: bool) -> StoreResult<Option<Article>> {
    let lock = if lock { c.dialect().lock_rows("knowledge_articles") } else { String::new() };
    let sql = format!("SELECT {ARTICLE_COLUMNS} FROM knowledge_articles WHERE id = $1{lock}");
    c.map_opt(&sql, &args![id], article).await
}

async fn check_category(c: &dyn Conn, input: &ArticleInput) -> StoreResult<()> {
    let Some(id) = input.category_id else { return Ok(()) };
    match c.query_opt("SELECT 1 FROM categories WHERE id = $1", &args![id]).await? {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid("unknown_category", "所属分类不存在").into()),
    }
}

/// The article at `expected_version`, locked for this transaction, or why not.
async fn current(c: &dyn Conn, id: ArticleId, expected_version: i64) -> StoreResult<Article> {
    let found = load(c, id, true).await?.ok_or_else(|| article_not_found(id))?;
    if found.version != expected_version {
        return Err(article_changed(found.version).into());
    }
    Ok(found)
}

/// Appends the article's row as it now stands to the revisions; the article.
async fn record_revision(c: &dyn Conn, id: ArticleId, author: &ArticleAuthor) -> StoreResult<Article> {
    c.execute(
        "INSERT INTO knowledge_revisions (article_id, version, title, body, category_id, keywords, active, at,
            by_user_id, by_name)
         SELECT id, version, title, body, category_id, keywords, active, updated_at, $2, updated_by
         FROM knowledge_articles WHERE id = $1",
        &args![id, author.user_id],
    )
    .await?;
    load(c, id, false).await?.ok_or_else(|| StoreError::backend("the article vanished while being written"))
}

async fn create(c: &dyn Conn, input: &ArticleInput, author: &ArticleAuthor) -> StoreResult<Article> {
    check_category(c, input).await?;
    let id: ArticleId = c
        .scalar(
            "INSERT INTO knowledge_articles (title, body, category_id, keywords, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &args![
                input.title.as_str(),
                input.body.as_str(),
                input.category_id,
                json_text(&input.keywords)?,
                &author.at,
                author.name.as_str()
            ],
        )
        .await?;
    record_revision(c, id, author).await
}

async fn update(
    c: &dyn Conn,
    id: ArticleId,
    expected_version: i64,
    input: &ArticleInput,
    author: &ArticleAuthor,
) -> StoreResult<Article> {
    current(c, id, expected_version).await?;
    check_category(c, input).await?;
    c.execute(
        "UPDATE knowledge_articles SET title = $2, body = $3, category_id = $4, keywords = $5,
            version = version + 1, updated_at = $6, updated_by = $7 WHERE id = $1",
        &args![
            id,
            input.title.as_str(),
            input.body.as_str(),
            input.category_id,
            json_text(&input.keywords)?,
            &author.at,
            author.name.as_str()
        ],
    )
    .await?;
    record_revision(c, id, author).await
}

/// Deactivates or reactivates; setting what already holds writes nothing.
async fn set_active(
    c: &dyn Conn,
    id: ArticleId,
    expected_version: i64,
    active: bool,
    author: &ArticleAuthor,
) -> StoreResult<Article> {
    let found = current(c, id, expected_version).await?;
    if found.active == active {
        return Ok(found);
    }
    c.execute(
        "UPDATE knowledge_articles SET active = $2, version = version + 1, updated_at = $3, updated_by = $4
         WHERE id = $1",
        &args![id, active, &author.at, author.name.as_str()],
    )
    .await?;
    record_revision(c, id, author).await
}

/// Scores every active article by the terms it contains. Keywords are
/// matched in their JSON text, Latin terms without regard to case. Articles
/// scoring under a quarter of the best one are noise (a common pair such as
/// 工作) and left out.
async fn search(c: &dyn Conn, terms: Vec<String>, limit: u32) -> StoreResult<Vec<Article>> {
    let d = c.dialect();
    let lower = |column: &str| format!("lower({})", bytewise(d, column));
    let mut args = Args::default();
    let score: Vec<String> = terms
        .into_iter()
        .map(|term| {
            let p = args.push(term);
            format!(
                "{} * 3 + {} * 2 + {}",
                d.contains_as_int(&lower("title"), &p),
                d.contains_as_int(&lower("keywords"), &p),
                d.contains_as_int(&lower("body"), &p),
            )
        })
        .collect();
    let sql = format!(
        "SELECT {ARTICLE_COLUMNS} FROM (
            SELECT *, MAX(score) OVER () AS best FROM (
                SELECT *, {score} AS score FROM knowledge_articles WHERE active
            ) scored WHERE score > 0
         ) ranked WHERE score * 4 >= best ORDER BY score DESC, {title}, id LIMIT {limit}",
        score = score.join(" + "),
        title = bytewise(d, "title"),
        limit = args.push(limit.clamp(1, 50)),
    );
    c.map(&sql, args.values(), article).await
}
