//! Synthetic, supply-chain-shaped networks for tests and benchmarks.
//!
//! Nodes are spread over eight stages (mine → … → end use). Most flows go from one stage to the
//! next, some skip stages, suppliers are skewed so a few are large (as in real chains). A stated
//! fraction of nodes sit on small recycling loops (a flow back from a node to one of its
//! suppliers; each node on at most one such flow, so the loops stay small). Outputs exceed outflows by a random slack, so every loop leaks and the network is
//! always traceable. Mines add one tag each; some processing nodes add a second kind of tag.
//! Node indices are a random permutation of the stage layout, so nothing depends on input order.

use crate::network::{Addition, Flow, Network};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions {
    /// Number of nodes (at least 16).
    pub nodes: usize,
    /// Number of flows, loop flows included.
    pub flows: usize,
    /// Number of tags (at least 1).
    pub tags: usize,
    /// Fraction of nodes on loops, 0..=0.5.
    pub cycles: f64,
    /// Seed: the same options give the same network on every machine.
    pub seed: u64,
    /// Whether to give nodes unit values.
    pub values: bool,
}

/// The number of loop (recycling) flows a network of these options has: one per pair of nodes
/// on loops. `flows` must exceed it (the rest are forward flows, at least one).
pub fn loop_flows(opts: &GenerateOptions) -> usize {
    ((opts.cycles.clamp(0.0, 0.5) * opts.nodes as f64) / 2.0) as usize
}

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1A4_F87B)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }
}

const STAGES: usize = 8;

/// Generates a network.
pub fn generate(opts: GenerateOptions) -> Network {
    let n = opts.nodes.max(16);
    let k = opts.tags.max(1);
    let mut rng = Rng::new(opts.seed);
    // Stage sizes: equal shares.
    let bounds: Vec<usize> = (0..=STAGES).map(|s| s * n / STAGES).collect();
    let stage_of = |slot: usize| {
        bounds
            .iter()
            .rposition(|&b| b <= slot)
            .unwrap_or(0)
            .min(STAGES - 1)
    };
    // Random permutation slot → node index.
    let mut perm: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = rng.below(i + 1);
        perm.swap(i, j);
    }
    let loops = loop_flows(&opts);
    let forward = opts.flows.saturating_sub(loops).max(1);
    let mut flows = Vec::with_capacity(forward + loops);
    for _ in 0..forward {
        let tslot = bounds[1] + rng.below(n - bounds[1]);
        let ts = stage_of(tslot);
        let ss = if ts >= 2 && rng.unit() < 0.1 {
            rng.below(ts - 1)
        } else {
            ts - 1
        };
        let size = bounds[ss + 1] - bounds[ss];
        // Skewed supplier choice: u² favours low slots, i.e. a few large suppliers.
        let u = rng.unit();
        let sslot = bounds[ss] + ((u * u * size as f64) as usize).min(size - 1);
        let quantity = (rng.unit() * 3.0).exp();
        flows.push(Flow {
            from: perm[sslot],
            to: perm[tslot],
            quantity,
        });
    }
    // Loops: a customer in the next stage returns scrap to its supplier. Each node joins at most
    // one loop, so loops stay at two nodes instead of merging into giant components.
    let mut stage_of_node = vec![0usize; n];
    for (slot, &node) in perm.iter().enumerate() {
        stage_of_node[node as usize] = stage_of(slot);
    }
    let mut on_loop = vec![false; n];
    let mut made = 0;
    let mut tries = 0;
    while made < loops && tries < 20 * loops + 100 {
        tries += 1;
        let f = flows[rng.below(forward)];
        let (a, b) = (f.from as usize, f.to as usize);
        // Only between adjacent stages: a loop across skipped stages would pull every node on
        // the forward paths between its ends into one strongly connected component.
        if on_loop[a] || on_loop[b] || stage_of_node[b] != stage_of_node[a] + 1 {
            continue;
        }
        on_loop[a] = true;
        on_loop[b] = true;
        flows.push(Flow {
            from: f.to,
            to: f.from,
            quantity: f.quantity * (0.05 + 0.2 * rng.unit()),
        });
        made += 1;
    }
    let mut outflow = vec![0.0; n];
    let mut inflow = vec![0.0; n];
    for f in &flows {
        outflow[f.from as usize] += f.quantity;
        inflow[f.to as usize] += f.quantity;
    }
    let output: Vec<f64> = (0..n)
        .map(|i| {
            if outflow[i] > 0.0 {
                outflow[i] * (1.05 + 0.45 * rng.unit())
            } else if inflow[i] > 0.0 {
                inflow[i] * (0.5 + 0.5 * rng.unit())
            } else {
                1.0
            }
        })
        .collect();
    let mut additions = Vec::new();
    for slot in 0..n {
        let stage = stage_of(slot);
        let node = perm[slot];
        let x = output[node as usize];
        if stage == 0 {
            additions.push(Addition {
                node,
                tag: rng.below(k) as u32,
                amount: x * (0.5 + 0.5 * rng.unit()),
            });
        } else if (stage == 2 || stage == 4) && rng.unit() < 0.5 {
            additions.push(Addition {
                node,
                tag: rng.below(k) as u32,
                amount: x * 0.5 * rng.unit(),
            });
        }
    }
    let mut unit_value = vec![None; n];
    if opts.values {
        for slot in 0..n {
            let v = 10.0 * (1u64 << stage_of(slot)) as f64 * (0.8 + 0.4 * rng.unit());
            unit_value[perm[slot] as usize] = Some(v);
        }
    }
    Network {
        node_ids: (0..n).map(|i| format!("n{i}")).collect(),
        output,
        unit_value,
        flows,
        tags: (0..k).map(|t| format!("t{t}")).collect(),
        additions,
        lines: Vec::new(),
    }
}

/// Random element compositions for `nodes` nodes and `elements` elements: `shares[e][j]` is the
/// fraction of node `j`'s output that is element `e`; each node's fractions are positive and sum
/// to 1. Same seed, same shares.
pub fn element_shares(nodes: usize, elements: usize, seed: u64) -> Vec<Vec<f64>> {
    let k = elements.max(1);
    let mut rng = Rng::new(seed ^ 0xE1E_3E27);
    let mut shares = vec![vec![0.0; nodes]; k];
    for j in 0..nodes {
        let raw: Vec<f64> = (0..k).map(|_| 0.05 + rng.unit()).collect();
        let total: f64 = raw.iter().sum();
        for (e, r) in raw.into_iter().enumerate() {
            shares[e][j] = r / total;
        }
    }
    shares
}
