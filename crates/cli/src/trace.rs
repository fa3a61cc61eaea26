//! `lodestone trace`, `lodestone export network` and `lodestone generate`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use lodestone_network::{
    Encoding, NETWORK_FILES, PARQUET_FILES, read_network_dir, write_network_dir_as,
};
use lodestone_trace::generate::{GenerateOptions, generate};
use lodestone_trace::{CustodyModel, Network, Structure, Trace, explain, trace};
use lodestone_world::lower::{Lowering, lower_dataset};

use crate::text;
use crate::{Failure, ShowFormat};

/// Which custody model(s) to report.
#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum Custody {
    /// Proportional mixing at every node (the input–output assumption).
    MassBalance,
    /// Declared segregated lines keep their inputs apart.
    Segregated,
    /// Both, side by side, with the difference.
    Compare,
}

/// Where the network comes from.
pub struct Source {
    /// A dataset directory to lower (`--data`), with the year.
    pub data: Option<PathBuf>,
    /// An interchange directory (`--network`).
    pub network: Option<PathBuf>,
    /// Year of the dataset's flows.
    pub year: i64,
}

fn load(source: &Source) -> Result<(Network, Vec<String>), String> {
    if let Some(dir) = &source.network {
        return read_network_dir(dir)
            .map(|n| (n, Vec::new()))
            .map_err(|diags| {
                let mut lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
                let count = lines.len();
                lines.truncate(20);
                if count > 20 {
                    lines.push(format!("… {} more", count - 20));
                }
                format!(
                    "{} is not a valid network:\n{}",
                    dir.display(),
                    lines.join("\n")
                )
            });
    }
    let dir = crate::data_dir(source.data.clone());
    let Lowering { network, notes, .. } = lower_from(&dir, source.year)?;
    Ok((network, notes))
}

fn lower_from(dir: &Path, year: i64) -> Result<Lowering, String> {
    lower_dataset(&crate::load_valid(dir)?.ds, year)
}

fn fmt(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e5 || v.abs() < 1e-4 {
        format!("{v:.6e}")
    } else {
        format!("{}", (v * 1e6).round() / 1e6)
    }
}

fn write_out(s: &str) -> Result<(), String> {
    std::io::stdout()
        .lock()
        .write_all(s.as_bytes())
        .map_err(|e| format!("cannot write output: {e}"))
}

/// Options of `lodestone trace`.
pub struct TraceArgs {
    pub source: Source,
    /// `--element`: element names (comma-separated) or `all`.
    pub element: Option<String>,
    pub node: Option<String>,
    pub tag: Option<String>,
    pub custody: Custody,
    pub explain: Option<String>,
    pub paths: usize,
    pub summary: bool,
    pub format: ShowFormat,
    /// `--workers`, `--hosts`, `--process`: trace on the timely dataflow engine.
    pub dataflow: DataflowArgs,
}

/// The dataflow flags of `lodestone trace`.
pub struct DataflowArgs {
    pub workers: Option<usize>,
    pub hosts: Option<PathBuf>,
    pub process: Option<usize>,
}

impl DataflowArgs {
    /// The cluster the flags describe, if any.
    pub fn cluster(&self) -> Result<Option<lodestone_dataflow::Cluster>, Failure> {
        let Some(threads) = self.workers else {
            return Ok(None);
        };
        let hosts = match &self.hosts {
            Some(file) => {
                let text = std::fs::read_to_string(file).map_err(|e| {
                    Failure::new(
                        2,
                        format!("cannot read the hosts file {}: {e}", file.display()),
                    )
                })?;
                lodestone_dataflow::Cluster::parse_hosts(&text)
                    .map_err(|e| Failure::new(2, format!("{}: {e}", file.display())))?
            }
            None => Vec::new(),
        };
        if hosts.len() > 1 && self.process.is_none() {
            return Err(Failure::new(
                2,
                format!(
                    "--hosts lists {} processes: say which one this is with --process I (0 to {})",
                    hosts.len(),
                    hosts.len() - 1
                ),
            ));
        }
        let cluster = lodestone_dataflow::Cluster {
            threads,
            process: self.process.unwrap_or(0),
            hosts,
        };
        cluster.check().map_err(|why| Failure::new(2, why))?;
        Ok(Some(cluster))
    }
}

