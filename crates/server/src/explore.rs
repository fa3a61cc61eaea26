//! Explorer pages: the trace explorer, rule screening and the scenario runner as server-rendered
//! HTML forms. Each page calls the JSON API handler it shows (so page and API cannot disagree)
//! and renders the answer; the scenario runner's job page refreshes itself while the job runs
//! (a `<meta>` refresh, no script), and closing it lets the server's watchdog cancel the job.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::pages::{page, page_with_head};
use crate::{AppState, esc, jobs};

type Params = Query<HashMap<String, String>>;

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

fn problem(message: &str) -> String {
    format!(
        "<p role=\"alert\" style=\"border-left:4px solid #b00020;padding-left:.6rem\">{}</p>",
        esc(message)
    )
}

fn pct(v: &serde_json::Value) -> String {
    v.as_f64()
        .map_or("–".into(), |x| format!("{:.2} %", x * 100.0))
}

fn num(v: &serde_json::Value, digits: usize) -> String {
    v.as_f64().map_or("–".into(), |x| format!("{x:.digits$}"))
}

/// A `<datalist>` of the product nodes (`FACILITY/material`) of the bundled year.
fn node_list(s: &AppState) -> String {
    let mut ids: Vec<String> = s
        .ds
        .table("flows")
        .map(|t| {
            t.rows
                .iter()
                .filter_map(|r| Some(format!("{}/{}", t.text(r, "from")?, t.text(r, "material")?)))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids.dedup();
    let options: String = ids
        .iter()
        .map(|id| format!("<option value=\"{}\">", esc(id)))
        .collect();
    format!("<datalist id=\"nodes\">{options}</datalist>")
}

fn get<'a>(q: &'a HashMap<String, String>, k: &str) -> &'a str {
    q.get(k).map_or("", String::as_str)
}

fn paths_html(paths: &serde_json::Value) -> String {
    let items: String = paths
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let nodes: Vec<String> = p["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str())
                .map(esc)
                .collect();
            format!("<li>{}: {}</li>", pct(&p["share"]), nodes.join(" → "))
        })
        .collect();
    if items.is_empty() {
        String::new()
    } else {
        format!("<ol>{items}</ol>")
    }
}

