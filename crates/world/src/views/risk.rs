//! Risk views: concentration, dependency, benchmarks and critical facilities.

use std::collections::BTreeMap;

use lodestone_model::{
    Basis, Custody, FigureStatus, Scope, Stage, TagFamily, UnknownValue, View, Vocabulary,
};
use lodestone_rules::RuleKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::resolve::{CountrySet, resolve_country_set, resolve_id, similar};
use super::table::{Cell, Column, Tabular};
use super::{Analysis, ViewError, default_year};
use crate::World;
use crate::references::Subject;
use crate::risk_inputs::{StageFilter, critical_rows, dependency_rows, family_dependency};

/// The name of a record of `table` (its `name` column), or the id itself.
pub fn name_of(world: &World, table: &str, id: &str) -> String {
    world
        .table(table)
        .and_then(|t| t.find(id).and_then(|r| t.text(r, "name")))
        .unwrap_or(id)
        .to_string()
}

/// A material id of the dataset (or `all`), resolved with suggestions.
fn material_filter(world: &World, material: Option<&str>) -> Result<Option<String>, ViewError> {
    match material.map(str::trim).filter(|m| !m.is_empty()) {
        None => Ok(None),
        Some("all") => Ok(Some("all".into())),
        Some(m) => resolve_id(world, "materials", "material", m)
            .map(Some)
            .map_err(ViewError::NotFound),
    }
}

fn country_set(world: &World, text: &str) -> Result<CountrySet, ViewError> {
    resolve_country_set(world, text).map_err(ViewError::NotFound)
}

// ---------------------------------------------------------------------------------------------
// Concentration

/// What `concentration` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcentrationQuery {
    /// Year of the flows or production (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
    /// What the shares are shares of (default `flow`).
    #[serde(default)]
    pub basis: Option<Basis>,
    /// Only this chain stage.
    #[serde(default)]
    pub stage: Option<Stage>,
    /// Only this material id (`all` for each stage's total).
    #[serde(default)]
    pub material: Option<String>,
    /// Which suppliers (default `world`).
    #[serde(default)]
    pub scope: Option<Scope>,
    /// What is ranked (default `location`).
    #[serde(default)]
    pub view: Option<View>,
    /// Only this supplier (a country, by ISO3 or name, for the country views).
    #[serde(default)]
    pub country: Option<String>,
}

impl Default for ConcentrationQuery {
    fn default() -> Self {
        ConcentrationQuery {
            year: default_year(),
            basis: Default::default(),
            stage: Default::default(),
            material: Default::default(),
            scope: Default::default(),
            view: Default::default(),
            country: Default::default(),
        }
    }
}

/// Supply concentration per material and stage.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ConcentrationView {
    /// Year of the flows or production.
    pub year: i64,
    /// What the shares are shares of.
    pub basis: Basis,
    /// Which suppliers are covered.
    pub scope: Scope,
    /// What is ranked.
    pub view: View,
    /// The stage asked for, if any.
    pub stage: Option<Stage>,
    /// The material asked for, if any.
    pub material: Option<String>,
    /// What a share is a share of, and how complete that basis is.
    pub basis_note: String,
    /// One row per (material, stage, supplier), largest share first within a material.
    pub rows: Vec<ConcentrationViewRow>,
}

/// One supplier's share.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ConcentrationViewRow {
    /// Material id, or `all` for every material of the stage.
    pub material: String,
    /// The material's name.
    pub material_name: String,
    /// Chain stage.
    pub stage: Stage,
    /// Supplier id: ISO3 (location, ownership), company or facility id.
    pub supplier: String,
    /// The supplier's name.
    pub supplier_name: String,
    /// Quantity in `unit`.
    pub quantity: f64,
    /// Unit of `quantity`.
    pub unit: String,
    /// Share of the total (a fraction).
    pub share: f64,
    /// Herfindahl–Hirschman index of the material and stage (0–10,000).
    pub hhi: f64,
    /// Largest share of the material and stage.
    pub top1: f64,
    /// Sum of the three largest shares.
    pub top3: f64,
    /// Source ids behind the figure.
    pub sources: Vec<String>,
    /// Capacity basis only: the share of the stage's traced output in the year shipped by the
    /// facilities whose capacity is counted. Below [`COMPLETE_COVERAGE`] the basis is incomplete.
    pub basis_coverage: Option<f64>,
    /// Flow basis, by location or company, all materials of a stage: the published figures for
    /// the country or company and stage, and whether the flows meet them (`lodestone reconcile`).
    pub published: Vec<PublishedCheck>,
}

