//! An application's page (`/fund/applications/{id}`): the application, its
//! data and computed award, its materials, objections and history, and a
//! form for each step the reader may take now (`app.fund().detail` decides).
//! Every form posts to a handler that calls the same service as the API
//! (`app.fund().act`, `object`, `answer`); success is a 303 back to the page,
//! a refusal the page again with the API's status and Chinese message next
//! to that form (`id="{action}-error"`), what was typed kept.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;

use mashangban_app::fund::{ApplicationView, DecisionBody, Deed, FundDeeds, NoticeRow, ReviewBody, TextBody};
use mashangban_app::{App, AppError, Caller};
use mashangban_domain::document::OwnerKind;
use mashangban_domain::fund::codes::APPLICATION_CHANGED;
use mashangban_domain::fund::{application_not_found, objection_not_found};
use mashangban_store::Store;

use super::super::{Layout, PageResult, conflict, render, short_time, shown};
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path, PageQuery as Query};
use crate::routes::Menu;

#[derive(Template)]
#[template(path = "fund_application.html")]
struct DetailPage {
    layout: Layout,
    view: ApplicationView,
    deeds: FundDeeds,
    refusal: Refusal,
    documents: crate::pages::documents::Panel,
}

/// The form refused last, if any: its action, the message, what was typed.
#[derive(Default)]
struct Refusal {
    refused: Option<(String, String)>,
    kept: ActionForm,
    /// The objection whose answer was refused.
    objection: Option<i64>,
    /// After a version conflict, what was typed (the form itself shows the application as it
    /// stands: nothing typed, at its current version); settled into `beside` or `typed_elsewhere`
    /// once the page knows which forms it shows.
    changed: Option<ActionForm>,
    /// What was typed in the refused form's fields (`{action}-{field}`) where it differs from what
    /// stands, when that form is still shown.
    beside: conflict::Beside,
    /// What was typed (label, text), when the refused form is no longer shown.
    typed_elsewhere: Vec<(&'static str, String)>,
}

impl Refusal {
    fn of(action: &str, message: String, kept: ActionForm) -> Self {
        Self { refused: Some((action.to_owned(), message)), kept, ..Self::default() }
    }

    /// A version conflict of `action`'s form with `typed`.
    fn changed(action: &str, message: String, typed: ActionForm) -> Self {
        Self { refused: Some((action.to_owned(), message)), changed: Some(typed), ..Self::default() }
    }
}

impl DetailPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    /// The message of `action`'s refusal, if it was refused.
    fn error_of(&self, action: &str) -> Option<&str> {
        self.refusal.refused.as_ref().filter(|(a, _)| a == action).map(|(_, m)| m.as_str())
    }

    /// A refusal whose form the page no longer shows (the state changed meanwhile).
    fn error_elsewhere(&self) -> Option<&str> {
        let (action, message) = self.refusal.refused.as_ref()?;
        let shown = match action.as_str() {
            "town-review" => self.deeds.town_review,
            "department-review" => self.deeds.department_review,
            "publicise" => self.deeds.publicise,
            "pay" => self.deeds.pay,
            "reject" => self.deeds.reject,
            "object" => self.deeds.object,
            "answer" => self.deeds.answer && self.refusal.objection.is_some(),
            _ => false,
        };
        (!shown).then_some(message.as_str())
    }

    /// What was typed in `field` of `action`'s form when it was refused.
    fn kept(&self, action: &str, field: &str) -> &str {
        if self.error_of(action).is_none() {
            return "";
        }
        match field {
            "award" => &self.refusal.kept.award,
            "reason" => &self.refusal.kept.reason,
            "note" => &self.refusal.kept.note,
            "text" => &self.refusal.kept.text,
            _ => "",
        }
    }

    /// The version `action`'s form carries: after its refusal the one its kept values were typed
    /// on (acting on them after someone else's change then meets that change), else the current.
    fn version_of(&self, action: &str) -> String {
        match self.refusal.kept.version() {
            Some(typed_on) if self.error_of(action).is_some() => typed_on.to_string(),
            _ => self.view.summary.version.to_string(),
        }
    }

