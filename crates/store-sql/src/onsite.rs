//! On-site service (行走办), written once for both databases: the catalogue,
//! the centres and requests with their append-only history. A change is
//! written only over the version it was decided on; a booking first touches
//! the centre's row (a row lock on PostgreSQL, the single writer on SQLite)
//! and then counts the day's sessions, so the capacity holds under
//! concurrent accepts.

use chrono::NaiveDate;

use mashangban_domain::error::DomainError;
use mashangban_domain::notify::NoticeChannel;
use mashangban_domain::onsite::{
    EnterpriseNotice, ItemLine, Onsite, OnsiteStage, centre_not_found, check_capacity, item_not_found, onsite_changed,
    onsite_not_found,
};
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::time::Instant;
use mashangban_store::{
    EnforcementActor, NewOnsite, OnsiteChange, OnsiteEvent, OnsiteFilter, OnsiteHistoryEntry, OnsiteRecord,
    OnsiteStore, ServiceCentre, ServiceCentreInput, ServiceItem, ServiceItemInput, StoreError, StoreResult,
};

use crate::personal_data;
use crate::rows::{self, json_text};
use crate::sql::{Conn, Database, Filter, Row, job};
use crate::{SqlStore, args};

impl<D: Database> OnsiteStore for SqlStore<D> {
    async fn create_service_item(&self, item: ServiceItemInput) -> StoreResult<ServiceItem> {
        let create = job(move |c| {
            Box::pin(async move {
                unit_exists(c, item.unit_id).await?;
                let id: Option<i64> = c
                    .scalar_opt(
                        "INSERT INTO onsite_items (code, name, unit_id, active) VALUES ($1, $2, $3, $4)
                         ON CONFLICT DO NOTHING RETURNING id",
                        &args![item.code.as_str(), item.name.as_str(), item.unit_id, item.active],
                    )
                    .await?;
                let id = id.ok_or_else(duplicate_item_code)?;
                load_item(c, id).await?.ok_or_else(|| item_not_found().into())
            })
        });
        self.db.write(create).await
    }

    async fn update_service_item(&self, id: i64, item: ServiceItemInput) -> StoreResult<ServiceItem> {
        let update = job(move |c| {
            Box::pin(async move {
                load_item(c, id).await?.ok_or_else(item_not_found)?;
                unit_exists(c, item.unit_id).await?;
                let taken: Option<i64> = c
                    .scalar_opt(
                        "SELECT id FROM onsite_items WHERE code = $1 AND id <> $2",
                        &args![item.code.as_str(), id],
                    )
                    .await?;
                if taken.is_some() {
                    return Err(duplicate_item_code());
                }
                let changed = c
                    .execute(
                        "UPDATE onsite_items SET code = $2, name = $3, unit_id = $4, active = $5 WHERE id = $1",
                        &args![id, item.code.as_str(), item.name.as_str(), item.unit_id, item.active],
                    )
                    .await?;
                if changed == 0 {
                    return Err(item_not_found().into());
                }
                load_item(c, id).await?.ok_or_else(|| item_not_found().into())
            })
        });
        self.db.write(update).await
    }

    async fn service_items(&self) -> StoreResult<Vec<ServiceItem>> {
        let read = job(move |c| {
            Box::pin(async move {
                let sql = format!("SELECT {ITEM_COLUMNS} FROM onsite_items ORDER BY code");
                c.map(&sql, &[], item_row).await
            })
        });
        self.db.read(read).await
    }

    async fn create_centre(&self, centre: ServiceCentreInput) -> StoreResult<ServiceCentre> {
        let create = job(move |c| {
            Box::pin(async move {
                unit_exists(c, centre.unit_id).await?;
                let id: Option<i64> = c
                    .scalar_opt(
                        "INSERT INTO onsite_centres (unit_id, name, daily_capacity, active) VALUES ($1, $2, $3, $4)
                         ON CONFLICT DO NOTHING RETURNING id",
                        &args![centre.unit_id, centre.name.as_str(), centre.daily_capacity, centre.active],
                    )
                    .await?;
                let id = id.ok_or_else(duplicate_centre)?;
                load_centre(c, id).await?.ok_or_else(|| centre_not_found().into())
            })
        });
        self.db.write(create).await
    }

