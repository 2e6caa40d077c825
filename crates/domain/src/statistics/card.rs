//! What the panel shows: growth rates, shares and the add-up check per
//! indicator and period, and each card's sentence in the report's style.

use serde::Serialize;

use super::compute::{
    add_up_tolerance, format_amount, format_percent, growth_percent, growth_phrase, real_growth_percent, share_percent,
    two_year_average_percent,
};
use super::dataset::Dataset;
use super::period::Period;

/// One card of the panel (数说).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    pub indicator: String,
    pub name: String,
    pub period: Period,
    pub unit: String,
    pub value: f64,
    /// Whether the card prints the value.
    pub publish_value: bool,
    /// Year-on-year growth in percent.
    pub growth: Option<f64>,
    /// Real growth in percent.
    pub real_growth: Option<f64>,
    /// Two-year average growth in percent.
    pub two_year_average: Option<f64>,
    /// Share of the parent in percent.
    pub share: Option<f64>,
    pub parent_name: Option<String>,
    /// "前三季度，全市地区生产总值为2527.54亿元，同比增长11.5%，两年平均增长5.1%。"
    pub sentence: String,
}

/// Whether a total's parts add up to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddUpStatus {
    /// Within rounding.
    Consistent,
    /// Off by more than rounding explains: flagged.
    Mismatch,
    /// A part has no value for the period.
    Incomplete,
}

/// The check that a total equals the sum of its parts (within rounding).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddUpCheck {
    pub total: String,
    pub period: Period,
    pub total_value: f64,
    /// Sum of the parts that have a value.
    pub parts_sum: f64,
    /// Total minus the parts' sum.
    pub difference: f64,
    pub tolerance: f64,
    pub missing_parts: Vec<String>,
    pub status: AddUpStatus,
}

impl Dataset {
    /// Year-on-year growth from the same period a year earlier.
    pub fn growth(&self, indicator: &str, period: Period) -> Option<f64> {
        growth_percent(self.value(indicator, period)?, self.value(indicator, period.years_before(1)?)?)
    }

    /// Real growth: a published real rate as given, else computed from the
    /// period's price index, else none.
    pub fn real_growth(&self, indicator: &str, period: Period) -> Option<f64> {
        let observation = self.observation(indicator, period)?;
        if let Some(given) = observation.real_growth {
            return Some(given);
        }
        let previous = self.value(indicator, period.years_before(1)?)?;
        real_growth_percent(observation.value, previous, observation.price_index?)
    }

    /// Two-year average growth from the same period two years earlier.
    pub fn two_year_average(&self, indicator: &str, period: Period) -> Option<f64> {
        two_year_average_percent(self.value(indicator, period)?, self.value(indicator, period.years_before(2)?)?)
    }

    /// Share of the parent indicator in the same period.
    pub fn share(&self, indicator: &str, period: Period) -> Option<f64> {
        let parent = self.catalog().get(indicator)?.parent.as_deref()?;
        share_percent(self.value(indicator, period)?, self.value(parent, period)?)
    }

    /// The add-up check of every declared total, for every period it has a value.
    pub fn add_up_checks(&self) -> Vec<AddUpCheck> {
        let mut checks = Vec::new();
        for total in self.catalog().indicators().iter().filter(|i| i.sum_of_parts) {
            let parts = self.catalog().parts_of(&total.code);
            for observation in self.observations().filter(|o| o.indicator == total.code) {
                let period = observation.period;
                let values: Vec<(&str, Option<f64>)> =
                    parts.iter().map(|p| (p.code.as_str(), self.value(&p.code, period))).collect();
                let parts_sum: f64 = values.iter().filter_map(|(_, v)| *v).sum();
                let missing_parts: Vec<String> =
                    values.iter().filter(|(_, v)| v.is_none()).map(|(c, _)| (*c).to_owned()).collect();
                let difference = observation.value - parts_sum;
                let tolerance = add_up_tolerance(parts.len(), total.decimals());
                let status = if !missing_parts.is_empty() {
                    AddUpStatus::Incomplete
                } else if difference.abs() <= tolerance {
                    AddUpStatus::Consistent
                } else {
                    AddUpStatus::Mismatch
                };
                checks.push(AddUpCheck {
                    total: total.code.clone(),
                    period,
                    total_value: observation.value,
                    parts_sum,
                    difference,
                    tolerance,
                    missing_parts,
                    status,
                });
            }
        }
        checks
    }

    /// The card of one indicator for one period, if it has a value then.
    pub fn card(&self, indicator: &str, period: Period) -> Option<Card> {
        let definition = self.catalog().get(indicator)?;
        let value = self.value(indicator, period)?;
        let parent_name =
            definition.parent.as_deref().and_then(|p| self.catalog().get(p)).map(|parent| parent.name.clone());
        let mut card = Card {
            indicator: definition.code.clone(),
            name: definition.name.clone(),
            period,
            unit: definition.unit.clone(),
            value,
            publish_value: definition.publish_value,
            growth: self.growth(indicator, period),
            real_growth: self.real_growth(indicator, period),
            two_year_average: self.two_year_average(indicator, period),
            share: self.share(indicator, period),
            parent_name,
            sentence: String::new(),
        };
        card.sentence = self.sentence(&card, definition.decimals(), definition.show_share);
        Some(card)
    }

    /// Every card for a period, in the catalogue's order.
    pub fn cards(&self, period: Period) -> Vec<Card> {
        self.catalog().indicators().iter().filter_map(|i| self.card(&i.code, period)).collect()
    }

    /// "前三季度，全市{name}为{value}{unit}，同比增长…，扣除价格因素实际增长…，
    /// 两年平均增长…，占{parent}的比重为…。" with the parts it has.
    fn sentence(&self, card: &Card, decimals: u8, show_share: bool) -> String {
        let mut clauses: Vec<String> = Vec::new();
        if let Some(growth) = card.growth {
            clauses.push(growth_phrase("同比", growth));
        }
        if let Some(real) = card.real_growth {
            clauses.push(growth_phrase("扣除价格因素实际", real));
        }
        if let Some(average) = card.two_year_average {
            clauses.push(growth_phrase("两年平均", average));
        }
        if let (true, Some(share), Some(parent)) = (show_share, card.share, &card.parent_name) {
            clauses.push(format!("占{parent}的比重为{}%", format_percent(share)));
        }
        let subject = format!("{}，{}{}", card.period.label(), self.area(), card.name);
        let body = if card.publish_value {
            let head = format!("{subject}为{}{}", format_amount(card.value, decimals), card.unit);
            std::iter::once(head).chain(clauses).collect::<Vec<_>>().join("，")
        } else {
            match clauses.split_first() {
                Some((first, rest)) => std::iter::once(format!("{subject}{first}"))
                    .chain(rest.iter().cloned())
                    .collect::<Vec<_>>()
                    .join("，"),
                None => format!("{subject}暂无上年同期数据"),
            }
        };
        format!("{body}。")
    }
}
