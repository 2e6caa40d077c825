//! Mapping between rows and domain values.

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use mashangban_domain::org::{Role, Unit, UnitKind};
use mashangban_domain::request::{
    Asker, Channel, Contact, Deadlines, Event, EventKind, Location, PendingExtension, Rating, Request, RequestKind,
    State, Urgency,
};
use mashangban_domain::time::{Instant, format_instant, parse_instant};
use mashangban_domain::validation::{CreditCode, GeoPoint, Phone};
use mashangban_store::{StoreError, StoreResult, User};

use crate::db::db_err;

pub fn ts(t: &Instant) -> String {
    format_instant(t)
}

pub fn opt_ts(t: Option<&Instant>) -> Option<String> {
    t.map(format_instant)
}

pub fn bad(what: &str, value: &str) -> StoreError {
    StoreError::backend(format!("bad {what} in database: {value:?}"))
}

/// A column's value.
pub fn get<'a, T: FromSql<'a>>(row: &'a Row, col: &str) -> StoreResult<T> {
    row.try_get(col).map_err(db_err)
}

/// A non-negative count stored as BIGINT.
pub fn count<T: TryFrom<i64>>(row: &Row, col: &str) -> StoreResult<T> {
    let n: i64 = get(row, col)?;
    T::try_from(n).map_err(|_| bad(col, &n.to_string()))
}

pub fn opt_count<T: TryFrom<i64>>(row: &Row, col: &str) -> StoreResult<Option<T>> {
    let n: Option<i64> = get(row, col)?;
    n.map(|n| T::try_from(n).map_err(|_| bad(col, &n.to_string()))).transpose()
}

pub fn instant(row: &Row, col: &str) -> StoreResult<Instant> {
    let s: String = get(row, col)?;
    parse_instant(&s).ok_or_else(|| bad("timestamp", &s))
}

pub fn opt_instant(row: &Row, col: &str) -> StoreResult<Option<Instant>> {
    let s: Option<String> = get(row, col)?;
    s.map(|s| parse_instant(&s).ok_or_else(|| bad("timestamp", &s))).transpose()
}

pub fn code<T>(row: &Row, col: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
    let s: String = get(row, col)?;
    parse(&s).ok_or_else(|| bad(col, &s))
}