/// Hands a traced network and its results to the process's exit instead of dropping them: the
/// command ends right after, and freeing a large network piece by piece (a million node ids,
/// the content arrays) took 0.15–0.2 s of the 1M-node command's wall time, where the OS
/// reclaims the memory at once on exit. Only for what `run_trace` has finished with.
fn leave_to_exit<T>(finished: T) {
    std::mem::forget(finished);
}

/// Runs `lodestone trace`.
pub fn run_trace(args: TraceArgs) -> Result<ExitCode, crate::Failure> {
    if args.element.is_some() {
        return run_element_trace(args);
    }
    let cluster = args.dataflow.cluster()?;
    if cluster.is_some() && args.custody != Custody::MassBalance {
        return Err(Failure::new(
            2,
            "--workers traces under mass balance only: drop --custody".into(),
        ));
    }
    let started = Instant::now();
    let (net, notes) = load(&args.source)?;
    let loaded = started.elapsed();
    let find_node = |id: &str| -> Result<usize, Failure> {
        net.node_index(id).ok_or_else(|| {
            let u = lodestone_world::views::resolve::similar(
                "node of the network (a facility id, an ISO3 market, or ID/material for what a node ships)",
                id,
                net.node_ids.iter().map(String::as_str),
            );
            Failure::new(2, u.to_string())
        })
    };
    // A dataset's tags are FAMILY:VALUE with a fixed vocabulary of families: a misspelt family
    // is an error with a suggestion. (A network's tags are whatever its files say.)
    if args.source.network.is_none()
        && let Some(pattern) = &args.tag
    {
        lodestone_world::views::trace::check_tag_pattern(pattern)?;
    }
    if let Some(target) = &args.explain {
        let node = find_node(target)?;
        let tag_name = args.tag.as_deref().ok_or_else(|| {
            Failure::new(
                2,
                "--explain needs --tag TAG (one tag, e.g. mined:CHN)".into(),
            )
        })?;
        let tag = net.tag_index(tag_name).ok_or_else(|| {
            Failure::new(
                2,
                format!("no tag '{tag_name}'; tags are: {}", net.tags.join(", ")),
            )
        })?;
        let custody = if args.custody == Custody::Segregated {
            CustodyModel::Segregated
        } else {
            CustodyModel::MassBalance
        };
        let t = trace(&net, custody).map_err(|e| e.to_string())?;
        let structure = Structure::build(&net).map_err(|e| e.to_string())?;
        let paths = explain(&net, &structure, &t, node, tag, args.paths, 1_000_000);
        return print_paths(&net, &t, node, tag, &paths, args.format).map_err(Failure::from);
    }
    let tags: Vec<usize> = net.tags_matching(args.tag.as_deref().unwrap_or("*"));
    if tags.is_empty() {
        return Err(Failure::new(
            2,
            format!(
                "no tag matches '{}'; tags are: {}",
                args.tag.unwrap_or_default(),
                net.tags.join(", ")
            ),
        ));
    }
    let nodes: Vec<usize> = match &args.node {
        Some(id) => vec![find_node(id)?],
        None => (0..net.len()).collect(),
    };
    let solve = |m| trace(&net, m).map_err(|e| e.to_string());
    let t0 = Instant::now();
    // The summary reports the structure's loops: build it once, inside the timed trace, and
    // keep it (it used to be built a second time after the timers stopped).
    let mut structure = None;
    // Seconds of each phase, where the summary's trace is timed phase by phase.
    let mut phases = None;
    let (primary, other) = match args.custody {
        Custody::MassBalance if cluster.is_some() => {
            let cluster = cluster.as_ref().expect("checked");
            net.validate().map_err(|e| e.to_string())?;
            let s = std::sync::Arc::new(Structure::build(&net).map_err(|e| e.to_string())?);
            let traced =
                lodestone_dataflow::trace(&net, s.clone(), cluster).map_err(|e| e.to_string())?;
            let Some(t) = traced else {
                eprintln!(
                    "process {} of {}: its workers' part is done; process 0 prints the results",
                    cluster.process,
                    cluster.processes()
                );
                return Ok(ExitCode::SUCCESS);
            };
            structure = Some(s);
            (t, None)
        }
        Custody::MassBalance if args.summary => {
            net.validate().map_err(|e| e.to_string())?;
            let mut seconds: Vec<(&'static str, f64)> = Vec::new();
            let mut lap = Instant::now();
            let s = Structure::build_observed(&net, &mut |phase| {
                seconds.push((phase.name(), lap.elapsed().as_secs_f64()));
                lap = Instant::now();
            })
            .map_err(|e| e.to_string())?;
            let propagating = Instant::now();
            let t = lodestone_trace::trace_prepared(&net, &s).map_err(|e| e.to_string())?;
            seconds.push(("propagation", propagating.elapsed().as_secs_f64()));
            phases = Some(seconds);
            structure = Some(std::sync::Arc::new(s));
            (t, None)
        }
        Custody::MassBalance => (solve(CustodyModel::MassBalance)?, None),
        Custody::Segregated => (solve(CustodyModel::Segregated)?, None),
        Custody::Compare => (
            solve(CustodyModel::MassBalance)?,
            Some(solve(CustodyModel::Segregated)?),
        ),
    };
    let traced = t0.elapsed();
    if args.summary {
        let printed = print_summary(
            &net,
            &primary,
            structure.as_deref(),
            &tags,
            &HowTraced {
                loaded: loaded.as_secs_f64(),
                traced: traced.as_secs_f64(),
                phases,
                engine: match &cluster {
                    Some(c) => format!(
                        "timely dataflow, {} worker(s) in {} process(es)",
                        c.workers(),
                        c.processes()
                    ),
                    None => "single process".to_string(),
                },
            },
            args.format,
        );
        leave_to_exit((net, primary, structure));
        return printed.map_err(Failure::from);
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    let printed = print_rows(
        &net,
        &primary,
        other.as_ref(),
        &nodes,
        &tags,
        args.node.is_some(),
        args.format,
    );
    leave_to_exit((net, primary, other));
    printed.map_err(Failure::from)
}

/// One element's network and trace.
struct ElementRun {
    name: String,
    /// The network the trace's node indices and tags refer to (for a network traced with
    /// `trace_element`, the shared whole network: the element's outputs are in the trace).
    net: std::rc::Rc<Network>,
    trace: Trace,
    /// Element content added over all tags, and leaving the network (equal by conservation).
    added: f64,
    leaving: f64,
}

/// Content added and leaving the network over all tags, for an element trace whose nodes ship
/// `outflow[j]` of the element.
fn conservation(t: &Trace, additions: f64, outflow: &[f64]) -> (f64, f64) {
    let k = t.tags.len();
    let leaving = t
        .output
        .iter()
        .enumerate()
        .map(|(j, x)| {
            (x - outflow[j]).max(0.0) * t.per_unit[j * k..(j + 1) * k].iter().sum::<f64>()
        })
        .sum();
    (additions, leaving)
}

/// `lodestone trace --element`: each named element traced in its own units (t of its oxide for a
/// dataset; the network's units for a network), with an `element` column. For a network the
/// structure is built once and re-weighted per element.
fn run_element_trace(args: TraceArgs) -> Result<ExitCode, Failure> {
    use lodestone_model::{Element, Vocabulary};
    let wanted = args.element.clone().unwrap_or_default();
    let all = wanted.trim() == "all";
    let names: Vec<&str> = wanted
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if args.explain.is_some() || args.custody == Custody::Compare {
        return Err(Failure::new(
            2,
            "--element traces one custody model without --explain; use `lodestone trace --element E --node N` for an element's origins, or the trace page for its paths".into(),
        ));
    }
    let model = if args.custody == Custody::Segregated {
        CustodyModel::Segregated
    } else {
        CustodyModel::MassBalance
    };
    let started = Instant::now();
    let mut runs: Vec<ElementRun> = Vec::new();
    let (loaded, traced);
    if let Some(dir) = &args.source.network {
        let (net, _) = load(&args.source)?;
        let shares = lodestone_network::read_element_shares(dir, &net)
            .map_err(|d| {
                Failure::new(
                    1,
                    d.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
                )
            })?
            .ok_or_else(|| {
                Failure::new(
                    2,
                    format!(
                        "{} records no element shares: add {} or {} (node,element,share) to trace by element",
                        dir.display(),
                        lodestone_network::ELEMENTS_FILE,
                        lodestone_network::ELEMENTS_PARQUET
                    ),
                )
            })?;
        let picked: Vec<usize> = if all {
            (0..shares.names.len()).collect()
        } else {
            names
                .iter()
                .map(|n| {
                    shares.names.iter().position(|x| x == n).ok_or_else(|| {
                        Failure::new(
                            2,
                            lodestone_model::UnknownValue::new(
                                "element of this network",
                                n,
                                shares.names.clone(),
                            )
                            .to_string(),
                        )
                    })
                })
                .collect::<Result<_, _>>()?
        };
        loaded = started.elapsed();
        let t0 = Instant::now();
        let base = Structure::build(&net).map_err(|e| e.to_string())?;
        let outflow_all = net.outflows();
        let shared = std::rc::Rc::new(net);
        for e in picked {
            let share = &shares.shares[e];
            let outflow: Vec<f64> = outflow_all.iter().zip(share).map(|(o, s)| o * s).collect();
            let added: f64 = shared
                .additions
                .iter()
                .map(|a| a.amount * share[a.node as usize])
                .sum();
            let (t, view) = match model {
                CustodyModel::MassBalance => (
                    lodestone_trace::trace_element(&shared, &base, &shares.shares[e])
                        .map_err(|e| e.to_string())?,
                    None,
                ),
                CustodyModel::Segregated => {
                    let view = shared.element_view(&shares.shares[e]);
                    (trace(&view, model).map_err(|e| e.to_string())?, Some(view))
                }
            };
            let (added, leaving) = conservation(&t, added, &outflow);
            runs.push(ElementRun {
                name: shares.names[e].clone(),
                net: view.map_or_else(|| shared.clone(), std::rc::Rc::new),
                trace: t,
                added,
                leaving,
            });
        }
        traced = t0.elapsed();
    } else {
        let elements: Vec<Element> = if all {
            Element::ALL.to_vec()
        } else {
            names
                .iter()
                .map(|n| Element::parse(n).map_err(|e| Failure::new(2, e.to_string())))
                .collect::<Result<_, _>>()?
        };
        if let Some(pattern) = &args.tag {
            lodestone_world::views::trace::check_tag_pattern(pattern)?;
        }
        let dir = crate::data_dir(args.source.data.clone());
        let world = crate::load_valid(&dir)?;
        loaded = started.elapsed();
        let t0 = Instant::now();
        for e in elements {
            let low = match lodestone_world::lower::lower_dataset_with(
                &world.ds,
                args.source.year,
                lodestone_world::lower::Content::Element(e),
                &[],
            ) {
                Ok(low) => low,
                Err(_) if all => continue,
                Err(why) => {
                    return Err(Failure::new(
                        1,
                        format!("no {} is traced in {}: {why}", e.symbol(), args.source.year),
                    ));
                }
            };
            let t = trace(&low.network, model).map_err(|e| e.to_string())?;
            let added = low.network.additions.iter().map(|a| a.amount).sum();
            let (added, leaving) = conservation(&t, added, &low.network.outflows());
            runs.push(ElementRun {
                name: e.name().to_string(),
                net: std::rc::Rc::new(low.network),
                trace: t,
                added,
                leaving,
            });
        }
        traced = t0.elapsed();
    }
    if args.summary {
        let per: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "element": r.name,
                    "nodes": r.net.len(),
                    "checksum": r.trace.per_unit.iter().sum::<f64>(),
                    "added": r.added,
                    "leaving": r.leaving,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "elements": per,
            "tags": runs.first().map_or(0, |r| r.net.tags.len()),
            "load_seconds": loaded.as_secs_f64(),
            "trace_seconds": traced.as_secs_f64(),
        });
        let out = match args.format {
            ShowFormat::Json => serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n",
            _ => {
                let body: Vec<Vec<String>> = runs
                    .iter()
                    .map(|r| vec![r.name.clone(), fmt(r.added), fmt(r.leaving)])
                    .collect();
                let mut s = format!(
                    "{} element(s), {} tags; loaded in {:.3} s, traced in {:.3} s (all elements)\n\n",
                    runs.len(),
                    runs.first().map_or(0, |r| r.net.tags.len()),
                    loaded.as_secs_f64(),
                    traced.as_secs_f64()
                );
                s.push_str(&text::table(
                    &[
                        "element".into(),
                        "added (all tags)".into(),
                        "leaving the network".into(),
                    ],
                    &body,
                ));
                s
            }
        };
        write_out(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let pattern = args.tag.as_deref().unwrap_or("*");
    let header = ["element", "node", "tag", "per_unit", "total"];
    let mut rows: Vec<Vec<serde_json::Value>> = Vec::new();
    for r in &runs {
        let nodes: Vec<usize> = match &args.node {
            Some(id) => match r.net.node_index(id) {
                Some(j) => vec![j],
                None => continue, // the node does not carry this element
            },
            None => (0..r.net.len()).collect(),
        };
        let tags = r.net.tags_matching(pattern);
        for &j in &nodes {
            let mut node_rows: Vec<(f64, Vec<serde_json::Value>)> = tags
                .iter()
                .filter(|&&g| r.trace.per_unit(j, g) != 0.0)
                .map(|&g| {
                    (
                        r.trace.per_unit(j, g),
                        vec![
                            r.name.clone().into(),
                            r.net.node_ids[j].clone().into(),
                            r.net.tags[g].clone().into(),
                            r.trace.per_unit(j, g).into(),
                            r.trace.total(j, g).into(),
                        ],
                    )
                })
                .collect();
            if args.node.is_some() {
                node_rows.sort_by(|a, b| b.0.total_cmp(&a.0));
            }
            rows.extend(node_rows.into_iter().map(|(_, r)| r));
        }
    }
    if let (Some(id), true) = (&args.node, rows.is_empty()) {
        return Err(Failure::new(
            2,
            format!(
                "node '{id}' carries none of the elements asked for (or is not a node of the network)"
            ),
        ));
    }
    write_rows(
        &header,
        &rows,
        args.format,
        "per_unit is the tagged share of the node's content of the element (for a dataset, t per t of the element's oxide); total is in the same units",
    )
    .map_err(Failure::from)
}

fn print_rows(
    net: &Network,
    t: &Trace,
    other: Option<&Trace>,
    nodes: &[usize],
    tags: &[usize],
    one_node: bool,
    format: ShowFormat,
) -> Result<ExitCode, String> {
    let valued = t.value.is_some();
    let mut header: Vec<&str> = vec!["node", "tag"];
    if other.is_some() {
        header.extend([
            "mass_balance_per_unit",
            "segregated_per_unit",
            "difference",
            "mass_balance_total",
            "segregated_total",
        ]);
    } else {
        header.extend(["per_unit", "total"]);
        if valued {
            header.extend(["value_per_unit", "value_share", "value_coverage"]);
        }
    }
    let mut rows: Vec<Vec<serde_json::Value>> = Vec::new();
    for &j in nodes {
        let mut node_rows = Vec::new();
        for &g in tags {
            let (m, tot) = (t.per_unit(j, g), t.total(j, g));
            let o = other.map(|o| (o.per_unit(j, g), o.total(j, g)));
            if m == 0.0 && o.is_none_or(|(om, _)| om == 0.0) {
                continue;
            }
            let mut r: Vec<serde_json::Value> =
                vec![net.node_ids[j].clone().into(), net.tags[g].clone().into()];
            match o {
                Some((om, otot)) => r.extend([
                    m.into(),
                    om.into(),
                    (om - m).into(),
                    tot.into(),
                    otot.into(),
                ]),
                None => {
                    r.extend([m.into(), tot.into()]);
                    if valued {
                        let opt = |v: Option<f64>| v.map_or(serde_json::Value::Null, Into::into);
                        // A value with no priced origin at all is unknown, not zero.
                        let cover = t.value_coverage(j, g);
                        let known = |v: Option<f64>| {
                            if cover.is_some_and(|c| c > 0.0) {
                                v
                            } else {
                                None
                            }
                        };
                        r.extend([
                            opt(known(t.value_per_unit(j, g))),
                            opt(known(t.value_share(j, g))),
                            opt(cover),
                        ]);
                    }
                }
            }
            node_rows.push((m, r));
        }
        if one_node {
            node_rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        }
        rows.extend(node_rows.into_iter().map(|(_, r)| r));
    }
    write_rows(
        &header,
        &rows,
        format,
        "per_unit is the tagged content per unit of the node's output (for a dataset, t per t REO)",
    )
}

/// Writes trace rows: JSON objects by header, CSV, or an aligned table where shares and per-unit
/// contents read as percentages, followed by the row count and `units_note`.
fn write_rows(
    header: &[&str],
    rows: &[Vec<serde_json::Value>],
    format: ShowFormat,
    units_note: &str,
) -> Result<ExitCode, String> {
    let out = match format {
        ShowFormat::Json => {
            let arr: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::Value::Object(
                        header
                            .iter()
                            .map(|h| h.to_string())
                            .zip(r.iter().cloned())
                            .collect(),
                    )
                })
                .collect();
            serde_json::to_string_pretty(&arr).unwrap_or_default() + "\n"
        }
        ShowFormat::Csv => text::csv(header, rows),
        ShowFormat::Table => {
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .map(|(i, v)| match v {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Number(x) => {
                                let x = x.as_f64().unwrap_or(0.0);
                                if header[i].contains("share")
                                    || header[i].contains("coverage")
                                    || (header[i].ends_with("per_unit")
                                        && !header[i].starts_with("value"))
                                {
                                    format!("{:.2} %", x * 100.0)
                                } else {
                                    fmt(x)
                                }
                            }
                            _ => "–".into(),
                        })
                        .collect()
                })
                .collect();
            let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
            let mut s = text::table(&head, &body);
            s.push_str(&format!("{} rows; {units_note}\n", rows.len()));
            s
        }
    };
    write_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// How a summary's trace was run: seconds to load and to trace, and on which engine.
