//! The enterprise registry (企业名录, 一企一档): staff look enterprises up
//! within their enterprise scope (a town's staff their own town), the 12345
//! platform's dispatchers and administrators keep the records, import the
//! market regulator's list from Excel (a preview first, then all or nothing)
//! and export it. An enterprise's requests are those carrying its credit
//! code: a join by code, so requests taken in before the record existed are
//! linked as soon as it does, with nothing to rebuild.

use std::collections::HashMap;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::DomainError;
use mashangban_domain::access::Permission;
use mashangban_domain::enterprise::{
    EnterpriseInput, EnterpriseScope, EnterpriseSize, EnterpriseText, enterprise_not_found, parse_credit_code,
};
use mashangban_domain::org::{OrgTree, UnitId, UnitKind};
use mashangban_domain::time::format_instant;
use mashangban_domain::validation::{mask_name, mask_phone};
use mashangban_sheet::write::{Export, Kind, WriteColumn};
use mashangban_sheet::{Cell, Column, Limits, Problem, Record, Report, Table};
use mashangban_store::{Enterprise, EnterpriseFilter, ListFilter, Store, UpsertCounts};

use crate::error::{AppError, AppResult};
use crate::views::{RequestView, UnitRef};
use crate::{App, Caller};

/// Rows on a page at most.
pub const PAGE_MAX: u32 = 500;
/// Data rows an import reads at most (the city has some tens of thousands of enterprises).
pub const IMPORT_ROWS_MAX: u32 = 100_000;
/// Requests shown on an enterprise's page.
pub const REQUESTS_SHOWN: u32 = 100;

/// The enterprise service: `app.enterprises()`.
pub struct Enterprises<'a, S> {
    app: &'a App<S>,
}

/// An enterprise's record as people see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnterpriseView {
    /// 统一社会信用代码
    pub credit_code: String,
    pub name: String,
    pub town: UnitRef,
    pub address: Option<String>,
    /// GB/T 4754-2017 code (国民经济行业分类).
    pub industry_code: Option<String>,
    pub industry_name: Option<String>,
    /// `above` (规上) or `below` (规下).
    pub size: Option<&'static str>,
    pub size_label: Option<&'static str>,
    /// YYYY-MM-DD
    pub registered_on: Option<String>,
    /// Masked (`张*`) unless the viewer needs it.
    pub contact_name: Option<String>,
    /// Masked (`138****5678`) unless the viewer needs it.
    pub contact_phone: Option<String>,
    pub tags: Vec<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub updated_by: String,
}

/// One page of the registry.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnterpriseList {
    pub items: Vec<EnterpriseView>,
    /// Records matching the filter in all.
    pub total: u64,
    pub offset: u32,
    pub limit: u32,
}

/// The filters of a listing (query parameters).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListQuery {
    /// Town code.
    pub town: Option<String>,
    /// Industry code or its prefix (`C`, `C38`, `3874`).
    pub industry: Option<String>,
    /// `above`/`below` or 规上/规下.
    pub size: Option<String>,
    /// Part of the name.
    pub q: Option<String>,
    pub offset: Option<String>,
    pub limit: Option<String>,
}

/// A record as it is written; `town` is a town's code.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseBody {
    /// 统一社会信用代码; full-width characters, spaces and hyphens are taken out.
    pub credit_code: String,
    #[schemars(length(max = 100))]
    pub name: String,
    pub town: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub industry_code: Option<String>,
    #[serde(default)]
    pub industry_name: Option<String>,
    /// `above`/`below` or 规上/规下.
    #[serde(default)]
    pub size: Option<String>,
    /// YYYY-MM-DD
    #[serde(default)]
    pub registered_on: Option<String>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A change of a record, made on `version`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseUpdate {
    /// The version the change was made on (optimistic check).
    pub version: i64,
    #[schemars(length(max = 100))]
    pub name: String,
    pub town: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub industry_code: Option<String>,
    #[serde(default)]
    pub industry_name: Option<String>,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub registered_on: Option<String>,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// One refused cell of an import.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RowProblem {
    /// The row number as Excel shows it.
    pub row: u32,
    /// The column's name (统一社会信用代码, 所属镇街, …).
    pub column: String,
    pub value: String,
    /// Why, in Chinese.
    pub reason: String,
}

