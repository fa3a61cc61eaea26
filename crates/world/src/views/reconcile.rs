//! The year's flows reconciled with the published figures and the facilities' mass balances
//! (`lodestone reconcile`), by weighted least squares (`lodestone-reconcile`).
//!
//! What is fitted, in t REO (a flow's quantity times its material's REO content):
//!
//! * **Flows** of the year, each with a prior: a `reported` flow is fixed (it stays as
//!   published); a `derived` flow is ±10 %; an `estimate` ±10 % (confidence high), ±25 %
//!   (medium) or ±50 % (low or none), one standard deviation.
//! * **Facilities** balance exactly: input + production = output + losses, and ship no more of
//!   their capacity material than their stated capacity (held at it where the fit would exceed
//!   it). A facility with a
//!   `mine` stage has a production quantity (prior: its recorded output less input, ±50 %);
//!   every facility has a loss (prior: its recorded imbalance where input exceeds output, ±50 %
//!   of it plus 2 % of its input). Country nodes (markets, `ROW`) and facilities with output but
//!   no recorded input and no mine are not balanced.
//! * **Reference figures** ([`crate::references`]): each country's mine production and the
//!   IEA's magnet rare earths by stage (`production.csv`), and company figures by calendar year
//!   (`references.csv`, quarters summed, fiscal years spread by days). A mining figure is
//!   measured by the production of the subject's mine facilities (a country's also by the ore
//!   and concentrate its country node ships where it has no mine); another stage's by the flows
//!   of that stage's materials out of the subject's facilities. An export figure counts the
//!   flows out of the subject's country (its market's re-exports too); a customs figure that
//!   names its tariff headings counts the materials under them whatever their stage (China's
//!   "rare earths": ores, metals and compounds); `WLD` as the subject of a figure with a
//!   destination counts what the destination takes in from everywhere else (US imports of
//!   compounds). An element basket (NdPr, magnet
//!   rare earths) counts each flow's share of those elements by its composition; content whose
//!   elements are not known is counted as none of them and said in the row's note. The world
//!   total and `ROW` are left out: they are not sets of facilities.
//!
//! A reference figure whose normalized residual exceeds 3 is a conflict: it is set aside and
//! reported with both values. Nothing is written: this view reports.

use std::collections::{BTreeMap, HashMap};

use lodestone_format::{Compositions, Dataset, Value};
use lodestone_model::{Confidence, Content, Element, FigureStatus, FlowBasis, Stage, Vocabulary};

use crate::references::{Figure, Subject, WORLD};
use lodestone_reconcile::{
    Balance, Options, Problem, Reference, Solution, Status, Terms, Variable, solve,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::table::{Cell, Column, Tabular};

/// Normalized residual beyond which a figure is a conflict.
pub const CRITICAL: f64 = 3.0;

/// One reference figure against the reconciled model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReferenceRow {
    /// What was published, e.g. `mine production, CHN`, `separation output (NdPr), mp_materials`.
    pub figure: String,
    /// Whose output.
    pub subject: Subject,
    /// The stage whose output is counted.
    pub stage: Stage,
    /// What of it is counted.
    pub content: Content,
    /// How the calendar-year figure was made from the published periods.
    pub period: String,
    /// Source ids (sources.csv), `, `-separated.
    pub source: String,
    /// The table the figure is recorded in (`production` or `references`).
    pub table: String,
    /// Published value, t REO.
    pub published: f64,
    /// Its uncertainty (one standard deviation), t REO.
    pub sigma: f64,
    /// What the flows gave as first estimated, before any reconciliation (an earlier
    /// `--write`'s values are undone), t REO.
    pub before: Option<f64>,
    /// What the reconciled model gives, t REO (empty when nothing in the model measures it).
    pub reconciled: Option<f64>,
    /// Its uncertainty (one standard deviation), t REO.
    pub reconciled_sigma: Option<f64>,
    /// (published − reconciled) / sigma.
    pub residual_sigmas: Option<f64>,
    /// The normalized residual (about standard normal when the figure agrees with the rest).
    pub normalized: Option<f64>,
    /// Met, a conflict (set aside, both values shown) or not represented.
    pub status: FigureStatus,
    /// What the model's side leaves out: flows whose element composition is not resolved, so
    /// that their content counts as none of the figure's elements.
    pub note: Option<String>,
}

impl Tabular for ReferenceRow {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("figure", "Figure"),
            Column::new("period", "Period"),
            Column::new("source", "Source"),
            Column::new("published", "Published (t REO)"),
            Column::new("sigma", "± (t REO)"),
            Column::new("before", "Flows first estimated (t REO)"),
            Column::new("reconciled", "Reconciled (t REO)"),
            Column::new("residual_sigmas", "Residual (σ)"),
            Column::new("normalized", "Normalized"),
            Column::new("status", "Status"),
        ];
        C
    }

    fn cells(&self) -> Vec<Cell> {
        let num = |x: Option<f64>| x.map_or(Cell::Empty, Cell::Quantity);
        let z = |x: Option<f64>| x.map_or(Cell::Empty, |v| Cell::Text(format!("{v:+.2}")));
        vec![
            Cell::Text(self.figure.clone()),
            Cell::Text(self.period.clone()),
            Cell::Text(self.source.clone()),
            Cell::Quantity(self.published),
            Cell::Quantity(self.sigma),
            num(self.before),
            num(self.reconciled),
            z(self.residual_sigmas),
            z(self.normalized),
            Cell::word(self.status.name()),
        ]
    }
}

