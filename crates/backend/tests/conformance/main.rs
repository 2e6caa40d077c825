//! The store written once (`mashangban_store_sql::SqlStore`) against real
//! databases: every test body is generic over the database and runs on
//! SQLite and on PostgreSQL (`MASHANGBAN_TEST_POSTGRES`, see
//! `mashangban_store_postgres::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;

mod approvals;
mod audit;
mod calendar;
mod catalog;
mod changes;
mod command;
mod command_reports;
mod copy;
mod creeks;
mod direct_line;
mod duplicates;
mod enforcement;
mod enterprises;
mod fund;
mod health;
mod inbox;
mod inside_unit;
mod knowledge;
mod ledgers;
mod liaison;
mod monitoring;
mod notifications;
mod onsite;
mod org;
mod password_resets;
mod personal_data;
mod ratelimits;
mod requests;
mod saved_views;
mod statistics;
mod time_limits;
mod visits;
