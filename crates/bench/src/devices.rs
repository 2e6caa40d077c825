//! The online-monitoring scenario (`mashangban-bench devices`, issue 15): monitoring points with
//! their devices created through the store, a history of minute readings bulk-loaded straight into
//! SQLite (a year of one point's, the rest spread over the others), then the real server with its
//! HJ 212 receiver in a child process:
//! - ingest: every device on its own TCP connection sends its next minute packet (CN 2051, answer
//!   asked) as soon as the last is answered; the receiver answers 9014 only once the readings are
//!   committed, so send → answer is packet → durably stored;
//! - paced: the same devices, connected anew, each sending one packet per interval, spread evenly, so
//!   that all of them together send half the packets per second the closed loop reached: the latency
//!   of a receiver that is not saturated, counted from when each packet was due;
//! - the same run's baseline: the store's own reading INSERT, plain, in durable transactions of
//!   [`BASELINE_BATCH`] rows from one thread;
//! - alerts: a probe device sends a COD exceedance every [`PROBE_EVERY`] while the devices load the
//!   receiver, and a signed-in page's live stream (`/monitoring/events`) is read until the alert
//!   shows: send → seen by the responsible unit's page;
//! - a year of one point's hourly min/avg/max through the API.
//!
//! See `docs/benchmarks.md`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant as Clock};

use chrono::{Duration, DurationRound};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use mashangban_domain::environment::GB_8978_1996;
use mashangban_domain::monitoring::{MeasuredParameter, PointDraft, PointInput, device_password_hash};
use mashangban_domain::time::{Instant, format_instant};
use mashangban_store::{MonitoringActor, MonitoringStore, OrgStore};

use crate::report::{self, Machine, Target, mib, ms, target, thousands};
use crate::scenarios::{self, Measured, Scenario};
use crate::server::Server;
use crate::{BenchResult, Ctx, baseline, load};

/// (HJ 212 code, typical value, spread) each point measures: COD, ammonia nitrogen, pH.
const PARAMETERS: [(&str, f64, f64); 3] = [("w01018", 60.0, 20.0), ("w21003", 5.0, 2.0), ("w01001", 7.2, 0.4)];
/// The password of every bench device.
const PASSWORD: &str = "123456";
/// Readings per INSERT transaction of the baseline.
const BASELINE_BATCH: usize = 500;
/// Readings per transaction of the bulk load.
const LOAD_COMMIT_EVERY: u64 = 200_000;
/// One packet in this many of the loading devices carries a COD exceedance.
const EXCEED_ONE_IN: u32 = 1_000;
/// How often the probe device sends an exceedance.
const PROBE_EVERY: StdDuration = StdDuration::from_secs(1);
/// Minutes in the history point's year.
const YEAR_MINUTES: i64 = 365 * 24 * 60;

/// One run of the device scenario.
#[derive(Debug, Clone)]
pub struct DeviceOptions {
    /// Devices connected at once, each the device of its own point.
    pub devices: usize,
    /// Readings bulk-loaded before the measurements.
    pub readings: u64,
    /// What every scenario subcommand is run with.
    pub run: crate::RunOptions,
}

impl DeviceOptions {
    pub fn db_path(&self) -> PathBuf {
        self.run.work_dir.join(format!("bench-devices-{}.db", self.devices))
    }
}

/// The points and the bulk-loaded history.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceLoad {
    pub points: u64,
    pub readings: u64,
    /// Migrations, demo org and users, the points through the store.
    pub setup_seconds: f64,
    /// Writing the readings (indexes dropped).
    pub copy_seconds: f64,
    /// Re-creating the dropped indexes.
    pub index_seconds: f64,
    /// File + WAL after the load, checkpointed.
    pub db_bytes: u64,
}

impl DeviceLoad {
    /// Database bytes per stored reading (the rest of the database is small beside them).
    pub fn bytes_per_reading(&self) -> f64 {
        self.db_bytes as f64 / (self.readings.max(1) as f64)
    }
}

