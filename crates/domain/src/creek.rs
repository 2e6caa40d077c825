//! Creek remediation (河涌整治) beyond the ledger's fields: water-quality
//! samples (水质采样) classed under GB 3838-2002 with the bundled classifier
//! ([`crate::environment::classify_water`]) over the six basic items the
//! campaign assesses, the creek's trend over the last twelve months, and the
//! one plan per creek (一河一策): measures, budget, responsible unit and
//! river chief (河长).
//!
//! Pure: the store keeps samples and plan versions, the app reads the linked
//! monitoring points' readings and calls these functions.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::environment::{
    GB_3838_2002, Measurement, Standard, WaterAssessment, WaterBody, WaterClass, bundled_standards, classify_water,
};
use crate::error::DomainError;
use crate::time::{Instant, shanghai};
use crate::validation::required_text;

/// The ledger type code of creeks.
pub const CREEK_TYPE: &str = "creek";

/// The basic items of GB 3838-2002 a creek's class is computed over (河流):
/// dissolved oxygen, permanganate index, COD, BOD5, ammonia nitrogen, total phosphorus.
pub const BASIC_PARAMETERS: [&str; 6] =
    ["dissolved_oxygen", "permanganate_index", "cod", "bod5", "ammonia_nitrogen", "total_phosphorus"];

/// Samples one import or one request adds at most.
pub const MAX_SAMPLES_PER_BATCH: usize = 2000;
/// The longest section (断面) text.
const MAX_SECTION: usize = 50;
/// The largest value accepted for any item, mg/L (far beyond any creek).
const MAX_VALUE: f64 = 100_000.0;

/// GB 3838-2002 as bundled.
pub fn gb3838() -> Result<&'static Standard, DomainError> {
    bundled_standards()
        .iter()
        .find(|s| s.code == GB_3838_2002)
        .ok_or_else(|| DomainError::invalid(crate::environment::codes::INVALID_STANDARD, "内置标准中没有GB 3838-2002"))
}

/// The key of a basic item named by its key (`cod`), HJ 212 code (`w01018`),
/// Chinese name as the standard writes it (`化学需氧量（COD）`) or a short
/// name (`化学需氧量`, `COD`, `氨氮`, `总磷`).
pub fn parameter_key(name: &str) -> Option<&'static str> {
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let standard = gb3838().ok()?;
    let short = |key: &str| -> &'static [&'static str] {
        match key {
            "dissolved_oxygen" => &["溶解氧", "DO"],
            "permanganate_index" => &["高锰酸盐指数", "CODMn"],
            "cod" => &["化学需氧量", "COD", "CODCr"],
            "bod5" => &["五日生化需氧量", "BOD5"],
            "ammonia_nitrogen" => &["氨氮", "NH3-N"],
            "total_phosphorus" => &["总磷", "TP"],
            _ => &[],
        }
    };
    BASIC_PARAMETERS.into_iter().find(|key| {
        let p = standard.parameter(key, Some(WaterBody::River));
        *key == name
            || p.is_some_and(|p| p.name == name || p.hj212.as_deref() == Some(name))
            || short(key).iter().any(|s| s.eq_ignore_ascii_case(name))
    })
}

/// The Chinese name of a basic item (`化学需氧量（COD）`).
pub fn parameter_name(key: &str) -> String {
    gb3838()
        .ok()
        .and_then(|s| s.parameter(key, Some(WaterBody::River)))
        .map_or_else(|| key.to_owned(), |p| p.name.clone())
}

fn invalid(code: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::invalid(code, message)
}

/// `404 creek_not_found`.
pub fn creek_not_found(key: &str) -> DomainError {
    DomainError::not_found("creek_not_found", format!("河涌「{}」不存在或不在您的管辖范围", short(key)))
}

fn short(text: &str) -> String {
    text.chars().take(24).collect()
}

