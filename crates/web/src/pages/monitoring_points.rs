//! 监测点位管理 pages: `/monitoring/points`, the points with a search by park
//! and enterprise (credit code or name; also the point's code, name or MN);
//! `/monitoring/points/new` and `/monitoring/points/{code}/edit`, the forms
//! that create and change a point; and the retire (停用) form on the edit
//! page. They call the same service as `/api/v1/monitoring/points`, so the
//! validation, the error codes and the point's history are the API's; a
//! refused form is shown again with the Chinese message and what was typed,
//! but never the device password (it is typed again).

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use mashangban_app::monitoring::{PointBody, PointRow, PointSearch, PointView, RetireBody};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::environment::bundled_standards;
use mashangban_domain::monitoring::{MeasuredParameter, PermitLimit, PointKind};
use mashangban_domain::org::UnitKind;
use mashangban_store::Store;

use super::enterprises::optional;
use super::{Layout, PageResult, conflict, render, shown};
use crate::auth::Auth;
use crate::routes::{Menu, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage) = (Permission::ReadMonitoring, Permission::ManageMonitoring);
    vec![
        Route::get("/monitoring/points", list::<S>).permission(read),
        Route::get("/monitoring/points/new", new_page::<S>).permission(manage),
        Route::post("/monitoring/points/new", create::<S>).permission(manage).form(),
        Route::get("/monitoring/points/{code}/edit", edit_page::<S>).permission(manage),
        Route::post("/monitoring/points/{code}/edit", update::<S>).permission(manage).form(),
        Route::post("/monitoring/points/{code}/retire", retire::<S>).permission(manage).form(),
    ]
}

#[derive(Template)]
#[template(path = "monitoring_points.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<PointRow>,
    park: String,
    q: String,
    retired: bool,
    /// (code, name) of every park.
    parks: Vec<(String, String)>,
    /// May create, edit and retire.
    manage: bool,
}

#[derive(Debug, Default, Deserialize)]
struct SearchForm {
    #[serde(default)]
    park: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    retired: String,
}