/// A published figure for a row's country and stage, against the flows.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PublishedCheck {
    /// The figure (`mine production, AUS`).
    pub figure: String,
    /// Source ids.
    pub source: String,
    /// Published, t REO.
    pub published: f64,
    /// Its uncertainty, one standard deviation, t REO.
    pub sigma: f64,
    /// What the dataset's flows give, reconciled, t REO (empty when nothing in them measures
    /// it).
    pub flows: Option<f64>,
    /// Met within its uncertainty, a conflict, or not represented.
    pub status: FigureStatus,
    /// Whether the figure counts all the stage's rare-earth content (not an element basket).
    pub all_content: bool,
}

impl PublishedCheck {
    /// Said for people: `CONFLICT with mine production, AUS: published 29,000 ± 1,450 t REO
    /// (usgs_mcs2026_ree); the flows give 13,000, not reconciled`.
    pub fn text(&self) -> String {
        let q = crate::views::table::format_quantity;
        let published = format!(
            "published {} ± {} t REO ({})",
            q(self.published),
            q(self.sigma),
            self.source
        );
        match (self.status, self.flows) {
            (FigureStatus::Conflict, Some(f)) => format!(
                "CONFLICT with {}: {published}; the flows give {}, not reconciled",
                self.figure,
                q(f)
            ),
            (FigureStatus::Reconciled, Some(f)) => format!(
                "within 3 σ of {}: {published}; the flows give {}",
                self.figure,
                q(f)
            ),
            _ => format!(
                "{}: {published}; nothing in the flows measures it",
                self.figure
            ),
        }
    }
}

/// Coverage from which a capacity basis counts as complete.
pub const COMPLETE_COVERAGE: f64 = 0.8;

impl ConcentrationViewRow {
    /// The published figures this row's flows conflict with, said for people.
    pub fn conflicts(&self) -> impl Iterator<Item = String> + '_ {
        self.published
            .iter()
            .filter(|c| c.status == FigureStatus::Conflict)
            .map(PublishedCheck::text)
    }

    /// The basis's coverage, said for people: `covers 12 % of the stage's output: incomplete`.
    pub fn coverage_text(&self) -> Option<String> {
        self.basis_coverage.map(|c| {
            format!(
                "the recorded capacities cover {} of the stage's traced output{}",
                crate::views::table::format_share(c),
                if c < COMPLETE_COVERAGE {
                    ": INCOMPLETE basis, not shares of the industry"
                } else {
                    ""
                }
            )
        })
    }
}

impl Tabular for ConcentrationViewRow {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("material", "Material"),
            Column::new("stage", "Stage"),
            Column::new("supplier", "Supplier"),
            Column::new("quantity", "Quantity"),
            Column::new("unit", "Unit"),
            Column::new("share", "Share (%)"),
            Column::new("hhi", "HHI (0–10,000)"),
            Column::new("top1", "Top-1 (%)"),
            Column::new("top3", "Top-3 (%)"),
            Column::new("sources", "Sources"),
            Column::new("basis_coverage", "Basis coverage (%)"),
            Column::new("published", "Published figures"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::named(&self.material, &self.material_name),
            Cell::word(self.stage.name()),
            Cell::named(&self.supplier, &self.supplier_name),
            Cell::Quantity(self.quantity),
            Cell::Text(self.unit.clone()),
            Cell::Share(self.share),
            Cell::Index(self.hhi),
            Cell::Share(self.top1),
            Cell::Share(self.top3),
            Cell::List(self.sources.clone()),
            self.basis_coverage.map_or(Cell::Empty, Cell::Share),
            if self.published.is_empty() {
                Cell::Empty
            } else {
                Cell::Text(
                    self.published
                        .iter()
                        .map(PublishedCheck::text)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            },
        ]
    }
}

