//! Values by indicator and period, and the checks every incoming row passes
//! (from a data file or a statistics bureau's spreadsheet) before anything is kept.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, Indicator};
use super::codes;
use super::period::Period;
use crate::error::DomainError;

/// The demo city's figures (`data/statistics_demo.toml`).
pub const BUNDLED_STATISTICS: &str = include_str!("../../data/statistics_demo.toml");
/// Data files longer than this are refused before parsing.
pub const MAX_STATISTICS_BYTES: usize = 1024 * 1024;
/// At most this many rows in one import.
pub const MAX_ROWS: usize = 100_000;
/// At most this many row errors are reported; the import is refused either way.
pub const MAX_ROW_ERRORS: usize = 500;

const MAX_NUMBER_CHARS: usize = 40;
const MAX_MAGNITUDE: f64 = 1e15;
const MAX_AREA_CHARS: usize = 20;

/// One value of one indicator for one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub indicator: String,
    pub period: Period,
    pub value: f64,
    /// Price index with the same period a year earlier = 100, for real growth.
    pub price_index: Option<f64>,
    /// A published real growth rate in percent, used as given.
    pub real_growth: Option<f64>,
}

/// A row as text, the way a spreadsheet gives it. `row` is the row number
/// the person sees; empty optional cells are empty strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatRow {
    pub row: usize,
    /// Indicator code or name.
    pub indicator: String,
    pub period: String,
    pub value: String,
    pub price_index: String,
    pub real_growth: String,
}

/// Why one row was refused: the row, the column (in Chinese, as the sheet's
/// header reads), the cell's text, a stable code and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub column: &'static str,
    pub value: String,
    pub code: &'static str,
    pub reason: String,
}

/// Column headers, as the reasons refer to them.
pub mod columns {
    pub const INDICATOR: &str = "指标";
    pub const PERIOD: &str = "时期";
    pub const VALUE: &str = "数值";
    pub const PRICE_INDEX: &str = "价格指数";
    pub const REAL_GROWTH: &str = "实际增速";
}

/// The figures of one area (全市) over its catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    area: String,
    catalog: Catalog,
    values: BTreeMap<(String, Period), Observation>,
}

/// A row's cells once the numbers are read.
struct Cells<'a> {
    row: usize,
    indicator: &'a str,
    period: &'a str,
    value: Option<f64>,
    price_index: Option<f64>,
    real_growth: Option<f64>,
}

/// A row whose cells all passed; duplicates and order are checked next.
struct Candidate {
    row: usize,
    observation: Observation,
    period_text: String,
}

