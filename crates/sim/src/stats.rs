//! Statistics over runs that merge exactly: histograms and integer sums.
//!
//! Floating-point sums depend on the order of addition, so shards summed separately would not
//! reproduce a single batch bit for bit. Every statistic here is an integer count or an integer
//! sum of quantised values, and merging adds integers: the merged state, and the summary written
//! from it, are identical to those of one batch, whatever the split.

use crate::model::RunResult;

/// Bins of the share histograms: per mille, 0..=1000.
const BINS: usize = 1001;
/// Quantum of the integer sums of tonnes (1 kg).
const TONNE_QUANTUM: f64 = 1e-3;
/// Quantum of the integer sums of shares (one part per billion).
const SHARE_QUANTUM: f64 = 1e-9;

fn q(v: f64, quantum: f64) -> i128 {
    (v / quantum).round() as i128
}

/// Accumulated statistics of a set of runs of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// Scenario name.
    pub scenario: String,
    /// Scenario seed.
    pub seed: u64,
    /// Months per run.
    pub months: usize,
    /// Shortfall share whose probability of being exceeded is reported.
    pub level: f64,
    /// Consumer countries.
    pub countries: Vec<String>,
    /// Initial stockpile per country (t REO), for the stockpile shares.
    pub stock_initial: Vec<f64>,
    /// Run ranges included, sorted and disjoint.
    pub ranges: Vec<(u64, u64)>,
    /// Per (country, month): histogram of shortfall share (per mille).
    short_hist: Vec<Vec<u64>>,
    /// Per (country, month): histogram of stockpile level as a share of its initial level.
    stock_hist: Vec<Vec<u64>>,
    /// Per (country, month): Σ demand, Σ shortfall, Σ stockpile (kg), Σ shortfall share (ppb).
    sums: Vec<[i128; 4]>,
    /// Per country: histogram of months to recovery (index `months + 1`: never recovered).
    recovery: Vec<Vec<u64>>,
    /// Per country: runs whose shortfall share exceeded `level` in some month.
    exceeded: Vec<u64>,
}

impl Stats {
    /// Empty statistics.
    pub fn new(
        scenario: &str,
        seed: u64,
        months: usize,
        level: f64,
        countries: Vec<String>,
        stock_initial: Vec<f64>,
    ) -> Stats {
        let cells = countries.len() * months;
        Stats {
            scenario: scenario.to_string(),
            seed,
            months,
            level,
            short_hist: vec![vec![0; BINS]; cells],
            stock_hist: vec![vec![0; BINS]; cells],
            sums: vec![[0; 4]; cells],
            recovery: vec![vec![0; months + 2]; countries.len()],
            exceeded: vec![0; countries.len()],
            countries,
            stock_initial,
            ranges: Vec::new(),
        }
    }

    /// Number of runs included.
    pub fn runs(&self) -> u64 {
        self.ranges.iter().map(|(a, b)| b - a).sum()
    }

