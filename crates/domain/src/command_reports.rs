//! Periodic reports (定期报送) and responsibility pledges (军令状) of a
//! command centre (指挥部).
//!
//! A centre's office defines **report forms** as data: a name, a cadence
//! (weekly or monthly), typed fields (text, integer, decimal with a unit,
//! date; required or not; bounds), the units and towns that must file
//! (default: the centre's member units and towns) and how many working days
//! after a period ends a report falls due. A unit files one report per
//! period; a correction is a new revision, the old ones kept. Filing after
//! the due time is allowed and marked late. Once a period is past due, the
//! filers without a report are missing and are chased (催报), by the office
//! or once automatically by the scheduler.
//!
//! A **pledge** (军令状) is signed by a unit or a town for some of the
//! centre's targets, with the signed document attached; whether it is met,
//! missed or pending is computed from the targets.
//!
//! Both can be **edited** and **withdrawn** (撤回 a form, 作废 a pledge) by
//! the office, with the version read; the row is kept, marked withdrawn with
//! who, when and why, and every definition, edit and withdrawal is a history
//! entry of the centre with what changed, from and to. A withdrawn form takes
//! no more reports and is no longer chased; a withdrawn pledge is neither met
//! nor missed. Editing a form never invalidates its filed reports silently: a
//! change that would is refused (see [`check_form_change`]) rather than
//! versioning the form.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, ErrorKind};
use crate::validation::required_text;

/// Fields a report form has at most.
pub const FIELDS_MAX: usize = 30;
/// The longest text a text field takes (and the default bound).
pub const FIELD_TEXT_MAX: u32 = 2000;
/// The most working days after a period's end a report may be given.
pub const DUE_DAYS_MAX: u32 = 30;
/// Periods a form's overview shows at most (newest first).
pub const PERIODS_SHOWN: usize = 12;
/// Targets a pledge names at most.
pub const PLEDGE_TARGETS_MAX: usize = 50;
/// The largest signed document of a pledge.
pub const DOCUMENT_MAX_BYTES: usize = 10 * 1024 * 1024;

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// How often a report is filed.
    Cadence {
        /// Every ISO week, Monday to Sunday (每周).
        Weekly = "weekly" / "每周",
        /// Every calendar month (每月).
        Monthly = "monthly" / "每月",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// What a report field holds.
    ReportFieldKind {
        Text = "text" / "文字",
        Integer = "integer" / "整数",
        /// A decimal number with its unit (e.g. 公里, 万元).
        Decimal = "decimal" / "小数",
        /// `YYYY-MM-DD`.
        Date = "date" / "日期",
    }
);

/// One field of a report form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportField {
    /// Lower-case letters, digits and underscores, starting with a letter, at most 32.
    pub key: String,
    /// The Chinese label shown (and the Excel header).
    pub label: String,
    pub kind: ReportFieldKind,
    /// The unit of a number (e.g. `公里`); decimal and integer fields only.
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// Smallest number allowed (integer, decimal).
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest number allowed (integer, decimal).
    #[serde(default)]
    pub max: Option<f64>,
    /// Longest text allowed, in characters (text; default and at most 2000).
    #[serde(default)]
    pub max_len: Option<u32>,
}

/// A report form's definition, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportFormDef {
    pub name: String,
    pub cadence: Cadence,
    pub fields: Vec<ReportField>,
    /// Unit ids that must file; resolved from the centre when the office names none.
    pub filers: Vec<i64>,
    pub due_working_days: u32,
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    !key.is_empty()
        && key.len() <= 32
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn form_invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid("report_form_invalid", message)
}