/// The receiver under the devices' load.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Ingest {
    /// Per packet: send → 9014 answer (readings committed).
    pub packets: Measured,
    /// Readings the database holds more after the run than before it: the timed packets', the
    /// devices' first (untimed) packets' and the probe's.
    pub readings_stored: u64,
    /// Readings of the timed packets answered (each packet's parameters), per second of the timed phase.
    pub readings_per_second: f64,
    /// Server CPU (the one process: receiver, web and SQLite) per stored reading.
    pub server_cpu_ms_per_reading: f64,
    /// Packets whose answer did not come (or came as a refusal) within five seconds.
    pub unanswered: u64,
    /// The data minute before the earliest the phase sent, where another phase may begin.
    #[serde(skip)]
    pub next_minute: Option<Instant>,
}

/// How the devices send in a timed phase.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// Each packet as soon as the last is answered: the most the receiver stores.
    Closed,
    /// One packet per device every interval, the devices' packets spread evenly over it.
    Every(StdDuration),
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceReport {
    pub devices: usize,
    pub machine: Machine,
    pub date: String,
    pub commit: String,
    pub command: String,
    pub seconds: f64,
    pub load: DeviceLoad,
    pub ingest: Ingest,
    /// The devices paced at half the closed loop's packet rate; latencies from when a packet was due.
    pub paced: Ingest,
    /// Durable transactions of [`BASELINE_BATCH`] raw reading INSERTs (one sample per transaction).
    pub baseline: Measured,
    /// Probe exceedance sent → its alert in the live page's stream.
    pub alerts: Measured,
    /// Probe exceedances whose alert never showed.
    pub alerts_missed: u64,
    pub aggregates: Measured,
    pub rss_peak: u64,
}

