//! The staff inbox page (`/inbox`): one's entries newest first with paging
//! and filters, marking read, the choice of SMS and e-mail copies per kind,
//! and the live unread count of the header (`/inbox/events`, SSE).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;

use mashangban_app::App;
use mashangban_app::inbox::{
    InboxEntryView, InboxQuery, MarkReadInput, PreferenceItem, PreferenceView, PreferencesInput,
};
use mashangban_domain::access::Permission;
use mashangban_domain::inbox::InboxKind;
use mashangban_store::Store;

use super::{Choice, Layout, PageError, PageResult, render, short_time};
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Form, PageQuery as Query};
use crate::routes::{Menu, MenuKind, Route};

/// A badge stream recounts this often even without a change announced (a
/// lost signal from another node still reaches the header).
const RECHECK: Duration = Duration::from_secs(30);

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let inbox = Permission::UseInbox;
    vec![
        Route::get("/inbox", page::<S>).permission(inbox).nav(MenuKind::Main, 12, "消息"),
        Route::post("/inbox/read", mark_read::<S>).permission(inbox).form(),
        Route::post("/inbox/preferences", save_preferences::<S>).permission(inbox).form(),
        Route::get("/inbox/events", events::<S>).permission(inbox),
    ]
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    entries: Vec<InboxEntryView>,
    total: u64,
    unread: u64,
    kinds: Vec<Choice>,
    unread_only: bool,
    /// The query string of the next page, if there is one.
    next: Option<String>,
    /// The query string of this page (to come back after marking read).
    here: String,
    preferences: Vec<PreferenceView>,
    phone: Option<String>,
    has_email: bool,
    saved: bool,
}

impl InboxPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

#[derive(Debug, Default, Deserialize)]
struct PageParams {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    unread: Option<String>,
    #[serde(default)]
    before: Option<String>,
    #[serde(default)]
    saved: Option<String>,
}

/// `GET /inbox[?kind=&unread=true&before=]`.
async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(params): Query<PageParams>,
) -> PageResult {
    let query = InboxQuery {
        kind: params.kind.clone(),
        unread: params.unread.clone(),
        before: params.before.clone(),
        limit: None,
    };
    let filter = app.inbox().filter(&query)?;
    let listed = app.inbox().list(&caller, &filter).await?;
    let preferences = app.inbox().preferences(&caller).await?;
    let kind = filter.kind.map(InboxKind::as_str).unwrap_or_default();
    let mut base = Vec::new();
    if !kind.is_empty() {
        base.push(format!("kind={kind}"));
    }
    if filter.unread_only {
        base.push("unread=true".to_owned());
    }
    let here = base.join("&");
    let next = listed.next_before.map(|b| {
        let mut q = base.clone();
        q.push(format!("before={b}"));
        q.join("&")
    });
    let page = InboxPage {
        layout: Layout::staff("消息", &caller.actor, &menu),
        entries: listed.entries,
        total: listed.total,
        unread: listed.unread,
        kinds: InboxKind::ALL.iter().map(|k| Choice::new(k.as_str(), k.label(), k.as_str() == kind)).collect(),
        unread_only: filter.unread_only,
        next,
        here,
        preferences: preferences.preferences,
        phone: preferences.phone,
        has_email: preferences.has_email,
        saved: params.saved.is_some(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /inbox/read`: `id` (one entry) or `all`, then back to the list (`back`: its query string).
async fn mark_read<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let mut input = MarkReadInput::default();
    let mut back = String::new();
    for (name, value) in pairs {
        match name.as_str() {
            "id" => match value.trim().parse::<i64>() {
                Ok(id) if input.ids.len() < 500 => input.ids.push(id),
                _ => return Err(PageError::Status(StatusCode::BAD_REQUEST, "消息编号不正确".into())),
            },
            "all" => input.all = true,
            "back" if value.len() <= 200 && value.chars().all(|c| c.is_ascii_alphanumeric() || "=&_".contains(c)) => {
                back = value;
            }
            _ => {}
        }
    }
    app.inbox().mark_read(&caller, input).await?;
    let to = if back.is_empty() { "/inbox".to_owned() } else { format!("/inbox?{back}") };
    Ok(Redirect::to(&to).into_response())
}

/// `POST /inbox/preferences`: checkboxes `sms_<kind>` and `email_<kind>`; unchecked means no.
async fn save_preferences<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let checked =
        |prefix: &str, kind: InboxKind| pairs.iter().any(|(n, _)| *n == format!("{prefix}_{}", kind.as_str()));
    let preferences = InboxKind::ALL
        .iter()
        .map(|&kind| PreferenceItem { kind, sms: checked("sms", kind), email: checked("email", kind) })
        .collect();
    app.inbox().set_preferences(&caller, PreferencesInput { preferences }).await?;
    Ok(Redirect::to("/inbox?saved=1").into_response())
}

/// `GET /inbox/events`: the header's live unread count. Each `count` event
/// carries the number; one is sent at once, then whenever it changes.
async fn events<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Response> {
    let user = mashangban_app::inbox::Inbox::<S>::owner(&caller)?;
    // Subscribe before the first count, so no change can fall in between.
    let receiver = app.live().subscribe_inbox();
    let closed = app.live().closed();
    let watch = Badge { app, user, receiver, last_sent: None, check_now: true };
    Ok(crate::live::sse_response(badge_stream(watch), closed))
}

struct Badge<S> {
    app: App<S>,
    user: i64,
    receiver: broadcast::Receiver<i64>,
    last_sent: Option<u64>,
    check_now: bool,
}

fn badge_stream<S: Store>(badge: Badge<S>) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    futures_util::stream::unfold(badge, |mut badge| async move {
        loop {
            if !badge.check_now && !badge.wait_for_change().await {
                return None;
            }
            badge.check_now = false;
            match badge.app.inbox().unread_of(badge.user).await {
                Ok(unread) if badge.last_sent != Some(unread) => {
                    badge.last_sent = Some(unread);
                    let event = Event::default().event("count").data(unread.to_string());
                    return Some((Ok(event), badge));
                }
                Ok(_) => {}
                // The store failed: end; the browser reconnects.
                Err(_) => return None,
            }
        }
    })
}

impl<S: Store> Badge<S> {
    /// Waits until this person's inbox may have changed, or [`RECHECK`] has passed; false when the hub closed.
    async fn wait_for_change(&mut self) -> bool {
        let recheck = tokio::time::sleep(RECHECK);
        tokio::pin!(recheck);
        loop {
            tokio::select! {
                received = self.receiver.recv() => match received {
                    Ok(user) if user == self.user => return true,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
                () = &mut recheck => return true,
            }
        }
    }
}
