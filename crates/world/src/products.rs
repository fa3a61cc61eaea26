//! The facts about a product that trade rules test, from a lowered dataset and its trace.

use std::collections::{BTreeMap, HashMap};

use lodestone_rules::{ElementFacts, Product, TagShare};
use lodestone_trace::Trace;

use crate::lower::Lowering;
use lodestone_format::Dataset;

/// Material facts: (stage, HS code).
fn material_facts(ds: &Dataset) -> HashMap<String, (Option<String>, Option<String>)> {
    let mut out = HashMap::new();
    if let Some(t) = ds.table("materials") {
        for r in &t.rows {
            if let Some(id) = t.text(r, "id") {
                out.insert(
                    id.to_string(),
                    (
                        t.text(r, "stage").map(str::to_string),
                        t.text(r, "hs_code").map(str::to_string),
                    ),
                );
            }
        }
    }
    out
}

fn heading(hs: &Option<String>) -> Option<&str> {
    hs.as_deref().and_then(|h| h.get(..4))
}

/// Customs origin of every node of a lowered dataset, with the reason.
///
/// The rule stated here: origin is conferred by a change of HS heading (the first four digits),
/// the usual tariff-shift test of last substantial transformation. A product node whose hub
/// received an input under a different heading is of the hub's country; a hub with no inputs makes
/// what it ships (origin: its country); a hub that only passes material on under the same heading
/// (a trader, a market) keeps the origin of its largest input.
pub fn customs_origins(ds: &Dataset, low: &Lowering) -> Vec<(Option<String>, String)> {
    let facts = material_facts(ds);
    let net = &low.network;
    let n = net.len();
    let mut inputs: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for f in &net.flows {
        inputs[f.to as usize].push((f.from as usize, f.quantity));
    }
    let mut memo: Vec<Option<(Option<String>, String)>> = vec![None; n];
    fn origin(
        i: usize,
        low: &Lowering,
        facts: &HashMap<String, (Option<String>, Option<String>)>,
        inputs: &[Vec<(usize, f64)>],
        memo: &mut Vec<Option<(Option<String>, String)>>,
        depth: usize,
    ) -> (Option<String>, String) {
        if let Some(m) = &memo[i] {
            return m.clone();
        }
        let info = &low.nodes[i];
        let country = info.country.clone();
        let result = match &info.material {
            None => (
                country.clone(),
                format!(
                    "{} is in {}",
                    info.hub,
                    country.as_deref().unwrap_or("an unknown country")
                ),
            ),
            Some(material) => {
                let hub = low
                    .nodes
                    .iter()
                    .position(|x| x.hub == info.hub && x.material.is_none())
                    .unwrap_or(i);
                let out_hs = facts.get(material).and_then(|f| f.1.clone());
                let ins: Vec<(usize, f64)> = inputs[hub].clone();
                let changed = ins.iter().find(|(j, _)| {
                    let in_hs = low.nodes[*j]
                        .material
                        .as_ref()
                        .and_then(|m| facts.get(m))
                        .and_then(|f| f.1.clone());
                    matches!((heading(&in_hs), heading(&out_hs)), (Some(a), Some(b)) if a != b)
                });
                if ins.is_empty() {
                    (
                        country.clone(),
                        format!("made at {} with no recorded inputs", info.hub),
                    )
                } else if let Some((j, _)) = changed {
                    let in_m = low.nodes[*j].material.clone().unwrap_or_default();
                    let in_hs = facts
                        .get(&in_m)
                        .and_then(|f| f.1.clone())
                        .unwrap_or_default();
                    (
                        country.clone(),
                        format!(
                            "transformed at {} in {}: HS heading changes from {} ({in_m}) to {} ({material})",
                            info.hub,
                            country.as_deref().unwrap_or("?"),
                            &in_hs[..in_hs.len().min(4)],
                            out_hs.as_deref().map_or("?", |h| &h[..h.len().min(4)])
                        ),
                    )
                } else if depth > 64 {
                    (
                        country.clone(),
                        format!("origin search stopped at {} (loop)", info.hub),
                    )
                } else {
                    let (j, _) = ins
                        .iter()
                        .copied()
                        .fold((ins[0].0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
                    memo[i] = Some((country.clone(), String::new()));
                    let (o, why) = origin(j, low, facts, inputs, memo, depth + 1);
                    (
                        o,
                        format!(
                            "not transformed at {} (same HS heading); origin of its largest input {}: {why}",
                            info.hub, low.network.node_ids[j]
                        ),
                    )
                }
            }
        };
        memo[i] = Some(result.clone());
        result
    }
    (0..n)
        .map(|i| origin(i, low, &facts, &inputs, &mut memo, 0))
        .collect()
}

/// The product facts of node `node` for rule evaluation.
pub fn product_facts(
    ds: &Dataset,
    low: &Lowering,
    trace: &Trace,
    origins: &[(Option<String>, String)],
    node: usize,
    custody: &str,
) -> Product {
    let facts = material_facts(ds);
    let info = &low.nodes[node];
    let (stage, hs) = info
        .material
        .as_ref()
        .and_then(|m| facts.get(m))
        .cloned()
        .unwrap_or((None, None));
    let mut shares = BTreeMap::new();
    for (t, tag) in trace.tags.iter().enumerate() {
        // Every tag of a lowered dataset is a share of the node's REO, at most 1 by construction;
        // clamp the last-bit rounding of long chains (1.0000000000000002).
        let mass = trace.per_unit(node, t).clamp(0.0, 1.0);
        if mass == 0.0 {
            continue;
        }
        let coverage = trace.value_coverage(node, t);
        let value = if coverage.is_some_and(|c| c > 0.0) {
            trace.value_share(node, t)
        } else {
            None
        };
        shares.insert(
            tag.clone(),
            TagShare {
                mass,
                value,
                value_coverage: coverage,
            },
        );
    }
    Product {
        node: low.network.node_ids[node].clone(),
        material: info.material.clone(),
        material_stage: stage,
        hs_code: hs,
        shipped_from: info.country.clone(),
        customs_origin: origins[node].0.clone(),
        customs_origin_reason: origins[node].1.clone(),
        shares,
        custody: custody.to_string(),
        elements: Vec::new(),
        value: match trace.unit_value.get(node).copied().flatten() {
            Some(v) => vec![lodestone_rules::PricePoint {
                from: lodestone_model::Date::ymd(low.year.clamp(1000, 9999) as u16, 1, 1)
                    .unwrap_or(lodestone_model::Date {
                        year: 2000,
                        month: None,
                        day: None,
                    }),
                usd_per_t: v,
                label: format!("the unit value of its recorded flows in {}", low.year),
                source: info.sources.join(", "),
            }],
            None => Vec::new(),
        },
    }
}

/// Adds the element-resolved facts of product node `node` (of the REO lowering `low`): each
/// element's content per t of the product's REO, by tag, with the element's prices; and, when
/// the product's flows record no value, its recorded price.
pub fn add_element_facts(
    p: &mut Product,
    low: &Lowering,
    node: usize,
    elements: &[crate::screening::ElementTrace],
    comps: &lodestone_format::Compositions,
    prices: &crate::prices::Prices,
) {
    let id = &low.network.node_ids[node];
    let reo = low.network.output[node];
    if reo <= 0.0 {
        return;
    }
    for et in elements {
        let Some(i) = et.low.network.node_index(id) else {
            continue;
        };
        let share = et.low.network.output[i] / reo;
        if share <= 0.0 {
            continue;
        }
        let mut tags = BTreeMap::new();
        for (t, tag) in et.trace.tags.iter().enumerate() {
            let c = et.trace.per_unit(i, t).clamp(0.0, 1.0) * share;
            if c > 0.0 {
                tags.insert(tag.clone(), c);
            }
        }
        p.elements.push(ElementFacts {
            element: et.element,
            share,
            tags,
            prices: prices.element(et.element, comps),
        });
    }
    if p.value.is_empty()
        && let Some(m) = &p.material
    {
        p.value = prices.product(m);
        if p.value.is_empty() {
            p.value = prices.from_elements(m, &p.elements);
        }
    }
}