/// Creates the points, loads the history, runs every measurement and reports.
pub fn run(opts: &DeviceOptions) -> BenchResult<DeviceReport> {
    if opts.devices == 0 {
        return Err("at least one device".into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().ctx("runtime")?;
    let db = opts.db_path();
    let started = Clock::now();
    load::remove_db(&db)?;
    // Point 0 is the probe's, points 1..=devices the loading devices'; point 1 holds the year.
    let points = rt.block_on(create_points(&db, opts.devices + 1))?;
    let setup_seconds = started.elapsed().as_secs_f64();
    let now = mashangban_domain::time::now();
    let mut load = bulk_load(&db, &points, opts.readings, now, opts.run.seed)?;
    load.setup_seconds = setup_seconds;
    let baseline = raw_inserts(&db, &points[1], opts.run.seconds, opts.run.max_requests)?;

    let url = format!("sqlite://{}", db.display());
    let server = Server::start_with_receiver(&opts.run.server_exe, &url, opts.run.readers)?;
    let measured = rt.block_on(measure(opts, &server, &points, &db, now));
    let rss_peak = server.memory().1;
    server.stop();
    let (ingest, paced, (alerts, alerts_missed), aggregates) = measured?;
    Ok(DeviceReport {
        devices: opts.devices,
        machine: Machine::read(),
        date: mashangban_domain::time::now().format("%Y-%m-%d %H:%M (+08:00)").to_string(),
        commit: report::commit(),
        command: opts.run.command.clone(),
        seconds: opts.run.seconds,
        load,
        ingest,
        paced,
        baseline,
        alerts,
        alerts_missed,
        aggregates,
        rss_peak,
    })
}

/// A bench point as the store holds it.
#[derive(Debug, Clone)]
struct BenchPoint {
    id: i64,
    code: String,
    mn: String,
}

/// The real store: migrations, demo org and users, then `count` points of the environment bureau,
/// each with its device.
async fn create_points(db: &Path, count: usize) -> BenchResult<Vec<BenchPoint>> {
    let (store, _) = load::open_with_org(db).await?;
    let bureau = store.list_units().await.ctx("org")?.into_iter().find(|u| u.code == "sthjj");
    let bureau = bureau.ok_or("the demo org has no 市生态环境局")?;
    let by = MonitoringActor { user_id: None, name: "基准测试（bench）".into() };
    let at = mashangban_domain::time::now() - Duration::days(400);
    let mut out = Vec::with_capacity(count);
    for n in 0..count {
        let draft = PointDraft {
            code: format!("B-{n:05}"),
            name: format!("基准测试排口 {n}"),
            kind: "park_outlet".into(),
            credit_code: None,
            ledger_item_id: None,
            mn: format!("ZSBENCH{n:08}"),
            standard: GB_8978_1996.into(),
            grade: 2,
            permit_limits: Vec::new(),
            parameters: PARAMETERS
                .iter()
                .map(|(code, _, _)| MeasuredParameter {
                    code: (*code).into(),
                    unit: if *code == "w01001" { "无量纲" } else { "mg/L" }.into(),
                })
                .collect(),
            unit_id: bureau.id,
            offline_after_minutes: None,
        };
        let input = PointInput::new(draft).map_err(|e| e.message)?;
        let hash = device_password_hash(&input.mn, PASSWORD);
        let point = store.create_monitoring_point(input, hash, at, by.clone()).await.ctx("create a point")?;
        out.push(BenchPoint { id: point.id, code: point.code, mn: point.mn });
    }
    Ok(out)
}

/// The store's reading INSERT (as the receiver's batch writes it), for the load and the baseline.
const READING_INSERT: &str =
    "INSERT INTO monitoring_readings (point_id, mn, cn, data_time, parameter, value, min_value,
        max_value, flag, received_at)
     VALUES (?1, ?2, 2051, ?3, ?4, ?5, ?6, ?7, 'N', ?8)
     ON CONFLICT (mn, data_time, cn, parameter) DO NOTHING";

/// The hourly rollup (小时汇总) of the loaded readings.
const ROLLUP_FILL: &str =
    "INSERT INTO monitoring_reading_hours (point_id, parameter, cn, hour, readings, value_sum, min_value, max_value)
     SELECT point_id, parameter, cn, substr(data_time, 1, 13), COUNT(*), SUM(value), MIN(value), MAX(value)
     FROM monitoring_readings GROUP BY point_id, parameter, cn, substr(data_time, 1, 13)";

/// One minute of a point's readings: each parameter around its typical value, none over a limit.
fn minute_rows(rng: &mut StdRng) -> [(&'static str, f64); 3] {
    PARAMETERS.map(|(code, base, spread)| (code, ((base + rng.gen_range(-spread..=spread)) * 100.0).round() / 100.0))
}

/// Writes `count` minute readings straight into `monitoring_readings`: point 1's year (ending a day
/// before `now`), the rest spread evenly over the other loading points' minutes before that day, in
/// large transactions with the secondary indexes dropped and re-created from their own text.
fn bulk_load(db: &Path, points: &[BenchPoint], count: u64, now: Instant, seed: u64) -> BenchResult<DeviceLoad> {
    let conn = load::open_for_bulk_load(db)?;
    let indexes = load::drop_indexes(&conn, &["monitoring_readings"])?;
    let end = now.duration_trunc(Duration::minutes(1)).ctx("minute")? - Duration::days(1);
    let received = format_instant(&now);
    let mut rng = StdRng::seed_from_u64(seed);
    let per_minute = PARAMETERS.len() as u64;
    let others = &points[2..];
    // Point 1's year, or as much of it as `count` holds.
    let history_minutes = (count / per_minute).min(YEAR_MINUTES as u64);
    let rest_minutes = match others.len() as u64 {
        0 => 0,
        n => (count - history_minutes * per_minute) / per_minute / n,
    };
    let t0 = Clock::now();
    let mut written = 0u64;
    {
        let mut insert = conn.prepare(READING_INSERT).ctx("prepare")?;
        conn.execute_batch("BEGIN").ctx("begin")?;
        let series = std::iter::once((&points[1], history_minutes as i64))
            .chain(others.iter().map(|p| (p, rest_minutes as i64)));
        for (point, minutes) in series {
            for m in 0..minutes {
                let at = format_instant(&(end - Duration::minutes(m)));
                for (code, value) in minute_rows(&mut rng) {
                    insert
                        .execute(params![point.id, point.mn, at, code, value, value * 0.95, value * 1.05, received])
                        .ctx("insert a reading")?;
                    written += 1;
                    if written.is_multiple_of(LOAD_COMMIT_EVERY) {
                        conn.execute_batch("COMMIT; BEGIN").ctx("commit")?;
                    }
                }
            }
        }
        conn.execute_batch("COMMIT").ctx("commit")?;
    }
    // The hourly rollup the store keeps with every insert, filled as migration 0051 fills it.
    conn.execute_batch(ROLLUP_FILL).ctx("fill the hourly rollup")?;
    let copy_seconds = t0.elapsed().as_secs_f64();
    let index_seconds = load::finish_bulk_load(&conn, &indexes)?;
    let readings = count_readings(&conn)?;
    drop(conn);
    Ok(DeviceLoad {
        points: points.len() as u64,
        readings,
        setup_seconds: 0.0,
        copy_seconds,
        index_seconds,
        db_bytes: crate::ledgers::file_bytes(db),
    })
}

fn count_readings(conn: &Connection) -> BenchResult<u64> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM monitoring_readings", [], |r| r.get(0)).ctx("count")?;
    Ok(n as u64)
}

/// The name of the ingest baseline.
pub const BASELINE_NAME: &str =
    "raw batched reading INSERTs (the store's statement, 500 per durable transaction, 1 thread)";

/// The store's reading INSERT in durable transactions (WAL, `synchronous=FULL`) of
/// [`BASELINE_BATCH`] rows on the bench database, for minutes long before any other reading of
/// `point`; the rows are deleted again afterwards (untimed).
fn raw_inserts(db: &Path, point: &BenchPoint, seconds: f64, max: u64) -> BenchResult<Measured> {
    let mut conn = Connection::open(db).ctx("open for the baseline")?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -32000;")
        .ctx("pragmas")?;
    let start = mashangban_domain::time::now() - Duration::days(3650);
    let mut rng = StdRng::seed_from_u64(7);
    let received = format_instant(&mashangban_domain::time::now());
    let mut minute = 0i64;
    let measured = baseline::repeat(BASELINE_NAME, seconds, max, |_| {
        let tx = conn.transaction().ctx("begin")?;
        {
            let mut insert = tx.prepare_cached(READING_INSERT).ctx("prepare")?;
            for _ in 0..BASELINE_BATCH / PARAMETERS.len() {
                let at = format_instant(&(start + Duration::minutes(minute)));
                minute += 1;
                for (code, value) in minute_rows(&mut rng) {
                    insert
                        .execute(params![point.id, point.mn, at, code, value, value * 0.95, value * 1.05, received])
                        .ctx("baseline insert")?;
                }
            }
        }
        tx.commit().ctx("commit")
    })?;
    let end = format_instant(&(start + Duration::minutes(minute)));
    conn.execute(
        "DELETE FROM monitoring_readings WHERE point_id = ?1 AND data_time >= ?2 AND data_time <= ?3",
        params![point.id, format_instant(&start), end],
    )
    .ctx("remove the baseline rows")?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").ctx("checkpoint")?;
    Ok(measured)
}

/// Readings per baseline transaction actually written (whole minutes of every parameter).
fn baseline_rows_per_transaction() -> usize {
    BASELINE_BATCH / PARAMETERS.len() * PARAMETERS.len()
}

/// The ingest with the probe and the live page beside it, then the aggregates.
async fn measure(
    opts: &DeviceOptions,
    server: &Server,
    points: &[BenchPoint],
    db: &Path,
    now: Instant,
) -> BenchResult<(Ingest, Ingest, (Measured, u64), Measured)> {
    let receiver = server.hj212.ok_or("the server runs no HJ 212 receiver")?;
    let client = scenarios::client(4)?;
    let admin = scenarios::login(&client, server.addr, "admin", load::PASSWORD).await?;
    let minute = now.duration_trunc(Duration::minutes(1)).ctx("minute")?;
    let seen: Seen = Arc::new(Mutex::new(HashMap::new()));
    let watcher =
        tokio::spawn(watch_alerts(client.clone(), server.addr, admin.clone(), points[0].code.clone(), seen.clone()));
    let window = StdDuration::from_secs_f64(opts.run.seconds);
    let probe = tokio::spawn(probe(receiver, points[0].clone(), minute, window));
    let phase = Phase { receiver, points: &points[1..], window, pid: server.pid(), seed: opts.run.seed, db };
    let before = phase.readings()?;
    let closed = phase.ingest(Pace::Closed, minute).await?;
    let probe = probe.await.ctx("probe task")??;
    let closed = phase.summed(closed, before)?;
    // Late alerts still count: give the page a moment past the last probe.
    tokio::time::sleep(StdDuration::from_secs(2)).await;
    watcher.abort();
    let alerts = alert_latencies(&probe, &seen);
    // Half the closed loop's packets per second, shared by the devices.
    let half_rate = closed.packets.per_second / 2.0;
    let interval = StdDuration::from_secs_f64(phase.points.len() as f64 / half_rate.max(1e-3));
    let first = closed.next_minute.unwrap_or(minute);
    let before = phase.readings()?;
    let paced = phase.ingest(Pace::Every(interval), first).await?;
    let paced = phase.summed(paced, before)?;
    let aggregates = aggregates(opts, server, &client, &admin, &points[1], now).await?;
    Ok((closed, paced, alerts, aggregates))
}

/// A timed phase of the loading devices.
struct Phase<'a> {
    receiver: SocketAddr,
    points: &'a [BenchPoint],
    window: StdDuration,
    pid: String,
    seed: u64,
    db: &'a Path,
}

