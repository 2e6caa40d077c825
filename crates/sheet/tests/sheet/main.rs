//! The spreadsheet reader and writer, in one test binary.

mod common;
mod hostile;
mod props;
mod read;
mod write;
