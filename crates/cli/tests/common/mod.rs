//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the `lodestone` binary in `dir` with `args`.
pub fn lodestone(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lodestone"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run lodestone")
}

/// Runs `lodestone` in `dir` with `args`, asserting that it succeeds; its standard output.
pub fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = lodestone(dir, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// [`run_ok`] in the repository root.
pub fn ok(args: &[&str]) -> String {
    run_ok(&repo_root(), args)
}

/// [`ok`], its output parsed as JSON.
pub fn ok_json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Builds a dataset directory for a test case: the base dataset `tests/data/base`, overlaid with
/// the case's files, minus the files listed in the case's `.delete`. `expected.txt` is not copied.
pub fn materialize(case_dir: &Path, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("cases")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&repo_root().join("tests/data/base"), &dir);
    copy_dir(case_dir, &dir);
    let _ = std::fs::remove_file(dir.join("expected.txt"));
    if let Ok(list) = std::fs::read_to_string(case_dir.join(".delete")) {
        for f in list.lines().filter(|l| !l.trim().is_empty()) {
            std::fs::remove_file(dir.join(f.trim())).unwrap();
        }
        let _ = std::fs::remove_file(dir.join(".delete"));
    }
    dir
}

/// Compares `actual` with the file `expected`, or rewrites the file when `UPDATE_EXPECT=1`.
pub fn expect_file(expected: &Path, actual: &str) {
    if std::env::var("UPDATE_EXPECT").as_deref() == Ok("1") {
        std::fs::write(expected, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_else(|_| {
        panic!(
            "{} is missing; run with UPDATE_EXPECT=1 to create it",
            expected.display()
        )
    });
    assert_eq!(
        want,
        actual,
        "{} differs (UPDATE_EXPECT=1 rewrites it after review)",
        expected.display()
    );
}

/// A server over the bundled dataset on a loopback port, started once per test binary.
pub fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (world, report) =
                lodestone_world::load_dir(&repo_root().join("data/world")).unwrap();
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
    })
}

/// GET over HTTP/1.1: the status and the body.
pub fn http_get(path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(server()).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
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
    (status, body.to_string())
}
