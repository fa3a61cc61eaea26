//! Scenario runs as jobs: `POST /api/simulations` starts one, `GET /api/simulations/{id}`
//! reports its progress (and its results once done), `DELETE` cancels it.
//!
//! A batch of Monte Carlo runs takes seconds to minutes and uses every core, so at most one job
//! runs at a time (a second request is answered 429 with what to do), runs per job are capped at
//! [`MAX_RUNS`], and only the newest [`JOBS_KEPT`] jobs are remembered. The job runs on tokio's
//! blocking pool and runs to its end unless a client cancels it (`DELETE`, or the job page's
//! Cancel button): closing a tab does not cancel it. Cancellation is cooperative (threads stop
//! after their current run). While it runs, the job reports an estimate of the time left.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use std::collections::HashMap;

use axum::body::to_bytes;
use axum::response::{Html, IntoResponse, Redirect, Response};
use lodestone_sim::{SimNetwork, run_batch};
use lodestone_world::lower::lower_dataset;
use lodestone_world::sim_inputs::{ScenarioFile, parse_scenario, scenario_year, sim_network};

use lodestone_world::views::scenario::{
    ComparisonView, ScenarioResults, compare, scenario_results,
};

use crate::{AppState, error, json};

/// Most runs one job may ask for (10,000 runs × 120 months take about 5 s on two cores with
/// pro-rata allocation; LP allocation is about 25 times slower).
pub const MAX_RUNS: u64 = 20_000;
/// Runs when the request does not say.
pub const DEFAULT_RUNS: u64 = 1_000;
/// Finished jobs remembered (oldest forgotten first).
pub const JOBS_KEPT: usize = 16;

/// How a job ended.
enum Outcome {
    /// Finished: the results.
    Done(Box<ScenarioResults>),
    /// Cancelled on request.
    Cancelled,
    /// The computation failed (a bug).
    Failed(String),
}

/// One scenario batch.
pub struct Job {
    id: u64,
    scenario: String,
    /// The scenario file's text, kept with the job's record.
    scenario_toml: String,
    description: String,
    runs: u64,
    seed: u64,
    started: Instant,
    done: AtomicU64,
    cancel: AtomicBool,
    /// `None` while running.
    outcome: Mutex<Option<(Outcome, f64)>>,
}

/// The jobs of a server.
#[derive(Default)]
pub struct Jobs {
    next: u64,
    jobs: BTreeMap<u64, Arc<Job>>,
}

impl Jobs {
    /// Jobs restored from their stored records (the newest [`JOBS_KEPT`]); ids continue after the
    /// largest stored one. A record that does not describe a finished job is skipped, with why.
    pub fn restore(records: &[serde_json::Value]) -> (Jobs, Vec<String>) {
        let mut jobs = Jobs::default();
        let mut problems = Vec::new();
        for r in records {
            let Some(id) = r["id"].as_u64() else { continue };
            jobs.next = jobs.next.max(id);
            let elapsed = r["elapsed_s"].as_f64().unwrap_or(0.0);
            let outcome = match r["status"].as_str() {
                Some("done") => {
                    match serde_json::from_value::<ScenarioResults>(r["results"].clone()) {
                        Ok(results) => Outcome::Done(Box::new(results)),
                        Err(e) => {
                            problems.push(format!(
                                "job {id}: its results do not read back ({e}); skipped"
                            ));
                            continue;
                        }
                    }
                }
                Some("cancelled") => Outcome::Cancelled,
                Some("failed") => {
                    Outcome::Failed(r["error"].as_str().unwrap_or("failed").to_string())
                }
                other => {
                    problems.push(format!(
                        "job {id}: status {other:?} is not a finished job's; skipped"
                    ));
                    continue;
                }
            };
            let text = |k: &str| r[k].as_str().unwrap_or("").to_string();
            let job = Job {
                id,
                scenario: text("scenario"),
                scenario_toml: text("scenario_toml"),
                description: text("description"),
                runs: r["runs"].as_u64().unwrap_or(0),
                seed: r["seed"].as_u64().unwrap_or(0),
                started: Instant::now(),
                done: AtomicU64::new(r["done"].as_u64().unwrap_or(0)),
                cancel: AtomicBool::new(false),
                outcome: Mutex::new(Some((outcome, elapsed))),
            };
            jobs.jobs.insert(id, Arc::new(job));
        }
        while jobs.jobs.len() > JOBS_KEPT {
            let Some(&oldest) = jobs.jobs.keys().next() else {
                break;
            };
            jobs.jobs.remove(&oldest);
        }
        (jobs, problems)
    }
}

