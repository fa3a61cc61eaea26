//! Record pages: every record of every table as a page generated from the schema — each field
//! with its unit and description, references as links, the sources it cites (linked to their
//! own pages and to the original), and every record that refers to it — and the lists of tables
//! and records. Askama templates over `world::views::record`, no script.

use lodestone_world::World;
use lodestone_world::views::record::row_label;

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
    Some(crate::templates::render(&crate::templates::RecordsPage {
        title: kind.to_string(),
        table: Some((kind.to_string(), t.schema.description.clone())),
        rows: t
            .rows
            .iter()
            .map(|r| (t.key_of(r).filter(|k| t.find(k).is_some()), row_label(t, r)))
            .collect(),
        tables: Vec::new(),
    }))
}

/// The list of tables.
pub fn tables_page(ds: &World) -> String {
    crate::templates::render(&crate::templates::RecordsPage {
        title: "Records".into(),
        table: None,
        rows: Vec::new(),
        tables: ds
            .tables
            .iter()
            .map(|t| {
                (
                    t.schema.name.clone(),
                    t.rows.len(),
                    t.schema.description.clone(),
                )
            })
            .collect(),
    })
}
