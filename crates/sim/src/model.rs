//! The monthly model.

use crate::Rng;

/// A distribution for an uncertain parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Dist {
    /// Always this value.
    Fixed(f64),
    /// Uniform between the bounds.
    Uniform { low: f64, high: f64 },
    /// Triangular with a mode.
    Triangular { low: f64, mode: f64, high: f64 },
    /// Log-normal: exp(N(mu, sigma)).
    LogNormal { mu: f64, sigma: f64 },
    /// One of the listed values, equally likely.
    Empirical(Vec<f64>),
}

impl Dist {
    /// Draws a value.
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        match self {
            Dist::Fixed(v) => *v,
            Dist::Uniform { low, high } => low + (high - low) * rng.unit(),
            Dist::Triangular { low, mode, high } => {
                let u = rng.unit();
                let c = if high > low {
                    (mode - low) / (high - low)
                } else {
                    0.5
                };
                if u < c {
                    low + ((high - low) * (mode - low) * u).sqrt()
                } else {
                    high - ((high - low) * (high - mode) * (1.0 - u)).sqrt()
                }
            }
            Dist::LogNormal { mu, sigma } => (mu + sigma * rng.normal()).exp(),
            Dist::Empirical(values) => {
                if values.is_empty() {
                    0.0
                } else {
                    values[(rng.unit() * values.len() as f64) as usize % values.len()]
                }
            }
        }
    }
}

/// A node of the monthly network (t REO per month).
#[derive(Debug, Clone, PartialEq)]
pub struct SimNode {
    /// Id (facility id or ISO3 market).
    pub id: String,
    /// Country.
    pub country: String,
    /// New content entering per month at base (mines, markets with unrecorded supply).
    pub base_new: f64,
    /// Base monthly output (what it ships).
    pub base_output: f64,
    /// Monthly capacity of output (≥ base output).
    pub capacity: f64,
    /// Output per unit of input processed (base output over base input and new content).
    pub yield_: f64,
    /// Monthly demand for final use (consumer markets), 0 for facilities.
    pub base_demand: f64,
    /// The material a product node ships (flows from it carry this material).
    pub material: Option<String>,
    /// A market's demand by final-use material (adds up to `base_demand`); empty: not tracked.
    pub demand_by_material: Vec<(String, f64)>,
    /// The element composition of what the node ships: (element, fraction of its REO), with
    /// `other` for a remainder of unresolved composition; empty when not known at all.
    pub elements: Vec<(String, f64)>,
    /// For a product node, the stage of the material it ships (`magnet`, `metal`, …).
    pub stage: Option<String>,
}

impl SimNode {
    /// The element of a single-element product (`dy` for Dy metal or oxide). Such a material is
    /// an input of its own in the recipe of the plants that take it: it cannot be replaced by
    /// other rare earths, so a plant processes at most what its scarcest such input allows.
    pub fn single_element(&self) -> Option<&str> {
        let mut present = self.elements.iter().filter(|(_, f)| *f > 1e-9);
        match (present.next(), present.next()) {
            (Some((e, f)), None) if e != "other" && *f >= 0.999 => Some(e),
            _ => None,
        }
    }

    /// Whether what the node ships may contain any of `elements`: it contains one of them, or
    /// (when `unresolved_covered`) part of its composition is unresolved.
    pub fn may_contain(&self, elements: &[String], unresolved_covered: bool) -> bool {
        let resolved = |e: &str| e != "other";
        if self
            .elements
            .iter()
            .any(|(e, f)| *f > 0.0 && elements.iter().any(|x| x == e))
        {
            return true;
        }
        unresolved_covered
            && (self.elements.is_empty()
                || self.elements.iter().any(|(e, f)| *f > 0.0 && !resolved(e)))
    }
}

/// A route with its base monthly volume.
#[derive(Debug, Clone, PartialEq)]
pub struct SimRoute {
    /// Supplier index.
    pub from: usize,
    /// Customer index.
    pub to: usize,
    /// Base t REO per month.
    pub base: f64,
}

/// The network.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SimNetwork {
    /// Nodes.
    pub nodes: Vec<SimNode>,
    /// Routes.
    pub routes: Vec<SimRoute>,
}

/// How scarce output is shared among a node's customers.
#[derive(Debug, Clone, PartialEq)]
pub enum Allocation {
    /// In proportion to the routes' base volumes (historical shares).
    ProRata,
    /// Customers in the listed countries first, in order, each up to its base volume; the rest
    /// pro rata.
    Priority(Vec<String>),
    /// Each month, route volumes from a linear programme over the whole network: maximise
    /// consumption (countries in the list weigh more, in order), then minimise shipping cost with
    /// tariffs; each node's output is shared in proportion to the plan.
    Lp(Vec<String>),
}

/// An export restriction's mode.
#[derive(Debug, Clone, PartialEq)]
pub enum Restriction {
    /// Nothing may be shipped.
    Ban,
    /// At most this fraction of the base volume.
    Quota(f64),
    /// Each month's shipment on a route is approved with a probability; approved volume arrives
    /// after a delay drawn once per run. With a ramp `(final, months)` the probability rises
    /// linearly from `approval` in the regime's first month to `final` after `months` months
    /// (licensing offices clearing a backlog, general licences granted later).
    Licensing {
        approval: f64,
        delay_months: Dist,
        ramp: Option<(f64, f64)>,
    },
}