fn basis_note(basis: Basis, year: i64) -> String {
    match basis {
        Basis::Flow => format!(
            "Share of the t REO that first reached the stage in {year} in the traced flows of the dataset (most flows are estimates; see each flow's record)."
        ),
        Basis::Capacity => format!(
            "Share of the stated capacity (t/yr of the capacity material) of the facilities in service in {year} (status history, else current status and start date) that record a capacity for that material; plants without a recorded capacity are not counted. Each row's basis coverage is the share of the stage's traced output in {year} that the counted facilities ship; below {:.0} % the basis is incomplete and the shares are not shares of the industry.",
            COMPLETE_COVERAGE * 100.0
        ),
        Basis::Production => format!(
            "Share of production in {year} as published (USGS, IEA); shares are of the published world total where the dataset records one, else of the countries listed with the rest of the world. Figures without either (one company's output) are not shares of anything and are not shown. The IEA's 'refining' is counted as separation."
        ),
    }
}

/// Supplier name for the view's key.
fn supplier_name(world: &World, view: View, key: &str) -> String {
    match view {
        View::Location | View::Ownership => name_of(world, "countries", key),
        View::Company => name_of(world, "companies", key),
        View::Facility => name_of(world, "facilities", key),
    }
}

/// Supply concentration: shares, HHI and top-1/top-3 per material and stage.
pub fn concentration(a: &Analysis, q: &ConcentrationQuery) -> Result<ConcentrationView, ViewError> {
    let world = &a.world;
    let basis = q.basis.unwrap_or(Basis::Flow);
    let scope = q.scope.unwrap_or(Scope::World);
    let view = q.view.unwrap_or(View::Location);
    if basis == Basis::Production && view != View::Location {
        return Err(ViewError::Invalid(UnknownValue::new(
            "view of published production (it is by country of location only)",
            view.to_string().as_str(),
            vec!["location"],
        )));
    }
    let material = material_filter(world, q.material.as_deref())?;
    let country = match q.country.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(country_set(world, c)?.id),
    };
    if basis != Basis::Production {
        a.check_year(q.year)?;
    }
    let all = a.concentration_rows(q.year)?;
    // The years with published production (of the stage asked, when `stage` is given).
    let published_years = |stage: Option<Stage>| -> Vec<String> {
        let mut years: Vec<String> = all
            .iter()
            .filter(|r| r.basis == basis && stage.is_none_or(|s| s == r.stage))
            .map(|r| r.year.to_string())
            .collect();
        years.sort();
        years.dedup();
        years
    };
    if basis == Basis::Production && !all.iter().any(|r| r.basis == basis && r.year == q.year) {
        return Err(ViewError::Invalid(UnknownValue::new(
            "year with published production",
            &q.year.to_string(),
            published_years(None),
        )));
    }
    let rows = all
        .iter()
        .filter(|r| r.basis == basis && r.scope == scope && r.view == view)
        .filter(|r| basis != Basis::Production || r.year == q.year)
        .filter(|r| q.stage.is_none_or(|s| s == r.stage))
        .filter(|r| material.as_deref().is_none_or(|m| m == r.material))
        .filter(|r| country.as_deref().is_none_or(|c| c == r.supplier))
        .map(|r| ConcentrationViewRow {
            material_name: if r.material == "all" {
                format!("all {} materials", r.stage)
            } else {
                name_of(world, "materials", &r.material)
            },
            material: r.material.clone(),
            stage: r.stage,
            supplier_name: supplier_name(world, view, &r.supplier),
            supplier: r.supplier.clone(),
            quantity: r.quantity,
            unit: r.unit.clone(),
            share: r.share,
            hhi: r.hhi,
            top1: r.top1,
            top3: r.top3,
            sources: r.sources.clone(),
            basis_coverage: r.coverage,
            published: Vec::new(),
        })
        .collect::<Vec<_>>();
    let whole_stage = q.material.as_deref().is_none_or(|m| m == "all");
    if basis == Basis::Production && rows.is_empty() && q.country.is_none() && whole_stage {
        let years = published_years(q.stage);
        return Err(ViewError::NoData(format!(
            "no production {}published for {} with a world total to be a share of; years that have one: {}",
            q.stage.map_or(String::new(), |s| format!("of {s} ")),
            q.year,
            if years.is_empty() {
                "none".to_string()
            } else {
                years.join(", ")
            }
        )));
    }
    let mut rows = rows;
    let mut basis_note = basis_note(basis, q.year);
    if basis == Basis::Flow && matches!(view, View::Location | View::Company) {
        check_against_published(a, q, view, &mut rows, &mut basis_note);
    }
    Ok(ConcentrationView {
        year: q.year,
        basis,
        scope,
        view,
        stage: q.stage,
        material,
        basis_note,
        rows,
    })
}

