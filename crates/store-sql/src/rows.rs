//! Column lists and the mapping of rows to domain values, in column order.

use mashangban_domain::event::EventDetails;
use mashangban_domain::org::{Role, Unit, UnitKind};
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::request::{
    Asker, Channel, Contact, Deadlines, Event, EventKind, Location, PendingExtension, Rating, Request, RequestKind,
    State, Urgency,
};
use mashangban_domain::time::Instant;
use mashangban_domain::validation::{CreditCode, GeoPoint, Phone};
use mashangban_store::{Attachment, StoreError, StoreResult, User};

use crate::personal_data;
use crate::sql::{Cols, Row, bad};

/// A value as JSON text for an optional column.
pub fn to_json<T: serde::Serialize>(value: Option<&T>) -> Option<String> {
    value.and_then(|v| serde_json::to_string(v).ok())
}

/// A value as JSON text for a required column.
pub fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(StoreError::backend)
}

pub const UNIT_COLUMNS: &str = "id, code, name, short_name, kind, parent_id, active";

pub fn unit(row: Row) -> StoreResult<Unit> {
    let mut c = row.cols();
    Ok(Unit {
        id: c.get()?,
        code: c.get()?,
        name: c.get()?,
        short_name: c.get()?,
        kind: c.code(UnitKind::parse)?,
        parent_id: c.get()?,
        active: c.get()?,
    })
}

pub const USER_COLUMNS: &str = "id, username, display_name, role, unit_id, credit_code, phone, password_hash, disabled";

/// A user read with [`USER_COLUMNS`]; the phone decrypted with `keys` (the connection's).
pub fn user(row: Row, keys: Option<&Keyring>) -> StoreResult<User> {
    let mut c = row.cols();
    Ok(User {
        id: c.get()?,
        username: c.get()?,
        display_name: c.get()?,
        role: c.code(Role::parse)?,
        unit_id: c.get()?,
        credit_code: c.get()?,
        phone: personal_data::open_opt(keys, personal_data::USER_PHONE, c.get()?)?,
        password_hash: c.get()?,
        disabled: c.get()?,
    })
}

/// An account's phone and e-mail address, the next two columns (`users.phone, users.email`), decrypted.
pub fn user_contacts(c: &mut Cols, keys: Option<&Keyring>) -> StoreResult<(Option<String>, Option<String>)> {
    let phone = personal_data::open_opt(keys, personal_data::USER_PHONE, c.get()?)?;
    let email = personal_data::open_opt(keys, personal_data::USER_EMAIL, c.get()?)?;
    Ok((phone, email))
}

pub const REQUEST_COLUMNS: &str = "r.id, r.tracking_no, r.check_code, r.kind, r.urgency, r.channel, r.asker_type, \
    r.credit_code, r.enterprise_name, r.contact_name, r.contact_phone, r.contact_email, r.title, r.content, \
    r.category_id, r.town_id, r.address, r.lat, r.lon, r.state, r.lead_unit_id, r.co_unit_ids, r.ext_requested_due, \
    r.ext_reason, r.ext_requested_at, r.merged_into, r.rating, r.resolved, r.reopen_count, r.return_count, \
    r.extension_count, r.due_at, r.sign_due_at, r.contact_due_at, r.stage_due_at, r.time_limits, r.suspended_at, \
    r.supervision, r.ledger_ref, r.submitted_by, r.received_at, r.updated_at, r.closed_at, r.version, \
    r.deadlines_provisional, r.urge_count, r.reopen_requested_at, r.unit_work, r.screening_held";

