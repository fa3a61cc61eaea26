//! Batches of runs spread over threads, with a progress counter and cooperative cancellation,
//! and the headline figures of a batch. Shared by `lodestone simulate` and the API's jobs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{Scenario, SimNetwork, Stats, run};

/// Runs `a..b` of `sc` on `threads` threads and merges their statistics (exactly: the split does
/// not change the result). `progress` counts finished runs; when `cancel` is set the threads stop
/// after their current run and the batch returns `None`.
pub fn run_batch(
    net: &SimNetwork,
    sc: &Scenario,
    shortfall_level: f64,
    (a, b): (u64, u64),
    threads: usize,
    progress: &AtomicU64,
    cancel: &AtomicBool,
) -> Option<Stats> {
    // A one-month probe names the reported series (countries and `JPN:ev`-style end uses).
    let probe = run(
        net,
        &Scenario {
            months: 1,
            ..sc.clone()
        },
        0,
    );
    let stock: Vec<f64> = probe
        .countries
        .iter()
        .map(|c| {
            // End-use series report their country's stockpile.
            let country = c.split(':').next().unwrap_or(c);
            sc.stockpiles
                .iter()
                .filter(|s| s.country == country)
                .map(|s| s.initial)
                .sum()
        })
        .collect();
    let empty = || {
        Stats::new(
            &sc.name,
            sc.seed,
            sc.months,
            shortfall_level,
            probe.countries.clone(),
            stock.clone(),
        )
    };
    let n = b.saturating_sub(a);
    let threads = (threads.max(1) as u64).min(n.max(1));
    let parts: Vec<Option<Stats>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (lo, hi) = (a + n * t / threads, a + n * (t + 1) / threads);
                let empty = &empty;
                scope.spawn(move || {
                    let mut s = empty();
                    for i in lo..hi {
                        if cancel.load(Ordering::Relaxed) {
                            return None;
                        }
                        s.add(&run(net, sc, i));
                        progress.fetch_add(1, Ordering::Relaxed);
                    }
                    s.cover(lo, hi);
                    Some(s)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().ok().flatten())
            .collect()
    });
    let mut total = empty();
    for p in parts {
        // Same scenario and disjoint ranges by construction: merging cannot fail.
        let _ = total.merge(&p?);
    }
    Some(total)
}

/// The headline of one reported series (a country or `COUNTRY:end_use`) over a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Headline {
    /// Country or `COUNTRY:end_use`.
    pub country: String,
    /// Largest monthly mean shortfall share (the price-pressure proxy).
    pub peak_shortfall_share_mean: f64,
    /// Month of that peak (0 = start).
    pub peak_month: usize,
    /// 95th percentile of the shortfall share in the peak month.
    pub peak_shortfall_share_p95: f64,
    /// Mean over runs of the total shortfall, t REO.
    pub total_shortfall_t_reo_mean: f64,
    /// Median months to recovery (`months + 1`: not recovered within the horizon).
    pub recovery_months_p50: f64,
    /// Probability that the shortfall share exceeds the stated level in some month.
    pub probability_shortfall_above_level: f64,
}

impl Stats {
    /// The headline of every reported series.
    pub fn headline(&self) -> Vec<Headline> {
        let s = self.summary();
        s.countries
            .iter()
            .map(|(c, _, rec50, _, p)| {
                let rows: Vec<_> = s.rows.iter().filter(|r| r.country == *c).collect();
                let peak = rows
                    .iter()
                    .max_by(|a, b| a.pressure_mean.total_cmp(&b.pressure_mean));
                Headline {
                    country: c.clone(),
                    peak_shortfall_share_mean: peak.map_or(0.0, |r| r.pressure_mean),
                    peak_month: peak.map_or(0, |r| r.month),
                    peak_shortfall_share_p95: peak.map_or(0.0, |r| r.pressure_p95),
                    total_shortfall_t_reo_mean: rows.iter().map(|r| r.shortfall_mean).sum(),
                    recovery_months_p50: *rec50,
                    probability_shortfall_above_level: *p,
                }
            })
            .collect()
    }
}
