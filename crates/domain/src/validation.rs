//! Validation and normalisation of the values citizens and staff type in:
//! credit codes, phone numbers, coordinates and free text, plus masking of
//! personal data (脱敏) for views that do not need to see it in full.
//!
//! Every check returns [`DomainError::invalid`] with a stable code and a
//! message in plain Chinese, so the web layer can show it as is.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

// ---------------------------------------------------------------------------
// Unified Social Credit Code
// ---------------------------------------------------------------------------

/// The 31 characters a credit code may use (no I, O, S, V, Z).
const CREDIT_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of the first 17 characters for the check character (GB 32100-2015).
const CREDIT_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A Unified Social Credit Code (统一社会信用代码, GB 32100-2015) that has
/// passed the length, alphabet, division-code and check-character tests.
///
/// Stored upper-case; serialises as a plain string and validates when
/// deserialised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses a credit code, trimming surrounding whitespace and upper-casing
    /// letters first.
    ///
    /// # Errors
    ///
    /// `invalid_credit_code` when the length, a character, the division code
    /// or the check character is wrong; the message says which.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let code = input.trim().to_ascii_uppercase();
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 18 {
            return Err(credit_error(format!("统一社会信用代码长度应为18位，现为{}位", chars.len())));
        }
        let mut values = Vec::with_capacity(18);
        for &c in &chars {
            match credit_value(c) {
                Some(v) => values.push(v),
                None => {
                    return Err(credit_error(format!(
                        "统一社会信用代码含有非法字符「{c}」（只能是数字和除I、O、S、V、Z以外的大写字母）"
                    )));
                }
            }
        }
        if !chars.iter().skip(2).take(6).all(char::is_ascii_digit) {
            return Err(credit_error("统一社会信用代码第3至8位是行政区划码，应为数字"));
        }
        if credit_check_char(&values[..17]) != Some(chars[17]) {
            return Err(credit_error("统一社会信用代码校验位错误，请核对是否抄错"));
        }
        Ok(Self(code))
    }

    /// Builds a valid code from its first 17 characters by appending the
    /// computed check character. Returns `None` when the 17 characters are
    /// not a valid prefix (wrong length, illegal character, non-digit
    /// division code).
    pub fn with_check_char(first17: &str) -> Option<Self> {
        let prefix = first17.trim().to_ascii_uppercase();
        let values: Vec<u32> = prefix.chars().map(credit_value).collect::<Option<_>>()?;
        if values.len() != 17 {
            return None;
        }
        let check = credit_check_char(&values)?;
        Self::parse(&format!("{prefix}{check}")).ok()
    }

    /// The code as an 18-character upper-case string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Characters 3–8: the administrative-division code of the registering
    /// authority (e.g. `350100` for Fuzhou).
    pub fn division_code(&self) -> &str {
        self.0.get(2..8).unwrap_or_default()
    }
}

/// The numeric value of a credit-code character, or `None` if it is not in
/// the alphabet.
fn credit_value(c: char) -> Option<u32> {
    let pos = CREDIT_ALPHABET.iter().position(|&b| char::from(b) == c)?;
    u32::try_from(pos).ok()
}

/// The check character for the given 17 character values.
fn credit_check_char(values: &[u32]) -> Option<char> {
    let sum: u32 = values.iter().zip(CREDIT_WEIGHTS).map(|(v, w)| v * w).sum();
    let index = (31 - sum % 31) % 31;
    CREDIT_ALPHABET.get(usize::try_from(index).ok()?).map(|&b| char::from(b))
}

