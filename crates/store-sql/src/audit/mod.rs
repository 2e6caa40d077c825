//! SM3 seals of request events and of the other histories ([`histories`]:
//! ledger items, visits, command centres, …), anchors and the verifying walk,
//! once for both databases. A seal is written in the transaction of its event
//! (see `requests::write::insert_event` and [`SealedHistory::seal`]); events
//! older than the seals are sealed once, after the fact, up to where the
//! migration recorded.

mod histories;

use mashangban_domain::audit::{
    self, Anchor, AnchorBuilder, EventRecord, Hash, HistoryAnchor, HistoryAnchorBuilder, Report, SealedEvent, Verifier,
};
use mashangban_domain::time::Instant;
use mashangban_store::{AuditStore, StoreError, StoreResult, StoredAnchor};

use crate::sql::{Conn, Database, Row, job};
use crate::{SqlStore, args};

pub(crate) use histories::{
    ACCOUNTS, API_TOKENS, APPROVALS, COMMAND_CENTRES, COMMAND_FORMS, COMMAND_PLEDGES, COMMAND_TARGETS, COMMAND_TASKS,
    COMPENSATION, DIRECT_LINE, ENFORCEMENT, FUND, LEDGER, MONITORING_ALERTS, MONITORING_POINTS, ONSITE, SealedHistory,
    VISITS,
};

/// Every column a seal covers, then the stored seal.
const SEALED_COLUMNS: &str = "e.id, e.request_id, e.seq, e.at, e.kind, e.actor_user_id, e.actor_name, e.actor_role, \
     e.actor_unit_id, e.client_ip, e.from_state, e.to_state, e.comment, e.details, e.attachment_ids, e.due_at, s.seal";

/// Requests (or other records) sealed after the fact per transaction.
const LEGACY_BATCH: i64 = 200;

fn sealed_event(row: Row) -> StoreResult<SealedEvent> {
    let mut c = row.cols();
    let event = EventRecord {
        id: c.get()?,
        request_id: c.get()?,
        seq: c.get()?,
        at: c.get()?,
        kind: c.get()?,
        actor_user_id: c.get()?,
        actor_name: c.get()?,
        actor_role: c.get()?,
        actor_unit_id: c.get()?,
        client_ip: c.get()?,
        from_state: c.get()?,
        to_state: c.get()?,
        comment: c.get()?,
        details: c.get()?,
        attachment_ids: c.get()?,
        due_at: c.get()?,
    };
    Ok(SealedEvent { event, seal: c.get()? })
}

fn stored_seal(text: &str) -> StoreResult<Hash> {
    audit::from_hex(text).ok_or_else(|| StoreError::backend(format!("unreadable event seal {text:?}")))
}

/// Seals the unsealed events of a request from its last sealed one on: the
/// event the platform has just written (`written`), and events older than
/// the seals. An unsealed event written past the platform stays unsealed
/// (verification names it) but the chain runs through it. The request's row
/// is locked by the caller.
pub(crate) async fn seal_request(c: &dyn Conn, request_id: i64, written: Option<i64>) -> StoreResult<()> {
    if written.is_some() && !c.seals_events() {
        return Ok(());
    }
    let sql = format!(
        "SELECT {SEALED_COLUMNS} FROM events e LEFT JOIN event_seals s ON s.event_id = e.id
         WHERE e.request_id = $1 AND e.seq >= (SELECT COALESCE(MAX(e2.seq), 0) FROM events e2
             JOIN event_seals s2 ON s2.event_id = e2.id WHERE e2.request_id = $1)
         ORDER BY e.seq"
    );
    let mut legacy_upto = None;
    let mut head: Option<Hash> = None;
    for sealed in c.map(&sql, &args![request_id], sealed_event).await? {
        if let Some(seal) = &sealed.seal {
            head = Some(stored_seal(seal)?);
            continue;
        }
        let seal = audit::seal(head.as_ref(), &sealed.event);
        head = Some(seal);
        if written != Some(sealed.event.id) {
            let upto = match legacy_upto {
                Some(upto) => upto,
                None => *legacy_upto.insert(c.scalar::<i64>("SELECT legacy_upto FROM audit_state", &args![]).await?),
            };
            if sealed.event.id > upto {
                continue;
            }
        }
        c.execute(
            "INSERT INTO event_seals (event_id, seal) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &args![sealed.event.id, audit::to_hex(&seal)],
        )
        .await?;
    }
    Ok(())
}

