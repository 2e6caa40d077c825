//! The staff inbox (消息提醒): one's own entries with paging and filters, the
//! unread count, marking read, and the choice of SMS and e-mail copies.

use axum::Json;
use axum::extract::State;

use mashangban_app::App;
use mashangban_app::inbox::{
    InboxCount, InboxPage, InboxQuery, MarkReadInput, MarkedRead, PreferencesInput, PreferencesView,
};
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::Query;
use crate::json::JsonBody;
use crate::routes::Route;

const FILTERS: &[(&str, &str)] = &[
    (
        "kind",
        "assigned（新派工单）、returned（退单待审）、extension_requested（延期待审）、urged（催办）、supervised（督办）、extension_answered（延期审核结果）、due_soon（临期）或 overdue（超期）",
    ),
    ("unread", "true：只看未读"),
    ("before", "下一页：上一页答复中的 next_before"),
    ("limit", "每页条数，1–100，默认 20"),
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let inbox = Permission::UseInbox;
    vec![
        Route::get("/api/v1/inbox", list::<S>)
            .permission(inbox)
            .doc("inbox", "我的消息提醒（最新的在前；按类型、未读筛选，分页）")
            .query(FILTERS)
            .answer::<InboxPage>()
            .errors(&["invalid_parameter", "invalid_query", "duplicate_parameter", "inbox_needs_person"]),
        Route::get("/api/v1/inbox/count", count::<S>)
            .permission(inbox)
            .doc("inbox", "未读消息数")
            .answer::<InboxCount>()
            .errors(&["inbox_needs_person"]),
        Route::post("/api/v1/inbox/read", mark_read::<S>)
            .permission(inbox)
            .doc("inbox", "标记已读（指定消息或全部）")
            .body::<MarkReadInput>()
            .answer::<MarkedRead>()
            .errors(&["invalid_field", "inbox_needs_person"]),
        Route::get("/api/v1/inbox/preferences", preferences::<S>)
            .permission(inbox)
            .doc("inbox", "各类消息是否同时发短信、邮件")
            .answer::<PreferencesView>()
            .errors(&["inbox_needs_person"]),
        Route::put("/api/v1/inbox/preferences", set_preferences::<S>)
            .permission(inbox)
            .doc("inbox", "设置各类消息是否同时发短信、邮件")
            .body::<PreferencesInput>()
            .answer::<PreferencesView>()
            .errors(&["invalid_field", "inbox_needs_person"]),
    ]
}

async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Query(query): Query<InboxQuery>,
) -> ApiResult<Json<InboxPage>> {
    let filter = app.inbox().filter(&query)?;
    Ok(Json(app.inbox().list(&caller, &filter).await?))
}

async fn count<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<InboxCount>> {
    Ok(Json(app.inbox().count(&caller).await?))
}

async fn mark_read<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<MarkReadInput>,
) -> ApiResult<Json<MarkedRead>> {
    Ok(Json(app.inbox().mark_read(&caller, input).await?))
}

async fn preferences<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<PreferencesView>> {
    Ok(Json(app.inbox().preferences(&caller).await?))
}

async fn set_preferences<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<PreferencesInput>,
) -> ApiResult<Json<PreferencesView>> {
    Ok(Json(app.inbox().set_preferences(&caller, input).await?))
}
