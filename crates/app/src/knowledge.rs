//! The knowledge base of standard answers (知识库 / 标准答复): staff search
//! and read the answers (operators read them to callers and cite them when
//! closing a consultation at once); administrators write them, every save a
//! new version (optimistic: a stale version is refused with 409).
//!
//! This module is the worked example of `docs/architecture.md` ("How to add
//! a module"): typed input and views, one service, no HTTP.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::access::Permission;
use mashangban_domain::time::format_instant;
use mashangban_store::{Article, ArticleAuthor, ArticleId, ArticleInput, ArticleRevision, Store, article_not_found};

use crate::error::{AppError, AppResult};
use crate::views::CategoryRef;
use crate::{App, Caller};

/// Suggestions shown at most.
pub const SEARCH_LIMIT: u32 = 10;

/// The longest search, in characters.
pub const QUERY_MAX: usize = 200;

/// The line a direct close (直接办结) ends with when the operator read a
/// standard answer, so the request's history names the exact version used.
pub fn citation(id: ArticleId, version: i64) -> String {
    format!("【标准答复 #{id} 第{version}版】")
}

/// The knowledge service: `app.knowledge()`.
pub struct Knowledge<'a, S> {
    app: &'a App<S>,
}

/// An article as people see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ArticleView {
    pub id: ArticleId,
    pub title: String,
    pub body: String,
    /// The category's code and name, if the article has one.
    pub category: Option<CategoryRef>,
    pub keywords: Vec<String>,
    pub active: bool,
    pub version: i64,
    pub updated_at: String,
    pub updated_by: String,
    /// The line to end a direct close with: see [`citation`].
    pub citation: String,
}

/// A version of an article exactly as it read.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RevisionView {
    pub version: i64,
    pub title: String,
    pub body: String,
    pub category: Option<CategoryRef>,
    pub keywords: Vec<String>,
    pub active: bool,
    pub at: String,
    pub by: String,
}

/// An article as administrators send it; `category` is a category code.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleBody {
    #[schemars(length(max = 100))]
    pub title: String,
    /// The standard answer (标准答复正文).
    #[schemars(length(max = 3900))]
    pub body: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub keywords: Vec<String>,
}

/// A new version of an article, made on `version`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleUpdate {
    /// The version the change was made on (optimistic check).
    pub version: i64,
    #[schemars(length(max = 100))]
    pub title: String,
    #[schemars(length(max = 3900))]
    pub body: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub keywords: Vec<String>,
}

impl ArticleUpdate {
    /// The article's new content.
    pub fn article(self) -> ArticleBody {
        ArticleBody { title: self.title, body: self.body, category: self.category, keywords: self.keywords }
    }
}

/// Deactivation (停用) or reactivation, made on `version`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleActive {
    pub version: i64,
    /// `false` deactivates, `true` reactivates.
    pub active: bool,
}

