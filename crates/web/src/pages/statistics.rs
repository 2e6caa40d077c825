//! 数说 (`/statistics`): the statistics panel in the style of a government
//! report — a grid of cards, each with its sentence and a small bar chart of
//! the same span over the years held (inline SVG drawn here, no script), a
//! period selector, the add-up checks, print styles and the Excel export; for
//! those who keep the data, the entry form (enter or correct one value) and
//! the import page (`/statistics/import`) with every row's problem, and the
//! catalogue editor ([`catalogue`], `/statistics/catalogue`).

mod catalogue;

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::statistics::{
    AddUpView, CardView, EntryBody, ImportReport, NumberText, PanelView, PointView, PublicPanelView, PublicationView,
    ValueView,
};
use mashangban_app::{App, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::statistics::format_percent;
use mashangban_store::Store;

use super::{Layout, PageError, PageResult, conflict, render, shown};
use crate::api::statistics::{PeriodQuery, UPLOAD_LIMIT};
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use crate::routes::{Menu, MenuKind, Route};

/// The chart's drawing area in SVG user units.
const CHART_WIDTH: f64 = 240.0;
const CHART_HEIGHT: f64 = 110.0;
/// Room above the bars for their labels and below for the years.
const CHART_TOP: f64 = 16.0;
const CHART_BOTTOM: f64 = 18.0;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, manage) = (Permission::ReadStatistics, Permission::ManageStatistics);
    vec![
        Route::get("/statistics", panel::<S>).permission(read).nav(MenuKind::Main, 48, "数说"),
        Route::post("/statistics/values", enter::<S>).permission(manage).form(),
        Route::get("/statistics/cards/{file}", card_image::<S>).permission(read),
        Route::get("/statistics/panel.svg", panel_image::<S>).permission(read),
        Route::get("/statistics/import", import_page).permission(manage),
        Route::post("/statistics/periods/{period}/publish", publish::<S>).permission(manage).form(),
        Route::get("/public/statistics", public_page::<S>).public(),
        Route::get("/statistics/catalogue", catalogue::catalogue::<S>).permission(manage),
        Route::post("/statistics/catalogue", catalogue::add::<S>).permission(manage).form(),
        Route::post("/statistics/catalogue/{code}", catalogue::change::<S>).permission(manage).form(),
        Route::post("/statistics/import", import::<S>)
            .permission(manage)
            .multipart()
            .body_limit(UPLOAD_LIMIT + 64 * 1024),
    ]
}

/// One bar of a card's chart.
struct ChartBar {
    x: f64,
    y: f64,
    height: f64,
    /// The year under the bar.
    year: i32,
    /// The figure above the bar.
    label: String,
    current: bool,
}

/// A card with its chart, as the page draws it.
struct CardPanel {
    card: CardView,
    /// The big figure: the value, or the growth when only rates are published.
    headline: String,
    headline_unit: String,
    bars: Vec<ChartBar>,
    /// The y of the zero line.
    baseline: f64,
    bar_width: f64,
    /// What the bars show, for screen readers.
    chart_label: String,
}

#[derive(Debug, Default, Deserialize)]
struct EntryForm {
    #[serde(default)]
    indicator: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    price_index: String,
    #[serde(default)]
    real_growth: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    version: Option<i64>,
}

#[derive(Template)]
#[template(path = "statistics.html")]
struct PanelPage {
    layout: Layout,
    panel: PanelView,
    cards: Vec<CardPanel>,
    manage: bool,
    /// (code, name) of the catalogue for the entry form.
    indicators: Vec<(String, String)>,
    form: EntryForm,
    error: Option<String>,
    /// After a version conflict, what was typed in the entry form's fields it differs in.
    beside: conflict::Beside,
    /// The shown period's latest publication (for those who keep the data).
    publication: Option<PublicationView>,
    publish_error: Option<String>,
}

impl PanelPage {
    fn export_link(&self) -> String {
        let period = self.panel.period.as_ref().map(|p| p.key.as_str()).unwrap_or_default();
        format!("/api/v1/statistics/export?period={period}")
    }

