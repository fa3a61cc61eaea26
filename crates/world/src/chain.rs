//! The supply chain of a year as a layered flow diagram (a Sankey): a node per (country, chain
//! stage), a link per pair of them with the t REO shipped between.
//!
//! Layers: mining (ore, concentrate), cracking (intermediates), separation (oxides), metal
//! (metals, alloys), magnet, component, and use (markets and plants that ship nothing further).
//! A flow of material *m* from a facility in country A to one in country B links (A, stage of
//! *m*) to (B, the first stage after *m*'s that B's facility ships, or `use`). Links therefore
//! always go to a later layer: the diagram has no cycles even where the network has loops.

use std::collections::BTreeMap;

use crate::lower::Lowering;
use lodestone_format::Dataset;
use lodestone_model::{Stage, Vocabulary};

/// The layers, in order.
pub const LAYERS: [&str; 7] = [
    "mining",
    "cracking",
    "separation",
    "metal",
    "magnet",
    "component",
    "use",
];

/// One (country, stage) node.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct ChainNode {
    /// `COUNTRY stage`, e.g. `MYS separation`.
    pub name: String,
    /// ISO3 code (or `unknown`).
    pub country: String,
    /// Index into [`LAYERS`].
    pub layer: usize,
}

/// The t REO shipped from one node to another.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct ChainLink {
    /// Index of the source node.
    pub source: usize,
    /// Index of the target node.
    pub target: usize,
    /// t REO per year.
    pub value: f64,
    /// Materials carried.
    pub materials: Vec<String>,
    /// Source ids of the flows aggregated.
    pub sources: Vec<String>,
}

/// The layered diagram.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Chain {
    /// Nodes, ordered by layer and country.
    pub nodes: Vec<ChainNode>,
    /// Links, ordered by source and target.
    pub links: Vec<ChainLink>,
}

/// Material id → its stage (`ore`, `oxide`, …) from the `materials` table.
fn material_stages(ds: &Dataset) -> BTreeMap<&str, &str> {
    ds.table("materials")
        .map(|t| {
            t.rows
                .iter()
                .filter_map(|r| Some((t.text(r, "id")?, t.text(r, "stage").unwrap_or(""))))
                .collect()
        })
        .unwrap_or_default()
}

fn layer_of(material_stage: &str) -> usize {
    let stage = Stage::of_material(material_stage).name();
    LAYERS.iter().position(|l| *l == stage).unwrap_or(5)
}

/// The chain of a lowered year; with `material`, only flows whose material id contains it (e.g.
/// `ndpr`, `dy`, `concentrate`).
pub fn chain(ds: &Dataset, low: &Lowering, material: Option<&str>) -> Chain {
    let stages = material_stages(ds);
    let layer = |m: &str| layer_of(stages.get(m).copied().unwrap_or(""));
    // Layers each hub ships (its product nodes).
    let mut ships: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for n in &low.nodes {
        if let Some(m) = &n.material {
            ships.entry(n.hub.as_str()).or_default().push(layer(m));
        }
    }
    /// (layer, country).
    type Key = (usize, String);
    /// t REO, materials, source ids.
    type Carried = (f64, Vec<String>, Vec<String>);
    let mut links: BTreeMap<(Key, Key), Carried> = BTreeMap::new();
    for f in &low.network.flows {
        let (from, to) = (&low.nodes[f.from as usize], &low.nodes[f.to as usize]);
        let Some(m) = &from.material else { continue };
        if to.material.is_some() || from.hub == to.hub || f.quantity <= 0.0 {
            continue; // product → another hub only: a shipment
        }
        if material.is_some_and(|x| !m.contains(x)) {
            continue;
        }
        let l = layer(m);
        let next = ships
            .get(to.hub.as_str())
            .and_then(|ls| ls.iter().copied().filter(|&x| x > l).min())
            .unwrap_or(LAYERS.len() - 1);
        let unknown = || "unknown".to_string();
        let key = (
            (l, from.country.clone().unwrap_or_else(unknown)),
            (next, to.country.clone().unwrap_or_else(unknown)),
        );
        let e = links.entry(key).or_default();
        e.0 += f.quantity;
        e.1.push(m.clone());
        e.2.extend(from.sources.iter().cloned());
    }
    let mut keys: Vec<Key> = links
        .keys()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    keys.sort();
    keys.dedup();
    let index = |k: &Key| keys.binary_search(k).unwrap_or(0);
    Chain {
        nodes: keys
            .iter()
            .map(|(l, c)| ChainNode {
                name: format!("{c} {}", LAYERS[*l]),
                country: c.clone(),
                layer: *l,
            })
            .collect(),
        links: links
            .into_iter()
            .map(|((a, b), (value, mut materials, mut sources))| {
                materials.sort();
                materials.dedup();
                sources.sort();
                sources.dedup();
                ChainLink {
                    source: index(&a),
                    target: index(&b),
                    value,
                    materials,
                    sources,
                }
            })
            .collect(),
    }
}

/// The t REO shipped from one country to another in a year.
#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct TradeLink {
    /// Shipper country (ISO3).
    pub from: String,
    /// Receiver country (ISO3).
    pub to: String,
    /// t REO per year.
    pub value: f64,
    /// Chain stages of the materials shipped.
    pub stages: Vec<Stage>,
    /// Materials carried.
    pub materials: Vec<String>,
    /// Source ids of the flows aggregated.
    pub sources: Vec<String>,
}

/// Cross-border shipments of a lowered year by country pair; with `material`, only materials
/// whose id contains it; with `stage`, only materials of that chain stage.
pub fn trade(
    ds: &Dataset,
    low: &Lowering,
    material: Option<&str>,
    stage: Option<Stage>,
) -> Vec<TradeLink> {
    let stages = material_stages(ds);
    let mut out: BTreeMap<(String, String), TradeLink> = BTreeMap::new();
    for f in &low.network.flows {
        let (from, to) = (&low.nodes[f.from as usize], &low.nodes[f.to as usize]);
        let Some(m) = &from.material else { continue };
        let (Some(a), Some(b)) = (&from.country, &to.country) else {
            continue;
        };
        if to.material.is_some() || a == b || f.quantity <= 0.0 {
            continue;
        }
        let s = Stage::of_material(stages.get(m.as_str()).copied().unwrap_or(""));
        if material.is_some_and(|x| !m.contains(x)) || stage.is_some_and(|x| x != s) {
            continue;
        }
        let e = out
            .entry((a.clone(), b.clone()))
            .or_insert_with(|| TradeLink {
                from: a.clone(),
                to: b.clone(),
                value: 0.0,
                stages: Vec::new(),
                materials: Vec::new(),
                sources: Vec::new(),
            });
        e.value += f.quantity;
        e.stages.push(s);
        e.materials.push(m.clone());
        e.sources.extend(from.sources.iter().cloned());
    }
    out.into_values()
        .map(|mut l| {
            l.stages.sort();
            l.stages.dedup();
            for v in [&mut l.materials, &mut l.sources] {
                v.sort();
                v.dedup();
            }
            l
        })
        .collect()
}
