//! The computed impact of an agreement: its effects written as rows the dataset would gain
//! (new facilities with their technology origin and start date, status entries, feed and offtake
//! flows), the dataset loaded and validated again with them exactly as `lodestone check` loads
//! it, and the same views asked before and after.
//!
//! An effect that does not validate (an unknown company, a flow to nowhere) is an error located
//! by the effect's id, never a silently different answer.

use std::collections::BTreeMap;

use lodestone_model::{Basis, Date, Scope, Stage, TagFamily, UnknownValue, View};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::World;
use crate::views::risk::{
    BenchmarkQuery, BenchmarkRow, BenchmarkStatus, ConcentrationQuery, DependencyQuery,
    DependencyView, benchmarks, concentration, dependency,
};
use crate::views::rules::{ScreeningQuery, determination_text, screening};
use crate::views::table::format_share;
use crate::views::{Analysis, ViewError, resolve_country_set};

/// One row an agreement would add to a table of the dataset, its values as CSV text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Addition {
    /// The effect's id within the agreement (named in errors).
    pub id: String,
    /// The table: `facilities`, `facility_status`, `flows`, `ownership`, …
    pub table: String,
    /// Column → value, as they would be written in the table's CSV file.
    pub row: BTreeMap<String, String>,
    /// The key of an existing row this one replaces (a flow rerouted, a status changed);
    /// absent for a new row.
    #[serde(default)]
    pub replaces: Option<String>,
}

/// What `impact` is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImpactQuery {
    /// The country whose position is assessed (ISO3 or name).
    pub country: String,
    /// Year of the flows and capacities compared.
    pub year: i64,
    /// Date of the rule determinations.
    pub as_of: Date,
    /// The rows the agreement adds.
    pub additions: Vec<Addition>,
    /// Destinations to screen the new output for (ISO3), with an end use each (may be empty).
    #[serde(default)]
    pub destinations: Vec<(String, Option<String>)>,
    /// Further dates to screen on (e.g. 2027-01-01, when a procurement rule starts).
    #[serde(default)]
    pub also_on: Vec<Date>,
    /// Product nodes (FACILITY/material) to screen besides the new facilities' products, e.g. a
    /// magnet maker fed by the agreement's oxide.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// What the effects assume, in words (shown with the answers).
    #[serde(default)]
    pub note: Option<String>,
    /// Bundled disruption scenarios (`scenarios/NAME.toml`) to run before and after on the
    /// year's network, with the number of runs (the same seeds both times).
    #[serde(default)]
    pub scenarios: Vec<String>,
    /// Runs per scenario (default 200).
    #[serde(default)]
    pub runs: Option<u64>,
}

/// A destination whose trade rules the new output is screened against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// ISO3 or name.
    pub country: String,
    /// Declared end use (e.g. `defence`), if any.
    #[serde(default)]
    pub end_use: Option<String>,
}

/// How an agreement's impact is assessed: the `assessment` of its record. A key that is not
/// one of these is an error naming the valid keys, never ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// The country assessed (default `MYS`).
    #[serde(default)]
    pub country: Option<String>,
    /// Year of the flows compared (default 2025).
    #[serde(default)]
    pub year: Option<i64>,
    /// Date of the rule determinations (default: today).
    #[serde(default)]
    pub as_of: Option<Date>,
    /// Destinations to screen the new output for.
    #[serde(default)]
    pub destinations: Vec<Destination>,
    /// Further dates to screen on.
    #[serde(default)]
    pub also_on: Vec<Date>,
    /// Product nodes to screen besides the new facilities' products.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// What the effects assume, in words.
    #[serde(default)]
    pub note: Option<String>,
    /// Bundled scenarios to run before and after.
    #[serde(default)]
    pub scenarios: Vec<String>,
    /// Runs per scenario.
    #[serde(default)]
    pub runs: Option<u64>,
}