impl ReportFormDef {
    /// Checks a definition.
    ///
    /// # Errors
    ///
    /// `text_required`, `text_too_long`, `invalid_text`, `report_form_invalid` (fields, filers,
    /// due days).
    pub fn new(
        name: &str,
        cadence: Cadence,
        fields: Vec<ReportField>,
        filers: Vec<i64>,
        due_working_days: u32,
    ) -> Result<Self, DomainError> {
        let name = required_text("报表名称", name, crate::command::NAME_MAX)?;
        if fields.is_empty() || fields.len() > FIELDS_MAX {
            return Err(form_invalid(format!("报表须有 1 至 {FIELDS_MAX} 个栏目")));
        }
        let mut keys = BTreeSet::new();
        let mut clean = Vec::new();
        for f in fields {
            let key = f.key.trim().to_owned();
            if !valid_key(&key) {
                return Err(form_invalid(format!(
                    "栏目编码「{key}」须以小写字母开头，由小写字母、数字或下划线组成，至多 32 位"
                )));
            }
            if !keys.insert(key.clone()) {
                return Err(form_invalid(format!("栏目编码「{key}」重复")));
            }
            let label = required_text("栏目名称", &f.label, 40)?;
            let numeric = matches!(f.kind, ReportFieldKind::Integer | ReportFieldKind::Decimal);
            let unit = crate::validation::optional_text("计量单位", f.unit.as_deref(), 10)?;
            if unit.is_some() && !numeric {
                return Err(form_invalid(format!("栏目「{label}」不是数字，不能有计量单位")));
            }
            if [f.min, f.max].iter().flatten().any(|v| !v.is_finite() || v.abs() > 1e15) {
                return Err(form_invalid(format!("栏目「{label}」的上下限须为有限的数字")));
            }
            if (f.min.is_some() || f.max.is_some()) && !numeric {
                return Err(form_invalid(format!("栏目「{label}」不是数字，不能设上下限")));
            }
            if let (Some(min), Some(max)) = (f.min, f.max)
                && min > max
            {
                return Err(form_invalid(format!("栏目「{label}」的下限大于上限")));
            }
            if f.kind == ReportFieldKind::Integer && [f.min, f.max].iter().flatten().any(|v| v.fract() != 0.0) {
                return Err(form_invalid(format!("整数栏目「{label}」的上下限须为整数")));
            }
            let max_len = match (f.kind, f.max_len) {
                (ReportFieldKind::Text, Some(n)) if n == 0 || n > FIELD_TEXT_MAX => {
                    return Err(form_invalid(format!("栏目「{label}」的字数上限须在 1 至 {FIELD_TEXT_MAX} 之间")));
                }
                (ReportFieldKind::Text, n) => n,
                (_, Some(_)) => return Err(form_invalid(format!("栏目「{label}」不是文字，不能设字数上限"))),
                (_, None) => None,
            };
            clean.push(ReportField {
                key,
                label,
                kind: f.kind,
                unit,
                required: f.required,
                min: f.min,
                max: f.max,
                max_len,
            });
        }
        if filers.len() > crate::command::LIST_MAX * 2 {
            return Err(form_invalid("报送单位过多"));
        }
        let mut seen = BTreeSet::new();
        let filers: Vec<i64> = filers.into_iter().filter(|id| seen.insert(*id)).collect();
        if filers.is_empty() {
            return Err(form_invalid("请至少指定一个报送单位"));
        }
        if due_working_days == 0 || due_working_days > DUE_DAYS_MAX {
            return Err(form_invalid(format!("报送期限须为周期结束后 1 至 {DUE_DAYS_MAX} 个工作日")));
        }
        Ok(Self { name, cadence, fields: clean, filers, due_working_days })
    }
}

/// One reporting period: a week (Monday–Sunday) or a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub cadence: Cadence,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// The period of `cadence` holding `day`.
    pub fn containing(cadence: Cadence, day: NaiveDate) -> Self {
        match cadence {
            Cadence::Weekly => {
                let start = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                Self { cadence, start, end: start + Duration::days(6) }
            }
            Cadence::Monthly => {
                let start = day.with_day(1).unwrap_or(day);
                let next = if start.month() == 12 {
                    NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(start.year(), start.month() + 1, 1)
                };
                let end = next.map_or(start, |n| n - Duration::days(1));
                Self { cadence, start, end }
            }
        }
    }

    /// The stable key: `2026-W49` (ISO week) or `2026-12`.
    pub fn key(&self) -> String {
        match self.cadence {
            Cadence::Weekly => {
                let w = self.start.iso_week();
                format!("{}-W{:02}", w.year(), w.week())
            }
            Cadence::Monthly => format!("{}-{:02}", self.start.year(), self.start.month()),
        }
    }

    /// Reads a key of this cadence (`404 report_period_not_found` for anything else).
    ///
    /// # Errors
    ///
    /// `report_period_not_found`.
    pub fn parse(cadence: Cadence, key: &str) -> Result<Self, DomainError> {
        let bad = || period_not_found(key);
        let key = key.trim();
        let day = match cadence {
            Cadence::Weekly => {
                let (year, week) = key.split_once("-W").ok_or_else(bad)?;
                let (year, week) = (year.parse::<i32>().map_err(|_| bad())?, week.parse::<u32>().map_err(|_| bad())?);
                if week_text_len(key) {
                    return Err(bad());
                }
                NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?
            }
            Cadence::Monthly => {
                let (year, month) = key.split_once('-').ok_or_else(bad)?;
                if month.len() != 2 {
                    return Err(bad());
                }
                let (year, month) = (year.parse::<i32>().map_err(|_| bad())?, month.parse::<u32>().map_err(|_| bad())?);
                NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?
            }
        };
        if !(2000..=2100).contains(&day.year()) {
            return Err(bad());
        }
        let period = Self::containing(cadence, day);
        if period.key() != key {
            return Err(bad());
        }
        Ok(period)
    }

    /// The period before this one.
    pub fn previous(&self) -> Self {
        Self::containing(self.cadence, self.start - Duration::days(1))
    }

    /// In Chinese: `2026年第49周（12月1日至12月7日）`, `2026年12月`.
    pub fn label(&self) -> String {
        match self.cadence {
            Cadence::Weekly => {
                let w = self.start.iso_week();
                format!(
                    "{}年第{}周（{}月{}日至{}月{}日）",
                    w.year(),
                    w.week(),
                    self.start.month(),
                    self.start.day(),
                    self.end.month(),
                    self.end.day()
                )
            }
            Cadence::Monthly => format!("{}年{}月", self.start.year(), self.start.month()),
        }
    }

    /// Whether a report for it may be filed on `today`: once it has begun.
    pub fn is_open(&self, today: NaiveDate) -> bool {
        self.start <= today
    }
}

fn week_text_len(key: &str) -> bool {
    key.rsplit_once("-W").is_some_and(|(_, w)| w.len() != 2)
}

