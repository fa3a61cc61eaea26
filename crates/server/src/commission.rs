//! The oversight commission's workplace over HTTP: the JSON API under `/api/commission` and the
//! pages under `/commission`. Every handler reads who is asking from the session cookie, and
//! every decision about what they may do is `lodestone_registry::access::authorize` inside the
//! registry's functions; the handlers only translate.
//!
//! State-changing requests need, besides the guard's Origin and Fetch-Metadata checks, the
//! session's CSRF token (header `x-csrf-token` for the API, field `csrf` for forms). Signing in
//! always issues a new session token (no fixation); failed sign-ins are rate limited per
//! account and in total.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use lodestone_model::Date;
use lodestone_registry::access::{Action, Actor, Constituency, Role};
use lodestone_registry::commission::{
    self as cm, ComputedItem, NewAccount, ReviewLine, ReviewView,
};
use lodestone_registry::{Registry, RegistryError, agreements, merkle};
use lodestone_world::views::impact::{Addition, Assessment, ImpactView, impact, value_text};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::templates::render;
use crate::{ApiError, AppState, PageError};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lodestone_session";
/// The sign-in form's CSRF cookie (before there is a session).
pub const LOGIN_COOKIE: &str = "lodestone_login";
/// Failed sign-ins allowed per account in [`LOCKOUT_WINDOW`].
pub const MAX_FAILURES_PER_ACCOUNT: usize = 5;
/// Failed sign-ins allowed in total in [`LOCKOUT_WINDOW`] (a guessing run across accounts).
pub const MAX_FAILURES_TOTAL: usize = 50;
/// The window of the sign-in limits.
pub const LOCKOUT_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The registry and what the server keeps about sign-ins.
pub struct Commission {
    /// The registry.
    pub registry: Registry,
    /// Failed sign-ins by account, with their times.
    failures: Mutex<HashMap<String, Vec<Instant>>>,
    /// Whether cookies carry `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// The log's public key, as published.
    pub verifier: String,
}

impl Commission {
    /// A commission over an open registry.
    pub fn new(registry: Registry, verifier: String, secure_cookies: bool) -> Commission {
        Commission {
            registry,
            failures: Mutex::default(),
            secure_cookies,
            verifier,
        }
    }

    fn too_many_failures(&self, username: &str) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        for times in f.values_mut() {
            times.retain(|t| now.duration_since(*t) < LOCKOUT_WINDOW);
        }
        f.retain(|_, v| !v.is_empty());
        let total: usize = f.values().map(Vec::len).sum();
        total >= MAX_FAILURES_TOTAL
            || f.get(username)
                .is_some_and(|v| v.len() >= MAX_FAILURES_PER_ACCOUNT)
    }

    fn record_failure(&self, username: &str) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: unknown names count towards the total under one key.
        let key = if f.len() > 10_000 { "*" } else { username };
        f.entry(key.to_string()).or_default().push(Instant::now());
    }

    fn clear_failures(&self, username: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(username);
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> ApiError {
        let status = match &e {
            RegistryError::Usage(_) => StatusCode::BAD_REQUEST,
            RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
            RegistryError::Conflict(_) => StatusCode::CONFLICT,
            RegistryError::Forbidden(_) => StatusCode::FORBIDDEN,
            RegistryError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
            RegistryError::Key(_) | RegistryError::Tampered(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string(), Vec::new())
    }
}

fn commission(s: &AppState) -> Result<&Commission, ApiError> {
    s.commission.as_deref().ok_or_else(|| {
        ApiError::not_found(
            "this server runs without a registry (start it with `lodestone serve --db …`)",
            Vec::new(),
        )
    })
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Who is asking: the session's account, or the public.
async fn viewer(
    c: &Commission,
    headers: &HeaderMap,
) -> Result<(Actor, Option<cm::Session>), ApiError> {
    match cookie(headers, SESSION_COOKIE) {
        Some(token) => match cm::session(&c.registry, token).await? {
            Some(s) => Ok((s.actor.clone(), Some(s))),
            None => Ok((Actor::public(), None)),
        },
        None => Ok((Actor::public(), None)),
    }
}

/// The signed-in actor of a state-changing request whose CSRF token matches its session.
async fn acting(
    c: &Commission,
    headers: &HeaderMap,
    form_token: Option<&str>,
) -> Result<Actor, ApiError> {
    let (actor, session) = viewer(c, headers).await?;
    let Some(session) = session else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sign in first (POST /api/commission/session)",
            Vec::new(),
        ));
    };
    let given = form_token.or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
    if given.is_none_or(|g| !constant_time_eq(g.as_bytes(), session.csrf.as_bytes())) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the CSRF token is missing or wrong: send the session's token in x-csrf-token (API) or the form's csrf field",
            Vec::new(),
        ));
    }
    Ok(actor)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn session_cookie(c: &Commission, token: &str, max_age: i64) -> HeaderValue {
    let secure = if c.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("lodestone_session=; Path=/; Max-Age=0"))
}