fn source_links(ids: &serde_json::Value) -> String {
    ids.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().or_else(|| x["id"].as_str()))
        .map(|id| format!("<a href=\"/records/sources/{0}\">{0}</a>", esc(id)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /explore/trace`: pick a node and a tag pattern; see the origin mix and its paths.
pub async fn trace_page(State(s): State<Arc<AppState>>, Query(q): Params) -> Response {
    let node = get(&q, "node");
    let tag = if get(&q, "tag").is_empty() {
        "mined:*"
    } else {
        get(&q, "tag")
    };
    let segregated = get(&q, "custody") == "segregated";
    let mut body = format!(
        "<h1>Trace explorer</h1><p class=\"sub\">Where the rare earths in a product come from: the content of a node's output by tag (mined:, separated:, metal:, magnet:, tech:, facility:), per t REO, under a chain-of-custody model; with the supply paths behind the largest share. Flows are mostly estimates (see each flow's record).</p>\
         <form method=\"get\" action=\"/explore/trace\"><label>Node <input name=\"node\" list=\"nodes\" size=\"40\" value=\"{}\" required></label> <label>Tag <input name=\"tag\" value=\"{}\"></label> <label>Custody <select name=\"custody\"><option value=\"mass_balance\">mass balance</option><option value=\"segregated\"{}>segregated</option></select></label> <button>Trace</button>{}</form>",
        esc(node),
        esc(tag),
        if segregated { " selected" } else { "" },
        node_list(&s)
    );
    let mut status = StatusCode::OK;
    if !node.is_empty() {
        match answer(crate::trace_node(State(s.clone()), Query(q.clone())).await).await {
            Ok(v) => {
                body.push_str(&format!(
                    "<h2>{} ({}, {})</h2><table><tr><th>tag</th><th>content per t REO of output</th><th>t REO/yr</th></tr>",
                    esc(node),
                    esc(v["custody"].as_str().unwrap_or("")),
                    v["year"]
                ));
                for r in v["rows"].as_array().into_iter().flatten() {
                    body.push_str(&format!(
                        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                        esc(r["tag"].as_str().unwrap_or("")),
                        pct(&r["per_unit"]),
                        num(&r["total"], 1)
                    ));
                }
                body.push_str("</table>");
                if let Some(t) = v["paths_for"].as_str() {
                    body.push_str(&format!(
                        "<h3>Paths carrying {}</h3>{}",
                        esc(t),
                        paths_html(&v["paths"])
                    ));
                }
                body.push_str(&format!(
                    "<p><small>Flows behind this node: {}. <a href=\"/api/trace?node={}&amp;tag={}\">JSON</a></small></p>",
                    source_links(&v["sources"]),
                    esc(&urlencode(node)),
                    esc(&urlencode(tag))
                ));
            }
            Err((code, message)) => {
                status = code;
                body.push_str(&problem(&message));
            }
        }
    }
    (status, Html(page("Trace explorer", &body))).into_response()
}

/// `GET /explore/rules`: a product, a destination and a date → determinations with reasoning.
pub async fn rules_page(State(s): State<Arc<AppState>>, Query(q): Params) -> Response {
    let node = get(&q, "node");
    let destination = if get(&q, "destination").is_empty() {
        "USA"
    } else {
        get(&q, "destination")
    };
    let countries: String =
        s.ds.table("countries")
            .map(|t| {
                t.rows
                    .iter()
                    .filter_map(|r| Some((t.text(r, "id")?, t.text(r, "name")?)))
                    .map(|(id, name)| {
                        format!(
                            "<option value=\"{}\"{}>{}</option>",
                            esc(id),
                            if id == destination { " selected" } else { "" },
                            esc(name)
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
    let mut body = format!(
        "<h1>Rule screening</h1><p class=\"sub\">Which trade rules bite on a product shipped to a destination on a date: export controls by content, tariffs by customs origin, bans and procurement tests, each with its reasoning, the supply paths behind the deciding share, and its sources.</p>\
         <form method=\"get\" action=\"/explore/rules\"><label>Product <input name=\"node\" list=\"nodes\" size=\"40\" value=\"{}\" required></label> <label>Destination <select name=\"destination\">{}</select></label> <label>As of <input type=\"date\" name=\"as_of\" value=\"{}\"></label> <label>End use <input name=\"end_use\" value=\"{}\" size=\"10\"></label> <button>Screen</button>{}</form>",
        esc(node),
        countries,
        esc(get(&q, "as_of")),
        esc(get(&q, "end_use")),
        node_list(&s)
    );
    let mut status = StatusCode::OK;
    if !node.is_empty() {
        let mut q = q.clone();
        q.insert("destination".into(), destination.into());
        q.retain(|_, v| !v.is_empty());
        match answer(crate::rules_check(State(s.clone()), Query(q)).await).await {
            Ok(v) => {
                body.push_str(&format!(
                    "<h2>{} to {} as of {}</h2>",
                    esc(node),
                    esc(destination),
                    esc(v["as_of"].as_str().unwrap_or(""))
                ));
                let mut steps = String::new();
                for e in v["timeline"].as_array().into_iter().flatten() {
                    for c in e["changes"].as_array().into_iter().flatten() {
                        steps.push_str(&format!(
                            "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td><small>{}</small></td></tr>",
                            esc(e["date"].as_str().unwrap_or("")),
                            esc(c["rule"].as_str().unwrap_or("")),
                            esc(c["from"].as_str().unwrap_or("")),
                            esc(c["to"].as_str().unwrap_or("")),
                            esc(c["explanation"].as_str().unwrap_or(""))
                        ));
                    }
                }
                if !steps.is_empty() {
                    body.push_str(&format!(
                        "<h3>Timeline: when the answer changes</h3><table><tr><th>date</th><th>rule</th><th>change</th><th>why</th></tr>{steps}</table>"
                    ));
                }
                for d in v["determinations"].as_array().into_iter().flatten() {
                    let outcome = match d["rate"].as_f64() {
                        Some(rate) => format!("tariff {:.0} %", rate * 100.0),
                        None => d["determination"].as_str().unwrap_or("").replace('_', " "),
                    };
                    body.push_str(&format!(
                        "<article><h3>{} — {}</h3><p><small>{} · {} · {}</small></p><p>{}</p>{}<p><small>Sources: {}</small></p></article>",
                        esc(d["rule"].as_str().unwrap_or("")),
                        esc(&outcome.to_uppercase()),
                        esc(d["kind"].as_str().unwrap_or("")),
                        esc(d["state"].as_str().unwrap_or("")),
                        esc(&d["custody"].as_str().unwrap_or("").replace('_', " ")),
                        esc(d["explanation"].as_str().unwrap_or("")),
                        paths_html(&d["paths"]),
                        source_links(&d["sources"])
                    ));
                }
            }
            Err((code, message)) => {
                status = code;
                body.push_str(&problem(&message));
            }
        }
    }
    (status, Html(page("Rule screening", &body))).into_response()
}

/// Percent-encodes a query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /explore/simulate`: the bundled scenarios, a form to run one, and the recent jobs.
pub async fn simulate_page(State(s): State<Arc<AppState>>) -> Response {
    let list = match answer(jobs::list(State(s.clone())).await).await {
        Ok(v) => v,
        Err((code, m)) => {
            return (code, Html(page("Scenario runner", &problem(&m)))).into_response();
        }
    };
    let options: String = list["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str())
        .map(|n| format!("<option value=\"{0}\">{0}</option>", esc(n)))
        .collect();
    let mut body = format!(
        "<h1>Scenario runner</h1><p class=\"sub\">Run a bundled disruption scenario as a Monte Carlo batch (at most {} runs); the job page shows progress and can cancel. One job runs at a time.</p>\
         <form method=\"post\" action=\"/explore/simulate\"><label>Scenario <select name=\"scenario\">{}</select></label> <label>Runs <input type=\"number\" name=\"runs\" value=\"1000\" min=\"1\" max=\"{}\"></label> <button>Run</button></form><h2>Jobs</h2><ul>",
        list["max_runs"], options, list["max_runs"]
    );
    for j in list["jobs"].as_array().into_iter().flatten().rev() {
        body.push_str(&format!(
            "<li><a href=\"/explore/simulate/{0}\">job {0}</a>: {1}, {2} runs — {3}</li>",
            j["id"],
            esc(j["scenario"].as_str().unwrap_or("")),
            j["runs"],
            esc(j["status"].as_str().unwrap_or(""))
        ));
    }
    body.push_str("</ul>");
    Html(page("Scenario runner", &body)).into_response()
}

/// `POST /explore/simulate` (form): starts a job and redirects to its page.
pub async fn simulate_start(
    State(s): State<Arc<AppState>>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let runs: Option<u64> = form.get("runs").and_then(|r| r.trim().parse().ok());
    let mut req = serde_json::json!({ "scenario": get(&form, "scenario") });
    if let Some(r) = runs {
        req["runs"] = r.into();
    }
    let res = jobs::start(State(s.clone()), req.to_string()).await;
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
            (
                code,
                Html(page(
                    "Scenario runner",
                    &(problem(&m) + "<p><a href=\"/explore/simulate\">Back</a></p>"),
                )),
            )
                .into_response()
        }
    }
}

/// `GET /explore/simulate/{job}`: progress (refreshing every second while running), results.
pub async fn job_page(State(s): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let v = match answer(jobs::show(State(s.clone()), Path(id)).await).await {
        Ok(v) => v,
        Err((code, m)) => return (code, Html(page("Scenario job", &problem(&m)))).into_response(),
    };
    let status = v["status"].as_str().unwrap_or("");
    let running = status == "running" || status == "cancelling";
    let mut body = format!(
        "<h1>{} — job {}</h1><p class=\"sub\">{}</p><p><progress max=\"1\" value=\"{}\">{}</progress> {} of {} runs · {} · {:.1} s</p>",
        esc(v["scenario"].as_str().unwrap_or("")),
        v["id"],
        esc(v["description"].as_str().unwrap_or("")),
        v["progress"],
        pct(&v["progress"]),
        v["done"],
        v["runs"],
        esc(status),
        v["elapsed_s"].as_f64().unwrap_or(0.0)
    );
    if running {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/explore/simulate/{}/cancel\"><button>Cancel</button></form>",
            v["id"]
        ));
    }
    if let Some(e) = v["error"].as_str() {
        body.push_str(&problem(e));
    }
    let r = &v["results"];
    if r.is_object() {
        body.push_str(&format!(
            "<h2>Percentile bands over time</h2><p><label>Series <select id=\"bands-series\"></select></label></p><div id=\"bands\" data-api=\"/api/simulations/{}\" style=\"width:100%;height:24rem\"></div><p id=\"bands-status\" class=\"sub\">Loading…</p><script src=\"/assets/echarts.min.js\"></script><script src=\"/assets/bands.js\"></script>",
            v["id"]
        ));
        body.push_str(&format!(
            "<h2>Shortfall by country</h2><p><small>{} months{}; shares are of demand; t REO. {}</small></p><table><tr><th>country</th><th>peak shortfall (mean)</th><th>month</th><th>peak p95</th><th>total shortfall t REO (mean)</th><th>recovery months (p50)</th><th>P(shortfall &gt; {})</th></tr>",
            r["months"],
            r["month_0"].as_str().map_or(String::new(), |m| format!(", month 0 = {}", esc(m))),
            esc(r["estimate"].as_str().unwrap_or("")),
            pct(&r["shortfall_level"])
        ));
        for c in r["countries"].as_array().into_iter().flatten() {
            if c["total_shortfall_t_reo_mean"].as_f64().unwrap_or(0.0) <= 0.0 {
                continue;
            }
            body.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(c["country"].as_str().unwrap_or("")),
                pct(&c["peak_shortfall_share_mean"]),
                c["peak_month"],
                pct(&c["peak_shortfall_share_p95"]),
                num(&c["total_shortfall_t_reo_mean"], 0),
                num(&c["recovery_months_p50"], 0),
                pct(&c["probability_shortfall_above_level"])
            ));
        }
        body.push_str("</table>");
    }
    body.push_str("<p><a href=\"/explore/simulate\">All jobs</a></p>");
    // While running, the page reloads itself every second (no script needed).
    let head = if running {
        "<meta http-equiv=\"refresh\" content=\"1\">"
    } else {
        ""
    };
    Html(page_with_head("Scenario job", head, &body)).into_response()
}

