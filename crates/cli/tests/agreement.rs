//! The CLI, the API and the pages render the same view structs, so they cannot disagree: for
//! every view, over the bundled dataset, the CLI's JSON and the API's JSON equal the view computed
//! by the library, and the page shows every figure of the view's rows as the table renderer
//! formats it.

mod common;

use std::sync::OnceLock;

use common::*;
use lodestone_model::Date;
use lodestone_world::views::chain::{MapQuery, map};
use lodestone_world::views::risk::{
    BenchmarkQuery, ConcentrationQuery, CriticalQuery, DependencyQuery, benchmarks, concentration,
    critical, dependency,
};
use lodestone_world::views::rules::{
    RulesQuery, ScreeningQuery, TimelineQuery, rules_on, screening, timeline_view,
};
use lodestone_world::views::search::{SearchQuery, search};
use lodestone_world::views::trace::{TraceQuery, trace_node};
use lodestone_world::views::{Analysis, Tabular};

fn analysis() -> &'static Analysis {
    static A: OnceLock<Analysis> = OnceLock::new();
    A.get_or_init(|| {
        let (world, report) = lodestone_world::load_dir(&repo_root().join("data/world")).unwrap();
        assert!(!report.has_errors());
        Analysis::new(world)
    })
}

fn cli_json(args: &[&str]) -> serde_json::Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--format", "json"]);
    ok_json(&all)
}

