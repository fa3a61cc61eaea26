//! Cross-table checks: references, estimates, shares, capacities, mass balance, date order.
//!
//! Cell-level checks (types, units, ranges, enums) happen while parsing; everything here needs
//! more than one row or more than one table. Thresholds come from the schema's `checks.csv`.

use std::collections::{BTreeMap, HashSet};

use crate::diag::Diagnostic;
use crate::load::{Dataset, Suggester, Table, line_of_offset};
use crate::schema::ColumnType;
use crate::value::Value;
use lodestone_model::Element;

/// Runs every cross-table check, appending what it finds to `diags`.
pub fn cross_checks(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    references(ds, diags);
    estimates(ds, diags);
    ownership(ds, diags);
    compositions(ds, diags);
    facilities(ds, diags);
    flows(ds, diags);
    dates(ds, diags);
    toml_sources(ds, diags);
    unused_sources(ds, diags);
}

fn fmt_num(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    format!("{r}")
}

fn references(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    for table in &ds.tables {
        for col in &table.schema.columns {
            if !matches!(
                col.ty,
                ColumnType::Ref | ColumnType::Refs | ColumnType::Node
            ) {
                continue;
            }
            let targets: Vec<&Table> = col.references.iter().filter_map(|r| ds.table(r)).collect();
            if targets.iter().any(|t| !t.complete) {
                // The target table did not load; its own error says why.
                continue;
            }
            // The suggestion index of the targets' ids, built on the first dangling reference.
            let mut index: Option<Suggester> = None;
            for row in &table.rows {
                for item in table.get(row, &col.name).items() {
                    if targets.iter().any(|t| t.contains(item)) {
                        continue;
                    }
                    let files: Vec<&str> = targets.iter().map(|t| t.schema.file.as_str()).collect();
                    let index = index.get_or_insert_with(|| {
                        Suggester::new(targets.iter().flat_map(|t| {
                            t.rows
                                .iter()
                                .filter_map(|r| t.get(r, &t.schema.key[0]).as_str())
                        }))
                    });
                    diags.push(Diagnostic::error(
                        &table.schema.file,
                        Some(row.line),
                        Some(&col.name),
                        format!(
                            "{} '{item}' is not defined in {}{}",
                            col.name,
                            files.join(" or "),
                            index.suggest(item)
                        ),
                    ));
                }
            }
        }
    }
}

fn estimates(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    let sources = ds.table("sources");
    let source_is_estimate = |id: &str| {
        sources
            .and_then(|s| {
                s.find(id)
                    .map(|r| s.text(r, "reliability") == Some("estimate"))
            })
            .unwrap_or(false)
    };
    for table in &ds.tables {
        let s = &table.schema;
        if s.column_index("confidence").is_none() || s.column_index("method").is_none() {
            continue;
        }
        for row in &table.rows {
            let flagged = s
                .estimate_when
                .as_ref()
                .is_some_and(|(c, v)| table.text(row, c) == Some(v.as_str()));
            let by_source = table.text(row, "source").is_some_and(source_is_estimate);
            let estimate = flagged || by_source;
            let has_conf = table.get(row, "confidence") != &Value::Empty;
            let has_method = table.get(row, "method") != &Value::Empty;
            let why = if flagged {
                let (c, v) = s
                    .estimate_when
                    .as_ref()
                    .map(|(c, v)| (c.as_str(), v.as_str()))
                    .unwrap_or_default();
                format!("{c} is '{v}'")
            } else {
                "its source is an estimate".to_string()
            };
            if estimate && !has_conf {
                diags.push(Diagnostic::error(
                    &s.file,
                    Some(row.line),
                    Some("confidence"),
                    format!("this row is an estimate ({why}) but has no confidence: set high, medium or low"),
                ));
            }
            if (estimate || has_conf) && !has_method {
                diags.push(Diagnostic::error(
                    &s.file,
                    Some(row.line),
                    Some("method"),
                    "this row is an estimate but has no method: say in `method` how the figure was made",
                ));
            }
        }
    }
}