impl Phase<'_> {
    fn readings(&self) -> BenchResult<u64> {
        count_readings(&Connection::open(self.db).ctx("open to count")?)
    }

    /// Runs the devices at `pace`, sending the minutes before `first`.
    async fn ingest(&self, pace: Pace, first: Instant) -> BenchResult<Ingest> {
        ingest(self.receiver, self.points, first, self.window, &self.pid, self.seed, pace).await
    }

    /// The readings the database holds more than `before`, and the rates and CPU per reading of
    /// the timed packets.
    fn summed(&self, ingest: Ingest, before: u64) -> BenchResult<Ingest> {
        let after = self.readings()?;
        let timed_readings = ingest.packets.requests * PARAMETERS.len() as u64;
        Ok(Ingest {
            readings_stored: after - before,
            readings_per_second: timed_readings as f64 / ingest.packets.seconds.max(1e-9),
            server_cpu_ms_per_reading: ingest.server_cpu_ms_per_reading / timed_readings.max(1) as f64,
            ..ingest
        })
    }
}

/// Every loading device connects and sends one untimed packet (of `minute`), then all send the
/// minutes before it at `pace` for `window`; answers the packets' latencies, and the server's CPU
/// seconds over the timed phase in `server_cpu_ms_per_reading` (divided by the readings by the caller).
async fn ingest(
    receiver: SocketAddr,
    points: &[BenchPoint],
    minute: Instant,
    window: StdDuration,
    pid: &str,
    seed: u64,
    pace: Pace,
) -> BenchResult<Ingest> {
    let devices = points.len() as u32;
    let ready = Arc::new(tokio::sync::Barrier::new(points.len() + 1));
    let go = Arc::new(tokio::sync::Notify::new());
    let start = Arc::new(Mutex::new(None::<tokio::time::Instant>));
    let mut tasks = Vec::with_capacity(points.len());
    for (n, point) in points.iter().enumerate() {
        let (point, ready, start) = (point.clone(), ready.clone(), start.clone());
        let go = go.clone();
        tasks.push(tokio::spawn(async move {
            let mut device = Device::connect(receiver, point, seed ^ n as u64).await;
            if let Ok(d) = device.as_mut() {
                let _ = d.send(minute, false, None).await;
            }
            let notified = go.notified();
            ready.wait().await;
            notified.await;
            let start = start.lock().ok().and_then(|s| *s).unwrap_or_else(tokio::time::Instant::now);
            let pace = match pace {
                Pace::Closed => None,
                // Device n's first packet is due n/devices of the way into the interval.
                Pace::Every(interval) => Some((start + interval * n as u32 / devices, interval)),
            };
            match device {
                Ok(mut d) => d.run_until(start + window, minute - Duration::minutes(1), pace).await,
                Err(_) => (Vec::new(), 1, minute),
            }
        }));
    }
    ready.wait().await;
    if let Ok(mut s) = start.lock() {
        *s = Some(tokio::time::Instant::now());
    }
    let (cpu0, client0, t0) = (scenarios::cpu_seconds(pid), scenarios::cpu_seconds("self"), Clock::now());
    go.notify_waiters();
    let (mut micros, mut unanswered, mut next_minute) = (Vec::new(), 0u64, minute);
    for task in tasks {
        let (latencies, failed, next) = task.await.ctx("device task")?;
        micros.extend(latencies);
        unanswered += failed;
        next_minute = next_minute.min(next);
    }
    let seconds = t0.elapsed().as_secs_f64();
    let cpu = scenarios::cpu_seconds(pid) - cpu0;
    let name = match pace {
        Pace::Closed => "HJ 212 minute packets → stored (9014 answer)".to_owned(),
        Pace::Every(interval) => {
            format!("the same paced, one per device every {:.2} s (from when due)", interval.as_secs_f64())
        }
    };
    let mut packets = Measured::from_latencies(&name, points.len(), micros, unanswered, seconds);
    if packets.requests == 0 {
        return Err(format!("no packet was answered ({unanswered} unanswered)"));
    }
    packets.server_cpu_ms = cpu * 1000.0 / packets.requests as f64;
    packets.client_cpu_ms = (scenarios::cpu_seconds("self") - client0) * 1000.0 / packets.requests as f64;
    Ok(Ingest {
        packets,
        readings_stored: 0,
        readings_per_second: 0.0,
        server_cpu_ms_per_reading: cpu * 1000.0,
        unanswered,
        next_minute: Some(next_minute),
    })
}

