//! `GET /submit` and `POST /submit`: the portal's request form. The form is
//! checked field by field with the domain's own validators (so every message
//! stands next to its field), then submitted through
//! `app.requests().submit_on_portal` as an anonymous asker (the intake's rate
//! limit, checks and store path), the attachments added as the asker's materials.

use std::collections::HashMap;

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use mashangban_app::accounts::AskerProfile;
use mashangban_app::requests::{NewFile, clean_file_name, sniff};
use mashangban_app::{App, Caller, Settings};
use mashangban_domain::org::UnitKind;
use mashangban_domain::request::{self, Channel, RequestKind, Urgency};
use mashangban_domain::validation::{CreditCode, Phone, optional_text, required_text};
use mashangban_store::{Category, Store};

use super::{Choice, Layout, MAX_PORTAL_FILES, PageResult, render};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::Menu;
use crate::routes::Route;

pub fn routes<S: Store>(settings: &Settings) -> Vec<Route<S>> {
    vec![
        Route::get("/submit", form::<S>).public(),
        Route::post("/submit", post::<S>).public().form().body_limit(limit(settings)),
        Route::get("/card", card::<S>).public(),
    ]
}

/// The body limit of a submission: its files and the form's fields.
pub fn limit(settings: &Settings) -> usize {
    settings.max_attachment_bytes * MAX_PORTAL_FILES + 256 * 1024
}

/// What the asker typed, kept for a re-rendered form.
#[derive(Default)]
pub struct Values {
    pub asker_type: String,
    pub credit_code: String,
    pub enterprise_name: String,
    pub contact_name: String,
    pub phone: String,
    pub kind: String,
    pub category: String,
    pub town: String,
    pub address: String,
    pub title: String,
    pub content: String,
    /// The enterprise asks for 马上办 (act now): checkbox `act_now`.
    pub act_now: bool,
    /// A contact card's signed link (联系卡): hidden fields `card_e`, `card_l`, `card_x`, `card_s`.
    pub card: Option<CardLink>,
}

/// The fields of a contact card's signed link, carried by the form as they arrived.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CardLink {
    #[serde(default)]
    pub e: String,
    #[serde(default)]
    pub l: String,
    #[serde(default)]
    pub x: String,
    #[serde(default)]
    pub s: String,
}

/// What the form shows of a verified card.
pub struct CardBanner {
    pub link: CardLink,
    pub cadre: String,
    pub post: String,
}

impl Values {
    fn from_fields(mut f: HashMap<String, String>) -> Self {
        let mut take = |k: &str| f.remove(k).unwrap_or_default();
        Self {
            asker_type: take("asker_type"),
            credit_code: take("credit_code").trim().to_uppercase(),
            enterprise_name: take("enterprise_name"),
            contact_name: take("contact_name"),
            phone: take("phone"),
            kind: take("kind"),
            category: take("category"),
            town: take("town"),
            address: take("address"),
            title: take("title"),
            content: take("content"),
            act_now: !take("act_now").is_empty(),
            card: {
                let link = CardLink { e: take("card_e"), l: take("card_l"), x: take("card_x"), s: take("card_s") };
                (!link.s.is_empty() || !link.e.is_empty()).then_some(link)
            },
        }
    }

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
            // The public does not name ledger items.
            ledger_ref: "",
        }
    }

    fn enterprise(&self) -> bool {
        self.asker_type != "resident"
    }
}

/// A message per field (shown next to it), and one for the whole form.
#[derive(Default)]
pub struct Errors {
    pub credit_code: Option<String>,
    pub enterprise_name: Option<String>,
    pub contact_name: Option<String>,
    pub phone: Option<String>,
    pub kind: Option<String>,
    pub category: Option<String>,
    pub town: Option<String>,
    pub address: Option<String>,
    pub title: Option<String>,
    pub content: Option<String>,
    pub files: Option<String>,
    pub form: Option<String>,
}

impl Errors {
    fn any(&self) -> bool {
        [
            &self.credit_code,
            &self.enterprise_name,
            &self.contact_name,
            &self.phone,
            &self.kind,
            &self.category,
            &self.town,
            &self.address,
            &self.title,
            &self.content,
            &self.files,
            &self.form,
        ]
        .iter()
        .any(|e| e.is_some())
    }
}