/// Flow basis by location or company: each row of all a stage's materials gets the published
/// figures for its country or company, and the note counts the figures checked and names the
/// conflicts. A dataset the reconciliation cannot fit keeps its shares, saying they are unchecked.
fn check_against_published(
    a: &Analysis,
    q: &ConcentrationQuery,
    view: View,
    rows: &mut [ConcentrationViewRow],
    basis_note: &mut String,
) {
    let checks = match a.reconciliation(q.year) {
        Ok(checks) => checks,
        Err(e) => {
            basis_note.push_str(&format!(
                " Not checked against the published figures: the reconciliation failed ({e})."
            ));
            return;
        }
    };
    for row in rows.iter_mut().filter(|r| r.material == "all") {
        let subject = match view {
            View::Company => Subject::Company(row.supplier.clone()),
            _ => Subject::Country(row.supplier.clone()),
        };
        row.published = published_checks(&checks, &subject, row.stage);
    }
    let in_stage = |r: &&super::reconcile::ReferenceRow| q.stage.is_none_or(|s| s == r.stage);
    let conflicts: Vec<String> = checks
        .references
        .iter()
        .filter(in_stage)
        .filter(|r| r.status == FigureStatus::Conflict)
        .map(|r| r.figure.clone())
        .collect();
    let checked = checks
        .references
        .iter()
        .filter(in_stage)
        .filter(|r| r.status != FigureStatus::NotRepresented)
        .count();
    basis_note.push_str(&format!(
        " Checked against the {checked} published figures for {} that the flows measure (lodestone reconcile): {}.",
        q.year,
        if conflicts.is_empty() {
            "none conflicts with the flows".to_string()
        } else {
            format!(
                "CONFLICTS, not reconciled, shown on their rows: {}",
                conflicts.join(", ")
            )
        }
    ));
}

/// The published figures of a country's or a company's output at a stage, against the flows.
fn published_checks(
    checks: &super::reconcile::ReconcileView,
    subject: &Subject,
    stage: Stage,
) -> Vec<PublishedCheck> {
    let mut out: Vec<PublishedCheck> = checks
        .references
        .iter()
        .filter(|r| r.stage == stage)
        .filter(|r| &r.subject == subject)
        .map(|r| PublishedCheck {
            figure: r.figure.clone(),
            source: r.source.clone(),
            published: r.published,
            sigma: r.sigma,
            // The bundled flows are the reconciled ones (a data test holds them so).
            flows: r.reconciled,
            status: r.status,
            all_content: r.content == lodestone_model::Content::Reo,
        })
        .collect();
    // Figures of all the stage's content first, element baskets after.
    out.sort_by_key(|c| !c.all_content);
    out
}

// ---------------------------------------------------------------------------------------------
// Dependency

/// What `dependency` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DependencyQuery {
    /// Country (ISO3 or name) or group (e.g. `eu`).
    pub country: String,
    /// Year of the flows (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
    /// Only receipts of this material id.
    #[serde(default)]
    pub material: Option<String>,
    /// Only receipts of materials at this chain stage.
    #[serde(default)]
    pub stage: Option<Stage>,
}