// ---------------------------------------------------------------------------------------------
// Computing a review's impact

/// The evidence and the computed checklist of an agreement, from its compiled record's
/// `effects` (rows the dataset would gain or replace) and `assessment` (`country`, `year`,
/// `as_of`, `destinations` with end uses, `also_on` dates, and product `nodes` to screen besides
/// the new facilities' products). A malformed effect or assessment is an error, never ignored.
pub fn impact_of_record(
    analysis: &lodestone_world::views::Analysis,
    compiled: &Value,
    today: Date,
) -> Result<(ImpactView, Vec<ComputedItem>), ApiError> {
    let bad = |what: &str, e: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the agreement's {what} is malformed: {e}"),
            Vec::new(),
        )
    };
    let additions: Vec<Addition> = match &compiled["effects"] {
        Value::Null => Vec::new(),
        v => serde_json::from_value(v.clone()).map_err(|e| bad("effects", e.to_string()))?,
    };
    let assessment: Assessment = match &compiled["assessment"] {
        Value::Null => Assessment::default(),
        v => serde_json::from_value(v.clone()).map_err(|e| bad("assessment", e.to_string()))?,
    };
    let q = assessment.query(additions, today);
    let v = impact(analysis, &q).map_err(ApiError::from)?;
    let items = v
        .items
        .iter()
        .map(|i| ComputedItem {
            item: i.item.clone(),
            finding: i.finding.clone(),
        })
        .collect();
    Ok((v, items))
}

