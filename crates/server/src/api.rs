//! The JSON API: each handler parses the view's typed query ([`ApiQuery`]), computes the view
//! off the async workers and answers it as JSON — or, with `format=csv|xlsx`, its rows as a
//! download. Errors are [`ApiError`]s.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lodestone_format::export::rows_json;
use lodestone_model::OutputFormat;
use lodestone_world::views::Tabular;
use lodestone_world::views::chain::{MapQuery, SankeyQuery, map, sankey};
use lodestone_world::views::reconcile::{ReconcileQuery, reconciliation};
use lodestone_world::views::risk::{
    BenchmarkQuery, ConcentrationQuery, CriticalQuery, DependencyQuery, benchmarks, concentration,
    critical, dependency, unknown_record,
};
use lodestone_world::views::rules::{
    RulesQuery, ScreeningQuery, TimelineQuery, rules_on, screening, timeline_view,
};
use lodestone_world::views::search::{SearchQuery, search};
use lodestone_world::views::trace::{TraceQuery, trace_node};
use serde::Serialize;

use crate::error::{ApiError, ApiQuery};
use crate::{AppState, blocking, today};

/// A result of the API.
pub type ApiResult = Result<Response, ApiError>;

/// A view as JSON, or its rows as CSV, XLSX or a text table, as `format` asks.
pub fn respond<V: Serialize, R: Tabular>(
    view: &V,
    rows: &[R],
    format: OutputFormat,
    name: &str,
) -> ApiResult {
    let attachment = |ext: &str| {
        HeaderValue::from_str(&format!("attachment; filename=\"{name}.{ext}\""))
            .unwrap_or(HeaderValue::from_static("attachment"))
    };
    Ok(match format {
        OutputFormat::Json => Json(view).into_response(),
        OutputFormat::Table => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            lodestone_render::text_table(rows),
        )
            .into_response(),
        OutputFormat::Csv => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, attachment("csv")),
            ],
            lodestone_render::csv(rows),
        )
            .into_response(),
        OutputFormat::Xlsx => {
            let book = lodestone_render::xlsx(rows, name).map_err(ApiError::internal)?;
            (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static(
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        ),
                    ),
                    (header::CONTENT_DISPOSITION, attachment("xlsx")),
                ],
                book,
            )
                .into_response()
        }
    })
}

/// Server status and the dataset's tables with row counts.
#[derive(Serialize, schemars::JsonSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// The tables and their row counts.
    pub tables: Vec<TableInfo>,
    /// Number of rules.
    pub rules: usize,
}

/// A table of the schema.
#[derive(Serialize, schemars::JsonSchema)]
pub struct TableInfo {
    /// Table name.
    pub name: String,
    /// File in the dataset directory.
    pub file: String,
    /// What it holds.
    pub description: String,
    /// Number of rows.
    pub rows: usize,
}

fn table_infos(s: &AppState) -> Vec<TableInfo> {
    s.analysis
        .world
        .tables
        .iter()
        .map(|t| TableInfo {
            name: t.schema.name.clone(),
            file: t.schema.file.clone(),
            description: t.schema.description.clone(),
            rows: t.rows.len(),
        })
        .collect()
}

/// `GET /api/health`.
pub async fn health(State(s): State<Arc<AppState>>) -> Json<Health> {
    Json(Health {
        status: "ok",
        tables: table_infos(&s),
        rules: s.analysis.world.rules.len(),
    })
}

/// `GET /api/tables`.
pub async fn tables(State(s): State<Arc<AppState>>) -> Json<Vec<TableInfo>> {
    Json(table_infos(&s))
}

fn table_names(s: &AppState) -> Vec<String> {
    s.analysis
        .world
        .tables
        .iter()
        .map(|t| t.schema.name.clone())
        .collect()
}

/// `GET /api/tables/{kind}`: every record of a table, keyed by the schema's column names; with
/// `format=csv`, the table in the dataset's own CSV format.
pub async fn table_rows(
    State(s): State<Arc<AppState>>,
    Path(kind): Path<String>,
    q: ApiQuery<crate::jobs::NoQuery>,
) -> ApiResult {
    let t = s
        .analysis
        .world
        .table(&kind)
        .ok_or_else(|| ApiError::not_found(format!("no table '{kind}'"), table_names(&s)))?;
    let rows: Vec<_> = t.rows.iter().collect();
    match q.format {
        OutputFormat::Json => Ok(Json(rows_json(t, &rows)).into_response()),
        OutputFormat::Csv => Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&format!("attachment; filename=\"{}\"", t.schema.file))
                        .unwrap_or(HeaderValue::from_static("attachment")),
                ),
            ],
            lodestone_format::export::rows_csv(t, &rows),
        )
            .into_response()),
        other => Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            format!("a dataset table is served as json or csv, not {other}"),
            vec!["json".into(), "csv".into()],
        )),
    }
}

/// `GET /api/tables/{kind}/{id}`: one record with its sources and referrers.
pub async fn table_record(
    State(s): State<Arc<AppState>>,
    Path((kind, id)): Path<(String, String)>,
) -> ApiResult {
    let world = &s.analysis.world;
    let t = world
        .table(&kind)
        .ok_or_else(|| ApiError::not_found(format!("no table '{kind}'"), table_names(&s)))?;
    if !t.schema.has_single_id() {
        return Err(ApiError::not_found(
            format!("table '{kind}' has a compound key; list it at /api/tables/{kind}"),
            Vec::new(),
        ));
    }
    match t.find(&id) {
        Some(_) => {
            Ok(Json(lodestone_world::views::record::record(world, &kind, &id)?).into_response())
        }
        None => {
            let u = unknown_record(world, &kind, &id);
            Err(ApiError::not_found(
                format!("no {kind} with id '{id}'"),
                u.valid,
            ))
        }
    }
}

