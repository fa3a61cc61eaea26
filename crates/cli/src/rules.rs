//! `lodestone rules list | check | timeline`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use lodestone_model::Date;
use lodestone_rules::{Outcome, Rule, evaluate_all, timeline};
use lodestone_trace::CustodyModel;
use lodestone_world::World;
use lodestone_world::screening::Screening;

use crate::trace::Custody;
use crate::{Failure, ShowFormat, text};

/// Today's date (UTC), the default `--as-of`.
pub fn today() -> Date {
    lodestone_server::today()
}

/// Parses `--as-of`: a full ISO 8601 date.
pub fn parse_date(s: &str) -> Result<Date, String> {
    match Date::parse(s) {
        Some(d) if d.day.is_some() => Ok(d),
        _ => Err(format!(
            "'{s}' is not a date: write YYYY-MM-DD, e.g. 2025-12-01"
        )),
    }
}

fn load(data: Option<PathBuf>) -> Result<World, Failure> {
    Ok(crate::load_valid(&crate::data_dir(data))?)
}

fn out(s: &str) -> Result<(), Failure> {
    std::io::stdout()
        .lock()
        .write_all(s.as_bytes())
        .map_err(|e| Failure::new(1, format!("cannot write output: {e}")))
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

/// `lodestone rules list`.
pub fn list(
    data: Option<PathBuf>,
    as_of: Option<Date>,
    format: ShowFormat,
) -> Result<ExitCode, Failure> {
    let ds = load(data)?;
    let date = as_of.unwrap_or_else(today);
    let rows: Vec<serde_json::Value> = ds
        .rules
        .iter()
        .map(|r| {
            let ev = r.lifecycle.event_on(date);
            serde_json::json!({
                "id": r.id,
                "kind": r.kind.name(),
                "issuer": r.issuer,
                "title": r.title,
                "state": r.lifecycle.state_on(date).name(),
                "since": ev.map(|e| e.date.to_string()),
                "as_of": date.to_string(),
                "confidence": r.confidence,
                "sources": r.sources,
                "file": r.file,
            })
        })
        .collect();
    let s = match format {
        ShowFormat::Json => pretty(&serde_json::Value::Array(rows)),
        ShowFormat::Csv => {
            let mut s = "id,kind,issuer,state,since,title\n".to_string();
            for r in &rows {
                s.push_str(&format!(
                    "{},{},{},{},{},\"{}\"\n",
                    r["id"].as_str().unwrap_or(""),
                    r["kind"].as_str().unwrap_or(""),
                    r["issuer"].as_str().unwrap_or(""),
                    r["state"].as_str().unwrap_or(""),
                    r["since"].as_str().unwrap_or(""),
                    r["title"].as_str().unwrap_or("").replace('"', "\"\"")
                ));
            }
            s
        }
        ShowFormat::Table => {
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    ["id", "kind", "issuer", "state", "since", "title"]
                        .iter()
                        .map(|k| r[*k].as_str().unwrap_or("").to_string())
                        .collect()
                })
                .collect();
            let head: Vec<String> = ["id", "kind", "issuer", "state", "since", "title"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            format!(
                "{}{} rules as of {date}\n",
                text::table(&head, &body),
                rows.len()
            )
        }
    };
    out(&s)?;
    Ok(ExitCode::SUCCESS)
}

fn models(custody: Custody) -> Vec<CustodyModel> {
    match custody {
        Custody::MassBalance => vec![CustodyModel::MassBalance],
        Custody::Segregated => vec![CustodyModel::Segregated],
        Custody::Compare => vec![CustodyModel::MassBalance, CustodyModel::Segregated],
    }
}

fn check_destination(ds: &World, dest: &str) -> Result<(), Failure> {
    let known = ds.table("countries").is_some_and(|t| t.contains(dest));
    if known {
        Ok(())
    } else {
        Err(Failure::new(
            2,
            format!(
                "--destination '{dest}' is not a country in the dataset: use an ISO3 code such as USA, JPN, DEU"
            ),
        ))
    }
}

/// Options of `lodestone rules check`.
pub struct CheckArgs {
    pub data: Option<PathBuf>,
    pub year: i64,
    pub node: Option<String>,
    pub all: bool,
    pub destination: String,
    pub end_use: Option<String>,
    pub as_of: Option<Date>,
    pub custody: Custody,
    pub format: ShowFormat,
}

