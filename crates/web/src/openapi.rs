//! The OpenAPI 3.1 document of `/api/v1`, served at `/api/openapi.json`.
//!
//! Written as a catalogue rather than derived from handler annotations: the
//! handlers are generic over the store, which derive macros handle poorly.
//! A test reads every route registered under `crates/web/src/api/` and fails
//! when one is missing here, so the document cannot silently fall behind.

use serde_json::{Map, Value, json};

/// Who may call an operation.
#[derive(Clone, Copy)]
pub enum Access {
    Public,
    SignedIn,
    Roles(&'static [&'static str]),
}

/// One documented operation.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// Query parameters: (name, description).
    pub query: &'static [(&'static str, &'static str)],
    /// Request body: a JSON schema, or `multipart` for file uploads.
    pub body: Body,
    /// Error codes besides the common ones of its access level.
    pub errors: &'static [&'static str],
}

#[derive(Clone, Copy)]
pub enum Body {
    None,
    Json(fn() -> Value),
    Multipart,
}

const STAFF: &[&str] = &["operator", "dispatcher", "handler", "unit_leader", "supervisor", "city_leader", "admin"];
const ADMIN: &[&str] = &["admin"];
const BAD_BODY: &[&str] =
    &["malformed_json", "unknown_field", "invalid_field", "unsupported_media_type", "payload_too_large"];

fn object(properties: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "additionalProperties": false, "properties": properties, "required": required })
}

