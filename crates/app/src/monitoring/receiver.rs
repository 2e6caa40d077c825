//! The HJ 212-2017 TCP receiver (数据采集传输仪接入): one task per connection,
//! each with a [`FrameReader`] bounded to one frame and a read timeout, so a
//! slow, silent or half-sent connection holds only its own task and buffer.
//!
//! Per packet: a bad CRC, a malformed frame or packet, an unknown MN or a
//! wrong password is refused and logged, counted per device (or per
//! connection while no device is known), and nothing is stored. Data
//! uploads (2011 real-time, 2051 minute, 2061 hour, 2031 day) become
//! readings of the device's point, checked against its limits; the readings
//! of all connections are grouped for a few milliseconds into one insert
//! (one transaction) by a single writer task. An upload whose flag asks for
//! an answer is answered with 9014 only once its readings are stored; a
//! wrong password is answered with 9011 `QnRtn=3` when an answer is asked.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use mashangban_domain::monitoring::{MAX_READINGS_PER_BATCH, NewReading, ReadingKind, check_reading_time};
use mashangban_domain::time::in_shanghai;
use mashangban_hj212::answer::{data_answer, request_answer};
use mashangban_hj212::{DataKind, Frame, FrameReader, Packet, RequestReturn};
use mashangban_store::{MonitoringDevice, ReceiverCount, Store};

use mashangban_domain::monitoring::device_password_hash;

use super::new_reading;
use crate::App;

/// How the receiver runs.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// A connection silent for this long is closed (a half-sent frame is dropped with it).
    pub read_timeout: Duration,
    /// The longest data segment accepted (at most HJ 212's 9999).
    pub max_data_len: usize,
    /// How long the writer waits for more packets before inserting a group.
    pub batch_window: Duration,
    /// Connections served at once; more are closed on arrival.
    pub max_connections: usize,
    /// How often the counters are added to the database's (one transaction each time).
    pub flush_every: Duration,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            read_timeout: Duration::from_secs(300),
            max_data_len: mashangban_hj212::frame::MAX_DATA_LEN,
            batch_window: Duration::from_millis(5),
            max_connections: 10_000,
            flush_every: Duration::from_secs(10),
        }
    }
}

/// Counters of one device (by MN) or of a peer address (`peer:1.2.3.4`): packets of unknown
/// devices, and frames on a connection before any device is known on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DeviceCounters {
    /// Data packets whose readings were stored (a duplicate's readings are ignored by the store).
    pub stored_packets: u64,
    /// Readings of those packets, duplicates included.
    pub readings_received: u64,
    /// Frames refused before parsing: bad CRC, length, tail or garbage.
    pub bad_frames: u64,
    /// Frames whose data segment is not a valid packet.
    pub bad_packets: u64,
    pub unknown_device: u64,
    pub wrong_password: u64,
    /// Data times too far in the future or past.
    pub bad_time: u64,
    /// Readings the store could not write (the device will resend).
    pub store_failures: u64,
}

