//! The explorer pages: each parses its form into the view's typed query (a typo is shown on the
//! form, with what is valid), computes the same view as the API off the async workers, and
//! renders it through a template. Tables come from the views' rows, so a page, the API and the
//! CLI show the same figures; every table links its CSV, XLSX and JSON downloads.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use lodestone_model::{Basis, Custody, CustodyChoice, Scope, Stage, View, Vocabulary};
use lodestone_world::views::chain::{MapQuery, SankeyQuery, map, sankey};
use lodestone_world::views::reconcile::{ReconcileQuery, reconciliation};
use lodestone_world::views::resolve::{countries, groups};
use lodestone_world::views::risk::{
    BenchmarkQuery, ConcentrationQuery, ConcentrationView, CriticalQuery, DependencyQuery,
    benchmarks, concentration, critical, dependency,
};
use lodestone_world::views::rules::{
    RulesQuery, ScreeningQuery, determination_text, rules_on, screening,
};
use lodestone_world::views::search::{SearchQuery, search};
use lodestone_world::views::table::{format_quantity, format_share};
use lodestone_world::views::trace::{TraceQuery, trace_node};
use lodestone_world::views::{Analysis, DEFAULT_YEAR, ViewError, default_year};
use serde::Deserialize;

use crate::error::{ApiError, FormQuery};
use crate::templates::{
    ConcentrationSection, DeterminationCard, HtmlTable, IndexPage, MapPage, Options, ReconcilePage,
    RiskPage, RuleLine, RulesPage, SankeyPage, ScreeningPage, SearchHitLine, SearchPage, TracePage,
    render,
};
use crate::{AppState, blocking, today};

/// An HTML answer with a status.
fn html(status: StatusCode, page: String) -> Response {
    (status, Html(page)).into_response()
}

/// The status and message of a problem.
fn problem(e: &ApiError) -> (StatusCode, Option<String>) {
    (e.status, Some(e.message.clone()))
}

/// `/api/PATH?` with the form's values, percent-encoded.
fn api_url(path: &str, pairs: &[(&str, String)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(kept).unwrap_or_default()
    )
}

fn vocabulary_options<V: Vocabulary>() -> Options {
    V::ALL
        .iter()
        .map(|v| (v.name().to_string(), v.name().replace('_', " ")))
        .collect()
}

fn years(a: &Analysis) -> Vec<String> {
    a.flow_years().iter().map(i64::to_string).collect()
}

fn or(v: &str, default: &str) -> String {
    if v.is_empty() { default } else { v }.to_string()
}