fn text(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

fn login_body() -> Value {
    object(json!({ "username": text("用户名"), "password": text("密码") }), &["username", "password"])
}

fn intake_body() -> Value {
    object(
        json!({
            "kind": { "enum": ["consultation", "help", "complaint", "report", "suggestion", "praise"] },
            "urgency": { "enum": ["normal", "urgent", "act_now"] },
            "channel": { "enum": ["web", "mobile", "api", "phone", "counter", "on_site", "direct_line"],
                         "description": "门户只能是 web/mobile；工作人员必填；接口令牌固定为 api" },
            "asker": { "oneOf": [
                object(json!({ "type": { "const": "enterprise" }, "credit_code": text("统一社会信用代码（18位）"), "name": text("企业名称") }), &["type", "credit_code", "name"]),
                object(json!({ "type": { "const": "resident" } }), &["type"]),
            ] },
            "contact": object(json!({ "name": text("联系人姓名"), "phone": text("手机或固定电话"), "email": text("电子邮箱（可选）") }), &["name", "phone"]),
            "title": { "type": "string", "maxLength": 100 },
            "content": { "type": "string", "maxLength": 4000 },
            "category": text("诉求分类编码，见 GET /api/v1/categories"),
            "town": text("镇街编码，见 GET /api/v1/units"),
            "address": { "type": "string", "maxLength": 200 },
            "location": object(json!({ "lat": { "type": "number" }, "lon": { "type": "number" }, "datum": { "enum": ["wgs84", "gcj02", "bd09"] } }), &["lat", "lon"]),
            "ledger_ref": text("关联台账条目"),
        }),
        &["kind", "asker", "contact", "title", "content", "category"],
    )
}

fn action_body() -> Value {
    json!({
        "type": "object",
        "description": "按操作不同：dispatch/redispatch {lead_unit, co_units?, comment?}；sign/approve-extension/close {comment?}；\
            return/refuse-return/refuse-extension/reject-reply/reopen/request-reopen/suspend {reason}；stage-reply/reply {content}；\
            request-extension {new_due, reason}；direct-close {answer}；follow-up {rating, resolved, comment?}；merge {into}；\
            withdraw {reason?}；resume {comment?}；supervise {instructions, due}；urge {message}；archive {}。\
            任何操作都可附带 attachment_ids。",
        "properties": {
            "lead_unit": { "type": "string" }, "co_units": { "type": "array", "items": { "type": "string" } },
            "comment": { "type": "string" }, "reason": { "type": "string" }, "content": { "type": "string" },
            "new_due": { "type": "string", "format": "date-time" }, "answer": { "type": "string" },
            "rating": { "enum": ["very_satisfied", "satisfied", "fairly_satisfied", "dissatisfied", "very_dissatisfied"] },
            "resolved": { "type": "boolean" }, "into": { "type": "string" }, "instructions": { "type": "string" },
            "due": { "type": "string", "format": "date-time" }, "message": { "type": "string" },
            "attachment_ids": { "type": "array", "items": { "type": "integer" } }
        }
    })
}

fn code_body(extra: Value, required: &[&str]) -> Value {
    let mut properties = extra;
    if let Some(map) = properties.as_object_mut() {
        map.insert("code".into(), text("查询码"));
    }
    let mut required: Vec<&str> = required.to_vec();
    required.push("code");
    object(properties, &required)
}

fn withdraw_body() -> Value {
    code_body(json!({ "reason": text("撤回原因") }), &[])
}

fn reopen_request_body() -> Value {
    code_body(json!({ "reason": text("申请重办的理由") }), &["reason"])
}

fn rate_body() -> Value {
    code_body(
        json!({
            "rating": { "enum": ["very_satisfied", "satisfied", "fairly_satisfied", "dissatisfied", "very_dissatisfied"] },
            "resolved": { "type": "boolean" },
            "comment": { "type": "string" },
        }),
        &["rating", "resolved"],
    )
}

fn rules_body() -> Value {
    let limit = json!({ "type": "object", "properties": { "clock": { "enum": ["natural", "working_days", "working_hours"] }, "amount": { "type": "integer", "minimum": 1 } } });
    object(
        json!({ "rules": { "type": "array", "items": { "type": "object", "properties": {
            "kind": {}, "urgency": {}, "channel": {}, "enterprise": { "type": "boolean" },
            "sign_for": limit, "contact": limit, "stage_reply": limit, "reply": limit } } } }),
        &["rules"],
    )
}

fn calendar_year_body() -> Value {
    let day = object(
        json!({ "date": { "type": "string", "format": "date" }, "name": { "type": "string" } }),
        &["date", "name"],
    );
    object(
        json!({ "notice": text("通知文号"), "holidays": { "type": "array", "items": day }, "makeup_workdays": { "type": "array", "items": day } }),
        &["holidays", "makeup_workdays"],
    )
}

fn working_hours_body() -> Value {
    json!({ "type": "object", "description": "工作时段，如 {\"periods\": [{\"start\": \"08:30\", \"end\": \"12:00\"}, {\"start\": \"14:00\", \"end\": \"17:30\"}]}" })
}

fn template_body() -> Value {
    object(json!({ "subject": text("邮件主题（短信可省略）"), "body": text("正文，{{变量}} 占位") }), &["body"])
}

fn webhook_body() -> Value {
    json!({ "type": "object", "description": "{name, url, events?}；创建时返回签名密钥（仅此一次）" })
}

fn email_body() -> Value {
    object(json!({ "email": text("电子邮箱；空字符串清除") }), &["email"])
}

fn article_body() -> Value {
    object(
        json!({ "title": { "type": "string", "maxLength": 100 }, "body": { "type": "string", "maxLength": 3900, "description": "标准答复正文" },
                "category": text("分类编码（可选）"), "keywords": { "type": "array", "items": { "type": "string" }, "maxItems": 20 } }),
        &["title", "body"],
    )
}

fn article_update_body() -> Value {
    let mut body = article_body();
    if let Some(props) = body.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("version".into(), json!({ "type": "integer", "description": "修改所依据的版本（乐观锁）" }));
    }
    if let Some(required) = body.get_mut("required").and_then(Value::as_array_mut) {
        required.push(json!("version"));
    }
    body
}

fn article_active_body() -> Value {
    object(
        json!({ "version": { "type": "integer" }, "active": { "type": "boolean", "description": "false 停用，true 恢复" } }),
        &["version", "active"],
    )
}

fn active_body() -> Value {
    object(json!({ "active": { "type": "boolean", "description": "false 撤销，true 恢复" } }), &["active"])
}

fn unit_body() -> Value {
    object(
        json!({ "name": text("单位全称"), "short_name": text("简称"), "kind": { "enum": ["department", "town", "subunit"] }, "parent": text("上级单位编码") }),
        &["name", "kind", "parent"],
    )
}