impl DeviceCounters {
    /// Every counter by its stored name.
    pub fn entries(&self) -> [(&'static str, u64); 8] {
        [
            ("stored_packets", self.stored_packets),
            ("readings_received", self.readings_received),
            ("bad_frames", self.bad_frames),
            ("bad_packets", self.bad_packets),
            ("unknown_device", self.unknown_device),
            ("wrong_password", self.wrong_password),
            ("bad_time", self.bad_time),
            ("store_failures", self.store_failures),
        ]
    }

    /// Adds `n` to the counter of that stored name (an unknown name is ignored).
    pub fn add(&mut self, counter: &str, n: u64) {
        let field = match counter {
            "stored_packets" => &mut self.stored_packets,
            "readings_received" => &mut self.readings_received,
            "bad_frames" => &mut self.bad_frames,
            "bad_packets" => &mut self.bad_packets,
            "unknown_device" => &mut self.unknown_device,
            "wrong_password" => &mut self.wrong_password,
            "bad_time" => &mut self.bad_time,
            "store_failures" => &mut self.store_failures,
            _ => return,
        };
        *field = field.saturating_add(n);
    }

    fn merge(&mut self, other: &DeviceCounters) {
        for (name, n) in other.entries() {
            self.add(name, n);
        }
    }

    /// All refusals: bad frames and packets, unknown device, wrong password, bad times, store failures.
    pub fn refused(&self) -> u64 {
        self.bad_frames
            + self.bad_packets
            + self.unknown_device
            + self.wrong_password
            + self.bad_time
            + self.store_failures
    }
}

/// Peer-address sources one node counts between two flushes at most; the
/// counts of further addresses go to [`OTHER_PEERS`]. Device sources are
/// bounded by the devices known (a device is counted by MN only once found).
pub const MAX_PEER_SOURCES: usize = 1024;
/// Where the counts of peers beyond [`MAX_PEER_SOURCES`] go.
pub const OTHER_PEERS: &str = "peer:*";

#[derive(Debug, Default)]
struct Counts {
    /// Since this receiver started (this node only).
    since_start: BTreeMap<String, DeviceCounters>,
    /// Peer sources in `since_start`.
    start_peers: usize,
    /// Not yet added to the durable counts.
    pending: BTreeMap<String, DeviceCounters>,
    /// Peer sources in `pending`.
    pending_peers: usize,
}

/// The counters of `key` in `map`, unless it is a new peer beyond the bound: then [`OTHER_PEERS`].
fn entry<'a>(map: &'a mut BTreeMap<String, DeviceCounters>, peers: &mut usize, key: &str) -> &'a mut DeviceCounters {
    let key = if !key.starts_with("peer:") || key == OTHER_PEERS || map.contains_key(key) {
        key
    } else if *peers >= MAX_PEER_SOURCES {
        OTHER_PEERS
    } else {
        *peers += 1;
        key
    };
    map.entry(key.to_owned()).or_default()
}

/// The counters of a running receiver: this node's since it started, and
/// those not yet written to the database, which the receiver adds to the
/// durable, cluster-wide counts in batches ([`ReceiverConfig::flush_every`]).
#[derive(Debug, Clone, Default)]
pub struct ReceiverStats(Arc<Mutex<Counts>>);

impl ReceiverStats {
    fn bump(&self, key: &str, f: impl Fn(&mut DeviceCounters)) {
        if let Ok(mut counts) = self.0.lock() {
            let counts = &mut *counts;
            f(entry(&mut counts.pending, &mut counts.pending_peers, key));
            f(entry(&mut counts.since_start, &mut counts.start_peers, key));
        }
    }

    /// A snapshot of this node's counters since the receiver started.
    pub fn snapshot(&self) -> BTreeMap<String, DeviceCounters> {
        self.0.lock().map(|c| c.since_start.clone()).unwrap_or_default()
    }

    /// This node's counters of one source (an MN or `peer:<ip>`) since the receiver started.
    pub fn device(&self, source: &str) -> DeviceCounters {
        self.0.lock().ok().and_then(|c| c.since_start.get(source).copied()).unwrap_or_default()
    }

    /// Sources with counts not yet written.
    pub fn pending_sources(&self) -> usize {
        self.0.lock().map(|c| c.pending.len()).unwrap_or(0)
    }

    /// Takes the counts not yet written.
    fn take_pending(&self) -> BTreeMap<String, DeviceCounters> {
        match self.0.lock() {
            Ok(mut c) => {
                c.pending_peers = 0;
                std::mem::take(&mut c.pending)
            }
            Err(_) => BTreeMap::new(),
        }
    }

    /// Puts back counts a failed write took (within the same bounds).
    fn restore(&self, taken: BTreeMap<String, DeviceCounters>) {
        if let Ok(mut counts) = self.0.lock() {
            let counts = &mut *counts;
            for (key, n) in taken {
                entry(&mut counts.pending, &mut counts.pending_peers, &key).merge(&n);
            }
        }
    }