fn api_json(path: &str) -> serde_json::Value {
    let (status, body) = http_get(path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The page shows every number of every row, formatted as the table renderer formats it.
fn page_shows<R: Tabular>(page: &str, rows: &[R], what: &str) {
    assert!(!rows.is_empty(), "{what}: no rows to compare");
    for r in rows {
        for c in r.cells().iter().filter(|c| c.is_number()) {
            let cell = format!(
                "<td class=\"num\">{}</td>",
                lodestone_render::escape(&c.display())
            );
            assert!(page.contains(&cell), "{what}: the page lacks {cell}");
        }
    }
}

fn page(path: &str) -> String {
    let (status, body) = http_get(path);
    assert_eq!(status, 200, "{path}");
    body
}

/// The three renderings of one view: the library's struct, the CLI's JSON, the API's JSON.
fn same(view: &impl serde::Serialize, cli: &[&str], api: &str) {
    let lib = serde_json::to_value(view).unwrap();
    assert_eq!(cli_json(cli), lib, "CLI {cli:?} differs from the library");
    assert_eq!(api_json(api), lib, "API {api} differs from the library");
}

#[test]
fn concentration_agrees_in_the_cli_the_api_and_the_risk_page() {
    let a = analysis();
    for (scope, scope_arg) in [("world", "world"), ("outside_china", "outside-china")] {
        let q = ConcentrationQuery {
            stage: Some(lodestone_model::Stage::Separation),
            scope: Some(scope_arg.parse().unwrap()),
            basis: Some(lodestone_model::Basis::Flow),
            ..Default::default()
        };
        let v = concentration(a, &q).unwrap();
        same(
            &v,
            &[
                "risk",
                "concentration",
                "--stage",
                "separation",
                "--scope",
                scope_arg,
            ],
            &format!("/api/risk/concentration?stage=separation&scope={scope}"),
        );
        let all: Vec<_> = v
            .rows
            .iter()
            .filter(|r| r.material == "all")
            .cloned()
            .collect();
        page_shows(
            &page("/explore/risk?stage=separation&basis=flow"),
            &all,
            "concentration",
        );
    }
}

#[test]
fn dependency_benchmarks_and_critical_facilities_agree() {
    let a = analysis();
    let d = dependency(
        a,
        &DependencyQuery {
            country: "JPN".into(),
            stage: Some(lodestone_model::Stage::Magnet),
            ..Default::default()
        },
    )
    .unwrap();
    same(
        &d,
        &[
            "risk",
            "dependency",
            "--country",
            "Japan",
            "--stage",
            "magnet",
        ],
        "/api/risk/dependency?country=jpn&stage=magnet",
    );
    let risk_page = page("/explore/risk?country=JPN&stage=magnet");
    page_shows(&risk_page, &d.rows, "dependency");
    let b = benchmarks(a, &BenchmarkQuery::default()).unwrap();
    same(&b, &["risk", "benchmarks"], "/api/risk/benchmarks");
    page_shows(&risk_page, &b.rows, "benchmarks");
    let c = critical(
        a,
        &CriticalQuery {
            country: "JPN".into(),
            ..Default::default()
        },
    )
    .unwrap();
    same(
        &c,
        &["risk", "critical", "--country", "JPN"],
        "/api/risk/critical?country=JPN",
    );
    page_shows(&risk_page, &c.rows, "critical facilities");
}

#[test]
fn rules_screening_and_timeline_agree() {
    let a = analysis();
    let date = Date::parse("2025-12-01").unwrap();
    let r = rules_on(&a.world, &RulesQuery { as_of: Some(date) }, date).unwrap();
    same(
        &r,
        &["rules", "list", "--as-of", "2025-12-01"],
        "/api/rules?as_of=2025-12-01",
    );
    let rules_page = page("/rules?as_of=2025-12-01");
    for rule in &r.rules {
        assert!(rules_page.contains(&format!("<tr id=\"{}\">", rule.id)));
        let since = rule.since.map(|d| d.to_string()).unwrap_or_default();
        assert!(
            rules_page.contains(&format!("<td>{since}</td>")),
            "{}",
            rule.id
        );
    }
    let q = ScreeningQuery {
        node: Some("jl_mag/sintered_ndfeb".into()),
        destination: "USA".into(),
        as_of: Some(date),
        ..Default::default()
    };
    let s = screening(a, &q, date).unwrap();
    same(
        &s,
        &[
            "rules",
            "check",
            "--node",
            "jl_mag/sintered_ndfeb",
            "--destination",
            "USA",
            "--as-of",
            "2025-12-01",
        ],
        "/api/rules/check?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-12-01",
    );
    let screening_page =
        page("/explore/rules?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-12-01");
    assert!(screening_page.contains(&lodestone_render::escape(&s.verdict)));
    for d in &s.determinations {
        assert!(
            screening_page.contains(&lodestone_render::escape(&d.explanation)),
            "{}",
            d.rule
        );
    }
    let t = timeline_view(
        a,
        &TimelineQuery {
            node: "jl_mag/sintered_ndfeb".into(),
            destination: "USA".into(),
            ..Default::default()
        },
    )
    .unwrap();
    same(
        &t,
        &[
            "rules",
            "timeline",
            "--node",
            "jl_mag/sintered_ndfeb",
            "--destination",
            "USA",
        ],
        "/api/rules/timeline?node=jl_mag/sintered_ndfeb&destination=USA",
    );
    for e in &t.timelines[0].entries {
        assert!(
            screening_page.contains(&format!("<td>{}</td>", e.date)),
            "{}",
            e.date
        );
    }
}

#[test]
fn trace_map_and_search_agree() {
    let a = analysis();
    let t = trace_node(
        a,
        &TraceQuery {
            node: "jl_mag/sintered_ndfeb".into(),
            tag: Some("mined:*".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        api_json("/api/trace?node=jl_mag/sintered_ndfeb&tag=mined:*"),
        serde_json::to_value(&t).unwrap()
    );
    page_shows(
        &page("/explore/trace?node=jl_mag/sintered_ndfeb&tag=mined:*"),
        &t.rows,
        "trace",
    );
    let m = map(a, &MapQuery::default()).unwrap();
    assert_eq!(api_json("/api/map"), serde_json::to_value(&m).unwrap());
    page_shows(&page("/explore/map"), &m.links, "map routes");
    let s = search(&a.world, &SearchQuery { q: "lynas".into() }).unwrap();
    assert_eq!(
        api_json("/api/search?q=lynas"),
        serde_json::to_value(&s).unwrap()
    );
    let search_page = page("/search?q=lynas");
    for h in &s.hits {
        assert!(
            search_page.contains(&format!("href=\"{}\"", h.url)),
            "{}",
            h.url
        );
    }
}

#[test]
fn an_element_trace_agrees_in_the_cli_the_api_and_the_page() {
    let a = analysis();
    let node = "japan_magnet_aggregate/sintered_ndfeb";
    let t = trace_node(
        a,
        &TraceQuery {
            node: node.into(),
            tag: Some("separated:*".into()),
            element: Some(lodestone_model::Element::Dy),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        api_json(&format!(
            "/api/trace?node={node}&tag=separated:*&element=dy"
        )),
        serde_json::to_value(&t).unwrap()
    );
    page_shows(
        &page(&format!(
            "/explore/trace?node={node}&tag=separated:*&element=dy"
        )),
        &t.rows,
        "element trace",
    );
    // The CLI's element rows carry the same per-unit shares and totals.
    let out = lodestone(
        &repo_root(),
        &[
            "trace",
            "--node",
            node,
            "--tag",
            "separated:*",
            "--element",
            "dy",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), t.rows.len());
    for r in &t.rows {
        let c = rows.iter().find(|x| x["tag"] == r.tag.as_str()).unwrap();
        assert_eq!(c["element"], "dy");
        assert!((c["per_unit"].as_f64().unwrap() - r.per_unit).abs() < 1e-12);
        assert!((c["total"].as_f64().unwrap() - r.total).abs() < 1e-9);
    }
    // 8.1 % of the magnet's REO is Dy oxide (compositions.csv, the IEA average split).
    assert!((t.element_share - 0.081).abs() < 1e-12);
}

#[test]
fn a_record_with_its_sources_agrees() {
    let a = analysis();
    let v = lodestone_world::views::record::record(&a.world, "facilities", "lynas_lamp_kuantan")
        .unwrap();
    same(
        &v,
        &["show", "facilities", "lynas_lamp_kuantan"],
        "/api/tables/facilities/lynas_lamp_kuantan",
    );
    let page = page("/records/facilities/lynas_lamp_kuantan");
    for f in &v.fields {
        for p in &f.parts {
            assert!(
                page.contains(&lodestone_render::escape(&p.text)),
                "{}: {}",
                f.name,
                p.text
            );
        }
    }
    for s in &v.sources {
        let id = s["id"].as_str().unwrap();
        assert!(page.contains(&format!("/records/sources/{id}")), "{id}");
    }
}
