//! The API end to end over loopback: every route answers, errors have their shape and codes,
//! every response carries the security headers, the OpenAPI document lists every route.

mod common;

use common::*;
use lodestone_render::escape;
use lodestone_world::views::table::{format_quantity, format_share};

/// A request that the route answers with 200: its required parameters filled in.
fn example(path: &str) -> String {
    let query = match path {
        "/api/trace" => "?node=jl_mag/sintered_ndfeb",
        "/api/rules/check" | "/api/rules/timeline" => "?node=jl_mag/sintered_ndfeb&destination=USA",
        "/api/risk/dependency" | "/api/risk/critical" => "?country=MYS",
        "/api/search" => "?q=lynas",
        _ => "",
    };
    let path = if path.starts_with("/briefs/") || path.starts_with("/api/briefs/") {
        path.replace("{id}", "MYS")
    } else {
        path.replace("{kind}", "facilities")
            .replace("{id}", "lynas_lamp_kuantan")
            .replace("{country}", "MYS")
            .replace("{name}", "sankey.js")
    };
    format!("{path}{query}")
}

#[test]
fn every_route_answers_with_its_media_type_and_security_headers() {
    // Jobs (POST, DELETE and job ids) are exercised by `scenario_jobs_…` below, the comparison
    // of finished jobs by `jobs_persist.rs`.
    for route in lodestone_server::ROUTES.iter().filter(|r| {
        r.method == "get"
            && !r.path.contains("{job}")
            && r.path != "/api/simulations/compare"
            // The commission's routes need a registry: tests/commission checks them.
            && !r.path.contains("commission")
    }) {
        let path = example(route.path);
        let r = get(&path);
        assert_eq!(
            r.status,
            200,
            "{path}: {}",
            &r.body[..r.body.len().min(300)]
        );
        assert!(
            r.headers
                .contains(&format!("content-type: {}", route.media)),
            "{path}: {}",
            r.headers
        );
        for h in [
            "content-security-policy: default-src 'none'",
            "x-content-type-options: nosniff",
            "x-frame-options: deny",
        ] {
            assert!(r.headers.contains(h), "{path} lacks {h}");
        }
        if !path.starts_with("/briefs/") {
            assert!(
                r.headers.contains("script-src 'self';")
                    && r.headers.contains("style-src 'self';")
                    && !r.headers.contains("unsafe-inline"),
                "{path}: scripts and styles only from this server"
            );
        } else {
            assert!(
                r.headers
                    .contains("default-src 'none'; style-src 'unsafe-inline';")
                    && !r.headers.contains("script-src"),
                "the brief runs no script at all"
            );
        }
    }
}