    /// Adds the counts not yet written to the database's, in one
    /// transaction under the current hour; on failure they wait for the next flush.
    pub async fn flush<S: Store>(&self, app: &App<S>) -> bool {
        let pending = self.take_pending();
        if pending.is_empty() {
            return true;
        }
        let bucket = mashangban_domain::monitoring::hour_key(&app.now());
        let rows: Vec<ReceiverCount> = pending
            .iter()
            .flat_map(|(source, c)| {
                c.entries().into_iter().filter(|(_, n)| *n > 0).map(|(counter, n)| ReceiverCount {
                    source: source.clone(),
                    bucket: bucket.clone(),
                    counter: counter.to_owned(),
                    count: i64::try_from(n).unwrap_or(i64::MAX),
                })
            })
            .collect();
        match app.store().add_receiver_counts(rows).await {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, "hj212: could not write the receiver counts; kept for the next flush");
                self.restore(pending);
                false
            }
        }
    }
}

/// Readings of one packet waiting for the writer, and where to say they are stored.
type Job = (Vec<NewReading>, oneshot::Sender<bool>);

/// Runs the receiver on `listener` until `stop` turns true.
pub async fn run<S: Store>(
    app: App<S>,
    listener: TcpListener,
    config: ReceiverConfig,
    stats: ReceiverStats,
    mut stop: watch::Receiver<bool>,
) {
    let (jobs, queue) = mpsc::channel::<Job>(4096);
    let writer = tokio::spawn(write_batches(app.clone(), queue, config.batch_window));
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut flush = tokio::time::interval(config.flush_every);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = flush.tick() => {
                stats.flush(&app).await;
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        tracing::warn!(%peer, "hj212: too many connections; closed");
                        continue;
                    };
                    let connection = Connection {
                        app: app.clone(),
                        config: config.clone(),
                        stats: stats.clone(),
                        jobs: jobs.clone(),
                        peer,
                        device: None,
                    };
                    tokio::spawn(async move {
                        connection.serve(socket).await;
                        drop(slot);
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "hj212: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    drop(jobs);
    let _ = writer.await;
    stats.flush(&app).await;
}

/// The single writer: takes the first waiting packet, gathers what else
/// arrives within the window (up to one batch), stores it all in one
/// transaction and tells each connection.
async fn write_batches<S: Store>(app: App<S>, mut queue: mpsc::Receiver<Job>, window: Duration) {
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        let mut count = group[0].0.len();
        let deadline = tokio::time::Instant::now() + window;
        while count < MAX_READINGS_PER_BATCH {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(job)) => {
                    count += job.0.len();
                    group.push(job);
                }
                _ => break,
            }
        }
        let (readings, replies): (Vec<Vec<NewReading>>, Vec<oneshot::Sender<bool>>) = group.into_iter().unzip();
        let stored = app.monitoring().store_readings(readings.into_iter().flatten().collect()).await;
        if let Err(error) = &stored {
            tracing::error!(code = error.code, message = %error.message, "hj212: could not store readings");
        }
        for reply in replies {
            let _ = reply.send(stored.is_ok());
        }
    }
}

struct Connection<S> {
    app: App<S>,
    config: ReceiverConfig,
    stats: ReceiverStats,
    jobs: mpsc::Sender<Job>,
    peer: SocketAddr,
    /// The last device identified on this connection, whose counters take refusals of unparsed frames.
    device: Option<String>,
}

