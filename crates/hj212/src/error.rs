//! Every refusal of this crate: a typed enum with a stable machine-readable
//! [`Error::code`] and a message in Chinese for the people who read logs and
//! the park page ([`Error::message`]).

use std::fmt;

/// How many characters of an offending value an error keeps, so a 9999-byte
/// garbage value never floods a log line.
const SHOWN_CHARS: usize = 40;

/// Why a frame or packet was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Bytes that belong to no frame were skipped while looking for `##` (`garbage`).
    Garbage { skipped: usize },
    /// A buffer handed to [`crate::decode_frame`] does not start with `##` (`bad_start`).
    BadStart,
    /// The length field is not four decimal digits (`bad_length`).
    BadLength { found: String },
    /// A CR or LF appears inside the data segment, so the sender's length is wrong (`bad_length`).
    ShortSegment { declared: usize, line_break_at: usize },
    /// The declared data segment is longer than this receiver accepts (`too_long`).
    TooLong { declared: usize, max: usize },
    /// The CRC field is not four hex digits, or does not match the data segment (`bad_crc`).
    BadCrc { found: String, computed: u16 },
    /// The frame does not end with CR LF right after the CRC, or has bytes after it (`bad_tail`).
    BadTail,
    /// The input ended inside a frame (`truncated`).
    Truncated { needed: usize, have: usize },
    /// The data segment is not valid UTF-8 (`bad_encoding`).
    BadEncoding,
    /// A required field is absent (`missing_field`).
    MissingField { field: String },
    /// A field is malformed, unknown, repeated or inconsistent with another (`bad_field`).
    BadField { field: String, reason: String },
    /// A value that must be a decimal number is not (`bad_number`).
    BadNumber { field: String, value: String },
    /// A value that must be a `yyyyMMddHHmmss` time is not, or names no real instant (`bad_time`).
    BadTime { field: String, value: String },
}

/// Every code [`Error::code`] can return.
pub const CODES: &[&str] = &[
    "garbage",
    "bad_start",
    "bad_length",
    "too_long",
    "bad_crc",
    "bad_tail",
    "truncated",
    "bad_encoding",
    "missing_field",
    "bad_field",
    "bad_number",
    "bad_time",
];

impl Error {
    /// The stable machine-readable code, e.g. `bad_crc`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Garbage { .. } => "garbage",
            Error::BadStart => "bad_start",
            Error::BadLength { .. } | Error::ShortSegment { .. } => "bad_length",
            Error::TooLong { .. } => "too_long",
            Error::BadCrc { .. } => "bad_crc",
            Error::BadTail => "bad_tail",
            Error::Truncated { .. } => "truncated",
            Error::BadEncoding => "bad_encoding",
            Error::MissingField { .. } => "missing_field",
            Error::BadField { .. } => "bad_field",
            Error::BadNumber { .. } => "bad_number",
            Error::BadTime { .. } => "bad_time",
        }
    }

    /// A message in Chinese saying what was wrong.
    pub fn message(&self) -> String {
        match self {
            Error::Garbage { skipped } => format!("跳过了{skipped}个不属于任何数据包的字节（未找到包头##）"),
            Error::BadStart => "数据包不是以包头##开头".to_owned(),
            Error::BadLength { found } => format!("数据段长度“{}”不是4位十进制数字", clip(found)),
            Error::ShortSegment { declared, line_break_at } => {
                format!("数据段长度声明为{declared}字节，但第{line_break_at}字节处已出现回车换行，长度与内容不符")
            }
            Error::TooLong { declared, max } => format!("数据段长度{declared}字节，超过允许的{max}字节"),
            Error::BadCrc { found, computed } => {
                format!("CRC校验错误：包中为“{}”，按数据段计算应为{computed:04X}", clip(found))
            }
            Error::BadTail => "数据包在CRC之后没有以回车换行结尾".to_owned(),
            Error::Truncated { needed, have } => format!("数据包不完整：需要{needed}字节，只收到{have}字节"),
            Error::BadEncoding => "数据段不是有效的UTF-8文本".to_owned(),
            Error::MissingField { field } => format!("缺少字段{}", clip(field)),
            Error::BadField { field, reason } => format!("字段{}有误：{reason}", clip(field)),
            Error::BadNumber { field, value } => format!("字段{}的值“{}”不是有效的数字", clip(field), clip(value)),
            Error::BadTime { field, value } => {
                format!("字段{}的时间“{}”无效，应为yyyyMMddHHmmss格式的真实时间", clip(field), clip(value))
            }
        }
    }

    pub(crate) fn field(field: &str, reason: impl Into<String>) -> Self {
        Error::BadField { field: clip(field), reason: reason.into() }
    }

    pub(crate) fn missing(field: &str) -> Self {
        Error::MissingField { field: clip(field) }
    }

    pub(crate) fn number(field: &str, value: &str) -> Self {
        Error::BadNumber { field: clip(field), value: clip(value) }
    }

    pub(crate) fn time(field: &str, value: &str) -> Self {
        Error::BadTime { field: clip(field), value: clip(value) }
    }
}

/// At most [`SHOWN_CHARS`] characters of `s`, with `…` when cut.
pub(crate) fn clip(s: &str) -> String {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}…", s.get(..cut).unwrap_or_default()),
        None => s.to_owned(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for Error {}
