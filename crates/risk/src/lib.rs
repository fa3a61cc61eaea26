//! Supply-risk analytics over plain data.
//!
//! * [`concentration`]: each supplier's share of a total, the Herfindahl–Hirschman index and
//!   top-1 / top-3 shares.
//! * [`dependency`]: a consumer's supply by origin, first tier (who shipped it) against traced
//!   (where the content was mined, separated, …), and the hidden dependency between them.
//! * [`max_flow`]: the most a capacitated network can deliver, used to measure the supply a
//!   country loses when a facility stops, with re-routing through spare capacity elsewhere.
//!
//! No I/O: `lodestone-format` gathers the inputs from a dataset and its trace.

mod flow;

pub use flow::{FlowNetwork, max_flow};

/// One supplier's share.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    /// Supplier key (a country code, a company id …).
    pub key: String,
    /// Its quantity.
    pub quantity: f64,
    /// Its share of the total (a fraction).
    pub share: f64,
}

/// Concentration of a market.
#[derive(Debug, Clone, PartialEq)]
pub struct Concentration {
    /// Shares, largest first (ties by key).
    pub shares: Vec<Share>,
    /// Total quantity.
    pub total: f64,
    /// Herfindahl–Hirschman index on percentage shares: Σ (100·share)², from near 0 (atomistic)
    /// to 10,000 (monopoly). Above 2,500 is "highly concentrated" in the US merger guidelines.
    pub hhi: f64,
    /// Largest share.
    pub top1: f64,
    /// Sum of the three largest shares.
    pub top3: f64,
}

/// Concentration of `(key, quantity)` entries; entries with the same key add up, non-positive
/// quantities are ignored. An empty or zero market has no shares and zero indices.
pub fn concentration<'a>(entries: impl IntoIterator<Item = (&'a str, f64)>) -> Concentration {
    let mut by_key: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
    for (k, q) in entries {
        if q > 0.0 && q.is_finite() {
            *by_key.entry(k).or_default() += q;
        }
    }
    let total: f64 = by_key.values().sum();
    let mut shares: Vec<Share> = by_key
        .into_iter()
        .map(|(k, q)| Share {
            key: k.to_string(),
            quantity: q,
            share: if total > 0.0 { q / total } else { 0.0 },
        })
        .collect();
    shares.sort_by(|a, b| b.quantity.total_cmp(&a.quantity).then(a.key.cmp(&b.key)));
    let hhi = shares.iter().map(|s| (100.0 * s.share).powi(2)).sum();
    let top1 = shares.first().map_or(0.0, |s| s.share);
    let top3 = shares.iter().take(3).map(|s| s.share).sum();
    Concentration {
        shares,
        total,
        hhi,
        top1,
        top3,
    }
}

/// A consumer's dependency on one origin.
#[derive(Debug, Clone, PartialEq)]
pub struct DependencyRow {
    /// Origin country.
    pub origin: String,
    /// Share of the consumer's receipts shipped by suppliers in that country (first tier).
    pub direct: f64,
    /// Share of the content of those receipts that carries the origin's tag (e.g. separated there).
    pub traced: f64,
    /// `traced − direct`: dependency invisible in trade statistics when positive.
    pub hidden: f64,
}

/// One receipt of a consumer: who shipped it, how much, and the per-unit shares of its content by
/// origin (for one tag family, e.g. where it was separated).
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Country of the shipper.
    pub shipper_country: String,
    /// Quantity received.
    pub quantity: f64,
    /// Per-unit content by origin country (shares of the receipt, each at most 1).
    pub content: Vec<(String, f64)>,
}

