//! The brief of a country or a group: its place in the chain, concentration, dependency, single
//! points of failure, the trade rules that bite on its products, and its agreements — each
//! section a typed struct with the sources behind every figure. `lodestone-report` renders it as
//! one self-contained HTML file; the API returns it as JSON.

use std::collections::BTreeSet;

use lodestone_model::{Basis, Custody, Date, Scope, Stage, TagFamily, View, Vocabulary};
use lodestone_rules::{evaluate_all, timeline};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::resolve::{CountrySet, resolve_country_set};
use super::risk::{
    ConcentrationQuery, CriticalQuery, CriticalViewRow, concentration, critical, name_of,
};
use super::rules::{RuleRow, RulesQuery, determination_text, rules_on};
use super::{Analysis, ViewError, default_year};
use crate::risk_inputs::{StageFilter, dependency_rows};

/// What `brief` is asked.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefQuery {
    /// Country (ISO3 code or name) or group (e.g. `eu`).
    pub country: String,
    /// Year of the flows (default 2024).
    #[serde(default = "default_year")]
    pub year: i64,
    /// Date of the rule states (default today).
    #[serde(default)]
    pub as_of: Option<Date>,
}

/// The brief.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BriefView {
    /// Whom the brief is about.
    pub country: CountrySet,
    /// Year of the flows.
    pub year: i64,
    /// Date of the rule states.
    pub as_of: Date,
    /// Production and reserves as published for the country (or members).
    pub production: Vec<ProductionLine>,
    /// Its facilities.
    pub facilities: Vec<FacilityLine>,
    /// Concentration charts: mining (published), separation by country and outside China by
    /// facility (traced flows).
    pub concentration: Vec<ConcentrationChart>,
    /// What it receives, by shipping country and by traced origin.
    pub dependency: DependencySection,
    /// Facilities its supply passes through, largest loss first (at most ten).
    pub critical: Vec<CriticalViewRow>,
    /// Every rule and its state on the date.
    pub rules: Vec<RuleRow>,
    /// Determinations that bite (or ever bit) on its products to its main partners.
    pub biting: Vec<BitingLine>,
    /// Its own export bans that no recorded shipment meets.
    pub own_bans: Vec<String>,
    /// Agreements involving it.
    pub agreements: Vec<AgreementLine>,
}

/// A published production or reserves figure.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ProductionLine {
    /// Country (ISO3).
    pub country: String,
    /// Material's name.
    pub material: String,
    /// Stage as published (`mining`, `refining`, `reserves`, …).
    pub stage: String,
    /// Year.
    pub year: i64,
    /// t REO.
    pub quantity_t_reo: f64,
    /// `observed`, `estimate` or `projection`.
    pub kind: String,
    /// Source ids.
    pub sources: Vec<String>,
}

/// A facility.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FacilityLine {
    /// Facility id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Operator's name.
    pub operator: String,
    /// Stages carried out.
    pub stages: Vec<String>,
    /// Capacity in t/yr of `capacity_material`, if disclosed.
    pub capacity: Option<f64>,
    /// What the capacity counts.
    pub capacity_material: Option<String>,
    /// Nameplate, design, target, …
    pub capacity_basis: Option<String>,
    /// Status.
    pub status: String,
    /// How residue is handled.
    pub residue_handling: Option<String>,
    /// Source ids (the record's and its residue source).
    pub sources: Vec<String>,
}

/// One bar of a chart.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Bar {
    /// What the bar is (a country or facility name).
    pub label: String,
    /// The share (a fraction).
    pub share: f64,
    /// Whether it is the brief's country (or a member, or located there).
    pub highlighted: bool,
}

/// A concentration chart.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ConcentrationChart {
    /// What the chart shows.
    pub title: String,
    /// HHI of the distribution (0–10,000).
    pub hhi: f64,
    /// The largest shares, at most eight.
    pub bars: Vec<Bar>,
    /// Sources of every share.
    pub sources: Vec<String>,
    /// Published figures the shares' flows conflict with, said for people (flow basis).
    pub conflicts: Vec<String>,
}

/// What the country receives.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DependencySection {
    /// t REO received in the year (0: nothing recorded).
    pub receipts_t_reo: f64,
    /// By traced stage (mining, separation): origins with their direct and traced shares.
    pub stages: Vec<DependencyPairs>,
    /// Sources of the receipt flows.
    pub sources: Vec<String>,
}

