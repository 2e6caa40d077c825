//! 在线监测 (online monitoring): monitoring points, the batch upload of
//! readings (JSON or CSV) for systems that do not speak HJ 212, series of
//! readings with hourly and daily min/avg/max, and exceedance alerts with
//! their dismissal. Devices themselves send over the HJ 212 TCP receiver.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};

use crate::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};

use mashangban_app::monitoring::parks::{ParkBody, ParkDashboard, ParkView, ReceiverCountQuery, SourceCounts};
use mashangban_app::monitoring::upload::{MAX_CSV_BYTES, ReadingsBody, UploadReport};
use mashangban_app::monitoring::{
    AlertDetail, AlertQuery, AlertView, DismissBody, OutageQuery, OutageView, PointBody, PointDetail, PointView,
    RetireBody, Series, SeriesQuery,
};
use mashangban_app::{App, AppError};
use mashangban_domain::access::Permission;
use mashangban_domain::monitoring::alert_not_found;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::json::{JsonBody, unread_body};
use crate::routes::Route;

const CREATE_ERRORS: &[&str] = &[
    "invalid_point_code",
    "text_required",
    "text_too_long",
    "invalid_point_kind",
    "invalid_credit_code",
    "invalid_mn",
    "invalid_device_password",
    "unknown_standard",
    "unknown_grade",
    "invalid_parameters",
    "invalid_permit_limit",
    "unknown_unit",
    "unknown_enterprise",
    "unknown_ledger_item",
    "invalid_offline_after",
    "monitoring_mn_taken",
    "monitoring_point_exists",
];