/// A simulated data logger on its own connection.
struct Device {
    addr: SocketAddr,
    stream: TcpStream,
    reader: mashangban_hj212::FrameReader,
    point: BenchPoint,
    rng: StdRng,
}

impl Device {
    async fn connect(addr: SocketAddr, point: BenchPoint, seed: u64) -> BenchResult<Self> {
        let stream = TcpStream::connect(addr).await.ctx("connect a device")?;
        stream.set_nodelay(true).ctx("nodelay")?;
        let reader = mashangban_hj212::FrameReader::new();
        Ok(Self { addr, stream, reader, point, rng: StdRng::seed_from_u64(seed) })
    }

    /// Sends the packet of `minute` and waits for its answer: the latency in microseconds, from
    /// `due` when given (a paced packet sent late still counts its wait), else from the send.
    async fn send(&mut self, minute: Instant, exceed: bool, due: Option<Clock>) -> Option<u64> {
        let frame = mashangban_demo::minute_packet(&self.point.mn, minute, exceed, false, &mut self.rng).ok()?;
        let t0 = due.unwrap_or_else(Clock::now);
        self.stream.write_all(&frame).await.ok()?;
        mashangban_demo::answered(&mut self.stream, &mut self.reader).await.then(|| t0.elapsed().as_micros() as u64)
    }

