//! The knowledge base of standard answers in PostgreSQL, as in SQLite:
//! every write bumps the version under an optimistic check and appends the
//! article as it now reads to `knowledge_revisions`, in one transaction.
//! Search scores each term of [`search_terms`] with `strpos` (title 3,
//! keywords 2, answer 1) over the active articles.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use mashangban_domain::DomainError;
use mashangban_store::{
    Article, ArticleAuthor, ArticleId, ArticleInput, ArticleRevision, KnowledgeStore, StoreError, StoreResult,
    article_changed, article_not_found, search_terms,
};

use crate::PgStore;
use crate::db::{Params, commit, db_err, execute, query, query_one, query_opt};
use crate::rows::{bad, get, instant, ts};

const ARTICLE_COLUMNS: &str = "id, title, body, category_id, keywords, active, version, updated_at, updated_by";

fn keywords(row: &Row) -> StoreResult<Vec<String>> {
    let s: String = get(row, "keywords")?;
    serde_json::from_str(&s).map_err(|_| bad("keywords", &s))
}

fn article(row: &Row) -> StoreResult<Article> {
    Ok(Article {
        id: get(row, "id")?,
        title: get(row, "title")?,
        body: get(row, "body")?,
        category_id: get(row, "category_id")?,
        keywords: keywords(row)?,
        active: get(row, "active")?,
        version: get(row, "version")?,
        updated_at: instant(row, "updated_at")?,
        updated_by: get(row, "updated_by")?,
    })
}

fn revision(row: &Row) -> StoreResult<ArticleRevision> {
    Ok(ArticleRevision {
        article_id: get(row, "article_id")?,
        version: get(row, "version")?,
        title: get(row, "title")?,
        body: get(row, "body")?,
        category_id: get(row, "category_id")?,
        keywords: keywords(row)?,
        active: get(row, "active")?,
        at: instant(row, "at")?,
        by_user_id: get(row, "by_user_id")?,
        by: get(row, "by_name")?,
    })
}

async fn load(c: &impl GenericClient, id: ArticleId, lock: bool) -> StoreResult<Option<Article>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {ARTICLE_COLUMNS} FROM knowledge_articles WHERE id = $1{lock}");
    query_opt(c, &sql, &[&id]).await?.map(|r| article(&r)).transpose()
}

async fn check_category(c: &impl GenericClient, input: &ArticleInput) -> StoreResult<()> {
    let Some(id) = input.category_id else { return Ok(()) };
    match query_opt(c, "SELECT 1 FROM categories WHERE id = $1", &[&id]).await? {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid("unknown_category", "所属分类不存在").into()),
    }
}

/// The article at `expected_version`, locked for this transaction, or why not.
async fn current(c: &impl GenericClient, id: ArticleId, expected_version: i64) -> StoreResult<Article> {
    let found = load(c, id, true).await?.ok_or_else(|| article_not_found(id))?;
    if found.version != expected_version {
        return Err(article_changed(found.version).into());
    }
    Ok(found)
}

/// Appends the article's row as it now stands to the revisions.
async fn record_revision(c: &impl GenericClient, id: ArticleId, author: &ArticleAuthor) -> StoreResult<Article> {
    execute(
        c,
        "INSERT INTO knowledge_revisions (article_id, version, title, body, category_id, keywords, active, at, by_user_id, by_name)
         SELECT id, version, title, body, category_id, keywords, active, updated_at, $2, updated_by
         FROM knowledge_articles WHERE id = $1",
        &[&id, &author.user_id],
    )
    .await?;
    load(c, id, false).await?.ok_or_else(|| StoreError::backend("the article vanished while being written"))
}

fn keywords_json(input: &ArticleInput) -> StoreResult<String> {
    serde_json::to_string(&input.keywords).map_err(StoreError::backend)
}

