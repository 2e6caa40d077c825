//! Reading requests: the data scope and the list filters translated to SQL,
//! once for both databases.

use std::collections::BTreeMap;

use mashangban_domain::org::{Scope, UnitId};
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::request::{EventKind, Rating, Request, RequestId, RunningDeadline, State};
use mashangban_domain::time::Instant;
use mashangban_domain::unit_work::UnitWork;
use mashangban_store::{ListFilter, ListOrder, Page, StoreResult, SubUnitLoad};

use crate::personal_data;
use crate::rows::{self, REQUEST_COLUMNS};
use crate::sql::{Args, Conn, Dialect};

/// How a request is looked up.
pub enum Key {
    Id(RequestId),
    Tracking(String),
}

/// The scope rule (see `Scope::permits`) as SQL on alias `r`; a property
/// test checks that the two agree.
pub fn scope_sql(scope: &Scope, args: &mut Args) -> String {
    match scope {
        Scope::All => "TRUE".into(),
        Scope::Nothing => "FALSE".into(),
        Scope::Units { units, town } => {
            let units = args.list(units.iter().copied());
            let town = match town {
                Some(town) => format!(" OR r.town_id = {}", args.push(*town)),
                None => String::new(),
            };
            format!(
                "(EXISTS (SELECT 1 FROM request_units ru WHERE ru.request_id = r.id AND ru.unit_id IN ({units})){town})"
            )
        }
        Scope::Asker { user_id, credit_code } => {
            let user = args.push(*user_id);
            match credit_code {
                Some(code) => format!("(r.submitted_by = {user} OR r.credit_code = {})", args.push(code.as_str())),
                None => format!("r.submitted_by = {user}"),
            }
        }
        Scope::Liaison { user_id } => format!(
            "EXISTS (SELECT 1 FROM liaison_assignments la WHERE la.credit_code = r.credit_code \
             AND la.user_id = {} AND la.ended_at IS NULL)",
            args.push(*user_id)
        ),
    }
}

/// A request by key if it is in scope; `lock` holds its row until the
/// transaction ends (PostgreSQL; SQLite's writer excludes every other).
pub async fn load(c: &dyn Conn, key: &Key, scope: &Scope, lock: bool) -> StoreResult<Option<Request>> {
    let mut args = Args::default();
    let key_sql = match key {
        Key::Id(id) => format!("r.id = {}", args.push(*id)),
        Key::Tracking(no) => format!("r.tracking_no = {}", args.push(no.as_str())),
    };
    let scope = scope_sql(scope, &mut args);
    let lock = if lock { c.dialect().lock_rows("r") } else { String::new() };
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests r WHERE {key_sql} AND {scope}{lock}");
    c.map_opt(&sql, args.values(), |row| rows::request(row, c.personal_data())).await
}

/// `'a', 'b'` for states written into SQL (codes, not input).
fn state_list(states: impl Iterator<Item = State>) -> String {
    states.map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
}

fn open_states() -> impl Iterator<Item = State> {
    State::ALL.iter().copied().filter(|s| s.is_open())
}

/// The deadline that runs in the request's state, as SQL on alias `r`: the
/// earlier of sign-for and reply while dispatched, else the reply deadline.
fn running_deadline_sql(d: Dialect) -> String {
    let sign_or_reply = d.least("COALESCE(r.sign_due_at, r.due_at)", "COALESCE(r.due_at, r.sign_due_at)");
    format!(
        "CASE WHEN r.state IN ({sign}) THEN COALESCE({sign_or_reply}, '9997') \
              WHEN r.state IN ({reply}) THEN COALESCE(r.due_at, '9997') \
              WHEN r.state IN ({paused}) THEN '9998' ELSE '9999' END",
        sign = state_list(State::with_running_deadline(RunningDeadline::SignForOrReply)),
        reply = state_list(State::with_running_deadline(RunningDeadline::Reply)),
        paused = state_list(State::with_running_deadline(RunningDeadline::Paused)),
    )
}