/// The requests (or some of them, at most [`LEGACY_BATCH`]) with events older than the seals still
/// unsealed, sealed now, their rows locked first; how many it took (0: none left, and the state
/// says so).
async fn seal_legacy_requests(c: &dyn Conn, now: Instant) -> StoreResult<i64> {
    let chains: Vec<i64> = c
        .map(
            "SELECT DISTINCT e.request_id FROM events e
             WHERE e.id <= (SELECT legacy_upto FROM audit_state)
               AND NOT EXISTS (SELECT 1 FROM event_seals s WHERE s.event_id = e.id)
             ORDER BY e.request_id LIMIT $1",
            &args![LEGACY_BATCH],
            |mut row| row.take(0),
        )
        .await?;
    if chains.is_empty() {
        c.execute("UPDATE audit_state SET legacy_sealed_at = $1 WHERE legacy_sealed_at IS NULL", &args![now]).await?;
    }
    let lock = c.dialect().lock_rows("o");
    for &id in &chains {
        c.query(&format!("SELECT o.id FROM requests o WHERE o.id = $1{lock}"), &args![id]).await?;
        seal_request(c, id, None).await?;
    }
    Ok(chains.len() as i64)
}

/// The anchor over request events up to `last_event_id` and the other histories' events recorded
/// before `settled`, from the stored seals.
async fn anchor_upto(c: &dyn Conn, last_event_id: i64, settled: Instant) -> StoreResult<Anchor> {
    let mut builder = AnchorBuilder::new(last_event_id);
    let mut head: Option<(i64, i64, String)> = None;
    let mut each = |mut row: Row| -> StoreResult<()> {
        let (request_id, seq, seal): (i64, i64, String) = (row.take(0)?, row.take(1)?, row.take(2)?);
        if let Some((previous, previous_seq, previous_seal)) = head.take()
            && previous != request_id
        {
            builder.add_head(previous, previous_seq, &stored_seal(&previous_seal)?);
        }
        head = Some((request_id, seq, seal));
        Ok(())
    };
    c.for_each(
        "SELECT e.request_id, e.seq, s.seal FROM events e JOIN event_seals s ON s.event_id = e.id
         WHERE e.id <= $1 ORDER BY e.request_id, e.seq",
        &args![last_event_id],
        &mut each,
    )
    .await?;
    if let Some((request_id, seq, seal)) = head {
        builder.add_head(request_id, seq, &stored_seal(&seal)?);
    }
    let mut histories = HistoryAnchorBuilder::new(settled);
    for history in histories::ALL {
        history.anchor(c, &mut histories).await?;
    }
    Ok(builder.finish(Some(histories.finish())))
}

/// The columns of a kept anchor, as [`stored_anchor`] reads them.
const ANCHOR_COLUMNS: &str =
    "at, last_event_id, requests, events, digest, histories_before, history_chains, history_events, history_digest";

fn stored_anchor(row: Row) -> StoreResult<StoredAnchor> {
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    let mut c = row.cols();
    let at = c.get()?;
    let last_event_id = c.get()?;
    let requests: i64 = c.get()?;
    let events: i64 = c.get()?;
    let digest: String = c.get()?;
    let before: Option<Instant> = c.get()?;
    let (chains, history_events, history_digest): (Option<i64>, Option<i64>, Option<String>) =
        (c.get()?, c.get()?, c.get()?);
    let histories = match (before, chains, history_events, history_digest) {
        (Some(before), Some(chains), Some(events), Some(digest)) => {
            Some(HistoryAnchor { before, chains: count(chains), events: count(events), digest: stored_seal(&digest)? })
        }
        _ => None,
    };
    let anchor = Anchor {
        last_event_id,
        requests: count(requests),
        events: count(events),
        digest: stored_seal(&digest)?,
        histories,
    };
    Ok(StoredAnchor { at, anchor })
}

