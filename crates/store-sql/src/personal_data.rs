//! Personal data encrypted at rest (see `docs/personal-data.md`).
//!
//! Every job of a [`SqlStore`](crate::SqlStore) runs on a connection that
//! carries the store's key ring ([`Conn::personal_data`]), so the code that
//! writes or reads a personal column reaches the keys where it already has
//! the connection. The key ring lives in the store's options, from the
//! configuration: never in the database.
//!
//! Encrypted: the asker's contact on `requests`, direct-line askers, on-site
//! service requests' contacts, enterprise contacts, liaison cadres' work
//! phones, visits' attendees and notes, the outbox's recipients and texts and
//! accounts' phone and e-mail ([`SEALED_TABLES`]), with a keyed
//! hash (HMAC-SM3) beside the columns looked up by equality.

use std::sync::Arc;

use mashangban_domain::personal_data::{Keyring, Stored};
use mashangban_store::{JobLock, Machinery, SchemaState, Signal, StoreError, StoreResult};

use crate::sql::{Args, BoxFuture, Conn, Database, Dialect, Job, Row, Value};
use crate::{SqlStore, args, job};

/// The columns that hold personal data, named `table.column` as in the
/// ciphertexts' additional data (a value moved to another column does not decrypt).
pub const CONTACT_NAME: &str = "requests.contact_name";
pub const CONTACT_PHONE: &str = "requests.contact_phone";
pub const CONTACT_EMAIL: &str = "requests.contact_email";
pub const DIRECT_LINE_NAME: &str = "direct_line_items.name";
pub const DIRECT_LINE_PHONE: &str = "direct_line_items.phone";
pub const ONSITE_CONTACT_NAME: &str = "onsite_requests.contact_name";
pub const ONSITE_CONTACT_PHONE: &str = "onsite_requests.contact_phone";
pub const ENTERPRISE_CONTACT_NAME: &str = "enterprises.contact_name";
pub const ENTERPRISE_CONTACT_PHONE: &str = "enterprises.contact_phone";
pub const LIAISON_WORK_PHONE: &str = "liaison_cadres.work_phone";
/// A visit's attendees: the JSON array of the names of the people met, sealed as one text.
pub const VISIT_ATTENDEES: &str = "visits.attendees";
pub const VISIT_NOTES: &str = "visits.notes";
/// Where a notice goes: a phone, an e-mail address or a webhook URL, kept until delivered and after.
pub const OUTBOX_RECIPIENT: &str = "outbox.recipient";
/// A notice's e-mail subject and its text: they tell the asker the tracking number and check code, or a
/// person their password reset code.
pub const OUTBOX_SUBJECT: &str = "outbox.subject";
pub const OUTBOX_BODY: &str = "outbox.body";
pub const USER_PHONE: &str = "users.phone";
pub const USER_EMAIL: &str = "users.email";

/// A table with personal columns: what the re-encryption sweep rewrites.
#[derive(Debug, PartialEq, Eq)]
pub struct SealedTable {
    pub table: &'static str,
    /// The primary key, the order the sweep walks in.
    key: &'static str,
    /// The encrypted columns, as `table.column`.
    fields: &'static [&'static str],
    /// The look-up hash column and the field it hashes, if rows are found by that value.
    hash: Option<(&'static str, &'static str)>,
}

