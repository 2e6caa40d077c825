//! Standards, parameters and limits, parsed and checked from TOML.

use std::sync::OnceLock;

use serde::Deserialize;

use super::codes;
use crate::error::DomainError;

/// The bundled water standards (GB 3838-2002, GB 8978-1996). Parse with
/// [`parse_standards_toml`], or use [`bundled_standards`].
pub const BUNDLED_STANDARDS: &str = include_str!("../../data/water_standards.toml");

/// What a standard's grades mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StandardKind {
    /// Environmental quality classes (环境质量标准, e.g. GB 3838 Ⅰ–Ⅴ类): a sample is
    /// classed by its worst item.
    Quality,
    /// Discharge grades (排放标准, e.g. GB 8978 一级–三级): a reading is checked
    /// against the grade of its outlet.
    Discharge,
}

/// A class or grade of a standard, counted from 1: Ⅰ类 is `Grade(1)` in
/// GB 3838, 一级标准 is `Grade(1)` in GB 8978.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grade(pub u8);

/// The kind of water body a limit applies to (GB 3838 has separate total
/// phosphorus limits for lakes and reservoirs, 湖、库).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaterBody {
    /// Rivers and other flowing water (河流).
    River,
    /// Lakes and reservoirs (湖、库).
    Lake,
}

/// The unit of a limit or of a transmitted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// mg/L (毫克/升).
    MilligramPerLitre,
    /// μg/L (微克/升).
    MicrogramPerLitre,
    /// ng/L (纳克/升).
    NanogramPerLitre,
    /// Dimensionless, e.g. pH (无量纲).
    Dimensionless,
    /// Dilution ratio, for colour (稀释倍数, 倍).
    Dilution,
    /// Count per litre, for coliforms (个/L).
    CountPerLitre,
}

impl Unit {
    /// Parses the unit as written in the data file.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "mg/L" => Unit::MilligramPerLitre,
            "μg/L" | "ug/L" => Unit::MicrogramPerLitre,
            "ng/L" => Unit::NanogramPerLitre,
            "无量纲" => Unit::Dimensionless,
            "倍" => Unit::Dilution,
            "个/L" => Unit::CountPerLitre,
            _ => return None,
        })
    }

    /// The unit's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::MilligramPerLitre => "mg/L",
            Unit::MicrogramPerLitre => "μg/L",
            Unit::NanogramPerLitre => "ng/L",
            Unit::Dimensionless => "无量纲",
            Unit::Dilution => "倍",
            Unit::CountPerLitre => "个/L",
        }
    }

    fn grams_per_litre(self) -> Option<f64> {
        match self {
            Unit::MilligramPerLitre => Some(1e-3),
            Unit::MicrogramPerLitre => Some(1e-6),
            Unit::NanogramPerLitre => Some(1e-9),
            _ => None,
        }
    }

    /// Converts `value` from this unit to `to`; `None` when the units measure
    /// different things.
    pub fn convert(self, value: f64, to: Unit) -> Option<f64> {
        if self == to {
            return Some(value);
        }
        let (from, into) = (self.grams_per_litre()?, to.grams_per_litre()?);
        Some(value * from / into)
    }
}

/// One limit: an upper bound, a lower bound, or an inclusive range. A value
/// exactly at a bound meets it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// The value must be at most this (≤).
    AtMost(f64),
    /// The value must be at least this (≥), e.g. dissolved oxygen.
    AtLeast(f64),
    /// The value must lie in `[low, high]`, e.g. pH 6–9.
    Between { low: f64, high: f64 },
}

impl Limit {
    /// True when `value` meets the limit.
    pub fn allows(self, value: f64) -> bool {
        match self {
            Limit::AtMost(max) => value <= max,
            Limit::AtLeast(min) => value >= min,
            Limit::Between { low, high } => (low..=high).contains(&value),
        }
    }

    /// The limit as people write it, e.g. `≤150`, `≥5`, `6~9`.
    pub fn describe(self) -> String {
        match self {
            Limit::AtMost(max) => format!("≤{max}"),
            Limit::AtLeast(min) => format!("≥{min}"),
            Limit::Between { low, high } => format!("{low}~{high}"),
        }
    }

