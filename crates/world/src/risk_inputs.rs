//! Risk views of a dataset: the inputs `lodestone-risk` needs, gathered from the tables, the
//! lowered network and its trace.
//!
//! * **Concentration** per material and stage on three bases: `capacity` (stated capacity of
//!   operating facilities, t/yr of the capacity material), `flow` (t REO that first reached the
//!   stage in each country in the year: the lowering's `mined:`, `separated:`, `metal:` and
//!   `magnet:` additions), and `production` (the `production` table as published, e.g. USGS; shares
//!   are of the published world total where a `WLD` row exists). By location, or (capacity and
//!   flow) by the country of the ultimate owner.
//! * **Dependency** of a country: its receipts of a material (flows into its facilities and market
//!   from other nodes) by shipper country (direct) against the traced origin of their content.
//! * **Critical facilities**: the share of a country's receipts that passed through each facility,
//!   the supply lost if it stops without re-routing, and with re-routing through spare capacity
//!   (max-flow over the network with facility capacities).

use std::collections::{BTreeMap, HashMap};

use lodestone_model::{Basis, Scope, Stage, TagFamily, View, Vocabulary};
use lodestone_risk::{FlowNetwork, Receipt, concentration, dependency, max_flow};
use lodestone_trace::Trace;

use crate::lower::Lowering;
use lodestone_format::Dataset;

/// One supplier's share in a concentration view.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcentrationRow {
    /// Material id, or `all` for every material of the stage.
    pub material: String,
    /// Chain stage.
    pub stage: Stage,
    /// What the share is a share of.
    pub basis: Basis,
    /// Year of the flows or production (capacity: the dataset's current capacities).
    pub year: i64,
    /// Which suppliers the table covers.
    pub scope: Scope,
    /// What the table ranks.
    pub view: View,
    /// The supplier ranked: a country (ISO3) for the location and ownership views, a company or
    /// facility id (or `ISO3 (market)`) for the others.
    pub supplier: String,
    /// Quantity in `unit`.
    pub quantity: f64,
    /// Unit of `quantity`.
    pub unit: String,
    /// Share of the total (a fraction).
    pub share: f64,
    /// HHI of the material and stage (0–10,000).
    pub hhi: f64,
    /// Largest share of the material and stage.
    pub top1: f64,
    /// Three largest shares of the material and stage.
    pub top3: f64,
    /// Source ids behind the figure.
    pub sources: Vec<String>,
    /// Capacity basis only: the share of the stage's traced output in the year (t REO first
    /// reaching the stage, in the same scope) shipped by the facilities whose capacity is
    /// counted — how complete the basis is.
    pub coverage: Option<f64>,
}

/// Whether facility row `r` was in service in `year`: operating or commissioning at some time
/// in the year by its status history (`facility_status`), or — without a history — operating
/// now and started (if a start date is recorded) by the end of the year.
fn in_service(
    ds: &Dataset,
    ft: &lodestone_format::Table,
    r: &lodestone_format::Row,
    year: i64,
) -> bool {
    let serving = |s: &str| matches!(s, "operating" | "commissioning");
    let Some(id) = ft.text(r, "id") else {
        return false;
    };
    let mut history: Vec<(i64, String)> = Vec::new();
    if let Some(st) = ds.table("facility_status") {
        for h in &st.rows {
            if st.text(h, "facility") != Some(id) {
                continue;
            }
            if let (lodestone_format::Value::Date(d), Some(status)) =
                (st.get(h, "date"), st.text(h, "status"))
            {
                history.push((i64::from(d.earliest().0), status.to_string()));
            }
        }
    }
    if !history.is_empty() {
        history.sort_by_key(|x| x.0);
        // The status at the start of the year, and every change during it.
        let at_start = history.iter().rev().find(|(y, _)| *y < year);
        let during = history.iter().filter(|(y, _)| *y == year);
        return at_start.into_iter().chain(during).any(|(_, s)| serving(s));
    }
    let started = match ft.get(r, "start_date") {
        lodestone_format::Value::Date(d) => i64::from(d.earliest().0) <= year,
        _ => true,
    };
    ft.text(r, "status").is_some_and(serving) && started
}

