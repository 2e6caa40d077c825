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

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use mashangban_domain::monitoring::{MAX_READINGS_PER_BATCH, NewReading, ReadingKind, check_reading_time};
use mashangban_domain::time::in_shanghai;
use mashangban_hj212::answer::{data_answer, request_answer};
use mashangban_hj212::{DataKind, Frame, FrameReader, Packet, RequestReturn};
use mashangban_store::{MonitoringDevice, Store};

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
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            read_timeout: Duration::from_secs(300),
            max_data_len: mashangban_hj212::frame::MAX_DATA_LEN,
            batch_window: Duration::from_millis(5),
            max_connections: 10_000,
        }
    }
}

/// Counters of one device (by MN) or, before any device is known on a
/// connection, of the peer address (`peer:1.2.3.4:5678`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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

/// The counters of a running receiver, shared with whoever shows them.
#[derive(Debug, Clone, Default)]
pub struct ReceiverStats(Arc<Mutex<BTreeMap<String, DeviceCounters>>>);

impl ReceiverStats {
    fn bump(&self, key: &str, f: impl FnOnce(&mut DeviceCounters)) {
        if let Ok(mut map) = self.0.lock() {
            f(map.entry(key.to_owned()).or_default());
        }
    }

    /// A snapshot of every counter.
    pub fn snapshot(&self) -> BTreeMap<String, DeviceCounters> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The counters of one device (MN).
    pub fn device(&self, mn: &str) -> DeviceCounters {
        self.0.lock().ok().and_then(|m| m.get(mn).copied()).unwrap_or_default()
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
    loop {
        tokio::select! {
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
        self.device.clone().unwrap_or_else(|| format!("peer:{}", self.peer))
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
            self.stats.bump(&packet.mn, |c| c.unknown_device += 1);
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
