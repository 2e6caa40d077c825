//! 联系干部 (`/liaisons`): a cadre's own enterprises (我联系的企业), the
//! cadres (for those who assign them) and the towns whose cards the person
//! may print; the assignment forms of the enterprise's page; and the
//! printable contact cards (联系卡): one card on an A6 sheet
//! (`/liaisons/cards/{id}`) or a town's cards four to an A4 sheet
//! (`/liaisons/towns/{town}/cards`), each with its signed QR link, as a page
//! to print and as a PDF file made on the server (`/liaisons/cards/{id}.pdf`,
//! `/liaisons/towns/{town}/cards.pdf`, see [`crate::card_pdf`]).

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::App;
use mashangban_app::liaisons::{AssignBody, AssignmentView, CadreView, CardView};
use mashangban_domain::access::Permission;
use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::liaison::LiaisonKind;
use mashangban_domain::org::UnitKind;
use mashangban_store::Store;

use super::portal::qr_svg;
use super::{Layout, PageResult, render, short_time, shown};
use crate::api::liaisons::{CardQuery, assignment_id, card_days};
use crate::api::percent_encode;
use crate::auth::Auth;
use crate::card_pdf;
use crate::extract::{Form, PagePath as Path};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (manage, print) = (Permission::ManageLiaisons, Permission::PrintCards);
    vec![
        Route::get("/liaisons", overview::<S>).permission(print).nav(MenuKind::Main, 46, "联系干部"),
        // `{id}.pdf` too: the router has no suffix after a parameter, so the handler tells them apart.
        Route::get("/liaisons/cards/{id}", card::<S>).permission(print),
        Route::get("/liaisons/towns/{town}/cards", town_cards::<S>).permission(print),
        Route::get("/liaisons/towns/{town}/cards.pdf", town_cards_pdf::<S>).permission(print),
        Route::post("/enterprises/{code}/liaisons", assign::<S>).permission(manage).form(),
        Route::post("/liaisons/assignments/{id}/end", unassign::<S>).permission(manage).form(),
    ]
}

#[derive(Template)]
#[template(path = "liaisons.html")]
struct OverviewPage {
    layout: Layout,
    mine: Vec<AssignmentView>,
    print: bool,
    /// (code, name) of the towns whose cards the person may print.
    towns: Vec<(String, String)>,
    cadres: Option<Vec<CadreView>>,
}

impl OverviewPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// A card with its QR code.
struct PrintedCard {
    card: CardView,
    qr_svg: String,
}

#[derive(Template)]
#[template(path = "cards.html")]
struct CardsPage {
    title: String,
    assets: &'static str,
    single: bool,
    expires_on: String,
    /// Where the same cards are as a PDF file.
    pdf_href: String,
    cards: Vec<PrintedCard>,
}

/// `GET /liaisons`.
async fn overview<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    let mine = app.liaisons().mine(&caller).await?;
    let org = app.caches().org();
    let mut towns: Vec<(String, String)> = match EnterpriseScope::of(&caller.actor) {
        EnterpriseScope::All => org
            .units()
            .filter(|u| u.kind == UnitKind::Town && u.active)
            .map(|u| (u.code.clone(), u.name.clone()))
            .collect(),
        EnterpriseScope::Town(t) => org.get(t).map(|u| (u.code.clone(), u.name.clone())).into_iter().collect(),
        EnterpriseScope::Liaison(_) | EnterpriseScope::Nothing => Vec::new(),
    };
    towns.sort();
    let cadres =
        if caller.may(Permission::ManageLiaisons) { Some(app.liaisons().cadres(&caller).await?) } else { None };
    let page = OverviewPage {
        layout: Layout::staff("联系干部", &caller.actor, &menu),
        print: caller.may(Permission::PrintCards),
        mine,
        towns,
        cadres,
    };
    Ok(render(StatusCode::OK, &page))
}

fn printed(cards: Vec<CardView>) -> Vec<PrintedCard> {
    let svg = |link: &str| qr_svg(link).replacen("进度查询链接的二维码", "联系卡二维码：扫码提交诉求", 1);
    cards.into_iter().map(|card| PrintedCard { qr_svg: svg(&card.link), card }).collect()
}

