//! `lodestone serve`: the web dashboard and the JSON API over a loaded dataset.
//!
//! * The API: tables, records with their sources and referrers, validation, rules on a date,
//!   rule screening with its timeline, the origin trace of a node, direct against traced
//!   dependency, concentration, the map and Sankey data, and scenario runs as jobs with progress,
//!   cancellation and abandonment (`jobs`). Its OpenAPI document is generated from [`ROUTES`].
//! * The pages: the overview, record pages (`pages`), the explorers (`explore`) and the briefs.
//!   Pages call the API handlers and render their JSON; charts are drawn by the embedded assets.
//! * Safety: loopback by default, a CSP that allows scripts from this server only (never inline),
//!   nosniff and frame denial, request size and time limits, escaped output, JSON errors with a
//!   stable shape.

pub mod explore;
pub mod jobs;
pub mod pages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use lodestone_format::export::{record_json, rows_json};
use lodestone_model::Date;
use lodestone_rules::{evaluate_all, timeline};
use lodestone_trace::CustodyModel;
use lodestone_world::World;
use lodestone_world::risk_inputs;
use lodestone_world::screening::Screening;

/// How long a request may take before the server answers 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body accepted (the API is read-only).
pub const MAX_BODY: usize = 64 * 1024;

/// One route of the API, for the router and the OpenAPI document alike.
pub struct Route {
    /// Path with `{param}` placeholders.
    pub path: &'static str,
    /// What it returns.
    pub summary: &'static str,
    /// Path and query parameters: (name, location, description). Path parameters, and query
    /// parameters whose description ends in `(required)`, are required.
    pub params: &'static [(&'static str, &'static str, &'static str)],
    /// Response codes and what they mean.
    pub responses: &'static [(u16, &'static str)],
    /// Media type of a successful response.
    pub media: &'static str,
    /// HTTP method: `get`, `post` or `delete`.
    pub method: &'static str,
}

