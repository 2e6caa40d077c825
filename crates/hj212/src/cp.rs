//! The command parameters (指令参数) CP: the data area between `CP=&&` and `&&`.
//!
//! Items are `key=value`, separated by `,` within a group and `;` between
//! groups, e.g. `DataTime=20160801085857;w01018-Rtd=166.5,w01018-Flag=N`.
//! Keys of the form `code-Suffix` belong to one pollutant (监测因子) and are
//! gathered into a [`Pollutant`]; `DataTime` becomes [`Cp::data_time`]; every
//! other key (QnRtn, ExeRtn, RtdInterval, SystemTime, BeginTime, PolId, …) is
//! kept in order in [`Cp::params`].

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::error::Error;
use crate::time::{Time, format_time, parse_time};

/// The longest text accepted as a number; real values are far shorter.
const MAX_NUMBER_LEN: usize = 32;

/// A data flag (数据标记, HJ 212-2017 table 8): the state of the instrument
/// when the value was produced. The table is extensible, so other single
/// upper-case letters are kept as [`DataFlag::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFlag {
    /// `N`: instrument working normally (在线监控（监测）仪器仪表工作正常).
    Normal,
    /// `F`: instrument stopped (仪器仪表停运).
    Stopped,
    /// `M`: produced during maintenance (仪器仪表处于维护期间产生的数据).
    Maintenance,
    /// `S`: a value set by hand (手工输入的设定值).
    Manual,
    /// `D`: instrument fault (仪器仪表故障).
    Fault,
    /// `C`: instrument calibrating (仪器仪表处于校准状态).
    Calibration,
    /// `T`: sample above the measuring range (仪器仪表采样数值超过测量上限).
    OverRange,
    /// `B`: communication between instrument and data logger failed (仪器仪表与数采仪通讯异常).
    CommunicationFault,
    /// Another upper-case letter, from an extension of the table.
    Other(char),
}

impl DataFlag {
    /// Parses one flag letter; anything but a single upper-case ASCII letter is `bad_field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, Error> {
        let mut chars = value.chars();
        let (Some(letter), None) = (chars.next(), chars.next()) else {
            return Err(Error::field(field, "数据标记应为一个大写字母（N/F/M/S/D/C/T/B）"));
        };
        Ok(match letter {
            'N' => DataFlag::Normal,
            'F' => DataFlag::Stopped,
            'M' => DataFlag::Maintenance,
            'S' => DataFlag::Manual,
            'D' => DataFlag::Fault,
            'C' => DataFlag::Calibration,
            'T' => DataFlag::OverRange,
            'B' => DataFlag::CommunicationFault,
            other if other.is_ascii_uppercase() => DataFlag::Other(other),
            _ => return Err(Error::field(field, "数据标记应为一个大写字母（N/F/M/S/D/C/T/B）")),
        })
    }

    /// The letter on the wire.
    pub fn letter(self) -> char {
        match self {
            DataFlag::Normal => 'N',
            DataFlag::Stopped => 'F',
            DataFlag::Maintenance => 'M',
            DataFlag::Manual => 'S',
            DataFlag::Fault => 'D',
            DataFlag::Calibration => 'C',
            DataFlag::OverRange => 'T',
            DataFlag::CommunicationFault => 'B',
            DataFlag::Other(c) => c,
        }
    }

    /// The standard's description, in Chinese.
    pub fn description(self) -> &'static str {
        match self {
            DataFlag::Normal => "在线监控（监测）仪器仪表工作正常",
            DataFlag::Stopped => "在线监控（监测）仪器仪表停运",
            DataFlag::Maintenance => "在线监控（监测）仪器仪表处于维护期间产生的数据",
            DataFlag::Manual => "手工输入的设定值",
            DataFlag::Fault => "在线监控（监测）仪器仪表故障",
            DataFlag::Calibration => "在线监控（监测）仪器仪表处于校准状态",
            DataFlag::OverRange => "在线监控（监测）仪器仪表采样数值超过测量上限",
            DataFlag::CommunicationFault => "在线监控（监测）仪器仪表与数采仪通讯异常",
            DataFlag::Other(_) => "扩充的数据标记",
        }
    }

    /// True for `N` only: the instrument vouches for the value.
    pub fn is_normal(self) -> bool {
        self == DataFlag::Normal
    }
}