impl Assessment {
    /// The query this assessment asks about `additions`, dated `today` unless it says.
    pub fn query(self, additions: Vec<Addition>, today: Date) -> ImpactQuery {
        ImpactQuery {
            country: self.country.unwrap_or_else(|| "MYS".into()),
            year: self.year.unwrap_or(2025),
            as_of: self.as_of.unwrap_or(today),
            additions,
            destinations: self
                .destinations
                .into_iter()
                .map(|d| (d.country, d.end_use))
                .collect(),
            also_on: self.also_on,
            nodes: self.nodes,
            note: self.note,
            scenarios: self.scenarios,
            runs: self.runs,
        }
    }
}

/// One computed item.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ImpactItem {
    /// Stable key.
    pub item: String,
    /// What is measured.
    pub title: String,
    /// Before the agreement.
    pub before: Option<f64>,
    /// After.
    pub after: Option<f64>,
    /// Unit of before and after (`share`, `t/yr`, …).
    pub unit: String,
    /// The result in words, with before and after.
    pub finding: String,
    /// What the figure rests on: the view and query, sources, determinations.
    pub evidence: Vec<String>,
}

/// An item's before or after value for people: a share as a percentage, anything else as the
/// number, a missing value as a dash.
pub fn value_text(x: Option<f64>, unit: &str) -> String {
    match x {
        None => "–".to_string(),
        Some(x) if unit == "share" => format_share(x),
        Some(x) => format!("{x}"),
    }
}

/// The impact of an agreement on one country.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ImpactView {
    /// The country assessed (ISO3).
    pub country: String,
    /// Its name.
    pub country_name: String,
    /// Year compared.
    pub year: i64,
    /// Date of the determinations.
    pub as_of: Date,
    /// The rows added, as given.
    pub additions: Vec<Addition>,
    /// The computed items.
    pub items: Vec<ImpactItem>,
    /// What the computation assumes.
    pub assumptions: Vec<String>,
}

fn invalid(what: &'static str, got: &str, valid: Vec<String>) -> ViewError {
    ViewError::Invalid(UnknownValue::new(what, got, valid))
}

/// The world with `additions` appended to their tables' files and loaded again. Errors name
/// the effect whose row is wrong.
pub fn with_additions(world: &World, additions: &[Addition]) -> Result<World, ViewError> {
    let mut input = (*world.input).clone();
    let mut placed: Vec<(String, u64, String)> = Vec::new();
    for a in additions {
        let Some(ts) = world.schema.tables.iter().find(|t| t.name == a.table) else {
            let names = world.schema.tables.iter().map(|t| t.name.clone()).collect();
            return Err(invalid("table of an effect", &a.table, names));
        };
        if let Some(bad) = a
            .row
            .keys()
            .find(|c| !ts.columns.iter().any(|sc| sc.name == **c))
        {
            let cols: Vec<String> = ts.columns.iter().map(|c| c.name.clone()).collect();
            return Err(ViewError::NoData(format!(
                "effect {}: {} has no column {bad:?}; its columns: {}",
                a.id,
                a.table,
                cols.join(", ")
            )));
        }
        let file = input.files.entry(ts.file.clone()).or_default();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(file.as_slice());
        let header: Vec<String> = reader
            .headers()
            .map(|h| h.iter().map(str::to_string).collect())
            .unwrap_or_default();
        let mut records: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
        let new: csv::StringRecord = header
            .iter()
            .map(|h| a.row.get(h).map_or("", String::as_str))
            .collect();
        match &a.replaces {
            Some(key) => {
                let key_col = header.iter().position(|h| *h == ts.key[0]).unwrap_or(0);
                let Some(slot) = records
                    .iter()
                    .position(|r| r.get(key_col) == Some(key.as_str()))
                else {
                    return Err(ViewError::NoData(format!(
                        "effect {}: {} has no row {key:?} to replace",
                        a.id, a.table
                    )));
                };
                records[slot] = new;
                placed.push((ts.file.clone(), slot as u64 + 2, a.id.clone()));
            }
            None => {
                records.push(new);
                placed.push((ts.file.clone(), records.len() as u64 + 1, a.id.clone()));
            }
        }
        // Rewritten whole, so every later line number is that of the rewritten file (records
        // have no embedded newlines in the bundled data; a multi-line record shifts the
        // effect's reported line, not the validation).
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let fail = |e: csv::Error| ViewError::NoData(format!("effect {}: {e}", a.id));
        w.write_record(&header).map_err(fail)?;
        for r in &records {
            w.write_record(r).map_err(fail)?;
        }
        *file = w
            .into_inner()
            .map_err(|e| ViewError::NoData(format!("effect {}: {e}", a.id)))?;
    }
    let (after, report) = crate::load(world.schema.clone(), &input);
    let errors: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == lodestone_format::Severity::Error)
        .map(|d| {
            let effect = placed
                .iter()
                .find(|(f, l, _)| *f == d.file && Some(*l) == d.line)
                .map_or(String::new(), |(_, _, id)| format!("effect {id}: "));
            format!("{effect}{}:{}: {}", d.file, d.line.unwrap_or(0), d.message)
        })
        .collect();
    if !errors.is_empty() {
        return Err(ViewError::NoData(format!(
            "the agreement's effects do not validate: {}",
            errors.join("; ")
        )));
    }
    Ok(after)
}