/// Every table holding encrypted personal data.
pub const SEALED_TABLES: &[SealedTable] = &[
    SealedTable {
        table: "requests",
        key: "id",
        fields: &[CONTACT_NAME, CONTACT_PHONE, CONTACT_EMAIL],
        hash: Some(("contact_phone_hash", CONTACT_PHONE)),
    },
    SealedTable { table: "direct_line_items", key: "id", fields: &[DIRECT_LINE_NAME, DIRECT_LINE_PHONE], hash: None },
    SealedTable {
        table: "onsite_requests",
        key: "id",
        fields: &[ONSITE_CONTACT_NAME, ONSITE_CONTACT_PHONE],
        hash: None,
    },
    SealedTable {
        table: "enterprises",
        key: "credit_code",
        fields: &[ENTERPRISE_CONTACT_NAME, ENTERPRISE_CONTACT_PHONE],
        hash: None,
    },
    SealedTable { table: "liaison_cadres", key: "user_id", fields: &[LIAISON_WORK_PHONE], hash: None },
    SealedTable { table: "visits", key: "id", fields: &[VISIT_ATTENDEES, VISIT_NOTES], hash: None },
    SealedTable { table: "outbox", key: "id", fields: &[OUTBOX_RECIPIENT, OUTBOX_SUBJECT, OUTBOX_BODY], hash: None },
    SealedTable {
        table: "users",
        key: "id",
        fields: &[USER_PHONE, USER_EMAIL],
        hash: Some(("phone_hash", USER_PHONE)),
    },
];

impl SealedTable {
    fn column(field: &str) -> &str {
        field.split_once('.').map_or(field, |(_, column)| column)
    }

    /// Rows with a personal column not under the key whose `LIKE` pattern is
    /// `pattern`, or a value without its hash.
    fn stale(&self, pattern: &str) -> String {
        let mut conditions: Vec<String> = self
            .fields
            .iter()
            .map(|f| Self::column(f))
            .map(|col| format!("({col} IS NOT NULL AND {col} NOT LIKE {pattern})"))
            .collect();
        if let Some((hash, field)) = self.hash {
            conditions.push(format!("({} IS NOT NULL AND {hash} IS NULL)", Self::column(field)));
        }
        format!("({})", conditions.join(" OR "))
    }
}

/// A backend's database whose jobs see the key ring.
#[derive(Clone)]
pub(crate) struct Keyed<D> {
    pub(crate) db: D,
    keys: Option<Arc<Keyring>>,
    /// `StoreOptions::seal_events`.
    seals: bool,
}

impl<D> Keyed<D> {
    pub(crate) fn new(db: D, keys: Option<Keyring>, seals: bool) -> Self {
        Self { db, keys: keys.map(Arc::new), seals }
    }
}

fn keyed<T: Send + 'static>(inner: Job<T>, keys: Option<Arc<Keyring>>, seals: bool) -> Job<T> {
    job(move |c| {
        Box::pin(async move {
            let conn = KeyedConn { inner: c, keys: keys.as_deref(), seals };
            inner(&conn).await
        })
    })
}

struct KeyedConn<'a> {
    inner: &'a dyn Conn,
    keys: Option<&'a Keyring>,
    seals: bool,
}

impl Conn for KeyedConn<'_> {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }

    fn query<'a>(&'a self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, StoreResult<Vec<Row>>> {
        self.inner.query(sql, args)
    }

    fn execute<'a>(&'a self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, StoreResult<u64>> {
        self.inner.execute(sql, args)
    }

    fn for_each<'a>(
        &'a self,
        sql: &'a str,
        args: &'a [Value],
        each: &'a mut (dyn FnMut(Row) -> StoreResult<()> + Send),
    ) -> BoxFuture<'a, StoreResult<()>> {
        self.inner.for_each(sql, args, each)
    }

    fn batch<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        self.inner.batch(sql)
    }

    fn personal_data(&self) -> Option<&Keyring> {
        self.keys
    }

    fn seals_events(&self) -> bool {
        self.seals
    }
}

impl<D: Database> Database for Keyed<D> {
    fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    async fn read<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        self.db.read(keyed(job, self.keys.clone(), self.seals)).await
    }

    async fn write<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        self.db.write(keyed(job, self.keys.clone(), self.seals)).await
    }

    async fn announce(&self, signal: Signal) -> StoreResult<()> {
        self.db.announce(signal).await
    }

    fn subscribe_signals(&self) -> Option<tokio::sync::broadcast::Receiver<Signal>> {
        self.db.subscribe_signals()
    }

    async fn try_lock_job(&self, job: &'static str) -> StoreResult<Option<JobLock>> {
        self.db.try_lock_job(job).await
    }

    async fn schema(&self) -> StoreResult<SchemaState> {
        self.db.schema().await
    }

    fn machinery(&self) -> Machinery {
        self.db.machinery()
    }
}