/// The values one pollutant (监测因子, e.g. `w01018` COD) carries in a packet.
/// Real-time data (2011) carries `Rtd`; minute, hour and day data carry
/// `Avg/Min/Max` (and `Cou`, the cumulative discharge).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pollutant {
    /// The pollutant code, e.g. `w01018` (HJ 212-2017 Appendix B) or an older 2005 code.
    pub code: String,
    /// `-Rtd`: real-time value (实时采样数据).
    pub rtd: Option<f64>,
    /// `-Avg`: average over the interval (平均值).
    pub avg: Option<f64>,
    /// `-Min`: minimum over the interval (最小值).
    pub min: Option<f64>,
    /// `-Max`: maximum over the interval (最大值).
    pub max: Option<f64>,
    /// `-Cou`: cumulative value over the interval (累计值), e.g. discharged mass.
    pub cou: Option<f64>,
    /// `-ZsRtd`: real-time value converted to the reference condition (折算实时数据).
    pub zs_rtd: Option<f64>,
    /// `-ZsAvg`: converted average (折算平均值).
    pub zs_avg: Option<f64>,
    /// `-ZsMin`: converted minimum (折算最小值).
    pub zs_min: Option<f64>,
    /// `-ZsMax`: converted maximum (折算最大值).
    pub zs_max: Option<f64>,
    /// `-Flag`: the data flag (数据标记).
    pub flag: Option<DataFlag>,
    /// `-EFlag`: the instrument's own extended flag (设备标记), kept as sent.
    pub eflag: Option<String>,
    /// `-SampleTime`: when the sample was taken (采样时间); an empty value is read as absent.
    pub sample_time: Option<Time>,
    /// Other `code-Suffix` items (e.g. `-RS` running state, `-Info`, `-SN`), in order.
    pub extra: Vec<(String, String)>,
}

/// Which numeric field a suffix names.
#[derive(Clone, Copy)]
enum Num {
    Rtd,
    Avg,
    Min,
    Max,
    Cou,
    ZsRtd,
    ZsAvg,
    ZsMin,
    ZsMax,
}

const NUMERIC: &[(&str, Num)] = &[
    ("Rtd", Num::Rtd),
    ("Avg", Num::Avg),
    ("Min", Num::Min),
    ("Max", Num::Max),
    ("Cou", Num::Cou),
    ("ZsRtd", Num::ZsRtd),
    ("ZsAvg", Num::ZsAvg),
    ("ZsMin", Num::ZsMin),
    ("ZsMax", Num::ZsMax),
];

/// Suffixes with a typed field; [`Pollutant::extra`] may not use them.
const TYPED_SUFFIXES: &[&str] =
    &["Rtd", "Avg", "Min", "Max", "Cou", "ZsRtd", "ZsAvg", "ZsMin", "ZsMax", "Flag", "EFlag", "SampleTime"];

impl Pollutant {
    /// A pollutant with no values yet.
    pub fn new(code: impl Into<String>) -> Self {
        Pollutant { code: code.into(), ..Pollutant::default() }
    }

    fn slot(&mut self, which: Num) -> &mut Option<f64> {
        match which {
            Num::Rtd => &mut self.rtd,
            Num::Avg => &mut self.avg,
            Num::Min => &mut self.min,
            Num::Max => &mut self.max,
            Num::Cou => &mut self.cou,
            Num::ZsRtd => &mut self.zs_rtd,
            Num::ZsAvg => &mut self.zs_avg,
            Num::ZsMin => &mut self.zs_min,
            Num::ZsMax => &mut self.zs_max,
        }
    }

