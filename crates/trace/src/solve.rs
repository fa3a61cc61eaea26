//! The mass-balance solver: strongly connected components upstream-first, loops solved exactly.

use crate::network::{Flow, Network, NetworkError};

/// Tags are propagated in chunks of this many, one chunk per thread; rows are padded to it so the
/// inner loop has a fixed width the compiler can vectorise.
pub const CHUNK: usize = 8;

/// How many nodes ahead the node-major gather starts loading a node's rows.
const NODE_MAJOR_AHEAD: usize = 16;

/// How many positions ahead re-indexing starts loading a position's edges (see `build_in`).
const REINDEX_AHEAD: usize = 16;

/// Loops up to this many nodes are solved by dense LU; larger ones by Gauss–Seidel iteration.
const LU_MAX: usize = 400;

/// The right-hand sides a propagation starts from.
#[derive(Debug, Clone, Copy)]
enum Seed<'a> {
    /// A row-major `n × k` matrix by node.
    Rows(&'a [f64]),
    /// The network's additions per unit of output (the content of [`right_hand_sides`]).
    Additions(&'a Network),
}

/// A loop (non-trivial strongly connected component, or a node that ships to itself).
#[derive(Debug, Clone)]
struct Loop {
    /// First position of the loop in the topological order; its positions are contiguous.
    start: usize,
    /// Number of nodes.
    len: usize,
    /// LU factors of `I − A_SS` (row-major, len×len) and row pivots, for small loops.
    lu: Option<(Vec<f64>, Vec<usize>)>,
}

/// The network's structure prepared for propagation: reusable for any number of right-hand sides
/// (content, value, unpriced content) and for explanations.
#[derive(Debug, Clone)]
pub struct Structure {
    n: usize,
    /// Node at each position (upstream components first).
    order: Vec<u32>,
    /// Position of each node.
    pos: Vec<u32>,
    /// Incoming edges by position: CSR pointers.
    in_ptr: Vec<usize>,
    /// Source position of each incoming edge.
    in_src: Vec<u32>,
    /// `A[i][j] = Z[i][j] / x[j]` of each incoming edge.
    in_w: Vec<f64>,
    /// Loop index of each position, or `u32::MAX` for a node outside loops.
    loop_at: Vec<u32>,
    loops: Vec<Loop>,
}

/// The phases of [`Structure::build`], in the order they run: [`Structure::build_observed`]
/// reports the end of each, so that a caller can time them (the engine reads no clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildPhase {
    /// Counting each node's incoming flows.
    Count,
    /// Laying out the incoming edges by node (random writes).
    Layout,
    /// Tarjan's strongly connected components, upstream first.
    Tarjan,
    /// Re-indexing the edges by position.
    Reindex,
    /// Finding the loops, checking them for leaks and factorising the small ones.
    Loops,
}

impl BuildPhase {
    /// Every phase, in the order they run.
    pub const ALL: [BuildPhase; 5] = [
        BuildPhase::Count,
        BuildPhase::Layout,
        BuildPhase::Tarjan,
        BuildPhase::Reindex,
        BuildPhase::Loops,
    ];

    /// The phase's name in reports (`trace --summary`'s `phase_seconds`).
    pub fn name(self) -> &'static str {
        match self {
            BuildPhase::Count => "count",
            BuildPhase::Layout => "layout",
            BuildPhase::Tarjan => "tarjan",
            BuildPhase::Reindex => "reindex",
            BuildPhase::Loops => "loops",
        }
    }
}

/// The cores this process may use.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |t| t.get())
}

/// Threads for a job of `items` items: one below 65,536 items, where starting threads costs more
/// than it saves; every core above.
fn threads_for(items: usize) -> usize {
    if items < 1 << 16 { 1 } else { cores() }
}

/// `slice` cut at `bounds` (the first 0, the last `slice.len()`, non-decreasing) into
/// `bounds.len() - 1` disjoint pieces, for threads to fill side by side.
fn split_at_bounds<'a, T>(mut slice: &'a mut [T], bounds: &[usize]) -> Vec<&'a mut [T]> {
    let mut pieces = Vec::with_capacity(bounds.len().saturating_sub(1));
    for pair in bounds.windows(2) {
        let (piece, rest) = slice.split_at_mut(pair[1] - pair[0]);
        pieces.push(piece);
        slice = rest;
    }
    pieces
}

impl Structure {
    /// Orders the network's components upstream-first and factorises its loops. Fails on a loop
    /// that no output leaves.
    pub fn build(net: &Network) -> Result<Structure, NetworkError> {
        Structure::build_observed(net, &mut |_| {})
    }

    /// `build`, calling `ended` as each phase ends (in [`BuildPhase::ALL`]'s order; a build that
    /// fails stops reporting where it fails).
    pub fn build_observed(
        net: &Network,
        ended: &mut dyn FnMut(BuildPhase),
    ) -> Result<Structure, NetworkError> {
        Structure::build_in(net, threads_for(net.flows.len()), ended)
    }

