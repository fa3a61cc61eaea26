//! Record pages: every record of every table as a page generated from the schema — each field
//! with its unit and description, references as links, the sources it cites (linked to their
//! own pages and to the original), and every record that refers to it. Server-rendered HTML with
//! no script, so the pages work in any browser and under the strict CSP.

use lodestone_format::export::{cited_source_rows, referrers};
use lodestone_format::load::{Row, Table};
use lodestone_format::schema::{ColumnSchema, ColumnType};
use lodestone_format::value::Value;
use lodestone_world::World;

use crate::esc;

/// A whole page around `body` (trusted HTML, every value in it escaped by the caller).
pub fn page(title: &str, body: &str) -> String {
    crate::body_page(title, body, false)
}

/// The link to a record, if `key` is a record of `table`.
fn record_link(ds: &World, table: &str, key: &str) -> Option<String> {
    let t = ds.table(table)?;
    t.contains(key).then(|| {
        format!(
            "<a href=\"/records/{}/{}\">{}</a>",
            esc(table),
            esc(key),
            esc(key)
        )
    })
}

/// One cell as HTML: references become links, numbers carry the column's unit.
fn cell(ds: &World, col: &ColumnSchema, v: &Value) -> String {
    match v {
        Value::Empty | Value::Invalid => "–".into(),
        Value::Number(n) => {
            let unit = col.unit.to_string();
            format!(
                "{}{}{}",
                n,
                if unit.is_empty() { "" } else { " " },
                esc(&unit)
            )
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
                .map(|item| {
                    targets
                        .iter()
                        .find_map(|t| record_link(ds, t, item))
                        .unwrap_or_else(|| esc(item))
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::Text(s) if col.ty == ColumnType::Url => {
            format!("<a href=\"{0}\" rel=\"noreferrer\">{0}</a>", esc(s))
        }
        Value::Integer(i) => i.to_string(),
        Value::Date(d) => d.to_string(),
        _ => esc(&v.items().join(", ")).replace('\n', "<br>"),
    }
}

/// A one-line label of a row: its key and name, or the values of its first columns.
fn row_label(t: &Table, r: &Row) -> String {
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

/// The page of record `id` of table `kind`; `None` if there is no such record.
pub fn record_page(ds: &World, kind: &str, id: &str) -> Option<String> {
    let t = ds.table(kind)?;
    let r = t.find(id)?;
    let estimate = t
        .schema
        .estimate_when
        .as_ref()
        .is_some_and(|(col, val)| t.text(r, col) == Some(val.as_str()));
    let mut body = format!(
        "<h1>{}</h1><p class=\"sub\">{} <code>{}</code> · {}{} · <a href=\"/api/tables/{}/{}\">JSON</a></p>",
        esc(&row_label(t, r)),
        esc(kind),
        esc(id),
        esc(&t.schema.description),
        if estimate {
            " · <strong class=\"est\">estimate</strong>"
        } else {
            ""
        },
        esc(kind),
        esc(id)
    );
    body.push_str("<table>");
    for (col, v) in t.schema.columns.iter().zip(&r.values) {
        body.push_str(&format!(
            "<tr><th>{}<br><small>{}</small></th><td>{}</td></tr>",
            esc(&col.name),
            esc(&col.description),
            cell(ds, col, v)
        ));
    }
    body.push_str("</table>");
    // Sources.
    if let Some(st) = ds.table("sources") {
        let cited = cited_source_rows(ds, t, r);
        if !cited.is_empty() {
            body.push_str("<h2>Sources</h2><ol>");
            for s in cited {
                let sid = st.key_of(s).unwrap_or_default();
                let url = st.text(s, "url").unwrap_or_default();
                body.push_str(&format!(
                    "<li><a href=\"/records/sources/{0}\">{0}</a>: {1}, <em>{2}</em> ({3}) <a href=\"{4}\" rel=\"noreferrer\">original</a>{5}</li>",
                    esc(&sid),
                    esc(st.text(s, "publisher").unwrap_or_default()),
                    esc(st.text(s, "title").unwrap_or_default()),
                    esc(&st.get(s, "date").to_csv_text()),
                    esc(url),
                    st.text(s, "conflict")
                        .map_or(String::new(), |c| format!("<br><small>Conflict: {}</small>", esc(c)))
                ));
            }
            body.push_str("</ol>");
        }
    }
    // Referrers, grouped by table.
    let refs = referrers(ds, kind, id);
    if !refs.is_empty() {
        body.push_str("<h2>Referred to by</h2>");
        let mut tables: Vec<&str> = refs.iter().map(|x| x.table.schema.name.as_str()).collect();
        tables.dedup();
        for name in tables {
            let rows: Vec<_> = refs
                .iter()
                .filter(|x| x.table.schema.name == name)
                .collect();
            body.push_str(&format!("<h3>{} ({})</h3><ul>", esc(name), rows.len()));
            for x in rows {
                let label = esc(&row_label(x.table, x.row));
                let item = match x.table.key_of(x.row) {
                    Some(k) if x.table.find(&k).is_some() => format!(
                        "<a href=\"/records/{}/{}\">{}</a>",
                        esc(name),
                        esc(&k),
                        label
                    ),
                    _ => label,
                };
                body.push_str(&format!(
                    "<li>{item} <small>(as {}; {}:{})</small></li>",
                    esc(&x.column),
                    esc(&x.table.schema.file),
                    x.row.line
                ));
            }
            body.push_str("</ul>");
        }
    }
    Some(page(&format!("{kind} {id}"), &body))
}

/// The list of the records of table `kind`; `None` for an unknown table.
pub fn table_page(ds: &World, kind: &str) -> Option<String> {
    let t = ds.table(kind)?;
    let mut body = format!(
        "<h1>{}</h1><p class=\"sub\">{} · {} records · <a href=\"/api/tables/{}\">JSON</a></p><ul class=\"cols\">",
        esc(kind),
        esc(&t.schema.description),
        t.rows.len(),
        esc(kind)
    );
    for r in &t.rows {
        let label = esc(&row_label(t, r));
        match t.key_of(r) {
            Some(k) if t.find(&k).is_some() => body.push_str(&format!(
                "<li><a href=\"/records/{}/{}\">{}</a></li>",
                esc(kind),
                esc(&k),
                label
            )),
            _ => body.push_str(&format!("<li>{label}</li>")),
        }
    }
    body.push_str("</ul>");
    Some(page(kind, &body))
}

/// The list of tables.
pub fn tables_page(ds: &World) -> String {
    let mut body = String::from(
        "<h1>Records</h1><p class=\"sub\">Every table of the dataset; every record has a page with its sources.</p><table>",
    );
    for t in &ds.tables {
        body.push_str(&format!(
            "<tr><th><a href=\"/records/{0}\">{0}</a></th><td>{1} records</td><td>{2}</td></tr>",
            esc(&t.schema.name),
            t.rows.len(),
            esc(&t.schema.description)
        ));
    }
    body.push_str("</table>");
    page("Records", &body)
}
