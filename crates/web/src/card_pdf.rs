//! Contact cards (联系卡) as PDF files made on the server: one card on an A6
//! page, or a town's cards four to an A4 page with dashed cut lines between
//! them. A card shows what its HTML page shows: the enterprise, the cadre's
//! name, post and kind, the work phone, the hotline, the QR code of the
//! signed link (vector squares, also a clickable link on screen) and the
//! link's last valid day. It looks like it too (`assets/css/cards.css`): the
//! brand line and the rule under the enterprise in the card's red, the brand,
//! the cadre's name and the phone numbers bold, the labels and the kind grey.

use axum::response::Response;
use mashangban_app::liaisons::CardView;
use mashangban_pdf::{Color, Document, Page, PageSize, Stroke, TextStyle, text_width, wrap};
use qrcode::QrCode;

/// A card's box on the page, in points from the page's bottom-left corner.
#[derive(Debug, Clone, Copy)]
struct CardBox {
    x: f32,
    y: f32,
    width: f32,
    height: f32,
}

/// Inner padding of the text from the card's edge.
const PAD: f32 = 24.0;
/// Side of the QR code with its quiet zone (about 49 mm).
const QR_SIDE: f32 = 140.0;
/// Light modules around the QR code that scanners need.
const QUIET_MODULES: usize = 4;
/// The card's red (`cards.css`: `.brand` and the header's bottom border, `#c0392b`).
const RED: Color = Color::hex(0xc0392b);
/// The grey of the labels and the kind (`cards.css`: `dt` and `.kind`, `#555`).
const MUTED: Color = Color::hex(0x555555);
/// The rule under the enterprise: `border-bottom: 0.6mm solid`.
const RULE: Stroke = Stroke { width: 1.7, dashed: false, color: RED };

/// One card as a PDF file (A6) named after the enterprise and the cadre.
pub fn download(card: &CardView) -> Response {
    let a = &card.assignment;
    let name = format!("联系卡-{}-{}.pdf", a.enterprise_name, a.cadre_name);
    crate::download::pdf(single(card), &name, &format!("contact-card-{}.pdf", a.id))
}

/// One card on an A6 page.
pub fn single(card: &CardView) -> Vec<u8> {
    let title = format!("联系卡：{}", card.assignment.enterprise_name);
    let mut doc = Document::new(PageSize::A6, &title);
    let PageSize { width, height } = doc.size();
    draw_card(doc.page(), CardBox { x: 0.0, y: 0.0, width, height }, card);
    doc.to_bytes()
}

/// A town's cards (`town_name` 联系卡), four to an A4 page, as many pages as
/// needed; one page saying so when there are none.
pub fn sheets(town_name: &str, cards: &[CardView]) -> Vec<u8> {
    let mut doc = Document::new(PageSize::A4, &format!("{town_name}联系卡"));
    let PageSize { width, height } = doc.size();
    if cards.is_empty() {
        doc.page().text_centered(width / 2.0, height - 96.0, 14.0, "没有可打印的联系卡。");
    }
    let (half_w, half_h) = (width / 2.0, height / 2.0);
    for four in cards.chunks(4) {
        let page = doc.page();
        for (i, card) in four.iter().enumerate() {
            let (column, row) = (i % 2, i / 2);
            let x = if column == 0 { 0.0 } else { half_w };
            let y = if row == 0 { half_h } else { 0.0 };
            draw_card(page, CardBox { x, y, width: half_w, height: half_h }, card);
        }
        page.line((half_w, 0.0), (half_w, height), Stroke::CUT);
        page.line((0.0, half_h), (width, half_h), Stroke::CUT);
    }
    doc.to_bytes()
}