    fn selected(&self, key: &str) -> bool {
        self.panel.period.as_ref().is_some_and(|p| p.key == key)
    }

    /// The period of the cards' image links.
    fn image_period(&self) -> Option<&str> {
        self.panel.period.as_ref().map(|p| p.key.as_str())
    }
}

#[derive(Template)]
#[template(path = "statistics_import.html")]
struct ImportPage {
    layout: Layout,
    report: Option<ImportReport>,
    message: Option<String>,
}

/// `GET /statistics?period=2021-Q3`.
async fn panel<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let panel = app.statistics().panel(q.period.as_deref()).await?;
    panel_page(&app, &caller, &menu, panel, StatusCode::OK, EntryForm::default(), Refusal::None).await
}

/// Which form of the panel page a refusal belongs to.
enum Refusal {
    None,
    Entry(String),
    /// A version conflict of the entry: the message and what was typed beside the stored value.
    EntryChanged(String, conflict::Beside),
    Publish(String),
}

async fn panel_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    panel: PanelView,
    status: StatusCode,
    form: EntryForm,
    refusal: Refusal,
) -> PageResult {
    let title = match &panel.period {
        Some(p) => format!("数说：{}{}", panel.area, p.label),
        None => "数说".to_owned(),
    };
    let manage = caller.may(Permission::ManageStatistics);
    let (indicators, publication) = if manage {
        let indicators = app.statistics().indicators().await?.into_iter().map(|i| (i.code, i.name)).collect();
        let shown = panel.period.as_ref().map(|p| p.key.clone());
        let publications = app.statistics().publications().await?;
        (indicators, publications.into_iter().find(|p| Some(&p.period.key) == shown.as_ref()))
    } else {
        (Vec::new(), None)
    };
    let cards = panel.cards.iter().cloned().map(card_panel).collect();
    // A refused entry keeps the data set's version it was typed on: resubmitting it after someone
    // else's change meets that change (409) instead of overwriting it.
    let form = EntryForm { version: form.version.or(Some(panel.version)), ..form };
    let (error, publish_error, beside) = match refusal {
        Refusal::None => (None, None, conflict::Beside::default()),
        Refusal::Entry(message) => (Some(message), None, conflict::Beside::default()),
        Refusal::EntryChanged(message, beside) => (Some(message), None, beside),
        Refusal::Publish(message) => (None, Some(message), conflict::Beside::default()),
    };
    let page = PanelPage {
        layout: Layout::staff(title, &caller.actor, menu),
        panel,
        cards,
        manage,
        indicators,
        form,
        error,
        beside,
        publication,
        publish_error,
    };
    Ok(render(status, &page))
}

/// The card's headline figure and its chart: values by year, or growth rates when only rates are published.
fn card_panel(card: CardView) -> CardPanel {
    let publish_value = card.value_text.is_some();
    let points: Vec<(&PointView, f64)> = card
        .series
        .iter()
        .filter_map(|p| if publish_value { Some((p, p.value)) } else { p.growth.map(|g| (p, g)) })
        .collect();
    let (headline, headline_unit) = match (&card.value_text, card.growth) {
        (Some(text), _) => (text.clone(), card.unit.clone()),
        (None, Some(growth)) => (format_percent(growth), "%".to_owned()),
        (None, None) => ("—".to_owned(), String::new()),
    };
    let chart_label = if publish_value {
        format!("{}历年同期数值（{}）", card.name, card.unit)
    } else {
        format!("{}历年同期同比增速（%）", card.name)
    };
    let (bars, baseline, bar_width) = chart(&points, &card, publish_value);
    CardPanel { card, headline, headline_unit, bars, baseline, bar_width, chart_label }
}

