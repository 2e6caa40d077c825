//! Timestamps inside text (columns and JSON), moved by a fixed offset.
//!
//! Stored instants look like `2026-11-29T10:00:00.000+08:00`. A template
//! text is split once into literal pieces and instants (as local
//! milliseconds); each copy formats the instants moved by its offset.

const LEN: usize = 29;
const SUFFIX: &[u8] = b"+08:00";
pub const DAY_MS: i64 = 86_400_000;

/// A piece of a template text.
#[derive(Debug, Clone)]
pub enum Piece {
    Text(String),
    /// Local (+08:00) milliseconds since 1970-01-01T00:00 local.
    Instant(i64),
}

/// A text with the instants in it found.
#[derive(Debug, Clone)]
pub struct Shiftable {
    pieces: Vec<Piece>,
}

impl Shiftable {
    /// Splits `s`; `None` when it holds no instant.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        let mut pieces = Vec::new();
        let (mut start, mut i) = (0, 0);
        while i + LEN <= b.len() {
            match instant_at(&b[i..i + LEN]) {
                Some(ms) => {
                    if start < i {
                        pieces.push(Piece::Text(s.get(start..i)?.to_owned()));
                    }
                    pieces.push(Piece::Instant(ms));
                    i += LEN;
                    start = i;
                }
                None => i += 1,
            }
        }
        if pieces.is_empty() {
            return None;
        }
        if start < b.len() {
            pieces.push(Piece::Text(s.get(start..)?.to_owned()));
        }
        Some(Self { pieces })
    }

    /// The text with every instant moved by `offset_ms`.
    pub fn render(&self, offset_ms: i64, out: &mut String) {
        out.clear();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Instant(ms) => format_local(ms + offset_ms, out),
            }
        }
    }

    /// The first instant (local milliseconds), if any.
    pub fn first_instant(&self) -> Option<i64> {
        self.pieces.iter().find_map(|p| match p {
            Piece::Instant(ms) => Some(*ms),
            Piece::Text(_) => None,
        })
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

fn instant_at(b: &[u8]) -> Option<i64> {
    let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')];
    if seps.iter().any(|&(i, c)| b[i] != c) || &b[23..29] != SUFFIX {
        return None;
    }
    let (y, mo, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, s, ms) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?, digits(&b[20..23])?);
    Some(days_from_civil(y, mo, d) * DAY_MS + ((h * 60 + mi) * 60 + s) * 1000 + ms)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

fn push_num(out: &mut String, n: i64, width: usize) {
    use std::fmt::Write;
    let _ = write!(out, "{n:0width$}");
}

/// Formats local milliseconds as `YYYY-MM-DDTHH:MM:SS.mmm+08:00`.
pub fn format_local(ms: i64, out: &mut String) {
    let (days, rest) = (ms.div_euclid(DAY_MS), ms.rem_euclid(DAY_MS));
    let (y, m, d) = civil_from_days(days);
    push_num(out, y, 4);
    out.push('-');
    push_num(out, m, 2);
    out.push('-');
    push_num(out, d, 2);
    out.push('T');
    push_num(out, rest / 3_600_000, 2);
    out.push(':');
    push_num(out, rest / 60_000 % 60, 2);
    out.push(':');
    push_num(out, rest / 1000 % 60, 2);
    out.push('.');
    push_num(out, rest % 1000, 3);
    out.push_str("+08:00");
}

/// `YYYYMMDD` of local milliseconds.
pub fn day_key(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{y:04}{m:02}{d:02}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn instants_move_and_round_trip() {
        let s = r#"{"sign_due_at":"2026-03-01T23:30:00.250+08:00","x":1}"#;
        let t = Shiftable::parse(s).unwrap();
        let mut out = String::new();
        t.render(0, &mut out);
        assert_eq!(out, s);
        t.render(DAY_MS + 60_000, &mut out);
        assert_eq!(out, r#"{"sign_due_at":"2026-03-02T23:31:00.250+08:00","x":1}"#);
        t.render(-DAY_MS, &mut out);
        assert_eq!(out, r#"{"sign_due_at":"2026-02-28T23:30:00.250+08:00","x":1}"#);
        assert!(Shiftable::parse("no time here").is_none());
        assert_eq!(day_key(t.first_instant().unwrap()), "20260301");
    }
}