/// A grab sample as checked: when, where, and the value of each basic item measured (mg/L).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleInput {
    pub sampled_at: Instant,
    pub section: Option<String>,
    /// By item key, in [`BASIC_PARAMETERS`] order.
    pub values: BTreeMap<String, f64>,
}

/// Parses a sampling time: RFC 3339, `YYYY-MM-DD HH:MM[:SS]` or `YYYY-MM-DD` (Asia/Shanghai).
pub fn parse_sample_time(text: &str) -> Option<Instant> {
    let text = text.trim();
    if let Some(t) = crate::time::parse_instant(text) {
        return Some(t);
    }
    let local = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y/%m/%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            ["%Y-%m-%d", "%Y/%m/%d"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(text, f).ok())
                .map(|d| d.and_time(NaiveTime::MIN))
        })?;
    shanghai().from_local_datetime(&local).single()
}

/// Checks one value of a sample: a finite, non-negative number (`sample_value_not_number`, `sample_value_negative`).
pub fn check_value(key: &str, value: Option<f64>, raw: &str) -> Result<f64, DomainError> {
    let name = parameter_name(key);
    let Some(v) = value.filter(|v| v.is_finite()) else {
        return Err(invalid("sample_value_not_number", format!("「{name}」的值「{}」不是数字", short(raw))));
    };
    if v < 0.0 {
        return Err(invalid("sample_value_negative", format!("「{name}」的值不能为负数")));
    }
    if v > MAX_VALUE {
        return Err(invalid("sample_value_out_of_range", format!("「{name}」的值超过{MAX_VALUE}，请核对单位（mg/L）")));
    }
    Ok(v)
}

impl SampleInput {
    /// Checks a sample: `sample_time_invalid`, `sample_in_future` (after `now`),
    /// `sample_unknown_parameter` (not one of the six basic items),
    /// `sample_duplicate_parameter`, `sample_value_not_number`,
    /// `sample_value_negative`, `sample_empty` (no value), `text_too_long` (section).
    pub fn new(
        sampled_at: &str,
        section: Option<&str>,
        values: &[(String, Option<f64>, String)],
        now: &Instant,
    ) -> Result<Self, DomainError> {
        let at = parse_sample_time(sampled_at).ok_or_else(|| {
            invalid("sample_time_invalid", format!("采样时间「{}」无法识别，应如 2026-03-05 09:30", short(sampled_at)))
        })?;
        if at > *now {
            return Err(invalid("sample_in_future", "采样时间晚于当前时间"));
        }
        let section = match section.map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(required_text("采样断面", s, MAX_SECTION)?),
            None => None,
        };
        let mut out = BTreeMap::new();
        for (name, value, raw) in values {
            let key = parameter_key(name).ok_or_else(|| {
                invalid(
                    "sample_unknown_parameter",
                    format!(
                        "「{}」不是评价项目（溶解氧、高锰酸盐指数、化学需氧量、五日生化需氧量、氨氮、总磷）",
                        short(name)
                    ),
                )
            })?;
            if raw.trim().is_empty() && value.is_none() {
                continue;
            }
            let v = check_value(key, *value, raw)?;
            if out.insert(key.to_owned(), v).is_some() {
                return Err(invalid("sample_duplicate_parameter", format!("「{}」出现了两次", parameter_name(key))));
            }
        }
        if out.is_empty() {
            return Err(invalid("sample_empty", "采样至少应有一项评价项目的测值"));
        }
        Ok(SampleInput { sampled_at: at, section, values: out })
    }
}

/// Classifies a sample's values (by item key or HJ 212 code) as river water under GB 3838-2002.
pub fn classify_sample(values: &BTreeMap<String, f64>) -> Result<WaterAssessment, DomainError> {
    let measurements: Vec<Measurement> = values.iter().map(|(k, v)| Measurement::new(k.clone(), *v)).collect();
    classify_water(gb3838()?, WaterBody::River, &measurements)
}