/// The routes. The OpenAPI document is generated from this table, and a test checks that every
/// route answers.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/api/health",
        summary: "Server status and the dataset's tables with row counts",
        params: &[],
        responses: &[(200, "status")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/tables",
        summary: "Every table of the schema: name, file, description, rows",
        params: &[],
        responses: &[(200, "tables")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/tables/{kind}",
        summary: "All records of a table, keyed by the schema's column names",
        params: &[("kind", "path", "table name, e.g. facilities")],
        responses: &[(200, "array of records"), (404, "unknown table")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/tables/{kind}/{id}",
        summary: "One record with its sources and the records that refer to it",
        params: &[("kind", "path", "table name"), ("id", "path", "record id")],
        responses: &[
            (200, "record, sources, referenced_by"),
            (404, "unknown table or id"),
        ],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/check",
        summary: "Validation report of the dataset",
        params: &[],
        responses: &[(200, "errors and warnings")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/rules",
        summary: "Trade rules and their state on a date",
        params: &[(
            "as_of",
            "query",
            "date YYYY-MM-DD (default: the latest event date)",
        )],
        responses: &[(200, "rules"), (400, "malformed date")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/trace",
        summary: "Where the content of a node's output comes from: per tag (mined:, separated:, metal:, magnet:, tech:, facility:) the content per t REO of output and in total, with the supply paths behind the largest share",
        params: &[
            (
                "node",
                "query",
                "node id: FACILITY/material, a facility id or an ISO3 market, e.g. jl_mag/sintered_ndfeb (required)",
            ),
            (
                "tag",
                "query",
                "tag pattern, `*` a wildcard (default `*`), e.g. mined:*",
            ),
            ("custody", "query", "mass_balance (default) or segregated"),
            ("year", "query", "flow year (default 2024)"),
        ],
        responses: &[
            (200, "content rows and paths"),
            (400, "missing or malformed parameter, or no tag matches"),
            (404, "unknown node"),
        ],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/risk/concentration",
        summary: "Supply concentration per material and stage: shares by country (or owner country), HHI (0–10,000), top-1 and top-3 shares, with sources",
        params: &[
            ("basis", "query", "flow (default), capacity or production"),
            (
                "stage",
                "query",
                "chain stage, e.g. separation (default: all)",
            ),
            (
                "material",
                "query",
                "material id, or `all` for the whole stage",
            ),
            ("scope", "query", "world (default) or outside_china"),
            ("view", "query", "location (default) or ownership"),
            ("year", "query", "flow or production year (default 2024)"),
        ],
        responses: &[(200, "rows"), (400, "malformed parameter")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/map",
        summary: "Cross-border shipments of a year by country pair (t REO), with the stages and materials shipped and their sources",
        params: &[
            ("year", "query", "flow year (default 2024)"),
            (
                "material",
                "query",
                "only materials whose id contains this, e.g. ndpr",
            ),
            (
                "stage",
                "query",
                "only materials of this chain stage: mining, cracking, separation, metal, magnet, component",
            ),
        ],
        responses: &[(200, "links"), (400, "malformed year or no flows in it")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/sankey",
        summary: "The chain of a year as a layered flow diagram: nodes per (country, stage: mining, cracking, separation, metal, magnet, component, use), links with t REO, materials and sources",
        params: &[
            ("year", "query", "flow year (default 2024)"),
            (
                "material",
                "query",
                "only materials whose id contains this, e.g. ndpr, dy, tb",
            ),
        ],
        responses: &[
            (200, "nodes and links"),
            (400, "malformed year or no flows in it"),
        ],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/rules/check",
        summary: "Screen one product node against every rule: determination, state, shares, explanation, the supply paths behind the deciding share, and sources; with the timeline of when the answer changes",
        params: &[
            (
                "node",
                "query",
                "product node FACILITY/material, e.g. jl_mag/sintered_ndfeb (required)",
            ),
            (
                "destination",
                "query",
                "ISO3 code of the destination, e.g. USA (required)",
            ),
            ("as_of", "query", "date YYYY-MM-DD (default: today)"),
            ("end_use", "query", "declared end use, e.g. military"),
            (
                "custody",
                "query",
                "mass_balance (default), segregated or compare",
            ),
            ("year", "query", "flow year (default 2024)"),
        ],
        responses: &[
            (200, "determinations"),
            (400, "missing or malformed parameter"),
            (404, "unknown node or destination"),
        ],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/risk/dependency/{country}",
        summary: "Direct against traced dependency of a country or group on each origin, per traced stage (mined, separated, metal, magnet), with sources and a headline",
        params: &[
            (
                "country",
                "path",
                "ISO3 code (e.g. MYS) or group id (e.g. eu, asean)",
            ),
            ("year", "query", "flow year (default 2024)"),
            ("material", "query", "only receipts of this material id"),
            (
                "stage",
                "query",
                "only receipts at this chain stage: mining, cracking, separation, metal, magnet, component",
            ),
        ],
        responses: &[
            (200, "rows and headline"),
            (400, "malformed year or no flows in it"),
            (404, "unknown country or group"),
        ],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/simulations",
        summary: "Start a scenario batch as a job. Body: {\"scenario\": NAME} (a bundled scenario) or {\"scenario_toml\": TEXT}, optional \"runs\" (default 1000, at most 20000) and \"seed\". One job runs at a time",
        params: &[],
        responses: &[
            (202, "the job, with its URL (also in Location)"),
            (400, "malformed body or scenario (located messages)"),
            (404, "unknown bundled scenario"),
            (429, "a job is running"),
        ],
        media: "application/json",
        method: "post",
    },
    Route {
        path: "/api/simulations",
        summary: "The remembered jobs and the bundled scenarios",
        params: &[],
        responses: &[(200, "jobs and scenarios")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/simulations/{job}",
        summary: "A job's status and progress; when done, per country the peak and total shortfall, its p95, months to recovery and the probability of exceeding the stated level",
        params: &[("job", "path", "job id")],
        responses: &[(200, "the job"), (404, "unknown job")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/api/simulations/{job}",
        summary: "Cancel a running job (its threads stop after their current run)",
        params: &[("job", "path", "job id")],
        responses: &[
            (202, "cancelling"),
            (404, "unknown job"),
            (409, "the job has already ended"),
        ],
        media: "application/json",
        method: "delete",
    },
    Route {
        path: "/api/openapi.json",
        summary: "This API's OpenAPI 3.0 document",
        params: &[],
        responses: &[(200, "OpenAPI document")],
        media: "application/json",
        method: "get",
    },
    Route {
        path: "/",
        summary: "Index page: the countries with a brief",
        params: &[],
        responses: &[(200, "HTML page")],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/records",
        summary: "Page: every table of the dataset",
        params: &[],
        responses: &[(200, "HTML page")],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/records/{kind}",
        summary: "Page: the records of a table, each linked to its page",
        params: &[("kind", "path", "table name, e.g. facilities")],
        responses: &[(200, "HTML page"), (404, "unknown table")],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/records/{kind}/{id}",
        summary: "Page: one record — every field with its unit and description, references as links, its sources, and the records that refer to it",
        params: &[("kind", "path", "table name"), ("id", "path", "record id")],
        responses: &[(200, "HTML page"), (404, "unknown table or id")],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/explore/risk",
        summary: "Page: risk — who supplies a stage (shares, HHI, with and without China) and a country's direct against traced dependency",
        params: &[
            ("country", "query", "ISO3 or group (default MYS)"),
            ("stage", "query", "chain stage (default separation)"),
            ("basis", "query", "flow (default), capacity or production"),
        ],
        responses: &[
            (200, "HTML page"),
            (400, "HTML page with the problem"),
            (404, "HTML page with the problem"),
        ],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/explore/map",
        summary: "Page: world map of the flows between countries (ECharts over the vendored Natural Earth atlas)",
        params: &[
            ("material", "query", "material filter, e.g. ndpr"),
            ("stage", "query", "chain stage filter"),
            ("year", "query", "flow year"),
        ],
        responses: &[(200, "HTML page")],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/explore/sankey",
        summary: "Page: the chain as a Sankey diagram (ECharts, served from this server)",
        params: &[
            ("material", "query", "material filter, e.g. ndpr"),
            ("year", "query", "flow year"),
        ],
        responses: &[(200, "HTML page")],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/assets/{name}",
        summary: "Embedded static assets: sankey.js, map.js, bands.js and the vendored echarts.min.js, topojson-client.min.js, countries-110m.json, iso3166-numeric.json",
        params: &[("name", "path", "asset file name")],
        responses: &[(200, "the file"), (404, "unknown asset")],
        media: "text/javascript",
        method: "get",
    },
    Route {
        path: "/explore/trace",
        summary: "Page: trace explorer (the /api/trace form)",
        params: &[
            ("node", "query", "product node"),
            ("tag", "query", "tag pattern (default mined:*)"),
            ("custody", "query", "mass_balance or segregated"),
        ],
        responses: &[
            (200, "HTML page"),
            (400, "HTML page with the problem"),
            (404, "HTML page with the problem"),
        ],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/explore/rules",
        summary: "Page: rule screening (the /api/rules/check form)",
        params: &[
            ("node", "query", "product node"),
            ("destination", "query", "ISO3 (default USA)"),
            ("as_of", "query", "date YYYY-MM-DD (default today)"),
            ("end_use", "query", "declared end use"),
        ],
        responses: &[
            (200, "HTML page"),
            (400, "HTML page with the problem"),
            (404, "HTML page with the problem"),
        ],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/explore/simulate",
        summary: "Page: scenario runner — the bundled scenarios, a form to run one, the recent jobs",
        params: &[],
        responses: &[(200, "HTML page")],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/explore/simulate",
        summary: "Form: start a job (scenario, runs) and go to its page (303)",
        params: &[],
        responses: &[
            (303, "to the job page"),
            (400, "HTML page with the problem"),
            (429, "HTML page: a job is running"),
        ],
        media: "text/html",
        method: "post",
    },
    Route {
        path: "/explore/simulate/{job}",
        summary: "Page: a job's progress (reloading every second while it runs), cancel button, results",
        params: &[("job", "path", "job id")],
        responses: &[(200, "HTML page"), (404, "HTML page with the problem")],
        media: "text/html",
        method: "get",
    },
    Route {
        path: "/explore/simulate/{job}/cancel",
        summary: "Form: cancel a job and return to its page (303)",
        params: &[("job", "path", "job id")],
        responses: &[(303, "to the job page")],
        media: "text/html",
        method: "post",
    },
    Route {
        path: "/briefs/{country}",
        summary: "The self-contained country brief",
        params: &[("country", "path", "ISO3 code, e.g. MYS")],
        responses: &[(200, "HTML page"), (404, "unknown country")],
        media: "text/html",
        method: "get",
    },
];

/// Shared state: the dataset, loaded once, its validation report, and the simulation jobs.
pub struct AppState {
    /// The dataset (loaded without errors).
    pub ds: World,
    /// Its validation report (warnings only).
    pub report: lodestone_format::Report,
    /// Scenario jobs started over the API.
    jobs: std::sync::Mutex<jobs::Jobs>,
    /// How long a running job may go unpolled before it is cancelled.
    abandon_after: Duration,
    /// Prepared screenings (lowering, trace, origins) per (year, segregated): the dataset does
    /// not change while the server runs, so each is computed once.
    screenings: Memo<(i64, bool), Screening>,
    /// Concentration rows per year (every material, stage, basis, scope and view), computed once.
    concentration: Memo<i64, Vec<risk_inputs::ConcentrationRow>>,
}

/// Values computed on first use and kept: the dataset does not change while the server runs.
type Memo<K, V> = std::sync::Mutex<std::collections::HashMap<K, Arc<V>>>;

/// The value of `key` in `memo`, computing it with `compute` on first use. Computed outside the
/// lock; two first requests may both compute, with equal results.
fn memoized<K: std::hash::Hash + Eq, V>(
    memo: &Memo<K, V>,
    key: K,
    compute: impl FnOnce() -> Result<V, String>,
) -> Result<Arc<V>, String> {
    let lock = || memo.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(v) = lock().get(&key) {
        return Ok(v.clone());
    }
    let v = Arc::new(compute()?);
    lock().insert(key, v.clone());
    Ok(v)
}

impl AppState {
    /// The state of a server over `ds`, with no jobs yet.
    pub fn new(ds: World, report: lodestone_format::Report) -> Self {
        AppState {
            ds,
            report,
            jobs: Default::default(),
            abandon_after: jobs::ABANDON_AFTER,
            screenings: Default::default(),
            concentration: Default::default(),
        }
    }

    /// The screening of `year` under `model`, computed on first use and kept.
    fn screening(&self, year: i64, model: CustodyModel) -> Result<Arc<Screening>, String> {
        memoized(
            &self.screenings,
            (year, model == CustodyModel::Segregated),
            || Screening::prepare(&self.ds, year, model),
        )
    }

    /// The concentration rows of `year`, computed on first use and kept.
    fn concentration(&self, year: i64) -> Result<Arc<Vec<risk_inputs::ConcentrationRow>>, String> {
        memoized(&self.concentration, year, || {
            let p = self.screening(year, CustodyModel::MassBalance)?;
            Ok(risk_inputs::concentration_rows(&self.ds, &p.low, year))
        })
    }

    /// Sets how long a running job may go unpolled before it is cancelled (default
    /// [`ABANDON_AFTER`](jobs::ABANDON_AFTER)).
    pub fn with_abandon_after(mut self, after: Duration) -> Self {
        self.abandon_after = after;
        self
    }
}

/// Today's date (UTC) from the system clock: the default date of rule screenings and briefs.
/// The server is an edge of the system, so it reads the clock; the libraries take dates.
pub fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_unix_seconds(secs)
}

/// A JSON error with a stable shape: `{"error": {"status", "message", "valid"}}`.
pub(crate) fn error(status: StatusCode, message: String, valid: Vec<String>) -> Response {
    let body = serde_json::json!({"error": {"status": status.as_u16(), "message": message, "valid": valid}});
    (status, axum::Json(body)).into_response()
}

pub(crate) fn json(v: serde_json::Value) -> Response {
    axum::Json(v).into_response()
}

async fn health(State(s): State<Arc<AppState>>) -> Response {
    let tables: Vec<serde_json::Value> =
        s.ds.tables
            .iter()
            .map(|t| serde_json::json!({"name": t.schema.name, "rows": t.rows.len()}))
            .collect();
    json(serde_json::json!({"status": "ok", "tables": tables, "rules": s.ds.rules.len()}))
}

async fn tables(State(s): State<Arc<AppState>>) -> Response {
    json(serde_json::Value::Array(
        s.ds.tables
            .iter()
            .map(|t| serde_json::json!({"name": t.schema.name, "file": t.schema.file, "description": t.schema.description, "rows": t.rows.len()}))
            .collect(),
    ))
}

fn table_names(ds: &World) -> Vec<String> {
    ds.tables.iter().map(|t| t.schema.name.clone()).collect()
}

async fn table_rows(State(s): State<Arc<AppState>>, Path(kind): Path<String>) -> Response {
    match s.ds.table(&kind) {
        Some(t) => json(rows_json(t, &t.rows.iter().collect::<Vec<_>>())),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no table '{kind}'"),
            table_names(&s.ds),
        ),
    }
}

async fn table_record(
    State(s): State<Arc<AppState>>,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    let Some(t) = s.ds.table(&kind) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no table '{kind}'"),
            table_names(&s.ds),
        );
    };
    if !t.schema.has_single_id() {
        return error(
            StatusCode::NOT_FOUND,
            format!("table '{kind}' has a compound key; list it at /api/tables/{kind}"),
            Vec::new(),
        );
    }
    match t.find(&id) {
        Some(row) => json(record_json(&s.ds, t, row)),
        None => {
            let similar: Vec<String> =
                s.ds.ids(&kind)
                    .into_iter()
                    .filter(|x| x.contains(&id) || id.contains(x.as_str()))
                    .take(10)
                    .collect();
            error(
                StatusCode::NOT_FOUND,
                format!("no {kind} with id '{id}'"),
                similar,
            )
        }
    }
}

async fn check(State(s): State<Arc<AppState>>) -> Response {
    json(s.report.to_json())
}

async fn rules(
    State(s): State<Arc<AppState>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let latest_event =
        s.ds.rules
            .iter()
            .flat_map(|r| r.lifecycle.events.iter().map(|e| e.date))
            .max()
            .unwrap_or(Date {
                year: 2025,
                month: Some(1),
                day: Some(1),
            });
    let date = match query_date(&q, latest_event) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let rows: Vec<serde_json::Value> =
        s.ds.rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "kind": r.kind.name(), "issuer": r.issuer, "title": r.title,
                    "state": r.lifecycle.state_on(date).name(),
                    "since": r.lifecycle.event_on(date).map(|e| e.date.to_string()),
                    "as_of": date.to_string(), "sources": r.sources,
                })
            })
            .collect();
    json(serde_json::Value::Array(rows))
}

