//! Machine-readable views of a dataset: JSON and CSV of tables, and one record with its sources
//! and everything that refers to it.
//!
//! JSON keys and CSV headers are exactly the schema's column names, in schema order, so scripts can
//! rely on them; CSV output loads back into the same records (a test checks the round trip).

use crate::load::{Dataset, Row, Table};
use crate::schema::ColumnType;

/// A row as a JSON object keyed by column name.
pub fn row_json(table: &Table, row: &Row) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (col, v) in table.schema.columns.iter().zip(&row.values) {
        m.insert(col.name.clone(), v.to_json());
    }
    serde_json::Value::Object(m)
}

/// Rows as a JSON array of objects.
pub fn rows_json(table: &Table, rows: &[&Row]) -> serde_json::Value {
    serde_json::Value::Array(rows.iter().map(|r| row_json(table, r)).collect())
}

/// Rows as CSV with the table's header, values in canonical form.
pub fn rows_csv(table: &Table, rows: &[&Row]) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail; errors are ignored rather than unwrapped.
    let _ = w.write_record(table.schema.columns.iter().map(|c| c.name.as_str()));
    for row in rows {
        let _ = w.write_record(row.values.iter().map(|v| v.to_csv_text()));
    }
    w.into_inner()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// A row of another table that refers to a record.
#[derive(Debug, Clone)]
pub struct Referrer<'a> {
    /// The referring table.
    pub table: &'a Table,
    /// The column that holds the reference.
    pub column: String,
    /// The referring row.
    pub row: &'a Row,
}

/// Every row in the dataset that refers to `key` in table `target` (e.g. a facility's flows, in
/// `from` and `to`).
pub fn referrers<'a>(ds: &'a Dataset, target: &str, key: &str) -> Vec<Referrer<'a>> {
    let mut out = Vec::new();
    for table in &ds.tables {
        for col in &table.schema.columns {
            if !matches!(
                col.ty,
                ColumnType::Ref | ColumnType::Refs | ColumnType::Node
            ) || !col.references.iter().any(|r| r == target)
            {
                continue;
            }
            for row in &table.rows {
                if table.get(row, &col.name).items().contains(&key) {
                    out.push(Referrer {
                        table,
                        column: col.name.clone(),
                        row,
                    });
                }
            }
        }
    }
    out
}

/// The source rows a record cites (through any column that references `sources`).
pub fn cited_source_rows<'a>(ds: &'a Dataset, table: &Table, row: &Row) -> Vec<&'a Row> {
    let Some(sources) = ds.table("sources") else {
        return Vec::new();
    };
    let mut out: Vec<&Row> = Vec::new();
    for col in table
        .schema
        .columns
        .iter()
        .filter(|c| c.references.iter().any(|r| r == "sources"))
    {
        for id in table.get(row, &col.name).items() {
            if let Some(r) = sources.find(id)
                && !out.iter().any(|o| std::ptr::eq(*o, r))
            {
                out.push(r);
            }
        }
    }
    out
}

/// One record with its sources and referrers:
/// `{"record": {...}, "sources": [...], "referenced_by": [{"table", "column", "record"}]}`.
pub fn record_json(ds: &Dataset, table: &Table, row: &Row) -> serde_json::Value {
    let key = table.key_of(row).unwrap_or_default();
    let sources = ds.table("sources");
    let src: Vec<serde_json::Value> = match sources {
        Some(st) => cited_source_rows(ds, table, row)
            .into_iter()
            .map(|r| row_json(st, r))
            .collect(),
        None => Vec::new(),
    };
    let refs: Vec<serde_json::Value> = referrers(ds, &table.schema.name, &key)
        .into_iter()
        .map(|r| {
            serde_json::json!({
                "table": r.table.schema.name,
                "column": r.column,
                "line": r.row.line,
                "record": row_json(r.table, r.row),
            })
        })
        .collect();
    serde_json::json!({ "record": row_json(table, row), "sources": src, "referenced_by": refs })
}
