//! Command centres (指挥部): centres, targets with progress and forecast,
//! tasks (施工图) with reports, urges and supervision, the town ranking, and
//! the Excel downloads.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use mashangban_app::command::{
    CentreBody, CentreView, Dashboard, DoneBody, NoteBody, RankingRow, TargetBody, TargetView, TaskBody, TaskDetail,
    TaskQuery, TaskView,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::command::{target_not_found, task_not_found};
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::json::JsonBody;
use crate::routes::Route;

const TASK_FILTERS: &[(&str, &str)] = &[
    ("state", "assigned（已交办）、reported（已报进展）或 done（已办结）"),
    ("unit", "承办单位或镇街编码"),
    ("overdue", "true：只看超期未办结的任务"),
];

const TARGET_ERRORS: &[&str] = &[
    "command_centre_not_found",
    "command_office_only",
    "unknown_ledger_type",
    "unknown_stage",
    "unknown_choice",
    "unknown_town",
    "invalid_date",
    "invalid_goal",
    "target_stages_required",
    "too_many_items",
    "text_required",
    "text_too_long",
];

const CHANGE_ERRORS: &[&str] = &[
    "command_task_not_found",
    "command_task_done",
    "command_office_only",
    "command_task_not_yours",
    "text_required",
    "text_too_long",
    "invalid_text",
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, work, manage) = (Permission::ReadCommand, Permission::WorkCommand, Permission::ManageCommand);
    vec![
        Route::get("/api/v1/command/centres", centres::<S>)
            .permission(read)
            .doc("command", "指挥部列表：总指挥、办公室、成员单位和镇街、所管台账")
            .answer::<Vec<CentreView>>(),
        Route::get("/api/v1/command/centres/{code}", centre::<S>)
            .permission(read)
            .doc("command", "一个指挥部的信息")
            .answer::<CentreView>()
            .errors(&["command_centre_not_found"]),
        Route::put("/api/v1/command/centres/{code}", save_centre::<S>)
            .permission(manage)
            .doc("command", "修改指挥部信息（管理员；带上读取时的版本号）")
            .body::<CentreBody>()
            .answer::<CentreView>()
            .errors(&[
                "command_centre_not_found",
                "command_centre_changed",
                "invalid_centre_code",
                "unknown_unit",
                "unknown_town",
                "unknown_ledger_type",
                "too_many_items",
                "text_required",
                "text_too_long",
            ]),
        Route::get("/api/v1/command/centres/{code}/dashboard", dashboard::<S>)
            .permission(read)
            .doc("command", "指挥部工作台：目标进度与预测、镇街排名、超期任务、任务列表（任务按数据范围）")
            .answer::<Dashboard>()
            .errors(&["command_centre_not_found"]),
        Route::get("/api/v1/command/centres/{code}/dashboard/export", dashboard_export::<S>)
            .permission(read)
            .doc("command", "导出指挥部工作台（Excel：目标进度与预测、任务）")
            .errors(&["command_centre_not_found"]),
        Route::get("/api/v1/command/centres/{code}/targets", targets::<S>)
            .permission(read)
            .doc("command", "指挥部的目标：从台账实时计数的进度和按近四周速度的预测")
            .answer::<Vec<TargetView>>()
            .errors(&["command_centre_not_found"]),
        Route::post("/api/v1/command/centres/{code}/targets", create_target::<S>)
            .permission(work)
            .doc(
                "command",
                "设定目标（指挥部办公室）：台账类型、计入的阶段、可选的选项条件、全市或某镇街、目标数、日期",
            )
            .body::<TargetBody>()
            .answer::<TargetView>()
            .created()
            .errors(TARGET_ERRORS),
        Route::put("/api/v1/command/targets/{id}", update_target::<S>)
            .permission(work)
            .doc("command", "修改目标（指挥部办公室；带上读取时的版本号）")
            .body::<TargetBody>()
            .answer::<TargetView>()
            .errors(&[
                "command_target_not_found",
                "command_target_changed",
                "version_required",
                "command_office_only",
                "unknown_stage",
                "invalid_goal",
                "invalid_date",
            ]),
        Route::get("/api/v1/command/centres/{code}/ranking", ranking::<S>)
            .permission(read)
            .doc("command", "镇街排名（沙场赛马）：目标完成率、任务按时办结率、台账推进度")
            .answer::<Vec<RankingRow>>()
            .errors(&["command_centre_not_found"]),
        Route::get("/api/v1/command/centres/{code}/ranking/export", ranking_export::<S>)
            .permission(read)
            .doc("command", "导出镇街排名（Excel）")
            .errors(&["command_centre_not_found"]),
        Route::get("/api/v1/command/centres/{code}/tasks", tasks::<S>)
            .permission(read)
            .doc("command", "指挥部的任务（办公室看全部，单位和镇街看本单位的）")
            .query(TASK_FILTERS)
            .answer::<Vec<TaskView>>()
            .errors(&["command_centre_not_found", "invalid_parameter", "unknown_parameter"]),
        Route::post("/api/v1/command/centres/{code}/tasks", create_task::<S>)
            .permission(work)
            .doc("command", "交办任务（指挥部办公室）：承办单位或镇街、办理时限（工作日）、可关联台账条目")
            .body::<TaskBody>()
            .answer::<TaskView>()
            .created()
            .errors(&[
                "command_centre_not_found",
                "command_office_only",
                "unknown_unit",
                "unknown_ledger_item",
                "ledger_item_outside_centre",
                "invalid_working_days",
                "text_required",
                "text_too_long",
            ]),
        Route::get("/api/v1/command/tasks/{id}", task::<S>)
            .permission(read)
            .doc("command", "一项任务及其经过（交办、进展报送、催办、督办、办结）")
            .answer::<TaskDetail>()
            .errors(&["command_task_not_found"]),
        Route::post("/api/v1/command/tasks/{id}/report", report::<S>)
            .permission(work)
            .doc("command", "报送任务进展（承办单位或镇街）")
            .body::<NoteBody>()
            .answer::<TaskDetail>()
            .errors(CHANGE_ERRORS),
        Route::post("/api/v1/command/tasks/{id}/done", done::<S>)
            .permission(work)
            .doc("command", "办结任务（指挥部办公室；须已报送进展）")
            .body::<DoneBody>()
            .answer::<TaskDetail>()
            .errors(&[
                "command_task_not_found",
                "command_task_done",
                "command_task_not_reported",
                "command_office_only",
            ]),
        Route::post("/api/v1/command/tasks/{id}/urge", urge::<S>)
            .permission(work)
            .doc("command", "催办任务（指挥部办公室，写明催办意见）")
            .body::<NoteBody>()
            .answer::<TaskDetail>()
            .errors(CHANGE_ERRORS),
        Route::post("/api/v1/command/tasks/{id}/supervise", supervise::<S>)
            .permission(work)
            .doc("command", "督办任务（指挥部办公室，写明督办意见）")
            .body::<NoteBody>()
            .answer::<TaskDetail>()
            .errors(CHANGE_ERRORS),
    ]
}