    fn numbers(&self) -> [(&'static str, Option<f64>); 9] {
        [
            ("Rtd", self.rtd),
            ("Min", self.min),
            ("Avg", self.avg),
            ("Max", self.max),
            ("ZsRtd", self.zs_rtd),
            ("ZsMin", self.zs_min),
            ("ZsAvg", self.zs_avg),
            ("ZsMax", self.zs_max),
            ("Cou", self.cou),
        ]
    }

    /// Stores one `code-suffix=value` item; a repeated suffix is `bad_field`.
    fn set(&mut self, key: &str, suffix: &str, value: &str) -> Result<(), Error> {
        let repeated = || Error::field(key, "同一监测因子的同一项重复出现");
        if let Some((_, which)) = NUMERIC.iter().find(|(name, _)| *name == suffix) {
            let slot = self.slot(*which);
            if slot.is_some() {
                return Err(repeated());
            }
            *slot = Some(parse_number(key, value)?);
            return Ok(());
        }
        match suffix {
            "Flag" if self.flag.is_some() => Err(repeated()),
            "Flag" => {
                self.flag = Some(DataFlag::parse(key, value)?);
                Ok(())
            }
            "EFlag" if self.eflag.is_some() => Err(repeated()),
            "EFlag" => {
                self.eflag = Some(value.to_owned());
                Ok(())
            }
            "SampleTime" if self.sample_time.is_some() => Err(repeated()),
            // Some data loggers send `code-SampleTime=,` when no sample was taken: no time, not a bad one.
            "SampleTime" if value.is_empty() => Ok(()),
            "SampleTime" => {
                self.sample_time = Some(parse_time(key, value)?);
                Ok(())
            }
            _ if self.extra.iter().any(|(name, _)| name == suffix) => Err(repeated()),
            _ => {
                self.extra.push((suffix.to_owned(), value.to_owned()));
                Ok(())
            }
        }
    }

    /// Writes this pollutant's items as one `,`-separated group.
    fn write(&self, out: &mut String) -> Result<(), Error> {
        check_token("监测因子编码", &self.code)?;
        if self.code.is_empty() {
            return Err(Error::field("监测因子编码", "不能为空"));
        }
        let mut items: Vec<(String, String)> = Vec::new();
        if let Some(t) = &self.sample_time {
            items.push(("SampleTime".to_owned(), format_time(t)));
        }
        for (suffix, value) in self.numbers() {
            if let Some(v) = value {
                items.push((suffix.to_owned(), format_number(&format!("{}-{suffix}", self.code), v)?));
            }
        }
        if let Some(flag) = self.flag {
            items.push(("Flag".to_owned(), flag.letter().to_string()));
        }
        if let Some(eflag) = &self.eflag {
            items.push(("EFlag".to_owned(), eflag.clone()));
        }
        for (suffix, value) in &self.extra {
            if TYPED_SUFFIXES.contains(&suffix.as_str()) || suffix.is_empty() {
                return Err(Error::field(suffix, "扩展项名称为空或与标准项重名，请使用对应的字段"));
            }
            items.push((suffix.clone(), value.clone()));
        }
        if items.is_empty() {
            return Err(Error::field(&self.code, "监测因子没有任何数据项"));
        }
        for (i, (suffix, value)) in items.iter().enumerate() {
            check_token(suffix, suffix)?;
            check_token(suffix, value)?;
            let separator = if i == 0 { "" } else { "," };
            let _ = write!(out, "{separator}{}-{suffix}={value}", self.code);
        }
        Ok(())
    }
}

/// The CP data area of a packet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cp {
    /// `DataTime`: the time the data is for (数据时间), +08:00.
    pub data_time: Option<Time>,
    /// The pollutants in order of first appearance.
    pub pollutants: Vec<Pollutant>,
    /// Every other item, in order (QnRtn, ExeRtn, SystemTime, BeginTime, …).
    pub params: Vec<(String, String)>,
}

impl Cp {
    /// Parses the text between `CP=&&` and the closing `&&`.
    pub fn parse(body: &str) -> Result<Self, Error> {
        let mut cp = Cp::default();
        let mut index: HashMap<String, usize> = HashMap::new();
        for item in body.split([';', ',']) {
            if item.trim().is_empty() {
                // Devices often end groups with a stray `;`: an empty item carries nothing.
                continue;
            }
            let Some((key, value)) = item.split_once('=') else {
                return Err(Error::field(item, "数据项应为“名称=值”的形式"));
            };
            cp.add(&mut index, key.trim(), value)?;
        }
        Ok(cp)
    }

