//! Rule views: the rules on a date, a product's screening with its verdict, and the timeline of
//! when its determinations change.

use lodestone_model::{CustodyChoice, Date, Determination, RuleState, UnknownValue, Vocabulary};
use lodestone_rules::{Outcome, Rule, evaluate_all};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::resolve::{CountrySet, resolve_country};
use super::risk::name_of;
use super::table::{Cell, Column, Tabular, format_share};
use super::{Analysis, SourceRef, ViewError, default_year};
use crate::World;
use crate::screening::SupplyPath;

fn title_of(world: &World, rule: &str) -> String {
    world
        .rules
        .iter()
        .find(|r| r.id == rule)
        .map_or(rule.to_string(), |r| r.title.clone())
}

// ---------------------------------------------------------------------------------------------
// The rules on a date

/// What `rules_on` is asked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesQuery {
    /// Date of the states (YYYY-MM-DD; default today).
    #[serde(default)]
    pub as_of: Option<Date>,
}

/// The rules and their state on a date.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RulesView {
    /// The date of the states.
    pub as_of: Date,
    /// One row per rule.
    pub rules: Vec<RuleRow>,
}

/// A rule and its state on the date.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RuleRow {
    /// Rule id (the file name under `policies/`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind: export_control, tariff, export_ban, procurement_restriction or benchmark.
    pub kind: String,
    /// Issuer (ISO3 or `EU`).
    pub issuer: String,
    /// State on the date.
    pub state: RuleState,
    /// First day of that state (`null` before the first event).
    pub since: Option<Date>,
    /// Confidence, where facts are unverified or sources conflict.
    pub confidence: Option<String>,
    /// Source ids of the rule.
    pub sources: Vec<String>,
    /// Source id of the event that set the state in force on the date.
    pub state_source: Option<String>,
    /// The rule file.
    pub file: String,
}

impl Tabular for RuleRow {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("id", "Rule"),
            Column::new("kind", "Kind"),
            Column::new("issuer", "Issuer"),
            Column::new("state", "State"),
            Column::new("since", "Since"),
            Column::new("title", "Title"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.id.clone()),
            Cell::word(&self.kind),
            Cell::Text(self.issuer.clone()),
            Cell::word(self.state.name()),
            Cell::text(self.since.map(|d| d.to_string())),
            Cell::Text(self.title.clone()),
        ]
    }
}

fn rule_row(r: &Rule, date: Date) -> RuleRow {
    RuleRow {
        id: r.id.clone(),
        title: r.title.clone(),
        kind: r.kind.name().to_string(),
        issuer: r.issuer.clone(),
        state: r.lifecycle.state_on(date),
        since: r.lifecycle.since(date),
        confidence: r.confidence.clone(),
        sources: r.sources.clone(),
        state_source: r
            .lifecycle
            .event_on(date)
            .map(|e| e.source.clone())
            .filter(|s| !s.is_empty()),
        file: r.file.clone(),
    }
}

/// The rules and their states on `q.as_of` (default `today`).
pub fn rules_on(world: &World, q: &RulesQuery, today: Date) -> Result<RulesView, ViewError> {
    let date = full_date(q.as_of.unwrap_or(today))?;
    Ok(RulesView {
        as_of: date,
        rules: world.rules.iter().map(|r| rule_row(r, date)).collect(),
    })
}

/// Rules are dated to the day: a date without its day is an error.
fn full_date(d: Date) -> Result<Date, ViewError> {
    if d.day.is_some() {
        Ok(d)
    } else {
        Err(ViewError::Invalid(UnknownValue::new(
            "full date",
            &d.to_string(),
            vec!["YYYY-MM-DD, e.g. 2025-12-01"],
        )))
    }
}

// ---------------------------------------------------------------------------------------------
// Screening

/// What `screening` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreeningQuery {
    /// The product node, FACILITY/material (e.g. `jl_mag/sintered_ndfeb`); omit with `all`.
    #[serde(default)]
    pub node: Option<String>,
    /// Screen every product node (leaving out rules that do not apply).
    #[serde(default)]
    pub all: bool,
    /// Destination country (ISO3 or name).
    pub destination: String,
    /// Declared end use (e.g. defence, military, civil).
    #[serde(default)]
    pub end_use: Option<String>,
    /// Date of the determinations (YYYY-MM-DD; default today).
    #[serde(default)]
    pub as_of: Option<Date>,
    /// Chain-of-custody model (default `mass_balance`).
    #[serde(default)]
    pub custody: Option<CustodyChoice>,
    /// Year of the flows (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
}