/// A class as a number for means: Ⅰ = 1 … Ⅴ = 5, 劣Ⅴ = 6.
pub fn class_number(class: WaterClass) -> u8 {
    class.grade().map_or(6, |g| g.0)
}

/// The class of a number 1–6 (a rounded mean).
pub fn class_of_number(n: f64) -> WaterClass {
    let n = n.round().clamp(1.0, 6.0) as u8;
    WaterClass::from_grade(crate::environment::Grade(n))
}

/// One month of the trend.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthClass {
    /// `2026-03`.
    pub month: String,
    pub samples: usize,
    /// The worst class of the month's samples.
    pub worst: Option<WaterClass>,
    /// The mean class number (1–6) of the month's samples.
    pub mean: Option<f64>,
}

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Which way a creek's water is going (水质趋势).
    Trend {
        /// The last three months' mean class is at least half a class better than the three before (好转).
        Improving = "improving" / "好转",
        /// Within half a class (持平).
        Steady = "steady" / "持平",
        /// At least half a class worse (变差).
        Worsening = "worsening" / "变差",
        /// A window of three months has no sample (数据不足).
        Insufficient = "insufficient" / "数据不足",
    }
);

/// The twelve months ending with `now`'s month, oldest first, with the worst
/// and mean class of the samples in each (samples outside are ignored).
pub fn monthly_classes(samples: &[(Instant, WaterClass)], now: &Instant) -> Vec<MonthClass> {
    let now = now.with_timezone(&shanghai());
    let first_of_month = NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or(now.date_naive());
    (0..12u32)
        .rev()
        .map(|back| {
            let start = first_of_month.checked_sub_months(Months::new(back)).unwrap_or(first_of_month);
            let month = start.format("%Y-%m").to_string();
            let classes: Vec<WaterClass> = samples
                .iter()
                .filter(|(t, _)| t.with_timezone(&shanghai()).format("%Y-%m").to_string() == month)
                .map(|(_, c)| *c)
                .collect();
            let mean = (!classes.is_empty())
                .then(|| classes.iter().map(|c| f64::from(class_number(*c))).sum::<f64>() / classes.len() as f64);
            MonthClass { month, samples: classes.len(), worst: classes.iter().max().copied(), mean }
        })
        .collect()
}

/// The trend over twelve months of [`monthly_classes`]: the mean of the last
/// three months' means against the mean of the three before; a difference of
/// half a class or more is a change (a lower number is better water).
pub fn trend(months: &[MonthClass]) -> Trend {
    let mean = |window: &[MonthClass]| {
        let means: Vec<f64> = window.iter().filter_map(|m| m.mean).collect();
        (!means.is_empty()).then(|| means.iter().sum::<f64>() / means.len() as f64)
    };
    let n = months.len();
    if n < 6 {
        return Trend::Insufficient;
    }
    let (Some(before), Some(last)) = (mean(&months[n - 6..n - 3]), mean(&months[n - 3..])) else {
        return Trend::Insufficient;
    };
    if last <= before - 0.5 {
        Trend::Improving
    } else if last >= before + 0.5 {
        Trend::Worsening
    } else {
        Trend::Steady
    }
}

// ---- 一河一策 ------------------------------------------------------------------------------

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// The kind of a remediation measure (整治措施类型).
    MeasureKind {
        Interception = "interception" / "截污",
        Dredging = "dredging" / "清淤",
        Replenishment = "replenishment" / "补水",
        Ecological = "ecological" / "生态修复",
        Other = "other" / "其他",
    }
);

crate::labelled_enum!(
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    /// Where a measure stands (措施状态).
    MeasureStatus {
        NotStarted = "not_started" / "未开始",
        InProgress = "in_progress" / "实施中",
        Done = "done" / "已完成",
    }
);

impl MeasureKind {
    /// By code or Chinese label.
    pub fn find(text: &str) -> Option<Self> {
        let t = text.trim();
        Self::ALL.iter().copied().find(|k| k.as_str() == t || k.label() == t)
    }
}

