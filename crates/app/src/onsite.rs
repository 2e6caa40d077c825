//! On-site service (行走办): an enterprise asks a service centre to come and
//! handle government services on its premises; the centre accepts on a
//! preferred date within its daily capacity or proposes another, records what
//! it handled, and the enterprise rates it. The catalogue and the centres are
//! kept by administrators; the report counts requests, sessions, items
//! handled and satisfaction per centre. See docs/visits.md, "On-site service".
//!
//! Scope: an enterprise account sees its own requests (by credit code); a
//! centre's staff the requests of the centres of their unit (or below it);
//! administrators, supervisors and city leaders all — the latter two with the
//! contact masked. Out of scope answers `404 onsite_not_found`.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::onsite::{
    self as domain, KnownItem, OnsiteAction, OnsiteDraft, OnsiteStage, centre_not_found, check_capacity_setting,
    check_date, history_label, item_code, onsite_changed, onsite_not_found, parse_date,
};
use mashangban_domain::org::{Actor, Role};
use mashangban_domain::time::format_instant;
use mashangban_domain::validation::{Phone, mask_name, mask_phone};
use mashangban_sheet::Cell;
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_store::{
    NewOnsite, OnsiteChange, OnsiteEvent, OnsiteFilter, OnsiteHistoryEntry, OnsiteRecord, ServiceCentre,
    ServiceCentreInput, ServiceItem, ServiceItemInput, Store,
};
use mashangban_text::mask as mask_free_text;

use crate::enforcement::actor as history_actor;
use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// The most requests one list answers.
pub const LIST_MAX: u32 = 500;
/// The most requests a report reads.
const REPORT_MAX: u32 = 5000;

/// The on-site service: `app.onsite()`.
pub struct Onsite<'a, S> {
    app: &'a App<S>,
}

/// A catalogue item as entered.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceItemBody {
    /// A stable code, 2–32 letters, digits, `-` or `_`.
    pub code: String,
    pub name: String,
    /// The code of the department whose service it is.
    pub unit: String,
    /// Offered to enterprises (default true).
    #[serde(default)]
    pub active: Option<bool>,
}

/// A catalogue item as shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ServiceItemView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub unit: Option<UnitRef>,
    pub active: bool,
}

/// A service centre as entered.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CentreBody {
    /// The code of the unit whose staff work the centre's queue (one centre per unit).
    pub unit: String,
    pub name: String,
    /// Sessions per day (1–50).
    pub daily_capacity: u32,
    #[serde(default)]
    pub active: Option<bool>,
}

/// A service centre as shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CentreView {
    pub id: i64,
    pub name: String,
    pub unit: Option<UnitRef>,
    pub daily_capacity: u32,
    pub active: bool,
}

/// One item asked for: a catalogue item's id and how many people need it.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemCountBody {
    pub item: i64,
    pub count: u32,
}

/// An enterprise's request for an on-site service.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnsiteBody {
    /// The centre's id.
    pub centre: i64,
    /// 1–20 catalogue items with a count each.
    pub items: Vec<ItemCountBody>,
    /// How many people in all (1–5000).
    pub people: u32,
    /// 1–3 preferred dates, `YYYY-MM-DD`, working days from today on.
    pub dates: Vec<String>,
    /// Where to come (上门地址).
    pub address: String,
    pub contact_name: String,
    pub contact_phone: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// An action on a request, with the version it is made on. Which fields apply depends on the
/// route: accept (date, team), propose (date, team, note), refuse (reason), record (handled,
/// note), confirm (none), withdraw (reason), rate (rating, comment).
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OnsiteActionBody {
    pub version: i64,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date: Option<String>,
    /// The centre's team (上门人员).
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// How many were handled per item.
    #[serde(default)]
    pub handled: Vec<ItemCountBody>,
    /// 1–5.
    #[serde(default)]
    pub rating: Option<i64>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// An item of a request as shown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ItemLineView {
    pub item_id: i64,
    pub code: String,
    pub name: String,
    pub count: u32,
    pub handled: Option<u32>,
}