    /// `build_observed`, with the edges laid out by `parts` threads.
    fn build_in(
        net: &Network,
        parts: usize,
        ended: &mut dyn FnMut(BuildPhase),
    ) -> Result<Structure, NetworkError> {
        let n = net.len();
        // Each thread re-indexes one range of positions (the edges' layout splits its work its
        // own way, `lay_out_edges`): the writes are random and memory-bound, so two cores make
        // them nearly twice as fast. Each node's edges stay in file order whatever the number
        // of threads, so the sums of propagation do not depend on it.
        let node_bounds: Vec<usize> = (0..=parts).map(|t| n * t / parts).collect();
        // Incoming adjacency by node (several flows between a pair simply add up later).
        let shares: Vec<&[Flow]> = (0..parts)
            .map(|t| &net.flows[net.flows.len() * t / parts..net.flows.len() * (t + 1) / parts])
            .collect();
        let counts = count_edges(&shares, n);
        let m = counts.in_ptr[n];
        ended(BuildPhase::Count);
        let (src, w) = lay_out_edges(net, &shares, &counts);
        let in_ptr = counts.in_ptr;
        ended(BuildPhase::Layout);
        let (order, comp_start) = tarjan(n, &in_ptr, &src);
        ended(BuildPhase::Tarjan);
        let mut pos = vec![0u32; n];
        for (p, &v) in order.iter().enumerate() {
            pos[v as usize] = p as u32;
        }
        // Re-index by position so propagation writes sequentially and reads upstream rows.
        let mut p_ptr = vec![0usize; n + 1];
        for p in 0..n {
            let v = order[p] as usize;
            p_ptr[p + 1] = p_ptr[p] + (in_ptr[v + 1] - in_ptr[v]);
        }
        let mut p_src = vec![0u32; m];
        let mut p_w = vec![0f64; m];
        let pos_bounds: Vec<usize> = node_bounds.iter().map(|&b| p_ptr[b]).collect();
        std::thread::scope(|scope| {
            let srcs = split_at_bounds(&mut p_src, &pos_bounds);
            let ws = split_at_bounds(&mut p_w, &pos_bounds);
            for (t, (p_src, p_w)) in srcs.into_iter().zip(ws).enumerate() {
                let (lo, hi) = (node_bounds[t], node_bounds[t + 1]);
                let (order, pos, in_ptr, src, w, p_ptr) = (&order, &pos, &in_ptr, &src, &w, &p_ptr);
                scope.spawn(move || {
                    let base0 = p_ptr[lo];
                    for p in lo..hi {
                        // Each position's reads hang on the one before (its node, then where
                        // its edges start, then the edges, then their suppliers' positions):
                        // start them a few positions early so that their misses overlap.
                        if let Some(&u) = order.get(p + 2 * REINDEX_AHEAD) {
                            crate::hint::prefetch(in_ptr, u as usize);
                        }
                        if let Some(&u) = order.get(p + REINDEX_AHEAD) {
                            let e = in_ptr[u as usize];
                            crate::hint::prefetch(src, e);
                            crate::hint::prefetch(w, e);
                        }
                        if let Some(&u) = order.get(p + REINDEX_AHEAD / 2) {
                            let u = u as usize;
                            for &i in &src[in_ptr[u]..in_ptr[u + 1]] {
                                crate::hint::prefetch(pos, i as usize);
                            }
                        }
                        let v = order[p] as usize;
                        let base = p_ptr[p] - base0;
                        for (k, e) in (in_ptr[v]..in_ptr[v + 1]).enumerate() {
                            p_src[base + k] = pos[src[e] as usize];
                            p_w[base + k] = w[e];
                        }
                    }
                });
            }
        });
        drop((in_ptr, src, w));
        ended(BuildPhase::Reindex);
        let mut s = Structure {
            n,
            order,
            pos,
            in_ptr: p_ptr,
            in_src: p_src,
            in_w: p_w,
            loop_at: vec![u32::MAX; n],
            loops: Vec::new(),
        };
        for c in 0..comp_start.len() - 1 {
            let (start, end) = (comp_start[c], comp_start[c + 1]);
            let len = end - start;
            let self_loop = len == 1 && s.edges(start).any(|(i, _)| i == start);
            if len > 1 || self_loop {
                let idx = s.loops.len() as u32;
                for p in start..end {
                    s.loop_at[p] = idx;
                }
                s.loops.push(Loop {
                    start,
                    len,
                    lu: None,
                });
            }
        }
        for l in 0..s.loops.len() {
            s.check_leak(net, l)?;
            let lp = &s.loops[l];
            if lp.len <= LU_MAX {
                let lu = s.factorise(lp.start, lp.len);
                s.loops[l].lu = Some(lu);
            }
        }
        ended(BuildPhase::Loops);
        Ok(s)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True if the network has no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Number of loops (strongly connected components with a cycle).
    pub fn loop_count(&self) -> usize {
        self.loops.len()
    }

    /// Number of nodes on loops.
    pub fn nodes_on_loops(&self) -> usize {
        self.loops.iter().map(|l| l.len).sum()
    }

    /// Incoming edges of the node at position `p`: (source position, A weight).
    fn edges(&self, p: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        (self.in_ptr[p]..self.in_ptr[p + 1]).map(move |e| (self.in_src[e] as usize, self.in_w[e]))
    }

    /// Incoming edges of node `node`: (source node, `A` weight = flow / node output).
    pub fn incoming(&self, node: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let p = self.pos[node] as usize;
        self.edges(p).map(move |(s, a)| (self.order[s] as usize, a))
    }

    fn check_leak(&self, net: &Network, l: usize) -> Result<(), NetworkError> {
        let lp = &self.loops[l];
        let range = lp.start..lp.start + lp.len;
        let total: f64 = range
            .clone()
            .map(|p| net.output[self.order[p] as usize])
            .sum();
        let mut inside = 0.0;
        for p in range.clone() {
            let x = net.output[self.order[p] as usize];
            for (i, a) in self.edges(p) {
                if range.contains(&i) {
                    inside += a * x;
                }
            }
        }
        if total - inside > 1e-12 * total {
            return Ok(());
        }
        let nodes: Vec<String> = range
            .clone()
            .map(|p| net.node_name(self.order[p] as usize))
            .collect();
        // Name one concrete cycle: walk upstream inside the loop until a node repeats.
        let mut seen = vec![usize::MAX; lp.len];
        let mut walk = vec![lp.start];
        let mut cur = lp.start;
        seen[0] = 0;
        loop {
            let Some((next, _)) = self.edges(cur).find(|(i, _)| range.contains(i)) else {
                break;
            };
            let k = next - lp.start;
            if seen[k] != usize::MAX {
                let mut cycle: Vec<String> = walk[seen[k]..]
                    .iter()
                    .rev()
                    .map(|&p| net.node_name(self.order[p] as usize))
                    .collect();
                cycle.push(cycle[0].clone());
                return Err(NetworkError::ClosedLoop { nodes, cycle });
            }
            seen[k] = walk.len();
            walk.push(next);
            cur = next;
        }
        Err(NetworkError::ClosedLoop {
            cycle: nodes.clone(),
            nodes,
        })
    }

    /// LU factorisation with partial pivoting of `M = I − A_SS` for the loop at `start..start+len`,
    /// where row r is the equation of position start+r: m_r − Σ_c A[c→r] m_c = b_r.
    fn factorise(&self, start: usize, len: usize) -> (Vec<f64>, Vec<usize>) {
        let mut a = vec![0.0; len * len];
        for r in 0..len {
            a[r * len + r] = 1.0;
            for (i, w) in self.edges(start + r) {
                if (start..start + len).contains(&i) {
                    a[r * len + (i - start)] -= w;
                }
            }
        }
        let mut piv: Vec<usize> = (0..len).collect();
        for k in 0..len {
            let mut best = k;
            for r in k + 1..len {
                if a[r * len + k].abs() > a[best * len + k].abs() {
                    best = r;
                }
            }
            if best != k {
                for c in 0..len {
                    a.swap(k * len + c, best * len + c);
                }
                piv.swap(k, best);
            }
            let d = a[k * len + k];
            if d == 0.0 {
                continue; // singular only for closed loops, rejected before
            }
            for r in k + 1..len {
                let f = a[r * len + k] / d;
                if f != 0.0 {
                    a[r * len + k] = f;
                    for c in k + 1..len {
                        a[r * len + c] -= f * a[k * len + c];
                    }
                }
            }
        }
        (a, piv)
    }

    /// Solves `m = b + m·A` for `k` right-hand sides given as a row-major `n × k` matrix in node
    /// order, returning `m` in the same layout.
    pub fn propagate(&self, b: &[f64], k: usize) -> Result<Vec<f64>, NetworkError> {
        self.propagate_seeded(Seed::Rows(b), k)
    }

    /// The content `net`'s additions put into the network: `propagate` of
    /// [`right_hand_sides`]`(net).content`, to the last bit, without building that `n × k`
    /// matrix (each chunk's rows start from the additions, placed by position).
    pub fn propagate_additions(&self, net: &Network) -> Result<Vec<f64>, NetworkError> {
        self.propagate_seeded(Seed::Additions(net), net.tags.len())
    }

    fn propagate_seeded(&self, seed: Seed<'_>, k: usize) -> Result<Vec<f64>, NetworkError> {
        let n = self.n;
        let chunks = k.div_ceil(CHUNK).max(1);
        let threads = cores().min(chunks);
        let mut results: Vec<Option<Result<Vec<f64>, NetworkError>>> =
            (0..chunks).map(|_| None).collect();
        std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for t in 0..threads {
                handles.push(scope.spawn(move || {
                    let mut out = Vec::new();
                    for c in (t..chunks).step_by(threads) {
                        out.push((c, self.propagate_chunk(seed, k, c)));
                    }
                    out
                }));
            }
            for h in handles {
                // A panic in a worker is a bug; surface it as one rather than hiding it.
                for (c, r) in h.join().expect("propagation worker panicked") {
                    results[c] = Some(r);
                }
            }
        });
        let blocks = results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Ok(vec![0.0; n * CHUNK])))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.node_major(&blocks, k))
    }

    /// Blocks of CHUNK tags by position, as one row-major `n × k` matrix by node: each thread
    /// writes a range of nodes in order, gathering their rows from the blocks.
    fn node_major(&self, blocks: &[Vec<f64>], k: usize) -> Vec<f64> {
        self.node_major_in(blocks, k, threads_for(self.n * k))
    }

    /// `node_major` on `threads` threads.
    fn node_major_in(&self, blocks: &[Vec<f64>], k: usize, threads: usize) -> Vec<f64> {
        let n = self.n;
        let mut m = vec![0.0; n * k];
        if k == 0 || n == 0 {
            return m;
        }
        let rows = n.div_ceil(threads);
        std::thread::scope(|scope| {
            for (t, part) in m.chunks_mut(rows * k).enumerate() {
                scope.spawn(move || {
                    let first = t * rows;
                    for (r, row) in part.chunks_mut(k).enumerate() {
                        // The rows are read at random: start loading one some nodes ahead.
                        if let Some(&ahead) = self.pos.get(first + r + NODE_MAJOR_AHEAD) {
                            for chunk in blocks {
                                crate::hint::prefetch(chunk, ahead as usize * CHUNK);
                            }
                        }
                        let p = self.pos[first + r] as usize;
                        for (c, chunk) in blocks.iter().enumerate() {
                            let t0 = c * CHUNK;
                            let width = CHUNK.min(k - t0.min(k));
                            row[t0..t0 + width]
                                .copy_from_slice(&chunk[p * CHUNK..p * CHUNK + width]);
                        }
                    }
                });
            }
        });
        m
    }

    /// One chunk of up to CHUNK tags, in position order.
    fn propagate_chunk(
        &self,
        seed: Seed<'_>,
        k: usize,
        chunk: usize,
    ) -> Result<Vec<f64>, NetworkError> {
        // The additions are placed at random: take the rows' pages in order first.
        let mut m: Vec<f64> = crate::hint::filled_in_order(self.n * CHUNK);
        let mut p = 0;
        match seed {
            Seed::Rows(b) => {
                let rhs = |p: usize, _: &[f64]| self.chunk_rhs(b, k, chunk, p);
                while p < self.n {
                    p = self.solve_unit_chunk(p, &mut m, &rhs)?;
                }
            }
            Seed::Additions(net) => {
                // Each row holds its node's additions until the node is solved; the sums are
                // those of `right_hand_sides`, in the same order.
                let t0 = chunk * CHUNK;
                for a in &net.additions {
                    let t = a.tag as usize;
                    if (t0..t0 + CHUNK).contains(&t) {
                        let j = a.node as usize;
                        m[self.pos[j] as usize * CHUNK + t - t0] += per_output(net, j, a.amount);
                    }
                }
                let rhs = |p: usize, m: &[f64]| {
                    let mut r = [0.0; CHUNK];
                    r.copy_from_slice(&m[p * CHUNK..(p + 1) * CHUNK]);
                    r
                };
                while p < self.n {
                    p = self.solve_unit_chunk(p, &mut m, &rhs)?;
                }
            }
        }
        Ok(m)
    }

    /// Tags `chunk·CHUNK..` of the right-hand side of the node at position `p`, padded with 0.
    #[inline]
    fn chunk_rhs(&self, b: &[f64], k: usize, chunk: usize, p: usize) -> [f64; CHUNK] {
        let t0 = chunk * CHUNK;
        let width = CHUNK.min(k.saturating_sub(t0));
        let mut r = [0.0; CHUNK];
        let v = self.order[p] as usize;
        r[..width].copy_from_slice(&b[v * k + t0..v * k + t0 + width]);
        r
    }

    /// Solves the unit (a node outside loops, or a whole loop) that starts at position `p`, for
    /// one chunk of tags, from its suppliers' rows of `m` (positions × CHUNK); returns the
    /// position after it.
    #[inline]
    fn solve_unit_chunk<R: Fn(usize, &[f64]) -> [f64; CHUNK]>(
        &self,
        p: usize,
        m: &mut [f64],
        rhs: &R,
    ) -> Result<usize, NetworkError> {
        let l = self.loop_at[p];
        if l == u32::MAX {
            let mut acc = rhs(p, m);
            for e in self.in_ptr[p]..self.in_ptr[p + 1] {
                let i = self.in_src[e] as usize;
                let a = self.in_w[e];
                let row = &m[i * CHUNK..i * CHUNK + CHUNK];
                for t in 0..CHUNK {
                    acc[t] += a * row[t];
                }
            }
            m[p * CHUNK..p * CHUNK + CHUNK].copy_from_slice(&acc);
            Ok(p + 1)
        } else {
            let lp = &self.loops[l as usize];
            self.solve_loop(lp, m, rhs)?;
            Ok(lp.start + lp.len)
        }
    }

    fn solve_loop(
        &self,
        lp: &Loop,
        m: &mut [f64],
        rhs: &dyn Fn(usize, &[f64]) -> [f64; CHUNK],
    ) -> Result<(), NetworkError> {
        let (start, len) = (lp.start, lp.len);
        let inside = start..start + len;
        // b_S: own additions plus everything flowing in from outside the loop.
        let mut bs = vec![0.0; len * CHUNK];
        for r in 0..len {
            let mut acc = rhs(start + r, m);
            for (i, a) in self.edges(start + r) {
                if !inside.contains(&i) {
                    for t in 0..CHUNK {
                        acc[t] += a * m[i * CHUNK + t];
                    }
                }
            }
            bs[r * CHUNK..r * CHUNK + CHUNK].copy_from_slice(&acc);
        }
        match &lp.lu {
            Some((lu, piv)) => {
                for t in 0..CHUNK {
                    // Forward substitution with the row permutation, then back substitution.
                    let mut y: Vec<f64> = piv.iter().map(|&r| bs[r * CHUNK + t]).collect();
                    for r in 0..len {
                        let mut s = y[r];
                        for c in 0..r {
                            s -= lu[r * len + c] * y[c];
                        }
                        y[r] = s;
                    }
                    for r in (0..len).rev() {
                        let mut s = y[r];
                        for c in r + 1..len {
                            s -= lu[r * len + c] * y[c];
                        }
                        y[r] = s / lu[r * len + r];
                    }
                    for r in 0..len {
                        m[(start + r) * CHUNK + t] = y[r];
                    }
                }
            }
            None => {
                // Gauss–Seidel: converges because the loop leaks (checked when building).
                for r in 0..len {
                    m[(start + r) * CHUNK..(start + r + 1) * CHUNK]
                        .copy_from_slice(&bs[r * CHUNK..(r + 1) * CHUNK]);
                }
                let mut converged = false;
                for _ in 0..100_000 {
                    let mut delta = 0.0f64;
                    let mut scale = 0.0f64;
                    for r in 0..len {
                        let p = start + r;
                        let mut acc = [0.0; CHUNK];
                        acc.copy_from_slice(&bs[r * CHUNK..(r + 1) * CHUNK]);
                        for (i, a) in self.edges(p) {
                            if inside.contains(&i) {
                                for t in 0..CHUNK {
                                    acc[t] += a * m[i * CHUNK + t];
                                }
                            }
                        }
                        for t in 0..CHUNK {
                            delta = delta.max((acc[t] - m[p * CHUNK + t]).abs());
                            scale = scale.max(acc[t].abs());
                            m[p * CHUNK + t] = acc[t];
                        }
                    }
                    if delta <= 1e-15 * scale {
                        converged = true;
                        break;
                    }
                }
                if !converged {
                    return Err(NetworkError::NotConverged {
                        nodes: len,
                        first: format!("#{}", self.order[start]),
                    });
                }
            }
        }
        Ok(())
    }
}