fn new_user_body() -> Value {
    object(
        json!({ "username": text("用户名（字母、数字、-_.）"), "display_name": text("姓名"), "role": { "enum": ["operator", "dispatcher", "handler", "unit_leader", "supervisor", "city_leader", "admin", "enterprise", "resident"] },
                "unit": text("单位编码（工作人员必填）"), "phone": text("手机号"), "credit_code": text("统一社会信用代码（仅企业账号，必填）"), "password": text("初始密码，至少8位") }),
        &["username", "display_name", "role", "password"],
    )
}

fn role_body() -> Value {
    object(json!({ "role": text("角色"), "unit": text("单位编码（工作人员必填）") }), &["role"])
}

fn disabled_body() -> Value {
    object(json!({ "disabled": { "type": "boolean" } }), &["disabled"])
}

fn password_body() -> Value {
    object(json!({ "password": text("新密码，至少8位") }), &["password"])
}

fn category_body() -> Value {
    object(
        json!({ "name": text("分类名称"), "parent": text("上级分类编码"), "lead_unit": text("默认承办单位编码（派单目录）"), "keywords": { "type": "array", "items": { "type": "string" } } }),
        &["name"],
    )
}

const LIST_QUERY: &[(&str, &str)] = &[
    ("state", "状态，逗号分隔"),
    ("kind", "诉求类型"),
    ("channel", "受理渠道"),
    ("unit", "主办或协办单位编码"),
    ("lead_unit", "主办单位编码（不含协办）；none：未派单"),
    ("town", "镇街编码；none：未填镇街"),
    ("category", "分类编码"),
    ("category_group", "分类编码，含其下所有分类"),
    ("from", "受理时间起（RFC 3339 或 YYYY-MM-DD）"),
    ("to", "受理时间止（不含）"),
    ("closed_from", "办结时间起（仅当前已办结）"),
    ("closed_to", "办结时间止（不含）"),
    ("overdue", "true：仅超期"),
    ("supervised", "true：仅督办件"),
    ("unhappy", "true：仅回访不满意或未解决（可重办）"),
    ("credit_code", "统一社会信用代码"),
    ("phone", "联系电话"),
    ("sort", "newest（默认）或 deadline（工作队列）"),
    ("limit", "1–500，默认 50"),
    ("cursor", "上一页的 next_cursor"),
];

const NOT_REQ: &[&str] = &["request_not_found"];