/// A value of the column `field` as written: encrypted under the current key,
/// or plain when the store runs without keys (the bench's baseline).
pub fn seal(c: &dyn Conn, field: &str, plain: &str) -> String {
    match c.personal_data() {
        Some(keys) => keys.encrypt(field, plain),
        None => plain.to_owned(),
    }
}

/// [`seal`] for a column that may be NULL.
pub fn seal_opt(c: &dyn Conn, field: &str, plain: Option<&str>) -> Option<String> {
    plain.map(|p| seal(c, field, p))
}

/// The plain text of a stored value of the column `field`.
pub fn open(keys: Option<&Keyring>, field: &str, stored: String) -> StoreResult<String> {
    match keys {
        Some(keys) => keys.decrypt(field, &stored).map_err(|e| StoreError::backend(format!("{field}: {e}"))),
        None if stored.starts_with("v1:") => {
            Err(StoreError::backend(format!("{field}: encrypted, but the store has no personal data key")))
        }
        None => Ok(stored),
    }
}

/// [`open`] for a column that may be NULL.
pub fn open_opt(keys: Option<&Keyring>, field: &str, stored: Option<String>) -> StoreResult<Option<String>> {
    stored.map(|s| open(keys, field, s)).transpose()
}

/// The keyed hash stored beside a value looked up by equality (None without keys).
pub fn phone_hash(c: &dyn Conn, phone: &str) -> Option<String> {
    c.personal_data().map(|keys| keys.lookup_hash(phone))
}

/// The SQL condition that `hash_column` (or, without keys, `plain_column`)
/// matches `value`, under every configured key so that rows the rotation
/// has not reached yet are found.
pub fn lookup_sql(
    keys: Option<&Keyring>,
    hash_column: &str,
    plain_column: &str,
    value: &str,
    args: &mut Args,
) -> String {
    match keys {
        Some(keys) => format!("{hash_column} IN ({})", args.list(keys.lookup_hashes(value))),
        None => format!("{plain_column} = {}", args.push(value)),
    }
}

/// How far the re-encryption sweep of one table got.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    /// Rows read that held a value not under the current key.
    pub rows_rewritten: u64,
    /// The primary key of the last row the sweep passed; a later run starts after it.
    pub last_key: Option<Value>,
    /// Whether every row is now under the current key.
    pub done: bool,
}

/// Rows of one table not yet all under the current key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRows {
    pub table: &'static SealedTable,
    pub rows: i64,
}

impl<D: Database> SqlStore<D> {
    /// Re-encrypts, under the current key, up to `batch` rows of `table`
    /// after the key `after` whose personal columns are plain or under an
    /// older key, and rewrites their look-up hash; one transaction.
    /// Idempotent: run it until `done` (at start-up, and by `mashangban keys rotate`).
    pub async fn reencrypt_personal_data(
        &self,
        table: &'static SealedTable,
        after: Option<Value>,
        batch: u32,
    ) -> StoreResult<SweepReport> {
        self.db.write(job(move |c| Box::pin(sweep_batch(c, table, after, batch)))).await
    }

    /// Per table of [`SEALED_TABLES`], the rows whose personal columns are not all under the current key.
    pub async fn personal_data_pending(&self) -> StoreResult<Vec<PendingRows>> {
        let count = job(move |c| {
            Box::pin(async move {
                let keys = required(c)?;
                let prefix = format!("{}%", keys.current_prefix());
                let mut pending = Vec::new();
                for table in SEALED_TABLES {
                    let sql = format!("SELECT COUNT(*) FROM {} WHERE {}", table.table, table.stale("$1"));
                    let rows = c.scalar(&sql, &args![prefix.as_str()]).await?;
                    pending.push(PendingRows { table, rows });
                }
                Ok(pending)
            })
        });
        self.db.read(count).await
    }
}

