//! SM3 seals of the other histories (留痕): visits, direct-line items, approval projects, fund
//! applications, on-site service requests, enforcement cases and compensation matters. One table
//! (`history_seals`) holds them, keyed by history, record and position; each writer seals its
//! event in its transaction (`SealedHistory::seal`), and events older than the seals, listed per
//! record in `history_legacy` by the migration, are sealed once after the fact.

use mashangban_domain::audit::{self, Hash, HistoryEventRecord, HistoryKind, SealedHistoryEvent, Verifier};
use mashangban_store::StoreResult;

use super::{LEGACY_BATCH, stored_seal};
use crate::args;
use crate::sql::{Args, Conn, Row, Value};

/// One sealed history: its events table (also its name), the columns naming an event's record and
/// placing it there, the records' own table, and the columns sealed, in order.
pub(crate) struct SealedHistory {
    kind: HistoryKind,
    chain: &'static str,
    /// `seq` for a sequential history, `id` otherwise.
    position: &'static str,
    owners: &'static str,
    columns: &'static [&'static str],
}

pub(crate) const VISITS: SealedHistory = SealedHistory {
    kind: HistoryKind { name: "visit_events", label: "走访", sequential: false },
    chain: "visit_id",
    position: "id",
    owners: "visits",
    columns: &["at", "by_name", "action", "comment"],
};

pub(crate) const DIRECT_LINE: SealedHistory = SealedHistory {
    kind: HistoryKind { name: "direct_line_events", label: "直通车件", sequential: false },
    chain: "item_id",
    position: "id",
    owners: "direct_line_items",
    columns: &["at", "by_name", "action", "comment"],
};

pub(crate) const APPROVALS: SealedHistory = SealedHistory {
    kind: HistoryKind { name: "approval_actions", label: "拿地即开工项目", sequential: true },
    chain: "project_id",
    position: "seq",
    owners: "approval_projects",
    columns: &["kind", "step", "unit", "at", "document_no", "recorded_at", "recorded_by", "recorded_by_user"],
};

pub(crate) const FUND: SealedHistory = SealedHistory {
    kind: HistoryKind { name: "fund_events", label: "扶持资金申请", sequential: true },
    chain: "application_id",
    position: "seq",
    owners: "fund_applications",
    columns: &["kind", "from_state", "to_state", "award_fen", "note", "at", "by_name", "by_user"],
};

pub(crate) const ONSITE: SealedHistory = SealedHistory {
    kind: HistoryKind { name: "onsite_events", label: "上门服务申请", sequential: true },
    chain: "request_id",
    position: "seq",
    owners: "onsite_requests",
    columns: &["kind", "stage", "note", "at", "by_name", "by_user"],
};

pub(crate) const ENFORCEMENT: SealedHistory = SealedHistory {
    kind: HistoryKind { name: "enforcement_case_events", label: "执法案件", sequential: true },
    chain: "case_id",
    position: "seq",
    owners: "enforcement_cases",
    columns: &["kind", "from_stage", "to_stage", "due_at", "at", "by_name", "by_user", "note"],
};

pub(crate) const COMPENSATION: SealedHistory = SealedHistory {
    kind: HistoryKind { name: "compensation_events", label: "生态环境损害赔偿事项", sequential: true },
    chain: "matter_id",
    position: "seq",
    owners: "compensation_matters",
    columns: &["kind", "stage", "note", "amount_fen", "detail", "at", "by_name", "by_user"],
};

/// Every history sealed here, in the order verification walks them.
pub(crate) const ALL: &[&SealedHistory] =
    &[&VISITS, &DIRECT_LINE, &APPROVALS, &FUND, &ONSITE, &ENFORCEMENT, &COMPENSATION];

/// A stored value as the seal reads it: the same text on SQLite and PostgreSQL.
fn text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Int(n) => Some(n.to_string()),
        Value::Bool(b) => Some(i64::from(b).to_string()),
        Value::Real(x) => Some(x.to_string()),
        Value::Text(s) => Some(s),
        Value::Blob(bytes) => Some(bytes.iter().map(|b| format!("{b:02x}")).collect()),
    }
}

/// A row of [`SealedHistory::select`]: record, position, the sealed columns, the stored seal.
fn sealed_event(mut row: Row) -> StoreResult<SealedHistoryEvent> {
    let last = row.len() - 1;
    let chain_id = row.take(0)?;
    let position = row.take(1)?;
    let fields = (2..last).map(|i| row.take::<Value>(i).map(text)).collect::<StoreResult<_>>()?;
    Ok(SealedHistoryEvent { event: HistoryEventRecord { chain_id, position, fields }, seal: row.take(last)? })
}

