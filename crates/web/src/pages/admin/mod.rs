//! System administration pages (系统管理), for administrators only: the org
//! tree, users and roles, categories and the dispatch catalogue, time-limit
//! rules, the work calendar, the knowledge base of standard answers, the
//! catalogue and centres of on-site service and the notification templates.
//!
//! Every write calls the same service as its `/api/v1` endpoint (`app.org()`,
//! `app.accounts()`, `app.catalog()`, `app.rules()`, `app.calendar()`,
//! `app.knowledge()`), and each page's route declares the same permission as
//! the API's, so a page never checks less than the API. A success is a 303
//! back to the page with a fixed notice; a refusal renders the page again
//! with the status and Chinese message. The tabs are the admin menu entries
//! of the routes the person may open; others get 403 on every page and post,
//! signed-out people the sign-in page, and cross-site posts are refused by
//! the session's same-origin check.

mod calendar;
mod catalog;
mod dispatch;
mod duplicates;
mod knowledge;
mod notifications;
mod onsite;
mod org;
mod rule_form;
mod rules;
mod screening;
mod users;

use axum::Extension;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use mashangban_app::Caller;
use mashangban_domain::access::Permission;
use mashangban_domain::org::Actor;
use mashangban_store::Store;

use super::{Layout, PageError, PageResult};
use crate::auth::Auth;
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let mut routes = vec![Route::get("/admin", home).permission(Permission::ManageOrg)];
    routes.extend(org::routes::<S>());
    routes.extend(users::routes::<S>());
    routes.extend(catalog::routes::<S>());
    routes.extend(rules::routes::<S>());
    routes.extend(screening::routes::<S>());
    routes.extend(dispatch::routes::<S>());
    routes.extend(duplicates::routes::<S>());
    routes.extend(calendar::routes::<S>());
    routes.extend(knowledge::routes::<S>());
    routes.extend(onsite::routes::<S>());
    routes.extend(notifications::routes::<S>());
    routes
}

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
    /// The layout and frame of the section at `path`: its tabs are the
    /// sections the person may open.
    fn new(
        warning: Option<String>,
        actor: &Actor,
        menu: &Menu,
        path: &str,
        notice: Option<&'static str>,
        error: Option<String>,
    ) -> (Layout, Self) {
        let sections = menu.for_actor(MenuKind::Admin, actor);
        let label = sections.iter().find(|e| e.path == path).map_or("系统管理", |e| e.label);
        let tabs = sections.iter().map(|e| Tab { path: e.path, label: e.label, current: e.path == path }).collect();
        let mut layout = Layout::staff(format!("系统管理 · {label}"), actor, menu);
        layout.warning = warning;
        (layout, Self { tabs, notice, error })
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
    ("token-revoked", "接口令牌已吊销，此后用它调用接口一律被拒绝。"),
    ("category", "分类已保存。"),
    ("rules", "新版本时限规则已发布，此后受理的诉求按新规则计算期限。"),
    ("screening", "新版本甄别设置已保存，此后受理的诉求按新设置打分。"),
    ("screening-model", "分类器已按最新的甄别结果重新训练。"),
    ("duplicates", "新版本阈值已保存，疑似重复与热点问题即按新阈值计算。"),
    ("year", "该年的节假日安排已保存。"),
    ("import", "日历已导入。"),
    ("hours", "工作时段已保存。"),
    ("article", "标准答复已保存。"),
    ("article-off", "标准答复已停用，不再向话务员推荐。"),
    ("article-on", "标准答复已恢复。"),
    ("onsite-item", "服务事项已保存。"),
    ("onsite-centre", "政务服务中心已保存。"),
    ("template", "通知模板已保存，此后发出的通知使用新内容。"),
    ("template-reset", "通知模板已恢复默认，此后发出的通知使用内置内容。"),
    ("template-restored", "已恢复所选版本的内容（记为一个新版本），此后发出的通知使用该内容。"),
];

/// A 303 back to a page with its notice.
fn done(path: &str, key: &str) -> Response {
    Redirect::to(&format!("{path}?ok={key}")).into_response()
}

/// `GET /admin`: the first section the person may open.
async fn home(Auth(caller): Auth, Extension(menu): Extension<std::sync::Arc<Menu>>) -> PageResult {
    first_section(&caller, &menu).map(|path| Redirect::to(path).into_response())
}

fn first_section(caller: &Caller, menu: &Menu) -> PageResult<&'static str> {
    let sections = menu.for_actor(MenuKind::Admin, &caller.actor);
    sections.first().map(|e| e.path).ok_or_else(|| PageError::forbidden(Permission::ManageOrg))
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
