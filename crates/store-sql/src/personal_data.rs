//! Personal data encrypted at rest (see `docs/personal-data.md`).
//!
//! Every job of a [`SqlStore`](crate::SqlStore) runs on a connection that
//! carries the store's key ring ([`Conn::personal_data`]), so the code that
//! writes or reads a personal column reaches the keys where it already has
//! the connection. The key ring lives in the store's options, from the
//! configuration: never in the database.
//!
//! Encrypted today: the asker's contact name, phone and e-mail on `requests`,
//! with `contact_phone_hash` (HMAC-SM3) for equality look-ups by phone.

use std::sync::Arc;

use mashangban_domain::personal_data::{Keyring, Stored};
use mashangban_store::{JobLock, Machinery, SchemaState, Signal, StoreError, StoreResult};

use crate::sql::{BoxFuture, Conn, Database, Dialect, Job, Row, Value};
use crate::{SqlStore, args, job};

/// The columns of `requests` that hold personal data, as named in the
/// ciphertexts' additional data.
pub const CONTACT_NAME: &str = "requests.contact_name";
pub const CONTACT_PHONE: &str = "requests.contact_phone";
pub const CONTACT_EMAIL: &str = "requests.contact_email";

/// A backend's database whose jobs see the key ring.
#[derive(Clone)]
pub(crate) struct Keyed<D> {
    pub(crate) db: D,
    keys: Option<Arc<Keyring>>,
}

impl<D> Keyed<D> {
    pub(crate) fn new(db: D, keys: Option<Keyring>) -> Self {
        Self { db, keys: keys.map(Arc::new) }
    }
}

fn keyed<T: Send + 'static>(inner: Job<T>, keys: Option<Arc<Keyring>>) -> Job<T> {
    job(move |c| {
        Box::pin(async move {
            let conn = KeyedConn { inner: c, keys: keys.as_deref() };
            inner(&conn).await
        })
    })
}

struct KeyedConn<'a> {
    inner: &'a dyn Conn,
    keys: Option<&'a Keyring>,
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
}

impl<D: Database> Database for Keyed<D> {
    fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    async fn read<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        self.db.read(keyed(job, self.keys.clone())).await
    }

    async fn write<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        self.db.write(keyed(job, self.keys.clone())).await
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

/// The keyed hash stored beside a phone number (None without keys).
pub fn phone_hash(c: &dyn Conn, phone: &str) -> Option<String> {
    c.personal_data().map(|keys| keys.lookup_hash(phone))
}

/// How far the re-encryption sweep got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Rows read that held a value not under the current key.
    pub rows_rewritten: u64,
    /// The last request id the sweep passed; a later run starts after it.
    pub last_id: i64,
    /// Whether every row is now under the current key.
    pub done: bool,
}

impl<D: Database> SqlStore<D> {
    /// Re-encrypts, under the current key, up to `batch` requests after id
    /// `after` whose personal columns are plain or under an older key, and
    /// rewrites their look-up hash; one transaction. Idempotent: run it
    /// until `done` (at start-up, and by `mashangban keys rotate`).
    pub async fn reencrypt_personal_data(&self, after: i64, batch: u32) -> StoreResult<SweepReport> {
        self.db.write(job(move |c| Box::pin(sweep_batch(c, after, batch)))).await
    }

    /// Requests whose personal columns are not all under the current key.
    pub async fn personal_data_pending(&self) -> StoreResult<i64> {
        let count = job(move |c| {
            Box::pin(async move {
                let keys = required(c)?;
                let prefix = format!("{}%", keys.current_prefix());
                c.scalar(&format!("SELECT COUNT(*) FROM requests WHERE {}", stale("$1")), &args![prefix.as_str()]).await
            })
        });
        self.db.read(count).await
    }
}

fn required(c: &dyn Conn) -> StoreResult<&Keyring> {
    c.personal_data().ok_or_else(|| StoreError::backend("the store has no personal data key"))
}

/// Rows with a personal column not under the key whose `LIKE` pattern is `pattern`.
fn stale(pattern: &str) -> String {
    format!(
        "(contact_phone NOT LIKE {pattern} OR contact_name NOT LIKE {pattern}
          OR (contact_email IS NOT NULL AND contact_email NOT LIKE {pattern}) OR contact_phone_hash IS NULL)"
    )
}

async fn sweep_batch(c: &dyn Conn, after: i64, batch: u32) -> StoreResult<SweepReport> {
    let keys = required(c)?;
    let prefix = format!("{}%", keys.current_prefix());
    let sql = format!(
        "SELECT id, contact_name, contact_phone, contact_email FROM requests
         WHERE id > $1 AND {} ORDER BY id LIMIT $3",
        stale("$2")
    );
    let rows = c
        .map(&sql, &args![after, prefix.as_str(), i64::from(batch)], |row| {
            let mut c = row.cols();
            Ok((c.get::<i64>()?, c.get::<String>()?, c.get::<String>()?, c.get::<Option<String>>()?))
        })
        .await?;
    let mut report = SweepReport { rows_rewritten: 0, last_id: after, done: rows.len() < batch as usize };
    for (id, name, phone, email) in rows {
        let name = reseal(keys, CONTACT_NAME, name)?;
        let plain_phone = keys.decrypt(CONTACT_PHONE, &phone).map_err(|e| StoreError::backend(e.to_string()))?;
        let phone = reseal(keys, CONTACT_PHONE, phone)?;
        let email = email.map(|e| reseal(keys, CONTACT_EMAIL, e)).transpose()?;
        c.execute(
            "UPDATE requests SET contact_name = $2, contact_phone = $3, contact_email = $4, contact_phone_hash = $5
             WHERE id = $1",
            &args![id, name, phone, email, keys.lookup_hash(&plain_phone)],
        )
        .await?;
        report.rows_rewritten += 1;
        report.last_id = id;
    }
    Ok(report)
}

/// `stored` under the current key (unchanged when it already is).
fn reseal(keys: &Keyring, field: &str, stored: String) -> StoreResult<String> {
    if keys.classify(&stored) == Stored::Current {
        return Ok(stored);
    }
    let plain = keys.decrypt(field, &stored).map_err(|e| StoreError::backend(e.to_string()))?;
    Ok(keys.encrypt(field, &plain))
}