/// A request as listed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OnsiteView {
    pub id: i64,
    pub number: String,
    pub centre_id: i64,
    pub centre_name: String,
    pub credit_code: String,
    pub enterprise_name: String,
    pub address: String,
    /// Masked for those who only oversee.
    pub contact_name: String,
    pub contact_phone: String,
    pub note: Option<String>,
    pub stage: String,
    pub stage_label: String,
    pub people: u32,
    pub preferred_dates: Vec<NaiveDate>,
    pub items: Vec<ItemLineView>,
    /// The session's date, accepted or proposed.
    pub date: Option<NaiveDate>,
    pub team: Option<String>,
    pub rating: Option<u8>,
    pub comment: Option<String>,
    pub submitted_at: String,
    pub version: i64,
}

/// One entry of a request's history.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OnsiteEventView {
    pub kind: String,
    pub label: String,
    pub stage_label: String,
    pub at: String,
    pub by: String,
    pub note: Option<String>,
}

/// A request with its history and the actions the caller may take now.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OnsiteDetail {
    #[serde(flatten)]
    pub request: OnsiteView,
    pub history: Vec<OnsiteEventView>,
    /// Action codes open to the caller: accept, propose, refuse, record, confirm, withdraw, rate.
    pub actions: Vec<String>,
}

/// Sessions a centre holds on a day, against its capacity.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionDay {
    pub date: NaiveDate,
    pub sessions: u32,
    pub capacity: u32,
}

/// A period `from`..=`to` (`YYYY-MM-DD`); open-ended when absent.
#[derive(Debug, Clone, Deserialize, Default, JsonSchema)]
pub struct PeriodQuery {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// The figures of one centre, or of all.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct OnsiteReportRow {
    pub centre: String,
    /// Requests submitted in the period.
    pub requests: u32,
    /// Of those, refused or withdrawn.
    pub refused: u32,
    pub withdrawn: u32,
    /// Sessions held (已上门 or 已评价) with their date in the period.
    pub sessions: u32,
    /// Items handled in those sessions (the sum of the counts handled).
    pub handled: u32,
    /// Those sessions rated, and their mean rating (1–5, one decimal).
    pub rated: u32,
    pub satisfaction: Option<f64>,
    #[serde(skip)]
    rating_sum: u32,
}

/// The report per centre with a total.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OnsiteReport {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub rows: Vec<OnsiteReportRow>,
    pub total: OnsiteReportRow,
}

/// Which requests a caller sees.
enum Reach {
    All { masked: bool },
    Enterprise(String),
    Centres(Vec<i64>),
}

impl Reach {
    fn filter(&self) -> OnsiteFilter {
        match self {
            Self::All { .. } => OnsiteFilter::default(),
            Self::Enterprise(code) => OnsiteFilter { credit_code: Some(code.clone()), ..OnsiteFilter::default() },
            Self::Centres(ids) => OnsiteFilter { centres: Some(ids.clone()), ..OnsiteFilter::default() },
        }
    }

    fn permits(&self, r: &OnsiteRecord) -> bool {
        match self {
            Self::All { .. } => true,
            Self::Enterprise(code) => &r.credit_code == code,
            Self::Centres(ids) => ids.contains(&r.centre_id),
        }
    }

    fn masked(&self) -> bool {
        matches!(self, Self::All { masked: true })
    }
}

fn optional_day(label: &str, text: Option<&str>) -> AppResult<Option<NaiveDate>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Ok(Some(parse_date(label, t)?)),
        None => Ok(None),
    }
}

fn required_day(label: &str, text: Option<&str>) -> AppResult<NaiveDate> {
    optional_day(label, text)?.ok_or_else(|| AppError::invalid("date_required", format!("请填写「{label}」")))
}

fn handled(list: &[ItemCountBody]) -> AppResult<Vec<(i64, u32)>> {
    if list.len() > domain::MAX_ITEMS {
        return Err(AppError::invalid("too_many_items", format!("最多登记{}项", domain::MAX_ITEMS)));
    }
    Ok(list.iter().map(|h| (h.item, h.count)).collect())
}

