//! The dashboard in a real browser (Debian's headless Chromium): pages render without console
//! messages, charts are drawn, and an analyst can search, download, change the year and open a
//! group's brief. Ignored by `cargo test --workspace` (they need the browser); `.ci/run`
//! installs chromium and runs them with `--ignored`, where a missing browser fails.

mod cdp;
mod common;
#[path = "commission/site.rs"]
mod site;

use std::path::Path;

use common::*;

/// Debian's headless Chromium: a missing browser fails the test (it only runs when asked for).
fn chromium() -> &'static str {
    common::chromium().expect("chromium is not installed: apt-get install chromium")
}

fn shots() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a bundled scenario as a job to its end and opens its job page: (DOM, console messages).
fn finished_job_page(bin: &str, scenario: &str, runs: u64, shot: &Path) -> (String, Vec<String>) {
    let r = request(
        "POST",
        "/api/simulations",
        &format!(r#"{{"scenario": "{scenario}", "runs": {runs}}}"#),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = json(&r)["id"].clone();
    assert_eq!(
        wait_for_end(&format!("/api/simulations/{id}"))["status"],
        "done"
    );
    browse(bin, &format!("/explore/simulate/{id}"), shot)
}

#[test]
#[ignore = "needs Debian's chromium: cargo test -p lodestone-server --test browser -- --ignored"]
fn pages_render_in_a_real_browser_without_console_errors() {
    let bin = chromium();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let pages = [
        ("/", "index", "data-rendered=\"true\""),
        ("/explore/map", "map", "data-rendered=\"true\""),
        ("/explore/risk?country=JPN", "risk", "Dependency of Japan"),
        (
            "/explore/map?stage=separation",
            "map-separation",
            "data-rendered=\"true\"",
        ),
        ("/explore/sankey", "sankey", "data-rendered=\"true\""),
        (
            "/explore/sankey?material=ndpr",
            "sankey-ndpr",
            "data-rendered=\"true\"",
        ),
        ("/records/countries/MYS", "country", "lynas_lamp_kuantan"),
        (
            "/records/facilities/lynas_lamp_kuantan",
            "facility",
            "fastmarkets_2024_06_27",
        ),
        (
            "/explore/trace?node=jl_mag/sintered_ndfeb&tag=mined:*",
            "trace",
            "Paths carrying",
        ),
        (
            "/explore/rules?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-12-01",
            "rules",
            "LICENCE REQUIRED",
        ),
        ("/rules", "rules-list", "china_mofcom_18_2025"),
        ("/search?q=lynas", "search", "/records/companies/lynas"),
        ("/explore/simulate", "scenarios", "kuantan_outage"),
        (
            "/briefs/MYS",
            "brief",
            "Malaysia in the rare-earth supply chain",
        ),
    ];
    for (path, name, expect) in pages {
        let (dom, console) = browse(bin, path, &shots.join(format!("{name}.png")));
        assert!(dom.contains(expect), "{path}: the page lacks {expect}");
        assert!(console.is_empty(), "{path}: console messages: {console:#?}");
        assert!(
            std::fs::metadata(shots.join(format!("{name}.png"))).is_ok_and(|m| m.len() > 10_000),
            "{path}: no screenshot"
        );
    }
    // Click through in the browser: each step follows a link of the DOM the browser built.
    let (country, _) = browse(bin, "/records/countries/MYS", &shots.join("click-1.png"));
    let facility_link = links(&country, "/records/facilities/lynas_lamp_kuantan")
        .into_iter()
        .next()
        .expect("the country page links to Kuantan");
    let (facility, _) = browse(bin, &facility_link, &shots.join("click-2.png"));
    let source_link = links(&facility, "/records/sources/")
        .into_iter()
        .next()
        .expect("the facility page links to its sources");
    let (source, console) = browse(bin, &source_link, &shots.join("click-3.png"));
    assert!(
        !links(&source, "http").is_empty(),
        "the source page links to the original publication"
    );
    assert!(console.is_empty(), "{console:#?}");
    // A finished scenario job draws its percentile bands.
    {
        let _one_job_at_a_time = JOBS.lock().unwrap_or_else(|e| e.into_inner());
        let (dom, console) =
            finished_job_page(bin, "myanmar_supply_shock", 200, &shots.join("job.png"));
        assert!(
            dom.contains("id=\"bands\"") && dom.contains("data-rendered=\"true\""),
            "bands not drawn"
        );
        assert!(
            console.is_empty(),
            "job page: console messages: {console:#?}"
        );
        // A backtest job also draws its simulated and observed export series.
        let (dom, console) =
            finished_job_page(bin, "backtest_2025", 100, &shots.join("backtest.png"));
        // The chart element's own tag carries the mark the script sets once it has drawn.
        let tag = dom
            .split("id=\"backtest\"")
            .nth(1)
            .and_then(|rest| rest.split('>').next())
            .expect("backtest chart element");
        assert!(
            tag.contains("data-rendered=\"true\""),
            "backtest not drawn: {tag}"
        );
        assert!(
            console.is_empty(),
            "backtest page: console messages: {console:#?}"
        );
    }
    // The Sankey is drawn, not just loaded: ECharts put an SVG with a path per link and node.
    let (dom, _) = browse(bin, "/explore/sankey", &shots.join("sankey.png"));
    let chart = dom.split("id=\"sankey\"").nth(1).expect("chart element");
    let links = json(&get("/api/sankey"))["links"].as_array().unwrap().len();
    assert!(chart.contains("<svg"), "no SVG in the chart");
    assert!(
        chart.matches("<path").count() >= links,
        "{} paths for {links} links",
        chart.matches("<path").count()
    );
}

#[test]
#[ignore = "needs Debian's chromium: cargo test -p lodestone-server --test browser -- --ignored"]
fn an_analyst_finds_japan_lynas_and_magnets_by_name() {
    let bin = chromium();
    for (q, want) in [
        ("Japan", "/records/countries/JPN"),
        ("lynas", "/records/facilities/lynas_lamp_kuantan"),
        ("magnet", "/records/materials/sintered_ndfeb"),
        ("european union", "/briefs/eu"),
    ] {
        // What the header's search form submits.
        let path = format!("/search?q={}", q.replace(' ', "+"));
        let (dom, console) = browse(bin, &path, &shots().join(format!("search-{q}.png")));
        let found = links(&dom, "/");
        assert!(
            found.iter().any(|l| l == want),
            "{q}: {want} not among {found:?}"
        );
        assert!(console.is_empty(), "{q}: {console:#?}");
    }
    // Every page carries the search form.
    let (dom, _) = browse(bin, "/explore/map", &shots().join("search-form.png"));
    assert!(
        dom.contains("action=\"/search\""),
        "no search form in the header"
    );
}

#[test]
#[ignore = "needs Debian's chromium: cargo test -p lodestone-server --test browser -- --ignored"]
fn tables_download_as_csv_and_xlsx_from_their_page() {
    let bin = chromium();
    let (dom, _) = browse(
        bin,
        "/explore/risk?country=JPN&stage=separation",
        &shots().join("downloads.png"),
    );
    let csv = links(&dom, "/api/risk/concentration")
        .into_iter()
        .find(|l| l.ends_with("format=csv"))
        .expect("a CSV link on the risk page")
        .replace("&amp;", "&");
    let r = get(&csv);
    assert_eq!(r.status, 200, "{csv}");
    assert!(
        r.headers.contains("content-type: text/csv"),
        "{}",
        r.headers
    );
    assert!(
        r.headers
            .contains("attachment; filename=\"concentration.csv\"")
    );
    assert!(
        r.body
            .starts_with("material,stage,supplier,quantity,unit,share,hhi"),
        "{}",
        r.body
    );
    // The CSV carries what the page shows: China's separation share.
    let api = json(&get(&csv.replace("&format=csv", "")));
    let chn = api["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["supplier"] == "CHN" && r["material"] == "all")
        .unwrap();
    assert!(
        r.body.contains(&format!(
            "all,separation,CHN,{},",
            chn["quantity"].as_f64().unwrap()
        )),
        "{}",
        r.body
    );
    let xlsx = csv.replace("format=csv", "format=xlsx");
    let r = get(&xlsx);
    assert_eq!(r.status, 200);
    assert!(r.headers.contains("spreadsheetml"), "{}", r.headers);
    assert!(
        r.body.starts_with("PK"),
        "an XLSX workbook is a zip archive"
    );
}

#[test]
#[ignore = "needs Debian's chromium: cargo test -p lodestone-server --test browser -- --ignored"]
fn the_year_selector_changes_the_figures() {
    let bin = chromium();
    let (y2024, _) = browse(
        bin,
        "/explore/risk?stage=mining&basis=production&year=2024",
        &shots().join("year-2024.png"),
    );
    let (y2023, console) = browse(
        bin,
        "/explore/risk?stage=mining&basis=production&year=2023",
        &shots().join("year-2023.png"),
    );
    assert!(console.is_empty(), "{console:#?}");
    assert!(
        y2023.contains("<option selected=\"\">2023</option>")
            || y2023.contains("<option selected>2023</option>"),
        "2023 is selected"
    );
    // USGS: China mined 240,000 t of 350,000 t in 2023 (MCS 2024) and 270,000 of 390,000 t in 2024.
    let share = |year: i64| {
        let v = json(&get(&format!(
            "/api/risk/concentration?basis=production&stage=mining&material=re_concentrate&year={year}"
        )));
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["supplier"] == "CHN")
            .unwrap()["share"]
            .as_f64()
            .unwrap()
    };
    let (s23, s24) = (share(2023), share(2024));
    assert_ne!(s23, s24);
    let shown = |dom: &str, s: f64| dom.contains(&lodestone_world::views::table::format_share(s));
    assert!(
        shown(&y2023, s23) && shown(&y2024, s24),
        "each year shows its own share"
    );
    // The series across the years is on the page.
    assert!(y2024.contains("Over the years"));
}

#[test]
#[ignore = "needs Debian's chromium: cargo test -p lodestone-server --test browser -- --ignored"]
fn a_group_brief_opens_from_the_overview_and_links_back() {
    let bin = chromium();
    let (index, _) = browse(bin, "/", &shots().join("groups.png"));
    let brief = links(&index, "/briefs/")
        .into_iter()
        .find(|l| l == "/briefs/eu")
        .expect("the overview links the EU brief");
    let (dom, console) = browse(bin, &brief, &shots().join("brief-eu.png"));
    assert!(console.is_empty(), "{console:#?}");
    assert!(dom.contains("European Union in the rare-earth supply chain"));
    // Its facilities are those of the member states (e.g. Solvay's La Rochelle plant in France).
    assert!(dom.contains("La Rochelle"), "member facilities listed");
    assert!(
        links(&dom, "/explore/risk?country=eu").len() == 1,
        "links back to the dashboard"
    );
}

/// A review from submission to publication, driven through the pages in a real browser: the
/// secretariat opens it, a reviewer attests, commissioners comment, vote and decide, the
/// secretariat publishes, and the public portal then shows the decision and nothing more.
#[test]
#[ignore = "needs Debian's chromium: cargo test -p lodestone-server --test browser -- --ignored"]
fn a_commission_runs_a_review_end_to_end_in_the_browser() {
    let bin = chromium();
    let s = site::Site::start();
    let base = format!("http://{}", s.addr);
    let mut b = cdp::Browser::start(bin);
    let sign_in = |b: &mut cdp::Browser, user: &str| {
        b.open(&format!("{base}/commission/login"));
        let to = b.submit(
            "form[action='/commission/login']",
            &[("username", user), ("password", site::PASSWORD)],
        );
        assert_eq!(
            to,
            format!("{base}/commission"),
            "{user} signed in: {}",
            b.text()
        );
        assert!(
            b.text().contains(&format!("Signed in as {user}")),
            "{}",
            b.text()
        );
    };
    let sign_out = |b: &mut cdp::Browser| {
        let to = b.submit("form[action='/commission/logout']", &[]);
        assert_eq!(to, format!("{base}/commission"));
        assert!(b.text().contains("Sign in"));
    };

    // The administrator adds a reviewer from the accounts page.
    sign_in(&mut b, "admin");
    b.open(&format!("{base}/commission/accounts"));
    let to = b.submit(
        "#account-form",
        &[
            ("username", "reviewer-a"),
            ("display_name", "Reviewer A"),
            ("role", "reviewer"),
            ("constituency", ""),
            ("password", site::PASSWORD),
        ],
    );
    assert_eq!(to, format!("{base}/commission/accounts"));
    assert!(b.text().contains("Reviewer A"), "{}", b.text());
    b.open(&format!("{base}/commission"));
    sign_out(&mut b);

    // The secretariat registers an agreement and publishes a second release of it.
    sign_in(&mut b, "sec");
    let to = b.submit(
        "#agreement-form",
        &[
            ("agreement", "penang_magnet_mou_2027"),
            ("title", "Penang magnet plant MoU"),
            ("kind", "mou"),
            ("status", "proposed"),
            ("date", "2026-11-20"),
            ("tag", "planning"),
            ("parties", "MYS, lynas_rare_earths"),
            ("summary", "A test agreement."),
        ],
    );
    assert_eq!(
        to,
        format!("{base}/commission/agreements/penang_magnet_mou_2027")
    );
    b.submit(
        "#release-form",
        &[
            ("date", "2026-11-30"),
            ("tag", "contract"),
            ("status", "signed"),
            ("summary", ""),
        ],
    );
    let page = b.text();
    assert!(
        page.contains("2026-11-20: proposed")
            && page.contains("2026-11-30: signed")
            && page.contains("r2"),
        "{page}"
    );
    b.open(&format!("{base}/commission"));

    // The secretariat opens a review of the Kedah MoU: the impact is computed on opening.
    let review = b.submit(
        "form[action='/commission/agreements/kedah_xiamen_tungsten_mou/review']",
        &[],
    );
    assert_eq!(
        review,
        format!("{base}/commission/reviews/kedah_xiamen_tungsten_mou-r1"),
        "opening the review answered: {}",
        b.text()
    );
    let page = b.text();
    assert!(
        page.contains("Computed impact")
            && page.contains("Share of separated output outside China"),
        "{page}"
    );
    assert!(
        page.contains("licence required"),
        "China's technology-origin clause on the Dy oxide"
    );
    b.screenshot(&shots().join("commission-review-open.png"));
    sign_out(&mut b);

    // The new reviewer attests the four items.
    sign_in(&mut b, "reviewer-a");
    for item in [
        "public_disclosure",
        "environmental_review",
        "counterparty_due_diligence",
        "local_workforce_terms",
    ] {
        b.open(&review);
        b.submit(
            "#attest-form",
            &[
                ("item", item),
                ("met", "met"),
                ("text", &format!("Checked {item} <b>by hand</b>.")),
            ],
        );
    }
    assert!(
        b.text()
            .contains("Checked local_workforce_terms <b>by hand</b>."),
        "entered text is shown as text"
    );
    sign_out(&mut b);

    // Commissioners comment and vote; one records the decision.
    sign_in(&mut b, "gov");
    b.open(&review);
    b.submit(
        "#comment-form",
        &[("text", "Residue handling needs a licence condition.")],
    );
    b.submit(
        "#vote-form",
        &[
            ("choice", "approve_with_conditions"),
            ("text", "With conditions."),
        ],
    );
    sign_out(&mut b);
    sign_in(&mut b, "ind");
    b.open(&review);
    b.submit(
        "#vote-form",
        &[("choice", "approve_with_conditions"), ("text", "")],
    );
    b.submit(
        "#decide-form",
        &[
            ("choice", "approve_with_conditions"),
            ("text", "Serves the national interest with conditions."),
            ("conditions", "Residue licence before production."),
        ],
    );
    let decided = b.text();
    assert!(decided.contains("approve_with_conditions"), "{decided}");
    sign_out(&mut b);

    // The public does not see it yet; the secretariat publishes; then it does.
    b.open(&format!("{base}/commission"));
    assert!(!b.text().contains("kedah_xiamen_tungsten_mou-r1"));
    sign_in(&mut b, "sec");
    b.open(&review);
    b.submit("#publish-form", &[]);
    assert!(b.text().contains("Published"));
    sign_out(&mut b);
    b.open(&format!("{base}/commission"));
    assert!(
        b.text().contains("kedah_xiamen_tungsten_mou-r1"),
        "published on the portal"
    );
    b.open(&review);
    let public = b.text();
    assert!(
        public.contains("Serves the national interest with conditions.")
            && public.contains("Residue licence before production.")
    );
    assert!(
        !public.contains("Residue handling needs a licence condition."),
        "comments stay internal"
    );
    assert!(
        !b.html().contains("name=\"csrf\""),
        "no forms for the public"
    );
    b.screenshot(&shots().join("commission-review-published.png"));
    // The agreement's page is public now, with its releases.
    b.open(&format!(
        "{base}/commission/agreements/kedah_xiamen_tungsten_mou"
    ));
    let agreement = b.text();
    assert!(
        agreement.contains("bundled-1") && agreement.contains("technology-transfer"),
        "{agreement}"
    );
    assert!(b.console.is_empty(), "{:#?}", b.console);
    s.verify();
}
