//! No command overwrites or deletes what it did not create, and writes are atomic: every writer
//! (`export network`, `generate`, `simulate --out`, `simulate merge --out`, `report --out`) pointed
//! at a dataset, at a directory of someone else's files, or at a foreign file, refuses and
//! changes nothing; `--force` adds files beside foreign ones but never replaces one; a run that
//! fails leaves the previous output intact.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

/// A fresh directory for one test case.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("writes")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    dir
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    walk(dir, &mut out);
    out
}

/// A copy of the small test dataset.
fn dataset(name: &str) -> PathBuf {
    let dir = scratch(name);
    copy_dir(&repo_root().join("tests/data/base"), &dir);
    dir
}

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = lodestone(&repo_root(), args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scenario() -> String {
    repo_root()
        .join("data/world/scenarios/kuantan_outage.toml")
        .to_string_lossy()
        .into_owned()
}

/// Every directory writer, with `{out}` for its output directory.
fn writers() -> Vec<Vec<String>> {
    let s = scenario();
    [
        vec!["export", "network", "--out", "{out}"],
        vec![
            "generate", "--nodes", "100", "--flows", "300", "--out", "{out}",
        ],
        vec!["simulate", s.as_str(), "--runs", "3", "--out", "{out}"],
    ]
    .into_iter()
    .map(|v| v.into_iter().map(str::to_string).collect())
    .collect()
}

fn with_out(args: &[String], out: &Path) -> Vec<String> {
    args.iter()
        .map(|a| a.replace("{out}", &out.to_string_lossy()))
        .collect()
}

#[test]
fn no_writer_touches_a_dataset_even_with_force() {
    for (i, w) in writers().iter().enumerate() {
        let ds = dataset(&format!("dataset-{i}"));
        let before = snapshot(&ds);
        for force in [false, true] {
            let mut args = with_out(w, &ds);
            if force {
                args.push("--force".into());
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, err) = run(&refs);
            // Without --force every writer refuses a dataset; with it, the network writers still
            // refuse (they would replace flows.csv), and the simulation writes only files the
            // dataset does not have.
            if !force || w[0] != "simulate" {
                assert_eq!(code, Some(2), "{args:?}: {err}");
                assert!(
                    err.contains("holds a dataset") || err.contains("never"),
                    "{args:?}: {err}"
                );
            }
            let after = snapshot(&ds);
            for (path, bytes) in &before {
                assert_eq!(
                    after.get(path),
                    Some(bytes),
                    "{args:?} changed or removed {}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn writers_own_what_they_wrote_and_never_replace_anything_else() {
    for (i, w) in writers().iter().enumerate() {
        let out = scratch(&format!("owned-{i}"));
        // A new directory: written, and written again.
        for _ in 0..2 {
            let args = with_out(w, &out);
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, err) = run(&refs);
            assert_eq!(code, Some(0), "{args:?}: {err}");
        }
        assert!(out.join(".lodestone-output").is_file());
        // Someone else's file beside ours: refused; with --force, written beside it, untouched.
        std::fs::write(out.join("notes.txt"), "mine").unwrap();
        let args = with_out(w, &out);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(run(&refs).0, Some(2), "{args:?}");
        let mut forced = args.clone();
        forced.push("--force".into());
        let refs: Vec<&str> = forced.iter().map(String::as_str).collect();
        let (code, err) = run(&refs);
        assert_eq!(code, Some(0), "{forced:?}: {err}");
        assert_eq!(
            std::fs::read_to_string(out.join("notes.txt")).unwrap(),
            "mine"
        );
        // No temporary file is left behind.
        assert!(
            snapshot(&out)
                .keys()
                .all(|p| !p.to_string_lossy().ends_with(".lodestone-tmp")),
            "{args:?}"
        );
    }
}

#[test]
fn a_failed_network_write_leaves_the_previous_output_intact() {
    let out = scratch("failed");
    let (code, err) = run(&["export", "network", "--out", &out.to_string_lossy()]);
    assert_eq!(code, Some(0), "{err}");
    let before = snapshot(&out);
    // Make the temporary file of content.csv impossible to create: the run fails before any
    // file is renamed into place.
    std::fs::create_dir(out.join("content.csv.lodestone-tmp")).unwrap();
    let (code, err) = run(&[
        "generate",
        "--nodes",
        "100",
        "--flows",
        "300",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    let after = snapshot(&out);
    for (path, bytes) in &before {
        assert_eq!(after.get(path), Some(bytes), "{} changed", path.display());
    }
}

#[test]
fn a_stale_segregation_file_is_removed_only_when_lodestone_wrote_it() {
    // The rules fixture has a segregated line; a generated network has none.
    let out = scratch("segregation");
    let base = repo_root().join("tests/data/rules/world");
    let (code, err) = run(&[
        "export",
        "network",
        "--data",
        &base.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.join("segregation.csv").is_file());
    let (code, err) = run(&[
        "generate",
        "--nodes",
        "100",
        "--flows",
        "300",
        "--out",
        &out.to_string_lossy(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !out.join("segregation.csv").exists(),
        "ours, and stale: removed"
    );
    // Someone else's segregation.csv is never removed, even with --force: the write is refused.
    let theirs = scratch("segregation-theirs");
    std::fs::create_dir_all(&theirs).unwrap();
    std::fs::write(theirs.join("segregation.csv"), "node,line,direction,peer\n").unwrap();
    let (code, err) = run(&[
        "generate",
        "--nodes",
        "100",
        "--flows",
        "300",
        "--force",
        "--out",
        &theirs.to_string_lossy(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(theirs.join("segregation.csv").is_file());
}

#[test]
fn report_replaces_only_a_brief_it_wrote() {
    let dir = scratch("report");
    std::fs::create_dir_all(&dir).unwrap();
    let brief = dir.join("brief.html");
    for _ in 0..2 {
        let (code, err) = run(&["report", "--out", &brief.to_string_lossy()]);
        assert_eq!(code, Some(0), "{err}");
    }
    let foreign = dir.join("thesis.html");
    std::fs::write(&foreign, "<html>my thesis</html>").unwrap();
    let (code, err) = run(&["report", "--out", &foreign.to_string_lossy()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("never replaced"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&foreign).unwrap(),
        "<html>my thesis</html>"
    );
}