fn required(c: &dyn Conn) -> StoreResult<&Keyring> {
    c.personal_data().ok_or_else(|| StoreError::backend("the store has no personal data key"))
}

async fn sweep_batch(c: &dyn Conn, table: &SealedTable, after: Option<Value>, batch: u32) -> StoreResult<SweepReport> {
    let keys = required(c)?;
    let mut args = Args::default();
    let mut conditions = vec![table.stale(&args.push(format!("{}%", keys.current_prefix())))];
    if let Some(after) = after.clone() {
        conditions.push(format!("{} > {}", table.key, args.push(after)));
    }
    let columns: Vec<&str> = table.fields.iter().map(|f| SealedTable::column(f)).collect();
    let sql = format!(
        "SELECT {key}, {columns} FROM {name} WHERE {conditions} ORDER BY {key} LIMIT {limit}",
        key = table.key,
        columns = columns.join(", "),
        name = table.table,
        conditions = conditions.join(" AND "),
        limit = args.push(i64::from(batch)),
    );
    let rows = c
        .map(&sql, args.values(), |row| {
            let mut c = row.cols();
            let key: Value = c.get()?;
            let values = columns.iter().map(|_| c.get::<Option<String>>()).collect::<StoreResult<Vec<_>>>()?;
            Ok((key, values))
        })
        .await?;
    let mut report = SweepReport { rows_rewritten: 0, last_key: after, done: rows.len() < batch as usize };
    for (key, values) in rows {
        let mut update = Args::default();
        let key_mark = update.push(key.clone());
        let mut sets = Vec::new();
        for ((field, column), stored) in table.fields.iter().zip(&columns).zip(values) {
            if let Some((hash_column, hashed)) = table.hash
                && hashed == *field
            {
                let plain = stored
                    .as_deref()
                    .map(|s| keys.decrypt(field, s))
                    .transpose()
                    .map_err(|e| StoreError::backend(format!("{field}: {e}")))?;
                sets.push(format!("{hash_column} = {}", update.push(plain.map(|p| keys.lookup_hash(&p)))));
            }
            let sealed = stored.map(|s| reseal(keys, field, s)).transpose()?;
            sets.push(format!("{column} = {}", update.push(sealed)));
        }
        let sql = format!("UPDATE {} SET {} WHERE {} = {key_mark}", table.table, sets.join(", "), table.key);
        c.execute(&sql, update.values()).await?;
        report.rows_rewritten += 1;
        report.last_key = Some(key);
    }
    Ok(report)
}

/// `stored` under the current key (unchanged when it already is).
fn reseal(keys: &Keyring, field: &str, stored: String) -> StoreResult<String> {
    if keys.classify(&stored) == Stored::Current {
        return Ok(stored);
    }
    let plain = keys.decrypt(field, &stored).map_err(|e| StoreError::backend(format!("{field}: {e}")))?;
    Ok(keys.encrypt(field, &plain))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_field_names_its_table() {
        for table in SEALED_TABLES {
            for field in table.fields {
                assert_eq!(field.split_once('.').map(|(t, _)| t), Some(table.table), "{field}");
            }
            if let Some((_, hashed)) = table.hash {
                assert!(table.fields.contains(&hashed), "{hashed}");
            }
        }
    }

    #[test]
    fn stale_rows_are_those_with_a_value_off_the_current_key_or_without_hash() {
        let users = SEALED_TABLES.iter().find(|t| t.table == "users").unwrap();
        assert_eq!(
            users.stale("$1"),
            "((phone IS NOT NULL AND phone NOT LIKE $1) OR (email IS NOT NULL AND email NOT LIKE $1) \
             OR (phone IS NOT NULL AND phone_hash IS NULL))"
        );
    }
}
