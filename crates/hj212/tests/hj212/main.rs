//! The HJ 212 protocol, in one test binary.

mod packets;
mod stream;