impl<S: Store> Connection<S> {
    async fn serve(mut self, mut socket: TcpStream) {
        let mut reader = FrameReader::with_max_data_len(self.config.max_data_len);
        let mut buffer = vec![0u8; 4096];
        loop {
            let read = tokio::time::timeout(self.config.read_timeout, socket.read(&mut buffer)).await;
            let n = match read {
                Err(_) => {
                    tracing::info!(peer = %self.peer, buffered = reader.buffered(), "hj212: connection idle; closed");
                    break;
                }
                Ok(Err(error)) => {
                    tracing::info!(peer = %self.peer, %error, "hj212: read failed; closed");
                    break;
                }
                Ok(Ok(0)) => break,
                Ok(Ok(n)) => n,
            };
            for frame in reader.feed(buffer.get(..n).unwrap_or_default()) {
                let answer = match frame {
                    Ok(frame) => self.packet(&frame).await,
                    Err(error) => {
                        self.refuse_frame(&error);
                        None
                    }
                };
                if let Some(bytes) = answer
                    && socket.write_all(&bytes).await.is_err()
                {
                    return;
                }
            }
        }
        for error in reader.finish() {
            self.refuse_frame(&error);
        }
    }

    fn counter_key(&self) -> String {
        self.device.clone().unwrap_or_else(|| self.peer_key())
    }

    /// Counted by address, not port: a reconnecting device is one source.
    fn peer_key(&self) -> String {
        format!("peer:{}", self.peer.ip())
    }

    fn refuse_frame(&self, error: &mashangban_hj212::Error) {
        tracing::warn!(peer = %self.peer, device = ?self.device, code = error.code(), message = %error.message(), "hj212: frame refused");
        self.stats.bump(&self.counter_key(), |c| c.bad_frames += 1);
    }

    /// Handles one checked frame; the bytes to answer with, if any.
    async fn packet(&mut self, frame: &Frame) -> Option<Vec<u8>> {
        let packet = match frame.packet() {
            Ok(p) => p,
            Err(error) => {
                tracing::warn!(peer = %self.peer, code = error.code(), message = %error.message(), "hj212: packet refused");
                self.stats.bump(&self.counter_key(), |c| c.bad_packets += 1);
                return None;
            }
        };
        let device = match self.authenticate(&packet).await {
            Ok(device) => device,
            Err(answer) => return answer,
        };
        self.device = Some(packet.mn.clone());
        let Some(kind) = packet.cn.data_kind() else {
            return mashangban_hj212::answer_for(&packet).and_then(|a| a.to_frame().ok());
        };
        let readings = match self.readings(&device, &packet, kind) {
            Ok(r) => r,
            Err(reason) => {
                tracing::warn!(peer = %self.peer, mn = %packet.mn, %reason, "hj212: data refused");
                return None;
            }
        };
        let count = readings.len() as u64;
        let (reply, stored) = oneshot::channel();
        if self.jobs.send((readings, reply)).await.is_err() || !stored.await.unwrap_or(false) {
            self.stats.bump(&packet.mn, |c| c.store_failures += 1);
            return None;
        }
        self.stats.bump(&packet.mn, |c| {
            c.stored_packets += 1;
            c.readings_received += count;
        });
        packet.needs_answer().then(|| data_answer(&packet).to_frame().ok()).flatten()
    }

    /// The packet's device when its MN is known and its password right;
    /// otherwise logged and counted (and a wrong password answered when asked).
    async fn authenticate(&self, packet: &Packet) -> Result<MonitoringDevice, Option<Vec<u8>>> {
        let found = match self.app.store().monitoring_device(&packet.mn).await {
            Ok(found) => found,
            Err(error) => {
                tracing::error!(%error, "hj212: could not look the device up");
                return Err(None);
            }
        };
        let Some(device) = found else {
            tracing::warn!(peer = %self.peer, mn = %packet.mn, "hj212: unknown device; refused");
            // By address: made-up MNs must not grow the counters without bound.
            self.stats.bump(&self.peer_key(), |c| c.unknown_device += 1);
            return Err(None);
        };
        if device_password_hash(&packet.mn, &packet.pw) != device.password_hash {
            tracing::warn!(peer = %self.peer, mn = %packet.mn, "hj212: wrong password; refused");
            self.stats.bump(&packet.mn, |c| c.wrong_password += 1);
            return Err(wrong_password_answer(packet));
        }
        Ok(device)
    }

