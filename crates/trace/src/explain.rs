//! Explanations: the paths that contribute most of a tag's content at a node, best first.
//!
//! The content per unit at node t is a sum over paths: a path s → v₁ → … → t contributes
//! `f_s/x_s · Π A` along its edges. Searching backwards from t, a partial path ending (upstream)
//! at v with edge product w can contribute at most `w · m_v` in total — exactly what all its
//! completions add up to, because `m_v = f_v/x_v + Σ_u A_uv m_u`. Expanding partial paths in
//! order of that bound, and emitting a path when its exact value `w · f_v/x_v` is the largest
//! bound left, yields the paths in decreasing order of contribution while expanding only the
//! frontier that could still matter. Around loops the paths are walks, as the mathematics is.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::network::Network;
use crate::solve::{Structure, Trace};

/// One step of a path: a node and the flow that leaves it toward the product.
#[derive(Debug, Clone, PartialEq)]
pub struct PathStep {
    /// Node index.
    pub node: usize,
    /// The node's output.
    pub output: f64,
    /// Quantity of the flow from this node to the next on the path (`None` for the last node).
    pub flow_to_next: Option<f64>,
}

/// A contributing path, from the node where the content was added to the product.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Steps from the origin to the product.
    pub steps: Vec<PathStep>,
    /// Content of the tag per unit of the product contributed by this path.
    pub per_unit: f64,
    /// That contribution as a share of the product's content of the tag.
    pub share: f64,
}

#[derive(PartialEq)]
struct Item {
    bound: f64,
    terminal: bool,
    state: usize,
}

impl Eq for Item {}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        // Ties: emit finished paths before expanding, for determinism.
        self.bound
            .total_cmp(&other.bound)
            .then(self.terminal.cmp(&other.terminal))
            .then(other.state.cmp(&self.state))
    }
}

struct State {
    node: usize,
    /// Product of A along the path from this node to the target.
    weight: f64,
    /// The state one step downstream (toward the target), or usize::MAX at the target.
    next: usize,
    /// Flow quantity from this node to `next`.
    flow: f64,
}

/// The `limit` largest contributing paths of `tag` to `target`, best first. `max_expansions`
/// bounds the work on pathological graphs (the result is then best-first but possibly shorter).
pub fn explain(
    net: &Network,
    structure: &Structure,
    trace: &Trace,
    target: usize,
    tag: usize,
    limit: usize,
    max_expansions: usize,
) -> Vec<Path> {
    let k = trace.tag_count();
    let total = trace.per_unit(target, tag);
    // f_v / x_v for the tag, from the additions (sparse).
    let mut added: std::collections::HashMap<usize, f64> = std::collections::HashMap::new();
    for a in net.additions.iter().filter(|a| a.tag as usize == tag) {
        let j = a.node as usize;
        if net.output[j] > 0.0 {
            *added.entry(j).or_default() += a.amount / net.output[j];
        }
    }
    let mut out = Vec::new();
    if total <= 0.0 || limit == 0 {
        return out;
    }
    let m = |v: usize| trace.per_unit[v * k + tag];
    let mut states = vec![State {
        node: target,
        weight: 1.0,
        next: usize::MAX,
        flow: 0.0,
    }];
    let mut heap = BinaryHeap::new();
    heap.push(Item {
        bound: m(target),
        terminal: false,
        state: 0,
    });
    let mut expansions = 0;
    while let Some(item) = heap.pop() {
        if item.bound <= total * 1e-15 {
            break;
        }
        if item.terminal {
            out.push(build_path(net, &states, item.state, item.bound, total));
            if out.len() >= limit {
                break;
            }
            continue;
        }
        expansions += 1;
        if expansions > max_expansions {
            break;
        }
        let (node, weight) = (states[item.state].node, states[item.state].weight);
        if let Some(f) = added.get(&node) {
            heap.push(Item {
                bound: weight * f,
                terminal: true,
                state: item.state,
            });
        }
        for (u, a) in structure.incoming(node) {
            let w = weight * a;
            let bound = w * m(u);
            if bound > 0.0 {
                states.push(State {
                    node: u,
                    weight: w,
                    next: item.state,
                    flow: a * net.output[node],
                });
                heap.push(Item {
                    bound,
                    terminal: false,
                    state: states.len() - 1,
                });
            }
        }
    }
    out
}

fn build_path(net: &Network, states: &[State], mut s: usize, value: f64, total: f64) -> Path {
    let mut steps = Vec::new();
    while s != usize::MAX {
        let st = &states[s];
        steps.push(PathStep {
            node: st.node,
            output: net.output[st.node],
            flow_to_next: (st.next != usize::MAX).then_some(st.flow),
        });
        s = st.next;
    }
    Path {
        steps,
        per_unit: value,
        share: value / total,
    }
}