    /// Adds one run (its index must be inside a range added with [`Stats::cover`]).
    pub fn add(&mut self, r: &RunResult) {
        for (c, country) in self.countries.iter().enumerate() {
            let Some(rc) = r.countries.iter().position(|x| x == country) else {
                continue;
            };
            let mut first_short = None;
            let mut last_short = None;
            let mut exceeded = false;
            for m in 0..self.months {
                let rec = r.records[rc][m];
                let share = if rec.demand > 0.0 {
                    (rec.shortfall / rec.demand).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let cell = c * self.months + m;
                self.short_hist[cell][(share * 1000.0).round() as usize] += 1;
                let init = self.stock_initial[c];
                let level = if init > 0.0 {
                    (rec.stockpile / init).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                self.stock_hist[cell][(level * 1000.0).round() as usize] += 1;
                let s = &mut self.sums[cell];
                s[0] += q(rec.demand, TONNE_QUANTUM);
                s[1] += q(rec.shortfall, TONNE_QUANTUM);
                s[2] += q(rec.stockpile, TONNE_QUANTUM);
                s[3] += q(share, SHARE_QUANTUM);
                if share > 1e-6 {
                    first_short.get_or_insert(m);
                    last_short = Some(m);
                }
                if share > self.level {
                    exceeded = true;
                }
            }
            // Months from the first month short to the first month fully supplied after the last.
            let months_to_recovery = match (first_short, last_short) {
                (Some(a), Some(b)) if b + 1 < self.months => b + 1 - a,
                (Some(_), Some(_)) => self.months + 1,
                _ => 0,
            };
            self.recovery[c][months_to_recovery.min(self.months + 1)] += 1;
            if exceeded {
                self.exceeded[c] += 1;
            }
        }
    }

    /// Records that runs `a..b` are included.
    pub fn cover(&mut self, a: u64, b: u64) {
        self.ranges.push((a, b));
        self.normalise();
    }

    fn normalise(&mut self) {
        self.ranges.sort();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for &(a, b) in &self.ranges {
            match merged.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => merged.push((a, b)),
            }
        }
        self.ranges = merged;
    }

    /// Adds another set of runs of the same scenario. Fails if the scenarios differ or the runs
    /// overlap.
    pub fn merge(&mut self, other: &Stats) -> Result<(), String> {
        if (
            self.scenario.as_str(),
            self.seed,
            self.months,
            &self.countries,
        ) != (
            other.scenario.as_str(),
            other.seed,
            other.months,
            &other.countries,
        ) || self.level != other.level
        {
            return Err(format!(
                "cannot merge runs of different scenarios ('{}' seed {} and '{}' seed {})",
                self.scenario, self.seed, other.scenario, other.seed
            ));
        }
        for &(a, b) in &other.ranges {
            if self.ranges.iter().any(|&(x, y)| a < y && x < b) {
                return Err(format!("runs {a}..{b} are already included"));
            }
        }
        for (x, y) in self.short_hist.iter_mut().zip(&other.short_hist) {
            x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
        }
        for (x, y) in self.stock_hist.iter_mut().zip(&other.stock_hist) {
            x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
        }
        for (x, y) in self.sums.iter_mut().zip(&other.sums) {
            for k in 0..4 {
                x[k] += y[k];
            }
        }
        for (x, y) in self.recovery.iter_mut().zip(&other.recovery) {
            x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
        }
        for (x, y) in self.exceeded.iter_mut().zip(&other.exceeded) {
            *x += y;
        }
        self.ranges.extend(other.ranges.iter().copied());
        self.normalise();
        Ok(())
    }

    /// The state as text (the mergeable file).
    pub fn to_text(&self) -> String {
        let mut s = String::from("lodestone-sim-stats 1\n");
        s.push_str(&format!(
            "scenario\t{}\nseed\t{}\nmonths\t{}\nlevel\t{}\n",
            self.scenario, self.seed, self.months, self.level
        ));
        s.push_str(&format!("countries\t{}\n", self.countries.join(",")));
        s.push_str(&format!(
            "stock_initial\t{}\n",
            self.stock_initial
                .iter()
                .map(|v| format!("{v}"))
                .collect::<Vec<_>>()
                .join(",")
        ));
        s.push_str(&format!(
            "ranges\t{}\n",
            self.ranges
                .iter()
                .map(|(a, b)| format!("{a}..{b}"))
                .collect::<Vec<_>>()
                .join(",")
        ));
        let sparse = |h: &[u64]| {
            h.iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| format!("{i}:{c}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        for cell in 0..self.sums.len() {
            let s4 = self.sums[cell];
            s.push_str(&format!(
                "cell\t{cell}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                s4[0],
                s4[1],
                s4[2],
                s4[3],
                sparse(&self.short_hist[cell]),
                sparse(&self.stock_hist[cell])
            ));
        }
        for c in 0..self.countries.len() {
            s.push_str(&format!(
                "country\t{c}\t{}\t{}\n",
                self.exceeded[c],
                sparse(&self.recovery[c])
            ));
        }
        s
    }

    /// Parses the text written by [`Stats::to_text`].
    pub fn from_text(text: &str) -> Result<Stats, String> {
        let mut lines = text.lines();
        if lines.next() != Some("lodestone-sim-stats 1") {
            return Err("not a lodestone simulation statistics file (stats.txt)".into());
        }
        let mut field = |name: &str| -> Result<String, String> {
            let l = lines.next().ok_or(format!("missing {name}"))?;
            l.strip_prefix(&format!("{name}\t"))
                .map(str::to_string)
                .ok_or(format!("expected {name}, found '{l}'"))
        };
        let scenario = field("scenario")?;
        let num = |s: String, what: &str| s.parse::<f64>().map_err(|_| format!("bad {what}"));
        let seed = field("seed")?.parse::<u64>().map_err(|_| "bad seed")?;
        let months = field("months")?
            .parse::<usize>()
            .map_err(|_| "bad months")?;
        let level = num(field("level")?, "level")?;
        let countries: Vec<String> = field("countries")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let stock_initial = field("stock_initial")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| "bad stock_initial".to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ranges_text = field("ranges")?;
        let mut st = Stats::new(&scenario, seed, months, level, countries, stock_initial);
        for r in ranges_text.split(',').filter(|s| !s.is_empty()) {
            let (a, b) = r.split_once("..").ok_or("bad range")?;
            st.ranges.push((
                a.parse().map_err(|_| "bad range")?,
                b.parse().map_err(|_| "bad range")?,
            ));
        }
        let parse_sparse = |text: &str, h: &mut Vec<u64>| -> Result<(), String> {
            for kv in text.split(',').filter(|s| !s.is_empty()) {
                let (k, v) = kv.split_once(':').ok_or("bad histogram")?;
                let k: usize = k.parse().map_err(|_| "bad histogram")?;
                *h.get_mut(k).ok_or("histogram bin out of range")? =
                    v.parse().map_err(|_| "bad histogram")?;
            }
            Ok(())
        };
        for l in lines {
            let parts: Vec<&str> = l.split('\t').collect();
            match parts.as_slice() {
                ["cell", cell, a, b, c, d, sh, sk] => {
                    let cell: usize = cell.parse().map_err(|_| "bad cell")?;
                    if cell >= st.sums.len() {
                        return Err("cell out of range".into());
                    }
                    let n = |x: &str| x.parse::<i128>().map_err(|_| "bad sum".to_string());
                    st.sums[cell] = [n(a)?, n(b)?, n(c)?, n(d)?];
                    parse_sparse(sh, &mut st.short_hist[cell])?;
                    parse_sparse(sk, &mut st.stock_hist[cell])?;
                }
                ["country", c, exceeded, rec] => {
                    let c: usize = c.parse().map_err(|_| "bad country")?;
                    if c >= st.exceeded.len() {
                        return Err("country out of range".into());
                    }
                    st.exceeded[c] = exceeded.parse().map_err(|_| "bad count")?;
                    parse_sparse(rec, &mut st.recovery[c])?;
                }
                _ => return Err(format!("unexpected line '{l}'")),
            }
        }
        Ok(st)
    }

    /// The summary of the runs.
    pub fn summary(&self) -> Summary {
        let n = self.runs().max(1);
        let pct = |h: &[u64], p: f64| -> f64 {
            let target = (p * n as f64).ceil().max(1.0) as u64;
            let mut acc = 0;
            for (i, c) in h.iter().enumerate() {
                acc += c;
                if acc >= target {
                    return i as f64;
                }
            }
            (h.len() - 1) as f64
        };
        let mut rows = Vec::new();
        for (c, country) in self.countries.iter().enumerate() {
            for m in 0..self.months {
                let cell = c * self.months + m;
                let s = self.sums[cell];
                let mean = |v: i128, quantum: f64| v as f64 * quantum / n as f64;
                let demand = mean(s[0], TONNE_QUANTUM);
                let sh = &self.short_hist[cell];
                let sk = &self.stock_hist[cell];
                let init = self.stock_initial[c];
                rows.push(SummaryRow {
                    country: country.clone(),
                    month: m,
                    demand_mean: demand,
                    shortfall_mean: mean(s[1], TONNE_QUANTUM),
                    pressure_mean: mean(s[3], SHARE_QUANTUM),
                    pressure_p5: pct(sh, 0.05) / 1000.0,
                    pressure_p50: pct(sh, 0.50) / 1000.0,
                    pressure_p95: pct(sh, 0.95) / 1000.0,
                    stockpile_mean: mean(s[2], TONNE_QUANTUM),
                    stockpile_p5: pct(sk, 0.05) / 1000.0 * init,
                    stockpile_p50: pct(sk, 0.50) / 1000.0 * init,
                    stockpile_p95: pct(sk, 0.95) / 1000.0 * init,
                });
            }
        }
        let countries = self
            .countries
            .iter()
            .enumerate()
            .map(|(c, name)| {
                let h = &self.recovery[c];
                (
                    name.clone(),
                    pct(h, 0.05),
                    pct(h, 0.5),
                    pct(h, 0.95),
                    self.exceeded[c] as f64 / n as f64,
                )
            })
            .collect();
        Summary {
            runs: self.runs(),
            months: self.months,
            level: self.level,
            rows,
            countries,
        }
    }
}

/// One country and month of the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Country.
    pub country: String,
    /// Month index (0 = start).
    pub month: usize,
    /// Mean demand, t REO.
    pub demand_mean: f64,
    /// Mean shortfall, t REO.
    pub shortfall_mean: f64,
    /// Mean price-pressure proxy (shortfall over demand).
    pub pressure_mean: f64,
    /// 5th percentile of the proxy (per-mille resolution).
    pub pressure_p5: f64,
    /// Median of the proxy.
    pub pressure_p50: f64,
    /// 95th percentile of the proxy.
    pub pressure_p95: f64,
    /// Mean stockpile level, t REO.
    pub stockpile_mean: f64,
    /// 5th percentile of the stockpile level (per-mille of the initial level).
    pub stockpile_p5: f64,
    /// Median stockpile level.
    pub stockpile_p50: f64,
    /// 95th percentile of the stockpile level.
    pub stockpile_p95: f64,
}

/// The summary of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Runs included.
    pub runs: u64,
    /// Months per run.
    pub months: usize,
    /// The stated shortfall level.
    pub level: f64,
    /// Per country and month.
    pub rows: Vec<SummaryRow>,
    /// Per country: (name, months to recovery p5, p50, p95 (months + 1: not recovered), probability
    /// that the shortfall share exceeds the level in some month).
    pub countries: Vec<(String, f64, f64, f64, f64)>,
}

