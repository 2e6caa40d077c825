//! The industry support fund on the portal (`/fund`, public): each policy
//! with its budget and what is used of it per year, its measures with their
//! conditions and formulas, and the public notice (公示) of awards — the
//! enterprise, the measure and the award only, nothing personal. Applying
//! and reviewing go through the JSON API (`/api/v1/fund/...`).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;

use mashangban_app::App;
use mashangban_app::fund::{NoticeRow, PolicyView};
use mashangban_store::Store;

use super::{Layout, PageResult, render, short_time};
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    vec![Route::get("/fund", overview::<S>).public()]
}

#[derive(Template)]
#[template(path = "fund.html")]
struct FundPage {
    layout: Layout,
    policies: Vec<PolicyView>,
    notices: Vec<NoticeRow>,
}

impl FundPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }
}

/// `GET /fund`: the policies, their budget use and measures, and the awards on notice.
async fn overview<S: Store>(State(app): State<App<S>>) -> PageResult {
    let fund = app.fund();
    let page = FundPage {
        layout: Layout::public("产业扶持资金"),
        policies: fund.policies().await?,
        notices: fund.notices().await?,
    };
    Ok(render(StatusCode::OK, &page))
}