/// Locks a mutex, recovering the data if a thread panicked while holding it (the data are
/// plain progress records, valid at every point).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Job {
    fn status(&self) -> &'static str {
        match &*lock(&self.outcome) {
            None if self.cancel.load(Ordering::Relaxed) => "cancelling",
            None => "running",
            Some((Outcome::Done(_), _)) => "done",
            Some((Outcome::Cancelled, _)) => "cancelled",
            Some((Outcome::Failed(_), _)) => "failed",
        }
    }

    fn running(&self) -> bool {
        lock(&self.outcome).is_none()
    }

    /// The job as JSON; with `results`, the results of a finished job.
    fn to_json(&self, results: bool) -> serde_json::Value {
        let outcome = lock(&self.outcome);
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = match &*outcome {
            Some((_, secs)) => *secs,
            None => self.started.elapsed().as_secs_f64(),
        };
        let mut v = serde_json::json!({
            "id": self.id,
            "url": format!("/api/simulations/{}", self.id),
            "scenario": self.scenario,
            "description": self.description,
            "runs": self.runs,
            "seed": self.seed,
            "done": done,
            "progress": done as f64 / self.runs.max(1) as f64,
            "elapsed_s": elapsed,
        });
        // Time left, from the pace so far (runs take about the same time each).
        if outcome.is_none() && done > 0 {
            v["remaining_s"] =
                (elapsed * (self.runs.saturating_sub(done)) as f64 / done as f64).into();
        }
        drop(outcome);
        v["status"] = self.status().into();
        if let Some((o, _)) = &*lock(&self.outcome) {
            match o {
                Outcome::Done(r) if results => {
                    v["results"] = serde_json::to_value(r).unwrap_or_default()
                }
                Outcome::Failed(m) => v["error"] = m.clone().into(),
                _ => {}
            }
        }
        v
    }
}

/// The bundled scenario names (`scenarios/NAME.toml` of the dataset).
fn scenario_names(s: &AppState) -> Vec<String> {
    s.world()
        .toml_files
        .iter()
        .filter_map(|f| f.path.strip_prefix("scenarios/")?.strip_suffix(".toml"))
        .map(str::to_string)
        .collect()
}