/// What happens.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// A node stops.
    Outage { node: String, months: Dist },
    /// Exports from an issuer's nodes to destinations are restricted.
    ExportRestriction {
        issuer: String,
        destinations: Vec<String>,
        months: Option<Dist>,
        mode: Restriction,
        /// Only shipments that contain these elements (e.g. the seven of April 2025); empty:
        /// every shipment.
        elements: Vec<String>,
        /// Whether shipments of unresolved composition count as containing them.
        unresolved_covered: bool,
    },
    /// Extra monthly capacity at a node, ramping up linearly.
    CapacityAddition {
        node: String,
        extra: f64,
        ramp_months: f64,
    },
    /// Demand of a country multiplied by a factor.
    DemandShock {
        country: String,
        factor: f64,
        months: Dist,
    },
    /// An import tariff on shipments from origin countries (by the shipping node's country): a
    /// cost the LP allocation avoids where it can; no effect on pro-rata or priority allocation.
    Tariff {
        importer: String,
        origins: Vec<String>,
        rate: f64,
        months: Option<Dist>,
    },
}

/// A timed event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// First month (0 = the scenario's start), may be drawn.
    pub start: Dist,
    /// The event.
    pub kind: EventKind,
}

/// A strategic stockpile.
#[derive(Debug, Clone, PartialEq)]
pub struct Stockpile {
    /// Country holding it.
    pub country: String,
    /// Initial level, t REO.
    pub initial: f64,
    /// Largest release per month.
    pub release_per_month: f64,
    /// Release when the shortfall exceeds this share of demand.
    pub trigger: f64,
    /// Rebuilding per month when there is no shortfall (from surplus only).
    pub rebuild_per_month: f64,
}

/// Commercial working stocks of consumer markets: days of final-use demand held by magnet,
/// motor and component makers and traders, drawn down before any shortfall reaches final use
/// and rebuilt from surplus afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// Country whose markets (or plants) hold it, or `all`.
    pub country: String,
    /// `None`: consumer markets hold it, against their demand. A stage (`magnet`, `metal`, …):
    /// the plants shipping products of that stage hold it, as input against their base
    /// throughput: they keep processing from it when supply falls, and rebuild it from inflow
    /// beyond their base throughput.
    pub stage: Option<String>,
    /// Days of the country's base monthly demand held (drawn once per run).
    pub days_of_cover: Dist,
    /// Months to rebuild the stock from empty (from surplus only).
    pub rebuild_months: f64,
}

/// Transit time of shipments between countries (sea freight, customs): shipments on routes from
/// `from` to `to` (ISO3, or `all`) arrive this many months after they leave (drawn once per run,
/// rounded to whole months). Routes within a country take no time. Where several rules match a
/// route, the last listed applies.
#[derive(Debug, Clone, PartialEq)]
pub struct Transit {
    /// Shipping country, or `all`.
    pub from: String,
    /// Receiving country, or `all`.
    pub to: String,
    /// Months in transit.
    pub months: Dist,
}

/// An export series to report: what nodes of `issuer` shipping one of `materials` send abroad
/// each month, in total (`EXPORTS:ISSUER>WLD`) and by destination country
/// (`EXPORTS:ISSUER>ISO3`). A month's exports are what leaves the shipper that month (volume held
/// for a licence counts when it is released). In the series, `demand` is the routes' base volume,
/// `consumed` what was exported and `shortfall` the difference.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedExports {
    /// Exporting country.
    pub issuer: String,
    /// Materials shipped (node materials), e.g. `sintered_ndfeb`.
    pub materials: Vec<String>,
}

/// Average days in a month.
pub const DAYS_PER_MONTH: f64 = 30.4375;

/// A scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Seed.
    pub seed: u64,
    /// Months simulated.
    pub months: usize,
    /// Demand growth per year (0.05 = 5 %).
    pub demand_growth: f64,
    /// Allocation rule.
    pub allocation: Allocation,
    /// Events.
    pub events: Vec<Event>,
    /// Stockpiles.
    pub stockpiles: Vec<Stockpile>,
    /// Commercial working stocks.
    pub inventories: Vec<Inventory>,
    /// Export series to report (for backtests against customs statistics).
    pub tracked_exports: Vec<TrackedExports>,
    /// Transit times between countries.
    pub transit: Vec<Transit>,
    /// How countries' demand splits into end uses (reported as `COUNTRY:end_use` series).
    pub end_uses: Vec<EndUse>,
}

/// A share of a country's demand for one end use, served in priority order (1 first) when supply
/// is short; end uses of equal priority share pro rata.
#[derive(Debug, Clone, PartialEq)]
pub struct EndUse {
    /// Country.
    pub country: String,
    /// End use, e.g. `ev`, `wind`, `defence`.
    pub end_use: String,
    /// Share of the country's demand.
    pub share: f64,
    /// Priority (1 is served first).
    pub priority: u32,
}

/// One consumer country in one month of one run.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MonthRecord {
    /// Demand, t REO.
    pub demand: f64,
    /// Consumed (received plus released), t REO.
    pub consumed: f64,
    /// Unmet demand, t REO.
    pub shortfall: f64,
    /// Stockpile level at the end of the month, t REO.
    pub stockpile: f64,
    /// Commercial working stock at the end of the month, t REO.
    pub working_stock: f64,
}

/// The result of one run: per consumer country (in `countries` order), per month.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Consumer countries.
    pub countries: Vec<String>,
    /// `records[c][m]`.
    pub records: Vec<Vec<MonthRecord>>,
    /// Largest mass-balance residual over the months (t REO), for tests.
    pub max_imbalance: f64,
}

/// What a pool of stock is, and which shortfall it covers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PoolKind {
    /// A strategic stockpile: covers any of the country's shortfall beyond its trigger.
    Strategic,
    /// A market's working stock (users' and traders' stocks) of one material (an index into the
    /// run's materials), covering only that material's shortfall; `None`: of the demand not
    /// broken down by material.
    Working(Option<usize>),
}