    /// Packets of the minutes before `first` (one minute further back each) until `deadline`: each
    /// once the last is answered, or with `pace` (first due, interval) each when due. Answers the
    /// latencies, the packets left unanswered and the minute before the last one sent. A packet left
    /// unanswered is given up, as a data logger would: it connects again (so a late answer is not
    /// taken for the next packet's) and goes on.
    async fn run_until(
        &mut self,
        deadline: tokio::time::Instant,
        first: Instant,
        pace: Option<(tokio::time::Instant, StdDuration)>,
    ) -> (Vec<u64>, u64, Instant) {
        let (mut latencies, mut failed) = (Vec::new(), 0);
        let mut minute = first;
        let mut next_due = pace.map(|(first_due, _)| first_due);
        while tokio::time::Instant::now() < deadline {
            let due = match (next_due, pace) {
                (Some(at), Some((_, interval))) => {
                    if at >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(at).await;
                    next_due = Some(at + interval);
                    Some(at.into_std())
                }
                _ => None,
            };
            let exceed = self.rng.gen_ratio(1, EXCEED_ONE_IN);
            match self.send(minute, exceed, due).await {
                Some(micros) => latencies.push(micros),
                None => {
                    failed += 1;
                    if self.reconnect().await.is_err() {
                        break;
                    }
                }
            }
            minute -= Duration::minutes(1);
        }
        (latencies, failed, minute)
    }