    async fn update_centre(&self, id: i64, centre: ServiceCentreInput) -> StoreResult<ServiceCentre> {
        let update = job(move |c| {
            Box::pin(async move {
                load_centre(c, id).await?.ok_or_else(centre_not_found)?;
                unit_exists(c, centre.unit_id).await?;
                let taken: Option<i64> = c
                    .scalar_opt(
                        "SELECT id FROM onsite_centres WHERE unit_id = $1 AND id <> $2",
                        &args![centre.unit_id, id],
                    )
                    .await?;
                if taken.is_some() {
                    return Err(duplicate_centre());
                }
                let changed = c
                    .execute(
                        "UPDATE onsite_centres SET unit_id = $2, name = $3, daily_capacity = $4, active = $5
                         WHERE id = $1",
                        &args![id, centre.unit_id, centre.name.as_str(), centre.daily_capacity, centre.active],
                    )
                    .await?;
                if changed == 0 {
                    return Err(centre_not_found().into());
                }
                load_centre(c, id).await?.ok_or_else(|| centre_not_found().into())
            })
        });
        self.db.write(update).await
    }

    async fn centres(&self) -> StoreResult<Vec<ServiceCentre>> {
        let read = job(move |c| {
            Box::pin(async move {
                let sql = format!("SELECT {CENTRE_COLUMNS} FROM onsite_centres ORDER BY id");
                c.map(&sql, &[], centre_row).await
            })
        });
        self.db.read(read).await
    }

    async fn submit_onsite(&self, new: NewOnsite, at: Instant, by: EnforcementActor) -> StoreResult<OnsiteRecord> {
        self.db.write(job(move |c| Box::pin(async move { submit(c, new, at, by).await }))).await
    }

    async fn change_onsite(
        &self,
        id: i64,
        change: OnsiteChange,
        at: Instant,
        by: EnforcementActor,
    ) -> StoreResult<OnsiteRecord> {
        self.db.write(job(move |c| Box::pin(async move { write_change(c, id, change, at, by).await }))).await
    }

    async fn onsite(&self, id: i64) -> StoreResult<Option<OnsiteRecord>> {
        self.db.read(job(move |c| Box::pin(async move { load_onsite(c, id).await }))).await
    }

    async fn onsite_requests(&self, filter: OnsiteFilter, limit: u32) -> StoreResult<Vec<OnsiteRecord>> {
        let read = job(move |c| {
            Box::pin(async move {
                let mut w = Filter::default();
                if let Some(stage) = filter.stage {
                    w.eq("r.stage", stage.as_str());
                }
                if let Some(code) = filter.credit_code {
                    w.eq("r.credit_code", code);
                }
                if let Some(centres) = filter.centres
                    && !w.any("r.centre_id", centres)
                {
                    return Ok(Vec::new());
                }
                if let Some(from) = filter.from {
                    let mark = w.mark(from);
                    w.clause(format!("r.submitted_at >= {mark}"));
                }
                if let Some(until) = filter.until {
                    let mark = w.mark(until);
                    w.clause(format!("r.submitted_at < {mark}"));
                }
                let limit = w.mark(i64::from(limit.clamp(1, 5000)));
                let sql = format!(
                    "SELECT {REQUEST_COLUMNS} FROM onsite_requests r {} ORDER BY r.id DESC LIMIT {limit}",
                    w.where_sql()
                );
                c.map(&sql, &w.values, |row| onsite_row(row, c.personal_data())).await
            })
        });
        self.db.read(read).await
    }