/// Every operation of `/api/v1`.
pub fn operations() -> Vec<Operation> {
    use Access::*;
    use Body::*;
    let op = |method, path, tag, summary, access, body, errors| Operation {
        method,
        path,
        tag,
        summary,
        access,
        query: &[],
        body,
        errors,
    };
    let mut ops = vec![
        op(
            "post",
            "/api/v1/auth/login",
            "auth",
            "登录（设置会话 Cookie）",
            Public,
            Json(login_body),
            &["invalid_credentials", "rate_limited"],
        ),
        op("post", "/api/v1/auth/logout", "auth", "退出登录", Public, None, &[]),
        op("get", "/api/v1/auth/me", "auth", "当前用户", SignedIn, None, &[]),
        op("get", "/api/v1/units", "catalogue", "组织架构（单位与镇街）", Public, None, &[]),
        op("get", "/api/v1/categories", "catalogue", "诉求分类与派单目录", Public, None, &[]),
        op(
            "post",
            "/api/v1/requests",
            "requests",
            "受理诉求（工作人员、账号、接口令牌）",
            Roles(&["operator", "dispatcher", "enterprise", "resident"]),
            Json(intake_body),
            &[
                "invalid_credit_code",
                "invalid_phone",
                "invalid_email",
                "invalid_coordinates",
                "unknown_category",
                "unknown_town",
                "text_required",
                "text_too_long",
                "channel_required",
                "channel_not_allowed",
                "asker_mismatch",
            ],
        ),
        Operation {
            query: LIST_QUERY,
            ..op(
                "get",
                "/api/v1/requests",
                "requests",
                "诉求列表（数据权限内）",
                SignedIn,
                None,
                &[
                    "unknown_parameter",
                    "invalid_parameter",
                    "unknown_unit",
                    "unknown_town",
                    "unknown_category",
                    "invalid_phone",
                ],
            )
        },
        op("get", "/api/v1/requests/{no}", "requests", "诉求详情与全部办理记录", SignedIn, None, NOT_REQ),
        op(
            "post",
            "/api/v1/requests/{no}/{action}",
            "requests",
            "办理操作（派单、签收、退单、改派、延期、答复、办结、回访、重办、并单、撤回、挂起、督办、催办……）",
            SignedIn,
            Json(action_body),
            &[
                "request_not_found",
                "unknown_action",
                "illegal_transition",
                "unknown_unit",
                "same_unit",
                "lead_in_co_units",
                "too_many_co_units",
                "extension_pending",
                "no_extension_pending",
                "invalid_extension_due",
                "invalid_datetime",
                "direct_close_not_allowed",
                "reopen_not_allowed",
                "merge_into_self",
                "merge_target_not_found",
                "merge_target_invalid",
                "invalid_supervision_due",
                "unknown_attachment",
                "text_required",
                "concurrent_update",
            ],
        ),
        op(
            "post",
            "/api/v1/requests/{no}/attachments",
            "attachments",
            "上传附件（multipart，字段 file）",
            SignedIn,
            Multipart,
            &[
                "request_not_found",
                "unsupported_file_type",
                "empty_file",
                "too_many_attachments",
                "malformed_multipart",
                "no_file",
                "payload_too_large",
            ],
        ),
        op("get", "/api/v1/requests/{no}/attachments", "attachments", "附件列表", SignedIn, None, NOT_REQ),
        op(
            "get",
            "/api/v1/requests/{no}/attachments/{id}",
            "attachments",
            "下载附件（始终作为附件下载）",
            SignedIn,
            None,
            &["request_not_found", "attachment_not_found"],
        ),
        op(
            "post",
            "/api/v1/public/requests",
            "public",
            "门户提交诉求（无需账号，按地址限流）",
            Public,
            Json(intake_body),
            &[
                "invalid_credit_code",
                "invalid_phone",
                "invalid_coordinates",
                "unknown_category",
                "unknown_town",
                "text_required",
                "text_too_long",
                "channel_not_allowed",
                "rate_limited",
            ],
        ),
        Operation {
            query: &[("code", "查询码")],
            ..op(
                "get",
                "/api/v1/public/requests/{no}",
                "public",
                "凭受理编号和查询码查看办理进度（个人信息脱敏）",
                Public,
                None,
                &["request_not_found", "rate_limited"],
            )
        },
        op(
            "post",
            "/api/v1/public/requests/{no}/withdraw",
            "public",
            "诉求人撤回",
            Public,
            Json(withdraw_body),
            &["request_not_found", "illegal_transition", "rate_limited"],
        ),
        op(
            "post",
            "/api/v1/public/requests/{no}/rate",
            "public",
            "诉求人评价",
            Public,
            Json(rate_body),
            &["request_not_found", "illegal_transition", "rate_limited"],
        ),
        op(
            "post",
            "/api/v1/public/requests/{no}/reopen-request",
            "public",
            "诉求人对回访不满意时申请重办",
            Public,
            Json(reopen_request_body),
            &["request_not_found", "illegal_transition", "reopen_request_not_allowed", "invalid_text", "rate_limited"],
        ),
        Operation {
            query: &[("code", "查询码")],
            ..op(
                "post",
                "/api/v1/public/requests/{no}/attachments",
                "public",
                "诉求人补充材料",
                Public,
                Multipart,
                &[
                    "request_not_found",
                    "unsupported_file_type",
                    "empty_file",
                    "too_many_attachments",
                    "payload_too_large",
                ],
            )
        },
        op("get", "/api/v1/time-limits", "time limits", "现行时限规则", SignedIn, None, &[]),
        op(
            "put",
            "/api/v1/time-limits",
            "time limits",
            "发布新版本时限规则",
            Roles(ADMIN),
            Json(rules_body),
            &["invalid_time_limits"],
        ),
        op(
            "get",
            "/api/v1/time-limits/versions",
            "time limits",
            "时限规则各版本",
            Roles(&["admin", "supervisor"]),
            None,
            &[],
        ),
        Operation {
            query: &[("from", "RFC 3339 时刻"), ("workdays", "工作日数"), ("workhours", "工作小时数")],
            ..op(
                "get",
                "/api/v1/calendar/add",
                "calendar",
                "期限计算器：加工作日或工作小时",
                Public,
                None,
                &["invalid_parameter", "unknown_parameter", "calendar_year_not_covered"],
            )
        },
        Operation {
            query: &[("from", "YYYY-MM-DD"), ("to", "YYYY-MM-DD")],
            ..op(
                "get",
                "/api/v1/calendar/days",
                "calendar",
                "逐日工作日历",
                Public,
                None,
                &["invalid_parameter", "unknown_parameter", "calendar_year_not_covered"],
            )
        },
        op("get", "/api/v1/calendar/years", "calendar", "已载入的年份", Public, None, &[]),
        op(
            "get",
            "/api/v1/calendar/years/{year}",
            "calendar",
            "某年的放假与调休安排",
            Public,
            None,
            &["calendar_year_not_found"],
        ),
        op(
            "put",
            "/api/v1/calendar/years/{year}",
            "calendar",
            "整年替换放假与调休安排",
            Roles(ADMIN),
            Json(calendar_year_body),
            &["invalid_calendar", "calendar_conflict", "invalid_date"],
        ),
        op(
            "post",
            "/api/v1/calendar/import",
            "calendar",
            "导入国务院通知（Excel 或 TOML）",
            Roles(ADMIN),
            Multipart,
            &[
                "invalid_calendar",
                "calendar_conflict",
                "invalid_date",
                "payload_too_large",
                "empty_file",
                "unsupported_file_type",
                "not_xlsx",
                "malformed_xlsx",
                "zip_bomb",
                "file_too_large",
                "too_many_rows",
                "too_many_columns",
                "cell_too_long",
                "sheet_missing",
                "duplicate_column",
            ],
        ),
        Operation {
            query: &[("limit", "条数")],
            ..op(
                "get",
                "/api/v1/calendar/changes",
                "calendar",
                "日历变更记录",
                Roles(ADMIN),
                None,
                &["invalid_parameter"],
            )
        },
        op("get", "/api/v1/calendar/working-hours", "calendar", "工作时段", Roles(ADMIN), None, &[]),
        op(
            "put",
            "/api/v1/calendar/working-hours",
            "calendar",
            "修改工作时段",
            Roles(ADMIN),
            Json(working_hours_body),
            &["invalid_working_hours"],
        ),
        Operation {
            query: &[
                ("from", "YYYY-MM-DD"),
                ("to", "YYYY-MM-DD"),
                ("unit", "单位编码"),
                ("format", "xlsx 下载 Excel"),
                ("fairly_satisfied_counts", "基本满意是否计入满意"),
            ],
            ..op(
                "get",
                "/api/v1/scores",
                "scoring",
                "考核报表与排名（JSON 或 Excel）",
                Roles(&["dispatcher", "supervisor", "city_leader", "admin", "unit_leader"]),
                None,
                &["invalid_parameter", "unknown_unit"],
            )
        },
        op("post", "/api/v1/scores/rebuild", "scoring", "由办理记录重建考核汇总", Roles(ADMIN), None, &[]),
        Operation {
            query: &[("from", "YYYY-MM-DD"), ("to", "YYYY-MM-DD"), ("fairly_satisfied_counts", "基本满意是否计入满意")],
            ..op(
                "get",
                "/api/v1/dashboard",
                "dashboard",
                "领导驾驶舱：受理量、办结量、按时办结率、满意率，趋势及按单位、镇街、类型、一级分类的分布（全市，仅市领导、督办员、管理员）",
                Roles(&["supervisor", "city_leader", "admin"]),
                None,
                &["invalid_parameter", "unknown_parameter"],
            )
        },
        op("post", "/api/v1/dashboard/rebuild", "dashboard", "由诉求表重建驾驶舱汇总", Roles(ADMIN), None, &[]),
        Operation {
            query: &[("status", "pending/sending/sent/failed")],
            ..op(
                "get",
                "/api/v1/admin/outbox",
                "notifications",
                "通知发件箱",
                Roles(ADMIN),
                None,
                &["invalid_parameter"],
            )
        },
        op(
            "post",
            "/api/v1/admin/outbox/{id}/retry",
            "notifications",
            "重发失败的通知",
            Roles(ADMIN),
            None,
            &["notification_not_found", "notification_not_failed"],
        ),
        op("get", "/api/v1/admin/notification-templates", "notifications", "通知模板", Roles(ADMIN), None, &[]),
        op(
            "get",
            "/api/v1/admin/notification-templates/{key}/{channel}",
            "notifications",
            "某个通知模板",
            Roles(ADMIN),
            None,
            &["not_found"],
        ),
        op(
            "put",
            "/api/v1/admin/notification-templates/{key}/{channel}",
            "notifications",
            "修改通知模板",
            Roles(ADMIN),
            Json(template_body),
            &["not_found", "invalid_template"],
        ),
        op("get", "/api/v1/admin/webhooks", "notifications", "合作系统回调（Webhook）", Roles(ADMIN), None, &[]),
        op(
            "post",
            "/api/v1/admin/webhooks",
            "notifications",
            "新增 Webhook",
            Roles(ADMIN),
            Json(webhook_body),
            &["invalid_url"],
        ),
        op(
            "delete",
            "/api/v1/admin/webhooks/{id}",
            "notifications",
            "删除 Webhook",
            Roles(ADMIN),
            None,
            &["webhook_not_found"],
        ),
        op(
            "put",
            "/api/v1/admin/users/{username}/email",
            "notifications",
            "设置用户电子邮箱",
            Roles(ADMIN),
            Json(email_body),
            &["user_not_found", "invalid_email"],
        ),
        Operation {
            query: &[("q", "来电人问题中的词语；为空时列出全部")],
            ..op(
                "get",
                "/api/v1/knowledge",
                "knowledge",
                "检索或列出标准答复",
                Roles(STAFF),
                None,
                &["invalid_parameter", "unknown_parameter"],
            )
        },
        op(
            "post",
            "/api/v1/knowledge",
            "knowledge",
            "新增标准答复",
            Roles(ADMIN),
            Json(article_body),
            &["text_required", "text_too_long", "invalid_text", "too_many_keywords", "unknown_category"],
        ),
        op("get", "/api/v1/knowledge/{id}", "knowledge", "某条标准答复", Roles(STAFF), None, &["article_not_found"]),
        op(
            "put",
            "/api/v1/knowledge/{id}",
            "knowledge",
            "修改标准答复（保存为新版本）",
            Roles(ADMIN),
            Json(article_update_body),
            &[
                "article_not_found",
                "article_changed",
                "text_required",
                "text_too_long",
                "invalid_text",
                "too_many_keywords",
                "unknown_category",
            ],
        ),
        op(
            "get",
            "/api/v1/knowledge/{id}/revisions",
            "knowledge",
            "标准答复的全部版本",
            Roles(STAFF),
            None,
            &["article_not_found"],
        ),
        op(
            "post",
            "/api/v1/knowledge/{id}/active",
            "knowledge",
            "停用或恢复标准答复",
            Roles(ADMIN),
            Json(article_active_body),
            &["article_not_found", "article_changed"],
        ),
        op(
            "put",
            "/api/v1/admin/units/{code}",
            "administration",
            "新增或修改单位",
            Roles(ADMIN),
            Json(unit_body),
            &["invalid_code", "text_required", "text_too_long", "invalid_unit_kind", "unknown_unit", "unit_cycle"],
        ),
        op(
            "post",
            "/api/v1/admin/units/{code}/active",
            "administration",
            "撤销或恢复单位",
            Roles(ADMIN),
            Json(active_body),
            &["unit_not_found", "unit_has_children", "parent_unit_inactive"],
        ),
        op("get", "/api/v1/admin/users", "administration", "用户列表（手机号脱敏）", Roles(ADMIN), None, &[]),
        op(
            "post",
            "/api/v1/admin/users",
            "administration",
            "新增用户（含初始密码）",
            Roles(ADMIN),
            Json(new_user_body),
            &[
                "invalid_code",
                "text_required",
                "invalid_role",
                "unknown_unit",
                "unit_required",
                "unit_not_allowed",
                "invalid_phone",
                "invalid_credit_code",
                "credit_code_required",
                "credit_code_not_allowed",
                "weak_password",
                "invalid_password",
                "username_taken",
            ],
        ),
        op(
            "put",
            "/api/v1/admin/users/{username}/role",
            "administration",
            "修改用户角色与单位",
            Roles(ADMIN),
            Json(role_body),
            &[
                "user_not_found",
                "invalid_role",
                "unknown_unit",
                "unit_required",
                "unit_not_allowed",
                "unit_inactive",
                "own_admin_role",
            ],
        ),
        op(
            "put",
            "/api/v1/admin/users/{username}/disabled",
            "administration",
            "停用或启用用户",
            Roles(ADMIN),
            Json(disabled_body),
            &["user_not_found", "own_account"],
        ),
        op(
            "put",
            "/api/v1/admin/users/{username}/password",
            "administration",
            "重置用户密码",
            Roles(ADMIN),
            Json(password_body),
            &["user_not_found", "weak_password", "invalid_password"],
        ),
        op(
            "put",
            "/api/v1/admin/categories/{code}",
            "administration",
            "新增或修改事项分类与派单目录",
            Roles(ADMIN),
            Json(category_body),
            &[
                "invalid_code",
                "text_required",
                "text_too_long",
                "too_many_keywords",
                "unknown_category",
                "unknown_unit",
                "category_cycle",
            ],
        ),
    ];
    ops.sort_by(|a, b| (a.path, a.method).cmp(&(b.path, b.method)));
    ops
}