/// (key, quantity, source ids, location country) entries of one market.
type Entries = Vec<(String, f64, Vec<String>, String)>;

/// Material id → (stage, REO content in % of the material).
pub(crate) fn materials(ds: &Dataset) -> HashMap<String, (String, Option<f64>)> {
    let mut out = HashMap::new();
    if let Some(t) = ds.table("materials") {
        for r in &t.rows {
            if let Some(id) = t.text(r, "id") {
                out.insert(
                    id.to_string(),
                    (
                        t.text(r, "stage").unwrap_or("").to_string(),
                        t.get(r, "reo_content").as_f64(),
                    ),
                );
            }
        }
    }
    out
}

/// The ultimate owner of a company: follow majority (> 50 %) stakes upwards.
pub fn ultimate_owner(ds: &Dataset, company: &str) -> String {
    let ot = ds.table("ownership");
    let mut current = company.to_string();
    for _ in 0..16 {
        let parent = ot.and_then(|ot| {
            ot.rows
                .iter()
                .filter(|r| ot.text(r, "company") == Some(current.as_str()))
                .find(|r| ot.get(r, "share").as_f64().is_some_and(|s| s > 50.0))
                .and_then(|r| ot.text(r, "owner").map(str::to_string))
        });
        match parent {
            Some(p) if p != current => current = p,
            _ => break,
        }
    }
    current
}

/// Country of the ultimate owner of a company; a state body counts for its state.
pub fn owner_country(ds: &Dataset, company: &str) -> Option<String> {
    let ct = ds.table("companies")?;
    let row = ct.find(&ultimate_owner(ds, company))?;
    ct.text(row, "state")
        .or_else(|| ct.text(row, "country"))
        .map(str::to_string)
}

/// Keys of a facility (or a country market) in each view: location country, owner country,
/// ultimate owner company, facility.
fn view_keys(ds: &Dataset, hub: &str, fallback_country: &str) -> [String; 4] {
    let ft = ds.table("facilities");
    match ft.and_then(|ft| ft.find(hub).map(|r| (ft, r))) {
        Some((ft, r)) => {
            let country = ft
                .text(r, "country")
                .unwrap_or(fallback_country)
                .to_string();
            let operator = ft.text(r, "operator").unwrap_or("");
            let owner = ultimate_owner(ds, operator);
            let owner_c = owner_country(ds, operator).unwrap_or_else(|| country.clone());
            [country, owner_c, owner, hub.to_string()]
        }
        None => [
            fallback_country.to_string(),
            fallback_country.to_string(),
            format!("{fallback_country} (market)"),
            format!("{fallback_country} (market)"),
        ],
    }
}

fn push_view(
    out: &mut Vec<ConcentrationRow>,
    key: (&str, Stage, Basis, i64, Scope, View, &str),
    entries: &[(String, f64, Vec<String>, String)],
    denominator: Option<f64>,
) {
    let (material, stage, basis, year, scope, view, unit) = key;
    // "Outside China" drops what is located in China, whatever the view's key.
    let entries: Vec<&(String, f64, Vec<String>, String)> = entries
        .iter()
        .filter(|(_, _, _, located)| scope == Scope::World || located != "CHN")
        .collect();
    let c = concentration(entries.iter().map(|(k, q, _, _)| (k.as_str(), *q)));
    let total = denominator
        .filter(|_| scope == Scope::World)
        .unwrap_or(c.total);
    let shares: Vec<f64> = c
        .shares
        .iter()
        .map(|s| if total > 0.0 { s.quantity / total } else { 0.0 })
        .collect();
    let hhi: f64 = shares.iter().map(|s| (100.0 * s).powi(2)).sum();
    let top1 = shares.first().copied().unwrap_or(0.0);
    let top3: f64 = shares.iter().take(3).sum();
    for (s, share) in c.shares.iter().zip(shares) {
        let mut sources: Vec<String> = entries
            .iter()
            .filter(|(k, _, _, _)| *k == s.key)
            .flat_map(|(_, _, src, _)| src.clone())
            .collect();
        sources.sort();
        sources.dedup();
        out.push(ConcentrationRow {
            material: material.to_string(),
            stage,
            basis,
            year,
            scope,
            view,
            supplier: s.key.clone(),
            quantity: s.quantity,
            unit: unit.to_string(),
            share,
            hhi,
            top1,
            top3,
            sources,
            coverage: None,
        });
    }
}