/// `GET /api/check`: the validation report.
pub async fn check(State(s): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(s.report.to_json())
}

/// `GET /api/rules`.
pub async fn rules(State(s): State<Arc<AppState>>, q: ApiQuery<RulesQuery>) -> ApiResult {
    let v = rules_on(&s.analysis.world, &q.query, today())?;
    respond(&v, &v.rules, q.format, "rules")
}

/// `GET /api/trace`.
pub async fn trace(State(s): State<Arc<AppState>>, q: ApiQuery<TraceQuery>) -> ApiResult {
    let v = blocking(&s, move |a| trace_node(a, &q.query)).await?;
    respond(&v, &v.rows, q.format, "trace")
}

/// `GET /api/rules/check`.
pub async fn rules_check(State(s): State<Arc<AppState>>, q: ApiQuery<ScreeningQuery>) -> ApiResult {
    let v = blocking(&s, move |a| screening(a, &q.query, today())).await?;
    respond(&v, &v.determinations, q.format, "screening")
}

/// `GET /api/rules/timeline`.
pub async fn rules_timeline(
    State(s): State<Arc<AppState>>,
    q: ApiQuery<TimelineQuery>,
) -> ApiResult {
    let v = blocking(&s, move |a| timeline_view(a, &q.query)).await?;
    Ok(Json(v).into_response())
}

/// `GET /api/risk/concentration`.
pub async fn risk_concentration(
    State(s): State<Arc<AppState>>,
    q: ApiQuery<ConcentrationQuery>,
) -> ApiResult {
    let v = blocking(&s, move |a| concentration(a, &q.query)).await?;
    respond(&v, &v.rows, q.format, "concentration")
}

/// `GET /api/risk/dependency?country=`.
pub async fn risk_dependency(
    State(s): State<Arc<AppState>>,
    q: ApiQuery<DependencyQuery>,
) -> ApiResult {
    let v = blocking(&s, move |a| dependency(a, &q.query)).await?;
    respond(&v, &v.rows, q.format, "dependency")
}

/// The query of `/api/risk/dependency/{country}`: the country is in the path.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DependencyPathQuery {
    /// Year of the flows (default 2024).
    #[serde(default = "lodestone_world::views::default_year")]
    pub year: i64,
    /// Only receipts of this material id.
    #[serde(default)]
    pub material: Option<String>,
    /// Only receipts at this chain stage.
    #[serde(default)]
    pub stage: Option<lodestone_model::Stage>,
}

/// `GET /api/risk/dependency/{country}`.
pub async fn risk_dependency_path(
    State(s): State<Arc<AppState>>,
    Path(country): Path<String>,
    q: ApiQuery<DependencyPathQuery>,
) -> ApiResult {
    let format = q.format;
    let query = DependencyQuery {
        country,
        year: q.query.year,
        material: q.query.material,
        stage: q.query.stage,
    };
    let v = blocking(&s, move |a| dependency(a, &query)).await?;
    respond(&v, &v.rows, format, "dependency")
}

/// `GET /api/risk/benchmarks`.
pub async fn risk_benchmarks(
    State(s): State<Arc<AppState>>,
    q: ApiQuery<BenchmarkQuery>,
) -> ApiResult {
    let v = blocking(&s, move |a| benchmarks(a, &q.query)).await?;
    respond(&v, &v.rows, q.format, "benchmarks")
}

/// `GET /api/reconcile?year=`: the year's flows against the published figures.
pub async fn reconcile(State(s): State<Arc<AppState>>, q: ApiQuery<ReconcileQuery>) -> ApiResult {
    let v = blocking(&s, move |a| reconciliation(a, &q.query)).await?;
    respond(&*v, &v.references, q.format, "reconcile")
}

/// `GET /api/risk/critical`.
pub async fn risk_critical(
    State(s): State<Arc<AppState>>,
    q: ApiQuery<CriticalQuery>,
) -> ApiResult {
    let v = blocking(&s, move |a| critical(a, &q.query)).await?;
    respond(&v, &v.rows, q.format, "critical")
}

/// `GET /api/map`.
pub async fn map_links(State(s): State<Arc<AppState>>, q: ApiQuery<MapQuery>) -> ApiResult {
    let v = blocking(&s, move |a| map(a, &q.query)).await?;
    respond(&v, &v.links, q.format, "routes")
}

/// `GET /api/sankey`.
pub async fn sankey_data(State(s): State<Arc<AppState>>, q: ApiQuery<SankeyQuery>) -> ApiResult {
    let v = blocking(&s, move |a| sankey(a, &q.query)).await?;
    Ok(Json(v).into_response())
}

/// The query of `/api/briefs/{id}`: the country or group is in the path.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BriefPathQuery {
    /// Year of the flows (default 2024).
    #[serde(default = "lodestone_world::views::default_year")]
    pub year: i64,
    /// Date of the rule states (default today).
    #[serde(default)]
    pub as_of: Option<lodestone_model::Date>,
}

/// `GET /api/briefs/{id}`: the brief's sections as data (the page at /briefs/{id} renders them).
pub async fn brief_view(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    q: ApiQuery<BriefPathQuery>,
) -> ApiResult {
    let query = lodestone_world::views::brief::BriefQuery {
        country: id,
        year: q.query.year,
        as_of: q.query.as_of,
    };
    let v = blocking(&s, move |a| {
        lodestone_world::views::brief::brief(a, &query, today())
    })
    .await?;
    Ok(Json(v).into_response())
}

/// `GET /api/search`.
pub async fn search_records(State(s): State<Arc<AppState>>, q: ApiQuery<SearchQuery>) -> ApiResult {
    let v = search(&s.analysis.world, &q.query)?;
    respond(&v, &v.hits, q.format, "search")
}
