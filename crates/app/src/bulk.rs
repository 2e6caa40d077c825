//! Bulk actions on the queues (批量办理): dispatch several requests of one
//! category to one unit (派单), urge several (催办). Each request goes through
//! the one action path (`app.requests().act`: scope, lifecycle, its own event
//! in its own history, its own transaction), so a request is changed wholly or
//! not at all; the answer says per request what happened. A request the
//! person saw at another version (it changed since the queue was shown) is
//! left alone.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_store::Store;

use crate::error::{AppError, AppResult, CurrentState};
use crate::input::{ActionInput, ActionRequest, DispatchBody, UrgeBody, unit_by_code};
use crate::{App, Caller};

/// The most requests one bulk action names (a queue page).
pub const BULK_MAX: usize = 50;

/// The bulk actions service: `app.bulk()`.
pub struct Bulk<'a, S> {
    app: &'a App<S>,
}

/// A request to act on, with the version the person saw.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkTarget {
    pub tracking_no: String,
    /// The version shown in the queue; a request changed since is left alone (`version_changed`).
    #[serde(default)]
    pub version: Option<i64>,
}

/// Dispatch (派单) several requests of one category to one lead unit.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDispatchInput {
    /// At most 50, all of one category (诉求分类).
    pub requests: Vec<BulkTarget>,
    /// The lead unit's code.
    pub lead_unit: String,
    /// Co-handling units' codes (协办单位).
    #[serde(default)]
    pub co_units: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// Urge (催办) several requests with one message.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUrgeInput {
    /// At most 50.
    pub requests: Vec<BulkTarget>,
    pub message: String,
}

/// What happened to one request.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BulkItemResult {
    pub tracking_no: String,
    /// Whether the action was taken (its event is in the request's history).
    pub ok: bool,
    /// Why not: the code and message one action would have answered, e.g.
    /// `version_changed`, `illegal_transition`, `request_not_found`.
    pub code: Option<&'static str>,
    pub message: Option<String>,
    /// The request's state and version after (or, refused, as it now is, where known).
    pub state: Option<&'static str>,
    pub state_label: Option<&'static str>,
    pub version: Option<i64>,
}

/// The answer of a bulk action: per request, in the order named.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BulkOutcome {
    /// `dispatch` or `urge`.
    pub action: &'static str,
    pub done: u32,
    pub failed: u32,
    pub results: Vec<BulkItemResult>,
}

impl BulkItemResult {
    fn done(current: &CurrentState) -> Self {
        Self {
            tracking_no: current.tracking_no.clone(),
            ok: true,
            code: None,
            message: None,
            state: Some(current.state),
            state_label: Some(current.state_label),
            version: Some(current.version),
        }
    }

    fn refused(tracking_no: &str, error: AppError) -> Self {
        let current = error.current.as_deref();
        Self {
            tracking_no: tracking_no.to_owned(),
            ok: false,
            code: Some(error.code),
            message: Some(error.message.clone()),
            state: current.map(|c| c.state),
            state_label: current.map(|c| c.state_label),
            version: current.map(|c| c.version),
        }
    }
}

impl<'a, S: Store> Bulk<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Dispatches each request to the unit; all must be of one category
    /// (`bulk_mixed_categories`, nothing done), and the unit must exist
    /// (`unknown_unit`, nothing done).
    pub async fn dispatch(&self, caller: &Caller, input: BulkDispatchInput) -> AppResult<BulkOutcome> {
        let targets = checked(input.requests)?;
        {
            let org = self.app.caches().org();
            unit_by_code(&org, &input.lead_unit)?;
            for code in &input.co_units {
                unit_by_code(&org, code)?;
            }
        }
        // One category: those found in scope are compared (the others fail one by one below).
        let mut categories = BTreeSet::new();
        for target in &targets {
            if let Ok(request) = self.app.requests().find(caller, &target.tracking_no).await {
                categories.insert(request.category_id);
            }
        }
        if categories.len() > 1 {
            return Err(AppError::invalid(
                "bulk_mixed_categories",
                "批量派单只能派同一分类的诉求；所选诉求分属多个分类，请按分类分别派单",
            ));
        }
        let body = DispatchBody { lead_unit: input.lead_unit, co_units: input.co_units, comment: input.comment };
        self.each(caller, "dispatch", targets, || ActionInput::Dispatch(body.clone())).await
    }

    /// Urges each request with the message.
    pub async fn urge(&self, caller: &Caller, input: BulkUrgeInput) -> AppResult<BulkOutcome> {
        let targets = checked(input.requests)?;
        let body = UrgeBody { message: input.message };
        self.each(caller, "urge", targets, || ActionInput::Urge(body.clone())).await
    }

    /// Takes the action on each request in turn, each in its own transaction.
    async fn each(
        &self,
        caller: &Caller,
        action: &'static str,
        targets: Vec<BulkTarget>,
        input: impl Fn() -> ActionInput,
    ) -> AppResult<BulkOutcome> {
        let mut results = Vec::with_capacity(targets.len());
        for target in targets {
            let no = target.tracking_no.as_str();
            // The version is checked in the action's own transaction: nothing can slip in between.
            let one = ActionRequest { action: input(), attachment_ids: Vec::new(), expected_version: target.version };
            let result = match self.app.requests().act(caller, no, one).await {
                Ok(detail) => BulkItemResult::done(&CurrentState {
                    tracking_no: detail.request.tracking_no,
                    state: detail.request.state,
                    state_label: detail.request.state_label,
                    version: detail.request.version,
                    updated_at: detail.request.updated_at,
                }),
                Err(e) => BulkItemResult::refused(no, e),
            };
            results.push(result);
        }
        let done = results.iter().filter(|r| r.ok).count() as u32;
        Ok(BulkOutcome { action, done, failed: results.len() as u32 - done, results })
    }
}

/// The targets named once each, in order; refused when none or too many.
fn checked(requests: Vec<BulkTarget>) -> AppResult<Vec<BulkTarget>> {
    if requests.len() > BULK_MAX {
        return Err(AppError::invalid("bulk_too_many", format!("一次最多批量办理 {BULK_MAX} 件诉求")));
    }
    let mut seen = BTreeSet::new();
    let targets: Vec<BulkTarget> = requests
        .into_iter()
        .map(|t| BulkTarget { tracking_no: t.tracking_no.trim().to_owned(), ..t })
        .filter(|t| !t.tracking_no.is_empty() && seen.insert(t.tracking_no.clone()))
        .collect();
    if targets.is_empty() {
        return Err(AppError::invalid("bulk_empty", "请至少勾选一件诉求"));
    }
    Ok(targets)
}
