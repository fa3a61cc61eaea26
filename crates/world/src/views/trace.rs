//! The trace view: where the content of a node's output comes from.

use lodestone_model::{Custody, Element, TagFamily, UnknownValue, Vocabulary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::table::{Cell, Column, Tabular};
use super::{Analysis, ViewError, default_year};
use crate::screening::SupplyPath;

/// What `trace_node` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TraceQuery {
    /// Node id: FACILITY/material, a facility id or an ISO3 market (e.g. `jl_mag/sintered_ndfeb`).
    pub node: String,
    /// Tag pattern, `*` a wildcard (default `*`), e.g. `mined:*`.
    #[serde(default)]
    pub tag: Option<String>,
    /// Chain-of-custody model (default `mass_balance`).
    #[serde(default)]
    pub custody: Option<Custody>,
    /// Year of the flows (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
    /// Trace one element's content (t of its oxide) instead of all rare earths, e.g. `dy`.
    #[serde(default)]
    pub element: Option<Element>,
}

impl Default for TraceQuery {
    fn default() -> Self {
        TraceQuery {
            node: Default::default(),
            tag: Default::default(),
            custody: Default::default(),
            year: default_year(),
            element: None,
        }
    }
}

/// The origin content of one node.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TraceView {
    /// The node.
    pub node: String,
    /// Year of the flows.
    pub year: i64,
    /// The custody model.
    pub custody: Custody,
    /// The tag pattern.
    pub tag: String,
    /// The element traced, if one (else all rare-earth content).
    pub element: Option<Element>,
    /// t of the element's oxide per t of the node's REO (1 when no element is chosen).
    pub element_share: f64,
    /// What the figures are.
    pub unit: String,
    /// Source ids of the flows the node aggregates.
    pub sources: Vec<String>,
    /// Content per tag, largest first.
    pub rows: Vec<TraceRow>,
    /// The tag whose paths are listed (the largest).
    pub paths_for: Option<String>,
    /// The supply paths behind the largest share.
    pub paths: Vec<SupplyPath>,
}

/// One tag's content.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TraceRow {
    /// The tag, e.g. `mined:AUS`.
    pub tag: String,
    /// Its family.
    pub family: Option<TagFamily>,
    /// t of tagged content per t REO of the node's output.
    pub per_unit: f64,
    /// t REO/yr of tagged content in the node's output.
    pub total: f64,
}

impl Tabular for TraceRow {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("tag", "Tag"),
            Column::new("per_unit", "Content per t REO (%)"),
            Column::new("total", "t REO/yr"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.tag.clone()),
            Cell::Share(self.per_unit),
            Cell::Quantity(self.total),
        ]
    }
}

/// Checks the family part of a tag pattern against the vocabulary (a typo such as `mind:*` is an
/// error with a suggestion, not an empty answer).
pub fn check_tag_pattern(pattern: &str) -> Result<(), ViewError> {
    if let Some((family, _)) = pattern.split_once(':')
        && !family.contains('*')
    {
        TagFamily::parse(family).map_err(ViewError::Invalid)?;
    }
    Ok(())
}

/// The origin content of a node's output by tag, with the paths behind the largest share.
pub fn trace_node(a: &Analysis, q: &TraceQuery) -> Result<TraceView, ViewError> {
    let pattern = q
        .tag
        .clone()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "*".into());
    check_tag_pattern(&pattern)?;
    let custody = q.custody.unwrap_or(Custody::MassBalance);
    a.check_year(q.year)?;
    let p = a.screening(q.year, custody)?;
    let reo_node = p.node(&q.node).map_err(ViewError::NotFound)?;
    // The element's own lowering and trace, where the node carries the element.
    let (net, trace, i, element_share) = match q.element {
        None => (&p.low.network, &p.trace, reo_node, 1.0),
        Some(e) => {
            let et = p.elements.iter().find(|t| t.element == e);
            let j = et.and_then(|t| t.low.network.node_index(q.node.trim()));
            match (et, j) {
                (Some(et), Some(j)) => (
                    &et.low.network,
                    &et.trace,
                    j,
                    et.low.network.output[j]
                        / p.low.network.output[reo_node].max(f64::MIN_POSITIVE),
                ),
                _ => {
                    let carried: Vec<String> = p
                        .elements
                        .iter()
                        .filter(|t| t.low.network.node_index(q.node.trim()).is_some())
                        .map(|t| t.element.name().to_string())
                        .collect();
                    return Err(ViewError::Invalid(UnknownValue::new(
                        "element this node carries",
                        e.name(),
                        carried,
                    )));
                }
            }
        }
    };
    // Union tags (`separated:CHN|metal:CHN`) are computed for the rules; a trace shows tags.
    let tags: Vec<usize> = net
        .tags_matching(&pattern)
        .into_iter()
        .filter(|&g| !net.tags[g].contains('|'))
        .collect();
    if tags.is_empty() {
        return Err(ViewError::Invalid(UnknownValue::new(
            "tag pattern matching a tag of the network",
            &pattern,
            TagFamily::names()
                .iter()
                .map(|f| format!("{f}:*"))
                .collect(),
        )));
    }
    let mut rows: Vec<TraceRow> = tags
        .into_iter()
        .map(|g| TraceRow {
            tag: net.tags[g].clone(),
            family: TagFamily::of_tag(&net.tags[g]).map(|(f, _)| f),
            per_unit: trace.per_unit(i, g),
            total: trace.total(i, g),
        })
        .filter(|r| r.per_unit != 0.0)
        .collect();
    rows.sort_by(|a, b| b.per_unit.total_cmp(&a.per_unit).then(a.tag.cmp(&b.tag)));
    let paths_for = rows.first().map(|r| r.tag.clone());
    let paths = match (q.element, paths_for.as_deref()) {
        (None, Some(t)) => p.paths(i, t, 3),
        (Some(_), Some(t)) => crate::screening::paths_in(net, trace, i, t, 3),
        _ => Vec::new(),
    };
    let unit = match q.element {
        None => "per_unit: t of tagged content per t REO of the node's output; total: t REO/yr"
            .to_string(),
        Some(e) => format!(
            "per_unit: t of tagged {sym} oxide per t of {sym} oxide in the node's output; total: t {sym} oxide/yr (by the element compositions of the flows' materials)",
            sym = e.symbol()
        ),
    };
    Ok(TraceView {
        node: q.node.trim().to_string(),
        year: q.year,
        custody,
        tag: pattern,
        element: q.element,
        element_share,
        unit,
        sources: p.low.nodes[reo_node].sources.clone(),
        rows,
        paths_for,
        paths,
    })
}