/// `GET /monitoring/points[?park=&q=&retired=1]`.
async fn list<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(form): Query<SearchForm>,
) -> PageResult {
    let retired = !form.retired.is_empty();
    let search = PointSearch { park: Some(form.park.clone()), q: Some(form.q.clone()), retired: Some(retired) };
    let rows = app.monitoring().search(&search).await?;
    let parks = app.monitoring().parks().await?.into_iter().map(|p| (p.code, p.name)).collect();
    let page = ListPage {
        layout: Layout::staff("监测点位管理", &caller.actor, &menu),
        rows,
        park: form.park,
        q: form.q,
        retired,
        parks,
        manage: caller.may(Permission::ManageMonitoring),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The fields of the create and edit forms, as typed (kept when refused; the password is not).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct PointForm {
    code: String,
    name: String,
    kind: String,
    credit_code: String,
    ledger_item_id: String,
    mn: String,
    password: String,
    standard: String,
    grade: String,
    unit: String,
    offline_after_minutes: String,
    /// One parameter a line: `w01018 mg/L`.
    parameters: String,
    /// One permit limit a line: `w21003 ≤10 排污许可证 914420001` (also `≥5`, `6~9`).
    permit_limits: String,
    /// The version the edit was made on (hidden field).
    version: String,
}

/// A number as typed, formatted back without a needless `.0`.
fn number(v: f64) -> String {
    format!("{v}")
}

impl PointForm {
    fn of(p: &PointView) -> Self {
        let limits = p.permit_limits.iter().map(|l| {
            let bound = match (l.min, l.max) {
                (Some(low), Some(high)) => format!("{}~{}", number(low), number(high)),
                (Some(low), None) => format!("≥{}", number(low)),
                (None, Some(high)) => format!("≤{}", number(high)),
                (None, None) => String::new(),
            };
            format!("{} {bound} {}", l.parameter, l.source)
        });
        Self {
            code: p.code.clone(),
            name: p.name.clone(),
            kind: p.kind.clone(),
            credit_code: p.credit_code.clone().unwrap_or_default(),
            ledger_item_id: p.ledger_item_id.map(|i| i.to_string()).unwrap_or_default(),
            mn: p.mn.clone(),
            password: String::new(),
            standard: p.standard.clone(),
            grade: p.grade.to_string(),
            unit: p.unit.as_ref().map(|u| u.code.clone()).unwrap_or_default(),
            offline_after_minutes: p.offline_after_minutes.to_string(),
            parameters: p.parameters.iter().map(|m| format!("{} {}", m.code, m.unit)).collect::<Vec<_>>().join("\n"),
            permit_limits: limits.collect::<Vec<_>>().join("\n"),
            version: p.version.to_string(),
        }
    }

    /// What was typed in `self` beside the `stored` point's fields where it differs; choices by
    /// their names in `page`. The password is never shown nor compared.
    fn beside(&self, stored: &Self, page: &FormPage) -> conflict::Beside {
        use conflict::Kind::{Decimal, Lines, Text};
        let mut beside = conflict::Beside::of([
            ("name", Text, stored.name.as_str(), self.name.as_str()),
            ("credit_code", Text, stored.credit_code.as_str(), self.credit_code.as_str()),
            ("ledger_item_id", Decimal, stored.ledger_item_id.as_str(), self.ledger_item_id.as_str()),
            ("mn", Text, stored.mn.as_str(), self.mn.as_str()),
            ("parameters", Lines, stored.parameters.as_str(), self.parameters.as_str()),
            ("permit_limits", Lines, stored.permit_limits.as_str(), self.permit_limits.as_str()),
            (
                "offline_after_minutes",
                Decimal,
                stored.offline_after_minutes.as_str(),
                self.offline_after_minutes.as_str(),
            ),
        ]);
        let name = |choices: &[(String, String)], typed: &str| {
            choices
                .iter()
                .find(|(code, _)| code == typed.trim())
                .map_or_else(|| typed.trim().to_owned(), |(_, n)| n.clone())
        };
        let kinds: Vec<(String, String)> = page.kinds.iter().map(|(c, l)| ((*c).to_owned(), (*l).to_owned())).collect();
        for (field, choices, stored, typed) in [
            ("kind", &kinds, &stored.kind, &self.kind),
            ("standard", &page.standards, &stored.standard, &self.standard),
            ("grade", &page.grades, &stored.grade, &self.grade),
            ("unit", &page.units, &stored.unit, &self.unit),
        ] {
            beside.compare_shown(field, Text, stored, typed, &name(choices, typed));
        }
        beside
    }

    /// The API's body, or the API's refusal of the field that cannot be read.
    fn body(&self) -> Result<PointBody, AppError> {
        let ledger_item_id = match optional(&self.ledger_item_id) {
            Some(t) => Some(t.parse::<i64>().map_err(|_| {
                AppError::invalid("unknown_ledger_item", "台账条目应填写台账中排放口或河涌条目的编号（数字）")
            })?),
            None => None,
        };
        let grade = self
            .grade
            .trim()
            .parse::<u8>()
            .map_err(|_| AppError::invalid("unknown_grade", "请选择标准的级别或类别"))?;
        let offline_after_minutes = match optional(&self.offline_after_minutes) {
            Some(t) => Some(t.parse::<u32>().map_err(|_| {
                AppError::invalid("invalid_offline_after", "数据缺失报警时限应为5~10080分钟（5分钟至7天）")
            })?),
            None => None,
        };
        Ok(PointBody {
            code: self.code.trim().to_owned(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            credit_code: optional(&self.credit_code),
            ledger_item_id,
            mn: self.mn.trim().to_owned(),
            password: (!self.password.is_empty()).then(|| self.password.clone()),
            standard: self.standard.clone(),
            grade,
            permit_limits: permit_limits(&self.permit_limits)?,
            parameters: parameters(&self.parameters)?,
            unit: self.unit.clone(),
            offline_after_minutes,
            version: self.version.trim().parse().ok(),
        })
    }
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().map(str::trim).enumerate().filter(|(_, l)| !l.is_empty()).map(|(i, l)| (i + 1, l))
}

/// `w01018 mg/L` a line; the domain checks codes and units.
fn parameters(text: &str) -> Result<Vec<MeasuredParameter>, AppError> {
    lines(text)
        .map(|(n, line)| {
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next(), parts.next()) {
                (Some(code), Some(unit), None) => {
                    Ok(MeasuredParameter { code: code.to_owned(), unit: unit.to_owned() })
                }
                _ => Err(AppError::invalid(
                    "invalid_parameters",
                    format!("监测因子第{n}行应为「因子编码 单位」，如 w01018 mg/L"),
                )),
            }
        })
        .collect()
}

/// `w21003 ≤10 排污许可证…` a line (`≥5` for a lower bound, `6~9` for a range).
fn permit_limits(text: &str) -> Result<Vec<PermitLimit>, AppError> {
    lines(text)
        .map(|(n, line)| {
            let refused = || {
                AppError::invalid(
                    "invalid_permit_limit",
                    format!(
                        "许可限值第{n}行应为「因子 限值 依据」，如 w21003 ≤10 排污许可证编号（下限写 ≥5，范围写 6~9）"
                    ),
                )
            };
            let mut parts = line.splitn(3, char::is_whitespace);
            let (Some(parameter), Some(bound), Some(source)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(refused());
            };
            let value = |t: &str| t.trim().parse::<f64>().map_err(|_| refused());
            let (min, max) = if let Some(v) = bound.strip_prefix('≤').or_else(|| bound.strip_prefix("<=")) {
                (None, Some(value(v)?))
            } else if let Some(v) = bound.strip_prefix('≥').or_else(|| bound.strip_prefix(">=")) {
                (Some(value(v)?), None)
            } else if let Some((low, high)) = bound.split_once(['~', '～']) {
                (Some(value(low)?), Some(value(high)?))
            } else {
                return Err(refused());
            };
            Ok(PermitLimit { parameter: parameter.to_owned(), max, min, source: source.trim().to_owned() })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "monitoring_point_form.html")]
struct FormPage {
    layout: Layout,
    /// `Some(code)` when editing that point, `None` when creating.
    editing: Option<String>,
    form: PointForm,
    message: Option<String>,
    /// A refusal of the retire form.
    retire_message: Option<String>,
    /// The retire form's reason as typed.
    retire_reason: String,
    kinds: Vec<(&'static str, &'static str)>,
    /// (code, name) of the bundled standards.
    standards: Vec<(String, String)>,
    /// (grade, the names it has in the standards).
    grades: Vec<(String, String)>,
    /// (code, name) of the units a point may belong to.
    units: Vec<(String, String)>,
    /// When the point edited was retired: nothing can be changed then.
    retired_at: Option<String>,
    /// After a version conflict, what was typed in the fields it differs in.
    beside: conflict::Beside,
}

impl FormPage {
    fn new<S: Store>(app: &App<S>, caller: &Caller, menu: &Menu, editing: Option<String>, form: PointForm) -> Self {
        let title = match &editing {
            Some(code) => format!("编辑监测点位 {code}"),
            None => "新建监测点位".to_owned(),
        };
        let standards = bundled_standards();
        let most = standards.iter().map(|s| s.grades.len()).max().unwrap_or(0);
        let grades = (1..=most)
            .map(|g| {
                let names: Vec<String> =
                    standards.iter().filter_map(|s| s.grades.get(g - 1).map(|n| format!("{} {n}", s.code))).collect();
                (g.to_string(), names.join(" / "))
            })
            .collect();
        let org = app.caches().org();
        let mut units: Vec<(String, String)> = org
            .units()
            .filter(|u| u.active && matches!(u.kind, UnitKind::Department | UnitKind::Town | UnitKind::Subunit))
            .map(|u| (u.code.clone(), u.name.clone()))
            .collect();
        units.sort();
        Self {
            layout: Layout::staff(title, &caller.actor, menu),
            editing,
            form,
            message: None,
            retire_message: None,
            retire_reason: String::new(),
            kinds: PointKind::ALL.iter().map(|k| (k.code(), k.label())).collect(),
            standards: standards.iter().map(|s| (s.code.clone(), s.name.clone())).collect(),
            grades,
            units,
            retired_at: None,
            beside: conflict::Beside::default(),
        }
    }
}

/// `GET /monitoring/points/new`.
async fn new_page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    let form = PointForm {
        kind: PointKind::EnterpriseOutlet.code().into(),
        standard: "GB 8978-1996".into(),
        grade: "2".into(),
        offline_after_minutes: "120".into(),
        ..PointForm::default()
    };
    Ok(render(StatusCode::OK, &FormPage::new(&app, &caller, &menu, None, form)))
}

/// `POST /monitoring/points/new`: creates, then shows the point; a refusal keeps what was typed.
async fn create<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<PointForm>,
) -> PageResult {
    let result = match form.body() {
        Ok(body) => app.monitoring().create(&caller, body).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(saved) => Ok(Redirect::to(&format!("/monitoring/{}", saved.code)).into_response()),
        Err(e) => refused(&app, &caller, &menu, None, form, e),
    }
}

/// The form again with the refusal, what was typed, and no password.
fn refused<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    editing: Option<String>,
    form: PointForm,
    e: AppError,
) -> PageResult {
    let (status, message) = shown(e)?;
    let typed_password = !form.password.is_empty();
    let mut page = FormPage::new(app, caller, menu, editing, PointForm { password: String::new(), ..form });
    page.message = Some(if typed_password {
        format!("{message}（为安全起见，设备访问密码需重新填写）")
    } else {
        message
    });
    Ok(render(status, &page))
}