impl KnowledgeStore for PgStore {
    async fn create_article(&self, input: ArticleInput, author: ArticleAuthor) -> StoreResult<Article> {
        let input = input.validated()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        check_category(&tx, &input).await?;
        let row = query_one(
            &tx,
            "INSERT INTO knowledge_articles (title, body, category_id, keywords, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[&input.title, &input.body, &input.category_id, &keywords_json(&input)?, &ts(&author.at), &author.name],
        )
        .await?;
        let saved = record_revision(&tx, get(&row, "id")?, &author).await?;
        commit(tx).await?;
        Ok(saved)
    }

    async fn update_article(
        &self,
        id: ArticleId,
        expected_version: i64,
        input: ArticleInput,
        author: ArticleAuthor,
    ) -> StoreResult<Article> {
        let input = input.validated()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        current(&tx, id, expected_version).await?;
        check_category(&tx, &input).await?;
        execute(
            &tx,
            "UPDATE knowledge_articles SET title = $2, body = $3, category_id = $4, keywords = $5,
                version = version + 1, updated_at = $6, updated_by = $7 WHERE id = $1",
            &[
                &id,
                &input.title,
                &input.body,
                &input.category_id,
                &keywords_json(&input)?,
                &ts(&author.at),
                &author.name,
            ],
        )
        .await?;
        let saved = record_revision(&tx, id, &author).await?;
        commit(tx).await?;
        Ok(saved)
    }

    async fn set_article_active(
        &self,
        id: ArticleId,
        expected_version: i64,
        active: bool,
        author: ArticleAuthor,
    ) -> StoreResult<Article> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db_err)?;
        let found = current(&tx, id, expected_version).await?;
        if found.active == active {
            return Ok(found);
        }
        execute(
            &tx,
            "UPDATE knowledge_articles SET active = $2, version = version + 1, updated_at = $3, updated_by = $4 WHERE id = $1",
            &[&id, &active, &ts(&author.at), &author.name],
        )
        .await?;
        let saved = record_revision(&tx, id, &author).await?;
        commit(tx).await?;
        Ok(saved)
    }

    async fn article(&self, id: ArticleId) -> StoreResult<Option<Article>> {
        load(&self.client().await?, id, false).await
    }

    async fn list_articles(&self) -> StoreResult<Vec<Article>> {
        let sql = format!("SELECT {ARTICLE_COLUMNS} FROM knowledge_articles ORDER BY active DESC, title, id");
        query(&self.client().await?, &sql, &[]).await?.iter().map(article).collect()
    }

    async fn article_revisions(&self, id: ArticleId) -> StoreResult<Vec<ArticleRevision>> {
        let rows = query(
            &self.client().await?,
            "SELECT article_id, version, title, body, category_id, keywords, active, at, by_user_id, by_name
             FROM knowledge_revisions WHERE article_id = $1 ORDER BY version DESC",
            &[&id],
        )
        .await?;
        rows.iter().map(revision).collect()
    }

    async fn search_articles(&self, query_text: &str, limit: u32) -> StoreResult<Vec<Article>> {
        let terms = search_terms(query_text);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = Params::default();
        let score: Vec<String> = terms
            .into_iter()
            .map(|term| {
                let p = params.push(term);
                format!(
                    "(strpos(lower(title), {p}) > 0)::int * 3 + (strpos(lower(keywords), {p}) > 0)::int * 2 + (strpos(lower(body), {p}) > 0)::int"
                )
            })
            .collect();
        let limit = params.push(i64::from(limit.clamp(1, 50)));
        // Articles scoring under a quarter of the best are noise (a common pair such as 工作).
        let sql = format!(
            "SELECT {ARTICLE_COLUMNS} FROM (
                SELECT *, MAX(score) OVER () AS best FROM (
                    SELECT *, {} AS score FROM knowledge_articles WHERE active
                ) scored WHERE score > 0
             ) ranked WHERE score * 4 >= best ORDER BY score DESC, title, id LIMIT {limit}",
            score.join(" + ")
        );
        let client = self.client().await?;
        let rows = client.query(&sql, &params.refs()).await.map_err(db_err)?;
        rows.iter().map(article).collect()
    }
}
