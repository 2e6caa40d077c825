//! The answers HJ 212-2017 asks for (§6.3 and Appendix C): a data answer
//! (9014) to an upload whose flag asks for one, a notification answer (9013)
//! to a notification, and a request answer (9011) followed by an execution
//! result (9012) to a request. Answers use ST=91 (系统交互), echo the QN, PW
//! and MN of what they answer, and ask for no answer themselves.

use crate::cp::Cp;
use crate::packet::{Command, Packet, PacketFlag, SystemCode};

/// The request return codes (请求命令返回, table 7) carried as `QnRtn` in 9011.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestReturn {
    /// 1 ready to execute (准备执行请求).
    Ready,
    /// 2 refused (请求被拒绝).
    Refused,
    /// 3 wrong password (PW 错误).
    BadPassword,
    /// 4 wrong device identifier (MN 错误).
    BadMn,
    /// 5 wrong system code (ST 错误).
    BadSt,
    /// 6 wrong flag (Flag 错误).
    BadFlag,
    /// 7 wrong request number (QN 错误).
    BadQn,
    /// 8 wrong command code (CN 错误).
    BadCn,
    /// 9 CRC check failed (CRC 校验错误).
    BadCrc,
    /// 100 unknown error (未知错误).
    Unknown,
    /// A code from an extension of the table.
    Other(u16),
}

impl RequestReturn {
    /// The numeric code.
    pub fn code(self) -> u16 {
        match self {
            RequestReturn::Ready => 1,
            RequestReturn::Refused => 2,
            RequestReturn::BadPassword => 3,
            RequestReturn::BadMn => 4,
            RequestReturn::BadSt => 5,
            RequestReturn::BadFlag => 6,
            RequestReturn::BadQn => 7,
            RequestReturn::BadCn => 8,
            RequestReturn::BadCrc => 9,
            RequestReturn::Unknown => 100,
            RequestReturn::Other(code) => code,
        }
    }

    /// The return for a numeric code.
    pub fn from_code(code: u16) -> Self {
        match code {
            1 => RequestReturn::Ready,
            2 => RequestReturn::Refused,
            3 => RequestReturn::BadPassword,
            4 => RequestReturn::BadMn,
            5 => RequestReturn::BadSt,
            6 => RequestReturn::BadFlag,
            7 => RequestReturn::BadQn,
            8 => RequestReturn::BadCn,
            9 => RequestReturn::BadCrc,
            100 => RequestReturn::Unknown,
            other => RequestReturn::Other(other),
        }
    }
}

/// The execution results (执行结果, table 6) carried as `ExeRtn` in 9012.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecutionResult {
    /// 1 success (执行成功).
    Success,
    /// 2 failed for an unknown reason (执行失败，但不知道原因).
    Failed,
    /// 3 the request's conditions were wrong (命令请求条件错误).
    BadCondition,
    /// 4 communication timed out (通讯超时).
    Timeout,
    /// 5 system busy (系统繁忙不能执行).
    Busy,
    /// 6 system fault (系统故障).
    SystemFault,
    /// 100 no data (没有数据).
    NoData,
    /// A code from an extension of the table.
    Other(u16),
}

impl ExecutionResult {
    /// The numeric code.
    pub fn code(self) -> u16 {
        match self {
            ExecutionResult::Success => 1,
            ExecutionResult::Failed => 2,
            ExecutionResult::BadCondition => 3,
            ExecutionResult::Timeout => 4,
            ExecutionResult::Busy => 5,
            ExecutionResult::SystemFault => 6,
            ExecutionResult::NoData => 100,
            ExecutionResult::Other(code) => code,
        }
    }

    /// The result for a numeric code.
    pub fn from_code(code: u16) -> Self {
        match code {
            1 => ExecutionResult::Success,
            2 => ExecutionResult::Failed,
            3 => ExecutionResult::BadCondition,
            4 => ExecutionResult::Timeout,
            5 => ExecutionResult::Busy,
            6 => ExecutionResult::SystemFault,
            100 => ExecutionResult::NoData,
            other => ExecutionResult::Other(other),
        }
    }
}

/// An answer skeleton to `to`: ST=91, same QN, PW and MN, the version of `to`'s
/// flag (HJ 212-2017 when it had none) with neither the answer nor split bit.
fn reply(to: &Packet, cn: Command) -> Packet {
    let version = to.flag.map_or(PacketFlag::VERSION_2017, PacketFlag::version);
    Packet {
        qn: to.qn.clone(),
        st: SystemCode::SYSTEM_INTERACTION,
        cn,
        pw: to.pw.clone(),
        mn: to.mn.clone(),
        flag: Some(PacketFlag::new(version, false, false)),
        split: None,
        cp: Cp::default(),
    }
}

/// 9014 data answer (数据应答) to an upload: `CP=&&&&`.
pub fn data_answer(to: &Packet) -> Packet {
    reply(to, Command::DataAnswer)
}

/// 9013 notification answer (通知应答) to a notification: `CP=&&&&`.
pub fn notification_answer(to: &Packet) -> Packet {
    reply(to, Command::NotificationAnswer)
}

/// 9011 request answer (请求应答) to a request, with `QnRtn`.
pub fn request_answer(to: &Packet, result: RequestReturn) -> Packet {
    let mut packet = reply(to, Command::RequestAnswer);
    packet.cp.params.push(("QnRtn".to_owned(), result.code().to_string()));
    packet
}

/// 9012 execution result (执行结果) of a request, with `ExeRtn`.
pub fn execution_result(to: &Packet, result: ExecutionResult) -> Packet {
    let mut packet = reply(to, Command::ExecutionResult);
    packet.cp.params.push(("ExeRtn".to_owned(), result.code().to_string()));
    packet
}

/// What the platform sends back when it receives `packet` from a device, if
/// anything: nothing unless the flag's answer bit is set; then a data answer
/// (9014) to uploads (2011, 2021, 2031, 2041, 2051, 2061, 2081, and the
/// device's 1011 time upload), a notification answer (9013) to the device's
/// time calibration request (1013), and nothing to answers or to commands a
/// device does not send. A receiver refuses bad passwords itself, with
/// [`request_answer`] and [`RequestReturn::BadPassword`] where it wants to
/// tell the device.
pub fn answer_for(packet: &Packet) -> Option<Packet> {
    if !packet.needs_answer() {
        return None;
    }
    match packet.cn {
        Command::RealTimeData
        | Command::RunningState
        | Command::DayData
        | Command::DayRunningTime
        | Command::MinuteData
        | Command::HourData
        | Command::PowerOnTime
        | Command::GetTime => Some(data_answer(packet)),
        Command::TimeCalibrationRequest => Some(notification_answer(packet)),
        _ => None,
    }
}

/// `QnRtn` of a 9011 answer, if present and numeric.
pub fn request_return_of(packet: &Packet) -> Option<RequestReturn> {
    packet.cp.param("QnRtn").and_then(|v| v.parse::<u16>().ok()).map(RequestReturn::from_code)
}

/// `ExeRtn` of a 9012 answer, if present and numeric.
pub fn execution_result_of(packet: &Packet) -> Option<ExecutionResult> {
    packet.cp.param("ExeRtn").and_then(|v| v.parse::<u16>().ok()).map(ExecutionResult::from_code)
}
