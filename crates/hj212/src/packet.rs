//! The data segment (数据段) as a typed [`Packet`]:
//! `QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;PNUM=…;PNO=…;CP=&&…&&`.

use std::fmt;

use crate::cp::{Cp, Pollutant};
use crate::error::Error;
use crate::frame::{MAX_DATA_LEN, encode_frame};
use crate::time::{Qn, Time};

/// The longest access password (访问密码) the standard allows: `PW` is 9 characters with `PW=`.
pub const MAX_PW_LEN: usize = 6;
/// The longest device identifier (设备唯一标识) the standard allows: `MN` is 27 characters with `MN=`.
pub const MAX_MN_LEN: usize = 24;
/// The highest packet count or number (`PNUM`/`PNO` are 4 digits).
pub const MAX_PACKETS: u16 = 9999;

/// The system code (系统编码) ST: two characters from `0-9A-Z` naming the kind
/// of monitoring system (HJ 212-2017 table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SystemCode([u8; 2]);

impl SystemCode {
    /// `21` surface water quality monitoring (地表水质量监测).
    pub const SURFACE_WATER_QUALITY: SystemCode = SystemCode(*b"21");
    /// `22` air quality monitoring (空气质量监测).
    pub const AIR_QUALITY: SystemCode = SystemCode(*b"22");
    /// `31` air pollution source (大气环境污染源).
    pub const AIR_POLLUTION_SOURCE: SystemCode = SystemCode(*b"31");
    /// `32` surface water pollution source (地表水体环境污染源), what discharge outlets send.
    pub const WATER_POLLUTION_SOURCE: SystemCode = SystemCode(*b"32");
    /// `52` wastewater discharge process monitoring (污水排放过程监控).
    pub const WASTEWATER_PROCESS: SystemCode = SystemCode(*b"52");
    /// `91` system interaction (系统交互), used by answers between data logger and platform.
    pub const SYSTEM_INTERACTION: SystemCode = SystemCode(*b"91");

    /// Parses two characters from `0-9A-Z`; anything else is `bad_field`.
    pub fn parse(value: &str) -> Result<Self, Error> {
        match value.as_bytes() {
            [a, b] if [a, b].iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) => Ok(SystemCode([*a, *b])),
            _ => Err(Error::field("ST", "系统编码应为2位数字或大写字母")),
        }
    }

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for SystemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! commands {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        /// The command code (命令编码) CN, HJ 212-2017 table 9. Codes outside the
        /// table (it is extensible) are kept as [`Command::Other`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Command {
            $($(#[$doc])* $name,)*
            /// A code not in the standard's table.
            Other(u16),
        }

        impl Command {
            /// The command for a four-digit code.
            pub fn from_code(code: u16) -> Self {
                match code {
                    $($code => Command::$name,)*
                    other => Command::Other(other),
                }
            }

            /// The four-digit code.
            pub fn code(self) -> u16 {
                match self {
                    $(Command::$name => $code,)*
                    Command::Other(code) => code,
                }
            }
        }
    };
}

