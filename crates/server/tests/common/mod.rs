//! Helpers shared by the server's tests: one server over the bundled dataset on loopback, and
//! plain HTTP/1.1 requests to it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::OnceLock;

pub fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world");
            let (ds, report) = lodestone_world::load_dir(&dir).unwrap();
            assert!(!report.has_errors());
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
            let state = lodestone_server::AppState::new(ds, report);
            let _ = rt.block_on(lodestone_server::serve_state(state, addr, move |bound| {
                tx.send(bound).unwrap()
            }));
        });
        rx.recv().unwrap()
    })
}

pub struct Reply {
    pub status: u16,
    /// The response head, lower-cased.
    pub headers: String,
    /// The response head as sent (cookie values are case-sensitive).
    pub raw_headers: String,
    pub body: String,
}

pub fn get(path: &str) -> Reply {
    request("GET", path, "")
}

pub fn request(method: &str, path: &str, body: &str) -> Reply {
    request_as(method, path, "application/json", body)
}

pub fn request_as(method: &str, path: &str, content_type: &str, body: &str) -> Reply {
    request_with(
        method,
        path,
        &format!("Host: localhost\r\nContent-Type: {content_type}\r\n"),
        body,
    )
}

pub fn request_form(path: &str, body: &str) -> Reply {
    request_as("POST", path, "application/x-www-form-urlencoded", body)
}

/// Each GET answers with its status and a JSON error whose `valid` list mentions the hint.
pub fn assert_errors(cases: &[(&str, u16, &str)]) {
    for &(path, status, hint) in cases {
        let r = get(path);
        assert_eq!(r.status, status, "{path}: {}", r.body);
        let v = json(&r);
        assert!(
            v["error"]["valid"].to_string().contains(hint),
            "{path}: {v}"
        );
    }
}

pub fn json(r: &Reply) -> serde_json::Value {
    serde_json::from_str(&r.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", &r.body[..r.body.len().min(200)]))
}

/// Every `<script>` of a page loads one of this server's assets: nothing inline.
pub fn only_served_scripts(page: &str) -> bool {
    page.split("<script")
        .skip(1)
        .all(|tag| tag.starts_with(" src=\"/assets/"))
}

/// The `href`s of a page that start with `prefix`.
pub fn links(page: &str, prefix: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// Tests that start jobs take turns: the server runs one job at a time.
pub static JOBS: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn wait_for_end(url: &str) -> serde_json::Value {
    let started = std::time::Instant::now();
    loop {
        let v = json(&get(url));
        let status = v["status"].as_str().unwrap_or("").to_string();
        if status != "running" && status != "cancelling" {
            return v;
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "job did not end in 120 s: {v}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Debian's headless Chromium, if installed.
pub fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|b| {
        std::process::Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Loads `path` in headless Chromium: the DOM after scripts ran, and the console lines.
pub fn browse(bin: &str, path: &str, screenshot: &Path) -> (String, Vec<String>) {
    let url = format!("http://{}{path}", server());
    let run = |extra: &str| {
        let out = std::process::Command::new("timeout")
            .args([
                "90",
                bin,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--enable-logging=stderr",
                "--v=0",
                "--virtual-time-budget=10000",
                "--window-size=1300,1100",
                extra,
                &url,
            ])
            .output()
            .expect("run chromium");
        assert!(out.status.success(), "chromium failed on {path}");
        out
    };
    let dom = run("--dump-dom");
    let shot = run(&format!("--screenshot={}", screenshot.display()));
    let console = [&dom.stderr, &shot.stderr]
        .iter()
        .flat_map(|e| {
            String::from_utf8_lossy(e)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| l.contains(":CONSOLE"))
        .collect();
    (String::from_utf8_lossy(&dom.stdout).into_owned(), console)
}

/// The CSRF token of a page's form.
pub fn csrf_token(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the form carries a token")
        .to_string()
}

/// A request with extra header lines (`Name: value\r\n` each), to the shared server.
pub fn request_with(method: &str, path: &str, headers: &str, body: &str) -> Reply {
    request_to(server(), method, path, headers, body)
}

/// A request with extra header lines to the server at `addr`.
pub fn request_to(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\n{headers}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Reply {
        status,
        headers: head.to_ascii_lowercase(),
        raw_headers: head.to_string(),
        body: body.to_string(),
    }
}
