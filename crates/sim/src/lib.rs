//! Disruption scenarios, simulated month by month, with Monte Carlo ranges.
//!
//! A [`SimNetwork`] is a supply network in t REO per month (nodes with a base throughput, a
//! capacity and a yield; routes with base monthly volumes; consumer nodes with demand). A
//! [`Scenario`] adds timed events — facility outages, export restrictions (ban, quota, licensing
//! with an approval probability and a delay), capacity additions with a ramp, demand shocks —
//! and strategic stockpiles with release rules. [`run`] simulates one draw; [`Stats`] accumulates
//! many draws into histograms and integer sums, so that statistics of shards merge **exactly**
//! (integer addition is associative): a batch split across machines gives byte-identical results.
//!
//! Run *i* draws from a generator seeded by (scenario seed, i) only.

mod batch;
mod lp;
mod model;
mod stats;

pub use batch::{Headline, run_batch};
pub use model::{
    Allocation, DAYS_PER_MONTH, Dist, EndUse, Event, EventKind, Inventory, MonthRecord,
    Restriction, RunResult, Scenario, SimNetwork, SimNode, SimRoute, Stockpile, TrackedExports,
    Transit, run,
};
pub use stats::{Stats, Summary, SummaryRow};

/// SplitMix64, seeded from (scenario seed, run index) only: run *i* is the same anywhere.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// The generator of run `run` of a scenario seeded `seed`.
    pub fn for_run(seed: u64, run: u64) -> Rng {
        let mut r = Rng(seed ^ 0x6A09_E667_F3BC_C909);
        let mix = r.next_u64() ^ run.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Rng(mix)
    }
    /// Next 64 random bits.
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
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}
