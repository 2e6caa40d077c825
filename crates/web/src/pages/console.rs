//! The operator's console (受理台): a keyboard-first intake form for a caller
//! on the line or at the counter. Earlier requests of the enterprise (credit
//! code) or the caller (phone) are listed through `app.requests()` (here, and
//! as you type by `console.js` through `GET /api/v1/requests`); the intake is
//! `app.requests().intake` as the operator, and a consultation may then be
//! closed at once (直接办结) through the detail page's action form, with a
//! standard answer from `app.knowledge()`.

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};

use crate::extract::{Form, PageQuery as Query};
use serde::Deserialize;

use mashangban_app::knowledge::citation;
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::org::UnitKind;
use mashangban_domain::request::{Channel, RequestKind, State as RequestState, Urgency};
use mashangban_store::Store;

use super::submit::{CategoryGroup, category_groups};
use super::{Choice, Layout, PageResult, plain_code, render, short_time};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![
        Route::get("/console", form::<S>).permission(Permission::Console).nav(MenuKind::Main, 20, "受理台"),
        Route::post("/console", post::<S>).permission(Permission::Console).form(),
    ]
}

/// The channels an operator takes calls and visits by.
const CHANNELS: &[Channel] = &[Channel::Phone, Channel::Counter];

/// What the operator typed (kept when the intake is refused).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Values {
    channel: String,
    kind: String,
    urgency: String,
    asker_type: String,
    credit_code: String,
    enterprise_name: String,
    contact_name: String,
    phone: String,
    category: String,
    town: String,
    address: String,
    title: String,
    content: String,
    /// The ledger item (台账条目) the request is about, as `type:key` (e.g. an outlet), if any.
    ledger_ref: String,
    /// The standard answer (知识库) the operator picked while typing, if any.
    article: String,
}

impl Values {
    /// The fields shared with the API's intake.
    fn fields(&self) -> super::IntakeFields<'_> {
        super::IntakeFields {
            enterprise: self.enterprise(),
            credit_code: &self.credit_code,
            enterprise_name: &self.enterprise_name,
            contact_name: &self.contact_name,
            phone: &self.phone,
            category: &self.category,
            town: &self.town,
            address: &self.address,
            title: &self.title,
            content: &self.content,
            ledger_ref: &self.ledger_ref,
        }
    }

    fn enterprise(&self) -> bool {
        self.asker_type == "enterprise"
    }
}

/// One earlier request of the enterprise or the caller.
struct Earlier {
    tracking_no: String,
    title: String,
    state_label: String,
    received_at: String,
}

/// A look-up: what was asked and what it found (or why it could not).
struct History {
    heading: &'static str,
    items: Vec<Earlier>,
    error: Option<String>,
}

/// The request just taken in.
struct Done {
    tracking_no: String,
    /// Only on the page the intake led to (its URL carries it), never read back for staff.
    check_code: Option<String>,
    kind_label: &'static str,
    /// A consultation still received: offer 直接办结.
    direct_close: bool,
    /// The answer to fill in: the picked standard answer ending with its citation.
    answer: String,
    /// Standard answers matching the request's words (for 直接办结).
    suggestions: Vec<Suggestion>,
    /// Open requests that look like the same matter (疑似重复), most alike first.
    similar: Vec<mashangban_app::duplicates::SimilarRequest>,
    /// Whether the caller may merge (并单) the new request into one of them here.
    may_merge: bool,
}

/// A standard answer to offer for a direct close.
struct Suggestion {
    id: i64,
    title: String,
    picked: bool,
}

#[derive(Template)]
#[template(path = "console.html")]
struct ConsolePage {
    layout: Layout,
    values: Values,
    error: Option<String>,
    done: Option<Done>,
    histories: Vec<History>,
    channels: Vec<Choice>,
    kinds: Vec<Choice>,
    urgencies: Vec<Choice>,
    categories: Vec<CategoryGroup>,
    towns: Vec<Choice>,
}