pub fn opt_code<T>(row: &Row, col: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<Option<T>> {
    let s: Option<String> = get(row, col)?;
    s.map(|s| parse(&s).ok_or_else(|| bad(col, &s))).transpose()
}

pub fn json<T: serde::de::DeserializeOwned>(row: &Row, col: &str) -> StoreResult<T> {
    let s: String = get(row, col)?;
    serde_json::from_str(&s).map_err(|_| bad(col, &s))
}

pub fn opt_json<T: serde::de::DeserializeOwned>(row: &Row, col: &str) -> StoreResult<Option<T>> {
    let s: Option<String> = get(row, col)?;
    s.map(|s| serde_json::from_str(&s).map_err(|_| bad(col, &s))).transpose()
}

/// A value as JSON text for an optional column.
pub fn to_json<T: serde::Serialize>(value: Option<&T>) -> Option<String> {
    value.and_then(|v| serde_json::to_string(v).ok())
}

/// Maps every row with `f`.
pub fn all<T>(rows: &[Row], f: impl Fn(&Row) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(f).collect()
}

pub const UNIT_COLUMNS: &str = "id, code, name, short_name, kind, parent_id, active";

pub fn unit(row: &Row) -> StoreResult<Unit> {
    Ok(Unit {
        id: get(row, "id")?,
        code: get(row, "code")?,
        name: get(row, "name")?,
        short_name: get(row, "short_name")?,
        kind: code(row, "kind", UnitKind::parse)?,
        parent_id: get(row, "parent_id")?,
        active: get(row, "active")?,
    })
}

pub const USER_COLUMNS: &str = "id, username, display_name, role, unit_id, credit_code, phone, password_hash, disabled";

pub fn user(row: &Row) -> StoreResult<User> {
    Ok(User {
        id: get(row, "id")?,
        username: get(row, "username")?,
        display_name: get(row, "display_name")?,
        role: code(row, "role", Role::parse)?,
        unit_id: get(row, "unit_id")?,
        credit_code: get(row, "credit_code")?,
        phone: get(row, "phone")?,
        password_hash: get(row, "password_hash")?,
        disabled: get(row, "disabled")?,
    })
}

pub const REQUEST_COLUMNS: &str = "r.id, r.tracking_no, r.check_code, r.kind, r.urgency, r.channel, r.asker_type, \
    r.credit_code, r.enterprise_name, r.contact_name, r.contact_phone, r.title, r.content, r.category_id, r.town_id, \
    r.address, r.lat, r.lon, r.state, r.lead_unit_id, r.co_unit_ids, r.ext_requested_due, r.ext_reason, \
    r.ext_requested_at, r.merged_into, r.rating, r.resolved, r.reopen_count, r.return_count, r.extension_count, \
    r.due_at, r.ledger_ref, r.submitted_by, r.received_at, r.updated_at, r.closed_at, r.version, r.sign_due_at, \
    r.contact_due_at, r.stage_due_at, r.time_limits, r.suspended_at, r.supervision, r.contact_email";

fn asker(row: &Row) -> StoreResult<Asker> {
    let asker_type: String = get(row, "asker_type")?;
    if asker_type != "enterprise" {
        return Ok(Asker::Resident);
    }
    let credit_code: String = get(row, "credit_code")?;
    Ok(Asker::Enterprise {
        credit_code: CreditCode::parse(&credit_code).map_err(|_| bad("credit code", &credit_code))?,
        name: get(row, "enterprise_name")?,
    })
}

fn pending_extension(row: &Row) -> StoreResult<Option<PendingExtension>> {
    let Some(requested_due) = opt_instant(row, "ext_requested_due")? else {
        return Ok(None);
    };
    Ok(Some(PendingExtension {
        requested_due,
        reason: get::<Option<String>>(row, "ext_reason")?.unwrap_or_default(),
        requested_at: opt_instant(row, "ext_requested_at")?.unwrap_or(requested_due),
    }))
}

pub fn request(row: &Row) -> StoreResult<Request> {
    let phone: String = get(row, "contact_phone")?;
    let lat: Option<f64> = get(row, "lat")?;
    let lon: Option<f64> = get(row, "lon")?;
    Ok(Request {
        id: get(row, "id")?,
        tracking_no: get(row, "tracking_no")?,
        check_code: get(row, "check_code")?,
        kind: code(row, "kind", RequestKind::parse)?,
        urgency: code(row, "urgency", Urgency::parse)?,
        channel: code(row, "channel", Channel::parse)?,
        asker: asker(row)?,
        contact: Contact {
            name: get(row, "contact_name")?,
            phone: Phone::parse(&phone).map_err(|_| bad("phone", &phone))?,
            email: get(row, "contact_email")?,
        },
        title: get(row, "title")?,
        content: get(row, "content")?,
        category_id: get(row, "category_id")?,
        location: Location {
            town_id: get(row, "town_id")?,
            address: get(row, "address")?,
            point: lat.zip(lon).map(|(lat, lon)| GeoPoint { lat, lon }),
        },
        state: code(row, "state", State::parse)?,
        lead_unit_id: get(row, "lead_unit_id")?,
        co_unit_ids: json(row, "co_unit_ids")?,
        pending_extension: pending_extension(row)?,
        merged_into: get(row, "merged_into")?,
        rating: opt_code(row, "rating", Rating::parse)?,
        resolved: get(row, "resolved")?,
        reopen_count: count(row, "reopen_count")?,
        return_count: count(row, "return_count")?,
        extension_count: count(row, "extension_count")?,
        due_at: opt_instant(row, "due_at")?,
        deadlines: Deadlines {
            sign_for: opt_instant(row, "sign_due_at")?,
            contact: opt_instant(row, "contact_due_at")?,
            stage_reply: opt_instant(row, "stage_due_at")?,
        },
        time_limits: opt_json(row, "time_limits")?,
        suspended_at: opt_instant(row, "suspended_at")?,
        supervision: opt_json(row, "supervision")?,
        ledger_ref: get(row, "ledger_ref")?,
        submitted_by: get(row, "submitted_by")?,
        received_at: instant(row, "received_at")?,
        updated_at: instant(row, "updated_at")?,
        closed_at: opt_instant(row, "closed_at")?,
        version: get(row, "version")?,
    })
}

pub const EVENT_COLUMNS: &str = "id, request_id, seq, at, kind, actor_user_id, actor_name, actor_role, actor_unit_id, \
    client_ip, from_state, to_state, comment, details, attachment_ids, due_at";

pub fn event(row: &Row) -> StoreResult<Event> {
    Ok(Event {
        id: get(row, "id")?,
        request_id: get(row, "request_id")?,
        seq: get(row, "seq")?,
        at: instant(row, "at")?,
        kind: code(row, "kind", EventKind::parse)?,
        details: mashangban_domain::event::EventDetails::read(
            code(row, "kind", EventKind::parse)?,
            json(row, "details")?,
        ),
        actor_user_id: get(row, "actor_user_id")?,
        actor_name: get(row, "actor_name")?,
        actor_role: get(row, "actor_role")?,
        actor_unit_id: get(row, "actor_unit_id")?,
        client_ip: get(row, "client_ip")?,
        from_state: opt_code(row, "from_state", State::parse)?,
        to_state: code(row, "to_state", State::parse)?,
        comment: get(row, "comment")?,
        attachment_ids: json(row, "attachment_ids")?,
        due_at: opt_instant(row, "due_at")?,
    })
}
