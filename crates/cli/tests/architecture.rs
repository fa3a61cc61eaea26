//! The architecture invariants of ARCHITECTURE.md that a program can check: the crates depend on
//! each other only as the document says, the file system is touched only by the I/O modules, and
//! the clock is read only at the edges (the CLI and the server).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::repo_root;

/// Every crate's allowed dependencies among the workspace's crates (`lodestone-` left out).
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("trace", &[]),
    ("risk", &[]),
    ("sim", &[]),
    ("reconcile", &[]),
    ("registry", &["model"]),
    ("rules", &["model"]),
    ("format", &["model"]),
    ("network", &["format", "trace"]),
    ("dataflow", &["sim", "trace"]),
    (
        "world",
        &[
            "format",
            "model",
            "reconcile",
            "risk",
            "rules",
            "sim",
            "trace",
        ],
    ),
    ("render", &["model", "world"]),
    (
        "report",
        &["format", "model", "risk", "rules", "trace", "world"],
    ),
    (
        "server",
        &[
            "format", "model", "registry", "render", "report", "rules", "sim", "trace", "world",
        ],
    ),
    (
        "cli",
        &[
            "dataflow", "format", "model", "network", "registry", "render", "report", "risk",
            "rules", "server", "sim", "trace", "world",
        ],
    ),
];

/// External crates the vocabulary crate may use: derive-level support, no I/O.
const MODEL_EXTERNAL: &[&str] = &["schemars", "serde", "strsim"];

fn manifest_dependencies(krate: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(repo_root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    doc.get("dependencies")
        .and_then(|d| d.as_table())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn crates_depend_on_each_other_only_as_documented() {
    let crates: Vec<String> = std::fs::read_dir(repo_root().join("crates"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    for krate in &crates {
        let rules = allowed
            .get(krate.as_str())
            .unwrap_or_else(|| panic!("crate {krate} is not in ARCHITECTURE.md's graph"));
        for dep in manifest_dependencies(krate) {
            if let Some(inner) = dep.strip_prefix("lodestone-") {
                assert!(
                    rules.contains(&inner),
                    "{krate} depends on {dep}, which ARCHITECTURE.md does not allow"
                );
            } else if krate == "model" {
                assert!(
                    MODEL_EXTERNAL.contains(&dep.as_str()),
                    "model depends on {dep}"
                );
            }
        }
    }
    // The engines use no crate for files, networks or formats.
    for engine in ["trace", "risk", "rules", "sim", "dataflow"] {
        for dep in manifest_dependencies(engine) {
            assert!(
                !["csv", "toml", "serde_json", "tokio", "axum"].contains(&dep.as_str()),
                "engine {engine} depends on {dep}"
            );
        }
    }
}

/// Every `.rs` file under `crates/*/src`.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(repo_root().join("crates"))
        .unwrap()
        .filter_map(|e| e.ok())
    {
        let src = e.path().join("src");
        if src.is_dir() {
            walk(&src, &mut out);
        }
    }
    out
}

fn relative(p: &Path) -> String {
    p.strip_prefix(repo_root().join("crates"))
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn only_the_io_modules_touch_the_file_system() {
    // `format::load::read_dir` reads a dataset, the network crate reads and writes the
    // interchange format, the server's job store keeps finished jobs, the CLI writes what the
    // user asks for.
    let io = |f: &str| {
        f == "format/src/load.rs"
            || f == "network/src/lib.rs"
            || f == "network/src/parquet.rs"
            || f == "server/src/store.rs"
            || f == "registry/src/keys.rs"
            || f.starts_with("cli/src/")
    };
    for path in sources() {
        let f = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        if !io(&f) {
            assert!(
                !text.contains("std::fs") && !text.contains("File::"),
                "{f} touches the file system"
            );
        }
    }
}

#[test]
fn only_the_edges_read_the_clock() {
    // The registry stamps its log entries and expires sessions: one function reads the clock.
    // A cluster's processes wait for each other until a deadline (no result depends on it).
    let edge = |f: &str| {
        f.starts_with("cli/src/")
            || f.starts_with("server/src/")
            || f == "registry/src/store.rs"
            || f == "dataflow/src/net.rs"
    };
    let mut checked = 0;
    for path in sources() {
        let f = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        if !edge(&f) {
            checked += 1;
            for clock in ["SystemTime::now", "Instant::now"] {
                assert!(!text.contains(clock), "{f} reads the clock ({clock})");
            }
        }
    }
    assert!(checked > 40, "only {checked} library files checked");
}

#[test]
fn unsafe_code_lives_in_the_hint_modules() {
    // Two memory hints, each with its SAFETY note: a prefetch (trace/src/hint.rs, used by the
    // engine and the network reader) and madvise for the reader's id table (network/src/mem.rs).
    let mut found = 0;
    for path in sources() {
        let f = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let blocks = text.matches("unsafe {").count() + text.matches("unsafe fn").count();
        if f == "network/src/mem.rs" || f == "trace/src/hint.rs" {
            assert_eq!(
                blocks,
                text.matches("// SAFETY:").count(),
                "{f}: an unsafe block without its SAFETY note"
            );
            found += blocks;
        } else {
            assert_eq!(
                blocks, 0,
                "{f} has unsafe code: keep it in trace/src/hint.rs or network/src/mem.rs"
            );
        }
    }
    assert_eq!(found, 2);
}