/// Direct against traced shares at one stage.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DependencyPairs {
    /// The traced stage.
    pub traced_stage: TagFamily,
    /// (origin name, direct share, traced share), at most eight.
    pub origins: Vec<(String, f64, f64)>,
}

/// A determination that bites on one of the country's products.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BitingLine {
    /// The product's material name.
    pub product: String,
    /// Destination's name.
    pub destination: String,
    /// Rule title.
    pub rule: String,
    /// The determination on the date, in words (with a tariff's rate).
    pub determination: String,
    /// Why.
    pub explanation: String,
    /// Every date the answer changed: "date: determination".
    pub changes: Vec<String>,
    /// Source ids.
    pub sources: Vec<String>,
    /// The assumption the answer rests on, if any.
    pub assumption: Option<String>,
}

/// An agreement.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AgreementLine {
    /// Title.
    pub title: String,
    /// Kind (MoU, framework, …).
    pub kind: String,
    /// Date signed.
    pub signed: String,
    /// Status.
    pub status: String,
    /// Party names.
    pub parties: Vec<String>,
    /// What it does.
    pub summary: String,
    /// Its clauses, "kind: text".
    pub clauses: Vec<String>,
    /// Source ids.
    pub sources: Vec<String>,
}

/// The destinations whose rules the brief screens the country's products against.
const PARTNERS: [&str; 5] = ["USA", "JPN", "CHN", "DEU", "KOR"];

