//! Rule screening of the products of a dataset: the lowering, trace, explanation structure and
//! customs origins under one custody model, and determinations as JSON with their sources and
//! the supply paths behind the deciding share. Shared by `lodestone rules check|timeline` and the
//! API, so both give the same answer.

use lodestone_model::{Custody, UnknownValue, Vocabulary};
use lodestone_trace::{CustodyModel, Network, Structure, Trace, explain, segregate, trace};
use schemars::JsonSchema;
use serde::Serialize;

use crate::World;
use crate::lower::{Content, Lowering, lower_dataset_with};
use crate::prices::Prices;
use crate::products::{customs_origins, product_facts};
use lodestone_format::{Compositions, Dataset};
use lodestone_model::Element;
use lodestone_rules::{Product, RuleKind};

/// One element's lowering and trace (same node ids as the REO lowering, where the element is
/// present).
pub struct ElementTrace {
    /// The element.
    pub element: Element,
    /// The dataset lowered to t of the element's oxide.
    pub low: Lowering,
    /// Its trace under the screening's custody model.
    pub trace: Trace,
}

/// The union tags the rules measure (content tests with more than one origin tag).
pub fn rule_unions(world: &World) -> Vec<Vec<String>> {
    let mut unions: Vec<Vec<String>> = world
        .rules
        .iter()
        .filter_map(|r| match &r.kind {
            RuleKind::ExportControl {
                content: Some(ct), ..
            } if ct.origin_tags.len() > 1 => Some(ct.origin_tags.clone()),
            _ => None,
        })
        .collect();
    unions.sort();
    unions.dedup();
    unions
}

/// What screening needs: the lowering, traces and origins under one custody model.
pub struct Screening {
    /// The dataset lowered to t REO for the year.
    pub low: Lowering,
    /// The custody model of the trace.
    pub custody: Custody,
    /// The trace of `low.network` under the custody model.
    pub trace: Trace,
    /// Network and structure for explanations (the segregated lowering when segregated).
    explain_net: Network,
    /// `explain_net` traced under mass balance (segregation is built into it).
    explain_trace: Trace,
    structure: Structure,
    /// Customs origin of every node (see [`customs_origins`]).
    pub origins: Vec<(Option<String>, String)>,
    /// Element-resolved traces, one per element present in the year's flows.
    pub elements: Vec<ElementTrace>,
    /// Element compositions and prices, for product facts.
    compositions: Compositions,
    prices: Prices,
    /// Product facts already built, by node: the same for every rule and every request.
    products: std::sync::Mutex<std::collections::HashMap<usize, std::sync::Arc<Product>>>,
}

/// The trace engine's custody model for a custody word.
pub fn engine_model(custody: Custody) -> CustodyModel {
    match custody {
        Custody::MassBalance => CustodyModel::MassBalance,
        Custody::Segregated => CustodyModel::Segregated,
    }
}

impl Screening {
    /// Lowers and traces `ds` for `year` under `model`. Errors: the year has no flows, or the
    /// network is invalid (closed loop, bad shares), as a message for the user.
    pub fn prepare(world: &World, year: i64, custody: Custody) -> Result<Self, String> {
        let ds: &Dataset = world;
        let model = engine_model(custody);
        let unions = rule_unions(world);
        let low = lower_dataset_with(ds, year, Content::Reo, &unions)?;
        let fail = |e: lodestone_trace::NetworkError| e.to_string();
        let trace_result = trace(&low.network, model).map_err(fail)?;
        let explain_net = match model {
            CustodyModel::MassBalance => low.network.clone(),
            CustodyModel::Segregated => segregate::lower(&low.network).map_err(fail)?.0,
        };
        let structure = Structure::build(&explain_net).map_err(fail)?;
        // The explanation network may be the segregated lowering, whose node indices extend
        // the original ones; trace it under mass balance (segregation is already built in).
        let explain_trace = match model {
            CustodyModel::MassBalance => trace_result.clone(),
            CustodyModel::Segregated => {
                trace(&explain_net, CustodyModel::MassBalance).map_err(fail)?
            }
        };
        let origins = customs_origins(ds, &low);
        let elements = element_traces(ds, year, model, &unions)?;
        Ok(Screening {
            low,
            custody,
            trace: trace_result,
            explain_net,
            explain_trace,
            structure,
            origins,
            elements,
            compositions: Compositions::from_dataset(ds),
            prices: Prices::from_dataset(ds),
            products: Default::default(),
        })
    }

