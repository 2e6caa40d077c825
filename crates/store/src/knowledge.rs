//! Storage of the knowledge base (知识库); the model and its rules are
//! [`mashangban_domain::knowledge`].

use std::future::Future;

pub use mashangban_domain::knowledge::*;

use crate::StoreResult;

/// Storage of the knowledge base.
pub trait KnowledgeStore {
    /// Creates an article (version 1) and its first revision.
    fn create_article(
        &self,
        input: ArticleInput,
        author: ArticleAuthor,
    ) -> impl Future<Output = StoreResult<Article>> + Send;

    /// Replaces the content of an article if it is still at `expected_version`
    /// (else `409 article_changed`), writing the next revision.
    fn update_article(
        &self,
        id: ArticleId,
        expected_version: i64,
        input: ArticleInput,
        author: ArticleAuthor,
    ) -> impl Future<Output = StoreResult<Article>> + Send;

    /// Deactivates (停用) or reactivates an article at `expected_version`,
    /// writing the next revision. Inactive articles are never suggested.
    fn set_article_active(
        &self,
        id: ArticleId,
        expected_version: i64,
        active: bool,
        author: ArticleAuthor,
    ) -> impl Future<Output = StoreResult<Article>> + Send;

    fn article(&self, id: ArticleId) -> impl Future<Output = StoreResult<Option<Article>>> + Send;

    /// Every article, active ones first, then by title.
    fn list_articles(&self) -> impl Future<Output = StoreResult<Vec<Article>>> + Send;

    /// Every version of an article, newest first.
    fn article_revisions(&self, id: ArticleId) -> impl Future<Output = StoreResult<Vec<ArticleRevision>>> + Send;

    /// Active articles matching the caller's words ([`search_terms`]), best
    /// first: each term found in the title counts 3, in the keywords 2, in
    /// the answer 1; ties by title. Articles scoring less than a quarter of
    /// the best are left out. At most `limit`.
    fn search_articles(&self, query: &str, limit: u32) -> impl Future<Output = StoreResult<Vec<Article>>> + Send;
}
