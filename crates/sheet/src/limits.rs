//! How much a file may hold; set per import.

/// The bounds a file is held to before anything is allocated from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The file itself (the upload), in bytes.
    pub max_file_bytes: u64,
    /// Any one zip part read (the sheet, shared strings, styles, ...), declared
    /// and actually decompressed, in bytes.
    pub max_part_bytes: u64,
    /// The parts read, together.
    pub max_total_bytes: u64,
    /// The shared-strings part, which is held in memory while rows stream.
    pub max_shared_strings_bytes: u64,
    /// The highest row number with a value (the header counts), and the
    /// rows a sheet may declare.
    pub max_rows: u32,
    /// The highest column number with a value, and the columns a sheet may declare.
    pub max_columns: u32,
    /// Characters in one cell (Excel's own limit is 32,767).
    pub max_cell_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 32 * MIB,
            max_part_bytes: 512 * MIB,
            max_total_bytes: 640 * MIB,
            max_shared_strings_bytes: 64 * MIB,
            max_rows: 1_000_000,
            max_columns: 1_024,
            max_cell_chars: 32_767,
        }
    }
}

const MIB: u64 = 1024 * 1024;

impl Limits {
    /// At most `rows` rows with values (the header counts).
    pub fn rows(self, rows: u32) -> Self {
        Self { max_rows: rows, ..self }
    }

    /// At most `columns` columns with values.
    pub fn columns(self, columns: u32) -> Self {
        Self { max_columns: columns, ..self }
    }

    /// Files of at most `bytes` bytes.
    pub fn file_bytes(self, bytes: u64) -> Self {
        Self { max_file_bytes: bytes, ..self }
    }

    /// Parts of at most `bytes` bytes once decompressed (and the total at most twice that,
    /// shared strings at most as much).
    pub fn part_bytes(self, bytes: u64) -> Self {
        Self {
            max_part_bytes: bytes,
            max_total_bytes: bytes.saturating_mul(2),
            max_shared_strings_bytes: bytes.min(self.max_shared_strings_bytes),
            ..self
        }
    }
}

/// A byte count for people: `1.5 MB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    if bytes >= MIB {
        let mb = bytes as f64 / MIB as f64;
        if mb >= 100.0 { format!("{mb:.0} MB") } else { format!("{mb:.1} MB") }
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} 字节")
    }
}