struct HowTraced {
    loaded: f64,
    traced: f64,
    /// Seconds of each phase of the structure's build and of propagation, by name, where they
    /// were timed apart.
    phases: Option<Vec<(&'static str, f64)>>,
    engine: String,
}

fn print_summary(
    net: &Network,
    t: &Trace,
    structure: Option<&Structure>,
    tags: &[usize],
    how: &HowTraced,
    format: ShowFormat,
) -> Result<ExitCode, String> {
    let HowTraced {
        loaded,
        traced,
        phases,
        engine,
    } = how;
    let leaving = t.content_leaving(net);
    let mut added = vec![0.0; net.tags.len()];
    for a in &net.additions {
        added[a.tag as usize] += a.amount;
    }
    let built;
    let structure = match structure {
        Some(s) => s,
        None => {
            built = Structure::build(net).map_err(|e| e.to_string())?;
            &built
        }
    };
    let mut summary = serde_json::json!({
        "engine": engine,
        "nodes": net.len(),
        "flows": net.flows.len(),
        "tags": net.tags.len(),
        "loops": structure.loop_count(),
        "nodes_on_loops": structure.nodes_on_loops(),
        "load_seconds": loaded,
        "trace_seconds": traced,
        "checksum": t.per_unit.iter().sum::<f64>(),
        "by_tag": tags.iter().map(|&g| serde_json::json!({"tag": net.tags[g], "added": added[g], "leaving": leaving[g]})).collect::<Vec<_>>(),
    });
    // Where the time went (the benchmarks' account of it; BENCHMARKS.md).
    if let Some(phases) = phases {
        summary["phase_seconds"] = phases
            .iter()
            .map(|&(name, s)| (name.to_string(), serde_json::json!(s)))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    let out = match format {
        ShowFormat::Json => serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n",
        _ => {
            let mut s = format!(
                "{} nodes, {} flows, {} tags, {} loops ({} nodes on loops); loaded in {:.3} s, traced in {:.3} s ({engine})\n\n",
                net.len(),
                net.flows.len(),
                net.tags.len(),
                structure.loop_count(),
                structure.nodes_on_loops(),
                loaded,
                traced
            );
            let body: Vec<Vec<String>> = tags
                .iter()
                .map(|&g| vec![net.tags[g].clone(), fmt(added[g]), fmt(leaving[g])])
                .collect();
            s.push_str(&text::table(
                &["tag".into(), "added".into(), "leaving the network".into()],
                &body,
            ));
            s
        }
    };
    write_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn print_paths(
    net: &Network,
    t: &Trace,
    node: usize,
    tag: usize,
    paths: &[lodestone_trace::Path],
    format: ShowFormat,
) -> Result<ExitCode, String> {
    let out = match format {
        ShowFormat::Json => {
            let arr: Vec<serde_json::Value> = paths
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    serde_json::json!({
                        "rank": i + 1,
                        "share": p.share,
                        "per_unit": p.per_unit,
                        "nodes": p.steps.iter().map(|s| net.node_ids[s.node].clone()).collect::<Vec<_>>(),
                        "steps": p.steps.iter().map(|s| serde_json::json!({
                            "node": net.node_ids[s.node],
                            "output": s.output,
                            "flow_to_next": s.flow_to_next,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "node": net.node_ids[node],
                "tag": net.tags[tag],
                "per_unit": t.per_unit(node, tag),
                "total": t.total(node, tag),
                "paths": arr,
            });
            serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
        }
        ShowFormat::Csv => {
            let mut s = "rank,share,per_unit,path\n".to_string();
            for (i, p) in paths.iter().enumerate() {
                let path: Vec<&str> = p
                    .steps
                    .iter()
                    .map(|st| net.node_ids[st.node].as_str())
                    .collect();
                s.push_str(&format!(
                    "{},{},{},\"{}\"\n",
                    i + 1,
                    p.share,
                    p.per_unit,
                    path.join(" > ")
                ));
            }
            s
        }
        ShowFormat::Table => {
            let mut s = format!(
                "{} of '{}': {} per unit of output ({} in total); top {} paths:\n\n",
                net.tags[tag],
                net.node_ids[node],
                fmt(t.per_unit(node, tag)),
                fmt(t.total(node, tag)),
                paths.len()
            );
            let mut covered = 0.0;
            for (i, p) in paths.iter().enumerate() {
                covered += p.share;
                s.push_str(&format!("{:>3}. {:6.2} %  ", i + 1, p.share * 100.0));
                let parts: Vec<String> = p
                    .steps
                    .iter()
                    .map(|st| match st.flow_to_next {
                        Some(q) => format!("{} ─{}→ ", net.node_ids[st.node], fmt(q)),
                        None => net.node_ids[st.node].clone(),
                    })
                    .collect();
                s.push_str(&parts.concat());
                s.push('\n');
            }
            s.push_str(&format!(
                "\nThese paths explain {:.2} % of the content; quantities on arrows are flows.\n",
                covered * 100.0
            ));
            s
        }
    };
    write_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes a network into an output directory the command may write (see `output.rs`).
fn write_network(
    net: &lodestone_trace::Network,
    out: &Path,
    force: bool,
    enc: Encoding,
) -> Result<(), Failure> {
    let claim = crate::output::OutputDir::claim(out, &network_names(), force)?;
    finish_network(net, claim, enc)
}

/// The files a network output may hold, in both encodings.
fn network_names() -> Vec<&'static str> {
    NETWORK_FILES
        .iter()
        .chain(&PARQUET_FILES)
        .copied()
        .collect()
}

/// Writes the network's files into a claimed directory. Files of an earlier network that this
/// one does not have — a `segregation` table, or the tables in the other encoding, which would
/// make the directory ambiguous — are removed (the claim proved Lodestone wrote them).
fn finish_network(
    net: &lodestone_trace::Network,
    mut out: crate::output::OutputDir,
    enc: Encoding,
) -> Result<(), Failure> {
    let written = write_network_dir_as(net, out.path(), enc)
        .map_err(|e| Failure::new(1, format!("cannot write {}: {e}", out.path().display())))?;
    for name in &written {
        out.record(name)?;
    }
    for name in network_names() {
        if !written.contains(&name) {
            out.remove_stale(name)?;
        }
    }
    Ok(())
}

/// Runs `lodestone export network`.
pub fn run_export_network(
    data: Option<PathBuf>,
    year: i64,
    out: &Path,
    force: bool,
    enc: Encoding,
) -> Result<ExitCode, Failure> {
    let dir = crate::data_dir(data);
    let lowering = lower_from(&dir, year)?;
    write_network(&lowering.network, out, force, enc)?;
    for n in &lowering.notes {
        eprintln!("note: {n}");
    }
    eprintln!(
        "wrote {} nodes, {} flows, {} tags (quantities in t REO, flows of {year}) to {}",
        lowering.network.len(),
        lowering.network.flows.len(),
        lowering.network.tags.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Largest network `generate` makes: 10⁸ nodes (a customs authority's declarations), 10⁹ flows.
const MAX_NODES: usize = 100_000_000;
const MAX_FLOWS: usize = 1_000_000_000;
const MAX_TAGS: usize = 1024;
/// Memory the generated network may take (bytes): what this machine kind has to spare.
const MAX_BYTES: f64 = 16.0 * (1u64 << 30) as f64;

/// Bounds of `generate`'s arguments, each with what is valid.
fn check_generate(o: &GenerateOptions) -> Result<(), String> {
    if !(16..=MAX_NODES).contains(&o.nodes) {
        return Err(format!(
            "--nodes {} is out of range: 16 to {MAX_NODES}",
            o.nodes
        ));
    }
    if !(0.0..=0.5).contains(&o.cycles) {
        return Err(format!(
            "--cycles {} is out of range: 0 to 0.5 (the fraction of nodes on loops)",
            o.cycles
        ));
    }
    let loops = lodestone_trace::generate::loop_flows(o);
    if !(loops + 1..=MAX_FLOWS).contains(&o.flows) {
        return Err(format!(
            "--flows {} is out of range: {} (the {loops} loop flows of --cycles {} and one forward flow) to {MAX_FLOWS}",
            o.flows,
            loops + 1,
            o.cycles
        ));
    }
    if !(1..=MAX_TAGS).contains(&o.tags) {
        return Err(format!(
            "--tags {} is out of range: 1 to {MAX_TAGS}",
            o.tags
        ));
    }
    // Flows (two indices and a quantity) and per-node outputs and content.
    let bytes = o.flows as f64 * 16.0 + o.nodes as f64 * (48.0 + 16.0 * o.tags as f64);
    if bytes > MAX_BYTES {
        return Err(format!(
            "a network of {} nodes, {} flows and {} tags needs about {:.0} GiB in memory; at most {:.0} GiB: use fewer nodes, flows or tags",
            o.nodes,
            o.flows,
            o.tags,
            bytes / (1u64 << 30) as f64,
            MAX_BYTES / (1u64 << 30) as f64
        ));
    }
    Ok(())
}

/// The element file in both encodings.
const ELEMENT_FILES: [&str; 2] = [
    lodestone_network::ELEMENTS_FILE,
    lodestone_network::ELEMENTS_PARQUET,
];

/// Runs `lodestone generate`.
pub fn run_generate(
    opts: GenerateOptions,
    elements: usize,
    out: &Path,
    force: bool,
    enc: Encoding,
) -> Result<ExitCode, Failure> {
    check_generate(&opts).map_err(|m| Failure::new(2, m))?;
    if elements > 64 {
        return Err(Failure::new(
            2,
            format!("--elements {elements} is out of range: 0 to 64"),
        ));
    }
    // Claimed before the (possibly long) generation, so a refused directory fails at once.
    let mut names = network_names();
    names.extend(ELEMENT_FILES);
    let mut claim = crate::output::OutputDir::claim(out, &names, force)?;
    let started = Instant::now();
    let seed = opts.seed;
    let net = generate(opts);
    if elements > 0 {
        let shares = lodestone_network::ElementShares {
            names: (1..=elements).map(|e| format!("e{e}")).collect(),
            shares: lodestone_trace::generate::element_shares(net.len(), elements, seed),
        };
        let written = lodestone_network::write_element_shares(&net, &shares, claim.path(), enc)
            .map_err(|e| {
                Failure::new(1, format!("cannot write {}: {e}", claim.path().display()))
            })?;
        claim.record(written)?;
    }
    // An element file of an earlier network, or in the other encoding, would be read with
    // this one (the claim proved Lodestone wrote it).
    for name in ELEMENT_FILES {
        if elements == 0 || name != enc.elements_file() {
            claim.remove_stale(name)?;
        }
    }
    finish_network(&net, claim, enc)?;
    eprintln!(
        "wrote {} nodes, {} flows, {} tags to {} in {:.1} s",
        net.len(),
        net.flows.len(),
        net.tags.len(),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