    async fn centre_sessions(
        &self,
        centre_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(NaiveDate, u32)>> {
        let read = job(move |c| {
            Box::pin(async move {
                let mut w = Filter::default();
                w.eq("centre_id", centre_id);
                let (from, to) = (w.mark(from.to_string()), w.mark(to.to_string()));
                w.clause(format!("session_date >= {from} AND session_date <= {to}"));
                w.any("stage", OnsiteStage::session_codes());
                let sql = format!(
                    "SELECT session_date, COUNT(*) FROM onsite_requests {} GROUP BY session_date ORDER BY session_date",
                    w.where_sql()
                );
                c.map(&sql, &w.values, |row| {
                    let mut c = row.cols();
                    let date: String = c.get()?;
                    let count: i64 = c.get()?;
                    Ok((day(&date)?, u32::try_from(count).unwrap_or(u32::MAX)))
                })
                .await
            })
        });
        self.db.read(read).await
    }

    async fn onsite_history(&self, id: i64) -> StoreResult<Vec<OnsiteHistoryEntry>> {
        let read = job(move |c| {
            Box::pin(async move {
                c.map(
                    "SELECT kind, note, stage, at, by_name FROM onsite_events WHERE request_id = $1 ORDER BY seq",
                    &args![id],
                    |row| {
                        let mut c = row.cols();
                        Ok(OnsiteHistoryEntry {
                            kind: c.get()?,
                            note: c.get()?,
                            stage: c.code(OnsiteStage::parse)?,
                            at: c.get()?,
                            by: c.get()?,
                        })
                    },
                )
                .await
            })
        });
        self.db.read(read).await
    }
}

fn duplicate_item_code() -> StoreError {
    DomainError::conflict("duplicate_item_code", "已有相同编码的服务事项").into()
}

fn duplicate_centre() -> StoreError {
    DomainError::conflict("duplicate_centre", "这个单位已设有政务服务中心").into()
}

async fn unit_exists(c: &dyn Conn, unit_id: i64) -> StoreResult<()> {
    match c.query_opt("SELECT 1 FROM units WHERE id = $1 AND active = TRUE", &args![unit_id]).await? {
        Some(_) => Ok(()),
        None => Err(DomainError::invalid("unknown_unit", "单位不存在或已撤销").into()),
    }
}

const ITEM_COLUMNS: &str = "id, code, name, unit_id, active";

fn item_row(row: Row) -> StoreResult<ServiceItem> {
    let mut c = row.cols();
    Ok(ServiceItem { id: c.get()?, code: c.get()?, name: c.get()?, unit_id: c.get()?, active: c.get()? })
}

async fn load_item(c: &dyn Conn, id: i64) -> StoreResult<Option<ServiceItem>> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM onsite_items WHERE id = $1");
    c.map_opt(&sql, &args![id], item_row).await
}

const CENTRE_COLUMNS: &str = "id, unit_id, name, daily_capacity, active";

fn centre_row(row: Row) -> StoreResult<ServiceCentre> {
    let mut c = row.cols();
    Ok(ServiceCentre { id: c.get()?, unit_id: c.get()?, name: c.get()?, daily_capacity: c.get()?, active: c.get()? })
}

async fn load_centre(c: &dyn Conn, id: i64) -> StoreResult<Option<ServiceCentre>> {
    let sql = format!("SELECT {CENTRE_COLUMNS} FROM onsite_centres WHERE id = $1");
    c.map_opt(&sql, &args![id], centre_row).await
}

fn day(text: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| crate::sql::bad("date", text))
}

async fn submit(c: &dyn Conn, new: NewOnsite, at: Instant, by: EnforcementActor) -> StoreResult<OnsiteRecord> {
    if load_centre(c, new.centre_id).await?.is_none_or(|centre| !centre.active) {
        return Err(centre_not_found().into());
    }
    let o = &new.onsite;
    let id: i64 = c
        .scalar(
            "INSERT INTO onsite_requests (number, centre_id, credit_code, enterprise_name, submitted_by, address,
                contact_name, contact_phone, note, stage, people, preferred_dates, items, submitted_at, updated_at,
                version)
             VALUES ('', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, 1) RETURNING id",
            &args![
                new.centre_id,
                new.credit_code.as_str(),
                new.enterprise_name.as_str(),
                new.submitted_by,
                new.address.as_str(),
                personal_data::seal(c, personal_data::ONSITE_CONTACT_NAME, &new.contact_name),
                personal_data::seal(c, personal_data::ONSITE_CONTACT_PHONE, &new.contact_phone),
                new.note.as_deref(),
                o.stage.as_str(),
                o.people,
                json_text(&o.preferred_dates)?,
                json_text(&o.items)?,
                &at
            ],
        )
        .await?;
    let number = format!("XZB{}{:04}", at.format("%Y%m%d"), id);
    c.execute("UPDATE onsite_requests SET number = $2 WHERE id = $1", &args![id, number.as_str()]).await?;
    let event = OnsiteEvent { kind: "submitted".into(), note: new.note.clone() };
    history(c, id, &event, o.stage, &at, &by).await?;
    load_onsite(c, id).await?.ok_or_else(|| onsite_not_found().into())
}