const UPDATE_ERRORS: &[&str] = &[
    "invalid_point_code",
    "text_required",
    "text_too_long",
    "invalid_point_kind",
    "invalid_credit_code",
    "invalid_mn",
    "invalid_device_password",
    "unknown_standard",
    "unknown_grade",
    "invalid_parameters",
    "invalid_permit_limit",
    "unknown_unit",
    "unknown_enterprise",
    "unknown_ledger_item",
    "invalid_offline_after",
    "monitoring_mn_taken",
    "device_password_required",
    "monitoring_point_not_found",
    "monitoring_point_changed",
    "monitoring_point_retired",
];

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage) = (Permission::ReadMonitoring, Permission::ManageMonitoring);
    vec![
        Route::get("/api/v1/monitoring/points", list::<S>)
            .permission(read)
            .doc("monitoring", "监测点位（按编号）：执行标准、监测因子、责任单位、实时状态（正常/超标/离线）")
            .answer::<Vec<PointView>>(),
        Route::post("/api/v1/monitoring/points", create::<S>)
            .permission(manage)
            .doc("monitoring", "新建监测点位（设备MN号与访问密码；密码只保存其散列，此后不再显示）")
            .body::<PointBody>()
            .answer::<PointView>()
            .created()
            .errors(CREATE_ERRORS),
        Route::get("/api/v1/monitoring/points/{code}", get::<S>)
            .permission(read)
            .doc("monitoring", "监测点位详情：各因子最新数据、报警、变更历史")
            .answer::<PointDetail>()
            .errors(&["monitoring_point_not_found"]),
        Route::post("/api/v1/monitoring/points/{code}", update::<S>)
            .permission(manage)
            .doc("monitoring", "修改监测点位（不填密码则保留原密码；记录变更历史）")
            .body::<PointBody>()
            .answer::<PointView>()
            .errors(UPDATE_ERRORS),
        Route::post("/api/v1/monitoring/points/{code}/retire", retire::<S>)
            .permission(manage)
            .doc("monitoring", "停用监测点位（填写原因；此后拒收其设备的报文、不再报数据缺失、不能再修改；数据、报警和历史保留）")
            .body::<RetireBody>()
            .answer::<PointView>()
            .errors(&[
                "monitoring_point_not_found",
                "monitoring_point_retired",
                "monitoring_point_changed",
                "text_required",
                "text_too_long",
            ]),
        Route::get("/api/v1/monitoring/receiver-counts", receiver_counts::<S>)
            .permission(read)
            .doc("monitoring", "HJ 212 接收端各节点合计的报文计数（已入库、各类拒收）：按设备MN，未知设备按来源地址")
            .query(&[("days", "最近几天（含今天），1~400，默认7")])
            .answer::<Vec<SourceCounts>>()
            .errors(&["invalid_parameter", "invalid_days"]),
        Route::get("/api/v1/monitoring/points/{code}/series", series::<S>)
            .permission(read)
            .doc("monitoring", "某点位某因子的监测数据，或按小时/日汇总的最小值、平均值、最大值")
            .query(&[
                ("parameter", "监测因子编码（HJ 212，如 w01018）"),
                ("kind", "数据类型：real_time、minute（默认）、hour、day"),
                ("from", "起始时间（RFC 3339，含）；默认 to 前24小时"),
                ("to", "结束时间（RFC 3339，不含）；默认现在"),
                ("bucket", "汇总粒度：hour 或 day；不填则返回原始数据"),
            ])
            .answer::<Series>()
            .errors(&[
                "monitoring_point_not_found",
                "invalid_parameter",
                "invalid_kind",
                "invalid_bucket",
                "invalid_time",
                "invalid_span",
            ]),
        Route::post("/api/v1/monitoring/readings", upload::<S>)
            .permission(manage)
            .doc(
                "monitoring",
                "批量上传监测数据：JSON（{\"readings\": [...]}）或 CSV（Content-Type: text/csv，表头 point,kind,data_time,parameter,value,min,max,flag）；\
                 同一设备、数据时间、命令与因子的数据只保存一次；任何一行有错则全部不写入",
            )
            .body::<ReadingsBody>()
            .answer::<UploadReport>()
            .errors(&["invalid_rows", "too_many_readings", "malformed_json", "invalid_field", "unsupported_media_type"])
            .body_limit(MAX_CSV_BYTES as usize),
        Route::get("/api/v1/monitoring/alerts", alerts::<S>)
            .permission(read)
            .doc("monitoring", "超标报警（最新在前）")
            .query(&[("state", "open（默认）、dismissed、escalated 或 all"), ("point", "点位编号")])
            .answer::<Vec<AlertView>>()
            .errors(&["invalid_parameter", "invalid_state", "monitoring_point_not_found"]),
        Route::get("/api/v1/monitoring/parks", parks::<S>)
            .permission(read)
            .doc("monitoring", "智慧园区：各园区的企业数、点位数及正常、超标、离线点位数和共性工厂")
            .answer::<Vec<ParkView>>(),
        Route::get("/api/v1/monitoring/parks/{code}", park::<S>)
            .permission(read)
            .doc("monitoring", "园区页：企业、点位实时状态、今日报警、待处置报警、数据缺失、在办案件和赔偿事项（有执法查看权限者可见，按数据范围）、共性工厂、近14天趋势、各设备拒收报文计数")
            .answer::<ParkDashboard>()
            .errors(&["monitoring_park_not_found"]),
        Route::put("/api/v1/monitoring/parks/{code}", put_park::<S>)
            .permission(Permission::ManageMonitoring)
            .doc("monitoring", "建立或整体替换园区：名称、责任单位、简介、共性工厂和所属点位（其他园区的点位会移入本园区）")
            .body::<ParkBody>()
            .answer::<ParkView>()
            .errors(&[
                "invalid_park_code",
                "text_required",
                "text_too_long",
                "invalid_facilities",
                "too_many_points",
                "unknown_unit",
                "unknown_point",
            ]),
        Route::get("/api/v1/monitoring/outages", outages::<S>)
            .permission(read)
            .doc("monitoring", "数据缺失报警（最新在前）：点位超过设定时限（默认120分钟）没有有效数据（无数据或设备标记异常）时报警一次，数据恢复后自动结束")
            .query(&[("state", "open（默认，未恢复的）或 all"), ("point", "点位编号")])
            .answer::<Vec<OutageView>>()
            .errors(&["invalid_parameter", "invalid_state", "monitoring_point_not_found"]),
        Route::get("/api/v1/monitoring/alerts/{id}", alert::<S>)
            .permission(read)
            .doc("monitoring", "报警详情与处置历史")
            .answer::<AlertDetail>()
            .errors(&["monitoring_alert_not_found"]),
        Route::post("/api/v1/monitoring/alerts/{id}/dismiss", dismiss::<S>)
            .permission(Permission::HandleMonitoringAlerts)
            .doc("monitoring", "排除报警（填写理由，如现场核实为设备故障）；仅限点位的责任单位")
            .body::<DismissBody>()
            .answer::<AlertDetail>()
            .errors(&[
                "monitoring_alert_not_found",
                "alert_not_open",
                "not_responsible_unit",
                "text_required",
                "text_too_long",
            ]),
    ]
}