/// Parses the optional `year` query parameter (default 2024); a malformed year is answered
/// with a 400 error.
fn query_year(q: &std::collections::HashMap<String, String>) -> Result<i64, Box<Response>> {
    match q.get("year") {
        None => Ok(2024),
        Some(y) => y.parse::<i64>().map_err(|_| {
            Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("year '{y}' is not a year"),
                vec!["a year such as 2024".into()],
            ))
        }),
    }
}

/// Origin content of one node: the trace explorer's data.
pub(crate) async fn trace_node(
    State(s): State<Arc<AppState>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let year = match query_year(&q) {
        Ok(y) => y,
        Err(r) => return *r,
    };
    let node = match required_node(&q) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let model = match query_custody(&q, false) {
        Ok(models) => models[0],
        Err(r) => return *r,
    };
    let pattern = q.get("tag").cloned().unwrap_or_else(|| "*".into());
    let state = s.clone();
    let work = tokio::task::spawn_blocking(move || {
        let p = state
            .screening(year, model)
            .map_err(|e| (StatusCode::BAD_REQUEST, e, YEAR_HINT))?;
        let i = p
            .node(&node)
            .map_err(|e| (StatusCode::NOT_FOUND, e.0, NODE_HINT))?;
        let net = &p.low.network;
        let tags = net.tags_matching(&pattern);
        if tags.is_empty() {
            let families: std::collections::BTreeSet<&str> = net
                .tags
                .iter()
                .filter_map(|t| t.split_once(':').map(|(f, _)| f))
                .collect();
            return Err((
                StatusCode::BAD_REQUEST,
                format!(
                    "no tag matches '{pattern}'; tags are FAMILY:VALUE with families {}",
                    families.into_iter().collect::<Vec<_>>().join(", ")
                ),
                "a tag pattern such as mined:*, separated:CHN or *:MYS",
            ));
        }
        let mut rows: Vec<(usize, f64, f64)> = tags
            .into_iter()
            .map(|g| (g, p.trace.per_unit(i, g), p.trace.total(i, g)))
            .filter(|r| r.1 != 0.0)
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let paths = rows
            .first()
            .map_or(serde_json::json!([]), |r| p.paths_json(i, &net.tags[r.0]));
        Ok(serde_json::json!({
            "node": node, "year": year, "custody": p.custody,
            "unit": "per_unit: t of tagged content per t REO of the node's output; total: t REO/yr",
            "sources": p.low.nodes[i].sources,
            "rows": rows.iter().map(|(g, per_unit, total)| serde_json::json!({
                "tag": net.tags[*g], "per_unit": per_unit, "total": total,
            })).collect::<Vec<_>>(),
            "paths_for": rows.first().map(|r| net.tags[r.0].clone()),
            "paths": paths,
        }))
    })
    .await;
    finish(work)
}