/// `GET /liaisons/cards/{id}[?days=]`: one card on an A6 sheet;
/// `GET /liaisons/cards/{id}.pdf[?days=]`: the same as a PDF file.
async fn card<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    q: Result<Query<CardQuery>, QueryRejection>,
) -> PageResult {
    let (id, as_pdf) = id.strip_suffix(".pdf").map_or((id.as_str(), false), |id| (id, true));
    let days = card_days(q)?;
    let card = app.liaisons().card(&caller, assignment_id(id)?, days).await?;
    if as_pdf {
        return Ok(card_pdf::download(&card));
    }
    let page = CardsPage {
        title: format!("联系卡：{}", card.assignment.enterprise_name),
        assets: super::assets::version(),
        single: true,
        expires_on: card.expires_on.clone(),
        pdf_href: with_days(&format!("/liaisons/cards/{id}.pdf"), days),
        cards: printed(vec![card]),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `path` with the `days` asked for, so the PDF link prints what the page shows.
fn with_days(path: &str, days: Option<i64>) -> String {
    days.map_or_else(|| path.to_owned(), |d| format!("{path}?days={d}"))
}

/// `GET /liaisons/towns/{town}/cards[?days=]`: a town's cards, four to an A4 sheet.
async fn town_cards<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(town): Path<String>,
    q: Result<Query<CardQuery>, QueryRejection>,
) -> PageResult {
    let days = card_days(q)?;
    let cards = app.liaisons().town_cards(&caller, &town, days).await?;
    let (_, name) = town_of(&app, &town);
    let expires_on = cards.first().map(|c| c.expires_on.clone()).unwrap_or_default();
    let page = CardsPage {
        title: format!("{name}联系卡"),
        assets: super::assets::version(),
        single: false,
        expires_on,
        pdf_href: with_days(&format!("/liaisons/towns/{}/cards.pdf", percent_encode(town.trim())), days),
        cards: printed(cards),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /liaisons/towns/{town}/cards.pdf[?days=]`: a town's cards, four to an
/// A4 page, as a PDF file; as many cards as the page (at most
/// [`mashangban_app::liaisons::LIST_MAX`]).
async fn town_cards_pdf<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(town): Path<String>,
    q: Result<Query<CardQuery>, QueryRejection>,
) -> PageResult {
    let cards = app.liaisons().town_cards(&caller, &town, card_days(q)?).await?;
    let (code, name) = town_of(&app, &town);
    let bytes = card_pdf::sheets(&name, &cards);
    Ok(crate::download::pdf(bytes, &format!("{name}联系卡.pdf"), &format!("contact-cards-{code}.pdf")))
}

/// A town's code and name (known: the cards were found by it).
fn town_of<S: Store>(app: &App<S>, town: &str) -> (String, String) {
    app.caches().org().by_code(town.trim()).map(|u| (u.code.clone(), u.name.clone())).unwrap_or_default()
}

#[derive(Deserialize)]
struct AssignForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    kind: String,
}

/// `POST /enterprises/{code}/liaisons`: as the API; back to the enterprise's page.
async fn assign<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(form): Form<AssignForm>,
) -> PageResult {
    let Ok(user_id) = form.user_id.trim().parse() else {
        let message = Some("请选择联系干部".to_owned());
        return super::enterprises::file_page(&app, &caller, &menu, &code, StatusCode::UNPROCESSABLE_ENTITY, message)
            .await;
    };
    let body = AssignBody { user_id, kind: LiaisonKind::parse(&form.kind) };
    match app.liaisons().assign(&caller, &code, body).await {
        Ok(a) => Ok(Redirect::to(&format!("/enterprises/{}#liaisons", a.credit_code)).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            super::enterprises::file_page(&app, &caller, &menu, &code, status, Some(message)).await
        }
    }
}

/// `POST /liaisons/assignments/{id}/end`: as the API; back to the enterprise's page.
async fn unassign<S: Store>(State(app): State<App<S>>, Auth(caller): Auth, Path(id): Path<String>) -> PageResult {
    let ended = app.liaisons().unassign(&caller, assignment_id(&id)?).await?;
    Ok(Redirect::to(&format!("/enterprises/{}#liaisons", ended.credit_code)).into_response())
}