impl<'a, S: Store> Onsite<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// The catalogue (administrators also see the items no longer offered).
    pub async fn items(&self, caller: &Caller) -> AppResult<Vec<ServiceItemView>> {
        let all = caller.may(mashangban_domain::access::Permission::ManageOnsiteCatalog);
        let org = self.app.caches().org();
        let items = self.app.store().service_items().await?;
        Ok(items.iter().filter(|i| all || i.active).map(|i| item_view(i, &org)).collect())
    }

    /// Adds a catalogue item.
    pub async fn add_item(&self, body: ServiceItemBody) -> AppResult<ServiceItemView> {
        let input = self.item_input(body)?;
        let saved = self.app.store().create_service_item(input).await?;
        Ok(item_view(&saved, &self.app.caches().org()))
    }

    /// Changes a catalogue item.
    pub async fn update_item(&self, id: i64, body: ServiceItemBody) -> AppResult<ServiceItemView> {
        let input = self.item_input(body)?;
        let saved = self.app.store().update_service_item(id, input).await?;
        Ok(item_view(&saved, &self.app.caches().org()))
    }

    fn item_input(&self, body: ServiceItemBody) -> AppResult<ServiceItemInput> {
        Ok(ServiceItemInput {
            code: item_code(&body.code)?,
            name: domain::text("事项名称", &body.name, 100)?,
            unit_id: self.unit_id(&body.unit)?,
            active: body.active.unwrap_or(true),
        })
    }

    fn unit_id(&self, code: &str) -> AppResult<i64> {
        let org = self.app.caches().org();
        org.by_code(code.trim())
            .filter(|u| u.active)
            .map(|u| u.id)
            .ok_or_else(|| AppError::invalid("unknown_unit", format!("没有编码为「{}」的在用单位", code.trim())))
    }

    /// The centres (administrators also see the closed ones).
    pub async fn centres(&self, caller: &Caller) -> AppResult<Vec<CentreView>> {
        let all = caller.may(mashangban_domain::access::Permission::ManageOnsiteCatalog);
        let org = self.app.caches().org();
        let centres = self.app.store().centres().await?;
        Ok(centres.iter().filter(|c| all || c.active).map(|c| centre_view(c, &org)).collect())
    }

    /// Adds a centre.
    pub async fn add_centre(&self, body: CentreBody) -> AppResult<CentreView> {
        let input = self.centre_input(body)?;
        let saved = self.app.store().create_centre(input).await?;
        Ok(centre_view(&saved, &self.app.caches().org()))
    }

    /// Changes a centre (its capacity applies to bookings from now on).
    pub async fn update_centre(&self, id: i64, body: CentreBody) -> AppResult<CentreView> {
        let input = self.centre_input(body)?;
        let saved = self.app.store().update_centre(id, input).await?;
        Ok(centre_view(&saved, &self.app.caches().org()))
    }

    fn centre_input(&self, body: CentreBody) -> AppResult<ServiceCentreInput> {
        Ok(ServiceCentreInput {
            unit_id: self.unit_id(&body.unit)?,
            name: domain::text("服务中心名称", &body.name, 100)?,
            daily_capacity: check_capacity_setting(body.daily_capacity)?,
            active: body.active.unwrap_or(true),
        })
    }

    /// The sessions a centre in the caller's reach holds each day of the period (the next 30 days
    /// by default), with its capacity.
    pub async fn sessions(&self, caller: &Caller, centre_id: i64, period: PeriodQuery) -> AppResult<Vec<SessionDay>> {
        let centre = self.centre(centre_id).await?;
        if let Reach::Centres(ids) = self.reach(caller).await?
            && !ids.contains(&centre.id)
        {
            return Err(centre_not_found().into());
        }
        let today = self.app.now().date_naive();
        let from = optional_day("起始日期", period.from.as_deref())?.unwrap_or(today);
        let to = optional_day("截止日期", period.to.as_deref())?.unwrap_or(from + chrono::Days::new(30));
        if to < from || (to - from).num_days() > 366 {
            return Err(AppError::invalid("invalid_period", "截止日期应不早于起始日期，且相隔不超过一年"));
        }
        let days = self.app.store().centre_sessions(centre.id, from, to).await?;
        Ok(days
            .into_iter()
            .map(|(date, sessions)| SessionDay { date, sessions, capacity: centre.daily_capacity })
            .collect())
    }

    async fn centre(&self, id: i64) -> AppResult<ServiceCentre> {
        let centres = self.app.store().centres().await?;
        Ok(centres.into_iter().find(|c| c.id == id && c.active).ok_or_else(centre_not_found)?)
    }

    /// Submits an enterprise's request at 待受理.
    pub async fn submit(&self, caller: &Caller, body: OnsiteBody) -> AppResult<OnsiteDetail> {
        let Actor::Account(account) = &caller.actor else {
            return Err(AppError::forbidden("只有企业账号可以申请上门服务"));
        };
        let credit_code = account
            .credit_code
            .clone()
            .ok_or_else(|| AppError::invalid("credit_code_required", "企业账号未登记统一社会信用代码"))?;
        if body.items.len() > domain::MAX_ITEMS {
            return Err(AppError::invalid("too_many_items", format!("一次最多申请{}项服务事项", domain::MAX_ITEMS)));
        }
        let address = domain::text("上门地址", &body.address, 200)?;
        let contact_name = domain::text("联系人", &body.contact_name, 50)?;
        let contact_phone = Phone::parse(&body.contact_phone)?.as_str().to_owned();
        let note = domain::optional("备注", body.note.as_deref())?;
        let store = self.app.store();
        let centre = self.centre(body.centre).await?;
        let catalogue: Vec<KnownItem> =
            store.service_items().await?.iter().map(|i| KnownItem { id: i.id, active: i.active }).collect();
        let calendar = self.app.caches().calendar();
        let draft = OnsiteDraft {
            people: body.people,
            dates: body.dates,
            items: body.items.iter().map(|i| (i.item, i.count)).collect(),
        };
        let onsite = draft.check(&catalogue, self.app.now().date_naive(), &|d| calendar.is_workday(d).ok())?;
        let new = NewOnsite {
            centre_id: centre.id,
            credit_code,
            enterprise_name: account.name.clone(),
            submitted_by: Some(account.user_id),
            address,
            contact_name,
            contact_phone,
            note,
            onsite,
        };
        let saved = store.submit_onsite(new, self.app.now(), history_actor(caller)).await?;
        self.detail(caller, saved).await
    }

    /// Takes `action` on a request: the centre's `accept`, `propose`, `refuse`, `record`, the
    /// enterprise's `confirm`, `withdraw`, `rate` (the route admits the role; the reach the request).
    pub async fn act(&self, caller: &Caller, id: i64, action: &str, body: OnsiteActionBody) -> AppResult<OnsiteDetail> {
        let record = self.scoped(caller, id).await?;
        if body.version != record.version {
            return Err(onsite_changed().into());
        }
        let today = self.app.now().date_naive();
        let calendar = self.app.caches().calendar();
        let session = |label: &str| -> AppResult<NaiveDate> {
            let date = required_day(label, body.date.as_deref())?;
            Ok(check_date(date, today, &|d| calendar.is_workday(d).ok())?)
        };
        let team = || domain::text("上门人员", body.team.as_deref().unwrap_or_default(), 200);
        let action = match action {
            "accept" => OnsiteAction::Accept { date: session("上门日期")?, team: team()? },
            "propose" => OnsiteAction::Propose {
                date: session("建议日期")?,
                team: team()?,
                note: domain::optional("改期说明", body.note.as_deref())?,
            },
            "refuse" => OnsiteAction::Refuse {
                reason: domain::text(
                    "不予受理理由",
                    body.reason.as_deref().unwrap_or_default(),
                    domain::MAX_TEXT_CHARS,
                )?,
            },
            "record" => OnsiteAction::Record {
                handled: handled(&body.handled)?,
                note: domain::optional("办理情况", body.note.as_deref())?,
                today,
            },
            "confirm" => OnsiteAction::Confirm,
            "withdraw" => OnsiteAction::Withdraw { reason: domain::optional("撤回原因", body.reason.as_deref())? },
            "rate" => OnsiteAction::Rate {
                rating: body
                    .rating
                    .and_then(|r| u8::try_from(r).ok())
                    .ok_or_else(|| AppError::invalid("invalid_rating", "评分应为1~5星"))?,
                comment: domain::optional("评价", body.comment.as_deref())?,
            },
            _ => return Err(AppError::invalid("invalid_action", "没有这个操作")),
        };
        let next = domain::apply(&record.onsite, &action)?;
        let booking =
            matches!(action, OnsiteAction::Accept { .. } | OnsiteAction::Propose { .. }).then_some(next.date).flatten();
        let event = OnsiteEvent { kind: action.kind().into(), note: action.note() };
        let centres = self.app.store().centres().await?;
        let centre =
            centres.iter().find(|c| c.id == record.centre_id).map_or("政务服务中心", |c| c.name.as_str());
        // The enterprise is told of the centre's decision in the change's transaction, by the template in
        // force; personal data in the reason is masked as in every text that leaves the platform.
        let notice = action.enterprise_notice(&record.number, centre, &mask_free_text);
        let saved = self
            .app
            .store()
            .change_onsite(
                record.id,
                OnsiteChange { expected: record.version, onsite: next, booking, event, notice },
                self.app.now(),
                history_actor(caller),
            )
            .await?;
        self.detail(caller, saved).await
    }

    /// Requests in the caller's reach, newest first; of one stage when given.
    pub async fn list(&self, caller: &Caller, stage: Option<&str>) -> AppResult<Vec<OnsiteView>> {
        let reach = self.reach(caller).await?;
        let mut filter = reach.filter();
        filter.stage = match stage.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(OnsiteStage::parse(s).ok_or_else(|| AppError::invalid("invalid_stage", "没有这个阶段"))?),
            None => None,
        };
        let list = self.app.store().onsite_requests(filter, LIST_MAX).await?;
        self.views(&list, reach.masked()).await
    }

    /// One request (`404 onsite_not_found`, also outside the caller's reach).
    pub async fn get(&self, caller: &Caller, id: i64) -> AppResult<OnsiteDetail> {
        let record = self.scoped(caller, id).await?;
        self.detail(caller, record).await
    }

    /// Per centre in the caller's reach: requests submitted in the period, and sessions held in it
    /// with the items handled and the ratings.
    pub async fn report(&self, caller: &Caller, period: PeriodQuery) -> AppResult<OnsiteReport> {
        let from = optional_day("起始日期", period.from.as_deref())?;
        let to = optional_day("截止日期", period.to.as_deref())?;
        let reach = self.reach(caller).await?;
        let store = self.app.store();
        let centres = store.centres().await?;
        let list = store.onsite_requests(reach.filter(), REPORT_MAX).await?;
        let within = |d: NaiveDate| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t);
        let mut rows: BTreeMap<i64, OnsiteReportRow> = centres
            .iter()
            .filter(|c| match &reach {
                Reach::Centres(ids) => ids.contains(&c.id),
                _ => true,
            })
            .map(|c| (c.id, OnsiteReportRow { centre: c.name.clone(), ..OnsiteReportRow::default() }))
            .collect();
        let mut total = OnsiteReportRow { centre: "合计".into(), ..OnsiteReportRow::default() };
        for r in &list {
            let Some(row) = rows.get_mut(&r.centre_id) else { continue };
            for row in [row, &mut total] {
                count(row, r, &within);
            }
        }
        let finish = |mut r: OnsiteReportRow| {
            r.satisfaction =
                (r.rated > 0).then(|| (f64::from(r.rating_sum) / f64::from(r.rated) * 10.0).round() / 10.0);
            r
        };
        Ok(OnsiteReport { from, to, rows: rows.into_values().map(finish).collect(), total: finish(total) })
    }

    /// The report as an Excel workbook: one sheet, a row per centre and the total (上门服务统计).
    pub async fn report_xlsx(&self, caller: &Caller, period: PeriodQuery) -> AppResult<Vec<u8>> {
        let report = self.report(caller, period).await?;
        let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(mashangban_domain::DomainError::from(e));
        let columns = vec![
            WriteColumn::text("服务中心"),
            WriteColumn::new("申请数", Kind::Integer),
            WriteColumn::new("不予受理", Kind::Integer),
            WriteColumn::new("撤回", Kind::Integer),
            WriteColumn::new("上门场次", Kind::Integer),
            WriteColumn::new("办理事项数", Kind::Integer),
            WriteColumn::new("评价数", Kind::Integer),
            WriteColumn::new("平均满意度（星）", Kind::Number),
        ];
        let period = match (report.from, report.to) {
            (None, None) => "全部日期".to_owned(),
            (from, to) => format!(
                "{} 至 {}",
                from.map_or_else(|| "最早".to_owned(), |d| d.to_string()),
                to.map_or_else(|| "今天".to_owned(), |d| d.to_string())
            ),
        };
        let title = format!("上门服务统计（{period}）");
        let mut export = Export::with_preamble("上门服务统计", &[title], columns).map_err(sheet_error)?;
        for row in report.rows.iter().chain(std::iter::once(&report.total)) {
            export.push(&report_cells(row)).map_err(sheet_error)?;
        }
        export.finish().map_err(sheet_error)
    }

    /// The requests of one enterprise in the registry's scope and the caller's reach, newest first
    /// (the enterprise's page, 一企一档).
    pub async fn of_enterprise(&self, caller: &Caller, code: &str) -> AppResult<Vec<OnsiteView>> {
        let found = self.app.enterprises().record(caller, code).await?;
        let reach = self.reach(caller).await?;
        let mut filter = reach.filter();
        filter.credit_code = Some(found.credit_code);
        let list = self.app.store().onsite_requests(filter, LIST_MAX).await?;
        let list: Vec<OnsiteRecord> = list.into_iter().filter(|r| reach.permits(r)).collect();
        self.views(&list, reach.masked()).await
    }

    async fn reach(&self, caller: &Caller) -> AppResult<Reach> {
        Ok(match &caller.actor {
            Actor::Account(a) if a.role == Role::Enterprise => {
                Reach::Enterprise(a.credit_code.clone().unwrap_or_default())
            }
            Actor::Staff(s) if s.role == Role::ServiceCentre => {
                let centres = self.app.store().centres().await?;
                Reach::Centres(centres.iter().filter(|c| s.units.contains(&c.unit_id)).map(|c| c.id).collect())
            }
            Actor::Staff(s) if s.role == Role::Admin => Reach::All { masked: false },
            Actor::Staff(_) => Reach::All { masked: true },
            Actor::System => Reach::All { masked: false },
            _ => Reach::Centres(Vec::new()),
        })
    }

    /// One request in the caller's reach (`404 onsite_not_found` otherwise).
    pub(crate) async fn scoped(&self, caller: &Caller, id: i64) -> AppResult<OnsiteRecord> {
        let reach = self.reach(caller).await?;
        let found = self.app.store().onsite(id).await?;
        Ok(found.filter(|r| reach.permits(r)).ok_or_else(onsite_not_found)?)
    }

    async fn views(&self, list: &[OnsiteRecord], masked: bool) -> AppResult<Vec<OnsiteView>> {
        let store = self.app.store();
        let items = store.service_items().await?;
        let centres = store.centres().await?;
        Ok(list.iter().map(|r| view(r, &items, &centres, masked)).collect())
    }

    async fn detail(&self, caller: &Caller, record: OnsiteRecord) -> AppResult<OnsiteDetail> {
        let reach = self.reach(caller).await?;
        let history = self.app.store().onsite_history(record.id).await?;
        let request =
            self.views(std::slice::from_ref(&record), reach.masked()).await?.pop().ok_or_else(onsite_not_found)?;
        Ok(OnsiteDetail {
            request,
            history: history.iter().map(event_view).collect(),
            actions: actions(caller, record.onsite.stage),
        })
    }
}

