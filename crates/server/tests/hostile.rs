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
