//! Keeping app nodes that share one database in step: this node's request
//! changes are announced through the store, and the other nodes'
//! announcements wake this node's live progress pages and reload its caches.
//! With a single-node store (SQLite) nothing here runs.

use tokio::sync::{broadcast, mpsc};

use mashangban_store::{Signal, Store, StoreResult};

use crate::App;

/// Starts the two relays of a node: outgoing request changes and incoming signals.
pub(crate) fn spawn<S: Store>(
    app: App<S>,
    outgoing: mpsc::UnboundedReceiver<Signal>,
    incoming: broadcast::Receiver<Signal>,
) {
    tokio::spawn(announce_all(app.store().clone(), outgoing));
    tokio::spawn(follow(app, incoming));
}

/// Announces this node's request changes, in order, one at a time.
async fn announce_all<S: Store>(store: S, mut outgoing: mpsc::UnboundedReceiver<Signal>) {
    while let Some(signal) = outgoing.recv().await {
        if let Err(error) = store.announce(signal).await {
            tracing::warn!(%error, "could not announce a change to the other nodes");
        }
    }
}

/// Applies what the other nodes announce until the store stops listening.
async fn follow<S: Store>(app: App<S>, mut incoming: broadcast::Receiver<Signal>) {
    loop {
        let result = match incoming.recv().await {
            Ok(signal) => apply(&app, signal).await,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                // Caches may be stale: reload them all. Progress pages catch up on their next change.
                tracing::warn!(missed, "fell behind the other nodes' signals; reloading caches");
                app.caches().reload_all(app.store()).await
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if let Err(error) = result {
            tracing::error!(%error, "could not apply another node's change");
        }
    }
}

/// Brings this node up to date with one change made elsewhere.
async fn apply<S: Store>(app: &App<S>, signal: Signal) -> StoreResult<()> {
    if let Signal::RequestChanged(tracking_no) = &signal {
        app.live().publish_here(tracking_no);
    }
    app.caches().apply(app.store(), &signal).await
}
