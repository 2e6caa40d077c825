//! The industry support fund (产业扶持资金): policies and their measures kept
//! as data, enterprises' applications, the review 受理 → 初审 → 复审 → 公示 →
//! 拨付 (or 不予支持), the public notice with its objections, and the budget
//! used per year.
//!
//! Access: administrators keep policies (`fund.manage`); an enterprise applies
//! for itself and a liaison cadre for an enterprise assigned to them
//! (`fund.apply`); handlers and unit leaders of the enterprise's town do the
//! first review (`fund.review_town`); dispatchers and administrators — the
//! fund's office — do the second review, the notice, payment, rejections and
//! answers to objections (`fund.review_department`). Enterprises see only
//! their own applications, cadres those of their enterprises, town staff
//! their town's. Anyone signed in may object while an award is on notice;
//! the notice itself is public and shows the enterprise, the measure and the
//! award only.
//!
//! Money: 复审 reserves the award against the year's allocation (refused with
//! `409 budget_exceeded` when it does not fit, also under concurrency: see
//! the store), 拨付 records the reserved award as paid, a rejection after 复审
//! releases it.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use mashangban_domain::access::Permission;
use mashangban_domain::document::OwnerKind;
use mashangban_domain::enterprise::EnterpriseScope;
use mashangban_domain::expr::ExprType;
use mashangban_domain::fund::{
    Adjustment, ApplicationState, FieldSpec, FundAction, MAX_FIELDS, Measure, MeasureInput, Policy,
    application_not_found, data_from_json, fen_to_yuan, measure_not_found, no_allocation_for_year, policy_not_found,
};
use mashangban_domain::org::{Actor, OrgTree};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_domain::validation::{CreditCode, mask_name, required_text};
use mashangban_store::{
    AssignmentFilter, DocumentOwner, FundActor, FundApplication, FundEvent, FundFilter, FundGroup, FundMaterial,
    FundMeasure, FundObjection, FundPolicy, FundScope, FundTally, NewFundApplication, Store,
};

use mashangban_sheet::Cell;
use mashangban_sheet::write::{Export, Kind, WriteColumn};

use crate::documents::DocumentView;
use crate::error::{AppError, AppResult};
use crate::views::{UnitRef, unit_ref};
use crate::{App, Caller};

/// The most applications one page lists.
pub const PAGE_MAX: u32 = 500;
/// The most measures a policy is created with.
pub const MAX_MEASURES: usize = 50;
/// The most items of a materials list.
pub const MAX_MATERIALS: usize = 30;
const MAX_MATERIAL_CHARS: usize = 100;

/// The most applications one export writes.
pub const EXPORT_MAX: u32 = 100_000;
const EXPORT_PAGE: u32 = 5000;

/// The support-fund service: `app.fund()`.
pub struct Fund<'a, S> {
    app: &'a App<S>,
}

// ---- bodies ----------------------------------------------------------------------------

/// A year's allocation, in yuan (`"20000000"`, at most two decimals).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationBody {
    pub year: i32,
    pub amount: String,
}

/// An applicant data field of a measure: `type` is `number`, `text`, `bool` or `date`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldBody {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    #[serde(default)]
    pub optional: bool,
}

/// A measure: the data it asks for, its eligibility rule, its award formula and its cap in yuan.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureBody {
    pub code: String,
    pub name: String,
    #[schemars(length(max = 40))]
    pub fields: Vec<FieldBody>,
    /// A yes/no expression over the fields, e.g. `规上企业 且 固定资产投资 >= 20000000`.
    pub eligibility: String,
    /// A number expression over the fields, in yuan, e.g. `固定资产投资 * 0.05`.
    pub award: String,
    #[serde(default)]
    pub cap: Option<String>,
}

/// A policy with its per-year allocations (adding up to the total) and its measures.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    pub issuer: String,
    pub total: String,
    #[schemars(length(max = 10))]
    pub allocations: Vec<AllocationBody>,
    /// How many working days the public notice lasts (default 5).
    #[serde(default)]
    pub notice_working_days: Option<u32>,
    #[serde(default)]
    #[schemars(length(max = 50))]
    pub measures: Vec<MeasureBody>,
}

/// One item of the materials list.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaterialBody {
    /// The material's name; its files are uploaded to the application afterwards
    /// (`POST /api/v1/fund/applications/{id}/documents` with this name as `purpose`).
    pub name: String,
}

/// An application. An enterprise applies for itself; a liaison cadre names the enterprise.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyBody {
    pub measure_id: i64,
    /// The budget year; the current year when absent.
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub credit_code: Option<String>,
    /// The applicant data, by field name: numbers as numbers or text, dates `YYYY-MM-DD`, yes/no as booleans.
    #[serde(default)]
    pub data: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    #[schemars(length(max = 30))]
    pub materials: Vec<MaterialBody>,
}

/// 初审 or 复审: approve, optionally with an adjusted award (yuan) and its reason.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    #[serde(default)]
    pub award: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// The application's version the decision was made on (optional optimistic check).
    #[serde(default)]
    pub version: Option<i64>,
}

/// 公示, 拨付 or 不予支持: `note` is the payment note or the rejection's reason.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// An objection or an answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TextBody {
    pub text: String,
}

