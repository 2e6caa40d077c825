//! The cost of the national algorithms per intake (`mashangban-bench personal-data`): durable intakes
//! through the store (no HTTP), with the asker's name, phone and e-mail encrypted (SM4-GCM) and the
//! phone hashed (HMAC-SM3), and the intake's event sealed in its request's SM3 chain, against the same
//! intakes with either or both switched off, in the same run, on fresh databases, the first mode
//! rotating; and the cryptography of personal data alone per intake.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant as Clock;

use mashangban_domain::org::{Actor, UnitKind};
use mashangban_domain::request::{Asker, Channel, Contact, Location, NewRequest, RequestKind, Urgency};
use mashangban_domain::validation::Phone;
use mashangban_store::{CatalogStore, Meta, NewCategory, NewUnit, OrgStore, RequestStore};
use mashangban_store_postgres::testing::TempDatabase;
use mashangban_store_sql::{Database, SqlStore, StoreOptions};

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

/// What an intake does beside writing the request: encrypt its personal data (SM4-GCM, HMAC-SM3 phone
/// hash) and seal its event (SM3 chain). Production does both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    pub sm4: bool,
    pub sm3: bool,
}

impl Mode {
    /// Neither, SM3 only, SM4 only, both.
    pub const ALL: [Mode; 4] = [
        Mode { sm4: false, sm3: false },
        Mode { sm4: false, sm3: true },
        Mode { sm4: true, sm3: false },
        Mode { sm4: true, sm3: true },
    ];

    fn label(self) -> &'static str {
        match (self.sm4, self.sm3) {
            (false, false) => "neither",
            (false, true) => "SM3 seals only",
            (true, false) => "SM4 only",
            (true, true) => "SM4 + SM3 (production)",
        }
    }

    fn index(self) -> usize {
        usize::from(self.sm4) * 2 + usize::from(self.sm3)
    }
}

/// One backend's figures: the median intakes per second of each mode, in [`Mode::ALL`]'s order.
#[derive(Debug, Clone)]
pub struct Cost {
    pub backend: &'static str,
    pub per_second: [f64; 4],
}

impl Cost {
    fn rate(&self, mode: Mode) -> f64 {
        self.per_second[mode.index()]
    }

    /// Production throughput as a share of the same without encryption (SM4 and the phone's HMAC-SM3).
    pub fn sm4_ratio(&self) -> f64 {
        self.rate(Mode { sm4: true, sm3: true }) / self.rate(Mode { sm4: false, sm3: true }).max(1e-9)
    }

    /// Production throughput as a share of the same without the SM3 seals.
    pub fn sm3_ratio(&self) -> f64 {
        self.rate(Mode { sm4: true, sm3: true }) / self.rate(Mode { sm4: true, sm3: false }).max(1e-9)
    }

    /// Production throughput as a share of neither.
    pub fn both_ratio(&self) -> f64 {
        self.rate(Mode { sm4: true, sm3: true }) / self.rate(Mode { sm4: false, sm3: false }).max(1e-9)
    }
}

/// Runs the measurement; the markdown section for docs/benchmarks.md.
pub fn run(opts: &PersonalDataOptions) -> BenchResult<String> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("runtime")?;
    let crypto_us = crypto_per_intake_us();
    let mut costs = vec![rt.block_on(measure("SQLite", opts, |options, round| {
        let dir = opts.work_dir.join(format!("personal-data-{round}.db"));
        async move {
            crate::load::remove_db(&dir)?;
            let db = mashangban_store_sqlite::SqliteDb::open(&dir, 4).ctx("open SQLite")?;
            Ok((SqlStore::new(db, options), None))
        }
    }))?];
    if opts.postgres {
        costs.push(rt.block_on(measure("PostgreSQL", opts, |options, _| async move {
            let db = mashangban_store_postgres::testing::TempDatabase::create().await.ctx("create a database")?;
            let pg = mashangban_store_postgres::PgDb::connect(db.url(), 16).await.ctx("connect")?;
            Ok((SqlStore::new(pg, options), Some(db)))
        }))?);
    }
    Ok(markdown(opts, &costs, crypto_us))
}

async fn measure<D, F, Fut>(backend: &'static str, opts: &PersonalDataOptions, mut open: F) -> BenchResult<Cost>
where
    D: Database,
    F: FnMut(StoreOptions, usize) -> Fut,
    Fut: std::future::Future<Output = BenchResult<(SqlStore<D>, Option<TempDatabase>)>>,
{
    let mut rates: [Vec<f64>; 4] = Default::default();
    for round in 0..opts.rounds.max(1) {
        // Rotate which mode goes first, so none always meets a warmer disk cache.
        for k in 0..Mode::ALL.len() {
            let mode = Mode::ALL[(round + k) % Mode::ALL.len()];
            let options = StoreOptions {
                personal_data: mode.sm4.then(crate::bench_keys),
                seal_events: mode.sm3,
                ..StoreOptions::default()
            };
            let (store, database) = open(options, round).await?;
            let rate = intakes(&store, opts.intakes, opts.clients).await?;
            // The store's connections go before its database.
            drop(store);
            drop(database);
            eprintln!("  {backend} round {round} {}: {rate:.0} intakes/s", mode.label());
            rates[mode.index()].push(rate);
        }
    }
    Ok(Cost { backend, per_second: rates.map(|r| crate::report::median(&r)) })
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
    let mut out = "| backend |".to_owned();
    for mode in Mode::ALL {
        out.push_str(&format!(" {} intakes/s |", mode.label()));
    }
    out.push_str(" with / without SM4 | with / without SM3 seals | production / neither |\n|---|");
    out.push_str(&"---:|".repeat(Mode::ALL.len() + 3));
    out.push('\n');
    for c in costs {
        out.push_str(&format!("| {} |", c.backend));
        for mode in Mode::ALL {
            out.push_str(&format!(" {:.0} |", c.rate(mode)));
        }
        out.push_str(&format!(
            " {:.0}% | {:.0}% | {:.0}% |\n",
            c.sm4_ratio() * 100.0,
            c.sm3_ratio() * 100.0,
            c.both_ratio() * 100.0
        ));
    }
    out.push_str(&format!(
        "\nCryptography alone per intake (3 × SM4-GCM encrypt, 1 × HMAC-SM3, 3 × decrypt on the read-back): \
         {crypto_us:.1} µs on one core.\n\n{} intakes per run, {} concurrent, median of {} runs per mode, fresh \
         databases, the first mode rotating. \"with / without\" is production's throughput over the same with \
         that part switched off (the seals through `StoreOptions::seal_events`, which only this bench turns off).\n",
        opts.intakes, opts.clients, opts.rounds
    ));
    out
}
