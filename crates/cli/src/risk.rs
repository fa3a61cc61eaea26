//! `lodestone risk concentration | dependency | benchmarks | critical`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use lodestone_rules::RuleKind;
use lodestone_trace::{CustodyModel, Trace, trace};
use lodestone_world::World;
use lodestone_world::lower::{Lowering, lower_dataset};
use lodestone_world::risk_inputs::{
    concentration_rows, country_members, critical_rows, dependency_rows, dependency_view,
};

use crate::{Failure, ShowFormat, text};

/// Common options of the risk views.
pub struct RiskArgs {
    pub data: Option<PathBuf>,
    pub year: i64,
    pub country: Option<String>,
    pub material: Option<String>,
    pub stage: Option<String>,
    pub basis: Option<String>,
    pub format: ShowFormat,
}

fn load(a: &RiskArgs) -> Result<(World, Lowering, Trace), Failure> {
    let ds = crate::load_valid(&crate::data_dir(a.data.clone()))?;
    let low = lower_dataset(&ds, a.year).map_err(|e| Failure::new(1, e))?;
    let t = trace(&low.network, CustodyModel::MassBalance)
        .map_err(|e| Failure::new(1, e.to_string()))?;
    Ok((ds, low, t))
}

/// Expands `--country`: an ISO3 code or a group id (`eu`, `asean`, …) to member codes.
fn members(ds: &World, country: &str) -> Result<Vec<String>, Failure> {
    country_members(ds, country).ok_or_else(|| {
        Failure::new(
            2,
            format!(
                "--country '{country}' is neither a country (ISO3, e.g. MYS) nor a group (e.g. eu, asean) of the dataset"
            ),
        )
    })
}

