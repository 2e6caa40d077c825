//! Reading one zip part as XML events, with every byte counted.
//!
//! The inflater is ours (only stored and deflated parts, as Excel writes),
//! fed from the bytes the central directory points at, so a part can never
//! decompress beyond what it declared: the byte after is refused as a zip
//! bomb. One XML event (a text run, a tag) may not exceed [`MAX_EVENT_BYTES`],
//! so a megabyte of whitespace cannot grow the parser's buffer either.

use std::borrow::Cow;
use std::io::{self, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::DeflateDecoder;
use quick_xml::Reader;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::error::{SheetError, codes};
use crate::limits::human_bytes;

/// The most bytes one XML event may span (a cell's text is at most
/// 32,767 characters, well under this even fully escaped).
pub(crate) const MAX_EVENT_BYTES: u64 = 1024 * 1024;
/// The deepest element nesting a spreadsheet part needs is under ten.
const MAX_DEPTH: u32 = 64;
const BUFFER: usize = 64 * 1024;

/// Where a part's bytes are and what it declares.
#[derive(Debug, Clone)]
pub(crate) struct PartInfo {
    pub name: String,
    pub data_start: usize,
    pub compressed: usize,
    pub declared: u64,
    pub deflated: bool,
}

/// A refusal raised inside `Read`, carried out through quick-xml as an I/O error.
#[derive(Debug)]
struct Refusal(SheetError);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Refusal {}

enum Source<'a> {
    Stored(&'a [u8]),
    Deflated(DeflateDecoder<&'a [u8]>),
}

/// The decompressed bytes of one part, counted against what it declared.
pub(crate) struct PartReader<'a> {
    source: Source<'a>,
    name: String,
    declared: u64,
    compressed: u64,
    read: u64,
    since_event: Arc<AtomicU64>,
}

impl<'a> PartReader<'a> {
    pub fn new(bytes: &'a [u8], part: &PartInfo, since_event: Arc<AtomicU64>) -> Result<Self, SheetError> {
        let end = part.data_start.checked_add(part.compressed).filter(|end| *end <= bytes.len());
        let data = end.and_then(|end| bytes.get(part.data_start..end)).ok_or_else(|| {
            SheetError::new(codes::MALFORMED_XLSX, format!("Excel 文件已损坏：{} 的数据超出了文件末尾", part.name))
        })?;
        let source = if part.deflated { Source::Deflated(DeflateDecoder::new(data)) } else { Source::Stored(data) };
        Ok(Self {
            source,
            name: part.name.clone(),
            declared: part.declared,
            compressed: part.compressed as u64,
            read: 0,
            since_event,
        })
    }

    fn refuse(&self, error: SheetError) -> io::Error {
        io::Error::other(Refusal(error))
    }
}

impl Read for PartReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.source {
            Source::Stored(data) => data.read(buf)?,
            Source::Deflated(inflate) => inflate.read(buf)?,
        };
        self.read += n as u64;
        if self.read > self.declared {
            return Err(self.refuse(SheetError::new(
                codes::ZIP_BOMB,
                format!(
                    "文件中的 {} 解压后超过了它声明的大小（声明 {}，压缩数据 {}）：这是一个伪造的压缩包，已拒绝",
                    self.name,
                    human_bytes(self.declared),
                    human_bytes(self.compressed)
                ),
            )));
        }
        let since = self.since_event.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if since > MAX_EVENT_BYTES + BUFFER as u64 {
            return Err(self.refuse(SheetError::new(
                codes::MALFORMED_XLSX,
                format!("Excel 文件已损坏：{} 中有一段超过 1 MB 的连续文本或标签", self.name),
            )));
        }
        Ok(n)
    }
}

/// XML events of one part, bounded in event size and depth.
pub(crate) struct XmlStream<'a> {
    reader: Reader<BufReader<PartReader<'a>>>,
    buf: Vec<u8>,
    since_event: Arc<AtomicU64>,
    depth: u32,
    part: String,
}

impl<'a> XmlStream<'a> {
    pub fn open(bytes: &'a [u8], part: &PartInfo) -> Result<Self, SheetError> {
        let since_event = Arc::new(AtomicU64::new(0));
        let source = PartReader::new(bytes, part, Arc::clone(&since_event))?;
        let mut reader = Reader::from_reader(BufReader::with_capacity(BUFFER, source));
        let config = reader.config_mut();
        config.check_end_names = false;
        config.expand_empty_elements = false;
        config.trim_text(false);
        Ok(Self { reader, buf: Vec::with_capacity(1024), since_event, depth: 0, part: part.name.clone() })
    }

