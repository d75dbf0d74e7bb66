//! The report as one self-contained HTML page: inline style, charts as inline SVG, no script.

use std::fmt::Write as _;

use crate::Block;
use crate::content::thousands;

const STYLE: &str = "body{font-family:Helvetica,Arial,sans-serif;color:#1f2933;max-width:760px;\
margin:40px auto;padding:0 24px;line-height:1.45}h1{font-size:26px;margin:0}\
.sub{color:#616e7c;margin:4px 0 24px}h2{font-size:17px;border-bottom:1px solid #d9e2ec;\
padding-bottom:4px;margin-top:32px}.figures{display:grid;grid-template-columns:repeat(3,1fr);\
gap:12px;margin:20px 0}.figure{border:1px solid #d9e2ec;border-radius:6px;padding:10px 12px}\
.figure b{display:block;font-size:22px}.figure span{color:#616e7c;font-size:13px}\
table{border-collapse:collapse;width:100%;font-size:14px}th{text-align:left;background:#f0f4f8}\
th,td{padding:6px 8px;border-bottom:1px solid #e4e7eb}.note{color:#616e7c;font-size:12px;\
margin-top:28px}.caption{color:#616e7c;font-size:13px}footer{color:#9aa5b1;font-size:12px;\
margin-top:32px}@media print{body{margin:0 auto}}";

/// Renders the blocks as a page.
pub(crate) fn render(blocks: &[Block], footer: &str) -> String {
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::Title(title, _) => Some(title.as_str()),
            _ => None,
        })
        .unwrap_or("tokenwatch report");
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(title)
    );
    for block in blocks {
        match block {
            Block::Title(title, sub) => {
                let _ = writeln!(
                    out,
                    "<h1>{}</h1><p class=\"sub\">{}</p>",
                    escape(title),
                    escape(sub)
                );
            }
            Block::Heading(text) => {
                let _ = writeln!(out, "<h2>{}</h2>", escape(text));
            }
            Block::Paragraph(text) => {
                let _ = writeln!(out, "<p>{}</p>", escape(text));
            }
            Block::Note(text) => {
                let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(text));
            }
            Block::Figures(figures) => {
                out.push_str("<div class=\"figures\">");
                for (label, value) in figures {
                    let _ = write!(
                        out,
                        "<div class=\"figure\"><b>{}</b><span>{}</span></div>",
                        escape(value),
                        escape(label)
                    );
                }
                out.push_str("</div>\n");
            }
            Block::Bars(bars) => out.push_str(&bars_svg(bars)),
            Block::Columns(caption, columns) => out.push_str(&columns_svg(caption, columns)),
            Block::Table(headers, rows) => {
                out.push_str("<table><thead><tr>");
                for header in headers {
                    let _ = write!(out, "<th>{}</th>", escape(header));
                }
                out.push_str("</tr></thead><tbody>");
                for row in rows {
                    out.push_str("<tr>");
                    for cell in row {
                        let _ = write!(out, "<td>{}</td>", escape(cell));
                    }
                    out.push_str("</tr>");
                }
                out.push_str("</tbody></table>\n");
            }
        }
    }
    let _ = write!(out, "<footer>{}</footer>\n</body></html>\n", escape(footer));
    out
}

fn bars_svg(bars: &[(String, i64, String)]) -> String {
    let max = bars.iter().map(|(_, v, _)| *v).max().unwrap_or(0).max(1) as f64;
    let (row, label_width, width) = (30.0, 110.0, 600.0);
    let height = row * bars.len() as f64;
    let mut out = format!(
        "<svg role=\"img\" aria-label=\"Alerts by severity\" viewBox=\"0 0 {width} {height}\" \
         width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"Helvetica,Arial\">"
    );
    for (i, (label, value, colour)) in bars.iter().enumerate() {
        let y = i as f64 * row;
        let length = (width - label_width - 60.0) * (*value as f64) / max;
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{}\" font-size=\"14\">{}</text>\
             <rect x=\"{label_width}\" y=\"{}\" width=\"{length:.1}\" height=\"18\" rx=\"2\" \
             fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"14\">{}</text>",
            y + 18.0,
            escape(label),
            y + 4.0,
            escape(colour),
            label_width + length + 8.0,
            y + 18.0,
            thousands(*value)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn columns_svg(caption: &str, columns: &[(String, i64)]) -> String {
    let max = columns.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let (width, height, base) = (600.0, 140.0, 120.0);
    let step = width / columns.len().max(1) as f64;
    let mut out = format!(
        "<p class=\"caption\">{}</p><svg role=\"img\" aria-label=\"{}\" \
         viewBox=\"0 0 {width} {height}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\" \
         font-family=\"Helvetica,Arial\">",
        escape(caption),
        escape(caption)
    );
    for (i, (label, value)) in columns.iter().enumerate() {
        let h = (base - 10.0) * (*value as f64) / max;
        let x = i as f64 * step;
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#2f6fb0\"/>",
            x + 1.0,
            base - h,
            (step - 2.0).max(1.0)
        );
        if i % 5 == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" fill=\"#616e7c\">{}</text>",
                x + 1.0,
                base + 14.0,
                escape(label)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
