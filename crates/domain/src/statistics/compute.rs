//! The arithmetic of growth rates and shares, and how reports print them.
//! Rates are percentages (11.5 means 11.5 %).

/// Year-on-year growth (同比增长) from the same period a year earlier.
/// None unless the earlier value is positive and both are finite.
pub fn growth_percent(current: f64, previous: f64) -> Option<f64> {
    ratio(current, previous).map(|r| (r - 1.0) * 100.0)
}

/// Real growth (实际增长): nominal growth with prices taken out, from a price
/// index with the same period a year earlier = 100.
pub fn real_growth_percent(current: f64, previous: f64, price_index: f64) -> Option<f64> {
    if !(price_index.is_finite() && price_index > 0.0) {
        return None;
    }
    ratio(current, previous).map(|r| (r / (price_index / 100.0) - 1.0) * 100.0)
}

/// The two-year average growth (两年平均增长): the geometric mean of the two
/// years' growth, sqrt(v_t / v_{t-2}) − 1, from the value two years earlier.
/// None unless both values are positive.
pub fn two_year_average_percent(current: f64, two_years_before: f64) -> Option<f64> {
    let r = ratio(current, two_years_before).filter(|r| *r > 0.0)?;
    Some((r.sqrt() - 1.0) * 100.0)
}

/// A part's share (比重) of its total.
pub fn share_percent(part: f64, total: f64) -> Option<f64> {
    ratio(part, total).map(|r| r * 100.0)
}

/// How far the sum of `parts` published values may stray from their
/// published total by rounding alone: each of the parts and the total is off
/// by at most half a unit of the last printed digit.
pub fn add_up_tolerance(parts: usize, decimals: u8) -> f64 {
    let half_unit = 0.5 * 10f64.powi(-i32::from(decimals));
    (parts as f64 + 1.0) * half_unit
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (numerator.is_finite() && denominator.is_finite() && denominator > 0.0).then(|| numerator / denominator)
}

/// A value with a fixed number of decimals and no thousands separator, as
/// Chinese statistical releases print it: `2527.54`, `44889`.
pub fn format_amount(value: f64, decimals: u8) -> String {
    let text = format!("{:.*}", usize::from(decimals), value);
    strip_negative_zero(text)
}

/// A percentage with one decimal: `11.5`.
pub fn format_percent(value: f64) -> String {
    strip_negative_zero(format!("{value:.1}"))
}

/// A growth clause: `同比增长11.5%`, `同比下降3.2%`, or `同比持平` when it
/// rounds to zero. `subject` is `同比`, `两年平均`, `扣除价格因素实际` ….
pub fn growth_phrase(subject: &str, percent: f64) -> String {
    let magnitude = format_percent(percent.abs());
    if format_percent(percent) == "0.0" {
        format!("{subject}持平")
    } else if percent < 0.0 {
        format!("{subject}下降{magnitude}%")
    } else {
        format!("{subject}增长{magnitude}%")
    }
}

/// `-0.0` and `-0.00` read as zero.
fn strip_negative_zero(text: String) -> String {
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_owned(),
        _ => text,
    }
}
