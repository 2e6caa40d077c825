//! Water classification (水质类别评价) and discharge checks (达标判定).

use super::codes;
use super::standard::{Grade, Limit, Parameter, Standard, StandardKind, Unit, WaterBody};
use crate::error::DomainError;

/// One measured value of a parameter, in the unit of the standard's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// The parameter's key (`cod`) or HJ 212 code (`w01018`).
    pub parameter: String,
    /// The value, in the unit of the standard's limits (mg/L unless noted).
    pub value: f64,
}

impl Measurement {
    /// A measurement of `parameter` (key or HJ 212 code).
    pub fn new(parameter: impl Into<String>, value: f64) -> Self {
        Measurement { parameter: parameter.into(), value }
    }

    /// A measurement from an HJ 212 value, converted from the unit HJ 212
    /// transmits the pollutant in (e.g. mercury in μg/L) to the unit of
    /// `standard`'s limits.
    pub fn from_hj212(standard: &Standard, code: &str, value: f64) -> Self {
        let value = standard.parameter(code, None).map_or(value, |p| p.from_hj212_value(value));
        Measurement { parameter: code.to_owned(), value }
    }
}

/// A surface water class of GB 3838-2002 (水质类别).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaterClass {
    /// Ⅰ类.
    I,
    /// Ⅱ类.
    II,
    /// Ⅲ类.
    III,
    /// Ⅳ类.
    IV,
    /// Ⅴ类.
    V,
    /// 劣Ⅴ类: worse than class V.
    WorseThanV,
}

impl WaterClass {
    const ALL: [WaterClass; 6] =
        [WaterClass::I, WaterClass::II, WaterClass::III, WaterClass::IV, WaterClass::V, WaterClass::WorseThanV];

    /// The class of `grade` (1–5); anything beyond is 劣Ⅴ.
    pub fn from_grade(grade: Grade) -> Self {
        usize::from(grade.0).checked_sub(1).and_then(|i| Self::ALL.get(i)).copied().unwrap_or(WaterClass::WorseThanV)
    }

    /// The grade of the class in GB 3838 (`None` for 劣Ⅴ).
    pub fn grade(self) -> Option<Grade> {
        let index = Self::ALL.iter().position(|c| *c == self)?;
        (self != WaterClass::WorseThanV).then(|| Grade(u8::try_from(index + 1).unwrap_or(u8::MAX)))
    }

    /// The Chinese label, e.g. `Ⅲ类`, `劣Ⅴ类`.
    pub fn label(self) -> &'static str {
        match self {
            WaterClass::I => "Ⅰ类",
            WaterClass::II => "Ⅱ类",
            WaterClass::III => "Ⅲ类",
            WaterClass::IV => "Ⅳ类",
            WaterClass::V => "Ⅴ类",
            WaterClass::WorseThanV => "劣Ⅴ类",
        }
    }
}

/// The class of one assessed item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemClass {
    /// The parameter's key.
    pub key: String,
    /// The parameter's Chinese name.
    pub name: String,
    /// The measured value.
    pub value: f64,
    /// The best class whose limit the value meets.
    pub class: WaterClass,
    /// That class's limit; for 劣Ⅴ, the class Ⅴ limit it failed.
    pub limit: Option<Limit>,
}

/// The classification of a water sample.
#[derive(Debug, Clone, PartialEq)]
pub struct WaterAssessment {
    /// The sample's class: the worst class over the assessed items.
    pub class: WaterClass,
    /// The items at that worst class, which decided it (定类项目), in sample order.
    pub decided_by: Vec<ItemClass>,
    /// Every assessed item, in sample order.
    pub items: Vec<ItemClass>,
    /// Measurements that are not items of the standard for this water body, and were not assessed.
    pub unassessed: Vec<String>,
}

/// Classifies a water sample against a quality standard with five classes
/// (GB 3838-2002): each item gets the best class whose limit its value meets
/// (a value exactly at a limit meets it), or 劣Ⅴ when it fails class Ⅴ; the
/// sample's class is the worst item class. Items that are not in the standard
/// or do not apply to `body` (total nitrogen in a river, say) are listed as
/// unassessed.
///
/// Errors: `wrong_standard_kind` for a discharge standard or one without five
/// classes, `invalid_value` for a value that is not finite, `nothing_assessed`
/// when no measurement is an item of the standard.
pub fn classify_water(
    standard: &Standard,
    body: WaterBody,
    sample: &[Measurement],
) -> Result<WaterAssessment, DomainError> {
    if standard.kind != StandardKind::Quality || standard.grades.len() != 5 {
        return Err(DomainError::invalid(
            codes::WRONG_STANDARD_KIND,
            format!("{}不是分五类的水环境质量标准，不能用来评价水质类别", standard.code),
        ));
    }
    let mut items = Vec::new();
    let mut unassessed = Vec::new();
    for m in sample {
        check_finite(m)?;
        match standard.parameter(&m.parameter, Some(body)) {
            Some(p) => items.push(classify_item(p, m.value)),
            None => unassessed.push(m.parameter.clone()),
        }
    }
    let Some(class) = items.iter().map(|i| i.class).max() else {
        return Err(DomainError::invalid(codes::NOTHING_ASSESSED, format!("样品中没有{}的评价项目", standard.code)));
    };
    let decided_by = items.iter().filter(|i| i.class == class).cloned().collect();
    Ok(WaterAssessment { class, decided_by, items, unassessed })
}

