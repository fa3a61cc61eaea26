//! Property tests: the engine agrees with a dense Leontief solve on random networks with loops,
//! and conserves mass.

use lodestone_trace::generate::Rng;
use lodestone_trace::segregate;
use lodestone_trace::{Addition, CustodyModel, Flow, Line, Network, trace};

/// Dense reference: solves m (I − A) = f x̂⁻¹ by Gaussian elimination with partial pivoting.
fn dense_reference(net: &Network) -> Vec<f64> {
    let n = net.len();
    let k = net.tags.len();
    // Work on (I − A)ᵀ so that each tag is a column right-hand side.
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        a[i * n + i] = 1.0;
    }
    for f in &net.flows {
        let (i, j) = (f.from as usize, f.to as usize);
        a[j * n + i] -= f.quantity / net.output[j];
    }
    let mut b = vec![0.0; n * k];
    for ad in &net.additions {
        b[ad.node as usize * k + ad.tag as usize] += ad.amount / net.output[ad.node as usize];
    }
    for c in 0..n {
        let p = (c..n)
            .max_by(|&x, &y| a[x * n + c].abs().total_cmp(&a[y * n + c].abs()))
            .unwrap();
        if p != c {
            for col in 0..n {
                a.swap(c * n + col, p * n + col);
            }
            for t in 0..k {
                b.swap(c * k + t, p * k + t);
            }
        }
        let d = a[c * n + c];
        for r in 0..n {
            if r != c {
                let f = a[r * n + c] / d;
                if f != 0.0 {
                    for col in c..n {
                        a[r * n + col] -= f * a[c * n + col];
                    }
                    for t in 0..k {
                        b[r * k + t] -= f * b[c * k + t];
                    }
                }
            }
        }
    }
    for r in 0..n {
        for t in 0..k {
            b[r * k + t] /= a[r * n + r];
        }
    }
    b
}

/// A random network: random edges (any direction, so arbitrary loops, self-loops included),
/// outputs above outflows so loops leak, random additions.
fn random_network(rng: &mut Rng, n: usize, k: usize) -> Network {
    let m = rng.below(4 * n) + 1;
    let mut flows = Vec::new();
    for _ in 0..m {
        let from = rng.below(n) as u32;
        let to = rng.below(n) as u32;
        flows.push(Flow {
            from,
            to,
            quantity: 0.1 + 10.0 * rng.unit(),
        });
    }
    let mut out = vec![0.0; n];
    for f in &flows {
        out[f.from as usize] += f.quantity;
    }
    // Some nodes ship almost everything (slack down to 0.1 %), making loops nearly closed.
    let output = out
        .iter()
        .map(|&o| {
            if o > 0.0 {
                o * (1.001 + rng.unit())
            } else {
                0.5 + rng.unit()
            }
        })
        .collect();
    let mut additions = Vec::new();
    for _ in 0..rng.below(2 * n) + 1 {
        additions.push(Addition {
            node: rng.below(n) as u32,
            tag: rng.below(k) as u32,
            amount: 10.0 * rng.unit(),
        });
    }
    Network {
        node_ids: (0..n).map(|i| format!("n{i}")).collect(),
        output,
        unit_value: vec![None; n],
        flows,
        tags: (0..k).map(|t| format!("t{t}")).collect(),
        additions,
        lines: vec![],
    }
}

fn assert_matches_reference(net: &Network, case: &str) {
    let t = trace(net, CustodyModel::MassBalance).unwrap_or_else(|e| panic!("{case}: {e}"));
    let r = dense_reference(net);
    let scale = r.iter().fold(0.0f64, |a, &b| a.max(b.abs())).max(1e-300);
    for (i, (&got, &want)) in t.per_unit.iter().zip(&r).enumerate() {
        // Relative error per entry; entries below 1e-4 of the largest are held to 1e-13 of it,
        // since the dense reference itself carries rounding noise of that order.
        let err = (got - want).abs() / want.abs().max(scale * 1e-4);
        assert!(
            err <= 1e-9,
            "{case}: entry {i}: engine {got} vs dense {want} (relative error {err:e})"
        );
    }
    // Mass conservation: content leaving equals content added, tag by tag.
    let leaving = t.content_leaving(net);
    let mut added = vec![0.0; net.tags.len()];
    for a in &net.additions {
        added[a.tag as usize] += a.amount;
    }
    for (l, a) in leaving.iter().zip(&added) {
        assert!(
            (l - a).abs() <= 1e-9 * a.max(1.0),
            "{case}: leaving {l} vs added {a}"
        );
    }
}