fn report_cells(r: &OnsiteReportRow) -> Vec<Cell> {
    let n = |v: u32| Cell::Number(f64::from(v));
    vec![
        Cell::Text(r.centre.clone()),
        n(r.requests),
        n(r.refused),
        n(r.withdrawn),
        n(r.sessions),
        n(r.handled),
        n(r.rated),
        r.satisfaction.map_or(Cell::Empty, Cell::Number),
    ]
}

/// Adds one request to a row of the report.
fn count(row: &mut OnsiteReportRow, r: &OnsiteRecord, within: &dyn Fn(NaiveDate) -> bool) {
    let stage = r.onsite.stage;
    if within(r.submitted_at.date_naive()) {
        row.requests += 1;
        row.refused += u32::from(stage == OnsiteStage::Refused);
        row.withdrawn += u32::from(stage == OnsiteStage::Withdrawn);
    }
    let held = matches!(stage, OnsiteStage::Held | OnsiteStage::Rated);
    if held && r.onsite.date.is_some_and(within) {
        row.sessions += 1;
        row.handled += r.onsite.items.iter().filter_map(|l| l.handled).sum::<u32>();
        if let Some(rating) = r.onsite.rating {
            row.rated += 1;
            row.rating_sum += u32::from(rating);
        }
    }
}