/// One flow, as recorded and as reconciled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowRow {
    /// Flow id.
    pub id: String,
    /// Shipper.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// Material.
    pub material: String,
    /// How the recorded quantity was obtained.
    pub basis: FlowBasis,
    /// Recorded, t REO.
    pub recorded: f64,
    /// Prior uncertainty, t REO (0: fixed).
    pub sigma: f64,
    /// Reconciled, t REO.
    pub reconciled: f64,
    /// Its uncertainty after reconciliation, t REO.
    pub reconciled_sigma: f64,
    /// Normalized adjustment (recorded − reconciled over the adjustment's deviation).
    pub normalized: Option<f64>,
    /// Held at zero (the fit would have made it negative).
    pub clamped: bool,
}

impl Tabular for FlowRow {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("id", "Flow"),
            Column::new("material", "Material"),
            Column::new("basis", "Basis"),
            Column::new("recorded", "Recorded (t REO)"),
            Column::new("sigma", "± (t REO)"),
            Column::new("reconciled", "Reconciled (t REO)"),
            Column::new("reconciled_sigma", "± after (t REO)"),
            Column::new("normalized", "Normalized"),
        ];
        C
    }

    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.id.clone()),
            Cell::Text(self.material.clone()),
            Cell::word(self.basis.name()),
            Cell::Quantity(self.recorded),
            Cell::Quantity(self.sigma),
            Cell::Quantity(self.reconciled),
            Cell::Quantity(self.reconciled_sigma),
            self.normalized
                .map_or(Cell::Empty, |v| Cell::Text(format!("{v:+.2}"))),
        ]
    }
}

/// A balanced facility's production (mines) and losses, before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FacilityRow {
    /// Facility id.
    pub facility: String,
    /// Country.
    pub country: String,
    /// Production (mines), recorded output less input, t REO.
    pub production_before: Option<f64>,
    /// Reconciled production, t REO.
    pub production: Option<f64>,
    /// Losses implied by the recorded flows (input less output, at least 0), t REO.
    pub loss_before: f64,
    /// Reconciled losses, t REO.
    pub loss: f64,
    /// Reconciled intake (flows in, and production at a mine), t REO.
    pub intake: f64,
    /// The facility's stages that `process_losses.csv` bounds, `;`-separated.
    pub bounded_stages: String,
    /// The most of its intake the facility plausibly loses (its stages' bounds compounded),
    /// as a fraction; empty when no stage of it is bounded (mines, stockpiles).
    pub max_loss: Option<f64>,
}

impl FacilityRow {
    /// Reconciled losses as a fraction of intake.
    pub fn loss_share(&self) -> Option<f64> {
        (self.intake > 0.0).then(|| self.loss / self.intake)
    }

    /// Whether the reconciled losses exceed what the facility's stages plausibly lose (by more
    /// than 1 t REO, so that rounding in small plants is not named).
    pub fn implausible_loss(&self) -> bool {
        match self.max_loss {
            Some(max) => self.loss > max * self.intake + 1.0,
            None => false,
        }
    }

    /// Whether it takes in and ships nothing in the year's flows (what it makes is not recorded
    /// for the year, as downstream of mining in 2023).
    pub fn ships_nothing(&self) -> bool {
        self.intake - self.loss <= 1.0
    }

    /// Said for people: `lynas_malaysia_hre_circuit (separation) takes in 439 t REO, ships 25 and
    /// loses 414 (94.3 %), where its stages lose at most 10.0 %`.
    pub fn loss_text(&self) -> String {
        let q = crate::views::table::format_quantity;
        let share = |x: f64| crate::views::table::format_share(x);
        if self.ships_nothing() {
            return format!(
                "{} ({}) takes in {} t REO and ships nothing in the year's flows: what it makes is not recorded for the year",
                self.facility,
                self.bounded_stages,
                q(self.intake)
            );
        }
        format!(
            "{} ({}) takes in {} t REO, ships {} and loses {} ({}), where its stages lose at most {} (process_losses.csv): a product or a stock not recorded, or a flow wrong",
            self.facility,
            self.bounded_stages,
            q(self.intake),
            q(self.intake - self.loss),
            q(self.loss),
            share(self.loss_share().unwrap_or(0.0)),
            share(self.max_loss.unwrap_or(1.0)),
        )
    }
}

