//! Requests, their events and attachments.

pub mod query;
pub mod write;

use std::collections::BTreeMap;

use mashangban_domain::org::{Actor, Scope, UnitId};
use mashangban_domain::request::{AttachmentId, Event, NewRequest, Request, RequestId};
use mashangban_domain::time::Instant;
use mashangban_store::{Attachment, Command, ListFilter, Meta, Page, RequestStore, StoreResult, SubUnitLoad, Upload};

use crate::rows::{self, ATTACHMENT_COLUMNS};
use crate::sql::{Database, Dialect, job};
use crate::{SqlStore, args};
use query::Key;

impl<D: Database> RequestStore for SqlStore<D> {
    async fn intake(&self, new: NewRequest, actor: &Actor, meta: &Meta) -> StoreResult<Request> {
        let (actor, meta) = (actor.clone(), meta.clone());
        let prefix = self.options.tracking_prefix.clone();
        match self.db.dialect() {
            Dialect::Sqlite => {
                let intake = job(move |c| {
                    Box::pin(async move {
                        let number = write::allocate(c, &prefix, &new, &meta).await?;
                        write::intake(c, number, new, &actor, &meta).await
                    })
                });
                self.db.write(intake).await
            }
            Dialect::Postgres => {
                let (new_ref, meta_ref) = (new.clone(), meta.clone());
                let number = self
                    .db
                    .write(job(move |c| {
                        Box::pin(async move { write::allocate(c, &prefix, &new_ref, &meta_ref).await })
                    }))
                    .await?;
                self.db
                    .write(job(move |c| Box::pin(async move { write::intake(c, number, new, &actor, &meta).await })))
                    .await
            }
        }
    }

    async fn find(&self, tracking_no: &str, scope: &Scope) -> StoreResult<Option<Request>> {
        let (key, scope) = (Key::Tracking(tracking_no.to_owned()), scope.clone());
        self.db.read(job(move |c| Box::pin(async move { query::load(c, &key, &scope, false).await }))).await
    }

    async fn find_by_id(&self, id: RequestId, scope: &Scope) -> StoreResult<Option<Request>> {
        let scope = scope.clone();
        self.db.read(job(move |c| Box::pin(async move { query::load(c, &Key::Id(id), &scope, false).await }))).await
    }

    async fn history(&self, request_id: RequestId) -> StoreResult<Vec<Event>> {
        self.db.read(job(move |c| Box::pin(query::history(c, request_id)))).await
    }

    async fn find_with_history(&self, tracking_no: &str, scope: &Scope) -> StoreResult<Option<(Request, Vec<Event>)>> {
        let (key, scope) = (Key::Tracking(tracking_no.to_owned()), scope.clone());
        let read = job(move |c| {
            Box::pin(async move {
                let Some(request) = query::load(c, &key, &scope, false).await? else { return Ok(None) };
                let events = query::history(c, request.id).await?;
                Ok(Some((request, events)))
            })
        });
        self.db.read(read).await
    }

    async fn reply_texts(&self, request_ids: &[RequestId]) -> StoreResult<BTreeMap<RequestId, Vec<String>>> {
        if request_ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let ids = request_ids.to_vec();
        self.db.read(job(move |c| Box::pin(async move { query::reply_texts(c, &ids).await }))).await
    }

    async fn act(&self, command: Command) -> StoreResult<Request> {
        self.db.write(job(move |c| Box::pin(write::act(c, command)))).await
    }

    async fn list(&self, filter: &ListFilter, scope: &Scope) -> StoreResult<Page<Request>> {
        let (filter, scope) = (filter.clone(), scope.clone());
        self.db.read(job(move |c| Box::pin(async move { query::list(c, &filter, &scope).await }))).await
    }

    async fn list_versions(&self, filter: &ListFilter, scope: &Scope) -> StoreResult<Vec<(RequestId, i64)>> {
        let (filter, scope) = (filter.clone(), scope.clone());
        self.db.read(job(move |c| Box::pin(async move { query::list_versions(c, &filter, &scope).await }))).await
    }

    async fn requests_by_ids(&self, ids: &[RequestId], scope: &Scope) -> StoreResult<Vec<Request>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, scope) = (ids.to_vec(), scope.clone());
        self.db.read(job(move |c| Box::pin(async move { query::by_ids(c, &ids, &scope).await }))).await
    }

    async fn count(&self, filter: &ListFilter, scope: &Scope) -> StoreResult<u64> {
        let (filter, scope) = (filter.clone(), scope.clone());
        self.db.read(job(move |c| Box::pin(async move { query::count(c, &filter, &scope).await }))).await
    }

    async fn add_attachment(&self, upload: Upload) -> StoreResult<Attachment> {
        self.db.write(job(move |c| Box::pin(write::add_attachment(c, upload)))).await
    }

    async fn attachments(&self, request_id: RequestId) -> StoreResult<Vec<Attachment>> {
        let sql = format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE request_id = $1 ORDER BY id");
        self.db
            .read(job(move |c| Box::pin(async move { c.map(&sql, &args![request_id], rows::attachment).await })))
            .await
    }

    async fn attachment_content(
        &self,
        request_id: RequestId,
        id: AttachmentId,
    ) -> StoreResult<Option<(Attachment, Vec<u8>)>> {
        let sql = format!("SELECT {ATTACHMENT_COLUMNS}, content FROM attachments WHERE request_id = $1 AND id = $2");
        let found = job(move |c| {
            Box::pin(async move {
                let Some(mut row) = c.query_opt(&sql, &args![request_id, id]).await? else {
                    return Ok(None);
                };
                let content: Vec<u8> = row.take(8)?;
                Ok(Some((rows::attachment(row)?, content)))
            })
        });
        self.db.read(found).await
    }

    async fn deadline_candidates(&self, until: Instant, after: RequestId, limit: u32) -> StoreResult<Vec<Request>> {
        let read = job(move |c| Box::pin(async move { query::deadline_candidates(c, &until, after, limit).await }));
        self.db.read(read).await
    }

    async fn recount_candidates(&self, after: RequestId, limit: u32) -> StoreResult<Vec<Request>> {
        self.db.read(job(move |c| Box::pin(async move { query::recount_candidates(c, after, limit).await }))).await
    }

    async fn awaiting_review(&self, scope: &Scope, units: &[UnitId], limit: u32) -> StoreResult<Vec<Request>> {
        let (scope, units) = (scope.clone(), units.to_vec());
        self.db
            .read(job(move |c| Box::pin(async move { query::awaiting_review(c, &scope, &units, limit).await })))
            .await
    }

    async fn sub_unit_load(&self, sub_units: &[UnitId], now: Instant) -> StoreResult<Vec<SubUnitLoad>> {
        let units = sub_units.to_vec();
        self.db.read(job(move |c| Box::pin(async move { query::sub_unit_load(c, &units, &now).await }))).await
    }
}