impl Default for DependencyQuery {
    fn default() -> Self {
        DependencyQuery {
            country: Default::default(),
            year: default_year(),
            material: Default::default(),
            stage: Default::default(),
        }
    }
}

/// Direct against traced dependency of a country or group.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DependencyView {
    /// Who depends.
    pub country: CountrySet,
    /// Year of the flows.
    pub year: i64,
    /// The material the receipts were restricted to, if any.
    pub material: Option<String>,
    /// The stage the receipts were restricted to, if any.
    pub stage: Option<Stage>,
    /// Unit of the receipts.
    pub unit: String,
    /// The largest positive hidden dependency at separation, as a sentence.
    pub headline: Option<String>,
    /// How direct and traced are computed.
    pub method: String,
    /// Rows with a non-zero direct or traced share.
    pub rows: Vec<DependencyViewRow>,
}

/// A dependency on one origin at one traced stage.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DependencyViewRow {
    /// What the traced share measures: where the content was mined, separated, …
    pub traced_stage: TagFamily,
    /// Origin country (ISO3).
    pub origin: String,
    /// The origin's name.
    pub origin_name: String,
    /// Share of the receipts (t REO) shipped directly from the origin.
    pub direct: f64,
    /// Share of the receipts' REO content that passed the stage in the origin.
    pub traced: f64,
    /// `traced − direct`: dependency that customs statistics do not show.
    pub hidden: f64,
    /// Total receipts, t REO/yr.
    pub receipts_t_reo: f64,
    /// Source ids of the receipt flows the figures rest on.
    pub sources: Vec<String>,
}

impl Tabular for DependencyViewRow {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("traced_stage", "Traced stage"),
            Column::new("origin", "Origin"),
            Column::new("direct", "Direct (%)"),
            Column::new("traced", "Traced (%)"),
            Column::new("hidden", "Hidden (points)"),
            Column::new("receipts_t_reo", "Receipts (t REO/yr)"),
            Column::new("sources", "Sources"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::word(self.traced_stage.name()),
            Cell::named(&self.origin, &self.origin_name),
            Cell::Share(self.direct),
            Cell::Share(self.traced),
            Cell::Share(self.hidden),
            Cell::Quantity(self.receipts_t_reo),
            Cell::List(self.sources.clone()),
        ]
    }
}