fn alert_id(id: &str) -> ApiResult<i64> {
    Ok(id.parse().map_err(|_| AppError::from(alert_not_found()))?)
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> ApiResult<T> {
    let Query(q) = q.map_err(|_| AppError::bad_request("invalid_parameter", "查询参数无法读取"))?;
    Ok(q)
}

async fn list<S: Store>(State(app): State<App<S>>, Auth(_caller): Auth) -> ApiResult<Json<Vec<PointView>>> {
    Ok(Json(app.monitoring().list().await?))
}

async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(body): JsonBody<PointBody>,
) -> ApiResult<(StatusCode, Json<PointView>)> {
    Ok((StatusCode::CREATED, Json(app.monitoring().create(&caller, body).await?)))
}

async fn get<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<PointDetail>> {
    Ok(Json(app.monitoring().get(&code).await?))
}

async fn update<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<PointBody>,
) -> ApiResult<Json<PointView>> {
    Ok(Json(app.monitoring().update(&caller, &code, body).await?))
}

async fn retire<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<RetireBody>,
) -> ApiResult<Json<PointView>> {
    Ok(Json(app.monitoring().retire(&caller, &code, body).await?))
}

async fn receiver_counts<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    q: Result<Query<ReceiverCountQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<SourceCounts>>> {
    Ok(Json(app.monitoring().receiver_counts(query(q)?).await?))
}

async fn series<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(code): Path<String>,
    q: Result<Query<SeriesQuery>, QueryRejection>,
) -> ApiResult<Json<Series>> {
    Ok(Json(app.monitoring().series(&code, query(q)?).await?))
}

/// JSON or CSV, by the declared content type.
async fn upload<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<UploadReport>> {
    let bytes = body.map_err(unread_body)?;
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let monitoring = app.monitoring();
    let report = match media.as_str() {
        "application/json" => {
            let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                AppError::bad_request("malformed_json", format!("JSON 格式错误（第{}行第{}列）", e.line(), e.column()))
            })?;
            monitoring.upload_json(mashangban_app::json::from_value(value)?).await?
        }
        "text/csv" => monitoring.upload_csv(&bytes).await?,
        _ => {
            return Err(crate::error::ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求体应为 JSON（application/json）或 CSV（text/csv）",
            ));
        }
    };
    Ok(Json(report))
}

async fn alerts<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    q: Result<Query<AlertQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<AlertView>>> {
    Ok(Json(app.monitoring().alerts(query(q)?).await?))
}

async fn parks<S: Store>(State(app): State<App<S>>, Auth(_caller): Auth) -> ApiResult<Json<Vec<ParkView>>> {
    Ok(Json(app.monitoring().parks().await?))
}

async fn park<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> ApiResult<Json<ParkDashboard>> {
    Ok(Json(app.monitoring().park(&caller, &code).await?))
}

async fn put_park<S: Store>(
    State(app): State<App<S>>,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<ParkBody>,
) -> ApiResult<Json<ParkView>> {
    Ok(Json(app.monitoring().put_park(&code, body).await?))
}

async fn outages<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    q: Result<Query<OutageQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<OutageView>>> {
    Ok(Json(app.monitoring().outages(query(q)?).await?))
}

async fn alert<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<AlertDetail>> {
    Ok(Json(app.monitoring().alert(alert_id(&id)?).await?))
}

async fn dismiss<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DismissBody>,
) -> ApiResult<Json<AlertDetail>> {
    Ok(Json(app.monitoring().dismiss(&caller, alert_id(&id)?, body).await?))
}
