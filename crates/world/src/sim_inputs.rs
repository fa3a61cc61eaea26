//! Scenario files and the monthly simulation network of a dataset.
//!
//! The network is the lowered dataset collapsed to its hubs (facilities and country markets),
//! in t REO per month: a hub's base output is what it ships, its new content is what it ships
//! beyond what it receives, its capacity adds the spare capacity of its capacity material, its
//! yield is output over input, and a country market's demand is what it receives and does not
//! ship on. Scenario files (TOML) are parsed with located errors; the keys are in
//! `docs/simulation.md`.

use std::collections::BTreeMap;

use lodestone_sim::{
    Allocation, Dist, Event, EventKind, Restriction, Scenario, SimNetwork, SimNode, SimRoute,
    Stockpile,
};

use crate::lower::Lowering;
use crate::rules_file::{KeyLines, key_line};
use lodestone_format::Diagnostic;
use lodestone_format::{Dataset, suggest};
use lodestone_model::Vocabulary;

/// Capacity given to product nodes, which only forward what their hub makes (t REO per month).
const PRODUCT_CAPACITY: f64 = 1e12;

/// The monthly network of a lowered dataset: its hubs and product nodes (`ID/material`), so that
/// markets receive — and demand — each final-use material separately.
pub fn sim_network(ds: &Dataset, low: &Lowering) -> SimNetwork {
    let net = &low.network;
    let n = net.len();
    let mut inflow = vec![0.0; n];
    let mut outflow = vec![0.0; n];
    for f in &net.flows {
        inflow[f.to as usize] += f.quantity / 12.0;
        outflow[f.from as usize] += f.quantity / 12.0;
    }
    let ft = ds.table("facilities");
    let mt = ds.table("materials");
    let compositions = lodestone_format::Compositions::from_dataset(ds);
    // Spare capacity of each facility hub, in t REO per month.
    let spare = |i: usize| -> f64 {
        let info = &low.nodes[i];
        let Some((t, r)) = ft.and_then(|t| t.find(&info.hub).map(|r| (t, r))) else {
            return 0.0;
        };
        let (Some(cap), Some(m)) = (
            t.get(r, "capacity").as_f64(),
            t.text(r, "capacity_material"),
        ) else {
            return 0.0;
        };
        let Some(reo) = mt.and_then(|mt| {
            mt.find(m)
                .and_then(|row| mt.get(row, "reo_content").as_f64())
        }) else {
            return 0.0;
        };
        let shipped: f64 = (0..n)
            .filter(|&p| {
                low.nodes[p].hub == info.hub && low.nodes[p].material.as_deref() == Some(m)
            })
            .map(|p| outflow[p])
            .sum();
        (cap * reo / 100.0 / 12.0 - shipped).max(0.0)
    };
    let nodes = (0..n)
        .map(|i| {
            let info = &low.nodes[i];
            let is_product = info.material.is_some();
            let market = !is_product && ft.and_then(|t| t.find(&info.hub)).is_none();
            let new = if is_product {
                0.0
            } else {
                (outflow[i] - inflow[i]).max(0.0)
            };
            let demand = if market {
                (inflow[i] - outflow[i]).max(0.0)
            } else {
                0.0
            };
            let input = inflow[i] + new - demand;
            let yield_ = if input > 0.0 {
                (outflow[i] / input).min(1.0)
            } else {
                0.0
            };
            let hub_spare = if is_product { 0.0 } else { spare(i) };
            // A market's demand by material: what it receives of a material and does not ship on
            // as that material (markets pass material through unchanged).
            let mut by_material: BTreeMap<String, f64> = BTreeMap::new();
            if demand > 0.0 {
                for f in net.flows.iter().filter(|f| f.to as usize == i) {
                    if let Some(m) = &low.nodes[f.from as usize].material {
                        *by_material.entry(m.clone()).or_default() += f.quantity / 12.0;
                    }
                }
                for p in (0..n)
                    .filter(|&p| low.nodes[p].hub == info.hub && low.nodes[p].material.is_some())
                {
                    if let Some(m) = &low.nodes[p].material
                        && let Some(q) = by_material.get_mut(m)
                    {
                        *q -= outflow[p];
                    }
                }
                by_material.retain(|_, q| *q > 1e-12);
            }
            let received: f64 = by_material.values().sum();
            SimNode {
                id: net.node_ids[i].clone(),
                country: info.country.clone().unwrap_or_else(|| "unknown".into()),
                base_new: new,
                base_output: outflow[i],
                // A product node only forwards its hub's output: the hub's capacity is the limit.
                capacity: if is_product {
                    PRODUCT_CAPACITY
                } else {
                    outflow[i] + hub_spare
                },
                yield_: if is_product { 1.0 } else { yield_ },
                base_demand: demand,
                material: info.material.clone(),
                demand_by_material: if received > 0.0 {
                    by_material
                        .into_iter()
                        .map(|(m, q)| (m, demand * q / received))
                        .collect()
                } else {
                    Vec::new()
                },
                elements: info
                    .material
                    .as_deref()
                    .and_then(|m| compositions.of(m, &info.hub))
                    .map(|split| {
                        split
                            .iter()
                            .map(|(e, f)| (e.name().to_string(), *f))
                            .collect()
                    })
                    .unwrap_or_default(),
                stage: info.material.as_deref().and_then(|m| {
                    mt.and_then(|t| t.find(m))
                        .and_then(|r| mt.and_then(|t| t.text(r, "stage")))
                        .map(str::to_string)
                }),
            }
        })
        .collect();
    SimNetwork {
        nodes,
        routes: net
            .flows
            .iter()
            .map(|f| SimRoute {
                from: f.from as usize,
                to: f.to as usize,
                base: f.quantity / 12.0,
            })
            .collect(),
    }
}