/// Earlier requests of the enterprise or caller, in the operator's scope.
async fn history<S: Store>(app: &App<S>, caller: &Caller, heading: &'static str, key: &str, value: &str) -> History {
    let query = HashMap::from([(key.to_owned(), value.trim().to_owned()), ("limit".to_owned(), "10".to_owned())]);
    let mut history = History { heading, items: Vec::new(), error: None };
    let listed = match app.requests().filter(&query) {
        Ok(filter) => app.requests().list(caller, &filter).await,
        Err(e) => Err(e),
    };
    match listed {
        Ok(listing) => {
            history.items = listing
                .items
                .into_iter()
                .map(|(_, v)| Earlier {
                    tracking_no: v.tracking_no,
                    title: v.title,
                    state_label: v.state_label.to_owned(),
                    received_at: short_time(&v.received_at),
                })
                .collect()
        }
        Err(e) if e.code == "internal_error" => history.error = Some("查询失败，请稍后再试".into()),
        Err(e) => history.error = Some(e.message),
    }
    history
}

async fn page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    values: Values,
    error: Option<String>,
    done: Option<Done>,
) -> ConsolePage {
    let mut histories = Vec::new();
    if values.enterprise() && !values.credit_code.trim().is_empty() {
        histories.push(history(app, caller, "该企业的往来诉求", "credit_code", &values.credit_code).await);
    }
    if !values.phone.trim().is_empty() {
        histories.push(history(app, caller, "该来电号码的往来诉求", "phone", &values.phone).await);
    }
    let choices = |all: &[(&'static str, &'static str)], selected: &str| {
        all.iter().map(|(v, l)| Choice::new(*v, *l, *v == selected)).collect::<Vec<_>>()
    };
    let channels: Vec<_> = CHANNELS.iter().map(|c| (c.as_str(), c.label())).collect();
    let kinds: Vec<_> = RequestKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect();
    let urgencies: Vec<_> = Urgency::ALL.iter().map(|u| (u.as_str(), u.label())).collect();
    let mut towns: Vec<Choice> = app
        .caches()
        .org()
        .units()
        .filter(|u| u.kind == UnitKind::Town && u.active)
        .map(|u| Choice::new(u.code.clone(), u.name.clone(), values.town == u.code))
        .collect();
    towns.sort_by(|a, b| a.value.cmp(&b.value));
    ConsolePage {
        layout: Layout::staff("受理台", &caller.actor, menu),
        channels: choices(&channels, &values.channel),
        kinds: choices(&kinds, &values.kind),
        urgencies: choices(&urgencies, &values.urgency),
        categories: category_groups(&app.caches().categories(), &values.category),
        towns,
        values,
        error,
        done,
        histories,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConsoleQuery {
    /// The request just taken in.
    done: String,
    /// Its check code, from the intake's answer, to tell the caller once.
    code: String,
    phone: String,
    credit_code: String,
    /// The standard answer to fill the direct close with.
    article: String,
    /// A ledger item to link the request to (`type:key`), from the item's page.
    ledger_ref: String,
}

/// `GET /console`: the empty form (channel 12345热线, resident, consultation),
/// with `?phone=` / `?credit_code=` the earlier requests, `?ledger_ref=` the
/// ledger item filled in, with `?done=` the request just taken in.
pub async fn form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Query(q): Query<ConsoleQuery>,
) -> PageResult {
    let asker_type = if q.credit_code.trim().is_empty() { "resident" } else { "enterprise" };
    let values = Values {
        channel: Channel::Phone.as_str().into(),
        kind: RequestKind::Consultation.as_str().into(),
        urgency: Urgency::Normal.as_str().into(),
        asker_type: asker_type.into(),
        phone: q.phone,
        credit_code: q.credit_code,
        ledger_ref: q.ledger_ref,
        ..Values::default()
    };
    let done = match plain_code(&q.done) {
        Some(no) => done_panel(&app, &caller, no, &q.code, &q.article).await?,
        None => None,
    };
    Ok(render(StatusCode::OK, &page(&app, &caller, &menu, values, None, done).await))
}

/// `POST /console`: the intake through the API's intake handler as the
/// operator (channel 12345热线 or 服务窗口); on success back to the console
/// with the tracking number, check code and, for a consultation, 直接办结.
pub async fn post<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<std::sync::Arc<Menu>>,
    Form(values): Form<Values>,
) -> PageResult {
    match take_in(&app, &caller, &values).await.map_err(ApiError::from) {
        Ok((no, code)) => Ok(Redirect::to(&done_url(&no, &code, &values.article)).into_response()),
        Err(e) if e.status == StatusCode::UNAUTHORIZED || e.code == "csrf_rejected" => Err(e.into()),
        Err(e) => {
            let status = e.status;
            Ok(render(status, &page(&app, &caller, &menu, values, Some(e.message), None).await))
        }
    }
}