/// A task id from the path (`404 command_task_not_found` for anything else).
pub fn task_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(task_not_found()))?)
}

fn target_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(target_not_found()))?)
}

async fn centres<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<Vec<CentreView>>> {
    Ok(Json(app.command().centres(&caller).await?))
}

async fn centre<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<CentreView>> {
    Ok(Json(app.command().centre(&caller, &code).await?))
}

async fn save_centre<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<CentreBody>,
) -> ApiResult<Json<CentreView>> {
    Ok(Json(app.command().save_centre(&caller, &code, body).await?))
}

async fn dashboard<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Dashboard>> {
    Ok(Json(app.command().dashboard(&caller, &code).await?))
}

async fn dashboard_export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    let (name, bytes) = app.command().dashboard_xlsx(&caller, &code).await?;
    Ok(crate::download::xlsx(bytes, &name, "command-dashboard.xlsx"))
}

async fn targets<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<TargetView>>> {
    Ok(Json(app.command().targets(&code).await?))
}

async fn create_target<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<TargetBody>,
) -> ApiResult<(StatusCode, Json<TargetView>)> {
    Ok((StatusCode::CREATED, Json(app.command().create_target(&caller, &code, body).await?)))
}

async fn update_target<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<TargetBody>,
) -> ApiResult<Json<TargetView>> {
    Ok(Json(app.command().update_target(&caller, target_id(&id)?, body).await?))
}

async fn ranking<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<Vec<RankingRow>>> {
    Ok(Json(app.command().ranking(&code).await?))
}

async fn ranking_export<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Response> {
    let (name, bytes) = app.command().ranking_xlsx(&code).await?;
    Ok(crate::download::xlsx(bytes, &name, "command-ranking.xlsx"))
}

async fn tasks<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    Query(q): Query<TaskQuery>,
) -> ApiResult<Json<Vec<TaskView>>> {
    Ok(Json(app.command().tasks(&caller, &code, &q).await?))
}

async fn create_task<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<TaskBody>,
) -> ApiResult<(StatusCode, Json<TaskView>)> {
    Ok((StatusCode::CREATED, Json(app.command().create_task(&caller, &code, body).await?)))
}

async fn task<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<TaskDetail>> {
    Ok(Json(app.command().task(&caller, task_id(&id)?).await?))
}

async fn report<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NoteBody>,
) -> ApiResult<Json<TaskDetail>> {
    Ok(Json(app.command().report(&caller, task_id(&id)?, body).await?))
}

async fn done<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DoneBody>,
) -> ApiResult<Json<TaskDetail>> {
    Ok(Json(app.command().done(&caller, task_id(&id)?, body).await?))
}

async fn urge<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NoteBody>,
) -> ApiResult<Json<TaskDetail>> {
    Ok(Json(app.command().urge(&caller, task_id(&id)?, body).await?))
}

async fn supervise<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NoteBody>,
) -> ApiResult<Json<TaskDetail>> {
    Ok(Json(app.command().supervise(&caller, task_id(&id)?, body).await?))
}
