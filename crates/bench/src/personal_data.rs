//! The cost of personal data at rest per intake (`mashangban-bench personal-data`): durable intakes
//! through the store (no HTTP), with the asker's name, phone and e-mail encrypted (SM4-GCM) and the
//! phone hashed (HMAC-SM3), against the same intakes written plain, in the same run, on fresh
//! databases, in alternating order; and the cryptography alone per intake.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant as Clock;

use mashangban_domain::org::{Actor, UnitKind};
use mashangban_domain::personal_data::Keyring;
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, RequestKind, Urgency};
use mashangban_domain::validation::Phone;
use mashangban_store::{CatalogStore, Meta, NewCategory, NewUnit, OrgStore, RequestStore};
use mashangban_store_postgres::testing::TempDatabase;
use mashangban_store_sql::{Database, SqlStore};

use crate::{BenchResult, Ctx};

#[derive(Debug, Clone)]
pub struct PersonalDataOptions {
    pub work_dir: PathBuf,
    /// Intakes per measured run.
    pub intakes: u64,
    /// Concurrent intakes (the group commit batches them).
    pub clients: usize,
    /// Runs per mode; the median is reported.
    pub rounds: usize,
    /// Also on PostgreSQL: fresh databases through `MASHANGBAN_TEST_POSTGRES` (or 127.0.0.1:5432).
    pub postgres: bool,
}

/// One backend's figures.
#[derive(Debug, Clone)]
pub struct Cost {
    pub backend: &'static str,
    pub plain_per_second: f64,
    pub encrypted_per_second: f64,
}

impl Cost {
    /// Encrypted throughput as a share of plain.
    pub fn ratio(&self) -> f64 {
        self.encrypted_per_second / self.plain_per_second.max(1e-9)
    }
}

/// Runs the measurement; the markdown section for docs/benchmarks.md.
pub fn run(opts: &PersonalDataOptions) -> BenchResult<String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("runtime")?;
    let crypto_us = crypto_per_intake_us();
    let mut costs = vec![rt.block_on(measure("SQLite", opts, |keys, round| {
        let dir = opts.work_dir.join(format!("personal-data-{round}-{}.db", keys.is_some()));
        let _ = std::fs::remove_file(&dir);
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", dir.display()));
        }
        async move {
            let options = mashangban_store_sqlite::SqliteOptions {
                personal_data: keys,
                ..mashangban_store_sqlite::SqliteOptions::default()
            };
            Ok((mashangban_store_sqlite::open(&dir, options).ctx("open SQLite")?, None))
        }
    }))?];
    if opts.postgres {
        costs.push(rt.block_on(measure("PostgreSQL", opts, |keys, _| async move {
            let db = mashangban_store_postgres::testing::TempDatabase::create().await.ctx("create a database")?;
            let options = mashangban_store_postgres::PgOptions {
                personal_data: keys,
                ..mashangban_store_postgres::PgOptions::default()
            };
            let store = mashangban_store_postgres::connect(db.url(), options).await.ctx("connect")?;
            Ok((store, Some(db)))
        }))?);
    }
    Ok(markdown(opts, &costs, crypto_us))
}