    async fn reconnect(&mut self) -> BenchResult<()> {
        *self = Self::connect(self.addr, self.point.clone(), self.rng.r#gen()).await?;
        Ok(())
    }
}

/// Alerts the live page has shown: the probe's minute (`YYYY-MM-DDTHH:MM`) → when it first showed.
type Seen = Arc<Mutex<HashMap<String, Clock>>>;

/// The probe device (its own point, no history): a COD exceedance every [`PROBE_EVERY`] for `window`,
/// each for the minute before the last; answers each exceedance's minute and when it was sent.
async fn probe(
    receiver: SocketAddr,
    point: BenchPoint,
    minute: Instant,
    window: StdDuration,
) -> BenchResult<Vec<(String, Clock)>> {
    let mut device = Device::connect(receiver, point, 0).await?;
    let mut sent = Vec::new();
    let started = Clock::now();
    let mut minute = minute;
    // Lets the page's stream open before the first exceedance.
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    while started.elapsed() < window {
        let key = minute.format("%Y-%m-%dT%H:%M").to_string();
        let at = Clock::now();
        if device.send(minute, true, None).await.is_some() {
            sent.push((key, at));
        }
        minute -= Duration::minutes(1);
        tokio::time::sleep(PROBE_EVERY).await;
    }
    Ok(sent)
}

/// Reads the live page's stream (`/monitoring/events`, server-sent `state` events with the open
/// alerts) and notes when each of the probe point's alerts first shows.
async fn watch_alerts(client: reqwest::Client, addr: SocketAddr, cookie: String, probe: String, seen: Seen) {
    let Ok(mut resp) = client.get(format!("http://{addr}/monitoring/events")).header("cookie", cookie).send().await
    else {
        return;
    };
    let mut buffer = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        buffer.extend_from_slice(&chunk);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buffer.drain(..end + 2).collect();
            let arrived = Clock::now();
            let text = String::from_utf8_lossy(&event);
            let Some(data) = text.lines().find_map(|l| l.strip_prefix("data:")) else { continue };
            let Ok(state) = serde_json::from_str::<serde_json::Value>(data.trim()) else { continue };
            let alerts = state["alerts"].as_array().cloned().unwrap_or_default();
            let Ok(mut seen) = seen.lock() else { return };
            for alert in alerts.iter().filter(|a| a["point_code"] == probe.as_str()) {
                if let Some(time) = alert["data_time"].as_str().and_then(|t| t.get(..16)) {
                    seen.entry(time.to_owned()).or_insert(arrived);
                }
            }
        }
    }
}

/// Each probe exceedance's latency from sent to shown, and how many never showed.
fn alert_latencies(sent: &[(String, Clock)], seen: &Seen) -> (Measured, u64) {
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    let mut micros = Vec::new();
    let mut missed = 0;
    for (minute, at) in sent {
        match seen.get(minute) {
            Some(shown) => micros.push(shown.saturating_duration_since(*at).as_micros() as u64),
            None => missed += 1,
        }
    }
    let seconds = sent.len() as f64 * PROBE_EVERY.as_secs_f64();
    (
        Measured::from_latencies(
            "probe exceedance → alert on the live page (/monitoring/events)",
            1,
            micros,
            missed,
            seconds,
        ),
        missed,
    )
}

/// A year of point 1's COD as hourly min/avg/max through the API, one client.
async fn aggregates(
    opts: &DeviceOptions,
    server: &Server,
    client: &reqwest::Client,
    cookie: &str,
    point: &BenchPoint,
    now: Instant,
) -> BenchResult<Measured> {
    let end = now.duration_trunc(Duration::minutes(1)).ctx("minute")? - Duration::days(1);
    let from = format_instant(&(end - Duration::days(365)));
    let to = format_instant(&(end + Duration::minutes(1)));
    let url = format!("http://{}/api/v1/monitoring/points/{}/series", server.addr, point.code);
    let cookie = cookie.to_owned();
    let make: scenarios::MakeRequest = Arc::new(move |c, _| {
        c.get(url.as_str())
            .query(&[("parameter", "w01018"), ("bucket", "hour"), ("from", from.as_str()), ("to", to.as_str())])
            .header("cookie", cookie.as_str())
    });
    let scenario =
        Scenario { name: "a year of one point's hourly COD (min/avg/max)".into(), clients: 1, expect: 200, make };
    let mut measured =
        scenarios::measure_each(client, &[scenario], (opts.run.seconds, opts.run.max_requests), &server.pid(), &|| 0.0)
            .await?;
    measured.pop().ok_or_else(|| "no aggregate measurement".into())
}

impl DeviceReport {
    /// Stored readings per second over the baseline's.
    pub fn ingest_ratio(&self) -> f64 {
        self.ingest.readings_per_second / self.baseline_rows_per_second().max(1e-9)
    }

    fn baseline_rows_per_second(&self) -> f64 {
        self.baseline.per_second * baseline_rows_per_transaction() as f64
    }