/// Which applications a list shows.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ApplicationQuery {
    #[serde(default)]
    pub policy: Option<i64>,
    #[serde(default)]
    pub measure: Option<i64>,
    /// A state code (`submitted`, `town_reviewed`, …).
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub year: Option<i32>,
    /// A town's unit code.
    #[serde(default)]
    pub town: Option<String>,
    #[serde(default)]
    pub credit_code: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub offset: Option<u32>,
}

/// The review step an action is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deed {
    TownReview,
    DepartmentReview,
    Publicise,
    Pay,
    Reject,
}

impl Deed {
    /// The path segment: `town-review`, `department-review`, `publicise`, `pay`, `reject`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "town-review" => Some(Self::TownReview),
            "department-review" => Some(Self::DepartmentReview),
            "publicise" => Some(Self::Publicise),
            "pay" => Some(Self::Pay),
            "reject" => Some(Self::Reject),
            _ => None,
        }
    }
}

// ---- views -----------------------------------------------------------------------------

/// One year of the budget, in yuan.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BudgetYearView {
    pub year: i32,
    pub allocation: String,
    /// Approved at 复审 and not released (paid included).
    pub reserved: String,
    pub paid: String,
    pub remaining: String,
    /// Reserved as a share of the allocation, 0–100, one decimal.
    pub used_percent: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FieldView {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: &'static str,
    pub type_label: &'static str,
    pub optional: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MeasureView {
    pub id: i64,
    pub policy_id: i64,
    pub code: String,
    pub name: String,
    pub fields: Vec<FieldView>,
    pub eligibility: String,
    pub award: String,
    pub cap: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyView {
    pub id: i64,
    pub name: String,
    pub issuer: String,
    pub total: String,
    pub notice_working_days: u32,
    pub years: Vec<BudgetYearView>,
    pub measures: Vec<MeasureView>,
    pub created_at: String,
    pub created_by: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EnterpriseRef {
    pub credit_code: String,
    pub name: String,
    pub town: Option<UnitRef>,
    pub industry_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MaterialView {
    pub name: String,
    /// The uploaded documents labelled with this material (not withdrawn).
    pub documents: Vec<DocumentView>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EventView {
    pub seq: i64,
    pub kind: String,
    pub kind_label: &'static str,
    pub from_state: Option<&'static str>,
    pub to_state: &'static str,
    pub to_state_label: &'static str,
    pub award: String,
    pub note: Option<String>,
    pub at: String,
    pub by: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ObjectionView {
    pub id: i64,
    pub text: String,
    pub raised_at: String,
    /// Masked except for the fund's office.
    pub raised_by: String,
    pub answer: Option<String>,
    pub answered_at: Option<String>,
    pub answered_by: Option<String>,
}

/// An application in lists.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApplicationSummary {
    pub id: i64,
    pub policy_id: i64,
    pub measure_id: i64,
    pub measure_code: String,
    pub measure_name: String,
    pub year: i32,
    pub enterprise: EnterpriseRef,
    pub state: &'static str,
    pub state_label: &'static str,
    /// What the formula gave, before the cap, in yuan.
    pub computed: String,
    /// The award as it stands, in yuan.
    pub award: String,
    pub cap: Option<String>,
    pub notice_ends_at: Option<String>,
    pub open_objections: u32,
    pub version: i64,
    pub submitted_at: String,
    pub updated_at: String,
}

/// An application with its data, materials, history and objections.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApplicationView {
    #[serde(flatten)]
    pub summary: ApplicationSummary,
    /// The applicant data as entered, by field name.
    pub data: BTreeMap<String, String>,
    pub materials: Vec<MaterialView>,
    /// Every uploaded document (not withdrawn), also those without a material.
    pub documents: Vec<DocumentView>,
    pub submitted_by: String,
    pub history: Vec<EventView>,
    pub objections: Vec<ObjectionView>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApplicationList {
    pub items: Vec<ApplicationSummary>,
    pub total: u64,
}

/// One line of the public notice (公示): the enterprise, the measure and the award, nothing personal.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NoticeRow {
    pub application_id: i64,
    pub enterprise_name: String,
    pub measure_name: String,
    pub year: i32,
    pub award: String,
    pub notice_ends_at: Option<String>,
    /// Whether objections may still be raised.
    pub open: bool,
}

/// What a reader may do with an application now: the forms its page shows.
/// Each is what the service would accept from them in its current state
/// (the amounts and texts are still checked when they act).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FundDeeds {
    /// 初审 (the enterprise's town, while 受理).
    pub town_review: bool,
    /// 复审 (the office, after 初审).
    pub department_review: bool,
    /// 公示 (the office, after 复审).
    pub publicise: bool,
    /// 拨付 (the office, on notice; refused until the notice ended and every objection is answered).
    pub pay: bool,
    /// 不予支持 (the town while 受理, the office at any open step).
    pub reject: bool,
    /// Raise an objection (anyone signed in, during the notice).
    pub object: bool,
    /// Answer open objections (the office).
    pub answer: bool,
}

impl FundDeeds {
    /// Whether any review step is open to the reader.
    pub fn any_step(&self) -> bool {
        self.town_review || self.department_review || self.publicise || self.pay || self.reject
    }
}

/// Which policy and budget year a report counts; the newest policy and the current year (or the
/// policy's last year before it) when absent.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    #[serde(default)]
    pub policy: Option<i64>,
    #[serde(default)]
    pub year: Option<i32>,
}

/// The report's parameters as the page and `GET /api/v1/fund/reports` take them: `policy` and
/// `year`, or `period` as `policy:year` (the page's select). Read into a [`ReportQuery`] by
/// [`ReportParams::query`]; a number that does not parse is `400 invalid_parameter`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub year: Option<String>,
    #[serde(default)]
    pub period: Option<String>,
}

impl ReportParams {
    pub fn query(&self) -> AppResult<ReportQuery> {
        let field = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let (policy, year) = match field(&self.period) {
            Some(period) => {
                let (p, y) = period.split_once(':').unwrap_or((period.as_str(), ""));
                (Some(p.trim().to_owned()), Some(y.trim().to_owned()).filter(|y| !y.is_empty()))
            }
            None => (field(&self.policy), field(&self.year)),
        };
        let policy =
            policy.map(|p| p.parse::<i64>().map_err(|_| AppError::bad_parameter("政策编号须为数字"))).transpose()?;
        let year =
            year.map(|y| y.parse::<i32>().map_err(|_| AppError::bad_parameter("年度须为数字，如 2023"))).transpose()?;
        Ok(ReportQuery { policy, year })
    }
}

/// One group of a report: counts and amounts in yuan.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TallyView {
    /// The measure's code, the town's unit code or the industry code (empty: not recorded; `total`: all).
    pub key: String,
    pub name: String,
    pub applications: u64,
    /// 受理 or 初审通过.
    pub in_review: u64,
    /// 复审通过, 公示中 or 已拨付: awards reserved.
    pub approved: u64,
    pub approved_amount: String,
    pub paid: u64,
    pub paid_amount: String,
    pub rejected: u64,
    /// The approved amount as a share of the year's allocation, 0–100, one decimal.
    pub share_percent: String,
}