/// A work queue's order: open urgent and act-now (紧急/马上办) work first,
/// then supervised open work, then the nearest running deadline (so the
/// overdue before the rest), then paused work, then the rest.
fn deadline_order(d: Dialect) -> String {
    format!(
        "(r.urgency = 'normal' OR r.state NOT IN ({open})), (r.supervision IS NULL OR r.state NOT IN ({open})), \
         {running} ASC, r.id ASC",
        open = state_list(open_states()),
        running = running_deadline_sql(d),
    )
}

/// The filter's conditions as SQL on alias `r`; `keys` hash a phone for its look-up.
fn filter_sql(f: &ListFilter, keys: Option<&Keyring>, args: &mut Args) -> Vec<String> {
    let mut clauses = Vec::new();
    // A work queue is the open work unless states are asked for.
    let open: Vec<State> = open_states().collect();
    let states = if f.states.is_empty() && f.order == ListOrder::Deadline { &open } else { &f.states };
    if !states.is_empty() {
        // Written, not bound: the planner can then prove that the open states imply the partial
        // index `requests_open_town` (which needs the list term for term, in `State::ALL` order).
        clauses.push(format!("r.state IN ({})", state_list(State::ALL.iter().copied().filter(|s| states.contains(s)))));
    }
    let mut eq = |column: &str, value: Option<crate::Value>| {
        if let Some(value) = value {
            clauses.push(format!("{column} = {}", args.push(value)));
        }
    };
    eq("r.kind", f.kind.map(|k| k.as_str().into()));
    eq("r.channel", f.channel.map(|c| c.as_str().into()));
    eq("r.town_id", f.town_id.map(Into::into));
    eq("r.category_id", f.category_id.map(Into::into));
    eq("r.credit_code", f.credit_code.as_deref().map(Into::into));
    eq("r.lead_unit_id", f.lead_unit_id.map(Into::into));
    eq("r.screening_held", f.screening_held.map(Into::into));
    if let Some(phone) = f.contact_phone.as_deref() {
        // The phone is stored encrypted: an exact match on its keyed hash under each configured key
        // (rows the rotation sweep has not reached yet keep the old key's hash).
        clauses.push(personal_data::lookup_sql(keys, "r.contact_phone_hash", "r.contact_phone", phone, args));
    }
    if !f.exclude_channels.is_empty() {
        clauses.push(format!("r.channel NOT IN ({})", args.list(f.exclude_channels.iter().map(|c| c.as_str()))));
    }
    if !f.exclude_kinds.is_empty() {
        clauses.push(format!("r.kind NOT IN ({})", args.list(f.exclude_kinds.iter().map(|k| k.as_str()))));
    }
    if let Some(unit) = f.unit_id {
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM request_units fu WHERE fu.request_id = r.id AND fu.unit_id = {})",
            args.push(unit)
        ));
    }
    if f.without_lead_unit {
        clauses.push("r.lead_unit_id IS NULL".into());
    }
    if f.without_town {
        clauses.push("r.town_id IS NULL".into());
    }
    let mut compare = |column: &str, op: &str, at: Option<&Instant>| {
        if let Some(at) = at {
            clauses.push(format!("{column} {op} {}", args.push(at)));
        }
    };
    compare("r.due_at", ">=", f.due_from.as_ref());
    compare("r.closed_at", ">=", f.closed_from.as_ref());
    compare("r.closed_at", "<", f.closed_to.as_ref());
    compare("r.received_at", ">=", f.received_from.as_ref());
    compare("r.received_at", "<", f.received_to.as_ref());
    compare("r.updated_at", ">", f.updated_after.as_ref());
    compare("r.updated_at", "<", f.updated_before.as_ref());
    if let Some(at) = &f.overdue_at {
        clauses.push(format!("r.due_at < {} AND r.state IN ({})", args.push(at), state_list(open_states())));
    }
    if f.supervised {
        clauses.push("r.supervision IS NOT NULL".into());
    }
    if f.pending_extension {
        clauses.push("r.ext_requested_due IS NOT NULL".into());
    }
    if f.unhappy_follow_up {
        let unhappy = Rating::ALL.iter().filter(|r| r.is_dissatisfied()).map(|r| format!("'{}'", r.as_str()));
        clauses.push(format!(
            "r.state = '{}' AND (r.rating IN ({}) OR NOT r.resolved)",
            State::FollowedUp.as_str(),
            unhappy.collect::<Vec<_>>().join(", ")
        ));
    }
    if !f.category_ids.is_empty() {
        clauses.push(format!("r.category_id IN ({})", args.list(f.category_ids.iter().copied())));
    }
    if let Some(before) = f.before_id {
        clauses.push(format!("r.id < {}", args.push(before)));
    }
    clauses
}