/// An impact as plain text: the items with before, after, finding and evidence, then the
/// assumptions (the CLI's `registry impact` and the worked cases).
pub fn impact_text(v: &ImpactView) -> String {
    let mut out = format!(
        "Impact on {} ({}), {} flows, rules as of {}\n\n",
        v.country_name, v.country, v.year, v.as_of
    );
    for i in &v.items {
        let fmt = |x: Option<f64>| value_text(x, &i.unit);
        out.push_str(&format!(
            "* {}\n  before {} · after {} ({})\n  {}\n",
            i.title,
            fmt(i.before),
            fmt(i.after),
            i.unit,
            i.finding
        ));
        for e in &i.evidence {
            out.push_str(&format!("    - {e}\n"));
        }
    }
    out.push_str("\nAssumptions:\n");
    for a in &v.assumptions {
        out.push_str(&format!("- {a}\n"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// API

/// `GET /api/commission/reviews`
pub async fn api_reviews(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Vec<ReviewLine>>, ApiError> {
    let c = commission(&s)?;
    let (who, _) = viewer(c, &headers).await?;
    Ok(Json(cm::reviews(&c.registry, &who).await?))
}

/// `GET /api/commission/reviews/{id}`
pub async fn api_review(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ReviewView>, ApiError> {
    let c = commission(&s)?;
    let (who, _) = viewer(c, &headers).await?;
    Ok(Json(cm::review_view(&c.registry, &who, &id).await?))
}

/// The body of `POST /api/commission/reviews`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenReview {
    /// The agreement's id.
    pub agreement: String,
}

async fn open_review_as(
    s: &Arc<AppState>,
    c: &Commission,
    who: &Actor,
    agreement: &str,
) -> Result<String, ApiError> {
    who.may(Action::OpenReview, None)?;
    let record = agreements::record(&c.registry, agreement).await?;
    // Seconds of computation (traces, reconciliation, Monte Carlo): on the blocking pool, so the
    // async workers keep answering everyone else meanwhile.
    let state = s.clone();
    let (view, items) = tokio::task::spawn_blocking(move || {
        impact_of_record(&state.analysis, &record.compiled, crate::today())
    })
    .await
    .map_err(|e| ApiError::internal(format!("the impact computation failed: {e}")))??;
    let evidence = serde_json::to_value(&view).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(cm::open_review(&c.registry, who, agreement, &evidence, &items).await?)
}

/// `POST /api/commission/reviews` — opens a review; its impact is computed now.
pub async fn api_open_review(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(body): Json<OpenReview>,
) -> Result<Response, ApiError> {
    let c = commission(&s)?;
    let who = acting(c, &headers, None).await?;
    let id = open_review_as(&s, c, &who, &body.agreement).await?;
    let mut res = (StatusCode::CREATED, Json(json!({"id": id}))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/commission/reviews/{id}")) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// A step of a review: attest, comment, vote, decide or publish.
#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Attest an item.
    Attest {
        /// Item key.
        item: String,
        /// Whether it is met.
        met: bool,
        /// The finding.
        finding: String,
    },
    /// Comment.
    Comment {
        /// Text.
        body: String,
    },
    /// Vote.
    Vote {
        /// approve, approve_with_conditions, reject or abstain.
        vote: String,
        /// Why.
        #[serde(default)]
        reason: Option<String>,
    },
    /// Decide.
    Decide {
        /// The outcome.
        outcome: String,
        /// Reasons.
        reasons: String,
        /// Conditions (with approve_with_conditions).
        #[serde(default)]
        conditions: Option<String>,
    },
    /// Publish.
    Publish,
}

async fn take_step(
    c: &Commission,
    who: &Actor,
    id: &str,
    step: &Step,
) -> Result<(), RegistryError> {
    let reg = &c.registry;
    match step {
        Step::Attest { item, met, finding } => cm::attest(reg, who, id, item, *met, finding).await,
        Step::Comment { body } => cm::comment(reg, who, id, body).await.map(|_| ()),
        Step::Vote { vote, reason } => cm::vote(reg, who, id, vote, reason.as_deref()).await,
        Step::Decide {
            outcome,
            reasons,
            conditions,
        } => cm::decide(reg, who, id, outcome, reasons, conditions.as_deref()).await,
        Step::Publish => cm::publish(reg, who, id).await,
    }
}

/// `POST /api/commission/reviews/{id}/steps` — one step, e.g. `{"action": "vote", "vote": "approve"}`.
pub async fn api_step(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(step): Json<Step>,
) -> Result<Json<ReviewView>, ApiError> {
    let c = commission(&s)?;
    let who = acting(c, &headers, None).await?;
    take_step(c, &who, &id, &step).await?;
    Ok(Json(cm::review_view(&c.registry, &who, &id).await?))
}

/// `GET /api/commission/agreements` — staff see every agreement; the public those with a
/// published review.
pub async fn api_agreements(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let c = commission(&s)?;
    let (who, _) = viewer(c, &headers).await?;
    Ok(Json(visible_agreements(c, &who).await?))
}

async fn visible_agreements(c: &Commission, who: &Actor) -> Result<Value, ApiError> {
    let staff = who.may(Action::ReadRegistry, None).is_ok();
    let published: Vec<String> = cm::reviews(&c.registry, who)
        .await?
        .into_iter()
        .filter(|r| r.state == "published")
        .map(|r| r.agreement)
        .collect();
    let records = agreements::records(&c.registry).await?;
    Ok(Value::Array(
        records
            .into_iter()
            .filter(|r| staff || published.iter().any(|p| r.ocid == format!("{}{p}", agreements::OCID_PREFIX)))
            .map(|r| json!({"ocid": r.ocid, "compiledRelease": r.compiled, "releases": r.releases.len(), "statusHistory": r.status_history}))
            .collect(),
    ))
}

/// Whether a party id names a company, a country or a group of the dataset.
pub fn party_known(world: &lodestone_world::World, id: &str) -> bool {
    ["companies", "countries", "groups"]
        .iter()
        .any(|t| world.table(t).is_some_and(|t| t.contains(id)))
}

/// `POST /api/commission/agreements/releases` — registers a release (secretariat).
pub async fn api_add_release(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(release): Json<Value>,
) -> Result<Response, ApiError> {
    let c = commission(&s)?;
    let who = acting(c, &headers, None).await?;
    who.may(Action::SubmitRelease, None)?;
    let world = s.world();
    let known = |p: &str| party_known(world, p);
    let r = agreements::add_release(&c.registry, &who.username, &release, &known).await?;
    Ok((StatusCode::CREATED, Json(json!({"log_index": r.index}))).into_response())
}

/// The body of `POST /api/commission/accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountBody {
    /// Sign-in name.
    pub username: String,
    /// Shown name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Constituency, for commissioners.
    #[serde(default)]
    pub constituency: Option<Constituency>,
    /// Password.
    pub password: String,
}

/// `POST /api/commission/accounts` (administrators).
pub async fn api_create_account(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(b): Json<AccountBody>,
) -> Result<Response, ApiError> {
    let c = commission(&s)?;
    let who = acting(c, &headers, None).await?;
    let a = NewAccount {
        username: b.username,
        display_name: b.display_name,
        role: b.role,
        constituency: b.constituency,
        password: b.password,
    };
    cm::create_account(&c.registry, &who, &a).await?;
    Ok((StatusCode::CREATED, Json(json!({"username": a.username}))).into_response())
}

/// `GET /api/commission/accounts` (administrators and staff).
pub async fn api_accounts(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Vec<cm::AccountView>>, ApiError> {
    let c = commission(&s)?;
    let (who, _) = viewer(c, &headers).await?;
    Ok(Json(cm::accounts(&c.registry, &who).await?))
}

/// The body of `POST /api/commission/session`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// Account.
    pub username: String,
    /// Password.
    pub password: String,
}

async fn sign_in(c: &Commission, headers: &HeaderMap, b: &SignIn) -> Result<cm::Session, ApiError> {
    if b.username.len() > 100 || b.password.len() > 1024 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "username or password too long",
            Vec::new(),
        ));
    }
    if c.too_many_failures(&b.username) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed sign-ins; wait 15 minutes",
            Vec::new(),
        ));
    }
    let Some(actor) = cm::check_password(&c.registry, &b.username, &b.password).await? else {
        c.record_failure(&b.username);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong username or password",
            Vec::new(),
        ));
    };
    c.clear_failures(&b.username);
    // A session presented before signing in is ended, never promoted.
    if let Some(old) = cookie(headers, SESSION_COOKIE) {
        cm::end_session(&c.registry, old).await?;
    }
    Ok(cm::start_session(&c.registry, &actor).await?)
}

