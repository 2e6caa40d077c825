//! A small PDF writer (PDF 1.4) for the files mashangban makes itself: the demo's one-page documents
//! (验收材料, 合同, 军令状) and the liaison contact cards (联系卡), one on an A6 page or four to an A4 page.
//!
//! A [`Document`] is a list of [`Page`]s of one [`PageSize`]; a page holds text at a position and size,
//! filled rectangles, grids of filled cells (a QR code's dark modules as vector squares, no image),
//! lines and frames (card borders, cut lines) and link areas. Text is set in STSong-Light, one of the
//! standard Chinese fonts every viewer supplies (Adobe-GB1, UCS-2 encoded), so nothing is embedded and
//! a one-page document is about 1 KB. Content streams are compressed (FlateDecode, zlib through
//! `flate2`'s pure-Rust backend): a page of four contact cards, mostly the QR codes' squares, shrinks
//! to about a third. [`page_contents`] inflates them again, for tests and checks of what a page draws.
//!
//! Text and lines take a [`Color`], grey or RGB. The font has no bold face (nothing is embedded), so
//! bold text is drawn as viewers and printers draw a missing bold: filled and outlined in its colour
//! (text render mode 2) with a thin line, a thirtieth of its size.
//!
//! Coordinates are in points (1/72 inch) from the page's bottom-left corner, as in PDF.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

/// The size of a document's pages, in points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSize {
    pub width: f32,
    pub height: f32,
}

impl PageSize {
    /// ISO A4, 210 × 297 mm.
    pub const A4: Self = Self { width: 595.0, height: 842.0 };
    /// ISO A6, 105 × 148 mm: a quarter of A4.
    pub const A6: Self = Self { width: 298.0, height: 420.0 };
}

/// A colour: a shade of grey (DeviceGray) or red, green and blue (DeviceRGB).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Color {
    /// 0 black … 1 white.
    Gray(f32),
    /// Red, green and blue, 0–255 each, as CSS's `rgb()` and `#rrggbb`.
    Rgb(u8, u8, u8),
}

impl Color {
    pub const BLACK: Self = Self::Gray(0.0);

    /// `0xRRGGBB`, CSS's `#rrggbb`.
    pub const fn hex(rgb: u32) -> Self {
        Self::Rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8)
    }

    /// The operator that makes it the colour of fills (`g`, `rg`), or of strokes (`G`, `RG`).
    fn operator(self, stroke: bool) -> String {
        let channel = |c: u8| num(f32::from(c) / 255.0);
        match (self, stroke) {
            (Self::Gray(g), false) => format!("{} g", num(g)),
            (Self::Gray(g), true) => format!("{} G", num(g)),
            (Self::Rgb(r, g, b), false) => format!("{} {} {} rg", channel(r), channel(g), channel(b)),
            (Self::Rgb(r, g, b), true) => format!("{} {} {} RG", channel(r), channel(g), channel(b)),
        }
    }
}

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stroke {
    /// In points.
    pub width: f32,
    /// Dashed (a cut line) rather than solid.
    pub dashed: bool,
    pub color: Color,
}

impl Stroke {
    /// A thin solid black line.
    pub const THIN: Self = Self { width: 0.5, dashed: false, color: Color::BLACK };
    /// A thin dashed grey line, where to cut.
    pub const CUT: Self = Self { width: 0.5, dashed: true, color: Color::Gray(0.5) };
}

/// How text is set: its colour, and whether bold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextStyle {
    pub color: Color,
    /// Filled and outlined in its colour, a line a thirtieth of its size wide (the font has no bold
    /// face).
    pub bold: bool,
}

impl TextStyle {
    /// Black, regular: what [`Page::text`] sets.
    pub const PLAIN: Self = Self { color: Color::BLACK, bold: false };
    /// Black, bold.
    pub const BOLD: Self = Self { color: Color::BLACK, bold: true };

    /// The same style in `color`.
    pub const fn in_color(self, color: Color) -> Self {
        Self { color, bold: self.bold }
    }
}

/// The outline's width of bold text per point of its size.
const BOLD_LINE: f32 = 1.0 / 30.0;

