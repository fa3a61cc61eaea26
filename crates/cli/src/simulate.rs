//! `lodestone simulate SCENARIO.toml`, `simulate compare`, `simulate merge`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use lodestone_sim::{Headline, SimNetwork, Stats, run_batch};
use lodestone_world::World;
use lodestone_world::lower::lower_dataset;
use lodestone_world::sim_inputs::{ScenarioFile, parse_scenario, scenario_year, sim_network};

use crate::{Failure, ShowFormat, text};

/// Parses `--runs`: `N` (runs 0..N) or `A..B`.
pub fn parse_runs(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--runs '{s}' is not N or A..B (e.g. 1000, or 0..5000)");
    let (a, b) = match s.split_once("..") {
        Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
        None => (0, s.parse().map_err(|_| bad())?),
    };
    if a >= b {
        return Err(format!(
            "--runs '{s}' is empty: the end must be after the start"
        ));
    }
    Ok((a, b))
}

fn prepare(
    data: Option<PathBuf>,
    scenario: &Path,
) -> Result<(World, SimNetwork, ScenarioFile), Failure> {
    let ds = crate::load_valid(&crate::data_dir(data))?;
    let text = std::fs::read_to_string(scenario)
        .map_err(|e| Failure::new(1, format!("cannot read {}: {e}", scenario.display())))?;
    // The network depends on the scenario's year; read that first (default 2024).
    let year = scenario_year(&text);
    let low = lower_dataset(&ds, year).map_err(|e| Failure::new(1, e))?;
    let net = sim_network(&ds, &low);
    let file = scenario.display().to_string();
    let sf = parse_scenario(&file, &text, &ds, &net).map_err(|diags| {
        Failure::new(
            1,
            diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    Ok((ds, net, sf))
}

/// A terminal progress line: a bar, runs done, and the time left at the pace so far.
fn progress_line(done: u64, total: u64, elapsed: f64) -> String {
    const WIDTH: u64 = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH) as usize;
    let left = if done == 0 {
        "estimating time left".to_string()
    } else if done >= total {
        format!("done in {elapsed:.1} s")
    } else {
        format!(
            "about {:.0} s left",
            (elapsed * (total - done) as f64 / done as f64).ceil()
        )
    };
    format!(
        "[{}{}] {done} / {total} runs, {left}   ",
        "#".repeat(filled),
        " ".repeat(WIDTH as usize - filled)
    )
}

/// Runs `a..b` on all cores (statistics merge exactly, so the split does not matter), with a
/// progress line on a terminal.
fn simulate(net: &SimNetwork, sf: &ScenarioFile, a: u64, b: u64) -> Result<Stats, Failure> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let done = AtomicU64::new(0);
    let never = AtomicBool::new(false);
    let show = std::io::stderr().is_terminal() && b - a >= 200;
    std::thread::scope(|scope| {
        let batch = scope.spawn(|| {
            run_batch(
                net,
                &sf.scenario,
                sf.shortfall_level,
                (a, b),
                threads,
                &done,
                &never,
            )
        });
        let started = std::time::Instant::now();
        while show && !batch.is_finished() {
            let n = done.load(Ordering::Relaxed);
            eprint!(
                "\r{}",
                progress_line(n, b - a, started.elapsed().as_secs_f64())
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if show {
            eprintln!(
                "\r{}",
                progress_line(b - a, b - a, started.elapsed().as_secs_f64())
            );
        }
        // Never cancelled, so the batch completes unless a thread panicked (a bug).
        match batch.join() {
            Ok(Some(stats)) => Ok(stats),
            _ => Err(Failure::new(
                1,
                "the simulation threads failed; this is a bug, please report it".into(),
            )),
        }
    })
}

/// The files of a simulation's output directory.
const OUTPUT_FILES: [&str; 3] = ["stats.txt", "summary.csv", "countries.csv"];

/// Claims an output directory for a simulation's files (before the work, so a refused
/// directory fails at once).
fn claim_outputs(dir: &Path, force: bool) -> Result<crate::output::OutputDir, Failure> {
    crate::output::OutputDir::claim(dir, &OUTPUT_FILES, force)
}

fn write_outputs(stats: &Stats, mut out: crate::output::OutputDir) -> Result<(), Failure> {
    let summary = stats.summary();
    for (name, content) in [
        ("stats.txt", stats.to_text()),
        ("summary.csv", summary.to_csv()),
        ("countries.csv", summary.countries_csv()),
    ] {
        out.write(name, content.as_bytes())?;
    }
    Ok(())
}

/// A scenario's name, headline rows and stated level, for comparisons.
type Column = (String, Vec<Headline>, f64);

/// `lodestone simulate SCENARIO.toml`.
#[allow(clippy::too_many_arguments)] // one per flag of the command
pub fn simulate_cmd(
    data: Option<PathBuf>,
    scenario: &Path,
    runs: (u64, u64),
    seed: Option<u64>,
    out: Option<&Path>,
    force: bool,
    format: ShowFormat,
    dataflow: &crate::trace::DataflowArgs,
) -> Result<ExitCode, Failure> {
    let cluster = dataflow.cluster()?;
    // In a cluster, process 0 alone writes --out (the others may run on other machines).
    let writes = cluster.as_ref().is_none_or(|c| c.process == 0);
    let claim = out
        .filter(|_| writes)
        .map(|dir| claim_outputs(dir, force))
        .transpose()?;
    let (world, net, mut sf) = prepare(data, scenario)?;
    if let Some(s) = seed {
        sf.scenario.seed = s;
    }
    let stats = match &cluster {
        None => simulate(&net, &sf, runs.0, runs.1)?,
        Some(c) => {
            let merged = lodestone_dataflow::simulate(
                std::sync::Arc::new(net),
                std::sync::Arc::new(sf.scenario.clone()),
                sf.shortfall_level,
                runs,
                c,
            )
            .map_err(|e| Failure::new(1, e.to_string()))?;
            let Some(stats) = merged else {
                eprintln!(
                    "process {} of {}: its workers' runs are done; process 0 prints the results",
                    c.process,
                    c.processes()
                );
                return Ok(ExitCode::SUCCESS);
            };
            stats
        }
    };
    if let Some(dir) = claim {
        write_outputs(&stats, dir)?;
    }
    let v = lodestone_world::views::scenario::scenario_results(
        &world,
        &sf.scenario.name,
        sf.start.clone(),
        &stats,
    );
    let title = match &sf.start {
        Some(start) => format!("{} (month 0 = {start})", sf.scenario.name),
        None => sf.scenario.name.clone(),
    };
    let short: Vec<_> = v
        .countries
        .iter()
        .filter(|h| h.total_shortfall_t_reo_mean > 0.0 || h.probability_shortfall_above_level > 0.0)
        .cloned()
        .collect();
    let format = match format {
        ShowFormat::Table => lodestone_model::OutputFormat::Table,
        ShowFormat::Json => lodestone_model::OutputFormat::Json,
        ShowFormat::Csv => lodestone_model::OutputFormat::Csv,
    };
    crate::emit(
        &v,
        &short,
        format,
        &format!("{title}: {} runs × {} months\n\n", v.runs, v.months),
        &if short.is_empty() {
            "no country is ever short".to_string()
        } else {
            format!(
                "Shares are of demand; the level is a shortfall of {} of demand. {}",
                lodestone_world::views::table::format_share(v.shortfall_level),
                v.estimate
            )
        },
        "scenario",
    )
}

/// `lodestone simulate compare A.toml B.toml …`.
pub fn compare_cmd(
    data: Option<PathBuf>,
    scenarios: &[PathBuf],
    runs: (u64, u64),
    format: ShowFormat,
) -> Result<ExitCode, Failure> {
    if scenarios.len() < 2 {
        return Err(Failure::new(
            2,
            "simulate compare needs two or more scenario files".into(),
        ));
    }
    let mut columns = Vec::new();
    for path in scenarios {
        let (_, net, sf) = prepare(data.clone(), path)?;
        let stats = simulate(&net, &sf, runs.0, runs.1)?;
        columns.push((sf.scenario.name.clone(), stats.headline(), stats.level));
    }
    let mut countries: Vec<String> = columns
        .iter()
        .flat_map(|c| c.1.iter().map(|r| r.country.clone()))
        .collect();
    countries.sort();
    countries.dedup();
    let cell = |col: &Column, c: &str| col.1.iter().find(|r| r.country == c).cloned();
    let out = match format {
        ShowFormat::Json => {
            let arr: Vec<serde_json::Value> = countries
                .iter()
                .flat_map(|c| {
                    columns.iter().map(move |col| {
                        let r = cell(col, c);
                        serde_json::json!({"scenario": col.0, "country": c,
                            "total_shortfall_t_reo_mean": r.as_ref().map(|r| r.total_shortfall_t_reo_mean),
                            "peak_shortfall_share_mean": r.as_ref().map(|r| r.peak_shortfall_share_mean),
                            "probability_shortfall_above_level": r.as_ref().map(|r| r.probability_shortfall_above_level)})
                    })
                })
                .collect();
            serde_json::to_string_pretty(&arr).unwrap_or_default() + "\n"
        }
        _ => {
            let mut head = vec!["country".to_string()];
            for col in &columns {
                head.push(format!("{} total t REO", col.0));
                head.push(format!("{} peak", col.0));
            }
            let body: Vec<Vec<String>> = countries
                .iter()
                .map(|c| {
                    let mut row = vec![c.clone()];
                    for col in &columns {
                        let r = cell(col, c);
                        row.push(r.as_ref().map_or("–".into(), |r| {
                            format!("{:.0}", r.total_shortfall_t_reo_mean)
                        }));
                        row.push(r.as_ref().map_or("–".into(), |r| {
                            format!("{:.1} %", r.peak_shortfall_share_mean * 100.0)
                        }));
                    }
                    row
                })
                .filter(|row| row.iter().skip(1).step_by(2).any(|v| v != "0" && v != "–"))
                .collect();
            format!(
                "{} runs each; mean over runs\n\n{}",
                runs.1 - runs.0,
                text::table(&head, &body)
            )
        }
    };
    std::io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| Failure::new(1, format!("cannot write output: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// `lodestone simulate merge DIR… --out DIR`.
pub fn merge_cmd(dirs: &[PathBuf], out: &Path, force: bool) -> Result<ExitCode, Failure> {
    let claim = claim_outputs(out, force)?;
    let mut total: Option<Stats> = None;
    for d in dirs {
        let path = d.join("stats.txt");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Failure::new(1, format!("cannot read {}: {e}", path.display())))?;
        let s = Stats::from_text(&text)
            .map_err(|e| Failure::new(1, format!("{}: {e}", path.display())))?;
        match &mut total {
            None => total = Some(s),
            Some(t) => t
                .merge(&s)
                .map_err(|e| Failure::new(1, format!("{}: {e}", path.display())))?,
        }
    }
    let total = total
        .ok_or_else(|| Failure::new(2, "simulate merge needs at least one directory".into()))?;
    write_outputs(&total, claim)?;
    eprintln!("merged {} runs into {}", total.runs(), out.display());
    Ok(ExitCode::SUCCESS)
}

/// A text chart row: `#` up to the simulated value, `o` at the observed one, `|` at the base,
/// on a scale where `top` fills the width.
fn text_bar(simulated: f64, observed: Option<f64>, base: f64, top: f64) -> String {
    const WIDTH: usize = 40;
    let at = |x: f64| ((x / top.max(f64::MIN_POSITIVE)) * WIDTH as f64).round() as usize;
    let mut row: Vec<char> = vec![' '; WIDTH + 1];
    for c in row.iter_mut().take(at(simulated).min(WIDTH)) {
        *c = '#';
    }
    if let Some(c) = row.get_mut(at(base).min(WIDTH)) {
        *c = '|';
    }
    if let Some(o) = observed
        && let Some(c) = row.get_mut(at(o).min(WIDTH))
    {
        *c = 'o';
    }
    row.into_iter().collect::<String>().trim_end().to_string()
}

/// `lodestone simulate backtest`: the error table, then each series month by month.
pub fn backtest_cmd(
    data: Option<PathBuf>,
    scenario: &Path,
    runs: u64,
    format: lodestone_model::OutputFormat,
) -> Result<ExitCode, Failure> {
    if !(1..=100_000).contains(&runs) {
        return Err(Failure::new(
            2,
            format!("--runs {runs} is out of range: 1 to 100000"),
        ));
    }
    let (ds, net, sf) = prepare(data, scenario)?;
    let v = lodestone_world::views::backtest::backtest(&ds, &net, &sf, runs)
        .map_err(|e| Failure::new(1, e.0))?;
    let mut after = String::new();
    for s in &v.series {
        after.push_str(&format!(
            "\n{} (2024 base {:.0} t/month): month, simulated t, observed t; # simulated, o observed, | the 2024 base\n",
            s.destination, s.base
        ));
        let top = s
            .months
            .iter()
            .flat_map(|m| [Some(m.simulated), m.observed])
            .flatten()
            .fold(s.base, f64::max);
        for m in &s.months {
            after.push_str(&format!(
                "  {}{}  {:>8.0}  {:>8}  {}\n",
                m.month,
                if m.in_sample { "*" } else { " " },
                m.simulated,
                m.observed.map_or("–".to_string(), |o| format!("{o:.0}")),
                text_bar(m.simulated, m.observed, s.base, top)
            ));
        }
    }
    after.push_str("\n* calibration month. Simulated: mean over the runs, t of magnet (t REO / REO content); observed: China customs as reported (observations.csv).\n");
    crate::emit(
        &v,
        &v.rows,
        format,
        &format!(
            "Backtest of {} ({} runs; the first {} months calibrate the scenario, the rest are out of sample):\n\n",
            v.scenario, v.runs, v.calibration_months
        ),
        &after,
        "backtest",
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_text_bar_marks_simulated_observed_and_base() {
        // Top 40 fills the width: simulated 10 → 10 #, base 20 → | at 20, observed 30 → o at 30.
        let bar = super::text_bar(10.0, Some(30.0), 20.0, 40.0);
        assert_eq!(
            bar,
            format!("{}{}|{}o", "#".repeat(10), " ".repeat(10), " ".repeat(9))
        );
        assert_eq!(
            super::text_bar(0.0, None, 40.0, 40.0),
            format!("{}|", " ".repeat(40))
        );
    }

    #[test]
    fn the_progress_line_shows_the_time_left_at_the_pace_so_far() {
        // 250 of 1,000 runs in 10 s: 30 s left.
        let line = super::progress_line(250, 1000, 10.0);
        assert!(line.contains("250 / 1000 runs, about 30 s left"), "{line}");
        assert!(line.starts_with("[#######        "), "{line}");
        assert!(super::progress_line(0, 10, 0.5).contains("estimating"));
        assert!(super::progress_line(10, 10, 2.0).contains("done in 2.0 s"));
    }
}
