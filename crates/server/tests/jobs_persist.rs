//! Finished scenario jobs survive a restart: a server keeping jobs in a directory finishes one;
//! a second server over the same directory lists it with its results, and its next job gets a
//! new id (no stored record is overwritten).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;

fn start(jobs_dir: &Path) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    let jobs_dir = jobs_dir.to_path_buf();
    std::thread::spawn(move || {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world");
        let (ds, report) = lodestone_world::load_dir(&dir).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (state, skipped) = lodestone_server::AppState::new(ds, report)
            .with_jobs_dir(&jobs_dir)
            .unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let _ = rt.block_on(lodestone_server::serve_state(state, addr, move |bound| {
            tx.send(bound).unwrap()
        }));
    });
    rx.recv().unwrap()
}

fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |x| x.1);
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

fn page(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text
}

fn wait_done(addr: SocketAddr, url: &str) -> serde_json::Value {
    for _ in 0..600 {
        let (_, v) = call(addr, "GET", url, "");
        if v["status"] != "running" && v["status"] != "cancelling" {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("job {url} did not end");
}

#[test]
fn a_finished_job_survives_a_restart() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jobs-persist");
    let _ = std::fs::remove_dir_all(&dir);
    let first = start(&dir);
    let (status, job) = call(
        first,
        "POST",
        "/api/simulations",
        r#"{"scenario": "kuantan_outage", "runs": 40, "seed": 9}"#,
    );
    assert_eq!(status, 202, "{job}");
    let url = job["url"].as_str().unwrap().to_string();
    let done = wait_done(first, &url);
    assert_eq!(done["status"], "done", "{done}");
    assert!(dir.join("job-1.json").exists());

    // A second server over the same directory: the job is listed, with the same results and
    // the scenario text it ran.
    let second = start(&dir);
    let (status, again) = call(second, "GET", &url, "");
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "done");
    assert_eq!(again["results"], done["results"]);
    assert_eq!(again["seed"], 9);
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("job-1.json")).unwrap()).unwrap();
    assert!(
        stored["scenario_toml"]
            .as_str()
            .unwrap()
            .contains("kuantan_outage")
    );
    let (_, list) = call(second, "GET", "/api/simulations", "");
    assert!(
        list["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == 1),
        "{list}"
    );
    // Its results download like a fresh job's.
    let (status, results) = call(second, "GET", &format!("{url}/results"), "");
    assert_eq!(status, 200);
    assert_eq!(results, done["results"]);
    // The next job gets a new id: the stored record is not overwritten.
    let (status, next) = call(
        second,
        "POST",
        "/api/simulations",
        r#"{"scenario": "baseline", "runs": 5}"#,
    );
    assert_eq!(status, 202, "{next}");
    assert_eq!(next["id"], 2);
    wait_done(second, next["url"].as_str().unwrap());
    assert!(dir.join("job-2.json").exists());

    // The two finished jobs side by side: the restored one and the new one.
    let (status, cmp) = call(second, "GET", "/api/simulations/compare?ids=1,2", "");
    assert_eq!(status, 200, "{cmp}");
    assert_eq!(cmp["jobs"].as_array().unwrap().len(), 2);
    let japan = cmp["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["country"] == "JPN")
        .expect("Japan is compared");
    // Kuantan's outage leaves Japan short; the baseline does not.
    let total = |k: usize| japan["jobs"][k]["total_shortfall_t_reo_mean"].as_f64();
    assert!(total(0).unwrap() > 0.0, "{japan}");
    assert!(total(1).is_none_or(|t| t == 0.0), "{japan}");
    let html = page(second, "/explore/simulate/compare?ids=1,2");
    assert!(html.starts_with("HTTP/1.1 200"), "{html}");
    assert!(html.contains("<td>Japan</td>") && html.contains("job 1: kuantan_outage"));
    assert!(page(second, "/explore/simulate/compare?ids=1,99").contains("problem"));
    assert_eq!(
        call(second, "GET", "/api/simulations/compare?ids=1", "").0,
        400
    );
    assert_eq!(
        call(second, "GET", "/api/simulations/compare?ids=1,99", "").0,
        404
    );
}