fn credit_error(message: impl Into<String>) -> DomainError {
    DomainError::invalid("invalid_credit_code", message)
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CreditCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CreditCode {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CreditCode> for String {
    fn from(code: CreditCode) -> Self {
        code.0
    }
}

// ---------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------

/// A Chinese contact phone number (联系电话): either a mobile number,
/// normalised to 11 digits (`13812345678`), or a landline with area code,
/// normalised to `0760-88123456` with an optional extension `-123`.
///
/// Short service numbers such as `12345` are not contact numbers and are
/// rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Parses and normalises a phone number.
    ///
    /// Mobiles may carry a `+86`, `86` or `0086` prefix and spaces or dashes
    /// anywhere. Landlines are an area code (`0` + 2–3 digits), an optional
    /// dash or space, 7–8 digits, and an optional extension written `-123`
    /// or `转123`.
    ///
    /// # Errors
    ///
    /// `invalid_phone` when the input is neither a mobile nor a landline.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DomainError::invalid("invalid_phone", "电话号码不能为空"));
        }
        parse_mobile(s).or_else(|| parse_landline(s)).map(Self).ok_or_else(|| {
            DomainError::invalid(
                "invalid_phone",
                "电话号码格式不正确：应为11位手机号，或带区号的固定电话（如0760-88123456）",
            )
        })
    }

    /// The normalised number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a mobile number (as opposed to a landline).
    pub fn is_mobile(&self) -> bool {
        self.0.starts_with('1')
    }
}