/// The most a facility with `stages` plausibly loses, by `bounds` (stage → fraction): each
/// bounded stage may lose its share of what reaches it, so 1 − Π(1 − bound). `None` when no
/// stage is bounded, and when one is a stockpile (stocks accumulate).
pub fn compounded_max_loss(stages: &[&str], bounds: &HashMap<String, f64>) -> Option<f64> {
    if stages.contains(&"stockpile") {
        return None;
    }
    // a + b − ab is 1 − (1 − a)(1 − b), exact for a single stage.
    stages
        .iter()
        .filter_map(|s| bounds.get(*s))
        .fold(None, |acc: Option<f64>, &b| {
            Some(acc.map_or(b, |a| a + b - a * b))
        })
}

/// The loss bounds of `process_losses.csv`: stage → fraction of intake.
fn loss_bounds(ds: &Dataset) -> HashMap<String, f64> {
    let Some(t) = ds.table("process_losses") else {
        return HashMap::new();
    };
    t.rows
        .iter()
        .filter_map(|r| {
            Some((
                t.text(r, "stage")?.to_string(),
                t.get(r, "max_loss").as_f64()? / 100.0,
            ))
        })
        .collect()
}

/// The reconciliation of one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReconcileView {
    /// Year of the flows.
    pub year: i64,
    /// How the priors and balances were set (shown with the figures).
    pub method: String,
    /// Each reference figure against the model.
    pub references: Vec<ReferenceRow>,
    /// Published figures that cannot be made for the year: (figure, why).
    pub left_out: Vec<(String, String)>,
    /// Each flow of the year.
    pub flows: Vec<FlowRow>,
    /// Balanced facilities.
    pub facilities: Vec<FacilityRow>,
    /// Facilities not balanced: (id, why).
    pub unbalanced: Vec<(String, String)>,
    /// Flows left out: (id, why).
    pub skipped_flows: Vec<(String, String)>,
    /// Weighted sum of squared adjustments, and its degrees of freedom.
    pub chi2: f64,
    /// Degrees of freedom of `chi2`.
    pub dof: usize,
}

impl ReconcileView {
    /// Facilities whose reconciled losses exceed what their stages plausibly lose.
    pub fn implausible_losses(&self) -> impl Iterator<Item = &FacilityRow> {
        self.facilities.iter().filter(|f| f.implausible_loss())
    }
}

/// What a flow's prior uncertainty is, as a fraction of its value.
fn relative_sigma(basis: FlowBasis, confidence: Option<Confidence>) -> f64 {
    match (basis, confidence) {
        (FlowBasis::Reported, _) => 0.0,
        (FlowBasis::Derived, _) => 0.10,
        (FlowBasis::Estimate, Some(Confidence::High)) => 0.10,
        (FlowBasis::Estimate, Some(Confidence::Medium)) => 0.25,
        (FlowBasis::Estimate, Some(Confidence::Low) | None) => 0.50,
    }
}

struct FlowRecord {
    id: String,
    from: String,
    to: String,
    material: String,
    basis: FlowBasis,
    /// Recorded now, t REO.
    reo: f64,
    /// The estimate the fit starts from, t REO: the recorded value, or, for a flow an earlier
    /// `--write` reconciled, the value it had before (so that writing twice changes nothing).
    prior: f64,
    sigma: f64,
}

/// The note `--write` appends to a reconciled flow's method.
fn reconciled_note(year: i64) -> String {
    format!("Reconciled by `lodestone reconcile --year {year}` on ")
}

/// The quantity a flow had before it was first reconciled for `year`, from its method.
fn original_quantity(method: &str, year: i64) -> Option<f64> {
    let rest = &method[method.find(&reconciled_note(year))?..];
    let after_colon = &rest[rest.find(": ")? + 2..];
    after_colon.split(" → ").next()?.trim().parse().ok()
}

/// What `reconciliation` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileQuery {
    /// Year of the flows (default 2024).
    #[serde(default = "super::default_year")]
    pub year: i64,
}

impl Default for ReconcileQuery {
    fn default() -> Self {
        ReconcileQuery {
            year: super::default_year(),
        }
    }
}

/// The year's reconciliation as the views keep it (computed once per year): a year without
/// flows is an error naming the years there are.
pub fn reconciliation(
    a: &super::Analysis,
    q: &ReconcileQuery,
) -> Result<std::sync::Arc<ReconcileView>, super::ViewError> {
    a.check_year(q.year)?;
    a.reconciliation(q.year)
}