/// What an import found and did (or, previewed, would do).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ImportReport {
    /// Whether the records were written (never when a row has a problem).
    pub applied: bool,
    /// Data rows read (blank rows not counted).
    pub rows: u64,
    /// Problems found in all (at most 1,000 are listed).
    pub problem_count: u64,
    pub problems: Vec<RowProblem>,
    /// Of the valid rows: records that would be (or were) created, changed, or left as they are.
    pub new: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// An enterprise's file (一企一档): its record, its requests and what happened when.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnterpriseFile {
    pub enterprise: EnterpriseView,
    /// Its liaison cadres now (联系干部), the lead first.
    pub liaisons: Vec<crate::liaisons::AssignmentView>,
    /// Its requests in the viewer's request scope, newest first (at most 100).
    pub requests: Vec<RequestView>,
    /// Newest first.
    pub timeline: Vec<TimelineItem>,
}

/// A dated step in an enterprise's file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TimelineItem {
    pub at: String,
    /// 登记入库, 档案更新, 诉求受理, 诉求办结.
    pub what: String,
    /// The request's tracking number, for request steps.
    pub tracking_no: Option<String>,
    pub detail: String,
}

/// The columns of an import and of an export (so an export imports back).
mod col {
    pub const CODE: &str = "统一社会信用代码";
    pub const NAME: &str = "企业名称";
    pub const TOWN: &str = "所属镇街";
    pub const ADDRESS: &str = "地址";
    pub const INDUSTRY_CODE: &str = "行业代码";
    pub const INDUSTRY_NAME: &str = "行业名称";
    pub const SIZE: &str = "企业规模";
    pub const REGISTERED: &str = "成立日期";
    pub const CONTACT: &str = "联系人";
    pub const PHONE: &str = "联系电话";
    pub const TAGS: &str = "标签";
}

const COLUMNS: [Column; 11] = [
    Column::required(col::CODE).aliases(&["信用代码", "社会信用代码", "统一代码"]),
    Column::required(col::NAME).aliases(&["名称", "企业（机构）名称", "主体名称"]),
    Column::required(col::TOWN).aliases(&["镇街", "镇区", "所在镇街"]),
    Column::optional(col::ADDRESS).aliases(&["住所", "经营场所", "注册地址"]),
    Column::optional(col::INDUSTRY_CODE).aliases(&["行业代码（GB/T 4754-2017）", "国民经济行业代码"]),
    Column::optional(col::INDUSTRY_NAME).aliases(&["行业", "所属行业"]),
    Column::optional(col::SIZE).aliases(&["规模", "规上规下"]),
    Column::optional(col::REGISTERED).aliases(&["登记日期", "注册日期", "成立时间"]),
    Column::optional(col::CONTACT).aliases(&["联系人姓名"]),
    Column::optional(col::PHONE).aliases(&["电话", "联系方式"]),
    Column::optional(col::TAGS),
];