impl Default for ScreeningQuery {
    fn default() -> Self {
        ScreeningQuery {
            node: Default::default(),
            all: Default::default(),
            destination: Default::default(),
            end_use: Default::default(),
            as_of: Default::default(),
            custody: Default::default(),
            year: default_year(),
        }
    }
}

/// Every rule's determination for a product (or every product) on a date.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScreeningView {
    /// The product screened (`null` with `all`).
    pub node: Option<String>,
    /// Destination.
    pub destination: CountrySet,
    /// Declared end use.
    pub end_use: Option<String>,
    /// Date of the determinations.
    pub as_of: Date,
    /// Year of the flows.
    pub year: i64,
    /// The custody model(s) used.
    pub custody: CustodyChoice,
    /// One line: how many rules bite, and which.
    pub verdict: String,
    /// The determinations.
    pub determinations: Vec<DeterminationView>,
    /// When the answer changes, and why (for one node, under the first custody model).
    pub timeline: Vec<TimelineEntryView>,
}

/// One rule's determination.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DeterminationView {
    /// The product node.
    pub node: String,
    /// Rule id.
    pub rule: String,
    /// Rule title.
    pub rule_title: String,
    /// Rule kind.
    pub kind: String,
    /// The determination.
    pub determination: Determination,
    /// For a tariff, the ad-valorem rate (a fraction).
    pub rate: Option<f64>,
    /// The rule's state on the date.
    pub state: RuleState,
    /// First day of that state.
    pub since: Option<Date>,
    /// The measured share that decided it, where the rule measures one.
    pub share: Option<f64>,
    /// The threshold it was compared with.
    pub threshold: Option<f64>,
    /// `at_or_above` or `exceeds`.
    pub comparison: Option<String>,
    /// `value` or `mass`.
    pub measure: Option<String>,
    /// The tags measured and their shares, largest first.
    pub findings: Vec<FindingView>,
    /// The custody model of the shares.
    pub custody: lodestone_model::Custody,
    /// Why, in words.
    pub explanation: String,
    /// The supply paths behind the deciding share (for one node).
    pub paths: Vec<SupplyPath>,
    /// The sources of the rule and of its current state.
    pub sources: Vec<SourceRef>,
    /// The elements the rule measured (empty: all rare-earth content).
    pub elements: Vec<lodestone_model::Element>,
    /// The prices the measured share rests on.
    pub prices: Vec<PriceView>,
    /// The assumption the rule's state on the date rests on, if any: shown next to the answer.
    pub assumption: Option<String>,
}

/// A price a determination used.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PriceView {
    /// What it priced: an element (`dy`) or `product`.
    pub what: String,
    /// US dollars per kg (of the element's oxide, or of the product's REO).
    pub usd_per_kg: f64,
    /// What was priced, where and for when.
    pub label: String,
    /// The source.
    pub source: SourceRef,
}

/// A measured share.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FindingView {
    /// The tag measured, e.g. `separated:CHN`.
    pub tag: String,
    /// Its share.
    pub share: f64,
}

impl Tabular for DeterminationView {
    fn columns() -> &'static [Column] {
        const C: &[Column] = &[
            Column::new("node", "Product"),
            Column::new("rule", "Rule"),
            Column::new("custody", "Custody"),
            Column::new("determination", "Determination"),
            Column::new("rate", "Rate (%)"),
            Column::new("share", "Share (%)"),
            Column::new("threshold", "Threshold (%)"),
            Column::new("explanation", "Explanation"),
        ];
        C
    }
    fn cells(&self) -> Vec<Cell> {
        vec![
            Cell::Text(self.node.clone()),
            Cell::named(&self.rule, &self.rule_title),
            Cell::word(self.custody.name()),
            Cell::named(self.determination.name(), self.determination.label()),
            self.rate.map_or(Cell::Empty, Cell::Share),
            self.share.map_or(Cell::Empty, Cell::Share),
            self.threshold.map_or(Cell::Empty, Cell::Share),
            Cell::Text(self.explanation.clone()),
        ]
    }
}

/// A date on which determinations change.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TimelineEntryView {
    /// First day of the new determinations.
    pub date: Date,
    /// What changed.
    pub changes: Vec<ChangeView>,
}

/// One rule's change of determination.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ChangeView {
    /// Rule id.
    pub rule: String,
    /// Rule title.
    pub rule_title: String,
    /// The determination before.
    pub from: Determination,
    /// A tariff's rate before.
    pub from_rate: Option<f64>,
    /// The determination from the date.
    pub to: Determination,
    /// A tariff's rate from the date.
    pub to_rate: Option<f64>,
    /// Why, after the change.
    pub explanation: String,
}

