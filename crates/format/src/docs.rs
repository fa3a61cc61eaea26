//! The dataset reference page (`docs/dataset.md`), generated from the schema so it cannot drift.

use crate::schema::{ColumnType, Schema, TOML_DIRS};

/// Markdown reference of every table and column, the value types, units and validation thresholds.
pub fn dataset_reference(schema: &Schema) -> String {
    let mut s = String::new();
    s.push_str("# Dataset format reference\n\n");
    s.push_str("<!-- Generated from crates/format/schema/*.csv by `UPDATE_EXPECT=1 cargo test -p lodestone-world --test docs`. Do not edit by hand. -->\n\n");
    s.push_str(
        "A Lodestone dataset is a directory of CSV tables (UTF-8, comma-separated, first line the header, \
         columns in any order, optional columns may be left out, lines starting with `#` are comments, \
         CRLF line endings and a UTF-8 byte-order mark are accepted) and TOML record files in ",
    );
    let dirs: Vec<String> = TOML_DIRS.iter().map(|d| format!("`{d}/`")).collect();
    s.push_str(&dirs.join(", "));
    s.push_str(
        ". `lodestone check --data DIR` validates one and reports every problem as `FILE:LINE: message`.\n\n\
         Every quantitative row cites a `source` defined in `sources.csv`. A row is an *estimate* when its \
         table's estimate column says so (below) or its source's reliability is `estimate`; an estimate \
         must give a `confidence` (high, medium, low) and a `method`, and any row with a confidence needs a method.\n\n",
    );
    s.push_str("## Value types\n\n| type | accepted values |\n|---|---|\n");
    for (ty, text) in [
        (
            ColumnType::Id,
            "lower-case slug: `a-z`, `0-9`, `_`, starting with a letter, at most 64 characters; unique in its table",
        ),
        (
            ColumnType::Iso3,
            "ISO 3166-1 alpha-3 code in capitals (`MYS`), or `WLD` (world) / `ROW` (rest of world) / `XXX` (origin not known)",
        ),
        (
            ColumnType::Text,
            "any text; quote it if it contains a comma",
        ),
        (ColumnType::Ref, "the id of a row in the referenced table"),
        (
            ColumnType::Refs,
            "ids of the referenced table separated by `;`",
        ),
        (
            ColumnType::Node,
            "a facility id, or an ISO3 code standing for that country's market as a whole",
        ),
        (ColumnType::Enum, "one of the listed values"),
        (ColumnType::Enums, "listed values separated by `;`"),
        (
            ColumnType::Number,
            "a decimal number (`12000`, `1.5e3`; no thousands separators) in the column's unit, or followed by another unit of the same dimension and basis, which is converted (`12 kt/yr` → 12000 t/yr)",
        ),
        (ColumnType::Integer, "a whole number"),
        (
            ColumnType::Date,
            "ISO 8601 date: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`",
        ),
        (ColumnType::Url, "an `http://` or `https://` URL"),
        (
            ColumnType::Hs,
            "a Harmonized System code: `NNNN`, `NNNN.NN` or `NNNN.NNNN`",
        ),
        (
            ColumnType::HsCodes,
            "Harmonized System codes separated by `;` (`2805.30;2846`)",
        ),
    ] {
        s.push_str(&format!("| `{}` | {} |\n", ty.name(), text));
    }
    s.push_str(
        "\n## Units\n\nMass: `g`, `kg`, `t`, `kt`, `Mt`; money: `USD`, `kUSD`, `MUSD`, `bUSD`; time: `yr`, `month`, `day`; \
         `%`. Compose with `/` (`t/yr`, `USD/kg`). A mass may carry the basis `REO` (rare-earth-oxide equivalent): \
         `t REO` and `t` never convert into each other, because that needs the material's content.\n\n",
    );
    s.push_str("## Validation thresholds\n\n| check | value | description |\n|---|---|---|\n");
    for c in &schema.checks {
        s.push_str(&format!(
            "| `{}` | {} {} | {} |\n",
            c.name, c.value, c.unit, c.description
        ));
    }
    s.push_str("\n## Tables\n\n");
    for t in &schema.tables {
        s.push_str(&format!("### `{}`\n\n{}\n\n", t.file, t.description));
        s.push_str(&format!("Key: `{}`.", t.key.join("` + `")));
        if let Some((c, v)) = &t.estimate_when {
            s.push_str(&format!(" Estimate when `{c}` = `{v}`."));
        }
        s.push_str("\n\n| column | type | unit | default | required | allowed | description |\n|---|---|---|---|---|---|---|\n");
        for c in &t.columns {
            let mut allowed = Vec::new();
            if !c.references.is_empty() {
                allowed.push(format!(
                    "→ {}",
                    c.references
                        .iter()
                        .map(|r| format!("`{r}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ));
            }
            if !c.values.is_empty() {
                allowed.push(
                    c.values
                        .iter()
                        .map(|v| format!("`{v}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
            }
            match (c.min, c.max) {
                (Some(a), Some(b)) => allowed.push(format!("{a} to {b}")),
                (Some(a), None) => allowed.push(format!("≥ {a}")),
                (None, Some(b)) => allowed.push(format!("≤ {b}")),
                (None, None) => {}
            }
            s.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                c.name,
                c.ty.name(),
                c.unit.symbol,
                c.default
                    .as_deref()
                    .map(|d| format!("`{d}`"))
                    .unwrap_or_default(),
                if c.required { "yes" } else { "no" },
                allowed.join("; "),
                c.description.replace('|', "\\|"),
            ));
        }
        s.push('\n');
    }
    s
}

/// Markdown list of every source of a dataset and what depends on it (`docs/data-sources.md`).
pub fn sources_report(ds: &crate::load::Dataset) -> String {
    let mut s = String::new();
    s.push_str("# Data sources of the bundled dataset\n\n");
    s.push_str("<!-- Generated from data/world by `UPDATE_EXPECT=1 cargo test -p lodestone-world --test docs`. Do not edit by hand. -->\n\n");
    let Some(st) = ds.table("sources") else {
        return s;
    };
    let citing = citations(ds);
    let count = |rel: &str| {
        st.rows
            .iter()
            .filter(|r| st.text(r, "reliability") == Some(rel))
            .count()
    };
    s.push_str(&format!(
        "{} sources: {} primary, {} secondary, {} estimate. Each entry lists the records that cite it (table: ids).\n\n",
        st.rows.len(),
        count("primary"),
        count("secondary"),
        count("estimate")
    ));
    for r in &st.rows {
        let f = |c: &str| st.get(r, c).to_csv_text();
        let id = f("id");
        s.push_str(&format!(
            "## `{id}`\n\n{} — *{}*",
            f("publisher"),
            f("title").replace('*', "\\*")
        ));
        if !f("date").is_empty() {
            s.push_str(&format!(" ({})", f("date")));
        }
        s.push_str(&format!(". Reliability: {}.", f("reliability")));
        if !f("url").is_empty() {
            s.push_str(&format!(" <{}>", f("url")));
        }
        s.push('\n');
        if !f("conflict").is_empty() {
            s.push_str(&format!("\n**Conflict:** {}\n", f("conflict")));
        }
        match citing.get(id.as_str()) {
            Some(uses) => {
                s.push('\n');
                for (table, keys) in uses {
                    s.push_str(&format!("- {table}: {}\n", keys.join(", ")));
                }
            }
            None => s.push_str("\nNot cited by any record.\n"),
        }
        s.push('\n');
    }
    s
}

/// For each source id, the citing records grouped by table (key text, or file name for TOML).
pub fn citations(
    ds: &crate::load::Dataset,
) -> std::collections::BTreeMap<String, Vec<(String, Vec<String>)>> {
    let mut out: std::collections::BTreeMap<String, Vec<(String, Vec<String>)>> =
        Default::default();
    let mut add = |source: &str, table: &str, key: String| {
        let entry = out.entry(source.to_string()).or_default();
        match entry.iter_mut().find(|(t, _)| t == table) {
            Some((_, keys)) => {
                if !keys.contains(&key) {
                    keys.push(key)
                }
            }
            None => entry.push((table.to_string(), vec![key])),
        }
    };
    for t in &ds.tables {
        for col in t
            .schema
            .columns
            .iter()
            .filter(|c| c.references.iter().any(|r| r == "sources"))
        {
            for row in &t.rows {
                let key = t
                    .key_of(row)
                    .unwrap_or_else(|| format!("line {}", row.line));
                for id in t.get(row, &col.name).items() {
                    add(id, &t.schema.name, key.clone());
                }
            }
        }
    }
    for f in &ds.toml_files {
        for id in crate::validate::toml_citations(&f.document) {
            add(&id, "records", f.path.clone());
        }
    }
    out
}