/// Bars scaled between the lowest and highest figure (zero always in range).
fn chart(points: &[(&PointView, f64)], card: &CardView, publish_value: bool) -> (Vec<ChartBar>, f64, f64) {
    let plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM;
    let high = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let low = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::min);
    let span = if high - low > 0.0 { high - low } else { 1.0 };
    let baseline = CHART_TOP + plot * high / span;
    let slot = CHART_WIDTH / points.len().max(1) as f64;
    let bar_width = (slot * 0.6).min(48.0);
    let last = points.len().saturating_sub(1);
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, (point, value))| {
            let height = (plot * value.abs() / span).max(1.0);
            let y = if *value >= 0.0 { baseline - height } else { baseline };
            let label = if publish_value {
                mashangban_domain::statistics::format_amount(*value, card.decimals)
            } else {
                format!("{}%", format_percent(*value))
            };
            ChartBar {
                x: slot * i as f64 + (slot - bar_width) / 2.0,
                y,
                height,
                year: point.period.key.get(..4).and_then(|y| y.parse().ok()).unwrap_or_default(),
                label,
                current: i == last,
            }
        })
        .collect();
    (bars, baseline, bar_width)
}

/// A card as a standalone SVG image: the name, the headline figure, the sentence and the chart.
#[derive(Template)]
#[template(path = "statistics_card.svg", escape = "html")]
struct CardImage {
    area: String,
    period: String,
    card: CardPanel,
    /// The sentence broken into lines that fit the image.
    lines: Vec<String>,
}

impl CardImage {
    /// Below the sentence's last line.
    fn chart_y(&self) -> usize {
        116 + self.lines.len() * 22
    }

    fn height(&self) -> usize {
        let chart = if self.card.bars.is_empty() { 0 } else { 170 };
        self.chart_y() + chart + 28
    }
}

/// Characters of a sentence on one line of the image (CJK glyphs; digits are narrower).
const IMAGE_LINE_CHARS: usize = 24;

/// One card as the standalone SVG of `statistics_card.svg`, and its height.
fn card_svg(area: &str, period: &str, card: CardView) -> Result<(String, usize), PageError> {
    let chars: Vec<char> = card.sentence.chars().collect();
    let lines = chars.chunks(IMAGE_LINE_CHARS).map(|line| line.iter().collect()).collect();
    let image = CardImage { area: area.to_owned(), period: period.to_owned(), card: card_panel(card), lines };
    let body = image.render().map_err(|e| {
        tracing::error!(%e, "card image");
        PageError::Status(StatusCode::INTERNAL_SERVER_ERROR, "图片生成失败".into())
    })?;
    Ok((body, image.height()))
}

/// `GET /statistics/cards/{indicator}.svg?period=2021-Q3`: one card as an SVG image drawn here
/// ("export as image"), downloaded as a file.
async fn card_image<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(file): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let not_found = || PageError::Status(StatusCode::NOT_FOUND, "没有这张卡片".into());
    let indicator = file.strip_suffix(".svg").ok_or_else(not_found)?;
    let panel = app.statistics().panel(q.period.as_deref()).await?;
    let period = panel.period.as_ref().ok_or_else(not_found)?;
    let card = panel.cards.iter().find(|c| c.indicator == indicator).cloned().ok_or_else(not_found)?;
    let (body, _) = card_svg(&panel.area, &period.label, card)?;
    let name = format!("数说-{}-{}.svg", period.key, indicator);
    Ok(crate::download::file(body, "image/svg+xml; charset=utf-8", &name, "card.svg"))
}

/// The panel as one SVG image: the title, then the cards' images two a row.
#[derive(Template)]
#[template(path = "statistics_panel.svg", escape = "html")]
struct PanelImage {
    width: usize,
    height: usize,
    area: String,
    period: String,
    /// (x, y, the card's own SVG) of each card.
    cards: Vec<(usize, usize, String)>,
}

/// The panel image's layout.
const PANEL_COLUMNS: usize = 2;
const PANEL_MARGIN: usize = 20;
const PANEL_TITLE: usize = 56;
const CARD_WIDTH: usize = 400;

