//! `lodestone serve`: the web dashboard and the JSON API over a loaded dataset.
//!
//! * The API (`api`): every question is a view of `lodestone_world::views`, parsed from a typed
//!   query and answered as JSON, or as CSV or XLSX with `format=`; the scenario jobs (`jobs`).
//!   Its OpenAPI document is generated from the route table and the views' types (`openapi`).
//! * The pages: the overview, search, the explorers (`explore`) and the rules page render the
//!   same views through askama templates (`templates`); record pages (`pages`); the briefs.
//! * Safety: loopback by default, a CSP that allows scripts and styles from this server only,
//!   nosniff and frame denial, request size and time limits, escaped output, errors with a
//!   stable shape (JSON for the API, an HTML page for pages).

pub mod api;
pub mod commission;
pub mod error;
pub mod explore;
pub mod jobs;
pub mod openapi;
pub mod pages;
pub mod store;
pub mod templates;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use lodestone_model::Date;
use lodestone_world::World;
use lodestone_world::views::resolve::resolve_country_set;
use lodestone_world::views::{Analysis, ViewError};

pub use error::{ApiError, PageError};
pub use openapi::{ROUTES, Route, openapi};

/// How long a request may take before the server answers 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Shared state: the analysed world, its validation report, and the simulation jobs.
pub struct AppState {
    /// The world (loaded without errors) and the analyses computed so far (each lowering, trace
    /// and concentration table is computed once: the dataset cannot change while the server runs).
    pub analysis: Analysis,
    /// Its validation report (warnings only).
    pub report: lodestone_format::Report,
    /// Scenario jobs started over the API.
    jobs: std::sync::Mutex<jobs::Jobs>,
    /// Where finished jobs are kept, if anywhere.
    job_store: Option<store::JobStore>,
    /// Host names the server answers (any port): DNS rebinding cannot read the API through a
    /// name the server was not configured for.
    allowed_hosts: Vec<String>,
    /// The oversight commission's registry, when the server runs with one.
    pub commission: Option<Arc<commission::Commission>>,
    /// The token the server's forms carry; a form post without it is refused.
    csrf: String,
}

/// The host names answered by default: the loopback names.
pub const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// A random token (128 bits from the standard library's randomly keyed SipHash).
fn random_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    for i in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(i);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

impl AppState {
    /// The state of a server over `world`, with no jobs yet.
    pub fn new(world: World, report: lodestone_format::Report) -> Self {
        AppState {
            analysis: Analysis::new(world),
            report,
            jobs: Default::default(),
            job_store: None,
            allowed_hosts: LOOPBACK_HOSTS.iter().map(|h| h.to_string()).collect(),
            csrf: random_token(),
            commission: None,
        }
    }

    /// Also answers requests for these host names (e.g. the name of a server on a network).
    pub fn with_allowed_hosts(mut self, hosts: &[String]) -> Self {
        self.allowed_hosts
            .extend(hosts.iter().map(|h| h.to_ascii_lowercase()));
        self
    }

    /// Keeps finished jobs in `dir` (created if needed) and restores those already there, so jobs
    /// survive a restart. Returns the state and a message per stored file that was skipped.
    pub fn with_jobs_dir(mut self, dir: &std::path::Path) -> Result<(Self, Vec<String>), String> {
        let store = store::JobStore::open(dir)?;
        let (records, mut problems) = store.load();
        let (jobs, skipped) = jobs::Jobs::restore(&records);
        problems.extend(skipped);
        self.jobs = std::sync::Mutex::new(jobs);
        self.job_store = Some(store);
        Ok((self, problems))
    }

    /// Serves the commission's registry too (`/commission`, `/api/commission`).
    pub fn with_commission(mut self, c: commission::Commission) -> Self {
        self.commission = Some(Arc::new(c));
        self
    }

