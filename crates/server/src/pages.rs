//! Record pages: every record of every table as a page generated from the schema — each field
//! with its unit and description, references as links, the sources it cites (linked to their
//! own pages and to the original), and every record that refers to it. Server-rendered HTML with
//! no script, so the pages work in any browser and under the strict CSP.

use lodestone_world::World;
use lodestone_world::views::record::row_label;

use crate::esc;

/// A whole page around `body` (trusted HTML, every value in it escaped by the caller).
pub fn page(title: &str, body: &str) -> String {
    crate::body_page(title, body, false)
}

/// The page of record `id` of table `kind`: the record view rendered by `templates/record.html`.
pub fn record_page(ds: &World, kind: &str, id: &str) -> Option<String> {
    let t = ds.table(kind)?;
    let v = lodestone_world::views::record::record(ds, kind, id).ok()?;
    let text = |m: &serde_json::Map<String, serde_json::Value>, k: &str| {
        m.get(k)
            .map(|x| match x {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    let sources = v
        .sources
        .iter()
        .map(|s| {
            (
                text(s, "id"),
                text(s, "publisher"),
                text(s, "title"),
                text(s, "date"),
                text(s, "url"),
                text(s, "conflict"),
            )
        })
        .collect();
    let mut groups: Vec<(String, Vec<lodestone_world::views::record::Referrer>)> = Vec::new();
    for x in &v.referenced_by {
        match groups.last_mut() {
            Some((name, list)) if *name == x.table => list.push(x.clone()),
            _ => groups.push((x.table.clone(), vec![x.clone()])),
        }
    }
    Some(crate::templates::render(&crate::templates::RecordPage {
        title: format!("{kind} {id}"),
        description: t.schema.description.clone(),
        sources,
        groups,
        v,
    }))
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