impl MeasureStatus {
    /// By code or Chinese label.
    pub fn find(text: &str) -> Option<Self> {
        let t = text.trim();
        Self::ALL.iter().copied().find(|k| k.as_str() == t || k.label() == t)
    }
}

/// Measures one plan holds at most.
pub const MAX_MEASURES: usize = 50;
/// The largest budget of one measure: 10 million 万元 (a hundred billion yuan).
const MAX_BUDGET_CENTS: i64 = 1_000_000_000;

/// One measure of a plan as stored. `budget_cents` is the budget in hundredths of 万元.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    pub text: String,
    pub kind: MeasureKind,
    pub budget_cents: i64,
    /// `YYYY-MM-DD`.
    pub due_on: Option<String>,
    /// The responsible unit's code.
    pub unit: Option<String>,
    pub status: MeasureStatus,
}

/// A creek's plan (一河一策) as stored, one JSON document per version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Plan {
    /// The plan's responsible unit's code (整治责任单位).
    pub unit: Option<String>,
    /// The river chief's name (河长, a public official).
    pub chief_name: String,
    /// The river chief's post, e.g. `小榄镇镇长`.
    pub chief_post: String,
    pub measures: Vec<Measure>,
}

impl Plan {
    /// The plan's total budget in hundredths of 万元: the sum of its measures'.
    pub fn total_budget_cents(&self) -> i64 {
        self.measures.iter().map(|m| m.budget_cents).sum()
    }
}

/// A budget in 万元 as entered to hundredths (`budget_invalid`): non-negative, at most two decimals.
pub fn budget_cents(label: &str, wan: f64) -> Result<i64, DomainError> {
    let refuse = || invalid("budget_invalid", format!("「{label}」的预算须为不小于0、最多两位小数的万元数"));
    if !wan.is_finite() || wan < 0.0 {
        return Err(refuse());
    }
    let cents = (wan * 100.0).round();
    if (cents - wan * 100.0).abs() > 1e-6 || cents > MAX_BUDGET_CENTS as f64 {
        return Err(refuse());
    }
    Ok(cents as i64)
}

/// Hundredths of 万元 as 万元.
pub fn cents_to_wan(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// A measure as entered (the unit already resolved to its code by the caller).
#[derive(Debug, Clone, Default)]
pub struct MeasureDraft {
    pub text: String,
    pub kind: String,
    pub budget_wan: f64,
    pub due_on: Option<String>,
    pub unit: Option<String>,
    pub status: String,
}

/// Checks a plan: `text_required` / `text_too_long` (river chief, measure text),
/// `measure_kind_invalid`, `measure_status_invalid`, `budget_invalid`,
/// `date_invalid`, `too_many_measures`.
pub fn check_plan(
    unit: Option<String>,
    chief_name: &str,
    chief_post: &str,
    measures: Vec<MeasureDraft>,
) -> Result<Plan, DomainError> {
    let chief_name = required_text("河长姓名", chief_name, 20)?;
    let chief_post = required_text("河长职务", chief_post, 50)?;
    if measures.len() > MAX_MEASURES {
        return Err(invalid("too_many_measures", format!("一河一策的措施不能超过{MAX_MEASURES}项")));
    }
    let measures = measures
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let n = i + 1;
            let text = required_text(&format!("第{n}项措施内容"), &m.text, 500)?;
            let kind = MeasureKind::find(&m.kind).ok_or_else(|| {
                invalid("measure_kind_invalid", format!("第{n}项措施的类型应为截污、清淤、补水、生态修复或其他"))
            })?;
            let status = if m.status.trim().is_empty() {
                MeasureStatus::NotStarted
            } else {
                MeasureStatus::find(&m.status).ok_or_else(|| {
                    invalid("measure_status_invalid", format!("第{n}项措施的状态应为未开始、实施中或已完成"))
                })?
            };
            let budget_cents = budget_cents(&format!("第{n}项措施"), m.budget_wan)?;
            let due_on = match m.due_on.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                Some(d) => Some(
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| invalid("date_invalid", format!("第{n}项措施的完成期限应为 YYYY-MM-DD")))?
                        .format("%Y-%m-%d")
                        .to_string(),
                ),
                None => None,
            };
            Ok(Measure { text, kind, budget_cents, due_on, unit: m.unit, status })
        })
        .collect::<Result<Vec<_>, DomainError>>()?;
    Ok(Plan { unit, chief_name, chief_post, measures })
}