/// `GET /statistics/panel.svg?period=2021-Q3`: the whole panel (every card) as one SVG
/// image drawn here, downloaded as a file; the page's 「导出图片」 draws it as a PNG.
async fn panel_image<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let panel = app.statistics().panel(q.period.as_deref()).await?;
    let period =
        panel.period.as_ref().ok_or_else(|| PageError::Status(StatusCode::NOT_FOUND, "还没有统计数据".into()))?;
    let mut cards = Vec::with_capacity(panel.cards.len());
    for card in panel.cards.iter().cloned() {
        cards.push(card_svg(&panel.area, &period.label, card)?);
    }
    let width = PANEL_MARGIN + PANEL_COLUMNS * (CARD_WIDTH + PANEL_MARGIN);
    let mut placed = Vec::with_capacity(cards.len());
    let mut y = PANEL_TITLE;
    for row in cards.chunks(PANEL_COLUMNS) {
        for (column, (svg, _)) in row.iter().enumerate() {
            placed.push((PANEL_MARGIN + column * (CARD_WIDTH + PANEL_MARGIN), y, svg.clone()));
        }
        y += row.iter().map(|(_, h)| *h).max().unwrap_or(0) + PANEL_MARGIN;
    }
    let image = PanelImage { width, height: y, area: panel.area.clone(), period: period.label.clone(), cards: placed };
    let image = image.render().map_err(|e| {
        tracing::error!(%e, "panel image");
        PageError::Status(StatusCode::INTERNAL_SERVER_ERROR, "图片生成失败".into())
    })?;
    let name = format!("数说-{}.svg", period.key);
    Ok(crate::download::file(image, "image/svg+xml; charset=utf-8", &name, "panel.svg"))
}

impl EntryForm {
    /// The form holding the stored value of the indicator and period typed in `self` (blank when
    /// none is stored) at the data set's `version`; the note, kept only in the value's history,
    /// blank.
    fn stored(&self, stored: Option<&ValueView>, version: i64) -> Self {
        let number = |v: f64| format!("{v}");
        match stored {
            Some(v) => Self {
                indicator: v.indicator.clone(),
                period: v.period.key.clone(),
                value: number(v.value),
                price_index: v.price_index.map(number).unwrap_or_default(),
                real_growth: v.real_growth.map(number).unwrap_or_default(),
                source: v.source.clone().unwrap_or_default(),
                note: String::new(),
                version: Some(version),
            },
            None => Self {
                indicator: self.indicator.clone(),
                period: self.period.clone(),
                version: Some(version),
                ..Self::default()
            },
        }
    }

    /// What was typed in `self` beside the `stored` form's fields where it differs.
    fn beside(&self, stored: &Self) -> conflict::Beside {
        use conflict::Kind::{Decimal, Text};
        conflict::Beside::of([
            ("value", Decimal, stored.value.as_str(), self.value.as_str()),
            ("price_index", Decimal, stored.price_index.as_str(), self.price_index.as_str()),
            ("real_growth", Decimal, stored.real_growth.as_str(), self.real_growth.as_str()),
            ("source", Text, stored.source.as_str(), self.source.as_str()),
            ("note", Text, stored.note.as_str(), self.note.as_str()),
        ])
    }
}

/// The code of the refusal of an entry made on a version of the data set that is no longer current.
const STATISTICS_CHANGED: &str = "statistics_changed";

/// `POST /statistics/values`: enter or correct a value; back to the panel of its period. After a
/// version conflict the form again with the value stored for the indicator and period typed (blank
/// when none is) at the data set's current version, and what was typed beside each field it
/// differs in; after another refusal what was typed, at the version it was typed on.
async fn enter<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Form(form): Form<EntryForm>,
) -> PageResult {
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let body = EntryBody {
        indicator: form.indicator.clone(),
        period: form.period.clone(),
        value: NumberText::Text(form.value.clone()),
        price_index: opt(&form.price_index).map(NumberText::Text),
        real_growth: opt(&form.real_growth).map(NumberText::Text),
        source: opt(&form.source),
        note: opt(&form.note),
        version: form.version,
    };
    match app.statistics().enter(&caller, body).await {
        Ok(value) => Ok(Redirect::to(&format!("/statistics?period={}", value.period.key)).into_response()),
        Err(e) if e.code == STATISTICS_CHANGED => {
            let (status, _) = shown(e)?;
            let stored = app.statistics().value(&form.indicator, &form.period).await.ok();
            let panel = match &stored {
                Some(v) => app.statistics().panel(Some(&v.period.key)).await?,
                None => app.statistics().panel(None).await?,
            };
            let stored = form.stored(stored.as_ref(), panel.version);
            let beside = form.beside(&stored);
            let message = conflict::changed_meanwhile("统计数据", panel.version);
            let refusal = Refusal::EntryChanged(message, beside);
            panel_page(&app, &caller, &menu, panel, status, stored, refusal).await
        }
        Err(e) => {
            let (status, message) = shown(e)?;
            let panel = app.statistics().panel(None).await?;
            panel_page(&app, &caller, &menu, panel, status, form, Refusal::Entry(message)).await
        }
    }
}

