//! Scenario runs as jobs: `POST /api/simulations` starts one, `GET /api/simulations/{id}`
//! reports its progress (and its results once done), `DELETE` cancels it.
//!
//! A batch of Monte Carlo runs takes seconds to minutes and uses every core, so at most one job
//! runs at a time (a second request is answered 429 with what to do), runs per job are capped at
//! [`MAX_RUNS`], and only the newest [`JOBS_KEPT`] jobs are remembered. The job runs on tokio's
//! blocking pool; cancellation is cooperative (threads stop after their current run), on request
//! or when no client has asked about a running job for [`ABANDON_AFTER`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use lodestone_sim::{SimNetwork, run_batch};
use lodestone_world::lower::lower_dataset;
use lodestone_world::sim_inputs::{
    ScenarioFile, headline_json, parse_scenario, scenario_year, sim_network,
};

use crate::{AppState, error, json};

/// Most runs one job may ask for (10,000 runs × 120 months take about 5 s on two cores with
/// pro-rata allocation; LP allocation is about 25 times slower).
pub const MAX_RUNS: u64 = 20_000;
/// Runs when the request does not say.
pub const DEFAULT_RUNS: u64 = 1_000;
/// Finished jobs remembered (oldest forgotten first).
pub const JOBS_KEPT: usize = 16;
/// A running job that nobody has asked about for this long is cancelled: a client that went away
/// must not leave every core busy.
pub const ABANDON_AFTER: Duration = Duration::from_secs(30);

/// How a job ended.
enum Outcome {
    /// Finished: the results as JSON.
    Done(serde_json::Value),
    /// Cancelled on request.
    Cancelled,
    /// The computation failed (a bug).
    Failed(String),
}

/// One scenario batch.
pub struct Job {
    id: u64,
    scenario: String,
    description: String,
    runs: u64,
    seed: u64,
    started: Instant,
    done: AtomicU64,
    cancel: AtomicBool,
    /// Milliseconds after `started` at which a client last asked about the job.
    last_seen_ms: AtomicU64,
    /// Set when the job was cancelled because nobody asked about it.
    abandoned: AtomicBool,
    /// `None` while running.
    outcome: Mutex<Option<(Outcome, f64)>>,
}

/// The jobs of a server.
#[derive(Default)]
pub struct Jobs {
    next: u64,
    jobs: BTreeMap<u64, Arc<Job>>,
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

    /// Notes that a client asked about the job.
    fn seen(&self) {
        let ms = self.started.elapsed().as_millis().min(u64::MAX as u128) as u64;
        self.last_seen_ms.store(ms, Ordering::Relaxed);
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
        drop(outcome);
        v["status"] = self.status().into();
        if let Some((o, _)) = &*lock(&self.outcome) {
            match o {
                Outcome::Done(r) if results => v["results"] = r.clone(),
                Outcome::Failed(m) => v["error"] = m.clone().into(),
                Outcome::Cancelled if self.abandoned.load(Ordering::Relaxed) => {
                    v["error"] = format!(
                        "cancelled: no client asked about the job for {} s",
                        ABANDON_AFTER.as_secs()
                    )
                    .into()
                }
                _ => {}
            }
        }
        v
    }
}

/// The bundled scenario names (`scenarios/NAME.toml` of the dataset).
fn scenario_names(s: &AppState) -> Vec<String> {
    s.ds.toml_files
        .iter()
        .filter_map(|f| f.path.strip_prefix("scenarios/")?.strip_suffix(".toml"))
        .map(str::to_string)
        .collect()
}

/// Parses a scenario's text against the network of its year; located messages on failure.
fn prepare(s: &AppState, file: &str, text: &str) -> Result<(SimNetwork, ScenarioFile), String> {
    let low = lower_dataset(&s.ds, scenario_year(text))?;
    let net = sim_network(&s.ds, &low);
    let sf = parse_scenario(file, text, &s.ds, &net).map_err(|diags| {
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
pub async fn start(State(s): State<Arc<AppState>>, body: String) -> Response {
    let req: serde_json::Value = match serde_json::from_str(&body) {
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
            match s.ds.toml_files.iter().find(|f| f.path == path) {
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
    let (net, mut sf) = match prepare(&s, &file, &text) {
        Ok(p) => p,
        Err(message) => {
            return error(
                StatusCode::BAD_REQUEST,
                message,
                vec!["a scenario as documented in docs/simulation.md".into()],
            );
        }
    };
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
            description: sf.description.clone(),
            runs,
            seed: sf.scenario.seed,
            started: Instant::now(),
            done: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            last_seen_ms: AtomicU64::new(0),
            abandoned: AtomicBool::new(false),
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
            Ok(Some(stats)) => Outcome::Done({
                // Monthly bands of the shortfall share for every series that is ever short.
                let summary = stats.summary();
                let mut series: Vec<serde_json::Value> = Vec::new();
                for (c, ..) in &summary.countries {
                    let rows: Vec<_> = summary.rows.iter().filter(|r| r.country == *c).collect();
                    if rows.iter().all(|r| r.shortfall_mean <= 0.0) {
                        continue;
                    }
                    series.push(serde_json::json!({
                        "country": c,
                        "month": rows.iter().map(|r| r.month).collect::<Vec<_>>(),
                        "p5": rows.iter().map(|r| r.pressure_p5).collect::<Vec<_>>(),
                        "p50": rows.iter().map(|r| r.pressure_p50).collect::<Vec<_>>(),
                        "p95": rows.iter().map(|r| r.pressure_p95).collect::<Vec<_>>(),
                        "mean": rows.iter().map(|r| r.pressure_mean).collect::<Vec<_>>(),
                    }));
                }
                let mut v = serde_json::json!({
                "months": stats.months,
                "month_0": sf.start,
                "shortfall_level": stats.level,
                "unit": "t REO; shares are of demand",
                "estimate": "Monte Carlo over the scenario's distributions on a network of mostly estimated flows (see docs/simulation.md)",
                "countries": stats.headline().iter().map(headline_json).collect::<Vec<_>>(),
                });
                v["series"] = series.into();
                v
            }),
            Ok(None) if worker.cancel.load(Ordering::Relaxed) => Outcome::Cancelled,
            _ => Outcome::Failed("the simulation failed; this is a bug, please report it".into()),
        };
        *lock(&worker.outcome) = Some((outcome, worker.started.elapsed().as_secs_f64()));
    });
    // The watchdog: cancels the job once no client has asked about it for `abandon_after`.
    let watched = job.clone();
    let abandon_after = s.abandon_after;
    tokio::spawn(async move {
        let tick = (abandon_after / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        while watched.running() {
            tokio::time::sleep(tick).await;
            let seen = Duration::from_millis(watched.last_seen_ms.load(Ordering::Relaxed));
            if watched.started.elapsed().saturating_sub(seen) > abandon_after {
                watched.abandoned.store(true, Ordering::Relaxed);
                watched.cancel.store(true, Ordering::Relaxed);
                break;
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
        .map(|j| {
            j.seen();
            j.to_json(false)
        })
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

/// `GET /api/simulations/{id}`: progress, and the results once done.
pub async fn show(State(s): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match find(&s, &id) {
        Ok(job) => {
            job.seen();
            json(job.to_json(true))
        }
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
