//! Helpers shared by the CLI integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

fn copy_dir(from: &Path, to: &Path) {
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
