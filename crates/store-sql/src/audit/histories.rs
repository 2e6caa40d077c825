//! SM3 seals of the histories besides requests' (留痕): ledger items, visits, direct-line items,
//! approval projects, fund applications, on-site service requests, enforcement cases, compensation
//! matters, command centres (their own entries, targets, tasks, report forms and pledges),
//! monitoring points and alerts, accounts and API tokens. One table (`history_seals`) holds them,
//! keyed by history, record and position; each writer seals its events in its transaction
//! ([`SealedHistory::seal`], or [`SealedHistory::seal_written`] for many at once), and events older
//! than the seals, listed per record in `history_legacy` by the migrations, are sealed once after
//! the fact.

use std::collections::{HashMap, HashSet};

use mashangban_domain::audit::{
    self, Hash, HistoryAnchorBuilder, HistoryEventRecord, HistoryKind, SealLabel, SealedHistoryEvent, Verifier,
};
use mashangban_domain::time::parse_instant;
use mashangban_store::StoreResult;

use super::{LEGACY_BATCH, stored_seal};
use crate::args;
use crate::sql::{Args, Conn, Row, Value};

/// One sealed history: its events table, the record an event belongs to, the events of the table
/// that are this history's, the column placing an event in its record, the records' own table,
/// and the columns sealed, in order.
pub(crate) struct SealedHistory {
    kind: HistoryKind,
    table: &'static str,
    /// An expression over `e` (the event) naming its record.
    chain: &'static str,
    /// A condition over `e`: which events of the table are this history's.
    subject: &'static str,
    /// `seq` for a sequential history, `id` otherwise.
    position: &'static str,
    /// The column with the time the platform recorded the event, by which anchors cover it.
    recorded: &'static str,
    owners: &'static str,
    columns: &'static [&'static str],
}

/// A history of its own table, sealed under the shared label.
const fn shared(
    name: &'static str,
    label: &'static str,
    chain: &'static str,
    position: &'static str,
    owners: &'static str,
    columns: &'static [&'static str],
) -> SealedHistory {
    let sequential = matches!(position.as_bytes(), b"seq");
    SealedHistory {
        kind: HistoryKind { name, label, sequential, seal_label: SealLabel::Shared },
        table: name,
        chain,
        subject: "TRUE",
        position,
        recorded: "at",
        owners,
        columns,
    }
}

/// Ledger item events (台账变更记录), chained per item by row id: the item's row is locked (or new
/// in the transaction) before an event is inserted. Sealed under the ledger's own label, as they
/// were before they joined `history_seals`, so those seals verify unchanged.
pub(crate) const LEDGER: SealedHistory = SealedHistory {
    kind: HistoryKind {
        name: "ledger_item_events",
        label: "台账条目",
        sequential: false,
        seal_label: SealLabel::Ledger,
    },
    table: "ledger_item_events",
    chain: "e.item_id",
    subject: "TRUE",
    position: "id",
    recorded: "at",
    owners: "ledger_items",
    columns: &[
        "item_version",
        "at",
        "by_user_id",
        "by_name",
        "by_role",
        "ledger_roles",
        "action",
        "from_stage",
        "to_stage",
        "changes",
        "note",
    ],
};

pub(crate) const VISITS: SealedHistory =
    shared("visit_events", "走访", "e.visit_id", "id", "visits", &["at", "by_name", "action", "comment"]);

pub(crate) const DIRECT_LINE: SealedHistory = shared(
    "direct_line_events",
    "直通车件",
    "e.item_id",
    "id",
    "direct_line_items",
    &["at", "by_name", "action", "comment"],
);

/// Approval projects' actions (拿地即开工): `at` is when the step happened, `recorded_at` when it
/// was entered, which anchors cover by.
pub(crate) const APPROVALS: SealedHistory = SealedHistory {
    recorded: "recorded_at",
    ..shared(
        "approval_actions",
        "拿地即开工项目",
        "e.project_id",
        "seq",
        "approval_projects",
        &["kind", "step", "unit", "at", "document_no", "recorded_at", "recorded_by", "recorded_by_user"],
    )
};

pub(crate) const FUND: SealedHistory = shared(
    "fund_events",
    "扶持资金申请",
    "e.application_id",
    "seq",
    "fund_applications",
    &["kind", "from_state", "to_state", "award_fen", "note", "at", "by_name", "by_user"],
);

pub(crate) const ONSITE: SealedHistory = shared(
    "onsite_events",
    "上门服务申请",
    "e.request_id",
    "seq",
    "onsite_requests",
    &["kind", "stage", "note", "at", "by_name", "by_user"],
);

pub(crate) const ENFORCEMENT: SealedHistory = shared(
    "enforcement_case_events",
    "执法案件",
    "e.case_id",
    "seq",
    "enforcement_cases",
    &["kind", "from_stage", "to_stage", "due_at", "at", "by_name", "by_user", "note"],
);

pub(crate) const COMPENSATION: SealedHistory = shared(
    "compensation_events",
    "生态环境损害赔偿事项",
    "e.matter_id",
    "seq",
    "compensation_matters",
    &["kind", "stage", "note", "amount_fen", "detail", "at", "by_name", "by_user"],
);