fn classify_item(p: &Parameter, value: f64) -> ItemClass {
    let grades = (1..=5u8).map(Grade);
    let met = grades.clone().find(|g| p.limit(*g).is_none_or(|l| l.allows(value)));
    let (class, limit) = match met {
        Some(g) => (WaterClass::from_grade(g), p.limit(g)),
        None => (WaterClass::WorseThanV, p.limit(Grade(5))),
    };
    ItemClass { key: p.key.clone(), name: p.name.clone(), value, class, limit }
}

/// A stricter limit for one parameter at one point, e.g. from its discharge
/// permit (排污许可证); it replaces the standard's limit for that parameter,
/// and may bind a parameter the standard has no limit for.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitOverride {
    /// The parameter's key or HJ 212 code.
    pub parameter: String,
    /// The limit that applies instead.
    pub limit: Limit,
    /// Where it comes from, e.g. the permit number, shown with every exceedance.
    pub source: String,
}

/// Where the limit an exceedance broke comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum LimitSource {
    /// The standard's table, at this grade.
    Standard { code: String, grade: Grade, grade_name: String },
    /// A per-point override.
    Override { source: String },
}

/// A reading that breaks its limit (超标).
#[derive(Debug, Clone, PartialEq)]
pub struct Exceedance {
    /// The parameter's key, or the reading's id when the standard lacks it.
    pub parameter: String,
    /// The parameter's Chinese name (the id when the standard lacks it).
    pub name: String,
    /// The measured value.
    pub value: f64,
    /// The limit broken.
    pub limit: Limit,
    /// The unit of value and limit, when the standard knows the parameter.
    pub unit: Option<Unit>,
    /// Where the limit comes from.
    pub source: LimitSource,
    /// How many times over (超标倍数 = (value − limit) / limit) for an upper
    /// bound above zero; `None` for lower bounds and ranges, where the
    /// measure is not defined.
    pub times_over: Option<f64>,
}

impl Exceedance {
    /// A one-line description in Chinese for alerts, e.g.
    /// `化学需氧量（COD）实测300 mg/L，超过GB 8978-1996二级标准限值≤150，超标1.00倍`.
    pub fn describe(&self) -> String {
        let unit = self.unit.map_or(String::new(), |u| format!(" {}", u.symbol()));
        let source = match &self.source {
            LimitSource::Standard { code, grade_name, .. } => format!("{code}{grade_name}"),
            LimitSource::Override { source } => source.clone(),
        };
        let times = self.times_over.map_or(String::new(), |t| format!("，超标{t:.2}倍"));
        format!("{}实测{}{unit}，超过{source}限值{}{times}", self.name, self.value, self.limit.describe())
    }
}

/// The limit that applies to `parameter` (key or HJ 212 code) at `grade`,
/// after `overrides`, with its source; `None` when nothing limits it.
pub fn limit_for(
    standard: &Standard,
    grade: Grade,
    parameter: &str,
    overrides: &[LimitOverride],
) -> Option<(Limit, LimitSource)> {
    let known = standard.parameter(parameter, None);
    let matches = |o: &&LimitOverride| {
        o.parameter == parameter
            || known.is_some_and(|p| o.parameter == p.key || p.hj212.as_deref() == Some(o.parameter.as_str()))
    };
    if let Some(o) = overrides.iter().find(matches) {
        return Some((o.limit, LimitSource::Override { source: o.source.clone() }));
    }
    let limit = known?.limit(grade)?;
    let grade_name = standard.grade_name(grade)?.to_owned();
    Some((limit, LimitSource::Standard { code: standard.code.clone(), grade, grade_name }))
}

/// Checks one reading against the limit of `grade` (or the point's override):
/// `None` when it meets the limit or nothing limits it, else the exceedance.
/// A value exactly at the limit meets it.
///
/// Errors: `unknown_grade` for a grade the standard does not have,
/// `invalid_value` for a value that is not finite.
pub fn check_discharge(
    standard: &Standard,
    grade: Grade,
    reading: &Measurement,
    overrides: &[LimitOverride],
) -> Result<Option<Exceedance>, DomainError> {
    standard.check_grade(grade)?;
    check_finite(reading)?;
    let Some((limit, source)) = limit_for(standard, grade, &reading.parameter, overrides) else {
        return Ok(None);
    };
    if limit.allows(reading.value) {
        return Ok(None);
    }
    let known = standard.parameter(&reading.parameter, None);
    let times_over = match limit {
        Limit::AtMost(max) if max > 0.0 => Some((reading.value - max) / max),
        _ => None,
    };
    Ok(Some(Exceedance {
        parameter: known.map_or_else(|| reading.parameter.clone(), |p| p.key.clone()),
        name: known.map_or_else(|| reading.parameter.clone(), |p| p.name.clone()),
        value: reading.value,
        limit,
        unit: known.map(|p| p.unit),
        source,
        times_over,
    }))
}

fn check_finite(m: &Measurement) -> Result<(), DomainError> {
    if m.value.is_finite() {
        Ok(())
    } else {
        Err(DomainError::invalid(codes::INVALID_VALUE, format!("{}的测量值不是有效数字", m.parameter)))
    }
}