/// One page: its content stream and its link areas.
#[derive(Debug, Default)]
pub struct Page {
    content: String,
    links: Vec<Link>,
}

#[derive(Debug)]
struct Link {
    rect: [f32; 4],
    uri: String,
}

impl Page {
    /// `s` with its baseline starting at (`x`, `y`), `size` points high. Control characters become
    /// spaces and characters outside the Basic Multilingual Plane `?`.
    pub fn text(&mut self, x: f32, y: f32, size: f32, s: &str) {
        let _ = writeln!(self.content, "BT /F1 {} Tf {} {} Td <{}> Tj ET", num(size), num(x), num(y), ucs2(s));
    }

    /// [`Page::text`] in `style`: its colour set for the fill (and the outline, bold), and bold text
    /// drawn in render mode 2 (fill, then stroke) with a thin line; the state is restored after.
    pub fn styled_text(&mut self, x: f32, y: f32, size: f32, s: &str, style: TextStyle) {
        if style == TextStyle::PLAIN {
            self.text(x, y, size, s);
            return;
        }
        let mut state = String::from("q ");
        if style.color != Color::BLACK {
            state.push_str(&style.color.operator(false));
            state.push(' ');
        }
        let mode = if style.bold {
            let _ = write!(state, "{} {} w ", style.color.operator(true), num(size * BOLD_LINE));
            "2 Tr "
        } else {
            ""
        };
        let _ = writeln!(
            self.content,
            "{state}BT /F1 {} Tf {mode}{} {} Td <{}> Tj ET Q",
            num(size),
            num(x),
            num(y),
            ucs2(s)
        );
    }

    /// `s` centred on `center_x`, as [`Page::text`].
    pub fn text_centered(&mut self, center_x: f32, y: f32, size: f32, s: &str) {
        self.text(center_x - text_width(s, size) / 2.0, y, size, s);
    }

    /// A black rectangle with its bottom-left corner at (`x`, `y`).
    pub fn fill_rect(&mut self, x: f32, y: f32, width: f32, height: f32) {
        let _ = writeln!(self.content, "{} {} {} {} re f", num(x), num(y), num(width), num(height));
    }

    /// A grid of square cells, `columns` wide, its top-left corner at (`x`, `top`), each `cell` points
    /// square, row by row from the top: the cells that are `true` in `dark` are filled black (a QR
    /// code's dark modules). A row's adjacent dark cells are one rectangle, and all are one path, so
    /// no seams show between them.
    pub fn fill_cells(&mut self, x: f32, top: f32, cell: f32, columns: usize, dark: &[bool]) {
        if columns == 0 {
            return;
        }
        // Scaled to cells, with y growing downwards from the top-left corner: integers only.
        let _ = writeln!(self.content, "q {} 0 0 -{} {} {} cm", num(cell), num(cell), num(x), num(top));
        for (row, cells) in dark.chunks(columns).enumerate() {
            let mut runs = Vec::new();
            let mut column = 0;
            while column < cells.len() {
                let run = cells[column..].iter().take_while(|&&d| d).count();
                if run > 0 {
                    runs.push(format!("{column} {row} {run} 1 re"));
                }
                column += run.max(1);
            }
            if !runs.is_empty() {
                let _ = writeln!(self.content, "{}", runs.join(" "));
            }
        }
        self.content.push_str("f Q\n");
    }

    /// A straight line from `from` to `to`.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), stroke: Stroke) {
        let path = format!("{} {} m {} {} l S", num(from.0), num(from.1), num(to.0), num(to.1));
        self.stroked(&path, stroke);
    }

    /// The outline of a rectangle with its bottom-left corner at (`x`, `y`).
    pub fn frame(&mut self, x: f32, y: f32, width: f32, height: f32, stroke: Stroke) {
        self.stroked(&format!("{} {} {} {} re S", num(x), num(y), num(width), num(height)), stroke);
    }

    fn stroked(&mut self, path: &str, stroke: Stroke) {
        let dash = if stroke.dashed { "[3 2] 0 d " } else { "" };
        let _ = writeln!(self.content, "q {} w {}{} {path} Q", num(stroke.width), dash, stroke.color.operator(true));
    }

    /// An area that opens `uri` when clicked in a viewer (where a printed QR code points on screen).
    pub fn link(&mut self, x: f32, y: f32, width: f32, height: f32, uri: &str) {
        self.links.push(Link { rect: [x, y, x + width, y + height], uri: uri.to_owned() });
    }

    fn annotations(&self) -> String {
        if self.links.is_empty() {
            return String::new();
        }
        let mut annots = String::from(" /Annots [");
        for link in &self.links {
            let [x1, y1, x2, y2] = link.rect.map(num);
            let _ = write!(
                annots,
                " << /Type /Annot /Subtype /Link /Rect [{x1} {y1} {x2} {y2}] /Border [0 0 0] \
                 /A << /S /URI /URI ({}) >> >>",
                ascii_string(&link.uri)
            );
        }
        annots.push_str(" ]");
        annots
    }
}