/// Parses a scenario's text against the network of its year; located messages on failure.
fn prepare(s: &AppState, file: &str, text: &str) -> Result<(SimNetwork, ScenarioFile), String> {
    let low = lower_dataset(s.world(), scenario_year(text))?;
    let net = sim_network(s.world(), &low);
    let sf = parse_scenario(file, text, s.world(), &net).map_err(|diags| {
        diags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok((net, sf))
}

/// `POST /api/simulations`: `{"scenario": NAME}` or `{"scenario_toml": TEXT}`, optional
/// `"runs"` and `"seed"`.
pub async fn start(
    State(s): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    // A JSON body only: a cross-site form or text/plain post cannot start a job.
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json_type {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON, sent with Content-Type: application/json".into(),
            vec!["application/json".into()],
        );
    }
    let Ok(body) = std::str::from_utf8(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "the body is not valid UTF-8".into(),
            vec![r#"{"scenario": "kuantan_outage", "runs": 1000}"#.into()],
        );
    };
    start_json(s, body).await
}

/// The CPU a job may take, in seconds: jobs share the server's cores one at a time.
pub const MAX_JOB_CPU_SECONDS: f64 = 600.0;

/// Estimated CPU seconds of a batch: per run and month, about 15 µs per 200 routes when scarce
/// supply is shared by rule, and 0.7 ms when it is re-routed by a linear programme (measured on
/// the bundled scenarios, 2026-12-01: 200 runs × 24 months take 0.07 s and 1.7 s on 2 cores).
pub fn estimated_cpu_seconds(
    net: &SimNetwork,
    sf: &lodestone_world::sim_inputs::ScenarioFile,
    runs: u64,
) -> f64 {
    let per_run_month = if matches!(sf.scenario.allocation, lodestone_sim::Allocation::Lp(_)) {
        // The LP grows faster than the network; its size squared is a safe bound.
        7e-4 * (net.routes.len() as f64 / 200.0).powi(2).max(1.0)
    } else {
        1.5e-5 * (net.routes.len() as f64 / 200.0).max(1.0)
    };
    runs as f64 * sf.scenario.months as f64 * per_run_month
}

fn human_seconds(s: f64) -> String {
    if s >= 3600.0 {
        format!("{:.1} hours", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.0} minutes", s / 60.0)
    } else {
        format!("{s:.0} s")
    }
}

/// Starts a job from a JSON request text (the API's body, or the form's fields).
async fn start_json(s: Arc<AppState>, body: &str) -> Response {
    let req: serde_json::Value = match serde_json::from_str(body) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        Ok(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object".into(),
                vec![r#"{"scenario": "kuantan_outage", "runs": 1000}"#.into()],
            );
        }
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
                vec![r#"{"scenario": "kuantan_outage", "runs": 1000}"#.into()],
            );
        }
    };
    let runs = match req.get("runs") {
        None => DEFAULT_RUNS,
        Some(r) => match r.as_u64() {
            Some(n) if (1..=MAX_RUNS).contains(&n) => n,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("runs {r} is not a whole number from 1 to {MAX_RUNS}"),
                    vec![format!("1..={MAX_RUNS}")],
                );
            }
        },
    };
    let (file, text) = match (req.get("scenario"), req.get("scenario_toml")) {
        (Some(name), None) => {
            let name = name.as_str().unwrap_or_default();
            let path = format!("scenarios/{name}.toml");
            match s.world().toml_files.iter().find(|f| f.path == path) {
                Some(f) => (path, f.text.clone()),
                None => {
                    return error(
                        StatusCode::NOT_FOUND,
                        format!("no bundled scenario '{name}'"),
                        scenario_names(&s),
                    );
                }
            }
        }
        (None, Some(serde_json::Value::String(t))) => ("scenario_toml".to_string(), t.clone()),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "give either \"scenario\" (a bundled scenario's name) or \"scenario_toml\" (a scenario file's text)".into(),
                scenario_names(&s),
            );
        }
    };
    let scenario_text = text.clone();
    // Parsing and checking a scenario is CPU work on text a client sent: off the async workers.
    let state = s.clone();
    let prepared = tokio::task::spawn_blocking(move || prepare(&state, &file, &text))
        .await
        .unwrap_or_else(|e| Err(format!("the scenario could not be checked: {e}")));
    let (net, mut sf) = match prepared {
        Ok(p) => p,
        Err(message) => {
            return error(
                StatusCode::BAD_REQUEST,
                message,
                vec!["a scenario as documented in docs/simulation.md".into()],
            );
        }
    };
    let estimate = estimated_cpu_seconds(&net, &sf, runs);
    if estimate > MAX_JOB_CPU_SECONDS {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "this job would take about {} of CPU ({runs} runs × {} months on {} routes{}); a job may take at most {} minutes: ask for fewer runs or months, or run it with `lodestone simulate`, which has no limit",
                human_seconds(estimate),
                sf.scenario.months,
                net.routes.len(),
                if matches!(sf.scenario.allocation, lodestone_sim::Allocation::Lp(_)) {
                    ", re-routed by linear programming"
                } else {
                    ""
                },
                MAX_JOB_CPU_SECONDS / 60.0
            ),
            vec![format!(
                "at most {} runs of this scenario",
                ((MAX_JOB_CPU_SECONDS / estimate) * runs as f64).floor() as u64
            )],
        );
    }
    if let Some(seed) = req.get("seed") {
        match seed.as_u64() {
            Some(v) => sf.scenario.seed = v,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("seed {seed} is not a whole number"),
                    vec!["0..=18446744073709551615".into()],
                );
            }
        }
    }
    let job = {
        let mut jobs = lock(&s.jobs);
        if let Some(busy) = jobs.jobs.values().find(|j| j.running()) {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "job {} is running and uses every core; one job runs at a time",
                    busy.id
                ),
                vec![format!(
                    "wait for /api/simulations/{0} to finish, or cancel it with DELETE /api/simulations/{0}",
                    busy.id
                )],
            );
        }
        jobs.next += 1;
        let job = Arc::new(Job {
            id: jobs.next,
            scenario: sf.scenario.name.clone(),
            scenario_toml: scenario_text.clone(),
            description: sf.description.clone(),
            runs,
            seed: sf.scenario.seed,
            started: Instant::now(),
            done: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            outcome: Mutex::new(None),
        });
        jobs.jobs.insert(job.id, job.clone());
        while jobs.jobs.len() > JOBS_KEPT {
            let Some(&oldest) = jobs.jobs.keys().next() else {
                break;
            };
            jobs.jobs.remove(&oldest);
        }
        job
    };
    let worker = job.clone();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let world_for_results = s.clone();
    let scenario_name = job.scenario.clone();
    tokio::task::spawn_blocking(move || {
        let batch = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_batch(
                &net,
                &sf.scenario,
                sf.shortfall_level,
                (0, worker.runs),
                threads,
                &worker.done,
                &worker.cancel,
            )
        }));
        let outcome = match batch {
            Ok(Some(stats)) => {
                let mut results = scenario_results(
                    &world_for_results.analysis.world,
                    &scenario_name,
                    sf.start.clone(),
                    &stats,
                );
                // A backtest scenario is also held against the observed series.
                if !sf.scenario.tracked_exports.is_empty() {
                    results.backtest = lodestone_world::views::backtest::backtest(
                        &world_for_results.analysis.world,
                        &net,
                        &sf,
                        worker.runs,
                    )
                    .ok();
                }
                Outcome::Done(Box::new(results))
            }
            Ok(None) if worker.cancel.load(Ordering::Relaxed) => Outcome::Cancelled,
            _ => Outcome::Failed("the simulation failed; this is a bug, please report it".into()),
        };
        *lock(&worker.outcome) = Some((outcome, worker.started.elapsed().as_secs_f64()));
        // Kept on disk, so the job survives a restart of the server.
        if let Some(store) = &world_for_results.job_store {
            let mut record = worker.to_json(true);
            record["scenario_toml"] = worker.scenario_toml.clone().into();
            if let Err(e) = store.save(worker.id, &record) {
                eprintln!("lodestone: {e}");
            }
        }
    });
    let body = job.to_json(false);
    let mut res = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    if let Ok(loc) = format!("/api/simulations/{}", job.id).parse() {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    res
}