/// The brief of a country or a group.
pub fn brief(a: &Analysis, q: &BriefQuery, today: Date) -> Result<BriefView, ViewError> {
    let world = &a.world;
    let who = resolve_country_set(world, &q.country).map_err(ViewError::NotFound)?;
    a.check_year(q.year)?;
    let as_of = q.as_of.unwrap_or(today);
    let members = who.members.clone();
    let here = |code: Option<&str>| code.is_some_and(|x| members.iter().any(|m| m == x));
    let text = |t: &lodestone_format::Table, r: &lodestone_format::Row, c: &str| {
        t.text(r, c).map(str::to_string)
    };

    let mut production = Vec::new();
    if let Some(pt) = world.table("production") {
        for r in pt.rows.iter().filter(|r| here(pt.text(r, "country"))) {
            production.push(ProductionLine {
                country: text(pt, r, "country").unwrap_or_default(),
                material: name_of(world, "materials", pt.text(r, "material").unwrap_or("")),
                stage: text(pt, r, "stage").unwrap_or_default(),
                year: pt.get(r, "year").as_f64().unwrap_or(0.0) as i64,
                quantity_t_reo: pt.get(r, "quantity").as_f64().unwrap_or(0.0),
                kind: pt.get(r, "kind").to_csv_text(),
                sources: text(pt, r, "source").into_iter().collect(),
            });
        }
    }
    let mut facilities = Vec::new();
    if let Some(ft) = world.table("facilities") {
        for r in ft.rows.iter().filter(|r| here(ft.text(r, "country"))) {
            let capacity_basis = ft.get(r, "capacity_basis").to_csv_text();
            facilities.push(FacilityLine {
                id: text(ft, r, "id").unwrap_or_default(),
                name: text(ft, r, "name").unwrap_or_default(),
                operator: name_of(world, "companies", ft.text(r, "operator").unwrap_or("")),
                stages: ft
                    .get(r, "stages")
                    .items()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                capacity: ft.get(r, "capacity").as_f64(),
                capacity_material: ft
                    .text(r, "capacity_material")
                    .map(|m| name_of(world, "materials", m)),
                capacity_basis: (!capacity_basis.is_empty()).then_some(capacity_basis),
                status: text(ft, r, "status").unwrap_or_default(),
                residue_handling: text(ft, r, "residue_handling"),
                sources: [text(ft, r, "source"), text(ft, r, "residue_source")]
                    .into_iter()
                    .flatten()
                    .collect(),
            });
        }
    }

    // Concentration: three charts.
    let charts: [(Basis, Stage, &str, Scope, View, &str); 3] = [
        (
            Basis::Production,
            Stage::Mining,
            "re_concentrate",
            Scope::World,
            View::Location,
            "Mine production by country, {year} (USGS), share of the world total",
        ),
        (
            Basis::Flow,
            Stage::Separation,
            "all",
            Scope::World,
            View::Location,
            "Rare earths separated, by country, {year}, share of t REO",
        ),
        (
            Basis::Flow,
            Stage::Separation,
            "all",
            Scope::OutsideChina,
            View::Facility,
            "Separation outside China, by facility, {year}, share of t REO",
        ),
    ];
    let ft = world.table("facilities");
    let mut concentration_charts = Vec::new();
    for (basis, stage, material, scope, view, title) in charts {
        let v = match concentration(
            a,
            &ConcentrationQuery {
                year: q.year,
                basis: Some(basis),
                stage: Some(stage),
                material: Some(material.into()),
                scope: Some(scope),
                view: Some(view),
                country: None,
            },
        ) {
            Ok(v) if !v.rows.is_empty() => v,
            _ => continue,
        };
        let located_here = |k: &str| {
            here(Some(k))
                || here(ft.and_then(|t| t.find(k).and_then(|r| t.text(r, "country"))))
                || k.strip_suffix(" (market)").is_some_and(|c| here(Some(c)))
        };
        let mut sources: Vec<String> = v.rows.iter().flat_map(|r| r.sources.clone()).collect();
        sources.sort();
        sources.dedup();
        concentration_charts.push(ConcentrationChart {
            title: title.replace("{year}", &q.year.to_string()),
            hhi: v.rows[0].hhi,
            bars: v
                .rows
                .iter()
                .take(8)
                .map(|r| Bar {
                    label: r.supplier_name.clone(),
                    share: r.share,
                    highlighted: located_here(&r.supplier),
                })
                .collect(),
            sources,
            conflicts: v.rows.iter().flat_map(|r| r.conflicts()).collect(),
        });
    }

    // Dependency: what it receives.
    let p = a.screening(q.year, Custody::MassBalance)?;
    let (low, tr) = (&p.low, &p.trace);
    let deps = dependency_rows(world, low, tr, &members, None, StageFilter::Any);
    let receipts_t_reo = deps.first().map_or(0.0, |d| d.1);
    let mut receipt_sources: Vec<String> = Vec::new();
    for f in &low.network.flows {
        let (x, y) = (&low.nodes[f.from as usize], &low.nodes[f.to as usize]);
        if x.material.is_some()
            && y.material.is_none()
            && x.hub != y.hub
            && here(y.country.as_deref())
        {
            receipt_sources.extend(x.sources.iter().cloned());
        }
    }
    receipt_sources.sort();
    receipt_sources.dedup();
    let stages = [TagFamily::Mined, TagFamily::Separated]
        .into_iter()
        .map(|family| DependencyPairs {
            traced_stage: family,
            origins: deps
                .iter()
                .filter(|(f, _, r)| *f == family && (r.direct > 0.0 || r.traced > 0.0))
                .take(8)
                .map(|(_, _, r)| (name_of(world, "countries", &r.origin), r.direct, r.traced))
                .collect(),
        })
        .collect();

    let critical_rows = if receipts_t_reo > 0.0 {
        let mut v = critical(
            a,
            &CriticalQuery {
                country: who.id.clone(),
                year: q.year,
            },
        )?;
        v.rows.truncate(10);
        v.rows
    } else {
        Vec::new()
    };

    // Rules: the list, and what bites on the country's products.
    let rules = rules_on(world, &RulesQuery { as_of: Some(as_of) }, today)?.rules;
    let bites = |d: lodestone_model::Determination| {
        d.bites() || d == lodestone_model::Determination::Indeterminate
    };
    let mut biting = Vec::new();
    for node in 0..low.network.len() {
        let info = &low.nodes[node];
        if info.material.is_none() || !here(info.country.as_deref()) {
            continue;
        }
        let product = p.product(world, node);
        for dest in PARTNERS.iter().filter(|d| !here(Some(d))) {
            let tl = timeline(&world.rules, &product, dest, None);
            for d in evaluate_all(&world.rules, &product, dest, None, as_of) {
                let changes: Vec<String> = tl
                    .iter()
                    .flat_map(|e| {
                        e.changes
                            .iter()
                            .filter(|ch| ch.rule == d.rule)
                            .map(move |ch| {
                                format!(
                                    "{}: {}",
                                    e.date,
                                    determination_text(ch.to.determination(), ch.to.rate())
                                )
                            })
                    })
                    .collect();
                let ever = tl.iter().any(|e| {
                    e.changes
                        .iter()
                        .any(|ch| ch.rule == d.rule && bites(ch.to.determination()))
                });
                if !ever && !bites(d.outcome.determination()) {
                    continue;
                }
                biting.push(BitingLine {
                    product: name_of(world, "materials", info.material.as_deref().unwrap_or("")),
                    destination: name_of(world, "countries", dest),
                    rule: world
                        .rules
                        .iter()
                        .find(|r| r.id == d.rule)
                        .map_or(d.rule.clone(), |r| r.title.clone()),
                    determination: determination_text(d.outcome.determination(), d.outcome.rate()),
                    explanation: d.explanation.clone(),
                    changes,
                    sources: d.sources.clone(),
                    assumption: d.assumption.clone(),
                });
            }
        }
    }
    let own_bans = if biting.is_empty() {
        world
            .rules
            .iter()
            .filter(|r| here(Some(&r.issuer)) && r.kind.name() == "export_ban")
            .map(|r| {
                format!(
                    "{}'s own {} ({}) covers {}; no such material is recorded leaving {} in {}.",
                    who.name,
                    r.title,
                    r.lifecycle.state_on(as_of).name().replace('_', " "),
                    r.scope
                        .materials
                        .iter()
                        .map(|m| name_of(world, "materials", m))
                        .collect::<Vec<_>>()
                        .join(", "),
                    who.name,
                    q.year
                )
            })
            .collect()
    } else {
        Vec::new()
    };

    Ok(BriefView {
        agreements: agreements(a, &who),
        country: who,
        year: q.year,
        as_of,
        production,
        facilities,
        concentration: concentration_charts,
        dependency: DependencySection {
            receipts_t_reo,
            stages,
            sources: receipt_sources,
        },
        critical: critical_rows,
        rules,
        biting,
        own_bans,
    })
}

