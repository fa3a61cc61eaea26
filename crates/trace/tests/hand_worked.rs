//! Small networks worked out by hand.

use lodestone_trace::segregate;
use lodestone_trace::{
    Addition, CustodyModel, Flow, Line, Network, NetworkError, Structure, explain, trace,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

/// Two mines (Australia 10 t, China 30 t) feed a separator that ships to a magnet maker.
///   A(AUS, x=10) --10--> S(x=30) <--20-- C(CHN, x=30)      S --15--> M(x=15)
fn two_mines() -> Network {
    Network {
        node_ids: ["A", "C", "S", "M"].map(String::from).to_vec(),
        output: vec![10.0, 30.0, 30.0, 15.0],
        unit_value: vec![None; 4],
        flows: vec![
            Flow {
                from: 0,
                to: 2,
                quantity: 10.0,
            },
            Flow {
                from: 1,
                to: 2,
                quantity: 20.0,
            },
            Flow {
                from: 2,
                to: 3,
                quantity: 15.0,
            },
        ],
        tags: vec!["mined:AUS".into(), "mined:CHN".into()],
        additions: vec![
            Addition {
                node: 0,
                tag: 0,
                amount: 10.0,
            },
            Addition {
                node: 1,
                tag: 1,
                amount: 30.0,
            },
        ],
        lines: vec![],
    }
}

#[test]
fn mixing_at_a_separator_passes_shares_downstream() {
    let net = two_mines();
    let t = trace(&net, CustodyModel::MassBalance).unwrap();
    // S received 10 t of Australian and 20 t of Chinese content, over 30 t of output.
    assert!(close(t.per_unit(2, 0), 1.0 / 3.0));
    assert!(close(t.per_unit(2, 1), 2.0 / 3.0));
    // M takes half of S's output: the same mix, 5 t and 10 t in total.
    assert!(close(t.total(3, 0), 5.0));
    assert!(close(t.total(3, 1), 10.0));
    // Conservation: what leaves (C's 10 t unshipped, S's 15 t, M's 15 t) carries all 40 t.
    let leaving = t.content_leaving(&net);
    assert!(
        close(leaving[0], 10.0) && close(leaving[1], 30.0),
        "{leaving:?}"
    );
}

#[test]
fn a_recycling_loop_is_solved_exactly() {
    // Mine A (x=10) → P (x=10); P ships 8 to Q (x=8); Q returns 2 as scrap to P; 6 leave at Q.
    // m_P = (10·1 + 2·m_Q)/10 and m_Q = 8·m_P/8, so m_P = m_Q = 1.25.
    let net = Network {
        node_ids: ["A", "P", "Q"].map(String::from).to_vec(),
        output: vec![10.0, 10.0, 8.0],
        unit_value: vec![None; 3],
        flows: vec![
            Flow {
                from: 0,
                to: 1,
                quantity: 10.0,
            },
            Flow {
                from: 1,
                to: 2,
                quantity: 8.0,
            },
            Flow {
                from: 2,
                to: 1,
                quantity: 2.0,
            },
        ],
        tags: vec!["mined:AUS".into()],
        additions: vec![Addition {
            node: 0,
            tag: 0,
            amount: 10.0,
        }],
        lines: vec![],
    };
    let t = trace(&net, CustodyModel::MassBalance).unwrap();
    assert!(close(t.per_unit(1, 0), 1.25));
    assert!(close(t.per_unit(2, 0), 1.25));
    assert!(close(t.content_leaving(&net)[0], 10.0));

    // Explanations: the direct path gives 1.0 of 1.25 (80 %); once round the loop 0.2·0.8 = 16 %.
    let s = Structure::build(&net).unwrap();
    let paths = explain(&net, &s, &t, 1, 0, 3, 1000);
    assert_eq!(paths.len(), 3);
    let ids = |p: &lodestone_trace::Path| {
        p.steps
            .iter()
            .map(|s| net.node_ids[s.node].as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&paths[0]), ["A", "P"]);
    assert!(close(paths[0].share, 0.8));
    assert_eq!(ids(&paths[1]), ["A", "P", "Q", "P"]);
    assert!(close(paths[1].share, 0.16));
    assert!(close(paths[2].share, 0.032));
    assert_eq!(paths[0].steps[0].flow_to_next, Some(10.0));
    assert_eq!(paths[1].steps[2].flow_to_next, Some(2.0));
}

#[test]
fn a_self_loop_counts_like_any_loop() {
    // P (x=10) gets 5 from mine A and 5 of its own output back: m_P = (5 + 5 m_P)/10 → 1.
    let net = Network {
        node_ids: ["A", "P"].map(String::from).to_vec(),
        output: vec![5.0, 10.0],
        unit_value: vec![None; 2],
        flows: vec![
            Flow {
                from: 0,
                to: 1,
                quantity: 5.0,
            },
            Flow {
                from: 1,
                to: 1,
                quantity: 5.0,
            },
        ],
        tags: vec!["x".into()],
        additions: vec![Addition {
            node: 0,
            tag: 0,
            amount: 5.0,
        }],
        lines: vec![],
    };
    let t = trace(&net, CustodyModel::MassBalance).unwrap();
    assert!(close(t.per_unit(1, 0), 1.0));
}

#[test]
fn a_closed_loop_is_rejected_and_named() {
    let net = Network {
        node_ids: ["A", "P", "Q"].map(String::from).to_vec(),
        output: vec![1.0, 10.0, 10.0],
        unit_value: vec![None; 3],
        flows: vec![
            Flow {
                from: 1,
                to: 2,
                quantity: 10.0,
            },
            Flow {
                from: 2,
                to: 1,
                quantity: 10.0,
            },
            Flow {
                from: 0,
                to: 1,
                quantity: 1.0,
            },
        ],
        tags: vec!["x".into()],
        additions: vec![Addition {
            node: 0,
            tag: 0,
            amount: 1.0,
        }],
        lines: vec![],
    };
    match trace(&net, CustodyModel::MassBalance) {
        Err(NetworkError::ClosedLoop { cycle, nodes }) => {
            assert_eq!(nodes.len(), 2);
            assert_eq!(cycle.len(), 3);
            assert_eq!(cycle.first(), cycle.last());
            let msg = NetworkError::ClosedLoop {
                cycle: cycle.clone(),
                nodes,
            }
            .to_string();
            assert!(
                msg.contains("P → Q → P") || msg.contains("Q → P → Q"),
                "{msg}"
            );
        }
        other => panic!("expected a closed loop, got {other:?}"),
    }
}

#[test]
fn shipping_more_than_the_output_is_an_error() {
    let mut net = two_mines();
    net.flows[2].quantity = 31.0;
    let err = trace(&net, CustodyModel::MassBalance).unwrap_err();
    assert!(
        matches!(err, NetworkError::FlowsExceedOutput { ref node, .. } if node == "S"),
        "{err}"
    );
}

#[test]
fn segregation_keeps_a_declared_line_apart() {
    // S gets 10 from A (AUS) and 20 from C (CHN). It ships 10 to M1 and 15 to M2; 5 stay.
    // A declared line: A's input feeds M1 only. Under mass balance M1 is 1/3 AUS; segregated, all.
    let mut net = two_mines();
    net.node_ids.push("M2".into());
    net.output[3] = 10.0;
    net.output.push(15.0);
    net.unit_value.push(None);
    net.flows[2].quantity = 10.0;
    net.flows.push(Flow {
        from: 2,
        to: 4,
        quantity: 15.0,
    });
    net.lines.push(Line {
        node: 2,
        name: "australian".into(),
        inputs: vec![0],
        outputs: vec![3],
    });
    let mb = trace(&net, CustodyModel::MassBalance).unwrap();
    assert!(close(mb.per_unit(3, 0), 1.0 / 3.0));
    let sg = trace(&net, CustodyModel::Segregated).unwrap();
    assert!(close(sg.per_unit(3, 0), 1.0));
    assert!(close(sg.per_unit(3, 1), 0.0));
    // The rest of S (20 t CHN over its 20 t of other output) is all Chinese.
    assert!(close(sg.per_unit(4, 1), 1.0));
    // S as a whole still holds 10 t AUS and 20 t CHN over 30 t.
    assert!(close(sg.per_unit(2, 0), 1.0 / 3.0));
    let (lowered, _) = segregate::lower(&net).unwrap();
    let lt = trace(&lowered, CustodyModel::MassBalance).unwrap();
    let leaving = lt.content_leaving(&lowered);
    assert!(close(leaving[0], 10.0) && close(leaving[1], 30.0));
}

#[test]
fn origin_valuation_of_tagged_content() {
    // Australian content is worth 6 per unit at the mine, Chinese 3. S's output sells at 10.
    let mut net = two_mines();
    net.unit_value = vec![Some(6.0), Some(3.0), Some(10.0), None];
    let t = trace(&net, CustodyModel::MassBalance).unwrap();
    // Per unit of S: 1/3 unit of AUS content worth 6 → 2; 2/3 of CHN content worth 3 → 2.
    assert!(close(t.value_per_unit(2, 0).unwrap(), 2.0));
    assert!(close(t.value_per_unit(2, 1).unwrap(), 2.0));
    assert!(close(t.value_share(2, 1).unwrap(), 0.2));
    assert_eq!(t.value_share(3, 1), None, "M has no unit value");
    assert!(close(t.value_coverage(3, 1).unwrap(), 1.0));
    // Without a price at mine C, Chinese content is unpriced.
    net.unit_value[1] = None;
    let t = trace(&net, CustodyModel::MassBalance).unwrap();
    assert!(close(t.value_coverage(2, 1).unwrap(), 0.0));
    assert!(close(t.value_coverage(2, 0).unwrap(), 1.0));
}