/// Concentration rows on every basis, for the world and outside China, by location and owner.
pub fn concentration_rows(ds: &Dataset, low: &Lowering, year: i64) -> Vec<ConcentrationRow> {
    let mats = materials(ds);
    let mut out = Vec::new();
    let emit = |out: &mut Vec<ConcentrationRow>,
                by: BTreeMap<(String, Stage), [Entries; 4]>,
                basis: Basis,
                unit: &str| {
        for ((m, stage), views) in by {
            for scope in Scope::ALL {
                for (v, entries) in views.iter().enumerate() {
                    push_view(
                        out,
                        (&m, stage, basis, year, *scope, View::ALL[v], unit),
                        entries,
                        None,
                    );
                }
            }
        }
    };
    // Capacity of the facilities in service in the year, per capacity material; and which
    // facilities are counted, for the basis's coverage.
    let mut counted: BTreeMap<(String, Stage), Vec<String>> = BTreeMap::new();
    if let Some(ft) = ds.table("facilities") {
        let mut by: BTreeMap<(String, Stage), [Entries; 4]> = BTreeMap::new();
        for r in &ft.rows {
            let (Some(cap), Some(m), Some(id)) = (
                ft.get(r, "capacity").as_f64(),
                ft.text(r, "capacity_material"),
                ft.text(r, "id"),
            ) else {
                continue;
            };
            // A target (Solvay's 4,500 t/yr by 2030) is not capacity in service.
            if !in_service(ds, ft, r, year) || ft.text(r, "capacity_basis") == Some("target") {
                continue;
            }
            let stage = Stage::of_material(mats.get(m).map_or("", |x| x.0.as_str()));
            counted
                .entry((m.to_string(), stage))
                .or_default()
                .push(id.to_string());
            let keys = view_keys(ds, id, ft.text(r, "country").unwrap_or("unknown"));
            let src: Vec<String> = ft
                .text(r, "source")
                .map(str::to_string)
                .into_iter()
                .collect();
            let e = by.entry((m.to_string(), stage)).or_default();
            let located = keys[0].clone();
            for (v, key) in keys.into_iter().enumerate() {
                e[v].push((key, cap, src.clone(), located.clone()));
            }
        }
        emit(&mut out, by, Basis::Capacity, "t/yr");
    }
    // Flows: REO first reaching each stage, from the lowering's additions, with the sources of
    // the flows that carry it.
    let net = &low.network;
    let mut by: BTreeMap<(String, Stage), [Entries; 4]> = BTreeMap::new();
    // Output first reaching each stage, by hub (and whether it is Chinese): the capacity
    // basis's coverage.
    let mut first_reaching: HashMap<(String, Stage), (f64, bool)> = HashMap::new();
    for a in &net.additions {
        let tag = &net.tags[a.tag as usize];
        let Some((family, country)) = TagFamily::of_tag(tag) else {
            continue;
        };
        let Some(stage) = family.stage() else {
            continue;
        };
        let info = &low.nodes[a.node as usize];
        first_reaching
            .entry((info.hub.clone(), stage))
            .or_insert((0.0, country == "CHN"))
            .0 += a.amount;
        let keys = view_keys(ds, &info.hub, country);
        let mut src: Vec<String> = if info.material.is_some() {
            info.sources.clone()
        } else {
            low.nodes
                .iter()
                .filter(|x| x.hub == info.hub)
                .flat_map(|x| x.sources.clone())
                .collect()
        };
        src.sort();
        src.dedup();
        let mut materials = vec!["all".to_string()];
        if let Some(m) = &info.material {
            materials.push(m.clone());
        }
        for material in materials {
            let e = by.entry((material, stage)).or_default();
            for (v, key) in keys.iter().enumerate() {
                // The location view keys by the tag's country, which is the hub's country.
                let key = if v == 0 {
                    country.to_string()
                } else {
                    key.clone()
                };
                e[v].push((key, a.amount, src.clone(), country.to_string()));
            }
        }
    }
    emit(&mut out, by, Basis::Flow, "t REO/yr");
    // The capacity basis's coverage, from the output first reaching each stage by hub (above).
    for row in out.iter_mut().filter(|r| r.basis == Basis::Capacity) {
        let in_scope = |chinese: bool| row.scope == Scope::World || !chinese;
        let total: f64 = first_reaching
            .iter()
            .filter(|((_, s), (_, cn))| *s == row.stage && in_scope(*cn))
            .map(|(_, (q, _))| q)
            .sum();
        let covered: f64 = counted
            .get(&(row.material.clone(), row.stage))
            .into_iter()
            .flatten()
            .filter_map(|f| first_reaching.get(&(f.clone(), row.stage)))
            .filter(|(_, cn)| in_scope(*cn))
            .map(|(q, _)| q)
            .sum();
        row.coverage = Some(if total > 0.0 { covered / total } else { 0.0 });
    }
    // Production as published.
    if let Some(pt) = ds.table("production") {
        let mut by: BTreeMap<(String, Stage, i64), (Entries, Option<f64>)> = BTreeMap::new();
        for r in &pt.rows {
            let observed = pt.text(r, "kind").unwrap_or("observed") == "observed"
                && pt.get(r, "scenario").as_str().is_none();
            let (Some(c), Some(m), Some(s), Some(q)) = (
                pt.text(r, "country"),
                pt.text(r, "material"),
                pt.text(r, "stage"),
                pt.get(r, "quantity").as_f64(),
            ) else {
                continue;
            };
            let lodestone_format::Value::Integer(y) = pt.get(r, "year") else {
                continue;
            };
            // `refining` (the IEA's word) is separation; `reserves` is not a stage.
            let Some(stage) = Stage::of_production(s) else {
                continue;
            };
            if !observed {
                continue;
            }
            let src: Vec<String> = pt
                .text(r, "source")
                .map(str::to_string)
                .into_iter()
                .collect();
            let e = by.entry((m.to_string(), stage, *y)).or_default();
            if c == "WLD" {
                e.1 = Some(q);
            } else {
                e.0.push((c.to_string(), q, src, c.to_string()));
            }
        }
        for ((m, s, y), (entries, world)) in by {
            // A share needs the whole: a published world total, or a rest of the world beside
            // the countries. Company figures alone (Lynas's and MP's NdPr) would make two
            // companies' countries the whole industry.
            if world.is_none() && !entries.iter().any(|e| e.0 == "ROW") {
                continue;
            }
            for scope in Scope::ALL {
                push_view(
                    &mut out,
                    (&m, s, Basis::Production, y, *scope, View::Location, "t REO"),
                    &entries,
                    world,
                );
            }
        }
    }
    out
}

