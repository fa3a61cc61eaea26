//! Rule screening of the products of a dataset: the lowering, trace, explanation structure and
//! customs origins under one custody model, and determinations as JSON with their sources and
//! the supply paths behind the deciding share. Shared by `lodestone rules check|timeline` and the
//! API, so both give the same answer.

use lodestone_rules::{Determination, Outcome};
use lodestone_trace::{CustodyModel, Network, Structure, Trace, explain, segregate, trace};

use crate::lower::{Lowering, lower_dataset};
use crate::products::{customs_origins, product_facts};
use lodestone_format::Dataset;
use lodestone_rules::Product;

/// What screening needs: the lowering, traces and origins under one custody model.
pub struct Screening {
    /// The dataset lowered to t REO for the year.
    pub low: Lowering,
    /// `mass_balance` or `segregated`.
    pub custody: &'static str,
    /// The trace of `low.network` under the custody model.
    pub trace: Trace,
    /// Network and structure for explanations (the segregated lowering when segregated).
    explain_net: Network,
    /// `explain_net` traced under mass balance (segregation is built into it).
    explain_trace: Trace,
    structure: Structure,
    /// Customs origin of every node (see [`customs_origins`]).
    pub origins: Vec<(Option<String>, String)>,
}

/// Why a product node was not found: the message lists similar product ids.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownNode(pub String);

impl Screening {
    /// Lowers and traces `ds` for `year` under `model`. Errors: the year has no flows, or the
    /// network is invalid (closed loop, bad shares), as a message for the user.
    pub fn prepare(ds: &Dataset, year: i64, model: CustodyModel) -> Result<Self, String> {
        let low = lower_dataset(ds, year)?;
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
        let custody = if model == CustodyModel::MassBalance {
            "mass_balance"
        } else {
            "segregated"
        };
        Ok(Screening {
            low,
            custody,
            trace: trace_result,
            explain_net,
            explain_trace,
            structure,
            origins,
        })
    }

    /// The index of product node `id` (`FACILITY/material`), or a message naming similar ones.
    pub fn node(&self, id: &str) -> Result<usize, UnknownNode> {
        let net = &self.low.network;
        net.node_index(id).ok_or_else(|| {
            let similar: Vec<&str> = net
                .node_ids
                .iter()
                .map(String::as_str)
                .filter(|n| {
                    n.contains('/')
                        && (n.contains(id) || id.contains(n.split('/').next().unwrap_or("")))
                })
                .take(8)
                .collect();
            UnknownNode(format!(
                "no product node '{id}' in the {} network; products are FACILITY/material (e.g. {}){}",
                self.low.year,
                net.node_ids.iter().find(|n| n.contains('/')).map_or("", String::as_str),
                if similar.is_empty() {
                    String::new()
                } else {
                    format!("; similar: {}", similar.join(", "))
                }
            ))
        })
    }

    /// The facts the rules see about product node `node`.
    pub fn product(&self, ds: &Dataset, node: usize) -> Product {
        product_facts(
            ds,
            &self.low,
            &self.trace,
            &self.origins,
            node,
            self.custody,
        )
    }

    /// Up to three supply paths that carry the largest shares of `tag` into `node`, as JSON
    /// (`share`, `nodes` from origin to product); empty for an unknown tag.
    pub fn paths_json(&self, node: usize, tag: &str) -> serde_json::Value {
        let Some(t) = self.explain_net.tag_index(tag) else {
            return serde_json::json!([]);
        };
        let paths = explain(
            &self.explain_net,
            &self.structure,
            &self.explain_trace,
            node,
            t,
            3,
            200_000,
        );
        serde_json::Value::Array(
            paths
                .iter()
                .map(|path| {
                    serde_json::json!({
                        "share": path.share,
                        "nodes": path.steps.iter().map(|s| self.explain_net.node_ids[s.node].clone()).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }

    /// A determination as JSON: outcome, state, shares, explanation, the deciding paths (when
    /// `with_paths`) and the full source records.
    pub fn determination_json(
        &self,
        ds: &Dataset,
        node: usize,
        d: &Determination,
        with_paths: bool,
    ) -> serde_json::Value {
        let sources = ds.table("sources");
        let src: Vec<serde_json::Value> = d
            .sources
            .iter()
            .map(|id| {
                let row = sources.and_then(|t| t.find(id).map(|r| (t, r)));
                match row {
                    Some((t, r)) => serde_json::json!({
                        "id": id,
                        "publisher": t.get(r, "publisher").to_json(),
                        "title": t.get(r, "title").to_json(),
                        "date": t.get(r, "date").to_json(),
                        "url": t.get(r, "url").to_json(),
                    }),
                    None => serde_json::json!({ "id": id }),
                }
            })
            .collect();
        let paths = match (&d.deciding_tag, with_paths, d.outcome) {
            (Some(tag), true, o) if o != Outcome::NotApplicable => self.paths_json(node, tag),
            _ => serde_json::json!([]),
        };
        serde_json::json!({
            "node": self.low.network.node_ids[node],
            "rule": d.rule,
            "kind": d.kind,
            "determination": d.outcome.name(),
            "rate": if let Outcome::Tariff(r) = d.outcome { serde_json::json!(r) } else { serde_json::Value::Null },
            "state": d.state.name(),
            "since": d.event.as_ref().map(|e| e.date.to_string()),
            "share": d.share,
            "threshold": d.threshold,
            "comparison": d.comparison.map(|c| c.name()),
            "measure": d.measure,
            "findings": d.findings.iter().map(|f| serde_json::json!({"tag": f.tag, "share": f.share})).collect::<Vec<_>>(),
            "custody": self.custody,
            "explanation": d.explanation,
            "paths": paths,
            "sources": src,
        })
    }
}