/// Reconciles the flows of `year`.
pub fn reconcile(ds: &Dataset, year: i64) -> Result<ReconcileView, String> {
    let (Some(_), Some(ft), Some(fl)) = (
        ds.table("materials"),
        ds.table("facilities"),
        ds.table("flows"),
    ) else {
        return Err("the dataset has no materials, facilities or flows table".into());
    };
    // Material id → (stage, REO content in %).
    let materials = crate::risk_inputs::materials(ds);
    let reo = |m: &str| materials.get(m).and_then(|x| x.1).map(|p| p / 100.0);
    let mut flows = Vec::new();
    let mut skipped_flows = Vec::new();
    let mut years_present = std::collections::BTreeSet::new();
    for r in &fl.rows {
        let y = match fl.get(r, "year") {
            Value::Integer(y) => *y,
            _ => continue,
        };
        years_present.insert(y);
        if y != year {
            continue;
        }
        let (Some(id), Some(from), Some(to), Some(material), Some(q)) = (
            fl.text(r, "id"),
            fl.text(r, "from"),
            fl.text(r, "to"),
            fl.text(r, "material"),
            fl.get(r, "quantity").as_f64(),
        ) else {
            continue;
        };
        let Some(content) = reo(material) else {
            skipped_flows.push((
                id.to_string(),
                format!("material '{material}' records no REO content"),
            ));
            continue;
        };
        // The validator has checked both words against the schema's vocabularies (which a test
        // holds equal to these enums); an absent basis is the schema's default, `reported`.
        let basis = fl
            .text(r, "basis")
            .and_then(|b| b.parse().ok())
            .unwrap_or(FlowBasis::Reported);
        let confidence = fl.text(r, "confidence").and_then(|c| c.parse().ok());
        let value = q * content;
        let prior = fl
            .text(r, "method")
            .and_then(|m| original_quantity(m, year))
            .map_or(value, |original| original * content);
        flows.push(FlowRecord {
            id: id.to_string(),
            from: from.to_string(),
            to: to.to_string(),
            material: material.to_string(),
            sigma: prior * relative_sigma(basis, confidence),
            basis,
            reo: value,
            prior,
        });
    }
    if flows.is_empty() {
        let list: Vec<String> = years_present.iter().map(i64::to_string).collect();
        return Err(format!(
            "no flows in {year}: the dataset's flows are for {}",
            list.join(", ")
        ));
    }
    let mut problem = Problem::default();
    for f in &flows {
        problem.variables.push(Variable {
            name: f.id.clone(),
            value: if f.sigma > 0.0 { f.prior } else { f.reo },
            sigma: f.sigma,
        });
    }
    // Facilities: their flows in and out, and whether they mine.
    let mut touching: BTreeMap<&str, (Terms, f64, f64)> = BTreeMap::new();
    for (i, f) in flows.iter().enumerate() {
        let e = touching.entry(&f.from).or_default();
        e.0.push((i, -1.0));
        e.2 += f.prior;
        let e = touching.entry(&f.to).or_default();
        e.0.push((i, 1.0));
        e.1 += f.prior;
    }
    let bounds = loss_bounds(ds);
    let mut facilities = Vec::new();
    let mut unbalanced = Vec::new();
    // (facility index in `facilities`, production variable, loss variable).
    let mut slots: Vec<(Option<usize>, usize)> = Vec::new();
    // (mine facility, its production variable).
    let mut mines: Vec<(String, usize)> = Vec::new();
    for (&node, (terms, input, output)) in &touching {
        let Some(row) = ft.find(node) else {
            continue; // a country node: a market, not balanced
        };
        let country = ft.text(row, "country").unwrap_or("").to_string();
        let is_mine = ft.get(row, "stages").items().contains(&"mine");
        if !is_mine && *input <= 0.0 {
            unbalanced.push((
                node.to_string(),
                "ships output but records no input and no mine".to_string(),
            ));
            continue;
        }
        let mut terms = terms.clone();
        let production = is_mine.then(|| {
            let prior = (output - input).max(0.0);
            problem.variables.push(Variable {
                name: format!("production at {node}"),
                value: prior,
                sigma: (0.5 * prior).max(1.0),
            });
            let v = problem.variables.len() - 1;
            terms.push((v, 1.0));
            mines.push((node.to_string(), v));
            v
        });
        let loss_prior = (input - output).max(0.0);
        problem.variables.push(Variable {
            name: format!("losses at {node}"),
            value: loss_prior,
            sigma: 0.5 * loss_prior + 0.02 * input.max(*output),
        });
        let loss = problem.variables.len() - 1;
        terms.push((loss, -1.0));
        problem.balances.push(Balance {
            name: node.to_string(),
            terms,
            rhs: 0.0,
        });
        let stages = ft.get(row, "stages").items();
        facilities.push(FacilityRow {
            facility: node.to_string(),
            country,
            production_before: production.map(|v| problem.variables[v].value),
            production: None,
            loss_before: loss_prior,
            loss: 0.0,
            intake: 0.0,
            bounded_stages: stages
                .iter()
                .filter(|s| bounds.contains_key(**s))
                .copied()
                .collect::<Vec<_>>()
                .join(";"),
            max_loss: compounded_max_loss(&stages, &bounds),
        });
        slots.push((production, loss));
    }
    // Reference figures: the flows' side of each is a sum of variables.
    let compositions = Compositions::from_dataset(ds);
    let crate::references::YearFigures { figures, left_out } =
        crate::references::figures(ds, year)?;
    let sides = ModelSides {
        ds,
        flows: &flows,
        materials: &materials,
        hs_codes: material_hs_codes(ds),
        compositions: &compositions,
        mines: &mines,
        values: problem.variables.iter().map(|v| v.value).collect(),
    };
    let mut ref_info = Vec::new();
    for figure in &figures {
        let (terms, unresolved) = sides.terms(figure);
        problem.references.push(Reference {
            name: figure_name(figure),
            terms,
            value: figure.value,
            sigma: figure.sigma,
        });
        ref_info.push((figure, unresolved));
    }
    // Stated capacities are upper bounds: a facility whose reconciled outflows of its capacity
    // material exceed its capacity is held at it (an equality added, and solved again).
    let mut capacities: Vec<(String, Terms, f64)> = Vec::new();
    for r in &ft.rows {
        let (Some(id), Some(cap), Some(m)) = (
            ft.text(r, "id"),
            ft.get(r, "capacity").as_f64(),
            ft.text(r, "capacity_material"),
        ) else {
            continue;
        };
        let Some(content) = reo(m) else {
            continue;
        };
        let terms: Terms = flows
            .iter()
            .enumerate()
            .filter(|(_, f)| f.from == id && f.material == m)
            .map(|(i, _)| (i, 1.0))
            .collect();
        if !terms.is_empty() {
            capacities.push((id.to_string(), terms, cap * content));
        }
    }
    let options = Options {
        critical: CRITICAL,
        nonnegative: true,
    };
    let mut at_capacity = vec![false; capacities.len()];
    let solution: Solution = loop {
        let solution =
            solve(&problem, &options).map_err(|e| format!("reconciliation failed: {e}"))?;
        let over: Vec<usize> = capacities
            .iter()
            .enumerate()
            .filter(|(k, (_, terms, cap))| {
                let total: f64 = terms
                    .iter()
                    .map(|&(i, c)| c * solution.variables[i].value)
                    .sum();
                !at_capacity[*k] && total > cap * (1.0 + 1e-9) + 1e-6
            })
            .map(|(k, _)| k)
            .collect();
        if over.is_empty() {
            break solution;
        }
        for k in over {
            at_capacity[k] = true;
            let (id, terms, cap) = &capacities[k];
            problem.balances.push(Balance {
                name: format!("capacity of {id}"),
                terms: terms.clone(),
                rhs: *cap,
            });
        }
    };
    for (row, (production, loss)) in facilities.iter_mut().zip(&slots) {
        row.production = production.map(|v| solution.variables[v].value);
        row.loss = solution.variables[*loss].value;
        let inflow: f64 = flows
            .iter()
            .zip(&solution.variables)
            .filter(|(f, _)| f.to == row.facility && f.from != row.facility)
            .map(|(_, v)| v.value)
            .sum();
        row.intake = inflow + row.production.unwrap_or(0.0);
    }
    let references = problem
        .references
        .iter()
        .zip(&solution.references)
        .zip(ref_info)
        .map(|((r, s), (figure, unresolved))| {
            let represented = s.status != Status::NotRepresented;
            let before: f64 = r
                .terms
                .iter()
                .map(|&(v, c)| c * problem.variables[v].value)
                .sum();
            ReferenceRow {
                figure: r.name.clone(),
                subject: figure.subject.clone(),
                stage: figure.stage,
                content: figure.content,
                period: figure.period.clone(),
                source: figure.sources.join(", "),
                table: figure.table.to_string(),
                published: r.value,
                sigma: r.sigma,
                before: represented.then_some(before),
                reconciled: represented.then_some(s.model),
                reconciled_sigma: represented.then_some(s.model_sigma),
                residual_sigmas: represented.then_some(s.in_sigmas),
                normalized: s.normalized,
                status: match s.status {
                    Status::Reconciled => FigureStatus::Reconciled,
                    Status::Conflict => FigureStatus::Conflict,
                    Status::NotRepresented => FigureStatus::NotRepresented,
                },
                note: (unresolved > 0.0).then(|| {
                    format!(
                        "{unresolved:.0} t REO of the flows counted has no known element composition (none recorded, or its 'other' remainder) and counts as none of the figure's elements"
                    )
                }),
            }
        })
        .collect();
    let flows = flows
        .iter()
        .zip(&solution.variables)
        .map(|(f, s)| FlowRow {
            id: f.id.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            material: f.material.clone(),
            basis: f.basis,
            recorded: f.reo,
            sigma: f.sigma,
            reconciled: s.value,
            reconciled_sigma: s.sigma,
            normalized: s.normalized,
            clamped: s.clamped,
        })
        .collect();
    for (b, imbalance) in &solution.unadjustable {
        unbalanced.push((
            problem.balances[*b].name.clone(),
            format!("all its flows are fixed and miss balance by {imbalance:.0} t REO"),
        ));
    }
    Ok(ReconcileView {
        year,
        method: format!(
            "Weighted least squares (lodestone-reconcile): flows in t REO with priors by basis and confidence (reported fixed; derived ±10 %; estimates ±10/25/50 % for high/medium/low confidence), exact balances at every facility (input + production = output + losses), each country's published mine production ±5 % and the IEA's magnet rare earths by stage ±10 % (observed), company and customs figures (references.csv) by calendar year with their recorded uncertainty (the project's convention where the source states none), quarters summed and fiscal years spread by days; element baskets through each flow's composition; figures with a normalized residual above {CRITICAL} are conflicts, set aside and shown with both values."
        ),
        references,
        left_out,
        flows,
        facilities,
        unbalanced,
        skipped_flows,
        chi2: solution.chi2,
        dof: solution.dof,
    })
}

