//! Connections: one writer thread with group commit, and reader threads.
//!
//! Every write runs on the writer thread inside `BEGIN IMMEDIATE`. Writes that
//! arrive while a commit is in flight are batched into the next transaction,
//! each in its own savepoint, so one failing job rolls back alone and a batch
//! costs one `fsync` (`synchronous=FULL`) however many requests it carries.
//! A caller hears back only after the batch has committed.
//!
//! Reads run on long-lived reader threads, each owning one read-only
//! connection, all fed by one channel: a read costs one hand-off to a thread
//! that is already waiting and one answer back, where a blocking-pool task per
//! read created, parked and woke threads (a profile of public look-ups found
//! about 40 % of the server's CPU there).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use mashangban_store::{BATCH_SIZE_BOUNDS, PoolFigures, StoreError, StoreResult, WriterFigures};

/// The most jobs committed in one transaction.
const MAX_BATCH: usize = 512;
const BUSY_TIMEOUT_MS: u64 = 5_000;

type Finish = Box<dyn FnOnce(StoreResult<()>) + Send>;
/// A write job on the writer's connection. The connection sits in a mutex
/// (only ever locked by the writer thread) so that jobs can hand out a
/// `Sync` reference to it.
type Job = Box<dyn FnOnce(&Mutex<Connection>) -> Finish + Send>;

/// A read job on a reader thread's connection; it answers its caller itself.
type ReadJob = Box<dyn FnOnce(&Mutex<Connection>) + Send>;

/// A SQLite database: the writer's queue and the readers' queue. The threads
/// end when the last clone is dropped (their channels close).
#[derive(Clone)]
pub struct Db {
    writer: mpsc::Sender<Job>,
    stats: Arc<WriterStats>,
    readers: Arc<Readers>,
    path: Arc<PathBuf>,
}

/// The reader threads' queue, shared by every clone of a [`Db`].
struct Readers {
    jobs: crossbeam_channel::Sender<ReadJob>,
    size: usize,
    counts: Arc<ReaderCounts>,
}

/// What the reader threads are doing, for `/metrics`.
#[derive(Default)]
struct ReaderCounts {
    /// Jobs sent and not yet taken by a reader.
    queued: AtomicU64,
    /// Readers running a job.
    busy: AtomicU64,
}

/// The writer thread's counters, for `/metrics`.
#[derive(Default)]
struct WriterStats {
    queued: AtomicU64,
    batches: AtomicU64,
    jobs: AtomicU64,
    /// Batches whose size is at most the bound of the same index (not cumulative).
    sizes: [AtomicU64; BATCH_SIZE_BOUNDS.len()],
}

impl WriterStats {
    fn batch_taken(&self, size: usize) {
        let size = size as u64;
        self.queued.fetch_sub(size, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.jobs.fetch_add(size, Ordering::Relaxed);
        let bucket = BATCH_SIZE_BOUNDS.iter().position(|bound| size <= *bound).unwrap_or(BATCH_SIZE_BOUNDS.len() - 1);
        self.sizes[bucket].fetch_add(1, Ordering::Relaxed);
    }

    fn figures(&self) -> WriterFigures {
        let mut cumulative = 0;
        let batch_size_buckets = std::array::from_fn(|i| {
            cumulative += self.sizes[i].load(Ordering::Relaxed);
            cumulative
        });
        WriterFigures {
            queued: self.queued.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            jobs: self.jobs.load(Ordering::Relaxed),
            batch_size_buckets,
        }
    }
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path, readers: usize) -> StoreResult<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::backend(format!("create {}: {e}", dir.display())))?;
        }
        crate::backup::check_file(path)?;
        let mut writer = open_connection(path, false)?;
        crate::backup::check_schema(&writer, path)?;
        crate::migrations::migrate(&mut writer)?;
        let readers = Readers::start(path, readers.max(1))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let stats = Arc::new(WriterStats::default());
        let writer_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, rx, &writer_stats))
            .map_err(StoreError::backend)?;
        Ok(Self { writer: tx, stats, readers: Arc::new(readers), path: Arc::new(path.to_path_buf()) })
    }

    /// The writer thread's queue and batches so far.
    pub fn writer_figures(&self) -> WriterFigures {
        self.stats.figures()
    }

    /// The reader connections: all open, idle the readers not running a job,
    /// waiting the jobs queued for one.
    pub fn reader_figures(&self) -> PoolFigures {
        let size = self.readers.size as u64;
        let busy = self.readers.counts.busy.load(Ordering::Relaxed);
        PoolFigures {
            max: size,
            open: size,
            idle: size.saturating_sub(busy),
            waiting: self.readers.counts.queued.load(Ordering::Relaxed),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in the next write transaction; returns once it is committed.
    pub async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.write_locked(move |conn| f(&*lock(conn)?)).await
    }

    /// Runs `f` in the next write transaction with the connection in its
    /// mutex; returns once it is committed.
    pub async fn write_locked<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Mutex<Connection>) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn: &Mutex<Connection>| {
            let result = in_savepoint(conn, f);
            Box::new(move |commit: StoreResult<()>| {
                let _ = tx.send(commit.and(result));
            })
        });
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        if self.writer.send(job).is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(StoreError::backend("the writer thread has stopped"));
        }
        rx.await.map_err(|_| StoreError::backend("the writer thread dropped a job"))?
    }

    /// Runs `f` on a reader connection (a consistent snapshot) off the async threads.
    pub async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        self.read_locked(move |conn| f(&*lock(conn)?)).await
    }

    /// Runs `f` on a reader connection in a mutex, on a reader thread. A job
    /// that panics answers with an error; its reader goes on serving.
    pub async fn read_locked<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Mutex<Connection>) -> StoreResult<T> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        self.readers.send(Box::new(move |conn: &Mutex<Connection>| {
            // A caller that gave up (its request was cancelled) needs no answer.
            if !tx.is_closed() {
                let _ = tx.send(f(conn));
            }
        }))?;
        rx.await.map_err(|_| StoreError::backend("a read failed without an answer (the job panicked)"))?
    }
}