#[test]
fn records_carry_sources_and_referrers() {
    let v = json(&get("/api/tables/facilities/lynas_lamp_kuantan"));
    assert_eq!(v["record"]["country"], "MYS");
    assert!(
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["publisher"].is_string())
    );
    assert!(
        v["referenced_by"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["table"] == "flows")
    );
    let list = json(&get("/api/tables/countries"));
    assert!(list.as_array().unwrap().len() >= 40);
    let rules = json(&get("/api/rules?as_of=2025-12-01"));
    let state = |id: &str| {
        rules["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state("china_mofcom_61_2025"), "suspended");
    assert_eq!(state("china_mofcom_18_2025"), "in_force");
}

#[test]
fn errors_have_a_stable_shape_and_the_right_codes() {
    let cases = [
        ("/api/tables/plants", 404, "facilities"),
        ("/api/tables/facilities/lynas", 404, "lynas_lamp_kuantan"),
        ("/api/tables/ownership/x", 404, ""),
        ("/api/rules?as_of=2025-13-01", 400, "YYYY-MM-DD"),
        ("/api/rules?as_of=2025-12", 400, "YYYY-MM-DD"),
        ("/api/rules?asof=2025-12-01", 400, "as_of"),
        ("/api/no/such/route", 404, "/api/openapi.json"),
        (
            "/api/tables/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            404,
            "facilities",
        ),
    ];
    for (path, status, hint) in cases {
        let r = get(path);
        assert_eq!(r.status, status, "{path}");
        assert!(
            r.headers.contains("content-type: application/json"),
            "{path}"
        );
        let v = json(&r);
        assert_eq!(v["error"]["status"], status);
        assert!(v["error"]["message"].is_string());
        let valid = v["error"]["valid"].to_string();
        assert!(valid.contains(hint), "{path}: {valid}");
    }
}

#[test]
fn the_openapi_document_lists_every_route() {
    let v = json(&get("/api/openapi.json"));
    assert_eq!(v["openapi"], "3.0.3");
    let paths = v["paths"].as_object().unwrap();
    let operations: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(operations, lodestone_server::ROUTES.len());
    for r in lodestone_server::ROUTES {
        let op = &paths[r.path][r.method];
        let success = r.responses[0].0.to_string();
        assert!(
            op["summary"].is_string() && op["responses"][&success].is_object(),
            "{} {}",
            r.method,
            r.path
        );
        let params = op["parameters"].as_array().unwrap();
        assert!(params.len() >= r.path.matches('{').count(), "{}", r.path);
        for p in params {
            assert!(
                p["schema"].is_object(),
                "{} {}: untyped parameter {p}",
                r.method,
                r.path
            );
        }
        // JSON views name their response schema.
        if r.response.is_some() {
            assert!(
                op["responses"][&success]["content"]["application/json"]["schema"].is_object(),
                "{} has no response schema",
                r.path
            );
        }
    }
    // Parameters are typed from the views' queries: words as enums, years as integers.
    let params = &paths["/api/risk/concentration"]["get"]["parameters"];
    let param = |name: &str| {
        params
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
            .clone()
    };
    assert_eq!(param("year")["schema"]["type"], "integer");
    assert!(
        param("stage")["schema"]
            .to_string()
            .contains("\"separation\"")
    );
    assert!(
        param("basis")["schema"]
            .to_string()
            .contains("\"production\"")
    );
    assert_eq!(param("format")["schema"]["enum"][2], "xlsx");
    let required: Vec<&str> = paths["/api/risk/dependency"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["required"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(required, ["country"]);
    let schemas = v["components"]["schemas"].as_object().unwrap();
    for name in [
        "ConcentrationView",
        "DependencyView",
        "ScreeningView",
        "TraceView",
        "Error",
    ] {
        assert!(schemas.contains_key(name), "no schema {name}");
    }
}

#[test]
fn pages_escape_and_run_no_script() {
    let index = get("/");
    assert!(index.body.contains("/briefs/MYS"));
    let brief = get("/briefs/MYS");
    assert!(
        brief
            .body
            .contains("<h1>Malaysia in the rare-earth supply chain</h1>")
    );
    for page in [&index.body, &brief.body] {
        assert!(only_served_scripts(page), "inline script in a page");
    }
}

#[test]
fn record_pages_click_through_from_a_country_to_a_facility_to_its_source() {
    let index = get("/");
    assert!(links(&index.body, "/records").contains(&"/records".to_string()));
    let tables = get("/records");
    assert!(links(&tables.body, "/records/").contains(&"/records/facilities".to_string()));
    let country = get("/records/countries/MYS");
    assert_eq!(country.status, 200);
    let facility_url = "/records/facilities/lynas_lamp_kuantan".to_string();
    assert!(links(&country.body, "/records/facilities/").contains(&facility_url));
    let facility = get(&facility_url);
    assert_eq!(facility.status, 200);
    // Fields carry their units; references link to their records.
    assert!(
        facility.body.contains("10500 t/yr"),
        "capacity with its unit"
    );
    assert!(
        links(&facility.body, "/records/companies/")
            .contains(&"/records/companies/lynas_malaysia".to_string())
    );
    assert!(
        !links(&facility.body, "/records/flows/").is_empty(),
        "its flows"
    );
    let sources = links(&facility.body, "/records/sources/");
    assert!(sources.contains(&"/records/sources/fastmarkets_2024_06_27".to_string()));
    let source = get(&sources[0]);
    assert_eq!(source.status, 200);
    assert!(
        links(&source.body, "https://")
            .iter()
            .any(|u| u.contains("fastmarkets.com")),
        "the source page links to the original"
    );
    // The source page lists what cites it.
    assert!(links(&source.body, "/records/facilities/").contains(&facility_url));
    for page in [&tables.body, &country.body, &facility.body, &source.body] {
        assert!(!page.contains("<script"), "no script in pages");
    }
    // Unknown records are HTML 404 pages that say what exists, with the input escaped.
    let r = get("/records/facilities/%3Cb%3Elynas");
    assert_eq!(r.status, 404);
    assert!(r.headers.contains("content-type: text/html"));
    assert!(r.body.contains("lynas_lamp_kuantan"), "{}", r.body);
    assert!(!r.body.contains("<b>") && r.body.contains("&#60;b&#62;"));
    assert_eq!(get("/records/plants").status, 404);
}

#[test]
fn dependency_shares_are_consistent_and_cited() {
    let v = json(&get("/api/risk/dependency/USA?year=2024"));
    assert_eq!(v["year"], 2024);
    assert_eq!(v["country"]["members"], serde_json::json!(["USA"]));
    // The same view by name, and with the country as a parameter.
    assert_eq!(
        json(&get("/api/risk/dependency?country=united%20states")),
        v
    );
    let rows = v["rows"].as_array().expect("rows");
    assert!(!rows.is_empty());
    // Per traced stage, the direct shares of all origins cover the receipts once.
    let mut direct_sum: std::collections::BTreeMap<String, f64> = Default::default();
    for r in rows {
        let (d, t, h) = (
            r["direct"].as_f64().unwrap(),
            r["traced"].as_f64().unwrap(),
            r["hidden"].as_f64().unwrap(),
        );
        assert!((h - (t - d)).abs() < 1e-12, "{r}");
        assert!(
            (0.0..=1.0).contains(&d) && (0.0..=1.0 + 1e-9).contains(&t),
            "{r}"
        );
        assert!(!r["sources"].as_array().unwrap().is_empty(), "{r}");
        *direct_sum
            .entry(r["traced_stage"].as_str().unwrap().into())
            .or_default() += d;
    }
    for (stage, sum) in direct_sum {
        assert!(
            (sum - 1.0).abs() < 1e-9,
            "{stage}: direct shares sum to {sum}"
        );
    }
    // The US headline names China's separation as the hidden dependency (CLI gives the same).
    let headline = v["headline"].as_str().expect("headline");
    assert!(
        headline.starts_with("United States: ") && headline.contains("China"),
        "{headline}"
    );
    // A group expands to its members.
    let eu = json(&get("/api/risk/dependency/eu"));
    assert!(
        eu["country"]["members"].as_array().unwrap().len() > 1,
        "{eu}"
    );
}

#[test]
fn dependency_rejects_bad_arguments_with_located_errors() {
    assert_errors(&[
        ("/api/risk/dependency/XYZ", 404, "MYS"),
        ("/api/risk/dependency/malaysa", 404, "eu"),
        ("/api/risk/dependency/MYS?year=twenty", 400, "2024"),
        ("/api/risk/dependency/MYS?year=1800", 400, "2024"),
        ("/api/risk/dependency/MYS?stage=magnets", 400, "magnet"),
        ("/api/risk/dependency?stage=magnet", 400, ""),
    ]);
}

#[test]
fn screening_a_chinese_magnet_requires_a_licence_and_cites_its_rule() {
    let v = json(&get(
        "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-12-01&custody=compare",
    ));
    assert_eq!(v["as_of"], "2025-12-01");
    let rows = v["determinations"].as_array().expect("determinations");
    // One determination per rule and custody model.
    let rules = json(&get("/api/rules"))["rules"].as_array().unwrap().len();
    assert_eq!(rows.len(), 2 * rules);
    let control = rows
        .iter()
        .find(|r| r["rule"] == "china_mofcom_18_2025" && r["custody"] == "mass_balance")
        .expect("MOFCOM 18 determination");
    assert_eq!(control["determination"], "licence_required");
    assert_eq!(
        control["since"], "2025-04-04",
        "the first day of the state in force"
    );
    assert!(
        v["verdict"].as_str().unwrap().contains("rules bite"),
        "{}",
        v["verdict"]
    );
    assert!(!control["sources"].as_array().unwrap().is_empty());
    assert!(control["sources"][0]["publisher"].is_string());
}

#[test]
fn screening_rejects_bad_arguments_with_located_errors() {
    assert_errors(&[
        ("/api/rules/check?destination=USA", 400, "FACILITY/material"),
        ("/api/rules/check?node=jl_mag/sintered_ndfeb", 400, ""),
        (
            "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=XYZ",
            404,
            "USA",
        ),
        (
            "/api/rules/check?node=jl_mag/sintered_ndfe&destination=USA",
            404,
            "jl_mag/sintered_ndfeb",
        ),
        (
            "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=USA&custody=fifo",
            400,
            "segregated",
        ),
        (
            "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-02-30x",
            400,
            "YYYY-MM-DD",
        ),
        (
            "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=USA&year=1800",
            400,
            "2024",
        ),
    ]);
}

#[test]
fn a_traced_node_accounts_for_its_content_and_explains_the_largest_share() {
    let v = json(&get("/api/trace?node=jl_mag/sintered_ndfeb&tag=mined:*"));
    let rows = v["rows"].as_array().expect("rows");
    assert!(!rows.is_empty(), "{v}");
    // Mining origins of the content add up to at most one per unit (REO from recycling or
    // untraced stock carries no mining tag), largest first.
    let shares: Vec<f64> = rows
        .iter()
        .map(|r| r["per_unit"].as_f64().unwrap())
        .collect();
    let sum: f64 = shares.iter().sum();
    assert!(sum <= 1.0 + 1e-9 && sum > 0.5, "{sum}");
    assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{shares:?}");
    assert!(
        rows.iter()
            .all(|r| r["tag"].as_str().unwrap().starts_with("mined:"))
    );
    // The paths explain the top tag and end at the node.
    assert_eq!(v["paths_for"], rows[0]["tag"]);
    let paths = v["paths"].as_array().expect("paths");
    assert!(!paths.is_empty());
    for p in paths {
        let nodes = p["nodes"].as_array().unwrap();
        assert_eq!(nodes.last().unwrap(), "jl_mag/sintered_ndfeb", "{p}");
        let share = p["share"].as_f64().unwrap();
        assert!(share > 0.0 && share <= 1.0 + 1e-9, "{p}");
    }
    assert!(!v["sources"].as_array().unwrap().is_empty());
}

#[test]
fn trace_rejects_bad_arguments_with_located_errors() {
    assert_errors(&[
        ("/api/trace", 400, ""),
        (
            "/api/trace?node=jl_mag/sintered_ndfe",
            404,
            "jl_mag/sintered_ndfeb",
        ),
        (
            "/api/trace?node=jl_mag/sintered_ndfeb&tag=zzz:*",
            400,
            "separated",
        ),
        (
            "/api/trace?node=jl_mag/sintered_ndfeb&tag=mind:*",
            400,
            "mined",
        ),
        (
            "/api/trace?node=jl_mag/sintered_ndfeb&tag=separated:XYZ",
            400,
            "mined:*",
        ),
        (
            "/api/trace?node=jl_mag/sintered_ndfeb&custody=compare",
            400,
            "segregated",
        ),
    ]);
}

#[test]
fn scenario_jobs_report_progress_can_be_cancelled_and_give_reproducible_results() {
    let _one_job_at_a_time = JOBS.lock().unwrap_or_else(|e| e.into_inner());
    // A long LP batch, cancelled: it stops well before its end.
    let r = request(
        "POST",
        "/api/simulations",
        r#"{"scenario": "malaysia_new_separation_lp", "runs": 20000}"#,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let job = json(&r);
    let url = job["url"].as_str().unwrap().to_string();
    assert!(r.headers.contains(&format!("location: {url}")));
    // One job at a time.
    let busy = request("POST", "/api/simulations", r#"{"scenario": "baseline"}"#);
    assert_eq!(busy.status, 429, "{}", busy.body);
    assert!(json(&busy)["error"]["valid"].to_string().contains("DELETE"));
    let c = request("DELETE", &url, "");
    assert_eq!(c.status, 202, "{}", c.body);
    let ended = wait_for_end(&url);
    assert_eq!(ended["status"], "cancelled", "{ended}");
    assert!(ended["done"].as_u64().unwrap() < 20000);
    assert!(ended.get("results").is_none());
    assert_eq!(request("DELETE", &url, "").status, 409);

    // A short batch runs to the end; the same seed gives the same figures.
    let mut results = Vec::new();
    for _ in 0..2 {
        let r = request(
            "POST",
            "/api/simulations",
            r#"{"scenario": "kuantan_outage", "runs": 200, "seed": 7}"#,
        );
        assert_eq!(r.status, 202, "{}", r.body);
        let url = json(&r)["url"].as_str().unwrap().to_string();
        let done = wait_for_end(&url);
        assert_eq!(done["status"], "done", "{done}");
        assert_eq!(done["done"], 200);
        assert_eq!(done["progress"], 1.0);
        assert_eq!(done["seed"], 7);
        results.push(done["results"].clone());
    }
    assert_eq!(results[0], results[1]);
    // Monthly bands for every series that is ever short, ordered p5 ≤ p50 ≤ p95.
    for s in results[0]["series"].as_array().unwrap() {
        let band = |k: &str| -> Vec<f64> {
            s[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let (p5, p50, p95) = (band("p5"), band("p50"), band("p95"));
        assert_eq!(p5.len(), results[0]["months"].as_u64().unwrap() as usize);
        for m in 0..p5.len() {
            assert!(
                p5[m] <= p50[m] && p50[m] <= p95[m],
                "{}: month {m}",
                s["country"]
            );
        }
    }
    assert!(!results[0]["series"].as_array().unwrap().is_empty());
    let countries = results[0]["countries"].as_array().unwrap();
    assert!(!countries.is_empty());
    for c in countries {
        let p = c["probability_shortfall_above_level"].as_f64().unwrap();
        let peak = c["peak_shortfall_share_mean"].as_f64().unwrap();
        assert!(
            (0.0..=1.0).contains(&p) && (0.0..=1.0).contains(&peak),
            "{c}"
        );
        assert!(
            c["total_shortfall_t_reo_mean"].as_f64().unwrap() >= 0.0,
            "{c}"
        );
    }
    // A Kuantan outage leaves someone short.
    assert!(
        countries
            .iter()
            .any(|c| c["total_shortfall_t_reo_mean"].as_f64().unwrap() > 0.0)
    );
    // A job nobody asks about runs on (closing a tab does not cancel it), reports the time
    // left, and stops only when a client cancels it.
    let r = request(
        "POST",
        "/api/simulations",
        r#"{"scenario": "malaysia_new_separation_lp", "runs": 20000}"#,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let url = json(&r)["url"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let running = json(&get(&url));
    assert_eq!(running["status"], "running", "{running}");
    assert!(running["remaining_s"].as_f64().unwrap() > 0.0, "{running}");
    assert_eq!(request("DELETE", &url, "").status, 202);
    let cancelled = wait_for_end(&url);
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let list = json(&get("/api/simulations"));
    assert!(list["jobs"].as_array().unwrap().len() >= 4);

    // The scenario runner page: the form posts, redirects to the job page, which reloads itself
    // while the job runs and shows the results when done.
    let runner = get("/explore/simulate");
    assert!(runner.body.contains("<option value=\"kuantan_outage\">"));
    let token = csrf_token(&runner.body);
    let r = request_form(
        "/explore/simulate",
        &format!("csrf={token}&scenario=kuantan_outage&runs=300"),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let location = r
        .headers
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .expect("location")
        .trim()
        .to_string();
    assert!(location.starts_with("/explore/simulate/"), "{location}");
    let id = location.rsplit('/').next().unwrap().to_string();
    let started = std::time::Instant::now();
    let page = loop {
        let p = get(&location);
        assert_eq!(p.status, 200);
        if !p.body.contains("http-equiv=\"refresh\"") {
            break p;
        }
        assert!(p.body.contains("<progress"), "a running job shows progress");
        assert!(started.elapsed().as_secs() < 120);
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(page.body.contains("Shortfall by country"), "{}", page.body);
    assert!(page.body.contains("300 of 300 runs"));
    // The page shows the API's figures.
    let api = json(&get(&format!("/api/simulations/{id}")));
    let jpn = api["results"]["countries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["country"] == "JPN")
        .unwrap()
        .clone();
    let total = lodestone_world::views::table::format_quantity(
        jpn["total_shortfall_t_reo_mean"].as_f64().unwrap(),
    );
    assert!(
        page.body
            .contains(&format!("<td class=\"num\">{total}</td>")),
        "JPN total {total}"
    );
    // The results download as CSV: the same rows, ids and full precision.
    let csv = get(&format!("/api/simulations/{id}/results?format=csv"));
    assert_eq!(csv.status, 200);
    assert!(
        csv.body.starts_with("country,peak_shortfall_share_mean,"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains(&format!(
        "JPN,{},",
        jpn["peak_shortfall_share_mean"].as_f64().unwrap()
    )));
    // Scripts only from this server's assets, never inline.
    assert!(
        only_served_scripts(&page.body),
        "inline script on the job page"
    );
    // A bad form answers with the problem, as a page.
    let bad = request_form(
        "/explore/simulate",
        &format!("csrf={token}&scenario=nope&runs=10"),
    );
    assert_eq!(bad.status, 404);
    assert!(bad.body.contains("role=\"alert\""));
    assert!(list["scenarios"].to_string().contains("kuantan_outage"));
}

#[test]
fn scenario_jobs_reject_bad_requests_with_located_errors() {
    for (body, status, hint) in [
        ("not json", 400, "kuantan_outage"),
        ("[1]", 400, "kuantan_outage"),
        (r#"{"scenario": "nope"}"#, 404, "kuantan_outage"),
        (r#"{}"#, 400, "baseline"),
        (r#"{"scenario": "baseline", "runs": 0}"#, 400, "20000"),
        (r#"{"scenario": "baseline", "runs": 1e9}"#, 400, "20000"),
        (r#"{"scenario": "baseline", "seed": -1}"#, 400, "0..="),
        (
            r#"{"scenario_toml": "name = \"x\"\nmonths = \"twelve\"\n"}"#,
            400,
            "simulation.md",
        ),
    ] {
        let r = request("POST", "/api/simulations", body);
        assert_eq!(r.status, status, "{body}: {}", r.body);
        let v = json(&r);
        assert!(
            v["error"]["valid"].to_string().contains(hint),
            "{body}: {v}"
        );
    }
    let bad = json(&request(
        "POST",
        "/api/simulations",
        r#"{"scenario_toml": "name = \"x\"\nmonths = \"twelve\"\n"}"#,
    ));
    // The scenario's problems are located in the submitted text.
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("scenario_toml:"),
        "{bad}"
    );
    assert_eq!(get("/api/simulations/999999").status, 404);
    assert_eq!(get("/api/simulations/abc").status, 404);
}

#[test]
fn the_trace_and_rule_pages_show_what_the_api_computes() {
    let page = get("/explore/trace?node=jl_mag/sintered_ndfeb&tag=mined:*");
    assert_eq!(page.status, 200);
    let api = json(&get("/api/trace?node=jl_mag/sintered_ndfeb&tag=mined:*"));
    let top = &api["rows"][0];
    let shown = format!(
        "<td>{}</td><td class=\"num\">{}</td>",
        top["tag"].as_str().unwrap(),
        format_share(top["per_unit"].as_f64().unwrap())
    );
    assert!(page.body.contains(&shown), "{shown}");
    assert!(page.body.contains("Paths carrying"));
    assert!(page.body.contains("/records/sources/"));
    let missing = get("/explore/trace?node=nope/x");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("role=\"alert\"") && missing.body.contains("nope/x"));
    // Input is escaped where it is shown.
    let hostile = get("/explore/trace?node=%3Cscript%3Ex");
    assert!(!hostile.body.contains("<script"), "{}", hostile.body);
    assert!(hostile.body.contains("&#60;script&#62;x"));

    let rules = get("/explore/rules?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-12-01");
    assert_eq!(rules.status, 200);
    let api = json(&get(
        "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-12-01",
    ));
    let no18 = api["determinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "china_mofcom_18_2025")
        .unwrap();
    let title = no18["rule_title"].as_str().unwrap();
    assert!(
        rules
            .body
            .contains(&format!("{} — LICENCE REQUIRED", escape(title))),
        "{}",
        rules.body
    );
    // The verdict opens the page, as the API states it.
    assert!(
        rules
            .body
            .contains(&escape(api["verdict"].as_str().unwrap()))
    );
    assert!(rules.body.contains("<option value=\"USA\" selected>"));
    // The timeline: MOFCOM announcement No. 18 (April 2025) changed the answer for this magnet.
    let api = json(&get(
        "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-12-01",
    ));
    let changes: Vec<&serde_json::Value> = api["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["changes"].as_array().unwrap())
        .collect();
    assert!(
        changes.iter().any(|c| c["rule"] == "china_mofcom_18_2025"),
        "{changes:?}"
    );
    assert!(rules.body.contains("Timeline: when the answer changes"));
    let bad_date =
        get("/explore/rules?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-13-01");
    assert_eq!(bad_date.status, 400);
    assert!(bad_date.body.contains("YYYY-MM-DD"));
    for p in [&page.body, &rules.body, &missing.body] {
        assert!(!p.contains("<script"));
    }
}

#[test]
fn the_sankey_is_layered_and_conserves_what_the_flows_carry() {
    let v = json(&get("/api/sankey?year=2024"));
    let nodes = v["nodes"].as_array().unwrap();
    let links = v["links"].as_array().unwrap();
    assert!(!links.is_empty());
    for l in links {
        let (a, b) = (
            l["source"].as_u64().unwrap() as usize,
            l["target"].as_u64().unwrap() as usize,
        );
        // Every link goes to a later layer: no cycles, whatever loops the network has.
        assert!(
            nodes[b]["layer"].as_u64() > nodes[a]["layer"].as_u64(),
            "{l}"
        );
        assert!(l["value"].as_f64().unwrap() > 0.0);
        assert!(!l["sources"].as_array().unwrap().is_empty(), "{l}");
    }
    // A material filter keeps only links carrying it.
    let nd = json(&get("/api/sankey?material=ndpr"));
    for l in nd["links"].as_array().unwrap() {
        assert!(
            l["materials"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m.as_str().unwrap().contains("ndpr")),
            "{l}"
        );
    }
    let total = |v: &serde_json::Value| -> f64 {
        v["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["value"].as_f64().unwrap())
            .sum()
    };
    assert!(total(&nd) < total(&v));
    assert_eq!(get("/api/sankey?year=1800").status, 400);
    assert_eq!(get("/assets/nope.js").status, 404);
    let js = get("/assets/sankey.js");
    assert!(js.headers.contains("content-type: text/javascript"));
}

#[test]
fn the_map_links_countries_and_splits_by_stage() {
    let all = json(&get("/api/map"));
    let links = all["links"].as_array().unwrap();
    assert!(!links.is_empty());
    for l in links {
        assert_ne!(l["from"], l["to"], "{l}");
        assert!(l["value"].as_f64().unwrap() > 0.0);
        assert!(!l["sources"].as_array().unwrap().is_empty(), "{l}");
    }
    let total = |v: &serde_json::Value| -> f64 {
        v["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["value"].as_f64().unwrap())
            .sum()
    };
    // The stages partition the shipments: their totals add up to the whole.
    let by_stage: f64 = [
        "mining",
        "cracking",
        "separation",
        "metal",
        "magnet",
        "component",
    ]
    .iter()
    .map(|st| total(&json(&get(&format!("/api/map?stage={st}")))))
    .sum();
    assert!(
        (by_stage - total(&all)).abs() < 1e-6 * total(&all),
        "{by_stage} vs {}",
        total(&all)
    );
    // Malaysia ships separated rare earths (Lynas Kuantan) abroad.
    let sep = json(&get("/api/map?stage=separation"));
    assert!(
        sep["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["from"] == "MYS")
    );
    for asset in ["countries-110m.json", "iso3166-numeric.json"] {
        let r = get(&format!("/assets/{asset}"));
        assert_eq!(r.status, 200);
        assert!(r.headers.contains("content-type: application/json"));
    }
}

#[test]
fn concentration_shares_add_up_and_the_risk_page_shows_them() {
    let v = json(&get(
        "/api/risk/concentration?stage=separation&scope=outside_china",
    ));
    let rows = v["rows"].as_array().unwrap();
    let all: Vec<_> = rows.iter().filter(|r| r["material"] == "all").collect();
    assert!(!all.is_empty());
    assert_eq!(v["basis"], "flow");
    assert!(v["basis_note"].as_str().unwrap().contains("t REO"));
    let sum: f64 = all.iter().map(|r| r["share"].as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-9, "shares sum to {sum}");
    assert!(
        all.iter().all(|r| r["supplier"] != "CHN"),
        "outside China excludes China"
    );
    // HHI from the shares, in percentage points squared.
    let hhi: f64 = all
        .iter()
        .map(|r| (100.0 * r["share"].as_f64().unwrap()).powi(2))
        .sum();
    assert!(
        (hhi - all[0]["hhi"].as_f64().unwrap()).abs() < 1e-6,
        "{hhi}"
    );
    let mys = all
        .iter()
        .find(|r| r["supplier"] == "MYS")
        .expect("Malaysia separates");
    let page = get("/explore/risk?country=MYS&stage=separation");
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!(
        "<td class=\"num\">{}</td>",
        format_share(mys["share"].as_f64().unwrap())
    )));
    assert!(page.body.contains("<svg"), "bar chart drawn on the server");
    // Malaysia's separated output is checked against the IEA's 2024 figure, which Lynas's own
    // reports contradict: the API row carries the conflict, and the page says it in words.
    assert_eq!(
        mys["published"][0]["figure"],
        "separation output (magnet rare earths), MYS"
    );
    assert_eq!(mys["published"][0]["status"], "conflict");
    assert!(
        page.body
            .contains("CONFLICT with separation output (magnet rare earths), MYS"),
        "the risk page names the conflict"
    );
    // The overview's headline for separation outside China is the largest of these shares.
    let top = all
        .iter()
        .max_by(|a, b| {
            a["share"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["share"].as_f64().unwrap())
        })
        .unwrap();
    let headline = format!(
        "{} {}",
        top["supplier_name"].as_str().unwrap(),
        format_share(top["share"].as_f64().unwrap())
    );
    let overview = get("/").body;
    assert!(overview.contains(&headline), "{headline}");
    // ... and, being Malaysia's, carries its conflict with the IEA's figure.
    assert!(
        overview.contains(&format!(
            "{headline} (HHI {}); CONFLICT with separation output (magnet rare earths), MYS",
            format_quantity(top["hhi"].as_f64().unwrap())
        )),
        "the overview's headline names its conflict"
    );
    assert_errors(&[
        ("/api/risk/concentration?basis=guess", 400, "production"),
        (
            "/api/risk/concentration?stage=seperation",
            400,
            "separation",
        ),
        (
            "/api/risk/concentration?scope=outside-chna",
            400,
            "outside_china",
        ),
        (
            "/api/risk/concentration?material=ndpr_oxid",
            404,
            "ndpr_oxide",
        ),
        ("/api/risk/concentration?stg=magnet", 400, "stage"),
    ]);
    assert_eq!(get("/explore/risk?country=XYZ").status, 404);
    // A typo on the form is shown on the form, with what is valid.
    let typo = get("/explore/risk?stage=seperation");
    assert_eq!(typo.status, 400);
    assert!(
        typo.body.contains("did you mean &#39;separation&#39;"),
        "{}",
        typo.body
    );
}

/// The reconciliation is answered by the API and shown on its page: every published figure of
/// the year with its status, conflicts named with both values; a year without flows or a
/// misspelt key is a 400 naming what is valid.
#[test]
fn the_published_figures_against_the_flows_are_served_and_shown() {
    let v = json(&get("/api/reconcile?year=2024"));
    assert_eq!(v["year"], 2024);
    let refs = v["references"].as_array().unwrap();
    let aus = refs
        .iter()
        .find(|r| r["figure"] == "mine production, AUS")
        .expect("Australia's mine production");
    assert_eq!(aus["status"], "conflict");
    assert_eq!(aus["published"].as_f64(), Some(29_000.0));
    let lynas = refs
        .iter()
        .find(|r| r["figure"] == "separation output, lynas_rare_earths")
        .expect("Lynas's calendar 2024");
    assert_eq!(
        lynas["period"],
        "sum of Q3 FY24 + Q4 FY24 + Q1 FY25 + Q2 FY25"
    );
    assert_eq!(lynas["status"], "reconciled");
    let csv = get("/api/reconcile?year=2024&format=csv");
    assert!(
        csv.body.starts_with("figure,period,source,published"),
        "{}",
        csv.body
    );
    let page = get("/explore/reconcile?year=2024");
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("mine production, AUS: published 29,000 ± 1,450 t REO (usgs_mcs2026_ree); the flows give 12,997 ±"),
        "the page names the conflict with both values"
    );
    assert!(
        page.body.contains("Losses no plant could have")
            && page
                .body
                .contains("japan_magnet_aggregate (magnet) takes in 6,276 t REO, ships 4,062"),
        "the page names the facilities that lose more than their stages can"
    );
    let json_2025 = json(&get("/api/reconcile?year=2025"));
    let hre = json_2025["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["facility"] == "lynas_malaysia_hre_circuit")
        .unwrap();
    assert_eq!(hre["max_loss"], 0.1);
    assert!(hre["loss"].as_f64().unwrap() > 0.9 * hre["intake"].as_f64().unwrap());
    assert!(
        page.body
            .contains("sum of Q3 FY24 + Q4 FY24 + Q1 FY25 + Q2 FY25")
    );
    assert_errors(&[
        ("/api/reconcile?year=2031", 400, "2024"),
        ("/api/reconcile?yaer=2024", 400, "year"),
    ]);
    let bad = get("/explore/reconcile?year=2031");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("2031"), "the page says what was wrong");
}