/// The SELECT of `columns` of one page of requests in scope matching the filter, one row more than
/// the page (so a caller can tell whether more follow), with its arguments.
fn list_sql(c: &dyn Conn, columns: &str, f: &ListFilter, scope: &Scope) -> (String, Args) {
    let mut args = Args::default();
    let mut clauses = vec![scope_sql(scope, &mut args)];
    clauses.extend(filter_sql(f, c.personal_data(), &mut args));
    let limit_mark = args.push(i64::from(f.limit.clamp(1, 500)) + 1);
    let offset_mark = args.push(i64::from(f.offset));
    let order = match f.order {
        ListOrder::Newest => "r.id DESC".to_owned(),
        ListOrder::Deadline => deadline_order(c.dialect()),
    };
    let sql = format!(
        "SELECT {columns} FROM requests r WHERE {} ORDER BY {order} LIMIT {limit_mark} OFFSET {offset_mark}",
        clauses.join(" AND ")
    );
    (sql, args)
}

/// One page of requests in scope matching the filter.
pub async fn list(c: &dyn Conn, f: &ListFilter, scope: &Scope) -> StoreResult<Page<Request>> {
    let limit = f.limit.clamp(1, 500);
    let (sql, args) = list_sql(c, REQUEST_COLUMNS, f, scope);
    let mut items = c.map(&sql, args.values(), |row| rows::request(row, c.personal_data())).await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if more && f.order == ListOrder::Newest { items.last().map(|r| r.id) } else { None };
    Ok(Page { items, next_cursor })
}

/// The id and version of each request of one page in scope matching the filter (no cursor).
pub async fn list_versions(c: &dyn Conn, f: &ListFilter, scope: &Scope) -> StoreResult<Vec<(RequestId, i64)>> {
    let (sql, args) = list_sql(c, "r.id, r.version", f, scope);
    let mut found = c
        .map(&sql, args.values(), |row| {
            let mut c = row.cols();
            Ok((c.get()?, c.get()?))
        })
        .await?;
    found.truncate(f.limit.clamp(1, 500) as usize);
    Ok(found)
}

/// The requests with these ids in scope, in id order. The ids go in lists of 8, 64 or 512 (the last
/// id repeated to fill one), so that PostgreSQL's per-connection statement cache holds three
/// statements for this, not one per count of ids.
pub async fn by_ids(c: &dyn Conn, ids: &[RequestId], scope: &Scope) -> StoreResult<Vec<Request>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(512) {
        let size = [8, 64, 512].into_iter().find(|&n| chunk.len() <= n).unwrap_or(512);
        let last = chunk.last().copied().unwrap_or_default();
        let mut args = Args::default();
        let ids_sql = args.list(chunk.iter().copied().chain(std::iter::repeat_n(last, size - chunk.len())));
        let scope = scope_sql(scope, &mut args);
        let sql =
            format!("SELECT {REQUEST_COLUMNS} FROM requests r WHERE r.id IN ({ids_sql}) AND {scope} ORDER BY r.id");
        found.extend(c.map(&sql, args.values(), |row| rows::request(row, c.personal_data())).await?);
    }
    Ok(found)
}

