//! The domain's integration tests, in one binary (each binary costs a link).

mod environment;
mod expr;
mod ledger;
mod lifecycle;
mod personal_scope;
