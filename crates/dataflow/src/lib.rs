//! Tracing on the timely dataflow engine, across threads and processes.
//!
//! The single-process engine ([`lodestone_trace::Structure::propagate`]) walks the network's
//! *units* — a node outside loops, or a whole loop — upstream-first. Here the units are
//! partitioned over timely workers by a hash of their index, and the content is propagated
//! **level by level**: a unit's level is one more than its highest supplier's, so in round `L`
//! every worker solves its units of level `L` (a loop is solved whole, by the worker that owns it,
//! exactly as the single-process engine solves it) and sends each solved node's content to the
//! workers that own one of its customers. Timely's progress tracking says when a round's contents
//! have all arrived; the rounds end after the deepest level. Each unit's arithmetic is the
//! single-process engine's, in the same order and on the same blocks of tags, so the numbers are
//! the same to the last bit.
//!
//! What is split and what is not, today: the propagation's *work* is split over the workers, but
//! every process reads the whole network and builds the same structure (so the units, their
//! levels and owners are computed identically everywhere, without coordination), and every worker
//! keeps a dense `nodes × tags` content matrix of which it fills its own units and its suppliers.
//! The results are gathered to worker 0, which returns the trace; the other workers return
//! nothing. docs/distributed.md has the measured model and what a 10⁹-flow network would need
//! (partitioned reading and per-worker state).
//!
//! The processes connect to each other through `net.rs` (not through timely's own set-up, which
//! prints to standard output and waits forever); no file is read or written here.

mod net;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::sync::atomic::{AtomicBool, AtomicU64};

use lodestone_sim::{Scenario, SimNetwork, Stats, run_batch};
use lodestone_trace::{
    CHUNK, Network, NetworkError, Structure, Trace, Unit, UnitSolver, assemble_trace,
    right_hand_sides,
};
use timely::WorkerConfig;
use timely::communication::Hooks;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::dataflow::channels::pact::Exchange as ExchangePact;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::{ConnectLoop, Exchange, Feedback, Inspect, Probe, ToStream};

/// Where the workers run: `threads` workers in each of the processes listed in `hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// Worker threads in each process.
    pub threads: usize,
    /// This process's index into `hosts`.
    pub process: usize,
    /// `host:port` of every process, in process order; empty for a single process.
    pub hosts: Vec<String>,
}

impl Cluster {
    /// `threads` workers in this process alone.
    pub fn local(threads: usize) -> Cluster {
        Cluster {
            threads,
            process: 0,
            hosts: Vec::new(),
        }
    }

    /// Number of processes.
    pub fn processes(&self) -> usize {
        self.hosts.len().max(1)
    }

    /// Number of workers in all processes.
    pub fn workers(&self) -> usize {
        self.threads * self.processes()
    }

    /// The hosts of a hosts file: one `host:port` per line, in process order; blank lines and
    /// lines starting with `#` are skipped. Errors name the line.
    pub fn parse_hosts(text: &str) -> Result<Vec<String>, String> {
        let mut hosts = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let port = line.rsplit_once(':').map(|(_, p)| p);
            if port.is_none_or(|p| p.parse::<u16>().is_err() || p == "0")
                || line.contains(char::is_whitespace)
            {
                return Err(format!(
                    "line {}: '{line}' is not host:port (e.g. 127.0.0.1:2101)",
                    i + 1
                ));
            }
            if hosts.iter().any(|h| h == line) {
                return Err(format!("line {}: '{line}' is listed twice", i + 1));
            }
            hosts.push(line.to_string());
        }
        if hosts.is_empty() {
            return Err("the hosts file lists no host:port".into());
        }
        Ok(hosts)
    }

    /// Whether the cluster can run: at least one worker, and this process one of the hosts
    /// file's. The message names the flag to change (`--workers`, `--process`).
    pub fn check(&self) -> Result<(), String> {
        if self.threads == 0 {
            return Err("--workers must be at least 1".into());
        }
        if self.process >= self.processes() {
            return Err(format!(
                "--process {} is not one of the {} processes of the hosts file (0 to {})",
                self.process,
                self.processes(),
                self.processes() - 1
            ));
        }
        Ok(())
    }
}