/// Refuses a booking on `date` when the centre's other requests fill it. Touching the centre's row
/// first makes concurrent bookings of one centre take turns.
async fn book(c: &dyn Conn, centre_id: i64, request_id: i64, date: NaiveDate) -> StoreResult<()> {
    c.execute("UPDATE onsite_centres SET daily_capacity = daily_capacity WHERE id = $1", &args![centre_id]).await?;
    let centre = load_centre(c, centre_id).await?.ok_or_else(centre_not_found)?;
    let mut w = Filter::default();
    w.eq("centre_id", centre_id);
    w.eq("session_date", date.to_string());
    let other = w.mark(request_id);
    w.clause(format!("id <> {other}"));
    w.any("stage", OnsiteStage::session_codes());
    let booked: i64 = c.scalar(&format!("SELECT COUNT(*) FROM onsite_requests {}", w.where_sql()), &w.values).await?;
    Ok(check_capacity(u32::try_from(booked).unwrap_or(u32::MAX), centre.daily_capacity, date)?)
}

async fn write_change(
    c: &dyn Conn,
    id: i64,
    change: OnsiteChange,
    at: Instant,
    by: EnforcementActor,
) -> StoreResult<OnsiteRecord> {
    let OnsiteChange { expected, onsite, booking, event, notice } = change;
    let found = load_onsite(c, id).await?.ok_or_else(onsite_not_found)?;
    if let Some(date) = booking {
        book(c, found.centre_id, id, date).await?;
    }
    let changed = c
        .execute(
            "UPDATE onsite_requests SET stage = $3, session_date = $4, team = $5, items = $6, rating = $7,
                rating_comment = $8, updated_at = $9, version = version + 1
             WHERE id = $1 AND version = $2",
            &args![
                id,
                expected,
                onsite.stage.as_str(),
                onsite.date.map(|d| d.to_string()),
                onsite.team.as_deref(),
                json_text(&onsite.items)?,
                onsite.rating.map(i64::from),
                onsite.comment.as_deref(),
                &at
            ],
        )
        .await?;
    if changed == 0 {
        return Err(onsite_changed().into());
    }
    history(c, id, &event, onsite.stage, &at, &by).await?;
    if let Some(notice) = notice {
        tell_enterprise(c, &found, expected + 1, &notice, &at).await?;
    }
    load_onsite(c, id).await?.ok_or_else(|| onsite_not_found().into())
}