/// `POST /api/commission/session` — signs in; the session is the cookie, the CSRF token is in
/// the answer.
pub async fn api_sign_in(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Json(b): Json<SignIn>,
) -> Result<Response, ApiError> {
    let c = commission(&s)?;
    let session = sign_in(c, &headers, &b).await?;
    let mut res = Json(json!({"username": session.actor.username, "role": session.actor.role, "csrf": session.csrf})).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(c, &session.token, cm::SESSION_SECONDS),
    );
    Ok(res)
}

/// `DELETE /api/commission/session` — signs out.
pub async fn api_sign_out(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let c = commission(&s)?;
    acting(c, &headers, None).await?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        cm::end_session(&c.registry, token).await?;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(c, "", 0));
    Ok(res)
}

/// The body of `POST /api/commission/agreements/{id}/documents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentBody {
    /// Title.
    pub title: String,
    /// Media type, e.g. application/pdf.
    pub media_type: String,
    /// Whether it is a confidential annex (withheld from the public by rule).
    pub confidential: bool,
    /// The bytes, base64.
    pub content_base64: String,
}

/// `POST /api/commission/agreements/{id}/documents` (secretariat).
pub async fn api_add_document(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(agreement): Path<String>,
    Json(b): Json<DocumentBody>,
) -> Result<Response, ApiError> {
    use base64::Engine;
    let c = commission(&s)?;
    let who = acting(c, &headers, None).await?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b.content_base64.as_bytes())
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("content_base64 is not base64: {e}"),
                Vec::new(),
            )
        })?;
    let sha = cm::add_document(
        &c.registry,
        &who,
        &agreement,
        &b.title,
        &b.media_type,
        b.confidential,
        bytes,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"sha256": sha}))).into_response())
}

/// `GET /api/commission/documents/{sha256}` — the bytes, if the viewer may read them.
pub async fn api_document(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    let c = commission(&s)?;
    let (who, _) = viewer(c, &headers).await?;
    let (view, bytes) = cm::document(&c.registry, &who, &sha).await?;
    // Served as an attachment with its type: never rendered inline as this site's page.
    let disposition = format!("attachment; filename=\"{}.bin\"", &view.sha256[..12]);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(&view.media_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The body of `POST /api/commission/accounts/{username}/password`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// The new password.
    pub password: String,
}

/// `POST /api/commission/accounts/{username}/password` — one's own, or (administrators) anyone's.
pub async fn api_change_password(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(username): Path<String>,
    Json(b): Json<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    let c = commission(&s)?;
    let who = acting(c, &headers, None).await?;
    cm::change_password(&c.registry, &who, &username, &b.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/commission/checkpoint` — the latest signed checkpoint (C2SP format, text).
pub async fn api_checkpoint(State(s): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let c = commission(&s)?;
    let note = c.registry.latest_checkpoint().await?.unwrap_or_default();
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

/// The query of `GET /api/commission/inclusion`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's index (0-based).
    pub index: u64,
}

/// `GET /api/commission/inclusion?index=N` — the RFC 6962 audit path of log entry N in the
/// latest tree, with the entry's leaf hash, the checkpoint and the key to check it with. The
/// entry's text is not served (it may name confidential records); its holder hashes it.
pub async fn api_inclusion(
    State(s): State<Arc<AppState>>,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = commission(&s)?;
    let leaves = c.registry.leaves().await;
    let i = usize::try_from(q.index)
        .ok()
        .filter(|i| *i < leaves.len())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "the log has {} entries; index must be below that",
                    leaves.len()
                ),
                Vec::new(),
            )
        })?;
    let proof = merkle::inclusion_proof(&leaves, i).unwrap_or_default();
    Ok(Json(json!({
        "index": q.index,
        "size": leaves.len(),
        "leaf_hash": leaves[i].to_hex(),
        "proof": proof.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
        "checkpoint": c.registry.latest_checkpoint().await?,
        "key": c.verifier,
    })))
}

/// The query of `GET /api/commission/consistency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The size of the checkpoint held.
    pub from: u64,
}

/// `GET /api/commission/consistency?from=N` — the proof that the log of today extends the log
/// of size N (RFC 6962), with the checkpoint it leads to and the key to check it with.
pub async fn api_consistency(
    State(s): State<Arc<AppState>>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = commission(&s)?;
    let leaves = c.registry.leaves().await;
    let proof = usize::try_from(q.from)
        .ok()
        .and_then(|m| merkle::consistency_proof(&leaves, m))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "the log has {} entries; from must be at most that",
                    leaves.len()
                ),
                Vec::new(),
            )
        })?;
    Ok(Json(json!({
        "from": q.from,
        "to": leaves.len(),
        "proof": proof.iter().map(|h| h.to_hex()).collect::<Vec<_>>(),
        "checkpoint": c.registry.latest_checkpoint().await?,
        "key": c.verifier,
    })))
}

