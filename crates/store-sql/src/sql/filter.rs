//! A `WHERE` clause built from optional conditions, with its numbered parameters.

use super::Value;

/// Conditions joined by `AND`, and the values their `$n` placeholders stand for.
#[derive(Debug, Default)]
pub struct Filter {
    pub values: Vec<Value>,
    clauses: Vec<String>,
}

impl Filter {
    /// Adds `value` and answers its placeholder (`$3`).
    pub fn mark(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    /// `column = $n`.
    pub fn eq(&mut self, column: &str, value: impl Into<Value>) {
        let mark = self.mark(value);
        self.clauses.push(format!("{column} = {mark}"));
    }

    /// A condition written with placeholders from [`Filter::mark`].
    pub fn clause(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// `column IN ($n, …)`; `false` when `values` is empty (nothing can match).
    pub fn any<V: Into<Value>>(&mut self, column: &str, values: impl IntoIterator<Item = V>) -> bool {
        let marks: Vec<String> = values.into_iter().map(|v| self.mark(v)).collect();
        if marks.is_empty() {
            return false;
        }
        self.clauses.push(format!("{column} IN ({})", marks.join(", ")));
        true
    }

    /// `WHERE …`, or nothing without conditions.
    pub fn where_sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!("WHERE {}", self.clauses.join(" AND ")) }
    }
}