/// The periods of a form from the one holding `first_day` to the one holding `today`, newest
/// first, at most `max`.
pub fn periods(cadence: Cadence, first_day: NaiveDate, today: NaiveDate, max: usize) -> Vec<Period> {
    let first = Period::containing(cadence, first_day);
    let mut p = Period::containing(cadence, today);
    let mut out = Vec::new();
    while out.len() < max && p >= first {
        out.push(p);
        p = p.previous();
    }
    out
}

/// One field's refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FieldError {
    pub key: String,
    pub message: String,
}

/// Checks a report's values against the form's fields: every field typed by its kind and bounds,
/// required ones present, no unknown keys. The values kept are normalized text (`12`, `3.5`,
/// `2026-12-01`); empty optional fields are left out.
///
/// # Errors
///
/// Every field's refusal, in the form's order (unknown keys last).
pub fn check_values(
    fields: &[ReportField],
    raw: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut out = BTreeMap::new();
    for f in fields {
        let value = raw.get(&f.key).map(|v| v.trim()).unwrap_or_default();
        let mut refuse = |m: String| errors.push(FieldError { key: f.key.clone(), message: m });
        if value.is_empty() {
            if f.required {
                refuse(format!("「{}」必须填写", f.label));
            }
            continue;
        }
        let unit = f.unit.as_deref().unwrap_or_default();
        match f.kind {
            ReportFieldKind::Text => {
                let max = f.max_len.unwrap_or(FIELD_TEXT_MAX) as usize;
                let text = value.replace("\r\n", "\n");
                if text.chars().count() > max {
                    refuse(format!("「{}」最多 {max} 个字", f.label));
                } else if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t')) {
                    refuse(format!("「{}」含有不可见的控制字符", f.label));
                } else {
                    out.insert(f.key.clone(), text);
                }
            }
            ReportFieldKind::Integer | ReportFieldKind::Decimal => {
                let cleaned = value.replace([',', '，'], "");
                let parsed = if f.kind == ReportFieldKind::Integer {
                    cleaned.parse::<i64>().ok().map(Decimal::from)
                } else {
                    cleaned.parse::<Decimal>().ok().filter(|_| cleaned.len() <= 30)
                };
                let Some(n) = parsed else {
                    let what = if f.kind == ReportFieldKind::Integer { "整数" } else { "数字" };
                    refuse(format!("「{}」须为{what}，收到「{}」", f.label, clip(value)));
                    continue;
                };
                if let Some(min) = f.min
                    && Decimal::try_from(min).is_ok_and(|min| n < min)
                {
                    refuse(format!("「{}」不能小于 {min}{unit}", f.label));
                    continue;
                }
                if let Some(max) = f.max
                    && Decimal::try_from(max).is_ok_and(|max| n > max)
                {
                    refuse(format!("「{}」不能大于 {max}{unit}", f.label));
                    continue;
                }
                out.insert(f.key.clone(), n.normalize().to_string());
            }
            ReportFieldKind::Date => match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
                Ok(d) => {
                    out.insert(f.key.clone(), d.format("%Y-%m-%d").to_string());
                }
                Err(_) => refuse(format!("「{}」请写成 YYYY-MM-DD 的日期，收到「{}」", f.label, clip(value))),
            },
        }
    }
    for key in raw.keys() {
        if !fields.iter().any(|f| &f.key == key) {
            errors.push(FieldError { key: clip(key), message: format!("报表没有栏目「{}」", clip(key)) });
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// `422 report_field_invalid`, every field's message joined.
pub fn fields_invalid(errors: &[FieldError]) -> DomainError {
    let joined = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("；");
    DomainError::invalid("report_field_invalid", joined)
}

/// Whether the status of a unit's report for a period (see [`status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilingStatus {
    /// Filed by the due time.
    Filed,
    /// Filed after the due time (逾期报送).
    Late,
    /// Not filed and past due (未报).
    Missing,
    /// Not filed, not due yet (待报).
    Pending,
}

impl FilingStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Filed => "按时报送",
            Self::Late => "逾期报送",
            Self::Missing => "未报",
            Self::Pending => "待报",
        }
    }
}

/// A unit's status for a period: from whether its first filing was late, or else whether the period
/// is past due.
pub fn status(first_filing_late: Option<bool>, past_due: bool) -> FilingStatus {
    match (first_filing_late, past_due) {
        (Some(false), _) => FilingStatus::Filed,
        (Some(true), _) => FilingStatus::Late,
        (None, true) => FilingStatus::Missing,
        (None, false) => FilingStatus::Pending,
    }
}

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Where a pledge (军令状) stands, from its targets.
    PledgeStatus {
        /// Every target reached its number by its date (已兑现).
        Met = "met" / "已兑现",
        /// A target's date passed short of its number (未兑现).
        Missed = "missed" / "未兑现",
        /// Neither yet (进行中).
        Pending = "pending" / "进行中",
        /// Withdrawn by the office (已作废): counted neither met nor missed.
        Withdrawn = "withdrawn" / "已作废",
    }
);