/// Parses the optional `as_of` query parameter (a full date), `default` when absent.
fn query_date(
    q: &std::collections::HashMap<String, String>,
    default: Date,
) -> Result<Date, Box<Response>> {
    match q.get("as_of") {
        None => Ok(default),
        Some(text) => match Date::parse(text) {
            Some(d) if d.day.is_some() => Ok(d),
            _ => Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("as_of '{text}' is not a date"),
                vec!["YYYY-MM-DD, e.g. 2025-12-01".into()],
            ))),
        },
    }
}

/// The required `node` query parameter.
fn required_node(q: &std::collections::HashMap<String, String>) -> Result<String, Box<Response>> {
    q.get("node").cloned().ok_or_else(|| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            "the 'node' parameter is required".into(),
            vec!["node=FACILITY/material, e.g. jl_mag/sintered_ndfeb".into()],
        ))
    })
}

/// Parses the optional `custody` query parameter (default `mass_balance`) into the models to
/// run; `compare` (both) only where `allow_compare`.
fn query_custody(
    q: &std::collections::HashMap<String, String>,
    allow_compare: bool,
) -> Result<Vec<CustodyModel>, Box<Response>> {
    match q.get("custody").map_or("mass_balance", String::as_str) {
        "mass_balance" => Ok(vec![CustodyModel::MassBalance]),
        "segregated" => Ok(vec![CustodyModel::Segregated]),
        "compare" if allow_compare => Ok(vec![CustodyModel::MassBalance, CustodyModel::Segregated]),
        other => {
            let mut valid = vec!["mass_balance".to_string(), "segregated".to_string()];
            if allow_compare {
                valid.push("compare".into());
            }
            Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                format!("custody '{other}' is not a custody model"),
                valid,
            )))
        }
    }
}

