//! The creek sections of a creek ledger item's page (`/ledgers/creek/items/{key}`):
//! water quality (current class, a twelve-month chart drawn as SVG on the
//! server, the samples with the item that decided each class, a form for a
//! grab sample and an Excel upload) and the plan (一河一策: measures, total
//! budget, river chief, a form to change it, its history). The forms post
//! here and go back to the item; a refusal shows the item page with the
//! message. All from `app.creeks()`, as `/api/v1/creeks` answers.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect};
use std::sync::Arc;

use mashangban_app::creeks::{CreekWater, IMPORT_BYTES, MeasureBody, PlanBody, PlanView, SampleBody};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::creek::{CREEK_TYPE, MeasureKind, MeasureStatus};
use mashangban_store::Store;

use super::{Choice, PageResult, shown};
use crate::api::percent_encode;
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path};
use crate::routes::{Menu, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let edit = Permission::EditLedgers;
    vec![
        Route::post("/creeks/{key}/samples", add_sample::<S>).permission(edit).form(),
        Route::post("/creeks/{key}/samples/import", import::<S>)
            .permission(edit)
            .multipart()
            .body_limit(IMPORT_BYTES + 64 * 1024),
        Route::post("/creeks/{key}/plan", save_plan::<S>).permission(edit).form(),
    ]
}

/// What the item page shows of a creek.
pub struct CreekSection {
    pub water: CreekWater,
    pub plan: PlanView,
    /// The twelve-month chart, SVG markup made of numbers and fixed labels only.
    pub chart: String,
    pub kinds: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub parameters: Vec<(&'static str, &'static str)>,
}

impl CreekSection {
    /// The status choices with `current` selected.
    pub fn statuses_for(&self, current: &str) -> Vec<Choice> {
        MeasureStatus::ALL.iter().map(|s| Choice::new(s.as_str(), s.label(), s.as_str() == current)).collect()
    }
}

/// The creek section of an item page.
pub(super) async fn section<S: Store>(app: &App<S>, caller: &Caller, key: &str) -> Result<CreekSection, AppError> {
    let water = app.creeks().water(caller, key).await?;
    let plan = app.creeks().plan(caller, key).await?;
    let chart = chart(&water);
    Ok(CreekSection {
        water,
        plan,
        chart,
        kinds: MeasureKind::ALL.iter().map(|k| Choice::new(k.as_str(), k.label(), false)).collect(),
        statuses: MeasureStatus::ALL.iter().map(|s| Choice::new(s.as_str(), s.label(), false)).collect(),
        parameters: vec![
            ("dissolved_oxygen", "溶解氧"),
            ("permanganate_index", "高锰酸盐指数"),
            ("cod", "化学需氧量"),
            ("bod5", "五日生化需氧量"),
            ("ammonia_nitrogen", "氨氮"),
            ("total_phosphorus", "总磷"),
        ],
    })
}

/// Twelve months: a bar per month up to its worst class (Ⅰ at the top, 劣Ⅴ at
/// the bottom, the height grows as the water gets worse), and the monthly
/// mean class as a line.
fn chart(water: &CreekWater) -> String {
    const W: f64 = 640.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 48.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 30.0;
    let plot_h = H - TOP - BOTTOM;
    let n = water.months.len().max(1) as f64;
    let step = (W - LEFT - 8.0) / n;
    // Class 1 (Ⅰ) is drawn at the top row, 6 (劣Ⅴ) at the bottom.
    let y = |class: f64| TOP + (class - 1.0) / 5.0 * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="近12个月水质类别：柱为当月最差类别，折线为当月平均类别">"#
    );
    for (i, label) in ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ"].iter().enumerate() {
        let yy = y(i as f64 + 1.0);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{W}" y2="{yy:.1}" stroke="#ddd"/><text x="4" y="{:.1}" font-size="12">{label}</text>"##,
            yy + 4.0
        );
    }
    let mut line = Vec::new();
    for (i, m) in water.months.iter().enumerate() {
        let x = LEFT + step * i as f64;
        if let Some(worst) = m.worst_no {
            let top = y(1.0) - 4.0;
            let bottom = y(f64::from(worst));
            let colour = match worst {
                1..=3 => "#2e7d32",
                4 => "#f9a825",
                5 => "#ef6c00",
                _ => "#c62828",
            };
            let _ = write!(
                svg,
                r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{colour}" opacity="0.35"><title>{}：最差{}，{}次采样</title></rect>"#,
                x + step * 0.15,
                step * 0.7,
                (bottom - top).max(1.0),
                m.month,
                m.worst.as_deref().unwrap_or_default(),
                m.samples
            );
        }
        if let Some(mean) = m.mean {
            line.push(format!("{:.1},{:.1}", x + step / 2.0, y(mean)));
        }
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{}</text>"#,
            x + step / 2.0,
            H - 10.0,
            m.month.get(5..).unwrap_or_default()
        );
    }
    if !line.is_empty() {
        let _ =
            write!(svg, r##"<polyline points="{}" fill="none" stroke="#1565c0" stroke-width="2"/>"##, line.join(" "));
    }
    svg.push_str("</svg>");
    svg
}