// ---------------------------------------------------------------------------------------------
// Pages

/// The portal and the workplace's front page.
#[derive(Template)]
#[template(path = "commission.html")]
pub struct PortalPage {
    /// Title.
    pub title: String,
    /// Who is looking.
    pub who: Actor,
    /// Whether they are signed in.
    pub signed_in: bool,
    /// The session's CSRF token (for the sign-out and open-review forms).
    pub csrf: String,
    /// Reviews they may see.
    pub reviews: Vec<ReviewLine>,
    /// Agreements they may open a review of (secretariat), `(id, title, status)`.
    pub agreements: Vec<(String, String, String)>,
    /// Whether they may open reviews.
    pub can_open: bool,
    /// The latest checkpoint.
    pub checkpoint: String,
    /// The log's key.
    pub key: String,
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "commission_login.html")]
pub struct LoginPage {
    /// Title.
    pub title: String,
    /// The form's token (also in a cookie).
    pub csrf: String,
    /// What went wrong last time.
    pub message: Option<String>,
}

/// A review's page.
#[derive(Template)]
#[template(path = "commission_review.html")]
pub struct ReviewPage {
    /// Title.
    pub title: String,
    /// Who is looking.
    pub who: Actor,
    /// Signed in.
    pub signed_in: bool,
    /// CSRF token for the forms.
    pub csrf: String,
    /// The review as they may see it.
    pub review: ReviewView,
    /// The impact's items, `(title, before, after, finding, evidence)`.
    pub impact_items: Vec<(String, String, String, String, Vec<String>)>,
    /// The impact's assumptions.
    pub assumptions: Vec<String>,
    /// The record's clauses, `(category, text)`.
    pub clauses: Vec<(String, String)>,
    /// What they may do.
    pub can_attest: bool,
    /// Comment.
    pub can_comment: bool,
    /// Vote.
    pub can_vote: bool,
    /// Decide.
    pub can_decide: bool,
    /// Publish.
    pub can_publish: bool,
}

fn page_err(e: ApiError) -> Response {
    PageError(e).into_response()
}

/// `GET /commission` — the public portal, and the workplace once signed in.
pub async fn portal_page(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match portal(&s, &headers).await {
        Ok(p) => Html(render(&p)).into_response(),
        Err(e) => page_err(e),
    }
}