/// Agreements whose parties include the country (a member), a company registered there, or the
/// ultimate owner of a facility there (Lynas Rare Earths is a party in Malaysia through Lynas
/// Malaysia's plant in Kuantan), or that name it in their title or summary.
fn agreements(a: &Analysis, who: &CountrySet) -> Vec<AgreementLine> {
    let world = &a.world;
    let here = |code: Option<&str>| code.is_some_and(|x| who.members.iter().any(|m| m == x));
    let companies_here: BTreeSet<String> = world
        .table("companies")
        .map(|t| {
            t.rows
                .iter()
                .filter(|r| here(t.text(r, "country")))
                .filter_map(|r| t.text(r, "id").map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let owners_here: BTreeSet<String> = world
        .table("facilities")
        .map(|t| {
            t.rows
                .iter()
                .filter(|r| here(t.text(r, "country")))
                .filter_map(|r| t.text(r, "operator"))
                .map(|op| crate::risk_inputs::ultimate_owner(world, op))
                .collect()
        })
        .unwrap_or_default();
    let strings = |doc: &toml::Table, k: &str| -> Vec<String> {
        doc.get(k)
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for f in world
        .toml_files
        .iter()
        .filter(|f| f.path.starts_with("agreements/"))
    {
        let doc = &f.document;
        let get = |k: &str| {
            doc.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let parties = strings(doc, "parties");
        let mentions = |k: &str| get(k).contains(&who.name);
        let involved = parties.iter().any(|p| {
            here(Some(p)) || *p == who.id || companies_here.contains(p) || owners_here.contains(p)
        }) || mentions("title")
            || mentions("summary");
        if !involved {
            continue;
        }
        let mut sources = strings(doc, "sources");
        sources.extend(
            doc.get("source")
                .and_then(|s| s.as_str())
                .map(str::to_string),
        );
        out.push(AgreementLine {
            title: get("title"),
            kind: get("kind").replace('_', " "),
            signed: doc.get("signed").map_or(String::new(), |v| match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Datetime(d) => d.to_string(),
                other => format!("{other:?}"),
            }),
            status: get("status"),
            parties: parties
                .iter()
                .map(|p| {
                    if p.len() == 3 && p.chars().all(|ch| ch.is_ascii_uppercase()) {
                        name_of(world, "countries", p)
                    } else {
                        name_of(world, "companies", p)
                    }
                })
                .collect(),
            summary: get("summary"),
            clauses: doc
                .get("clauses")
                .and_then(|x| x.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|cl| {
                            Some(format!(
                                "{}: {}",
                                cl.get("kind")?.as_str()?.replace('_', " "),
                                cl.get("text")?.as_str()?
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            sources,
        });
    }
    out
}