/// Longest horizon and longest event (months).
const MAX_MONTHS: f64 = 600.0;
/// Largest seed (seeds are stored as integers in TOML: at most i64's largest).
const MAX_SEED: f64 = 9.0e18;
/// Largest tonnage a scenario may state (t REO): well above world production, far from overflow.
const MAX_T_REO: f64 = 1.0e9;

struct Parser<'a> {
    file: &'a str,
    lines: KeyLines,
    diags: Vec<Diagnostic>,
    nodes: Vec<String>,
    countries: Vec<String>,
}

impl Parser<'_> {
    fn err(&mut self, section: &str, key: &str, msg: String) {
        let line = self.lines.line(section, key);
        self.diags.push(Diagnostic::error(
            self.file,
            Some(line),
            (!key.is_empty()).then_some(key),
            msg,
        ));
    }

    /// A number in `range` (a located error otherwise: not a number, NaN or infinite, out of
    /// range); `default` when absent, an error when absent and required.
    fn num(
        &mut self,
        t: &toml::Table,
        sec: &str,
        key: &str,
        default: Option<f64>,
        range: std::ops::RangeInclusive<f64>,
    ) -> f64 {
        let v = match t.get(key) {
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(toml::Value::Float(f)) if f.is_finite() => *f,
            Some(toml::Value::Float(f)) => {
                self.err(sec, key, format!("{key} = {f} must be a finite number"));
                return *range.start();
            }
            Some(other) => {
                self.err(
                    sec,
                    key,
                    format!("{key} must be a number, not {}", other.type_str()),
                );
                return *range.start();
            }
            None => {
                return default.unwrap_or_else(|| {
                    self.err(sec, "", format!("required key '{key}' is missing"));
                    *range.start()
                });
            }
        };
        if !range.contains(&v) {
            self.err(
                sec,
                key,
                format!(
                    "{key} = {v} is out of range: {} to {}",
                    range.start(),
                    range.end()
                ),
            );
            return v.clamp(*range.start(), *range.end());
        }
        v
    }

    /// A whole number in `range` (a float with a fraction, such as a year of 2024.5, is an
    /// error).
    fn whole(
        &mut self,
        t: &toml::Table,
        sec: &str,
        key: &str,
        default: Option<f64>,
        range: std::ops::RangeInclusive<f64>,
    ) -> f64 {
        let v = self.num(t, sec, key, default, range);
        if v.fract() != 0.0 {
            self.err(sec, key, format!("{key} = {v} must be a whole number"));
            return v.trunc();
        }
        v
    }

    fn string(&mut self, t: &toml::Table, sec: &str, key: &str) -> String {
        match t.get(key).and_then(|v| v.as_str()) {
            Some(s) => s.to_string(),
            None => {
                self.err(sec, key, format!("'{key}' must be given as a string"));
                String::new()
            }
        }
    }

    /// A number, or a table `{ uniform = [lo, hi] }`, `{ triangular = [lo, mode, hi] }`,
    /// `{ lognormal = [mu, sigma] }`, `{ empirical = [v, …] }`, whose values all lie in `range`
    /// (for a log-normal: its median and its 99.9th percentile).
    fn dist(
        &mut self,
        t: &toml::Table,
        sec: &str,
        key: &str,
        default: Option<f64>,
        range: std::ops::RangeInclusive<f64>,
    ) -> Dist {
        let Some(v) = t.get(key) else {
            return match default {
                Some(d) => Dist::Fixed(d),
                None => {
                    self.err(sec, "", format!("required key '{key}' is missing"));
                    Dist::Fixed(*range.start())
                }
            };
        };
        if v.is_integer() || v.is_float() {
            return Dist::Fixed(self.num(t, sec, key, default, range));
        }
        let bad = |p: &mut Self| {
            p.err(sec, key, format!("{key} must be a number or {{ uniform = [low, high] }}, {{ triangular = [low, mode, high] }}, {{ lognormal = [mu, sigma] }} or {{ empirical = [values] }}"));
            Dist::Fixed(*range.start())
        };
        let Some(table) = v.as_table() else {
            return bad(self);
        };
        let Some((kind, params)) = table.iter().next() else {
            return bad(self);
        };
        let Some(items) = params.as_array() else {
            return bad(self);
        };
        let xs: Vec<f64> = items
            .iter()
            .filter_map(|x| x.as_integer().map(|i| i as f64).or(x.as_float()))
            .collect();
        if xs.len() != items.len() || xs.iter().any(|x| !x.is_finite()) {
            self.err(
                sec,
                key,
                format!("{key}: every parameter must be a finite number"),
            );
            return Dist::Fixed(*range.start());
        }
        let dist = match (kind.as_str(), xs.as_slice()) {
            ("uniform", [a, b]) if a <= b => Dist::Uniform { low: *a, high: *b },
            ("triangular", [a, m, b]) if a <= m && m <= b => Dist::Triangular {
                low: *a,
                mode: *m,
                high: *b,
            },
            ("lognormal", [mu, s]) if *s >= 0.0 => Dist::LogNormal { mu: *mu, sigma: *s },
            ("empirical", v) if !v.is_empty() && v.len() <= 10_000 => Dist::Empirical(v.to_vec()),
            _ => return bad(self),
        };
        let extremes: Vec<f64> = match &dist {
            Dist::LogNormal { mu, sigma } => vec![mu.exp(), (mu + 3.1 * sigma).exp()],
            Dist::Uniform { low, high } => vec![*low, *high],
            Dist::Triangular { low, high, .. } => vec![*low, *high],
            Dist::Empirical(v) => v.clone(),
            Dist::Fixed(x) => vec![*x],
        };
        if let Some(x) = extremes.iter().find(|x| !range.contains(x)) {
            self.err(
                sec,
                key,
                format!(
                    "{key} reaches {x}, out of range: its values must lie between {} and {}",
                    range.start(),
                    range.end()
                ),
            );
            return Dist::Fixed(*range.start());
        }
        dist
    }

    /// An optional array of strings (other items are ignored).
    fn strings(t: &toml::Table, key: &str) -> Vec<String> {
        t.get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn node(&mut self, t: &toml::Table, sec: &str) -> String {
        let id = self.string(t, sec, "node");
        if !id.is_empty() && !self.nodes.contains(&id) {
            let all: Vec<&str> = self.nodes.iter().map(String::as_str).collect();
            let hint = suggest(&id, &all);
            self.err(
                sec,
                "node",
                format!("node '{id}' has no flows in the simulated year{hint}"),
            );
        }
        id
    }

    /// A country key that may also be `all`.
    fn country_or_all(&mut self, t: &toml::Table, sec: &str, key: &str) -> String {
        let c = self.string(t, sec, key);
        if c != "all" {
            self.country(sec, key, &c);
        }
        c
    }

    fn country(&mut self, sec: &str, key: &str, c: &str) {
        if !self.countries.iter().any(|x| x == c) {
            self.err(
                sec,
                key,
                format!("'{c}' is not a country of the dataset (ISO3)"),
            );
        }
    }
}