/// The console after an intake, carrying the check code of the intake's answer (to tell the caller;
/// staff never read it back from a request) and the picked standard answer (digits only).
fn done_url(no: &str, code: &str, article: &str) -> String {
    let article = article.trim();
    if !article.is_empty() && article.len() <= 18 && article.chars().all(|c| c.is_ascii_digit()) {
        format!("/console?done={no}&code={code}&article={article}")
    } else {
        format!("/console?done={no}&code={code}")
    }
}

/// The request just taken in; for a consultation still received, the
/// standard answers matching its words and the picked one's text.
async fn done_panel<S: Store>(
    app: &App<S>,
    caller: &Caller,
    no: &str,
    code: &str,
    article: &str,
) -> PageResult<Option<Done>> {
    let r = match app.requests().find(caller, no).await {
        Ok(r) => r,
        Err(e) if e.code == "request_not_found" => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let direct_close = r.kind == RequestKind::Consultation && r.state == RequestState::Received;
    let mut done = Done {
        direct_close,
        tracking_no: r.tracking_no.clone(),
        // Shown only when the URL carries the right one: the page reveals nothing the intake did not.
        check_code: (!code.is_empty() && code == r.check_code).then(|| r.check_code.clone()),
        kind_label: r.kind.label(),
        answer: String::new(),
        suggestions: Vec::new(),
        similar: Vec::new(),
        may_merge: false,
    };
    if r.state.is_open() && caller.actor.may(Permission::SuggestDispatch) {
        done.similar = app.duplicates().at_intake(caller, &r).await?;
        done.may_merge = caller.actor.has_role(&[mashangban_domain::org::Role::Dispatcher]);
    }
    if !direct_close {
        return Ok(Some(done));
    }
    let picked = match article.trim().parse::<i64>() {
        Ok(id) => app.knowledge().active(id).await?,
        Err(_) => None,
    };
    if let Some(a) = &picked {
        done.answer = format!("{}\n{}", a.body, citation(a.id, a.version));
    }
    let found = app.knowledge().suggest(&format!("{} {}", r.title, r.content), 5).await?;
    done.suggestions = found
        .into_iter()
        .map(|a| Suggestion { picked: picked.as_ref().is_some_and(|p| p.id == a.id), id: a.id, title: a.title })
        .collect();
    Ok(Some(done))
}

async fn take_in<S: Store>(app: &App<S>, caller: &Caller, v: &Values) -> Result<(String, String), AppError> {
    let channel = Channel::parse(&v.channel)
        .filter(|c| CHANNELS.contains(c))
        .ok_or_else(|| AppError::invalid("channel_required", "请选择受理渠道（12345热线或服务窗口）"))?;
    let kind = RequestKind::parse(&v.kind).ok_or_else(|| AppError::invalid("invalid_field", "请选择诉求类型"))?;
    let input = v.fields().input(kind, Urgency::parse(&v.urgency), Some(channel));
    let intake = app.requests().intake(caller, input).await?;
    Ok((intake.tracking_no, intake.check_code))
}