    /// The token the server's forms must carry.
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// The world served.
    pub fn world(&self) -> &World {
        &self.analysis.world
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

/// Runs a view's computation on the blocking pool, never on the async workers.
pub async fn blocking<T: Send + 'static>(
    s: &Arc<AppState>,
    work: impl FnOnce(&Analysis) -> Result<T, ViewError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = s.clone();
    tokio::task::spawn_blocking(move || work(&state.analysis))
        .await
        .map_err(|e| ApiError::internal(format!("the computation failed: {e}")))?
        .map_err(ApiError::from)
}

/// A JSON error with a stable shape: `{"error": {"status", "message", "valid"}}`.
pub(crate) fn error(status: StatusCode, message: String, valid: Vec<String>) -> Response {
    ApiError::new(status, message, valid).into_response()
}

pub(crate) fn json(v: serde_json::Value) -> Response {
    axum::Json(v).into_response()
}

/// Embedded assets: (name, media type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css",
        include_bytes!("../assets/style.css"),
    ),
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
        "backtest.js",
        "text/javascript",
        include_bytes!("../assets/backtest.js"),
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
        None => ApiError::not_found(
            format!("no asset '{name}'"),
            ASSETS.iter().map(|(n, _, _)| n.to_string()).collect(),
        )
        .into_response(),
    }
}

async fn openapi_doc() -> Response {
    axum::Json(openapi()).into_response()
}

fn table_names(s: &AppState) -> Vec<String> {
    s.world()
        .tables
        .iter()
        .map(|t| t.schema.name.clone())
        .collect()
}

async fn records_index(State(s): State<Arc<AppState>>) -> Response {
    Html(pages::tables_page(s.world())).into_response()
}

async fn records_table(
    State(s): State<Arc<AppState>>,
    Path(kind): Path<String>,
) -> Result<Response, PageError> {
    pages::table_page(s.world(), &kind)
        .map(|html| Html(html).into_response())
        .ok_or_else(|| ApiError::not_found(format!("no table '{kind}'"), table_names(&s)).into())
}

async fn record(
    State(s): State<Arc<AppState>>,
    Path((kind, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    if let Some(html) = pages::record_page(s.world(), &kind, &id) {
        return Ok(Html(html).into_response());
    }
    Err(match s.world().table(&kind) {
        None => ApiError::not_found(format!("no table '{kind}'"), table_names(&s)),
        Some(_) => {
            let u = lodestone_world::views::risk::unknown_record(s.world(), &kind, &id);
            ApiError::not_found(format!("no record '{id}' in '{kind}'"), u.valid)
        }
    }
    .into())
}

/// `GET /briefs/{id}`: the brief of a country or a group, rendered off the async workers.
async fn brief(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let who =
        resolve_country_set(s.world(), &id).map_err(|u| PageError::from(ViewError::NotFound(u)))?;
    let options = lodestone_report::ReportOptions {
        country: who.id.clone(),
        year: lodestone_world::views::DEFAULT_YEAR,
        as_of: today(),
        dashboard_links: true,
    };
    let html = blocking(&s, move |a| {
        lodestone_report::country_brief(a, &options).map_err(ViewError::NoData)
    })
    .await?;
    Ok((
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&format!(
                "{}; frame-ancestors 'none'",
                lodestone_report::BRIEF_CSP
            ))
            .map_err(|e| PageError(ApiError::internal(e.to_string())))?,
        )],
        Html(html),
    )
        .into_response())
}

/// Unknown routes: JSON under /api, an HTML page elsewhere.
async fn not_found(req: Request) -> Response {
    let path = req.uri().path().to_string();
    let paths: Vec<String> = ROUTES.iter().map(|r| r.path.to_string()).collect();
    let e = ApiError::not_found(format!("no route {path}"), paths);
    if path.starts_with("/api/") {
        e.into_response()
    } else {
        PageError(e).into_response()
    }
}

/// The CSP of every response: scripts, styles and data from this server only; forms post here.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The host name of a `Host` header value (without the port; IPv6 literals keep their brackets).
fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if host.starts_with('[') {
        return host
            .split(']')
            .next()
            .map_or(host.clone(), |h| format!("{h}]"));
    }
    host.rsplit_once(':')
        .map_or(host.clone(), |(h, _)| h.to_string())
}