/// Direct against traced dependency of a consumer over its receipts, largest traced first.
pub fn dependency(receipts: &[Receipt]) -> Vec<DependencyRow> {
    let total: f64 = receipts.iter().map(|r| r.quantity).sum();
    let mut direct: std::collections::BTreeMap<String, f64> = Default::default();
    let mut traced: std::collections::BTreeMap<String, f64> = Default::default();
    for r in receipts {
        *direct.entry(r.shipper_country.clone()).or_default() += r.quantity;
        for (origin, share) in &r.content {
            *traced.entry(origin.clone()).or_default() += r.quantity * share;
        }
    }
    let mut keys: Vec<String> = direct.keys().chain(traced.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let frac = |m: &std::collections::BTreeMap<String, f64>, k: &str| {
        if total > 0.0 {
            m.get(k).copied().unwrap_or(0.0) / total
        } else {
            0.0
        }
    };
    let mut rows: Vec<DependencyRow> = keys
        .into_iter()
        .map(|k| {
            let (d, t) = (frac(&direct, &k), frac(&traced, &k));
            DependencyRow {
                origin: k,
                direct: d,
                traced: t,
                hidden: t - d,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.traced
            .total_cmp(&a.traced)
            .then(b.direct.total_cmp(&a.direct))
            .then(a.origin.cmp(&b.origin))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hhi_and_top_shares_by_hand() {
        // 60 / 30 / 10: HHI = 3600 + 900 + 100 = 4600.
        let c = concentration([("CHN", 60.0), ("MYS", 30.0), ("USA", 10.0)]);
        assert!((c.hhi - 4600.0).abs() < 1e-9);
        assert!((c.top1 - 0.6).abs() < 1e-12);
        assert!((c.top3 - 1.0).abs() < 1e-12);
        assert_eq!(c.shares[0].key, "CHN");
        // Same keys add up; zero and negative entries are ignored; a monopoly is 10,000.
        let c = concentration([("A", 1.0), ("A", 2.0), ("B", 0.0), ("C", -1.0)]);
        assert_eq!(c.shares.len(), 1);
        assert!((c.hhi - 10_000.0).abs() < 1e-9);
        let empty = concentration(std::iter::empty());
        assert_eq!((empty.total, empty.hhi, empty.top1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn shares_sum_to_one_and_hhi_is_bounded_on_generated_markets() {
        let mut state = 42u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f64 / (1u64 << 31) as f64
        };
        for _ in 0..500 {
            let n = 1 + (next() * 20.0) as usize;
            let keys: Vec<String> = (0..n)
                .map(|i| format!("k{}", (next() * 8.0) as usize + i % 3))
                .collect();
            let entries: Vec<(&str, f64)> =
                keys.iter().map(|k| (k.as_str(), next() * 1000.0)).collect();
            let c = concentration(entries.iter().copied());
            let sum: f64 = c.shares.iter().map(|s| s.share).sum();
            assert!((sum - 1.0).abs() < 1e-12, "{sum}");
            let k = c.shares.len() as f64;
            assert!(
                c.hhi <= 10_000.0 + 1e-6 && c.hhi >= 10_000.0 / k - 1e-6,
                "HHI {} with {k} suppliers",
                c.hhi
            );
            assert!(c.top1 <= c.top3 + 1e-15 && c.top3 <= 1.0 + 1e-12);
            assert!(c.shares.windows(2).all(|w| w[0].quantity >= w[1].quantity));
        }
    }

    #[test]
    fn direct_versus_traced_dependency_by_hand() {
        // Japan receives 100 t of magnets: 12 t shipped from China, 88 t from Japanese makers whose
        // oxide was 60 % separated in China. Direct China 12 %; traced 12 + 0.6·88 = 64.8 %.
        let receipts = vec![
            Receipt {
                shipper_country: "CHN".into(),
                quantity: 12.0,
                content: vec![("CHN".into(), 1.0)],
            },
            Receipt {
                shipper_country: "JPN".into(),
                quantity: 88.0,
                content: vec![("CHN".into(), 0.6), ("MYS".into(), 0.4)],
            },
        ];
        let rows = dependency(&receipts);
        let chn = rows.iter().find(|r| r.origin == "CHN").unwrap();
        assert!((chn.direct - 0.12).abs() < 1e-12);
        assert!((chn.traced - 0.648).abs() < 1e-12);
        assert!((chn.hidden - 0.528).abs() < 1e-12);
        let jpn = rows.iter().find(|r| r.origin == "JPN").unwrap();
        assert!((jpn.direct - 0.88).abs() < 1e-12 && jpn.traced == 0.0);
        let total_traced: f64 = rows.iter().map(|r| r.traced).sum();
        assert!((total_traced - 1.0).abs() < 1e-12);
    }
}
