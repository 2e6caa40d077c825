//! One-page PDF documents for the demo's files (验收材料, 合同, 军令状): a title and a few lines of
//! Chinese text on an A4 page, readable in any PDF viewer. The text is set in STSong-Light, one of
//! the standard Chinese fonts every viewer supplies (Adobe-GB1, UCS-2 encoded), so nothing is
//! embedded and a file is about 1.5 KB.

use std::fmt::Write as _;

/// A4 in points.
const PAGE: (u32, u32) = (595, 842);
const MARGIN: u32 = 72;

/// A one-page PDF with `title` (18 pt) and `lines` (12 pt) below it. Characters outside the
/// Basic Multilingual Plane are shown as `?`.
pub fn one_page(title: &str, lines: &[String]) -> Vec<u8> {
    let mut text = format!("BT /F1 18 Tf {MARGIN} {} Td <{}> Tj /F1 12 Tf", PAGE.1 - MARGIN, ucs2(title));
    for (i, line) in lines.iter().enumerate() {
        let step = if i == 0 { 36 } else { 20 };
        let _ = write!(text, " 0 -{step} Td <{}> Tj", ucs2(line));
    }
    text.push_str(" ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
            PAGE.0, PAGE.1
        ),
        "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [6 0 R] >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
        "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light \
         /CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> \
         /FontDescriptor 7 0 R /DW 1000 /W [1 95 500] >>"
            .to_owned(),
        "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] \
         /ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>"
            .to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(tail, "{offset:010} 00000 n ");
    }
    let _ = write!(tail, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1);
    pdf.extend_from_slice(tail.as_bytes());
    pdf
}

/// `s` as big-endian UCS-2 in hex, for a `<…>` string under UniGB-UCS2-H.
fn ucs2(s: &str) -> String {
    let mut hex = String::with_capacity(s.len() * 4);
    for c in s.chars() {
        let unit = u16::try_from(u32::from(c)).unwrap_or(u16::from(b'?'));
        let _ = write!(hex, "{unit:04X}");
    }
    hex
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

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let pdf = one_page("排口销号验收意见", &["编号：QJ000001442000GY0001".into(), "验收结论：同意销号".into()]);
        assert!(pdf.starts_with(b"%PDF-1.4\n") && pdf.ends_with(b"%%EOF\n"));
        let s = text(&pdf);
        let xref: usize = s.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert_eq!(line_at(&pdf, xref), "xref", "startxref points at the table");
        assert_eq!(line_at(&pdf, xref + 5), "0 8");
        for i in 1..=7 {
            let entry = line_at(&pdf, xref + 9 + 20 * i);
            let offset: usize = entry[..10].parse().unwrap();
            assert_eq!(line_at(&pdf, offset), format!("{i} 0 obj"), "object {i} at {offset}");
        }
        let length: usize = s.split("/Length ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let stream = s.split_once(">>\nstream\n").unwrap().1.split_once("\nendstream").unwrap().0;
        assert_eq!(stream.len(), length);
    }

    #[test]
    fn text_is_ucs2_hex_and_astral_characters_become_question_marks() {
        assert_eq!(ucs2("验A"), "9A8C0041");
        assert_eq!(ucs2("𠀀"), "003F");
        let s = text(&one_page("标题", &["一".into(), "二".into()]));
        assert!(s.contains("<68079898> Tj /F1 12 Tf 0 -36 Td <4E00> Tj 0 -20 Td <4E8C> Tj ET"), "{s}");
    }
}