impl Summary {
    /// `summary.csv`: per country and month, with shortfall percentiles in t REO derived from the
    /// share percentiles times the mean demand.
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "country,month,demand_mean,shortfall_mean,shortfall_p5,shortfall_p50,shortfall_p95,pressure_mean,pressure_p5,pressure_p50,pressure_p95,stockpile_mean,stockpile_p5,stockpile_p50,stockpile_p95\n",
        );
        for r in &self.rows {
            s.push_str(&format!(
                "{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.6},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}\n",
                r.country,
                r.month,
                r.demand_mean,
                r.shortfall_mean,
                r.pressure_p5 * r.demand_mean,
                r.pressure_p50 * r.demand_mean,
                r.pressure_p95 * r.demand_mean,
                r.pressure_mean,
                r.pressure_p5,
                r.pressure_p50,
                r.pressure_p95,
                r.stockpile_mean,
                r.stockpile_p5,
                r.stockpile_p50,
                r.stockpile_p95
            ));
        }
        s
    }

    /// `countries.csv`: recovery and exceedance per country.
    pub fn countries_csv(&self) -> String {
        let mut s = format!(
            "country,recovery_months_p5,recovery_months_p50,recovery_months_p95,probability_shortfall_above_{:.0}pct\n",
            self.level * 100.0
        );
        for (c, a, b, d, p) in &self.countries {
            s.push_str(&format!("{c},{a},{b},{d},{p:.6}\n"));
        }
        s
    }
}