/// `POST /explore/simulate/{job}/cancel` (form): cancels and returns to the job page.
pub async fn job_cancel(State(s): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let _ = jobs::cancel(State(s.clone()), Path(id.clone())).await;
    Redirect::to(&format!("/explore/simulate/{}", urlencode(&id))).into_response()
}

/// `GET /explore/sankey`: the chain as a Sankey diagram, drawn in the browser from /api/sankey.
pub async fn sankey_page(Query(q): Params) -> Response {
    let material = get(&q, "material");
    let year = if get(&q, "year").is_empty() {
        "2024"
    } else {
        get(&q, "year")
    };
    let api = format!(
        "/api/sankey?year={}&material={}",
        urlencode(year),
        urlencode(material)
    );
    let body = format!(
        "<h1>The chain</h1><p class=\"sub\">Rare earths (t REO per year) from mining through cracking, separation, metal and magnet making to use, by country. Most flows are estimates: hover a link for its materials and sources, and open a flow's record for its method.</p>\
         <form method=\"get\" action=\"/explore/sankey\"><label>Material contains <input name=\"material\" value=\"{}\" placeholder=\"e.g. ndpr, dy, tb\"></label> <label>Year <input name=\"year\" value=\"{}\" size=\"5\"></label> <button>Show</button></form>\
         <div id=\"sankey\" data-api=\"{}\" style=\"width:100%;height:46rem\"></div><p id=\"sankey-status\" class=\"sub\">Loading…</p><p><small><a href=\"{}\">JSON</a></small></p>\
         <script src=\"/assets/echarts.min.js\"></script><script src=\"/assets/sankey.js\"></script>",
        esc(material),
        esc(year),
        esc(&api),
        esc(&api)
    );
    Html(page("The chain", &body)).into_response()
}