/// A PDF document: pages of one size, and a title viewers show.
#[derive(Debug)]
pub struct Document {
    size: PageSize,
    title: String,
    pages: Vec<Page>,
}

/// The objects before the pages: catalog, page tree, info, and the font's three.
const FIXED_OBJECTS: usize = 6;

impl Document {
    pub fn new(size: PageSize, title: &str) -> Self {
        Self { size, title: title.to_owned(), pages: Vec::new() }
    }

    pub fn size(&self) -> PageSize {
        self.size
    }

    /// A new blank page at the end, to draw on.
    pub fn page(&mut self) -> &mut Page {
        self.pages.push(Page::default());
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// The file. A document without pages gets one blank page (a PDF needs one).
    pub fn to_bytes(&self) -> Vec<u8> {
        let blank = [Page::default()];
        let pages = if self.pages.is_empty() { &blank[..] } else { &self.pages[..] };
        let mut objects: Vec<Vec<u8>> = self.fixed_objects(pages.len()).into_iter().map(String::into_bytes).collect();
        for (i, page) in pages.iter().enumerate() {
            let contents = FIXED_OBJECTS + 2 * i + 2;
            let page_object = format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 4 0 R >> >> \
                 /Contents {contents} 0 R{} >>",
                num(self.size.width),
                num(self.size.height),
                page.annotations()
            );
            objects.push(page_object.into_bytes());
            let data = deflate(page.content.as_bytes());
            let mut stream = format!("<< /Length {} /Filter /FlateDecode >>\nstream\n", data.len()).into_bytes();
            stream.extend_from_slice(&data);
            stream.extend_from_slice(b"\nendstream");
            objects.push(stream);
        }
        write_file(&objects)
    }

    fn fixed_objects(&self, pages: usize) -> Vec<String> {
        let kids: Vec<String> = (0..pages).map(|i| format!("{} 0 R", FIXED_OBJECTS + 2 * i + 1)).collect();
        vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            format!("<< /Type /Pages /Kids [{}] /Count {pages} >>", kids.join(" ")),
            format!("<< /Title <{}> /Producer (mashangban) >>", utf16_text(&self.title)),
            "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H \
             /DescendantFonts [5 0 R] >>"
                .to_owned(),
            "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> \
             /FontDescriptor 6 0 R /DW 1000 /W [1 95 500] >>"
                .to_owned(),
            "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] \
             /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
                .to_owned(),
        ]
    }
}