commands! {
    /// 1000 set timeout and retries (设置超时时间及重发次数).
    SetTimeoutAndRetries = 1000,
    /// 1011 get the device time (提取现场机时间); the device uploads its time with the same code.
    GetTime = 1011,
    /// 1012 set the device time (设置现场机时间), with `SystemTime`.
    SetTime = 1012,
    /// 1013 the device asks for a time calibration (现场机时间校准请求).
    TimeCalibrationRequest = 1013,
    /// 1061 get the real-time data interval (提取实时数据间隔).
    GetRealTimeInterval = 1061,
    /// 1062 set the real-time data interval (设置实时数据间隔), with `RtdInterval`.
    SetRealTimeInterval = 1062,
    /// 1063 get the minute data interval (提取分钟数据间隔).
    GetMinuteInterval = 1063,
    /// 1064 set the minute data interval (设置分钟数据间隔), with `MinInterval`.
    SetMinuteInterval = 1064,
    /// 1072 set the device access password (设置现场机访问密码), with `NewPW`.
    SetPassword = 1072,
    /// 2011 real-time data (污染物实时数据): requested by the platform, uploaded by the device.
    RealTimeData = 2011,
    /// 2012 stop sending real-time data (停止察看污染物实时数据).
    StopRealTimeData = 2012,
    /// 2021 equipment running state (设备运行状态数据).
    RunningState = 2021,
    /// 2022 stop sending running state (停止察看设备运行状态).
    StopRunningState = 2022,
    /// 2031 day data (污染物日历史数据).
    DayData = 2031,
    /// 2041 equipment running time per day (设备运行时间日历史数据).
    DayRunningTime = 2041,
    /// 2051 minute data (污染物分钟数据).
    MinuteData = 2051,
    /// 2061 hour data (污染物小时数据).
    HourData = 2061,
    /// 2081 data logger power-on time (数采仪开机时间).
    PowerOnTime = 2081,
    /// 3011 zero and span calibration (零点校准量程校准).
    Calibrate = 3011,
    /// 3012 take a sample now (即时采样).
    SampleNow = 3012,
    /// 3013 start cleaning or back-flushing (启动清洗/反吹).
    StartCleaning = 3013,
    /// 3014 comparison sampling (比对采样).
    ComparisonSample = 3014,
    /// 3015 keep a sample of an exceedance (超标留样).
    KeepExceedanceSample = 3015,
    /// 3016 set the sampling period (设置采样时间周期).
    SetSamplingPeriod = 3016,
    /// 3017 get the sampling period (提取采样时间周期).
    GetSamplingPeriod = 3017,
    /// 3018 get the sample output time (提取出样时间).
    GetSampleOutputTime = 3018,
    /// 3019 get the device identifier (提取设备唯一标识).
    GetDeviceId = 3019,
    /// 3020 get device information (提取现场机信息).
    GetDeviceInfo = 3020,
    /// 3021 set device parameters (设置现场机参数).
    SetDeviceParams = 3021,
    /// 9011 request answer (请求应答), with `QnRtn`.
    RequestAnswer = 9011,
    /// 9012 execution result (执行结果), with `ExeRtn`.
    ExecutionResult = 9012,
    /// 9013 notification answer (通知应答).
    NotificationAnswer = 9013,
    /// 9014 data answer (数据应答).
    DataAnswer = 9014,
}

impl Command {
    /// Parses four decimal digits; anything else is `bad_field`.
    pub fn parse(value: &str) -> Result<Self, Error> {
        if value.len() != 4 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::field("CN", "命令编码应为4位数字"));
        }
        value.parse::<u16>().map(Command::from_code).map_err(|_| Error::field("CN", "命令编码应为4位数字"))
    }

    /// True for the four answer commands (9011–9014), which are never answered themselves.
    pub fn is_answer(self) -> bool {
        matches!(
            self,
            Command::RequestAnswer | Command::ExecutionResult | Command::NotificationAnswer | Command::DataAnswer
        )
    }

    /// The kind of monitoring data this command carries, if it is one of the four data commands.
    pub fn data_kind(self) -> Option<DataKind> {
        match self {
            Command::RealTimeData => Some(DataKind::RealTime),
            Command::MinuteData => Some(DataKind::Minute),
            Command::HourData => Some(DataKind::Hour),
            Command::DayData => Some(DataKind::Day),
            _ => None,
        }
    }
}

/// The four kinds of pollutant data a device uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKind {
    /// 2011 real-time data (实时数据): `-Rtd` values.
    RealTime,
    /// 2051 minute data (分钟数据): `-Avg/-Min/-Max/-Cou` over the minute interval.
    Minute,
    /// 2061 hour data (小时数据).
    Hour,
    /// 2031 day data (日数据).
    Day,
}

impl DataKind {
    /// The command that carries this kind.
    pub fn command(self) -> Command {
        match self {
            DataKind::RealTime => Command::RealTimeData,
            DataKind::Minute => Command::MinuteData,
            DataKind::Hour => Command::HourData,
            DataKind::Day => Command::DayData,
        }
    }

    /// The name in Chinese.
    pub fn name(self) -> &'static str {
        match self {
            DataKind::RealTime => "实时数据",
            DataKind::Minute => "分钟数据",
            DataKind::Hour => "小时数据",
            DataKind::Day => "日数据",
        }
    }
}

/// The flag field (标志位) `Flag`, an integer 0–255 whose bits are
/// `V5 V4 V3 V2 V1 V0 D A`: `A` (bit 0) asks for an answer (应答), `D` (bit 1)
/// says the packet is one of several (拆分包, with `PNUM`/`PNO`), and the top
/// six bits are the protocol version: 0 for HJ/T 212-2005, 1 for HJ 212-2017.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketFlag(pub u8);

impl PacketFlag {
    /// The answer bit `A`.
    pub const ANSWER: u8 = 0b01;
    /// The split-packet bit `D`.
    pub const SPLIT: u8 = 0b10;
    /// The version number of HJ 212-2017.
    pub const VERSION_2017: u8 = 1;

    /// A flag of `version` with the answer and split bits as given.
    pub fn new(version: u8, answer: bool, split: bool) -> Self {
        PacketFlag((version << 2) | if answer { Self::ANSWER } else { 0 } | if split { Self::SPLIT } else { 0 })
    }