/// How many requests in scope match the filter, whatever page it asks for.
pub async fn count(c: &dyn Conn, f: &ListFilter, scope: &Scope) -> StoreResult<u64> {
    let all = ListFilter { before_id: None, offset: 0, ..f.clone() };
    let mut args = Args::default();
    let mut clauses = vec![scope_sql(scope, &mut args)];
    clauses.extend(filter_sql(&all, c.personal_data(), &mut args));
    let sql = format!("SELECT COUNT(*) FROM requests r WHERE {}", clauses.join(" AND "));
    let n: i64 = c.scalar(&sql, args.values()).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Open requests with a running deadline at or before `until` whose notices are not all sent, in
/// id order after `after` (a page of the scheduler's scan). A deadline's notices are all sent once
/// its last level is recorded for its due time: the supervisor's for the request's own deadlines,
/// 超期 for a unit's own (a sub-unit's, a co-handling unit's), which do not escalate. So long-overdue
/// requests drop out, and a city with many of them still gets every new notice in each scan.
pub async fn deadline_candidates(
    c: &dyn Conn,
    until: &Instant,
    after: RequestId,
    limit: u32,
) -> StoreResult<Vec<Request>> {
    let sent = |deadline: &str, level: &str, due: &str| {
        format!(
            "NOT EXISTS (SELECT 1 FROM deadline_notices n WHERE n.request_id = r.id AND n.deadline = {deadline}
                AND n.level = '{level}' AND n.due_at = {due})"
        )
    };
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests r
         WHERE r.id > $2 AND (
            (r.state IN ({sign}) AND r.sign_due_at <= $1 AND {sign_pending})
            OR (r.state IN ({due}) AND r.due_at <= $1 AND {reply_pending})
            OR (r.state IN ({due}) AND EXISTS (SELECT 1 FROM request_units ru
                WHERE ru.request_id = r.id AND ru.role IN ('sub', 'co') AND ru.due_at <= $1 AND {unit_pending})))
         ORDER BY r.id LIMIT $3",
        sign = state_list(State::with_running_deadline(RunningDeadline::SignForOrReply)),
        due = state_list(
            State::with_running_deadline(RunningDeadline::SignForOrReply)
                .chain(State::with_running_deadline(RunningDeadline::Reply))
        ),
        sign_pending = sent("'sign_for'", "supervisor", "r.sign_due_at"),
        reply_pending = sent("'reply'", "supervisor", "r.due_at"),
        unit_pending = sent(
            "(CASE ru.role WHEN 'sub' THEN 'sub_unit:' ELSE 'co_unit:' END) || CAST(ru.unit_id AS TEXT)",
            "overdue",
            "ru.due_at"
        ),
    );
    c.map(&sql, &crate::args![until, after, limit], |row| rows::request(row, c.personal_data())).await
}

/// Open requests with provisional deadlines, or with limits and no reply deadline.
pub async fn recount_candidates(c: &dyn Conn, after: RequestId, limit: u32) -> StoreResult<Vec<Request>> {
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests r
         WHERE r.id > $1 AND r.state IN ({open})
           AND (r.deadlines_provisional OR (r.due_at IS NULL AND r.time_limits IS NOT NULL))
         ORDER BY r.id LIMIT $2",
        open = state_list(open_states()),
    );
    c.map(&sql, &crate::args![after, limit], |row| rows::request(row, c.personal_data())).await
}

/// A request's events, oldest first.
pub async fn history(c: &dyn Conn, request_id: RequestId) -> StoreResult<Vec<mashangban_domain::request::Event>> {
    let sql = format!("SELECT {} FROM events WHERE request_id = $1 ORDER BY seq", rows::EVENT_COLUMNS);
    c.map(&sql, &crate::args![request_id], rows::event).await
}

/// Requests whose reply texts one statement reads: well under both databases' limits of bound
/// parameters, and one page of the index's rebuild or one batch of the change feed.
const REPLY_TEXTS_CHUNK: usize = 500;

