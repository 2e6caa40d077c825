//! The store written once (`mashangban-store-sql`) against both real
//! databases: every test runs on a fresh SQLite file and on a fresh
//! PostgreSQL database (`MASHANGBAN_TEST_POSTGRES`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support_cal;

mod calendar;
mod knowledge;
mod notifications;
