//! Values bound to statements and read from rows, the same for both databases.

use mashangban_domain::time::{Instant, format_instant, parse_instant};

/// One SQL value. Booleans are their own variant: SQLite stores them as
/// 0/1 integers, PostgreSQL as BOOLEAN; each backend converts.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    Blob(Vec<u8>),
}

impl Value {
    /// The kind of value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Null => "NULL",
            Self::Int(_) => "integer",
            Self::Real(_) => "real",
            Self::Text(_) => "text",
            Self::Bool(_) => "boolean",
            Self::Blob(_) => "blob",
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Self::Int(i64::from(v))
            }
        }
    )*};
}
from_int!(i64, i32, u32, u16, u8);

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Self::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Self::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Real(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Self::Text(v.clone())
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Self::Blob(v)
    }
}

/// Instants are stored as RFC 3339 text in +08:00 (text order is time order).
impl From<Instant> for Value {
    fn from(v: Instant) -> Self {
        Self::Text(format_instant(&v))
    }
}

impl From<&Instant> for Value {
    fn from(v: &Instant) -> Self {
        Self::Text(format_instant(v))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Self::Null, Into::into)
    }
}

/// A value read back from a row. `Err` carries what was found, for the message.
pub trait FromValue: Sized {
    fn from_value(v: Value) -> Result<Self, Value>;
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Self, Value> {
        Ok(v)
    }
}

impl FromValue for i64 {
    fn from_value(v: Value) -> Result<Self, Value> {
        match v {
            Value::Int(i) => Ok(i),
            Value::Bool(b) => Ok(i64::from(b)),
            other => Err(other),
        }
    }
}

macro_rules! from_value_int {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<Self, Value> {
                match v {
                    Value::Int(i) => <$t>::try_from(i).map_err(|_| Value::Int(i)),
                    other => Err(other),
                }
            }
        }
    )*};
}
from_value_int!(i32, u32, u64, usize);

impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self, Value> {
        match v {
            Value::Bool(b) => Ok(b),
            Value::Int(i) => Ok(i != 0),
            other => Err(other),
        }
    }
}

impl FromValue for f64 {
    fn from_value(v: Value) -> Result<Self, Value> {
        match v {
            Value::Real(f) => Ok(f),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(i) => Ok(i as f64),
            other => Err(other),
        }
    }
}

impl FromValue for String {
    fn from_value(v: Value) -> Result<Self, Value> {
        match v {
            Value::Text(s) => Ok(s),
            other => Err(other),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: Value) -> Result<Self, Value> {
        match v {
            Value::Blob(b) => Ok(b),
            other => Err(other),
        }
    }
}

impl FromValue for Instant {
    fn from_value(v: Value) -> Result<Self, Value> {
        match v {
            Value::Text(s) => parse_instant(&s).ok_or(Value::Text(s)),
            other => Err(other),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Result<Self, Value> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}