    fn add(&mut self, index: &mut HashMap<String, usize>, key: &str, value: &str) -> Result<(), Error> {
        if key.is_empty() {
            return Err(Error::field("CP", "数据项名称为空"));
        }
        if key == "DataTime" {
            if self.data_time.is_some() {
                return Err(Error::field(key, "重复出现"));
            }
            self.data_time = Some(parse_time(key, value)?);
            return Ok(());
        }
        match key.rsplit_once('-') {
            Some((code, suffix)) if !code.is_empty() && !suffix.is_empty() => {
                let at = match index.get(code) {
                    Some(at) => *at,
                    None => {
                        self.pollutants.push(Pollutant::new(code));
                        index.insert(code.to_owned(), self.pollutants.len() - 1);
                        self.pollutants.len() - 1
                    }
                };
                match self.pollutants.get_mut(at) {
                    Some(p) => p.set(key, suffix, value),
                    None => Err(Error::field(key, "内部索引错误")),
                }
            }
            Some(_) => Err(Error::field(key, "监测因子编码或数据项名称为空")),
            None if self.params.iter().any(|(k, _)| k == key) => Err(Error::field(key, "重复出现")),
            None => {
                self.params.push((key.to_owned(), value.to_owned()));
                Ok(())
            }
        }
    }

    /// The value of parameter `key` (e.g. `QnRtn`), if present.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Parameter `key` as a time (`SystemTime`, `BeginTime`, …): `None` when
    /// absent, `bad_time` when malformed.
    pub fn param_time(&self, key: &str) -> Result<Option<Time>, Error> {
        self.param(key).map(|v| parse_time(key, v)).transpose()
    }

    /// The pollutant with `code`, if present.
    pub fn pollutant(&self, code: &str) -> Option<&Pollutant> {
        self.pollutants.iter().find(|p| p.code == code)
    }

    /// Writes the body (without the `&&` brackets): `DataTime`, then the
    /// parameters, then one `;`-separated group per pollutant.
    pub fn to_body(&self) -> Result<String, Error> {
        let mut groups: Vec<String> = Vec::new();
        if let Some(t) = &self.data_time {
            groups.push(format!("DataTime={}", format_time(t)));
        }
        for (key, value) in &self.params {
            if key.is_empty() || key.contains('-') || key == "DataTime" {
                return Err(Error::field(key, "参数名不能为空、不能含“-”，DataTime请用data_time字段"));
            }
            check_token(key, key)?;
            check_token(key, value)?;
            groups.push(format!("{key}={value}"));
        }
        let mut seen: Vec<&str> = Vec::new();
        for p in &self.pollutants {
            if seen.contains(&p.code.as_str()) {
                return Err(Error::field(&p.code, "同一监测因子出现了两次"));
            }
            seen.push(&p.code);
            let mut group = String::new();
            p.write(&mut group)?;
            groups.push(group);
        }
        Ok(groups.join(";"))
    }
}

/// Refuses text that would change the packet's structure when written:
/// the separators `; , = &`, line breaks and other control characters.
fn check_token(field: &str, value: &str) -> Result<(), Error> {
    if value.chars().any(|c| matches!(c, ';' | ',' | '=' | '&') || c.is_control()) {
        return Err(Error::field(field, "不能包含 ; , = & 或控制字符"));
    }
    if value != value.trim() {
        return Err(Error::field(field, "首尾不能有空白"));
    }
    Ok(())
}

/// A decimal number as the standard writes it: optional sign, digits, and an
/// optional fraction (`-99.000000`, `7.496`, `1`). No exponent, no `NaN`.
pub fn parse_number(field: &str, value: &str) -> Result<f64, Error> {
    let bad = || Error::number(field, value);
    if value.is_empty() || value.len() > MAX_NUMBER_LEN {
        return Err(bad());
    }
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = fraction.is_none_or(digits);
    if !digits(whole) || !fraction_ok {
        return Err(bad());
    }
    value.parse::<f64>().map_err(|_| bad())
}