    /// True when `self` is no stricter than `before` (every value `before`
    /// allows, `self` allows too). Used to check a table's grades are in order.
    fn no_stricter_than(self, before: Limit) -> bool {
        match (before, self) {
            (Limit::AtMost(a), Limit::AtMost(b)) => b >= a,
            (Limit::AtLeast(a), Limit::AtLeast(b)) => b <= a,
            (Limit::Between { low: a, high: b }, Limit::Between { low: c, high: d }) => c <= a && d >= b,
            _ => false,
        }
    }
}

/// One parameter (监测项目) of a standard, with its limit per grade.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The stable key, e.g. `cod`.
    pub key: String,
    /// The name in Chinese, e.g. `化学需氧量（COD）`.
    pub name: String,
    /// The HJ 212-2017 pollutant code, e.g. `w01018`, where one exists.
    pub hj212: Option<String>,
    /// The unit of the limits.
    pub unit: Unit,
    /// The unit HJ 212 transmits the parameter in, when it differs from `unit`.
    pub hj212_unit: Option<Unit>,
    /// The water body the limits apply to; `None` for all.
    pub water_body: Option<WaterBody>,
    /// The limit of each grade, in grade order; `None` where the standard sets none (—).
    pub limits: Vec<Option<Limit>>,
    /// A note from the data file (which row of the table, special rules).
    pub note: Option<String>,
}

impl Parameter {
    /// The limit of `grade`, if the standard sets one.
    pub fn limit(&self, grade: Grade) -> Option<Limit> {
        usize::from(grade.0).checked_sub(1).and_then(|i| self.limits.get(i)).copied().flatten()
    }

    /// True when this parameter applies to `body`.
    pub fn applies_to(&self, body: WaterBody) -> bool {
        self.water_body.is_none_or(|b| b == body)
    }

    /// Converts a value as HJ 212 transmits it into the unit of the limits.
    pub fn from_hj212_value(&self, value: f64) -> f64 {
        match self.hj212_unit {
            Some(unit) => unit.convert(value, self.unit).unwrap_or(value),
            None => value,
        }
    }
}

/// A named table of parameter limits by class or grade.
#[derive(Debug, Clone, PartialEq)]
pub struct Standard {
    /// The standard's number, e.g. `GB 3838-2002`.
    pub code: String,
    /// The title in Chinese, e.g. `地表水环境质量标准`.
    pub name: String,
    /// Quality classes or discharge grades.
    pub kind: StandardKind,
    /// The names of the grades, in order (`Ⅰ类`… or `一级标准`…).
    pub grades: Vec<String>,
    /// The name of "beyond the last grade" for quality standards (`劣Ⅴ类`).
    pub beyond_last: Option<String>,
    /// Which table of the standard the data reproduces.
    pub source: String,
    /// The parameters, in the table's order.
    pub parameters: Vec<Parameter>,
}

impl Standard {
    /// The parameter identified by `id` (its key or its HJ 212 code) that
    /// applies to `body` (`None`: any parameter with that id, preferring one
    /// that applies to all water bodies).
    pub fn parameter(&self, id: &str, body: Option<WaterBody>) -> Option<&Parameter> {
        let mut candidates =
            self.parameters.iter().filter(|p| p.key == id || p.hj212.as_deref() == Some(id)).filter(|p| match body {
                Some(body) => p.applies_to(body),
                None => true,
            });
        let first = candidates.next()?;
        if first.water_body.is_none() {
            Some(first)
        } else {
            candidates.find(|p| p.water_body.is_none()).or(Some(first))
        }
    }

    /// The name of `grade`, e.g. `二级标准`.
    pub fn grade_name(&self, grade: Grade) -> Option<&str> {
        usize::from(grade.0).checked_sub(1).and_then(|i| self.grades.get(i)).map(String::as_str)
    }

    /// The grade with this name, e.g. `Ⅲ类`.
    pub fn grade_named(&self, name: &str) -> Option<Grade> {
        self.grades.iter().position(|g| g == name).and_then(|i| u8::try_from(i + 1).ok()).map(Grade)
    }

    /// `grade` if it exists in this standard, else `unknown_grade`.
    pub fn check_grade(&self, grade: Grade) -> Result<Grade, DomainError> {
        match self.grade_name(grade) {
            Some(_) => Ok(grade),
            None => Err(DomainError::invalid(
                codes::UNKNOWN_GRADE,
                format!("{}只有{}个级别，没有第{}级", self.code, self.grades.len(), grade.0),
            )),
        }
    }
}

