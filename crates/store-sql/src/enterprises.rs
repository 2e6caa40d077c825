//! The enterprise registry (企业名录): records keyed by credit code. An
//! import is one job: the existing rows of the file's codes are read, each
//! input compared, and (when applied) the new and changed rows written in the
//! same transaction, so a failure leaves the registry as it was.

use std::collections::HashMap;

use chrono::NaiveDate;

use mashangban_domain::enterprise::{
    EnterpriseInput, EnterpriseScope, EnterpriseSize, enterprise_changed, enterprise_exists, enterprise_not_found,
};
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::time::Instant;
use mashangban_store::{
    Enterprise, EnterpriseFilter, EnterprisePage, EnterpriseStore, StoreError, StoreResult, UpsertCounts,
};

use crate::personal_data;
use crate::rows::json_text;
use crate::sql::{Args, Conn, Database, Dialect, Row, Value, job};
use crate::{SqlStore, args};

/// Codes looked up per statement when reading an import's existing rows.
const LOOKUP_CHUNK: usize = 500;
/// Records per INSERT or UPDATE of an import (13 values each, well under either database's limit of
/// values).
const CHUNK: usize = 200;

impl<D: Database> EnterpriseStore for SqlStore<D> {
    async fn create_enterprise(&self, input: EnterpriseInput, at: Instant, by: String) -> StoreResult<Enterprise> {
        let create = job(move |c| {
            Box::pin(async move {
                let code = input.credit_code.as_str().to_owned();
                if load(c, &code, EnterpriseScope::All, false).await?.is_some() {
                    return Err(enterprise_exists(&code).into());
                }
                check_town(c, input.town_id).await?;
                insert(c, &input, &at, &by).await?;
                loaded(c, &code).await
            })
        });
        self.db.write(create).await
    }

    async fn update_enterprise(
        &self,
        input: EnterpriseInput,
        expected_version: i64,
        scope: EnterpriseScope,
        at: Instant,
        by: String,
    ) -> StoreResult<Enterprise> {
        let update = job(move |c| {
            Box::pin(async move {
                let code = input.credit_code.as_str().to_owned();
                let found = load(c, &code, scope, true).await?.ok_or_else(|| enterprise_not_found(&code))?;
                if found.version != expected_version {
                    return Err(enterprise_changed(found.version).into());
                }
                if found.holds(&input) {
                    return Ok(found);
                }
                check_town(c, input.town_id).await?;
                update(c, &input, &at, &by).await?;
                loaded(c, &code).await
            })
        });
        self.db.write(update).await
    }

    async fn upsert_enterprises(
        &self,
        inputs: Vec<EnterpriseInput>,
        apply: bool,
        at: Instant,
        by: String,
    ) -> StoreResult<UpsertCounts> {
        let upsert = job(move |c| Box::pin(async move { upsert_all(c, &inputs, apply, &at, &by).await }));
        if apply { self.db.write(upsert).await } else { self.db.read(upsert).await }
    }

    async fn enterprise(&self, credit_code: &str, scope: EnterpriseScope) -> StoreResult<Option<Enterprise>> {
        let code = credit_code.to_owned();
        self.db.read(job(move |c| Box::pin(async move { load(c, &code, scope, false).await }))).await
    }

    async fn list_enterprises(&self, filter: &EnterpriseFilter, scope: EnterpriseScope) -> StoreResult<EnterprisePage> {
        let filter = filter.clone();
        self.db.read(job(move |c| Box::pin(async move { list(c, &filter, scope).await }))).await
    }
}

const COLUMNS: &str = "credit_code, name, town_id, address, industry_code, industry_name, size, registered_on, \
     contact_name, contact_phone, tags, version, created_at, updated_at, updated_by";

/// An enterprise read with [`COLUMNS`]; the contact decrypted with `keys` (the connection's).
fn enterprise(row: Row, keys: Option<&Keyring>) -> StoreResult<Enterprise> {
    let mut c = row.cols();
    Ok(Enterprise {
        credit_code: c.get()?,
        name: c.get()?,
        town_id: c.get()?,
        address: c.get()?,
        industry_code: c.get()?,
        industry_name: c.get()?,
        size: c.opt_code(EnterpriseSize::parse)?,
        registered_on: c.opt_code(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())?,
        contact_name: personal_data::open_opt(keys, personal_data::ENTERPRISE_CONTACT_NAME, c.get()?)?,
        contact_phone: personal_data::open_opt(keys, personal_data::ENTERPRISE_CONTACT_PHONE, c.get()?)?,
        tags: c.json()?,
        version: c.get()?,
        created_at: c.get()?,
        updated_at: c.get()?,
        updated_by: c.get()?,
    })
}