/// A unit of propagation: one node outside loops, or a whole loop, as a range of positions.
/// Every unit's suppliers outside it sit in earlier units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// First position.
    pub start: usize,
    /// Number of positions (nodes).
    pub len: usize,
}

impl Unit {
    /// The unit's positions.
    pub fn positions(self) -> std::ops::Range<usize> {
        self.start..self.start + self.len
    }
}

/// The structure seen unit by unit, for engines that spread the units over workers
/// (`lodestone-dataflow`): each solves its own units once its suppliers' contents are in.
impl Structure {
    /// The units, upstream-first.
    pub fn units(&self) -> Vec<Unit> {
        let mut units = Vec::new();
        let mut p = 0;
        while p < self.n {
            let len = match self.loop_at[p] {
                u32::MAX => 1,
                l => self.loops[l as usize].len,
            };
            units.push(Unit { start: p, len });
            p += len;
        }
        units
    }

    /// The node at position `p`.
    pub fn node_at(&self, p: usize) -> usize {
        self.order[p] as usize
    }

    /// The positions outside `unit` that supply it, once per flow.
    pub fn suppliers(&self, unit: Unit) -> impl Iterator<Item = usize> + '_ {
        unit.positions()
            .flat_map(move |p| self.edges(p).map(|(i, _)| i))
            .filter(move |i| !unit.positions().contains(i))
    }

    /// The level of each unit of [`Structure::units`]: 0 without suppliers outside it, else one
    /// more than its highest supplier's. Units of one level depend only on lower levels.
    pub fn unit_levels(&self, units: &[Unit]) -> Vec<u32> {
        let mut level_at = vec![0u32; self.n];
        let mut levels = Vec::with_capacity(units.len());
        for &u in units {
            let level = self
                .suppliers(u)
                .map(|i| level_at[i] + 1)
                .max()
                .unwrap_or(0);
            for p in u.positions() {
                level_at[p] = level;
            }
            levels.push(level);
        }
        levels
    }
}

