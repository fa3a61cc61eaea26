//! What this machine's memory allows the trace engine: the costs of the accesses it makes,
//! measured on their own, and the time each phase of a trace would take at those costs.
//!
//!     cargo run --release -p lodestone-trace --example memory_model
//!     cargo run --release -p lodestone-trace --example memory_model -- 250000 1000000 4000000
//!
//! The arguments are node counts (default 250k, 1M and 4M); every network has 10 flows per node
//! and 16 tags, as in `bench/run.sh`. Each primitive runs on arrays of the size the engine's own
//! arrays have at that node count, with indices drawn uniformly (the generated networks join
//! random nodes), on 4 KiB pages, and is timed best of three:
//!
//! * `stream`: reading a 512 MiB array in order, on one and two cores (GB/s);
//! * `chase`: dependent random reads (each address comes from the previous read), the latency;
//! * `gather`: independent random reads of 8- or 64-byte rows whose indices are read in order,
//!   as propagation reads its suppliers' rows and Tarjan its neighbours' links;
//! * `scatter`: independent random writes of a 4-byte and an 8-byte value at one index, as the
//!   structure's edge layout writes each flow's supplier and share;
//! * `increment`: random read-modify-writes of 8-byte counters, as counting in-degrees does;
//! * `first touch`: the first write to each page of a fresh allocation.
//!
//! The model time of a phase counts its random accesses at the measured cost of one, its ordered
//! reads at the measured bandwidth (the larger of the two, as they overlap) and its fresh pages.
//! It is an estimate of a memory-bound phase, not a proven bound: accesses that hit in cache more
//! often than uniform ones, or overlap better, make a phase faster than its model.
//! BENCHMARKS.md ("What the machine allows") sets the model beside the phases' measured times.
use lodestone_trace::generate::Rng;
use std::hint::black_box;
use std::time::Instant;

const FLOWS_PER_NODE: usize = 10;
/// Tags propagated together by one core (the engine's `CHUNK`): one 64-byte row per node.
const CHUNK: usize = 8;

fn main() {
    let nodes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse().unwrap_or_else(|_| {
                eprintln!("error: `{a}` is not a node count; give node counts such as 1000000");
                std::process::exit(2)
            })
        })
        .collect();
    let nodes = if nodes.is_empty() {
        vec![250_000, 1_000_000, 4_000_000]
    } else {
        nodes
    };
    let mut rng = Rng::new(1);

    let stream_1 = stream_gbs(512 << 20, 1);
    let stream_2 = stream_gbs(512 << 20, 2);
    println!(
        "stream (512 MiB read in order): {stream_1:.1} GB/s on 1 core, {stream_2:.1} GB/s on 2"
    );
    print!("chase (dependent random reads, one 64-byte line each):");
    for mib in [1usize, 4, 16, 64, 256, 1024] {
        print!(" {mib} MiB {:.0} ns;", chase_ns(mib << 20, &mut rng));
    }
    let first_touch = first_touch_ns(256 << 20, 1, None);
    println!("\nfirst write to a fresh 4 KiB page, ns per page:");
    for threads in [1, 2] {
        println!(
            "  {threads} core(s), each its own 64 MiB: {:.0} in order, {:.0} in random order",
            first_touch_ns(64 << 20, threads, None),
            first_touch_ns(64 << 20, threads, Some(&mut rng))
        );
    }
    println!();
    println!(
        "ns per access at each size (gathers and scatters independent, indices read in order):"
    );
    println!(
        "{:>9} | {:>13} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9}",
        "nodes",
        "row 1/2 cores",
        "link",
        "position",
        "edge run",
        "scatter",
        "increment",
        "chase 8n",
        "chase 4m"
    );
    let mut all = Vec::new();
    for &n in &nodes {
        let m = n * FLOWS_PER_NODE;
        let costs = Costs {
            stream_2,
            first_touch,
            row_1: gather_ns::<Line>(n, m, 1, &mut rng),
            row_2: gather_ns::<Line>(n, m, 2, &mut rng),
            link: gather_ns::<f64>(n, m, 1, &mut rng),
            pos: gather_ns::<f64>(n / 2, m, 1, &mut rng),
            run: gather_ns::<f64>(m, n, 1, &mut rng),
            scatter_2: scatter_ns(m, 2, &mut rng),
            increment: increment_ns(n, m, &mut rng),
            chase_links: chase_ns(8 * n, &mut rng),
            chase_edges: chase_ns(4 * m, &mut rng),
        };
        println!(
            "{n:>9} | {:>5.1} / {:>5.1} | {:>9.1} | {:>9.1} | {:>9.1} | {:>9.1} | {:>9.1} | {:>9.1} | {:>9.1}",
            costs.row_1,
            costs.row_2,
            costs.link,
            costs.pos,
            costs.run,
            costs.scatter_2,
            costs.increment,
            costs.chase_links,
            costs.chase_edges
        );
        all.push((n, costs));
    }
    println!();
    println!(
        "model times of the trace's phases (s; 10 flows per node, 16 tags, 2 cores), fresh pages included:"
    );
    println!(
        "{:>9} | {:>7} | {:>7} | {:>7} | {:>7} | {:>11} | {:>7}",
        "nodes", "count", "layout", "Tarjan", "reindex", "propagation", "sum"
    );
    for (n, c) in &all {
        let f = c.model(*n);
        println!(
            "{n:>9} | {:>7.3} | {:>7.3} | {:>7.3} | {:>7.3} | {:>11.3} | {:>7.3}",
            f[0],
            f[1],
            f[2],
            f[3],
            f[4],
            f.iter().sum::<f64>()
        );
    }
}