impl Dataset {
    /// An empty dataset. `area` prefixes every card's subject, e.g. `全市`.
    pub fn new(area: &str, catalog: Catalog) -> Result<Self, DomainError> {
        let area = area.trim();
        if area.is_empty() || area.chars().count() > MAX_AREA_CHARS || area.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                codes::INVALID_STATISTICS,
                format!("地区名称不能为空，不能超过{MAX_AREA_CHARS}个字"),
            ));
        }
        Ok(Self { area: area.to_owned(), catalog, values: BTreeMap::new() })
    }

    pub fn area(&self) -> &str {
        &self.area
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn observation(&self, indicator: &str, period: Period) -> Option<&Observation> {
        self.values.get(&(indicator.to_owned(), period))
    }

    pub fn value(&self, indicator: &str, period: Period) -> Option<f64> {
        self.observation(indicator, period).map(|o| o.value)
    }

    /// Every observation, by indicator code then period.
    pub fn observations(&self) -> impl Iterator<Item = &Observation> {
        self.values.values()
    }

    /// Every period with at least one value, in order.
    pub fn periods(&self) -> BTreeSet<Period> {
        self.values.keys().map(|(_, p)| *p).collect()
    }

    /// Checks rows and, only if every row is good, keeps them all (replacing
    /// values already held for the same indicator and period). Returns how
    /// many were kept, or every row error (up to [`MAX_ROW_ERRORS`]).
    pub fn import(&mut self, rows: &[StatRow]) -> Result<usize, Vec<RowError>> {
        let observations = self.check_rows(rows)?;
        let kept = observations.len();
        self.insert_checked(observations);
        Ok(kept)
    }

    /// Takes values already typed (a store's rows), checked as imported rows
    /// are and kept only if all pass, so the panel never computes from values
    /// the checks would refuse. Errors number the values from 1.
    pub fn load(&mut self, observations: &[Observation]) -> Result<usize, Vec<RowError>> {
        let mut errors = Vec::new();
        let candidates: Vec<Candidate> = observations
            .iter()
            .enumerate()
            .filter_map(|(i, o)| {
                let period = o.period.key();
                let cells = Cells {
                    row: i + 1,
                    indicator: &o.indicator,
                    period: &period,
                    value: Some(o.value),
                    price_index: o.price_index,
                    real_growth: o.real_growth,
                };
                self.check_cells(cells, &mut errors)
            })
            .collect();
        let checked = self.check_candidates(candidates, errors)?;
        let kept = checked.len();
        self.insert_checked(checked);
        Ok(kept)
    }

    /// Checks rows without keeping them: indicator known (by code or name),
    /// period readable, numbers finite and in range, no indicator and period
    /// twice, and cumulative values not shrinking as the span grows
    /// (together with the values already held).
    pub fn check_rows(&self, rows: &[StatRow]) -> Result<Vec<Observation>, Vec<RowError>> {
        if rows.len() > MAX_ROWS {
            return Err(vec![RowError {
                row: rows.get(MAX_ROWS).map_or(MAX_ROWS + 1, |r| r.row),
                column: columns::INDICATOR,
                value: String::new(),
                code: codes::TOO_MANY_ROWS,
                reason: format!("一次最多导入{MAX_ROWS}行，实际{}行", rows.len()),
            }]);
        }
        let mut errors = Vec::new();
        let candidates: Vec<Candidate> = rows.iter().filter_map(|row| self.parse_row(row, &mut errors)).collect();
        self.check_candidates(candidates, errors)
    }

    fn insert_checked(&mut self, observations: Vec<Observation>) {
        for observation in observations {
            self.values.insert((observation.indicator.clone(), observation.period), observation);
        }
    }

    /// Parses a row's cells, then checks them as [`Dataset::check_cells`] does.
    fn parse_row(&self, row: &StatRow, errors: &mut Vec<RowError>) -> Option<Candidate> {
        let before = errors.len();
        let value = parse_cell(&row.value, columns::VALUE, false, row.row, errors).flatten();
        let price_index = parse_cell(&row.price_index, columns::PRICE_INDEX, true, row.row, errors).flatten();
        let real_growth = parse_cell(&row.real_growth, columns::REAL_GROWTH, true, row.row, errors).flatten();
        let parsed = errors.len() == before;
        let cells =
            Cells { row: row.row, indicator: &row.indicator, period: &row.period, value, price_index, real_growth };
        self.check_cells(cells, errors).filter(|_| parsed)
    }

    /// Indicator known (by code or name), period readable, numbers in range.
    /// A missing value was already reported by whoever read it.
    fn check_cells(&self, cells: Cells<'_>, errors: &mut Vec<RowError>) -> Option<Candidate> {
        let before = errors.len();
        let mut error = |column, value: String, code, reason: &str| {
            errors.push(RowError { row: cells.row, column, value: shorten(&value), code, reason: reason.into() })
        };
        let indicator = self.catalog.find(cells.indicator);
        if indicator.is_none() {
            error(columns::INDICATOR, cells.indicator.into(), codes::UNKNOWN_INDICATOR, "指标目录中没有这个指标");
        }
        let period = match Period::parse(cells.period) {
            Ok(period) => Some(period),
            Err(e) => {
                error(columns::PERIOD, cells.period.into(), e.code, &e.message);
                None
            }
        };
        if let Some(v) = cells.value.filter(|v| !(v.is_finite() && v.abs() <= MAX_MAGNITUDE)) {
            error(columns::VALUE, v.to_string(), codes::INVALID_NUMBER, "数值超出范围");
        }
        if let Some(p) = cells.price_index.filter(|p| !(*p > 0.0 && *p <= 1000.0)) {
            error(
                columns::PRICE_INDEX,
                p.to_string(),
                codes::INVALID_NUMBER,
                "价格指数须大于0且不超过1000（上年同期=100）",
            );
        }
        if let Some(g) = cells.real_growth.filter(|g| !(*g > -100.0 && *g <= 10_000.0)) {
            error(columns::REAL_GROWTH, g.to_string(), codes::INVALID_NUMBER, "实际增速须大于-100%且不超过10000%");
        }
        if errors.len() > before {
            return None;
        }
        let observation = Observation {
            indicator: indicator?.code.clone(),
            period: period?,
            value: cells.value?,
            price_index: cells.price_index,
            real_growth: cells.real_growth,
        };
        Some(Candidate { row: cells.row, observation, period_text: cells.period.to_owned() })
    }

    fn check_candidates(
        &self,
        candidates: Vec<Candidate>,
        mut errors: Vec<RowError>,
    ) -> Result<Vec<Observation>, Vec<RowError>> {
        let mut first_row: BTreeMap<(String, Period), usize> = BTreeMap::new();
        let mut unique = Vec::with_capacity(candidates.len());
        for candidate in candidates {
            let key = (candidate.observation.indicator.clone(), candidate.observation.period);
            if let Some(&earlier) = first_row.get(&key) {
                errors.push(RowError {
                    row: candidate.row,
                    column: columns::PERIOD,
                    value: shorten(&candidate.period_text),
                    code: codes::DUPLICATE_VALUE,
                    reason: format!("与第{earlier}行的指标和时期相同"),
                });
                continue;
            }
            first_row.insert(key, candidate.row);
            unique.push(candidate);
        }
        self.check_cumulative_order(&unique, &mut errors);
        if errors.is_empty() {
            Ok(unique.into_iter().map(|c| c.observation).collect())
        } else {
            errors.sort_by_key(|e| (e.row, column_rank(e.column)));
            errors.truncate(MAX_ROW_ERRORS);
            Err(errors)
        }
    }

    /// Within a year, a cumulative indicator's value may not fall as the span
    /// grows: a 1-6月 value below the 一季度 value means the periods were
    /// mixed up. Checked over the held values with the new rows laid over them.
    fn check_cumulative_order(&self, candidates: &[Candidate], errors: &mut Vec<RowError>) {
        let mut merged: BTreeMap<(&str, i32, u8), (f64, Option<usize>)> = BTreeMap::new();
        for ((code, period), o) in &self.values {
            merged.insert((code.as_str(), period.year, period.months), (o.value, None));
        }
        for c in candidates {
            let o = &c.observation;
            merged.insert((o.indicator.as_str(), o.period.year, o.period.months), (o.value, Some(c.row)));
        }
        let entries: Vec<_> = merged.iter().collect();
        for pair in entries.windows(2) {
            let [((code, year, months_a), (a, row_a)), ((code_b, year_b, months_b), (b, row_b))] = pair else {
                continue;
            };
            let cumulative = self.catalog.get(code).is_some_and(Indicator::is_cumulative);
            if code != code_b || year != year_b || !cumulative || *b >= *a || *a < 0.0 {
                continue;
            }
            let Some(row) = row_b.or(*row_a) else { continue };
            let shorter = Period { year: *year, months: *months_a };
            let longer = Period { year: *year, months: *months_b };
            errors.push(RowError {
                row,
                column: columns::PERIOD,
                value: longer.key(),
                code: codes::PERIOD_OUT_OF_ORDER,
                reason: format!(
                    "累计值{}小于{}的{}，时期顺序可能有误",
                    format_number(*b),
                    shorter.month_label(),
                    format_number(*a)
                ),
            });
        }
    }
}