/// An estimate that `lodestone reconcile --write` changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FlowChange {
    /// Flow id.
    pub id: String,
    /// Quantity before, t of the flow's material.
    pub before: f64,
    /// Quantity written, t of the flow's material.
    pub after: f64,
    /// Before, t REO.
    pub before_reo: f64,
    /// After (the reconciled value), t REO.
    pub after_reo: f64,
}

/// Smallest change worth writing: 1 t REO and 0.5 % of the flow.
fn worth_writing(before: f64, after: f64) -> bool {
    (after - before).abs() > 1.0f64.max(0.005 * before.abs())
}

/// The text of `flows.csv` with the year's **estimates** replaced by their reconciled values
/// (reported and derived flows stay as they are), each changed row's `method` saying it was
/// reconciled, on `date`, from what — so nothing is lost. Every other byte of the file is kept.
pub fn write_reconciled(
    flows_csv: &str,
    view: &ReconcileView,
    date: &str,
) -> Result<(String, Vec<FlowChange>), String> {
    let wanted: HashMap<&str, (f64, f64)> = view
        .flows
        .iter()
        .filter(|f| f.basis == FlowBasis::Estimate && worth_writing(f.recorded, f.reconciled))
        .map(|f| (f.id.as_str(), (f.recorded, f.reconciled)))
        .collect();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(flows_csv.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("flows.csv: {e}"))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("flows.csv has no '{name}' column"))
    };
    let (id_col, quantity_col, method_col) = (col("id")?, col("quantity")?, col("method")?);
    // Each record with the byte where it starts; it ends where the next one starts.
    let mut records = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| format!("flows.csv: {e}"))?;
        let start = r.position().map_or(0, |p| p.byte() as usize);
        records.push((start, r));
    }
    let mut out = String::with_capacity(flows_csv.len() + 1024);
    let mut changes = Vec::new();
    let mut copied = 0;
    for (k, (start, record)) in records.iter().enumerate() {
        let end = records.get(k + 1).map_or(flows_csv.len(), |x| x.0);
        let Some(&(before_reo, after_reo)) = record.get(id_col).and_then(|id| wanted.get(id))
        else {
            continue;
        };
        let old_text = record.get(quantity_col).unwrap_or("");
        let Ok(before) = old_text.trim().parse::<f64>() else {
            continue;
        };
        if before_reo <= 0.0 {
            continue;
        }
        let exact = before * after_reo / before_reo;
        let after = if old_text.contains('.') {
            (exact * 1000.0).round() / 1000.0
        } else {
            exact.round()
        };
        let mut fields: Vec<String> = record.iter().map(str::to_string).collect();
        fields[quantity_col] = format!("{after}");
        let note = format!(
            "{}{date}: {before} → {after} t ({before_reo:.0} → {after_reo:.0} t REO), against the published figures (production.csv, references.csv) and the facility balances.",
            reconciled_note(view.year)
        );
        fields[method_col] = if fields[method_col].is_empty() {
            note
        } else {
            format!("{} {note}", fields[method_col])
        };
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        writer
            .write_record(&fields)
            .map_err(|e| format!("cannot write a flow: {e}"))?;
        let mut line = String::from_utf8(writer.into_inner().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        // The record's own text, without the line ends around it (a CRLF file's records may
        // be reported as starting at the LF); those stay as they are.
        let segment = &flows_csv[*start..end];
        let lead = segment.len() - segment.trim_start_matches(['\r', '\n']).len();
        let body = segment.trim_matches(['\r', '\n']);
        line.pop();
        out.push_str(&flows_csv[copied..start + lead]);
        out.push_str(&line);
        copied = start + lead + body.len();
        changes.push(FlowChange {
            id: record.get(id_col).unwrap_or("").to_string(),
            before,
            after,
            before_reo,
            after_reo,
        });
    }
    out.push_str(&flows_csv[copied..]);
    Ok((out, changes))
}