/// Rule screening of one product node, as `lodestone rules check --node` prints it in JSON.
pub(crate) async fn rules_check(
    State(s): State<Arc<AppState>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let year = match query_year(&q) {
        Ok(y) => y,
        Err(r) => return *r,
    };
    let node = match required_node(&q) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let Some(destination) = q.get("destination").cloned() else {
        return error(
            StatusCode::BAD_REQUEST,
            "the 'destination' parameter is required".into(),
            vec!["destination=ISO3, e.g. USA".into()],
        );
    };
    if !s
        .ds
        .table("countries")
        .is_some_and(|t| t.contains(&destination))
    {
        return error(
            StatusCode::NOT_FOUND,
            format!("destination '{destination}' is not a country of the dataset"),
            vec!["an ISO3 code such as USA, JPN, DEU".into()],
        );
    }
    let date = match query_date(&q, today()) {
        Ok(d) => d,
        Err(r) => return *r,
    };
    let models = match query_custody(&q, true) {
        Ok(models) => models,
        Err(r) => return *r,
    };
    let state = s.clone();
    let end_use = q.get("end_use").cloned();
    let work = tokio::task::spawn_blocking(move || {
        let mut rows = Vec::new();
        let mut changes = serde_json::Value::Null;
        for model in models {
            let p = state
                .screening(year, model)
                .map_err(|e| (StatusCode::BAD_REQUEST, e, YEAR_HINT))?;
            let i = p
                .node(&node)
                .map_err(|e| (StatusCode::NOT_FOUND, e.0, NODE_HINT))?;
            let product = p.product(&state.ds, i);
            if changes.is_null() {
                // When the answer changes, and why (under the first custody model asked for).
                changes = timeline(&state.ds.rules, &product, &destination, end_use.as_deref())
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "date": e.date.to_string(),
                            "changes": e.changes.iter().map(|(rule, from, to, why)| serde_json::json!({
                                "rule": rule, "from": from, "to": to, "explanation": why,
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
            }
            for d in evaluate_all(
                &state.ds.rules,
                &product,
                &destination,
                end_use.as_deref(),
                date,
            ) {
                rows.push(p.determination_json(&state.ds, i, &d, true));
            }
        }
        Ok::<_, Failed>(serde_json::json!({
            "node": node, "destination": destination, "as_of": date.to_string(), "year": year,
            "determinations": rows, "timeline": changes,
        }))
    })
    .await;
    finish(work)
}

/// A failed computation: status, message, and what would be valid.
type Failed = (StatusCode, String, &'static str);
/// What to ask for when a year cannot be lowered.
const YEAR_HINT: &str = "a year with flows in the dataset, e.g. 2024";
/// What to ask for when a node is unknown.
const NODE_HINT: &str =
    "a product node FACILITY/material (see the flows table), e.g. jl_mag/sintered_ndfeb";

/// Turns the result of a blocking computation into a response.
fn finish(work: Result<Result<serde_json::Value, Failed>, tokio::task::JoinError>) -> Response {
    match work {
        Ok(Ok(v)) => json(v),
        Ok(Err((status, message, hint))) => error(status, message, vec![hint.into()]),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the computation failed: {e}"),
            vec![],
        ),
    }
}

/// Concentration rows, filtered as `lodestone risk concentration` filters them.
pub(crate) async fn risk_concentration(
    State(s): State<Arc<AppState>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let year = match query_year(&q) {
        Ok(y) => y,
        Err(r) => return *r,
    };
    let pick =
        |k: &str, default: &'static str, valid: &[&'static str]| -> Result<String, Box<Response>> {
            let v = q.get(k).map_or(default, String::as_str);
            if valid.contains(&v) {
                Ok(v.to_string())
            } else {
                Err(Box::new(error(
                    StatusCode::BAD_REQUEST,
                    format!("{k} '{v}' is not one of {}", valid.join(", ")),
                    valid.iter().map(|x| x.to_string()).collect(),
                )))
            }
        };
    let (basis, scope, view) = match (
        pick("basis", "flow", &["flow", "capacity", "production"]),
        pick("scope", "world", &["world", "outside_china"]),
        pick("view", "location", &["location", "ownership"]),
    ) {
        (Ok(b), Ok(s), Ok(v)) => (b, s, v),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return *e,
    };
    let state = s.clone();
    let work = tokio::task::spawn_blocking(move || {
        let all = state
            .concentration(year)
            .map_err(|e| (StatusCode::BAD_REQUEST, e, YEAR_HINT))?;
        let filter = |k: &str| q.get(k).map(String::as_str).filter(|m| !m.is_empty());
        let rows: Vec<serde_json::Value> = all
            .iter()
            .filter(|r| r.basis == basis && r.scope == scope && r.view == view)
            .filter(|r| r.basis != "production" || r.year == year)
            .filter(|r| filter("stage").is_none_or(|s| s == r.stage))
            .filter(|r| filter("material").is_none_or(|m| m == r.material))
            .map(|r| serde_json::json!({
                "material": r.material, "stage": r.stage, "basis": r.basis, "year": r.year,
                "scope": r.scope, "view": r.view, "country": r.country, "quantity": r.quantity,
                "unit": r.unit, "share": r.share, "hhi": r.hhi, "top1": r.top1, "top3": r.top3,
                "sources": r.sources,
            }))
            .collect();
        Ok(serde_json::json!({"year": year, "basis": basis, "scope": scope, "view": view, "rows": rows}))
    })
    .await;
    finish(work)
}

/// The world map's data: shipments between countries.
async fn map_links(
    State(s): State<Arc<AppState>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let year = match query_year(&q) {
        Ok(y) => y,
        Err(r) => return *r,
    };
    let state = s.clone();
    let work = tokio::task::spawn_blocking(move || {
        let p = state
            .screening(year, CustodyModel::MassBalance)
            .map_err(|e| (StatusCode::BAD_REQUEST, e, YEAR_HINT))?;
        let filter = |k: &str| q.get(k).map(String::as_str).filter(|m| !m.is_empty());
        let links = lodestone_world::chain::trade(&state.ds, &p.low, filter("material"), filter("stage"));
        Ok(serde_json::json!({
            "year": year, "unit": "t REO/yr", "material": filter("material"), "stage": filter("stage"),
            "estimate": "most flows are estimates; see each flow's record",
            "links": links.iter().map(|l| serde_json::json!({"from": l.from, "to": l.to, "value": l.value, "stages": l.stages, "materials": l.materials, "sources": l.sources})).collect::<Vec<_>>(),
        }))
    })
    .await;
    finish(work)
}

/// The chain Sankey's data.
async fn sankey(
    State(s): State<Arc<AppState>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let year = match query_year(&q) {
        Ok(y) => y,
        Err(r) => return *r,
    };
    let state = s.clone();
    let work = tokio::task::spawn_blocking(move || {
        let p = state
            .screening(year, CustodyModel::MassBalance)
            .map_err(|e| (StatusCode::BAD_REQUEST, e, YEAR_HINT))?;
        let material = q.get("material").map(String::as_str).filter(|m| !m.is_empty());
        let c = lodestone_world::chain::chain(&state.ds, &p.low, material);
        Ok(serde_json::json!({
            "year": year, "unit": "t REO/yr", "material": material,
            "layers": lodestone_world::chain::LAYERS,
            "estimate": "most flows are estimates; see each flow's record",
            "nodes": c.nodes.iter().map(|n| serde_json::json!({"name": n.name, "country": n.country, "layer": n.layer})).collect::<Vec<_>>(),
            "links": c.links.iter().map(|l| serde_json::json!({"source": l.source, "target": l.target, "value": l.value, "materials": l.materials, "sources": l.sources})).collect::<Vec<_>>(),
        }))
    })
    .await;
    finish(work)
}

/// Embedded assets: (name, media type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "sankey.js",
        "text/javascript",
        include_bytes!("../assets/sankey.js"),
    ),
    (
        "map.js",
        "text/javascript",
        include_bytes!("../assets/map.js"),
    ),
    (
        "bands.js",
        "text/javascript",
        include_bytes!("../assets/bands.js"),
    ),
    (
        "topojson-client.min.js",
        "text/javascript",
        include_bytes!("../assets/vendor/topojson-client/topojson-client.min.js"),
    ),
    (
        "countries-110m.json",
        "application/json",
        include_bytes!("../assets/vendor/world-atlas/countries-110m.json"),
    ),
    (
        "iso3166-numeric.json",
        "application/json",
        include_bytes!("../assets/vendor/iso3166-numeric.json"),
    ),
    (
        "echarts.min.js",
        "text/javascript",
        include_bytes!("../assets/vendor/echarts/echarts.min.js"),
    ),
];

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, media, bytes)) => (
            [
                (header::CONTENT_TYPE, *media),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            *bytes,
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no asset '{name}'"),
            ASSETS.iter().map(|(n, _, _)| n.to_string()).collect(),
        ),
    }
}