/// Queues `notice` for the account that asked (its phone on file, else the request's contact
/// phone; its e-mail address on file), keyed by the request and the version the change made, rendered
/// by the templates in force now with `link` the request's page.
async fn tell_enterprise(
    c: &dyn Conn,
    request: &OnsiteRecord,
    version: i64,
    notice: &EnterpriseNotice,
    at: &Instant,
) -> StoreResult<()> {
    let Some(user) = request.submitted_by else { return Ok(()) };
    let Some(base) = crate::outbox::link_base(c).await? else { return Ok(()) };
    let contacts = c
        .map_opt("SELECT phone, email FROM users WHERE id = $1 AND NOT disabled", &args![user], |row| {
            rows::user_contacts(&mut row.cols(), c.personal_data())
        })
        .await?;
    let Some((phone, email)) = contacts else { return Ok(()) };
    let phone = phone.filter(|p| !p.trim().is_empty()).unwrap_or_else(|| request.contact_phone.clone());
    let mut vars = notice.vars.clone();
    vars.insert("link", format!("{base}/onsite/{}", request.id));
    let sms = crate::outbox::render_in_force(c, notice.template, NoticeChannel::Sms, &vars).await?;
    let mail = crate::outbox::render_in_force(c, notice.template, NoticeChannel::Email, &vars).await?;
    let (sms, mail) = (sms.unwrap_or_default(), mail.unwrap_or_default());
    let key = format!("onsite-{}-{version}", request.id);
    let to = crate::outbox::ToPerson {
        key: &key,
        phone: Some(&phone),
        email: email.as_deref(),
        template_key: notice.template.as_str(),
        sms: &sms.body,
        mail: (mail.subject.as_deref().unwrap_or_default(), &mail.body),
        at,
    };
    crate::outbox::queue_to_person(c, &to).await
}

pub(crate) async fn history(
    c: &dyn Conn,
    request_id: i64,
    event: &OnsiteEvent,
    stage: OnsiteStage,
    at: &Instant,
    by: &EnforcementActor,
) -> StoreResult<()> {
    let seq: i64 = c
        .scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM onsite_events WHERE request_id = $1", &args![request_id])
        .await?;
    c.execute(
        "INSERT INTO onsite_events (request_id, seq, kind, stage, note, at, by_name, by_user)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &args![
            request_id,
            seq,
            event.kind.as_str(),
            stage.as_str(),
            event.note.as_deref(),
            at,
            by.name.as_str(),
            by.user_id
        ],
    )
    .await?;
    crate::audit::ONSITE.seal(c, request_id, seq).await
}

const REQUEST_COLUMNS: &str = "r.id, r.number, r.centre_id, r.credit_code, r.enterprise_name, r.submitted_by,
    r.address, r.contact_name, r.contact_phone, r.note, r.stage, r.people, r.preferred_dates, r.items,
    r.session_date, r.team, r.rating, r.rating_comment, r.submitted_at, r.updated_at, r.version";

/// An on-site request read with [`REQUEST_COLUMNS`]; the contact decrypted with `keys` (the connection's).
fn onsite_row(row: Row, keys: Option<&Keyring>) -> StoreResult<OnsiteRecord> {
    let mut c = row.cols();
    let (id, number, centre_id, credit_code, enterprise_name) = (c.get()?, c.get()?, c.get()?, c.get()?, c.get()?);
    let (submitted_by, address) = (c.get()?, c.get()?);
    let contact_name = personal_data::open(keys, personal_data::ONSITE_CONTACT_NAME, c.get()?)?;
    let contact_phone = personal_data::open(keys, personal_data::ONSITE_CONTACT_PHONE, c.get()?)?;
    let note = c.get()?;
    let stage = c.code(OnsiteStage::parse)?;
    let people: u32 = c.get()?;
    let preferred_dates: Vec<NaiveDate> = c.json()?;
    let items: Vec<ItemLine> = c.json()?;
    let date = c.get::<Option<String>>()?.as_deref().map(day).transpose()?;
    let team = c.get()?;
    let rating = c.get::<Option<i64>>()?.and_then(|r| u8::try_from(r).ok());
    let comment = c.get()?;
    Ok(OnsiteRecord {
        id,
        number,
        centre_id,
        credit_code,
        enterprise_name,
        submitted_by,
        address,
        contact_name,
        contact_phone,
        note,
        onsite: Onsite { stage, people, preferred_dates, items, date, team, rating, comment },
        submitted_at: c.get()?,
        updated_at: c.get()?,
        version: c.get()?,
    })
}

pub(crate) async fn load_onsite(c: &dyn Conn, id: i64) -> StoreResult<Option<OnsiteRecord>> {
    let sql = format!("SELECT {REQUEST_COLUMNS} FROM onsite_requests r WHERE r.id = $1");
    c.map_opt(&sql, &args![id], |row| onsite_row(row, c.personal_data())).await
}
