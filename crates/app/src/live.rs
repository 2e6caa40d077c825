//! The live hub: every use case that changes a request publishes its
//! tracking number here once its write is committed. Publishing only wakes
//! this node's change-feed follower (and, on a multi-node store, the other
//! nodes'); the follower reads the change from the durable feed and
//! delivers it to the live progress pages (SSE, in the web layer) that
//! subscribe here. A message only names the request; subscribers reload it.

use std::sync::Arc;

use tokio::sync::broadcast;

use mashangban_domain::request::Request;
use mashangban_store::Signal;

use crate::feed::FeedWaker;
use crate::lookup_cache::LookupCache;

/// How many changes a slow subscriber may fall behind before it reloads.
const CAPACITY: usize = 1024;

/// The bus of request changes, shared by every use case of one node.
#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<Arc<str>>,
    /// Ids of approval projects that changed (拿地即开工 live pages).
    approvals: broadcast::Sender<i64>,
    /// Ids of monitoring points whose point or alerts changed (在线监测 pages).
    monitoring: broadcast::Sender<i64>,
    /// Ids of people whose inbox changed (new entries, entries read): their unread badges reload.
    inbox: broadcast::Sender<i64>,
    /// Ids of direct-line items that changed (直通车): the leaders' and the office's lists reload.
    direct_line: broadcast::Sender<i64>,
    /// Changes to announce to the other app nodes (set when the store has any).
    relay: Option<tokio::sync::mpsc::UnboundedSender<Signal>>,
    /// This node's change-feed followers.
    feed: FeedWaker,
    /// Set when the server stops: open live streams end, so that a graceful
    /// shutdown does not wait for browsers to hang up.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// The public progress look-ups' records, forgotten on every change published or delivered here.
    lookups: Arc<LookupCache>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(CAPACITY).0,
            approvals: broadcast::channel(CAPACITY).0,
            monitoring: broadcast::channel(CAPACITY).0,
            inbox: broadcast::channel(CAPACITY).0,
            direct_line: broadcast::channel(CAPACITY).0,
            relay: None,
            feed: FeedWaker::default(),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            lookups: Arc::default(),
        }
    }
}

impl Live {
    /// Ends every live stream of this node (the server is stopping).
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Live::close_streams`] has been called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut closing = self.closing.subscribe();
        async move {
            // An error means the hub is gone: nothing is left to stream either.
            let _ = closing.wait_for(|closed| *closed).await;
        }
    }

    /// A bus that also hands every change to `relay` (for the other nodes, when there are any), with a
    /// look-up cache of `lookup_entries` requests.
    pub fn new(relay: Option<tokio::sync::mpsc::UnboundedSender<Signal>>, lookup_entries: usize) -> Self {
        Self { relay, lookups: Arc::new(LookupCache::new(lookup_entries)), ..Self::default() }
    }

    /// The public progress look-ups' cache, exact to what was published and delivered here.
    pub fn lookups(&self) -> &LookupCache {
        &self.lookups
    }

    /// A change of the request with this tracking number was committed: wakes
    /// the feed followers of this node and the others, which deliver it.
    pub fn publish(&self, tracking_no: &str) {
        self.lookups.forget(tracking_no);
        self.feed.wake();
        if let Some(relay) = &self.relay {
            let _ = relay.send(Signal::RequestChanged(tracking_no.to_owned()));
        }
    }

    /// Tells this node's subscribers that the request changed (the feed
    /// follower calls this for every request change it reads).
    pub fn deliver(&self, tracking_no: &str) {
        self.lookups.forget(tracking_no);
        // No subscriber is not an error: nobody is watching.
        let _ = self.sender.send(Arc::from(tracking_no));
    }

    /// This node's change-feed followers.
    pub fn feed(&self) -> &FeedWaker {
        &self.feed
    }

    /// Publishes a change of `request` and hands it back (for one-line use after a store call).
    pub fn published(&self, request: Request) -> Request {
        self.publish(&request.tracking_no);
        request
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.sender.subscribe()
    }

    /// A change of an approval project was committed: wakes the feed
    /// followers of this node and the others, which deliver it.
    pub fn publish_approval(&self, project_id: i64) {
        self.feed.wake();
        if let Some(relay) = &self.relay {
            let _ = relay.send(Signal::ApprovalChanged(project_id));
        }
    }

    /// Tells this node's approval subscribers that the project changed.
    pub fn deliver_approval(&self, project_id: i64) {
        let _ = self.approvals.send(project_id);
    }

    pub fn subscribe_approvals(&self) -> broadcast::Receiver<i64> {
        self.approvals.subscribe()
    }

    /// A monitoring point or one of its alerts changed (committed): wakes the
    /// feed followers of this node and the others, which deliver it.
    pub fn publish_monitoring(&self, point_id: i64) {
        self.feed.wake();
        if let Some(relay) = &self.relay {
            let _ = relay.send(Signal::MonitoringChanged(point_id));
        }
    }

    /// Tells this node's monitoring subscribers that the point changed.
    pub fn deliver_monitoring(&self, point_id: i64) {
        let _ = self.monitoring.send(point_id);
    }

    pub fn subscribe_monitoring(&self) -> broadcast::Receiver<i64> {
        self.monitoring.subscribe()
    }

    /// Tells this node's inbox badges that this person's inbox changed (the
    /// feed follower calls this for every `inbox` change it reads).
    pub fn deliver_inbox(&self, user_id: i64) {
        let _ = self.inbox.send(user_id);
    }

    pub fn subscribe_inbox(&self) -> broadcast::Receiver<i64> {
        self.inbox.subscribe()
    }

    /// A direct-line item's step was committed: wakes the feed followers of
    /// this node and the others, which deliver it.
    pub fn publish_direct_line(&self, item_id: i64) {
        self.feed.wake();
        if let Some(relay) = &self.relay {
            let _ = relay.send(Signal::DirectLineChanged(item_id));
        }
    }

    /// Tells this node's direct-line subscribers that the item changed.
    pub fn deliver_direct_line(&self, item_id: i64) {
        let _ = self.direct_line.send(item_id);
    }

    pub fn subscribe_direct_line(&self) -> broadcast::Receiver<i64> {
        self.direct_line.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivering_without_subscribers_is_fine_and_subscribers_hear_changes() {
        let live = Live::default();
        live.deliver("ZS20261129000001");
        let mut receiver = live.subscribe();
        live.deliver("ZS20261129000002");
        assert_eq!(receiver.try_recv().ok().as_deref(), Some("ZS20261129000002"));
    }
}