/// The bundled standards, parsed once.
pub fn bundled_standards() -> &'static [Standard] {
    static PARSED: OnceLock<Vec<Standard>> = OnceLock::new();
    // The bundled file is checked by a test; were it broken, no standard is offered rather than a panic.
    PARSED.get_or_init(|| parse_standards_toml(BUNDLED_STANDARDS).unwrap_or_default())
}

/// The most grades a standard may have.
const MAX_GRADES: usize = 10;
/// The largest standards file accepted (the bundled one is about 12 KB).
const MAX_FILE_BYTES: usize = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    standard: Vec<RawStandard>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStandard {
    code: String,
    name: String,
    kind: String,
    grades: Vec<String>,
    #[serde(default)]
    beyond_last: Option<String>,
    source: String,
    #[serde(default)]
    parameter: Vec<RawParameter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParameter {
    key: String,
    name: String,
    #[serde(default)]
    hj212: Option<String>,
    unit: String,
    #[serde(default)]
    hj212_unit: Option<String>,
    #[serde(default)]
    water_body: Option<String>,
    #[serde(default)]
    max: Option<Vec<toml::Value>>,
    #[serde(default)]
    min: Option<Vec<toml::Value>>,
    #[serde(default)]
    range: Option<Vec<toml::Value>>,
    #[serde(default)]
    note: Option<String>,
}

/// Parses and checks standards in the format of `data/water_standards.toml`.
/// Every error is `invalid_standard` with a Chinese message naming the
/// standard and parameter: unknown fields or units, a grade without a limit,
/// a limit that is not a finite non-negative number, a range whose low end
/// is above its high end, a grade stricter than the grade before it, a key
/// given twice for the same water body, or a quality standard without the
/// name of the class beyond its last, or a file over 1 MiB.
pub fn parse_standards_toml(text: &str) -> Result<Vec<Standard>, DomainError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(invalid(format!("标准数据超过{}KB，不予读取", MAX_FILE_BYTES / 1024)));
    }
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().and_then(|span| text.get(..span.start)).map(|before| before.matches('\n').count() + 1);
        let detail = e.message().trim().to_owned();
        match line {
            Some(line) => invalid(format!("标准数据第{line}行格式错误：{detail}")),
            None => invalid(format!("标准数据格式错误：{detail}")),
        }
    })?;
    if raw.standard.is_empty() {
        return Err(invalid("标准数据中没有任何标准"));
    }
    let mut standards: Vec<Standard> = Vec::with_capacity(raw.standard.len());
    for s in raw.standard {
        let standard = convert_standard(s)?;
        if standards.iter().any(|other| other.code == standard.code) {
            return Err(invalid(format!("标准{}出现了两次", standard.code)));
        }
        standards.push(standard);
    }
    Ok(standards)
}

fn convert_standard(raw: RawStandard) -> Result<Standard, DomainError> {
    let code = raw.code.trim().to_owned();
    if code.is_empty() || raw.name.trim().is_empty() {
        return Err(invalid("标准缺少编号或名称"));
    }
    let kind = match raw.kind.as_str() {
        "quality" => StandardKind::Quality,
        "discharge" => StandardKind::Discharge,
        other => return Err(invalid(format!("{code}的类型“{other}”无效，应为 quality 或 discharge"))),
    };
    if raw.grades.is_empty() || raw.grades.len() > MAX_GRADES {
        return Err(invalid(format!("{code}的级别数应为1~{MAX_GRADES}个")));
    }
    if kind == StandardKind::Quality && raw.beyond_last.as_deref().is_none_or(|s| s.trim().is_empty()) {
        return Err(invalid(format!("{code}是质量标准，须用 beyond_last 写明劣于最后一类的名称")));
    }
    let grades = raw.grades.len();
    let mut parameters: Vec<Parameter> = Vec::with_capacity(raw.parameter.len());
    for p in raw.parameter {
        let parameter = convert_parameter(&code, grades, p)?;
        let clash = parameters.iter().any(|other| {
            other.key == parameter.key
                && (other.water_body.is_none()
                    || parameter.water_body.is_none()
                    || other.water_body == parameter.water_body)
        });
        if clash {
            return Err(invalid(format!("{code}的项目{}对同一水体出现了两次", parameter.key)));
        }
        parameters.push(parameter);
    }
    if parameters.is_empty() {
        return Err(invalid(format!("{code}没有任何项目")));
    }
    Ok(Standard {
        code,
        name: raw.name,
        kind,
        grades: raw.grades,
        beyond_last: raw.beyond_last,
        source: raw.source,
        parameters,
    })
}