    /// The targets.
    pub fn targets(&self) -> Vec<Target> {
        let r = self.ingest_ratio();
        let p = &self.paced.packets;
        vec![
            target("durable readings / raw batched INSERT", "≥ 50%", format!("{:.0}%", r * 100.0), r >= 0.5),
            target(
                "packet → stored p99, paced at half the closed loop's rate",
                "< 200 ms",
                ms(p.p99_ms),
                p.p99_ms < 200.0 && p.requests > 0 && self.paced.unanswered == 0,
            ),
            target(
                "exceedance → alert on the page, slowest",
                "< 1 s",
                ms(self.alerts.max_ms),
                self.alerts.max_ms < 1000.0 && self.alerts.requests > 0 && self.alerts_missed == 0,
            ),
            target(
                &format!("a year's hourly aggregates p99 at {} readings", thousands(self.load.readings)),
                "< 20 ms (at 100M)",
                ms(self.aggregates.p99_ms),
                self.aggregates.p99_ms < 20.0 && self.load.readings >= 100_000_000,
            ),
        ]
    }

    pub fn markdown(&self) -> String {
        use std::fmt::Write;
        let mut md = String::new();
        let (m, l, i) = (&self.machine, &self.load, &self.ingest);
        let _ = writeln!(md, "## Online monitoring: {} devices\n", thousands(self.devices as u64));
        report::write_run_head(&mut md, m, &self.date, &self.commit, &self.command);
        let _ = writeln!(
            md,
            "- SQLite; {} devices, each its own point (3 parameters) and TCP connection, send minute packets (CN 2051, answer asked) for {} s, each once the last is answered, then as long again paced at half that packet rate; one packet in {EXCEED_ONE_IN} over the COD limit; a probe device sends an exceedance every {} s while a signed-in page follows `/monitoring/events`\n",
            thousands(self.devices as u64),
            self.seconds,
            PROBE_EVERY.as_secs()
        );
        report::write_scenario_header(&mut md);
        let _ = writeln!(
            md,
            "{} | {:.0} readings/s raw | {:.0}% |",
            report::row(&i.packets),
            self.baseline_rows_per_second(),
            self.ingest_ratio() * 100.0
        );
        let _ = writeln!(md, "{} | — | — |", report::row(&self.paced.packets));
        let _ = writeln!(md, "{} | — | — |", report::row(&self.alerts));
        let _ = writeln!(md, "{} | — | — |", report::row(&self.aggregates));
        let _ = writeln!(md, "{} | baseline | — |\n", report::row(&self.baseline));
        let _ = writeln!(md, "| ingest, load and size | value |\n|---|---:|");
        let _ = writeln!(
            md,
            "| readings stored during the ingest / per second / server CPU per reading | {} / {:.0} / {:.3} ms |",
            thousands(i.readings_stored),
            i.readings_per_second,
            i.server_cpu_ms_per_reading
        );
        let _ = writeln!(
            md,
            "| baseline: {BASELINE_NAME} | {:.0} readings/s ({} per transaction) |",
            self.baseline_rows_per_second(),
            baseline_rows_per_transaction()
        );
        let _ = writeln!(
            md,
            "| packets unanswered within 5 s (closed loop / paced) | {} / {} |",
            thousands(i.unanswered),
            thousands(self.paced.unanswered)
        );
        let _ = writeln!(
            md,
            "| probe exceedances sent / shown on the page / never shown | {} / {} / {} |",
            thousands(self.alerts.requests + self.alerts_missed),
            thousands(self.alerts.requests),
            thousands(self.alerts_missed)
        );
        let _ = writeln!(
            md,
            "| points / readings bulk-loaded (one point's year of minutes, the rest spread over the others) | {} / {} |",
            thousands(l.points),
            thousands(l.readings)
        );
        let _ = writeln!(
            md,
            "| setup (migrations, org, users, points through the store) + write + index build | {:.1} s + {:.1} s + {:.1} s |",
            l.setup_seconds, l.copy_seconds, l.index_seconds
        );
        let _ = writeln!(
            md,
            "| database after load (file + WAL, checkpointed) / per reading | {} / {:.0} B |",
            mib(l.db_bytes),
            l.bytes_per_reading()
        );
        let _ = writeln!(md, "| server peak RSS over the whole run (VmHWM) | {} |\n", mib(self.rss_peak));
        report::write_target_table(&mut md, &self.targets());
        md
    }
}
