//! Framing: `##` + 4-digit decimal length + data segment + 4 hex digits of
//! CRC16 + CR LF, one frame at a time ([`encode_frame`], [`decode_frame`]) or
//! from a byte stream ([`FrameReader`]).

use crate::crc::crc16;
use crate::error::Error;
use crate::packet::Packet;

/// The longest data segment the four-digit length field can state.
pub const MAX_DATA_LEN: usize = 9999;
/// The longest data segment HJ 212-2017 allows (数据段 0≤n≤1024). Devices in
/// the field exceed it, so [`FrameReader::new`] accepts up to [`MAX_DATA_LEN`];
/// a receiver that wants the letter of the standard uses
/// [`FrameReader::with_max_data_len`].
pub const STANDARD_MAX_DATA_LEN: usize = 1024;

/// `##` and the four length digits.
const HEAD_LEN: usize = 6;
/// Four CRC digits and CR LF.
const TAIL_LEN: usize = 6;
/// Skipped garbage is reported in pieces of at most this many bytes, so a
/// stream of pure noise is still reported while it lasts.
pub const GARBAGE_REPORT_BYTES: usize = 4096;

/// One checked frame: its data segment, whose CRC matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The data segment, exactly as received.
    pub data: Vec<u8>,
    /// The CRC16 the frame carried (equal to [`crate::crc16`] of `data`).
    pub crc: u16,
}

impl Frame {
    /// The data segment as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.data).ok()
    }

    /// Parses the data segment into a [`Packet`].
    pub fn packet(&self) -> Result<Packet, Error> {
        Packet::parse_bytes(&self.data)
    }
}