fn emit(
    header: &[&str],
    rows: Vec<Vec<serde_json::Value>>,
    format: ShowFormat,
    footer: &str,
) -> Result<ExitCode, Failure> {
    let s = match format {
        ShowFormat::Json => {
            let arr: Vec<serde_json::Value> = rows
                .into_iter()
                .map(|r| {
                    serde_json::Value::Object(header.iter().map(|h| h.to_string()).zip(r).collect())
                })
                .collect();
            serde_json::to_string_pretty(&arr).unwrap_or_default() + "\n"
        }
        ShowFormat::Csv => text::csv(header, &rows),
        ShowFormat::Table => {
            let body: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .zip(header)
                        .map(|(v, h)| match v {
                            serde_json::Value::Number(x) if x.is_i64() => x.to_string(),
                            serde_json::Value::Number(x) => {
                                let x = x.as_f64().unwrap_or(0.0);
                                if [
                                    "share", "top1", "top3", "direct", "traced", "hidden", "value",
                                    "limit", "gap",
                                ]
                                .contains(h)
                                {
                                    format!("{:.1} %", x * 100.0)
                                } else if *h == "hhi" {
                                    format!("{x:.0}")
                                } else {
                                    format!("{x:.1}")
                                }
                            }
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Array(a) => a
                                .iter()
                                .filter_map(|x| x.as_str())
                                .collect::<Vec<_>>()
                                .join(";"),
                            _ => "–".into(),
                        })
                        .collect()
                })
                .collect();
            let head: Vec<String> = header.iter().map(|h| h.to_string()).collect();
            format!("{}{footer}\n", text::table(&head, &body))
        }
    };
    std::io::stdout()
        .lock()
        .write_all(s.as_bytes())
        .map_err(|e| Failure::new(1, format!("cannot write output: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// `lodestone risk concentration`.
pub fn concentration(a: RiskArgs, scope: &str, view: &str) -> Result<ExitCode, Failure> {
    let (ds, low, _) = load(&a)?;
    if let Some(b) = &a.basis
        && !["capacity", "flow", "production"].contains(&b.as_str())
    {
        return Err(Failure::new(
            2,
            format!("--basis '{b}' is not capacity, flow or production"),
        ));
    }
    let rows: Vec<Vec<serde_json::Value>> = concentration_rows(&ds, &low, a.year)
        .into_iter()
        .filter(|r| r.scope == scope.replace('-', "_") && r.view == view)
        .filter(|r| a.basis.as_deref().is_none_or(|b| b == r.basis))
        .filter(|r| a.material.as_deref().is_none_or(|m| m == r.material))
        .filter(|r| a.stage.as_deref().is_none_or(|s| s == r.stage))
        .filter(|r| r.basis != "production" || r.year == a.year)
        .filter(|r| a.country.as_deref().is_none_or(|c| c == r.country))
        .map(|r| {
            vec![
                r.material.into(),
                r.stage.into(),
                r.basis.into(),
                r.year.into(),
                r.country.into(),
                r.quantity.into(),
                r.unit.into(),
                r.share.into(),
                r.hhi.into(),
                r.top1.into(),
                r.top3.into(),
                serde_json::json!(r.sources),
            ]
        })
        .collect();
    let n = rows.len();
    // The JSON key stays `country` for the country views; the other views name what they rank.
    let key_name = if view == "location" || view == "ownership" {
        "country"
    } else {
        view
    };
    emit(
        &[
            "material", "stage", "basis", "year", key_name, "quantity", "unit", "share", "hhi",
            "top1", "top3", "sources",
        ],
        rows,
        a.format,
        &format!(
            "{n} rows ({scope}, by {view}); hhi on percentage shares (0–10,000); production shares are of the published world total where one exists"
        ),
    )
}

/// `lodestone risk dependency`.
pub fn dependency(a: RiskArgs) -> Result<ExitCode, Failure> {
    let (ds, low, t) = load(&a)?;
    let country = a.country.clone().ok_or_else(|| {
        Failure::new(
            2,
            "risk dependency needs --country ISO3 (or a group such as eu)".into(),
        )
    })?;
    let m = members(&ds, &country)?;
    let view = dependency_view(
        &ds,
        &low,
        &t,
        &country,
        &m,
        a.material.as_deref(),
        a.stage.as_deref(),
    );
    let headline = view.headline.map_or(String::new(), |h| format!("\n{h}"));
    let rows: Vec<Vec<serde_json::Value>> = view
        .rows
        .into_iter()
        .map(|r| {
            vec![
                r.traced_stage.into(),
                r.origin.into(),
                r.direct.into(),
                r.traced.into(),
                r.hidden.into(),
                r.receipts_t_reo.into(),
                serde_json::json!(r.sources),
            ]
        })
        .collect();
    emit(
        &[
            "traced_stage",
            "origin",
            "direct",
            "traced",
            "hidden",
            "receipts_t_reo",
            "sources",
        ],
        rows,
        a.format,
        &(format!(
            "{country}: direct = share of receipts{}{} shipped from the origin; traced = share of their content that was {{mined, separated, made into metal, made into magnets}} there (t REO, {})",
            a.material
                .as_deref()
                .map_or(String::new(), |m| format!(" of {m}")),
            a.stage
                .as_deref()
                .map_or(String::new(), |s| format!(" at stage {s}")),
            a.year
        ) + &headline),
    )
}

/// `lodestone risk critical`.
pub fn critical(a: RiskArgs) -> Result<ExitCode, Failure> {
    let (ds, low, t) = load(&a)?;
    let country = a.country.clone().ok_or_else(|| {
        Failure::new(
            2,
            "risk critical needs --country ISO3 (or a group such as eu)".into(),
        )
    })?;
    let m = members(&ds, &country)?;
    let ft = ds.table("facilities");
    let rows: Vec<Vec<serde_json::Value>> = critical_rows(&ds, &low, &t, &m)
        .into_iter()
        .map(|r| {
            let name = ft
                .and_then(|ft| {
                    ft.find(&r.facility)
                        .and_then(|row| ft.text(row, "name").map(str::to_string))
                })
                .unwrap_or_default();
            vec![
                r.facility.clone().into(),
                name.into(),
                r.facility_country.into(),
                r.share.into(),
                r.loss_without_rerouting.into(),
                r.loss_with_rerouting.into(),
                serde_json::json!(
                    ft.and_then(|ft| ft.find(&r.facility).and_then(|row| ft.text(row, "source")))
                        .into_iter()
                        .collect::<Vec<_>>()
                ),
            ]
        })
        .collect();
    emit(
        &[
            "facility",
            "name",
            "country",
            "share",
            "loss_without_rerouting",
            "loss_with_rerouting",
            "sources",
        ],
        rows,
        a.format,
        &format!(
            "{country}: share of its rare-earth receipts (t REO, {}) that passed through each facility; loss in t REO/yr if it stops for a year",
            a.year
        ),
    )
}

/// `lodestone risk benchmarks`.
pub fn benchmarks(a: RiskArgs) -> Result<ExitCode, Failure> {
    let (ds, low, t) = load(&a)?;
    let mut rows = Vec::new();
    for rule in &ds.rules {
        let RuleKind::Benchmark {
            max_single_country_share,
            targets,
        } = &rule.kind
        else {
            continue;
        };
        let bloc = a.country.clone().unwrap_or_else(|| {
            if rule.issuer == "EU" {
                "eu".into()
            } else {
                rule.issuer.clone()
            }
        });
        let m = members(&ds, &bloc)?;
        let deps = dependency_rows(&ds, &low, &t, &m, a.material.as_deref(), a.stage.as_deref());
        for family in ["mined", "separated", "metal", "magnet"] {
            let third: Vec<&lodestone_risk::DependencyRow> = deps
                .iter()
                .filter(|(f, _, r)| f == family && !m.contains(&r.origin))
                .map(|(_, _, r)| r)
                .collect();
            if let (Some(limit), Some(top)) = (
                max_single_country_share,
                third.iter().max_by(|x, y| x.traced.total_cmp(&y.traced)),
            ) {
                rows.push(vec![
                    rule.id.clone().into(),
                    bloc.clone().into(),
                    format!("single third country ({family})").into(),
                    top.origin.clone().into(),
                    top.traced.into(),
                    (*limit).into(),
                    (top.traced - limit).into(),
                    if top.traced <= *limit {
                        "met"
                    } else {
                        "not met"
                    }
                    .into(),
                ]);
            }
            let own: f64 = deps
                .iter()
                .filter(|(f, _, r)| f == family && m.contains(&r.origin))
                .map(|(_, _, r)| r.traced)
                .sum();
            let target = match family {
                "mined" => targets.iter().find(|(s, _)| s == "extraction"),
                "separated" => targets.iter().find(|(s, _)| s == "processing"),
                _ => None,
            };
            if let Some((stage, min)) = target {
                rows.push(vec![
                    rule.id.clone().into(),
                    bloc.clone().into(),
                    format!("{stage} within the bloc ({family})").into(),
                    bloc.clone().into(),
                    own.into(),
                    (*min).into(),
                    (own - min).into(),
                    if own >= *min { "met" } else { "not met" }.into(),
                ]);
            }
        }
        if let Some((_, min)) = targets.iter().find(|(s, _)| s == "recycling") {
            rows.push(vec![
                rule.id.clone().into(),
                bloc.clone().into(),
                "recycling".into(),
                serde_json::Value::Null,
                serde_json::Value::Null,
                (*min).into(),
                serde_json::Value::Null,
                "no data (the dataset records no recycling flows)".into(),
            ]);
        }
    }
    emit(
        &[
            "rule", "bloc", "test", "country", "value", "limit", "gap", "status",
        ],
        rows,
        a.format,
        &format!(
            "benchmarks on traced consumption (receipts of the bloc's facilities and markets, t REO, {})",
            a.year
        ),
    )
}
