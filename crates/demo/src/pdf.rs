//! One-page PDF documents for the demo's files (验收材料, 合同, 军令状): a title and a few lines of
//! Chinese text on an A4 page, written by the shared PDF writer (`mashangban-pdf`), about 1.5 KB.

use mashangban_pdf::{Document, PageSize};

const MARGIN: f32 = 72.0;

/// A one-page PDF with `title` (18 pt) and `lines` (12 pt) below it. Characters outside the
/// Basic Multilingual Plane are shown as `?`.
pub fn one_page(title: &str, lines: &[String]) -> Vec<u8> {
    let mut doc = Document::new(PageSize::A4, title);
    let top = doc.size().height - MARGIN;
    let page = doc.page();
    page.text(MARGIN, top, 18.0, title);
    let mut y = top - 36.0;
    for line in lines {
        page.text(MARGIN, y, 12.0, line);
        y -= 20.0;
    }
    doc.to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_and_its_lines_one_below_the_other() {
        let pdf = one_page("标题", &["一".into(), "二".into()]);
        let s = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-1.4\n") && s.contains("/Count 1"), "{s}");
        let drawn = mashangban_pdf::page_contents(&pdf).unwrap_or_default().concat();
        assert!(
            drawn.contains(
                "BT /F1 18 Tf 72 770 Td <68079898> Tj ET\nBT /F1 12 Tf 72 734 Td <4E00> Tj ET\n\
                 BT /F1 12 Tf 72 714 Td <4E8C> Tj ET\n"
            ),
            "{drawn}"
        );
    }
}