/// `lodestone rules check`.
pub fn check(a: CheckArgs) -> Result<ExitCode, Failure> {
    let ds = load(a.data.clone())?;
    check_destination(&ds, &a.destination)?;
    let date = a.as_of.unwrap_or_else(today);
    let mut rows = Vec::new();
    for model in models(a.custody) {
        let p = Screening::prepare(&ds, a.year, model).map_err(|e| Failure::new(1, e))?;
        let nodes: Vec<usize> = match (&a.node, a.all) {
            (Some(id), _) => vec![p.node(id).map_err(|e| Failure::new(2, e.0))?],
            (None, true) => (0..p.low.network.len())
                .filter(|&i| p.low.nodes[i].material.is_some())
                .collect(),
            (None, false) => {
                return Err(Failure::new(
                    2,
                    "rules check needs --node ID or --all".into(),
                ));
            }
        };
        for &node in &nodes {
            let product = p.product(&ds, node);
            for d in evaluate_all(
                &ds.rules,
                &product,
                &a.destination,
                a.end_use.as_deref(),
                date,
            ) {
                if a.all && d.outcome == Outcome::NotApplicable {
                    continue;
                }
                rows.push(p.determination_json(&ds, node, &d, !a.all));
            }
        }
    }
    let s = match a.format {
        ShowFormat::Json => pretty(&serde_json::Value::Array(rows)),
        ShowFormat::Csv => {
            let mut s =
                "node,rule,custody,determination,rate,share,threshold,explanation\n".to_string();
            for r in &rows {
                let num = |k: &str| r[k].as_f64().map_or(String::new(), |v| v.to_string());
                s.push_str(&format!(
                    "{},{},{},{},{},{},{},\"{}\"\n",
                    r["node"].as_str().unwrap_or(""),
                    r["rule"].as_str().unwrap_or(""),
                    r["custody"].as_str().unwrap_or(""),
                    r["determination"].as_str().unwrap_or(""),
                    num("rate"),
                    num("share"),
                    num("threshold"),
                    r["explanation"].as_str().unwrap_or("").replace('"', "\"\"")
                ));
            }
            s
        }
        ShowFormat::Table => {
            let mut s = format!(
                "Determinations as of {date}, destination {}{}:\n\n",
                a.destination,
                a.end_use
                    .as_deref()
                    .map_or(String::new(), |u| format!(", end use {u}"))
            );
            for r in &rows {
                let det = match r["rate"].as_f64() {
                    Some(rate) => format!("tariff {:.0} %", rate * 100.0),
                    None => r["determination"].as_str().unwrap_or("").replace('_', " "),
                };
                s.push_str(&format!(
                    "{} — {} [{}, {}]: {}\n  {}\n",
                    r["node"].as_str().unwrap_or(""),
                    r["rule"].as_str().unwrap_or(""),
                    r["state"].as_str().unwrap_or(""),
                    r["custody"].as_str().unwrap_or("").replace('_', " "),
                    det.to_uppercase(),
                    r["explanation"].as_str().unwrap_or("")
                ));
                for path in r["paths"].as_array().into_iter().flatten() {
                    let nodes: Vec<&str> = path["nodes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|n| n.as_str())
                        .collect();
                    s.push_str(&format!(
                        "    path {:5.1} %: {}\n",
                        path["share"].as_f64().unwrap_or(0.0) * 100.0,
                        nodes.join(" → ")
                    ));
                }
                let srcs: Vec<&str> = r["sources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x["id"].as_str())
                    .collect();
                if !srcs.is_empty() {
                    s.push_str(&format!("    sources: {}\n", srcs.join(", ")));
                }
                s.push('\n');
            }
            s.push_str(&format!("{} determinations\n", rows.len()));
            s
        }
    };
    out(&s)?;
    Ok(ExitCode::SUCCESS)
}

/// `lodestone rules timeline`.
pub fn timeline_cmd(
    data: Option<PathBuf>,
    year: i64,
    node: &str,
    destination: &str,
    end_use: Option<&str>,
    custody: Custody,
    format: ShowFormat,
) -> Result<ExitCode, Failure> {
    let ds = load(data)?;
    check_destination(&ds, destination)?;
    let model = if custody == Custody::Segregated {
        CustodyModel::Segregated
    } else {
        CustodyModel::MassBalance
    };
    let p = Screening::prepare(&ds, year, model).map_err(|e| Failure::new(1, e))?;
    let i = p.node(node).map_err(|e| Failure::new(2, e.0))?;
    let product = p.product(&ds, i);
    let rules: &[Rule] = &ds.rules;
    let entries = timeline(rules, &product, destination, end_use);
    let json: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "date": e.date.to_string(),
                "changes": e.changes.iter().map(|(rule, before, after, why)| serde_json::json!({
                    "rule": rule, "from": before, "to": after, "explanation": why,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let s = match format {
        ShowFormat::Json => pretty(&serde_json::Value::Array(json)),
        _ => {
            let mut s = format!(
                "Timeline of {node} to {destination} ({} custody):\n\n",
                p.custody.replace('_', " ")
            );
            for e in &entries {
                for (rule, before, after, why) in &e.changes {
                    s.push_str(&format!(
                        "{}  {rule}: {before} → {after}\n            {why}\n",
                        e.date
                    ));
                }
            }
            if entries.is_empty() {
                s.push_str("no rule ever applies\n");
            }
            s
        }
    };
    out(&s)?;
    Ok(ExitCode::SUCCESS)
}
