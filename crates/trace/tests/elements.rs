//! Element views of a network: one structure re-weighted per element gives the trace a fresh
//! build gives, and where every node has the same composition the element's origin mix is the
//! network's.

use lodestone_trace::generate::{GenerateOptions, element_shares, generate};
use lodestone_trace::{Structure, trace_prepared, trace_with};

fn network() -> lodestone_trace::Network {
    generate(GenerateOptions {
        nodes: 3_000,
        flows: 30_000,
        tags: 8,
        cycles: 0.2,
        seed: 7,
        values: false,
    })
}

#[test]
fn a_reweighted_structure_traces_like_a_fresh_one() {
    let net = network();
    let base = Structure::build(&net).unwrap();
    assert!(base.loop_count() > 0, "the test needs loops");
    for share in element_shares(net.len(), 4, 11) {
        let view = net.element_view(&share);
        let shared = trace_prepared(&view, &base.reweight(&view).unwrap()).unwrap();
        let fresh = trace_with(&view).unwrap();
        let worst = shared
            .per_unit
            .iter()
            .zip(&fresh.per_unit)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-9, "largest difference {worst}");
    }
}

#[test]
fn a_uniform_composition_leaves_the_origin_mix_unchanged() {
    // The all-content view (share 1) is the network with each node's output raised to its
    // inflow where the generator made it smaller, as the element views do.
    let net = network();
    let reo = trace_with(&net.element_view(&vec![1.0; net.len()])).unwrap();
    let view = net.element_view(&vec![0.3; net.len()]);
    let dy = trace_with(&view).unwrap();
    for (a, b) in reo.per_unit.iter().zip(&dy.per_unit) {
        assert!((a - b).abs() < 1e-9);
    }
    // And the element's content is 30 % of the REO content, node by node and tag by tag.
    for j in 0..net.len() {
        for t in 0..net.tags.len() {
            assert!(
                (dy.total(j, t) - 0.3 * reo.total(j, t)).abs() < 1e-6 * (1.0 + reo.total(j, t))
            );
        }
    }
}