/// Direct against traced dependency of a country or group on each origin, per traced stage.
pub fn dependency(a: &Analysis, q: &DependencyQuery) -> Result<DependencyView, ViewError> {
    let world = &a.world;
    let who = country_set(world, &q.country)?;
    let material = material_filter(world, q.material.as_deref())?.filter(|m| m != "all");
    a.check_year(q.year)?;
    let p = a.screening(q.year, Custody::MassBalance)?;
    let (low, trace) = (&p.low, &p.trace);
    let members = &who.members;
    let stages = q.stage.map_or(StageFilter::Any, StageFilter::Exactly);
    let deps = dependency_rows(world, low, trace, members, material.as_deref(), stages);
    // Sources per shipper country of the receipts' flows.
    let mut receipt_sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &low.network.flows {
        let (from, to) = (&low.nodes[f.from as usize], &low.nodes[f.to as usize]);
        if from.material.is_some()
            && to.material.is_none()
            && from.hub != to.hub
            && to.country.as_ref().is_some_and(|c| members.contains(c))
        {
            let e = receipt_sources
                .entry(from.country.clone().unwrap_or_default())
                .or_default();
            e.extend(from.sources.iter().cloned());
            e.sort();
            e.dedup();
        }
    }
    let mut all_sources: Vec<String> = receipt_sources.values().flatten().cloned().collect();
    all_sources.sort();
    all_sources.dedup();
    let headline = deps
        .iter()
        // Only a positive hidden dependency is news; a shipper that did not separate what it
        // shipped (Australia's concentrate to Malaysia) has a negative one.
        .filter(|(f, _, r)| {
            *f == TagFamily::Separated && !members.contains(&r.origin) && r.hidden > 0.0
        })
        .max_by(|x, y| x.2.hidden.total_cmp(&y.2.hidden))
        .map(|(_, _, r)| {
            format!(
                "{}: {:.1} % of these receipts shipped directly from {}; {:.1} % of their rare earths separated there (hidden dependency {:+.1} points).",
                who.name,
                r.direct * 100.0,
                name_of(world, "countries", &r.origin),
                r.traced * 100.0,
                r.hidden * 100.0
            )
        });
    let rows = deps
        .into_iter()
        .filter(|(_, _, r)| r.direct > 0.0 || r.traced > 0.0)
        .map(|(family, total, r)| DependencyViewRow {
            // The figures rest on the receipts' flows: cite those shipped from the origin, or
            // all of them for a traced-only origin.
            sources: receipt_sources
                .get(&r.origin)
                .cloned()
                .unwrap_or_else(|| all_sources.clone()),
            traced_stage: family,
            origin_name: name_of(world, "countries", &r.origin),
            origin: r.origin,
            direct: r.direct,
            traced: r.traced,
            hidden: r.hidden,
            receipts_t_reo: total,
        })
        .collect();
    Ok(DependencyView {
        method: format!(
            "direct = share of {}'s receipts{}{} (t REO, {}) shipped from the origin; traced = share of their content that was mined, separated, made into metal or made into magnets there (mass-balance trace)",
            who.name,
            material
                .as_deref()
                .map_or(String::new(), |m| format!(" of {m}")),
            q.stage.map_or(String::new(), |s| format!(" at stage {s}")),
            q.year
        ),
        country: who,
        year: q.year,
        material,
        stage: q.stage,
        unit: "t REO/yr".into(),
        headline,
        rows,
    })
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

/// What `benchmarks` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkQuery {
    /// Year of the flows (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
    /// Measure this country or group instead of each benchmark's issuer.
    #[serde(default)]
    pub country: Option<String>,
}

impl Default for BenchmarkQuery {
    fn default() -> Self {
        BenchmarkQuery {
            year: default_year(),
            country: Default::default(),
        }
    }
}

/// Whether a benchmark is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BenchmarkStatus {
    /// Within the limit or above the target.
    Met,
    /// Not.
    NotMet,
    /// The dataset cannot measure it.
    NoData,
}

/// Benchmarks (e.g. the EU CRMA's) measured on traced consumption.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BenchmarkView {
    /// Year of the flows.
    pub year: i64,
    /// How each test is measured.
    pub method: String,
    /// One row per benchmark test.
    pub rows: Vec<BenchmarkRow>,
}

/// One benchmark test.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BenchmarkRow {
    /// Rule id.
    pub rule: String,
    /// Rule title.
    pub rule_title: String,
    /// The bloc measured (ISO3 or group id).
    pub bloc: String,
    /// The bloc's name.
    pub bloc_name: String,
    /// The test, in words.
    pub test: String,
    /// The traced stage the test measures.
    pub traced_stage: Option<TagFamily>,
    /// The country the value is about (the largest third country, or the bloc).
    pub country: Option<String>,
    /// The measured share (a fraction).
    pub value: Option<f64>,
    /// The limit (at most) or target (at least), a fraction.
    pub limit: f64,
    /// `value − limit`.
    pub gap: Option<f64>,
    /// Whether the test is met.
    pub status: BenchmarkStatus,
    /// The receipts measured: t REO/yr of materials that have passed the stage.
    pub receipts_t_reo: Option<f64>,
}