fn convert_parameter(standard: &str, grades: usize, raw: RawParameter) -> Result<Parameter, DomainError> {
    let at = format!("{standard}的项目{}", raw.key);
    if raw.key.trim().is_empty() || raw.name.trim().is_empty() {
        return Err(invalid(format!("{standard}有项目缺少 key 或名称")));
    }
    if let Some(code) = &raw.hj212
        && !is_hj212_code(code)
    {
        return Err(invalid(format!("{at}的HJ 212编码“{code}”格式不对，应如 w01018")));
    }
    let unit = |text: &str| Unit::parse(text).ok_or_else(|| invalid(format!("{at}的单位“{text}”无法识别")));
    let limits = match (raw.max, raw.min, raw.range) {
        (Some(values), None, None) => convert_limits(&at, grades, &values, |v| bound(v).map(|b| b.map(Limit::AtMost)))?,
        (None, Some(values), None) => {
            convert_limits(&at, grades, &values, |v| bound(v).map(|b| b.map(Limit::AtLeast)))?
        }
        (None, None, Some(values)) => convert_limits(&at, grades, &values, range)?,
        _ => return Err(invalid(format!("{at}须且只能有 max、min、range 之一"))),
    };
    check_order(&at, &limits)?;
    let water_body = match raw.water_body.as_deref() {
        None => None,
        Some("river") => Some(WaterBody::River),
        Some("lake") => Some(WaterBody::Lake),
        Some(other) => return Err(invalid(format!("{at}的水体“{other}”无效，应为 river 或 lake"))),
    };
    Ok(Parameter {
        unit: unit(&raw.unit)?,
        hj212_unit: raw.hj212_unit.as_deref().map(unit).transpose()?,
        key: raw.key,
        name: raw.name,
        hj212: raw.hj212,
        water_body,
        limits,
        note: raw.note,
    })
}

fn is_hj212_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 6
        && bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes.iter().skip(1).all(u8::is_ascii_digit)
}

fn convert_limits(
    at: &str,
    grades: usize,
    values: &[toml::Value],
    convert: impl Fn(&toml::Value) -> Option<Option<Limit>>,
) -> Result<Vec<Option<Limit>>, DomainError> {
    if values.len() != grades {
        return Err(invalid(format!("{at}有{}个限值，应与级别数{grades}相同", values.len())));
    }
    values
        .iter()
        .map(|v| convert(v).ok_or_else(|| invalid(format!("{at}的限值“{v}”无效：应为非负数、[下限, 上限]或“—”"))))
        .collect()
}

/// A number, or `—` for "no limit": `Some(None)`. Anything else: `None`.
fn bound(value: &toml::Value) -> Option<Option<f64>> {
    match value {
        toml::Value::String(s) if s == "—" => Some(None),
        other => number(other).map(Some),
    }
}

fn range(value: &toml::Value) -> Option<Option<Limit>> {
    match value {
        toml::Value::String(s) if s == "—" => Some(None),
        toml::Value::Array(pair) => match pair.as_slice() {
            [low, high] => {
                let (low, high) = (number(low)?, number(high)?);
                (low <= high).then_some(Some(Limit::Between { low, high }))
            }
            _ => None,
        },
        _ => None,
    }
}

fn number(value: &toml::Value) -> Option<f64> {
    let n = match value {
        toml::Value::Integer(i) => *i as f64,
        toml::Value::Float(f) => *f,
        _ => return None,
    };
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// Each grade is no stricter than the one before; once a grade has no limit, none after it has one.
fn check_order(at: &str, limits: &[Option<Limit>]) -> Result<(), DomainError> {
    for (i, pair) in limits.windows(2).enumerate() {
        let ok = match pair {
            [Some(before), Some(after)] => after.no_stricter_than(*before),
            [Some(_) | None, None] => true,
            _ => false,
        };
        if !ok {
            return Err(invalid(format!(
                "{at}的第{}级限值比第{}级更严或无限值后又有限值，请核对标准原文",
                i + 2,
                i + 1
            )));
        }
    }
    Ok(())
}

fn invalid(message: impl Into<String>) -> DomainError {
    DomainError::invalid(codes::INVALID_STANDARD, message)
}