/// Monitoring point events (监测点的建档、修改、停用、数据缺失与恢复), chained per point by row id.
pub(crate) const MONITORING_POINTS: SealedHistory = shared(
    "monitoring_point_events",
    "监测点",
    "e.point_id",
    "id",
    "monitoring_points",
    &["kind", "at", "by_name", "by_user", "note"],
);

/// Monitoring alert events (超标报警的产生、排除、立案), chained per alert by row id.
pub(crate) const MONITORING_ALERTS: SealedHistory = shared(
    "monitoring_alert_events",
    "超标报警",
    "e.alert_id",
    "id",
    "monitoring_alerts",
    &["kind", "at", "by_name", "by_user", "note"],
);

/// Every column of a command centre's history entry: the subject columns too, so an entry moved
/// to another subject shows.
const COMMAND_COLUMNS: &[&str] =
    &["centre_code", "target_id", "task_id", "form_id", "pledge_id", "at", "by_user_id", "by_name", "action", "note"];

/// A command centre's history (`command_events`) holds the entries of the centre itself and of its
/// targets, tasks, report forms and pledges; each subject is a history of its own, chained per
/// subject by row id (the subject's row locked before its entry is inserted), so that a task's
/// reports do not wait for the centre or for other tasks.
const fn command(
    name: &'static str,
    label: &'static str,
    chain: &'static str,
    subject: &'static str,
    owners: &'static str,
) -> SealedHistory {
    SealedHistory {
        kind: HistoryKind { name, label, sequential: false, seal_label: SealLabel::Shared },
        table: "command_events",
        chain,
        subject,
        position: "id",
        recorded: "at",
        owners,
        columns: COMMAND_COLUMNS,
    }
}

/// The centre's own entries (installed, saved), chained per centre by its row id.
pub(crate) const COMMAND_CENTRES: SealedHistory = command(
    "command_events/centre",
    "指挥部",
    "(SELECT o.id FROM command_centres o WHERE o.code = e.centre_code)",
    "e.target_id IS NULL AND e.task_id IS NULL AND e.form_id IS NULL AND e.pledge_id IS NULL",
    "command_centres",
);

pub(crate) const COMMAND_TARGETS: SealedHistory =
    command("command_events/target", "指挥部目标", "e.target_id", "e.target_id IS NOT NULL", "command_targets");

pub(crate) const COMMAND_TASKS: SealedHistory =
    command("command_events/task", "指挥部任务", "e.task_id", "e.task_id IS NOT NULL", "command_tasks");

pub(crate) const COMMAND_FORMS: SealedHistory =
    command("command_events/form", "指挥部定期报表", "e.form_id", "e.form_id IS NOT NULL", "command_report_forms");

pub(crate) const COMMAND_PLEDGES: SealedHistory =
    command("command_events/pledge", "指挥部军令状", "e.pledge_id", "e.pledge_id IS NOT NULL", "command_pledges");

/// Accounts' histories (账号变更记录: created, role or unit changed, disabled, passwords, contacts),
/// chained per user by row id.
pub(crate) const ACCOUNTS: SealedHistory = shared("account_events", "账号", "e.user_id", "id", "users", CHANGE_COLUMNS);

/// The sealed columns of an account's or an API token's change.
const CHANGE_COLUMNS: &[&str] = &["at", "by_name", "by_user", "action", "detail"];

/// API tokens' histories (接口令牌变更记录: created, revoked), chained per token by row id.
pub(crate) const API_TOKENS: SealedHistory =
    shared("api_token_events", "接口令牌", "e.token_id", "id", "api_tokens", CHANGE_COLUMNS);

/// Every history sealed here, in the order verification walks them.
pub(crate) const ALL: &[&SealedHistory] = &[
    &LEDGER,
    &VISITS,
    &DIRECT_LINE,
    &APPROVALS,
    &FUND,
    &ONSITE,
    &ENFORCEMENT,
    &COMPENSATION,
    &COMMAND_CENTRES,
    &COMMAND_TARGETS,
    &COMMAND_TASKS,
    &COMMAND_FORMS,
    &COMMAND_PLEDGES,
    &MONITORING_POINTS,
    &MONITORING_ALERTS,
    &ACCOUNTS,
    &API_TOKENS,
];

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

/// A row of [`SealedHistory::select`]: record, position, time recorded, the sealed columns, the stored seal.
fn sealed_event(mut row: Row) -> StoreResult<SealedHistoryEvent> {
    let last = row.len() - 1;
    let chain_id = row.take(0)?;
    let position = row.take(1)?;
    let recorded_at = text(row.take::<Value>(2)?).as_deref().and_then(parse_instant);
    let fields = (3..last).map(|i| row.take::<Value>(i).map(text)).collect::<StoreResult<_>>()?;
    let event = HistoryEventRecord { chain_id, position, fields };
    Ok(SealedHistoryEvent { event, seal: row.take(last)?, recorded_at })
}

