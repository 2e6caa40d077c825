//! The indicator catalogue (指标目录): codes, names, units, and which
//! indicators are parts of a total.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::codes;
use crate::error::DomainError;

/// At most this many indicators in one catalogue.
pub const MAX_INDICATORS: usize = 500;
const MAX_CODE_CHARS: usize = 64;
const MAX_NAME_CHARS: usize = 60;
const MAX_UNIT_CHARS: usize = 10;
const MAX_DECIMALS: u8 = 4;

/// A statistical indicator (统计指标).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Stable ASCII code, e.g. `gdp_primary`.
    pub code: String,
    /// Its name in reports, e.g. `第一产业增加值`.
    pub name: String,
    /// The unit printed after the value: `亿元`, `万元`, `元`, `%` …
    pub unit: String,
    /// Decimals printed; by default 2 for 亿元 and 万元, 0 for 元, 1 for %, else 2.
    #[serde(default)]
    pub decimals: Option<u8>,
    /// The total this indicator is a part of (shares are taken of it).
    #[serde(default)]
    pub parent: Option<String>,
    /// This total must equal the sum of its parts (GDP = the three industries).
    #[serde(default)]
    pub sum_of_parts: bool,
    /// Values accumulate over the year (a longer span never has less); by
    /// default true except for `%`.
    #[serde(default)]
    pub cumulative: Option<bool>,
    /// Whether the absolute value is printed on the card (false when only its
    /// rates are published and the stored values merely carry them).
    #[serde(default = "yes")]
    pub publish_value: bool,
    /// Whether the card states its share of the parent.
    #[serde(default)]
    pub show_share: bool,
    /// Where the figures come from, e.g. `中山市统计局`.
    #[serde(default)]
    pub source: Option<String>,
}

fn yes() -> bool {
    true
}

impl Indicator {
    /// Decimals printed for its values.
    pub fn decimals(&self) -> u8 {
        self.decimals.unwrap_or(match self.unit.as_str() {
            "元" => 0,
            "%" => 1,
            _ => 2,
        })
    }

    /// Whether values accumulate over the year.
    pub fn is_cumulative(&self) -> bool {
        self.cumulative.unwrap_or(self.unit != "%")
    }
}

/// A validated catalogue: codes and names unique, codes well formed, parents present and
/// of the same unit, no indicator its own ancestor, every declared total
/// with at least one part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    indicators: Vec<Indicator>,
    index: BTreeMap<String, usize>,
    by_name: BTreeMap<String, usize>,
}

/// A refusal of a catalogue rule: the editor's own stable code and the Chinese message.
type Refusal = (&'static str, String);

/// A change the catalogue editor makes: an indicator added at the end, or one replaced in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndicatorEdit {
    Add(Indicator),
    Change(Indicator),
}

impl Catalog {
    /// A catalogue as a data file holds it: every rule broken is `invalid_indicator_catalog`.
    pub fn new(indicators: Vec<Indicator>) -> Result<Self, DomainError> {
        Self::checked(indicators).map_err(|(_, message)| invalid(message))
    }

    /// The catalogue `held` with one indicator added or changed, every rule checked with the
    /// editor's stable codes (`invalid_indicator_code`, `invalid_indicator_name`,
    /// `duplicate_indicator`, `unknown_parent_indicator`, `indicator_cycle`, …). Changing an indicator
    /// the catalogue does not hold is `statistics_indicator_not_found`.
    pub fn edited(held: &[Indicator], edit: IndicatorEdit) -> Result<Self, DomainError> {
        let mut indicators = held.to_vec();
        match edit {
            IndicatorEdit::Add(indicator) => {
                if held.iter().any(|i| i.code == indicator.code) {
                    let message = format!("指标编码“{}”已存在，请换一个编码或修改该指标", indicator.code);
                    return Err(DomainError::invalid(codes::DUPLICATE_INDICATOR, message));
                }
                indicators.push(indicator);
            }
            IndicatorEdit::Change(indicator) => {
                let slot = indicators
                    .iter_mut()
                    .find(|i| i.code == indicator.code)
                    .ok_or_else(|| indicator_not_found(&indicator.code))?;
                *slot = indicator;
            }
        }
        Self::checked(indicators).map_err(|(code, message)| DomainError::invalid(code, message))
    }

    fn checked(indicators: Vec<Indicator>) -> Result<Self, Refusal> {
        if indicators.is_empty() || indicators.len() > MAX_INDICATORS {
            let message = format!("指标目录须有1至{MAX_INDICATORS}个指标，实际{}个", indicators.len());
            return Err((codes::INVALID_INDICATOR_CATALOG, message));
        }
        let mut index = BTreeMap::new();
        let mut by_name = BTreeMap::new();
        for (i, indicator) in indicators.iter().enumerate() {
            check_indicator(indicator)?;
            if index.insert(indicator.code.clone(), i).is_some() {
                return Err((codes::DUPLICATE_INDICATOR, format!("指标编码“{}”重复", indicator.code)));
            }
            if by_name.insert(indicator.name.trim().to_owned(), i).is_some() {
                let message = format!("指标名称“{}”重复；导入时按名称识别指标，名称须唯一", indicator.name);
                return Err((codes::DUPLICATE_INDICATOR_NAME, message));
            }
        }
        let catalog = Self { indicators, index, by_name };
        catalog.check_parents()?;
        Ok(catalog)
    }

