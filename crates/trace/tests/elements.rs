//! Element views of a network: an element traced on the network's own structure (re-weighted,
//! no copy) gives the trace of its element view, and where every node has the same composition the element's origin mix is the
//! network's.

use lodestone_trace::generate::{GenerateOptions, element_shares, generate};
use lodestone_trace::{Structure, trace_element, trace_with};

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
fn an_element_traced_on_the_shared_structure_equals_its_own_network_traced() {
    let net = network();
    let base = Structure::build(&net).unwrap();
    assert!(base.loop_count() > 0, "the test needs loops");
    for share in element_shares(net.len(), 4, 11) {
        let view = net.element_view(&share);
        let fresh = trace_with(&view).unwrap();
        // Without copying the network: the same answer.
        let direct = trace_element(&net, &base, &share).unwrap();
        assert_eq!(direct.output.len(), view.len());
        for (a, b) in direct.output.iter().zip(&view.output) {
            assert!((a - b).abs() <= 1e-9 * (1.0 + b));
        }
        let worst_direct = direct
            .per_unit
            .iter()
            .zip(&fresh.per_unit)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst_direct < 1e-9, "largest difference {worst_direct}");
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