/// A figure's name: `mine production, CHN`, `separation output (NdPr), mp_materials`,
/// `magnet exports to WLD, CHN`.
fn figure_name(f: &Figure) -> String {
    let what = match (f.stage, &f.destination) {
        // Everything a country takes in: named for the importer alone.
        (_, Some(to)) if f.subject.is_world() => {
            let under = if f.hs_codes.is_empty() {
                format!("{} materials", f.stage)
            } else {
                format!("HS {}", f.hs_codes.join(", "))
            };
            return format!("imports under {under}, {to}");
        }
        (_, Some(to)) if !f.hs_codes.is_empty() => {
            format!("exports under HS {} to {to}", f.hs_codes.join(", "))
        }
        (stage, Some(to)) => format!("{stage} exports to {to}"),
        (Stage::Mining, None) => "mine production".to_string(),
        (stage, None) => format!("{stage} output"),
    };
    match f.content {
        Content::Reo => format!("{what}, {}", f.subject.id()),
        Content::Ndpr => format!("{what} (NdPr), {}", f.subject.id()),
        Content::MagnetRareEarths => format!("{what} (magnet rare earths), {}", f.subject.id()),
    }
}

/// Each material's HS code: its own, or its nearest parent's (`sintered_ndfeb_standard` is
/// classed as `sintered_ndfeb`, 8505.11).
fn material_hs_codes(ds: &Dataset) -> HashMap<String, String> {
    let Some(t) = ds.table("materials") else {
        return HashMap::new();
    };
    let own: HashMap<&str, (Option<&str>, Option<&str>)> = t
        .rows
        .iter()
        .filter_map(|r| {
            Some((
                t.text(r, "id")?,
                (t.text(r, "hs_code"), t.text(r, "parent")),
            ))
        })
        .collect();
    let mut out = HashMap::new();
    for &id in own.keys() {
        let mut at = Some(id);
        // Bounded by the table's size: a cycle of parents (which the validator reports) ends it.
        for _ in 0..own.len() {
            let Some((code, parent)) = at.and_then(|m| own.get(m)) else {
                break;
            };
            if let Some(code) = code {
                out.insert(id.to_string(), code.to_string());
                break;
            }
            at = *parent;
        }
    }
    out
}

