//! `lodestone trace --workers/--hosts/--process`: the timely dataflow engine across processes.

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{lodestone, repo_root, run_ok};
use serde_json::Value;

/// The first place where two JSON documents differ: numbers by more than 1e-12 relative (to at
/// least 1), anything else at all.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64()?, y.as_f64()?);
            ((x - y).abs() > 1e-12 * x.abs().max(y.abs()).max(1.0))
                .then(|| format!("{at}: {x} vs {y}"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at}: {} vs {} items", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}[{i}]")))
        }
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at}: {} vs {} keys", x.len(), y.len()));
            }
            x.iter().find_map(|(k, v)| match y.get(k) {
                Some(w) => first_difference(v, w, &format!("{at}.{k}")),
                None => Some(format!("{at}: no key {k}")),
            })
        }
        _ => (a != b).then(|| format!("{at}: {a} vs {b}")),
    }
}

/// Free loopback ports (bound, then released for the cluster to take).
fn free_ports(count: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// What one process of a cluster printed.
struct Printed {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `lodestone ARGS --hosts FILE --process I` for each of `processes` processes on loopback
/// ports, their output in files (a pipe that nobody reads would stall a process), killing them
/// all if they take longer than five minutes. Tries again with other ports if a port was taken
/// between choosing and binding it.
fn run_cluster(name: &str, args: &[&str], processes: usize) -> Vec<Printed> {
    run_cluster_with(name, args, processes, |_| Vec::new())
}

/// [`run_cluster`], with arguments of each process's own after the common ones.
fn run_cluster_with(
    name: &str,
    args: &[&str],
    processes: usize,
    own: impl Fn(usize) -> Vec<String>,
) -> Vec<Printed> {
    run_cluster_watching(name, args, processes, own, |_| {})
}

/// A cluster's processes while they run.
struct Running {
    children: Vec<Child>,
    /// Where each process's standard output and error go.
    out: Vec<[std::path::PathBuf; 2]>,
}

impl Running {
    /// What process `i` has printed on standard error so far.
    fn stderr(&self, i: usize) -> String {
        std::fs::read_to_string(&self.out[i][1]).unwrap_or_default()
    }
}

/// [`run_cluster_with`], calling `watch` on the running processes every 10 ms until they all
/// exit (a test can kill one of them).
fn run_cluster_watching(
    name: &str,
    args: &[&str],
    processes: usize,
    own: impl Fn(usize) -> Vec<String>,
    mut watch: impl FnMut(&mut Running),
) -> Vec<Printed> {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for attempt in 0..3 {
        let hosts_file = tmp.join(format!("{name}_hosts.txt"));
        let hosts: Vec<String> = free_ports(processes)
            .into_iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        std::fs::write(&hosts_file, hosts.join("\n") + "\n").unwrap();
        let out: Vec<[std::path::PathBuf; 2]> = (0..processes)
            .map(|i| ["out", "err"].map(|stream| tmp.join(format!("{name}_{i}.{stream}"))))
            .collect();
        let children: Vec<Child> = (0..processes)
            .map(|i| {
                Command::new(env!("CARGO_BIN_EXE_lodestone"))
                    .args(args)
                    .args(own(i))
                    .args(["--hosts", hosts_file.to_str().unwrap()])
                    .args(["--process", &i.to_string()])
                    .current_dir(repo_root())
                    .stdout(std::fs::File::create(&out[i][0]).unwrap())
                    .stderr(std::fs::File::create(&out[i][1]).unwrap())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut running = Running { children, out };
        let start = Instant::now();
        let mut codes = vec![None; processes];
        while codes.iter().any(Option::is_none) {
            watch(&mut running);
            for (i, c) in running.children.iter_mut().enumerate() {
                if codes[i].is_none()
                    && let Some(status) = c.try_wait().unwrap()
                {
                    codes[i] = Some(status.code());
                }
            }
            if start.elapsed() > Duration::from_secs(300) {
                for c in &mut running.children {
                    let _ = c.kill();
                }
                panic!("the cluster {name} did not finish within five minutes");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let printed: Vec<Printed> = (0..processes)
            .map(|i| Printed {
                code: codes[i].flatten(),
                stdout: std::fs::read(&running.out[i][0]).unwrap(),
                stderr: running.stderr(i),
            })
            .collect();
        let port_taken = printed
            .iter()
            .any(|p| p.stderr.contains("cannot listen on") && p.stderr.contains("in use"));
        if !port_taken || attempt == 2 {
            return printed;
        }
    }
    unreachable!()
}

fn generated(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    run_ok(
        &repo_root(),
        &[
            "generate",
            "--nodes",
            "4000",
            "--flows",
            "25000",
            "--tags",
            "5",
            "--cycles",
            "0.2",
            "--values",
            "--out",
            dir.to_str().unwrap(),
        ],
    );
}

/// Three processes on loopback, two workers each, give the single-process engine's numbers for
/// every node and tag of a network with loops; only process 0 prints.
#[test]
fn a_three_process_cluster_on_loopback_traces_like_one_process() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let net = tmp.join("dataflow_net");
    generated(&net);
    let net_arg = net.to_str().unwrap();
    let single: Value = serde_json::from_str(&run_ok(
        &repo_root(),
        &["trace", "--network", net_arg, "--format", "json"],
    ))
    .unwrap();
    let outputs = run_cluster(
        "dataflow_trace",
        &[
            "trace",
            "--network",
            net_arg,
            "--format",
            "json",
            "--workers",
            "2",
        ],
        3,
    );
    for (i, o) in outputs.iter().enumerate() {
        assert_eq!(o.code, Some(0), "process {i}: {}", o.stderr);
    }
    let clustered: Value = serde_json::from_slice(&outputs[0].stdout).unwrap();
    assert!(
        single.as_array().is_some_and(|rows| rows.len() > 4000),
        "one row per node and tag"
    );
    if let Some(d) = first_difference(&single, &clustered, "$") {
        panic!("the cluster's trace differs from one process's: {d}");
    }
    for (i, o) in outputs.iter().enumerate().skip(1) {
        assert!(o.stdout.is_empty(), "process {i} printed results");
        assert!(
            o.stderr.contains(&format!("process {i} of 3")),
            "{}",
            o.stderr
        );
    }
}

/// In one process, `--summary` names the engine and gives the single engine's checksum.
#[test]
fn workers_in_one_process_give_the_same_summary() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let net = tmp.join("dataflow_net_summary");
    generated(&net);
    let summary = |extra: &[&str]| -> Value {
        let mut args = vec![
            "trace",
            "--network",
            net.to_str().unwrap(),
            "--summary",
            "--format",
            "json",
        ];
        args.extend(extra);
        serde_json::from_str(&run_ok(&repo_root(), &args)).unwrap()
    };
    let (one, three) = (summary(&[]), summary(&["--workers", "3"]));
    assert_eq!(one["engine"], "single process");
    assert_eq!(
        three["engine"],
        "timely dataflow, 3 worker(s) in 1 process(es)"
    );
    for key in ["checksum", "by_tag", "loops", "nodes_on_loops"] {
        if let Some(d) = first_difference(&one[key], &three[key], key) {
            panic!("{d}");
        }
    }
}

/// Wrong cluster flags are errors that say what to do, before anything is loaded.
#[test]
fn cluster_flags_are_checked() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let hosts = tmp.join("dataflow_bad_hosts.txt");
    std::fs::write(&hosts, "127.0.0.1:1\n127.0.0.1:2\n").unwrap();
    let h = hosts.to_str().unwrap();
    for (args, expect) in [
        (
            vec!["trace", "--workers", "2", "--hosts", h],
            "say which one this is with --process",
        ),
        (
            vec!["trace", "--workers", "2", "--hosts", h, "--process", "2"],
            "--process 2 is not one of the 2 processes of the hosts file (0 to 1)",
        ),
        (
            vec!["trace", "--workers", "0"],
            "--workers must be at least 1",
        ),
        (
            vec!["trace", "--workers", "2", "--custody", "segregated"],
            "mass balance only",
        ),
        (
            vec!["trace", "--workers", "2", "--hosts", "/nonexistent/hosts"],
            "cannot read the hosts file",
        ),
        (
            vec![
                "simulate",
                "--workers",
                "2",
                "merge",
                "a",
                "b",
                "--out",
                "c",
            ],
            "cannot be used with",
        ),
    ] {
        let o = lodestone(&repo_root(), &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}

/// The simulator's shards on a three-process cluster (and on three workers in one process) merge
/// into the statistics of one process, byte for byte.
#[test]
fn simulation_shards_on_a_cluster_merge_like_one_process() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let scenario = "data/world/scenarios/china_licensing_returns.toml";
    let out = |name: &str| {
        let dir = tmp.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        dir
    };
    let (one, threads, cluster) = (
        out("df_sim_one"),
        out("df_sim_threads"),
        out("df_sim_cluster"),
    );
    run_ok(
        &repo_root(),
        &[
            "simulate",
            scenario,
            "--runs",
            "45",
            "--out",
            one.to_str().unwrap(),
        ],
    );
    run_ok(
        &repo_root(),
        &[
            "simulate",
            scenario,
            "--runs",
            "45",
            "--workers",
            "3",
            "--out",
            threads.to_str().unwrap(),
        ],
    );
    let printed = run_cluster(
        "dataflow_sim",
        &[
            "simulate",
            scenario,
            "--runs",
            "45",
            "--workers",
            "1",
            "--out",
            cluster.to_str().unwrap(),
        ],
        3,
    );
    for (i, o) in printed.iter().enumerate() {
        assert_eq!(o.code, Some(0), "process {i}: {}", o.stderr);
    }
    let stats = |dir: &Path| std::fs::read_to_string(dir.join("stats.txt")).unwrap();
    let expected = stats(&one);
    assert!(expected.contains("\nranges\t0..45\n"), "{expected:.400}");
    assert!(
        stats(&threads) == expected,
        "three workers' statistics differ"
    );
    assert!(
        stats(&cluster) == expected,
        "the cluster's statistics differ"
    );
}

/// A process given other work than the rest is refused on both sides of the connection, with an
/// error that says what to do, instead of computing wrong numbers: another --workers, or a
/// network that differs from the others' in one flow's quantity.
#[test]
fn a_process_given_other_work_is_refused() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let net = tmp.join("dataflow_net_mismatch");
    generated(&net);
    let net_arg = net.to_str().unwrap().to_string();
    let workers = run_cluster_with(
        "dataflow_mismatch",
        &["trace", "--network", &net_arg, "--summary"],
        2,
        |i| vec!["--workers".into(), (i + 1).to_string()],
    );
    // The same network but for the quantity of its first flow.
    let other = tmp.join("dataflow_net_mismatch_other");
    let _ = std::fs::remove_dir_all(&other);
    common::copy_dir(&net, &other);
    let flows = std::fs::read_to_string(other.join("flows.csv")).unwrap();
    let mut lines: Vec<String> = flows.lines().map(str::to_string).collect();
    let (head, quantity) = lines[1].rsplit_once(',').unwrap();
    let changed = quantity.parse::<f64>().unwrap() * 0.5;
    lines[1] = format!("{head},{changed}");
    std::fs::write(other.join("flows.csv"), lines.join("\n") + "\n").unwrap();
    let other_arg = other.to_str().unwrap().to_string();
    let quantities = run_cluster_with(
        "dataflow_mismatch_flow",
        &["trace", "--summary", "--workers", "1"],
        2,
        |i| vec!["--network".into(), [&net_arg, &other_arg][i].clone()],
    );
    for (i, o) in workers.iter().chain(&quantities).enumerate() {
        assert_eq!(o.code, Some(1), "process {i}: {}", o.stderr);
        assert!(
            o.stderr.contains("was given other work") && o.stderr.contains("same arguments"),
            "process {i}: {}",
            o.stderr
        );
        assert!(o.stdout.is_empty());
    }
}

/// A process killed (SIGKILL) once the cluster has formed makes the other fail with one error
/// that says what to check: no partial answer on standard output, no hang, no panic messages.
/// The network is large enough that the trace is still running when the kill lands (process 1
/// is killed within about 10 ms of saying it is connected; in a debug build its part of the
/// trace takes about a second after that, measured on the project's 2-core machine); if it had already finished, process 0 would succeed and the
/// test would fail, not pass.
#[test]
fn a_process_that_dies_mid_run_fails_the_run_with_a_clear_error() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let net = tmp.join("dataflow_net_dying");
    let _ = std::fs::remove_dir_all(&net);
    let net_arg = net.to_str().unwrap().to_string();
    let sizes = ["--nodes", "150000", "--flows", "1200000", "--tags", "8"];
    run_ok(
        &repo_root(),
        &[
            &["generate"],
            &sizes[..],
            &["--cycles", "0.1", "--out", &net_arg],
        ]
        .concat(),
    );
    let mut killed_at = None;
    let printed = run_cluster_watching(
        "dataflow_dying",
        &[
            "trace",
            "--network",
            &net_arg,
            "--summary",
            "--workers",
            "1",
        ],
        2,
        |_| Vec::new(),
        |running| {
            if killed_at.is_none() && running.stderr(1).contains("connected to every other") {
                running.children[1].kill().unwrap();
                killed_at = Some(Instant::now());
            }
        },
    );
    assert!(
        killed_at.is_some(),
        "process 1 never connected: {}",
        printed[1].stderr
    );
    let p0 = &printed[0];
    assert_eq!(p0.code, Some(1), "process 0 should fail: {}", p0.stderr);
    assert!(p0.stdout.is_empty(), "a partial answer was printed");
    assert!(
        p0.stderr.contains("the dataflow cluster failed")
            && p0
                .stderr
                .contains("check that every process is still running"),
        "{}",
        p0.stderr
    );
    assert!(!p0.stderr.contains("panicked"), "{}", p0.stderr);
}