/// One material's row of the country in a concentration table.
struct Share {
    material: String,
    material_name: String,
    share: f64,
    quantity: f64,
    unit: String,
    evidence: Vec<String>,
}

/// The country's rows of the separation stage's table (outside China, by location): one per
/// material, since capacities in different materials do not add up.
fn shares(
    a: &Analysis,
    country: &str,
    year: i64,
    basis: Basis,
) -> Result<(Vec<Share>, Vec<String>, String), ViewError> {
    let q = ConcentrationQuery {
        year,
        basis: Some(basis),
        stage: Some(Stage::Separation),
        scope: Some(Scope::OutsideChina),
        view: Some(View::Location),
        ..Default::default()
    };
    let v = concentration(a, &q)?;
    let materials: Vec<String> =
        v.rows
            .iter()
            .map(|r| r.material.clone())
            .fold(Vec::new(), |mut acc, m| {
                if !acc.contains(&m) {
                    acc.push(m);
                }
                acc
            });
    let out = v
        .rows
        .iter()
        .filter(|r| r.supplier == country)
        .map(|r| {
            let mut evidence = vec![format!(
                "{} {}: {} {} of {} outside China; sources {}",
                r.supplier,
                r.material_name,
                r.quantity.round(),
                r.unit,
                format_share(r.share),
                r.sources.join(", ")
            )];
            evidence.extend(r.coverage_text());
            Share {
                material: r.material.clone(),
                material_name: r.material_name.clone(),
                share: r.share,
                quantity: r.quantity,
                unit: r.unit.clone(),
                evidence,
            }
        })
        .collect();
    let command = format!(
        "lodestone risk concentration --basis {basis} --stage separation --scope outside_china --year {year}"
    );
    Ok((out, materials, format!("{command}: {}", v.basis_note)))
}