    /// Parses 1–3 decimal digits worth 0–255; anything else is `bad_field`.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let bad = || Error::field("Flag", "标志位应为0~255的整数");
        if value.is_empty() || value.len() > 3 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        value.parse::<u8>().map(PacketFlag).map_err(|_| bad())
    }

    /// True when the receiver must answer (bit `A`).
    pub fn needs_answer(self) -> bool {
        self.0 & Self::ANSWER != 0
    }

    /// True when the packet is one of several (bit `D`).
    pub fn is_split(self) -> bool {
        self.0 & Self::SPLIT != 0
    }

    /// The protocol version bits `V5..V0`.
    pub fn version(self) -> u8 {
        self.0 >> 2
    }
}

/// Packet splitting (分包) of HJ 212-2017: this is packet `number` (PNO) of `total` (PNUM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Split {
    /// `PNUM`: how many packets the exchange has (总包数), 1–9999.
    pub total: u16,
    /// `PNO`: which packet this is (包号), 1..=total.
    pub number: u16,
}

/// One data segment, parsed or to be built.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// `QN` request number (请求编码); absent in many HJ/T 212-2005 uploads.
    pub qn: Option<Qn>,
    /// `ST` system code (系统编码).
    pub st: SystemCode,
    /// `CN` command code (命令编码).
    pub cn: Command,
    /// `PW` access password (访问密码), at most 6 characters.
    pub pw: String,
    /// `MN` device identifier (设备唯一标识), at most 24 characters.
    pub mn: String,
    /// `Flag` (标志位); absent in many HJ/T 212-2005 uploads, which then ask for no answer.
    pub flag: Option<PacketFlag>,
    /// `PNUM`/`PNO`, present exactly when the flag's split bit is set.
    pub split: Option<Split>,
    /// `CP` command parameters (指令参数).
    pub cp: Cp,
}

/// The monitoring data of one data upload (2011, 2051, 2061 or 2031), as the receiver stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Readings {
    /// Which kind of data.
    pub kind: DataKind,
    /// The device identifier.
    pub mn: String,
    /// The time the data is for (`DataTime`).
    pub data_time: Time,
    /// The values per pollutant.
    pub pollutants: Vec<Pollutant>,
}

const HEADER_FIELDS: &[&str] = &["QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO"];

impl Packet {
    /// A packet with an empty CP and no QN, flag or split.
    pub fn new(st: SystemCode, cn: Command, pw: impl Into<String>, mn: impl Into<String>) -> Self {
        Packet { qn: None, st, cn, pw: pw.into(), mn: mn.into(), flag: None, split: None, cp: Cp::default() }
    }

    /// Parses a data segment given as bytes (a [`crate::Frame`]'s data): it
    /// must be UTF-8 (`bad_encoding`), then as [`Packet::parse`].
    pub fn parse_bytes(segment: &[u8]) -> Result<Self, Error> {
        std::str::from_utf8(segment).map_err(|_| Error::BadEncoding).and_then(Packet::parse)
    }

    /// Parses a data segment. Fields may come in any order but each once; `ST`,
    /// `CN`, `PW`, `MN` and `CP` are required, `QN` and `Flag` optional (HJ/T
    /// 212-2005 devices omit them). `CP=&&…&&` must come last.
    pub fn parse(segment: &str) -> Result<Self, Error> {
        if segment.len() > MAX_DATA_LEN {
            return Err(Error::TooLong { declared: segment.len(), max: MAX_DATA_LEN });
        }
        let Some(cp_at) = segment.find("CP=&&") else {
            return Err(Error::missing("CP"));
        };
        let (header, cp_part) = segment.split_at(cp_at);
        if !header.is_empty() && !header.ends_with(';') {
            return Err(Error::field("CP", "CP之前的字段应以分号结束"));
        }
        let body = cp_part
            .get(5..)
            .and_then(|rest| rest.strip_suffix("&&"))
            .ok_or_else(|| Error::field("CP", "指令参数应写作 CP=&&…&&，并位于数据段末尾"))?;
        if body.contains("&&") {
            return Err(Error::field("CP", "指令参数中间不能出现&&"));
        }
        let mut fields: [Option<&str>; 8] = [None; 8];
        for item in header.split(';').filter(|item| !item.is_empty()) {
            let (key, value) = item.split_once('=').ok_or_else(|| Error::field(item, "字段应为“名称=值”的形式"))?;
            let slot = HEADER_FIELDS
                .iter()
                .position(|name| *name == key)
                .and_then(|at| fields.get_mut(at))
                .ok_or_else(|| Error::field(key, "不是数据段的字段"))?;
            if slot.replace(value).is_some() {
                return Err(Error::field(key, "重复出现"));
            }
        }
        let [qn, st, cn, pw, mn, flag, pnum, pno] = fields;
        let packet = Packet {
            qn: qn.map(Qn::parse).transpose()?,
            st: SystemCode::parse(st.ok_or_else(|| Error::missing("ST"))?)?,
            cn: Command::parse(cn.ok_or_else(|| Error::missing("CN"))?)?,
            pw: pw.ok_or_else(|| Error::missing("PW"))?.to_owned(),
            mn: mn.ok_or_else(|| Error::missing("MN"))?.to_owned(),
            flag: flag.map(PacketFlag::parse).transpose()?,
            split: parse_split(pnum, pno)?,
            cp: Cp::parse(body)?,
        };
        packet.validate()?;
        Ok(packet)
    }

