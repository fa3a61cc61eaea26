//! Rows as tables: every row type of a view names its columns (with units) and gives its cells
//! typed, so one renderer per format (text, CSV, XLSX, HTML) serves every view, and numbers are
//! formatted for people in one place ([`Cell::display`]).

/// One column of a view's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Machine name: the CSV header and the JSON key of the row's field.
    pub key: &'static str,
    /// Header for people, with the unit (e.g. `Share (%)`).
    pub label: &'static str,
}

impl Column {
    /// A column.
    pub const fn new(key: &'static str, label: &'static str) -> Column {
        Column { key, label }
    }
}

/// One typed cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing to show.
    Empty,
    /// Text.
    Text(String),
    /// Something with an id and a name: people read the name, machines (CSV) get the id.
    Named {
        /// The id (ISO3 code, record id, vocabulary word).
        id: String,
        /// The name.
        name: String,
    },
    /// A fraction shown as a percentage (0.412 → 41.2 %).
    Share(f64),
    /// A quantity (tonnes, USD): thousands separators, sensible significant figures.
    Quantity(f64),
    /// An index such as the HHI (0–10,000): whole numbers with separators.
    Index(f64),
    /// A whole number shown as is (a year).
    Integer(i64),
    /// Several ids or words.
    List(Vec<String>),
}

impl Cell {
    /// A named thing: `name` for people, `id` for machines.
    pub fn named(id: impl Into<String>, name: impl Into<String>) -> Cell {
        Cell::Named {
            id: id.into(),
            name: name.into(),
        }
    }

    /// A vocabulary word: the word for machines, with spaces for people.
    pub fn word(word: &str) -> Cell {
        Cell::named(word, word.replace('_', " "))
    }

    /// Text of a string-like value; empty for `None`.
    pub fn text(s: impl Into<Option<String>>) -> Cell {
        s.into().map_or(Cell::Empty, Cell::Text)
    }

    /// The cell for people: numbers formatted, lists joined.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => "–".into(),
            Cell::Text(s) => s.clone(),
            Cell::Named { name, .. } => name.clone(),
            Cell::Share(x) => format_share(*x),
            Cell::Quantity(x) => format_quantity(*x),
            Cell::Index(x) => group_thousands(&format!("{:.0}", clean(*x))),
            Cell::Integer(i) => i.to_string(),
            Cell::List(v) => v.join(", "),
        }
    }

    /// The cell for machines (CSV): numbers in full precision, lists joined by `;`.
    pub fn machine(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Named { id, .. } => id.clone(),
            Cell::Share(x) | Cell::Quantity(x) | Cell::Index(x) => format!("{}", clean(*x)),
            Cell::Integer(i) => i.to_string(),
            Cell::List(v) => v.join(";"),
        }
    }

    /// Whether the cell is a number (right-aligned in tables).
    pub fn is_number(&self) -> bool {
        matches!(
            self,
            Cell::Share(_) | Cell::Quantity(_) | Cell::Index(_) | Cell::Integer(_)
        )
    }
}

/// A row type of a view.
pub trait Tabular {
    /// The columns, in order.
    fn columns() -> &'static [Column];
    /// The cells, one per column.
    fn cells(&self) -> Vec<Cell>;
}

/// Rounding noise (−2e-19, 0.30000000000000004) removed for display: values within 1e-9 of zero
/// are zero.
fn clean(x: f64) -> f64 {
    if x.abs() < 1e-9 { 0.0 } else { x }
}

/// A fraction as a percentage with one decimal (three significant figures below 1 %).
pub fn format_share(x: f64) -> String {
    let p = clean(x) * 100.0;
    if p == 0.0 {
        "0 %".into()
    } else if p.abs() < 1.0 {
        format!("{} %", significant(p, 2))
    } else {
        format!("{p:.1} %")
    }
}

/// A quantity with thousands separators: whole numbers from 100 up, three significant figures
/// below.
pub fn format_quantity(x: f64) -> String {
    let x = clean(x);
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 100.0 {
        group_thousands(&format!("{x:.0}"))
    } else {
        significant(x, 3)
    }
}

/// `x` to `digits` significant figures, without exponent notation.
fn significant(x: f64, digits: i32) -> String {
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

/// Inserts `,` between groups of three digits of the integer part.
pub fn group_thousands(number: &str) -> String {
    let (sign, rest) = number.strip_prefix('-').map_or(("", number), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, ""), |(i, f)| (i, f));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if frac.is_empty() {
        format!("{sign}{out}")
    } else {
        format!("{sign}{out}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_formatted_for_people() {
        assert_eq!(format_quantity(13_978.4), "13,978");
        assert_eq!(format_quantity(1_234_567.0), "1,234,567");
        assert_eq!(format_quantity(42.0), "42.0");
        assert_eq!(format_quantity(0.012_34), "0.0123");
        assert_eq!(format_quantity(-2e-19), "0");
        assert_eq!(format_share(0.412), "41.2 %");
        assert_eq!(format_share(0.004_56), "0.46 %");
        assert_eq!(format_share(1.000_000_000_000_000_2), "100.0 %");
        assert_eq!(Cell::Index(5012.4).display(), "5,012");
        assert_eq!(group_thousands("-1234.5"), "-1,234.5");
        assert_eq!(Cell::Share(-2e-19).machine(), "0");
    }
}