/// Parses a numeric cell. `None` is an error already pushed; `Some(None)`
/// an empty optional cell.
fn parse_cell(
    text: &str,
    column: &'static str,
    optional: bool,
    row: usize,
    errors: &mut Vec<RowError>,
) -> Option<Option<f64>> {
    let trimmed = text.trim();
    if trimmed.is_empty() && optional {
        return Some(None);
    }
    match parse_number(trimmed) {
        Ok(number) => Some(Some(number)),
        Err(reason) => {
            errors.push(RowError { row, column, value: shorten(text), code: codes::INVALID_NUMBER, reason });
            None
        }
    }
}

/// A plain decimal number, thousands separators allowed: `2,527.54`, `-3.2`.
fn parse_number(text: &str) -> Result<f64, String> {
    if text.is_empty() {
        return Err("不能为空".into());
    }
    if text.chars().count() > MAX_NUMBER_CHARS {
        return Err(format!("数字不能超过{MAX_NUMBER_CHARS}个字符"));
    }
    let plain: String = text.chars().filter(|&c| c != ',').collect();
    let body = plain.strip_prefix(['-', '+']).unwrap_or(&plain);
    let well_formed = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|&b| b == b'.').count() <= 1
        && body.bytes().any(|b| b.is_ascii_digit());
    let number = if well_formed { plain.parse::<f64>().ok() } else { None };
    match number {
        Some(n) if n.is_finite() && n.abs() <= MAX_MAGNITUDE => Ok(n),
        Some(_) => Err("数值超出范围".into()),
        None => Err("不是数字".into()),
    }
}

