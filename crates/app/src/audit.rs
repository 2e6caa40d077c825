//! Tamper-evident history (防篡改留痕): sealing the events older than the
//! seals at start-up, the daily anchor written to the database and to the
//! log, and verification against the kept anchors and any kept outside.

use chrono::Duration as Span;
use mashangban_domain::audit::{Anchor, Report};
use mashangban_domain::time::format_instant;
use mashangban_store::{Store, StoreResult, StoredAnchor};

use crate::App;

/// How far back an anchor stops, so that no transaction still open when it
/// is taken can add an event beneath it.
const SETTLE_MINUTES: i64 = 5;

/// Seals the events written before seals existed, once; how many requests and other records it took.
pub async fn seal_legacy_events<S: Store>(app: &App<S>) -> StoreResult<u64> {
    let sealed = app.store().seal_legacy_events(app.now()).await?;
    if sealed > 0 {
        tracing::info!(
            chains = sealed,
            "sealed the history written before SM3 seals (requests and the other histories)"
        );
    }
    Ok(sealed)
}

/// Keeps an anchor over the settled events, unless another node is taking
/// one; it is also written to the log, which is the copy kept outside the
/// database (`mashangban audit verify --anchors LOG` reads it back).
pub async fn record_anchor<S: Store>(app: &App<S>) -> StoreResult<Option<StoredAnchor>> {
    let Some(_lock) = app.store().try_lock_job("audit-anchor").await? else { return Ok(None) };
    let now = app.now();
    let anchor = app.store().record_anchor(now - Span::minutes(SETTLE_MINUTES), now).await?;
    if let Some(stored) = &anchor {
        tracing::info!("audit anchor at={} {}", format_instant(&stored.at), stored.anchor.to_line());
    }
    Ok(anchor)
}

/// Verifies every request's chain, the anchors in the database and `outside` ones, and every ledger item's chain.
pub async fn verify<S: Store>(app: &App<S>, outside: Vec<Anchor>) -> StoreResult<Report> {
    let mut anchors: Vec<Anchor> = app.store().anchors().await?.into_iter().map(|stored| stored.anchor).collect();
    anchors.extend(outside);
    anchors.sort_by_key(|a| a.last_event_id);
    anchors.dedup();
    app.store().verify_history(anchors).await
}