/// `GET /explore/map`: the world map of flows, drawn in the browser from /api/map.
pub async fn map_page(Query(q): Params) -> Response {
    let (material, stage) = (get(&q, "material"), get(&q, "stage"));
    let year = if get(&q, "year").is_empty() {
        "2024"
    } else {
        get(&q, "year")
    };
    let api = format!(
        "/api/map?year={}&material={}&stage={}",
        urlencode(year),
        urlencode(material),
        urlencode(stage)
    );
    // Every layer a shipment can start from (not `use`), after "all stages".
    let layers = &lodestone_world::chain::LAYERS;
    let stages: String = std::iter::once(&"")
        .chain(&layers[..layers.len() - 1])
        .map(|st| {
            format!(
                "<option value=\"{0}\"{1}>{2}</option>",
                st,
                if *st == stage { " selected" } else { "" },
                if st.is_empty() { "all stages" } else { st }
            )
        })
        .collect();
    let body = format!(
        "<h1>Who ships what to whom</h1><p class=\"sub\">Rare earths shipped between countries (t REO per year; line width by quantity). Most flows are estimates: hover a route for its stages, materials and sources.</p>\
         <form method=\"get\" action=\"/explore/map\"><label>Material contains <input name=\"material\" value=\"{}\" placeholder=\"e.g. ndpr\"></label> <label>Stage <select name=\"stage\">{}</select></label> <label>Year <input name=\"year\" value=\"{}\" size=\"5\"></label> <button>Show</button></form>\
         <div id=\"map\" data-api=\"{}\" style=\"width:100%;height:34rem\"></div><p id=\"map-status\" class=\"sub\">Loading…</p><p><small><a href=\"{}\">JSON</a> · Natural Earth 1:110m via world-atlas</small></p>\
         <script src=\"/assets/echarts.min.js\"></script><script src=\"/assets/topojson-client.min.js\"></script><script src=\"/assets/map.js\"></script>",
        esc(material),
        stages,
        esc(year),
        esc(&api),
        esc(&api)
    );
    Html(page("World map of flows", &body)).into_response()
}