impl Tabular for BenchmarkRow {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("rule", "Rule"),
            Column::new("bloc", "Bloc"),
            Column::new("test", "Test"),
            Column::new("country", "Country"),
            Column::new("value", "Value (%)"),
            Column::new("limit", "Limit (%)"),
            Column::new("gap", "Gap (points)"),
            Column::new("status", "Status"),
            Column::new("receipts_t_reo", "Receipts measured (t REO/yr)"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::named(&self.rule, &self.rule_title),
            Cell::named(&self.bloc, &self.bloc_name),
            Cell::Text(self.test.clone()),
            Cell::text(self.country.clone()),
            self.value.map_or(Cell::Empty, Cell::Share),
            Cell::Share(self.limit),
            self.gap.map_or(Cell::Empty, Cell::Share),
            Cell::word(match self.status {
                BenchmarkStatus::Met => "met",
                BenchmarkStatus::NotMet => "not_met",
                BenchmarkStatus::NoData => "no_data",
            }),
            self.receipts_t_reo.map_or(Cell::Empty, Cell::Quantity),
        ]
    }
}

/// Every benchmark rule measured on the traced consumption of its bloc.
///
/// A stage's test is measured over the receipts of materials that have passed that stage (its
/// own products and everything made from them): the magnet test over magnets and components,
/// not over all receipts, which would dilute it with ores and oxides that carry no magnet content.
pub fn benchmarks(a: &Analysis, q: &BenchmarkQuery) -> Result<BenchmarkView, ViewError> {
    let world = &a.world;
    a.check_year(q.year)?;
    let p = a.screening(q.year, Custody::MassBalance)?;
    let (low, trace) = (&p.low, &p.trace);
    let mut rows = Vec::new();
    for rule in &world.rules {
        let RuleKind::Benchmark {
            max_single_country_share,
            targets,
        } = &rule.kind
        else {
            continue;
        };
        let bloc_text = q.country.clone().unwrap_or_else(|| rule.issuer.clone());
        let bloc = country_set(world, &bloc_text)?;
        let m = &bloc.members;
        let row = |test: String,
                   family: Option<TagFamily>,
                   country: Option<String>,
                   value: Option<f64>,
                   limit: f64,
                   status: BenchmarkStatus,
                   receipts: Option<f64>| BenchmarkRow {
            rule: rule.id.clone(),
            rule_title: rule.title.clone(),
            bloc: bloc.id.clone(),
            bloc_name: bloc.name.clone(),
            test,
            traced_stage: family,
            country,
            value,
            limit,
            gap: value.map(|v| v - limit),
            status,
            receipts_t_reo: receipts,
        };
        for family in TagFamily::STAGES {
            let Some(stage) = family.stage() else {
                continue;
            };
            let deps = family_dependency(
                world,
                low,
                trace,
                m,
                None,
                StageFilter::FromStage(stage),
                family,
            );
            let total = deps.first().map(|d| d.1);
            let third = deps
                .iter()
                .filter(|(_, _, r)| !m.contains(&r.origin))
                .max_by(|x, y| x.2.traced.total_cmp(&y.2.traced));
            if let (Some(limit), Some((_, _, top))) = (max_single_country_share, third) {
                rows.push(row(
                    format!("single third country ({family})"),
                    Some(family),
                    Some(top.origin.clone()),
                    Some(top.traced),
                    *limit,
                    if top.traced <= *limit {
                        BenchmarkStatus::Met
                    } else {
                        BenchmarkStatus::NotMet
                    },
                    total,
                ));
            }
            let own: f64 = deps
                .iter()
                .filter(|(_, _, r)| m.contains(&r.origin))
                .map(|(_, _, r)| r.traced)
                .sum();
            let target = match family {
                TagFamily::Mined => targets.iter().find(|(s, _)| s == "extraction"),
                TagFamily::Separated => targets.iter().find(|(s, _)| s == "processing"),
                _ => None,
            };
            if let Some((name, min)) = target {
                rows.push(row(
                    format!("{name} within the bloc ({family})"),
                    Some(family),
                    Some(bloc.id.clone()),
                    Some(own),
                    *min,
                    if own >= *min {
                        BenchmarkStatus::Met
                    } else {
                        BenchmarkStatus::NotMet
                    },
                    total,
                ));
            }
        }
        if let Some((_, min)) = targets.iter().find(|(s, _)| s == "recycling") {
            rows.push(row(
                "recycling (the dataset records no recycling flows)".into(),
                None,
                None,
                None,
                *min,
                BenchmarkStatus::NoData,
                None,
            ));
        }
    }
    Ok(BenchmarkView {
        year: q.year,
        method: format!(
            "Benchmarks on traced consumption: the receipts of the bloc's facilities and markets in {} (t REO). Each stage's test is measured over the receipts of materials that have passed that stage (for magnets: magnets and the components made from them).",
            q.year
        ),
        rows,
    })
}