/// `GET /monitoring/points/{code}/edit`: the point in the form, its version hidden; the retire form.
async fn edit_page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
) -> PageResult {
    let found = app.monitoring().get(&code).await?;
    let mut page = FormPage::new(&app, &caller, &menu, Some(found.point.code.clone()), PointForm::of(&found.point));
    page.retired_at = found.point.retired_at.as_deref().map(super::short_time);
    Ok(render(StatusCode::OK, &page))
}

/// `POST /monitoring/points/{code}/edit`: saves at the form's version, then shows the point. After
/// a version conflict the form again with the stored point at its current version and what was
/// typed beside each field it differs in; after another refusal what was typed, at the version it
/// was typed on.
async fn update<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(mut form): Form<PointForm>,
) -> PageResult {
    form.code = code.clone();
    let result = match form.body() {
        Ok(body) => app.monitoring().update(&caller, &code, body).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(saved) => Ok(Redirect::to(&format!("/monitoring/{}", saved.code)).into_response()),
        Err(e) if e.code == POINT_CHANGED => {
            let (status, _) = shown(e)?;
            let found = app.monitoring().get(&code).await?;
            let stored = PointForm::of(&found.point);
            let mut page = FormPage::new(&app, &caller, &menu, Some(found.point.code.clone()), stored.clone());
            page.beside = form.beside(&stored, &page);
            page.retired_at = found.point.retired_at.as_deref().map(super::short_time);
            let mut message = conflict::changed_meanwhile("该点位", found.point.version);
            if !form.password.is_empty() {
                message.push_str("（为安全起见，设备访问密码需重新填写）");
            }
            page.message = Some(message);
            Ok(render(status, &page))
        }
        Err(e) => refused(&app, &caller, &menu, Some(code), form, e),
    }
}

/// The code of the refusal of an edit made on a version of the point that is no longer current.
const POINT_CHANGED: &str = "monitoring_point_changed";

#[derive(Debug, Default, Deserialize)]
struct RetireForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    version: String,
}

/// `POST /monitoring/points/{code}/retire`: retires, then shows the point; a refusal shows the edit page.
async fn retire<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(form): Form<RetireForm>,
) -> PageResult {
    let body = RetireBody { reason: form.reason.clone(), version: form.version.trim().parse().ok() };
    match app.monitoring().retire(&caller, &code, body).await {
        Ok(saved) => Ok(Redirect::to(&format!("/monitoring/{}", saved.code)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let found = app.monitoring().get(&code).await?;
            let mut page =
                FormPage::new(&app, &caller, &menu, Some(found.point.code.clone()), PointForm::of(&found.point));
            page.retired_at = found.point.retired_at.as_deref().map(super::short_time);
            page.retire_message = Some(message);
            page.retire_reason = form.reason;
            Ok(render(status, &page))
        }
    }
}