/// `GET /explore/risk`: concentration of a stage (world and outside China) and a country's
/// dependency, as tables and server-drawn bar charts.
pub async fn risk_page(State(s): State<Arc<AppState>>, Query(q): Params) -> Response {
    let or = |k: &str, d: &'static str| -> String {
        let v = get(&q, k);
        if v.is_empty() {
            d.to_string()
        } else {
            v.to_string()
        }
    };
    let (country, stage, basis) = (
        or("country", "MYS"),
        or("stage", "separation"),
        or("basis", "flow"),
    );
    let mut body = format!(
        "<h1>Risk</h1><p class=\"sub\">Who supplies a stage of the chain, with and without China, and how a country's direct suppliers differ from the traced origin of what it receives. Shares are computed over sourced records; flows are mostly estimates.</p>\
         <form method=\"get\" action=\"/explore/risk\"><label>Country or group <input name=\"country\" value=\"{}\" size=\"6\"></label> <label>Stage <input name=\"stage\" value=\"{}\" size=\"10\"></label> <label>Basis <select name=\"basis\">{}</select></label> <button>Show</button></form>",
        esc(&country),
        esc(&stage),
        ["flow", "capacity", "production"]
            .iter()
            .map(|b| format!(
                "<option{}>{b}</option>",
                if *b == basis { " selected" } else { "" }
            ))
            .collect::<String>()
    );
    let mut status = StatusCode::OK;
    for scope in ["world", "outside_china"] {
        let mut params = HashMap::new();
        params.insert("basis".to_string(), basis.clone());
        params.insert("stage".to_string(), stage.clone());
        params.insert("scope".to_string(), scope.to_string());
        params.insert("year".to_string(), or("year", "2024"));
        match answer(crate::risk_concentration(State(s.clone()), Query(params)).await).await {
            Ok(v) => {
                let rows: Vec<&serde_json::Value> = v["rows"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    // The whole stage (`all`) when the basis has it, else the first material.
                    .filter(|r| r["material"] == "all")
                    .collect();
                let rows = if rows.is_empty() {
                    v["rows"]
                        .as_array()
                        .map(|a| a.iter().collect())
                        .unwrap_or_default()
                } else {
                    rows
                };
                let first = rows.first();
                body.push_str(&format!(
                    "<h2>{} — {}{}</h2>",
                    esc(&stage),
                    if scope == "world" {
                        "world"
                    } else {
                        "outside China"
                    },
                    first.map_or(String::new(), |r| format!(
                        " <small>({}: HHI {:.0}, top 3 {})</small>",
                        esc(r["material"].as_str().unwrap_or("")),
                        r["hhi"].as_f64().unwrap_or(0.0),
                        pct(&r["top3"])
                    ))
                ));
                let material = first.and_then(|r| r["material"].as_str()).unwrap_or("");
                let mine: Vec<&&serde_json::Value> =
                    rows.iter().filter(|r| r["material"] == material).collect();
                let bars: Vec<(String, f64, bool)> = mine
                    .iter()
                    .take(12)
                    .map(|r| {
                        let c = r["country"].as_str().unwrap_or("").to_string();
                        let hl = c == country;
                        (c, r["share"].as_f64().unwrap_or(0.0), hl)
                    })
                    .collect();
                if bars.is_empty() {
                    body.push_str("<p>No rows for this stage and basis.</p>");
                } else {
                    body.push_str(&lodestone_report::svg::bar_chart(
                        &format!("{stage} shares ({scope})"),
                        &bars,
                        "share",
                    ));
                    body.push_str("<table><tr><th>country</th><th>quantity</th><th>share</th><th>sources</th></tr>");
                    for r in mine.iter().take(12) {
                        body.push_str(&format!(
                            "<tr><td>{}</td><td class=\"num\">{} {}</td><td class=\"num\">{}</td><td><small>{}</small></td></tr>",
                            esc(r["country"].as_str().unwrap_or("")),
                            num(&r["quantity"], 0),
                            esc(r["unit"].as_str().unwrap_or("")),
                            pct(&r["share"]),
                            source_links(&r["sources"])
                        ));
                    }
                    body.push_str("</table>");
                }
            }
            Err((code, message)) => {
                status = code;
                body.push_str(&problem(&message));
            }
        }
    }
    match answer(
        crate::risk_dependency(
            State(s.clone()),
            Path(country.clone()),
            Query(HashMap::new()),
        )
        .await,
    )
    .await
    {
        Ok(v) => {
            body.push_str(&format!(
                "<h2>Dependency of {}</h2><p>{}</p><table><tr><th>traced stage</th><th>origin</th><th>direct</th><th>traced</th><th>hidden</th><th>sources</th></tr>",
                esc(&country),
                esc(v["headline"].as_str().unwrap_or(""))
            ));
            for r in v["rows"].as_array().into_iter().flatten() {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td><small>{}</small></td></tr>",
                    esc(r["traced_stage"].as_str().unwrap_or("")),
                    esc(r["origin"].as_str().unwrap_or("")),
                    pct(&r["direct"]),
                    pct(&r["traced"]),
                    pct(&r["hidden"]),
                    source_links(&r["sources"])
                ));
            }
            body.push_str("</table>");
        }
        Err((code, message)) => {
            status = code;
            body.push_str(&problem(&message));
        }
    }
    (status, Html(page("Risk", &body))).into_response()
}