async fn portal(s: &AppState, headers: &HeaderMap) -> Result<PortalPage, ApiError> {
    let c = commission(s)?;
    let (who, session) = viewer(c, headers).await?;
    let can_open = who.may(Action::OpenReview, None).is_ok();
    let agreements = if who.may(Action::ReadRegistry, None).is_ok() {
        agreements::records(&c.registry)
            .await?
            .into_iter()
            .map(|r| {
                (
                    r.ocid
                        .strip_prefix(agreements::OCID_PREFIX)
                        .unwrap_or_default()
                        .to_string(),
                    r.compiled["title"].as_str().unwrap_or_default().to_string(),
                    r.compiled["status"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(PortalPage {
        title: "Oversight commission".into(),
        signed_in: session.is_some(),
        csrf: session.map(|s| s.csrf).unwrap_or_default(),
        reviews: cm::reviews(&c.registry, &who).await?,
        agreements,
        can_open,
        checkpoint: c.registry.latest_checkpoint().await?.unwrap_or_default(),
        key: c.verifier.clone(),
        who,
    })
}

/// `GET /commission/login`
pub async fn login_page(State(s): State<Arc<AppState>>) -> Response {
    match commission(&s) {
        Ok(_) => login_form(None),
        Err(e) => page_err(e),
    }
}

fn login_form(message: Option<String>) -> Response {
    let token = cm::random_token().unwrap_or_default();
    let page = LoginPage {
        title: "Sign in".into(),
        csrf: token.clone(),
        message,
    };
    let mut res = Html(render(&page)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={token}; Path=/commission; HttpOnly; SameSite=Strict; Max-Age=1800"
    )) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

/// `POST /commission/login`
pub async fn login_submit(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<LoginForm>,
) -> Response {
    let Ok(c) = commission(&s) else {
        return page_err(ApiError::not_found("no registry", Vec::new()));
    };
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), f.csrf.as_bytes()) {
        return page_err(ApiError::new(
            StatusCode::FORBIDDEN,
            "this sign-in form is stale or not ours: reload it",
            vec!["/commission/login".into()],
        ));
    }
    match sign_in(
        c,
        &headers,
        &SignIn {
            username: f.username,
            password: f.password,
        },
    )
    .await
    {
        Ok(session) => {
            let mut res = Redirect::to("/commission").into_response();
            res.headers_mut().insert(
                header::SET_COOKIE,
                session_cookie(c, &session.token, cm::SESSION_SECONDS),
            );
            res
        }
        Err(e) => {
            let mut res = login_form(Some(e.message));
            *res.status_mut() = e.status;
            res
        }
    }
}

/// A form carrying only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// `POST /commission/logout`
pub async fn logout_submit(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<TokenForm>,
) -> Response {
    let Ok(c) = commission(&s) else {
        return page_err(ApiError::not_found("no registry", Vec::new()));
    };
    if let Err(e) = acting(c, &headers, Some(&f.csrf)).await {
        return page_err(e);
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = cm::end_session(&c.registry, token).await
    {
        return page_err(e.into());
    }
    let mut res = Redirect::to("/commission").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(c, "", 0));
    res
}

/// `POST /commission/agreements/{id}/review` — opens a review from the page.
pub async fn open_review_submit(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(agreement): Path<String>,
    axum::Form(f): axum::Form<TokenForm>,
) -> Response {
    let result = async {
        let c = commission(&s)?;
        let who = acting(c, &headers, Some(&f.csrf)).await?;
        open_review_as(&s, c, &who, &agreement).await
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/commission/reviews/{id}")).into_response(),
        Err(e) => page_err(e),
    }
}

/// `GET /commission/reviews/{id}`
pub async fn review_page(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match review(&s, &headers, &id).await {
        Ok(p) => Html(render(&p)).into_response(),
        Err(e) => page_err(e),
    }
}

async fn review(s: &AppState, headers: &HeaderMap, id: &str) -> Result<ReviewPage, ApiError> {
    let c = commission(s)?;
    let (who, session) = viewer(c, headers).await?;
    let review = cm::review_view(&c.registry, &who, id).await?;
    let impact_items = review.impact["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let unit = i["unit"].as_str().unwrap_or_default();
            (
                i["title"].as_str().unwrap_or_default().to_string(),
                value_text(i["before"].as_f64(), unit),
                value_text(i["after"].as_f64(), unit),
                i["finding"].as_str().unwrap_or_default().to_string(),
                i["evidence"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect(),
            )
        })
        .collect();
    let assumptions = review.impact["assumptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect();
    let clauses = review.record["clauses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["category"].as_str().unwrap_or_default().to_string(),
                c["text"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let open = review.state == "open";
    let me = Some(who.username.as_str());
    Ok(ReviewPage {
        title: format!("Review {id}"),
        signed_in: session.is_some(),
        csrf: session.map(|s| s.csrf).unwrap_or_default(),
        can_attest: open && who.may(Action::Attest, me).is_ok(),
        can_comment: open && who.may(Action::Comment, me).is_ok(),
        can_vote: open && who.may(Action::Vote, me).is_ok(),
        can_decide: open && who.may(Action::Decide, None).is_ok(),
        can_publish: review.state == "decided" && who.may(Action::Publish, None).is_ok(),
        review,
        impact_items,
        assumptions,
        clauses,
        who,
    })
}

/// The form of a review step (fields by action).
#[derive(Debug, Deserialize)]
pub struct StepForm {
    csrf: String,
    action: String,
    #[serde(default)]
    item: Option<String>,
    #[serde(default)]
    met: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    choice: Option<String>,
    #[serde(default)]
    conditions: Option<String>,
}

/// `POST /commission/reviews/{id}` — one step from the page's forms.
pub async fn step_submit(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<StepForm>,
) -> Response {
    let result = async {
        let c = commission(&s)?;
        let who = acting(c, &headers, Some(&f.csrf)).await?;
        let text = f.text.clone().unwrap_or_default();
        let step = match f.action.as_str() {
            "attest" => Step::Attest {
                item: f.item.clone().unwrap_or_default(),
                met: f.met.as_deref() == Some("met"),
                finding: text,
            },
            "comment" => Step::Comment { body: text },
            "vote" => Step::Vote {
                vote: f.choice.clone().unwrap_or_default(),
                reason: Some(text),
            },
            "decide" => Step::Decide {
                outcome: f.choice.clone().unwrap_or_default(),
                reasons: text,
                conditions: f.conditions.clone(),
            },
            "publish" => Step::Publish,
            other => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("unknown action {other:?}"),
                    vec![
                        "attest".into(),
                        "comment".into(),
                        "vote".into(),
                        "decide".into(),
                        "publish".into(),
                    ],
                ));
            }
        };
        take_step(c, &who, &id, &step).await.map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/commission/reviews/{id}")).into_response(),
        Err(e) => page_err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Agreement and account pages

/// An agreement's page: its compiled record, releases, status history and documents.
#[derive(Template)]
#[template(path = "commission_agreement.html")]
pub struct AgreementPage {
    /// Title.
    pub title: String,
    /// The agreement's id.
    pub id: String,
    /// The compiled record, as the viewer may see it.
    pub record: Value,
    /// `(release id, date, tags)`, oldest first.
    pub releases: Vec<(String, String, String)>,
    /// `(date, status)`.
    pub history: Vec<(String, String)>,
    /// `(category, text, source)`.
    pub clauses: Vec<(String, String, String)>,
    /// Parties' ids.
    pub parties: Vec<String>,
    /// Documents the viewer may read.
    pub documents: Vec<cm::DocumentView>,
    /// Reviews of it the viewer may see, `(id, state)`.
    pub reviews: Vec<(String, String)>,
    /// Whether the viewer may publish a new release (the form).
    pub can_submit: bool,
    /// The session's CSRF token.
    pub csrf: String,
}

/// `GET /commission/agreements/{id}` — staff see any agreement; the public those with a
/// published review.
pub async fn agreement_page(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match agreement(&s, &headers, &id).await {
        Ok(p) => Html(render(&p)).into_response(),
        Err(e) => page_err(e),
    }
}

async fn agreement(s: &AppState, headers: &HeaderMap, id: &str) -> Result<AgreementPage, ApiError> {
    let c = commission(s)?;
    let (who, session) = viewer(c, headers).await?;
    let reviews: Vec<(String, String)> = cm::reviews(&c.registry, &who)
        .await?
        .into_iter()
        .filter(|r| r.agreement == id)
        .map(|r| (r.id, r.state))
        .collect();
    let staff = who.may(Action::ReadRegistry, None).is_ok();
    if !staff && !reviews.iter().any(|(_, state)| state == "published") {
        return Err(ApiError::not_found(
            format!("no agreement {id:?} is published"),
            Vec::new(),
        ));
    }
    let record = agreements::record(&c.registry, id).await?;
    let confidential_ok = who.may(Action::ReadConfidential, None).is_ok();
    let mut compiled = record.compiled.clone();
    if !confidential_ok {
        cm::strip_confidential(&mut compiled);
    }
    let mut documents = Vec::new();
    for d in c.registry.rows("documents").await? {
        let sha = agreements::text(&d, "sha256");
        if agreements::text(&d, "ocid") != record.ocid {
            continue;
        }
        if let Ok((view, _)) = cm::document(&c.registry, &who, &sha).await {
            documents.push(view);
        }
    }
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    Ok(AgreementPage {
        title: text(&compiled, "title"),
        id: id.to_string(),
        releases: record
            .releases
            .iter()
            .map(|r| {
                let tags: Vec<&str> = r["tag"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                (text(r, "id"), text(r, "date"), tags.join(", "))
            })
            .collect(),
        history: record.status_history.clone(),
        clauses: compiled["clauses"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| (text(c, "category"), text(c, "text"), text(c, "source")))
            .collect(),
        parties: compiled["parties"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| text(p, "id"))
            .collect(),
        documents,
        reviews,
        record: compiled,
        can_submit: who.may(Action::SubmitRelease, None).is_ok(),
        csrf: session.map(|s| s.csrf).unwrap_or_default(),
    })
}

/// The accounts page.
#[derive(Template)]
#[template(path = "commission_accounts.html")]
pub struct AccountsPage {
    /// Title.
    pub title: String,
    /// The CSRF token.
    pub csrf: String,
    /// Whether the viewer manages accounts.
    pub can_manage: bool,
    /// Every account.
    pub accounts: Vec<cm::AccountView>,
}

/// `GET /commission/accounts` — administrators manage, staff read.
pub async fn accounts_page(State(s): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let result = async {
        let c = commission(&s)?;
        let (who, session) = viewer(c, &headers).await?;
        let accounts = cm::accounts(&c.registry, &who).await?;
        Ok::<_, ApiError>(AccountsPage {
            title: "Accounts".into(),
            csrf: session.map(|s| s.csrf).unwrap_or_default(),
            can_manage: who.may(Action::ManageAccounts, None).is_ok(),
            accounts,
        })
    }
    .await;
    match result {
        Ok(p) => Html(render(&p)).into_response(),
        Err(e) => page_err(e),
    }
}

/// The new-account form.
#[derive(Debug, Deserialize)]
pub struct AccountForm {
    csrf: String,
    username: String,
    display_name: String,
    role: String,
    #[serde(default)]
    constituency: String,
    password: String,
}

/// `POST /commission/accounts` — creates an account from the form (administrators).
pub async fn account_submit(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<AccountForm>,
) -> Response {
    let result = async {
        let c = commission(&s)?;
        let who = acting(c, &headers, Some(&f.csrf)).await?;
        let constituency = match f.constituency.as_str() {
            "" => None,
            other => Some(Constituency::parse(other)?),
        };
        let a = NewAccount {
            username: f.username.trim().to_string(),
            display_name: f.display_name.clone(),
            role: Role::parse(&f.role)?,
            constituency,
            password: f.password.clone(),
        };
        cm::create_account(&c.registry, &who, &a)
            .await
            .map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/commission/accounts").into_response(),
        Err(e) => page_err(e),
    }
}

/// `POST /commission/accounts/{username}/deactivate` (administrators).
pub async fn deactivate_submit(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(username): Path<String>,
    axum::Form(f): axum::Form<TokenForm>,
) -> Response {
    let result = async {
        let c = commission(&s)?;
        let who = acting(c, &headers, Some(&f.csrf)).await?;
        cm::deactivate(&c.registry, &who, &username)
            .await
            .map_err(ApiError::from)
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/commission/accounts").into_response(),
        Err(e) => page_err(e),
    }
}

/// The release form (a new agreement, or a new release of one).
#[derive(Debug, Deserialize)]
pub struct ReleaseForm {
    csrf: String,
    /// For a new agreement: its id.
    #[serde(default)]
    agreement: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    date: String,
    tag: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    summary: String,
    /// Comma-separated party ids (dataset companies, countries, groups).
    #[serde(default)]
    parties: String,
}

/// The release a form describes; blank fields are left out (they keep their earlier value).
fn release_of_form(f: &ReleaseForm, agreement: &str, release_id: &str) -> Value {
    let mut r = json!({
        "ocid": format!("{}{agreement}", agreements::OCID_PREFIX),
        "id": release_id,
        "date": f.date.trim(),
        "tag": [f.tag.trim()],
    });
    let o = r.as_object_mut().expect("an object");
    for (k, v) in [
        ("title", &f.title),
        ("kind", &f.kind),
        ("status", &f.status),
        ("summary", &f.summary),
    ] {
        if !v.trim().is_empty() {
            o.insert(k.into(), json!(v.trim()));
        }
    }
    let parties: Vec<Value> = f
        .parties
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| json!({"id": p}))
        .collect();
    if !parties.is_empty() {
        o.insert("parties".into(), Value::Array(parties));
    }
    if f.status.trim() == "signed" {
        o.insert("signed".into(), json!(f.date.trim()));
    }
    r
}

async fn submit_release(
    s: &AppState,
    headers: &HeaderMap,
    f: &ReleaseForm,
    agreement: &str,
) -> Result<(), ApiError> {
    let c = commission(s)?;
    let who = acting(c, headers, Some(&f.csrf)).await?;
    who.may(Action::SubmitRelease, None)?;
    let existing = agreements::records(&c.registry)
        .await?
        .into_iter()
        .find(|r| r.ocid == format!("{}{agreement}", agreements::OCID_PREFIX))
        .map_or(0, |r| r.releases.len());
    let release = release_of_form(f, agreement, &format!("r{}", existing + 1));
    let world = s.world();
    let known = |p: &str| party_known(world, p);
    agreements::add_release(&c.registry, &who.username, &release, &known).await?;
    Ok(())
}

/// `POST /commission/agreements` — registers a new agreement from the portal's form.
pub async fn new_agreement_submit(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<ReleaseForm>,
) -> Response {
    let id = f.agreement.trim().to_string();
    match submit_release(&s, &headers, &f, &id).await {
        Ok(()) => Redirect::to(&format!("/commission/agreements/{id}")).into_response(),
        Err(e) => page_err(e),
    }
}

/// `POST /commission/agreements/{id}/releases` — a new release of an agreement, from its page.
pub async fn release_submit(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<ReleaseForm>,
) -> Response {
    match submit_release(&s, &headers, &f, &id).await {
        Ok(()) => Redirect::to(&format!("/commission/agreements/{id}")).into_response(),
        Err(e) => page_err(e),
    }
}