/// The product nodes (`FACILITY/material`) of the flows, for the forms' lists.
fn product_nodes(a: &Analysis) -> Vec<String> {
    let mut ids: Vec<String> = a
        .world
        .table("flows")
        .map(|t| {
            t.rows
                .iter()
                .filter_map(|r| Some(format!("{}/{}", t.text(r, "from")?, t.text(r, "material")?)))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    ids
}

/// `GET /explore/trace`.
pub async fn trace_page(State(s): State<Arc<AppState>>, q: FormQuery<TraceQuery>) -> Response {
    let a = &s.analysis;
    let mut page = TracePage {
        title: "Trace explorer",
        node: q.get("node").to_string(),
        tag: or(q.get("tag"), "mined:*"),
        custody: or(q.get("custody"), "mass_balance"),
        custody_options: vocabulary_options::<Custody>(),
        element: q.get("element").to_string(),
        element_options: std::iter::once((String::new(), "all rare earths (REO)".to_string()))
            .chain(
                lodestone_model::Element::ALL
                    .iter()
                    .map(|e| (e.name().to_string(), e.symbol().to_string())),
            )
            .collect(),
        year: or(q.get("year"), &DEFAULT_YEAR.to_string()),
        years: years(a),
        nodes: product_nodes(a),
        problem: None,
        view: None,
        table: HtmlTable::of::<lodestone_world::views::trace::TraceRow>(&[]),
        paths: Vec::new(),
        api: String::new(),
    };
    let mut status = StatusCode::OK;
    if !page.node.is_empty() {
        let result = match q.parsed {
            Ok(mut tq) => {
                tq.tag = Some(page.tag.clone());
                blocking(&s, move |a| trace_node(a, &tq)).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(v) => {
                page.table = HtmlTable::of(&v.rows);
                page.paths = v
                    .paths
                    .iter()
                    .map(|p| (format_share(p.share), p.nodes.join(" → ")))
                    .collect();
                page.api = api_url(
                    "/api/trace",
                    &[
                        ("node", page.node.clone()),
                        ("tag", page.tag.clone()),
                        ("custody", page.custody.clone()),
                        ("year", page.year.clone()),
                        ("element", page.element.clone()),
                    ],
                );
                page.view = Some(v);
            }
            Err(e) => (status, page.problem) = problem(&e),
        }
    }
    html(status, render(&page))
}

/// A determination as a card.
fn card(d: &lodestone_world::views::rules::DeterminationView) -> DeterminationCard {
    let mut figures = Vec::new();
    if let (Some(share), Some(threshold)) = (d.share, d.threshold) {
        figures.push(format!(
            "measured share {} against a threshold of {}{}",
            format_share(share),
            format_share(threshold),
            d.measure
                .as_deref()
                .map_or(String::new(), |m| format!(" (by {m})"))
        ));
    }
    if !d.findings.is_empty() {
        let f: Vec<String> = d
            .findings
            .iter()
            .take(6)
            .map(|f| format!("{} {}", f.tag, format_share(f.share)))
            .collect();
        figures.push(format!("origin content: {}", f.join(", ")));
    }
    DeterminationCard {
        class: d.determination.name().to_string(),
        title: d.rule_title.clone(),
        outcome: determination_text(d.determination, d.rate).to_uppercase(),
        kind: d.kind.replace('_', " "),
        state: d.state.name().replace('_', " "),
        since: d.since.map(|x| x.to_string()).unwrap_or_default(),
        custody: d.custody.name().replace('_', " "),
        explanation: d.explanation.clone(),
        figures: figures.join("; "),
        assumption: d.assumption.clone().unwrap_or_default(),
        prices: d
            .prices
            .iter()
            .map(|p| {
                format!(
                    "{}: US${:.2}/kg ({}; {})",
                    p.what, p.usd_per_kg, p.label, p.source.id
                )
            })
            .collect(),
        paths: d
            .paths
            .iter()
            .map(|p| (format_share(p.share), p.nodes.join(" → ")))
            .collect(),
        sources: d
            .sources
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    s.title.clone().unwrap_or_else(|| s.id.clone()),
                )
            })
            .collect(),
    }
}