/// A parsed scenario and the options the file sets for the run.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    /// The scenario.
    pub scenario: Scenario,
    /// Year of the dataset's flows the network is built from.
    pub year: i64,
    /// Shortfall share whose probability of being exceeded is reported.
    pub shortfall_level: f64,
    /// What the scenario represents, for reports.
    pub description: String,
    /// The calendar month of month 0 (`YYYY-MM`), if the file gives one.
    pub start: Option<String>,
    /// For a backtest: the first months, on which the scenario's parameters were calibrated
    /// (the rest are out of sample).
    pub calibration_months: usize,
}

/// Parses a scenario file against a network; every problem is a located diagnostic.
pub fn parse_scenario(
    file: &str,
    text: &str,
    ds: &Dataset,
    net: &SimNetwork,
) -> Result<ScenarioFile, Vec<Diagnostic>> {
    let doc: toml::Table = match toml::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() as u64 + 1);
            return Err(vec![Diagnostic::error(
                file,
                line,
                None,
                format!("invalid TOML: {}", e.message().trim()),
            )]);
        }
    };
    let countries = ds.ids("countries").into_iter().collect();
    let mut p = Parser {
        file,
        lines: KeyLines::new(text),
        diags: Vec::new(),
        nodes: net.nodes.iter().map(|n| n.id.clone()).collect(),
        countries,
    };
    let known = [
        "name",
        "description",
        "source",
        "sources",
        "seed",
        "months",
        "year",
        "demand_growth",
        "allocation",
        "shortfall_level",
        "events",
        "stockpiles",
        "end_uses",
        "inventories",
        "tracked_exports",
        "transit",
        "calibration_months",
        "start",
    ];
    for k in doc.keys() {
        if !known.contains(&k.as_str()) {
            p.err("", k, format!("unknown key '{k}'{}", suggest(k, &known)));
        }
    }
    let name = doc
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or(file)
        .to_string();
    let description = doc
        .get("description")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let start = doc
        .get("start")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    if let Some(st) = &start {
        let ok =
            lodestone_model::Date::parse(st).is_some_and(|d| d.month.is_some() && d.day.is_none());
        if !ok {
            p.err(
                "",
                "start",
                format!("start '{st}' is not a month: write YYYY-MM"),
            );
        }
    }
    let seed = p.whole(&doc, "", "seed", Some(1.0), 0.0..=MAX_SEED) as u64;
    let months = p.whole(&doc, "", "months", Some(24.0), 1.0..=MAX_MONTHS);
    let year = p.whole(&doc, "", "year", Some(2024.0), 1900.0..=2100.0) as i64;
    // Growth is bounded so that demand over the longest horizon stays finite and meaningful.
    let demand_growth = p.num(&doc, "", "demand_growth", Some(0.0), -0.5..=1.0);
    let shortfall_level = p.num(&doc, "", "shortfall_level", Some(0.2), 0.0..=1.0);
    let allocation = match doc.get("allocation") {
        None => Allocation::ProRata,
        Some(toml::Value::String(s)) if s == "pro_rata" => Allocation::ProRata,
        Some(toml::Value::String(s)) if s == "lp" => Allocation::Lp(Vec::new()),
        Some(toml::Value::Table(t)) if t.contains_key("lp") => {
            let list: Vec<String> = Parser::strings(t, "lp");
            for c in &list {
                p.country("", "allocation", c);
            }
            Allocation::Lp(list)
        }
        Some(toml::Value::Table(t)) if t.contains_key("priority") => {
            let list: Vec<String> = Parser::strings(t, "priority");
            for c in &list {
                p.country("", "allocation", c);
            }
            Allocation::Priority(list)
        }
        Some(_) => {
            p.err(
                "",
                "allocation",
                "allocation must be \"pro_rata\", \"lp\", { priority = [\"JPN\", …] } or { lp = [\"JPN\", …] }".into(),
            );
            Allocation::ProRata
        }
    };
    let mut events = Vec::new();
    if let Some(list) = doc.get("events").and_then(|v| v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            let sec = format!("events#{i}");
            let Some(t) = item.as_table() else { continue };
            let start = p.dist(t, &sec, "start", Some(0.0), 0.0..=MAX_MONTHS);
            let kind = match t.get("kind").and_then(|v| v.as_str()).unwrap_or("") {
                "outage" => EventKind::Outage {
                    node: p.node(t, &sec),
                    months: p.dist(t, &sec, "months", None, 0.0..=MAX_MONTHS),
                },
                "export_restriction" => {
                    let issuer = p.string(t, &sec, "issuer");
                    p.country(&sec, "issuer", &issuer);
                    let destinations: Vec<String> = Parser::strings(t, "destinations");
                    for d in &destinations {
                        p.country(&sec, "destinations", d);
                    }
                    let months = t
                        .contains_key("months")
                        .then(|| p.dist(t, &sec, "months", None, 0.0..=MAX_MONTHS));
                    let mode = match t.get("mode").and_then(|v| v.as_str()).unwrap_or("") {
                        "ban" => Restriction::Ban,
                        "quota" => Restriction::Quota(p.num(t, &sec, "quota", None, 0.0..=1.0)),
                        "licensing" => Restriction::Licensing {
                            approval: p.num(t, &sec, "approval_probability", None, 0.0..=1.0),
                            delay_months: p.dist(t, &sec, "delay_months", Some(0.0), 0.0..=60.0),
                            ramp: t.contains_key("approval_final").then(|| {
                                (
                                    p.num(t, &sec, "approval_final", None, 0.0..=1.0),
                                    p.num(t, &sec, "ramp_months", None, 0.0..=MAX_MONTHS),
                                )
                            }),
                        },
                        other => {
                            p.err(
                                &sec,
                                "mode",
                                format!("mode '{other}' is not ban, quota or licensing"),
                            );
                            Restriction::Ban
                        }
                    };
                    let elements: Vec<String> = Parser::strings(t, "elements");
                    for e in &elements {
                        match lodestone_model::Element::parse(e) {
                            Ok(lodestone_model::Element::Other) => p.err(
                                &sec,
                                "elements",
                                "'other' is not an element a restriction can name".to_string(),
                            ),
                            Ok(_) => {}
                            Err(why) => p.err(&sec, "elements", why.to_string()),
                        }
                    }
                    let unresolved_covered = match t
                        .get("unresolved")
                        .and_then(|v| v.as_str())
                        .unwrap_or("covered")
                    {
                        "covered" => true,
                        "not_covered" => false,
                        other => {
                            p.err(
                                &sec,
                                "unresolved",
                                format!("unresolved '{other}' is not covered or not_covered"),
                            );
                            true
                        }
                    };
                    EventKind::ExportRestriction {
                        issuer,
                        destinations,
                        months,
                        mode,
                        elements,
                        unresolved_covered,
                    }
                }
                "capacity_addition" => EventKind::CapacityAddition {
                    node: p.node(t, &sec),
                    extra: p.num(t, &sec, "extra_t_reo_per_year", None, 0.0..=MAX_T_REO) / 12.0,
                    ramp_months: p.num(t, &sec, "ramp_months", Some(1.0), 0.0..=MAX_MONTHS),
                },
                "tariff" => {
                    let importer = p.string(t, &sec, "importer");
                    p.country(&sec, "importer", &importer);
                    let origins: Vec<String> = Parser::strings(t, "origins");
                    for o in &origins {
                        p.country(&sec, "origins", o);
                    }
                    let months = t
                        .contains_key("months")
                        .then(|| p.dist(t, &sec, "months", None, 0.0..=MAX_MONTHS));
                    EventKind::Tariff {
                        importer,
                        origins,
                        rate: p.num(t, &sec, "rate", None, 0.0..=10.0),
                        months,
                    }
                }
                "demand_shock" => {
                    let country = p.string(t, &sec, "country");
                    p.country(&sec, "country", &country);
                    EventKind::DemandShock {
                        country,
                        factor: p.num(t, &sec, "factor", None, 0.0..=100.0),
                        months: p.dist(t, &sec, "months", None, 0.0..=MAX_MONTHS),
                    }
                }
                other => {
                    p.err(&sec, "kind", format!("event kind '{other}' is not outage, export_restriction, capacity_addition, demand_shock or tariff"));
                    continue;
                }
            };
            events.push(Event { start, kind });
        }
    }
    let mut stockpiles = Vec::new();
    if let Some(list) = doc.get("stockpiles").and_then(|v| v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            let sec = format!("stockpiles#{i}");
            let Some(t) = item.as_table() else { continue };
            let country = p.string(t, &sec, "country");
            p.country(&sec, "country", &country);
            stockpiles.push(Stockpile {
                country,
                initial: p.num(t, &sec, "initial_t_reo", None, 0.0..=MAX_T_REO),
                release_per_month: p.num(t, &sec, "release_t_reo_per_month", None, 0.0..=MAX_T_REO),
                trigger: p.num(t, &sec, "trigger_shortfall", Some(0.05), 0.0..=1.0),
                rebuild_per_month: p.num(
                    t,
                    &sec,
                    "rebuild_t_reo_per_month",
                    Some(0.0),
                    0.0..=MAX_T_REO,
                ),
            });
        }
    }
    let mut inventories = Vec::new();
    if let Some(list) = doc.get("inventories").and_then(|v| v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            let sec = format!("inventories#{i}");
            let Some(t) = item.as_table() else { continue };
            let country = p.country_or_all(t, &sec, "country");
            let stage = t.get("stage").and_then(|v| v.as_str()).map(str::to_string);
            if let Some(st) = &stage {
                let stages: Vec<String> = ds
                    .table("materials")
                    .map(|mtab| {
                        let mut v: Vec<String> = mtab
                            .rows
                            .iter()
                            .filter_map(|r| mtab.text(r, "stage").map(str::to_string))
                            .collect();
                        v.sort();
                        v.dedup();
                        v
                    })
                    .unwrap_or_default();
                if !stages.contains(st) {
                    let all: Vec<&str> = stages.iter().map(String::as_str).collect();
                    let hint = suggest(st, &all);
                    p.err(
                        &sec,
                        "stage",
                        format!(
                            "stage '{st}' is not a material stage{hint}; valid: {}",
                            all.join(", ")
                        ),
                    );
                }
            }
            inventories.push(lodestone_sim::Inventory {
                country,
                stage,
                days_of_cover: p.dist(t, &sec, "days_of_cover", None, 0.0..=3650.0),
                rebuild_months: p.num(t, &sec, "rebuild_months", Some(6.0), 0.0..=MAX_MONTHS),
            });
        }
    }
    let mut tracked_exports = Vec::new();
    if let Some(list) = doc.get("tracked_exports").and_then(|v| v.as_array()) {
        let materials = ds.ids("materials");
        for (i, item) in list.iter().enumerate() {
            let sec = format!("tracked_exports#{i}");
            let Some(t) = item.as_table() else { continue };
            let issuer = p.string(t, &sec, "issuer");
            p.country(&sec, "issuer", &issuer);
            let list: Vec<String> = Parser::strings(t, "materials");
            if list.is_empty() {
                p.err(
                    &sec,
                    "materials",
                    "materials must list at least one material id".into(),
                );
            }
            for m in &list {
                if !materials.contains(m) {
                    let all: Vec<&str> = materials.iter().map(String::as_str).collect();
                    let hint = suggest(m, &all);
                    p.err(&sec, "materials", format!("'{m}' is not a material{hint}"));
                }
            }
            tracked_exports.push(lodestone_sim::TrackedExports {
                issuer,
                materials: list,
            });
        }
    }
    let mut transit = Vec::new();
    if let Some(list) = doc.get("transit").and_then(|v| v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            let sec = format!("transit#{i}");
            let Some(t) = item.as_table() else { continue };
            let from = p.country_or_all(t, &sec, "from");
            let to = p.country_or_all(t, &sec, "to");
            transit.push(lodestone_sim::Transit {
                from,
                to,
                months: p.dist(t, &sec, "months", None, 0.0..=12.0),
            });
        }
    }
    let calibration_months =
        p.whole(&doc, "", "calibration_months", Some(0.0), 0.0..=MAX_MONTHS) as usize;
    let mut end_uses = Vec::new();
    if let Some(list) = doc.get("end_uses").and_then(|v| v.as_array()) {
        for (i, item) in list.iter().enumerate() {
            let sec = format!("end_uses#{i}");
            let Some(t) = item.as_table() else { continue };
            let country = p.string(t, &sec, "country");
            p.country(&sec, "country", &country);
            let share = p.num(t, &sec, "share", None, 0.0..=1.0);
            end_uses.push(lodestone_sim::EndUse {
                country,
                end_use: p.string(t, &sec, "end_use"),
                share,
                priority: p.whole(t, &sec, "priority", Some(1.0), 1.0..=100.0) as u32,
            });
        }
    }
    let mut total: BTreeMap<&str, f64> = BTreeMap::new();
    for e in &end_uses {
        *total.entry(e.country.as_str()).or_default() += e.share;
    }
    for (c, t) in total {
        if (t - 1.0).abs() > 1e-6 {
            let line = p.lines.line("end_uses#0", "share");
            p.diags.push(Diagnostic::error(
                file,
                Some(line),
                Some("share"),
                format!("end-use shares of {c} add up to {t}, not 1"),
            ));
        }
    }
    if !p.diags.is_empty() {
        return Err(p.diags);
    }
    Ok(ScenarioFile {
        scenario: Scenario {
            name,
            seed,
            months: months as usize,
            demand_growth,
            allocation,
            events,
            stockpiles,
            inventories,
            tracked_exports,
            transit,
            end_uses,
        },
        year,
        shortfall_level,
        description,
        start,
        calibration_months,
    })
}

