//! The chain views: cross-border shipments by country pair (the map) and the chain of a year as
//! a layered diagram (the Sankey).

use lodestone_model::{Custody, Stage, UnknownValue};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::risk::name_of;
use super::table::{Cell, Column, Tabular};
use super::{Analysis, ViewError, default_year};
use crate::World;
use crate::chain::{Chain, LAYERS, chain, trade};

/// A material filter: part of a material id (`ndpr`, `dy`); one that matches no material of the
/// dataset is an error, never an empty diagram.
fn material_part(world: &World, part: Option<&str>) -> Result<Option<String>, ViewError> {
    let Some(part) = part.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let ids = world.ids("materials");
    if ids.iter().any(|id| id.contains(part)) {
        Ok(Some(part.to_string()))
    } else {
        Err(ViewError::Invalid(super::resolve::similar(
            "part of a material id",
            part,
            ids.iter().map(String::as_str),
        )))
    }
}

/// What `map` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapQuery {
    /// Year of the flows (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
    /// Only materials whose id contains this (e.g. `ndpr`).
    #[serde(default)]
    pub material: Option<String>,
    /// Only materials of this chain stage.
    #[serde(default)]
    pub stage: Option<Stage>,
}

impl Default for MapQuery {
    fn default() -> Self {
        MapQuery {
            year: default_year(),
            material: Default::default(),
            stage: Default::default(),
        }
    }
}

/// Cross-border shipments of a year by country pair.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MapView {
    /// Year of the flows.
    pub year: i64,
    /// Unit of `value`.
    pub unit: String,
    /// The material filter.
    pub material: Option<String>,
    /// The stage filter.
    pub stage: Option<Stage>,
    /// How far to trust the figures.
    pub estimate: String,
    /// One route per (shipper, receiver) country pair, largest first.
    pub links: Vec<MapLink>,
}

/// One route.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MapLink {
    /// Shipper country (ISO3).
    pub from: String,
    /// Its name.
    pub from_name: String,
    /// Receiver country (ISO3).
    pub to: String,
    /// Its name.
    pub to_name: String,
    /// t REO per year.
    pub value: f64,
    /// Chain stages of the materials shipped.
    pub stages: Vec<Stage>,
    /// Materials carried.
    pub materials: Vec<String>,
    /// Source ids of the flows aggregated.
    pub sources: Vec<String>,
}

impl Tabular for MapLink {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("from", "From"),
            Column::new("to", "To"),
            Column::new("value", "t REO/yr"),
            Column::new("stages", "Stages"),
            Column::new("materials", "Materials"),
            Column::new("sources", "Sources"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::named(&self.from, &self.from_name),
            Cell::named(&self.to, &self.to_name),
            Cell::Quantity(self.value),
            Cell::List(self.stages.iter().map(ToString::to_string).collect()),
            Cell::List(self.materials.clone()),
            Cell::List(self.sources.clone()),
        ]
    }
}

/// Cross-border shipments of a year.
pub fn map(a: &Analysis, q: &MapQuery) -> Result<MapView, ViewError> {
    let world = &a.world;
    let material = material_part(world, q.material.as_deref())?;
    a.check_year(q.year)?;
    let p = a.screening(q.year, Custody::MassBalance)?;
    let mut links: Vec<MapLink> = trade(world, &p.low, material.as_deref(), q.stage)
        .into_iter()
        .map(|l| MapLink {
            from_name: name_of(world, "countries", &l.from),
            to_name: name_of(world, "countries", &l.to),
            from: l.from,
            to: l.to,
            value: l.value,
            stages: l.stages,
            materials: l.materials,
            sources: l.sources,
        })
        .collect();
    links.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.from.cmp(&b.from)));
    Ok(MapView {
        year: q.year,
        unit: "t REO/yr".into(),
        material,
        stage: q.stage,
        estimate: "Most flows are estimates; see each flow's record for its method and source."
            .into(),
        links,
    })
}

/// What `sankey` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SankeyQuery {
    /// Year of the flows (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
    /// Only materials whose id contains this (e.g. `ndpr`, `dy`, `tb`).
    #[serde(default)]
    pub material: Option<String>,
}

impl Default for SankeyQuery {
    fn default() -> Self {
        SankeyQuery {
            year: default_year(),
            material: Default::default(),
        }
    }
}

/// The chain of a year as a layered flow diagram.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SankeyView {
    /// Year of the flows.
    pub year: i64,
    /// Unit of the link values.
    pub unit: String,
    /// The material filter.
    pub material: Option<String>,
    /// The layers, in order.
    pub layers: Vec<String>,
    /// How far to trust the figures.
    pub estimate: String,
    /// Node labels for people ("Malaysia — separation"), by node index.
    pub labels: Vec<String>,
    /// Nodes and links.
    #[serde(flatten)]
    pub chain: Chain,
}

/// The chain of a year as a layered diagram.
pub fn sankey(a: &Analysis, q: &SankeyQuery) -> Result<SankeyView, ViewError> {
    let world = &a.world;
    let material = material_part(world, q.material.as_deref())?;
    a.check_year(q.year)?;
    let p = a.screening(q.year, Custody::MassBalance)?;
    let c = chain(world, &p.low, material.as_deref());
    if c.links.is_empty() {
        return Err(ViewError::Invalid(UnknownValue::new(
            "filter with flows in the year",
            material.as_deref().unwrap_or(""),
            Vec::<String>::new(),
        )));
    }
    Ok(SankeyView {
        year: q.year,
        unit: "t REO/yr".into(),
        material,
        layers: LAYERS.iter().map(|l| l.to_string()).collect(),
        estimate: "Most flows are estimates; see each flow's record for its method and source."
            .into(),
        labels: c
            .nodes
            .iter()
            .map(|n| {
                format!(
                    "{} — {}",
                    name_of(world, "countries", &n.country),
                    LAYERS[n.layer]
                )
            })
            .collect(),
        chain: c,
    })
}