/// Formats a number so that [`parse_number`] gives it back exactly; infinite
/// or NaN values are `bad_number`.
pub fn format_number(field: &str, value: f64) -> Result<String, Error> {
    if !value.is_finite() {
        return Err(Error::number(field, &value.to_string()));
    }
    // Rust's Display for f64 is the shortest text that reads back exactly and
    // never uses an exponent.
    let text = value.to_string();
    if text.len() > MAX_NUMBER_LEN {
        return Err(Error::number(field, &text));
    }
    Ok(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn gathers_pollutants_params_and_time() {
        let cp = Cp::parse(
            "DataTime=20160801085857;w01018-Rtd=166.5,w01018-Flag=N;w21003-Avg=1.2,w21003-Min=0.9,w21003-Max=1.5,w21003-Flag=D;RtdInterval=30",
        )
        .unwrap();
        assert_eq!(cp.data_time.unwrap().to_rfc3339(), "2016-08-01T08:58:57+08:00");
        let cod = cp.pollutant("w01018").unwrap();
        assert_eq!((cod.rtd, cod.flag), (Some(166.5), Some(DataFlag::Normal)));
        let nh3 = cp.pollutant("w21003").unwrap();
        assert_eq!((nh3.avg, nh3.min, nh3.max, nh3.flag), (Some(1.2), Some(0.9), Some(1.5), Some(DataFlag::Fault)));
        assert_eq!(cp.param("RtdInterval"), Some("30"));
    }

    #[test]
    fn every_flag_letter_of_table_8() {
        for (letter, flag) in [
            ("N", DataFlag::Normal),
            ("F", DataFlag::Stopped),
            ("M", DataFlag::Maintenance),
            ("S", DataFlag::Manual),
            ("D", DataFlag::Fault),
            ("C", DataFlag::Calibration),
            ("T", DataFlag::OverRange),
            ("B", DataFlag::CommunicationFault),
            ("X", DataFlag::Other('X')),
        ] {
            assert_eq!(DataFlag::parse("f", letter).unwrap(), flag);
            assert_eq!(flag.letter().to_string(), letter);
        }
        for bad in ["", "n", "NN", "1", "中"] {
            assert_eq!(DataFlag::parse("f", bad).unwrap_err().code(), "bad_field", "{bad}");
        }
    }

    #[test]
    fn numbers_are_strict_decimals() {
        for (text, value) in [("1", 1.0), ("-99.000000", -99.0), ("7.496", 7.496), ("+3.5", 3.5), ("0", 0.0)] {
            assert_eq!(parse_number("v", text).unwrap(), value);
        }
        for bad in ["", "abc", "1e5", "NaN", "inf", ".5", "5.", "1.2.3", "--1", "1,5", " 1", "0x10", &"9".repeat(33)] {
            assert_eq!(parse_number("v", bad).unwrap_err().code(), "bad_number", "{bad}");
        }
        assert_eq!(format_number("v", f64::NAN).unwrap_err().code(), "bad_number");
        assert_eq!(format_number("v", 1e-7).unwrap(), "0.0000001");
    }

    #[test]
    fn refuses_repeats_and_malformed_items() {
        for (body, code) in [
            ("w01018-Rtd=1,w01018-Rtd=2", "bad_field"),
            ("DataTime=20160801085857;DataTime=20160801085857", "bad_field"),
            ("QnRtn=1;QnRtn=1", "bad_field"),
            ("w01018-Rtd", "bad_field"),
            ("=5", "bad_field"),
            ("-Rtd=5", "bad_field"),
            ("w01018-=5", "bad_field"),
            ("w01018-Rtd=abc", "bad_number"),
            ("w01018-SampleTime=20161301000000", "bad_time"),
            ("DataTime=yesterday", "bad_time"),
            ("w01018-Flag=n", "bad_field"),
        ] {
            assert_eq!(Cp::parse(body).unwrap_err().code(), code, "{body}");
        }
        assert_eq!(Cp::parse("").unwrap(), Cp::default());
        assert!(Cp::parse("DataTime=20160801085857;;w01018-Rtd=1;").is_ok());
    }

    #[test]
    fn writing_refuses_what_would_not_read_back() {
        let mut cp = Cp::default();
        cp.params.push(("Info".to_owned(), "a;b".to_owned()));
        assert_eq!(cp.to_body().unwrap_err().code(), "bad_field");
        let mut cp = Cp::default();
        cp.pollutants.push(Pollutant::new("w01018"));
        assert_eq!(cp.to_body().unwrap_err().code(), "bad_field");
        let mut p = Pollutant::new("w01018");
        p.rtd = Some(f64::INFINITY);
        let cp = Cp { pollutants: vec![p], ..Cp::default() };
        assert_eq!(cp.to_body().unwrap_err().code(), "bad_number");
    }
}