/// A determination in words, with a tariff's rate: "tariff 100.0 %".
pub fn determination_text(d: Determination, rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{} {}", d.label(), format_share(r)),
        None => d.label().to_string(),
    }
}

/// "2 of 9 rules bite: Title (licence required), Title (tariff 100.0 %)".
fn verdict(determinations: &[DeterminationView], rules: usize) -> String {
    let biting: Vec<String> = determinations
        .iter()
        .filter(|d| d.determination.bites())
        .map(|d| {
            format!(
                "{} ({})",
                d.rule_title,
                determination_text(d.determination, d.rate)
            )
        })
        .collect();
    let undecided = determinations
        .iter()
        .filter(|d| d.determination == Determination::Indeterminate)
        .count();
    let mut s = match biting.len() {
        0 => format!("None of {rules} rules bites"),
        1 => format!("1 of {rules} rules bites: {}", biting[0]),
        n => format!("{n} of {rules} rules bite: {}", biting.join("; ")),
    };
    if undecided > 0 {
        s.push_str(&format!(
            "; {undecided} cannot be decided from the data (see below)"
        ));
    }
    s.push('.');
    s
}

/// Screens a product node (or every product) against every rule.
pub fn screening(
    a: &Analysis,
    q: &ScreeningQuery,
    today: Date,
) -> Result<ScreeningView, ViewError> {
    let world = &a.world;
    let destination = resolve_country(world, &q.destination).map_err(ViewError::NotFound)?;
    let date = full_date(q.as_of.unwrap_or(today))?;
    let custody = q.custody.unwrap_or(CustodyChoice::MassBalance);
    a.check_year(q.year)?;
    let node = match (&q.node, q.all) {
        (Some(n), false) if !n.trim().is_empty() => Some(n.trim().to_string()),
        (_, true) => None,
        _ => {
            return Err(ViewError::Invalid(UnknownValue::new(
                "product node",
                "",
                vec![
                    "node=FACILITY/material, e.g. jl_mag/sintered_ndfeb",
                    "all=true",
                ],
            )));
        }
    };
    let mut determinations = Vec::new();
    let mut changes = Vec::new();
    for (k, model) in custody.models().iter().enumerate() {
        let p = a.screening(q.year, *model)?;
        let nodes: Vec<usize> = match &node {
            Some(id) => vec![p.product_node(id).map_err(ViewError::NotFound)?],
            None => (0..p.low.network.len())
                .filter(|&i| p.low.nodes[i].material.is_some())
                .collect(),
        };
        for &i in &nodes {
            let product = p.product(world, i);
            if k == 0 && node.is_some() {
                changes = a
                    .timeline(q.year, *model, i, &destination.id, q.end_use.as_deref())?
                    .as_ref()
                    .clone();
            }
            for d in evaluate_all(
                &world.rules,
                &product,
                &destination.id,
                q.end_use.as_deref(),
                date,
            ) {
                if node.is_none() && d.outcome == Outcome::NotApplicable {
                    continue;
                }
                let rule = world.rules.iter().find(|r| r.id == d.rule);
                let paths = match (&d.deciding_tag, node.is_some(), d.outcome) {
                    (Some(tag), true, o) if o != Outcome::NotApplicable => {
                        element_paths(&p, i, &d, tag).unwrap_or_else(|| p.paths(i, tag, 3))
                    }
                    _ => Vec::new(),
                };
                determinations.push(DeterminationView {
                    node: p.low.network.node_ids[i].clone(),
                    rule_title: title_of(world, &d.rule),
                    rule: d.rule.clone(),
                    kind: d.kind.to_string(),
                    determination: d.outcome.determination(),
                    rate: d.outcome.rate(),
                    state: d.state,
                    since: rule.and_then(|r| r.lifecycle.since(date)),
                    share: d.share,
                    threshold: d.threshold,
                    comparison: d.comparison.map(|c| c.name().to_string()),
                    measure: d.measure.map(str::to_string),
                    findings: d
                        .findings
                        .iter()
                        .map(|f| FindingView {
                            tag: f.tag.clone(),
                            share: f.share,
                        })
                        .collect(),
                    custody: *model,
                    explanation: d.explanation.clone(),
                    paths,
                    sources: d.sources.iter().map(|s| SourceRef::of(world, s)).collect(),
                    elements: d.elements.clone(),
                    prices: d
                        .prices
                        .iter()
                        .map(|p| PriceView {
                            what: p.what.clone(),
                            usd_per_kg: p.usd_per_t / 1000.0,
                            label: p.label.clone(),
                            source: SourceRef::of(world, &p.source),
                        })
                        .collect(),
                    assumption: d.assumption.clone(),
                });
            }
        }
    }
    let first_model = custody.models()[0];
    let verdict_of: Vec<DeterminationView> = determinations
        .iter()
        .filter(|d| d.custody == first_model)
        .cloned()
        .collect();
    Ok(ScreeningView {
        verdict: if node.is_some() {
            verdict(&verdict_of, world.rules.len())
        } else {
            format!(
                "{} determinations that apply, over every product of {}.",
                verdict_of.len(),
                q.year
            )
        },
        node,
        destination,
        end_use: q.end_use.clone(),
        as_of: date,
        year: q.year,
        custody,
        determinations,
        timeline: changes,
    })
}