    /// The readings of a data upload: the point's parameters only, `-Rtd`
    /// for real-time data and `-Avg` otherwise. A data time out of bounds
    /// refuses the packet.
    fn readings(&self, device: &MonitoringDevice, packet: &Packet, kind: DataKind) -> Result<Vec<NewReading>, String> {
        let data = packet.readings().map_err(|e| e.message())?;
        let data_time = in_shanghai(&data.data_time);
        if let Err(e) = check_reading_time(&data_time, &self.app.now()) {
            self.stats.bump(&packet.mn, |c| c.bad_time += 1);
            return Err(e.message);
        }
        let kind = reading_kind(kind);
        let point = &device.point;
        let mut out = Vec::new();
        for p in data.pollutants.iter().filter(|p| point.parameters.iter().any(|m| m.code == p.code)) {
            let value = if kind == ReadingKind::RealTime { p.rtd } else { p.avg.or(p.rtd) };
            let Some(value) = value else { continue };
            let flag = p.flag.map(|f| f.letter().to_string());
            let reading =
                new_reading(point, kind, data_time, &p.code, (value, p.min, p.max), flag).map_err(|e| e.message)?;
            out.push(reading);
        }
        Ok(out)
    }
}

fn reading_kind(kind: DataKind) -> ReadingKind {
    match kind {
        DataKind::RealTime => ReadingKind::RealTime,
        DataKind::Minute => ReadingKind::Minute,
        DataKind::Hour => ReadingKind::Hour,
        DataKind::Day => ReadingKind::Day,
    }
}

/// The answer refusing a wrong password (9011, `QnRtn=3`), when the packet asks for one.
pub fn wrong_password_answer(packet: &Packet) -> Option<Vec<u8>> {
    packet.needs_answer().then(|| request_answer(packet, RequestReturn::BadPassword).to_frame().ok()).flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn peer_sources_are_bounded_and_device_counts_kept_apart() {
        let stats = ReceiverStats::default();
        for n in 0..MAX_PEER_SOURCES + 50 {
            stats.bump(&format!("peer:10.0.{}.{}", n / 256, n % 256), |c| c.unknown_device += 1);
        }
        stats.bump("MN0001", |c| c.bad_frames += 1);
        stats.bump("peer:10.0.0.1", |c| c.bad_frames += 1);
        assert_eq!(stats.pending_sources(), MAX_PEER_SOURCES + 2, "the peers, the overflow and the device");
        assert_eq!(stats.device(OTHER_PEERS).unknown_device, 50);
        assert_eq!(
            stats.device("peer:10.0.0.1"),
            DeviceCounters { unknown_device: 1, bad_frames: 1, ..Default::default() }
        );
        assert_eq!(stats.device("MN0001").refused(), 1);

        // Taken for a write: the next batch starts empty; a failed write puts them back.
        let taken = stats.take_pending();
        assert_eq!((taken.len(), stats.pending_sources()), (MAX_PEER_SOURCES + 2, 0));
        stats.bump("peer:192.168.1.1", |c| c.bad_frames += 1);
        stats.restore(taken);
        assert_eq!(stats.pending_sources(), MAX_PEER_SOURCES + 2, "one more peer goes to the overflow");
        let pending = stats.take_pending();
        assert_eq!(pending.get(OTHER_PEERS).map(|c| c.unknown_device + c.bad_frames), Some(51));
        assert_eq!(stats.snapshot().len(), MAX_PEER_SOURCES + 2, "since-start counts are bounded the same way");
    }

    #[test]
    fn counters_go_by_their_stored_names() {
        let mut c = DeviceCounters::default();
        for (name, _) in DeviceCounters::default().entries() {
            c.add(name, 2);
        }
        c.add("no_such_counter", 5);
        assert!(c.entries().iter().all(|(_, n)| *n == 2), "{c:?}");
        assert_eq!(c.refused(), 12);
    }
}