fn back(key: &str, anchor: &str) -> axum::response::Response {
    Redirect::to(&format!("/ledgers/{CREEK_TYPE}/items/{}#{anchor}", percent_encode(key))).into_response()
}

async fn refused<S: Store>(app: &App<S>, caller: &Caller, menu: &Menu, key: &str, e: AppError) -> PageResult {
    let (status, message) = shown(e)?;
    super::ledgers::item_page(app, caller, menu, CREEK_TYPE, key, status, Some(message)).await
}

/// `POST /creeks/{key}/samples`: `sampled_at`, `section` and one field per item key.
async fn add_sample<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(key): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let mut body = SampleBody {
        sampled_at: form.get("sampled_at").cloned().unwrap_or_default().replacen('T', " ", 1),
        section: form.get("section").cloned(),
        values: Default::default(),
    };
    for (k, v) in &form {
        if matches!(k.as_str(), "sampled_at" | "section" | "csrf" | "_csrf") || v.trim().is_empty() {
            continue;
        }
        body.values.insert(k.clone(), serde_json::Value::String(v.clone()));
    }
    match app.creeks().add_sample(&caller, &key, body).await {
        Ok(_) => Ok(back(&key, "water")),
        Err(e) => refused(&app, &caller, &menu, &key, e).await,
    }
}

/// `POST /creeks/{key}/samples/import`: the workbook, imported all or nothing.
async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(key): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let result = match super::ledgers::read_form(multipart, IMPORT_BYTES).await {
        Ok((bytes, _)) => app.creeks().import_samples(&caller, &key, &bytes, true).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(back(&key, "water")),
        Err(e) => refused(&app, &caller, &menu, &key, e).await,
    }
}

/// `POST /creeks/{key}/plan`: the plan's head (`version`, `unit`, `chief_name`,
/// `chief_post`), each kept measure's status (`status_{n}`, `remove_{n}`) and
/// an optional new measure (`new_text`, `new_kind`, `new_budget`, `new_due`,
/// `new_unit`, `new_status`).
async fn save_plan<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(key): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let current = match app.creeks().plan(&caller, &key).await {
        Ok(p) => p,
        Err(e) => return refused(&app, &caller, &menu, &key, e).await,
    };
    let get = |name: &str| form.get(name).map(|s| s.trim().to_owned()).unwrap_or_default();
    let mut measures: Vec<MeasureBody> = Vec::new();
    for (i, m) in current.measures.iter().enumerate() {
        if get(&format!("remove_{i}")) == "1" {
            continue;
        }
        let status = get(&format!("status_{i}"));
        measures.push(MeasureBody {
            text: m.text.clone(),
            kind: m.kind.clone(),
            budget_wan: m.budget_wan,
            due_on: m.due_on.clone(),
            unit: m.unit.as_ref().map(|u| u.code.clone()),
            status: Some(if status.is_empty() { m.status.clone() } else { status }),
        });
    }
    if !get("new_text").is_empty() {
        let budget = get("new_budget");
        let budget_wan = if budget.is_empty() { Ok(0.0) } else { budget.parse::<f64>() };
        let Ok(budget_wan) = budget_wan else {
            let e = AppError::invalid("budget_invalid", "新措施的预算须为不小于0、最多两位小数的万元数");
            return refused(&app, &caller, &menu, &key, e).await;
        };
        measures.push(MeasureBody {
            text: get("new_text"),
            kind: get("new_kind"),
            budget_wan,
            due_on: Some(get("new_due")),
            unit: Some(get("new_unit")),
            status: Some(get("new_status")),
        });
    }
    let body = PlanBody {
        version: get("version").parse().unwrap_or(-1),
        unit: Some(get("unit")),
        chief_name: get("chief_name"),
        chief_post: get("chief_post"),
        measures,
    };
    match app.creeks().save_plan(&caller, &key, body).await {
        Ok(_) => Ok(back(&key, "plan")),
        Err(e) => refused(&app, &caller, &menu, &key, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mashangban_app::creeks::MonthView;
    use mashangban_domain::creek::Trend;

    #[test]
    fn the_chart_draws_a_bar_per_month_with_a_sample_and_the_mean_line() {
        let month = |m: &str, worst: Option<u8>| MonthView {
            month: m.into(),
            samples: usize::from(worst.is_some()),
            worst_no: worst,
            worst: worst.map(|w| format!("{w}类")),
            mean: worst.map(f64::from),
            mean_class: None,
        };
        let water = CreekWater {
            key: "HY442000001".into(),
            name: None,
            town: None,
            current: None,
            trend: Trend::Improving,
            trend_label: "好转".into(),
            months: vec![month("2026-01", Some(6)), month("2026-02", None), month("2026-03", Some(4))],
            samples: vec![],
            points: vec![],
            may_edit: false,
        };
        let svg = chart(&water);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("<polyline"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