/// `GET /api/simulations`: the remembered jobs (without results) and the bundled scenarios.
pub async fn list(State(s): State<Arc<AppState>>) -> Response {
    let jobs: Vec<serde_json::Value> = lock(&s.jobs)
        .jobs
        .values()
        .map(|j| j.to_json(false))
        .collect();
    json(serde_json::json!({
        "jobs": jobs,
        "scenarios": scenario_names(&s),
        "max_runs": MAX_RUNS,
    }))
}

fn find(s: &AppState, id: &str) -> Result<Arc<Job>, Box<Response>> {
    let jobs = lock(&s.jobs);
    id.parse::<u64>()
        .ok()
        .and_then(|n| jobs.jobs.get(&n).cloned())
        .ok_or_else(|| {
            Box::new(error(
                StatusCode::NOT_FOUND,
                format!("no simulation job '{id}'"),
                jobs.jobs.keys().map(u64::to_string).collect(),
            ))
        })
}

/// `GET /api/simulations/{id}/results`: a finished job's results, as JSON or (`format=csv|xlsx`)
/// the table of its series.
pub async fn results(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    q: crate::error::ApiQuery<NoQuery>,
) -> Response {
    let job = match find(&s, &id) {
        Ok(j) => j,
        Err(r) => return *r,
    };
    let done = match &*lock(&job.outcome) {
        Some((Outcome::Done(r), _)) => Some(r.clone()),
        _ => None,
    };
    match done {
        Some(r) => crate::api::respond(&*r, &r.countries, q.format, "scenario")
            .unwrap_or_else(IntoResponse::into_response),
        None => error(
            StatusCode::CONFLICT,
            format!("job {id} has no results (it is {})", job.status()),
            vec![format!("/api/simulations/{id}")],
        ),
    }
}

/// A query with no parameters (only `format`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// `GET /api/simulations/{id}`: progress, and the results once done.
pub async fn show(State(s): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match find(&s, &id) {
        Ok(job) => json(job.to_json(true)),
        Err(r) => *r,
    }
}

/// `DELETE /api/simulations/{id}`: asks a running job to stop.
pub async fn cancel(State(s): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let job = match find(&s, &id) {
        Ok(job) => job,
        Err(r) => return *r,
    };
    if !job.running() {
        return error(
            StatusCode::CONFLICT,
            format!("job {} has already ended ({})", job.id, job.status()),
            vec!["a running job".into()],
        );
    }
    job.cancel.store(true, Ordering::Relaxed);
    (StatusCode::ACCEPTED, axum::Json(job.to_json(false))).into_response()
}

// ---------------------------------------------------------------------------------------------
// The scenario runner's pages

