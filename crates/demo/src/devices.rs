//! The device simulator (`mashangban demo devices`): N simulated data loggers,
//! one TCP connection each, sending HJ 212 minute data (CN 2051, answer asked)
//! for the demo park's devices, with occasional COD exceedances and faulty
//! data, and counting the platform's answers.

use std::time::Duration;

use chrono::DurationRound;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use mashangban_hj212::{Command, Cp, DataFlag, FrameReader, Packet, PacketFlag, Pollutant, Qn, SystemCode};

use crate::DemoError;
use crate::monitoring::{DEMO_DEVICE_PASSWORD, demo_mn};

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct DeviceRun {
    /// The receiver, `HOST:PORT`.
    pub addr: String,
    /// Devices `1..=count` of the demo park.
    pub count: usize,
    /// Between two packets of one device.
    pub interval: Duration,
    /// Packets per device; `None` runs until stopped.
    pub rounds: Option<u64>,
    /// Chance of a COD value over the grade-2 limit per packet.
    pub exceedance_chance: f64,
    /// Chance of a packet flagged as a device fault (`D`).
    pub fault_chance: f64,
}

/// What the devices sent and heard back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceTally {
    pub sent: u64,
    /// 9014 data answers received.
    pub answered: u64,
    pub exceedances: u64,
    pub faults: u64,
}

/// Runs every device until its rounds are done (or forever); the sum of their tallies.
pub async fn run_devices(run: DeviceRun) -> Result<DeviceTally, DemoError> {
    let mut tasks = Vec::new();
    for n in 1..=run.count {
        tasks.push(tokio::spawn(one_device(run.clone(), n)));
    }
    let mut total = DeviceTally::default();
    for task in tasks {
        let tally = task.await.map_err(|e| DemoError(e.to_string()))??;
        total.sent += tally.sent;
        total.answered += tally.answered;
        total.exceedances += tally.exceedances;
        total.faults += tally.faults;
    }
    Ok(total)
}

async fn one_device(run: DeviceRun, n: usize) -> Result<DeviceTally, DemoError> {
    let mut stream =
        TcpStream::connect(&run.addr).await.map_err(|e| DemoError(format!("无法连接 {}：{e}", run.addr)))?;
    let mut rng = StdRng::seed_from_u64(n as u64);
    let mut tally = DeviceTally::default();
    let mut reader = FrameReader::new();
    let mut round = 0u64;
    let start = mashangban_domain::time::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .map_err(|e| DemoError(e.to_string()))?;
    while run.rounds.is_none_or(|r| round < r) {
        let exceed = rng.gen_bool(run.exceedance_chance.clamp(0.0, 1.0));
        let fault = rng.gen_bool(run.fault_chance.clamp(0.0, 1.0));
        // A fixed number of rounds is the minutes ending at the start, one each, so fast rounds never
        // collide; an open-ended run sends the current minute (a repeat within a minute is a duplicate).
        let minute = match run.rounds {
            Some(rounds) => start - chrono::Duration::minutes(i64::try_from(rounds - 1 - round).unwrap_or(0)),
            None => mashangban_domain::time::now()
                .duration_trunc(chrono::Duration::minutes(1))
                .map_err(|e| DemoError(e.to_string()))?,
        };
        let frame = minute_packet(&demo_mn(n), minute, exceed, fault, &mut rng)?;
        stream.write_all(&frame).await.map_err(|e| DemoError(e.to_string()))?;
        tally.sent += 1;
        tally.exceedances += u64::from(exceed && !fault);
        tally.faults += u64::from(fault);
        if answered(&mut stream, &mut reader).await {
            tally.answered += 1;
        }
        round += 1;
        tokio::time::sleep(run.interval).await;
    }
    Ok(tally)
}

/// Waits up to five seconds for a 9014 answer.
pub async fn answered(stream: &mut TcpStream, reader: &mut FrameReader) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let Ok(Ok(n)) = tokio::time::timeout_at(deadline, stream.read(&mut buf)).await else { return false };
        if n == 0 {
            return false;
        }
        for frame in reader.feed(buf.get(..n).unwrap_or_default()).into_iter().flatten() {
            if frame.packet().is_ok_and(|p| p.cn == Command::DataAnswer) {
                return true;
            }
        }
    }
}

/// A minute-data packet (CN 2051, answer asked) of device `mn` for `minute`: COD, ammonia nitrogen,
/// pH and dissolved oxygen, COD over the grade-2 limit when `exceed`, every value flagged `D` when `fault`.
pub fn minute_packet(
    mn: &str,
    minute: mashangban_domain::time::Instant,
    exceed: bool,
    fault: bool,
    rng: &mut StdRng,
) -> Result<Vec<u8>, DemoError> {
    let now = mashangban_domain::time::now();
    let mut packet = Packet::new(SystemCode::WATER_POLLUTION_SOURCE, Command::MinuteData, DEMO_DEVICE_PASSWORD, mn);
    packet.qn = Some(Qn::from_time(&now));
    packet.flag = Some(PacketFlag::new(PacketFlag::VERSION_2017, true, false));
    let cod = if exceed { rng.gen_range(170.0..260.0) } else { rng.gen_range(40.0..80.0) };
    let values = [
        ("w01018", cod),
        ("w21003", rng.gen_range(3.0..7.0)),
        ("w01001", rng.gen_range(6.8..7.6)),
        ("w01009", rng.gen_range(5.0..7.0)),
    ];
    let pollutants = values
        .into_iter()
        .map(|(code, value)| {
            let mut p = Pollutant::new(code);
            let value = (value * 100.0_f64).round() / 100.0;
            p.avg = Some(value);
            p.min = Some(value * 0.95);
            p.max = Some(value * 1.05);
            p.flag = Some(if fault { DataFlag::Fault } else { DataFlag::Normal });
            p
        })
        .collect();
    packet.cp = Cp { data_time: Some(minute), pollutants, params: vec![] };
    packet.to_frame().map_err(|e| DemoError(e.message()))
}