/// Contents by position for `k` right-hand sides, filled one unit at a time: by solving units
/// (whose suppliers must be in) or by setting the rows another worker solved. The arithmetic of
/// each unit is that of [`Structure::propagate`], in the same order, so the results are the same
/// to the last bit whatever the units' distribution.
#[derive(Debug, Clone)]
pub struct UnitSolver {
    k: usize,
    /// Per chunk of CHUNK tags: positions × CHUNK.
    blocks: Vec<Vec<f64>>,
}

impl UnitSolver {
    /// An empty solver for `s` and `k` right-hand sides.
    pub fn new(s: &Structure, k: usize) -> UnitSolver {
        UnitSolver {
            k,
            blocks: vec![vec![0.0; s.n * CHUNK]; k.div_ceil(CHUNK).max(1)],
        }
    }

    /// Solves `unit` with the right-hand sides `b` (row-major `n × k` by node).
    pub fn solve(&mut self, s: &Structure, b: &[f64], unit: Unit) -> Result<(), NetworkError> {
        let k = self.k;
        for (c, block) in self.blocks.iter_mut().enumerate() {
            let rhs = |p: usize, _: &[f64]| s.chunk_rhs(b, k, c, p);
            s.solve_unit_chunk(unit.start, block, &rhs)?;
        }
        Ok(())
    }