/// Reads a handler's JSON answer; on an error status, the error's message and what is valid.
async fn answer(res: Response) -> Result<serde_json::Value, (StatusCode, String)> {
    let status = res.status();
    let bytes = to_bytes(res.into_body(), 16 * 1024 * 1024)
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if status.is_success() {
        Ok(v)
    } else {
        let valid: Vec<String> = v["error"]["valid"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .take(12)
            .collect();
        Err((
            status,
            format!(
                "{}{}",
                v["error"]["message"].as_str().unwrap_or("error"),
                if valid.is_empty() {
                    String::new()
                } else {
                    format!(" — valid: {}", valid.join(", "))
                }
            ),
        ))
    }
}

fn pct(v: &serde_json::Value) -> String {
    v.as_f64()
        .map_or("–".into(), |x| format!("{:.2} %", x * 100.0))
}

fn get<'a>(q: &'a HashMap<String, String>, k: &str) -> &'a str {
    q.get(k).map_or("", String::as_str)
}

/// Percent-encodes a path segment or query value.
fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `GET /explore/simulate`: the bundled scenarios, a form to run one, and the recent jobs.
pub async fn simulate_page(State(s): State<Arc<AppState>>) -> Response {
    let jobs: Vec<(String, String, String, String)> = lock(&s.jobs)
        .jobs
        .values()
        .rev()
        .map(|j| {
            (
                j.id.to_string(),
                j.scenario.clone(),
                j.runs.to_string(),
                j.status().to_string(),
            )
        })
        .collect();
    let page = crate::templates::SimulatePage {
        title: "Scenario runner",
        max_runs: MAX_RUNS,
        max_minutes: MAX_JOB_CPU_SECONDS / 60.0,
        problem: None,
        csrf: s.csrf_token().to_string(),
        scenarios: scenario_names(&s),
        jobs,
    };
    Html(crate::templates::render(&page)).into_response()
}

/// `POST /explore/simulate` (form): starts a job and redirects to its page.
pub async fn simulate_start(
    State(s): State<Arc<AppState>>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if form.get("csrf").map(String::as_str) != Some(s.csrf_token()) {
        return crate::PageError(crate::ApiError::new(
            StatusCode::FORBIDDEN,
            "this form is not one this server gave out (its token is missing or stale): reload the scenario runner and submit it again",
            vec!["/explore/simulate".into()],
        ))
        .into_response();
    }
    let runs: Option<u64> = form.get("runs").and_then(|r| r.trim().parse().ok());
    let mut req = serde_json::json!({ "scenario": get(&form, "scenario") });
    if let Some(r) = runs {
        req["runs"] = r.into();
    }
    let res = start_json(s.clone(), &req.to_string()).await;
    let location = res
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.strip_prefix("/api/simulations/"))
        .map(str::to_string);
    match location {
        Some(id) => Redirect::to(&format!("/explore/simulate/{id}")).into_response(),
        None => {
            let (code, m) = match answer(res).await {
                Err(e) => e,
                Ok(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "no job was started".into(),
                ),
            };
            crate::PageError(crate::ApiError::new(
                code,
                m,
                vec!["/explore/simulate".into()],
            ))
            .into_response()
        }
    }
}

/// `GET /explore/simulate/{job}`: progress (refreshing every second while running), results.
pub async fn job_page(State(s): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let job = match find(&s, &id) {
        Ok(j) => j,
        Err(r) => {
            let status = r.status();
            let (_, message) = answer(*r).await.err().unwrap_or((status, String::new()));
            return crate::PageError(crate::ApiError::new(status, message, Vec::new()))
                .into_response();
        }
    };
    let v = job.to_json(false);
    let status = job.status();
    let results = match &*lock(&job.outcome) {
        Some((Outcome::Done(r), _)) => Some(r.clone()),
        _ => None,
    };
    let page = crate::templates::JobPage {
        title: "Scenario job",
        running: status == "running" || status == "cancelling",
        id: job.id.to_string(),
        scenario: job.scenario.clone(),
        description: job.description.clone(),
        progress: v["progress"].as_f64().unwrap_or(0.0),
        progress_text: pct(&v["progress"]),
        done: v["done"].to_string(),
        runs: job.runs.to_string(),
        status: status.to_string(),
        elapsed: match v["remaining_s"].as_f64() {
            Some(left) => format!(
                "{:.1} s elapsed, about {:.0} s left",
                v["elapsed_s"].as_f64().unwrap_or(0.0),
                left.ceil()
            ),
            None => format!("{:.1} s", v["elapsed_s"].as_f64().unwrap_or(0.0)),
        },
        csrf: s.csrf_token().to_string(),
        error: v["error"].as_str().map(str::to_string),
        backtest: results
            .as_ref()
            .and_then(|r| r.backtest.as_ref())
            .map(|b| crate::templates::HtmlTable::of(&b.rows)),
        results: results.map(|r| {
            let short: Vec<_> = r
                .countries
                .iter()
                .filter(|c| c.total_shortfall_t_reo_mean > 0.0)
                .cloned()
                .collect();
            (
                format!(
                    "{} runs × {} months{}; shares are of demand; t REO; the level is a shortfall of {} of demand. {}",
                    r.runs,
                    r.months,
                    r.month_0
                        .as_deref()
                        .map_or(String::new(), |m| format!(", month 0 = {m}")),
                    lodestone_world::views::table::format_share(r.shortfall_level),
                    r.estimate
                ),
                crate::templates::HtmlTable::of(&short),
            )
        }),
    };
    Html(crate::templates::render(&page)).into_response()
}

