//! System administration pages (系统管理), for administrators only: the org
//! tree, users and roles, categories and the dispatch catalogue, time-limit
//! rules, the work calendar and the knowledge base of standard answers.
//!
//! Every write calls the same function as its `/api/v1` endpoint (in
//! `api::admin`, `api::knowledge`, `api::calendar`, `api::time_limits`), so a
//! page never checks less than the API. A success is a 303 back to the page
//! with a fixed notice; a refusal renders the page again with the API's
//! status and Chinese message. Non-administrators get 403 on every page and
//! post, signed-out people the sign-in page, and cross-site posts are
//! refused by the session's same-origin check.

mod calendar;
mod catalog;
mod knowledge;
mod org;
mod rules;
mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use mashangban_domain::org::{Actor, Role};
use mashangban_store::Store;

use super::{Layout, PageError, PageResult};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

pub fn routes<S: Store>() -> Router<AppState<S>> {
    let import = Router::new()
        .route("/admin/calendar/import", post(calendar::import::<S>))
        .layer(DefaultBodyLimit::max(crate::api::calendar::IMPORT_LIMIT + 64 * 1024));
    Router::new()
        .route("/admin", get(home))
        .route("/admin/org", get(org::page::<S>).post(org::save::<S>))
        .route("/admin/org/{code}/active", post(org::active::<S>))
        .route("/admin/users", get(users::page::<S>).post(users::create::<S>))
        .route("/admin/users/{username}/role", post(users::role::<S>))
        .route("/admin/users/{username}/disabled", post(users::disabled::<S>))
        .route("/admin/users/{username}/password", post(users::password::<S>))
        .route("/admin/categories", get(catalog::page::<S>).post(catalog::save::<S>))
        .route("/admin/rules", get(rules::page::<S>).post(rules::publish::<S>))
        .route("/admin/calendar", get(calendar::page::<S>))
        .route("/admin/calendar/year", post(calendar::save_year::<S>))
        .route("/admin/calendar/hours", post(calendar::save_hours::<S>))
        .route("/admin/knowledge", get(knowledge::list::<S>).post(knowledge::create::<S>))
        .route("/admin/knowledge/{id}", get(knowledge::edit::<S>).post(knowledge::update::<S>))
        .route("/admin/knowledge/{id}/active", post(knowledge::active::<S>))
        .layer(DefaultBodyLimit::max(crate::api::JSON_LIMIT))
        .merge(import)
}

/// The sections of the admin pages, for the tabs: (path, label).
const SECTIONS: &[(&str, &str)] = &[
    ("/admin/org", "组织架构"),
    ("/admin/users", "用户与角色"),
    ("/admin/categories", "事项分类与派单目录"),
    ("/admin/rules", "时限规则"),
    ("/admin/calendar", "工作日历"),
    ("/admin/knowledge", "知识库"),
];

/// One tab of the admin navigation.
pub struct Tab {
    pub path: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What every admin page shows above its own content.
pub struct Frame {
    pub tabs: Vec<Tab>,
    /// A fixed notice after a successful change.
    pub notice: Option<&'static str>,
    /// The refusal of a change, in Chinese.
    pub error: Option<String>,
}

impl Frame {
    /// The layout and frame of the section at `path`.
    fn new(actor: &Actor, path: &str, notice: Option<&'static str>, error: Option<String>) -> (Layout, Self) {
        let label = SECTIONS.iter().find(|(p, _)| *p == path).map_or("系统管理", |(_, l)| *l);
        let frame = Self {
            tabs: SECTIONS.iter().map(|(p, l)| Tab { path: p, label: l, current: *p == path }).collect(),
            notice,
            error,
        };
        (Layout::staff(format!("系统管理 · {label}"), actor), frame)
    }
}

/// Administrators only: others get a 403 page, signed-out people the sign-in page.
fn admin(auth: &Auth) -> Result<&Actor, PageError> {
    let actor = auth.require_login()?;
    if actor.has_role(&[Role::Admin]) {
        Ok(actor)
    } else {
        Err(PageError::Status(StatusCode::FORBIDDEN, "系统管理仅供管理员使用".into()))
    }
}

/// `?ok=` after a change: which fixed notice to show.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Done {
    ok: String,
}

impl Done {
    fn notice(&self) -> Option<&'static str> {
        NOTICES.iter().find(|(key, _)| *key == self.ok).map(|(_, text)| *text)
    }
}

const NOTICES: &[(&str, &str)] = &[
    ("unit", "单位已保存。"),
    ("unit-off", "单位已撤销。"),
    ("unit-on", "单位已恢复。"),
    ("user", "用户已创建，可用初始密码登录。"),
    ("role", "角色与单位已修改；该用户需重新登录。"),
    ("disabled", "账号已停用，其登录已失效。"),
    ("enabled", "账号已启用。"),
    ("password", "密码已重置；该用户需用新密码登录。"),
    ("category", "分类已保存。"),
    ("rules", "新版本时限规则已发布，此后受理的诉求按新规则计算期限。"),
    ("year", "该年的节假日安排已保存。"),
    ("import", "日历已导入。"),
    ("hours", "工作时段已保存。"),
    ("article", "标准答复已保存。"),
    ("article-off", "标准答复已停用，不再向话务员推荐。"),
    ("article-on", "标准答复已恢复。"),
];

/// A 303 back to a page with its notice.
fn done(path: &str, key: &str) -> Response {
    Redirect::to(&format!("{path}?ok={key}")).into_response()
}

/// A refusal to show on the page, or (signed out, cross-site) an error page.
fn shown(e: ApiError) -> Result<(StatusCode, String), PageError> {
    if e.status == StatusCode::UNAUTHORIZED || e.code == "csrf_rejected" || e.status == StatusCode::FORBIDDEN {
        return Err(e.into());
    }
    Ok((e.status, e.message))
}

/// `GET /admin`: the first section.
async fn home(auth: Auth) -> PageResult {
    admin(&auth)?;
    Ok(Redirect::to("/admin/org").into_response())
}

/// Words separated by commas (，、,), semicolons or spaces.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| matches!(c, ',' | '，' | '、' | ';' | '；') || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keywords_split_on_chinese_and_latin_separators() {
        assert_eq!(super::words("营业执照，开办、注册 设立,登记"), vec!["营业执照", "开办", "注册", "设立", "登记"]);
        assert!(super::words(" ，").is_empty());
    }
}