/// The scope as a condition on the `enterprises` row.
fn scope_sql(scope: EnterpriseScope, args: &mut Args) -> String {
    match scope {
        EnterpriseScope::All => "TRUE".to_owned(),
        EnterpriseScope::Town(town) => format!("town_id = {}", args.push(town)),
        EnterpriseScope::Liaison(user) => format!(
            "EXISTS (SELECT 1 FROM liaison_assignments la WHERE la.credit_code = enterprises.credit_code \
             AND la.user_id = {} AND la.ended_at IS NULL)",
            args.push(user)
        ),
        EnterpriseScope::Nothing => "FALSE".to_owned(),
    }
}

async fn load(c: &dyn Conn, code: &str, scope: EnterpriseScope, lock: bool) -> StoreResult<Option<Enterprise>> {
    let mut args = Args::default();
    let code = args.push(code);
    let scope = scope_sql(scope, &mut args);
    let lock = if lock { c.dialect().lock_rows("enterprises") } else { String::new() };
    let sql = format!("SELECT {COLUMNS} FROM enterprises WHERE credit_code = {code} AND {scope}{lock}");
    c.map_opt(&sql, args.values(), |row| enterprise(row, c.personal_data())).await
}

async fn loaded(c: &dyn Conn, code: &str) -> StoreResult<Enterprise> {
    load(c, code, EnterpriseScope::All, false)
        .await?
        .ok_or_else(|| StoreError::backend("the enterprise vanished while being written"))
}

/// `422 unknown_town` unless the unit is an active town.
async fn check_town(c: &dyn Conn, town_id: i64) -> StoreResult<()> {
    let found = c.query_opt("SELECT 1 FROM units WHERE id = $1 AND kind = 'town' AND active", &args![town_id]).await?;
    match found {
        Some(_) => Ok(()),
        None => Err(mashangban_domain::DomainError::invalid("unknown_town", "所属镇街不存在").into()),
    }
}

/// The values of a record's columns after `credit_code`, in [`COLUMNS`] order.
fn values(c: &dyn Conn, input: &EnterpriseInput) -> StoreResult<Vec<Value>> {
    Ok(vec![
        input.name.as_str().into(),
        input.town_id.into(),
        input.address.clone().into(),
        input.industry_code.clone().into(),
        input.industry_name.clone().into(),
        input.size.map(EnterpriseSize::as_str).into(),
        input.registered_on.map(|d| d.format("%Y-%m-%d").to_string()).into(),
        personal_data::seal_opt(c, personal_data::ENTERPRISE_CONTACT_NAME, input.contact_name.as_deref()).into(),
        personal_data::seal_opt(c, personal_data::ENTERPRISE_CONTACT_PHONE, input.contact_phone.as_deref()).into(),
        json_text(&input.tags)?.into(),
    ])
}

async fn insert(c: &dyn Conn, input: &EnterpriseInput, at: &Instant, by: &str) -> StoreResult<()> {
    insert_many(c, &[input], at, by).await
}

/// A chunk of records as `(credit_code, name, town_id, …, tags, extra…)` rows of a VALUES list, with
/// their values pushed onto `args`. `town_id` is cast so that PostgreSQL types it in a CTE.
fn value_rows(c: &dyn Conn, chunk: &[&EnterpriseInput], extra: &[String], args: &mut Args) -> StoreResult<String> {
    let mut rows = Vec::with_capacity(chunk.len());
    for input in chunk {
        let mut row = vec![args.push(input.credit_code.as_str())];
        row.extend(values(c, input)?.into_iter().map(|v| args.push(v)));
        row[2] = format!("CAST({} AS BIGINT)", row[2]);
        row.extend_from_slice(extra);
        rows.push(format!("({})", row.join(", ")));
    }
    Ok(rows.join(", "))
}

/// The columns of [`value_rows`], in order.
const VALUE_COLUMNS: &str = "credit_code, name, town_id, address, industry_code, industry_name, size, \
     registered_on, contact_name, contact_phone, tags";

/// New records as multi-row INSERTs of [`CHUNK`] rows: one round trip per chunk, not per row (on
/// PostgreSQL a round trip is most of a row's cost).
async fn insert_many(c: &dyn Conn, inputs: &[&EnterpriseInput], at: &Instant, by: &str) -> StoreResult<()> {
    for chunk in inputs.chunks(CHUNK) {
        let mut args = Args::default();
        let (at, by) = (args.push(at), args.push(by));
        let rows = value_rows(c, chunk, &[at.clone(), at, by], &mut args)?;
        let sql =
            format!("INSERT INTO enterprises ({VALUE_COLUMNS}, created_at, updated_at, updated_by) VALUES {rows}");
        c.execute(&sql, args.values()).await?;
    }
    Ok(())
}

