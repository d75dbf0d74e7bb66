//! The report as PDF, written directly: A4 pages, the standard Helvetica fonts (every PDF
//! reader has them, so nothing is embedded), text, rules, filled boxes and bars. Text is
//! encoded in WinAnsi (Latin-1 and the usual typographic marks); anything else prints as `?`.

use std::fmt::Write as _;

use crate::Block;
use crate::content::thousands;

const PAGE_WIDTH: f64 = 595.0;
const PAGE_HEIGHT: f64 = 842.0;
const MARGIN: f64 = 50.0;
/// Content stops this far above the bottom edge (the footer lives below).
const BOTTOM: f64 = 64.0;
const TEXT: Colour = (0.12, 0.16, 0.2);
const GREY: Colour = (0.38, 0.43, 0.49);
const RULE: Colour = (0.85, 0.89, 0.93);
const SHADE: Colour = (0.94, 0.96, 0.97);
const BLUE: Colour = (0.18, 0.44, 0.69);

type Colour = (f64, f64, f64);

/// Helvetica's advance widths (per 1000 em) for ASCII 32..=126.
const REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
/// Helvetica-Bold's.
const BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// A character's WinAnsi byte and its width (per 1000 em).
fn glyph(c: char, bold: bool) -> (u8, u16) {
    match c {
        ' '..='~' => {
            let table = if bold { &BOLD } else { &REGULAR };
            (c as u8, table[c as usize - 32])
        }
        '—' => (0x97, 1000),
        '–' => (0x96, 556),
        '…' => (0x85, 1000),
        '’' => (0x92, if bold { 278 } else { 222 }),
        '‘' => (0x91, if bold { 278 } else { 222 }),
        '“' => (0x93, if bold { 500 } else { 333 }),
        '”' => (0x94, if bold { 500 } else { 333 }),
        '•' => (0x95, 350),
        '·' => (0xB7, 278),
        '\u{A0}'..='\u{FF}' => (c as u32 as u8, 556),
        _ => (b'?', if bold { 611 } else { 556 }),
    }
}

fn width(text: &str, size: f64, bold: bool) -> f64 {
    text.chars()
        .map(|c| f64::from(glyph(c, bold).1))
        .sum::<f64>()
        * size
        / 1000.0
}

/// `text` cut to `room` points, with an ellipsis when cut.
fn fit(text: &str, size: f64, bold: bool, room: f64) -> String {
    if width(text, size, bold) <= room {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        if width(&out, size, bold) + width(&format!("{c}…"), size, bold) > room {
            break;
        }
        out.push(c);
    }
    format!("{}…", out.trim_end())
}