/// `GET /explore/rules`: a product, a destination and a date → determinations with reasoning.
pub async fn rules_page(State(s): State<Arc<AppState>>, q: FormQuery<ScreeningQuery>) -> Response {
    let a = &s.analysis;
    let mut page = ScreeningPage {
        title: "Rule screening",
        node: q.get("node").to_string(),
        destination: or(q.get("destination"), "USA"),
        countries: countries(&a.world)
            .into_iter()
            .filter(|(id, _)| id.len() == 3)
            .collect(),
        as_of: q.get("as_of").to_string(),
        end_use: q.get("end_use").to_string(),
        custody: or(q.get("custody"), "mass_balance"),
        custody_options: vocabulary_options::<CustodyChoice>(),
        year: or(q.get("year"), &DEFAULT_YEAR.to_string()),
        years: years(a),
        nodes: product_nodes(a),
        problem: None,
        view: None,
        timeline: Vec::new(),
        determinations: Vec::new(),
        api: String::new(),
    };
    let mut status = StatusCode::OK;
    if !page.node.is_empty() {
        let result = match q.parsed {
            Ok(mut sq) => {
                if sq.destination.is_empty() {
                    sq.destination = page.destination.clone();
                }
                blocking(&s, move |a| screening(a, &sq, today())).await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(v) => {
                page.timeline = v
                    .timeline
                    .iter()
                    .flat_map(|e| {
                        e.changes.iter().map(move |c| {
                            (
                                e.date.to_string(),
                                c.rule_title.clone(),
                                format!(
                                    "{} → {}",
                                    determination_text(c.from, c.from_rate),
                                    determination_text(c.to, c.to_rate)
                                ),
                                c.explanation.clone(),
                            )
                        })
                    })
                    .collect();
                page.determinations = v.determinations.iter().map(card).collect();
                page.api = api_url(
                    "/api/rules/check",
                    &[
                        ("node", page.node.clone()),
                        ("destination", page.destination.clone()),
                        ("as_of", v.as_of.to_string()),
                        ("end_use", page.end_use.clone()),
                        ("custody", page.custody.clone()),
                        ("year", page.year.clone()),
                    ],
                );
                page.view = Some(v);
            }
            Err(e) => (status, page.problem) = problem(&e),
        }
    }
    html(status, render(&page))
}

/// `GET /rules`: the rules and their states on a date.
pub async fn rules_list_page(State(s): State<Arc<AppState>>, q: FormQuery<RulesQuery>) -> Response {
    let mut status = StatusCode::OK;
    let mut problem_text = None;
    let query = q.parsed.unwrap_or_else(|e| {
        (status, problem_text) = problem(&e);
        RulesQuery::default()
    });
    let view = match rules_on(&s.analysis.world, &query, today()) {
        Ok(v) => v,
        Err(e) => {
            (status, problem_text) = problem(&e.into());
            rules_on(&s.analysis.world, &RulesQuery::default(), today())
                .unwrap_or_else(|_| unreachable_rules())
        }
    };
    let page = RulesPage {
        title: "Trade rules",
        as_of: view.as_of.to_string(),
        problem: problem_text,
        api: api_url("/api/rules", &[("as_of", view.as_of.to_string())]),
        rules: view
            .rules
            .iter()
            .map(|r| RuleLine {
                id: r.id.clone(),
                title: r.title.clone(),
                kind: r.kind.replace('_', " "),
                issuer: r.issuer.clone(),
                state: r.state.name().replace('_', " "),
                since: r.since.map(|d| d.to_string()).unwrap_or_default(),
                sources: r.sources.clone(),
            })
            .collect(),
    };
    html(status, render(&page))
}

/// Today's rules view cannot fail (today has a day); an empty list stands in if it ever did.
fn unreachable_rules() -> lodestone_world::views::rules::RulesView {
    lodestone_world::views::rules::RulesView {
        as_of: today(),
        rules: Vec::new(),
    }
}

/// The risk page's form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskForm {
    /// Country or group.
    #[serde(default)]
    country: Option<String>,
    /// Chain stage.
    #[serde(default)]
    stage: Option<Stage>,
    /// Basis.
    #[serde(default)]
    basis: Option<Basis>,
    /// Year.
    #[serde(default = "default_year")]
    year: i64,
}

/// The rows of a concentration view by material: the whole stage (`all`) alone where the basis
/// has it (flows), else each material the basis publishes (production: USGS concentrate, IEA
/// magnet rare earths, …), at most four.
fn section_rows(
    v: &ConcentrationView,
) -> Vec<Vec<lodestone_world::views::risk::ConcentrationViewRow>> {
    let mut materials: Vec<&str> = Vec::new();
    for r in &v.rows {
        if !materials.contains(&r.material.as_str()) {
            materials.push(&r.material);
        }
    }
    if materials.contains(&"all") {
        materials = vec!["all"];
    }
    materials
        .iter()
        .take(4)
        .map(|m| {
            v.rows
                .iter()
                .filter(|r| r.material == *m)
                .cloned()
                .collect()
        })
        .collect()
}