    /// Indicators in the catalogue's order.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    pub fn get(&self, code: &str) -> Option<&Indicator> {
        self.index.get(code).map(|&i| &self.indicators[i])
    }

    /// By code, or by exact name (statistics releases name their rows).
    pub fn find(&self, code_or_name: &str) -> Option<&Indicator> {
        let key = code_or_name.trim();
        self.get(key).or_else(|| self.by_name.get(key).map(|&i| &self.indicators[i]))
    }

    /// The parts of a total, in the catalogue's order.
    pub fn parts_of(&self, code: &str) -> Vec<&Indicator> {
        self.indicators.iter().filter(|i| i.parent.as_deref() == Some(code)).collect()
    }

    fn check_parents(&self) -> Result<(), Refusal> {
        for indicator in &self.indicators {
            if let Some(parent_code) = &indicator.parent {
                let Some(parent) = self.get(parent_code) else {
                    let message = format!("指标“{}”的上级指标“{parent_code}”不存在", indicator.name);
                    return Err((codes::UNKNOWN_PARENT_INDICATOR, message));
                };
                if parent.unit != indicator.unit {
                    return Err((
                        codes::PARENT_UNIT_MISMATCH,
                        format!(
                            "指标“{}”的单位（{}）与上级指标“{}”的单位（{}）不一致，无法计算比重",
                            indicator.name, indicator.unit, parent.name, parent.unit
                        ),
                    ));
                }
            }
            self.check_no_ancestor_loop(indicator)?;
            if indicator.sum_of_parts && self.parts_of(&indicator.code).is_empty() {
                let message = format!("指标“{}”被声明为各部分之和，但没有任何下级指标", indicator.name);
                return Err((codes::TOTAL_WITHOUT_PARTS, message));
            }
        }
        Ok(())
    }

    fn check_no_ancestor_loop(&self, indicator: &Indicator) -> Result<(), Refusal> {
        let mut current = indicator.parent.as_deref();
        for _ in 0..self.indicators.len() {
            match current {
                None => return Ok(()),
                Some(code) if code == indicator.code => break,
                Some(code) => current = self.get(code).and_then(|p| p.parent.as_deref()),
            }
        }
        Err((codes::INDICATOR_CYCLE, format!("指标“{}”的上级关系形成循环", indicator.name)))
    }
}

fn check_indicator(indicator: &Indicator) -> Result<(), Refusal> {
    let code_ok = !indicator.code.is_empty()
        && indicator.code.len() <= MAX_CODE_CHARS
        && indicator.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !code_ok {
        let shown: String = indicator.code.chars().filter(|c| !c.is_control()).take(40).collect();
        return Err((
            codes::INVALID_INDICATOR_CODE,
            format!("指标编码“{shown}”不合规：须为1至{MAX_CODE_CHARS}个小写字母、数字、下划线或连字符"),
        ));
    }
    let code = &indicator.code;
    check_text(&indicator.name, MAX_NAME_CHARS, &format!("指标“{code}”的名称"), codes::INVALID_INDICATOR_NAME)?;
    check_text(&indicator.unit, MAX_UNIT_CHARS, &format!("指标“{code}”的单位"), codes::INVALID_INDICATOR_UNIT)?;
    if let Some(source) = &indicator.source {
        let what = format!("指标“{code}”的数据来源");
        check_text(source, MAX_NAME_CHARS, &what, codes::INVALID_INDICATOR_SOURCE)?;
    }
    if indicator.decimals.is_some_and(|d| d > MAX_DECIMALS) {
        let message = format!("指标“{}”的小数位数不能超过{MAX_DECIMALS}", indicator.name);
        return Err((codes::INVALID_INDICATOR_DECIMALS, message));
    }
    Ok(())
}

fn check_text(text: &str, max: usize, what: &str, code: &'static str) -> Result<(), Refusal> {
    if text.trim().is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err((code, format!("{what}不能为空，不能超过{max}个字，也不能含控制字符")));
    }
    Ok(())
}

/// `404 statistics_indicator_not_found`.
pub fn indicator_not_found(code: &str) -> DomainError {
    let shown: String = code.chars().filter(|c| !c.is_control()).take(40).collect();
    DomainError::not_found(codes::INDICATOR_NOT_FOUND, format!("指标目录中没有编码为“{shown}”的指标"))
}

fn invalid(message: String) -> DomainError {
    DomainError::invalid(codes::INVALID_INDICATOR_CATALOG, message)
}
