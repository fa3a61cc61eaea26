//! Hostile requests: another origin cannot change anything, a foreign Host is not answered, a
//! form without its token is refused, a body that is not JSON cannot start a job — each refused
//! with a JSON error carrying the security headers, and nothing started.

mod common;

use common::*;

fn jobs_count() -> usize {
    json(&get("/api/simulations"))["jobs"]
        .as_array()
        .unwrap()
        .len()
}

fn assert_refused(r: &Reply, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.body);
    assert!(
        r.headers.contains("x-content-type-options: nosniff")
            && r.headers.contains("content-security-policy:"),
        "{what}: no security headers"
    );
}

#[test]
fn cross_site_requests_change_nothing() {
    let _one_job_at_a_time = JOBS.lock().unwrap_or_else(|e| e.into_inner());
    let before = jobs_count();
    let body = r#"{"scenario": "baseline", "runs": 10}"#;
    let cases = [
        (
            "foreign Origin",
            "Host: localhost\r\nOrigin: http://evil.example\r\nContent-Type: application/json\r\n",
            403,
        ),
        (
            "cross-site fetch",
            "Host: localhost\r\nSec-Fetch-Site: cross-site\r\nContent-Type: application/json\r\n",
            403,
        ),
        (
            "text/plain body (a simple cross-site request)",
            "Host: localhost\r\nContent-Type: text/plain\r\n",
            415,
        ),
        (
            "foreign Host (DNS rebinding)",
            "Host: evil.example\r\nContent-Type: application/json\r\n",
            421,
        ),
    ];
    for (what, headers, status) in cases {
        let r = request_with("POST", "/api/simulations", headers, body);
        assert_refused(&r, status, what);
        assert!(json(&r)["error"]["message"].is_string(), "{what}");
    }
    // A form post without the page's token, or with another origin.
    let r = request_with(
        "POST",
        "/explore/simulate",
        "Host: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        "scenario=baseline&runs=10",
    );
    assert_refused(&r, 403, "form without token");
    let token = csrf_token(&get("/explore/simulate").body);
    let r = request_with(
        "POST",
        "/explore/simulate",
        "Host: localhost\r\nOrigin: http://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        &format!("csrf={token}&scenario=baseline&runs=10"),
    );
    assert_refused(&r, 403, "form from another origin");
    assert_eq!(jobs_count(), before, "no job was started");
    // Reads for a foreign host are refused too: rebinding cannot read the API.
    let r = request_with("GET", "/api/health", "Host: evil.example:8080\r\n", "");
    assert_refused(&r, 421, "foreign host read");
    // The loopback names are answered, with any port; the same origin may post.
    for host in ["localhost:8080", "127.0.0.1:1", "[::1]:8080"] {
        let r = request_with("GET", "/api/health", &format!("Host: {host}\r\n"), "");
        assert_eq!(r.status, 200, "{host}");
    }
}

#[test]
fn every_error_has_our_shape_and_the_security_headers() {
    let big = "x".repeat(70 * 1024);
    let cases: Vec<(&str, &str, String, &str, u16)> = vec![
        ("PUT", "/api/health", String::new(), "", 405),
        ("DELETE", "/api/rules", String::new(), "", 405),
        (
            "POST",
            "/api/simulations",
            big.clone(),
            "Content-Type: application/json\r\n",
            413,
        ),
        ("GET", "/api/tables/%FF%FE", String::new(), "", 400),
        (
            "POST",
            "/api/simulations",
            "\u{0}".to_string(),
            "Content-Type: application/json\r\n",
            400,
        ),
    ];
    for (method, path, body, extra, status) in cases {
        let r = request_with(method, path, &format!("Host: localhost\r\n{extra}"), &body);
        assert_refused(&r, status, &format!("{method} {path}"));
        assert!(
            r.headers.contains("content-type: application/json"),
            "{method} {path}: {}",
            r.headers
        );
        let v = json(&r);
        assert_eq!(v["error"]["status"], status, "{method} {path}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    }
    // The wrong method names the allowed ones.
    let r = request_with("PUT", "/api/health", "Host: localhost\r\n", "");
    assert!(
        json(&r)["error"]["valid"].to_string().contains("GET"),
        "{}",
        r.body
    );
    // A non-UTF-8 body of a JSON request.
    let mut s = std::net::TcpStream::connect(server()).unwrap();
    use std::io::{Read, Write};
    s.write_all(b"POST /api/simulations HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n\xff\xfe")
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("not valid UTF-8"), "{text}");
    // Pages answer with a page.
    let r = request_with("GET", "/records/%FF", "Host: localhost\r\n", "");
    assert!(r.status == 400 || r.status == 404, "{}", r.status);
    assert!(
        r.headers.contains("content-type: text/html"),
        "{}",
        r.headers
    );
}

#[test]
fn a_job_too_large_for_the_server_is_refused_with_what_would_fit() {
    let _one_job_at_a_time = JOBS.lock().unwrap_or_else(|e| e.into_inner());
    let before = jobs_count();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../data/world/scenarios/malaysia_new_separation_lp.toml"),
    )
    .unwrap()
    .replace("months = 24", "months = 600");
    let body = serde_json::json!({"scenario_toml": text, "runs": 20000}).to_string();
    let r = request("POST", "/api/simulations", &body);
    assert_eq!(r.status, 413, "{}", r.body);
    let v = json(&r);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("of CPU"),
        "{v}"
    );
    assert!(
        v["error"]["valid"][0]
            .as_str()
            .unwrap()
            .starts_with("at most ")
    );
    assert_eq!(jobs_count(), before, "nothing started");
}