    /// Number of blocks of [`CHUNK`] right-hand sides.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Block `b` (right-hand sides `b·CHUNK..`, padded with 0) of the node at position `p`.
    pub fn block(&self, p: usize, b: usize) -> [f64; CHUNK] {
        let mut out = [0.0; CHUNK];
        out.copy_from_slice(&self.blocks[b][p * CHUNK..(p + 1) * CHUNK]);
        out
    }

    /// Sets block `b` of the node at position `p` (solved elsewhere).
    pub fn set_block(&mut self, p: usize, b: usize, values: &[f64; CHUNK]) {
        self.blocks[b][p * CHUNK..(p + 1) * CHUNK].copy_from_slice(values);
    }

    /// The contents as a row-major `n × k` matrix by node, as [`Structure::propagate`] returns.
    pub fn to_node_major(&self, s: &Structure) -> Vec<f64> {
        s.node_major(&self.blocks, self.k)
    }
}

/// The incoming edges of every node (flows of positive quantity), laid out by node in
/// `in_ptr`'s order, each node's in file order: the supplier and the share
/// `quantity / output` of each edge. Written at random, the edges of a large network miss the
/// caches on nearly every write; so the flows are first partitioned by their receiver into
/// buckets of consecutive nodes (each share of the flows on its own thread, written in order
/// into its part of each bucket), then each bucket's edges, few enough for its cursors and its
/// stretch of the output to stay in the L2 cache, are laid out on their own.
fn lay_out_edges(net: &Network, shares: &[&[Flow]], counts: &EdgeCounts) -> (Vec<u32>, Vec<f64>) {
    let n = net.len();
    let (in_ptr, shift, parts) = (&counts.in_ptr[..], counts.shift, shares.len());
    let m = in_ptr[n];
    let buckets = counts.by_bucket[0].len();
    let first_edge = |b: usize| in_ptr[(b << shift).min(n)];
    // The flows by bucket, and within a bucket by share: so each bucket's flows are in file
    // order, and bucket b's stretch is that of its nodes' edges, from `first_edge(b)`.
    // Two arrays of zeros (their pages taken as the threads write them, in parallel): each
    // flow's supplier and receiver in one word, and its quantity.
    let mut staged_ends = vec![0u64; m];
    let mut staged_quantity = vec![0f64; m];
    let mut mine: Vec<Vec<(&mut [u64], &mut [f64])>> =
        (0..parts).map(|_| Vec::with_capacity(buckets)).collect();
    let (mut ends_left, mut quantity_left) = (&mut staged_ends[..], &mut staged_quantity[..]);
    for b in 0..buckets {
        for t in 0..parts {
            let (ends, ends_after) = ends_left.split_at_mut(counts.by_bucket[t][b]);
            let (quantity, quantity_after) = quantity_left.split_at_mut(counts.by_bucket[t][b]);
            mine[t].push((ends, quantity));
            (ends_left, quantity_left) = (ends_after, quantity_after);
        }
    }
    std::thread::scope(|scope| {
        for (share, mut pieces) in shares.iter().zip(mine) {
            scope.spawn(move || {
                let mut fill = vec![0usize; buckets];
                for f in share.iter().filter(|f| f.quantity > 0.0) {
                    let b = (f.to >> shift) as usize;
                    let (ends, quantity) = &mut pieces[b];
                    ends[fill[b]] = (u64::from(f.from) << 32) | u64::from(f.to);
                    quantity[fill[b]] = f.quantity;
                    fill[b] += 1;
                }
            });
        }
    });
    // Each thread lays out a run of buckets holding about its part of the edges.
    let mut bucket_bounds: Vec<usize> = (0..=parts)
        .map(|t| {
            (0..buckets)
                .find(|&b| first_edge(b) >= m * t / parts)
                .unwrap_or(buckets)
        })
        .collect();
    // The last thread takes the buckets left, with or without edges.
    bucket_bounds[parts] = buckets;
    let edge_bounds: Vec<usize> = bucket_bounds.iter().map(|&b| first_edge(b)).collect();
    let mut src = vec![0u32; m];
    let mut w = vec![0f64; m];
    std::thread::scope(|scope| {
        let srcs = split_at_bounds(&mut src, &edge_bounds);
        let ws = split_at_bounds(&mut w, &edge_bounds);
        for (t, (src, w)) in srcs.into_iter().zip(ws).enumerate() {
            let (ends, quantity, base) = (&staged_ends, &staged_quantity, edge_bounds[t]);
            let run = bucket_bounds[t]..bucket_bounds[t + 1];
            scope.spawn(move || {
                let mut fill = Vec::with_capacity(1 << shift);
                for b in run {
                    let (lo, hi) = (b << shift, ((b + 1) << shift).min(n));
                    fill.clear();
                    fill.extend(in_ptr[lo..hi].iter().map(|&e| e - base));
                    let stretch = in_ptr[lo]..in_ptr[hi];
                    for (&ends, &q) in ends[stretch.clone()].iter().zip(&quantity[stretch]) {
                        let j = (ends & u64::from(u32::MAX)) as usize;
                        let e = fill[j - lo];
                        fill[j - lo] += 1;
                        src[e] = (ends >> 32) as u32;
                        w[e] = q / net.output[j];
                    }
                }
            });
        }
    });
    (src, w)
}