impl SealedHistory {
    /// Its events with their seals, `filter` (over `e`, the events) applied, in (record, position) order.
    fn select(&self, filter: &str) -> String {
        let SealedHistory { kind, table, chain, subject, position, recorded, .. } = self;
        let columns: Vec<String> = self.columns.iter().map(|c| format!("e.{c}")).collect();
        format!(
            "SELECT {chain} AS chain_id, e.{position}, e.{recorded}, {}, s.seal FROM {table} e
             LEFT JOIN history_seals s ON s.history = '{}' AND s.chain_id = {chain} AND s.position = e.{position}
             WHERE {subject} AND {filter} ORDER BY 1, e.{position}",
            columns.join(", "),
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
        self.seal_written(c, &[(chain_id, position)]).await
    }

    /// Seals the events just written, (record, position) each, of records locked by the caller or
    /// new in its transaction, in one read and one insert however many there are (a bulk import).
    pub(crate) async fn seal_written(&self, c: &dyn Conn, written: &[(i64, i64)]) -> StoreResult<()> {
        if !c.seals_events() || written.is_empty() {
            return Ok(());
        }
        let mut chains: Vec<i64> = written.iter().map(|(chain, _)| *chain).collect();
        chains.sort_unstable();
        chains.dedup();
        self.seal_chains(c, &chains, &written.iter().copied().collect()).await
    }

    /// Seals records `chains`' unsealed events from each one's last sealed event on (from its
    /// first, where the migration listed events older than the seals): those `written` and those
    /// the migration listed. An unsealed event written past the platform stays unsealed
    /// (verification names it) but the chain runs through it.
    async fn seal_chains(&self, c: &dyn Conn, chains: &[i64], written: &HashSet<(i64, i64)>) -> StoreResult<()> {
        let name = self.kind.name;
        let mut args = Args::default();
        let history = args.push(name);
        let list = args.list(chains.iter().copied());
        let legacy: HashMap<i64, i64> = c
            .map(
                &format!(
                    "SELECT chain_id, upto FROM history_legacy WHERE history = {history} AND chain_id IN ({list})"
                ),
                args.values(),
                |mut row| Ok((row.take(0)?, row.take(1)?)),
            )
            .await?
            .into_iter()
            .collect();
        let chain = self.chain;
        let filter = format!(
            "{chain} IN ({list}) AND e.{position} >= COALESCE((SELECT MAX(s2.position) FROM history_seals s2
                 WHERE s2.history = {history} AND s2.chain_id = {chain} AND NOT EXISTS (SELECT 1 FROM history_legacy l
                     WHERE l.history = {history} AND l.chain_id = {chain})), 0)",
            position = self.position
        );
        let mut head: Option<(i64, Hash)> = None;
        let mut seals = Args::default();
        let mut rows = Vec::new();
        for sealed in c.map(&self.select(&filter), args.values(), sealed_event).await? {
            let event = &sealed.event;
            let previous = head.filter(|(chain_id, _)| *chain_id == event.chain_id).map(|(_, seal)| seal);
            let seal = match &sealed.seal {
                Some(stored) => stored_seal(stored)?,
                None => {
                    let seal = audit::seal_history_event(self.kind, previous.as_ref(), event);
                    let listed = legacy.get(&event.chain_id).is_some_and(|upto| event.position <= *upto);
                    if listed || written.contains(&(event.chain_id, event.position)) {
                        let row =
                            [name.into(), event.chain_id.into(), event.position.into(), audit::to_hex(&seal).into()];
                        rows.push(format!("({})", seals.list::<Value>(row)));
                    }
                    seal
                }
            };
            head = Some((event.chain_id, seal));
        }
        if !rows.is_empty() {
            let sql = format!(
                "INSERT INTO history_seals (history, chain_id, position, seal) VALUES {} ON CONFLICT DO NOTHING",
                rows.join(", ")
            );
            c.execute(&sql, seals.values()).await?;
        }
        if !legacy.is_empty() {
            let mut args = Args::default();
            let history = args.push(name);
            let list = args.list(legacy.keys().copied());
            c.execute(
                &format!("DELETE FROM history_legacy WHERE history = {history} AND chain_id IN ({list})"),
                args.values(),
            )
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
        if chains.is_empty() {
            return Ok(0);
        }
        for &chain_id in &chains {
            self.lock(c, chain_id).await?;
        }
        self.seal_chains(c, &chains, &HashSet::new()).await?;
        Ok(chains.len() as i64)
    }

    /// Feeds every sealed event of the history, with its stored seal, to an anchor being kept.
    pub(crate) async fn anchor(&self, c: &dyn Conn, builder: &mut HistoryAnchorBuilder) -> StoreResult<()> {
        let name = self.kind.name;
        c.for_each(&self.select("s.seal IS NOT NULL"), &args![], &mut |row| {
            let sealed = sealed_event(row)?;
            let seal = stored_seal(sealed.seal.as_deref().unwrap_or_default())?;
            builder.add_event(name, sealed.event.chain_id, sealed.recorded_at.as_ref(), &seal);
            Ok(())
        })
        .await
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
