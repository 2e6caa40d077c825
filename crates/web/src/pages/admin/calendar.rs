//! 工作日历: the years with their holidays and make-up working days (调休),
//! the working hours, and the record of changes. Editing a year, importing a
//! file and setting the hours go through the functions of
//! `PUT /api/v1/calendar/years/{year}`, `POST /api/v1/calendar/import` and
//! `PUT /api/v1/calendar/working-hours`.

use std::sync::Arc;

use crate::extract::{Form, PageQuery as Query};
use askama::Template;
use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;

use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::calendar::{DayInput, HoursInput, PeriodInput, YearInput};
use mashangban_domain::access::Permission;
use mashangban_domain::calendar::HolidayYear;
use mashangban_domain::org::Actor;
use mashangban_store::{CalendarSource, Store, clock_time};

use super::{Frame, done};
use crate::api::calendar::{IMPORT_LIMIT, read_import, year_param};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::pages::{Layout, PageResult, render, short_time, shown};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let manage = Permission::ManageCalendar;
    vec![
        Route::get("/admin/calendar", page::<S>).permission(manage).nav(MenuKind::Admin, 50, "工作日历"),
        Route::post("/admin/calendar/year", save_year::<S>).permission(manage).form(),
        Route::post("/admin/calendar/hours", save_hours::<S>).permission(manage).form(),
        Route::post("/admin/calendar/import", import::<S>)
            .permission(manage)
            .multipart()
            .body_limit(IMPORT_LIMIT + 64 * 1024),
    ]
}

pub struct YearRow {
    pub year: i32,
    pub notice: String,
    pub holidays: usize,
    pub makeup_workdays: usize,
    pub updated_at: String,
}

pub struct ChangeRow {
    pub at: String,
    pub what: String,
    pub by: String,
    pub source: &'static str,
}

#[derive(Template)]
#[template(path = "admin/calendar.html")]
struct CalendarPage {
    layout: Layout,
    frame: Frame,
    years: Vec<YearRow>,
    form: YearForm,
    hours: String,
    changes: Vec<ChangeRow>,
}

/// The year form: one day per line, `YYYY-MM-DD 名称`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct YearForm {
    year: String,
    notice: String,
    holidays: String,
    makeup_workdays: String,
}

fn lines(days: &[(chrono::NaiveDate, String)]) -> String {
    days.iter().map(|(d, name)| format!("{} {name}", d.format("%Y-%m-%d"))).collect::<Vec<_>>().join("\n")
}

fn year_form(year: &HolidayYear) -> YearForm {
    YearForm {
        year: year.year.to_string(),
        notice: year.notice.clone().unwrap_or_default(),
        holidays: lines(&year.holidays),
        makeup_workdays: lines(&year.makeup_workdays),
    }
}

/// `2027-01-01 元旦` per line → the API's days (a line without a name keeps an empty one).
fn days(text: &str) -> Vec<DayInput> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (date, name) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            DayInput { date: date.to_owned(), name: name.trim().to_owned() }
        })
        .collect()
}

/// `08:30-12:00 14:00-17:30` → the API's periods.
fn periods(text: &str) -> Vec<PeriodInput> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | ';' | '；'))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (start, end) = p.split_once(['-', '–', '~', '至']).unwrap_or((p, ""));
            PeriodInput { start: start.to_owned(), end: end.to_owned() }
        })
        .collect()
}

fn source_label(source: &str) -> &'static str {
    match CalendarSource::parse(source) {
        Some(CalendarSource::Bundled) => "内置数据",
        Some(CalendarSource::Json) => "页面或接口",
        Some(CalendarSource::Toml) => "TOML 导入",
        Some(CalendarSource::Xlsx) => "Excel 导入",
        None => "",
    }
}