/// A stock held for a consumer country, released on shortfall and rebuilt from surplus.
struct Pool {
    /// Index into the run's consumer countries.
    country: usize,
    kind: PoolKind,
    initial: f64,
    release_per_month: f64,
    trigger: f64,
    rebuild_per_month: f64,
}

impl Pool {
    /// A market's working stock of `initial` t, rebuilt from empty in `rebuild_months`.
    fn working(country: usize, material: Option<usize>, initial: f64, rebuild_months: f64) -> Self {
        Pool {
            country,
            kind: PoolKind::Working(material),
            initial,
            release_per_month: f64::INFINITY,
            trigger: 0.0,
            rebuild_per_month: if rebuild_months > 0.0 {
                initial / rebuild_months
            } else {
                initial
            },
        }
    }
}

/// Months the network runs before month 0 of a scenario, to fill its pipelines.
pub const WARMUP: usize = 24;

/// A route a node may ship on this month: (route, largest volume, licence (approval, delay)).
type OpenRoute = (usize, f64, Option<(f64, usize)>);

struct Drawn {
    start: usize,
    end: usize,
    delay: usize,
}

/// Simulates run `index` of a scenario.
pub fn run(net: &SimNetwork, sc: &Scenario, index: u64) -> RunResult {
    let mut rng = Rng::for_run(sc.seed, index);
    let n = net.nodes.len();
    // Each node's routes out and in, by route index.
    let mut out_routes: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut in_routes: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (r, route) in net.routes.iter().enumerate() {
        out_routes[route.from].push(r);
        in_routes[route.to].push(r);
    }
    let months = sc.months;
    // Draw the uncertain parameters once per run, in a fixed order.
    let drawn: Vec<Drawn> = sc
        .events
        .iter()
        .map(|e| {
            let start = e.start.sample(&mut rng).max(0.0).round() as usize;
            let (dur, delay) = match &e.kind {
                EventKind::Outage { months, .. } | EventKind::DemandShock { months, .. } => {
                    (Some(months.sample(&mut rng)), 0.0)
                }
                EventKind::Tariff { months, .. } => {
                    (months.as_ref().map(|m| m.sample(&mut rng)), 0.0)
                }
                EventKind::ExportRestriction { months, mode, .. } => {
                    let d = months.as_ref().map(|m| m.sample(&mut rng));
                    let delay = match mode {
                        Restriction::Licensing { delay_months, .. } => {
                            delay_months.sample(&mut rng)
                        }
                        _ => 0.0,
                    };
                    (d, delay)
                }
                EventKind::CapacityAddition { .. } => (None, 0.0),
            };
            let end = dur.map_or(usize::MAX, |d| start + d.max(0.0).round() as usize);
            Drawn {
                start,
                end,
                delay: delay.max(0.0).round() as usize,
            }
        })
        .collect();
    // Consumer countries: those with demand.
    let mut countries: Vec<String> = net
        .nodes
        .iter()
        .filter(|x| x.base_demand > 0.0)
        .map(|x| x.country.clone())
        .collect();
    countries.sort();
    countries.dedup();
    let mut records = vec![vec![MonthRecord::default(); months]; countries.len()];
    // Plants' working stocks: input held at hubs whose products are of the inventory's stage.
    // Markets' working stocks are drawn here (the draw order is fixed) and built below, once the
    // materials each market demands are known.
    let mut stock_target = vec![0.0; n];
    let mut inventory = vec![0.0; n];
    let mut market_cover: Vec<(&Inventory, f64)> = Vec::new();
    for inv in &sc.inventories {
        let days = inv.days_of_cover.sample(&mut rng).max(0.0);
        let Some(stage) = &inv.stage else {
            market_cover.push((inv, days));
            continue;
        };
        for (j, node) in net.nodes.iter().enumerate() {
            let country_ok = inv.country == "all" || inv.country == node.country;
            let makes = out_routes[j]
                .iter()
                .any(|&r| net.nodes[net.routes[r].to].stage.as_deref() == Some(stage.as_str()));
            if country_ok && makes && node.yield_ > 0.0 && node.base_demand <= 0.0 {
                let base_input = node.base_output / node.yield_;
                stock_target[j] = base_input * days / DAYS_PER_MONTH;
                inventory[j] = stock_target[j];
            }
        }
    }
    // Transit months of each route (drawn after everything else, so scenarios without transit
    // draw exactly as before).
    let mut route_transit = vec![0usize; net.routes.len()];
    for t in &sc.transit {
        let months = t.months.sample(&mut rng).max(0.0).round() as usize;
        for (r, route) in net.routes.iter().enumerate() {
            let (a, b) = (&net.nodes[route.from].country, &net.nodes[route.to].country);
            if a != b && (t.from == "all" || t.from == *a) && (t.to == "all" || t.to == *b) {
                route_transit[r] = months;
            }
        }
    }
    // Input waiting to be processed (plants' working stocks already in it), and output waiting
    // to be shipped, per node.
    let mut finished = vec![0.0; n];
    // In transit under licensing delays: (arrival month, node, quantity).
    let mut transit: Vec<(usize, usize, f64, Option<usize>)> = Vec::new();
    let order = topological(net);
    // Final-use materials: what product nodes carry, and what markets demand of each.
    let mut mats: Vec<String> = net
        .nodes
        .iter()
        .filter_map(|x| x.material.clone())
        .collect();
    mats.sort();
    mats.dedup();
    let mat_index = |m: &str| mats.binary_search_by(|x| x.as_str().cmp(m)).ok();
    let node_mat: Vec<Option<usize>> = net
        .nodes
        .iter()
        .map(|x| x.material.as_deref().and_then(mat_index))
        .collect();
    let mat_demand: Vec<Vec<(usize, f64)>> = net
        .nodes
        .iter()
        .map(|x| {
            x.demand_by_material
                .iter()
                .filter_map(|(m, d)| mat_index(m).map(|i| (i, *d)))
                .collect()
        })
        .collect();
    let tracked = |j: usize| !mat_demand[j].is_empty();
    // Per market: what it holds of each demanded material (a breakdown of its inventory).
    let mut pool: Vec<Vec<f64>> = (0..n)
        .map(|j| vec![0.0; if tracked(j) { mats.len() } else { 0 }])
        .collect();
    let mut recv_mat: Vec<Vec<f64>> = pool.clone();
    // Buffers reused every node and month.
    let mut allowed: Vec<OpenRoute> = Vec::new();
    let mut shares: Vec<f64> = Vec::new();
    // Series (country, material) reported, in a fixed order.
    let mut mat_series: Vec<(usize, usize)> = Vec::new();
    for (j, x) in net.nodes.iter().enumerate() {
        if let Ok(c) = countries.binary_search(&x.country) {
            for &(m, _) in &mat_demand[j] {
                if !mat_series.contains(&(c, m)) {
                    mat_series.push((c, m));
                }
            }
        }
    }
    mat_series.sort();
    let mut mat_records = vec![vec![MonthRecord::default(); months]; mat_series.len()];
    // Markets' working stocks, one per demanded material (a stock of oxide does not cover a
    // shortfall of motors) and one for demand not broken down by material; then the strategic
    // stockpiles. A shortfall draws the working stocks down before a stockpile is released.
    let mut pools: Vec<Pool> = Vec::new();
    for &(inv, days) in &market_cover {
        for (c, country) in countries.iter().enumerate() {
            if inv.country != "all" && inv.country != *country {
                continue;
            }
            let mut by_material = vec![0.0; mats.len()];
            let mut unbroken = 0.0;
            for (j, node) in net.nodes.iter().enumerate() {
                if node.country != *country {
                    continue;
                }
                unbroken += node.base_demand;
                for &(m, d) in &mat_demand[j] {
                    by_material[m] += d;
                    unbroken -= d;
                }
            }
            let cover = |demand: f64| demand * days / DAYS_PER_MONTH;
            for (m, &d) in by_material.iter().enumerate() {
                if d > 0.0 {
                    pools.push(Pool::working(c, Some(m), cover(d), inv.rebuild_months));
                }
            }
            if unbroken > 1e-9 {
                pools.push(Pool::working(c, None, cover(unbroken), inv.rebuild_months));
            }
        }
    }
    for sp in &sc.stockpiles {
        if let Ok(c) = countries.binary_search(&sp.country) {
            pools.push(Pool {
                country: c,
                kind: PoolKind::Strategic,
                initial: sp.initial,
                release_per_month: sp.release_per_month,
                trigger: sp.trigger,
                rebuild_per_month: sp.rebuild_per_month,
            });
        }
    }
    // Recipes: a plant's inputs of single-element materials (Dy metal, Tb metal …) whose
    // element goes into every product it ships (a magnet maker's Dy), each with its share of
    // the plant's base input. They are held apart from the rest of its input (a breakdown of
    // its inventory, starting in base proportions) and limit what it processes. A plant that
    // also ships products without the element (an aggregate making Dy metal and NdPr metal
    // from separate oxides) has no recipe for it: its other products do not need it.
    let recipe: Vec<Vec<(usize, f64)>> = (0..n)
        .map(|j| {
            let node = &net.nodes[j];
            if node.base_demand > 0.0 || node.yield_ <= 0.0 {
                return Vec::new();
            }
            let incoming = in_routes[j].iter().map(|&r| &net.routes[r]);
            let total: f64 = incoming.clone().map(|r| r.base).sum();
            let products: Vec<&SimNode> = out_routes[j]
                .iter()
                .map(|&r| net.routes[r].to)
                .filter(|&to| node_mat[to].is_some())
                .map(|to| &net.nodes[to])
                .collect();
            let mut parts: Vec<(usize, f64)> = Vec::new();
            for r in incoming {
                let from = &net.nodes[r.from];
                let (Some(m), Some(element)) = (node_mat[r.from], from.single_element()) else {
                    continue;
                };
                let in_every_product = !products.is_empty()
                    && products.iter().all(|p| {
                        p.elements
                            .iter()
                            .any(|(e, f)| e.as_str() == element && *f > 0.0)
                    });
                if !in_every_product {
                    continue;
                }
                match parts.iter_mut().find(|x| x.0 == m) {
                    Some(x) => x.1 += r.base / total,
                    None => parts.push((m, r.base / total)),
                }
            }
            parts.retain(|x| x.1 > 0.0);
            parts
        })
        .collect();
    let mut held: Vec<Vec<f64>> = (0..n)
        .map(|j| {
            recipe[j]
                .iter()
                .map(|&(_, share)| inventory[j] * share)
                .collect()
        })
        .collect();
    let recipe_slot = |j: usize, m: Option<usize>| -> Option<usize> {
        m.and_then(|m| recipe[j].iter().position(|x| x.0 == m))
    };
    let mut stock: Vec<f64> = pools.iter().map(|p| p.initial).collect();
    let state = |inventory: &[f64],
                 finished: &[f64],
                 stock: &[f64],
                 transit: &[(usize, usize, f64, Option<usize>)]|
     -> f64 {
        inventory.iter().sum::<f64>()
            + finished.iter().sum::<f64>()
            + stock.iter().sum::<f64>()
            + transit.iter().map(|t| t.2).sum::<f64>()
    };
    let mut max_imbalance: f64 = 0.0;
    // Warm-up: the network starts empty, so it first runs WARMUP months without events until its
    // pipelines and loops carry their base flows; month 0 of the scenario follows.
    // Tracked export routes: (route, series index of the destination, series index of the total).
    let mut export_series: Vec<String> = Vec::new();
    let mut export_routes: Vec<(usize, usize, usize)> = Vec::new();
    for te in &sc.tracked_exports {
        let total = format!("EXPORTS:{}>WLD", te.issuer);
        for (r, route) in net.routes.iter().enumerate() {
            let (from, to) = (&net.nodes[route.from], &net.nodes[route.to]);
            let shipped_material = from
                .material
                .as_ref()
                .is_some_and(|m| te.materials.contains(m));
            if from.country != te.issuer || to.country == te.issuer || !shipped_material {
                continue;
            }
            let mut index = |name: String| match export_series.iter().position(|x| *x == name) {
                Some(i) => i,
                None => {
                    export_series.push(name);
                    export_series.len() - 1
                }
            };
            let t = index(total.clone());
            let d = index(format!("EXPORTS:{}>{}", te.issuer, to.country));
            export_routes.push((r, d, t));
        }
    }
    // Each tracked route's (destination series, total series), looked up per shipment.
    let mut route_export: Vec<Option<(usize, usize)>> = vec![None; net.routes.len()];
    for &(r, d, t) in &export_routes {
        route_export[r] = Some((d, t));
    }
    let mut exports = vec![vec![MonthRecord::default(); months]; export_series.len()];
    for &(r, d, t) in &export_routes {
        for m in 0..months {
            exports[d][m].demand += net.routes[r].base;
            exports[t][m].demand += net.routes[r].base;
        }
    }
    for step in 0..WARMUP + months {
        let warm = step < WARMUP;
        let m = step.saturating_sub(WARMUP);
        let active = |i: usize| !warm && drawn[i].start <= m && m < drawn[i].end;
        let growth = if warm {
            1.0
        } else {
            (1.0 + sc.demand_growth).powf(m as f64 / 12.0)
        };
        let before = state(&inventory, &finished, &stock, &transit);
        let mut received = vec![0.0; n];
        // Reset what arrived of each material (allocated once, outside the month loop).
        for row in recv_mat.iter_mut() {
            row.iter_mut().for_each(|x| *x = 0.0);
        }
        transit.retain(|&(t, j, q, mat)| {
            if t <= step {
                received[j] += q;
                if let (Some(m), true) = (mat, tracked(j)) {
                    recv_mat[j][m] += q;
                }
                if let Some(k) = recipe_slot(j, mat) {
                    held[j][k] += q;
                }
                false
            } else {
                true
            }
        });
        let mut processed = vec![false; n];
        let mut mat_month: Vec<(f64, f64)> = vec![(0.0, 0.0); mat_series.len()];
        let mut added = 0.0;
        let mut used = 0.0; // consumed, released from stockpiles, or lost in processing
        let mut demand_by_country = vec![0.0; countries.len()];
        let mut consumed_by_country = vec![0.0; countries.len()];
        // Route caps (bans, quotas) and costs (tariffs) this month.
        let mut route_cap = vec![f64::INFINITY; net.routes.len()];
        let mut route_licence: Vec<Option<(f64, usize)>> = vec![None; net.routes.len()];
        let mut route_cost = vec![1.0; net.routes.len()];
        for (r, route) in net.routes.iter().enumerate() {
            let (src, dest) = (&net.nodes[route.from].country, &net.nodes[route.to].country);
            for (i, e) in sc.events.iter().enumerate() {
                if !active(i) {
                    continue;
                }
                match &e.kind {
                    EventKind::ExportRestriction {
                        issuer,
                        destinations,
                        mode,
                        elements,
                        unresolved_covered,
                        ..
                    } if issuer == src
                        && dest != issuer
                        && (destinations.is_empty() || destinations.contains(dest))
                        && (elements.is_empty()
                            || net.nodes[route.from]
                                .may_contain(elements, *unresolved_covered)) =>
                    {
                        match mode {
                            Restriction::Ban => route_cap[r] = 0.0,
                            Restriction::Quota(f) => {
                                route_cap[r] = route_cap[r].min(route.base * f)
                            }
                            Restriction::Licensing { approval, ramp, .. } => {
                                let p = match ramp {
                                    Some((last, months)) if *months > 0.0 => {
                                        let t = (m.saturating_sub(drawn[i].start) as f64 / months)
                                            .min(1.0);
                                        approval + (last - approval) * t
                                    }
                                    Some((last, _)) => *last,
                                    None => *approval,
                                };
                                route_licence[r] = Some((p, drawn[i].delay))
                            }
                        }
                    }
                    EventKind::Tariff {
                        importer,
                        origins,
                        rate,
                        ..
                    } if importer == dest && origins.contains(src) => route_cost[r] += rate,
                    _ => {}
                }
            }
        }
        // The month's routing weights: base volumes, or the LP plan.
        let mut weights: Vec<f64> = net.routes.iter().map(|r| r.base).collect();
        if let Allocation::Lp(priority) = &sc.allocation {
            let mut supply = vec![0.0; n];
            let mut max_t = vec![0.0; n];
            let mut demand = vec![0.0; n];
            for j in 0..n {
                let (down, extra, shock) = node_state(sc, &drawn, &active, warm, m, &net.nodes[j]);
                let node = &net.nodes[j];
                let new = if down || node.base_new <= 0.0 {
                    0.0
                } else {
                    node.base_new + extra
                };
                supply[j] = inventory[j] + received[j] + new;
                let cap = if down { 0.0 } else { node.capacity + extra };
                max_t[j] = if node.yield_ > 0.0 {
                    cap / node.yield_
                } else {
                    0.0
                };
                demand[j] = node.base_demand * growth * shock;
            }
            let weight: Vec<f64> = net
                .nodes
                .iter()
                .map(|x| match priority.iter().position(|c| *c == x.country) {
                    Some(k) => 1.0 + (priority.len() - k) as f64,
                    None => 1.0,
                })
                .collect();
            let yields: Vec<f64> = net.nodes.iter().map(|x| x.yield_).collect();
            let routes: Vec<(usize, usize, f64, f64)> = net
                .routes
                .iter()
                .enumerate()
                .map(|(r, x)| (x.from, x.to, route_cap[r], route_cost[r]))
                .collect();
            let inputs = crate::lp::MonthInputs {
                supply: &supply,
                finished: &finished,
                max_throughput: &max_t,
                yields: &yields,
                demand: &demand,
                weight: &weight,
                routes: &routes,
            };
            if let Some(plan) = crate::lp::plan(&inputs) {
                weights = plan;
            }
        }
        for &j in &order {
            let node = &net.nodes[j];
            let (down, extra, shock) = node_state(sc, &drawn, &active, warm, m, node);
            // New content: a source's base rate, plus added capacity at sources (a mine expands).
            let new = if down || node.base_new <= 0.0 {
                0.0
            } else {
                node.base_new + extra
            };
            added += new;
            let mut supply = inventory[j] + received[j] + new;
            received[j] = 0.0;
            let capacity = if down { 0.0 } else { node.capacity + extra };
            let max_throughput = if node.yield_ > 0.0 {
                capacity / node.yield_
            } else {
                0.0
            };
            let throughput;
            if node.base_demand > 0.0 {
                // A market first passes on what it re-exports (up to its capacity), then its
                // consumers take the rest: shortages fall on final use, and chains that run
                // through a market keep their base flows.
                throughput = supply.min(max_throughput);
                if tracked(j) {
                    // What is passed on is drawn from the materials the market ships (its product
                    // nodes' materials, in their base proportions), then from the rest.
                    let ships: Vec<(usize, f64)> = out_routes[j]
                        .iter()
                        .filter_map(|&r| {
                            node_mat[net.routes[r].to].map(|m| (m, net.routes[r].base))
                        })
                        .collect();
                    let total: f64 = ships.iter().map(|x| x.1).sum();
                    let mut left = throughput;
                    for &(m, b) in &ships {
                        let want = if total > 0.0 {
                            throughput * b / total
                        } else {
                            0.0
                        };
                        let from_recv = want.min(recv_mat[j][m]);
                        recv_mat[j][m] -= from_recv;
                        let from_pool = (want - from_recv).min(pool[j][m]);
                        pool[j][m] -= from_pool;
                        left -= from_recv + from_pool;
                    }
                    // The rest comes from untracked supply first; only beyond it from the others.
                    let tracked_total: f64 =
                        (0..mats.len()).map(|m| recv_mat[j][m] + pool[j][m]).sum();
                    let untracked = (supply - left - tracked_total).max(0.0);
                    let beyond = (left - untracked.min(left)).max(0.0);
                    if beyond > 0.0 && tracked_total > 0.0 {
                        let f = 1.0 - beyond / tracked_total;
                        for m in 0..mats.len() {
                            recv_mat[j][m] *= f;
                            pool[j][m] *= f;
                        }
                    }
                }
                supply -= throughput;
                let c = countries.binary_search(&node.country).unwrap_or(0);
                let demand = node.base_demand * growth * shock;
                let take = if tracked(j) {
                    // Each demanded material is consumed from what arrived of it and what is held,
                    // less its share of what was passed on.
                    let mut take = 0.0;
                    for &(m, base) in &mat_demand[j] {
                        let d = base * growth * shock;
                        let avail = pool[j][m] + recv_mat[j][m];
                        let got = avail.min(d).min(supply - take);
                        pool[j][m] = avail - got;
                        take += got;
                        if let Some(k) = mat_series.iter().position(|&x| x == (c, m)) {
                            mat_month[k].0 += d;
                            mat_month[k].1 += got;
                        }
                    }
                    take
                } else {
                    supply.min(demand)
                };
                supply -= take;
                demand_by_country[c] += demand;
                consumed_by_country[c] += take;
                used += take;
            } else {
                // A plant holding a working stock processes its base throughput while the stock
                // lasts, and whatever exceeds the stock's target beyond that; the rest is kept.
                throughput = if stock_target[j] > 0.0 {
                    let base = node.base_output / node.yield_;
                    (supply - stock_target[j])
                        .max(supply.min(base))
                        .min(max_throughput)
                } else {
                    supply.min(max_throughput)
                }
                .min(
                    recipe[j]
                        .iter()
                        .zip(&held[j])
                        .map(|(&(_, share), &h)| h / share)
                        .fold(f64::INFINITY, f64::min),
                );
                for (h, &(_, share)) in held[j].iter_mut().zip(&recipe[j]) {
                    *h = (*h - throughput * share).max(0.0);
                }
                supply -= throughput;
            }
            inventory[j] = supply;
            let output = throughput * node.yield_ + finished[j];
            used += throughput * (1.0 - node.yield_);
            allowed.clear();
            allowed.extend(
                out_routes[j]
                    .iter()
                    .filter(|&&r| route_cap[r] > 0.0)
                    .map(|&r| (r, route_cap[r], route_licence[r])),
            );
            allocate(net, &sc.allocation, &allowed, output, &weights, &mut shares);
            let mut shipped = 0.0;
            for ((r, _, licence), &q) in allowed.iter().zip(shares.iter()) {
                if q <= 0.0 {
                    continue;
                }
                let to = net.routes[*r].to;
                let (approved, delay) = match licence {
                    Some((p, delay)) => (rng.unit() < *p, *delay),
                    None => (true, 0),
                };
                if !approved {
                    continue;
                }
                shipped += q;
                if let Some((d, t)) = route_export[*r]
                    && let Some(month) =
                        (step + delay).checked_sub(WARMUP).filter(|&mm| mm < months)
                {
                    exports[d][month].consumed += q;
                    exports[t][month].consumed += q;
                }
                // Exports leave when licensed; they arrive after the route's transit time.
                let arrival = delay + route_transit[*r];
                if arrival > 0 {
                    transit.push((step + arrival, to, q, node_mat[j]));
                } else if processed[to] {
                    // Already processed this month (a loop): the material waits there.
                    inventory[to] += q;
                    if let Some(k) = recipe_slot(to, node_mat[j]) {
                        held[to][k] += q;
                    }
                    if let (Some(m), true) = (node_mat[j], tracked(to)) {
                        pool[to][m] += q;
                    }
                } else {
                    received[to] += q;
                    if let (Some(m), true) = (node_mat[j], tracked(to)) {
                        recv_mat[to][m] += q;
                    }
                    if let Some(k) = recipe_slot(to, node_mat[j]) {
                        held[to][k] += q;
                    }
                }
            }
            finished[j] = output - shipped;
            processed[j] = true;
        }
        // Working stocks and stockpiles release on shortfall, or rebuild from surplus.
        let mut got: Vec<f64> = mat_month.iter().map(|x| x.1).collect();
        let mut mat_working = vec![0.0; mat_series.len()];
        let mut strategic_release = vec![0.0; countries.len()];
        for c in 0..countries.len() {
            let demand = demand_by_country[c];
            let mut consumed = consumed_by_country[c];
            let series: Vec<usize> = (0..mat_series.len())
                .filter(|&k| mat_series[k].0 == c)
                .collect();
            // Demand not broken down by material, and what of it was met.
            let mut unbroken_demand = demand;
            let mut unbroken_consumed = consumed;
            for &k in &series {
                unbroken_demand -= mat_month[k].0;
                unbroken_consumed -= mat_month[k].1;
            }
            let mut level = None;
            let mut working_level = 0.0;
            for (s, pool_s) in pools.iter().enumerate() {
                if pool_s.country != c {
                    continue;
                }
                let k_of = |m: usize| series.iter().copied().find(|&k| mat_series[k].1 == m);
                let short = match pool_s.kind {
                    PoolKind::Working(Some(m)) => {
                        k_of(m).map_or(0.0, |k| (mat_month[k].0 - got[k]).max(0.0))
                    }
                    PoolKind::Working(None) => (unbroken_demand - unbroken_consumed).max(0.0),
                    PoolKind::Strategic => (demand - consumed).max(0.0),
                };
                if !warm && demand > 0.0 && short > 1e-12 && short / demand > pool_s.trigger {
                    let release = short.min(pool_s.release_per_month).min(stock[s]);
                    stock[s] -= release;
                    consumed += release;
                    used += release;
                    match pool_s.kind {
                        PoolKind::Working(Some(m)) => {
                            if let Some(k) = k_of(m) {
                                got[k] += release;
                            }
                        }
                        PoolKind::Working(None) => unbroken_consumed += release,
                        PoolKind::Strategic => strategic_release[c] += release,
                    }
                } else if !warm && short <= 1e-12 && stock[s] < pool_s.initial {
                    // Rebuild from what the country's markets hold beyond their demand: of the
                    // pool's material, or what is not held for any demanded material.
                    let room = (pool_s.initial - stock[s]).min(pool_s.rebuild_per_month);
                    let mut take = 0.0;
                    for (j, node) in net.nodes.iter().enumerate() {
                        if node.base_demand <= 0.0 || node.country != countries[c] || take >= room {
                            continue;
                        }
                        let free = match pool_s.kind {
                            PoolKind::Working(Some(m)) if tracked(j) => pool[j][m],
                            PoolKind::Working(Some(_)) => 0.0,
                            _ => inventory[j] - pool[j].iter().sum::<f64>(),
                        };
                        let q = free.max(0.0).min(room - take);
                        if let PoolKind::Working(Some(m)) = pool_s.kind {
                            pool[j][m] -= q;
                        }
                        inventory[j] -= q;
                        take += q;
                    }
                    stock[s] += take;
                }
                match pool_s.kind {
                    PoolKind::Strategic => level = Some(level.unwrap_or(0.0) + stock[s]),
                    PoolKind::Working(material) => {
                        working_level += stock[s];
                        if let Some(k) = material.and_then(k_of) {
                            mat_working[k] += stock[s];
                        }
                    }
                }
            }
            if !warm {
                records[c][m] = MonthRecord {
                    demand,
                    consumed,
                    shortfall: (demand - consumed).max(0.0),
                    stockpile: level.unwrap_or(0.0),
                    working_stock: working_level,
                };
            }
        }
        // Material series: a country's strategic release goes to its materials in proportion to
        // what is still short of each.
        if !warm {
            for (c, &rel) in strategic_release.iter().enumerate() {
                let short: f64 = (0..mat_series.len())
                    .filter(|&k| mat_series[k].0 == c)
                    .map(|k| (mat_month[k].0 - got[k]).max(0.0))
                    .sum();
                for k in 0..mat_series.len() {
                    if mat_series[k].0 != c {
                        continue;
                    }
                    let d = mat_month[k].0;
                    let mut g = got[k];
                    if short > 0.0 {
                        g += rel * (d - g).max(0.0) / short;
                    }
                    mat_records[k][m] = MonthRecord {
                        demand: d,
                        consumed: g.min(d),
                        shortfall: (d - g).max(0.0),
                        stockpile: records[c][m].stockpile,
                        working_stock: mat_working[k],
                    };
                }
            }
        }
        let after = state(&inventory, &finished, &stock, &transit) + received.iter().sum::<f64>();
        let imbalance = (before + added - used - after).abs();
        max_imbalance = max_imbalance.max(imbalance / (before + added).max(1.0));
    }
    // End-use series: each country's month split by its end uses, scarce supply served in
    // priority order.
    let mut series = countries.clone();
    let mut all = records.clone();
    for (k, &(c, m)) in mat_series.iter().enumerate() {
        series.push(format!("{}/{}", countries[c], mats[m]));
        all.push(mat_records[k].clone());
    }
    for (c, country) in countries.iter().enumerate() {
        let uses: Vec<&EndUse> = sc
            .end_uses
            .iter()
            .filter(|e| e.country == *country)
            .collect();
        if uses.is_empty() {
            continue;
        }
        let mut rows = vec![vec![MonthRecord::default(); months]; uses.len()];
        for m in 0..months {
            let rec = records[c][m];
            let mut left = rec.consumed;
            let mut priorities: Vec<u32> = uses.iter().map(|u| u.priority).collect();
            priorities.sort();
            priorities.dedup();
            for p in priorities {
                let group: Vec<usize> =
                    (0..uses.len()).filter(|&k| uses[k].priority == p).collect();
                let want: f64 = group.iter().map(|&k| rec.demand * uses[k].share).sum();
                let give = left.min(want);
                for &k in &group {
                    let d = rec.demand * uses[k].share;
                    let got = if want > 0.0 { give * d / want } else { 0.0 };
                    rows[k][m] = MonthRecord {
                        demand: d,
                        consumed: got,
                        shortfall: (d - got).max(0.0),
                        stockpile: rec.stockpile,
                        working_stock: rec.working_stock,
                    };
                }
                left -= give;
            }
        }
        for (k, u) in uses.iter().enumerate() {
            series.push(format!("{country}:{}", u.end_use));
            all.push(rows[k].clone());
        }
    }
    for (k, name) in export_series.into_iter().enumerate() {
        for rec in exports[k].iter_mut() {
            rec.shortfall = (rec.demand - rec.consumed).max(0.0);
        }
        series.push(name);
        all.push(std::mem::take(&mut exports[k]));
    }
    RunResult {
        countries: series,
        records: all,
        max_imbalance,
    }
}

