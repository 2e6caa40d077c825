//! Keeping app nodes that share one database in step. What changed is in the
//! durable change feed; the signals here are only wake-ups: this node's
//! commits are announced (coalesced) so the other nodes' feed followers look
//! at once, and the other nodes' announcements wake this node's follower.
//! With a single-node store (SQLite) nothing here runs.

use tokio::sync::{broadcast, mpsc};

use mashangban_store::{Signal, Store};

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

/// Announces this node's changes: one announcement for all that are waiting
/// (each wakes the other nodes' followers, which read every change anyway).
async fn announce_all<S: Store>(store: S, mut outgoing: mpsc::UnboundedReceiver<Signal>) {
    while let Some(mut signal) = outgoing.recv().await {
        while let Ok(later) = outgoing.try_recv() {
            signal = later;
        }
        if let Err(error) = store.announce(signal).await {
            tracing::warn!(%error, "could not announce a change to the other nodes");
        }
    }
}

/// Wakes this node's feed follower whenever another node announces a change
/// (or when signals were dropped: the feed has them all), until the store
/// stops listening.
async fn follow<S: Store>(app: App<S>, mut incoming: broadcast::Receiver<Signal>) {
    loop {
        match incoming.recv().await {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => app.feed().wake(),
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