/// What changed between two versions of a plan, in Chinese, one entry per change.
pub fn plan_changes(before: Option<&Plan>, after: &Plan) -> Vec<String> {
    let empty = Plan::default();
    let b = before.unwrap_or(&empty);
    let mut out = Vec::new();
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "（空）".into());
    if b.unit != after.unit {
        out.push(format!("责任单位：{} → {}", opt(&b.unit), opt(&after.unit)));
    }
    if b.chief_name != after.chief_name || b.chief_post != after.chief_post {
        out.push(format!("河长：{}（{}）→ {}（{}）", b.chief_name, b.chief_post, after.chief_name, after.chief_post));
    }
    let describe = |m: &Measure| {
        format!("[{}] {}，{}万元，{}", m.kind.label(), m.text, cents_to_wan(m.budget_cents), m.status.label())
    };
    for i in 0..b.measures.len().max(after.measures.len()) {
        match (b.measures.get(i), after.measures.get(i)) {
            (Some(x), Some(y)) if x != y => out.push(format!("第{}项措施：{} → {}", i + 1, describe(x), describe(y))),
            (None, Some(y)) => out.push(format!("新增第{}项措施：{}", i + 1, describe(y))),
            (Some(x), None) => out.push(format!("删除第{}项措施：{}", i + 1, describe(x))),
            _ => {}
        }
    }
    if b.total_budget_cents() != after.total_budget_cents() {
        out.push(format!(
            "总预算：{}万元 → {}万元",
            cents_to_wan(b.total_budget_cents()),
            cents_to_wan(after.total_budget_cents())
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn at(s: &str) -> Instant {
        parse_sample_time(s).unwrap()
    }

    fn values(pairs: &[(&str, &str)]) -> Vec<(String, Option<f64>, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.trim().parse().ok(), (*v).to_owned())).collect()
    }

    #[test]
    fn parameters_are_found_by_key_code_or_chinese_name() {
        assert_eq!(parameter_key("cod"), Some("cod"));
        assert_eq!(parameter_key("w21003"), Some("ammonia_nitrogen"));
        assert_eq!(parameter_key("氨氮"), Some("ammonia_nitrogen"));
        assert_eq!(parameter_key("总磷（以P计）"), Some("total_phosphorus"));
        assert_eq!(parameter_key("溶解氧"), Some("dissolved_oxygen"));
        assert_eq!(parameter_key("ph"), None, "pH is not one of the six basic items");
        assert_eq!(parameter_key("铜"), None);
    }

    #[test]
    fn sample_refusals_have_stable_codes() {
        let now = at("2026-06-01 12:00");
        let code = |t: &str, v: &[(&str, &str)]| SampleInput::new(t, None, &values(v), &now).err().map(|e| e.code);
        assert_eq!(code("2026-05-01", &[("cod", "18")]), None);
        assert_eq!(code("2026-06-02", &[("cod", "18")]), Some("sample_in_future"));
        assert_eq!(code("昨天", &[("cod", "18")]), Some("sample_time_invalid"));
        assert_eq!(code("2026-05-01", &[("铅", "1")]), Some("sample_unknown_parameter"));
        assert_eq!(code("2026-05-01", &[("cod", "abc")]), Some("sample_value_not_number"));
        assert_eq!(code("2026-05-01", &[("cod", "-1")]), Some("sample_value_negative"));
        assert_eq!(code("2026-05-01", &[("cod", "")]), Some("sample_empty"));
        assert_eq!(code("2026-05-01", &[("cod", "1"), ("COD", "2")]), Some("sample_duplicate_parameter"));
    }

    #[test]
    fn the_worst_item_decides_a_sample() {
        let now = at("2026-06-01 12:00");
        let s = SampleInput::new(
            "2026-05-01 09:00",
            Some("上游断面"),
            &values(&[("溶解氧", "6.5"), ("氨氮", "2.1")]),
            &now,
        )
        .unwrap();
        let a = classify_sample(&s.values).unwrap();
        assert_eq!(a.class, WaterClass::WorseThanV);
        assert_eq!(a.decided_by[0].key, "ammonia_nitrogen");
    }

    #[test]
    fn trend_compares_the_last_three_months_with_the_three_before() {
        let now = at("2026-06-15 12:00");
        let s = |d: &str, c: WaterClass| (at(d), c);
        use WaterClass::*;
        let improving = [
            s("2026-01-10", WorseThanV),
            s("2026-02-10", WorseThanV),
            s("2026-03-10", V),
            s("2026-04-10", IV),
            s("2026-05-10", IV),
            s("2026-06-10", III),
            s("2025-01-10", I), // outside the twelve months: ignored
        ];
        let months = monthly_classes(&improving, &now);
        assert_eq!(months.len(), 12);
        assert_eq!((months[0].month.as_str(), months[11].month.as_str()), ("2025-07", "2026-06"));
        assert_eq!(months[11].worst, Some(III));
        assert_eq!(months.iter().map(|m| m.samples).sum::<usize>(), 6);
        assert_eq!(trend(&months), Trend::Improving);
        let worsening: Vec<_> =
            improving.iter().map(|(t, c)| (*t, class_of_number(7.0 - f64::from(class_number(*c))))).collect();
        assert_eq!(trend(&monthly_classes(&worsening, &now)), Trend::Worsening);
        let steady = [s("2026-02-01", IV), s("2026-05-01", IV), s("2026-06-01", V), s("2026-03-01", V)];
        assert_eq!(trend(&monthly_classes(&steady, &now)), Trend::Steady);
        assert_eq!(trend(&monthly_classes(&[s("2026-06-01", V)], &now)), Trend::Insufficient);
    }

    #[test]
    fn plans_are_checked_and_totalled() {
        let m = |budget: f64, kind: &str| MeasureDraft {
            text: "沿线截污管网".into(),
            kind: kind.into(),
            budget_wan: budget,
            due_on: Some("2026-12-31".into()),
            unit: None,
            status: "实施中".into(),
        };
        let plan = check_plan(None, "张三", "小榄镇镇长", vec![m(120.5, "截污"), m(30.25, "dredging")]).unwrap();
        assert_eq!(plan.total_budget_cents(), 15075);
        assert_eq!(plan.measures[1].kind, MeasureKind::Dredging);
        assert_eq!(plan.measures[0].status, MeasureStatus::InProgress);
        let code = |d: Vec<MeasureDraft>| check_plan(None, "张三", "镇长", d).err().map(|e| e.code);
        assert_eq!(code(vec![m(-1.0, "截污")]), Some("budget_invalid"));
        assert_eq!(code(vec![m(1.234, "截污")]), Some("budget_invalid"));
        assert_eq!(code(vec![m(1.0, "挖沙")]), Some("measure_kind_invalid"));
        assert_eq!(code(vec![MeasureDraft { due_on: Some("明年".into()), ..m(1.0, "截污") }]), Some("date_invalid"));
        assert_eq!(check_plan(None, " ", "镇长", vec![]).unwrap_err().code, "text_required");
        let changes = plan_changes(None, &plan);
        assert!(changes.iter().any(|c| c.contains("新增第2项措施")), "{changes:?}");
        assert!(changes.iter().any(|c| c.contains("150.75万元")), "{changes:?}");
    }
}