fn is_phone_separator(c: char) -> bool {
    c == ' ' || c == '-'
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `1[3-9]` followed by 9 more digits.
fn is_mobile_digits(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11 && all_digits(s) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

fn parse_mobile(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|&c| !is_phone_separator(c)).collect();
    let digits = if let Some(rest) = compact.strip_prefix('+') {
        rest.strip_prefix("86")?
    } else if let Some(rest) = compact.strip_prefix("0086") {
        rest
    } else if compact.len() == 13 {
        compact.strip_prefix("86")?
    } else {
        compact.as_str()
    };
    is_mobile_digits(digits).then(|| digits.to_string())
}

/// An area code: `0` plus 2–3 digits, never starting `00` (international).
fn is_area_code(s: &str) -> bool {
    (3..=4).contains(&s.len()) && all_digits(s) && s.starts_with('0') && !s.starts_with("00")
}

fn is_local_number(s: &str) -> bool {
    (7..=8).contains(&s.len()) && all_digits(s)
}

fn is_extension(s: &str) -> bool {
    (1..=6).contains(&s.len()) && all_digits(s)
}

/// Splits a landline written without separator (`076088123456`). Area codes
/// `010` and `02x` have three digits, all others four.
fn split_joined_landline(s: &str) -> Option<(&str, &str)> {
    if !(10..=12).contains(&s.len()) || !all_digits(s) {
        return None;
    }
    let area_len = if matches!(s.as_bytes().get(1), Some(b'1' | b'2')) { 3 } else { 4 };
    let (area, number) = s.split_at(area_len);
    (is_area_code(area) && is_local_number(number)).then_some((area, number))
}

fn parse_landline(s: &str) -> Option<String> {
    let (main, zhuan_ext) = match s.split_once('转') {
        Some((main, ext)) => (main, Some(ext.trim())),
        None => (s, None),
    };
    let groups: Vec<&str> = main.split(is_phone_separator).filter(|g| !g.is_empty()).collect();
    let (area, number, ext) = match (groups.as_slice(), zhuan_ext) {
        ([joined], ext) => {
            let (area, number) = split_joined_landline(joined)?;
            (area, number, ext)
        }
        ([area, number], ext) if is_area_code(area) => (*area, *number, ext),
        ([joined, ext], None) => {
            let (area, number) = split_joined_landline(joined)?;
            (area, number, Some(*ext))
        }
        ([area, number, ext], None) => (*area, *number, Some(*ext)),
        _ => return None,
    };
    if !is_area_code(area) || !is_local_number(number) {
        return None;
    }
    match ext {
        None => Some(format!("{area}-{number}")),
        Some(ext) if is_extension(ext) => Some(format!("{area}-{number}-{ext}")),
        Some(_) => None,
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Phone {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Phone {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> Self {
        phone.0
    }
}

// ---------------------------------------------------------------------------
// Coordinates
// ---------------------------------------------------------------------------

/// The geodetic datum a coordinate pair was given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Datum {
    /// WGS-84, as reported by GPS receivers.
    Wgs84,
    /// GCJ-02 (国测局坐标), used by Amap, Tencent and most Chinese map services.
    Gcj02,
    /// BD-09, Baidu Maps' further offset of GCJ-02.
    Bd09,
}

/// A location, always stored in WGS-84 and rounded to 7 decimal places
/// (about 1 cm).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    /// Checks a coordinate pair given in `datum` and converts it to WGS-84.
    ///
    /// # Errors
    ///
    /// `invalid_coordinates` for NaN or infinite values, a latitude outside
    /// [-90, 90] or a longitude outside [-180, 180].
    pub fn new(lat: f64, lon: f64, datum: Datum) -> Result<Self, DomainError> {
        check_range(lat, lon)?;
        let (lat, lon) = match datum {
            Datum::Wgs84 => (lat, lon),
            Datum::Gcj02 => gcj02_to_wgs84(lat, lon),
            Datum::Bd09 => {
                let (glat, glon) = bd09_to_gcj02(lat, lon);
                gcj02_to_wgs84(glat, glon)
            }
        };
        check_range(lat, lon)?;
        Ok(Self { lat: round7(lat), lon: round7(lon) })
    }

    /// This point in GCJ-02 as `(lat, lon)`, for display on Chinese maps.
    pub fn to_gcj02(&self) -> (f64, f64) {
        wgs84_to_gcj02(self.lat, self.lon)
    }

    /// This point in BD-09 as `(lat, lon)`, for display on Baidu Maps.
    pub fn to_bd09(&self) -> (f64, f64) {
        let (lat, lon) = self.to_gcj02();
        gcj02_to_bd09(lat, lon)
    }
}

fn check_range(lat: f64, lon: f64) -> Result<(), DomainError> {
    if !lat.is_finite() || !lon.is_finite() {
        return Err(coord_error("坐标不是有效的数字"));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(coord_error("纬度应在-90到90之间"));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(coord_error("经度应在-180到180之间"));
    }
    Ok(())
}

fn coord_error(message: &str) -> DomainError {
    DomainError::invalid("invalid_coordinates", message)
}

fn round7(v: f64) -> f64 {
    (v * 1e7).round() / 1e7
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// Eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// The constant of the BD-09 transform.
const X_PI: f64 = PI * 3000.0 / 180.0;

/// Outside this box GCJ-02 is defined to equal WGS-84.
fn out_of_china(lat: f64, lon: f64) -> bool {
    !(72.004..=137.8347).contains(&lon) || !(0.8293..=55.8271).contains(&lat)
}

fn gcj_delta_lat(x: f64, y: f64) -> f64 {
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn gcj_delta_lon(x: f64, y: f64) -> f64 {
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The standard WGS-84 → GCJ-02 transform; returns `(lat, lon)`.
fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if out_of_china(lat, lon) {
        return (lat, lon);
    }
    let dlat = gcj_delta_lat(lon - 105.0, lat - 35.0);
    let dlon = gcj_delta_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (lat + dlat, lon + dlon)
}

/// GCJ-02 → WGS-84 by fixed-point iteration on the forward transform.
fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if out_of_china(lat, lon) {
        return (lat, lon);
    }
    let (mut wlat, mut wlon) = (lat, lon);
    for _ in 0..30 {
        let (glat, glon) = wgs84_to_gcj02(wlat, wlon);
        let (dlat, dlon) = (glat - lat, glon - lon);
        wlat -= dlat;
        wlon -= dlon;
        if dlat.abs() < 1e-10 && dlon.abs() < 1e-10 {
            break;
        }
    }
    (wlat, wlon)
}

/// GCJ-02 → BD-09; returns `(lat, lon)`.
fn gcj02_to_bd09(lat: f64, lon: f64) -> (f64, f64) {
    let z = (lon * lon + lat * lat).sqrt() + 0.000_02 * (lat * X_PI).sin();
    let theta = lat.atan2(lon) + 0.000_003 * (lon * X_PI).cos();
    (z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
}

/// BD-09 → GCJ-02; returns `(lat, lon)`.
fn bd09_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    let x = lon - 0.0065;
    let y = lat - 0.006;
    let z = (x * x + y * y).sqrt() - 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000_003 * (x * X_PI).cos();
    (z * theta.sin(), z * theta.cos())
}

// ---------------------------------------------------------------------------
// Masking (脱敏)
// ---------------------------------------------------------------------------

/// Keeps the first `head` and last `tail` chars and stars the middle; strings
/// too short to keep anything hidden are starred entirely.
fn mask_middle(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    if n <= head + tail {
        return "*".repeat(n);
    }
    chars.iter().enumerate().map(|(i, &c)| if i < head || i >= n - tail { c } else { '*' }).collect()
}

/// Masks a phone number: a mobile becomes `138****5678`, a landline keeps its
/// area code and last 4 digits (`0760-****3456`, extension kept). Anything
/// that is not a valid phone keeps only its last 2 characters (or is starred
/// entirely if it has at most 2).
pub fn mask_phone(s: &str) -> String {
    match Phone::parse(s) {
        Ok(phone) if phone.is_mobile() => mask_middle(phone.as_str(), 3, 4),
        Ok(phone) => {
            let mut parts = phone.as_str().split('-');
            let area = parts.next().unwrap_or_default();
            let number = parts.next().unwrap_or_default();
            let masked = mask_middle(number, 0, 4);
            match parts.next() {
                Some(ext) => format!("{area}-{masked}-{ext}"),
                None => format!("{area}-{masked}"),
            }
        }
        Err(_) => mask_middle(s.trim(), 0, 2),
    }
}

/// Masks an e-mail address: keeps the first character of the name and the domain
/// (`li.ming@example.gov.cn` → `l***@example.gov.cn`). Anything without `@` keeps only its
/// last 2 characters.
pub fn mask_email(s: &str) -> String {
    let s = s.trim();
    match s.rsplit_once('@') {
        Some((name, domain)) => {
            let first: String = name.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => mask_middle(s, 0, 2),
    }
}

/// Masks a person's name: keeps the first character and replaces the rest
/// with one `*` each, at most three (`张三` → `张*`, `欧阳娜娜` → `欧***`,
/// `John Smith` → `J***`). A one-character name becomes `*`.
pub fn mask_name(s: &str) -> String {
    let mut chars = s.trim().chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let rest = chars.count();
    if rest == 0 {
        return "*".to_string();
    }
    format!("{first}{}", "*".repeat(rest.min(3)))
}

/// Masks a resident ID number (居民身份证号): keeps the first 4 and last 4
/// characters (`4406**********1234`).
pub fn mask_id_number(s: &str) -> String {
    mask_middle(s.trim(), 4, 4)
}

/// Masks a credit code: keeps the first 4 and last 4 characters.
pub fn mask_credit_code(s: &str) -> String {
    mask_middle(s.trim(), 4, 4)
}

// Free text shown to the public is masked by `mashangban_text::mask`, the one masking function for
// public text (e-mail, phones in any width, ID and bank card numbers).

// ---------------------------------------------------------------------------
// Text fields
// ---------------------------------------------------------------------------

/// Checks a required text field: trims it, normalises `\r\n` to `\n`, and
/// rejects it when empty, longer than `max_chars` characters (Unicode scalar
/// values), or containing control characters other than `\n`, `\r`, `\t`.
///
/// # Errors
///
/// `text_required`, `text_too_long` or `invalid_text`, with a message naming
/// the field, e.g. `「标题」不能为空`.
pub fn required_text(field_label: &str, value: &str, max_chars: usize) -> Result<String, DomainError> {
    let text = value.trim().replace("\r\n", "\n");
    if text.is_empty() {
        return Err(DomainError::invalid("text_required", format!("「{field_label}」不能为空")));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(DomainError::invalid("invalid_text", format!("「{field_label}」含有不允许的控制字符")));
    }
    if text.chars().count() > max_chars {
        return Err(DomainError::invalid("text_too_long", format!("「{field_label}」不能超过{max_chars}个字")));
    }
    Ok(text)
}

/// Like [`required_text`], but an absent, empty or all-whitespace value is
/// `None` instead of an error.
///
/// # Errors
///
/// As [`required_text`], except that emptiness is not an error.
pub fn optional_text(field_label: &str, value: Option<&str>, max_chars: usize) -> Result<Option<String>, DomainError> {
    match value {
        Some(v) if !v.trim().is_empty() => required_text(field_label, v, max_chars).map(Some),
        _ => Ok(None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code_of<T>(r: Result<T, DomainError>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.code,
        }
    }

    // --- credit code ---

    #[test]
    fn credit_code_accepts_valid_examples() {
        for s in ["91350100M000100Y43", "91110108551385082Q"] {
            let c = CreditCode::parse(s).unwrap();
            assert_eq!(c.as_str(), s);
            assert_eq!(c.to_string(), s);
        }
        assert_eq!(CreditCode::parse("91350100M000100Y43").unwrap().division_code(), "350100");
    }

    #[test]
    fn credit_code_trims_and_uppercases() {
        let c = CreditCode::parse("  91110108551385082q \n").unwrap();
        assert_eq!(c.as_str(), "91110108551385082Q");
    }

    #[test]
    fn credit_code_rejects_with_specific_messages() {
        let e = CreditCode::parse("91350100M000100Y4A").unwrap_err();
        assert_eq!(e.code, "invalid_credit_code");
        assert!(e.message.contains("校验位错误"), "{}", e.message);

        let e = CreditCode::parse("91350100M000100Y4").unwrap_err();
        assert!(e.message.contains("长度应为18位"), "{}", e.message);

        let e = CreditCode::parse("91350100M000100I43").unwrap_err();
        assert!(e.message.contains("含有非法字符"), "{}", e.message);

        let e = CreditCode::parse("913501A0M000100Y43").unwrap_err();
        assert!(e.message.contains("行政区划码"), "{}", e.message);

        assert_eq!(code_of(CreditCode::parse("")), "invalid_credit_code");
        assert_eq!(code_of(CreditCode::parse("９1350100M000100Y43")), "invalid_credit_code");
    }

    #[test]
    fn credit_code_check_char_computation() {
        assert_eq!(CreditCode::with_check_char("91350100M000100Y4").unwrap().as_str(), "91350100M000100Y43");
        assert_eq!(CreditCode::with_check_char("91110108551385082").unwrap().as_str(), "91110108551385082Q");
        for prefix in ["12442000MB2C3D4E5", "52442000000000000", "934420007654321XY", "11000000000000000"] {
            let c = CreditCode::with_check_char(prefix).unwrap();
            assert_eq!(&c.as_str()[..17], prefix);
            assert_eq!(CreditCode::parse(c.as_str()).unwrap(), c);
        }
        assert!(CreditCode::with_check_char("9135010").is_none());
        assert!(CreditCode::with_check_char("91350100M000100Y43").is_none());
        assert!(CreditCode::with_check_char("91350100M000100O4").is_none());
        assert!(CreditCode::with_check_char("91A50100M000100Y4").is_none());
    }

    #[test]
    fn credit_code_serde_is_a_validated_string() {
        let c = CreditCode::parse("91350100M000100Y43").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"91350100M000100Y43\"");
        let back: CreditCode = serde_json::from_str("\"91350100m000100y43\"").unwrap();
        assert_eq!(back, c);
        assert!(serde_json::from_str::<CreditCode>("\"91350100M000100Y4A\"").is_err());
        assert_eq!("91350100M000100Y43".parse::<CreditCode>().unwrap(), c);
    }

    // --- phone ---

    #[test]
    fn phone_accepts_mobiles_in_common_forms() {
        for s in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "8613812345678",
            "0086-138-1234-5678",
            " 1381234 5678 ",
        ] {
            let p = Phone::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(p.as_str(), "13812345678", "{s}");
            assert!(p.is_mobile());
        }
        assert_eq!(Phone::parse("19912345678").unwrap().as_str(), "19912345678");
    }

    #[test]
    fn phone_accepts_landlines() {
        for (input, want) in [
            ("0760-88123456", "0760-88123456"),
            ("0760 88123456", "0760-88123456"),
            ("076088123456", "0760-88123456"),
            ("010-12345678", "010-12345678"),
            ("01012345678", "010-12345678"),
            ("020 8123456", "020-8123456"),
            ("07608812345", "0760-8812345"),
            ("0760-88123456-123", "0760-88123456-123"),
            ("0760-88123456转123", "0760-88123456-123"),
            ("076088123456转 8", "0760-88123456-8"),
            ("076088123456-123", "0760-88123456-123"),
        ] {
            let p = Phone::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.as_str(), want, "{input}");
            assert!(!p.is_mobile());
            assert_eq!(p.to_string(), want);
        }
    }

    #[test]
    fn phone_rejects_service_numbers_and_garbage() {
        for s in [
            "",
            "   ",
            "12345",
            "12315",
            "12366",
            "110",
            "95588",
            "12812345678",
            "1381234567",
            "138123456789",
            "+1 138 1234 5678",
            "0760-123456",
            "0760-123456789",
            "00760-88123456",
            "760-88123456",
            "0760-88123456-1234567",
            "0760-88123456转",
            "phone",
            "138一二三四5678",
            "0760-8812-3456",
        ] {
            assert_eq!(code_of(Phone::parse(s)), "invalid_phone", "{s:?}");
        }
    }

    #[test]
    fn phone_serde_is_a_validated_string() {
        let p: Phone = serde_json::from_str("\"138-1234-5678\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"13812345678\"");
        assert!(serde_json::from_str::<Phone>("\"12345\"").is_err());
        assert_eq!("0760-88123456".parse::<Phone>().unwrap().as_str(), "0760-88123456");
    }

    // --- coordinates ---

    #[test]
    fn geopoint_validates_ranges() {
        for (lat, lon) in
            [(f64::NAN, 113.0), (22.0, f64::INFINITY), (90.0001, 0.0), (-91.0, 0.0), (0.0, 180.5), (0.0, -181.0)]
        {
            for datum in [Datum::Wgs84, Datum::Gcj02, Datum::Bd09] {
                assert_eq!(code_of(GeoPoint::new(lat, lon, datum)), "invalid_coordinates");
            }
        }
        let p = GeoPoint::new(90.0, -180.0, Datum::Wgs84).unwrap();
        assert_eq!((p.lat, p.lon), (90.0, -180.0));
    }

    #[test]
    fn geopoint_rounds_to_seven_places() {
        let p = GeoPoint::new(22.517_612_345_678, 113.392_612_345_678, Datum::Wgs84).unwrap();
        assert_eq!(p, GeoPoint { lat: 22.517_612_3, lon: 113.392_612_3 });
    }

    #[test]
    fn gcj_and_bd_round_trip_in_zhongshan() {
        let (lat, lon) = (22.5176, 113.3926);
        let (glat, glon) = wgs84_to_gcj02(lat, lon);
        // The GCJ-02 offset is a few hundred metres, not zero and not huge.
        let offset = ((glat - lat).powi(2) + (glon - lon).powi(2)).sqrt();
        assert!(offset > 1e-3 && offset < 1e-2, "offset {offset}");

        let from_gcj = GeoPoint::new(glat, glon, Datum::Gcj02).unwrap();
        assert!((from_gcj.lat - lat).abs() < 1e-5 && (from_gcj.lon - lon).abs() < 1e-5, "{from_gcj:?}");

        let (blat, blon) = gcj02_to_bd09(glat, glon);
        let from_bd = GeoPoint::new(blat, blon, Datum::Bd09).unwrap();
        assert!((from_bd.lat - lat).abs() < 1e-5 && (from_bd.lon - lon).abs() < 1e-5, "{from_bd:?}");

        let wgs = GeoPoint::new(lat, lon, Datum::Wgs84).unwrap();
        assert_eq!(wgs.to_gcj02(), (glat, glon));
        let (b2lat, b2lon) = wgs.to_bd09();
        assert!((b2lat - blat).abs() < 1e-9 && (b2lon - blon).abs() < 1e-9);
    }

    #[test]
    fn gcj_equals_wgs_outside_china() {
        let p = GeoPoint::new(51.5007, -0.1246, Datum::Gcj02).unwrap();
        assert_eq!((p.lat, p.lon), (51.5007, -0.1246));
        assert_eq!(p.to_gcj02(), (51.5007, -0.1246));
    }

    #[test]
    fn datum_serde_is_lowercase() {
        assert_eq!(serde_json::to_string(&Datum::Wgs84).unwrap(), "\"wgs84\"");
        assert_eq!(serde_json::to_string(&Datum::Gcj02).unwrap(), "\"gcj02\"");
        assert_eq!(serde_json::from_str::<Datum>("\"bd09\"").unwrap(), Datum::Bd09);
        let p: GeoPoint = serde_json::from_str(r#"{"lat":22.5,"lon":113.4}"#).unwrap();
        assert_eq!(p, GeoPoint { lat: 22.5, lon: 113.4 });
    }

    // --- masking ---

    #[test]
    fn mask_phone_examples() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+86 138-1234-5678"), "138****5678");
        assert_eq!(mask_phone("0760-88123456"), "0760-****3456");
        assert_eq!(mask_phone("020-8123456"), "020-***3456");
        assert_eq!(mask_phone("0760-88123456转123"), "0760-****3456-123");
        assert_eq!(mask_phone("12345"), "***45");
        assert_eq!(mask_phone("电话号码"), "**号码");
        assert_eq!(mask_phone("12"), "**");
        assert_eq!(mask_phone(""), "");
    }

    #[test]
    fn mask_email_examples() {
        assert_eq!(mask_email("li.ming@example.gov.cn"), "l***@example.gov.cn");
        assert_eq!(mask_email(" 张@例子.cn "), "张***@例子.cn");
        assert_eq!(mask_email("@example.cn"), "***@example.cn");
        assert_eq!(mask_email("no-at-sign"), "********gn");
    }

    #[test]
    fn mask_name_examples() {
        assert_eq!(mask_name("张"), "*");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("王小明"), "王**");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("阿卜杜热合曼·艾力"), "阿***");
        assert_eq!(mask_name(" John Smith "), "J***");
        assert_eq!(mask_name("Li"), "L*");
        assert_eq!(mask_name(""), "");
    }

    #[test]
    fn mask_id_and_credit_code_examples() {
        assert_eq!(mask_id_number("440620199001011234"), "4406**********1234");
        assert_eq!(mask_id_number("44062019900101123X"), "4406**********123X");
        assert_eq!(mask_id_number("1234"), "****");
        assert_eq!(mask_credit_code("91350100M000100Y43"), "9135**********0Y43");
        assert_eq!(mask_credit_code("  91110108551385082Q "), "9111**********082Q");
    }

    fn credit_chars(values: &[usize]) -> String {
        values.iter().map(|&v| char::from(CREDIT_ALPHABET[v])).collect()
    }

    proptest! {
        #[test]
        fn with_check_char_always_parses(
            head in prop::collection::vec(0usize..31, 2),
            division in "[0-9]{6}",
            tail in prop::collection::vec(0usize..31, 9),
        ) {
            let prefix = format!("{}{division}{}", credit_chars(&head), credit_chars(&tail));
            let code = CreditCode::with_check_char(&prefix);
            prop_assert!(code.is_some());
            let code = code.unwrap();
            prop_assert_eq!(CreditCode::parse(code.as_str()), Ok(code.clone()));
            prop_assert!(code.as_str().starts_with(&prefix));
        }

        #[test]
        fn parse_accepts_iff_check_char_matches(values in prop::collection::vec(0usize..31, 18)) {
            let s = credit_chars(&values);
            let division_ok = s[2..8].bytes().all(|b| b.is_ascii_digit());
            let check_ok = CreditCode::with_check_char(&s[..17]).is_some_and(|c| c.as_str() == s);
            let parsed = CreditCode::parse(&s);
            prop_assert_eq!(parsed.is_ok(), division_ok && check_ok);
            if division_ok {
                let expected = credit_check_char(&values[..17].iter().map(|&v| v as u32).collect::<Vec<_>>());
                prop_assert_eq!(parsed.is_ok(), expected == s.chars().last());
            }
        }

        #[test]
        fn parse_with_digit_division_accepts_iff_check_char_matches(
            head in prop::collection::vec(0usize..31, 2),
            division in prop::collection::vec(0usize..10, 6),
            tail in prop::collection::vec(0usize..31, 10),
        ) {
            let values: Vec<usize> = head.into_iter().chain(division).chain(tail).collect();
            let s = credit_chars(&values);
            let weighted: usize = values[..17].iter().zip(CREDIT_WEIGHTS).map(|(&v, w)| v * w as usize).sum();
            let expected = (31 - weighted % 31) % 31;
            prop_assert_eq!(CreditCode::parse(&s).is_ok(), values[17] == expected);
        }

        #[test]
        fn mobile_parse_normalises_any_grouping(mobile in "1[3-9][0-9]{9}", seps in prop::collection::vec("[- ]?", 11)) {
            let written: String = mobile.chars().zip(&seps).map(|(c, s)| format!("{s}{c}")).collect();
            let phone = Phone::parse(&written);
            prop_assert!(phone.is_ok(), "{}", written);
            let phone = phone.unwrap();
            prop_assert_eq!(phone.as_str(), mobile.as_str());
            prop_assert!(phone.is_mobile());
        }
    }

    // --- text rules ---

    #[test]
    fn required_text_rules() {
        assert_eq!(required_text("标题", "  路灯不亮  ", 100).unwrap(), "路灯不亮");
        assert_eq!(required_text("内容", "第一行\r\n第二行\t完", 100).unwrap(), "第一行\n第二行\t完");

        let e = required_text("标题", " \u{3000}\n ", 100).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("text_required", "「标题」不能为空"));

        let e = required_text("标题", &"字".repeat(101), 100).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("text_too_long", "「标题」不能超过100个字"));
        assert!(required_text("标题", &"字".repeat(100), 100).is_ok());
        // CRLF counts as one character after normalisation.
        assert!(required_text("内容", "a\r\nb", 3).is_ok());

        assert_eq!(code_of(required_text("标题", "坏\u{0}字", 100)), "invalid_text");
        assert_eq!(code_of(required_text("标题", "坏\u{1b}[31m字", 100)), "invalid_text");
        assert_eq!(code_of(required_text("标题", "坏\u{7f}字", 100)), "invalid_text");
    }

    #[test]
    fn optional_text_rules() {
        assert_eq!(optional_text("备注", None, 10).unwrap(), None);
        assert_eq!(optional_text("备注", Some(""), 10).unwrap(), None);
        assert_eq!(optional_text("备注", Some(" \n\t"), 10).unwrap(), None);
        assert_eq!(optional_text("备注", Some(" 已回访 "), 10).unwrap(), Some("已回访".to_string()));
        assert_eq!(code_of(optional_text("备注", Some("长长长长长"), 4)), "text_too_long");
        assert_eq!(code_of(optional_text("备注", Some("a\u{8}"), 4)), "invalid_text");
    }
}
