//! Rows as owned values, read in column order.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use mashangban_store::{StoreError, StoreResult};

use super::value::{FromValue, Value};

/// One result row: its values, and the result's column names (shared by
/// every row of one result) for messages and the rare lookup by name.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl Row {
    pub fn new(columns: Arc<[String]>, values: Vec<Value>) -> Self {
        Self { columns, values }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of column `i`, taken out of the row.
    pub fn take<T: FromValue>(&mut self, i: usize) -> StoreResult<T> {
        let value = self.values.get_mut(i).map(std::mem::take).ok_or_else(|| self.missing(i))?;
        T::from_value(value).map_err(|found| self.mismatch::<T>(i, &found))
    }

    /// The value of the column named `name`, taken out of the row.
    pub fn take_named<T: FromValue>(&mut self, name: &str) -> StoreResult<T> {
        let i = self
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| StoreError::backend(format!("no column {name} in the result")))?;
        self.take(i)
    }

    /// A reader of the columns in order.
    pub fn cols(self) -> Cols {
        Cols { row: self, next: 0 }
    }

    fn missing(&self, i: usize) -> StoreError {
        StoreError::backend(format!("column {i} is not in the result ({} columns)", self.values.len()))
    }

    fn mismatch<T>(&self, i: usize, found: &Value) -> StoreError {
        let name = self.columns.get(i).map_or("?", String::as_str);
        StoreError::backend(format!(
            "column {name}: expected {}, found {} {found:?}",
            std::any::type_name::<T>(),
            found.kind()
        ))
    }
}

/// Reads a row's columns one after another, in the order of the SELECT list,
/// so a mapping function lists its fields in the order of its column list.
pub struct Cols {
    row: Row,
    next: usize,
}

impl Cols {
    pub fn get<T: FromValue>(&mut self) -> StoreResult<T> {
        let i = self.next;
        self.next += 1;
        self.row.take(i)
    }

    /// A stored code (e.g. a state) parsed by `parse`.
    pub fn code<T>(&mut self, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
        let s: String = self.get()?;
        parse(&s).ok_or_else(|| bad(self.last_column(), &s))
    }

    pub fn opt_code<T>(&mut self, parse: impl Fn(&str) -> Option<T>) -> StoreResult<Option<T>> {
        let s: Option<String> = self.get()?;
        s.map(|s| parse(&s).ok_or_else(|| bad(self.last_column(), &s))).transpose()
    }

    /// A JSON text column.
    pub fn json<T: DeserializeOwned>(&mut self) -> StoreResult<T> {
        let s: String = self.get()?;
        serde_json::from_str(&s).map_err(|_| bad(self.last_column(), &s))
    }

    pub fn opt_json<T: DeserializeOwned>(&mut self) -> StoreResult<Option<T>> {
        let s: Option<String> = self.get()?;
        s.map(|s| serde_json::from_str(&s).map_err(|_| bad(self.last_column(), &s))).transpose()
    }

    /// Skips `n` columns.
    pub fn skip(&mut self, n: usize) {
        self.next += n;
    }

    fn last_column(&self) -> &str {
        self.next.checked_sub(1).and_then(|i| self.row.columns.get(i)).map_or("?", String::as_str)
    }
}

/// A stored value the domain does not accept.
pub fn bad(what: &str, value: &str) -> StoreError {
    StoreError::backend(format!("bad {what} in database: {value:?}"))
}