/// Wraps a data segment into a frame. A segment over [`MAX_DATA_LEN`] is
/// `too_long`; one containing CR or LF (which no receiver could frame) is `bad_field`.
pub fn encode_frame(data: &[u8]) -> Result<Vec<u8>, Error> {
    if data.len() > MAX_DATA_LEN {
        return Err(Error::TooLong { declared: data.len(), max: MAX_DATA_LEN });
    }
    if data.iter().any(|b| matches!(b, b'\r' | b'\n')) {
        return Err(Error::field("数据段", "不能包含回车或换行"));
    }
    let mut out = Vec::with_capacity(HEAD_LEN + data.len() + TAIL_LEN);
    out.extend_from_slice(format!("##{:04}", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(format!("{:04X}\r\n", crc16(data)).as_bytes());
    Ok(out)
}

/// Decodes exactly one whole frame. Errors: `bad_start` (no `##`),
/// `bad_length`, `too_long`, `truncated`, `bad_tail` (including bytes after
/// the CR LF) and `bad_crc`. Lower-case CRC digits are accepted.
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, Error> {
    if !b"##".starts_with(bytes.get(..2).unwrap_or(bytes)) || bytes.is_empty() {
        return Err(Error::BadStart);
    }
    match examine(bytes, MAX_DATA_LEN, HEAD_LEN) {
        Examined::NeedMore { needed, .. } => Err(Error::Truncated { needed, have: bytes.len() }),
        Examined::Refused(e) => Err(e),
        Examined::Frame(frame, used) if used == bytes.len() => Ok(frame),
        Examined::Frame(..) => Err(Error::BadTail),
    }
}

enum Examined {
    /// Not enough bytes yet; `scanned` is how far the data was checked for line breaks.
    NeedMore { needed: usize, scanned: usize },
    /// A whole frame, using this many bytes.
    Frame(Frame, usize),
    /// The frame starting here is refused.
    Refused(Error),
}

/// Looks at a buffer that starts with `##`. `scanned` is where the line-break
/// check of the data segment resumes (it never goes back, keeping the reader linear).
fn examine(buf: &[u8], max_data_len: usize, scanned: usize) -> Examined {
    let Some(digits) = buf.get(2..HEAD_LEN) else {
        return Examined::NeedMore { needed: HEAD_LEN, scanned: HEAD_LEN };
    };
    let Some(declared) = parse_length(digits) else {
        return Examined::Refused(Error::BadLength { found: String::from_utf8_lossy(digits).into_owned() });
    };
    if declared > max_data_len {
        return Examined::Refused(Error::TooLong { declared, max: max_data_len });
    }
    let data_end = HEAD_LEN + declared;
    let available_end = data_end.min(buf.len());
    let from = scanned.max(HEAD_LEN);
    if let Some(offset) = buf.get(from..available_end).and_then(|s| s.iter().position(|b| matches!(b, b'\r' | b'\n'))) {
        return Examined::Refused(Error::ShortSegment { declared, line_break_at: from + offset - HEAD_LEN });
    }
    let total = data_end + TAIL_LEN;
    let (Some(data), Some(crc_text), Some(tail)) =
        (buf.get(HEAD_LEN..data_end), buf.get(data_end..data_end + 4), buf.get(data_end + 4..total))
    else {
        return Examined::NeedMore { needed: total, scanned: available_end };
    };
    if tail != b"\r\n" {
        return Examined::Refused(Error::BadTail);
    }
    let computed = crc16(data);
    match parse_crc(crc_text) {
        Some(crc) if crc == computed => Examined::Frame(Frame { data: data.to_vec(), crc }, total),
        _ => Examined::Refused(Error::BadCrc { found: String::from_utf8_lossy(crc_text).into_owned(), computed }),
    }
}

fn parse_length(digits: &[u8]) -> Option<usize> {
    digits.iter().try_fold(0usize, |n, b| b.is_ascii_digit().then(|| n * 10 + usize::from(b - b'0')))
}

fn parse_crc(text: &[u8]) -> Option<u16> {
    text.iter()
        .try_fold(0u16, |n, b| char::from(*b).to_digit(16).and_then(|d| u16::try_from(d).ok()).map(|d| n << 4 | d))
}

/// Counters a receiver shows per connection or device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// Frames delivered whole with a good CRC.
    pub frames: u64,
    /// Frames refused (bad length, too long, bad tail, bad CRC).
    pub refused: u64,
    /// Bytes skipped while looking for `##`, including the rest of refused frames.
    pub skipped_bytes: u64,
}

/// A streaming frame reader for a TCP receiver, without I/O: feed it byte
/// chunks as they arrive and it returns the complete frames and the refusals,
/// in stream order.
///
/// - Bytes before `##` are skipped and reported as `garbage` (one error per
///   run, at most [`GARBAGE_REPORT_BYTES`] each).
/// - A frame that has not fully arrived waits; nothing is returned for it.
/// - A frame whose length field is not four digits (`bad_length`), that
///   declares more than the maximum (`too_long`, decided from its first six
///   bytes, before anything is buffered), whose data segment contains a line
///   break before its declared end (`bad_length`, decided as soon as the
///   break arrives), or whose tail or CRC is wrong (`bad_tail`, `bad_crc`) is
///   refused; the reader then resumes at the next `##` after the refused
///   frame's first byte, so whatever follows is still read. Bytes skipped
///   after a refused frame up to the next `##` (its rest) are counted in
///   [`ReaderStats::skipped_bytes`] but not reported again as garbage.
/// - The buffer never holds more than one frame's worth of bytes (plus the
///   chunk being fed), so memory per connection is bounded.
/// - The output does not depend on how the stream was split into chunks.
#[derive(Debug, Clone)]
pub struct FrameReader {
    buf: Vec<u8>,
    max_data_len: usize,
    scanned: usize,
    pending_garbage: usize,
    quiet: bool,
    stats: ReaderStats,
}

impl Default for FrameReader {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameReader {
    /// A reader accepting data segments up to [`MAX_DATA_LEN`] bytes.
    pub fn new() -> Self {
        Self::with_max_data_len(MAX_DATA_LEN)
    }

    /// A reader accepting data segments up to `max` bytes (capped at [`MAX_DATA_LEN`]).
    pub fn with_max_data_len(max: usize) -> Self {
        FrameReader {
            buf: Vec::new(),
            max_data_len: max.min(MAX_DATA_LEN),
            scanned: 0,
            pending_garbage: 0,
            quiet: false,
            stats: ReaderStats::default(),
        }
    }

    /// Feeds the next chunk of the stream; returns what it completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Frame, Error>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            let rest = self.buf.get(pos..).unwrap_or_default();
            match rest.windows(2).position(|w| w == b"##") {
                Some(0) => {}
                Some(start) => {
                    self.skip(start, &mut out);
                    pos += start;
                }
                None => {
                    // Keep a final `#`: it may be the first half of the next `##`.
                    let keep = usize::from(rest.last() == Some(&b'#'));
                    let skipped = rest.len() - keep;
                    self.skip(skipped, &mut out);
                    pos += skipped;
                    break;
                }
            }
            match self.buf.get(pos + 2) {
                // The next byte decides whether this `##` starts a frame.
                None => break,
                // `###`: the first `#` is stray, the frame (if any) starts one byte later.
                Some(b'#') => {
                    self.skip(1, &mut out);
                    pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            self.flush_garbage(&mut out);
            self.quiet = false;
            match examine(self.buf.get(pos..).unwrap_or_default(), self.max_data_len, self.scanned) {
                Examined::NeedMore { scanned, .. } => {
                    self.scanned = scanned;
                    break;
                }
                Examined::Frame(frame, used) => {
                    out.push(Ok(frame));
                    self.stats.frames += 1;
                    self.scanned = 0;
                    pos += used;
                }
                Examined::Refused(error) => {
                    out.push(Err(error));
                    self.stats.refused += 1;
                    self.scanned = 0;
                    self.quiet = true;
                    self.skip(1, &mut out);
                    pos += 1;
                }
            }
        }
        self.buf.drain(..pos.min(self.buf.len()));
        out
    }

    /// Ends the stream: reports a frame cut off by the end (`truncated`) and
    /// garbage not yet reported, and resets the reader for a new stream.
    pub fn finish(&mut self) -> Vec<Error> {
        let mut out = Vec::new();
        if self.buf == b"#" {
            self.skip(1, &mut out);
            self.buf.clear();
        }
        let garbage = self.take_garbage();
        let mut errors: Vec<Error> = out.into_iter().filter_map(Result::err).collect();
        errors.extend(garbage);
        if !self.buf.is_empty() {
            let needed = match examine(&self.buf, self.max_data_len, self.scanned) {
                Examined::NeedMore { needed, .. } => needed,
                _ => self.buf.len(),
            };
            errors.push(Error::Truncated { needed, have: self.buf.len() });
            self.stats.refused += 1;
            self.stats.skipped_bytes += self.buf.len() as u64;
        }
        self.buf.clear();
        self.scanned = 0;
        self.quiet = false;
        errors
    }

    /// How many bytes are waiting for the rest of their frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The counters so far.
    pub fn stats(&self) -> ReaderStats {
        self.stats
    }

    fn skip(&mut self, count: usize, out: &mut Vec<Result<Frame, Error>>) {
        self.stats.skipped_bytes += count as u64;
        if self.quiet {
            return;
        }
        self.pending_garbage += count;
        while self.pending_garbage >= GARBAGE_REPORT_BYTES {
            out.push(Err(Error::Garbage { skipped: GARBAGE_REPORT_BYTES }));
            self.pending_garbage -= GARBAGE_REPORT_BYTES;
        }
    }

    fn flush_garbage(&mut self, out: &mut Vec<Result<Frame, Error>>) {
        out.extend(self.take_garbage().map(Err));
    }

    fn take_garbage(&mut self) -> Option<Error> {
        let skipped = std::mem::take(&mut self.pending_garbage);
        (skipped > 0).then_some(Error::Garbage { skipped })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const SEGMENT: &str =
        "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&";
    const FRAME: &str = "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80\r\n";

    fn codes(items: &[Result<Frame, Error>]) -> Vec<&'static str> {
        items.iter().map(|r| r.as_ref().map_or_else(Error::code, |_| "frame")).collect()
    }

    #[test]
    fn encodes_the_standards_example() {
        assert_eq!(encode_frame(SEGMENT.as_bytes()).unwrap(), FRAME.as_bytes());
        assert_eq!(decode_frame(FRAME.as_bytes()).unwrap().data, SEGMENT.as_bytes());
    }

    #[test]
    fn decode_refuses_each_defect() {
        let frame = FRAME.as_bytes();
        let mut bad_crc = frame.to_vec();
        bad_crc[frame.len() - 3] = b'1';
        let mut bad_crc_digit = frame.to_vec();
        bad_crc_digit[frame.len() - 3] = b'G';
        let mut bad_tail = frame.to_vec();
        bad_tail[frame.len() - 1] = b'X';
        let mut extra = frame.to_vec();
        extra.push(b'x');
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"xx0101".to_vec(), "bad_start"),
            (Vec::new(), "bad_start"),
            (b"##01a1QN=".to_vec(), "bad_length"),
            (b"##0010QN=1\r\n23451234\r\n".to_vec(), "bad_length"),
            (frame[..50].to_vec(), "truncated"),
            (b"##".to_vec(), "truncated"),
            (bad_crc, "bad_crc"),
            (bad_crc_digit, "bad_crc"),
            (bad_tail, "bad_tail"),
            (extra, "bad_tail"),
        ];
        for (bytes, code) in cases {
            assert_eq!(decode_frame(&bytes).unwrap_err().code(), code, "{}", String::from_utf8_lossy(&bytes));
        }
        assert_eq!(encode_frame(&vec![b'a'; MAX_DATA_LEN + 1]).unwrap_err().code(), "too_long");
        assert_eq!(encode_frame(b"a\nb").unwrap_err().code(), "bad_field");
        let lower = FRAME.replace("1C80", "1c80");
        assert!(decode_frame(lower.as_bytes()).is_ok());
    }

    #[test]
    fn reader_skips_garbage_and_waits_for_half_frames() {
        let mut reader = FrameReader::new();
        let mut stream = b"noise".to_vec();
        stream.extend_from_slice(FRAME.as_bytes());
        let (first, second) = stream.split_at(60);
        assert_eq!(codes(&reader.feed(first)), ["garbage"]);
        assert_eq!(reader.buffered(), 55);
        assert_eq!(codes(&reader.feed(second)), ["frame"]);
        assert_eq!(reader.buffered(), 0);
        assert!(reader.finish().is_empty());
        assert_eq!(reader.stats(), ReaderStats { frames: 1, refused: 0, skipped_bytes: 5 });
    }

    #[test]
    fn reader_refuses_an_over_long_frame_at_once_and_reads_what_follows() {
        let mut reader = FrameReader::with_max_data_len(STANDARD_MAX_DATA_LEN);
        let out = reader.feed(b"##5000QN=");
        assert_eq!(codes(&out), ["too_long"]);
        let mut rest = b"0000000".to_vec();
        rest.extend_from_slice(FRAME.as_bytes());
        assert_eq!(codes(&reader.feed(&rest)), ["frame"], "the rest of the refused frame is not garbage");
    }

    #[test]
    fn reader_drops_a_cut_frame_when_the_next_one_starts() {
        // A device sent half a frame, then whole ones: the half frame's
        // declared length reaches into the next frame, where no CR LF stands
        // after its CRC, so it is refused and the reader resumes at the next `##`.
        let mut stream = FRAME.as_bytes()[..40].to_vec();
        stream.extend_from_slice(FRAME.as_bytes());
        stream.extend_from_slice(FRAME.as_bytes());
        let mut reader = FrameReader::new();
        let out = reader.feed(&stream);
        assert_eq!(codes(&out), ["bad_tail", "frame", "frame"]);
        assert!(reader.finish().is_empty());
    }

    #[test]
    fn reader_resyncs_after_a_bad_crc_and_a_stray_hash() {
        let mut corrupted = FRAME.as_bytes().to_vec();
        corrupted[20] = b'X';
        let mut stream = corrupted;
        stream.push(b'#');
        stream.extend_from_slice(FRAME.as_bytes());
        let mut reader = FrameReader::new();
        assert_eq!(codes(&reader.feed(&stream)), ["bad_crc", "frame"]);
    }

    #[test]
    fn finish_reports_a_truncated_frame() {
        let mut reader = FrameReader::new();
        assert!(reader.feed(&FRAME.as_bytes()[..30]).is_empty());
        let errors = reader.finish();
        assert_eq!(errors, vec![Error::Truncated { needed: FRAME.len(), have: 30 }]);
        assert_eq!(reader.buffered(), 0);
        assert_eq!(reader.feed(b"#").len(), 0);
        assert_eq!(reader.finish(), vec![Error::Garbage { skipped: 1 }]);
    }

    #[test]
    fn endless_noise_is_reported_while_it_lasts() {
        let mut reader = FrameReader::new();
        let out = reader.feed(&vec![b'x'; GARBAGE_REPORT_BYTES * 2 + 10]);
        assert_eq!(out.len(), 2);
        assert_eq!(reader.buffered(), 0);
        assert_eq!(reader.finish(), vec![Error::Garbage { skipped: 10 }]);
    }
}
