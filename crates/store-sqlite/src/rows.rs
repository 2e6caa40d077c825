//! Mapping between rows and domain values.

use rusqlite::Row;

use mashangban_domain::org::{Role, Unit, UnitKind};
use mashangban_domain::request::{
    Asker, Channel, Contact, Deadlines, Event, EventKind, Location, PendingExtension, Rating, Request, RequestKind,
    State, Urgency,
};
use mashangban_domain::time::{Instant, format_instant, parse_instant};
use mashangban_domain::validation::{CreditCode, GeoPoint, Phone};
use mashangban_store::{StoreError, User};

pub fn ts(t: &Instant) -> String {
    format_instant(t)
}

pub fn opt_ts(t: Option<&Instant>) -> Option<String> {
    t.map(format_instant)
}

pub(crate) fn bad(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what} in database: {value:?}").into(),
    )
}

pub(crate) fn instant(row: &Row<'_>, col: &str) -> rusqlite::Result<Instant> {
    let s: String = row.get(col)?;
    parse_instant(&s).ok_or_else(|| bad("timestamp", &s))
}

pub(crate) fn opt_instant(row: &Row<'_>, col: &str) -> rusqlite::Result<Option<Instant>> {
    let s: Option<String> = row.get(col)?;
    s.map(|s| parse_instant(&s).ok_or_else(|| bad("timestamp", &s))).transpose()
}

fn code<T>(row: &Row<'_>, col: &str, parse: impl Fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let s: String = row.get(col)?;
    parse(&s).ok_or_else(|| bad(col, &s))
}

fn opt_code<T>(row: &Row<'_>, col: &str, parse: impl Fn(&str) -> Option<T>) -> rusqlite::Result<Option<T>> {
    let s: Option<String> = row.get(col)?;
    s.map(|s| parse(&s).ok_or_else(|| bad(col, &s))).transpose()
}

fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, col: &str) -> rusqlite::Result<T> {
    let s: String = row.get(col)?;
    serde_json::from_str(&s).map_err(|_| bad(col, &s))
}

fn opt_json<T: serde::de::DeserializeOwned>(row: &Row<'_>, col: &str) -> rusqlite::Result<Option<T>> {
    let s: Option<String> = row.get(col)?;
    s.map(|s| serde_json::from_str(&s).map_err(|_| bad(col, &s))).transpose()
}

/// A value as JSON text for an optional column.
pub fn to_json<T: serde::Serialize>(value: Option<&T>) -> Option<String> {
    value.and_then(|v| serde_json::to_string(v).ok())
}

pub const UNIT_COLUMNS: &str = "id, code, name, short_name, kind, parent_id, active";

pub fn unit(row: &Row<'_>) -> rusqlite::Result<Unit> {
    Ok(Unit {
        id: row.get("id")?,
        code: row.get("code")?,
        name: row.get("name")?,
        short_name: row.get("short_name")?,
        kind: code(row, "kind", UnitKind::parse)?,
        parent_id: row.get("parent_id")?,
        active: row.get("active")?,
    })
}

pub const USER_COLUMNS: &str = "id, username, display_name, role, unit_id, credit_code, phone, password_hash, disabled";

pub fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get("id")?,
        username: row.get("username")?,
        display_name: row.get("display_name")?,
        role: code(row, "role", Role::parse)?,
        unit_id: row.get("unit_id")?,
        credit_code: row.get("credit_code")?,
        phone: row.get("phone")?,
        password_hash: row.get("password_hash")?,
        disabled: row.get("disabled")?,
    })
}

pub const REQUEST_COLUMNS: &str = "r.id, r.tracking_no, r.check_code, r.kind, r.urgency, r.channel, r.asker_type, \
    r.credit_code, r.enterprise_name, r.contact_name, r.contact_phone, r.title, r.content, r.category_id, r.town_id, \
    r.address, r.lat, r.lon, r.state, r.lead_unit_id, r.co_unit_ids, r.ext_requested_due, r.ext_reason, \
    r.ext_requested_at, r.merged_into, r.rating, r.resolved, r.reopen_count, r.return_count, r.extension_count, \
    r.due_at, r.ledger_ref, r.submitted_by, r.received_at, r.updated_at, r.closed_at, r.version, r.sign_due_at, \
    r.contact_due_at, r.stage_due_at, r.time_limits, r.suspended_at, r.supervision, r.contact_email";