/// Errors of one row are listed in the sheet's column order.
fn column_rank(column: &str) -> usize {
    let order = [columns::INDICATOR, columns::PERIOD, columns::VALUE, columns::PRICE_INDEX, columns::REAL_GROWTH];
    order.iter().position(|c| *c == column).unwrap_or(order.len())
}

fn format_number(value: f64) -> String {
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().filter(|c| !c.is_control()).take(40).collect();
    if text.chars().count() > 40 {
        short.push('…');
    }
    short
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    area: String,
    #[serde(default)]
    indicator: Vec<Indicator>,
    #[serde(default)]
    series: Vec<RawSeries>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeries {
    indicator: String,
    #[serde(default)]
    values: Vec<RawValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValue {
    period: String,
    value: f64,
    #[serde(default)]
    price_index: Option<f64>,
    #[serde(default)]
    real_growth: Option<f64>,
}

/// Parses and checks a data file in the format of `data/statistics_demo.toml`:
/// `area`, `[[indicator]]` blocks (see [`Indicator`]) and `[[series]]` blocks,
/// each an `indicator` code and `values = [{ period, value, price_index?,
/// real_growth? }, …]`. Values pass the same checks as imported rows; the
/// numbering in messages counts values through the file from 1.
pub fn parse_statistics_toml(text: &str) -> Result<Dataset, DomainError> {
    if text.len() > MAX_STATISTICS_BYTES {
        return Err(invalid(format!("统计数据文件不能超过{}KB", MAX_STATISTICS_BYTES / 1024)));
    }
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| text.get(..span.start).map_or(1, |before| before.matches('\n').count() + 1));
        let detail = e.message().trim().to_owned();
        match line {
            Some(line) => invalid(format!("统计数据文件第{line}行格式错误：{detail}")),
            None => invalid(format!("统计数据文件格式错误：{detail}")),
        }
    })?;
    let mut dataset = Dataset::new(&raw.area, Catalog::new(raw.indicator)?)?;
    let values = raw.series.iter().flat_map(|s| s.values.iter().map(move |v| (s.indicator.as_str(), v)));
    let mut errors = Vec::new();
    let mut candidates = Vec::new();
    for (i, (indicator, value)) in values.enumerate() {
        if i >= MAX_ROWS {
            return Err(invalid(format!("统计数据文件最多{MAX_ROWS}个数值")));
        }
        let cells = Cells {
            row: i + 1,
            indicator,
            period: &value.period,
            value: Some(value.value),
            price_index: value.price_index,
            real_growth: value.real_growth,
        };
        candidates.extend(dataset.check_cells(cells, &mut errors));
    }
    let observations = dataset.check_candidates(candidates, errors).map_err(|errors| file_errors(&errors))?;
    dataset.insert_checked(observations);
    Ok(dataset)
}

fn file_errors(errors: &[RowError]) -> DomainError {
    let shown: Vec<String> = errors
        .iter()
        .take(5)
        .map(|e| format!("第{}个数值（{}“{}”）：{}", e.row, e.column, e.value, e.reason))
        .collect();
    let more = if errors.len() > 5 { format!("；另有{}处错误", errors.len() - 5) } else { String::new() };
    let code = errors.first().map_or(codes::INVALID_STATISTICS, |e| e.code);
    DomainError::invalid(code, format!("统计数据有误：{}{more}", shown.join("；")))
}

fn invalid(message: String) -> DomainError {
    DomainError::invalid(codes::INVALID_STATISTICS, message)
}