/// Refuses requests for host names the server is not configured for (DNS rebinding), and
/// state-changing requests from another origin (cross-site request forgery).
fn cross_site_check(s: &AppState, req: &Request) -> Result<(), ApiError> {
    let header = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let host = header(header::HOST).unwrap_or_default();
    let name = host_name(&host);
    if !s.allowed_hosts.contains(&name) {
        return Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            format!("this server does not answer for the host '{host}'"),
            s.allowed_hosts.clone(),
        ));
    }
    let changes_state = !matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if changes_state {
        // Browsers send Origin with every cross-origin POST and DELETE; it must be this server.
        if let Some(origin) = header(header::ORIGIN) {
            let same = ["http://", "https://"]
                .iter()
                .any(|scheme| origin.eq_ignore_ascii_case(&format!("{scheme}{host}")));
            if !same {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("a request from the origin '{origin}' cannot change anything here"),
                    vec![format!("requests from http://{host}")],
                ));
            }
        }
        if header(header::HeaderName::from_static("sec-fetch-site"))
            .is_some_and(|v| v != "same-origin" && v != "none")
        {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "a cross-site request cannot change anything here",
                Vec::new(),
            ));
        }
    }
    Ok(())
}

/// Security headers on every response; requests that take too long get 503.
async fn guard(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if let Err(e) = cross_site_check(&s, &req) {
        return with_security_headers(e.into_response());
    }
    let path = req.uri().path().to_string();
    let res = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the request took too long".into(),
            Vec::new(),
        ),
    };
    with_security_headers(errors_in_our_shape(res, &path).await)
}

/// Errors that the framework answers itself (a wrong method, a body over the limit, a path
/// segment that is not UTF-8, a body that is not UTF-8) come as plain text or empty: give them
/// the shape of every other error — JSON under /api, an HTML page elsewhere.
async fn errors_in_our_shape(res: Response, path: &str) -> Response {
    let api = path.starts_with("/api/");
    let status = res.status();
    let ours = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || ours {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let body = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_string();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
    } else {
        text
    };
    let mut valid: Vec<String> = allow
        .as_ref()
        .and_then(|a| a.to_str().ok())
        .map(|a| a.split(',').map(|m| m.trim().to_string()).collect())
        .unwrap_or_default();
    if status == StatusCode::METHOD_NOT_ALLOWED && valid.is_empty() {
        valid = allowed_methods(path);
    }
    let e = ApiError::new(status, message, valid);
    let mut out = if api {
        e.into_response()
    } else {
        PageError(e).into_response()
    };
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

/// The methods the route table has for `path` (`{param}` matches one segment).
fn allowed_methods(path: &str) -> Vec<String> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut out: Vec<String> = ROUTES
        .iter()
        .filter(|r| {
            let pattern: Vec<&str> = r.path.trim_end_matches('/').split('/').collect();
            pattern.len() == segments.len()
                && pattern
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| p.starts_with('{') || p == s)
        })
        .map(|r| r.method.to_ascii_uppercase())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Adds the security headers to a response.