    /// The next event; `Event::Eof` at the end.
    pub fn next(&mut self) -> Result<Event<'_>, SheetError> {
        self.buf.clear();
        self.since_event.store(0, Ordering::Relaxed);
        let event = match self.reader.read_event_into(&mut self.buf) {
            Ok(event) => event,
            Err(e) => return Err(xml_error(&self.part, self.reader.error_position(), &e)),
        };
        match &event {
            Event::Start(_) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(malformed(&self.part, "元素嵌套过深"));
                }
            }
            Event::End(_) => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        Ok(event)
    }

    /// The name of the part, for messages.
    pub fn part(&self) -> &str {
        &self.part
    }

    /// Skips to the end of the element just started (its `End` is consumed).
    pub fn skip_element(&mut self) -> Result<(), SheetError> {
        let target = self.depth.saturating_sub(1);
        loop {
            let (end, eof) = {
                let event = self.next()?;
                (matches!(event, Event::End(_)), matches!(event, Event::Eof))
            };
            if eof {
                return Err(malformed(&self.part, "文件在元素结束前就结束了"));
            }
            if end && self.depth == target {
                return Ok(());
            }
        }
    }

    /// The text of the element just started, up to its end: text, CDATA and
    /// entity references, nested elements' text included (as `<is><t>`
    /// needs), phonetic runs (`<rPh>`) left out. At most `max_chars` characters.
    pub fn element_text(&mut self, max_chars: usize) -> Result<String, SheetError> {
        let target = self.depth.saturating_sub(1);
        let mut text = String::new();
        let mut chars = 0usize;
        let mut phonetic_depth: Option<u32> = None;
        loop {
            let piece = match self.next()? {
                Event::Eof => Piece::Eof,
                Event::End(_) => Piece::End,
                Event::Start(e) => Piece::Start(local(&e) == "rPh"),
                Event::Text(t) => Piece::Text(t.xml10_content().into_owned()),
                Event::CData(t) => Piece::Text(t.xml10_content().into_owned()),
                Event::GeneralRef(r) => resolve_reference(&r).map_or(Piece::BadReference, Piece::Text),
                _ => Piece::Other,
            };
            let piece = match piece {
                Piece::Eof => return Err(malformed(&self.part, "文件在元素结束前就结束了")),
                Piece::End if self.depth == target => break,
                Piece::End => {
                    if phonetic_depth.is_some_and(|d| self.depth < d) {
                        phonetic_depth = None;
                    }
                    continue;
                }
                Piece::Start(phonetic) => {
                    if phonetic && phonetic_depth.is_none() {
                        phonetic_depth = Some(self.depth);
                    }
                    continue;
                }
                _ if phonetic_depth.is_some() => continue,
                Piece::BadReference => return Err(malformed(&self.part, "含有无法识别的实体引用")),
                Piece::Text(piece) => piece,
                Piece::Other => continue,
            };
            chars += piece.chars().count();
            if chars > max_chars {
                return Err(SheetError::new(
                    codes::CELL_TOO_LONG,
                    format!("{} 中有单元格超过 {max_chars} 个字符（Excel 单元格最多 32767 个字符）", self.part),
                ));
            }
            text.push_str(&piece);
        }
        Ok(text)
    }
}

/// An event of an element's content, owned so the stream can be asked for its depth.
enum Piece {
    Eof,
    End,
    /// An element starts; `true` for a phonetic run.
    Start(bool),
    Text(String),
    BadReference,
    Other,
}

/// `&amp;`, `&lt;`, `&#x4E2D;` ... as text.
fn resolve_reference(r: &BytesRef<'_>) -> Option<String> {
    let named = match &**r {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => return r.resolve_char_ref().ok().flatten().map(String::from),
    };
    Some(named.to_owned())
}

/// The local name of an element (`x:row` is `row`).
pub(crate) fn local<'e>(e: &'e BytesStart<'_>) -> &'e str {
    let name: &str = e.name().0;
    name.rsplit(':').next().unwrap_or(name)
}

/// An attribute by local name (`r:id` is found as `id` with `prefixed`).
pub(crate) fn attribute(e: &BytesStart<'_>, name: &str, prefixed: bool) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key: &str = a.key.0;
        let (prefix, local) = match key.rsplit_once(':') {
            Some((p, l)) => (Some(p), l),
            None => (None, key),
        };
        let wanted = local == name && (prefix.is_some() == prefixed || prefix == Some("xml"));
        if !wanted {
            return None;
        }
        a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(Cow::into_owned)
    })
}

pub(crate) fn malformed(part: &str, what: &str) -> SheetError {
    SheetError::new(codes::MALFORMED_XLSX, format!("Excel 文件已损坏：{part} {what}"))
}

fn xml_error(part: &str, position: u64, error: &quick_xml::Error) -> SheetError {
    if let quick_xml::Error::Io(io) = error {
        if let Some(Refusal(refusal)) = io.get_ref().and_then(|e| e.downcast_ref::<Refusal>()) {
            return refusal.clone();
        }
        return malformed(part, "的压缩数据已损坏，无法解压");
    }
    malformed(part, &format!("不是有效的 XML（约第 {position} 字节处）"))
}