/// The overview's headline figures: the largest supplier of each stage, worldwide and outside
/// China, on the flow basis (t REO that first reached the stage in the year), with sources.
pub async fn headlines(s: &Arc<AppState>) -> String {
    let mut rows = String::new();
    for stage in ["mining", "separation", "metal", "magnet"] {
        let mut cells = Vec::new();
        for scope in ["world", "outside_china"] {
            let params: HashMap<String, String> = [
                ("stage", stage),
                ("scope", scope),
                ("material", "all"),
                ("basis", "flow"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            let top = answer(crate::risk_concentration(State(s.clone()), Query(params)).await)
                .await
                .ok()
                .and_then(|v| {
                    v["rows"].as_array().and_then(|r| {
                        r.iter()
                            .max_by(|a, b| {
                                a["share"]
                                    .as_f64()
                                    .unwrap_or(0.0)
                                    .total_cmp(&b["share"].as_f64().unwrap_or(0.0))
                            })
                            .cloned()
                    })
                });
            cells.push(top.map_or("<td>–</td>".to_string(), |r| {
                format!(
                    "<td><strong>{}</strong> {} <small>(HHI {:.0}; {})</small></td>",
                    esc(r["country"].as_str().unwrap_or("")),
                    pct(&r["share"]),
                    r["hhi"].as_f64().unwrap_or(0.0),
                    source_links(&r["sources"])
                )
            }));
        }
        rows.push_str(&format!(
            "<tr><th><a href=\"/explore/risk?stage={stage}\">{stage}</a></th>{}</tr>",
            cells.join("")
        ));
    }
    format!(
        "<h2>Who leads each stage (2024, t REO on the flow basis)</h2><table><tr><th>stage</th><th>worldwide</th><th>outside China</th></tr>{rows}</table>"
    )
}