/// A target as a pledge judges it: met when its count reached the goal by its date (a count
/// reaching it only after the date is still missed), missed when the date passed short.
pub fn target_status(progress: u64, goal: u64, due_on: NaiveDate, today: NaiveDate) -> PledgeStatus {
    if today > due_on {
        // Only the count now is known; a target counted at the goal after its date passed is
        // judged met, since counts never go down except by a stage moved back.
        if progress >= goal { PledgeStatus::Met } else { PledgeStatus::Missed }
    } else if progress >= goal {
        PledgeStatus::Met
    } else {
        PledgeStatus::Pending
    }
}

/// A pledge from its targets: missed if any is missed, met if all are met, pending otherwise.
pub fn pledge_status(targets: &[PledgeStatus]) -> PledgeStatus {
    if targets.contains(&PledgeStatus::Missed) {
        PledgeStatus::Missed
    } else if !targets.is_empty() && targets.iter().all(|t| *t == PledgeStatus::Met) {
        PledgeStatus::Met
    } else {
        PledgeStatus::Pending
    }
}

/// The content type of a pledge's signed document from its bytes: PDF, JPEG or PNG only.
pub fn document_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// A pledge's definition, checked (the targets and the unit are checked against the centre by the
/// application).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PledgeDef {
    pub unit_id: i64,
    pub target_ids: Vec<i64>,
    pub signed_on: NaiveDate,
    pub signatory: String,
    pub document_name: String,
    pub document_type: String,
    /// Hex SHA-256 of the document.
    pub document_sha256: String,
    pub document: Vec<u8>,
}

impl PledgeDef {
    /// # Errors
    ///
    /// `pledge_targets_required`, `too_many_items`, `text_required`, `text_too_long`,
    /// `empty_file`, `unsupported_file_type`, `document_too_large`.
    pub fn new(
        unit_id: i64,
        target_ids: Vec<i64>,
        signed_on: NaiveDate,
        signatory: &str,
        document_name: &str,
        document: Vec<u8>,
    ) -> Result<Self, DomainError> {
        let PledgeChange { target_ids, signed_on, signatory } = PledgeChange::new(target_ids, signed_on, signatory)?;
        if document.is_empty() {
            return Err(DomainError::invalid("empty_file", "请上传签署的军令状文件"));
        }
        if document.len() > DOCUMENT_MAX_BYTES {
            return Err(DomainError::invalid("document_too_large", "军令状文件不能超过 10 MB"));
        }
        let document_type = document_type(&document)
            .ok_or_else(|| DomainError::invalid("unsupported_file_type", "军令状文件只能是 PDF、JPG 或 PNG"))?;
        let name: String = document_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control() && *c != '"')
            .take(100)
            .collect();
        let document_name = if name.trim().is_empty() { "军令状".to_owned() } else { name.trim().to_owned() };
        let document_sha256 = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&document))
        };
        Ok(Self {
            unit_id,
            target_ids,
            signed_on,
            signatory,
            document_name,
            document_type: document_type.into(),
            document_sha256,
            document,
        })
    }
}

/// What a pledge's edit may change: the targets signed for, the date and the signatory. The unit
/// and the signed document are what was signed: a wrong one is withdrawn (作废) and recorded anew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PledgeChange {
    pub target_ids: Vec<i64>,
    pub signed_on: NaiveDate,
    pub signatory: String,
}

impl PledgeChange {
    /// # Errors
    ///
    /// `pledge_targets_required`, `too_many_items`, `text_required`, `text_too_long`.
    pub fn new(target_ids: Vec<i64>, signed_on: NaiveDate, signatory: &str) -> Result<Self, DomainError> {
        let mut seen = BTreeSet::new();
        let target_ids: Vec<i64> = target_ids.into_iter().filter(|id| seen.insert(*id)).collect();
        if target_ids.is_empty() {
            return Err(DomainError::invalid("pledge_targets_required", "请至少选择一项所签目标"));
        }
        if target_ids.len() > PLEDGE_TARGETS_MAX {
            return Err(DomainError::invalid("too_many_items", format!("一份军令状最多 {PLEDGE_TARGETS_MAX} 项目标")));
        }
        let signatory = required_text("签署人", signatory, 40)?;
        Ok(Self { target_ids, signed_on, signatory })
    }
}

/// The longest reason of a withdrawal.
pub const REASON_MAX: usize = 500;

/// The reason of a withdrawal (撤回 a form, 作废 a pledge), required.
///
/// # Errors
///
/// `text_required`, `text_too_long`, `invalid_text`.
pub fn withdrawal_reason(label: &str, reason: &str) -> Result<String, DomainError> {
    required_text(label, reason, REASON_MAX)
}

/// What a form's filed reports use, read in the transaction of an edit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormUsage {
    /// Filings of the form, every revision.
    pub filings: usize,
    /// Field key → filings holding a value for it.
    pub keys: BTreeMap<String, usize>,
    /// The units that filed at least once.
    pub units: BTreeSet<i64>,
}

impl FormUsage {
    /// Counts one filing.
    pub fn add(&mut self, unit: i64, values: &BTreeMap<String, String>) {
        self.filings += 1;
        self.units.insert(unit);
        for key in values.keys() {
            *self.keys.entry(key.clone()).or_default() += 1;
        }
    }
}

/// A form as it stands before an edit.
#[derive(Debug, Clone, Copy)]
pub struct FormShape<'a> {
    pub name: &'a str,
    pub cadence: Cadence,
    pub fields: &'a [ReportField],
    pub filers: &'a [i64],
    pub due_working_days: i64,
}