impl<'a, S: Store> Enterprises<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// A page of the records in the caller's scope; contacts masked.
    pub async fn list(&self, caller: &Caller, query: &ListQuery) -> AppResult<EnterpriseList> {
        let filter = self.filter(query)?;
        let page = self.app.store().list_enterprises(&filter, EnterpriseScope::of(&caller.actor)).await?;
        let org = self.app.caches().org();
        let items = page.items.into_iter().map(|e| view(e, &org, false)).collect();
        Ok(EnterpriseList { items, total: page.total, offset: filter.offset, limit: filter.limit })
    }

    /// A record in the caller's scope (`404` otherwise, as if absent).
    pub async fn get(&self, caller: &Caller, code: &str) -> AppResult<EnterpriseView> {
        let found = self.record(caller, code).await?;
        Ok(view(found, &self.app.caches().org(), sees_contacts(caller)))
    }

    /// The record, its requests (in the caller's request scope) and a timeline.
    pub async fn file(&self, caller: &Caller, code: &str) -> AppResult<EnterpriseFile> {
        let found = self.record(caller, code).await?;
        let filter =
            ListFilter { credit_code: Some(found.credit_code.clone()), limit: REQUESTS_SHOWN, ..ListFilter::default() };
        let requests: Vec<RequestView> =
            self.app.requests().list(caller, &filter).await?.items.into_iter().map(|(_, v)| v).collect();
        let timeline = timeline(&found, &requests);
        let org = self.app.caches().org();
        let assigned = mashangban_store::AssignmentFilter {
            credit_code: Some(found.credit_code.clone()),
            limit: crate::liaisons::LIST_MAX,
            ..mashangban_store::AssignmentFilter::default()
        };
        let mut liaisons: Vec<crate::liaisons::AssignmentView> = self
            .app
            .store()
            .assignments(&assigned)
            .await?
            .into_iter()
            .map(|a| crate::liaisons::assignment_view(a, &org))
            .collect();
        liaisons.sort_by_key(|a| (a.kind != mashangban_domain::liaison::LiaisonKind::Lead, a.id));
        Ok(EnterpriseFile { liaisons, enterprise: view(found, &org, sees_contacts(caller)), requests, timeline })
    }

    /// Registers an enterprise.
    pub async fn create(&self, caller: &Caller, body: EnterpriseBody) -> AppResult<EnterpriseView> {
        let code = parse_credit_code(&body.credit_code)?;
        let input = self.input(code, body.into_update(0))?;
        let saved = self.app.store().create_enterprise(input, self.app.now(), author(caller)).await?;
        Ok(view(saved, &self.app.caches().org(), true))
    }

    /// Changes a record still at `version`.
    pub async fn update(&self, caller: &Caller, code: &str, update: EnterpriseUpdate) -> AppResult<EnterpriseView> {
        let found = self.record(caller, code).await?;
        let code = parse_credit_code(&found.credit_code)?;
        let version = update.version;
        let input = self.input(code, update)?;
        let scope = EnterpriseScope::of(&caller.actor);
        let saved = self.app.store().update_enterprise(input, version, scope, self.app.now(), author(caller)).await?;
        Ok(view(saved, &self.app.caches().org(), true))
    }

    /// Reads a workbook (or CSV) of the market regulator's list and checks
    /// every row. With `apply`, writes the records in one transaction, but
    /// only if no row has a problem (`422 invalid_rows` otherwise, nothing
    /// written); without, only answers what it would do.
    pub async fn import(&self, caller: &Caller, bytes: &[u8], apply: bool) -> AppResult<ImportReport> {
        let org = self.app.caches().org();
        let parsed = parse_rows(bytes, &org)?;
        let problem_count = parsed.report.len() as u64;
        let problems: Vec<RowProblem> = parsed.report.problems().iter().map(row_problem).collect();
        if apply && problem_count > 0 {
            let message = parsed.report.into_result().err().map(|e| e.message).unwrap_or_default();
            return Err(AppError::invalid("invalid_rows", message));
        }
        let rows = parsed.rows;
        let counts: UpsertCounts = if parsed.inputs.is_empty() {
            UpsertCounts::default()
        } else {
            self.app.store().upsert_enterprises(parsed.inputs, apply, self.app.now(), author(caller)).await?
        };
        Ok(ImportReport {
            applied: apply,
            rows,
            problem_count,
            problems,
            new: counts.new,
            updated: counts.updated,
            unchanged: counts.unchanged,
        })
    }

    /// The records in the caller's scope matching the filter (paging
    /// ignored) as an .xlsx workbook in the import's columns.
    pub async fn export(&self, caller: &Caller, query: &ListQuery) -> AppResult<Vec<u8>> {
        let mut filter = self.filter(query)?;
        (filter.offset, filter.limit) = (0, IMPORT_ROWS_MAX);
        let page = self.app.store().list_enterprises(&filter, EnterpriseScope::of(&caller.actor)).await?;
        AppError::check_export_size(page.total, IMPORT_ROWS_MAX.into())?;
        let org = self.app.caches().org();
        let columns = vec![
            WriteColumn::text(col::CODE).required(),
            WriteColumn::text(col::NAME).required(),
            WriteColumn::text(col::TOWN).required(),
            WriteColumn::text(col::ADDRESS),
            WriteColumn::text(col::INDUSTRY_CODE),
            WriteColumn::text(col::INDUSTRY_NAME),
            WriteColumn::text(col::SIZE).choices(["规上", "规下"]),
            WriteColumn::new(col::REGISTERED, Kind::Date),
            WriteColumn::text(col::CONTACT),
            WriteColumn::text(col::PHONE),
            WriteColumn::text(col::TAGS),
        ];
        let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(DomainError::from(e));
        let mut export = Export::new("企业名录", columns).map_err(sheet_error)?;
        let unmasked = sees_contacts(caller);
        for e in page.items {
            let v = view(e, &org, unmasked);
            let text = |s: Option<String>| s.map_or(Cell::Empty, Cell::Text);
            let registered = v.registered_on.as_deref().and_then(parse_date).map_or(Cell::Empty, Cell::Date);
            export
                .push(&[
                    Cell::Text(v.credit_code),
                    Cell::Text(v.name),
                    Cell::Text(v.town.name),
                    text(v.address),
                    text(v.industry_code),
                    text(v.industry_name),
                    text(v.size_label.map(str::to_owned)),
                    registered,
                    text(v.contact_name),
                    text(v.contact_phone),
                    text((!v.tags.is_empty()).then(|| v.tags.join("、"))),
                ])
                .map_err(sheet_error)?;
        }
        export.finish().map_err(sheet_error)
    }

    pub(crate) async fn record(&self, caller: &Caller, code: &str) -> AppResult<Enterprise> {
        let normalised = parse_credit_code(code).map_err(|_| AppError::from(enterprise_not_found(code.trim())))?;
        let scope = EnterpriseScope::of(&caller.actor);
        Ok(self.app.store().enterprise(normalised.as_str(), scope).await?.ok_or_else(|| enterprise_not_found(code))?)
    }

    fn filter(&self, q: &ListQuery) -> AppResult<EnterpriseFilter> {
        let org = self.app.caches().org();
        let blank = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let town_id = match blank(&q.town) {
            Some(code) => Some(
                town_by_name_or_code(&org, &code)
                    .ok_or_else(|| AppError::bad_parameter(format!("「town」镇街「{code}」不存在")))?,
            ),
            None => None,
        };
        let size = match blank(&q.size) {
            Some(s) => Some(
                EnterpriseSize::parse(&s)
                    .ok_or_else(|| AppError::bad_parameter("「size」应为 above（规上）或 below（规下）"))?,
            ),
            None => None,
        };
        let number = |name: &str, value: &Option<String>, default: u32, max: u32| -> AppResult<u32> {
            match blank(value) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| AppError::bad_parameter(format!("「{name}」应为 0 到 {max} 的整数"))),
            }
        };
        let name = blank(&q.q);
        if name.as_ref().is_some_and(|n| n.chars().count() > 100) {
            return Err(AppError::bad_parameter("「q」不能超过100个字"));
        }
        Ok(EnterpriseFilter {
            town_id,
            industry: blank(&q.industry),
            size,
            name,
            offset: number("offset", &q.offset, 0, 10_000_000)?,
            limit: number("limit", &q.limit, 50, PAGE_MAX)?.max(1),
        })
    }

    /// The store's input: the town resolved and every field checked.
    fn input(
        &self,
        credit_code: mashangban_domain::validation::CreditCode,
        b: EnterpriseUpdate,
    ) -> AppResult<EnterpriseInput> {
        let org = self.app.caches().org();
        let town_id = town_by_name_or_code(&org, &b.town)
            .ok_or_else(|| AppError::invalid("unknown_town", format!("镇街「{}」不存在", b.town.trim())))?;
        let size = match b.size.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(
                EnterpriseSize::parse(s)
                    .ok_or_else(|| AppError::invalid("invalid_size", "企业规模应为“规上”或“规下”"))?,
            ),
            None => None,
        };
        let registered_on = match b.registered_on.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(parse_date(s).ok_or_else(|| {
                AppError::invalid("invalid_date", format!("成立日期「{s}」应为真实存在的日期，写成 YYYY-MM-DD"))
            })?),
            None => None,
        };
        let text = EnterpriseText {
            name: &b.name,
            address: b.address.as_deref(),
            industry_code: b.industry_code.as_deref(),
            industry_name: b.industry_name.as_deref(),
            contact_name: b.contact_name.as_deref(),
            contact_phone: b.contact_phone.as_deref(),
            tags: &b.tags,
        }
        .checked()?;
        Ok(EnterpriseInput {
            credit_code,
            name: text.name,
            town_id,
            address: text.address,
            industry_code: text.industry_code,
            industry_name: text.industry_name,
            size,
            registered_on,
            contact_name: text.contact_name,
            contact_phone: text.contact_phone,
            tags: text.tags,
        })
    }
}