/// A node's state this month: (down, extra capacity, demand shock factor).
fn node_state(
    sc: &Scenario,
    drawn: &[Drawn],
    active: &dyn Fn(usize) -> bool,
    warm: bool,
    m: usize,
    node: &SimNode,
) -> (bool, f64, f64) {
    let mut down = false;
    let mut extra = 0.0;
    let mut shock = 1.0;
    for (i, e) in sc.events.iter().enumerate() {
        match &e.kind {
            EventKind::Outage { node: id, .. } if active(i) && *id == node.id => down = true,
            EventKind::CapacityAddition {
                node: id,
                extra: x,
                ramp_months,
            } if !warm && *id == node.id && m >= drawn[i].start => {
                let since = (m - drawn[i].start) as f64 + 1.0;
                extra += x * (since / ramp_months.max(1.0)).min(1.0);
            }
            EventKind::DemandShock {
                country, factor, ..
            } if active(i) && *country == node.country => shock *= factor,
            _ => {}
        }
    }
    (down, extra, shock)
}

/// Shares `output` among allowed routes `(route, cap, licence)` by the allocation rule.
fn allocate(
    net: &SimNetwork,
    rule: &Allocation,
    allowed: &[OpenRoute],
    output: f64,
    weights: &[f64],
    give: &mut Vec<f64>,
) {
    give.clear();
    give.resize(allowed.len(), 0.0);
    let mut left = output;
    if let Allocation::Priority(countries) = rule {
        for country in countries {
            for (k, (r, cap, _)) in allowed.iter().enumerate() {
                if net.nodes[net.routes[*r].to].country == *country && left > 0.0 {
                    let q = net.routes[*r].base.min(*cap).min(left) - give[k];
                    if q > 0.0 {
                        give[k] += q;
                        left -= q;
                    }
                }
            }
        }
    }
    // Pro rata over the rest, respecting caps (water-filling in a few rounds). The plan (or base
    // volumes) weighs the routes; a node the plan leaves idle ships on its base shares.
    for _ in 0..4 {
        if left <= 1e-12 {
            break;
        }
        let open = |k: usize| give[k] < allowed[k].1;
        let planned: f64 = (0..allowed.len())
            .filter(|&k| open(k))
            .map(|k| weights[allowed[k].0])
            .sum();
        let w = |k: usize| {
            if planned > 0.0 {
                weights[allowed[k].0]
            } else {
                net.routes[allowed[k].0].base
            }
        };
        let weight: f64 = (0..allowed.len()).filter(|&k| open(k)).map(w).sum();
        if weight <= 0.0 {
            break;
        }
        let mut spent = 0.0;
        for k in 0..allowed.len() {
            if give[k] < allowed[k].1 {
                let want = left * w(k) / weight;
                let q = want.min(allowed[k].1 - give[k]);
                give[k] += q;
                spent += q;
            }
        }
        left -= spent;
    }
}

/// Nodes in an order where suppliers come first as far as the routes allow (Kahn); nodes on
/// loops follow in index order, their loop inputs arriving the next month.
fn topological(net: &SimNetwork) -> Vec<usize> {
    let n = net.nodes.len();
    let mut indeg = vec![0usize; n];
    for r in &net.routes {
        indeg[r.to] += 1;
    }
    let mut queue: std::collections::VecDeque<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    while let Some(i) = queue.pop_front() {
        order.push(i);
        seen[i] = true;
        for r in net.routes.iter().filter(|r| r.from == i) {
            indeg[r.to] -= 1;
            if indeg[r.to] == 0 {
                queue.push_back(r.to);
            }
        }
    }
    order.extend((0..n).filter(|&i| !seen[i]));
    order
}