/// The card laid out from the top of its box down.
fn draw_card(page: &mut Page, b: CardBox, card: &CardView) {
    let a = &card.assignment;
    let (left, center, text_width_max) = (b.x + PAD, b.x + b.width / 2.0, b.width - 2.0 * PAD);
    page.frame(b.x + 10.0, b.y + 10.0, b.width - 20.0, b.height - 20.0, Stroke::THIN);
    let mut y = b.y + b.height - 40.0;
    page.styled_text(left, y, 10.0, "马上办 · 联系卡", TextStyle::BOLD.in_color(RED));
    for line in wrap(&a.enterprise_name, 13.0, text_width_max, 2) {
        y -= 19.0;
        page.text(left, y, 13.0, &line);
    }
    y -= 12.0;
    page.line((left, y), (b.x + b.width - PAD, y), RULE);
    y -= 30.0;
    page.styled_text(left, y, 24.0, &a.cadre_name, TextStyle::BOLD);
    for line in wrap(&a.post, 11.0, text_width_max, 2) {
        y -= 19.0;
        page.text(left, y, 11.0, &line);
    }
    y -= 16.0;
    page.styled_text(left, y, 10.0, &format!("{}干部", a.kind_label), TextStyle::PLAIN.in_color(MUTED));
    y -= 22.0;
    labelled(page, (left, y), "工作电话", &a.work_phone);
    y -= 17.0;
    labelled(page, (left, y), "服务热线", &format!("{}（马上办）", card.hotline));
    y -= 6.0;
    draw_qr(page, center - QR_SIDE / 2.0, y, &card.link);
    y -= QR_SIDE + 4.0;
    let caption = [
        "微信或手机相机扫码，".to_owned(),
        format!("直接向{}反映问题、提交诉求。", a.cadre_name),
        format!("有效期至 {}", card.expires_on),
    ];
    for line in caption {
        let size = if text_width(&line, 9.0) > text_width_max { 7.0 } else { 9.0 };
        page.text_centered(center, y, size, &line);
        y -= 12.0;
    }
}

/// A grey label and its bold value after it, at 11 points (the card's `dl`).
fn labelled(page: &mut Page, at: (f32, f32), label: &str, value: &str) {
    const SIZE: f32 = 11.0;
    page.styled_text(at.0, at.1, SIZE, label, TextStyle::PLAIN.in_color(MUTED));
    let x = at.0 + text_width(label, SIZE) + SIZE;
    page.styled_text(x, at.1, SIZE, value, TextStyle::BOLD);
}

/// The QR code of `link` with its quiet zone, its top-left corner at
/// (`x`, `top`), a link to open on screen; nothing if the link is too long
/// to encode (as the HTML card).
fn draw_qr(page: &mut Page, x: f32, top: f32, link: &str) {
    let Some((columns, dark)) = qr_cells(link) else { return };
    let cell = QR_SIDE / (columns + 2 * QUIET_MODULES) as f32;
    let quiet = cell * QUIET_MODULES as f32;
    page.fill_cells(x + quiet, top - quiet, cell, columns, &dark);
    page.link(x, top - QR_SIDE, QR_SIDE, QR_SIDE, link);
}