/// The edges (flows of positive quantity) counted once, by the threads that lay them out.
struct EdgeCounts {
    /// Where each node's edges start (CSR pointers, `n + 1`).
    in_ptr: Vec<usize>,
    /// Nodes per bucket of the edge layout, as a power of two.
    shift: u32,
    /// Each share's count of edges into each bucket of `1 << shift` consecutive nodes.
    by_bucket: Vec<Vec<usize>>,
}

/// Counts each share's edges by receiver, each share on its own thread into its own counts
/// (no thread branches on which node a flow goes to), then sums them into `in_ptr` and, by
/// bucket, for `lay_out_edges`.
fn count_edges(shares: &[&[Flow]], n: usize) -> EdgeCounts {
    // 32-bit counts halve the counts' cache footprint; a node cannot have more incoming flows
    // than the network has.
    if u32::try_from(shares.iter().map(|s| s.len()).sum::<usize>()).is_ok() {
        sum_counts(counts_by_share::<u32>(shares, n), n)
    } else {
        sum_counts(counts_by_share::<u64>(shares, n), n)
    }
}

/// Each share's count of edges into each node.
fn counts_by_share<C>(shares: &[&[Flow]], n: usize) -> Vec<Vec<C>>
where
    C: Copy + Default + Send + std::ops::AddAssign + From<u8>,
{
    std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .map(|&share| {
                scope.spawn(move || {
                    let mut c = vec![C::default(); n];
                    for f in share {
                        if f.quantity > 0.0 {
                            c[f.to as usize] += C::from(1);
                        }
                    }
                    c
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("in-degree counter panicked"))
            .collect()
    })
}

fn sum_counts<C: Copy + Into<u64>>(counts: Vec<Vec<C>>, n: usize) -> EdgeCounts {
    let mut in_ptr = vec![0usize; n + 1];
    for c in &counts {
        for (total, &k) in in_ptr[1..].iter_mut().zip(c) {
            *total += k.into() as usize;
        }
    }
    for i in 0..n {
        in_ptr[i + 1] += in_ptr[i];
    }
    // About 32k edges a bucket: 384 KB of laid-out edges and its nodes' cursors, in the L2.
    let per_node = (in_ptr[n] / n.max(1)).max(1);
    let shift = (32_768 / per_node)
        .max(1)
        .next_power_of_two()
        .trailing_zeros();
    let buckets = n.div_ceil(1 << shift).max(1);
    let by_bucket = counts
        .iter()
        .map(|c| {
            (0..buckets)
                .map(|b| {
                    let nodes = (b << shift).min(n)..((b + 1) << shift).min(n);
                    c[nodes].iter().map(|&k| k.into() as usize).sum()
                })
                .collect()
        })
        .collect();
    EdgeCounts {
        in_ptr,
        shift,
        by_bucket,
    }
}

/// Iterative Tarjan over incoming edges. Returns the nodes in component order and the start of
/// each component (plus a final sentinel). On the reversed graph Tarjan emits a component only
/// after every component it reaches, i.e. after everything upstream in the flow network, so the
/// order is upstream-first.
fn tarjan(n: usize, in_ptr: &[usize], src: &[u32]) -> (Vec<u32>, Vec<usize>) {
    const UNSEEN: u32 = u32::MAX;
    // A node's component has been emitted: it can no longer lower anyone's low link. Marking
    // this in the index itself (instead of a separate on-stack array) makes each edge one
    // memory read, and keeping index and low link side by side makes each visit one cache
    // line: the walk's reads are random, and on large networks each one is a cache miss.
    const DONE: u32 = u32::MAX - 1;
    // Node indices are 32-bit throughout (flows, positions); the network reader refuses a
    // network with more nodes than that leaves room for.
    debug_assert!(n < DONE as usize);
    // (index, low link) of each node.
    let mut link = vec![(UNSEEN, 0u32); n];
    let mut stack: Vec<u32> = Vec::new();
    let mut calls: Vec<(u32, usize)> = Vec::new();
    let mut order = Vec::with_capacity(n);
    let mut starts = vec![0usize];
    let mut counter = 0u32;
    for root in 0..n {
        if link[root].0 != UNSEEN {
            continue;
        }
        link[root] = (counter, counter);
        counter += 1;
        stack.push(root as u32);
        calls.push((root as u32, in_ptr[root]));
        while let Some(&mut (v, ref mut e)) = calls.last_mut() {
            let v = v as usize;
            if *e < in_ptr[v + 1] {
                let w = src[*e] as usize;
                *e += 1;
                let seen = link[w].0;
                if seen == UNSEEN {
                    link[w] = (counter, counter);
                    counter += 1;
                    stack.push(w as u32);
                    calls.push((w as u32, in_ptr[w]));
                } else if seen != DONE {
                    link[v].1 = link[v].1.min(seen);
                }
            } else {
                calls.pop();
                let (index, low) = link[v];
                if low == index {
                    loop {
                        let w = stack.pop().unwrap_or(v as u32);
                        link[w as usize].0 = DONE;
                        order.push(w);
                        if w as usize == v {
                            break;
                        }
                    }
                    starts.push(order.len());
                }
                if let Some(&(u, _)) = calls.last() {
                    let u = u as usize;
                    link[u].1 = link[u].1.min(low);
                }
            }
        }
    }
    (order, starts)
}

/// Values of tagged content (see the crate documentation for the valuation method).
#[derive(Debug, Clone)]
pub struct ValueTrace {
    /// Origin value of tagged content per unit of each node's output, `n × tags`.
    pub per_unit: Vec<f64>,
    /// Tagged content per unit whose origin had no unit value, `n × tags`.
    pub unpriced_per_unit: Vec<f64>,
}

/// The result of tracing: content of every tag at every node.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Tag names.
    pub tags: Vec<String>,
    /// Output of each node.
    pub output: Vec<f64>,
    /// Unit value of each node's output, if known.
    pub unit_value: Vec<Option<f64>>,
    /// Content per unit of output, row-major `n × tags`.
    pub per_unit: Vec<f64>,
    /// Values, when any node has a unit value.
    pub value: Option<ValueTrace>,
}