/// A policy's budget year counted by measure, town and industry, in the reader's scope.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FundReportView {
    pub policy_id: i64,
    pub policy_name: String,
    pub year: i32,
    /// The year's allocation and its use (all applications, whatever the reader's scope).
    pub budget: BudgetYearView,
    pub total: TallyView,
    pub by_measure: Vec<TallyView>,
    pub by_town: Vec<TallyView>,
    pub by_industry: Vec<TallyView>,
    /// Every policy with its years, for choosing another.
    pub choices: Vec<ReportChoice>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ReportChoice {
    pub policy_id: i64,
    pub policy_name: String,
    pub years: Vec<i32>,
}

// ---- the service -----------------------------------------------------------------------

impl<'a, S: Store> Fund<'a, S> {
    pub(crate) fn new(app: &'a App<S>) -> Self {
        Self { app }
    }

    /// Creates a policy with its measures, all checked first (nothing stored on a refusal).
    pub async fn create_policy(&self, caller: &Caller, body: PolicyBody) -> AppResult<PolicyView> {
        caller.require(Permission::ManageFund)?;
        let allocations = body
            .allocations
            .iter()
            .map(|a| Ok((a.year, amount("年度资金", &a.amount)?)))
            .collect::<AppResult<Vec<_>>>()?;
        let policy = Policy::new(
            &body.name,
            &body.issuer,
            amount("资金总额", &body.total)?,
            &allocations,
            body.notice_working_days.unwrap_or(5),
        )?;
        if body.measures.len() > MAX_MEASURES {
            return Err(AppError::invalid("invalid_fund_measure", format!("一项政策最多{MAX_MEASURES}项措施")));
        }
        let measures = body.measures.iter().map(compile_measure).collect::<AppResult<Vec<_>>>()?;
        let stored = self.app.store().create_fund_policy(policy, measures, self.app.now(), actor(caller)).await?;
        self.policy(stored.id).await
    }

    /// Adds a measure to a policy.
    pub async fn add_measure(&self, caller: &Caller, policy_id: i64, body: MeasureBody) -> AppResult<MeasureView> {
        caller.require(Permission::ManageFund)?;
        let measure = compile_measure(&body)?;
        Ok(measure_view(self.app.store().add_fund_measure(policy_id, measure).await?))
    }

    /// Every policy with its budget use and measures, newest first.
    pub async fn policies(&self) -> AppResult<Vec<PolicyView>> {
        let mut out = Vec::new();
        for policy in self.app.store().fund_policies().await? {
            let measures = self.app.store().fund_measures(policy.id).await?;
            out.push(policy_view(policy, measures));
        }
        Ok(out)
    }

    pub async fn policy(&self, id: i64) -> AppResult<PolicyView> {
        let policy = self.app.store().fund_policy(id).await?.ok_or_else(policy_not_found)?;
        let measures = self.app.store().fund_measures(id).await?;
        Ok(policy_view(policy, measures))
    }

    pub async fn measure(&self, id: i64) -> AppResult<MeasureView> {
        Ok(measure_view(self.app.store().fund_measure(id).await?.ok_or_else(measure_not_found)?))
    }

    /// Submits an application (受理): the data checked and the award computed by the measure.
    pub async fn apply(&self, caller: &Caller, body: ApplyBody) -> AppResult<ApplicationView> {
        caller.require(Permission::ApplyFund)?;
        let credit_code = self.applicant(caller, body.credit_code.as_deref()).await?;
        let stored = self.app.store().fund_measure(body.measure_id).await?.ok_or_else(measure_not_found)?;
        let measure = compile_stored(&stored)?;
        let data = data_from_json(&measure, &body.data)?;
        let assessment = measure.assess(&data)?;
        let new = NewFundApplication {
            measure_id: stored.id,
            year: body.year.unwrap_or_else(|| chrono::Datelike::year(&self.app.now())),
            credit_code,
            data,
            materials: materials(&body.materials)?,
            computed_fen: assessment.computed_fen,
            award_fen: assessment.award_fen,
        };
        let application = self.app.store().submit_fund_application(new, self.app.now(), actor(caller)).await?;
        self.view(caller, application).await
    }

