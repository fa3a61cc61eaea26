//! Typed cell values and their canonical text, JSON and CSV forms.

use lodestone_model::Date;

/// A parsed cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An empty cell with no default.
    Empty,
    /// Text, an id, a code, a URL or an enum value.
    Text(String),
    /// A `;`-separated list (refs, enums), items trimmed.
    List(Vec<String>),
    /// A number in the column's canonical unit.
    Number(f64),
    /// A whole number.
    Integer(i64),
    /// A date.
    Date(Date),
    /// The cell did not parse; its diagnostic has been reported. Cross-table checks skip it.
    Invalid,
}

impl Value {
    /// The text of a `Text` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The number of a `Number` or `Integer` value.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The items of a list, or the single text as a one-item list.
    pub fn items(&self) -> Vec<&str> {
        match self {
            Value::Text(s) => vec![s.as_str()],
            Value::List(v) => v.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// The canonical CSV text; loading it again yields the same value.
    ///
    /// Numbers use Rust's shortest round-trip formatting, so no precision is lost.
    pub fn to_csv_text(&self) -> String {
        match self {
            Value::Empty | Value::Invalid => String::new(),
            Value::Text(s) => s.clone(),
            Value::List(v) => v.join(";"),
            Value::Number(n) => format!("{n}"),
            Value::Integer(i) => i.to_string(),
            Value::Date(d) => d.to_string(),
        }
    }

    /// The JSON form: strings, numbers, arrays of strings, or `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Empty | Value::Invalid => serde_json::Value::Null,
            Value::Text(s) => s.clone().into(),
            Value::List(v) => v.clone().into(),
            Value::Number(n) => {
                serde_json::Number::from_f64(*n).map_or(serde_json::Value::Null, Into::into)
            }
            Value::Integer(i) => (*i).into(),
            Value::Date(d) => d.to_string().into(),
        }
    }
}