/// A request read with [`REQUEST_COLUMNS`]; the personal columns decrypted with `keys`
/// (the connection's, `Conn::personal_data`).
pub fn request(row: Row, keys: Option<&Keyring>) -> StoreResult<Request> {
    let mut c = row.cols();
    let id = c.get()?;
    let tracking_no = c.get()?;
    let check_code = c.get()?;
    let kind = c.code(RequestKind::parse)?;
    let urgency = c.code(Urgency::parse)?;
    let channel = c.code(Channel::parse)?;
    let asker_type: String = c.get()?;
    let credit_code: Option<String> = c.get()?;
    let enterprise_name: Option<String> = c.get()?;
    let asker = match (asker_type.as_str(), credit_code) {
        ("enterprise", Some(code)) => Asker::Enterprise {
            credit_code: CreditCode::parse(&code).map_err(|_| bad("credit code", &code))?,
            name: enterprise_name.unwrap_or_default(),
        },
        ("enterprise", None) => return Err(bad("credit code", "")),
        _ => Asker::Resident,
    };
    let contact_name = personal_data::open(keys, personal_data::CONTACT_NAME, c.get()?)?;
    let phone = personal_data::open(keys, personal_data::CONTACT_PHONE, c.get()?)?;
    let email: Option<String> = c.get()?;
    let email = email.map(|e| personal_data::open(keys, personal_data::CONTACT_EMAIL, e)).transpose()?;
    let contact = Contact { name: contact_name, phone: Phone::parse(&phone).map_err(|_| bad("phone", &phone))?, email };
    let title = c.get()?;
    let content = c.get()?;
    let category_id = c.get()?;
    let town_id = c.get()?;
    let address = c.get()?;
    let lat: Option<f64> = c.get()?;
    let lon: Option<f64> = c.get()?;
    let state = c.code(State::parse)?;
    let lead_unit_id = c.get()?;
    let co_unit_ids = c.json()?;
    let requested_due: Option<Instant> = c.get()?;
    let ext_reason: Option<String> = c.get()?;
    let ext_requested_at: Option<Instant> = c.get()?;
    let pending_extension = requested_due.map(|requested_due| PendingExtension {
        requested_due,
        reason: ext_reason.unwrap_or_default(),
        requested_at: ext_requested_at.unwrap_or(requested_due),
    });
    let mut request = Request {
        id,
        tracking_no,
        check_code,
        kind,
        urgency,
        channel,
        asker,
        contact,
        title,
        content,
        category_id,
        location: Location { town_id, address, point: lat.zip(lon).map(|(lat, lon)| GeoPoint { lat, lon }) },
        state,
        lead_unit_id,
        co_unit_ids,
        pending_extension,
        merged_into: c.get()?,
        rating: c.opt_code(Rating::parse)?,
        resolved: c.get()?,
        reopen_count: c.get()?,
        return_count: c.get()?,
        extension_count: c.get()?,
        due_at: c.get()?,
        deadlines: Deadlines { sign_for: c.get()?, contact: c.get()?, stage_reply: c.get()?, provisional: false },
        time_limits: c.opt_json()?,
        suspended_at: c.get()?,
        supervision: c.opt_json()?,
        ledger_ref: c.get()?,
        submitted_by: c.get()?,
        received_at: c.get()?,
        updated_at: c.get()?,
        closed_at: c.get()?,
        version: c.get()?,
        urge_count: 0,
        reopen_requested_at: None,
        unit_work: Default::default(),
        screening_held: false,
    };
    request.deadlines.provisional = c.get()?;
    request.urge_count = c.get()?;
    request.reopen_requested_at = c.get()?;
    request.unit_work = c.opt_json()?.unwrap_or_default();
    request.screening_held = c.get()?;
    Ok(request)
}

pub const EVENT_COLUMNS: &str = "id, request_id, seq, at, kind, actor_user_id, actor_name, actor_role, actor_unit_id, \
    client_ip, from_state, to_state, comment, details, attachment_ids, due_at";

pub fn event(row: Row) -> StoreResult<Event> {
    let mut c = row.cols();
    let (id, request_id, seq, at) = (c.get()?, c.get()?, c.get()?, c.get()?);
    let kind = c.code(EventKind::parse)?;
    Ok(Event {
        id,
        request_id,
        seq,
        at,
        kind,
        actor_user_id: c.get()?,
        actor_name: c.get()?,
        actor_role: c.get()?,
        actor_unit_id: c.get()?,
        client_ip: c.get()?,
        from_state: c.opt_code(State::parse)?,
        to_state: c.code(State::parse)?,
        comment: c.get()?,
        details: EventDetails::read(kind, c.json()?),
        attachment_ids: c.json()?,
        due_at: c.get()?,
    })
}

pub const ATTACHMENT_COLUMNS: &str = "id, request_id, file_name, content_type, size, sha256, uploaded_at, uploaded_by";

pub fn attachment(row: Row) -> StoreResult<Attachment> {
    let mut c = row.cols();
    Ok(Attachment {
        id: c.get()?,
        request_id: c.get()?,
        file_name: c.get()?,
        content_type: c.get()?,
        size: c.get()?,
        sha256: c.get()?,
        uploaded_at: c.get()?,
        uploaded_by: c.get()?,
    })
}