/// For a rule that measures elements, the supply paths of the element with the largest finding,
/// traced in that element's own network (the REO paths would follow the product's other
/// content).
fn element_paths(
    p: &crate::screening::Screening,
    node: usize,
    d: &lodestone_rules::Determination,
    tag: &str,
) -> Option<Vec<SupplyPath>> {
    if d.elements.is_empty() {
        return None;
    }
    let top = d.findings.first()?;
    let (element, _) = top.tag.split_once(':')?;
    let et = p.elements.iter().find(|e| e.element.name() == element)?;
    let j = et.low.network.node_index(&p.low.network.node_ids[node])?;
    Some(crate::screening::paths_in(
        &et.low.network,
        &et.trace,
        j,
        tag,
        3,
    ))
}

pub(crate) fn timeline_entries(
    world: &World,
    entries: &[lodestone_rules::TimelineEntry],
) -> Vec<TimelineEntryView> {
    entries
        .iter()
        .map(|e| TimelineEntryView {
            date: e.date,
            changes: e
                .changes
                .iter()
                .map(|c| ChangeView {
                    rule_title: title_of(world, &c.rule),
                    rule: c.rule.clone(),
                    from: c.from.determination(),
                    from_rate: c.from.rate(),
                    to: c.to.determination(),
                    to_rate: c.to.rate(),
                    explanation: c.explanation.clone(),
                })
                .collect(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Timeline

/// What `timeline_view` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// The product node, FACILITY/material.
    pub node: String,
    /// Destination country (ISO3 or name).
    pub destination: String,
    /// Declared end use.
    #[serde(default)]
    pub end_use: Option<String>,
    /// Chain-of-custody model (default `mass_balance`; `compare` gives both).
    #[serde(default)]
    pub custody: Option<CustodyChoice>,
    /// Year of the flows (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
}

impl Default for TimelineQuery {
    fn default() -> Self {
        TimelineQuery {
            node: Default::default(),
            destination: Default::default(),
            end_use: Default::default(),
            custody: Default::default(),
            year: default_year(),
        }
    }
}

/// When a product's determinations change, and why.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TimelineView {
    /// The product.
    pub node: String,
    /// Destination.
    pub destination: CountrySet,
    /// Declared end use.
    pub end_use: Option<String>,
    /// Year of the flows.
    pub year: i64,
    /// One timeline per custody model asked for.
    pub timelines: Vec<CustodyTimeline>,
}

/// A timeline under one custody model.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CustodyTimeline {
    /// The custody model.
    pub custody: lodestone_model::Custody,
    /// The dates of change.
    pub entries: Vec<TimelineEntryView>,
}

/// The timeline of a product's determinations, under each custody model asked for.
pub fn timeline_view(a: &Analysis, q: &TimelineQuery) -> Result<TimelineView, ViewError> {
    let world = &a.world;
    let destination = resolve_country(world, &q.destination).map_err(ViewError::NotFound)?;
    a.check_year(q.year)?;
    let mut timelines = Vec::new();
    for model in q.custody.unwrap_or(CustodyChoice::MassBalance).models() {
        let p = a.screening(q.year, *model)?;
        let i = p.product_node(&q.node).map_err(ViewError::NotFound)?;
        timelines.push(CustodyTimeline {
            custody: *model,
            entries: a
                .timeline(q.year, *model, i, &destination.id, q.end_use.as_deref())?
                .as_ref()
                .clone(),
        });
    }
    Ok(TimelineView {
        node: q.node.trim().to_string(),
        destination,
        end_use: q.end_use.clone(),
        year: q.year,
        timelines,
    })
}

/// The name of a country of the world (for renderers).
pub fn country_name(world: &World, iso3: &str) -> String {
    name_of(world, "countries", iso3)
}