fn with_security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    // The brief is a self-contained document with its own inline style sheet and its own CSP.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: under it browsers send `Origin: null` with same-origin form posts,
        // which the cross-site check must then refuse. `same-origin` sends nothing elsewhere.
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// The router over a loaded dataset.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/health", get(api::health))
        .route("/api/tables", get(api::tables))
        .route("/api/tables/{kind}", get(api::table_rows))
        .route("/api/tables/{kind}/{id}", get(api::table_record))
        .route("/api/check", get(api::check))
        .route("/api/search", get(api::search_records))
        .route("/api/rules", get(api::rules))
        .route("/api/rules/check", get(api::rules_check))
        .route("/api/rules/timeline", get(api::rules_timeline))
        .route("/api/trace", get(api::trace))
        .route("/api/risk/concentration", get(api::risk_concentration))
        .route("/api/risk/dependency", get(api::risk_dependency))
        .route(
            "/api/risk/dependency/{country}",
            get(api::risk_dependency_path),
        )
        .route("/api/risk/benchmarks", get(api::risk_benchmarks))
        .route("/api/risk/critical", get(api::risk_critical))
        .route("/api/reconcile", get(api::reconcile))
        .route("/explore/reconcile", get(explore::reconcile_page))
        .route("/api/map", get(api::map_links))
        .route("/api/sankey", get(api::sankey_data))
        .route("/api/briefs/{id}", get(api::brief_view))
        .route("/api/simulations", get(jobs::list).post(jobs::start))
        .route("/api/simulations/compare", get(jobs::compare_api))
        .route(
            "/api/simulations/{job}",
            get(jobs::show).delete(jobs::cancel),
        )
        .route("/api/simulations/{job}/results", get(jobs::results))
        .route("/api/openapi.json", get(openapi_doc))
        .route(
            "/api/commission/reviews",
            get(commission::api_reviews).post(commission::api_open_review),
        )
        .route("/api/commission/reviews/{id}", get(commission::api_review))
        .route(
            "/api/commission/reviews/{id}/steps",
            post(commission::api_step),
        )
        .route(
            "/api/commission/agreements",
            get(commission::api_agreements),
        )
        .route(
            "/api/commission/agreements/releases",
            post(commission::api_add_release),
        )
        .route(
            "/api/commission/accounts",
            get(commission::api_accounts).post(commission::api_create_account),
        )
        .route(
            "/api/commission/session",
            post(commission::api_sign_in).delete(commission::api_sign_out),
        )
        .route(
            "/api/commission/agreements/{id}/documents",
            // Documents are larger than any other request: base64 of up to 8 MiB.
            post(commission::api_add_document).layer(DefaultBodyLimit::max(12 << 20)),
        )
        .route(
            "/api/commission/documents/{sha256}",
            get(commission::api_document),
        )
        .route(
            "/api/commission/accounts/{username}/password",
            post(commission::api_change_password),
        )
        .route(
            "/api/commission/checkpoint",
            get(commission::api_checkpoint),
        )
        .route(
            "/api/commission/consistency",
            get(commission::api_consistency),
        )
        .route("/api/commission/inclusion", get(commission::api_inclusion))
        .route("/commission", get(commission::portal_page))
        .route(
            "/commission/agreements",
            post(commission::new_agreement_submit),
        )
        .route(
            "/commission/agreements/{id}",
            get(commission::agreement_page),
        )
        .route(
            "/commission/agreements/{id}/releases",
            post(commission::release_submit),
        )
        .route(
            "/commission/accounts",
            get(commission::accounts_page).post(commission::account_submit),
        )
        .route(
            "/commission/accounts/{username}/deactivate",
            post(commission::deactivate_submit),
        )
        .route(
            "/commission/login",
            get(commission::login_page).post(commission::login_submit),
        )
        .route("/commission/logout", post(commission::logout_submit))
        .route(
            "/commission/agreements/{id}/review",
            post(commission::open_review_submit),
        )
        .route(
            "/commission/reviews/{id}",
            get(commission::review_page).post(commission::step_submit),
        )
        .route("/", get(explore::index))
        .route("/search", get(explore::search_page))
        .route("/rules", get(explore::rules_list_page))
        .route("/explore/risk", get(explore::risk_page))
        .route("/explore/map", get(explore::map_page))
        .route("/explore/sankey", get(explore::sankey_page))
        .route("/explore/trace", get(explore::trace_page))
        .route("/explore/rules", get(explore::rules_page))
        .route(
            "/explore/simulate",
            get(jobs::simulate_page).post(jobs::simulate_start),
        )
        .route("/explore/simulate/compare", get(jobs::compare_page))
        .route("/explore/simulate/{job}", get(jobs::job_page))
        .route("/explore/simulate/{job}/cancel", post(jobs::job_cancel))
        .route("/assets/{name}", get(asset))
        .route("/records", get(records_index))
        .route("/records/{kind}", get(records_table))
        .route("/records/{kind}/{id}", get(record))
        .route("/briefs/{id}", get(brief))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Limits on connections, so that no client can stall the server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Connections served at once; more are answered 503 and closed at once.
    pub max_connections: usize,
    /// Time a client has to send a request's headers, and the longest a kept-alive connection may
    /// sit idle between requests.
    pub header_timeout: Duration,
    /// The longest a connection may stay open, however busy.
    pub connection_lifetime: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            connection_lifetime: Duration::from_secs(600),
        }
    }
}