/// Measured costs on the arrays of a network of `n` nodes and `m = 10n` flows: nanoseconds per
/// access on one core, except `stream_2`.
struct Costs {
    /// GB/s read in order by both cores together.
    stream_2: f64,
    /// The first write to a fresh 4 KiB page (the kernel's fault and zeroing), one core.
    first_touch: f64,
    /// A 64-byte row of an n-row array (a supplier's content for 8 tags), one core reading.
    row_1: f64,
    /// The same with both cores reading, each its own array (propagation's two chunks).
    row_2: f64,
    /// 8 bytes of an array of 8n bytes (Tarjan's (index, low link) of a neighbour).
    link: f64,
    /// 8 bytes of an array of 4n bytes (the position of an edge's supplier when re-indexing).
    pos: f64,
    /// 8 bytes of an array of 8m bytes (the start of a node's run of edges).
    run: f64,
    /// A 4- and an 8-byte write at one index of m-entry arrays, both cores (what the edge
    /// layout paid per edge before its radix partition; shown, not modelled).
    scatter_2: f64,
    /// An 8-byte counter of an n-entry array read, incremented and written back.
    increment: f64,
    /// A dependent read in an array of 8n bytes (Tarjan's descent to an unseen node).
    chase_links: f64,
    /// A dependent read in an array of 4m bytes (the first of that node's edges).
    chase_edges: f64,
}

impl Costs {
    /// Model times, in seconds, of counting, laying out the edges, Tarjan, re-indexing and
    /// propagation, each with the first touch of the pages it writes fresh. Ordered reads and
    /// random accesses overlap, so a phase's model takes the larger of the two; phases run on
    /// two cores split their random accesses and first touches between them; Tarjan runs on one.
    fn model(&self, n: usize) -> [f64; 5] {
        let (n, m) = (n as f64, (n * FLOWS_PER_NODE) as f64);
        // Nanoseconds to read `bytes` in order on one core while the other core does the same.
        let stream = |bytes: f64| bytes / (self.stream_2 / 2.0);
        let fresh = |bytes: f64| bytes / 4096.0 * self.first_touch;
        // Each core reads half the flows (16 bytes each) and counts them by node.
        let count = stream(8.0 * m).max(m / 2.0 * self.increment);
        // A radix partition: each core reads half the flows twice (counting by bucket, then
        // staging each into its bucket: 16 bytes written, in order within each bucket), then
        // lays out half the buckets, reading their staged flows and writing the edges (12
        // bytes) within the L2. So every access is in order, or in cache; the staged flows and
        // the edges are fresh pages.
        let layout = stream((8.0 + 8.0 + 8.0 + 8.0 + 6.0) * m) + fresh((16.0 + 12.0) * m) / 2.0;
        // Every edge reads its neighbour's link; each node is descended to once, reading where
        // its edges start and then the first of them, each depending on the one before.
        let tarjan = m * self.link + n * (self.chase_links + self.chase_edges) + fresh(12.0 * n);
        // Each position's node's edge range (its start, its first supplier and share), and each
        // edge's supplier's position; the edges by position written in order.
        let reindex = stream(6.0 * m)
            .max(n / 2.0 * (self.link + 2.0 * self.run) + m / 2.0 * self.pos)
            + fresh(12.0 * m) / 2.0
            + fresh(12.0 * n);
        // Each core writes its rows (8 of the 16 tags) in order into fresh pages, then reads
        // every edge's supplier row; then both cores gather the node-major result, each for
        // half the nodes, reading both chunks' rows of each node at random.
        let propagation = fresh(64.0 * n)
            + stream(12.0 * m).max(m * self.row_2)
            + (2.0 * n * self.row_2 + fresh(128.0 * n)) / 2.0;
        [count, layout, tarjan, reindex, propagation].map(|ns| ns * 1e-9)
    }
}

