//! What client commands print: aligned tables or JSON on stdout, errors on stderr.

use std::io::Write;

use tokenwatch_proto::Status;

/// Prints rows under a header, each column as wide as its widest cell.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |out: &mut std::io::StdoutLock<'_>, cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(&mut out, header.to_vec())?;
    for row in rows {
        line(&mut out, row.iter().map(String::as_str).collect())?;
    }
    Ok(())
}

/// Prints a JSON value, pretty.
pub(crate) fn json(value: &serde_json::Value) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    )
}

/// Prints one line.
pub(crate) fn line(text: &str) -> std::io::Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")
}

/// Reports a failed command on stderr: a gRPC status as `CODE: message`, anything else with
/// its cause chain.
pub(crate) fn error(error: &anyhow::Error) {
    let mut err = std::io::stderr().lock();
    let text = match error.downcast_ref::<Status>() {
        Some(status) => format!("{:?}: {}", status.code(), status.message()),
        None => format!("{error:#}"),
    };
    let _ = writeln!(err, "error: {text}");
}