/// A country's receipts of materials at a stage (or one material), with their traced content.
fn receipts(
    ds: &Dataset,
    low: &Lowering,
    trace: &Trace,
    country: &[String],
    material: Option<&str>,
    stages: &StageFilter,
    family: TagFamily,
) -> Vec<Receipt> {
    let mats = materials(ds);
    let net = &low.network;
    let mut out = Vec::new();
    for f in &net.flows {
        let (from, to) = (&low.nodes[f.from as usize], &low.nodes[f.to as usize]);
        let Some(m) = &from.material else { continue };
        if to.material.is_some() || from.hub == to.hub {
            continue; // product → hub only: a receipt
        }
        if !to.country.as_ref().is_some_and(|c| country.contains(c)) {
            continue;
        }
        if material.is_some_and(|x| x != m) {
            continue;
        }
        if !stages.admits(Stage::of_material(mats.get(m).map_or("", |x| x.0.as_str()))) {
            continue;
        }
        let content: Vec<(String, f64)> = net
            .tags
            .iter()
            .enumerate()
            .filter_map(|(t, tag)| {
                let (fam, c) = TagFamily::of_tag(tag)?;
                (fam == family).then(|| {
                    (
                        c.to_string(),
                        trace.per_unit(f.from as usize, t).clamp(0.0, 1.0),
                    )
                })
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        out.push(Receipt {
            shipper_country: from.country.clone().unwrap_or_else(|| "unknown".into()),
            quantity: f.quantity,
            content,
        });
    }
    out
}

/// Which receipts a dependency counts, by the chain stage of the material received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageFilter {
    /// Every material.
    Any,
    /// Materials of this stage only.
    Exactly(Stage),
    /// Materials of this stage or a later one: everything that has passed the stage.
    FromStage(Stage),
}

impl StageFilter {
    /// Whether a material of chain stage `s` is counted.
    pub fn admits(self, s: Stage) -> bool {
        match self {
            StageFilter::Any => true,
            StageFilter::Exactly(x) => s == x,
            StageFilter::FromStage(x) => s >= x,
        }
    }
}

/// Direct against traced dependency of a country (or bloc) on each origin, per stage family:
/// (family, total receipts in t REO, row).
pub fn dependency_rows(
    ds: &Dataset,
    low: &Lowering,
    trace: &Trace,
    countries: &[String],
    material: Option<&str>,
    stages: StageFilter,
) -> Vec<(TagFamily, f64, lodestone_risk::DependencyRow)> {
    let mut out = Vec::new();
    for family in TagFamily::STAGES {
        out.extend(family_dependency(
            ds, low, trace, countries, material, stages, family,
        ));
    }
    out
}

/// [`dependency_rows`] of one tag family.
pub fn family_dependency(
    ds: &Dataset,
    low: &Lowering,
    trace: &Trace,
    countries: &[String],
    material: Option<&str>,
    stages: StageFilter,
    family: TagFamily,
) -> Vec<(TagFamily, f64, lodestone_risk::DependencyRow)> {
    let rs = receipts(ds, low, trace, countries, material, &stages, family);
    let total: f64 = rs.iter().map(|r| r.quantity).sum();
    dependency(&rs)
        .into_iter()
        .map(|row| (family, total, row))
        .collect()
}

/// Expands a country argument: an ISO3 code of the dataset, or a group id (`eu`, `asean`, or
/// `group:eu`) to the member countries that carry it in `countries.groups`. `None` if it is
/// neither.
pub fn country_members(ds: &Dataset, country: &str) -> Option<Vec<String>> {
    let ct = ds.table("countries")?;
    if ct.contains(country) {
        return Some(vec![country.to_string()]);
    }
    let group = country.trim_start_matches("group:").to_ascii_lowercase();
    let m: Vec<String> = ct
        .rows
        .iter()
        .filter(|r| ct.get(r, "groups").items().contains(&group.as_str()))
        .filter_map(|r| ct.text(r, "id").map(str::to_string))
        .collect();
    (!m.is_empty()).then_some(m)
}

/// A facility's weight in a country's supply.
#[derive(Debug, Clone, PartialEq)]
pub struct CriticalRow {
    /// Facility id.
    pub facility: String,
    /// Facility country.
    pub facility_country: String,
    /// Share of the country's REO receipts that passed through the facility.
    pub share: f64,
    /// t REO/yr of the country's receipts lost if the facility stops, without re-routing.
    pub loss_without_rerouting: f64,
    /// t REO/yr lost with re-routing through spare capacity (max-flow), if computed.
    pub loss_with_rerouting: f64,
}

/// Critical facilities for a country: share of its receipts through each facility and the supply
/// lost if it stops for a year, with and without re-routing. Largest loss first.
pub fn critical_rows(
    ds: &Dataset,
    low: &Lowering,
    trace: &Trace,
    countries: &[String],
) -> Vec<CriticalRow> {
    let mats = materials(ds);
    let net = &low.network;
    let n = net.len();
    let receipts: Vec<(usize, usize, f64)> = net
        .flows
        .iter()
        .filter(|f| {
            let (a, b) = (&low.nodes[f.from as usize], &low.nodes[f.to as usize]);
            a.material.is_some()
                && b.material.is_none()
                && a.hub != b.hub
                && b.country.as_ref().is_some_and(|c| countries.contains(c))
        })
        .map(|f| (f.from as usize, f.to as usize, f.quantity))
        .collect();
    let total: f64 = receipts.iter().map(|r| r.2).sum();
    if total <= 0.0 {
        return Vec::new();
    }
    // Capacity network in t REO: source → hubs with new content; hub_in → hub_out limited by
    // throughput plus spare capacity; flows along the existing routes; receipts → sink.
    let hub_of: Vec<usize> = (0..n)
        .map(|i| {
            low.nodes
                .iter()
                .position(|x| x.hub == low.nodes[i].hub && x.material.is_none())
                .unwrap_or(i)
        })
        .collect();
    let mut inflow = vec![0.0; n];
    let mut outflow = vec![0.0; n];
    for f in &net.flows {
        inflow[f.to as usize] += f.quantity;
        outflow[f.from as usize] += f.quantity;
    }
    let ft = ds.table("facilities");
    let spare = |hub: usize| -> f64 {
        let Some(ft) = ft else { return 0.0 };
        let Some(r) = ft.find(&low.nodes[hub].hub) else {
            return 0.0;
        };
        let (Some(cap), Some(cm)) = (
            ft.get(r, "capacity").as_f64(),
            ft.text(r, "capacity_material"),
        ) else {
            return 0.0;
        };
        let Some(reo) = mats.get(cm).and_then(|m| m.1) else {
            return 0.0;
        };
        let shipped: f64 = (0..n)
            .filter(|&p| {
                hub_of[p] == hub && p != hub && low.nodes[p].material.as_deref() == Some(cm)
            })
            .map(|p| outflow[p])
            .sum();
        (cap * reo / 100.0 - shipped).max(0.0)
    };
    const BIG: f64 = 1e15;
    let (source, sink) = (2 * n, 2 * n + 1);
    let build = |stopped: Option<usize>| -> FlowNetwork {
        let mut g = FlowNetwork::new(2 * n + 2);
        for i in 0..n {
            // A hub can pass on what it ships now plus its spare capacity; REO it receives but does
            // not ship (stock, losses, unrecorded sales) is not assumed to be available.
            let through = if Some(hub_of[i]) == stopped {
                0.0
            } else if i == hub_of[i] {
                outflow[i] + spare(i)
            } else {
                BIG
            };
            g.add_edge(i, n + i, through);
            if i == hub_of[i] {
                let new = (outflow[i] - inflow[i]).max(0.0);
                if new > 0.0 || spare(i) > 0.0 {
                    g.add_edge(source, i, new + spare(i));
                }
            }
        }
        for f in &net.flows {
            g.add_edge(n + f.from as usize, f.to as usize, BIG);
        }
        // The country takes at most what it receives now, per receiving hub.
        let mut by_hub: BTreeMap<usize, f64> = BTreeMap::new();
        for &(_, to, q) in &receipts {
            *by_hub.entry(to).or_default() += q;
        }
        for (hub, q) in by_hub {
            g.add_edge(hub, sink, q);
        }
        g
    };
    let baseline = max_flow(&build(None), source, sink);
    let mut out = Vec::new();
    for (t, tag) in net.tags.iter().enumerate() {
        let Some(fac) = tag.strip_prefix("facility:") else {
            continue;
        };
        let through: f64 = receipts
            .iter()
            .map(|(from, _, q)| q * trace.per_unit(*from, t).clamp(0.0, 1.0))
            .sum();
        if through <= 0.0 {
            continue;
        }
        let Some(hub) = net.node_index(fac) else {
            continue;
        };
        let after = max_flow(&build(Some(hub)), source, sink);
        out.push(CriticalRow {
            facility: fac.to_string(),
            facility_country: low.nodes[hub].country.clone().unwrap_or_default(),
            share: through / total,
            loss_without_rerouting: through,
            loss_with_rerouting: (baseline - after).max(0.0).min(through),
        });
    }
    out.sort_by(|a, b| {
        b.loss_without_rerouting
            .total_cmp(&a.loss_without_rerouting)
            .then(a.facility.cmp(&b.facility))
    });
    out
}