/// A top-level category with its leaves, for an `<optgroup>`.
pub struct CategoryGroup {
    pub name: String,
    pub items: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "submit.html")]
struct SubmitPage {
    layout: Layout,
    values: Values,
    errors: Errors,
    enterprise: bool,
    kinds: Vec<Choice>,
    categories: Vec<CategoryGroup>,
    towns: Vec<Choice>,
    max_files: usize,
    /// The act-now (马上办) limits of the rule table in force, in Chinese.
    act_now_hint: String,
    /// Opened from a contact card (联系卡).
    card: Option<CardBanner>,
    /// Signed in as an enterprise or resident account: the submission is the account's.
    account: Option<AccountBanner>,
}

/// What the form says of the signed-in account it submits for.
pub struct AccountBanner {
    pub name: String,
    pub enterprise: bool,
}

/// The account's asker details in the form.
fn prefill(values: &mut Values, profile: &AskerProfile) {
    lock(values, profile);
    if let Some(e) = &profile.enterprise {
        values.enterprise_name = e.name.clone();
    }
    values.contact_name = profile.contact_name.clone();
    values.phone = profile.phone.clone();
}

/// An account submits as what it is: an enterprise account for its own enterprise, a resident's as a resident.
fn lock(values: &mut Values, profile: &AskerProfile) {
    match &profile.enterprise {
        Some(e) => {
            values.asker_type = "enterprise".into();
            values.credit_code = e.credit_code.clone();
        }
        None => values.asker_type = "resident".into(),
    }
}

/// The form's header: an account's own menu when signed in.
fn layout(caller: &Caller, menu: &Menu) -> Layout {
    Layout::portal("提交诉求", &caller.actor, menu)
}

fn account_banner(caller: &Caller, profile: Option<&AskerProfile>) -> Option<AccountBanner> {
    profile.map(|p| AccountBanner { name: caller.actor.name().to_owned(), enterprise: p.enterprise.is_some() })
}

fn page<S: Store>(app: &App<S>, values: Values, errors: Errors) -> SubmitPage {
    page_with_card(app, values, errors, None)
}

fn page_with_card<S: Store>(app: &App<S>, values: Values, errors: Errors, card: Option<CardBanner>) -> SubmitPage {
    let kinds =
        RequestKind::ALL.iter().map(|k| Choice::new(k.as_str(), k.label(), values.kind == k.as_str())).collect();
    let mut towns: Vec<Choice> = app
        .caches()
        .org()
        .units()
        .filter(|u| u.kind == UnitKind::Town && u.active)
        .map(|u| Choice::new(u.code.clone(), u.name.clone(), values.town == u.code))
        .collect();
    towns.sort_by(|a, b| a.value.cmp(&b.value));
    let act_now = app.caches().rules().resolve(RequestKind::Complaint, Urgency::ActNow, Channel::Web, true);
    SubmitPage {
        act_now_hint: format!("勾选后按企业“马上办”时限办理：{}。须填写统一社会信用代码。", act_now.describe()),
        layout: Layout::public("提交诉求"),
        card,
        account: None,
        enterprise: values.enterprise(),
        categories: category_groups(&app.caches().categories(), &values.category),
        kinds,
        towns,
        values,
        errors,
        max_files: MAX_PORTAL_FILES,
    }
}

/// Leaf categories grouped under their top-level category, in catalogue order.
pub(super) fn category_groups(categories: &[Category], selected: &str) -> Vec<CategoryGroup> {
    categories
        .iter()
        .filter(|top| top.parent_id.is_none() && top.active)
        .map(|top| CategoryGroup {
            name: top.name.clone(),
            items: categories
                .iter()
                .filter(|c| c.parent_id == Some(top.id) && c.active)
                .map(|c| Choice::new(c.code.clone(), c.name.clone(), c.code == selected))
                .collect(),
        })
        .filter(|g| !g.items.is_empty())
        .collect()
}

/// `GET /submit`: for a signed-in enterprise or resident account, prefilled
/// with its enterprise (一企一档), contact and phone.
pub async fn form<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    let mut values = Values { asker_type: "enterprise".into(), kind: "complaint".into(), ..Values::default() };
    let profile = app.accounts().asker_profile(&caller).await?;
    if let Some(profile) = &profile {
        prefill(&mut values, profile);
    }
    let mut page = page(&app, values, Errors::default());
    page.account = account_banner(&caller, profile.as_ref());
    page.layout = layout(&caller, &menu);
    Ok(render(StatusCode::OK, &page))
}