/// Runs `work` on every worker of this process of `cluster` (checked by the caller, before its
/// preparation) and returns the workers' results.
/// The processes connect through [`net::connect`], which checks that each was given the work of
/// the same `fingerprint`. A worker that fails or a connection that breaks becomes an error.
fn execute<T, F>(cluster: &Cluster, fingerprint: u64, work: F) -> Result<Vec<T>, DataflowError>
where
    T: Send + 'static,
    F: Fn(&mut timely::worker::Worker) -> T + Send + Sync + 'static,
{
    let run = || -> Result<Vec<T>, DataflowError> {
        let guards = if cluster.hosts.len() > 1 {
            let sockets = net::connect(
                &cluster.hosts,
                cluster.process,
                fingerprint,
                net::CONNECT_WAIT,
            )?;
            // The operator's sign that the cluster formed and the work began (and the moment a
            // test of a process dying mid-run waits for).
            eprintln!(
                "process {} of {}: connected to every other process; working",
                cluster.process,
                cluster.hosts.len()
            );
            let hooks = Hooks::default();
            let local =
                ProcessBuilder::new_typed_vector(cluster.threads, hooks.refill.clone(), None);
            let (builders, comms) = initialize_networking_from_sockets(
                local,
                sockets,
                cluster.process,
                cluster.threads,
                hooks,
            )
            .map_err(|e| DataflowError::Cluster(format!("cannot start the connections: {e}")))?;
            timely::execute::execute_from(
                builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
                Box::new(comms),
                WorkerConfig::default(),
                work,
            )
        } else {
            timely::execute(timely::Config::process(cluster.threads), work)
        }
        .map_err(DataflowError::Cluster)?;
        guards
            .join()
            .into_iter()
            .map(|r| r.map_err(|e| DataflowError::Cluster(format!("a worker stopped: {e}"))))
            .collect()
    };
    // Timely reports a broken connection by panicking in its threads, and again in each thread
    // that then touches a poisoned queue, and once more when the guards are dropped. The first
    // panic's message is the cause: keep it (instead of printing every panic with its
    // backtrace) and return one error.
    static FIRST_PANIC: Mutex<Option<String>> = Mutex::new(None);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| info.payload().downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        if let Ok(mut first) = FIRST_PANIC.lock() {
            first.get_or_insert(message);
        }
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
    std::panic::set_hook(previous);
    let first = FIRST_PANIC.lock().ok().and_then(|mut f| f.take());
    let failed = |why: &str| {
        DataflowError::Cluster(format!(
            "a worker or the connection to another process failed ({why}): check that every process is still running"
        ))
    };
    match (result, first) {
        (Ok(Ok(results)), None) => Ok(results),
        (Ok(Err(e)), None) => Err(e),
        (_, Some(why)) => Err(failed(&why)),
        (Err(_), None) => Err(failed("a worker panicked")),
    }
}

/// A fingerprint of some work, the same in every process given the same work (FxHash's mixing:
/// fast, and enough to tell different inputs apart; no adversary is assumed between processes
/// that trust each other's numbers).
fn fingerprint(words: impl IntoIterator<Item = u64>) -> u64 {
    words.into_iter().fold(0u64, |h, w| {
        (h.rotate_left(5) ^ w).wrapping_mul(0x517C_C1B7_2722_0A95)
    })
}

/// The longest a waiting worker sleeps before looking again (it is woken sooner when messages
/// arrive): waiting workers leave the cores to the working ones.
const PARK: Duration = Duration::from_millis(10);

/// Why a distributed trace failed.
#[derive(Debug, Clone, PartialEq)]
pub enum DataflowError {
    /// The network cannot be traced (the same errors as the single-process engine).
    Network(NetworkError),
    /// A worker of another process could not trace its part.
    Remote {
        /// Global worker index.
        worker: usize,
        /// Its error.
        message: String,
    },
    /// The cluster could not be set up or a worker stopped.
    Cluster(String),
}

impl fmt::Display for DataflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataflowError::Network(e) => e.fmt(f),
            DataflowError::Remote { worker, message } => write!(f, "worker {worker}: {message}"),
            DataflowError::Cluster(m) => write!(f, "the dataflow cluster failed: {m}"),
        }
    }
}

impl std::error::Error for DataflowError {}

impl From<NetworkError> for DataflowError {
    fn from(e: NetworkError) -> Self {
        DataflowError::Network(e)
    }
}