impl Readers {
    /// Opens `size` read-only connections, each on its own thread.
    fn start(path: &Path, size: usize) -> StoreResult<Self> {
        let (jobs, queue) = crossbeam_channel::unbounded::<ReadJob>();
        let counts = Arc::new(ReaderCounts::default());
        for i in 0..size {
            let conn = open_connection(path, true)?;
            let (queue, counts) = (queue.clone(), Arc::clone(&counts));
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || reader_loop(conn, &queue, &counts))
                .map_err(StoreError::backend)?;
        }
        Ok(Self { jobs, size, counts })
    }

    fn send(&self, job: ReadJob) -> StoreResult<()> {
        self.counts.queued.fetch_add(1, Ordering::Relaxed);
        self.jobs.send(job).map_err(|_| {
            self.counts.queued.fetch_sub(1, Ordering::Relaxed);
            StoreError::backend("the reader threads have stopped")
        })
    }
}

/// A reader thread: runs jobs on its connection until the queue closes.
fn reader_loop(conn: Connection, queue: &crossbeam_channel::Receiver<ReadJob>, counts: &ReaderCounts) {
    let conn = Mutex::new(conn);
    while let Ok(job) = queue.recv() {
        counts.queued.fetch_sub(1, Ordering::Relaxed);
        counts.busy.fetch_add(1, Ordering::Relaxed);
        // The caller's answer channel is dropped while unwinding, so it hears of the panic.
        let panicked = catch_unwind(AssertUnwindSafe(|| job(&conn))).is_err();
        counts.busy.fetch_sub(1, Ordering::Relaxed);
        if panicked {
            recover_reader(&conn);
        }
    }
}

/// Makes a connection usable again after a job panicked on it: the lock's
/// poison cleared, and a read transaction the job left open ended.
fn recover_reader(conn: &Mutex<Connection>) {
    conn.clear_poison();
    if let Ok(conn) = conn.lock()
        && !conn.is_autocommit()
        && let Err(error) = conn.execute_batch("ROLLBACK")
    {
        tracing::error!(%error, "a reader could not end the transaction a panicking job left open");
    }
}

fn open_connection(path: &Path, read_only: bool) -> StoreResult<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(StoreError::backend)?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS)).map_err(StoreError::backend)?;
    let pragmas = if read_only {
        "PRAGMA foreign_keys = ON; PRAGMA query_only = ON; PRAGMA cache_size = -16000;"
    } else {
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000;"
    };
    conn.execute_batch(pragmas).map_err(StoreError::backend)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

/// Locks a connection's mutex (only ever contended by nobody: one thread
/// owns each connection while a job runs).
pub(crate) fn lock(conn: &Mutex<Connection>) -> StoreResult<std::sync::MutexGuard<'_, Connection>> {
    conn.lock().map_err(|_| StoreError::backend("SQLite connection poisoned"))
}

fn batch(conn: &Mutex<Connection>, sql: &str) -> StoreResult<()> {
    lock(conn)?.execute_batch(sql).map_err(StoreError::backend)
}

fn in_savepoint<T>(conn: &Mutex<Connection>, f: impl FnOnce(&Mutex<Connection>) -> StoreResult<T>) -> StoreResult<T> {
    batch(conn, "SAVEPOINT job")?;
    let result = f(conn);
    let end = if result.is_ok() { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
    batch(conn, end).and(result)
}

fn writer_loop(conn: Connection, jobs: mpsc::Receiver<Job>, stats: &WriterStats) {
    let conn = Mutex::new(conn);
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        stats.batch_taken(batch.len());
        run_batch(&conn, batch);
    }
}

fn run_batch(conn: &Mutex<Connection>, jobs: Vec<Job>) {
    if let Err(error) = batch(conn, "BEGIN IMMEDIATE") {
        // Dropping the jobs unrun tells each caller its write failed.
        tracing::error!(%error, jobs = jobs.len(), "could not begin a write transaction");
        return;
    }
    let finishers: Vec<Finish> = jobs.into_iter().map(|job| job(conn)).collect();
    let commit = batch(conn, "COMMIT");
    if commit.is_err() {
        let _ = batch(conn, "ROLLBACK");
    }
    for finish in finishers {
        finish(commit.clone());
    }
}
