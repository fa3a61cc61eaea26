//! The dataflow engine gives the single-process engine's numbers to the last bit, on networks with
//! loops (solved by LU and by Gauss–Seidel), for any number of workers.

use std::sync::Arc;

use lodestone_dataflow::{Cluster, DataflowError, trace};
use lodestone_trace::generate::{GenerateOptions, generate};
use lodestone_trace::{Addition, Flow, Network, Structure, Trace, trace_with};

/// The first entry where two matrices differ in any bit, with both values.
fn first_difference(a: &[f64], b: &[f64]) -> Option<(usize, f64, f64)> {
    assert_eq!(a.len(), b.len());
    (0..a.len())
        .find(|&i| a[i].to_bits() != b[i].to_bits())
        .map(|i| (i, a[i], b[i]))
}

/// The two traces are the same to the last bit: content, value and unpriced content.
fn assert_same(single: &Trace, dist: &Trace, what: &str) {
    if let Some(d) = first_difference(&single.per_unit, &dist.per_unit) {
        panic!("{what}: content differs at {d:?}");
    }
    match (&single.value, &dist.value) {
        (Some(a), Some(b)) => {
            if let Some(d) = first_difference(&a.per_unit, &b.per_unit) {
                panic!("{what}: value differs at {d:?}");
            }
            if let Some(d) = first_difference(&a.unpriced_per_unit, &b.unpriced_per_unit) {
                panic!("{what}: unpriced content differs at {d:?}");
            }
        }
        (None, None) => {}
        _ => panic!("{what}: one trace has values, the other not"),
    }
}

fn distributed(net: &Network, threads: usize) -> Result<Trace, DataflowError> {
    let s = Structure::build(net)?;
    Ok(trace(net, Arc::new(s), &Cluster::local(threads))?.expect("worker 0 is in this process"))
}

#[test]
fn generated_networks_with_loops_trace_alike_on_one_to_four_workers() {
    let net = generate(GenerateOptions {
        nodes: 6_000,
        flows: 40_000,
        tags: 11,
        cycles: 0.3,
        seed: 11,
        values: true,
    });
    let s = Structure::build(&net).unwrap();
    assert!(s.loop_count() > 100, "{} loops", s.loop_count());
    let single = trace_with(&net).unwrap();
    // Not a trivial trace: content arrives from upstream at most nodes.
    let nonzero = single.per_unit.iter().filter(|&&x| x > 0.0).count();
    assert!(nonzero > net.len(), "{nonzero} non-zero contents");
    for threads in 1..=4 {
        let dist = distributed(&net, threads).unwrap();
        assert_same(&single, &dist, &format!("{threads} workers"));
    }
}

/// A ring of 600 nodes (solved by Gauss–Seidel, beyond the LU limit), fed from two sources and
/// feeding a chain of customers.
fn ring() -> Network {
    let ring = 600u32;
    let n = ring + 2 + 5;
    let mut flows = Vec::new();
    let mut output = vec![10.0; n as usize];
    for i in 0..ring {
        // Half of each ring node's output goes round, a tenth to the first customer.
        flows.push(Flow {
            from: i,
            to: (i + 1) % ring,
            quantity: 5.0,
        });
        flows.push(Flow {
            from: i,
            to: ring + 2,
            quantity: 1.0,
        });
    }
    output[(ring + 2) as usize] = 700.0;
    for (s, to) in [(ring, 0), (ring + 1, 300)] {
        flows.push(Flow {
            from: s,
            to,
            quantity: 4.0,
        });
    }
    for c in ring + 2..n - 1 {
        flows.push(Flow {
            from: c,
            to: c + 1,
            quantity: 600.0,
        });
        output[(c + 1) as usize] = 650.0;
    }
    Network {
        node_ids: (0..n).map(|i| format!("v{i}")).collect(),
        output,
        unit_value: (0..n)
            .map(|i| (i % 3 != 0).then_some(1.0 + f64::from(i)))
            .collect(),
        flows,
        tags: vec!["a".into(), "b".into(), "c".into()],
        additions: vec![
            Addition {
                node: ring,
                tag: 0,
                amount: 10.0,
            },
            Addition {
                node: ring + 1,
                tag: 1,
                amount: 7.0,
            },
            Addition {
                node: 17,
                tag: 2,
                amount: 2.5,
            },
        ],
        lines: Vec::new(),
    }
}

#[test]
fn a_loop_beyond_the_lu_limit_traces_alike() {
    let net = ring();
    let s = Structure::build(&net).unwrap();
    assert_eq!(s.loop_count(), 1);
    assert_eq!(s.nodes_on_loops(), 600);
    let single = trace_with(&net).unwrap();
    // Conservation: the content leaving the network is the content added.
    let leaving = single.content_leaving(&net);
    for (t, added) in [10.0, 7.0, 2.5].into_iter().enumerate() {
        assert!((leaving[t] - added).abs() < 1e-9 * added, "{leaving:?}");
    }
    for threads in [1, 3] {
        let dist = distributed(&net, threads).unwrap();
        assert_same(&single, &dist, &format!("ring, {threads} workers"));
    }
}

#[test]
fn more_workers_than_units() {
    let net = Network {
        node_ids: vec!["a".into(), "b".into()],
        output: vec![2.0, 4.0],
        unit_value: Vec::new(),
        flows: vec![Flow {
            from: 0,
            to: 1,
            quantity: 2.0,
        }],
        tags: vec!["t".into()],
        additions: vec![Addition {
            node: 0,
            tag: 0,
            amount: 1.0,
        }],
        lines: Vec::new(),
    };
    let dist = distributed(&net, 5).unwrap();
    // a: 1/2 per unit; b receives 2 × 1/2 = 1 over an output of 4.
    assert_eq!(dist.per_unit, vec![0.5, 0.25]);
    assert!(dist.value.is_none());
}

#[test]
fn hosts_files_are_checked_line_by_line() {
    assert_eq!(
        Cluster::parse_hosts("# the cluster\n127.0.0.1:2101\n\nlocalhost:2102\n").unwrap(),
        vec!["127.0.0.1:2101", "localhost:2102"]
    );
    let e = Cluster::parse_hosts("127.0.0.1:2101\n127.0.0.1\n").unwrap_err();
    assert!(e.starts_with("line 2: '127.0.0.1' is not host:port"), "{e}");
    let e = Cluster::parse_hosts("a:1\na:1\n").unwrap_err();
    assert!(e.contains("line 2") && e.contains("twice"), "{e}");
    assert!(Cluster::parse_hosts("\n# nothing\n").is_err());
    let c = Cluster {
        threads: 1,
        process: 2,
        hosts: vec!["a:1".into(), "b:2".into()],
    };
    let net = Network {
        node_ids: vec!["a".into()],
        output: vec![1.0],
        unit_value: Vec::new(),
        flows: Vec::new(),
        tags: vec!["t".into()],
        additions: Vec::new(),
        lines: Vec::new(),
    };
    let e = trace(&net, Arc::new(Structure::build(&net).unwrap()), &c).unwrap_err();
    assert!(
        e.to_string().contains("--process 2 is not one of the 2"),
        "{e}"
    );
}