    /// After a version conflict: the message, and what was typed beside the refused form's fields
    /// (an award typed equal to the award as it stands is no difference) or, when that form is no
    /// longer shown, listed under the message.
    fn settle_conflict(&mut self) {
        let (Some(typed), Some((action, _))) = (self.refusal.changed.take(), self.refusal.refused.clone()) else {
            return;
        };
        let summary = &self.view.summary;
        let fields: Vec<(&str, &'static str, &str)> = match action.as_str() {
            "town-review" | "department-review" => {
                vec![("award", "调整核定金额", typed.award.as_str()), ("reason", "调整理由", typed.reason.as_str())]
            }
            "pay" => vec![("note", "拨付记录", typed.note.as_str())],
            "reject" => vec![("note", "不予支持的理由", typed.note.as_str())],
            _ => Vec::new(),
        };
        let message = if self.error_elsewhere().is_none() {
            for (field, _, text) in fields {
                let key = format!("{action}-{field}");
                // The award left blank keeps the award as it stands: so does one typed equal to it.
                if !(field == "award" && conflict::same(conflict::Kind::Decimal, &summary.award, text)) {
                    self.refusal.beside.compare(&key, conflict::Kind::Text, "", text);
                }
            }
            conflict::changed_meanwhile("该申报", summary.version)
        } else {
            self.refusal.typed_elsewhere = fields
                .into_iter()
                .filter(|(_, _, text)| !text.trim().is_empty())
                .map(|(_, label, text)| (label, text.trim().to_owned()))
                .collect();
            format!(
                "保存前，该申报已被他人处理（现为第{}版，{}），此项操作已不能再做，未执行。{}",
                summary.version,
                summary.state_label,
                if self.refusal.typed_elsewhere.is_empty() {
                    ""
                } else {
                    "您填写的内容列在下方，供核对。"
                }
            )
        };
        if let Some((_, shown)) = &mut self.refusal.refused {
            *shown = message;
        }
    }

    /// The answer typed for objection `id`, when its answer was refused.
    fn kept_answer(&self, id: &i64) -> &str {
        if self.refusal.objection == Some(*id) { self.kept("answer", "text") } else { "" }
    }

    fn answer_error(&self, id: &i64) -> Option<&str> {
        if self.refusal.objection == Some(*id) { self.error_of("answer") } else { None }
    }
}

/// The fields of every action form (each form sends some of them).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct ActionForm {
    award: String,
    reason: String,
    note: String,
    text: String,
    version: String,
}

impl ActionForm {
    fn version(&self) -> Option<i64> {
        self.version.trim().parse().ok()
    }

    fn review(&self) -> ReviewBody {
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        ReviewBody { award: given(&self.award), reason: given(&self.reason), version: self.version() }
    }

    fn decision(&self) -> DecisionBody {
        DecisionBody { note: Some(self.note.clone()), version: self.version() }
    }
}

fn application_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| application_not_found().into())
}

async fn detail_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    status: StatusCode,
    refusal: Refusal,
) -> PageResult {
    let (view, deeds) = app.fund().detail(caller, id).await?;
    let title = format!("扶持资金申报 {}：{}", view.summary.id, view.summary.measure_name);
    let materials = view.materials.iter().map(|m| m.name.clone()).collect();
    let documents = crate::pages::documents::panel(app, caller, OwnerKind::FundApplication, id, materials).await?;
    let mut page = DetailPage { layout: Layout::staff(title, &caller.actor, menu), view, deeds, refusal, documents };
    page.settle_conflict();
    Ok(render(status, &page))
}

/// `GET /fund/applications/{id}`.
pub(super) async fn page<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    detail_page(&app, &caller, &menu, application_id(&id)?, StatusCode::OK, Refusal::default()).await
}

/// A review step through `app.fund().act`, as the API's; back to the page.
async fn step<S: Store>(
    app: App<S>,
    caller: Caller,
    menu: &Menu,
    id: &str,
    deed: Deed,
    action: &'static str,
    form: ActionForm,
) -> PageResult {
    let id = application_id(id)?;
    let (review, decision) = match deed {
        Deed::TownReview | Deed::DepartmentReview => (form.review(), DecisionBody::default()),
        _ => (ReviewBody::default(), form.decision()),
    };
    match app.fund().act(&caller, id, deed, review, decision).await {
        Ok(_) => Ok(Redirect::to(&format!("/fund/applications/{id}")).into_response()),
        Err(e) if e.code == APPLICATION_CHANGED => {
            let (status, message) = shown(e)?;
            detail_page(&app, &caller, menu, id, status, Refusal::changed(action, message, form)).await
        }
        Err(e) => {
            let (status, message) = shown(e)?;
            detail_page(&app, &caller, menu, id, status, Refusal::of(action, message, form)).await
        }
    }
}