    /// The index of node `id` (a hub, or a product `FACILITY/material`), or an error naming
    /// the closest node ids of the year.
    pub fn node(&self, id: &str) -> Result<usize, UnknownValue> {
        let net = &self.low.network;
        net.node_index(id.trim()).ok_or_else(|| {
            crate::views::resolve::similar(
                "node of the traced network (FACILITY/material, a facility or an ISO3 market)",
                id,
                net.node_ids.iter().map(String::as_str),
            )
        })
    }

    /// The index of product node `id` (`FACILITY/material`).
    pub fn product_node(&self, id: &str) -> Result<usize, UnknownValue> {
        let net = &self.low.network;
        match net.node_index(id.trim()) {
            Some(i) if self.low.nodes[i].material.is_some() => Ok(i),
            _ => Err(crate::views::resolve::similar(
                "product node (FACILITY/material)",
                id,
                net.node_ids
                    .iter()
                    .map(String::as_str)
                    .filter(|n| n.contains('/')),
            )),
        }
    }

    /// The facts the rules see about product node `node`, built once and kept (they depend
    /// only on the dataset, the year and the custody model, which the screening fixes).
    pub fn product(&self, ds: &Dataset, node: usize) -> std::sync::Arc<Product> {
        let cached = self
            .products
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&node)
            .cloned();
        if let Some(p) = cached {
            return p;
        }
        let p = std::sync::Arc::new(self.build_product(ds, node));
        self.products
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(node, p.clone());
        p
    }

    fn build_product(&self, ds: &Dataset, node: usize) -> Product {
        let mut p = product_facts(
            ds,
            &self.low,
            &self.trace,
            &self.origins,
            node,
            self.custody.name(),
        );
        crate::products::add_element_facts(
            &mut p,
            &self.low,
            node,
            &self.elements,
            &self.compositions,
            &self.prices,
        );
        p
    }

    /// Up to `limit` supply paths that carry the largest shares of `tag` into `node`, from
    /// origin to product; empty for an unknown tag.
    pub fn paths(&self, node: usize, tag: &str, limit: usize) -> Vec<SupplyPath> {
        let Some(t) = self.explain_net.tag_index(tag) else {
            return Vec::new();
        };
        explain(
            &self.explain_net,
            &self.structure,
            &self.explain_trace,
            node,
            t,
            limit,
            200_000,
        )
        .iter()
        .map(|path| SupplyPath {
            share: path.share,
            nodes: path
                .steps
                .iter()
                .map(|s| self.explain_net.node_ids[s.node].clone())
                .collect(),
        })
        .collect()
    }
}

/// Lowers and traces every element that the year's flows carry (an element no flow carries is
/// left out).
pub fn element_traces(
    ds: &Dataset,
    year: i64,
    model: CustodyModel,
    unions: &[Vec<String>],
) -> Result<Vec<ElementTrace>, String> {
    use lodestone_model::Vocabulary;
    if Compositions::from_dataset(ds).is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for &element in Element::ALL {
        let Ok(low) = lower_dataset_with(ds, year, Content::Element(element), unions) else {
            continue; // no flow carries the element this year
        };
        let t = trace(&low.network, model).map_err(|e| format!("tracing {element}: {e}"))?;
        out.push(ElementTrace {
            element,
            low,
            trace: t,
        });
    }
    Ok(out)
}

/// Up to `limit` supply paths carrying `tag` into `node` of a mass-balance trace of `net` (for
/// the element traces, which keep no explanation structure).
pub fn paths_in(net: &Network, t: &Trace, node: usize, tag: &str, limit: usize) -> Vec<SupplyPath> {
    let (Some(k), Ok(structure)) = (net.tag_index(tag), Structure::build(net)) else {
        return Vec::new();
    };
    explain(net, &structure, t, node, k, limit, 200_000)
        .iter()
        .map(|path| SupplyPath {
            share: path.share,
            nodes: path
                .steps
                .iter()
                .map(|s| net.node_ids[s.node].clone())
                .collect(),
        })
        .collect()
}

/// A supply path and the share of the tagged content it carries.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SupplyPath {
    /// Share of the node's tagged content carried along this path.
    pub share: f64,
    /// Node ids from the origin to the product.
    pub nodes: Vec<String>,
}