pub fn request(row: &Row<'_>) -> rusqlite::Result<Request> {
    let asker = match row.get::<_, String>("asker_type")?.as_str() {
        "enterprise" => {
            let credit_code: String = row.get("credit_code")?;
            Asker::Enterprise {
                credit_code: CreditCode::parse(&credit_code).map_err(|_| bad("credit code", &credit_code))?,
                name: row.get("enterprise_name")?,
            }
        }
        _ => Asker::Resident,
    };
    let phone: String = row.get("contact_phone")?;
    let lat: Option<f64> = row.get("lat")?;
    let lon: Option<f64> = row.get("lon")?;
    let pending_extension = match opt_instant(row, "ext_requested_due")? {
        Some(requested_due) => Some(PendingExtension {
            requested_due,
            reason: row.get::<_, Option<String>>("ext_reason")?.unwrap_or_default(),
            requested_at: opt_instant(row, "ext_requested_at")?.unwrap_or(requested_due),
        }),
        None => None,
    };
    Ok(Request {
        id: row.get("id")?,
        tracking_no: row.get("tracking_no")?,
        check_code: row.get("check_code")?,
        kind: code(row, "kind", RequestKind::parse)?,
        urgency: code(row, "urgency", Urgency::parse)?,
        channel: code(row, "channel", Channel::parse)?,
        asker,
        contact: Contact {
            name: row.get("contact_name")?,
            phone: Phone::parse(&phone).map_err(|_| bad("phone", &phone))?,
            email: row.get("contact_email")?,
        },
        title: row.get("title")?,
        content: row.get("content")?,
        category_id: row.get("category_id")?,
        location: Location {
            town_id: row.get("town_id")?,
            address: row.get("address")?,
            point: lat.zip(lon).map(|(lat, lon)| GeoPoint { lat, lon }),
        },
        state: code(row, "state", State::parse)?,
        lead_unit_id: row.get("lead_unit_id")?,
        co_unit_ids: json(row, "co_unit_ids")?,
        pending_extension,
        merged_into: row.get("merged_into")?,
        rating: opt_code(row, "rating", Rating::parse)?,
        resolved: row.get("resolved")?,
        reopen_count: row.get("reopen_count")?,
        return_count: row.get("return_count")?,
        extension_count: row.get("extension_count")?,
        due_at: opt_instant(row, "due_at")?,
        deadlines: Deadlines {
            sign_for: opt_instant(row, "sign_due_at")?,
            contact: opt_instant(row, "contact_due_at")?,
            stage_reply: opt_instant(row, "stage_due_at")?,
        },
        time_limits: opt_json(row, "time_limits")?,
        suspended_at: opt_instant(row, "suspended_at")?,
        supervision: opt_json(row, "supervision")?,
        ledger_ref: row.get("ledger_ref")?,
        submitted_by: row.get("submitted_by")?,
        received_at: instant(row, "received_at")?,
        updated_at: instant(row, "updated_at")?,
        closed_at: opt_instant(row, "closed_at")?,
        version: row.get("version")?,
    })
}

pub const EVENT_COLUMNS: &str = "id, request_id, seq, at, kind, actor_user_id, actor_name, actor_role, actor_unit_id, \
    client_ip, from_state, to_state, comment, details, attachment_ids, due_at";

pub fn event(row: &Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: row.get("id")?,
        request_id: row.get("request_id")?,
        seq: row.get("seq")?,
        at: instant(row, "at")?,
        kind: code(row, "kind", EventKind::parse)?,
        details: mashangban_domain::event::EventDetails::read(
            code(row, "kind", EventKind::parse)?,
            json(row, "details")?,
        ),
        actor_user_id: row.get("actor_user_id")?,
        actor_name: row.get("actor_name")?,
        actor_role: row.get("actor_role")?,
        actor_unit_id: row.get("actor_unit_id")?,
        client_ip: row.get("client_ip")?,
        from_state: opt_code(row, "from_state", State::parse)?,
        to_state: code(row, "to_state", State::parse)?,
        comment: row.get("comment")?,
        attachment_ids: json(row, "attachment_ids")?,
        due_at: opt_instant(row, "due_at")?,
    })
}

/// Maps a rusqlite error into the store's error.
pub fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}
