//! The trace view: where the content of a node's output comes from.

use lodestone_model::{Custody, TagFamily, UnknownValue, Vocabulary};
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
}

impl Default for TraceQuery {
    fn default() -> Self {
        TraceQuery {
            node: Default::default(),
            tag: Default::default(),
            custody: Default::default(),
            year: default_year(),
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
    let i = p.node(&q.node).map_err(ViewError::NotFound)?;
    let net = &p.low.network;
    let tags = net.tags_matching(&pattern);
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
            per_unit: p.trace.per_unit(i, g),
            total: p.trace.total(i, g),
        })
        .filter(|r| r.per_unit != 0.0)
        .collect();
    rows.sort_by(|a, b| b.per_unit.total_cmp(&a.per_unit).then(a.tag.cmp(&b.tag)));
    let paths_for = rows.first().map(|r| r.tag.clone());
    let paths = paths_for
        .as_deref()
        .map_or_else(Vec::new, |t| p.paths(i, t, 3));
    Ok(TraceView {
        node: q.node.trim().to_string(),
        year: q.year,
        custody,
        tag: pattern,
        unit: "per_unit: t of tagged content per t REO of the node's output; total: t REO/yr"
            .into(),
        sources: p.low.nodes[i].sources.clone(),
        rows,
        paths_for,
        paths,
    })
}
