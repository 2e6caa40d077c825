//! HJ 212-2017 (污染物在线监控（监测）系统数据传输标准), the protocol that online
//! monitoring devices speak over TCP, as pure functions and types: no sockets,
//! no tokio, no clock. The TCP receiver, storage and pages stand on this crate.
//!
//! A communication packet (通讯包) is `##` + four decimal digits giving the
//! length of the data segment + the data segment + four hex digits of CRC16
//! over the data segment + CR LF:
//!
//! ```text
//! ##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n
//! ```
//!
//! - [`crc16`]: the checksum of the standard's Appendix A.
//! - [`frame`]: one frame in and out ([`encode_frame`], [`decode_frame`]) and
//!   the streaming [`FrameReader`] for a TCP receiver.
//! - [`packet`]: the data segment as a typed [`Packet`] (QN, ST, CN, PW, MN,
//!   Flag, PNUM/PNO and the CP data area), parsed and built.
//! - [`cp`]: the CP data area: `DataTime`, per-pollutant values
//!   (`-Rtd/-Avg/-Min/-Max/-Cou/-Flag/…`) and data flags.
//! - [`answer`]: the replies the standard asks for (9011, 9012, 9013, 9014).
//! - [`Error`]: every refusal, with a stable code and a Chinese message.
//!
//! Every parser is bounded (a data segment is at most 9999 bytes, as the
//! four-digit length allows) and refuses bad input with an [`Error`]; none
//! panics.

pub mod answer;
pub mod cp;
mod crc;
pub mod error;
pub mod frame;
pub mod packet;
pub mod time;

pub use answer::{ExecutionResult, RequestReturn, answer_for};
pub use cp::{Cp, DataFlag, Pollutant};
pub use crc::crc16;
pub use error::Error;
pub use frame::{Frame, FrameReader, decode_frame, encode_frame};
pub use packet::{Command, DataKind, Packet, PacketFlag, Readings, Split, SystemCode};
pub use time::{Qn, Time};