/// The QR code's width in modules and its modules row by row, dark `true`.
fn qr_cells(link: &str) -> Option<(usize, Vec<bool>)> {
    let code = QrCode::new(link.as_bytes()).ok()?;
    Some((code.width(), code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn card(n: usize) -> CardView {
        use mashangban_domain::liaison::{CadreLevel, LiaisonKind};
        CardView {
            assignment: mashangban_app::liaisons::AssignmentView {
                id: n as i64,
                credit_code: format!("91442000MA5LJ{n:05}"),
                enterprise_name: format!("中山市古镇第{n}灯饰有限公司"),
                town: None,
                user_id: 7,
                cadre_name: "冯海涛".into(),
                level: CadreLevel::Town,
                level_label: "镇街领导",
                visit_rule: "每月至少走访一次",
                post: "古镇镇党委委员".into(),
                work_phone: "0760-22338899".into(),
                kind: LiaisonKind::Lead,
                kind_label: "牵头联系",
                assigned_at: "2026-12-01T09:00:00+08:00".into(),
                assigned_by: "管理员".into(),
                ended_at: None,
                ended_by: None,
            },
            link: format!("http://127.0.0.1:8080/card?e=91442000MA5LJ{n:05}&l={n}&x=20271206&s=0123456789abcdef"),
            expires_on: "2027-12-06".into(),
            hotline: "12345".into(),
        }
    }

    /// A town of 500 cards: 125 A4 pages, every page's stream deflated to a fraction of what it
    /// draws, and each card's text and squares there once inflated.
    #[test]
    fn a_town_of_five_hundred_cards_is_deflated_page_by_page() {
        let cards: Vec<CardView> = (1..=500).map(card).collect();
        let pdf = sheets("古镇镇", &cards);
        let pages = mashangban_pdf::page_contents(&pdf).unwrap();
        assert_eq!(pages.len(), 125);
        let drawn: usize = pages.iter().map(String::len).sum();
        let file = String::from_utf8_lossy(&pdf);
        let deflated: usize =
            file.split("<< /Length ").skip(1).map(|p| p.split(' ').next().unwrap().parse::<usize>().unwrap()).sum();
        eprintln!("500 cards: {} bytes, content streams {drawn} bytes deflated to {deflated}", pdf.len());
        assert!(deflated * 3 < drawn, "{deflated} of {drawn}");
        assert!(pdf.len() < drawn / 2, "{} bytes for {drawn} drawn", pdf.len());
        let all = pages.concat();
        assert_eq!(all.matches(&format!("<{}>", mashangban_pdf::ucs2("冯海涛"))).count(), 500);
        assert!(all.contains(&mashangban_pdf::ucs2("中山市古镇第500灯饰有限公司")));
        assert_eq!(all.matches(" cm\n").count(), 500, "one QR code a card");
    }

    /// Red and bold where `cards.css` has them, grey labels, plain text elsewhere.
    #[test]
    fn a_card_is_red_and_bold_where_the_html_card_is() {
        let drawn = mashangban_pdf::page_contents(&single(&card(1))).unwrap().concat();
        let line = |text: &str| {
            let hex = format!("<{}>", mashangban_pdf::ucs2(text));
            drawn.lines().find(|l| l.contains(&hex)).unwrap_or_else(|| panic!("{text} in {drawn}"))
        };
        let red = "0.75 0.22 0.17";
        assert!(line("马上办 · 联系卡").starts_with(&format!("q {red} rg {red} RG 0.33 w BT /F1 10 Tf 2 Tr ")));
        assert!(drawn.contains(&format!("q 1.7 w {red} RG ")), "the red rule: {drawn}");
        assert!(line("冯海涛").starts_with("q 0 G 0.8 w BT /F1 24 Tf 2 Tr "), "the name bold");
        for value in ["0760-22338899", "12345（马上办）"] {
            assert!(line(value).starts_with("q 0 G 0.37 w BT /F1 11 Tf 2 Tr "), "{value} bold");
        }
        for label in ["工作电话", "服务热线", "牵头联系干部"] {
            assert!(line(label).starts_with("q 0.33 0.33 0.33 rg BT "), "{label} grey");
        }
        for plain in ["中山市古镇第1灯饰有限公司", "古镇镇党委委员", "有效期至 2027-12-06"] {
            assert!(line(plain).starts_with("BT /F1 "), "{plain} plain");
        }
        assert_eq!(drawn.matches(" 2 Tr ").count(), 4, "brand, name and the two numbers bold");
    }

    #[test]
    fn a_links_qr_code_is_square_with_dark_modules() {
        let link = "http://127.0.0.1:8080/card?e=91442000MA5LJAJ21X&l=7&x=20271206&s=0123456789abcdef0123456789abcdef";
        let (width, dark) = qr_cells(link).unwrap();
        assert_eq!(dark.len(), width * width);
        // The finder pattern's top-left corner is dark, the module after its first row light.
        assert!(dark[0] && dark[6] && !dark[7]);
    }
}