    /// Applications in the caller's scope, newest first.
    pub async fn list(&self, caller: &Caller, query: &ApplicationQuery) -> AppResult<ApplicationList> {
        let filter = self.filter(query)?;
        let (items, total) = self.app.store().fund_applications(&filter, scope(&caller.actor)).await?;
        let org = self.app.caches().org();
        Ok(ApplicationList { items: items.iter().map(|a| summary(a, &org)).collect(), total })
    }

    /// One application in the caller's scope, with its history and objections.
    pub async fn get(&self, caller: &Caller, id: i64) -> AppResult<ApplicationView> {
        let found = self.in_scope(caller, id).await?;
        self.view(caller, found).await
    }

    /// One application with what the caller may do with it now (its page's forms).
    pub async fn detail(&self, caller: &Caller, id: i64) -> AppResult<(ApplicationView, FundDeeds)> {
        let found = self.in_scope(caller, id).await?;
        let deeds = self.deeds(caller, &found);
        Ok((self.view(caller, found).await?, deeds))
    }

    fn deeds(&self, caller: &Caller, a: &FundApplication) -> FundDeeds {
        use ApplicationState as S;
        let may = |deed| self.may_act(caller, a, deed).is_ok();
        let on_notice = a.state == S::Publicised && a.notice_ends_at.is_some_and(|end| self.app.now() <= end);
        FundDeeds {
            town_review: a.state == S::Submitted && may(Deed::TownReview),
            department_review: a.state == S::TownReviewed && may(Deed::DepartmentReview),
            publicise: a.state == S::DepartmentReviewed && may(Deed::Publicise),
            pay: a.state == S::Publicised && may(Deed::Pay),
            reject: !a.state.is_final() && may(Deed::Reject),
            object: on_notice && caller.actor.role().is_some(),
            answer: caller.may(Permission::ReviewFundDepartment),
        }
    }

    /// A review step: 初审 by the enterprise's town; 复审, 公示, 拨付 by the
    /// fund's office; 不予支持 by the town while it is 受理, else by the office.
    pub async fn act(
        &self,
        caller: &Caller,
        id: i64,
        deed: Deed,
        review: ReviewBody,
        decision: DecisionBody,
    ) -> AppResult<ApplicationView> {
        let found = self.in_scope(caller, id).await?;
        self.may_act(caller, &found, deed)?;
        let now = self.app.now();
        let adjustment = || adjustment(&review);
        let (action, version) = match deed {
            Deed::TownReview => (FundAction::TownReview { adjustment: adjustment()? }, review.version),
            Deed::DepartmentReview => (FundAction::DepartmentReview { adjustment: adjustment()? }, review.version),
            Deed::Publicise => {
                (FundAction::Publicise { ends_at: self.notice_end(&found, now).await? }, decision.version)
            }
            Deed::Pay => (FundAction::Pay { note: decision.note.unwrap_or_default() }, decision.version),
            Deed::Reject => (FundAction::Reject { reason: decision.note.unwrap_or_default() }, decision.version),
        };
        let changed = self.app.store().act_on_fund_application(id, action, version, now, actor(caller)).await?;
        self.view(caller, changed).await
    }

    /// Raises an objection to an application on notice; anyone signed in may.
    pub async fn object(&self, caller: &Caller, id: i64, body: TextBody) -> AppResult<ObjectionView> {
        if caller.actor.role().is_none() {
            return Err(AppError::unauthenticated());
        }
        let raised = self.app.store().raise_fund_objection(id, body.text, self.app.now(), actor(caller)).await?;
        Ok(objection_view(raised, true))
    }

    /// Answers an objection (the fund's office).
    pub async fn answer(&self, caller: &Caller, objection_id: i64, body: TextBody) -> AppResult<ObjectionView> {
        caller.require(Permission::ReviewFundDepartment)?;
        let answered =
            self.app.store().answer_fund_objection(objection_id, body.text, self.app.now(), actor(caller)).await?;
        Ok(objection_view(answered, true))
    }

    /// The public notice (公示): every application on notice, newest first.
    pub async fn notices(&self) -> AppResult<Vec<NoticeRow>> {
        let filter = FundFilter { state: Some(ApplicationState::Publicised), limit: PAGE_MAX, ..FundFilter::default() };
        let (items, _) = self.app.store().fund_applications(&filter, FundScope::All).await?;
        let now = self.app.now();
        Ok(items
            .into_iter()
            .map(|a| NoticeRow {
                application_id: a.id,
                open: a.notice_ends_at.is_some_and(|end| now <= end),
                enterprise_name: a.enterprise_name,
                measure_name: a.measure_name,
                year: a.year,
                award: yuan(a.award_fen),
                notice_ends_at: a.notice_ends_at.as_ref().map(format_instant),
            })
            .collect())
    }