impl SealedHistory {
    /// Its events with their seals, `filter` (over `e`, the events) applied, in (record, position) order.
    fn select(&self, filter: &str) -> String {
        let SealedHistory { kind, chain, position, .. } = self;
        let columns: Vec<String> = self.columns.iter().map(|c| format!("e.{c}")).collect();
        format!(
            "SELECT e.{chain}, e.{position}, {}, s.seal FROM {} e
             LEFT JOIN history_seals s ON s.history = '{}' AND s.chain_id = e.{chain} AND s.position = e.{position}
             WHERE {filter} ORDER BY e.{chain}, e.{position}",
            columns.join(", "),
            kind.name,
            kind.name
        )
    }

    /// Locks record `id` (PostgreSQL; SQLite has one writer) so its chain has one writer at a
    /// time. A history placed by row id takes it before inserting its event, so row ids follow
    /// the order of the seals.
    pub(crate) async fn lock(&self, c: &dyn Conn, id: i64) -> StoreResult<()> {
        let lock = c.dialect().lock_rows("o");
        c.query(&format!("SELECT o.id FROM {} o WHERE o.id = $1{lock}", self.owners), &args![id]).await?;
        Ok(())
    }

    /// Seals the event just written at `position` of record `chain_id`, with the record's events
    /// older than the seals. Without seals (a benchmark's option) nothing is sealed now.
    pub(crate) async fn seal(&self, c: &dyn Conn, chain_id: i64, position: i64) -> StoreResult<()> {
        if !c.seals_events() {
            return Ok(());
        }
        self.seal_chain(c, chain_id, Some(position)).await
    }

    /// Seals record `chain_id`'s unsealed events from its last sealed one on: the one `written`
    /// and those the migration listed as older than the seals. An unsealed event written past the
    /// platform stays unsealed (verification names it) but the chain runs through it.
    async fn seal_chain(&self, c: &dyn Conn, chain_id: i64, written: Option<i64>) -> StoreResult<()> {
        let name = self.kind.name;
        let legacy: Option<i64> = c
            .scalar_opt("SELECT upto FROM history_legacy WHERE history = $1 AND chain_id = $2", &args![name, chain_id])
            .await?;
        let filter = format!(
            "e.{chain} = $1 AND e.{position} >= COALESCE((SELECT MAX(position) FROM history_seals
                 WHERE history = $2 AND chain_id = $1), 0)",
            chain = self.chain,
            position = self.position
        );
        let mut head: Option<Hash> = None;
        let mut seals = Args::default();
        let mut rows = Vec::new();
        for sealed in c.map(&self.select(&filter), &args![chain_id, name], sealed_event).await? {
            let event = &sealed.event;
            let seal = match &sealed.seal {
                Some(stored) => stored_seal(stored)?,
                None => {
                    let seal = audit::seal_history_event(self.kind, head.as_ref(), event);
                    if written == Some(event.position) || legacy.is_some_and(|upto| event.position <= upto) {
                        let row = [name.into(), chain_id.into(), event.position.into(), audit::to_hex(&seal).into()];
                        rows.push(format!("({})", seals.list::<Value>(row)));
                    }
                    seal
                }
            };
            head = Some(seal);
        }
        if !rows.is_empty() {
            let sql = format!(
                "INSERT INTO history_seals (history, chain_id, position, seal) VALUES {} ON CONFLICT DO NOTHING",
                rows.join(", ")
            );
            c.execute(&sql, seals.values()).await?;
        }
        if legacy.is_some() {
            c.execute("DELETE FROM history_legacy WHERE history = $1 AND chain_id = $2", &args![name, chain_id])
                .await?;
        }
        Ok(())
    }

    /// Seals the next records (at most [`LEGACY_BATCH`]) with events older than the seals; how
    /// many it took (0: none left).
    pub(crate) async fn seal_legacy_batch(&self, c: &dyn Conn) -> StoreResult<i64> {
        let chains: Vec<i64> = c
            .map(
                "SELECT chain_id FROM history_legacy WHERE history = $1 ORDER BY chain_id LIMIT $2",
                &args![self.kind.name, LEGACY_BATCH],
                |mut row| row.take(0),
            )
            .await?;
        for &chain_id in &chains {
            self.lock(c, chain_id).await?;
            self.seal_chain(c, chain_id, None).await?;
        }
        Ok(chains.len() as i64)
    }

    /// Feeds every event of the history to `verifier`.
    pub(crate) async fn verify(&self, c: &dyn Conn, verifier: &mut Verifier) -> StoreResult<()> {
        let kind = self.kind;
        c.for_each(&self.select("TRUE"), &args![], &mut |row| {
            verifier.feed_history(kind, &sealed_event(row)?);
            Ok(())
        })
        .await
    }
}