/// `POST /explore/simulate/{job}/cancel` (form): cancels and returns to the job page.
pub async fn job_cancel(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if form.get("csrf").map(String::as_str) != Some(s.csrf_token()) {
        return error(
            StatusCode::FORBIDDEN,
            "this form is not one this server gave out: reload the job page".into(),
            vec![format!("/explore/simulate/{id}")],
        );
    }
    let _ = cancel(State(s.clone()), Path(id.clone())).await;
    Redirect::to(&format!("/explore/simulate/{}", urlencode(&id))).into_response()
}

/// `?ids=1,2,…`: the jobs to compare.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    /// Job ids, comma-separated.
    pub ids: String,
}

/// The finished jobs named by `ids`, or an error response naming what is wrong.
fn compared(s: &AppState, ids: &str) -> Result<ComparisonView, Box<Response>> {
    let wanted: Vec<&str> = ids
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect();
    if wanted.len() < 2 {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("ids '{ids}' names fewer than two jobs"),
            vec!["ids=1,2".into()],
        )));
    }
    let mut results = Vec::new();
    for id in wanted {
        let job = find(s, id)?;
        let done = match &*lock(&job.outcome) {
            Some((Outcome::Done(r), _)) => Some(r.clone()),
            _ => None,
        };
        match done {
            Some(r) => results.push((
                format!(
                    "job {}: {} ({} runs, seed {})",
                    job.id, job.scenario, job.runs, job.seed
                ),
                r,
            )),
            None => {
                return Err(Box::new(error(
                    StatusCode::CONFLICT,
                    format!("job {id} has no results (it is {})", job.status()),
                    vec!["finished jobs".into()],
                )));
            }
        }
    }
    let refs: Vec<(String, &ScenarioResults)> = results
        .iter()
        .map(|(l, r)| (l.clone(), r.as_ref()))
        .collect();
    Ok(compare(&refs))
}

/// `GET /api/simulations/compare?ids=1,2`: finished jobs side by side, country by country.
pub async fn compare_api(
    State(s): State<Arc<AppState>>,
    q: crate::error::ApiQuery<CompareQuery>,
) -> Response {
    match compared(&s, &q.query.ids) {
        Ok(v) => json(serde_json::to_value(&v).unwrap_or_default()),
        Err(r) => *r,
    }
}

/// `GET /explore/simulate/compare?ids=1,2`: the same, as a table.
pub async fn compare_page(
    State(s): State<Arc<AppState>>,
    q: crate::error::FormQuery<CompareQuery>,
) -> Response {
    let ids = q.get("ids").to_string();
    let view = match &q.parsed {
        Ok(cq) => match compared(&s, &cq.ids) {
            Ok(v) => Ok(v),
            Err(r) => Err(answer(*r).await.map_or_else(|(_, m)| m, |_| String::new())),
        },
        Err(_) if ids.is_empty() => Err(String::new()),
        Err(e) => Err(e.message.clone()),
    };
    let (view, problem) = match view {
        Ok(v) => (Some(v), None),
        Err(m) if m.is_empty() => (None, None),
        Err(m) => (None, Some(m)),
    };
    let page = crate::templates::ComparePage {
        title: "Compare scenario jobs",
        ids,
        problem,
        view,
    };
    Html(crate::templates::render(&page)).into_response()
}
