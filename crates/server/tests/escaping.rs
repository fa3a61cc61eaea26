//! Pages and briefs cannot emit unescaped data: the bundled dataset with every free-text field
//! (names, notes, descriptions, titles, summaries) replaced by markup, quotes and ampersands is
//! served, and every page, every record page and the briefs (served and offline) are fetched. No
//! response may carry the markup as markup.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// What every text field holds.
const HOSTILE: &str = "<script>alert(\"x\")</script> <b>bold</b> & 'q' \"dq\"";
/// What must never appear in a page.
const MARKUP: [&str; 2] = ["<script>alert", "<b>bold"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The world dataset with every text column of every table, and the free text of the TOML
/// records, made hostile.
fn hostile_dataset() -> PathBuf {
    let src = repo().join("data/world");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-world");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let schema = lodestone_format::Schema::embedded().unwrap();
    for table in &schema.tables {
        let text_columns: Vec<&str> = table
            .columns
            .iter()
            .filter(|c| c.ty == lodestone_format::ColumnType::Text)
            .map(|c| c.name.as_str())
            .collect();
        let Ok(bytes) = std::fs::read(src.join(&table.file)) else {
            continue;
        };
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_reader(bytes.as_slice());
        let header = reader.headers().unwrap().clone();
        let hostile_at: Vec<bool> = header
            .iter()
            .map(|h| text_columns.contains(&h.trim()))
            .collect();
        let mut w = csv::Writer::from_path(dir.join(&table.file)).unwrap();
        w.write_record(&header).unwrap();
        for record in reader.records() {
            let record = record.unwrap();
            let row: Vec<String> = record
                .iter()
                .zip(&hostile_at)
                .map(|(v, h)| {
                    if *h && !v.trim().is_empty() {
                        format!("{v} {HOSTILE}")
                    } else {
                        v.to_string()
                    }
                })
                .collect();
            w.write_record(&row).unwrap();
        }
        w.flush().unwrap();
    }
    let toml_hostile = HOSTILE.replace('\\', "\\\\").replace('"', "\\\"");
    for sub in ["policies", "agreements", "scenarios"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for entry in std::fs::read_dir(src.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let out: Vec<String> = text
                .lines()
                .map(|l| {
                    let free = [
                        "title = \"",
                        "summary = \"",
                        "note = \"",
                        "description = \"",
                    ]
                    .iter()
                    .any(|k| l.starts_with(k));
                    if free && l.ends_with('"') {
                        format!("{} {toml_hostile}\"", &l[..l.len() - 1])
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            std::fs::write(
                dir.join(sub).join(path.file_name().unwrap()),
                out.join("\n"),
            )
            .unwrap();
        }
    }
    dir
}

fn serve(dir: &Path) -> SocketAddr {
    let (world, report) = lodestone_world::load_dir(dir).unwrap();
    assert!(
        !report.has_errors(),
        "the hostile dataset must still be valid: {:?}",
        report.errors().take(5).collect::<Vec<_>>()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let _ = rt.block_on(lodestone_server::serve(world, report, addr, move |b| {
            tx.send(b).unwrap()
        }));
    });
    rx.recv().unwrap()
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let r = common::request_to(addr, "GET", path, "Host: localhost\r\n", "");
    (r.status, r.body)
}

fn assert_escaped(what: &str, body: &str) {
    for m in MARKUP {
        assert!(!body.contains(m), "{what} emits {m} unescaped");
    }
}

#[test]
fn no_page_and_no_brief_emits_the_dataset_s_markup() {
    let dir = hostile_dataset();
    let addr = serve(&dir);
    let mut pages: Vec<String> = [
        "/",
        "/search?q=a",
        "/search?q=script",
        "/rules",
        "/records",
        "/explore/map",
        "/explore/sankey",
        "/explore/risk?country=JPN&stage=magnet",
        "/explore/risk?country=eu",
        "/explore/trace?node=jl_mag/sintered_ndfeb&tag=*",
        "/explore/rules?node=jl_mag/sintered_ndfeb&destination=USA&as_of=2025-12-01",
        "/explore/simulate",
        "/briefs/MYS",
        "/briefs/JPN",
        "/briefs/eu",
        "/briefs/asean",
        "/explore/trace?node=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/records/facilities/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/no/such/%3Cscript%3Ealert(1)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Every record page of every table.
    let (world, _) = lodestone_world::load_dir(&dir).unwrap();
    for t in &world.tables {
        pages.push(format!("/records/{}", t.schema.name));
        if t.schema.has_single_id() {
            for r in &t.rows {
                if let Some(id) = t.text(r, &t.schema.key[0]) {
                    pages.push(format!("/records/{}/{id}", t.schema.name));
                }
            }
        }
    }
    assert!(pages.len() > 400, "{} pages", pages.len());
    for p in &pages {
        let (status, body) = get(addr, p);
        assert!(status == 200 || status == 404, "{p}: {status}");
        assert_escaped(p, &body);
    }
    // A scenario job's page shows the (hostile) description of its scenario.
    let r = common::request_to(
        addr,
        "POST",
        "/api/simulations",
        "Host: localhost\r\nContent-Type: application/json\r\n",
        r#"{"scenario": "kuantan_outage", "runs": 5}"#,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].clone();
    for _ in 0..600 {
        let (_, job) = get(addr, &format!("/api/simulations/{id}"));
        if !job.contains("\"running\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (status, job_page) = get(addr, &format!("/explore/simulate/{id}"));
    assert_eq!(status, 200);
    assert!(
        job_page.contains("&#60;script&#62;"),
        "the description is shown, escaped"
    );
    assert_escaped("the job page", &job_page);
    // The hostile text is there, escaped: a facility's name on its page.
    let (_, kuantan) = get(addr, "/records/facilities/lynas_lamp_kuantan");
    assert!(kuantan.contains("&#60;script&#62;") || kuantan.contains("&lt;script&gt;"));
    // The offline brief of every country and group.
    let analysis = lodestone_world::views::Analysis::new(world);
    for who in ["MYS", "CHN", "USA", "eu", "g7"] {
        let html = lodestone_report::country_brief(
            &analysis,
            &lodestone_report::ReportOptions {
                country: who.into(),
                year: 2024,
                as_of: lodestone_model::Date::parse("2025-12-01").unwrap(),
                dashboard_links: false,
            },
        )
        .unwrap();
        assert_escaped(&format!("the offline brief of {who}"), &html);
        assert!(html.contains("http-equiv=\"Content-Security-Policy\""));
    }
}