impl<D: Database> AuditStore for SqlStore<D> {
    async fn seal_legacy_events(&self, now: Instant) -> StoreResult<u64> {
        let requests_done: Option<Instant> = self
            .db
            .read(job(|c| {
                Box::pin(async move {
                    let mut row = c
                        .query_opt("SELECT legacy_sealed_at FROM audit_state", &args![])
                        .await?
                        .ok_or_else(|| StoreError::backend("audit_state has no row"))?;
                    row.take(0)
                })
            }))
            .await?;
        let mut sealed = 0;
        if requests_done.is_none() {
            loop {
                let took = self.db.write(job(move |c| Box::pin(seal_legacy_requests(c, now)))).await?;
                if took == 0 {
                    break;
                }
                sealed += took as u64;
            }
        }
        for &history in histories::ALL {
            loop {
                let took = self.db.write(job(move |c| Box::pin(history.seal_legacy_batch(c)))).await?;
                if took == 0 {
                    break;
                }
                sealed += took as u64;
            }
        }
        Ok(sealed)
    }

    async fn record_anchor(&self, settled: Instant, now: Instant) -> StoreResult<Option<StoredAnchor>> {
        let anchor = self
            .db
            .read(job(move |c| {
                Box::pin(async move {
                    let last: Option<i64> =
                        c.scalar("SELECT MAX(id) FROM events WHERE at < $1", &args![settled]).await?;
                    let anchor = anchor_upto(c, last.unwrap_or(0), settled).await?;
                    let histories = anchor.histories.as_ref().map_or(0, |h| h.chains);
                    Ok((anchor.requests > 0 || histories > 0).then_some(anchor))
                })
            }))
            .await?;
        let Some(anchor) = anchor else { return Ok(None) };
        self.db
            .write(job(move |c| {
                Box::pin(async move {
                    let histories = anchor.histories.as_ref();
                    let history_digest = histories.map(|h| audit::to_hex(&h.digest));
                    // Nothing new since the last anchor: the same requests' and histories' heads.
                    let kept: Option<i64> = c
                        .scalar_opt(
                            "SELECT id FROM audit_anchors WHERE last_event_id = $1 AND history_digest = $2",
                            &args![anchor.last_event_id, history_digest.clone()],
                        )
                        .await?;
                    if kept.is_some() {
                        return Ok(None);
                    }
                    c.execute(
                        &format!(
                            "INSERT INTO audit_anchors ({ANCHOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                        ),
                        &args![
                            now,
                            anchor.last_event_id,
                            anchor.requests as i64,
                            anchor.events as i64,
                            audit::to_hex(&anchor.digest),
                            histories.map(|h| h.before),
                            histories.map(|h| h.chains as i64),
                            histories.map(|h| h.events as i64),
                            history_digest
                        ],
                    )
                    .await?;
                    Ok(Some(StoredAnchor { at: now, anchor }))
                })
            }))
            .await
    }

    async fn anchors(&self) -> StoreResult<Vec<StoredAnchor>> {
        self.db
            .read(job(|c| {
                Box::pin(async move {
                    let sql = format!("SELECT {ANCHOR_COLUMNS} FROM audit_anchors ORDER BY last_event_id, id");
                    c.map(&sql, &args![], stored_anchor).await
                })
            }))
            .await
    }

    async fn verify_history(&self, anchors: Vec<Anchor>) -> StoreResult<Report> {
        self.db
            .read(job(move |c| {
                Box::pin(async move {
                    let mut verifier = Verifier::new(anchors);
                    let sql = format!(
                        "SELECT {SEALED_COLUMNS} FROM events e LEFT JOIN event_seals s ON s.event_id = e.id
                         ORDER BY e.request_id, e.seq"
                    );
                    c.for_each(&sql, &args![], &mut |row| {
                        verifier.feed(&sealed_event(row)?);
                        Ok(())
                    })
                    .await?;
                    for history in histories::ALL {
                        history.verify(c, &mut verifier).await?;
                    }
                    Ok(verifier.finish())
                })
            }))
            .await
    }
}