/// The country's share of separation outside China, before and after, per material: those
/// whose share changed, or the country's largest if none did.
fn share_items(
    before: &Analysis,
    after: &Analysis,
    country: &str,
    year: i64,
    basis: Basis,
    key: &str,
    title: &str,
) -> Result<Vec<ImpactItem>, ViewError> {
    let (b, mut materials, note) = shares(before, country, year, basis)?;
    let (x, after_materials, _) = shares(after, country, year, basis)?;
    for m in after_materials {
        if !materials.contains(&m) {
            materials.push(m);
        }
    }
    let find = |list: &'_ [Share], m: &str| list.iter().position(|s| s.material == m);
    let mut items: Vec<(bool, f64, bool, ImpactItem)> = Vec::new();
    for m in &materials {
        let (bf, xf) = (find(&b, m).map(|i| &b[i]), find(&x, m).map(|i| &x[i]));
        let Some(any) = xf.or(bf) else { continue };
        let (bs, bq) = bf.map_or((0.0, 0.0), |s| (s.share, s.quantity));
        let (xs, xq) = xf.map_or((0.0, 0.0), |s| (s.share, s.quantity));
        let mut evidence = vec![note.clone()];
        evidence.extend(
            bf.into_iter()
                .flat_map(|s| s.evidence.iter().map(|e| format!("before: {e}"))),
        );
        evidence.extend(
            xf.into_iter()
                .flat_map(|s| s.evidence.iter().map(|e| format!("after: {e}"))),
        );
        let changed = (xs - bs).abs() > 1e-12 || (xq - bq).abs() > 1e-9;
        items.push((
            changed,
            bq.max(xq),
            m == "all",
            ImpactItem {
                item: format!("{key}:{m}"),
                title: format!("{title}: {}", any.material_name),
                before: Some(bs),
                after: Some(xs),
                unit: "share".into(),
                finding: format!(
                    "{country}: {} before, {} after ({}{:.1} points); {} → {} {}",
                    format_share(bs),
                    format_share(xs),
                    if xs >= bs { "+" } else { "" },
                    (xs - bs) * 100.0,
                    bq.round(),
                    xq.round(),
                    any.unit
                ),
                evidence,
            },
        ));
    }
    if items.iter().any(|i| i.0) {
        return Ok(items.into_iter().filter(|i| i.0).map(|i| i.3).collect());
    }
    // Nothing changed: the stage's total row if there is one, else the country's largest.
    Ok(items
        .into_iter()
        .max_by(|p, q| {
            (p.2, p.1)
                .partial_cmp(&(q.2, q.1))
                .unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|i| i.3)
        .into_iter()
        .collect())
}

/// The EU's CRMA benchmarks (and any other bloc's benchmark rules) before and after: the rows
/// whose value changes, or one item saying that none does.
fn benchmark_items(
    before: &Analysis,
    after: &Analysis,
    year: i64,
) -> Result<Vec<ImpactItem>, ViewError> {
    let q = BenchmarkQuery {
        year,
        country: None,
    };
    let (b, x) = (benchmarks(before, &q)?, benchmarks(after, &q)?);
    let command = format!("lodestone risk benchmarks --year {year}: {}", b.method);
    let key = |r: &BenchmarkRow| (r.rule.clone(), r.test.clone(), r.country.clone());
    let mut items = Vec::new();
    for xr in &x.rows {
        let br = b.rows.iter().find(|r| key(r) == key(xr));
        let bv = br.and_then(|r| r.value);
        if bv.zip(xr.value).is_some_and(|(p, q)| (p - q).abs() < 1e-12)
            || (bv.is_none() && xr.value.is_none())
        {
            continue;
        }
        let who = xr
            .country
            .as_deref()
            .map_or(String::new(), |c| format!(" ({c})"));
        let show = |v: Option<f64>| v.map_or("no data".to_string(), format_share);
        items.push(ImpactItem {
            item: format!(
                "benchmark:{}:{}{}",
                xr.rule,
                xr.test,
                xr.country
                    .as_deref()
                    .map_or(String::new(), |c| format!(":{c}"))
            ),
            title: format!("{} — {}{who}", xr.rule_title, xr.test),
            before: bv,
            after: xr.value,
            unit: "share".into(),
            finding: format!(
                "{} before, {} after, against a limit of {} ({})",
                show(bv),
                show(xr.value),
                format_share(xr.limit),
                match xr.status {
                    BenchmarkStatus::Met => "met",
                    BenchmarkStatus::NotMet => "not met",
                    BenchmarkStatus::NoData => "no data",
                }
            ),
            evidence: vec![command.clone()],
        });
    }
    if items.is_empty() {
        items.push(ImpactItem {
            item: "benchmarks".into(),
            title: "The EU's CRMA benchmarks".into(),
            before: None,
            after: None,
            unit: "benchmarks changed".into(),
            finding: format!(
                "No benchmark value changes: none of the agreement's flows reaches the bloc's traced consumption in {year}."
            ),
            evidence: vec![command],
        });
    }
    Ok(items)
}

/// The value a new facility adds: what it ships against what it takes in, each flow valued at
/// its material's FOB China price on the date (per t REO, `Prices::product`). A flow whose
/// material has no price is listed as not valued, and the value added is then not computed,
/// never guessed.
fn value_items(
    after: &Analysis,
    additions: &[Addition],
    year: i64,
    as_of: Date,
) -> Vec<ImpactItem> {
    let world = &after.world;
    let prices = crate::prices::Prices::from_dataset(world);
    let Some(flows) = world.table("flows") else {
        return Vec::new();
    };
    let mut items = Vec::new();
    for f in additions
        .iter()
        .filter(|a| a.table == "facilities")
        .filter_map(|a| a.row.get("id"))
    {
        let mut sides = [(0.0, Vec::new(), Vec::new()), (0.0, Vec::new(), Vec::new())];
        for r in &flows.rows {
            if flows.get(r, "year").as_f64().map(|y| y as i64) != Some(year) {
                continue;
            }
            let side = if flows.text(r, "to") == Some(f.as_str()) {
                0
            } else if flows.text(r, "from") == Some(f.as_str()) {
                1
            } else {
                continue;
            };
            let material = flows.text(r, "material").unwrap_or_default();
            let t = flows.get(r, "quantity").as_f64().unwrap_or(0.0);
            let series = prices.product(material);
            match lodestone_rules::price_on(&series, as_of) {
                Some(p) => {
                    sides[side].0 += t * p.usd_per_t;
                    sides[side].1.push(format!(
                        "{} t REO of {material} at US${:.0}/t REO ({}; {})",
                        t.round(),
                        p.usd_per_t,
                        p.label,
                        p.source
                    ));
                }
                None => sides[side]
                    .2
                    .push(format!("{} t REO of {material}", t.round())),
            }
        }
        let [
            (vin, priced_in, unpriced_in),
            (vout, priced_out, unpriced_out),
        ] = sides;
        if priced_in.is_empty()
            && priced_out.is_empty()
            && unpriced_in.is_empty()
            && unpriced_out.is_empty()
        {
            continue;
        }
        let complete = unpriced_in.is_empty() && unpriced_out.is_empty();
        let musd = |v: f64| format!("US${:.1} m", v / 1e6);
        let finding = if complete {
            format!(
                "{f}: ships {} and takes in {}: {} added in the country in {year}",
                musd(vout),
                musd(vin),
                musd(vout - vin)
            )
        } else {
            format!(
                "{f}: not computed — no price in the dataset for {}; what is priced: {} out, {} in",
                unpriced_out
                    .iter()
                    .chain(&unpriced_in)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
                musd(vout),
                musd(vin)
            )
        };
        let mut evidence: Vec<String> = priced_out
            .into_iter()
            .map(|e| format!("out: {e}"))
            .collect();
        evidence.extend(priced_in.into_iter().map(|e| format!("in: {e}")));
        evidence.push(format!(
            "prices: lodestone show prices (FOB China, USD), in effect on {as_of}"
        ));
        items.push(ImpactItem {
            item: format!("value_added:{f}"),
            title: format!("Value added at {f} (output less input, FOB China prices)"),
            before: None,
            after: complete.then_some(vout - vin),
            unit: "USD/yr".into(),
            finding,
            evidence,
        });
    }
    items
}

/// A country's dependency on China, direct (by the country its receipts come from) and traced
/// (by where their content was mined or separated), before and after: the stages whose shares
/// change, or the separation stage if none does.
fn dependency_items(
    before: &Analysis,
    after: &Analysis,
    country: &str,
    year: i64,
) -> Result<Vec<ImpactItem>, ViewError> {
    let q = DependencyQuery {
        country: country.to_string(),
        year,
        ..Default::default()
    };
    let (b, x) = (dependency(before, &q)?, dependency(after, &q)?);
    let china = |v: &DependencyView, stage: TagFamily| {
        v.rows
            .iter()
            .find(|r| r.origin == "CHN" && r.traced_stage == stage)
            .map(|r| (r.direct, r.traced, r.receipts_t_reo))
    };
    let mut items = Vec::new();
    let mut unchanged = Vec::new();
    for stage in [
        TagFamily::Mined,
        TagFamily::Separated,
        TagFamily::Metal,
        TagFamily::Magnet,
    ] {
        let (vb, vx) = (china(&b, stage), china(&x, stage));
        if vb.is_none() && vx.is_none() {
            continue;
        }
        let (db, tb, rb) = vb.unwrap_or((0.0, 0.0, 0.0));
        let (dx, tx, rx) = vx.unwrap_or((0.0, 0.0, 0.0));
        let item = ImpactItem {
            item: format!("dependency:{country}:{stage}"),
            title: format!(
                "Dependency of {} on China, {stage} stage (traced share of its receipts)",
                b.country.name
            ),
            before: Some(tb),
            after: Some(tx),
            unit: "share".into(),
            finding: format!(
                "{country}: traced {} before, {} after; direct {} → {}; receipts {} → {} t REO",
                format_share(tb),
                format_share(tx),
                format_share(db),
                format_share(dx),
                rb.round(),
                rx.round()
            ),
            evidence: vec![format!(
                "lodestone risk dependency --country {country} --year {year}: {}",
                b.method
            )],
        };
        // Below a hundredth of a point the change is rounding, not the agreement.
        if (tb - tx).abs() > 1e-4 || (db - dx).abs() > 1e-4 {
            items.push(item);
        } else if stage == TagFamily::Separated {
            unchanged.push(item);
        }
    }
    Ok(if items.is_empty() { unchanged } else { items })
}

/// A bundled scenario run before and after on the year's network (same seeds, so the
/// difference is the agreement's): each watched country's mean peak shortfall.
fn scenario_items(
    before: &World,
    after: &World,
    name: &str,
    year: i64,
    watched: &[String],
    runs: u64,
) -> Result<Vec<ImpactItem>, ViewError> {
    let path = format!("scenarios/{name}.toml");
    let Some(file) = before.toml_files.iter().find(|f| f.path == path) else {
        let names: Vec<String> = before
            .toml_files
            .iter()
            .filter_map(|f| {
                f.path
                    .strip_prefix("scenarios/")?
                    .strip_suffix(".toml")
                    .map(str::to_string)
            })
            .collect();
        return Err(invalid("scenario", name, names));
    };
    let run = |w: &World| -> Result<crate::views::scenario::ScenarioResults, ViewError> {
        let low = crate::lower::lower_dataset(w, year).map_err(ViewError::NoData)?;
        let net = crate::sim_inputs::sim_network(w, &low);
        let sf =
            crate::sim_inputs::parse_scenario(&file.path, &file.text, w, &net).map_err(|d| {
                ViewError::NoData(format!(
                    "scenario {name} on the {year} network: {}",
                    d.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            })?;
        let (done, cancel) = (
            std::sync::atomic::AtomicU64::new(0),
            std::sync::atomic::AtomicBool::new(false),
        );
        let stats = lodestone_sim::run_batch(
            &net,
            &sf.scenario,
            sf.shortfall_level,
            (0, runs),
            2,
            &done,
            &cancel,
        )
        .ok_or_else(|| ViewError::NoData(format!("scenario {name} did not complete")))?;
        Ok(crate::views::scenario::scenario_results(
            w,
            &sf.scenario.name,
            sf.start.clone(),
            &stats,
        ))
    };
    let (b, x) = (run(before)?, run(after)?);
    let evidence = vec![format!(
        "lodestone simulate data/world/scenarios/{name}.toml --runs {runs}, on the {year} network with and without the effects (same seeds): {}",
        b.estimate
    )];
    let mut items = Vec::new();
    for c in watched {
        let find = |r: &crate::views::scenario::ScenarioResults| {
            r.countries.iter().find(|h| h.country == *c).cloned()
        };
        let (hb, hx) = (find(&b), find(&x));
        let Some(any) = hx.clone().or(hb.clone()) else {
            continue;
        };
        let (pb, px) = (
            hb.as_ref().map_or(0.0, |h| h.peak_shortfall_share_mean),
            hx.as_ref().map_or(0.0, |h| h.peak_shortfall_share_mean),
        );
        let (tb, tx) = (
            hb.as_ref().map_or(0.0, |h| h.total_shortfall_t_reo_mean),
            hx.as_ref().map_or(0.0, |h| h.total_shortfall_t_reo_mean),
        );
        items.push(ImpactItem {
            item: format!("scenario:{name}:{c}"),
            title: format!("Shortfall of {} under the scenario {name} (mean peak share of demand)", any.name),
            before: Some(pb),
            after: Some(px),
            unit: "share".into(),
            finding: format!(
                "{c}: mean peak shortfall {} before, {} after; total {} → {} t REO over the horizon ({} runs)",
                format_share(pb),
                format_share(px),
                tb.round(),
                tx.round(),
                runs
            ),
            evidence: evidence.clone(),
        });
    }
    Ok(items)
}

/// The product nodes (FACILITY/material) the additions create or feed.
fn new_products(after: &World, additions: &[Addition], year: i64) -> Vec<String> {
    let facilities: Vec<&str> = additions
        .iter()
        .filter(|a| a.table == "facilities")
        .filter_map(|a| a.row.get("id").map(String::as_str))
        .collect();
    // A node's country: an ISO3 market is itself, a facility is where it stands.
    let country_of = |node: &str| -> Option<String> {
        if after.table("countries").is_some_and(|t| t.contains(node)) {
            return Some(node.to_string());
        }
        let ft = after.table("facilities")?;
        let r = ft.find(node)?;
        ft.text(r, "country").map(str::to_string)
    };
    let mut out: Vec<String> = Vec::new();
    if let Some(flows) = after.table("flows") {
        for r in &flows.rows {
            let from = flows.text(r, "from").unwrap_or_default();
            let to = flows.text(r, "to").unwrap_or_default();
            let y = flows.get(r, "year").as_f64().unwrap_or(0.0) as i64;
            // Only what crosses a border meets another country's trade rules.
            let exported = country_of(from) != country_of(to);
            if y == year && exported && facilities.contains(&from) {
                let node = format!("{from}/{}", flows.text(r, "material").unwrap_or_default());
                if !out.contains(&node) {
                    out.push(node);
                }
            }
        }
    }
    out
}

/// Computes the agreement's impact on `q.country`.
pub fn impact(before: &Analysis, q: &ImpactQuery) -> Result<ImpactView, ViewError> {
    let world = &before.world;
    let who = resolve_country_set(world, &q.country).map_err(ViewError::NotFound)?;
    let country = who.members.first().cloned().unwrap_or_default();
    before.check_year(q.year)?;
    let after = Analysis::new(with_additions(world, &q.additions)?);
    let mut items = share_items(
        before,
        &after,
        &country,
        q.year,
        Basis::Capacity,
        "separation_capacity_share_outside_china",
        "Share of separation capacity outside China (facilities in service in the year)",
    )?;
    items.extend(share_items(
        before,
        &after,
        &country,
        q.year,
        Basis::Flow,
        "separation_output_share_outside_china",
        "Share of separated output outside China (traced flows, t REO)",
    )?);
    items.extend(benchmark_items(before, &after, q.year)?);
    items.extend(value_items(&after, &q.additions, q.year, q.as_of));
    let mut watched: Vec<String> = vec![country.clone()];
    watched.extend(q.destinations.iter().map(|(d, _)| d.clone()));
    for c in &watched {
        items.extend(dependency_items(before, &after, c, q.year)?);
    }
    for name in &q.scenarios {
        items.extend(scenario_items(
            &before.world,
            &after.world,
            name,
            q.year,
            &watched,
            q.runs.unwrap_or(200),
        )?);
    }
    let mut products = new_products(&after.world, &q.additions, q.year);
    for n in &q.nodes {
        if !products.contains(n) {
            products.push(n.clone());
        }
    }
    let mut dates = vec![q.as_of];
    dates.extend(q.also_on.iter().copied());
    for node in &products {
        for (dest, end_use) in &q.destinations {
            for date in &dates {
                let sq = ScreeningQuery {
                    node: Some(node.clone()),
                    destination: dest.clone(),
                    end_use: end_use.clone(),
                    as_of: Some(*date),
                    year: q.year,
                    ..Default::default()
                };
                let v = screening(&after, &sq, *date)?;
                let biting: Vec<String> = v
                    .determinations
                    .iter()
                    .filter(|d| {
                        d.determination.bites()
                            || d.determination == lodestone_model::Determination::Indeterminate
                    })
                    .map(|d| {
                        format!(
                            "{}: {}",
                            d.rule_title,
                            determination_text(d.determination, d.rate)
                        )
                    })
                    .collect();
                let evidence: Vec<String> = v
                    .determinations
                    .iter()
                    .filter(|d| d.determination != lodestone_model::Determination::NotApplicable)
                    .map(|d| {
                        // The supply paths behind the deciding share, as `trace --explain` gives them.
                        let paths: Vec<String> = d
                            .paths
                            .iter()
                            .take(3)
                            .map(|p| format!("{} ({})", p.nodes.join(" → "), format_share(p.share)))
                            .collect();
                        format!(
                            "{} → {}: {}{}{}",
                            d.rule,
                            d.determination,
                            d.explanation,
                            d.assumption
                                .as_ref()
                                .map_or(String::new(), |a| format!(" (assumption: {a})")),
                            if paths.is_empty() {
                                String::new()
                            } else {
                                format!(" Paths: {}", paths.join("; "))
                            }
                        )
                    })
                    .collect();
                let use_text = end_use
                    .as_ref()
                    .map_or(String::new(), |u| format!(" for {u} use"));
                items.push(ImpactItem {
                    item: format!(
                        "rules:{node}:{dest}{}:{date}",
                        end_use.as_ref().map_or(String::new(), |u| format!(":{u}"))
                    ),
                    title: format!("Trade rules on {node} shipped to {dest}{use_text} on {date}"),
                    before: None,
                    after: Some(biting.len() as f64),
                    unit: "rules that bite".into(),
                    finding: v.verdict.clone(),
                    evidence,
                });
            }
        }
    }
    let mut assumptions: Vec<String> = q.note.iter().cloned().collect();
    assumptions.extend([
        "The agreement's effects are the rows listed under additions; everything else in the dataset is unchanged.".to_string(),
        "Shares outside China are over the suppliers the dataset records for the year.".to_string(),
    ]);
    if products.is_empty() {
        assumptions.push(format!(
            "No flow of {} ships from a new facility, so no product of the agreement is screened against the rules.",
            q.year
        ));
    }
    Ok(ImpactView {
        country: country.clone(),
        country_name: crate::views::rules::country_name(world, &country),
        year: q.year,
        as_of: q.as_of,
        additions: q.additions.clone(),
        items,
        assumptions,
    })
}
