//! Maximum flow (Dinic's algorithm) on small capacitated networks.

/// A directed network with edge capacities.
#[derive(Debug, Clone, Default)]
pub struct FlowNetwork {
    n: usize,
    /// Edges as (to, capacity, index of the reverse edge), per node.
    adj: Vec<Vec<(usize, f64, usize)>>,
}

impl FlowNetwork {
    /// A network of `n` nodes and no edges.
    pub fn new(n: usize) -> FlowNetwork {
        FlowNetwork {
            n,
            adj: vec![Vec::new(); n],
        }
    }

    /// Adds an edge `from → to` with a capacity (non-finite or negative capacities count as 0).
    pub fn add_edge(&mut self, from: usize, to: usize, capacity: f64) {
        let cap = if capacity.is_finite() && capacity > 0.0 {
            capacity
        } else {
            0.0
        };
        let (rf, rt) = (
            self.adj[to].len() + usize::from(from == to),
            self.adj[from].len(),
        );
        self.adj[from].push((to, cap, rf));
        self.adj[to].push((from, 0.0, rt));
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True if there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
}

/// The maximum flow from `source` to `sink` (Dinic: BFS levels, DFS blocking flows).
pub fn max_flow(net: &FlowNetwork, source: usize, sink: usize) -> f64 {
    if source == sink || source >= net.n || sink >= net.n {
        return 0.0;
    }
    let mut g = net.adj.clone();
    let eps = 1e-12;
    let mut total = 0.0;
    loop {
        let mut level = vec![usize::MAX; net.n];
        level[source] = 0;
        let mut queue = std::collections::VecDeque::from([source]);
        while let Some(u) = queue.pop_front() {
            for &(v, cap, _) in &g[u] {
                if cap > eps && level[v] == usize::MAX {
                    level[v] = level[u] + 1;
                    queue.push_back(v);
                }
            }
        }
        if level[sink] == usize::MAX {
            return total;
        }
        let mut next = vec![0usize; net.n];
        loop {
            let pushed = push(&mut g, &level, &mut next, source, sink, f64::INFINITY, eps);
            if pushed <= eps {
                break;
            }
            total += pushed;
        }
    }
}

fn push(
    g: &mut [Vec<(usize, f64, usize)>],
    level: &[usize],
    next: &mut [usize],
    u: usize,
    sink: usize,
    limit: f64,
    eps: f64,
) -> f64 {
    if u == sink {
        return limit;
    }
    while next[u] < g[u].len() {
        let (v, cap, rev) = g[u][next[u]];
        if cap > eps && level[v] == level[u] + 1 {
            let got = push(g, level, next, v, sink, limit.min(cap), eps);
            if got > eps {
                g[u][next[u]].1 -= got;
                g[v][rev].1 += got;
                return got;
            }
        }
        next[u] += 1;
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_example() {
        // s=0, t=5; CLRS-style network with max flow 23.
        let mut n = FlowNetwork::new(6);
        for (a, b, c) in [
            (0, 1, 16.0),
            (0, 2, 13.0),
            (1, 2, 10.0),
            (2, 1, 4.0),
            (1, 3, 12.0),
            (3, 2, 9.0),
            (2, 4, 14.0),
            (4, 3, 7.0),
            (3, 5, 20.0),
            (4, 5, 4.0),
        ] {
            n.add_edge(a, b, c);
        }
        assert!((max_flow(&n, 0, 5) - 23.0).abs() < 1e-9);
        assert_eq!(max_flow(&n, 5, 0), 0.0);
    }
}

#[cfg(test)]
mod properties {
    use super::*;

    /// SplitMix64, for reproducible random networks.
    fn rng(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    #[test]
    fn removing_a_node_never_increases_the_flow() {
        for seed in 0..200u64 {
            let mut s = seed;
            let n = 4 + (rng(&mut s) % 12) as usize;
            let edges: Vec<(usize, usize, f64)> = (0..(rng(&mut s) % 40) as usize)
                .map(|_| {
                    (
                        (rng(&mut s) % n as u64) as usize,
                        (rng(&mut s) % n as u64) as usize,
                        (rng(&mut s) % 100) as f64,
                    )
                })
                .collect();
            let build = |removed: Option<usize>| {
                let mut g = FlowNetwork::new(n);
                for &(a, b, c) in &edges {
                    if Some(a) != removed && Some(b) != removed {
                        g.add_edge(a, b, c);
                    }
                }
                g
            };
            let base = max_flow(&build(None), 0, n - 1);
            let out_of_source: f64 = edges
                .iter()
                .filter(|e| e.0 == 0 && e.1 != 0)
                .map(|e| e.2)
                .sum();
            assert!(
                base <= out_of_source + 1e-9,
                "seed {seed}: flow exceeds the source's capacity"
            );
            for r in 1..n - 1 {
                let after = max_flow(&build(Some(r)), 0, n - 1);
                assert!(
                    after <= base + 1e-9,
                    "seed {seed}: removing node {r} raised the flow from {base} to {after}"
                );
            }
        }
    }
}
