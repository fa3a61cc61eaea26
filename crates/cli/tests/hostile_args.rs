//! Every argument is bounded with a clear error and exit status 2: nothing panics, aborts, or
//! silently does something else than asked.

mod common;

use common::*;

#[test]
fn generate_refuses_what_it_cannot_make() {
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-generate");
    let out = out.to_string_lossy().into_owned();
    let max = u64::MAX.to_string();
    for (args, want) in [
        (vec!["--flows", max.as_str()], "--flows"),
        (vec!["--tags", max.as_str()], "--tags"),
        (vec!["--nodes", max.as_str()], "--nodes"),
        (vec!["--flows", "0"], "--flows 0 is out of range"),
        (vec!["--nodes", "100", "--flows", "1"], "loop flows"),
        (vec!["--cycles", "NaN"], "--cycles"),
        (vec!["--cycles", "0.9"], "--cycles"),
        (
            vec!["--nodes", "100000000", "--flows", "1000000000"],
            "GiB in memory",
        ),
    ] {
        let mut all = vec!["generate"];
        all.extend(args.iter().copied());
        all.extend(["--out", out.as_str()]);
        let o = lodestone(&repo_root(), &all);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {err}");
        assert!(err.contains(want), "{all:?}: {err}");
        assert!(!err.contains("panicked"), "{all:?}: {err}");
    }
    // The flows asked for are the flows written.
    let o = lodestone(
        &repo_root(),
        &[
            "generate", "--nodes", "100", "--flows", "250", "--out", &out,
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let flows = std::fs::read_to_string(std::path::Path::new(&out).join("flows.csv")).unwrap();
    assert_eq!(flows.lines().count() - 1, 250);
}

#[test]
fn special_and_oversized_files_are_refused_not_read() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-files");
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&repo_root().join("tests/data/base"), &dir);
    // A table that is a link to an endless device.
    std::fs::remove_file(dir.join("flows.csv")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("flows.csv")).unwrap();
    let o = lodestone(&dir, &["check", "--data", "."]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("flows.csv: is not a regular file"), "{out}");
    // A table over the configured limit.
    std::fs::remove_file(dir.join("flows.csv")).unwrap();
    std::fs::copy(
        repo_root().join("tests/data/base/flows.csv"),
        dir.join("flows.csv"),
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_lodestone"))
        .args(["check", "--data", "."])
        .current_dir(&dir)
        .env("LODESTONE_MAX_FILE_BYTES", "100")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("more than the limit of 100 bytes"), "{out}");
}