/// `GET /explore/risk`: concentration of a stage (world and outside China, with the largest
/// supplier over the years), a country's dependency at that stage, and the benchmarks.
pub async fn risk_page(State(s): State<Arc<AppState>>, q: FormQuery<RiskForm>) -> Response {
    let a = &s.analysis;
    let mut status = StatusCode::OK;
    let mut problem_text = None;
    let form = q.parsed.unwrap_or_else(|e| {
        (status, problem_text) = problem(&e);
        RiskForm::default()
    });
    let country = form.country.clone().unwrap_or_else(|| "MYS".into());
    let stage = form.stage.unwrap_or(Stage::Separation);
    let basis = form.basis.unwrap_or(Basis::Flow);
    let year = if form.year == 0 {
        DEFAULT_YEAR
    } else {
        form.year
    };
    let mut country_names: Options = groups(&a.world)
        .into_iter()
        .map(|(id, name, _)| (id, name))
        .collect();
    country_names.extend(countries(&a.world));
    let mut page = RiskPage {
        title: "Risk",
        country: country.clone(),
        country_names,
        stage: stage.to_string(),
        stages: vocabulary_options::<Stage>(),
        basis: basis.to_string(),
        bases: vocabulary_options::<Basis>(),
        year: year.to_string(),
        years: years(a),
        problem: problem_text,
        concentration: Vec::new(),
        series: Vec::new(),
        dependency: None,
        benchmarks: None,
        flows_note: None,
        critical: None,
    };
    let work = blocking(&s, move |a| {
        let mut sections = Vec::new();
        for scope in Scope::ALL {
            let q = ConcentrationQuery {
                year,
                basis: Some(basis),
                stage: Some(stage),
                scope: Some(*scope),
                view: Some(View::Location),
                ..Default::default()
            };
            sections.push((*scope, concentration(a, &q)?));
        }
        // The largest supplier in each year the basis has.
        let mut series = Vec::new();
        let series_years: Vec<i64> = if basis == Basis::Production {
            let mut ys: Vec<i64> = a
                .concentration_rows(year)?
                .iter()
                .filter(|r| r.basis == Basis::Production && r.stage == stage)
                .map(|r| r.year)
                .collect();
            ys.sort_unstable();
            ys.dedup();
            ys
        } else {
            a.flow_years()
        };
        for y in series_years {
            let q = ConcentrationQuery {
                year: y,
                basis: Some(basis),
                stage: Some(stage),
                ..Default::default()
            };
            if let Ok(v) = concentration(a, &q) {
                for rows in section_rows(&v) {
                    if let Some(top) = rows.first() {
                        series.push((
                            format!("{y} — {}", top.material_name),
                            top.supplier_name.clone(),
                            format_share(top.share),
                            format_quantity(top.hhi),
                        ));
                    }
                }
            }
        }
        // Dependency and benchmarks rest on the traced flows: only for years that have flows.
        let (dep, bench) = if a.check_year(year).is_ok() {
            let dep = dependency(
                a,
                &DependencyQuery {
                    country: country.clone(),
                    year,
                    material: None,
                    stage: Some(stage),
                },
            );
            let bench = benchmarks(
                a,
                &BenchmarkQuery {
                    year,
                    country: None,
                },
            )?;
            let crit = critical(
                a,
                &CriticalQuery {
                    country: country.clone(),
                    year,
                },
            )
            .ok();
            (Some(dep), Some((bench, crit)))
        } else {
            (None, None)
        };
        Ok((sections, series, dep, bench))
    })
    .await;
    match work {
        Ok((sections, series, dep, bench)) => {
            for (scope, v) in sections {
                for rows in section_rows(&v) {
                    let bars: Vec<(String, f64, bool)> = rows
                        .iter()
                        .take(12)
                        .map(|r| (r.supplier_name.clone(), r.share, r.supplier == page.country))
                        .collect();
                    let scope_text = if scope == Scope::World {
                        "worldwide"
                    } else {
                        "outside China"
                    };
                    let heading = format!(
                        "{} — {scope_text}{}",
                        stage,
                        rows.first().map_or(String::new(), |r| format!(
                            " ({}: HHI {}, top 3 {}{})",
                            r.material_name,
                            format_quantity(r.hhi),
                            format_share(r.top3),
                            r.coverage_text()
                                .map_or(String::new(), |c| format!("; {c}"))
                        ))
                    );
                    // Rows whose figure published statistics contradict say so under the chart.
                    let conflicts: Vec<String> = rows.iter().flat_map(|r| r.conflicts()).collect();
                    page.concentration.push(ConcentrationSection {
                        chart: if bars.is_empty() {
                            "<p>No rows for this stage and basis.</p>".into()
                        } else {
                            lodestone_report::svg::bar_chart(&heading, &bars, "share")
                        },
                        heading,
                        note: if conflicts.is_empty() {
                            v.basis_note.clone()
                        } else {
                            format!("{} {}.", v.basis_note, conflicts.join("; "))
                        },
                        table: HtmlTable::of(&rows),
                        api: api_url(
                            "/api/risk/concentration",
                            &[
                                ("basis", basis.to_string()),
                                ("stage", stage.to_string()),
                                ("scope", scope.to_string()),
                                ("year", year.to_string()),
                                (
                                    "material",
                                    rows.first().map(|r| r.material.clone()).unwrap_or_default(),
                                ),
                            ],
                        ),
                    });
                }
            }
            page.series = series;
            if dep.is_none() {
                page.flows_note = Some(format!(
                    "No flows are recorded for {year}, so dependency and benchmarks (which trace the flows) are not shown; flows exist for {}.",
                    page.years.join(", ")
                ));
            }
            match dep {
                None => {}
                Some(Ok(d)) => {
                    page.dependency = Some((
                        d.country.name.clone(),
                        d.headline.clone().unwrap_or_default(),
                        d.method.clone(),
                        HtmlTable::of(&d.rows),
                        api_url(
                            "/api/risk/dependency",
                            &[
                                ("country", page.country.clone()),
                                ("stage", stage.to_string()),
                                ("year", year.to_string()),
                            ],
                        ),
                    ));
                }
                Some(Err(e)) => {
                    let e: ApiError = e.into();
                    (status, page.problem) = problem(&e);
                }
            }
            if let Some((bench, crit)) = bench {
                page.benchmarks = Some((
                    bench.method.clone(),
                    HtmlTable::of(&bench.rows),
                    api_url("/api/risk/benchmarks", &[("year", year.to_string())]),
                ));
                page.critical = crit.map(|c| {
                    (
                        c.method.clone(),
                        HtmlTable::of(&c.rows),
                        api_url(
                            "/api/risk/critical",
                            &[
                                ("country", page.country.clone()),
                                ("year", year.to_string()),
                            ],
                        ),
                    )
                });
            }
        }
        Err(e) => (status, page.problem) = problem(&e),
    }
    html(status, render(&page))
}