/// Best of three runs of `f`, in seconds.
fn best_of_3(mut f: impl FnMut()) -> f64 {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Reading `bytes` in order, split among `threads` cores, in GB/s.
fn stream_gbs(bytes: usize, threads: usize) -> f64 {
    let data: Vec<u64> = (0..bytes / 8).map(|i| i as u64).collect();
    let part = data.len() / threads;
    let secs = best_of_3(|| {
        std::thread::scope(|scope| {
            for t in 0..threads {
                let slice = &data[t * part..(t + 1) * part];
                scope.spawn(move || black_box(slice.iter().fold(0u64, |a, &x| a.wrapping_add(x))));
            }
        });
    });
    bytes as f64 / secs / 1e9
}

/// A 64-byte line: one cache line, aligned as one.
#[repr(align(64))]
#[derive(Clone, Copy, Default)]
struct Line([f64; CHUNK]);

/// Dependent random reads over `bytes`, one line each: Sattolo's shuffle makes one cycle through
/// every line, so the walk cannot settle in a small loop. Nanoseconds per read.
fn chase_ns(bytes: usize, rng: &mut Rng) -> f64 {
    let lines = (bytes / 64).max(2);
    let mut cycle: Vec<u32> = (0..lines as u32).collect();
    for i in (1..lines).rev() {
        cycle.swap(i, rng.below(i));
    }
    let mut next = vec![Line::default(); lines];
    for i in 0..lines {
        next[cycle[i] as usize].0[0] = f64::from(cycle[(i + 1) % lines]);
    }
    let steps = 2_000_000;
    let secs = best_of_3(|| {
        let mut at = 0usize;
        for _ in 0..steps {
            at = next[at].0[0] as usize;
        }
        black_box(at);
    });
    secs / steps as f64 * 1e9
}

/// A row that propagation-like code adds, weighted, into an accumulator of 8 tags.
trait Row: Copy + Default + Send + Sync {
    fn add_to(&self, weight: f64, acc: &mut [f64; CHUNK]);
}

impl Row for Line {
    #[inline]
    fn add_to(&self, weight: f64, acc: &mut [f64; CHUNK]) {
        for t in 0..CHUNK {
            acc[t] += weight * self.0[t];
        }
    }
}

impl Row for f64 {
    #[inline]
    fn add_to(&self, weight: f64, acc: &mut [f64; CHUNK]) {
        acc[0] += weight * self;
    }
}

/// Independent random reads of `rows` rows (a `Line` or an `f64` each), `count` per core on
/// `threads` cores, each core its own array; the indices and weights are read in order.
/// Nanoseconds per read on one core.
fn gather_ns<R: Row>(rows: usize, count: usize, threads: usize, rng: &mut Rng) -> f64 {
    let index: Vec<u32> = (0..count).map(|_| rng.below(rows) as u32).collect();
    let weight: Vec<f64> = (0..count).map(|_| rng.unit()).collect();
    let (index, weight) = (&index, &weight);
    let arrays: Vec<Vec<R>> = (0..threads).map(|_| vec![R::default(); rows]).collect();
    let secs = best_of_3(|| {
        std::thread::scope(|scope| {
            for array in &arrays {
                scope.spawn(move || {
                    let mut acc = [0.0; CHUNK];
                    for (&i, &w) in index.iter().zip(weight) {
                        array[i as usize].add_to(w, &mut acc);
                    }
                    black_box(acc);
                });
            }
        });
    });
    secs / index.len() as f64 * 1e9
}

/// Random writes of a `u32` and an `f64` at one index of `slots`-entry arrays, the arrays split
/// among `threads` cores as the edge layout splits them, each core writing `slots / threads`
/// times into its own part. Nanoseconds per write on one core.
fn scatter_ns(slots: usize, threads: usize, rng: &mut Rng) -> f64 {
    let part = slots / threads;
    let targets: Vec<Vec<u32>> = (0..threads)
        .map(|_| (0..part).map(|_| rng.below(part) as u32).collect())
        .collect();
    let mut src = vec![1u32; part * threads];
    let mut share = vec![1.0f64; part * threads];
    let secs = best_of_3(|| {
        std::thread::scope(|scope| {
            for ((src, share), targets) in src
                .chunks_mut(part)
                .zip(share.chunks_mut(part))
                .zip(&targets)
            {
                scope.spawn(move || {
                    for (k, &e) in targets.iter().enumerate() {
                        src[e as usize] = k as u32;
                        share[e as usize] = k as f64;
                    }
                });
            }
        });
    });
    black_box((&src, &share));
    secs / part as f64 * 1e9
}

/// Random increments of `n` 8-byte counters, `count` of them, on one core. Nanoseconds each.
fn increment_ns(n: usize, count: usize, rng: &mut Rng) -> f64 {
    let index: Vec<u32> = (0..count).map(|_| rng.below(n) as u32).collect();
    let mut counts = vec![1u64; n];
    let secs = best_of_3(|| {
        for &j in &index {
            counts[j as usize] += 1;
        }
    });
    black_box(&counts);
    secs / count as f64 * 1e9
}

/// The first write to each 4 KiB page of a fresh `bytes`-byte allocation, by each of `threads`
/// cores at once (each its own allocation), in order or (given a generator) in a random order.
/// Nanoseconds per page on one core.
fn first_touch_ns(bytes: usize, threads: usize, shuffle: Option<&mut Rng>) -> f64 {
    let pages = bytes / 4096;
    let mut order: Vec<usize> = (0..pages).collect();
    if let Some(rng) = shuffle {
        for i in (1..pages).rev() {
            order.swap(i, rng.below(i + 1));
        }
    }
    let order = &order;
    let secs = best_of_3(|| {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(move || {
                    let mut fresh = vec![0u8; bytes];
                    for &page in order {
                        fresh[page * 4096] = 1;
                    }
                    black_box(&fresh);
                });
            }
        });
    });
    secs / pages as f64 * 1e9
}