/// Groups rows by a text column, keeping file order.
fn group_by<'a>(table: &'a Table, column: &str) -> BTreeMap<&'a str, Vec<&'a crate::load::Row>> {
    let mut groups: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for row in &table.rows {
        if let Some(k) = table.text(row, column) {
            groups.entry(k).or_default().push(row);
        }
    }
    groups
}

fn lines(rows: &[&crate::load::Row]) -> String {
    rows.iter()
        .map(|r| r.line.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn ownership(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    let Some(t) = ds.table("ownership") else {
        return;
    };
    let max = ds.schema.check_fraction("ownership_sum_max") * 100.0;
    for row in &t.rows {
        if let (Some(a), Some(b)) = (t.text(row, "owner"), t.text(row, "company"))
            && a == b
        {
            diags.push(Diagnostic::error(
                &t.schema.file,
                Some(row.line),
                Some("owner"),
                format!("'{a}' is recorded as owning itself"),
            ));
        }
    }
    for (company, rows) in group_by(t, "company") {
        let total: f64 = rows.iter().filter_map(|r| t.get(r, "share").as_f64()).sum();
        if total > max + 1e-9 {
            let last = rows.last().map(|r| r.line);
            diags.push(Diagnostic::error(
                &t.schema.file,
                last,
                Some("share"),
                format!(
                    "ownership shares of '{company}' add up to {} % (lines {}), more than {} %",
                    fmt_num(total),
                    lines(&rows),
                    fmt_num(max)
                ),
            ));
        }
    }
}

fn compositions(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    let Some(t) = ds.table("compositions") else {
        return;
    };
    let tol = ds.schema.check_fraction("share_sum_tolerance") * 100.0;
    let mut groups: BTreeMap<(&str, &str), Vec<&crate::load::Row>> = BTreeMap::new();
    for row in &t.rows {
        if let Some(m) = t.text(row, "material") {
            groups
                .entry((m, t.text(row, "producer").unwrap_or("")))
                .or_default()
                .push(row);
        }
        if t.text(row, "element") == Some("other") && t.get(row, "method") == &Value::Empty {
            diags.push(Diagnostic::error(
                &t.schema.file,
                Some(row.line),
                Some("method"),
                "an `other` remainder needs a method saying why its elements are not resolved (e.g. 'the source reports La, Ce, Pr, Nd and Sm only')",
            ));
        }
    }
    for ((material, producer), rows) in groups {
        if rows.iter().any(|r| t.get(r, "share") == &Value::Invalid) {
            continue;
        }
        let total: f64 = rows.iter().filter_map(|r| t.get(r, "share").as_f64()).sum();
        if (total - 100.0).abs() > tol + 1e-9 {
            let whose = if producer.is_empty() {
                format!("'{material}'")
            } else {
                format!("'{material}' shipped by '{producer}'")
            };
            diags.push(Diagnostic::error(
                &t.schema.file,
                rows.first().map(|r| r.line),
                Some("share"),
                format!(
                    "element shares of {whose} add up to {} %, not 100 % (tolerance ±{} points; lines {})",
                    fmt_num(total),
                    fmt_num(tol),
                    lines(&rows)
                ),
            ));
        }
    }
}

fn facilities(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    let Some(t) = ds.table("facilities") else {
        return;
    };
    for row in &t.rows {
        let cap = t.get(row, "capacity");
        let mat = t.get(row, "capacity_material");
        if matches!(cap, Value::Number(_)) && mat == &Value::Empty {
            diags.push(Diagnostic::error(
                &t.schema.file,
                Some(row.line),
                Some("capacity_material"),
                "capacity is given but capacity_material is empty: say what the capacity counts (e.g. ndpr_oxide)",
            ));
        }
    }
}

struct FlowRef<'a> {
    line: u64,
    from: &'a str,
    to: &'a str,
    material: &'a str,
    year: i64,
    quantity: f64,
}

fn flows(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    let (Some(ft), Some(fac), Some(mat)) = (
        ds.table("flows"),
        ds.table("facilities"),
        ds.table("materials"),
    ) else {
        return;
    };
    let file = ft.schema.file.as_str();
    let mut all = Vec::new();
    for row in &ft.rows {
        let (Some(from), Some(to), Some(material)) = (
            ft.text(row, "from"),
            ft.text(row, "to"),
            ft.text(row, "material"),
        ) else {
            continue;
        };
        let (Value::Integer(year), Some(quantity)) =
            (ft.get(row, "year"), ft.get(row, "quantity").as_f64())
        else {
            continue;
        };
        if from == to {
            diags.push(Diagnostic::error(
                file,
                Some(row.line),
                Some("to"),
                format!("flow goes from '{from}' to itself"),
            ));
            continue;
        }
        all.push(FlowRef {
            line: row.line,
            from,
            to,
            material,
            year: *year,
            quantity,
        });
    }

    // Capacity: flows of the capacity material out of a facility in one year.
    let cap_tol = ds.schema.check_fraction("capacity_tolerance");
    let mut out_of: BTreeMap<(&str, i64), Vec<&FlowRef>> = BTreeMap::new();
    for f in &all {
        out_of.entry((f.from, f.year)).or_default().push(f);
    }
    for ((facility, year), group) in &out_of {
        let Some(frow) = fac.find(facility) else {
            continue;
        };
        let (Some(capacity), Some(cap_mat)) = (
            fac.get(frow, "capacity").as_f64(),
            fac.text(frow, "capacity_material"),
        ) else {
            continue;
        };
        let matching: Vec<&&FlowRef> = group.iter().filter(|f| f.material == cap_mat).collect();
        let total: f64 = matching.iter().map(|f| f.quantity).sum();
        if total > capacity * (1.0 + cap_tol) + 1e-9 {
            let lines: Vec<String> = matching.iter().map(|f| f.line.to_string()).collect();
            diags.push(Diagnostic::error(
                file,
                matching.first().map(|f| f.line),
                Some("quantity"),
                format!(
                    "flows of {cap_mat} out of '{facility}' in {year} add up to {} t/yr (lines {}), more than its capacity of {} t/yr ({}:{})",
                    fmt_num(total),
                    lines.join(", "),
                    fmt_num(capacity),
                    fac.schema.file,
                    frow.line
                ),
            ));
        }
    }

    element_balance(ds, &all, diags);

    // Mass balance in t REO per facility and year, for facilities that transform (not mines,
    // stockpiles or recyclers, which add content from outside the recorded flows).
    let mb_tol = ds.schema.check_fraction("mass_balance_tolerance");
    let reo = |m: &str| {
        mat.find(m)
            .and_then(|r| mat.get(r, "reo_content").as_f64())
            .map(|p| p / 100.0)
    };
    let mut balance: BTreeMap<(&str, i64), (f64, f64, bool)> = BTreeMap::new();
    for f in &all {
        let content = reo(f.material);
        for (node, is_out) in [(f.from, true), (f.to, false)] {
            if !fac.contains(node) {
                continue;
            }
            let e = balance.entry((node, f.year)).or_insert((0.0, 0.0, true));
            match content {
                Some(c) if is_out => e.1 += f.quantity * c,
                Some(c) => e.0 += f.quantity * c,
                None => e.2 = false,
            }
        }
    }
    for ((facility, year), (input, output, known)) in balance {
        let Some(frow) = fac.find(facility) else {
            continue;
        };
        let stages = fac.get(frow, "stages").items();
        if !known
            || stages
                .iter()
                .any(|s| matches!(*s, "mine" | "stockpile" | "recycling"))
            || output == 0.0
        {
            continue;
        }
        if input == 0.0 {
            diags.push(Diagnostic::warning(
                &fac.schema.file,
                Some(frow.line),
                None,
                format!("'{facility}' ships {} t REO in {year} but no input flows are recorded; its mass balance is not checked", fmt_num(output)),
            ));
        } else if output > input * (1.0 + mb_tol) + 1e-9 {
            diags.push(Diagnostic::error(
                &fac.schema.file,
                Some(frow.line),
                None,
                format!(
                    "'{facility}' ships {} t REO in {year} but receives only {} t REO: its outputs exceed what its inputs can yield (tolerance {} %)",
                    fmt_num(output),
                    fmt_num(input),
                    fmt_num(mb_tol * 100.0)
                ),
            ));
        }
    }
}

/// Element balance per facility and year: a facility that transforms may not ship more of an
/// element than it receives (within the mass-balance tolerance). The `other` remainder is not
/// balanced (it stands for different elements in different materials), and a facility with an
/// input of unresolved composition is not checked (a warning names the material).
fn element_balance(ds: &Dataset, all: &[FlowRef], diags: &mut Vec<Diagnostic>) {
    let (Some(fac), Some(mat)) = (ds.table("facilities"), ds.table("materials")) else {
        return;
    };
    let comps = crate::composition::Compositions::from_dataset(ds);
    if comps.is_empty() {
        return;
    }
    let tol = ds.schema.check_fraction("mass_balance_tolerance");
    let reo = |m: &str| {
        mat.find(m)
            .and_then(|r| mat.get(r, "reo_content").as_f64())
            .map(|p| p / 100.0)
    };
    type Balance = (BTreeMap<Element, (f64, f64)>, bool);
    let mut balance: BTreeMap<(&str, i64), Balance> = BTreeMap::new();
    let mut unresolved: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for f in all {
        let Some(content) = reo(f.material) else {
            continue;
        };
        if content * f.quantity <= 0.0 {
            continue;
        }
        let split = comps.of(f.material, f.from);
        if split.is_none() {
            unresolved.entry((f.material, f.from)).or_insert(f.line);
        }
        for (node, is_out) in [(f.from, true), (f.to, false)] {
            if !fac.contains(node) {
                continue;
            }
            let e = balance
                .entry((node, f.year))
                .or_insert((BTreeMap::new(), true));
            let Some(split) = split else {
                e.1 = false;
                continue;
            };
            for &(element, frac) in split {
                let slot = e.0.entry(element).or_insert((0.0, 0.0));
                if is_out {
                    slot.1 += f.quantity * content * frac;
                } else {
                    slot.0 += f.quantity * content * frac;
                }
            }
        }
    }
    for ((material, producer), line) in unresolved {
        diags.push(Diagnostic::warning(
            &ds.table("flows").map_or(String::new(), |t| t.schema.file.clone()),
            Some(line),
            Some("material"),
            format!("'{material}' shipped by '{producer}' has no element composition (compositions.csv): its content is traced as REO only, and rules that name elements cannot measure it"),
        ));
    }
    for ((facility, year), (elements, resolved)) in balance {
        let Some(frow) = fac.find(facility) else {
            continue;
        };
        let stages = fac.get(frow, "stages").items();
        if !resolved
            || stages
                .iter()
                .any(|s| matches!(*s, "mine" | "stockpile" | "recycling"))
        {
            continue;
        }
        let received: f64 = elements.values().map(|(i, _)| i).sum();
        if received == 0.0 {
            continue; // no inputs: the REO balance warns about it
        }
        // Unresolved input may hold any element: it bounds every element's output too.
        let wildcard = elements.get(&Element::Other).map_or(0.0, |(i, _)| *i);
        for (element, (input, output)) in elements {
            if element == Element::Other {
                continue;
            }
            if output > (input + wildcard) * (1.0 + tol) + 1e-6 {
                diags.push(Diagnostic::error(
                    &fac.schema.file,
                    Some(frow.line),
                    None,
                    format!(
                        "'{facility}' ships {} t {} oxide in {year} but receives only {} t ({} t of it in inputs of unresolved composition): its element balance does not close (tolerance {} %); check the compositions of its inputs and outputs",
                        fmt_num(output),
                        element.symbol(),
                        fmt_num(input + wildcard),
                        fmt_num(wildcard),
                        fmt_num(tol * 100.0)
                    ),
                ));
            }
        }
    }
}

fn dates(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    if let Some(t) = ds.table("sources") {
        for row in &t.rows {
            if let (Value::Date(published), Value::Date(accessed)) =
                (t.get(row, "date"), t.get(row, "accessed"))
                && accessed.latest() < published.earliest()
            {
                diags.push(Diagnostic::error(
                    &t.schema.file,
                    Some(row.line),
                    Some("accessed"),
                    format!("accessed {accessed} is before the publication date {published}"),
                ));
            }
        }
    }
    if let Some(t) = ds.table("facility_status") {
        for (facility, rows) in group_by(t, "facility") {
            for pair in rows.windows(2) {
                if let (Value::Date(prev), Value::Date(next)) =
                    (t.get(pair[0], "date"), t.get(pair[1], "date"))
                    && next < prev
                {
                    diags.push(Diagnostic::error(
                            &t.schema.file,
                            Some(pair[1].line),
                            Some("date"),
                            format!(
                                "date {next} of '{facility}' is before its previous status date {prev} (line {}): keep each facility's rows in date order",
                                pair[0].line
                            ),
                        ));
                }
            }
        }
    }
}

/// Source ids cited by a TOML document: string values of keys named `source`, or strings in
/// arrays under `sources`, at any depth.
pub fn toml_citations(doc: &toml::Table) -> Vec<String> {
    fn walk(v: &toml::Value, key: &str, out: &mut Vec<String>) {
        match v {
            toml::Value::String(s) if key == "source" => out.push(s.clone()),
            toml::Value::Array(items) => {
                for item in items {
                    let k = if key == "sources" { "source" } else { key };
                    walk(item, k, out);
                }
            }
            toml::Value::Table(t) => {
                for (k, v) in t {
                    walk(v, k, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (k, v) in doc {
        walk(v, k, &mut out);
    }
    out
}

fn toml_sources(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    let Some(sources) = ds.table("sources") else {
        return;
    };
    for f in &ds.toml_files {
        for id in toml_citations(&f.document) {
            if !sources.contains(&id) {
                // The quoted id where it is written as is; else (escapes in it) the first line
                // that cites sources; else the first line: always located.
                let line = f
                    .text
                    .find(&format!("\"{id}\""))
                    .map(|o| line_of_offset(&f.text, o))
                    .or_else(|| {
                        f.text
                            .lines()
                            .position(|l| {
                                let l = l.trim_start();
                                l.starts_with("source") || l.contains("sources")
                            })
                            .map(|i| i as u64 + 1)
                    })
                    .or(Some(1));
                diags.push(Diagnostic::error(
                    &f.path,
                    line,
                    Some("source"),
                    format!("source '{id}' is not defined in sources.csv"),
                ));
            }
        }
    }
}

/// Every source id cited anywhere in the dataset.
pub fn cited_sources(ds: &Dataset) -> HashSet<String> {
    let mut used = HashSet::new();
    for table in &ds.tables {
        for col in table
            .schema
            .columns
            .iter()
            .filter(|c| c.references.iter().any(|r| r == "sources"))
        {
            for row in &table.rows {
                used.extend(
                    table
                        .get(row, &col.name)
                        .items()
                        .into_iter()
                        .map(str::to_string),
                );
            }
        }
    }
    for f in &ds.toml_files {
        used.extend(toml_citations(&f.document));
    }
    used
}

fn unused_sources(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    let Some(t) = ds.table("sources") else { return };
    if ds.tables.iter().any(|t| !t.complete) {
        // Citations in a table that did not load are unknown; "unused" would be noise.
        return;
    }
    let used = cited_sources(ds);
    for row in &t.rows {
        if let Some(id) = t.text(row, "id")
            && !used.contains(id)
        {
            diags.push(Diagnostic::warning(
                &t.schema.file,
                Some(row.line),
                Some("id"),
                format!("source '{id}' is not cited by any row"),
            ));
        }
    }
}