/// `GET /explore/map`: the world map of flows and the table of its routes.
pub async fn map_page(State(s): State<Arc<AppState>>, q: FormQuery<MapQuery>) -> Response {
    let a = &s.analysis;
    let mut page = MapPage {
        title: "World map of flows",
        material: q.get("material").to_string(),
        stage: q.get("stage").to_string(),
        stages: vocabulary_options::<Stage>(),
        year: or(q.get("year"), &DEFAULT_YEAR.to_string()),
        years: years(a),
        problem: None,
        table: None,
        api: String::new(),
    };
    page.api = api_url(
        "/api/map",
        &[
            ("year", page.year.clone()),
            ("material", page.material.clone()),
            ("stage", page.stage.clone()),
        ],
    );
    let mut status = StatusCode::OK;
    let result = match q.parsed {
        Ok(mq) => blocking(&s, move |a| map(a, &mq)).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => page.table = Some(HtmlTable::of(&v.links)),
        Err(e) => (status, page.problem) = problem(&e),
    }
    html(status, render(&page))
}

/// `GET /explore/sankey`: the chain as a Sankey diagram, drawn in the browser from /api/sankey.
pub async fn sankey_page(State(s): State<Arc<AppState>>, q: FormQuery<SankeyQuery>) -> Response {
    let a = &s.analysis;
    let mut page = SankeyPage {
        title: "The chain",
        material: q.get("material").to_string(),
        year: or(q.get("year"), &DEFAULT_YEAR.to_string()),
        years: years(a),
        problem: None,
        api: String::new(),
    };
    page.api = api_url(
        "/api/sankey",
        &[
            ("year", page.year.clone()),
            ("material", page.material.clone()),
        ],
    );
    let mut status = StatusCode::OK;
    // The view is computed here too, so a typo is reported on the form, not as an empty chart.
    let result = match q.parsed {
        Ok(sq) => blocking(&s, move |a| sankey(a, &sq).map(|_| ())).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        (status, page.problem) = problem(&e);
    }
    html(status, render(&page))
}

/// `GET /search?q=`: countries, groups, companies, facilities, materials and rules by name.
pub async fn search_page(State(s): State<Arc<AppState>>, q: FormQuery<SearchQuery>) -> Response {
    let mut page = SearchPage {
        title: "Search",
        q: q.get("q").to_string(),
        problem: None,
        hits: Vec::new(),
    };
    let mut status = StatusCode::OK;
    if !page.q.is_empty() {
        match q
            .parsed
            .and_then(|sq| search(&s.analysis.world, &sq).map_err(ApiError::from))
        {
            Ok(v) => page.hits = v.hits.iter().map(SearchHitLine::from).collect(),
            Err(e) => (status, page.problem) = problem(&e),
        }
    }
    html(status, render(&page))
}