/// The rule of an edit (修改报表): filed reports are never invalidated silently, so a change that
/// would is refused with `409 report_form_in_use` — the form is not versioned. Refused, once any
/// report is filed: changing the cadence (each period's reports are keyed by it); removing a field
/// a filed report holds a value for, or changing its kind or its unit (the stored value would read
/// differently); removing a unit that has filed from the filers (its reports would drop out of the
/// periods). Allowed: the name, the due days, a field's label, whether it is required, its bounds
/// and text length (they apply to new filings and corrections; filed values are kept as filed),
/// new fields and filers, and removing fields and filers no filed report uses. To change more,
/// withdraw the form and define a new one.
///
/// # Errors
///
/// `report_form_in_use`, naming what is refused.
pub fn check_form_change(
    old: &FormShape<'_>,
    new: &ReportFormDef,
    usage: &FormUsage,
    unit_name: &dyn Fn(i64) -> String,
) -> Result<(), DomainError> {
    if usage.filings == 0 {
        return Ok(());
    }
    let mut refused = Vec::new();
    if old.cadence != new.cadence {
        refused.push(format!("已有报送的报表不能把报送周期由{}改为{}", old.cadence.label(), new.cadence.label()));
    }
    for f in old.fields {
        let Some(used) = usage.keys.get(&f.key).copied().filter(|n| *n > 0) else { continue };
        match new.fields.iter().find(|n| n.key == f.key) {
            None => refused.push(format!("栏目「{}」已有 {used} 份报表填报，不能删除", f.label)),
            Some(n) if n.kind != f.kind => refused.push(format!(
                "栏目「{}」已有 {used} 份报表填报，不能把类型由{}改为{}",
                f.label,
                f.kind.label(),
                n.kind.label()
            )),
            Some(n) if n.unit != f.unit => refused.push(format!(
                "栏目「{}」已有 {used} 份报表填报，不能把计量单位由「{}」改为「{}」",
                f.label,
                f.unit.as_deref().unwrap_or("无"),
                n.unit.as_deref().unwrap_or("无")
            )),
            Some(_) => {}
        }
    }
    for unit in old.filers {
        if usage.units.contains(unit) && !new.filers.contains(unit) {
            refused.push(format!("「{}」已报送过本表，不能从报送单位中移除", unit_name(*unit)));
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(form_in_use(&format!("{}；如确需改动，请撤回本表后重新定义", refused.join("；"))))
    }
}

fn field_text(f: &ReportField) -> String {
    let mut parts = vec![f.kind.label().to_owned()];
    parts.extend(f.unit.clone());
    if f.required {
        parts.push("必填".into());
    }
    format!("「{}」（{}）", f.label, parts.join("，"))
}

fn bound(v: Option<f64>) -> String {
    v.map_or_else(|| "无".to_owned(), |v| v.to_string())
}

/// What an edit of a form changes, from → to, in Chinese, for the history (`内容未变` when nothing).
pub fn form_change_note(old: &FormShape<'_>, new: &ReportFormDef, unit_name: &dyn Fn(i64) -> String) -> String {
    let mut parts = Vec::new();
    if old.name != new.name {
        parts.push(format!("名称：「{}」→「{}」", old.name, new.name));
    }
    if old.cadence != new.cadence {
        parts.push(format!("报送周期：{} → {}", old.cadence.label(), new.cadence.label()));
    }
    if old.due_working_days != i64::from(new.due_working_days) {
        parts.push(format!("报送期限：周期结束后 {} → {} 个工作日", old.due_working_days, new.due_working_days));
    }
    for f in old.fields {
        let Some(n) = new.fields.iter().find(|n| n.key == f.key) else {
            parts.push(format!("删除栏目{}", field_text(f)));
            continue;
        };
        let mut changes = Vec::new();
        if n.label != f.label {
            changes.push(format!("名称「{}」→「{}」", f.label, n.label));
        }
        if n.kind != f.kind {
            changes.push(format!("类型 {} → {}", f.kind.label(), n.kind.label()));
        }
        if n.unit != f.unit {
            changes.push(format!(
                "计量单位 {} → {}",
                f.unit.as_deref().unwrap_or("无"),
                n.unit.as_deref().unwrap_or("无")
            ));
        }
        if n.required != f.required {
            let yes = |b: bool| if b { "必填" } else { "选填" };
            changes.push(format!("{} → {}", yes(f.required), yes(n.required)));
        }
        if n.min != f.min {
            changes.push(format!("下限 {} → {}", bound(f.min), bound(n.min)));
        }
        if n.max != f.max {
            changes.push(format!("上限 {} → {}", bound(f.max), bound(n.max)));
        }
        if n.max_len != f.max_len {
            let len = |v: Option<u32>| v.unwrap_or(FIELD_TEXT_MAX).to_string();
            changes.push(format!("字数上限 {} → {}", len(f.max_len), len(n.max_len)));
        }
        if !changes.is_empty() {
            parts.push(format!("栏目「{}」：{}", f.label, changes.join("，")));
        }
    }
    for n in &new.fields {
        if !old.fields.iter().any(|f| f.key == n.key) {
            parts.push(format!("新增栏目{}", field_text(n)));
        }
    }
    let names = |ids: Vec<i64>| ids.into_iter().map(unit_name).collect::<Vec<_>>().join("、");
    let added: Vec<i64> = new.filers.iter().copied().filter(|u| !old.filers.contains(u)).collect();
    let removed: Vec<i64> = old.filers.iter().copied().filter(|u| !new.filers.contains(u)).collect();
    if !added.is_empty() {
        parts.push(format!("新增报送单位：{}", names(added)));
    }
    if !removed.is_empty() {
        parts.push(format!("移除报送单位：{}", names(removed)));
    }
    if parts.is_empty() { "内容未变".to_owned() } else { parts.join("；") }
}

/// What an edit of a pledge changes, from → to, in Chinese, for the history (`内容未变` when
/// nothing).
pub fn pledge_change_note(old: &PledgeChange, new: &PledgeChange, target_name: &dyn Fn(i64) -> String) -> String {
    let mut parts = Vec::new();
    let names = |ids: Vec<i64>| ids.into_iter().map(|id| format!("「{}」", target_name(id))).collect::<String>();
    let added: Vec<i64> = new.target_ids.iter().copied().filter(|t| !old.target_ids.contains(t)).collect();
    let removed: Vec<i64> = old.target_ids.iter().copied().filter(|t| !new.target_ids.contains(t)).collect();
    if !added.is_empty() {
        parts.push(format!("新增所签目标{}", names(added)));
    }
    if !removed.is_empty() {
        parts.push(format!("移除所签目标{}", names(removed)));
    }
    if old.signed_on != new.signed_on {
        parts.push(format!("签署日期：{} → {}", old.signed_on, new.signed_on));
    }
    if old.signatory != new.signatory {
        parts.push(format!("签署人：{} → {}", old.signatory, new.signatory));
    }
    if parts.is_empty() { "内容未变".to_owned() } else { parts.join("；") }
}

/// `409 report_form_in_use`: an edit that would invalidate filed reports.
pub fn form_in_use(message: &str) -> DomainError {
    DomainError::conflict("report_form_in_use", message.to_owned())
}

/// `409 report_form_changed`: the form changed since it was read.
pub fn form_changed(current: i64) -> DomainError {
    DomainError::conflict("report_form_changed", format!("报表已被他人修改（当前第{current}版），请刷新后再改"))
}

/// `409 report_form_withdrawn`: a withdrawn form is not changed, filed or chased.
pub fn form_withdrawn() -> DomainError {
    DomainError::conflict("report_form_withdrawn", "这张报表已撤回")
}

/// `409 pledge_changed`: the pledge changed since it was read.
pub fn pledge_changed(current: i64) -> DomainError {
    DomainError::conflict("pledge_changed", format!("军令状已被他人修改（当前第{current}版），请刷新后再改"))
}

/// `409 pledge_withdrawn`: a withdrawn pledge is not changed.
pub fn pledge_withdrawn() -> DomainError {
    DomainError::conflict("pledge_withdrawn", "这份军令状已作废")
}

/// `404 report_form_not_found` (also for a form of another centre).
pub fn form_not_found() -> DomainError {
    DomainError::not_found("report_form_not_found", "没有这张报表")
}

/// `404 report_period_not_found`: not a period key of the form's cadence.
pub fn period_not_found(key: &str) -> DomainError {
    let key: String = key.chars().take(20).collect();
    DomainError::not_found("report_period_not_found", format!("没有报送周期「{key}」"))
}

/// `409 report_period_not_open`: a period that has not begun takes no report.
pub fn period_not_open(label: &str) -> DomainError {
    DomainError::conflict("report_period_not_open", format!("{label}尚未开始，不能报送"))
}

/// `403 report_not_yours`: a unit files only its own reports, and only a unit that must file.
pub fn report_not_yours() -> DomainError {
    DomainError {
        kind: ErrorKind::Forbidden, code: "report_not_yours", message: "只能报送本单位（镇街）的报表".into()
    }
}

/// `422 report_unit_not_filer`: the unit is not one that files this form.
pub fn not_a_filer(name: &str) -> DomainError {
    DomainError::invalid("report_unit_not_filer", format!("「{name}」不是这张报表的报送单位"))
}

/// `409 report_not_missing`: only a missing report (past due, unfiled) is chased.
pub fn not_missing() -> DomainError {
    DomainError::conflict("report_not_missing", "这份报表不在未报之列，无需催报")
}

/// `404 pledge_not_found`.
pub fn pledge_not_found() -> DomainError {
    DomainError::not_found("pledge_not_found", "没有这份军令状")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn field(key: &str, kind: ReportFieldKind) -> ReportField {
        ReportField {
            key: key.into(),
            label: key.into(),
            kind,
            unit: None,
            required: true,
            min: None,
            max: None,
            max_len: None,
        }
    }

    #[test]
    fn periods_have_stable_keys_and_round_trip() {
        let w = Period::containing(Cadence::Weekly, d("2026-12-04"));
        assert_eq!((w.start, w.end, w.key()), (d("2026-11-30"), d("2026-12-06"), "2026-W49".to_owned()));
        assert_eq!(Period::parse(Cadence::Weekly, "2026-W49").unwrap(), w);
        assert_eq!(Period::parse(Cadence::Weekly, "2026-W9").unwrap_err().code, "report_period_not_found");
        assert_eq!(Period::parse(Cadence::Weekly, "2026-12").unwrap_err().code, "report_period_not_found");
        let m = Period::containing(Cadence::Monthly, d("2026-02-14"));
        assert_eq!((m.start, m.end, m.key()), (d("2026-02-01"), d("2026-02-28"), "2026-02".to_owned()));
        assert_eq!(Period::parse(Cadence::Monthly, "2026-02").unwrap(), m);
        assert_eq!(Period::parse(Cadence::Monthly, "2026-13").unwrap_err().code, "report_period_not_found");
        assert_eq!(Period::containing(Cadence::Monthly, d("2026-12-31")).end, d("2026-12-31"));
        // ISO week years: 2027-01-01 is a Friday of 2026's week 53.
        assert_eq!(Period::containing(Cadence::Weekly, d("2027-01-01")).key(), "2026-W53");
        assert!(w.label().contains("第49周"));
        assert!(!Period::containing(Cadence::Weekly, d("2026-12-07")).is_open(d("2026-12-06")));
        let list = periods(Cadence::Weekly, d("2026-11-18"), d("2026-12-04"), 12);
        let keys: Vec<String> = list.iter().map(Period::key).collect();
        assert_eq!(keys, ["2026-W49", "2026-W48", "2026-W47"]);
    }

    #[test]
    fn values_are_checked_by_kind_and_bounds_with_chinese_messages() {
        let mut count = field("count", ReportFieldKind::Integer);
        count.min = Some(0.0);
        count.max = Some(100.0);
        let mut km = field("km", ReportFieldKind::Decimal);
        km.unit = Some("公里".into());
        km.required = false;
        km.max = Some(50.0);
        let fields = vec![count, km, field("on", ReportFieldKind::Date), field("note", ReportFieldKind::Text)];
        let raw = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let ok = check_values(&fields, &raw(&[("count", "12"), ("km", "3.50"), ("on", "2026-12-01"), ("note", "好")]))
            .unwrap();
        assert_eq!(ok["km"], "3.5");
        assert_eq!(ok["count"], "12");
        let errors =
            check_values(&fields, &raw(&[("count", "1.5"), ("km", "60"), ("on", "12/01"), ("x", "1")])).unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["count", "km", "on", "note", "x"]);
        assert!(errors[1].message.contains("不能大于 50公里"), "{errors:?}");
        assert!(errors[3].message.contains("必须填写"));
        assert_eq!(fields_invalid(&errors).code, "report_field_invalid");
        let missing_optional = check_values(&fields, &raw(&[("count", "0"), ("on", "2026-12-01"), ("note", "x")]));
        assert!(!missing_optional.unwrap().contains_key("km"));
    }

    #[test]
    fn forms_are_checked() {
        let f = |key: &str| field(key, ReportFieldKind::Integer);
        assert_eq!(
            ReportFormDef::new("周报", Cadence::Weekly, vec![], vec![1], 2).unwrap_err().code,
            "report_form_invalid"
        );
        let dup = ReportFormDef::new("周报", Cadence::Weekly, vec![f("a"), f("a")], vec![1], 2).unwrap_err();
        assert!(dup.message.contains("重复"));
        assert_eq!(
            ReportFormDef::new("周报", Cadence::Weekly, vec![f("A")], vec![1], 2).unwrap_err().code,
            "report_form_invalid"
        );
        assert_eq!(
            ReportFormDef::new("周报", Cadence::Weekly, vec![f("a")], vec![1], 0).unwrap_err().code,
            "report_form_invalid"
        );
        let mut bad = field("t", ReportFieldKind::Text);
        bad.unit = Some("个".into());
        assert!(ReportFormDef::new("周报", Cadence::Weekly, vec![bad], vec![1], 2).is_err());
        let ok = ReportFormDef::new("周报", Cadence::Weekly, vec![f("a")], vec![1, 1, 2], 2).unwrap();
        assert_eq!(ok.filers, [1, 2]);
    }

    #[test]
    fn an_edit_that_would_invalidate_filed_reports_is_refused_and_changes_are_described() {
        let mut km = field("km", ReportFieldKind::Decimal);
        km.unit = Some("公里".into());
        let old_fields =
            vec![field("count", ReportFieldKind::Integer), km.clone(), field("note", ReportFieldKind::Text)];
        let old = FormShape {
            name: "周报",
            cadence: Cadence::Weekly,
            fields: &old_fields,
            filers: &[1, 2],
            due_working_days: 2,
        };
        let mut usage = FormUsage::default();
        let raw = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        usage.add(1, &raw(&[("count", "3"), ("km", "1.5")]));
        let name = |u: i64| format!("单位{u}");
        let def = |fields: Vec<ReportField>, filers: Vec<i64>, cadence| {
            ReportFormDef::new("周报", cadence, fields, filers, 2).unwrap()
        };
        // Unused field removed, unused filer removed, a label and a bound changed, a field added: fine.
        let mut renamed = field("count", ReportFieldKind::Integer);
        renamed.label = "销号数".into();
        renamed.max = Some(10.0);
        let ok = def(vec![renamed, km.clone(), field("extra", ReportFieldKind::Date)], vec![1, 3], Cadence::Weekly);
        assert!(check_form_change(&old, &ok, &usage, &name).is_ok());
        let note = form_change_note(&old, &ok, &name);
        assert!(note.contains("名称「count」→「销号数」") && note.contains("上限 无 → 10"), "{note}");
        assert!(note.contains("删除栏目「note」") && note.contains("新增栏目「extra」（日期，必填）"), "{note}");
        assert!(note.contains("新增报送单位：单位3") && note.contains("移除报送单位：单位2"), "{note}");
        // A used field removed, retyped or given another unit, a filer that filed removed, the cadence.
        let refused = |d: &ReportFormDef| check_form_change(&old, d, &usage, &name).unwrap_err();
        let e = refused(&def(vec![field("count", ReportFieldKind::Integer)], vec![1, 2], Cadence::Weekly));
        assert_eq!(e.code, "report_form_in_use");
        assert!(e.message.contains("栏目「km」已有 1 份报表填报，不能删除"), "{}", e.message);
        let mut metres = km.clone();
        metres.unit = Some("米".into());
        let e = refused(&def(vec![field("count", ReportFieldKind::Decimal), metres], vec![2], Cadence::Weekly));
        assert!(
            e.message.contains("类型由整数改为小数") && e.message.contains("由「公里」改为「米」"),
            "{}",
            e.message
        );
        assert!(e.message.contains("「单位1」已报送过本表"), "{}", e.message);
        let e = refused(&def(old_fields.clone(), vec![1, 2], Cadence::Monthly));
        assert!(e.message.contains("报送周期由每周改为每月"), "{}", e.message);
        // Nothing filed: anything goes.
        assert!(
            check_form_change(&old, &def(vec![metres_free()], vec![3], Cadence::Monthly), &FormUsage::default(), &name)
                .is_ok()
        );
        assert_eq!(form_change_note(&old, &def(old_fields.clone(), vec![1, 2], Cadence::Weekly), &name), "内容未变");
    }

    fn metres_free() -> ReportField {
        field("other", ReportFieldKind::Text)
    }

    #[test]
    fn pledge_changes_are_described() {
        let old = PledgeChange::new(vec![1, 2], d("2026-03-01"), "张镇长").unwrap();
        let new = PledgeChange::new(vec![2, 3, 3], d("2026-03-02"), "李镇长").unwrap();
        assert_eq!(new.target_ids, [2, 3]);
        let note = pledge_change_note(&old, &new, &|id| format!("目标{id}"));
        assert_eq!(
            note,
            "新增所签目标「目标3」；移除所签目标「目标1」；签署日期：2026-03-01 → 2026-03-02；签署人：张镇长 → 李镇长"
        );
        assert_eq!(pledge_change_note(&old, &old, &|id| id.to_string()), "内容未变");
        assert_eq!(PledgeChange::new(vec![], d("2026-03-01"), "x").unwrap_err().code, "pledge_targets_required");
        assert_eq!(withdrawal_reason("作废理由", " ").unwrap_err().code, "text_required");
    }

    #[test]
    fn statuses_of_filings_and_pledges() {
        assert_eq!(status(Some(false), true), FilingStatus::Filed);
        assert_eq!(status(Some(true), true), FilingStatus::Late);
        assert_eq!(status(None, true), FilingStatus::Missing);
        assert_eq!(status(None, false), FilingStatus::Pending);
        let due = d("2026-12-31");
        assert_eq!(target_status(10, 10, due, d("2026-12-01")), PledgeStatus::Met);
        assert_eq!(target_status(9, 10, due, d("2026-12-31")), PledgeStatus::Pending);
        assert_eq!(target_status(9, 10, due, d("2027-01-01")), PledgeStatus::Missed);
        assert_eq!(pledge_status(&[PledgeStatus::Met, PledgeStatus::Pending]), PledgeStatus::Pending);
        assert_eq!(pledge_status(&[PledgeStatus::Met, PledgeStatus::Missed]), PledgeStatus::Missed);
        assert_eq!(pledge_status(&[PledgeStatus::Met, PledgeStatus::Met]), PledgeStatus::Met);
    }

    #[test]
    fn pledge_documents_are_pdf_jpg_or_png_within_ten_megabytes() {
        let pdf = b"%PDF-1.7 signed".to_vec();
        let p = PledgeDef::new(1, vec![3, 3, 4], d("2026-03-01"), "张镇长", "../军令状.pdf", pdf).unwrap();
        assert_eq!(
            (p.target_ids.clone(), p.document_type.as_str(), p.document_name.as_str()),
            (vec![3, 4], "application/pdf", "军令状.pdf")
        );
        let html = b"<html>".to_vec();
        assert_eq!(
            PledgeDef::new(1, vec![3], d("2026-03-01"), "x", "a.html", html).unwrap_err().code,
            "unsupported_file_type"
        );
        let mut big = b"%PDF-".to_vec();
        big.resize(DOCUMENT_MAX_BYTES + 1, 0);
        assert_eq!(
            PledgeDef::new(1, vec![3], d("2026-03-01"), "x", "a.pdf", big).unwrap_err().code,
            "document_too_large"
        );
        assert_eq!(
            PledgeDef::new(1, vec![], d("2026-03-01"), "x", "a.pdf", b"%PDF-".to_vec()).unwrap_err().code,
            "pledge_targets_required"
        );
    }
}
