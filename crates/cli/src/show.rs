//! `lodestone show`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use lodestone_format::export::{cited_source_rows, referrers, rows_csv, rows_json};
use lodestone_format::{Row, Table};
use lodestone_world::World;

use crate::ShowFormat;
use crate::text;

/// Finds a table by name, accepting singular forms (`facility`, `country`).
fn find_table<'a>(ds: &'a World, kind: &str) -> Result<&'a Table, String> {
    let kind = kind.to_ascii_lowercase();
    let candidates = [
        kind.clone(),
        format!("{kind}s"),
        format!("{}ies", kind.trim_end_matches('y')),
        format!("{kind}es"),
    ];
    ds.tables
        .iter()
        .find(|t| candidates.contains(&t.schema.name))
        .ok_or_else(|| {
            let names: Vec<&str> = ds.tables.iter().map(|t| t.schema.name.as_str()).collect();
            lodestone_model::UnknownValue::new("kind of record (a table)", &kind, names).to_string()
        })
}

/// Row filters that apply to the `sources` table.
pub struct Filter {
    /// Only sources no record cites.
    pub unused: bool,
    /// Only sources with a `conflict` note.
    pub conflicts: bool,
}

/// Runs `lodestone show`.
pub fn run(
    dir: &Path,
    kind: &str,
    id: Option<&str>,
    format: ShowFormat,
    filter: Filter,
) -> Result<ExitCode, String> {
    let (ds, report) = lodestone_world::load_dir(dir)?;
    let errors = report.errors().count();
    if errors > 0 {
        eprintln!(
            "lodestone: warning: {} has {errors} error(s); run `lodestone check` to see them",
            dir.display()
        );
    }
    let table = find_table(&ds, kind)?;
    let rows: Vec<&Row> = match id {
        None => table.rows.iter().collect(),
        Some(id) if table.schema.has_single_id() => match table.find(id) {
            Some(r) => vec![r],
            None => {
                let ids: Vec<&str> = table
                    .rows
                    .iter()
                    .filter_map(|r| table.get(r, &table.schema.key[0]).as_str())
                    .collect();
                let close: Vec<&str> = ids
                    .iter()
                    .copied()
                    .filter(|c| strsim_like(c, id))
                    .take(5)
                    .collect();
                return Err(format!(
                    "no {} with id '{id}'{}; `lodestone show {}` lists them",
                    table.schema.name,
                    if close.is_empty() {
                        String::new()
                    } else {
                        format!(" (similar: {})", close.join(", "))
                    },
                    table.schema.name
                ));
            }
        },
        Some(id) => {
            let rows: Vec<&Row> = table
                .rows
                .iter()
                .filter(|r| {
                    table
                        .schema
                        .key
                        .iter()
                        .any(|k| table.get(r, k).items().contains(&id))
                })
                .collect();
            if rows.is_empty() {
                return Err(format!(
                    "no {} row has '{id}' in its key ({})",
                    table.schema.name,
                    table.schema.key.join(", ")
                ));
            }
            rows
        }
    };
    let rows = if filter.unused || filter.conflicts {
        if table.schema.name != "sources" {
            return Err("--unused and --conflicts apply to `show sources` only".into());
        }
        let cited = lodestone_format::validate::cited_sources(&ds);
        rows.into_iter()
            .filter(|r| !filter.unused || table.text(r, "id").is_some_and(|i| !cited.contains(i)))
            .filter(|r| {
                !filter.conflicts || table.get(r, "conflict") != &lodestone_format::Value::Empty
            })
            .collect()
    } else {
        rows
    };
    let single = id.is_some() && table.schema.has_single_id();
    if single && rows.is_empty() {
        return Err("the record does not match the filter".into());
    }
    let out = match (format, single) {
        (ShowFormat::Json, true) => {
            let key = table.key_of(rows[0]).unwrap_or_default();
            let view = lodestone_world::views::record::record(&ds, &table.schema.name, &key)
                .map_err(|e| e.to_string())?;
            serde_json::to_string_pretty(&view).unwrap_or_default() + "\n"
        }
        (ShowFormat::Json, false) => pretty(&rows_json(table, &rows)),
        (ShowFormat::Csv, _) => rows_csv(table, &rows),
        (ShowFormat::Table, true) => detail(&ds, table, rows[0]),
        (ShowFormat::Table, false) => listing(table, &rows),
    };
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(out.as_bytes())
        .map_err(|e| format!("cannot write output: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn strsim_like(a: &str, b: &str) -> bool {
    a.contains(b) || b.contains(a)
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

fn listing(table: &Table, rows: &[&Row]) -> String {
    let cols: Vec<usize> = (0..table.schema.columns.len())
        .filter(|&i| table.schema.columns[i].list)
        .collect();
    let header: Vec<String> = cols
        .iter()
        .map(|&i| {
            let c = &table.schema.columns[i];
            if c.unit.symbol.is_empty() {
                c.name.clone()
            } else {
                format!("{} ({})", c.name, c.unit)
            }
        })
        .collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| cols.iter().map(|&i| r.values[i].to_csv_text()).collect())
        .collect();
    let mut s = text::table(&header, &body);
    s.push_str(&format!("{} {}\n", rows.len(), table.schema.name));
    s
}

fn detail(ds: &World, table: &Table, row: &Row) -> String {
    let mut s = String::new();
    let key = table.key_of(row).unwrap_or_default();
    s.push_str(&format!(
        "{} {key} ({}:{})\n\n",
        table.schema.name, table.schema.file, row.line
    ));
    let width = table
        .schema
        .columns
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    for (c, v) in table.schema.columns.iter().zip(&row.values) {
        let text = v.to_csv_text();
        if text.is_empty() {
            continue;
        }
        let unit = if c.unit.symbol.is_empty() {
            String::new()
        } else {
            format!(" {}", c.unit)
        };
        s.push_str(&format!("  {:width$}  {text}{unit}\n", c.name));
    }
    let sources = cited_source_rows(ds, table, row);
    if let (false, Some(st)) = (sources.is_empty(), ds.table("sources")) {
        s.push_str("\nSources:\n");
        for r in sources {
            let f = |c: &str| st.get(r, c).to_csv_text();
            s.push_str(&format!(
                "  [{}] {}: {}",
                f("id"),
                f("publisher"),
                f("title")
            ));
            if !f("date").is_empty() {
                s.push_str(&format!(" ({})", f("date")));
            }
            s.push_str(&format!(" [{}]", f("reliability")));
            if !f("url").is_empty() {
                s.push_str(&format!("\n      {}", f("url")));
            }
            if !f("conflict").is_empty() {
                s.push_str(&format!("\n      conflict: {}", f("conflict")));
            }
            s.push('\n');
        }
    }
    let refs = referrers(ds, &table.schema.name, &key);
    if !refs.is_empty() {
        s.push_str("\nReferenced by:\n");
        let mut i = 0;
        while i < refs.len() {
            let (t, col) = (refs[i].table, &refs[i].column);
            let group: Vec<&Row> = refs[i..]
                .iter()
                .take_while(|r| std::ptr::eq(r.table, t) && &r.column == col)
                .map(|r| r.row)
                .collect();
            i += group.len();
            s.push_str(&format!(
                "\n{} where {} = {key} ({}):\n",
                t.schema.name,
                col,
                group.len()
            ));
            for line in listing(t, &group).lines().take(group.len() + 2) {
                s.push_str(&format!("  {line}\n"));
            }
        }
    }
    s
}
