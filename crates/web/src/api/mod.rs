//! The JSON API at `/api/v1`: thin adapters that parse HTTP, call a service
//! of the app and answer its typed result as JSON. Each module declares its
//! routes (with access, documentation and types) next to its handlers.

mod accounts;
mod admin;
pub(crate) mod approvals;
pub(crate) mod attachments;
mod bulk;
pub(crate) mod calendar;
mod catalog;
pub(crate) mod command;
pub(crate) mod command_reports;
pub(crate) mod compensation;
pub(crate) mod creeks;
mod dashboard;
pub(crate) mod direct_line;
mod dispatch;
mod docs;
pub(crate) mod documents;
pub(crate) mod enforcement;
pub(crate) mod enterprises;
pub(crate) mod fund;
mod inbox;
mod knowledge;
pub(crate) mod ledgers;
pub(crate) mod liaisons;
pub(crate) mod monitoring;
mod notifications;
pub(crate) mod onsite;
mod public;
mod requests;
mod saved_views;
pub(crate) mod scores;
mod screening;
mod session;
pub(crate) mod statistics;
mod time_limits;
pub(crate) mod visits;

pub use attachments::percent_encode;
pub use public::CodeQuery;

use mashangban_app::Settings;
use mashangban_store::Store;

use crate::routes::Route;

/// Every route under `/api`.
pub fn routes<S: Store>(settings: &Settings) -> Vec<Route<S>> {
    [
        session::routes::<S>(),
        accounts::routes::<S>(),
        catalog::routes::<S>(),
        requests::routes::<S>(),
        dispatch::routes::<S>(),
        screening::routes::<S>(),
        attachments::routes::<S>(settings),
        public::routes::<S>(settings),
        time_limits::routes::<S>(),
        calendar::routes::<S>(),
        scores::routes::<S>(),
        dashboard::routes::<S>(),
        notifications::routes::<S>(),
        knowledge::routes::<S>(),
        enterprises::routes::<S>(),
        liaisons::routes::<S>(),
        visits::routes::<S>(),
        inbox::routes::<S>(),
        bulk::routes::<S>(),
        saved_views::routes::<S>(),
        direct_line::routes::<S>(),
        approvals::routes::<S>(),
        fund::routes::<S>(),
        ledgers::routes::<S>(),
        creeks::routes::<S>(),
        command::routes::<S>(),
        command_reports::routes::<S>(),
        statistics::routes::<S>(),
        monitoring::routes::<S>(),
        enforcement::routes::<S>(),
        documents::routes::<S>(),
        compensation::routes::<S>(),
        onsite::routes::<S>(),
        admin::routes::<S>(),
        docs::routes::<S>(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