impl Trace {
    /// Number of tags.
    pub fn tag_count(&self) -> usize {
        self.tags.len()
    }

    /// Content of `tag` per unit of `node`'s output.
    pub fn per_unit(&self, node: usize, tag: usize) -> f64 {
        self.per_unit[node * self.tags.len() + tag]
    }

    /// Total content of `tag` in `node`'s output.
    pub fn total(&self, node: usize, tag: usize) -> f64 {
        self.per_unit(node, tag) * self.output[node]
    }

    /// Origin value of `tag`'s content per unit of `node`'s output.
    pub fn value_per_unit(&self, node: usize, tag: usize) -> Option<f64> {
        self.value
            .as_ref()
            .map(|v| v.per_unit[node * self.tags.len() + tag])
    }

    /// Origin value of `tag`'s content as a share of `node`'s unit value.
    pub fn value_share(&self, node: usize, tag: usize) -> Option<f64> {
        let p = self.unit_value.get(node).copied().flatten()?;
        let v = self.value_per_unit(node, tag)?;
        (p > 0.0).then(|| v / p)
    }

    /// Share of `tag`'s content at `node` whose origin value is known (1 when all priced).
    pub fn value_coverage(&self, node: usize, tag: usize) -> Option<f64> {
        let v = self.value.as_ref()?;
        let m = self.per_unit(node, tag);
        let u = v.unpriced_per_unit[node * self.tags.len() + tag];
        Some(if m > 0.0 {
            (1.0 - u / m).clamp(0.0, 1.0)
        } else {
            1.0
        })
    }

    /// Content of each tag leaving the network: at each node, the output not shipped to another
    /// node, times its content per unit. Equals the content added, by conservation of mass.
    pub fn content_leaving(&self, net: &Network) -> Vec<f64> {
        let k = self.tags.len();
        let out = net.outflows();
        let mut leaving = vec![0.0; k];
        for (j, &x) in self.output.iter().enumerate() {
            let final_use = (x - out[j]).max(0.0);
            for (t, l) in leaving.iter_mut().enumerate() {
                *l += final_use * self.per_unit[j * k + t];
            }
        }
        leaving
    }
}

/// Traces a network under mass balance (validating it first).
pub fn trace_with(net: &Network) -> Result<Trace, NetworkError> {
    net.validate()?;
    let s = Structure::build(net)?;
    trace_prepared(net, &s)
}

/// Traces a network under the given custody model.
pub fn trace(net: &Network, custody: crate::CustodyModel) -> Result<Trace, NetworkError> {
    match custody {
        crate::CustodyModel::MassBalance => trace_with(net),
        crate::CustodyModel::Segregated => crate::segregate::trace_segregated(net),
    }
}

/// Traces one element of `net`'s content: the trace of [`Network::element_view`]`(share)`,
/// computed from `base` (the structure of `net`) without copying the network or rebuilding the
/// structure: flows are re-weighted in place of the structure's edges (a flow's element quantity
/// is its quantity times its supplier's share), outputs are raised to the element's inflow where
/// that is larger, and the loops are refactorised. The result has the same node indices as
/// `net`; its `output` is the element's.
pub fn trace_element(
    net: &Network,
    base: &Structure,
    share: &[f64],
) -> Result<Trace, NetworkError> {
    let n = base.n;
    if net.len() != n || share.len() != n {
        return Err(NetworkError::BadIndex {
            what: format!(
                "element shares of {} nodes for a network of {} and a structure of {n}",
                share.len(),
                net.len()
            ),
        });
    }
    let share_at: Vec<f64> = base
        .order
        .iter()
        .map(|&j| share[j as usize].clamp(0.0, 1.0))
        .collect();
    let mut s = base.clone();
    let mut output = vec![0.0; n];
    for p in 0..n {
        let j = base.order[p] as usize;
        let x = net.output[j];
        let edges = base.in_ptr[p]..base.in_ptr[p + 1];
        // Element quantity of each incoming flow: A·x (the flow) times the supplier's share.
        let inflow: f64 = edges
            .clone()
            .map(|e| base.in_w[e] * x * share_at[base.in_src[e] as usize])
            .sum();
        let xe = (x * share_at[p]).max(inflow);
        output[j] = xe;
        for e in edges {
            s.in_w[e] = if xe > 0.0 {
                base.in_w[e] * x * share_at[base.in_src[e] as usize] / xe
            } else {
                0.0
            };
        }
    }
    let view = Network {
        node_ids: Vec::new(),
        output,
        unit_value: Vec::new(),
        flows: Vec::new(),
        tags: net.tags.clone(),
        additions: net
            .additions
            .iter()
            .map(|a| crate::network::Addition {
                amount: a.amount
                    * share
                        .get(a.node as usize)
                        .copied()
                        .unwrap_or(0.0)
                        .clamp(0.0, 1.0),
                ..*a
            })
            .collect(),
        lines: Vec::new(),
    };
    for l in 0..s.loops.len() {
        let (start, len) = (s.loops[l].start, s.loops[l].len);
        let total: f64 = (start..start + len)
            .map(|p| view.output[s.order[p] as usize])
            .sum();
        if total > 0.0 {
            s.check_leak(&view, l)?;
        }
        s.loops[l].lu = (len <= LU_MAX).then(|| s.factorise(start, len));
    }
    trace_prepared(&view, &s)
}

/// What a trace propagates: content added per unit of each node's output (`n × k` by node),
/// and, when any node has a unit value, that content valued at its origin (priced) and the part
/// of it without a unit value (unpriced).
#[derive(Debug, Clone)]
pub struct RightHandSides {
    /// Tagged content added per unit of output.
    pub content: Vec<f64>,
    /// (Priced value, unpriced content) per unit of output, when any node is priced.
    pub value: Option<(Vec<f64>, Vec<f64>)>,
}

