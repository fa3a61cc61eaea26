//! The data-driven corpus of `lodestone check` cases in `tests/data/check/`: each case is a set of
//! files laid over `tests/data/base/`, with the exact expected output and exit status in
//! `expected.txt` (rewritten by `UPDATE_EXPECT=1` after review).

mod common;

use common::*;

#[test]
fn every_case_yields_its_exact_diagnostics_and_exit_status() {
    let root = repo_root().join("tests/data/check");
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    let mut failing = 0;
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let dir = materialize(case, &name);
        let out = lodestone(&dir, &["check", "--data", "."]);
        let code = out.status.code().unwrap_or(-1);
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.stderr.is_empty(),
            "{name}: stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if code == 1 {
            failing += 1;
            assert!(
                stdout
                    .lines()
                    .next()
                    .is_some_and(|l| !l.starts_with("warning")),
                "{name}: no error line"
            );
        } else {
            assert!(
                name.starts_with("accepted_"),
                "{name}: exit {code}; only accepted_* cases may pass"
            );
            assert_eq!(code, 0, "{name}");
        }
        expect_file(
            &case.join("expected.txt"),
            &format!("exit: {code}\n{stdout}"),
        );
    }
    assert!(
        failing >= 20,
        "the corpus must hold at least 20 kinds of problem, found {failing}"
    );
}

#[test]
fn check_json_locates_every_item() {
    let case = repo_root().join("tests/data/check/unknown_reference");
    let dir = materialize(&case, "json_unknown_reference");
    let out = lodestone(&dir, &["check", "--data", ".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["file"], "flows.csv");
    assert_eq!(errors[0]["line"], 2);
    assert_eq!(errors[0]["column"], "to");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean 'lynas_lamp_kuantan'")
    );
    assert!(v["warnings"].is_array());
}

#[test]
fn bundled_dataset_passes() {
    let out = lodestone(&repo_root(), &["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_missing_directory_is_one_clear_error() {
    let out = lodestone(&repo_root(), &["check", "--data", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("no/such/dir: is not a directory"),
        "{stdout}"
    );
}