/// The flow year a scenario text asks for (`year = …`), 2024 when absent or unreadable; the
/// network is built for it before the scenario is checked against the network.
pub fn scenario_year(text: &str) -> i64 {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("year").and_then(|y| y.as_integer()))
        .unwrap_or(2024)
}

/// Checks every `scenarios/*.toml` of a dataset against the network of its year, appending
/// located diagnostics.
pub fn check_scenarios(ds: &Dataset, diags: &mut Vec<Diagnostic>) {
    let mut networks: BTreeMap<i64, Option<SimNetwork>> = BTreeMap::new();
    for f in ds
        .toml_files
        .iter()
        .filter(|f| f.path.starts_with("scenarios/"))
    {
        let year = scenario_year(&f.text);
        let net = networks.entry(year).or_insert_with(|| {
            crate::lower::lower_dataset(ds, year)
                .ok()
                .map(|low| sim_network(ds, &low))
        });
        match net {
            Some(net) => {
                if let Err(errors) = parse_scenario(&f.path, &f.text, ds, net) {
                    diags.extend(errors);
                }
            }
            None => diags.push(Diagnostic::error(
                &f.path,
                Some(key_line(&f.text, "", "year")),
                Some("year"),
                format!("the dataset has no flows in {year} to simulate"),
            )),
        }
    }
}