/// The right-hand sides of `net`'s trace.
pub fn right_hand_sides(net: &Network) -> RightHandSides {
    let (n, k) = (net.len(), net.tags.len());
    // The additions are placed at random: take the matrix's pages in order first.
    let mut b: Vec<f64> = crate::hint::filled_in_order(n * k);
    for a in &net.additions {
        let j = a.node as usize;
        b[j * k + a.tag as usize] += per_output(net, j, a.amount);
    }
    RightHandSides {
        content: b,
        value: value_right_hand_sides(net),
    }
}

/// `amount` added at node `j`, per unit of its output (0 where it has none). Divided rather than
/// multiplied by a reciprocal, so that a node adding all of its output gets exactly 1 per unit.
#[inline]
fn per_output(net: &Network, j: usize, amount: f64) -> f64 {
    if net.output[j] > 0.0 {
        amount / net.output[j]
    } else {
        0.0
    }
}

/// The priced and unpriced right-hand sides (`n × k` by node), when any node has a unit value.
fn value_right_hand_sides(net: &Network) -> Option<(Vec<f64>, Vec<f64>)> {
    let (n, k) = (net.len(), net.tags.len());
    net.unit_value.iter().any(Option::is_some).then(|| {
        let mut bv = vec![0.0; n * k];
        let mut bu = vec![0.0; n * k];
        for a in &net.additions {
            let j = a.node as usize;
            match net.unit_value.get(j).copied().flatten() {
                Some(p) => bv[j * k + a.tag as usize] += per_output(net, j, a.amount) * p,
                None => bu[j * k + a.tag as usize] += per_output(net, j, a.amount),
            }
        }
        (bv, bu)
    })
}

/// A trace of `net` from its solved right-hand sides (see [`right_hand_sides`]): `per_unit`
/// solves the content, `value` the priced and unpriced parts.
pub fn assemble_trace(
    net: &Network,
    per_unit: Vec<f64>,
    value: Option<(Vec<f64>, Vec<f64>)>,
) -> Trace {
    let n = net.len();
    Trace {
        tags: net.tags.clone(),
        output: net.output.clone(),
        unit_value: if net.unit_value.len() == n {
            net.unit_value.clone()
        } else {
            vec![None; n]
        },
        per_unit,
        value: value.map(|(per_unit, unpriced_per_unit)| ValueTrace {
            per_unit,
            unpriced_per_unit,
        }),
    }
}

/// Traces with a prepared [`Structure`] (built from the same network).
pub fn trace_prepared(net: &Network, s: &Structure) -> Result<Trace, NetworkError> {
    let k = net.tags.len();
    let per_unit = s.propagate_additions(net)?;
    let value = match value_right_hand_sides(net) {
        Some((bv, bu)) => Some((s.propagate(&bv, k)?, s.propagate(&bu, k)?)),
        None => None,
    };
    Ok(assemble_trace(net, per_unit, value))
}

#[cfg(test)]
mod parallel_build_tests {
    /// Propagating the additions straight from the network gives the same bits as propagating
    /// the matrix of right-hand sides, with loops (small ones by LU), a chunk half full
    /// (11 tags) and several additions to one node and tag.
    #[test]
    fn additions_propagate_as_the_right_hand_sides_do() {
        let mut net = generate(GenerateOptions {
            nodes: 20_000,
            flows: 150_000,
            tags: 11,
            cycles: 0.05,
            seed: 3,
            values: true,
        });
        let repeated: Vec<_> = net.additions.iter().step_by(5).copied().collect();
        net.additions.extend(repeated);
        let s = Structure::build(&net).unwrap();
        assert!(s.loop_count() > 0);
        let rhs = right_hand_sides(&net);
        let from_rows = s.propagate(&rhs.content, 11).unwrap();
        let from_additions = s.propagate_additions(&net).unwrap();
        assert_eq!(from_rows.len(), 20_000 * 11);
        assert!(from_rows.iter().any(|&x| x > 0.0));
        assert!(
            from_rows
                .iter()
                .zip(&from_additions)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    use super::*;
    use crate::generate::{GenerateOptions, generate};

    /// The edges laid out by one, two or three threads are the same edges in the same order, so
    /// propagation gives bit-identical results (on a network with loops).
    #[test]
    fn threads_change_nothing() {
        let mut net = generate(GenerateOptions {
            nodes: 20_000,
            flows: 120_000,
            tags: 3,
            cycles: 0.05,
            seed: 7,
            values: false,
        });
        // Flows of no quantity are left out of the edges by every phase alike.
        for f in net.flows.iter_mut().step_by(97) {
            f.quantity = 0.0;
        }
        let mut phases = Vec::new();
        let one = Structure::build_in(&net, 1, &mut |p| phases.push(p)).unwrap();
        assert_eq!(phases, BuildPhase::ALL);
        let b: Vec<f64> = (0..net.len() * 3).map(|i| (i % 7) as f64).collect();
        let m1 = one.propagate(&b, 3).unwrap();
        assert!(one.loop_count() > 0);
        for parts in [2, 3] {
            let s = Structure::build_in(&net, parts, &mut |_| {}).unwrap();
            assert_eq!(s.order, one.order);
            assert_eq!(s.in_ptr, one.in_ptr);
            assert_eq!(s.in_src, one.in_src);
            assert_eq!(s.in_w, one.in_w);
            assert_eq!(s.propagate(&b, 3).unwrap(), m1);
        }
        let zero = net.flows.iter().filter(|f| f.quantity == 0.0).count();
        // The gather to node order, on any number of threads, puts each node's rows in place.
        let blocks: Vec<Vec<f64>> = (0..2)
            .map(|c| {
                (0..one.n * CHUNK)
                    .map(|i| (c * 1_000_000 + i) as f64)
                    .collect()
            })
            .collect();
        for threads in [1, 2, 3] {
            let m = one.node_major_in(&blocks, 11, threads);
            for v in 0..one.n {
                let p = one.pos[v] as usize;
                for t in 0..11 {
                    assert_eq!(m[v * 11 + t], blocks[t / CHUNK][p * CHUNK + t % CHUNK]);
                }
            }
        }
        assert!(zero > 1000);
        assert_eq!(one.in_src.len(), net.flows.len() - zero);
    }
}