    /// The applications in the caller's scope matching the query, as an Excel
    /// workbook: one row per application with its award (more than [`EXPORT_MAX`] matches are
    /// refused with `export_too_large`).
    pub async fn export(&self, caller: &Caller, query: &ApplicationQuery) -> AppResult<Vec<u8>> {
        let mut filter = self.filter(query)?;
        let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(mashangban_domain::DomainError::from(e));
        let mut export = Export::new("扶持资金申报", export_columns()).map_err(sheet_error)?;
        let org = self.app.caches().org();
        (filter.offset, filter.limit) = (0, EXPORT_PAGE);
        loop {
            let (page, total) = self.app.store().fund_applications(&filter, scope(&caller.actor)).await?;
            if filter.offset == 0 {
                AppError::check_export_size(total, EXPORT_MAX.into())?;
            }
            for a in &page {
                export.push(&export_row(a, &org)).map_err(sheet_error)?;
            }
            if page.len() < EXPORT_PAGE as usize || export.rows() >= EXPORT_MAX {
                break;
            }
            filter.offset += EXPORT_PAGE;
        }
        export.finish().map_err(sheet_error)
    }

    /// A policy's budget year counted by measure, town and industry, over
    /// the applications in the caller's scope; `None` when no policy exists.
    pub async fn report(&self, caller: &Caller, query: &ReportQuery) -> AppResult<Option<FundReportView>> {
        if caller.actor.role().is_none() {
            return Err(AppError::unauthenticated());
        }
        let policies = self.app.store().fund_policies().await?;
        let policy = match query.policy {
            Some(id) => policies.iter().find(|p| p.id == id).ok_or_else(policy_not_found)?,
            None => match policies.first() {
                Some(newest) => newest,
                None => return Ok(None),
            },
        };
        let this_year = chrono::Datelike::year(&self.app.now());
        let year = match query.year {
            Some(year) => year,
            None => policy
                .budgets
                .iter()
                .map(|b| b.year)
                .filter(|y| *y <= this_year)
                .max()
                .or_else(|| policy.budgets.first().map(|b| b.year))
                .unwrap_or(this_year),
        };
        let budget = policy.budgets.iter().find(|b| b.year == year).ok_or_else(|| no_allocation_for_year(year))?;
        let report = self.app.store().fund_report(policy.id, year, scope(&caller.actor)).await?;
        let org = self.app.caches().org();
        let allocation = budget.allocation_fen;
        let tallies = |list: Vec<FundTally>| list.into_iter().map(|t| tally_view(t, allocation, &org)).collect();
        Ok(Some(FundReportView {
            policy_id: policy.id,
            policy_name: policy.name.clone(),
            year,
            budget: budget_view(budget),
            total: tally_view(report.total, allocation, &org),
            by_measure: tallies(report.by_measure),
            by_town: tallies(report.by_town),
            by_industry: tallies(report.by_industry),
            choices: policies
                .iter()
                .map(|p| ReportChoice {
                    policy_id: p.id,
                    policy_name: p.name.clone(),
                    years: p.budgets.iter().map(|b| b.year).collect(),
                })
                .collect(),
        }))
    }

    /// The report as an Excel workbook: one row per group (by measure, town, industry) and the total.
    pub async fn report_export(&self, caller: &Caller, query: &ReportQuery) -> AppResult<Vec<u8>> {
        let report = self.report(caller, query).await?.ok_or_else(policy_not_found)?;
        let sheet_error = |e: mashangban_sheet::SheetError| AppError::from(mashangban_domain::DomainError::from(e));
        let b = &report.budget;
        let preamble = [
            format!("{} {}年度扶持资金统计", report.policy_name, report.year),
            format!("年度安排{}元，已占用{}元，已拨付{}元，余额{}元", b.allocation, b.reserved, b.paid, b.remaining),
            format!("统计范围：{}可见的申报；导出时间：{}", caller.actor.name(), format_instant(&self.app.now())),
        ];
        let mut export = Export::with_preamble("扶持资金统计", &preamble, report_columns()).map_err(sheet_error)?;
        let groups = [
            ("按措施", report.by_measure.as_slice()),
            ("按镇街", report.by_town.as_slice()),
            ("按行业", report.by_industry.as_slice()),
            ("合计", std::slice::from_ref(&report.total)),
        ];
        for (label, rows) in groups {
            for t in rows {
                export.push(&report_row(label, t)).map_err(sheet_error)?;
            }
        }
        export.finish().map_err(sheet_error)
    }

    // ---- helpers ----

    /// The credit code the caller applies for: an enterprise's own, or one assigned to the cadre.
    async fn applicant(&self, caller: &Caller, named: Option<&str>) -> AppResult<String> {
        let named = named.map(str::trim).filter(|c| !c.is_empty()).map(CreditCode::parse).transpose()?;
        match &caller.actor {
            Actor::Account(account) => {
                let own = account.credit_code.clone().ok_or_else(|| {
                    AppError::forbidden("您的账号未绑定企业，不能申报").with_code("fund_account_without_enterprise")
                })?;
                if named.is_some_and(|n| n.as_str() != own) {
                    return Err(AppError::forbidden("企业账号只能为本企业申报").with_code("fund_not_your_enterprise"));
                }
                Ok(own)
            }
            Actor::Staff(staff) => {
                let code = named.ok_or_else(|| {
                    AppError::invalid("credit_code_required", "请填写所代为申报企业的统一社会信用代码")
                })?;
                let filter = AssignmentFilter {
                    credit_code: Some(code.as_str().to_owned()),
                    user_id: staff.user_id,
                    limit: 1,
                    ..AssignmentFilter::default()
                };
                if staff.user_id.is_none() || self.app.store().assignments(&filter).await?.is_empty() {
                    return Err(AppError::forbidden("只能为您联系的企业代为申报").with_code("fund_not_your_enterprise"));
                }
                Ok(code.as_str().to_owned())
            }
            _ => Err(AppError::unauthenticated()),
        }
    }