/// `POST /submit` (multipart): on success a 303 to the answer page; otherwise
/// the form again with the messages and the values kept.
pub async fn post<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    multipart: Multipart,
) -> Response {
    let (fields, files) = match read_form(multipart, app.settings().max_attachment_bytes).await {
        Ok(read) => read,
        Err(message) => {
            let errors = Errors { form: Some(message), ..Errors::default() };
            let page = SubmitPage { layout: layout(&caller, &menu), ..page(&app, Values::default(), errors) };
            return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    let mut values = Values::from_fields(fields);
    let profile = match app.accounts().asker_profile(&caller).await {
        Ok(profile) => profile,
        Err(e) => return super::PageError::from(e).into_response(),
    };
    if let Some(profile) = &profile {
        lock(&mut values, profile);
    }
    let account = || account_banner(&caller, profile.as_ref());
    // A card's link is checked again on submission; the enterprise is the card's.
    let card = match values.card.clone() {
        Some(link) => match app.liaisons().verify_card(&link.e, &link.l, &link.x, &link.s).await {
            Ok(prefill) => {
                values.asker_type = "enterprise".into();
                values.credit_code = prefill.claim.credit_code.clone();
                Some((
                    CardBanner { link, cadre: prefill.source.liaison_name.clone(), post: prefill.post },
                    prefill.source,
                ))
            }
            Err(e) => return card_refused(e),
        },
        None => None,
    };
    let mut errors = check(&app, &values);
    let files = check_files(files, &mut errors);
    let (banner, source) = card.map_or((None, None), |(b, s)| (Some(b), Some(s)));
    if errors.any() {
        let page = SubmitPage {
            account: account(),
            layout: layout(&caller, &menu),
            ..page_with_card(&app, values, errors, banner)
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    // 马上办 is an enterprise service: the act-now limits of the rule table apply to enterprises only.
    let urgency = (values.act_now && values.enterprise()).then_some(Urgency::ActNow);
    let input =
        values.fields().input(RequestKind::parse(&values.kind).unwrap_or(RequestKind::Complaint), urgency, None);
    match app.requests().submit_on_portal_with_card(&caller, input, files, source).await {
        Ok((intake, saved)) => {
            let note = if saved { "" } else { "&files=failed" };
            Redirect::to(&format!("/submitted/{}?code={}{note}", intake.tracking_no, intake.check_code)).into_response()
        }
        Err(e) => {
            let e = ApiError::from(e);
            let errors = Errors { form: Some(e.message), ..Errors::default() };
            render(
                e.status,
                &SubmitPage {
                    account: account(),
                    layout: layout(&caller, &menu),
                    ..page_with_card(&app, values, errors, banner)
                },
            )
        }
    }
}

/// `GET /card?e=&l=&x=&s=`: a contact card's QR code (联系卡). A link the
/// server signed, not expired, whose cadre still follows the enterprise opens
/// the form prefilled with the enterprise and the cadre; anything else is
/// refused with a Chinese page (403 altered, 410 expired or withdrawn).
pub async fn card<S: Store>(
    State(app): State<App<S>>,
    link: Result<axum::extract::Query<CardLink>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(axum::extract::Query(link)) = link else {
        return card_refused(mashangban_domain::liaison::card_invalid().into());
    };
    match app.liaisons().verify_card(&link.e, &link.l, &link.x, &link.s).await {
        Ok(prefill) => {
            let values = Values {
                asker_type: "enterprise".into(),
                kind: "complaint".into(),
                credit_code: prefill.claim.credit_code.clone(),
                enterprise_name: prefill.enterprise_name.clone(),
                act_now: true,
                card: Some(link.clone()),
                ..Values::default()
            };
            let banner = CardBanner { link, cadre: prefill.source.liaison_name, post: prefill.post };
            render(StatusCode::OK, &page_with_card(&app, values, Errors::default(), Some(banner)))
        }
        Err(e) => card_refused(e),
    }
}

/// The refusal of a card's link as a Chinese page: 403 when altered, 410 when expired or withdrawn.
fn card_refused(e: mashangban_app::AppError) -> Response {
    let status = match e.code {
        "card_expired" | "card_withdrawn" => StatusCode::GONE,
        "card_invalid" => StatusCode::FORBIDDEN,
        _ => ApiError::from(e.clone()).status,
    };
    super::PageError::Status(status, e.message).into_response()
}

type Fields = HashMap<String, String>;

/// Reads the text fields and the non-empty `file` parts of the form.
async fn read_form(mut multipart: Multipart, max_bytes: usize) -> Result<(Fields, Vec<(String, Vec<u8>)>), String> {
    let mut fields = HashMap::new();
    let mut files = Vec::new();
    let too_large =
        || format!("单个附件不能超过 {} MB，全部附件不能超过 {MAX_PORTAL_FILES} 个", max_bytes / 1024 / 1024);
    while let Some(field) = multipart.next_field().await.map_err(|_| too_large())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(|_| too_large())?;
            if !bytes.is_empty() || !file_name.is_empty() {
                files.push((file_name, bytes.to_vec()));
            }
        } else {
            let text = field.text().await.map_err(|_| "提交的内容格式不正确，请重新填写".to_owned())?;
            fields.insert(name, text);
        }
    }
    Ok((fields, files))
}

/// Every field checked with the validators intake uses.
fn check<S: Store>(app: &App<S>, v: &Values) -> Errors {
    fn message<T>(r: Result<T, mashangban_domain::DomainError>) -> Option<String> {
        r.err().map(|e| e.message)
    }
    let caches = app.caches();
    let category_ok = caches.categories().iter().any(|c| c.code == v.category && c.active && c.parent_id.is_some());
    let town_ok = v.town.is_empty() || caches.org().by_code(&v.town).is_some_and(|u| u.kind == UnitKind::Town);
    let enterprise = v.enterprise();
    Errors {
        credit_code: enterprise.then(|| message(CreditCode::parse(&v.credit_code))).flatten(),
        enterprise_name: enterprise.then(|| message(request::enterprise_name(&v.enterprise_name))).flatten(),
        contact_name: message(required_text("联系人姓名", &v.contact_name, request::NAME_MAX)),
        phone: message(Phone::parse(&v.phone)),
        kind: RequestKind::parse(&v.kind).is_none().then(|| "请选择诉求类型".to_owned()),
        category: (!category_ok).then(|| category_missing(app, v, town_ok)),
        town: (!town_ok).then(|| "请选择所在镇街".to_owned()),
        address: message(optional_text("地址", Some(v.address.as_str()), request::ADDRESS_MAX)),
        title: message(required_text("标题", &v.title, request::TITLE_MAX)),
        content: message(required_text("诉求内容", &v.content, request::CONTENT_MAX)),
        files: None,
        form: None,
    }
}

/// The category error, naming the categories the words typed point to (the form without script
/// gets the portal's suggestions this way).
fn category_missing<S: Store>(app: &App<S>, v: &Values, town_ok: bool) -> String {
    let town = Some(v.town.as_str()).filter(|_| town_ok);
    let suggested = app.dispatch().categories_of_words(&v.title, &v.content, town, RequestKind::parse(&v.kind));
    match suggested.unwrap_or_default().as_slice() {
        [] => "请选择诉求分类".to_owned(),
        found => {
            let names: Vec<String> = found.iter().map(|c| format!("「{}」", c.category_name)).collect();
            format!("请选择诉求分类。按您的描述，可能是：{}", names.join(""))
        }
    }
}

/// Files of an accepted type, at most [`MAX_PORTAL_FILES`].
fn check_files(files: Vec<(String, Vec<u8>)>, errors: &mut Errors) -> Vec<NewFile> {
    if files.len() > MAX_PORTAL_FILES {
        errors.files = Some(format!("最多上传 {MAX_PORTAL_FILES} 个附件"));
        return Vec::new();
    }
    let mut checked = Vec::new();
    for (name, bytes) in files {
        let name = clean_file_name(Some(&name));
        match sniff(&bytes) {
            _ if bytes.is_empty() => errors.files = Some(format!("文件「{name}」是空的")),
            Some(_) => checked.push(NewFile { name: Some(name), bytes }),
            None => {
                errors.files =
                    Some(format!("不支持的文件类型：「{name}」。可上传图片、PDF、Office 文档、录音、视频或纯文本"))
            }
        }
    }
    checked
}
