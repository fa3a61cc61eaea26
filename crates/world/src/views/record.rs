//! One record of the dataset with its sources and the records that refer to it: the view behind
//! `lodestone show KIND ID --format json`, `/api/tables/{kind}/{id}` and the record page.

use lodestone_format::export::{cited_source_rows, referrers, row_json};
use lodestone_format::{ColumnType, Row, Table, Value};
use schemars::JsonSchema;
use serde::Serialize;

use super::ViewError;
use super::risk::unknown_record;
use crate::World;

/// A record, keyed by the schema's column names (see docs/dataset.md), with its sources and
/// referrers.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RecordView {
    /// The table.
    pub table: String,
    /// The record's key.
    pub key: String,
    /// A one-line label (its name, or its first values).
    pub label: String,
    /// Whether the record is marked as an estimate.
    pub estimate: bool,
    /// The record: one value per column, in the schema's units.
    pub record: serde_json::Map<String, serde_json::Value>,
    /// The source records it cites.
    pub sources: Vec<serde_json::Map<String, serde_json::Value>>,
    /// The records that refer to it.
    pub referenced_by: Vec<Referrer>,
    /// The record's fields for people: each column with its unit and description, the value
    /// formatted, references resolved to the records they name.
    pub fields: Vec<Field>,
}

/// A record that refers to another.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Referrer {
    /// Its table.
    pub table: String,
    /// The column holding the reference.
    pub column: String,
    /// Its file and line.
    pub file: String,
    /// Line in the file.
    pub line: u64,
    /// Its key, if it has a page.
    pub key: Option<String>,
    /// Its label.
    pub label: String,
    /// The record.
    pub record: serde_json::Map<String, serde_json::Value>,
}

/// One field for people.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// What the column means.
    pub description: String,
    /// The value, in parts: text, and for references and URLs where they lead.
    pub parts: Vec<FieldPart>,
}

/// Part of a field's value.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FieldPart {
    /// Text.
    pub text: String,
    /// A record page (`/records/{table}/{id}`) or an external URL.
    pub link: Option<String>,
}

fn object(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

/// A one-line label of a row: its name or title, or the values of its first columns.
pub fn row_label(t: &Table, r: &Row) -> String {
    if let Some(name) = t.text(r, "name").or_else(|| t.text(r, "title")) {
        return name.to_string();
    }
    t.schema
        .columns
        .iter()
        .zip(&r.values)
        .take(4)
        .map(|(_, v)| v.to_csv_text())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

fn field_parts(world: &World, col: &lodestone_format::ColumnSchema, v: &Value) -> Vec<FieldPart> {
    let text = |t: String| FieldPart {
        text: t,
        link: None,
    };
    match v {
        Value::Empty | Value::Invalid => vec![text("–".into())],
        Value::Number(n) => {
            let unit = col.unit.to_string();
            vec![text(if unit.is_empty() {
                n.to_string()
            } else {
                format!("{n} {unit}")
            })]
        }
        _ if matches!(
            col.ty,
            ColumnType::Ref | ColumnType::Refs | ColumnType::Node | ColumnType::Iso3
        ) =>
        {
            let targets: Vec<&str> = if col.ty == ColumnType::Iso3 {
                vec!["countries"]
            } else {
                col.references.iter().map(String::as_str).collect()
            };
            v.items()
                .iter()
                .map(|item| FieldPart {
                    text: item.to_string(),
                    link: targets
                        .iter()
                        .find(|t| world.table(t).is_some_and(|x| x.contains(item)))
                        .map(|t| format!("/records/{t}/{item}")),
                })
                .collect()
        }
        Value::Text(s) if col.ty == ColumnType::Url => vec![FieldPart {
            text: s.clone(),
            link: Some(s.clone()),
        }],
        other => {
            let joined = other.items().join(", ");
            vec![text(if joined.is_empty() {
                other.to_csv_text()
            } else {
                joined
            })]
        }
    }
}

/// The record `id` of table `kind`.
pub fn record(world: &World, kind: &str, id: &str) -> Result<RecordView, ViewError> {
    let t = world.table(kind).ok_or_else(|| {
        ViewError::NotFound(lodestone_model::UnknownValue::new(
            "table",
            kind,
            world.tables.iter().map(|t| t.schema.name.clone()).collect(),
        ))
    })?;
    let r = t
        .find(id)
        .ok_or_else(|| ViewError::NotFound(unknown_record(world, kind, id)))?;
    let estimate = t
        .schema
        .estimate_when
        .as_ref()
        .is_some_and(|(col, val)| t.text(r, col) == Some(val.as_str()));
    let sources = match world.table("sources") {
        Some(st) => cited_source_rows(world, t, r)
            .into_iter()
            .map(|s| object(row_json(st, s)))
            .collect(),
        None => Vec::new(),
    };
    let referenced_by = referrers(world, kind, id)
        .into_iter()
        .map(|x| Referrer {
            table: x.table.schema.name.clone(),
            column: x.column.clone(),
            file: x.table.schema.file.clone(),
            line: x.row.line,
            key: x.table.key_of(x.row).filter(|k| x.table.find(k).is_some()),
            label: row_label(x.table, x.row),
            record: object(row_json(x.table, x.row)),
        })
        .collect();
    Ok(RecordView {
        table: kind.to_string(),
        key: id.to_string(),
        label: row_label(t, r),
        estimate,
        record: object(row_json(t, r)),
        sources,
        referenced_by,
        fields: t
            .schema
            .columns
            .iter()
            .zip(&r.values)
            .map(|(col, v)| Field {
                name: col.name.clone(),
                description: col.description.clone(),
                parts: field_parts(world, col, v),
            })
            .collect(),
    })
}