/// The publish form: the data set's version the page showed.
#[derive(Debug, Default, Deserialize)]
struct PublishForm {
    #[serde(default)]
    version: Option<i64>,
}

/// `POST /statistics/periods/{period}/publish`: publishes the period's panel as it is now; back to it.
async fn publish<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(period): Path<String>,
    Form(form): Form<PublishForm>,
) -> PageResult {
    match app.statistics().publish(&caller, &period, form.version).await {
        Ok(p) => Ok(Redirect::to(&format!("/statistics?period={}#publish", p.period.key)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let panel = match app.statistics().panel(Some(&period)).await {
                Ok(panel) => panel,
                Err(_) => app.statistics().panel(None).await?,
            };
            panel_page(&app, &caller, &menu, panel, status, EntryForm::default(), Refusal::Publish(message)).await
        }
    }
}

#[derive(Template)]
#[template(path = "statistics_public.html")]
struct PublicPage {
    layout: Layout,
    /// None: nothing published yet (the page says so, 404).
    panel: Option<PublicPanelView>,
    cards: Vec<CardPanel>,
    add_up: Vec<AddUpView>,
}

impl PublicPage {
    /// No image links: the card images are drawn from the live data, not the published snapshot.
    fn image_period(&self) -> Option<&str> {
        None
    }

    fn selected(&self, key: &str) -> bool {
        self.panel.as_ref().is_some_and(|p| p.panel.period.key == key)
    }
}

/// `GET /public/statistics[?period=]`: the published panel, no sign-in (portal layout, printable).
async fn public_page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Query(q): Query<PeriodQuery>,
) -> PageResult {
    let (status, panel) = match app.statistics().public_panel(q.period.as_deref()).await {
        Ok(panel) => (StatusCode::OK, Some(panel)),
        Err(e) if e.code == "statistics_not_published" => (StatusCode::NOT_FOUND, None),
        Err(e) => return Err(e.into()),
    };
    let title = match &panel {
        Some(p) => format!("数说：{}{}主要统计指标", p.panel.area, p.panel.period.label),
        None => "数说：主要统计指标".to_owned(),
    };
    let cards = panel.iter().flat_map(|p| p.panel.cards.iter().cloned().map(card_panel)).collect();
    let add_up = panel.as_ref().map(|p| p.panel.add_up.clone()).unwrap_or_default();
    let page = PublicPage { layout: Layout::portal(title, &caller.actor, &menu), panel, cards, add_up };
    Ok(render(status, &page))
}

/// `GET /statistics/import`.
async fn import_page(Auth(caller): Auth, Extension(menu): Extension<Arc<Menu>>) -> PageResult {
    let page =
        ImportPage { layout: Layout::staff("导入统计数据", &caller.actor, &menu), report: None, message: None };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /statistics/import`: the release is written only if every row passes; otherwise every problem is listed.
async fn import<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let layout = Layout::staff("导入统计数据", &caller.actor, &menu);
    let outcome = match super::ledgers::read_form(multipart, UPLOAD_LIMIT).await {
        Ok((bytes, _)) => app.statistics().import(&caller, &bytes).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(report) => {
            let status = if report.applied { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
            Ok(render(status, &ImportPage { layout, report: Some(report), message: None }))
        }
        Err(e) => {
            let (status, message) = shown(e)?;
            Ok(render(status, &ImportPage { layout, report: None, message: Some(message) }))
        }
    }
}