impl<'a, S: Store> Knowledge<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// A search (active articles only, best first, at most [`SEARCH_LIMIT`])
    /// or, without words, every active article, and for those who manage the
    /// knowledge base the deactivated ones too.
    pub async fn find(&self, caller: &Caller, q: &str) -> AppResult<Vec<ArticleView>> {
        let q = q.trim();
        if q.chars().count() > QUERY_MAX {
            return Err(AppError::bad_parameter(format!("「q」不能超过{QUERY_MAX}个字")));
        }
        let articles = if q.is_empty() {
            let all = self.app.store().list_articles().await?;
            all.into_iter().filter(|a| a.active || caller.may(Permission::ManageKnowledge)).collect()
        } else {
            self.app.store().search_articles(q, SEARCH_LIMIT).await?
        };
        Ok(articles.into_iter().map(|a| self.view(a)).collect())
    }

    /// Active articles matching the words, at most `limit` (the console's suggestions).
    pub async fn suggest(&self, words: &str, limit: u32) -> AppResult<Vec<ArticleView>> {
        let words: String = words.chars().take(QUERY_MAX).collect();
        Ok(self.app.store().search_articles(&words, limit).await?.into_iter().map(|a| self.view(a)).collect())
    }

    /// An article; a deactivated one only for those who manage the knowledge base.
    pub async fn get(&self, caller: &Caller, id: &str) -> AppResult<ArticleView> {
        let article = self.article(id).await?;
        if !article.active && !caller.may(Permission::ManageKnowledge) {
            return Err(article_not_found(article.id).into());
        }
        Ok(self.view(article))
    }

    /// An active article by id, if there is one (the console's picked answer).
    pub async fn active(&self, id: ArticleId) -> AppResult<Option<ArticleView>> {
        Ok(self.app.store().article(id).await?.filter(|a| a.active).map(|a| self.view(a)))
    }

    /// Every version of an article, newest first, so the text an answer
    /// cited can be read again.
    pub async fn revisions(&self, id: &str) -> AppResult<Vec<RevisionView>> {
        let article = self.article(id).await?;
        let all = self.app.store().article_revisions(article.id).await?;
        Ok(all.into_iter().map(|r| self.revision_view(r)).collect())
    }

    /// Creates an article.
    pub async fn create(&self, caller: &Caller, body: ArticleBody) -> AppResult<ArticleView> {
        let input = self.input(body)?;
        let article = self.app.store().create_article(input, self.author(caller)).await?;
        Ok(self.view(article))
    }

    /// Saves a new version of an article that is still at `version`.
    pub async fn update(&self, caller: &Caller, id: &str, update: ArticleUpdate) -> AppResult<ArticleView> {
        let article = self.article(id).await?;
        let version = update.version;
        let input = self.input(update.article())?;
        let saved = self.app.store().update_article(article.id, version, input, self.author(caller)).await?;
        Ok(self.view(saved))
    }

    /// Deactivates or reactivates an article that is still at `version`.
    pub async fn set_active(&self, caller: &Caller, id: &str, change: ArticleActive) -> AppResult<ArticleView> {
        let article = self.article(id).await?;
        let author = self.author(caller);
        let saved = self.app.store().set_article_active(article.id, change.version, change.active, author).await?;
        Ok(self.view(saved))
    }

    /// An article by the id in a path; a malformed id is as unknown as a missing one.
    async fn article(&self, id: &str) -> AppResult<Article> {
        let id: ArticleId =
            id.parse().map_err(|_| AppError::from(article_not_found(0)).with_message("标准答复不存在"))?;
        Ok(self.app.store().article(id).await?.ok_or_else(|| article_not_found(id))?)
    }

    fn author(&self, caller: &Caller) -> ArticleAuthor {
        ArticleAuthor::new(&caller.actor, self.app.now())
    }

    /// The store's input: the category code resolved (an active category).
    fn input(&self, body: ArticleBody) -> AppResult<ArticleInput> {
        let code = body.category.filter(|c| !c.trim().is_empty());
        let category_id = match code {
            Some(code) => Some(
                self.app
                    .caches()
                    .categories()
                    .iter()
                    .find(|c| c.code == code.trim() && c.active)
                    .map(|c| c.id)
                    .ok_or_else(|| AppError::invalid("unknown_category", format!("分类「{code}」不存在")))?,
            ),
            None => None,
        };
        Ok(ArticleInput { title: body.title, body: body.body, category_id, keywords: body.keywords })
    }

    fn category_ref(&self, id: Option<i64>) -> Option<CategoryRef> {
        let categories = self.app.caches().categories();
        let c = categories.iter().find(|c| Some(c.id) == id)?;
        Some(CategoryRef { code: c.code.clone(), name: c.name.clone() })
    }

    fn view(&self, a: Article) -> ArticleView {
        ArticleView {
            category: self.category_ref(a.category_id),
            updated_at: format_instant(&a.updated_at),
            citation: citation(a.id, a.version),
            id: a.id,
            title: a.title,
            body: a.body,
            keywords: a.keywords,
            active: a.active,
            version: a.version,
            updated_by: a.updated_by,
        }
    }

    fn revision_view(&self, r: ArticleRevision) -> RevisionView {
        RevisionView {
            category: self.category_ref(r.category_id),
            at: format_instant(&r.at),
            version: r.version,
            title: r.title,
            body: r.body,
            keywords: r.keywords,
            active: r.active,
            by: r.by,
        }
    }
}