async fn render_page<S: Store>(
    app: &App<S>,
    actor: &Actor,
    menu: &Menu,
    notice: Option<&'static str>,
    error: Option<(StatusCode, String)>,
    form: YearForm,
) -> PageResult {
    let years = app.calendar().years().await?;
    let changes = app.calendar().changes(20).await?;
    let calendar = app.calendar().in_force();
    let hours =
        calendar.working_hours().periods().iter().map(|(s, e)| format!("{}-{}", clock_time(*s), clock_time(*e)));
    let status = error.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let (layout, frame) = Frame::new(
        app.calendar().missing_notice_warning(),
        actor,
        menu,
        "/admin/calendar",
        notice,
        error.map(|(_, m)| m),
    );
    let page = CalendarPage {
        layout,
        frame,
        years: years
            .into_iter()
            .map(|y| YearRow {
                year: y.year,
                notice: y.notice.unwrap_or_default(),
                holidays: y.holidays,
                makeup_workdays: y.makeup_workdays,
                updated_at: short_time(&y.updated_at),
            })
            .collect(),
        form,
        hours: hours.collect::<Vec<_>>().join(" "),
        changes: changes
            .into_iter()
            .map(|c| ChangeRow {
                at: short_time(&c.at),
                what: c.year.map_or_else(|| "工作时段".to_owned(), |y| format!("{y}年节假日")),
                by: c.actor.name,
                source: source_label(c.source),
            })
            .collect(),
    };
    Ok(render(status, &page))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CalendarQuery {
    ok: String,
    /// A year to edit in the form.
    year: String,
}

/// `GET /admin/calendar` (`?year=2027` fills the form with that year).
pub async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<CalendarQuery>,
) -> PageResult {
    let actor = &caller.actor;
    let stored = match q.year.trim().parse::<i32>() {
        Ok(year) => app.calendar().stored_year(year).await?,
        Err(_) => None,
    };
    let form = stored.as_ref().map_or_else(|| YearForm { year: q.year.clone(), ..YearForm::default() }, year_form);
    let notice = super::Done { ok: q.ok }.notice();
    render_page(&app, actor, &menu, notice, None, form).await
}

/// `POST /admin/calendar/year`: replaces the year, as `PUT /api/v1/calendar/years/{year}`.
pub async fn save_year<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<YearForm>,
) -> PageResult {
    let actor = &caller.actor;
    let input = YearInput {
        year: None,
        notice: Some(form.notice.clone()),
        holidays: days(&form.holidays),
        makeup_workdays: days(&form.makeup_workdays),
    };
    let replaced = match year_param(form.year.trim()) {
        Ok(year) => {
            app.calendar().replace_year(&caller, year, input, CalendarSource::Json).await.map_err(ApiError::from)
        }
        Err(e) => Err(e),
    };
    match replaced {
        Ok(_) => Ok(done("/admin/calendar", "year")),
        Err(e) => render_page(&app, actor, &menu, None, Some(shown(e)?), form).await,
    }
}

/// `POST /admin/calendar/import` (multipart, field `file`): as `POST /api/v1/calendar/import`.
pub async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let actor = &caller.actor;
    let imported = match read_import(multipart).await {
        Ok(bytes) => app.calendar().import(&caller, &bytes).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match imported {
        Ok(_) => Ok(done("/admin/calendar", "import")),
        Err(e) => render_page(&app, actor, &menu, None, Some(shown(e)?), YearForm::default()).await,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HoursForm {
    hours: String,
}

/// `POST /admin/calendar/hours`: as `PUT /api/v1/calendar/working-hours`.
pub async fn save_hours<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<HoursForm>,
) -> PageResult {
    let actor = &caller.actor;
    match app.calendar().set_working_hours(&caller, HoursInput { periods: periods(&form.hours) }).await {
        Ok(_) => Ok(done("/admin/calendar", "hours")),
        Err(e) => render_page(&app, actor, &menu, None, Some(shown(e)?), YearForm::default()).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_periods_become_the_apis_input() {
        let d = days("2027-01-01 元旦\n\n 2027-02-06  春节 \n2027-02-07");
        let pairs: Vec<(&str, &str)> = d.iter().map(|x| (x.date.as_str(), x.name.as_str())).collect();
        assert_eq!(pairs, vec![("2027-01-01", "元旦"), ("2027-02-06", "春节"), ("2027-02-07", "")]);
        let p = periods("08:30-12:00，14:00-17:30");
        let pairs: Vec<(&str, &str)> = p.iter().map(|x| (x.start.as_str(), x.end.as_str())).collect();
        assert_eq!(pairs, vec![("08:30", "12:00"), ("14:00", "17:30")]);
    }
}
