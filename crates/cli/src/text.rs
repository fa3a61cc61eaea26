//! Plain-text tables for people.

/// Longest cell shown in a table listing; longer text is cut with `…`.
const MAX_CELL: usize = 40;

fn cut(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    if s.chars().count() > MAX_CELL {
        let mut t: String = s.chars().take(MAX_CELL - 1).collect();
        t.push('…');
        t
    } else {
        s
    }
}

/// Renders rows as aligned columns with a header and a rule.
pub fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = header.iter().map(|h| cut(h)).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w.saturating_sub(c.chars().count()))))
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let mut out = line(&header);
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

/// One JSON value as a CSV cell: strings quoted when needed, arrays joined with `;`, null empty.
pub fn csv_cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) if s.contains([',', '"', '\n']) => {
            format!("\"{}\"", s.replace('"', "\"\""))
        }
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(a) => csv_cell(&serde_json::Value::String(
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(";"),
        )),
        other => other.to_string(),
    }
}

/// Rows of JSON values as CSV with a header.
pub fn csv(header: &[&str], rows: &[Vec<serde_json::Value>]) -> String {
    let mut s = header.join(",") + "\n";
    for r in rows {
        s.push_str(&r.iter().map(csv_cell).collect::<Vec<_>>().join(","));
        s.push('\n');
    }
    s
}