fn wrap(text: &str, size: f64, bold: bool, room: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if width(&candidate, size, bold) > room && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Pages being drawn.
struct Canvas {
    pages: Vec<String>,
    y: f64,
}

impl Canvas {
    fn new() -> Self {
        Canvas {
            pages: vec![String::new()],
            y: PAGE_HEIGHT - MARGIN,
        }
    }

    fn page(&mut self) -> &mut String {
        self.pages.last_mut().expect("a page")
    }

    /// Room for `height` more points, or a new page.
    fn need(&mut self, height: f64) {
        if self.y - height < BOTTOM {
            self.pages.push(String::new());
            self.y = PAGE_HEIGHT - MARGIN;
        }
    }

    fn text(&mut self, x: f64, y: f64, size: f64, bold: bool, colour: Colour, text: &str) {
        let mut encoded = String::new();
        for c in text.chars() {
            match glyph(c, bold).0 {
                b'(' => encoded.push_str("\\("),
                b')' => encoded.push_str("\\)"),
                b'\\' => encoded.push_str("\\\\"),
                byte if byte.is_ascii() => encoded.push(byte as char),
                byte => {
                    let _ = write!(encoded, "\\{byte:03o}");
                }
            }
        }
        let font = if bold { "F2" } else { "F1" };
        let (r, g, b) = colour;
        let _ = writeln!(
            self.page(),
            "BT /{font} {size:.1} Tf {r:.3} {g:.3} {b:.3} rg {x:.2} {y:.2} Td ({encoded}) Tj ET"
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, colour: Colour) {
        let (r, g, b) = colour;
        let _ = writeln!(
            self.page(),
            "{r:.3} {g:.3} {b:.3} rg {x:.2} {y:.2} {w:.2} {h:.2} re f"
        );
    }

    fn rule(&mut self, x1: f64, y: f64, x2: f64, colour: Colour) {
        let (r, g, b) = colour;
        let _ = writeln!(
            self.page(),
            "{r:.3} {g:.3} {b:.3} RG 0.8 w {x1:.2} {y:.2} m {x2:.2} {y:.2} l S"
        );
    }

    fn paragraph(&mut self, text: &str, size: f64, colour: Colour) {
        let leading = size * 1.4;
        for line in wrap(text, size, false, PAGE_WIDTH - 2.0 * MARGIN) {
            self.need(leading);
            self.y -= leading;
            self.text(MARGIN, self.y, size, false, colour, &line);
        }
        self.y -= size * 0.6;
    }
}

/// Renders the blocks as a PDF document.
pub(crate) fn render(blocks: &[Block], footer: &str) -> Vec<u8> {
    let mut canvas = Canvas::new();
    let content_width = PAGE_WIDTH - 2.0 * MARGIN;
    let mut title_text = String::from("tokenwatch report");
    for block in blocks {
        match block {
            Block::Title(title, sub) => {
                title_text = title.clone();
                canvas.rect(0.0, PAGE_HEIGHT - 8.0, PAGE_WIDTH, 8.0, BLUE);
                canvas.y -= 24.0;
                canvas.text(
                    MARGIN,
                    canvas.y,
                    22.0,
                    true,
                    TEXT,
                    &fit(title, 22.0, true, content_width),
                );
                canvas.y -= 10.0;
                for line in wrap(sub, 10.5, false, content_width) {
                    canvas.y -= 14.0;
                    canvas.text(MARGIN, canvas.y, 10.5, false, GREY, &line);
                }
                canvas.y -= 14.0;
            }
            Block::Heading(text) => {
                canvas.need(60.0);
                canvas.y -= 24.0;
                canvas.text(MARGIN, canvas.y, 14.0, true, TEXT, text);
                canvas.y -= 6.0;
                canvas.rule(MARGIN, canvas.y, PAGE_WIDTH - MARGIN, RULE);
                canvas.y -= 4.0;
            }
            Block::Paragraph(text) => canvas.paragraph(text, 10.5, TEXT),
            Block::Note(text) => {
                canvas.y -= 8.0;
                canvas.paragraph(text, 8.5, GREY);
            }
            Block::Figures(figures) => {
                let (columns, gap, height) = (3usize, 10.0, 50.0);
                let box_width = (content_width - gap * (columns as f64 - 1.0)) / columns as f64;
                for row in figures.chunks(columns) {
                    canvas.need(height + gap);
                    canvas.y -= height + gap;
                    for (i, (label, value)) in row.iter().enumerate() {
                        let x = MARGIN + i as f64 * (box_width + gap);
                        canvas.rect(x, canvas.y, box_width, height, SHADE);
                        canvas.rect(x, canvas.y, 3.0, height, BLUE);
                        let value = fit(value, 17.0, true, box_width - 20.0);
                        canvas.text(x + 12.0, canvas.y + 24.0, 17.0, true, TEXT, &value);
                        let label = fit(label, 8.5, false, box_width - 20.0);
                        canvas.text(x + 12.0, canvas.y + 10.0, 8.5, false, GREY, &label);
                    }
                }
                canvas.y -= 6.0;
            }
            Block::Bars(bars) => {
                let max = bars.iter().map(|(_, v, _)| *v).max().unwrap_or(0).max(1) as f64;
                let label_width = 80.0;
                let room = content_width - label_width - 50.0;
                for (label, value, colour) in bars {
                    canvas.need(22.0);
                    canvas.y -= 22.0;
                    canvas.text(MARGIN, canvas.y + 5.0, 10.5, false, TEXT, label);
                    let length = room * (*value as f64) / max;
                    canvas.rect(
                        MARGIN + label_width,
                        canvas.y + 2.0,
                        length.max(0.5),
                        14.0,
                        hex(colour),
                    );
                    let x = MARGIN + label_width + length + 6.0;
                    canvas.text(x, canvas.y + 5.0, 10.5, true, TEXT, &thousands(*value));
                }
                canvas.y -= 8.0;
            }
            Block::Columns(caption, columns) => {
                let height = 110.0;
                canvas.need(height + 40.0);
                canvas.y -= 16.0;
                canvas.text(MARGIN, canvas.y, 9.5, false, GREY, caption);
                canvas.y -= height + 6.0;
                let base = canvas.y + 14.0;
                let max = columns.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
                let step = content_width / columns.len().max(1) as f64;
                for (i, (label, value)) in columns.iter().enumerate() {
                    let h = (height - 20.0) * (*value as f64) / max;
                    let x = MARGIN + i as f64 * step;
                    canvas.rect(x + 1.0, base, (step - 2.0).max(0.5), h, BLUE);
                    if i % 5 == 0 {
                        canvas.text(x + 1.0, base - 11.0, 8.0, false, GREY, label);
                    }
                }
                canvas.rule(MARGIN, base, PAGE_WIDTH - MARGIN, RULE);
                canvas.y -= 6.0;
            }
            Block::Table(headers, rows) => table(&mut canvas, headers, rows, content_width),
        }
    }
    let total = canvas.pages.len();
    for (i, page) in canvas.pages.iter_mut().enumerate() {
        let mut footer_canvas = Canvas {
            pages: vec![String::new()],
            y: 0.0,
        };
        footer_canvas.rule(MARGIN, 44.0, PAGE_WIDTH - MARGIN, RULE);
        footer_canvas.text(MARGIN, 30.0, 8.0, false, GREY, footer);
        let number = format!("page {} of {total}", i + 1);
        let x = PAGE_WIDTH - MARGIN - width(&number, 8.0, false);
        footer_canvas.text(x, 30.0, 8.0, false, GREY, &number);
        page.push_str(&footer_canvas.pages[0]);
    }
    assemble(&canvas.pages, &title_text)
}

fn table(canvas: &mut Canvas, headers: &[String], rows: &[Vec<String>], room: f64) {
    let (size, row_height, pad) = (9.5, 18.0, 6.0);
    // Columns as wide as their widest cell, the first taking what is left.
    let columns = headers.len().max(1);
    let mut widths: Vec<f64> = (0..columns)
        .map(|c| {
            std::iter::once(width(&headers[c], size, true))
                .chain(
                    rows.iter()
                        .map(|r| width(r.get(c).map_or("", String::as_str), size, false)),
                )
                .fold(0.0, f64::max)
                + 2.0 * pad
        })
        .collect();
    let others: f64 = widths.iter().skip(1).sum();
    widths[0] = (room - others).max(room * 0.4);
    let scale = room / widths.iter().sum::<f64>();
    if scale < 1.0 {
        widths.iter_mut().for_each(|w| *w *= scale);
    }
    let draw_row = |canvas: &mut Canvas, cells: &[String], bold: bool| {
        canvas.need(row_height);
        canvas.y -= row_height;
        if bold {
            canvas.rect(MARGIN, canvas.y, room, row_height, SHADE);
        }
        let mut x = MARGIN;
        for (c, w) in widths.iter().enumerate() {
            let cell = cells.get(c).map_or("", String::as_str);
            let text = fit(cell, size, bold, w - 2.0 * pad);
            canvas.text(x + pad, canvas.y + 5.5, size, bold, TEXT, &text);
            x += w;
        }
        canvas.rule(MARGIN, canvas.y, MARGIN + room, RULE);
    };
    canvas.y -= 4.0;
    canvas.need(2.0 * row_height);
    draw_row(canvas, headers, true);
    for row in rows {
        // A table that goes on over a page repeats its header there.
        if canvas.y - row_height < BOTTOM {
            canvas.need(2.0 * row_height);
            draw_row(canvas, headers, true);
        }
        draw_row(canvas, row, false);
    }
    canvas.y -= 8.0;
}

fn hex(colour: &str) -> Colour {
    let channel = |i: usize| {
        colour
            .get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .map_or(0.5, |v| f64::from(v) / 255.0)
    };
    (channel(1), channel(3), channel(5))
}

/// The document: catalog, page tree, the two fonts, each page and its content, the cross
/// reference table.
fn assemble(pages: &[String], title: &str) -> Vec<u8> {
    let mut objects: Vec<String> = Vec::new();
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| 6 + 2 * i).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        page_ids
            .iter()
            .map(|id| format!("{id} 0 R"))
            .collect::<Vec<_>>()
            .join(" "),
        pages.len()
    ));
    for font in ["Helvetica", "Helvetica-Bold"] {
        objects.push(format!(
            "<< /Type /Font /Subtype /Type1 /BaseFont /{font} /Encoding /WinAnsiEncoding >>"
        ));
    }
    let title: String = title
        .chars()
        .filter(|c| c.is_ascii() && !matches!(c, '(' | ')' | '\\'))
        .collect();
    objects.push(format!("<< /Title ({title}) /Producer (tokenwatch) >>"));
    for (i, content) in pages.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            page_ids[i] + 1
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    // The comment's bytes above 127 mark the file binary; the rest is ASCII.
    let mut out: Vec<u8> = "%PDF-1.4\n%âãÏÓ\n".as_bytes().to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_measured_wrapped_and_cut_with_the_fonts_metrics() {
        // "Hello" in Helvetica: H 722, e 556, l 222, l 222, o 556 = 2278 per 1000 em.
        assert!((width("Hello", 10.0, false) - 22.78).abs() < 1e-9);
        assert!(width("Hello", 10.0, true) > width("Hello", 10.0, false));
        let lines = wrap("one two three four five six", 10.0, false, 60.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| width(l, 10.0, false) <= 60.0));
        let cut = fit("a very long cell that cannot fit", 10.0, false, 50.0);
        assert!(cut.ends_with('…') && width(&cut, 10.0, false) <= 50.0);
        assert_eq!(glyph('é', false).0, 0xE9);
        assert_eq!(glyph('—', false).0, 0x97);
        assert_eq!(glyph('漢', false).0, b'?');
    }

    #[test]
    fn the_document_is_well_formed() {
        let blocks = vec![
            Block::Title("Report (test)".into(), "sub".into()),
            Block::Paragraph("Café — naïve \\ (brackets)".into()),
        ];
        let pdf = render(&blocks, "footer");
        let text = String::from_utf8(pdf).unwrap();
        assert!(text.starts_with("%PDF-1.4"));
        assert!(text.ends_with("%%EOF\n"));
        assert!(text.contains("(Caf\\351 \\227 na\\357ve \\\\ \\(brackets\\)) Tj"));
        // Every cross-reference offset points at its object.
        let xref = text.rfind("xref\n").unwrap();
        for (n, line) in text[xref..].lines().skip(3).take(7).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(
                text[offset..].starts_with(&format!("{} 0 obj", n + 1)),
                "{line}"
            );
        }
    }
}