/// The worker that owns unit `unit`: its index hashed (Fibonacci hashing), so that neighbouring
/// units, often of one supply chain, spread over the workers.
pub fn owner(unit: usize, peers: usize) -> usize {
    ((unit as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % peers
}

/// What every worker knows alike: the network's structure, its units with their levels, and the
/// right-hand sides (content, then priced and unpriced value when the network is priced).
struct Shared {
    structure: Arc<Structure>,
    units: Vec<Unit>,
    levels: Vec<u32>,
    /// Unit index of each position.
    unit_at: Vec<u32>,
    max_level: u32,
    /// Row-major `n × width` by node.
    rhs: Vec<f64>,
    width: usize,
}

/// One worker's share of the work.
struct Plan {
    me: usize,
    /// Its units, by level.
    by_level: Vec<Vec<Unit>>,
    /// Per other worker, one bit per position: whether that worker needs the position's content
    /// (it owns a customer of it). Bits rather than a sorted list of pairs: no sort, and a
    /// fixed 1/8 byte per position and worker.
    needed_by: Vec<Vec<u64>>,
}

impl Plan {
    fn new(sh: &Shared, me: usize, peers: usize) -> Plan {
        let n = sh.unit_at.len();
        let mut by_level = vec![Vec::new(); sh.max_level as usize + 1];
        let mut needed_by = vec![Vec::new(); peers];
        for (w, bits) in needed_by.iter_mut().enumerate() {
            if w != me {
                *bits = vec![0u64; n.div_ceil(64)];
            }
        }
        for (i, &u) in sh.units.iter().enumerate() {
            let w = owner(i, peers);
            if w == me {
                by_level[sh.levels[i] as usize].push(u);
            } else {
                let bits = &mut needed_by[w];
                for q in sh.structure.suppliers(u) {
                    if owner(sh.unit_at[q] as usize, peers) == me {
                        bits[q / 64] |= 1 << (q % 64);
                    }
                }
            }
        }
        Plan {
            me,
            by_level,
            needed_by,
        }
    }

    /// The workers that need the content of position `p`.
    fn receivers(&self, p: usize) -> impl Iterator<Item = u32> + '_ {
        (0..self.needed_by.len())
            .filter(move |&w| w != self.me && self.needed_by[w][p / 64] & (1 << (p % 64)) != 0)
            .map(|w| w as u32)
    }
}

/// One block of a solved node's content on its way to a worker that needs it: (worker, position,
/// block, the block's CHUNK values). Fixed-size, so no message allocates.
type Content = (u32, u32, u32, [f64; CHUNK]);
/// What a worker hands to worker 0 at the end: one block of a position's content (position,
/// block, values), or its error.
type Gathered = Result<(u32, u32, [f64; CHUNK]), String>;

/// Traces `net` (mass balance) on `cluster`'s workers; `structure` is `net`'s. Returns the trace
/// in the process that hosts worker 0 and `None` in the others. Every process must be given the
/// same network.
pub fn trace(
    net: &Network,
    structure: Arc<Structure>,
    cluster: &Cluster,
) -> Result<Option<Trace>, DataflowError> {
    cluster.check().map_err(DataflowError::Cluster)?;
    let k = net.tags.len();
    let rhs = right_hand_sides(net);
    // Content, then priced and unpriced value, each padded to whole chunks of the single-process
    // engine, so that every chunk holds the same columns as there (a Gauss–Seidel loop's stopping
    // test looks at a whole chunk).
    let group = k.div_ceil(CHUNK) * CHUNK;
    let width = if rhs.value.is_some() {
        3 * group
    } else {
        group
    };
    let n = net.len();
    let mut stacked = vec![0.0; n * width];
    for v in 0..n {
        let row = &mut stacked[v * width..(v + 1) * width];
        row[..k].copy_from_slice(&rhs.content[v * k..(v + 1) * k]);
        if let Some((bv, bu)) = &rhs.value {
            row[group..group + k].copy_from_slice(&bv[v * k..(v + 1) * k]);
            row[2 * group..2 * group + k].copy_from_slice(&bu[v * k..(v + 1) * k]);
        }
    }
    let units = structure.units();
    let levels = structure.unit_levels(&units);
    let mut unit_at = vec![0u32; n];
    for (i, u) in units.iter().enumerate() {
        for p in u.positions() {
            unit_at[p] = i as u32;
        }
    }
    // Only processes that connect compare fingerprints.
    let print = (cluster.hosts.len() > 1).then(|| {
        fingerprint(
            [
                1, // the trace
                n as u64,
                net.flows.len() as u64,
                width as u64,
                cluster.threads as u64,
                units.len() as u64,
            ]
            .into_iter()
            .chain(levels.iter().map(|&l| u64::from(l)))
            .chain((0..n).map(|p| structure.node_at(p) as u64))
            .chain(stacked.iter().map(|x| x.to_bits()))
            // The weights: every flow and every output.
            .chain(
                net.flows
                    .iter()
                    .flat_map(|f| [u64::from(f.from), u64::from(f.to), f.quantity.to_bits()]),
            )
            .chain(net.output.iter().map(|x| x.to_bits())),
        )
    });
    let shared = Arc::new(Shared {
        max_level: levels.iter().copied().max().unwrap_or(0),
        structure,
        units,
        levels,
        unit_at,
        rhs: stacked,
        width,
    });
    let mut solved = None;
    for r in execute(cluster, print.unwrap_or(0), move |worker| {
        run_worker(worker, &shared)
    })? {
        if let Some(m) = r? {
            solved = Some(m);
        }
    }
    Ok(solved.map(|m| {
        let column = |from: usize| -> Vec<f64> {
            (0..n)
                .flat_map(|v| m[v * width + from..v * width + from + k].iter().copied())
                .collect()
        };
        let value = rhs
            .value
            .is_some()
            .then(|| (column(group), column(2 * group)));
        assemble_trace(net, column(0), value)
    }))
}

/// One worker: propagate its units round by round, then hand its contents to worker 0. Worker 0
/// returns the whole `n × width` matrix by node.
fn run_worker(
    worker: &mut timely::worker::Worker,
    sh: &Arc<Shared>,
) -> Result<Option<Vec<f64>>, DataflowError> {
    let (me, peers) = (worker.index(), worker.peers());
    let plan = Plan::new(sh, me, peers);
    let mine: Vec<Unit> = plan.by_level.iter().flatten().copied().collect();
    let solver = Rc::new(RefCell::new(UnitSolver::new(&sh.structure, sh.width)));
    let failure: Rc<RefCell<Option<NetworkError>>> = Rc::default();

    let propagated = worker.dataflow::<u32, _, _>(|scope| {
        let (handle, arriving) = scope.feedback::<Vec<Content>>(1);
        let (sh, solver, failure) = (sh.clone(), solver.clone(), failure.clone());
        let solved = arriving.unary_frontier(
            ExchangePact::new(|c: &Content| u64::from(c.0)),
            "Propagate",
            move |cap, _info| {
                let mut cap = Some(cap);
                let mut round = 0u32;
                move |(input, frontier), output| {
                    input.for_each(|_time, data| {
                        let mut s = solver.borrow_mut();
                        for (_, p, b, values) in data.drain(..) {
                            s.set_block(p as usize, b as usize, &values);
                        }
                    });
                    while let Some(c) = cap.as_mut() {
                        // Contents for this round may still be on their way.
                        if frontier.frontier().less_equal(&round) {
                            break;
                        }
                        if failure.borrow().is_none() {
                            let mut s = solver.borrow_mut();
                            let mut session = output.session(c);
                            for &u in &plan.by_level[round as usize] {
                                if let Err(e) = s.solve(&sh.structure, &sh.rhs, u) {
                                    *failure.borrow_mut() = Some(e);
                                    break;
                                }
                                for p in u.positions() {
                                    for w in plan.receivers(p) {
                                        for b in 0..s.blocks() {
                                            session.give((w, p as u32, b as u32, s.block(p, b)));
                                        }
                                    }
                                }
                            }
                        }
                        round += 1;
                        if round > sh.max_level {
                            cap = None;
                        } else {
                            c.downgrade(&round);
                        }
                    }
                }
            },
        );
        let (probe, solved) = solved.probe();
        solved.connect_loop(handle);
        probe
    });
    worker.step_or_park_while(Some(PARK), || !propagated.done());

    // Worker 0 gathers every worker's contents (and errors).
    let own_error = failure.borrow_mut().take();
    let handed: Vec<Gathered> = match &own_error {
        Some(e) => vec![Err(e.to_string())],
        None if me == 0 => Vec::new(),
        None => {
            let s = solver.borrow();
            mine.iter()
                .flat_map(|u| u.positions())
                .flat_map(|p| (0..s.blocks()).map(move |b| (p, b)))
                .map(|(p, b)| Ok((p as u32, b as u32, s.block(p, b))))
                .collect()
        }
    };
    let received = gather(worker, handed);
    if let Some(e) = own_error {
        return Err(DataflowError::Network(e));
    }
    if me != 0 {
        return Ok(None);
    }
    let mut s = solver.borrow_mut();
    for (from, h) in received {
        match h {
            Ok((p, b, values)) => s.set_block(p as usize, b as usize, &values),
            Err(message) => {
                return Err(DataflowError::Remote {
                    worker: from,
                    message,
                });
            }
        }
    }
    Ok(Some(s.to_node_major(&sh.structure)))
}

/// Hands every worker's `items` to worker 0, which returns them with the index of the worker
/// that sent them, in worker order; the other workers return nothing.
fn gather<D: timely::ExchangeData + Clone>(
    worker: &mut timely::worker::Worker,
    items: Vec<D>,
) -> Vec<(usize, D)> {
    let me = worker.index();
    let received: Rc<RefCell<Vec<(usize, D)>>> = Rc::default();
    let gathered = worker.dataflow::<u32, _, _>(|scope| {
        let received = received.clone();
        items
            .into_iter()
            .map(move |item| (me, item))
            .to_stream(scope)
            .container::<Vec<(usize, D)>>()
            .exchange(|_| 0)
            .inspect(move |x| received.borrow_mut().push(x.clone()))
            .probe()
            .0
    });
    worker.step_or_park_while(Some(PARK), || !gathered.done());
    let mut all = std::mem::take(&mut *received.borrow_mut());
    // Stable: each worker's items keep their order.
    all.sort_by_key(|&(from, _)| from);
    all
}

/// Runs the simulator's runs `runs.0..runs.1` on `cluster`'s workers: each worker runs one
/// contiguous shard of the seeded runs, and worker 0 merges the shards' statistics in run order,
/// exactly as `simulate merge` does. Returns the statistics in the process that hosts worker 0 and
/// `None` in the others. Every process must be given the same network and scenario.
pub fn simulate(
    net: Arc<SimNetwork>,
    scenario: Arc<Scenario>,
    shortfall_level: f64,
    runs: (u64, u64),
    cluster: &Cluster,
) -> Result<Option<Stats>, DataflowError> {
    cluster.check().map_err(DataflowError::Cluster)?;
    let (a, b) = runs;
    if a >= b {
        return Err(DataflowError::Cluster(format!(
            "the runs {a}..{b} are empty"
        )));
    }
    let print = fingerprint([
        2, // the simulator
        a,
        b,
        shortfall_level.to_bits(),
        cluster.threads as u64,
        fingerprint(format!("{scenario:?}\n{net:?}").bytes().map(u64::from)),
    ]);
    let results = execute(cluster, print, move |worker| {
        let (me, peers) = (worker.index(), worker.peers());
        // Shard bounds in u128: (b − a) · peers may not fit in 64 bits.
        let bound = |w: usize| a + ((u128::from(b - a) * w as u128) / peers as u128) as u64;
        let shard = (bound(me), bound(me + 1));
        let handed: Vec<Result<String, String>> = if shard.0 < shard.1 {
            let (done, never) = (AtomicU64::new(0), AtomicBool::new(false));
            vec![
                run_batch(&net, &scenario, shortfall_level, shard, 1, &done, &never)
                    .map(|stats| stats.to_text())
                    .ok_or_else(|| format!("runs {}..{} did not complete", shard.0, shard.1)),
            ]
        } else {
            Vec::new()
        };
        let received = gather(worker, handed);
        if me != 0 {
            return Ok::<_, DataflowError>(None);
        }
        let mut merged: Option<Stats> = None;
        for (from, text) in received {
            let remote = |message: String| DataflowError::Remote {
                worker: from,
                message,
            };
            let stats = Stats::from_text(&text.map_err(remote)?).map_err(remote)?;
            match &mut merged {
                Some(m) => m.merge(&stats).map_err(remote)?,
                None => merged = Some(stats),
            }
        }
        Ok(merged)
    })?;
    let mut merged = None;
    for r in results {
        if let Some(stats) = r? {
            merged = Some(stats);
        }
    }
    Ok(merged)
}
