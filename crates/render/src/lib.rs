//! Renders the views of `lodestone-world`.
//!
//! Every row type of a view implements [`Tabular`]; the functions here turn a slice of rows into
//! each format a user can ask for: an aligned text table (the CLI), CSV and XLSX (the CLI, the
//! API and the pages' downloads), and an HTML table whose every cell is escaped (the pages).
//! Numbers for people are formatted by [`Cell::display`]; CSV and XLSX carry full precision.

use lodestone_world::views::{Cell, Tabular};

/// Longest cell shown in a text table; longer text is cut with `…`.
const MAX_CELL: usize = 48;

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

/// Rows as aligned text columns under their labels; numbers right-aligned.
pub fn text_table<R: Tabular>(rows: &[R]) -> String {
    let header: Vec<String> = R::columns().iter().map(|c| cut(c.label)).collect();
    let body: Vec<Vec<(String, bool)>> = rows
        .iter()
        .map(|r| {
            r.cells()
                .iter()
                .map(|c| (cut(&c.display()), c.is_number()))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &body {
        for (w, (c, _)) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let pad = |c: &str, w: usize, right: bool| {
        let fill = " ".repeat(w.saturating_sub(c.chars().count()));
        if right {
            format!("{fill}{c}")
        } else {
            format!("{c}{fill}")
        }
    };
    let mut out = String::new();
    let head: Vec<String> = header
        .iter()
        .zip(&widths)
        .map(|(h, w)| pad(h, *w, false))
        .collect();
    out.push_str(head.join("  ").trim_end());
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&rule.join("  "));
    out.push('\n');
    for r in &body {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|((c, num), w)| pad(c, *w, *num))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Rows as CSV under the columns' machine names; numbers in full precision, lists joined by `;`.
pub fn csv<R: Tabular>(rows: &[R]) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail; a failure would only lose the rows, never panic.
    let _ = w.write_record(R::columns().iter().map(|c| c.key));
    for r in rows {
        let _ = w.write_record(r.cells().iter().map(Cell::machine));
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Rows as an Excel workbook with one sheet named `sheet`: labels in the first row, numbers as
/// numbers (shares as fractions with a percentage format).
pub fn xlsx<R: Tabular>(rows: &[R], sheet: &str) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    let name: String = sheet
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    ws.set_name(if name.is_empty() { "Sheet1" } else { &name })
        .map_err(|e| e.to_string())?;
    let bold = Format::new().set_bold();
    let percent = Format::new().set_num_format("0.0%");
    let thousands = Format::new().set_num_format("#,##0.###");
    let fail = |e: rust_xlsxwriter::XlsxError| e.to_string();
    for (c, col) in R::columns().iter().enumerate() {
        ws.write_string_with_format(0, c as u16, col.label, &bold)
            .map_err(fail)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.cells().iter().enumerate() {
            let c = c as u16;
            match cell {
                Cell::Empty => {}
                Cell::Share(x) => {
                    ws.write_number_with_format(r, c, *x, &percent)
                        .map_err(fail)?;
                }
                Cell::Quantity(x) | Cell::Index(x) => {
                    ws.write_number_with_format(r, c, *x, &thousands)
                        .map_err(fail)?;
                }
                Cell::Integer(i) => {
                    ws.write_number(r, c, *i as f64).map_err(fail)?;
                }
                other => {
                    ws.write_string(r, c, other.machine()).map_err(fail)?;
                }
            }
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

/// Escapes text for HTML element content and quoted attribute values, with the same numeric
/// entities as the askama templates, so a string is escaped alike wherever it is shown.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&#38;"),
            '<' => out.push_str("&#60;"),
            '>' => out.push_str("&#62;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Rows as an HTML `<table>`: labels as headers, every cell escaped, numbers right-aligned
/// (class `num`).
pub fn html_table<R: Tabular>(rows: &[R]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for c in R::columns() {
        s.push_str(&format!("<th>{}</th>", escape(c.label)));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for cell in r.cells() {
            let class = if cell.is_number() {
                " class=\"num\""
            } else {
                ""
            };
            s.push_str(&format!("<td{class}>{}</td>", escape(&cell.display())));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodestone_world::views::Column;

    struct Row(&'static str, f64, f64);

    impl Tabular for Row {
        fn columns() -> &'static [Column] {
            const C: &[Column] = &[
                Column::new("name", "Name"),
                Column::new("share", "Share (%)"),
                Column::new("quantity", "t REO"),
            ];
            C
        }
        fn cells(&self) -> Vec<Cell> {
            vec![
                Cell::Text(self.0.into()),
                Cell::Share(self.1),
                Cell::Quantity(self.2),
            ]
        }
    }

    #[test]
    fn every_format_renders_the_same_rows() {
        let rows = [
            Row("<b>&\"x\"", 0.412, 13_978.4),
            Row("Japan, Inc.", 1e-20, 0.5),
        ];
        assert_eq!(
            text_table(&rows),
            "Name         Share (%)  t REO\n-----------  ---------  ------\n<b>&\"x\"         41.2 %  13,978\nJapan, Inc.        0 %   0.500\n"
        );
        assert_eq!(
            csv(&rows),
            "name,share,quantity\n\"<b>&\"\"x\"\"\",0.412,13978.4\n\"Japan, Inc.\",0,0.5\n"
        );
        let html = html_table(&rows);
        assert!(
            html.contains("<td>&#60;b&#62;&#38;&#34;x&#34;</td>"),
            "{html}"
        );
        assert!(!html.contains("<b>"));
        let book = xlsx(&rows, "concentration").unwrap();
        assert_eq!(&book[..2], b"PK", "an XLSX file is a zip archive");
    }
}