/// The actions open to the caller in `stage` (the domain still checks each).
fn actions(caller: &Caller, stage: OnsiteStage) -> Vec<String> {
    use mashangban_domain::access::Permission;
    let mut codes: Vec<&str> = Vec::new();
    if caller.may(Permission::HandleOnsite) {
        codes.extend(match stage {
            OnsiteStage::Submitted => &["accept", "propose", "refuse"][..],
            OnsiteStage::Proposed => &["refuse"],
            OnsiteStage::Accepted => &["record"],
            _ => &[],
        });
    }
    if caller.may(Permission::RequestOnsite) {
        codes.extend(match stage {
            OnsiteStage::Submitted | OnsiteStage::Accepted => &["withdraw"][..],
            OnsiteStage::Proposed => &["confirm", "withdraw"],
            OnsiteStage::Held => &["rate"],
            _ => &[],
        });
    }
    codes.into_iter().map(str::to_owned).collect()
}

fn item_view(i: &ServiceItem, org: &mashangban_domain::org::OrgTree) -> ServiceItemView {
    ServiceItemView {
        id: i.id,
        code: i.code.clone(),
        name: i.name.clone(),
        unit: unit_ref(org, Some(i.unit_id)),
        active: i.active,
    }
}

fn centre_view(c: &ServiceCentre, org: &mashangban_domain::org::OrgTree) -> CentreView {
    CentreView {
        id: c.id,
        name: c.name.clone(),
        unit: unit_ref(org, Some(c.unit_id)),
        daily_capacity: c.daily_capacity,
        active: c.active,
    }
}