    pub(crate) async fn in_scope(&self, caller: &Caller, id: i64) -> AppResult<FundApplication> {
        Ok(self.app.store().fund_application(id, scope(&caller.actor)).await?.ok_or_else(application_not_found)?)
    }

    fn may_act(&self, caller: &Caller, found: &FundApplication, deed: Deed) -> AppResult<()> {
        let town_reviewer = caller.may(Permission::ReviewFundTown)
            && matches!(&caller.actor, Actor::Staff(s) if s.town_id == Some(found.town_id));
        let town_may = match deed {
            Deed::TownReview => true,
            Deed::Reject => found.state == ApplicationState::Submitted,
            _ => false,
        };
        if town_may && town_reviewer {
            return Ok(());
        }
        if deed == Deed::TownReview {
            return Err(AppError::forbidden("初审须由企业所在镇街的工作人员办理").with_code("not_town_reviewer"));
        }
        caller.require(Permission::ReviewFundDepartment)?;
        Ok(())
    }

    /// The end of the notice: the policy's number of working days from now.
    async fn notice_end(&self, found: &FundApplication, now: Instant) -> AppResult<Instant> {
        let policy = self.app.store().fund_policy(found.policy_id).await?.ok_or_else(policy_not_found)?;
        Ok(self.app.caches().calendar().add_workdays(now, policy.notice_working_days)?)
    }

    fn filter(&self, query: &ApplicationQuery) -> AppResult<FundFilter> {
        let state = match query.state.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(
                ApplicationState::parse(s)
                    .ok_or_else(|| AppError::bad_parameter(format!("没有「{}」这种状态", shorten(s))))?,
            ),
            None => None,
        };
        let town_id = match query.town.as_deref().filter(|t| !t.is_empty()) {
            Some(code) => Some(
                self.app
                    .caches()
                    .org()
                    .by_code(code)
                    .map(|u| u.id)
                    .ok_or_else(|| AppError::bad_parameter(format!("没有「{}」这个镇街", shorten(code))))?,
            ),
            None => None,
        };
        Ok(FundFilter {
            policy_id: query.policy,
            measure_id: query.measure,
            state,
            year: query.year,
            town_id,
            credit_code: query.credit_code.clone().filter(|c| !c.is_empty()),
            limit: query.limit.unwrap_or(50).clamp(1, PAGE_MAX),
            offset: query.offset.unwrap_or(0),
        })
    }

    async fn view(&self, caller: &Caller, a: FundApplication) -> AppResult<ApplicationView> {
        let history = self.app.store().fund_events(a.id).await?;
        let owner = DocumentOwner { kind: OwnerKind::FundApplication, id: a.id };
        let documents = self.app.documents().of(owner).await?;
        let objections = self.app.store().fund_objections(a.id).await?;
        let office = caller.may(Permission::ReviewFundDepartment);
        let org = self.app.caches().org();
        Ok(ApplicationView {
            summary: summary(&a, &org),
            data: a.data.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            materials: a
                .materials
                .iter()
                .map(|m| MaterialView {
                    name: m.name.clone(),
                    documents: documents.iter().filter(|d| d.purpose.as_ref() == Some(&m.name)).cloned().collect(),
                })
                .collect(),
            documents,
            submitted_by: a.submitted_by.clone(),
            history: history.into_iter().map(event_view).collect(),
            objections: objections.into_iter().map(|o| objection_view(o, office)).collect(),
        })
    }
}

/// Whose applications the actor reads.
pub fn scope(actor: &Actor) -> FundScope {
    match actor {
        Actor::Account(a) => a.credit_code.clone().map_or(FundScope::Nothing, FundScope::Enterprise),
        _ if actor.may(Permission::ReviewFundDepartment) || actor.may(Permission::ManageFund) => FundScope::All,
        _ => match EnterpriseScope::of(actor) {
            EnterpriseScope::All => FundScope::All,
            EnterpriseScope::Town(town) => FundScope::Town(town),
            EnterpriseScope::Liaison(user) => FundScope::Liaison(user),
            EnterpriseScope::Nothing => FundScope::Nothing,
        },
    }
}

fn actor(caller: &Caller) -> FundActor {
    FundActor {
        user_id: caller.actor.user_id(),
        name: format!("{}（{}）", caller.actor.name(), caller.actor.role_str()),
    }
}

fn amount(label: &str, text: &str) -> AppResult<Decimal> {
    text.trim().replace(',', "").parse::<Decimal>().map_err(|_| {
        AppError::invalid("invalid_fund_amount", format!("「{label}」须为金额（元），如 20000000 或 1234.56"))
    })
}

fn field_type(s: &str) -> AppResult<ExprType> {
    match s {
        "number" => Ok(ExprType::Number),
        "text" => Ok(ExprType::Text),
        "bool" => Ok(ExprType::Bool),
        "date" => Ok(ExprType::Date),
        other => Err(AppError::invalid(
            "invalid_fund_measure",
            format!("数据项类型「{}」不可用，应为 number、text、bool 或 date", shorten(other)),
        )),
    }
}