/// Whether HS code `code` falls under heading `heading`: `2846.90` under `2846` and under
/// `2846.90`, not under `2846.10`; `2805.30` not under `2805.3` (headings are whole groups of
/// digits).
fn hs_under(code: &str, heading: &str) -> bool {
    match code.strip_prefix(heading) {
        None => false,
        Some("") => true,
        // `2846` and its subheadings `2846.10`, `2846.90`.
        Some(rest) if rest.starts_with('.') => !heading.contains('.'),
        // A subheading `2846.90` and its national lines `2846.9010`.
        Some(rest) => {
            rest.len() == 2
                && heading
                    .split_once('.')
                    .is_some_and(|(_, sub)| sub.len() == 2)
        }
    }
}

/// What the flows give for a published figure, as a sum of the problem's variables.
struct ModelSides<'a> {
    ds: &'a Dataset,
    flows: &'a [FlowRecord],
    materials: &'a HashMap<String, (String, Option<f64>)>,
    /// Material id → its HS code, or its nearest parent's.
    hs_codes: HashMap<String, String>,
    compositions: &'a Compositions,
    /// (mine facility, its production variable).
    mines: &'a [(String, usize)],
    /// The variables' starting values (t REO), to weigh a mine's concentrates.
    values: Vec<f64>,
}