/// Direct against traced dependency. The dataset is lowered and traced per request: on the
/// bundled dataset that takes a few milliseconds, run off the async workers.
pub(crate) async fn risk_dependency(
    State(s): State<Arc<AppState>>,
    Path(country): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let year = match query_year(&q) {
        Ok(y) => y,
        Err(r) => return *r,
    };
    let Some(members) = risk_inputs::country_members(&s.ds, &country) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("'{country}' is neither a country nor a group of the dataset"),
            vec!["an ISO3 code such as MYS, or a group such as eu or asean".into()],
        );
    };
    let state = s.clone();
    let work = tokio::task::spawn_blocking(move || {
        let fail = |e: String| (StatusCode::BAD_REQUEST, e, YEAR_HINT);
        let p = state
            .screening(year, CustodyModel::MassBalance)
            .map_err(fail)?;
        let (low, t) = (&p.low, &p.trace);
        let view = risk_inputs::dependency_view(
            &state.ds,
            low,
            t,
            &country,
            &members,
            q.get("material").map(String::as_str),
            q.get("stage").map(String::as_str),
        );
        let rows: Vec<serde_json::Value> = view
            .rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "traced_stage": r.traced_stage, "origin": r.origin, "direct": r.direct,
                    "traced": r.traced, "hidden": r.hidden, "receipts_t_reo": r.receipts_t_reo,
                    "sources": r.sources,
                })
            })
            .collect();
        Ok::<_, Failed>(serde_json::json!({
            "country": country, "members": members, "year": year, "unit": "t REO/yr",
            "headline": view.headline, "rows": rows,
            "method": "direct = share of receipts shipped from the origin; traced = share of their REO content that passed the stage there (mass-balance trace)",
        }))
    })
    .await;
    finish(work)
}