fn type_code(ty: ExprType) -> &'static str {
    match ty {
        ExprType::Number => "number",
        ExprType::Text => "text",
        ExprType::Bool => "bool",
        ExprType::Date => "date",
    }
}

fn compile_measure(body: &MeasureBody) -> AppResult<Measure> {
    if body.fields.len() > MAX_FIELDS {
        return Err(AppError::invalid("invalid_fund_measure", format!("申报数据项不能超过{MAX_FIELDS}项")));
    }
    let fields = body
        .fields
        .iter()
        .map(|f| Ok(FieldSpec { name: f.name.clone(), ty: field_type(&f.ty)?, optional: f.optional }))
        .collect::<AppResult<Vec<_>>>()?;
    let cap = body.cap.as_deref().filter(|c| !c.trim().is_empty()).map(|c| amount("奖励上限", c)).transpose()?;
    let input = MeasureInput {
        code: body.code.clone(),
        name: body.name.clone(),
        fields,
        eligibility: body.eligibility.clone(),
        award: body.award.clone(),
        cap,
    };
    Ok(input.compile()?)
}

/// A stored measure compiled again (its formulas were checked when stored).
fn compile_stored(m: &FundMeasure) -> AppResult<Measure> {
    let input = MeasureInput {
        code: m.code.clone(),
        name: m.name.clone(),
        fields: m.fields.clone(),
        eligibility: m.eligibility.clone(),
        award: m.award.clone(),
        cap: m.cap_fen.map(fen_to_yuan),
    };
    Ok(input.compile()?)
}

fn materials(items: &[MaterialBody]) -> AppResult<Vec<FundMaterial>> {
    if items.len() > MAX_MATERIALS {
        return Err(AppError::invalid("invalid_fund_materials", format!("申报材料最多{MAX_MATERIALS}项")));
    }
    items
        .iter()
        .map(|m| {
            let invalid = |e: mashangban_domain::DomainError| AppError::invalid("invalid_fund_materials", e.message);
            Ok(FundMaterial { name: required_text("材料名称", &m.name, MAX_MATERIAL_CHARS).map_err(invalid)? })
        })
        .collect()
}

fn adjustment(body: &ReviewBody) -> AppResult<Option<Adjustment>> {
    match body.award.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        None => Ok(None),
        Some(award) => Ok(Some(Adjustment::new(amount("核定金额", award)?, body.reason.as_deref().unwrap_or(""))?)),
    }
}

fn export_columns() -> Vec<WriteColumn> {
    vec![
        WriteColumn::new("申报编号", Kind::Integer),
        WriteColumn::new("申报年度", Kind::Integer),
        WriteColumn::text("措施编号"),
        WriteColumn::text("扶持措施"),
        WriteColumn::text("统一社会信用代码"),
        WriteColumn::text("企业名称"),
        WriteColumn::text("所在镇街"),
        WriteColumn::text("行业代码"),
        WriteColumn::text("状态"),
        WriteColumn::new("公式计算金额（元）", Kind::Number),
        WriteColumn::new("核定金额（元）", Kind::Number),
        WriteColumn::new("公示截止", Kind::DateTime),
        WriteColumn::new("申报时间", Kind::DateTime),
    ]
}

fn export_row(a: &FundApplication, org: &OrgTree) -> Vec<Cell> {
    let text = |s: Option<String>| s.map_or(Cell::Empty, Cell::Text);
    #[allow(clippy::cast_precision_loss)] // fen below 10^14 are exact in f64
    let money = |fen: i64| Cell::Number(fen as f64 / 100.0);
    vec![
        Cell::Number(a.id as f64),
        Cell::Number(f64::from(a.year)),
        Cell::Text(a.measure_code.clone()),
        Cell::Text(a.measure_name.clone()),
        Cell::Text(a.credit_code.clone()),
        Cell::Text(a.enterprise_name.clone()),
        text(unit_ref(org, Some(a.town_id)).map(|u| u.name)),
        text(a.industry_code.clone()),
        Cell::Text(a.state.label().to_owned()),
        money(a.computed_fen),
        money(a.award_fen),
        a.notice_ends_at.map_or(Cell::Empty, |t| Cell::DateTime(t.naive_local())),
        Cell::DateTime(a.submitted_at.naive_local()),
    ]
}

fn yuan(fen: i64) -> String {
    fen_to_yuan(fen).to_string()
}

fn shorten(s: &str) -> String {
    s.chars().take(40).collect()
}

fn policy_view(p: FundPolicy, measures: Vec<FundMeasure>) -> PolicyView {
    PolicyView {
        id: p.id,
        name: p.name,
        issuer: p.issuer,
        total: yuan(p.total_fen),
        notice_working_days: p.notice_working_days,
        years: p.budgets.iter().map(budget_view).collect(),
        measures: measures.into_iter().map(measure_view).collect(),
        created_at: format_instant(&p.created_at),
        created_by: p.created_by,
    }
}

fn budget_view(b: &mashangban_store::FundBudgetYear) -> BudgetYearView {
    BudgetYearView {
        year: b.year,
        allocation: yuan(b.allocation_fen),
        reserved: yuan(b.reserved_fen),
        paid: yuan(b.paid_fen),
        remaining: yuan(b.allocation_fen - b.reserved_fen),
        used_percent: percent(b.reserved_fen, b.allocation_fen),
    }
}