fn common_errors(op: &Operation) -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = Vec::new();
    match op.access {
        Access::Public => {}
        Access::SignedIn | Access::Roles(_) => {
            codes.extend(["unauthenticated", "invalid_token", "csrf_rejected", "permission_denied"])
        }
    }
    if matches!(op.body, Body::Json(_)) {
        codes.extend(BAD_BODY);
    }
    codes.extend(op.errors);
    codes.dedup();
    codes
}

fn access_text(access: Access) -> String {
    match access {
        Access::Public => "公开，无需登录".into(),
        Access::SignedIn => "需登录（会话 Cookie 或 Bearer 接口令牌）；数据权限内".into(),
        Access::Roles(roles) => format!("角色：{}", roles.join("、")),
    }
}

fn roles_of(access: Access) -> Value {
    match access {
        Access::Public => json!([]),
        Access::SignedIn => json!(STAFF.iter().chain(["enterprise", "resident"].iter()).collect::<Vec<_>>()),
        Access::Roles(roles) => json!(roles),
    }
}

fn operation_json(op: &Operation) -> Value {
    let mut parameters: Vec<Value> = op
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    parameters.extend(op.query.iter().map(|(name, description)| {
        json!({ "name": name, "in": "query", "required": false, "description": description, "schema": { "type": "string" } })
    }));
    let errors = common_errors(op);
    let mut value = json!({
        "tags": [op.tag],
        "summary": op.summary,
        "description": format!("{}。错误代码：{}", access_text(op.access), errors.join("、")),
        "parameters": parameters,
        "x-roles": roles_of(op.access),
        "x-error-codes": errors,
        "responses": {
            "200": { "description": "成功" },
            "4XX": { "description": "错误：{\"code\", \"message\"}", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
        }
    });
    let body = match op.body {
        Body::None => None,
        Body::Json(schema) => {
            Some(json!({ "required": true, "content": { "application/json": { "schema": schema() } } }))
        }
        Body::Multipart => Some(json!({ "required": true, "content": { "multipart/form-data": { "schema": {
            "type": "object", "properties": { "file": { "type": "string", "format": "binary" } } } } } })),
    };
    if let (Some(body), Some(map)) = (body, value.as_object_mut()) {
        map.insert("requestBody".into(), body);
    }
    if let (Access::SignedIn | Access::Roles(_), Some(map)) = (op.access, value.as_object_mut()) {
        map.insert("security".into(), json!([{ "session": [] }, { "token": [] }]));
    }
    value
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        if let Some(map) = entry.as_object_mut() {
            map.insert(op.method.to_owned(), operation_json(&op));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "马上办 mashangban API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "城市诉求办理平台的开放接口。时间为 RFC 3339（Asia/Shanghai，+08:00）；错误为 4xx 与 {\"code\", \"message\"}。Open311 GeoReport v2 见 /open311/v2/discovery.json。"
        },
        "paths": paths,
        "components": {
            "schemas": { "Error": object(json!({ "code": text("稳定的错误代码"), "message": text("中文说明") }), &["code", "message"]) },
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::SESSION_COOKIE },
                "token": { "type": "http", "scheme": "bearer", "description": "mashangban token create 生成的接口令牌" }
            }
        }
    })
}