// ---------------------------------------------------------------------------------------------
// Critical facilities

/// What `critical` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CriticalQuery {
    /// Country (ISO3 or name) or group.
    pub country: String,
    /// Year of the flows (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
}

impl Default for CriticalQuery {
    fn default() -> Self {
        CriticalQuery {
            country: Default::default(),
            year: default_year(),
        }
    }
}

/// Facilities a country's supply passes through, and what their loss would cost.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CriticalView {
    /// Whose supply.
    pub country: CountrySet,
    /// Year of the flows.
    pub year: i64,
    /// How the figures are computed.
    pub method: String,
    /// Largest loss first.
    pub rows: Vec<CriticalViewRow>,
}

/// One facility's weight in the supply.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CriticalViewRow {
    /// Facility id.
    pub facility: String,
    /// Facility name.
    pub facility_name: String,
    /// Facility country (ISO3).
    pub country: String,
    /// Share of the country's REO receipts that passed through the facility.
    pub share: f64,
    /// t REO/yr lost if the facility stops for a year, without re-routing.
    pub loss_without_rerouting: f64,
    /// t REO/yr lost with re-routing through spare capacity (max-flow).
    pub loss_with_rerouting: f64,
    /// Source of the facility record.
    pub sources: Vec<String>,
}

impl Tabular for CriticalViewRow {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("facility", "Facility"),
            Column::new("country", "Country"),
            Column::new("share", "Share of receipts (%)"),
            Column::new(
                "loss_without_rerouting",
                "Loss without re-routing (t REO/yr)",
            ),
            Column::new("loss_with_rerouting", "Loss with re-routing (t REO/yr)"),
            Column::new("sources", "Sources"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::named(&self.facility, &self.facility_name),
            Cell::Text(self.country.clone()),
            Cell::Share(self.share),
            Cell::Quantity(self.loss_without_rerouting),
            Cell::Quantity(self.loss_with_rerouting),
            Cell::List(self.sources.clone()),
        ]
    }
}

/// Critical facilities of a country's supply.
pub fn critical(a: &Analysis, q: &CriticalQuery) -> Result<CriticalView, ViewError> {
    let world = &a.world;
    let who = country_set(world, &q.country)?;
    a.check_year(q.year)?;
    let p = a.screening(q.year, Custody::MassBalance)?;
    let ft = world.table("facilities");
    let rows = critical_rows(world, &p.low, &p.trace, &who.members)
        .into_iter()
        .map(|r| CriticalViewRow {
            facility_name: name_of(world, "facilities", &r.facility),
            sources: ft
                .and_then(|ft| ft.find(&r.facility).and_then(|row| ft.text(row, "source")))
                .map(str::to_string)
                .into_iter()
                .collect(),
            facility: r.facility,
            country: r.facility_country,
            share: r.share,
            loss_without_rerouting: r.loss_without_rerouting,
            loss_with_rerouting: r.loss_with_rerouting,
        })
        .collect();
    Ok(CriticalView {
        method: format!(
            "Share of {}'s rare-earth receipts (t REO, {}) that passed through each facility; the loss in t REO/yr if it stops for a year, without and with re-routing through spare capacity.",
            who.name, q.year
        ),
        country: who,
        year: q.year,
        rows,
    })
}

/// Unknown-id helper for the API's record routes: the closest ids of `table`.
pub fn unknown_record(world: &World, table: &str, id: &str) -> UnknownValue {
    let ids = world.ids(table);
    similar("record id", id, ids.iter().map(String::as_str))
}