async fn update(c: &dyn Conn, input: &EnterpriseInput, at: &Instant, by: &str) -> StoreResult<()> {
    update_many(c, &[input], at, by).await
}

/// Changed records as one UPDATE … FROM a VALUES list per [`CHUNK`] rows, as [`insert_many`] does.
async fn update_many(c: &dyn Conn, inputs: &[&EnterpriseInput], at: &Instant, by: &str) -> StoreResult<()> {
    for chunk in inputs.chunks(CHUNK) {
        let mut args = Args::default();
        let (at, by) = (args.push(at), args.push(by));
        let rows = value_rows(c, chunk, &[], &mut args)?;
        let sql = format!(
            "WITH v ({VALUE_COLUMNS}) AS (VALUES {rows})
             UPDATE enterprises SET name = v.name, town_id = v.town_id, address = v.address,
                industry_code = v.industry_code, industry_name = v.industry_name, size = v.size,
                registered_on = v.registered_on, contact_name = v.contact_name, contact_phone = v.contact_phone,
                tags = v.tags, version = enterprises.version + 1, updated_at = {at}, updated_by = {by}
             FROM v WHERE enterprises.credit_code = v.credit_code"
        );
        c.execute(&sql, args.values()).await?;
    }
    Ok(())
}

async fn upsert_all(
    c: &dyn Conn,
    inputs: &[EnterpriseInput],
    apply: bool,
    at: &Instant,
    by: &str,
) -> StoreResult<UpsertCounts> {
    let existing = existing(c, inputs).await?;
    let mut counts = UpsertCounts::default();
    let (mut new, mut changed) = (Vec::new(), Vec::new());
    for input in inputs {
        match existing.get(input.credit_code.as_str()) {
            None => {
                counts.new += 1;
                new.push(input);
            }
            Some(found) if found.holds(input) => counts.unchanged += 1,
            Some(_) => {
                counts.updated += 1;
                changed.push(input);
            }
        }
    }
    if apply {
        update_many(c, &changed, at, by).await?;
        insert_many(c, &new, at, by).await?;
    }
    Ok(counts)
}

/// The stored records of the inputs' codes, by code.
async fn existing(c: &dyn Conn, inputs: &[EnterpriseInput]) -> StoreResult<HashMap<String, Enterprise>> {
    let mut found = HashMap::new();
    for chunk in inputs.chunks(LOOKUP_CHUNK) {
        let mut args = Args::default();
        let codes = args.list(chunk.iter().map(|i| i.credit_code.as_str()));
        let sql = format!("SELECT {COLUMNS} FROM enterprises WHERE credit_code IN ({codes})");
        for e in c.map(&sql, args.values(), |row| enterprise(row, c.personal_data())).await? {
            found.insert(e.credit_code.clone(), e);
        }
    }
    Ok(found)
}

async fn list(c: &dyn Conn, f: &EnterpriseFilter, scope: EnterpriseScope) -> StoreResult<EnterprisePage> {
    let d = c.dialect();
    let mut args = Args::default();
    let mut conditions = vec![scope_sql(scope, &mut args)];
    if let Some(town) = f.town_id {
        conditions.push(format!("town_id = {}", args.push(town)));
    }
    if let Some(industry) = &f.industry {
        conditions.push(format!("industry_code LIKE {}", args.push(format!("{}%", like_escaped(industry)))));
    }
    if let Some(size) = f.size {
        conditions.push(format!("size = {}", args.push(size.as_str())));
    }
    if let Some(name) = &f.name {
        conditions.push(d.contains_as_int("name", &args.push(name.as_str())) + " = 1");
    }
    let filter = conditions.join(" AND ");
    let total: i64 = c.scalar(&format!("SELECT COUNT(*) FROM enterprises WHERE {filter}"), args.values()).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM enterprises WHERE {filter} ORDER BY {name}, credit_code LIMIT {limit} OFFSET {offset}",
        name = bytewise(d, "name"),
        limit = args.push(f.limit.clamp(1, 100_000)),
        offset = args.push(f.offset),
    );
    let items = c.map(&sql, args.values(), |row| enterprise(row, c.personal_data())).await?;
    Ok(EnterprisePage { items, total: u64::try_from(total).unwrap_or_default() })
}

/// Industry codes hold only letters and digits; anything else is dropped so
/// a `%` or `_` typed in the filter matches literally nothing special.
fn like_escaped(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase()
}

/// Sorted by code point on both databases.
fn bytewise(d: Dialect, expr: &str) -> String {
    match d {
        Dialect::Sqlite => expr.to_owned(),
        Dialect::Postgres => format!("{expr} COLLATE \"C\""),
    }
}