/// The comments of the reply events of each of the requests, oldest first; one statement per
/// [`REPLY_TEXTS_CHUNK`] requests, through the `(request_id, seq)` unique index.
pub async fn reply_texts(c: &dyn Conn, request_ids: &[RequestId]) -> StoreResult<BTreeMap<RequestId, Vec<String>>> {
    let mut texts: BTreeMap<RequestId, Vec<String>> = BTreeMap::new();
    for chunk in request_ids.chunks(REPLY_TEXTS_CHUNK) {
        let mut args = Args::default();
        let ids = args.list(chunk.iter().copied());
        let kinds = args.list(EventKind::REPLIES.iter().map(|k| k.as_str()));
        let sql = format!(
            "SELECT request_id, comment FROM events
             WHERE request_id IN ({ids}) AND kind IN ({kinds}) AND comment IS NOT NULL
             ORDER BY request_id, seq"
        );
        let rows = c
            .map(&sql, args.values(), |row| {
                let mut c = row.cols();
                Ok((c.get::<RequestId>()?, c.get::<String>()?))
            })
            .await?;
        for (id, comment) in rows {
            texts.entry(id).or_default().push(comment);
        }
    }
    Ok(texts)
}

/// Requests in scope led by one of `units` whose reply waits for review, in queue order.
pub async fn awaiting_review(c: &dyn Conn, scope: &Scope, units: &[UnitId], limit: u32) -> StoreResult<Vec<Request>> {
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = Args::default();
    let scope = scope_sql(scope, &mut args);
    let units = args.list(units.iter().copied());
    let limit = args.push(i64::from(limit.clamp(1, 500)));
    let sql = format!(
        "SELECT {REQUEST_COLUMNS} FROM requests r WHERE r.review_pending AND r.lead_unit_id IN ({units}) AND {scope}
         ORDER BY {order} LIMIT {limit}",
        order = deadline_order(c.dialect()),
    );
    c.map(&sql, args.values(), |row| rows::request(row, c.personal_data())).await
}

/// Each sub-unit's open assignments (二次派单) on open requests, and how many are past their deadline.
pub async fn sub_unit_load(c: &dyn Conn, sub_units: &[UnitId], now: &Instant) -> StoreResult<Vec<SubUnitLoad>> {
    let mut load: BTreeMap<UnitId, SubUnitLoad> =
        sub_units.iter().map(|&unit_id| (unit_id, SubUnitLoad { unit_id, open: 0, overdue: 0 })).collect();
    if sub_units.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = Args::default();
    let units = args.list(sub_units.iter().copied());
    let sql = format!(
        "SELECT ru.unit_id, r.unit_work FROM request_units ru JOIN requests r ON r.id = ru.request_id
         WHERE ru.role = 'sub' AND ru.unit_id IN ({units}) AND r.state IN ({open})",
        open = state_list(open_states()),
    );
    let rows = c
        .map(&sql, args.values(), |row| {
            let mut c = row.cols();
            Ok((c.get::<UnitId>()?, c.opt_json::<UnitWork>()?.unwrap_or_default()))
        })
        .await?;
    for (unit, work) in rows {
        let Some(entry) = load.get_mut(&unit) else { continue };
        entry.open += 1;
        if work.subs.iter().any(|s| s.sub_unit_id == unit && s.is_open() && s.due < *now) {
            entry.overdue += 1;
        }
    }
    Ok(load.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The partial index on open requests is used only while the list query writes the open
    /// states exactly as the index's predicate does.
    #[test]
    fn open_states_match_the_partial_index_in_both_databases() {
        let predicate = format!("WHERE state IN ({});", state_list(open_states()));
        for migration in [
            include_str!("../../../store-sqlite/migrations/0062_open_requests_by_town.sql"),
            include_str!("../../../store-postgres/migrations/0059_open_requests_by_town.sql"),
        ] {
            assert!(migration.contains(&predicate), "{predicate} not in {migration}");
        }
        let mut args = Args::default();
        let open: Vec<State> = open_states().collect();
        let filter = ListFilter { states: open.iter().rev().copied().collect(), ..ListFilter::default() };
        let clauses = filter_sql(&filter, None, &mut args);
        assert_eq!(clauses[0], format!("r.state IN ({})", state_list(open.into_iter())));
    }
}