macro_rules! step_handler {
    ($name:ident, $deed:expr, $action:literal) => {
        #[doc = concat!("`POST /fund/applications/{id}/", $action, "`.")]
        pub(super) async fn $name<S: Store>(
            State(app): State<App<S>>,
            Auth(caller): Auth,
            Extension(menu): Extension<Arc<Menu>>,
            Path(id): Path<String>,
            Form(form): Form<ActionForm>,
        ) -> PageResult {
            step(app, caller, &menu, &id, $deed, $action, form).await
        }
    };
}

step_handler!(town_review, Deed::TownReview, "town-review");
step_handler!(department_review, Deed::DepartmentReview, "department-review");
step_handler!(publicise, Deed::Publicise, "publicise");
step_handler!(pay, Deed::Pay, "pay");
step_handler!(reject, Deed::Reject, "reject");

/// `POST /fund/applications/{id}/objections`: 提出异议 during the notice.
pub(super) async fn object<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> PageResult {
    let id = application_id(&id)?;
    // Only a reader of the application objects through its page (the API takes any signed-in person).
    app.fund().get(&caller, id).await?;
    match app.fund().object(&caller, id, TextBody { text: form.text.clone() }).await {
        Ok(_) => Ok(Redirect::to(&format!("/fund/applications/{id}#objections")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            detail_page(&app, &caller, &menu, id, status, Refusal::of("object", message, form)).await
        }
    }
}

/// The form of an answer: the objection's application comes with it, to go back to.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct AnswerForm {
    application: String,
    text: String,
}

/// `POST /fund/objections/{id}/answer`: 答复异议 (the office).
pub(super) async fn answer<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> PageResult {
    let objection: i64 = id.parse().map_err(|_| AppError::from(objection_not_found()))?;
    let application = application_id(&form.application)?;
    // The objection must belong to the application the page shows.
    let (view, _) = app.fund().detail(&caller, application).await?;
    if !view.objections.iter().any(|o| o.id == objection) {
        return Err(AppError::from(objection_not_found()).into());
    }
    match app.fund().answer(&caller, objection, TextBody { text: form.text.clone() }).await {
        Ok(_) => Ok(Redirect::to(&format!("/fund/applications/{application}#objections")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            let kept = ActionForm { text: form.text, ..ActionForm::default() };
            let refusal = Refusal { objection: Some(objection), ..Refusal::of("answer", message, kept) };
            detail_page(&app, &caller, &menu, application, status, refusal).await
        }
    }
}

#[derive(Template)]
#[template(path = "fund_objection.html")]
struct ObjectionPage {
    layout: Layout,
    notice: NoticeRow,
    error: Option<String>,
    text: String,
    done: bool,
}

impl ObjectionPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// The public notice's line of an application on notice, or 404.
async fn notice_of<S: Store>(app: &App<S>, id: i64) -> Result<NoticeRow, AppError> {
    let notices = app.fund().notices().await?;
    notices.into_iter().find(|n| n.application_id == id).ok_or_else(|| application_not_found().into())
}

async fn objection_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    status: StatusCode,
    refused: Option<(String, String)>,
    done: bool,
) -> PageResult {
    let notice = notice_of(app, id).await?;
    let (error, text) = refused.map_or((None, String::new()), |(message, text)| (Some(message), text));
    let page =
        ObjectionPage {
            layout: Layout::staff("对公示提出异议", &caller.actor, menu), notice, error, text, done
        };
    Ok(render(status, &page))
}

/// `GET /fund/notices/{id}/objection[?done=1]`: the public notice's line
/// (enterprise, measure, award; nothing personal) and the objection form, for
/// anyone signed in while the award is on notice.
pub(super) async fn objection_form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let id = application_id(&id)?;
    objection_page(&app, &caller, &menu, id, StatusCode::OK, None, q.done.is_some()).await
}

/// `POST /fund/notices/{id}/objection`: as `POST /api/v1/fund/applications/{id}/objections`.
pub(super) async fn objection_submit<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> PageResult {
    let id = application_id(&id)?;
    match app.fund().object(&caller, id, TextBody { text: form.text.clone() }).await {
        Ok(_) => Ok(Redirect::to(&format!("/fund/notices/{id}/objection?done=1")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            objection_page(&app, &caller, &menu, id, status, Some((message, form.text)), false).await
        }
    }
}