#[test]
fn agrees_with_dense_leontief_on_random_networks_with_loops() {
    for seed in 0..300u64 {
        let mut rng = Rng::new(seed);
        let n = 2 + rng.below(49);
        let k = 1 + rng.below(10);
        let net = random_network(&mut rng, n, k);
        assert_matches_reference(&net, &format!("seed {seed} (n={n}, k={k})"));
    }
}

#[test]
fn agrees_with_dense_leontief_on_a_loop_too_large_for_lu() {
    // A ring of 600 nodes (beyond the dense-LU limit): each ships 90 % on, 10 % leaves, plus chords.
    let n = 600;
    let mut rng = Rng::new(7);
    let mut flows: Vec<Flow> = (0..n)
        .map(|i| Flow {
            from: i as u32,
            to: ((i + 1) % n) as u32,
            quantity: 9.0,
        })
        .collect();
    for _ in 0..200 {
        flows.push(Flow {
            from: rng.below(n) as u32,
            to: rng.below(n) as u32,
            quantity: 0.5,
        });
    }
    let mut out = vec![0.0; n];
    for f in &flows {
        out[f.from as usize] += f.quantity;
    }
    let net = Network {
        node_ids: (0..n).map(|i| format!("r{i}")).collect(),
        output: out.iter().map(|o| o / 0.9).collect(),
        unit_value: vec![None; n],
        flows,
        tags: vec!["a".into(), "b".into()],
        additions: vec![
            Addition {
                node: 0,
                tag: 0,
                amount: 5.0,
            },
            Addition {
                node: 300,
                tag: 1,
                amount: 2.0,
            },
        ],
        lines: vec![],
    };
    assert_matches_reference(&net, "ring");
}

#[test]
fn generated_networks_conserve_mass() {
    for seed in 0..5 {
        let net = lodestone_trace::generate::generate(lodestone_trace::generate::GenerateOptions {
            nodes: 5_000,
            flows: 40_000,
            tags: 12,
            cycles: 0.05,
            seed,
            values: true,
        });
        let t = trace(&net, CustodyModel::MassBalance).unwrap();
        let leaving = t.content_leaving(&net);
        let mut added = vec![0.0; net.tags.len()];
        for a in &net.additions {
            added[a.tag as usize] += a.amount;
        }
        for (l, a) in leaving.iter().zip(&added) {
            assert!(
                (l - a).abs() <= 1e-9 * a.max(1.0),
                "seed {seed}: leaving {l} vs added {a}"
            );
        }
        // Value shares are shares: origin value never exceeds … a ratio that is at least finite.
        assert!(
            t.value
                .as_ref()
                .unwrap()
                .per_unit
                .iter()
                .all(|v| v.is_finite() && *v >= 0.0)
        );
    }
}

#[test]
fn segregation_without_lines_equals_mass_balance_and_with_lines_conserves_mass() {
    for seed in 0..100u64 {
        let mut rng = Rng::new(1000 + seed);
        let n = 3 + rng.below(30);
        let mut net = random_network(&mut rng, n, 3);
        let mb = trace(&net, CustodyModel::MassBalance).unwrap();
        let sg = trace(&net, CustodyModel::Segregated).unwrap();
        for (a, b) in mb.per_unit.iter().zip(&sg.per_unit) {
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "seed {seed}");
        }
        // Declare a line at a node that has at least one input and one output flow.
        let Some(f_in) = net.flows.iter().find(|f| f.from != f.to).copied() else {
            continue;
        };
        let node = f_in.to;
        let Some(f_out) = net
            .flows
            .iter()
            .find(|f| f.from == node && f.to != node && f.to != f_in.from)
            .copied()
        else {
            continue;
        };
        net.lines.push(Line {
            node,
            name: "l".into(),
            inputs: vec![f_in.from],
            outputs: vec![f_out.to],
        });
        let Ok((lowered, owner)) = segregate::lower(&net) else {
            continue;
        };
        assert_eq!(owner.len(), lowered.len());
        let lt = trace(&lowered, CustodyModel::MassBalance).unwrap();
        let leaving = lt.content_leaving(&lowered);
        let mut added = vec![0.0; 3];
        for a in &net.additions {
            added[a.tag as usize] += a.amount;
        }
        for (l, a) in leaving.iter().zip(&added) {
            assert!(
                (l - a).abs() <= 1e-9 * a.max(1.0),
                "seed {seed}: leaving {l} vs added {a}"
            );
        }
    }
}