    /// Checks the rules [`Packet::parse`] enforces, so that a built packet
    /// always parses back: PW and MN lengths and characters, split fields
    /// consistent with the flag.
    pub fn validate(&self) -> Result<(), Error> {
        check_text("PW", &self.pw, MAX_PW_LEN, |c| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '=' | '&'))?;
        check_text("MN", &self.mn, MAX_MN_LEN, |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))?;
        let split_flag = self.flag.is_some_and(PacketFlag::is_split);
        match self.split {
            Some(_) if !split_flag => Err(Error::field("PNUM", "标志位未声明分包（D位为0），却带有PNUM/PNO")),
            None if split_flag => Err(Error::missing("PNUM")),
            Some(s) if s.total == 0 || s.total > MAX_PACKETS || s.number == 0 || s.number > s.total => {
                Err(Error::field("PNO", "包号应在1到总包数之间，总包数不超过9999"))
            }
            _ => Ok(()),
        }
    }

    /// True when the flag asks the receiver to answer.
    pub fn needs_answer(&self) -> bool {
        self.flag.is_some_and(PacketFlag::needs_answer)
    }

    /// The monitoring data of a data upload. A packet whose CN is not 2011,
    /// 2051, 2061 or 2031 is `bad_field`; one without `DataTime` is `missing_field`.
    pub fn readings(&self) -> Result<Readings, Error> {
        let kind = self.cn.data_kind().ok_or_else(|| Error::field("CN", "不是实时、分钟、小时或日数据命令"))?;
        let data_time = self.cp.data_time.ok_or_else(|| Error::missing("DataTime"))?;
        Ok(Readings { kind, mn: self.mn.clone(), data_time, pollutants: self.cp.pollutants.clone() })
    }

    /// The data segment text. Refuses (with the same codes as parsing) what
    /// would not parse back, and segments over 9999 bytes (`too_long`).
    pub fn to_segment(&self) -> Result<String, Error> {
        self.validate()?;
        let mut out = String::new();
        if let Some(qn) = &self.qn {
            out.push_str(&format!("QN={qn};"));
        }
        out.push_str(&format!("ST={};CN={:04};PW={};MN={};", self.st, self.cn.code(), self.pw, self.mn));
        if let Some(flag) = self.flag {
            out.push_str(&format!("Flag={};", flag.0));
        }
        if let Some(split) = self.split {
            out.push_str(&format!("PNUM={};PNO={};", split.total, split.number));
        }
        out.push_str(&format!("CP=&&{}&&", self.cp.to_body()?));
        if out.len() > MAX_DATA_LEN {
            return Err(Error::TooLong { declared: out.len(), max: MAX_DATA_LEN });
        }
        Ok(out)
    }

    /// The whole frame: `##`, length, data segment, CRC, CR LF.
    pub fn to_frame(&self) -> Result<Vec<u8>, Error> {
        encode_frame(self.to_segment()?.as_bytes())
    }
}

fn parse_split(pnum: Option<&str>, pno: Option<&str>) -> Result<Option<Split>, Error> {
    let count = |field: &str, value: &str| -> Result<u16, Error> {
        if value.is_empty() || value.len() > 4 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::field(field, "应为1~4位数字"));
        }
        value.parse::<u16>().map_err(|_| Error::field(field, "应为1~4位数字"))
    };
    match (pnum, pno) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(Error::missing("PNO")),
        (None, Some(_)) => Err(Error::missing("PNUM")),
        (Some(total), Some(number)) => Ok(Some(Split { total: count("PNUM", total)?, number: count("PNO", number)? })),
    }
}

fn check_text(field: &str, value: &str, max: usize, allowed: impl Fn(char) -> bool) -> Result<(), Error> {
    if value.is_empty() || value.len() > max || !value.chars().all(allowed) {
        return Err(Error::field(field, format!("应为1~{max}个字母、数字等可见ASCII字符")));
    }
    Ok(())
}