/// The OpenAPI 3.0 document of [`ROUTES`].
pub fn openapi() -> serde_json::Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES {
        let params: Vec<serde_json::Value> = r
            .params
            .iter()
            .map(|(name, location, desc)| {
                serde_json::json!({"name": name, "in": location, "required": *location == "path" || desc.ends_with("(required)"), "description": desc, "schema": {"type": "string"}})
            })
            .collect();
        let mut responses = serde_json::Map::new();
        for (code, desc) in r.responses {
            let media = if *code < 300 {
                r.media
            } else {
                "application/json"
            };
            responses.insert(
                code.to_string(),
                serde_json::json!({"description": desc, "content": {media: {}}}),
            );
        }
        let operations = paths
            .entry(r.path.to_string())
            .or_insert_with(|| serde_json::json!({}));
        operations[r.method] =
            serde_json::json!({"summary": r.summary, "parameters": params, "responses": responses});
    }
    serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": "Lodestone API", "version": env!("CARGO_PKG_VERSION"), "description": "Rare-earth supply-chain intelligence over the loaded dataset."},
        "paths": paths,
    })
}

async fn openapi_doc() -> Response {
    json(openapi())
}

pub(crate) fn esc(s: &str) -> String {
    lodestone_report::esc(s)
}

async fn index(State(s): State<Arc<AppState>>) -> Response {
    let countries: Vec<String> = match s.ds.table("countries") {
        Some(t) => t
            .rows
            .iter()
            .filter_map(|r| Some((t.text(r, "id")?, t.text(r, "name")?)))
            .filter(|(id, _)| id.len() == 3 && *id != "WLD" && *id != "ROW")
            .map(|(id, name)| format!("<li><a href=\"/briefs/{}\">{}</a></li>", esc(id), esc(name)))
            .collect(),
        None => Vec::new(),
    };
    let body = format!(
        "<h1>Lodestone</h1><p class=\"sub\">Rare-earth supply-chain intelligence over the bundled world dataset: every figure traceable to its sources; most flows are estimates and say so.</p>{}\
         <h2>Who ships what to whom (2024, t REO)</h2><div id=\"map\" data-api=\"/api/map?year=2024\" style=\"width:100%;height:28rem\"></div><p id=\"map-status\" class=\"sub\">Loading…</p><p><small>By material and stage: <a href=\"/explore/map\">the map page</a>.</small></p><script src=\"/assets/echarts.min.js\"></script><script src=\"/assets/topojson-client.min.js\"></script><script src=\"/assets/map.js\"></script>\
         <h2>Explore</h2><ul><li><a href=\"/explore/map\">World map of flows</a> — who ships what to whom</li><li><a href=\"/explore/sankey\">The chain (Sankey)</a> — mining to use, by country</li><li><a href=\"/explore/risk\">Risk</a> — concentration and dependency</li><li><a href=\"/explore/trace\">Trace explorer</a> — where a product's rare earths come from</li><li><a href=\"/explore/rules\">Rule screening</a> — which trade rules bite, and when</li><li><a href=\"/explore/simulate\">Scenario runner</a> — what a disruption would do</li><li><a href=\"/records\">Records</a> — every country, company, facility, flow and source</li><li><a href=\"/api/openapi.json\">JSON API</a> (OpenAPI)</li></ul>\
         <h2>Country briefs</h2><ul class=\"cols\">{}</ul>",
        explore::headlines(&s).await,
        countries.join("")
    );
    Html(pages::page("Overview", &body)).into_response()
}