impl ModelSides<'_> {
    /// Whether facility (or country node) `node` is the subject's.
    fn is_subjects(&self, node: &str, subject: &Subject) -> bool {
        let Some(ft) = self.ds.table("facilities") else {
            return false;
        };
        let Some(row) = ft.find(node) else {
            return false;
        };
        match subject {
            Subject::Country(c) => ft.text(row, "country") == Some(c),
            Subject::Company(c) => ft
                .text(row, "operator")
                .is_some_and(|op| op == c || crate::risk_inputs::ultimate_owner(self.ds, op) == *c),
        }
    }

    /// The country of a node: a facility's location, or a country node's own id (`ROW` for the
    /// rest of the world).
    fn country_of<'n>(&'n self, node: &'n str) -> &'n str {
        self.ds
            .table("facilities")
            .and_then(|ft| ft.find(node).and_then(|r| ft.text(r, "country")))
            .unwrap_or(node)
    }

    /// Whether a flow from `from` to `to` goes where an export figure counts: out of the
    /// subject's country (`WLD`; a company's home is the country it ships from), or into one
    /// destination country. `WLD` as the subject counts what the destination takes in from
    /// everywhere else (a customs import figure).
    fn goes_to(&self, from: &str, to: &str, subject: &Subject, destination: &str) -> bool {
        let country = self.country_of(to);
        // A company's home, and an importer's source, is the country the flow leaves.
        let home = match subject {
            Subject::Country(c) if !subject.is_world() => c.as_str(),
            _ => self.country_of(from),
        };
        country != home && (destination == WORLD || country == destination)
    }

    /// The material's chain stage.
    fn stage(&self, material: &str) -> Option<Stage> {
        self.materials
            .get(material)
            .map(|(stage, _)| Stage::of_material(stage))
    }

    /// Whether a flow of `material` is one a figure counts: under one of its customs headings,
    /// or, where it names none, of its stage.
    fn counted(&self, material: &str, figure: &Figure) -> bool {
        if figure.hs_codes.is_empty() {
            return self.stage(material) == Some(figure.stage);
        }
        self.hs_codes
            .get(material)
            .is_some_and(|code| figure.hs_codes.iter().any(|h| hs_under(code, h)))
    }

    /// The fraction of a flow's REO that `content` counts, and the fraction whose elements are
    /// not known (no composition: all of it; a composition's `other` remainder).
    fn fraction(&self, flow: &FlowRecord, content: Content) -> (f64, f64) {
        let Some(elements) = content.elements() else {
            return (1.0, 0.0);
        };
        let Some(split) = self.compositions.of(&flow.material, &flow.from) else {
            return (0.0, 1.0);
        };
        let share = |wanted: &dyn Fn(Element) -> bool| -> f64 {
            split
                .iter()
                .filter(|(e, _)| wanted(*e))
                .map(|(_, f)| f)
                .sum()
        };
        (
            share(&|e| elements.contains(&e)),
            share(&|e| e == Element::Other),
        )
    }

    /// The figure's terms, and the t REO (at the starting values) whose elements are not known.
    fn terms(&self, figure: &Figure) -> (Terms, f64) {
        let mut terms = Terms::new();
        let mut unresolved = 0.0;
        if figure.stage == Stage::Mining
            && figure.destination.is_none()
            && figure.hs_codes.is_empty()
        {
            let mut has_mine = false;
            for (mine, var) in self.mines {
                if !self.is_subjects(mine, &figure.subject) {
                    continue;
                }
                // A mine's content share: that of the raw material it ships, weighed by REO.
                let raw: Vec<&FlowRecord> = self
                    .flows
                    .iter()
                    .filter(|f| &f.from == mine && self.stage(&f.material) == Some(Stage::Mining))
                    .collect();
                let total: f64 = raw.iter().map(|f| f.prior).sum();
                let (share, unknown) = if figure.content == Content::Reo {
                    (1.0, 0.0)
                } else if total > 0.0 {
                    raw.iter().fold((0.0, 0.0), |(s, u), f| {
                        let (x, o) = self.fraction(f, figure.content);
                        (s + x * f.prior / total, u + o * f.prior / total)
                    })
                } else {
                    (0.0, 1.0)
                };
                terms.push((*var, share));
                unresolved += unknown * self.values[*var];
                has_mine = true;
            }
            // A country node shipping ore or concentrate (Nigeria's monazite to China) is that
            // country's mining, where the dataset records no mine facility (where it does, the
            // node's shipments are re-exports of the mines' output, not more mining).
            if let (Subject::Country(c), false) = (&figure.subject, has_mine) {
                let facilities = self.ds.table("facilities");
                for (i, f) in self.flows.iter().enumerate() {
                    let raw = matches!(
                        self.materials
                            .get(f.material.as_str())
                            .map(|x| x.0.as_str()),
                        Some("ore" | "concentrate")
                    );
                    let country_node = facilities.is_none_or(|ft| ft.find(&f.from).is_none());
                    if raw && &f.from == c && country_node {
                        let (x, unknown) = self.fraction(f, figure.content);
                        terms.push((i, x));
                        unresolved += unknown * f.prior;
                    }
                }
            }
        } else {
            for (i, f) in self.flows.iter().enumerate() {
                let exported = |d: &str| self.goes_to(&f.from, &f.to, &figure.subject, d);
                // Exports count what the country's market ships too (customs count re-exports);
                // output counts its facilities' only.
                // A country's imports (`WLD` as the subject) count what comes from anywhere.
                let from_subject = self.is_subjects(&f.from, &figure.subject)
                    || (figure.destination.is_some()
                        && (figure.subject == Subject::Country(f.from.clone())
                            || figure.subject.is_world()));
                if !self.counted(&f.material, figure)
                    || !from_subject
                    || figure.destination.as_deref().is_some_and(|d| !exported(d))
                {
                    continue;
                }
                let (x, unknown) = self.fraction(f, figure.content);
                terms.push((i, x));
                unresolved += unknown * f.prior;
            }
        }
        terms.retain(|&(_, c)| c != 0.0);
        (terms, unresolved)
    }
}

#[cfg(test)]
mod tests {
    use super::hs_under;

    /// A heading covers the codes that begin with it as whole groups of digits: `2846` covers
    /// every compound line, `2846.90` its national sub-lines, and nothing covers a neighbour.
    #[test]
    fn a_heading_covers_the_codes_under_it() {
        for (code, heading, under) in [
            ("2846.90", "2846", true),
            ("2846.10", "2846", true),
            ("2846.90", "2846.90", true),
            ("2846.9010", "2846.90", true),
            ("2846.10", "2846.90", false),
            ("2805.30", "2805.30", true),
            ("2805.30", "2846", false),
            ("8505.11", "2846", false),
            ("2846", "2846.90", false),
            ("28461", "2846", false),
            ("2805.30", "2805.3", false),
            ("2846.90", "2846.9", false),
        ] {
            assert_eq!(hs_under(code, heading), under, "{code} under {heading}");
        }
    }
}