fn tally_view(t: FundTally, allocation_fen: i64, org: &OrgTree) -> TallyView {
    let (key, name) = match t.group {
        FundGroup::Total => ("total".to_owned(), "合计".to_owned()),
        FundGroup::Measure { code, name, .. } => (code, name),
        FundGroup::Town(id) => match unit_ref(org, Some(id)) {
            Some(unit) => (unit.code, unit.name),
            None => (id.to_string(), format!("单位{id}")),
        },
        FundGroup::Industry(Some(code)) => (code.clone(), code),
        FundGroup::Industry(None) => (String::new(), "未登记行业".to_owned()),
    };
    TallyView {
        key,
        name,
        applications: t.applications,
        in_review: t.in_review,
        approved: t.approved,
        approved_amount: yuan(t.approved_fen),
        paid: t.paid,
        paid_amount: yuan(t.paid_fen),
        rejected: t.rejected,
        share_percent: percent(t.approved_fen, allocation_fen),
    }
}

fn report_columns() -> Vec<WriteColumn> {
    vec![
        WriteColumn::text("分组"),
        WriteColumn::text("代码"),
        WriteColumn::text("名称"),
        WriteColumn::new("申报件数", Kind::Integer),
        WriteColumn::new("审核中", Kind::Integer),
        WriteColumn::new("核定件数", Kind::Integer),
        WriteColumn::new("核定金额（元）", Kind::Number),
        WriteColumn::new("拨付件数", Kind::Integer),
        WriteColumn::new("拨付金额（元）", Kind::Number),
        WriteColumn::new("不予支持", Kind::Integer),
        WriteColumn::new("核定占年度安排（%）", Kind::Number),
    ]
}

fn report_row(group: &str, t: &TallyView) -> Vec<Cell> {
    #[allow(clippy::cast_precision_loss)] // counts below 2^53
    let count = |n: u64| Cell::Number(n as f64);
    let number = |s: &str| s.parse::<f64>().map_or(Cell::Empty, Cell::Number);
    vec![
        Cell::Text(group.to_owned()),
        Cell::Text(t.key.clone()),
        Cell::Text(t.name.clone()),
        count(t.applications),
        count(t.in_review),
        count(t.approved),
        number(&t.approved_amount),
        count(t.paid),
        number(&t.paid_amount),
        count(t.rejected),
        number(&t.share_percent),
    ]
}

fn percent(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "0.0".into();
    }
    format!("{:.1}", (Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole)).round_dp(1))
}

fn measure_view(m: FundMeasure) -> MeasureView {
    MeasureView {
        id: m.id,
        policy_id: m.policy_id,
        code: m.code,
        name: m.name,
        fields: m
            .fields
            .iter()
            .map(|f| FieldView {
                name: f.name.clone(),
                ty: type_code(f.ty),
                type_label: f.ty.label(),
                optional: f.optional,
            })
            .collect(),
        eligibility: m.eligibility,
        award: m.award,
        cap: m.cap_fen.map(yuan),
    }
}

fn summary(a: &FundApplication, org: &OrgTree) -> ApplicationSummary {
    ApplicationSummary {
        id: a.id,
        policy_id: a.policy_id,
        measure_id: a.measure_id,
        measure_code: a.measure_code.clone(),
        measure_name: a.measure_name.clone(),
        year: a.year,
        enterprise: EnterpriseRef {
            credit_code: a.credit_code.clone(),
            name: a.enterprise_name.clone(),
            town: unit_ref(org, Some(a.town_id)),
            industry_code: a.industry_code.clone(),
        },
        state: a.state.as_str(),
        state_label: a.state.label(),
        computed: yuan(a.computed_fen),
        award: yuan(a.award_fen),
        cap: a.cap_fen.map(yuan),
        notice_ends_at: a.notice_ends_at.as_ref().map(format_instant),
        open_objections: a.open_objections,
        version: a.version,
        submitted_at: format_instant(&a.submitted_at),
        updated_at: format_instant(&a.updated_at),
    }
}

fn event_view(e: FundEvent) -> EventView {
    EventView {
        seq: e.seq,
        kind_label: kind_label(&e.kind),
        kind: e.kind,
        from_state: e.from_state.map(ApplicationState::as_str),
        to_state: e.to_state.as_str(),
        to_state_label: e.to_state.label(),
        award: yuan(e.award_fen),
        note: e.note,
        at: format_instant(&e.at),
        by: e.by,
    }
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "submit" => "申报受理",
        "town_review" => "初审通过",
        "department_review" => "复审通过",
        "publicise" => "发布公示",
        "pay" => "拨付",
        "reject" => "不予支持",
        "objection" => "提出异议",
        "answer" => "答复异议",
        "document_added" => "上传材料",
        "document_withdrawn" => "撤回材料",
        _ => "其他",
    }
}

/// An objection; who raised it is masked unless `office` (the fund's office answers by name).
fn objection_view(o: FundObjection, office: bool) -> ObjectionView {
    ObjectionView {
        id: o.id,
        text: o.text,
        raised_at: format_instant(&o.raised_at),
        raised_by: if office { o.raised_by } else { mask_name(&o.raised_by) },
        answer: o.answer,
        answered_at: o.answered_at.as_ref().map(format_instant),
        answered_by: o.answered_by,
    }
}