async fn records_index(State(s): State<Arc<AppState>>) -> Response {
    Html(pages::tables_page(&s.ds)).into_response()
}

async fn records_table(State(s): State<Arc<AppState>>, Path(kind): Path<String>) -> Response {
    match pages::table_page(&s.ds, &kind) {
        Some(html) => Html(html).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no table '{kind}'"),
            table_names(&s.ds),
        ),
    }
}

async fn record(
    State(s): State<Arc<AppState>>,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    if let Some(html) = pages::record_page(&s.ds, &kind, &id) {
        return Html(html).into_response();
    }
    let valid = match s.ds.table(&kind) {
        None => table_names(&s.ds),
        Some(t) => t.rows.iter().filter_map(|r| t.key_of(r)).take(20).collect(),
    };
    error(
        StatusCode::NOT_FOUND,
        format!("no record '{id}' in '{kind}'"),
        valid,
    )
}

async fn brief(State(s): State<Arc<AppState>>, Path(country): Path<String>) -> Response {
    if !s.ds.ids("countries").contains(&country) {
        return error(
            StatusCode::NOT_FOUND,
            format!("no country '{country}'"),
            vec!["ISO3 codes of the dataset, e.g. MYS".into()],
        );
    }
    let today = today();
    let options = lodestone_report::ReportOptions {
        country,
        year: 2024,
        as_of: today,
    };
    match lodestone_report::country_brief(&s.ds, &options) {
        Ok(html) => Html(html).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e, Vec::new()),
    }
}

async fn not_found(req: Request) -> Response {
    let paths: Vec<String> = ROUTES.iter().map(|r| r.path.to_string()).collect();
    error(
        StatusCode::NOT_FOUND,
        format!("no route {}", req.uri().path()),
        paths,
    )
}

/// Security headers on every response; requests that take too long get 503.
async fn guard(req: Request, next: Next) -> Response {
    let mut res = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the request took too long".into(),
            Vec::new(),
        ),
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// The router over a loaded dataset.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/tables", get(tables))
        .route("/api/tables/{kind}", get(table_rows))
        .route("/api/tables/{kind}/{id}", get(table_record))
        .route("/api/check", get(check))
        .route("/api/rules", get(rules))
        .route("/api/trace", get(trace_node))
        .route("/api/rules/check", get(rules_check))
        .route("/api/sankey", get(sankey))
        .route("/api/map", get(map_links))
        .route("/api/risk/concentration", get(risk_concentration))
        .route("/explore/risk", get(explore::risk_page))
        .route("/explore/map", get(explore::map_page))
        .route("/assets/{name}", get(asset))
        .route("/explore/sankey", get(explore::sankey_page))
        .route("/api/risk/dependency/{country}", get(risk_dependency))
        .route("/api/simulations", get(jobs::list).post(jobs::start))
        .route(
            "/api/simulations/{job}",
            get(jobs::show).delete(jobs::cancel),
        )
        .route("/api/openapi.json", get(openapi_doc))
        .route("/", get(index))
        .route("/explore/trace", get(explore::trace_page))
        .route("/explore/rules", get(explore::rules_page))
        .route(
            "/explore/simulate",
            get(explore::simulate_page).post(explore::simulate_start),
        )
        .route("/explore/simulate/{job}", get(explore::job_page))
        .route("/explore/simulate/{job}/cancel", post(explore::job_cancel))
        .route("/records", get(records_index))
        .route("/records/{kind}", get(records_table))
        .route("/records/{kind}/{id}", get(record))
        .route("/briefs/{country}", get(brief))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(guard))
        .with_state(state)
}

/// Binds `addr` and serves until the process ends; calls `ready` with the bound address.
pub async fn serve(
    ds: World,
    report: lodestone_format::Report,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    serve_state(AppState::new(ds, report), addr, ready).await
}

/// [`serve`] with a prepared state.
pub async fn serve_state(
    state: AppState,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    ready(bound);
    axum::serve(listener, router(Arc::new(state)))
        .await
        .map_err(|e| e.to_string())
}