/// Binds `addr` and serves until the process ends; calls `ready` with the bound address.
pub async fn serve(
    world: World,
    report: lodestone_format::Report,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    serve_state(AppState::new(world, report), addr, ready).await
}

/// [`serve`] with a prepared state and the default [`Limits`].
pub async fn serve_state(
    state: AppState,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    serve_with_limits(state, addr, Limits::default(), ready).await
}

/// A connection whose bare error responses — those hyper writes itself when a request's head
/// cannot be parsed (414, 431, 400), which never reach the router — are replaced by the project's
/// JSON error with the security headers. Every response of the router carries a CSP, so a
/// response head without one is hyper's own.
struct BareErrors<T> {
    inner: T,
    /// Our replacement, still to be written, and how much of it is.
    pending: Vec<u8>,
    written: usize,
}

impl<T> BareErrors<T> {
    fn new(inner: T) -> Self {
        BareErrors {
            inner,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// Our error response for a bare one, if `buf` is the head of a response without a CSP.
fn replace_bare_error(buf: &[u8]) -> Option<Vec<u8>> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 ") || head.contains("content-security-policy") {
        return None;
    }
    let code: u16 = head.get(9..12)?.parse().ok()?;
    let status = StatusCode::from_u16(code).ok()?;
    let body = serde_json::json!({"error": {
        "status": code,
        "message": format!(
            "the request could not be read: {}",
            status.canonical_reason().unwrap_or("bad request").to_ascii_lowercase()
        ),
        "valid": [],
    }})
    .to_string();
    Some(
        format!(
            "HTTP/1.1 {code} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\ncontent-security-policy: {CSP}\r\nx-content-type-options: nosniff\r\nx-frame-options: DENY\r\nreferrer-policy: no-referrer\r\n\r\n{body}",
            status.canonical_reason().unwrap_or(""),
            body.len()
        )
        .into_bytes(),
    )
}

impl<T: hyper::rt::Write + Unpin> BareErrors<T> {
    /// Writes what is pending of the replacement.
    fn poll_pending(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        while self.written < self.pending.len() {
            match std::pin::Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..])
            {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: hyper::rt::Read + Unpin> hyper::rt::Read for BareErrors<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: hyper::rt::Write + Unpin> hyper::rt::Write for BareErrors<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        match self.poll_pending(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        if let Some(ours) = replace_bare_error(buf) {
            self.pending = ours;
            self.written = 0;
            // The caller's bytes count as written: ours replace them.
            return match self.poll_pending(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        match self.poll_pending(cx) {
            Poll::Ready(Ok(())) => std::pin::Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        match self.poll_pending(cx) {
            Poll::Ready(Ok(())) => std::pin::Pin::new(&mut self.inner).poll_shutdown(cx),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        // Contiguous writes, so that a response head is seen whole.
        false
    }
}

/// The answer to a connection over the limit, written before closing it.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nX-Content-Type-Options: nosniff\r\nContent-Security-Policy: default-src 'none'\r\nContent-Length: 100\r\n\r\n{\"error\":{\"status\":503,\"message\":\"the server is serving as many connections as it may\",\"valid\":[]}}\n";

/// [`serve`] with a prepared state and explicit limits: at most `max_connections` at once,
/// each with a header-read (and idle keep-alive) timeout and a lifetime.
pub async fn serve_with_limits(
    state: AppState,
    addr: SocketAddr,
    limits: Limits,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    ready(bound);
    let app = router(Arc::new(state));
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            // Out of file descriptors and the like: wait a moment rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            // A fresh connection's send buffer takes the whole answer without waiting.
            let _ = stream.try_write(BUSY);
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(
                    BareErrors::new(hyper_util::rt::TokioIo::new(stream)),
                    service,
                );
            let _ = tokio::time::timeout(limits.connection_lifetime, conn).await;
            drop(permit);
        });
    }
}
