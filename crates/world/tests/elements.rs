//! Element-resolved tracing on the bundled dataset: element contents add up to the REO trace,
//! the bundled separators' and magnet makers' element balances close (`check` is clean), and a
//! union of origin tags counts content once.

use std::path::Path;

use lodestone_model::{Custody, Element, Vocabulary};
use lodestone_trace::{CustodyModel, trace};
use lodestone_world::lower::{Content, lower_dataset_with};
use lodestone_world::screening::{Screening, element_traces};

fn bundled() -> lodestone_world::World {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/world");
    let (world, report) = lodestone_world::load_dir(&dir).unwrap();
    // Element balances are part of check: the bundled data must pass them.
    assert!(
        !report.has_errors(),
        "{:?}",
        report.errors().collect::<Vec<_>>()
    );
    world
}

#[test]
fn element_contents_sum_to_the_reo_of_every_resolved_product() {
    let world = bundled();
    for year in [2024, 2025] {
        let s = Screening::prepare(&world, year, Custody::MassBalance).unwrap();
        let net = &s.low.network;
        let mut products = 0;
        for (i, info) in s.low.nodes.iter().enumerate() {
            if info.material.is_none() {
                continue;
            }
            let id = &net.node_ids[i];
            let in_elements: Vec<f64> = s
                .elements
                .iter()
                .filter_map(|e| {
                    e.low
                        .network
                        .node_index(id)
                        .map(|j| e.low.network.output[j])
                })
                .collect();
            if in_elements.is_empty() {
                continue; // a material without a composition: its content is REO only
            }
            products += 1;
            let sum: f64 = in_elements.iter().sum();
            assert!(
                (sum - net.output[i]).abs() <= 1e-6 * net.output[i].max(1.0),
                "{year} {id}: elements {sum} vs REO {}",
                net.output[i]
            );
        }
        assert!(products > 40, "{year}: only {products} resolved products");
    }
}

#[test]
fn where_compositions_do_not_change_the_element_trace_is_the_reo_trace() {
    // A chain whose every material has one composition: each element's origin mix equals the
    // REO origin mix, node by node.
    let world = bundled();
    let low = lower_dataset_with(&world, 2024, Content::Reo, &[]).unwrap();
    let reo = trace(&low.network, CustodyModel::MassBalance).unwrap();
    let dy = lower_dataset_with(&world, 2024, Content::Element(Element::Dy), &[]).unwrap();
    let dyt = trace(&dy.network, CustodyModel::MassBalance).unwrap();
    // Magnets made in China from Chinese Dy metal: the Dy is all metal:CHN, as is the REO.
    let id = "jl_mag/sintered_ndfeb";
    let (i, j) = (
        low.network.node_index(id).unwrap(),
        dy.network.node_index(id).unwrap(),
    );
    let tag = |t: &lodestone_trace::Trace, node, name: &str| {
        t.tags
            .iter()
            .position(|x| x == name)
            .map_or(0.0, |k| t.per_unit(node, k))
    };
    assert!((tag(&reo, i, "metal:CHN") - 1.0).abs() < 1e-9);
    assert!((tag(&dyt, j, "metal:CHN") - 1.0).abs() < 1e-9);
}

#[test]
fn union_tags_count_content_once() {
    let world = bundled();
    let set = vec!["separated:CHN".to_string(), "metal:CHN".to_string()];
    let low = lower_dataset_with(&world, 2024, Content::Reo, std::slice::from_ref(&set)).unwrap();
    let t = trace(&low.network, CustodyModel::MassBalance).unwrap();
    let k = |name: &str| t.tags.iter().position(|x| x == name).unwrap();
    let (sep, met, uni) = (
        k("separated:CHN"),
        k("metal:CHN"),
        k("separated:CHN|metal:CHN"),
    );
    for i in 0..low.network.len() {
        let (a, b, u) = (t.per_unit(i, sep), t.per_unit(i, met), t.per_unit(i, uni));
        assert!(
            u + 1e-9 >= a.max(b),
            "{}: union {u} < max({a}, {b})",
            low.network.node_ids[i]
        );
        assert!(
            u <= a + b + 1e-9,
            "{}: union {u} > {a} + {b}",
            low.network.node_ids[i]
        );
        assert!(u <= 1.0 + 1e-9);
    }
    // Chinese oxide made into Chinese metal (jl_mag's input) is counted once: the union is 1.
    let i = low.network.node_index("jl_mag/sintered_ndfeb").unwrap();
    assert!((t.per_unit(i, uni) - 1.0).abs() < 1e-9);
    assert!(t.per_unit(i, sep) + t.per_unit(i, met) > 1.5);
}

#[test]
fn every_element_present_in_the_flows_is_traced() {
    let world = bundled();
    let traces = element_traces(&world, 2024, CustodyModel::MassBalance, &[]).unwrap();
    let names: Vec<&str> = traces.iter().map(|e| e.element.name()).collect();
    for e in ["la", "ce", "pr", "nd", "sm", "dy", "tb", "y", "other"] {
        assert!(names.contains(&e), "{e} missing from {names:?}");
    }
}

#[test]
fn a_restriction_on_the_seven_elements_covers_chinese_magnets_not_ndpr_or_la_ce() {
    let world = bundled();
    let low = lodestone_world::lower::lower_dataset(&world, 2024).unwrap();
    let net = lodestone_world::sim_inputs::sim_network(&world, &low);
    let seven: Vec<String> = Element::CHINA_CONTROLLED_2025
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    let covered = |id: &str| {
        let node = net.nodes.iter().find(|n| n.id == id).unwrap();
        node.may_contain(&seven, false)
    };
    assert!(covered("china_magnet_aggregate/sintered_ndfeb"));
    assert!(covered("creg_south_china/dy_oxide"));
    assert!(covered("china_metal_aggregate/tb_metal"));
    assert!(!covered("china_separation_aggregate/ndpr_oxide"));
    assert!(!covered("china_metal_aggregate/ndpr_metal"));
    assert!(!covered("china_separation_aggregate/la_oxide"));
    // China's exports of mixed compounds are of unresolved composition: covered only when the
    // scenario says unresolved content counts.
    let basket = net
        .nodes
        .iter()
        .find(|n| n.id == "china_separation_aggregate/separated_reo")
        .unwrap();
    assert!(!basket.may_contain(&seven, false));
    assert!(basket.may_contain(&seven, true));
}