impl EnterpriseBody {
    fn into_update(self, version: i64) -> EnterpriseUpdate {
        EnterpriseUpdate {
            version,
            name: self.name,
            town: self.town,
            address: self.address,
            industry_code: self.industry_code,
            industry_name: self.industry_name,
            size: self.size,
            registered_on: self.registered_on,
            contact_name: self.contact_name,
            contact_phone: self.contact_phone,
            tags: self.tags,
        }
    }
}

/// Who keeps the records and who calls enterprises back see contacts in full
/// on a record; supervisors and leaders see them masked; lists mask them for all.
fn sees_contacts(caller: &Caller) -> bool {
    caller.actor.sees_personal_data() || caller.may(Permission::ManageEnterprises)
}

pub(crate) fn author(caller: &Caller) -> String {
    format!("{}（{}）", caller.actor.name(), caller.actor.role_str())
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// An active town by its code, its name, its short name, or its name
/// without 镇/街道 (lists write 小榄镇 or 小榄, 石岐街道 or 石岐).
fn town_by_name_or_code(org: &OrgTree, s: &str) -> Option<UnitId> {
    let s = s.trim();
    let bare = |name: &str| name.strip_suffix("街道").or_else(|| name.strip_suffix('镇')).map(str::to_owned);
    org.units()
        .filter(|u| u.kind == UnitKind::Town && u.active)
        .find(|u| {
            u.code == s || u.name == s || u.short_name.as_deref() == Some(s) || bare(&u.name).as_deref() == Some(s)
        })
        .map(|u| u.id)
}

fn view(e: Enterprise, org: &OrgTree, unmasked: bool) -> EnterpriseView {
    let town = org.get(e.town_id).map_or_else(
        || UnitRef { code: String::new(), name: String::new() },
        |u| UnitRef { code: u.code.clone(), name: u.name.clone() },
    );
    let (contact_name, contact_phone) = if unmasked {
        (e.contact_name, e.contact_phone)
    } else {
        (e.contact_name.as_deref().map(mask_name), e.contact_phone.as_deref().map(mask_phone))
    };
    EnterpriseView {
        credit_code: e.credit_code,
        name: e.name,
        town,
        address: e.address,
        industry_code: e.industry_code,
        industry_name: e.industry_name,
        size: e.size.map(EnterpriseSize::as_str),
        size_label: e.size.map(EnterpriseSize::label),
        registered_on: e.registered_on.map(|d| d.format("%Y-%m-%d").to_string()),
        contact_name,
        contact_phone,
        tags: e.tags,
        version: e.version,
        created_at: format_instant(&e.created_at),
        updated_at: format_instant(&e.updated_at),
        updated_by: e.updated_by,
    }
}

/// The record's registration and last change, and each request's receipt
/// and close, newest first.
fn timeline(e: &Enterprise, requests: &[RequestView]) -> Vec<TimelineItem> {
    let mut items = vec![TimelineItem {
        at: format_instant(&e.created_at),
        what: "登记入库".into(),
        tracking_no: None,
        detail: "纳入企业名录".into(),
    }];
    if e.version > 1 {
        items.push(TimelineItem {
            at: format_instant(&e.updated_at),
            what: "档案更新".into(),
            tracking_no: None,
            detail: format!("第{}版，由{}修改", e.version, e.updated_by),
        });
    }
    for r in requests {
        items.push(TimelineItem {
            at: r.received_at.clone(),
            what: "诉求受理".into(),
            tracking_no: Some(r.tracking_no.clone()),
            detail: format!("{}：{}", r.kind_label, r.title),
        });
        if let Some(closed) = &r.closed_at {
            items.push(TimelineItem {
                at: closed.clone(),
                what: "诉求办结".into(),
                tracking_no: Some(r.tracking_no.clone()),
                detail: format!("{}（{}）", r.title, r.state_label),
            });
        }
    }
    // RFC 3339 instants in +08:00 sort as text.
    items.sort_by(|a, b| b.at.cmp(&a.at));
    items
}

fn row_problem(p: &Problem) -> RowProblem {
    RowProblem { row: p.row, column: p.column.clone(), value: p.value.clone(), reason: p.reason.clone() }
}

/// What a file held: the valid rows' inputs and every problem.
struct ParsedRows {
    rows: u64,
    inputs: Vec<EnterpriseInput>,
    report: Report,
}

fn limits() -> Limits {
    Limits::default().file_bytes(16 * 1024 * 1024).part_bytes(256 * 1024 * 1024).rows(IMPORT_ROWS_MAX + 10).columns(200)
}

/// Reads every row through the bounded reader and checks each cell; the
/// file as a whole is refused (`422`) only when it cannot be read as a table.
fn parse_rows(bytes: &[u8], org: &OrgTree) -> AppResult<ParsedRows> {
    let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(DomainError::from(e));
    let rows = mashangban_sheet::open(bytes, &limits()).map_err(sheet_error)?;
    let table = Table::new(rows, &COLUMNS).map_err(sheet_error)?;
    let mut parsed = ParsedRows { rows: 0, inputs: Vec::new(), report: Report::new() };
    let mut seen: HashMap<String, u32> = HashMap::new();
    for record in table {
        let record = record.map_err(sheet_error)?;
        if COLUMNS.iter().all(|c| record.cell(c.name).is_blank()) {
            continue;
        }
        parsed.rows += 1;
        if let Some(input) = row_input(&record, org, &mut seen, &mut parsed.report) {
            parsed.inputs.push(input);
        }
    }
    if parsed.rows == 0 {
        return Err(AppError::invalid("no_rows", "文件只有表头，没有任何企业"));
    }
    Ok(parsed)
}

/// One row's record, or `None` with its problems in the report.
fn row_input(
    r: &Record<'_>,
    org: &OrgTree,
    seen: &mut HashMap<String, u32>,
    report: &mut Report,
) -> Option<EnterpriseInput> {
    let before = report.len();
    let code = r.required_text(col::CODE, report).and_then(|text| match parse_credit_code(&text) {
        Ok(code) => match seen.insert(code.as_str().to_owned(), r.row()) {
            Some(first) => {
                r.problem(col::CODE, &format!("与第{first}行的统一社会信用代码重复"), report);
                None
            }
            None => Some(code),
        },
        Err(e) => {
            r.problem(col::CODE, &e.message, report);
            None
        }
    });
    let name = checked(r, col::NAME, report, |s| mashangban_domain::validation::required_text(col::NAME, s, 100));
    let town = r.required_text(col::TOWN, report).and_then(|t| {
        let found = town_by_name_or_code(org, &t);
        if found.is_none() {
            r.problem(col::TOWN, "找不到这个镇街（应为本市镇街的名称）", report);
        }
        found
    });
    let size = r.choice(col::SIZE, &["规上", "规下", "规模以上", "规模以下"], report).and_then(EnterpriseSize::parse);
    let registered_on = r.date(col::REGISTERED, report);
    let industry_code = optional(r, col::INDUSTRY_CODE, report, mashangban_domain::enterprise::parse_industry_code);
    let phone = optional(r, col::PHONE, report, |s| {
        mashangban_domain::validation::Phone::parse(s).map(|p| p.as_str().to_owned())
    });
    let text = |column: &str, max: usize, report: &mut Report| {
        optional(r, column, report, |s| mashangban_domain::validation::required_text(column, s, max))
    };
    let address = text(col::ADDRESS, 200, report);
    let industry_name = text(col::INDUSTRY_NAME, 60, report);
    let contact_name = text(col::CONTACT, 30, report);
    let tags = match r.text(col::TAGS) {
        Some(t) => match mashangban_domain::enterprise::clean_tags(&[t]) {
            Ok(tags) => tags,
            Err(e) => {
                r.problem(col::TAGS, &e.message, report);
                Vec::new()
            }
        },
        None => Vec::new(),
    };
    if report.len() > before {
        return None;
    }
    Some(EnterpriseInput {
        credit_code: code?,
        name: name?,
        town_id: town?,
        address,
        industry_code,
        industry_name,
        size,
        registered_on,
        contact_name,
        contact_phone: phone,
        tags,
    })
}

fn checked<T>(
    r: &Record<'_>,
    column: &str,
    report: &mut Report,
    check: impl Fn(&str) -> Result<T, DomainError>,
) -> Option<T> {
    let text = r.required_text(column, report)?;
    check(&text).map_err(|e| r.problem(column, &e.message, report)).ok()
}

fn optional<T>(
    r: &Record<'_>,
    column: &str,
    report: &mut Report,
    check: impl Fn(&str) -> Result<T, DomainError>,
) -> Option<T> {
    let text = r.text(column)?;
    check(&text).map_err(|e| r.problem(column, &e.message, report)).ok()
}