/// `data` as a zlib stream (what `/FlateDecode` reads). Writing into a `Vec` cannot fail.
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(data.len() / 3 + 64), Compression::default());
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// The content streams of a file [`Document::to_bytes`] wrote, inflated, in page order: what each
/// page draws, as text (`BT … Tj ET`, `re f`, …). `None` if a stream is cut short or does not inflate.
pub fn page_contents(pdf: &[u8]) -> Option<Vec<String>> {
    const HEAD: &[u8] = b"<< /Length ";
    let mut pages = Vec::new();
    let mut rest = pdf;
    while let Some(at) = find(rest, HEAD) {
        rest = &rest[at + HEAD.len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let length: usize = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
        let after = &rest[digits..];
        let Some(data) = after.strip_prefix(b" /Filter /FlateDecode >>\nstream\n".as_slice()) else { continue };
        let mut text = String::new();
        ZlibDecoder::new(data.get(..length)?).read_to_string(&mut text).ok()?;
        pages.push(text);
        rest = &data[length..];
    }
    Some(pages)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Numbered objects, the cross-reference table of their offsets and the trailer.
fn write_file(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        pdf.extend_from_slice(body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let xref = pdf.len();
    let mut tail = String::with_capacity(20 * objects.len() + 100);
    let _ = write!(tail, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(tail, "{offset:010} 00000 n ");
    }
    let _ =
        write!(tail, "trailer\n<< /Size {} /Root 1 0 R /Info 3 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1);
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}

/// The width of `s` set at `size` points: the font's Latin characters (U+0020–U+007E) are half
/// as wide as they are high, every other character as wide.
pub fn text_width(s: &str, size: f32) -> f32 {
    let ems: f32 = s.chars().map(|c| if (' '..='~').contains(&c) { 0.5 } else { 1.0 }).sum();
    ems * size
}

/// `s` cut into lines at most `width` wide at `size` points, at most `max_lines` of them; the last
/// ends with `…` if `s` did not fit. Chinese has no spaces, so lines break between any characters.
pub fn wrap(s: &str, size: f32, width: f32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for c in s.chars() {
        let candidate = format!("{line}{c}");
        if !line.is_empty() && text_width(&candidate, size) > width {
            lines.push(std::mem::take(&mut line));
            if lines.len() == max_lines {
                let last = lines.pop().unwrap_or_default();
                lines.push(with_ellipsis(&last, size, width));
                return lines;
            }
        }
        line.push(c);
    }
    if !line.is_empty() && lines.len() < max_lines {
        lines.push(line);
    }
    lines
}

/// `line` shortened until `line…` fits in `width`.
fn with_ellipsis(line: &str, size: f32, width: f32) -> String {
    let mut kept: Vec<char> = line.chars().collect();
    while !kept.is_empty() && text_width(&format!("{}…", kept.iter().collect::<String>()), size) > width {
        kept.pop();
    }
    format!("{}…", kept.into_iter().collect::<String>())
}

/// A number as PDF writes it: at most two decimals, no trailing zeros.
fn num(v: f32) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

/// `s` as big-endian UCS-2 in hex, for a `<…>` string under UniGB-UCS2-H.
pub fn ucs2(s: &str) -> String {
    let mut hex = String::with_capacity(s.len() * 4);
    for c in s.chars() {
        let c = if c.is_control() { ' ' } else { c };
        let unit = u16::try_from(u32::from(c)).unwrap_or(u16::from(b'?'));
        let _ = write!(hex, "{unit:04X}");
    }
    hex
}

/// `s` as a text string (UTF-16BE with its byte-order mark) in hex, for the document's title.
fn utf16_text(s: &str) -> String {
    let mut hex = String::from("FEFF");
    for unit in s.encode_utf16() {
        let _ = write!(hex, "{unit:04X}");
    }
    hex
}

/// `s` for a `(…)` string of 7-bit ASCII (a URI): parentheses and backslashes escaped, other bytes
/// outside printable ASCII percent-encoded.
fn ascii_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x21..=0x7E => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(pdf: &[u8]) -> String {
        String::from_utf8_lossy(pdf).into_owned()
    }

    /// The ASCII line that starts at byte `at` of `pdf`.
    fn line_at(pdf: &[u8], at: usize) -> &str {
        let rest = &pdf[at..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap()
    }

    /// Checks the cross-reference table: each entry's offset points at its `N 0 obj`, and each
    /// stream's declared length is its length. Returns the number of objects.
    fn check_structure(pdf: &[u8]) -> usize {
        assert!(pdf.starts_with(b"%PDF-1.4\n") && pdf.ends_with(b"%%EOF\n"));
        let s = text(pdf);
        let xref: usize = s.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert_eq!(line_at(pdf, xref), "xref", "startxref points at the table");
        let size: usize = line_at(pdf, xref + 5).strip_prefix("0 ").unwrap().parse().unwrap();
        let first = xref + 5 + line_at(pdf, xref + 5).len() + 1;
        assert_eq!(line_at(pdf, first), "0000000000 65535 f ");
        for i in 1..size {
            let entry = line_at(pdf, first + 20 * i);
            assert_eq!(entry.len(), 19, "{entry:?}");
            let offset: usize = entry[..10].parse().unwrap();
            assert_eq!(line_at(pdf, offset), format!("{i} 0 obj"), "object {i} at {offset}");
        }
        assert!(s.contains(&format!("trailer\n<< /Size {size} /Root 1 0 R")));
        // Each stream object's declared length ends its data right before `endstream`.
        for i in 1..size {
            let offset: usize = line_at(pdf, first + 20 * i)[..10].parse().unwrap();
            let dict = line_at(pdf, offset + format!("{i} 0 obj\n").len());
            let Some(length) = dict.strip_prefix("<< /Length ") else { continue };
            let length: usize = length.split(' ').next().unwrap().parse().unwrap();
            let data = offset + format!("{i} 0 obj\n{dict}\nstream\n").len();
            assert_eq!(&pdf[data + length..data + length + 17], b"\nendstream\nendobj", "object {i}");
        }
        size - 1
    }

    #[test]
    fn the_cross_reference_table_points_at_each_object_of_every_page() {
        let mut doc = Document::new(PageSize::A6, "联系卡");
        for name in ["冯海涛", "陈嘉欣", "李"] {
            let page = doc.page();
            page.text(20.0, 380.0, 22.0, name);
            page.fill_cells(70.0, 200.0, 4.0, 3, &[true, false, true, true, true, false]);
            page.link(70.0, 192.0, 12.0, 8.0, "http://127.0.0.1:8080/card?e=1&s=(x)");
        }
        let pdf = doc.to_bytes();
        assert_eq!(check_structure(&pdf), FIXED_OBJECTS + 3 * 2);
        let s = text(&pdf);
        assert_eq!(s.matches("/Type /Page ").count(), 3);
        assert!(s.contains("/Kids [7 0 R 9 0 R 11 0 R] /Count 3"), "{s}");
        assert!(s.contains("/MediaBox [0 0 298 420]"));
        assert!(s.contains("/URI (http://127.0.0.1:8080/card?e=1&s=\\(x\\))"), "{s}");
        assert!(s.contains("/Title <FEFF80547CFB5361>"), "{s}");
    }

    #[test]
    fn a_document_without_pages_has_one_blank_page() {
        let pdf = Document::new(PageSize::A4, "").to_bytes();
        assert_eq!(check_structure(&pdf), FIXED_OBJECTS + 2);
        assert!(text(&pdf).contains("/Count 1") && text(&pdf).contains("/MediaBox [0 0 595 842]"));
    }

    #[test]
    fn content_streams_are_deflated_and_inflate_back_to_the_drawing_operators() {
        let mut doc = Document::new(PageSize::A4, "联系卡");
        for name in ["冯海涛", "陈嘉欣"] {
            let page = doc.page();
            page.text(72.0, 770.0, 18.0, name);
            page.fill_cells(70.0, 600.0, 4.0, 21, &[true; 21 * 21]);
            page.frame(8.0, 8.0, 282.0, 404.0, Stroke::THIN);
        }
        let pdf = doc.to_bytes();
        assert_eq!(check_structure(&pdf), FIXED_OBJECTS + 2 * 2);
        let s = text(&pdf);
        assert_eq!(s.matches("/Filter /FlateDecode >>\nstream\n").count(), 2, "{s}");
        assert!(!s.contains(" Tj ET") && !s.contains(" re f"), "no operator in the clear: {s}");
        let pages = page_contents(&pdf).unwrap();
        assert_eq!(pages.len(), 2);
        for (page, name) in pages.iter().zip(["冯海涛", "陈嘉欣"]) {
            assert!(page.starts_with(&format!("BT /F1 18 Tf 72 770 Td <{}> Tj ET\n", ucs2(name))), "{page}");
            assert!(page.contains("q 4 0 0 -4 70 600 cm\n0 0 21 1 re\n") && page.contains("8 8 282 404 re S Q"));
        }
        let lengths: Vec<usize> =
            s.split("<< /Length ").skip(1).map(|p| p.split(' ').next().unwrap().parse().unwrap()).collect();
        for (length, page) in lengths.iter().zip(&pages) {
            assert!(length * 2 < page.len(), "the squares' rows shrink: {length} bytes for {}", page.len());
        }
        // A damaged stream does not inflate (zlib's checksum).
        let mut cut = pdf.clone();
        cut[find(&pdf, b"/Filter /FlateDecode >>\nstream\n").unwrap() + 40] ^= 0xFF;
        assert_eq!(page_contents(&cut), None);
    }

    #[test]
    fn text_is_ucs2_hex_and_astral_characters_become_question_marks() {
        assert_eq!(ucs2("验A"), "9A8C0041");
        assert_eq!(ucs2("𠀀\n"), "003F0020");
        let mut page = Page::default();
        page.text(72.0, 770.5, 18.0, "标题");
        assert_eq!(page.content, "BT /F1 18 Tf 72 770.5 Td <68079898> Tj ET\n");
    }

    #[test]
    fn styled_text_sets_its_colour_and_draws_bold_filled_and_outlined_in_its_own_state() {
        let red = Color::hex(0xc0392b);
        assert_eq!(red, Color::Rgb(192, 57, 43));
        let mut page = Page::default();
        page.styled_text(24.0, 380.0, 10.0, "马上办", TextStyle::BOLD.in_color(red));
        page.styled_text(24.0, 300.0, 24.0, "冯", TextStyle::BOLD);
        page.styled_text(24.0, 280.0, 10.0, "干部", TextStyle::PLAIN.in_color(Color::hex(0x555555)));
        page.styled_text(24.0, 260.0, 10.0, "A", TextStyle::PLAIN);
        page.line((24.0, 370.0), (274.0, 370.0), Stroke { width: 1.7, dashed: false, color: red });
        assert_eq!(
            page.content,
            "q 0.75 0.22 0.17 rg 0.75 0.22 0.17 RG 0.33 w BT /F1 10 Tf 2 Tr 24 380 Td <9A6C4E0A529E> Tj ET Q\n\
             q 0 G 0.8 w BT /F1 24 Tf 2 Tr 24 300 Td <51AF> Tj ET Q\n\
             q 0.33 0.33 0.33 rg BT /F1 10 Tf 24 280 Td <5E7290E8> Tj ET Q\n\
             BT /F1 10 Tf 24 260 Td <0041> Tj ET\n\
             q 1.7 w 0.75 0.22 0.17 RG 24 370 m 274 370 l S Q\n"
        );
    }

    #[test]
    fn dark_cells_are_one_rectangle_per_run_in_one_path() {
        let mut page = Page::default();
        #[rustfmt::skip]
        let dark = [
            true, true, false, true,
            false, false, false, false,
            false, true, true, true,
        ];
        page.fill_cells(10.0, 100.0, 2.5, 4, &dark);
        assert_eq!(page.content, "q 2.5 0 0 -2.5 10 100 cm\n0 0 2 1 re 3 0 1 1 re\n1 2 3 1 re\nf Q\n");
    }

    #[test]
    fn lines_and_frames_keep_their_style_to_themselves() {
        let mut page = Page::default();
        page.line((297.5, 0.0), (297.5, 842.0), Stroke::CUT);
        page.frame(8.0, 8.0, 282.0, 404.0, Stroke::THIN);
        assert_eq!(page.content, "q 0.5 w [3 2] 0 d 0.5 G 297.5 0 m 297.5 842 l S Q\nq 0.5 w 0 G 8 8 282 404 re S Q\n");
    }

    #[test]
    fn long_text_wraps_and_what_does_not_fit_ends_with_an_ellipsis() {
        assert_eq!(text_width("古镇 A1", 10.0), 35.0);
        assert_eq!(wrap("中山市古镇星辉灯饰有限公司", 10.0, 60.0, 3), ["中山市古镇星", "辉灯饰有限公", "司"]);
        assert_eq!(wrap("中山市古镇星辉灯饰有限公司", 10.0, 60.0, 2), ["中山市古镇星", "辉灯饰有限…"]);
        assert_eq!(wrap("", 10.0, 60.0, 2), Vec::<String>::new());
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(12.346), "12.35");
    }
}