async fn measure<D, F, Fut>(backend: &'static str, opts: &PersonalDataOptions, mut open: F) -> BenchResult<Cost>
where
    D: Database,
    F: FnMut(Option<Keyring>, usize) -> Fut,
    Fut: std::future::Future<Output = BenchResult<(SqlStore<D>, Option<TempDatabase>)>>,
{
    let (mut plain, mut encrypted) = (Vec::new(), Vec::new());
    for round in 0..opts.rounds.max(1) {
        // Alternate which mode goes first, so neither always meets a warmer disk cache.
        let order = if round % 2 == 0 { [false, true] } else { [true, false] };
        for encrypt in order {
            let keys = encrypt.then(crate::bench_keys);
            let (store, database) = open(keys, round).await?;
            let rate = intakes(&store, opts.intakes, opts.clients).await?;
            // The store's connections go before its database.
            drop(store);
            drop(database);
            eprintln!("  {backend} round {round} {}: {rate:.0} intakes/s", if encrypt { "encrypted" } else { "plain" });
            if encrypt { encrypted.push(rate) } else { plain.push(rate) }
        }
    }
    Ok(Cost { backend, plain_per_second: median(&mut plain), encrypted_per_second: median(&mut encrypted) })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// `n` intakes by `clients` concurrent tasks on a fresh store; intakes per second.
async fn intakes<D: Database>(store: &SqlStore<D>, n: u64, clients: usize) -> BenchResult<f64> {
    let unit = |code: &str, kind, parent: Option<&str>| NewUnit {
        code: code.into(),
        name: code.into(),
        short_name: None,
        kind,
        parent_code: parent.map(Into::into),
    };
    store.upsert_unit(unit("city", UnitKind::City, None)).await.ctx("unit")?;
    store.upsert_unit(unit("dept", UnitKind::Department, Some("city"))).await.ctx("unit")?;
    let category = NewCategory {
        code: "x".into(),
        name: "分类".into(),
        parent_code: None,
        lead_unit_code: Some("dept".into()),
        keywords: vec![],
    };
    let category = store.upsert_category(category).await.ctx("category")?.id;
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Clock::now();
    let mut tasks = Vec::new();
    for _ in 0..clients.max(1) {
        let (store, next) = (store.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), String>(());
                }
                let meta = Meta { now: mashangban_domain::time::now(), client_ip: Some("127.0.0.1".into()) };
                store.intake(request(category, i), &Actor::PublicAsker, &meta).await.ctx("intake")?;
            }
        }));
    }
    for task in tasks {
        task.await.ctx("intake task")??;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64().max(1e-9))
}

fn request(category: i64, i: u64) -> NewRequest {
    NewRequest {
        kind: RequestKind::Complaint,
        urgency: Urgency::Normal,
        channel: Channel::Web,
        asker: Asker::Resident,
        contact: Contact {
            name: "陈嘉欣".into(),
            phone: Phone::parse(&format!("138{:08}", i % 100_000_000)).unwrap_or_else(|_| unreachable!()),
            email: Some(format!("asker{i}@example.com")),
        },
        title: "路灯不亮".into(),
        content: "小区门口的路灯已经坏了一周，晚上出行很不方便，请尽快维修。".into(),
        category_id: category,
        location: Location { town_id: None, address: None, point: None },
        ledger_ref: None,
        check_code: format!("{:08}", i % 100_000_000),
        submitted_by: None,
        due_at: None,
        deadlines: Default::default(),
        time_limits: None,
        card: None,
        visit: None,
        screening: None,
    }
}

/// The cryptography of one intake alone, in microseconds: three values encrypted, the phone hashed,
/// and the three decrypted when the written request is read back.
fn crypto_per_intake_us() -> f64 {
    let keys = crate::bench_keys();
    let rounds = 20_000u32;
    let started = Clock::now();
    for i in 0..rounds {
        let phone = format!("138{i:08}");
        let stored = [
            keys.encrypt("requests.contact_name", "陈嘉欣"),
            keys.encrypt("requests.contact_phone", &phone),
            keys.encrypt("requests.contact_email", "asker@example.com"),
        ];
        std::hint::black_box(keys.lookup_hash(&phone));
        for (field, value) in
            ["requests.contact_name", "requests.contact_phone", "requests.contact_email"].iter().zip(&stored)
        {
            std::hint::black_box(keys.decrypt(field, value).ok());
        }
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(rounds)
}

fn markdown(opts: &PersonalDataOptions, costs: &[Cost], crypto_us: f64) -> String {
    let mut out =
        "| backend | plain intakes/s | encrypted intakes/s | encrypted / plain |\n|---|---|---|---|\n".to_owned();
    for c in costs {
        out.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0}% |\n",
            c.backend,
            c.plain_per_second,
            c.encrypted_per_second,
            c.ratio() * 100.0
        ));
    }
    out.push_str(&format!(
        "\nCryptography alone per intake (3 × SM4-GCM encrypt, 1 × HMAC-SM3, 3 × decrypt on the read-back): \
         {crypto_us:.1} µs on one core.\n\n{} intakes per run, {} concurrent, median of {} runs per mode, fresh \
         databases, modes alternating.\n",
        opts.intakes, opts.clients, opts.rounds
    ));
    out
}