fn view(r: &OnsiteRecord, items: &[ServiceItem], centres: &[ServiceCentre], masked: bool) -> OnsiteView {
    let o = &r.onsite;
    let lines = o
        .items
        .iter()
        .map(|l| {
            let item = items.iter().find(|i| i.id == l.item_id);
            ItemLineView {
                item_id: l.item_id,
                code: item.map(|i| i.code.clone()).unwrap_or_default(),
                name: item.map_or_else(|| format!("事项{}", l.item_id), |i| i.name.clone()),
                count: l.count,
                handled: l.handled,
            }
        })
        .collect();
    OnsiteView {
        id: r.id,
        number: r.number.clone(),
        centre_id: r.centre_id,
        centre_name: centres.iter().find(|c| c.id == r.centre_id).map(|c| c.name.clone()).unwrap_or_default(),
        credit_code: r.credit_code.clone(),
        enterprise_name: r.enterprise_name.clone(),
        address: r.address.clone(),
        contact_name: if masked { mask_name(&r.contact_name) } else { r.contact_name.clone() },
        contact_phone: if masked { mask_phone(&r.contact_phone) } else { r.contact_phone.clone() },
        note: r.note.clone(),
        stage: o.stage.as_str().into(),
        stage_label: o.stage.label().into(),
        people: o.people,
        preferred_dates: o.preferred_dates.clone(),
        items: lines,
        date: o.date,
        team: o.team.clone(),
        rating: o.rating,
        comment: o.comment.clone(),
        submitted_at: format_instant(&r.submitted_at),
        version: r.version,
    }
}

fn event_view(e: &OnsiteHistoryEntry) -> OnsiteEventView {
    OnsiteEventView {
        kind: e.kind.clone(),
        label: history_label(&e.kind).into(),
        stage_label: e.stage.label().into(),
        at: format_instant(&e.at),
        by: e.by.clone(),
        note: e.note.clone(),
    }
}