/// The reconciliation of a year: every published figure against the flows, conflicts first.
pub async fn reconcile_page(
    State(s): State<Arc<AppState>>,
    q: FormQuery<ReconcileQuery>,
) -> Response {
    let mut status = StatusCode::OK;
    let mut problem_text = None;
    let query = q.parsed.unwrap_or_else(|e| {
        (status, problem_text) = problem(&e);
        ReconcileQuery::default()
    });
    let page = blocking(&s, move |a| {
        let (v, query) = match reconciliation(a, &query) {
            Ok(v) => (v, query),
            Err(e) => {
                (status, problem_text) = problem(&ApiError::from(e));
                let fallback = ReconcileQuery::default();
                (reconciliation(a, &fallback)?, fallback)
            }
        };
        let q = format_quantity;
        let conflicts = v
            .references
            .iter()
            .filter(|r| r.status == lodestone_model::FigureStatus::Conflict)
            .map(|r| {
                format!(
                    "{}: published {} ± {} t REO ({}); the flows give {} ± {}",
                    r.figure,
                    q(r.published),
                    q(r.sigma),
                    r.source,
                    r.reconciled.map_or("–".into(), q),
                    r.reconciled_sigma.map_or("–".into(), q),
                )
            })
            .collect();
        let notes = v
            .left_out
            .iter()
            .map(|(f, why)| format!("Left out: {f}: {why}."))
            .chain(
                v.references
                    .iter()
                    .filter_map(|r| r.note.as_ref().map(|n| format!("{}: {n}.", r.figure))),
            )
            .collect();
        Ok::<_, ViewError>((
            ReconcilePage {
                title: "Published figures",
                year: query.year.to_string(),
                years: years(a),
                problem: problem_text,
                conflicts,
                losses: v.implausible_losses().map(|f| f.loss_text()).collect(),
                table: HtmlTable::of(&v.references),
                notes,
                method: v.method.clone(),
                chi2: format!("{:.1}", v.chi2),
                dof: v.dof,
                api: api_url("/api/reconcile", &[("year", query.year.to_string())]),
            },
            status,
        ))
    })
    .await;
    match page {
        Ok((page, status)) => html(status, render(&page)),
        Err(e) => crate::error::PageError(e).into_response(),
    }
}

/// The overview: the largest supplier of each stage worldwide and outside China (flow basis),
/// the map, the explorers and the briefs.
pub async fn index(State(s): State<Arc<AppState>>) -> Response {
    let year = DEFAULT_YEAR;
    let headlines = blocking(&s, move |a| {
        let mut out = Vec::new();
        for stage in [
            Stage::Mining,
            Stage::Separation,
            Stage::Metal,
            Stage::Magnet,
        ] {
            let mut cells = Vec::new();
            for scope in Scope::ALL {
                let v = concentration(
                    a,
                    &ConcentrationQuery {
                        year,
                        basis: Some(Basis::Flow),
                        stage: Some(stage),
                        material: Some("all".into()),
                        scope: Some(*scope),
                        ..Default::default()
                    },
                )?;
                cells.push(v.rows.first().map_or("–".to_string(), |r| {
                    // A headline the published statistics contradict says so.
                    let conflicts: String = r.conflicts().map(|c| format!("; {c}")).collect();
                    format!(
                        "{} {} (HHI {}){conflicts}",
                        r.supplier_name,
                        format_share(r.share),
                        format_quantity(r.hhi)
                    )
                }));
            }
            out.push((stage.to_string(), cells[0].clone(), cells[1].clone()));
        }
        Ok::<_, ViewError>(out)
    })
    .await
    .unwrap_or_default();
    let world = &s.analysis.world;
    let page = IndexPage {
        title: "Overview",
        year,
        headlines,
        groups: groups(world)
            .into_iter()
            .map(|(id, name, _)| (id, name))
            .collect(),
        countries: countries(world)
            .into_iter()
            .filter(|(id, _)| id.len() == 3 && !["WLD", "ROW", "XXX"].contains(&id.as_str()))
            .collect(),
    };
    html(StatusCode::OK, render(&page))
}