#[test]
fn a_large_scenario_is_parsed_off_the_async_workers_and_health_stays_fast() {
    // 1,400 bad events in one scenario (about 60 KB): each error located in one pass over the text.
    let mut text = String::from("name = \"x\"\nmonths = 12\n");
    for i in 0..1400 {
        text.push_str(&format!("[[events]]\nkind = \"nope_{i}\"\nstart = 0\n"));
    }
    let body = serde_json::json!({ "scenario_toml": text }).to_string();
    let started = std::time::Instant::now();
    let posts: Vec<_> = (0..4)
        .map(|_| {
            let body = body.clone();
            std::thread::spawn(move || request("POST", "/api/simulations", &body))
        })
        .collect();
    let mut slowest = std::time::Duration::ZERO;
    for _ in 0..20 {
        let t = std::time::Instant::now();
        assert_eq!(get("/api/health").status, 200);
        slowest = slowest.max(t.elapsed());
    }
    for p in posts {
        let r = p.join().unwrap();
        assert_eq!(r.status, 400, "{}", &r.body[..r.body.len().min(300)]);
    }
    // Generous bounds for a shared 2-core machine: the point is that health is not queued
    // behind the parsing (it took seconds when parsing ran on the async workers).
    assert!(slowest.as_millis() < 1000, "health took {slowest:?}");
    assert!(started.elapsed().as_secs() < 60);
}

#[test]
fn slow_and_idle_clients_cannot_hold_the_server() {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::{Duration, Instant};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/base");
        let (world, report) = lodestone_world::load_dir(&dir).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let limits = lodestone_server::Limits {
            max_connections: 4,
            header_timeout: Duration::from_secs(3),
            connection_lifetime: Duration::from_secs(30),
        };
        let state = lodestone_server::AppState::new(world, report);
        let _ = rt.block_on(lodestone_server::serve_with_limits(
            state,
            "127.0.0.1:0".parse().unwrap(),
            limits,
            move |b| tx.send(b).unwrap(),
        ));
    });
    let addr: SocketAddr = rx.recv().unwrap();
    let health = || -> (u16, Duration) {
        let t = Instant::now();
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, t.elapsed())
    };
    assert_eq!(health().0, 200);
    // (The finished request's slot is freed just after its connection closes.)
    std::thread::sleep(Duration::from_millis(300));
    // Four clients that connect and send nothing, or half a header, hold every slot …
    let mut idle: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(addr).unwrap()).collect();
    idle[0]
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: loc")
        .unwrap();
    // Time for the server to accept them (the test suite keeps both cores busy).
    std::thread::sleep(Duration::from_millis(300));
    // … so a fifth is told at once that the server is busy, in JSON …
    let (status, took) = health();
    assert_eq!(status, 503);
    assert!(took < Duration::from_secs(2), "{took:?}");
    // … until the header timeout closes the idle ones, and the server answers again.
    let started = Instant::now();
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(100));
    let (status, took) = health();
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn requests_the_framework_cannot_read_get_our_error_shape_too() {
    use std::io::{Read, Write};
    let raw = |bytes: Vec<u8>| -> String {
        let mut s = std::net::TcpStream::connect(server()).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        let _ = s.write_all(&bytes);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    let many_headers: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let long_uri = format!("/api/health?{}", "a".repeat(70_000));
    for (what, bytes, status) in [
        (
            "too many headers",
            format!("GET /api/health HTTP/1.1\r\nHost: localhost\r\n{many_headers}\r\n")
                .into_bytes(),
            "431",
        ),
        (
            "garbage request line",
            b"\x01\x02 nonsense\r\n\r\n".to_vec(),
            "400",
        ),
        (
            "a URI too long",
            format!("GET {long_uri} HTTP/1.1\r\nHost: localhost\r\n\r\n").into_bytes(),
            "4",
        ),
    ] {
        let reply = raw(bytes);
        let head = reply
            .split("\r\n\r\n")
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        assert!(
            head.starts_with(&format!("http/1.1 {status}")),
            "{what}: {head}"
        );
        assert!(
            head.contains("content-security-policy: default-src 'none'"),
            "{what}: {head}"
        );
        assert!(
            head.contains("content-type: application/json"),
            "{what}: {head}"
        );
        let body = reply.split("\r\n\r\n").nth(1).unwrap_or("");
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        assert!(v["error"]["message"].is_string(), "{what}");
    }
}
