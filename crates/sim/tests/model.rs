//! Hand-worked runs, mass balance every month, determinism, and exact merging of shards.

use lodestone_sim::*;

/// Mine (AUS, 10 t/month) → separator (MYS, yield 0.9) → Japan's market (demand 9 t/month).
fn chain() -> SimNetwork {
    let node =
        |id: &str, country: &str, new: f64, out: f64, cap: f64, yield_: f64, demand: f64| SimNode {
            id: id.into(),
            country: country.into(),
            base_new: new,
            base_output: out,
            capacity: cap,
            yield_,
            base_demand: demand,
            material: None,
            demand_by_material: vec![],
            elements: vec![],
            stage: None,
        };
    SimNetwork {
        nodes: vec![
            node("mine", "AUS", 10.0, 10.0, 10.0, 1.0, 0.0),
            node("sep", "MYS", 0.0, 9.0, 12.0, 0.9, 0.0),
            node("JPN", "JPN", 0.0, 0.0, 0.0, 0.0, 9.0),
        ],
        routes: vec![
            SimRoute {
                from: 0,
                to: 1,
                base: 10.0,
            },
            SimRoute {
                from: 1,
                to: 2,
                base: 9.0,
            },
        ],
    }
}

fn scenario(events: Vec<Event>, stockpiles: Vec<Stockpile>) -> Scenario {
    Scenario {
        name: "t".into(),
        seed: 7,
        months: 12,
        demand_growth: 0.0,
        allocation: Allocation::ProRata,
        events,
        stockpiles,
        inventories: vec![],
        tracked_exports: vec![],
        transit: vec![],
        end_uses: vec![],
    }
}

#[test]
fn baseline_meets_demand_and_balances() {
    let r = run(&chain(), &scenario(vec![], vec![]), 0);
    assert_eq!(r.countries, ["JPN"]);
    for rec in &r.records[0] {
        assert!(
            (rec.demand - 9.0).abs() < 1e-12 && rec.shortfall.abs() < 1e-12,
            "{rec:?}"
        );
    }
    assert!(r.max_imbalance < 1e-12);
}

#[test]
fn an_outage_causes_a_shortfall_that_a_stockpile_softens() {
    // The separator stops in months 3, 4 and 5: Japan gets nothing then; the mine's ore piles
    // up at the separator and is worked off at its spare capacity (12 t/month of output, 13.3 t
    // of input) afterwards.
    let outage = Event {
        start: Dist::Fixed(3.0),
        kind: EventKind::Outage {
            node: "sep".into(),
            months: Dist::Fixed(3.0),
        },
    };
    let r = run(&chain(), &scenario(vec![outage.clone()], vec![]), 0);
    let short: Vec<f64> = r.records[0].iter().map(|x| x.shortfall).collect();
    assert_eq!(&short[..3], &[0.0, 0.0, 0.0]);
    assert!(
        short[3..6].iter().all(|s| (s - 9.0).abs() < 1e-12),
        "{short:?}"
    );
    assert!(short[6..].iter().all(|s| s.abs() < 1e-12), "{short:?}");
    assert!(r.max_imbalance < 1e-12);
    // A 12 t stockpile releasing up to 5 t/month covers 5 + 5 + 2 t of the 27 t lost.
    let sp = Stockpile {
        country: "JPN".into(),
        initial: 12.0,
        release_per_month: 5.0,
        trigger: 0.1,
        rebuild_per_month: 0.0,
    };
    let r = run(&chain(), &scenario(vec![outage], vec![sp]), 0);
    let short: Vec<f64> = r.records[0].iter().map(|x| x.shortfall).collect();
    let stock: Vec<f64> = r.records[0].iter().map(|x| x.stockpile).collect();
    assert!(
        (short[3] - 4.0).abs() < 1e-12
            && (short[4] - 4.0).abs() < 1e-12
            && (short[5] - 7.0).abs() < 1e-12,
        "{short:?}"
    );
    assert!(
        (stock[3] - 7.0).abs() < 1e-12 && (stock[5] - 0.0).abs() < 1e-12,
        "{stock:?}"
    );
    assert!(r.max_imbalance < 1e-12);
}

#[test]
fn export_bans_quotas_and_licences() {
    let restrict = |mode| Event {
        start: Dist::Fixed(0.0),
        kind: EventKind::ExportRestriction {
            issuer: "MYS".into(),
            destinations: vec![],
            months: None,
            mode,
            elements: Vec::new(),
            unresolved_covered: true,
        },
    };
    let r = run(
        &chain(),
        &scenario(vec![restrict(Restriction::Ban)], vec![]),
        0,
    );
    assert!(
        r.records[0]
            .iter()
            .all(|x| (x.shortfall - 9.0).abs() < 1e-12)
    );
    let r = run(
        &chain(),
        &scenario(vec![restrict(Restriction::Quota(0.5))], vec![]),
        0,
    );
    assert!((r.records[0][0].shortfall - 4.5).abs() < 1e-12);
    // Licences always approved but two months late: nothing arrives in months 0 and 1.
    let lic = Restriction::Licensing {
        approval: 1.0,
        delay_months: Dist::Fixed(2.0),
        ramp: None,
    };
    let r = run(&chain(), &scenario(vec![restrict(lic)], vec![]), 0);
    let short: Vec<f64> = r.records[0].iter().map(|x| x.shortfall).collect();
    assert!(
        (short[0] - 9.0).abs() < 1e-12 && (short[1] - 9.0).abs() < 1e-12 && short[2].abs() < 1e-12,
        "{short:?}"
    );
    assert!(r.max_imbalance < 1e-12);
}

fn uncertain() -> Scenario {
    scenario(
        vec![
            Event {
                start: Dist::Uniform {
                    low: 0.0,
                    high: 6.0,
                },
                kind: EventKind::Outage {
                    node: "sep".into(),
                    months: Dist::Triangular {
                        low: 1.0,
                        mode: 2.0,
                        high: 5.0,
                    },
                },
            },
            Event {
                start: Dist::Fixed(4.0),
                kind: EventKind::ExportRestriction {
                    issuer: "AUS".into(),
                    destinations: vec![],
                    months: Some(Dist::LogNormal {
                        mu: 0.5,
                        sigma: 0.5,
                    }),
                    mode: Restriction::Licensing {
                        approval: 0.6,
                        delay_months: Dist::Empirical(vec![0.0, 1.0, 2.0]),
                        ramp: None,
                    },
                    elements: vec![],
                    unresolved_covered: true,
                },
            },
        ],
        vec![Stockpile {
            country: "JPN".into(),
            initial: 20.0,
            release_per_month: 4.0,
            trigger: 0.05,
            rebuild_per_month: 0.0,
        }],
    )
}

#[test]
fn runs_are_reproducible_and_balance_every_month() {
    let net = chain();
    let sc = uncertain();
    for i in 0..200 {
        let a = run(&net, &sc, i);
        assert_eq!(a, run(&net, &sc, i), "run {i} is not reproducible");
        assert!(
            a.max_imbalance < 1e-9,
            "run {i}: mass balance off by {}",
            a.max_imbalance
        );
    }
    assert_ne!(
        run(&net, &sc, 1),
        run(&net, &sc, 2),
        "different runs draw differently"
    );
}

#[test]
fn shards_merge_exactly_into_the_single_batch() {
    let net = chain();
    let sc = uncertain();
    let stats = |a: u64, b: u64| {
        let mut s = Stats::new(
            &sc.name,
            sc.seed,
            sc.months,
            0.2,
            vec!["JPN".into()],
            vec![20.0],
        );
        for i in a..b {
            s.add(&run(&net, &sc, i));
        }
        s.cover(a, b);
        s
    };
    let single = stats(0, 300);
    let mut merged = stats(120, 300);
    merged.merge(&stats(0, 120)).unwrap();
    assert_eq!(single.to_text(), merged.to_text());
    assert_eq!(single.summary().to_csv(), merged.summary().to_csv());
    // Round trip of the state file, and refusal to merge overlapping runs.
    assert_eq!(
        Stats::from_text(&single.to_text()).unwrap().to_text(),
        single.to_text()
    );
    assert!(merged.merge(&stats(50, 60)).is_err());
    let summary = single.summary();
    assert_eq!(summary.runs, 300);
    assert!(
        summary
            .rows
            .iter()
            .all(|r| r.pressure_p5 <= r.pressure_p50 && r.pressure_p50 <= r.pressure_p95)
    );
}

/// Two mines: A (Korea's supplier only, 10 t/month) and B (10 t/month, shipping 5 to Japan and 5
/// to Korea); Japan needs 15, Korea 5 (A ships 10 to Japan).
fn two_markets() -> SimNetwork {
    let node = |id: &str, country: &str, new: f64, out: f64, demand: f64| SimNode {
        id: id.into(),
        country: country.into(),
        base_new: new,
        base_output: out,
        capacity: out,
        yield_: if out > 0.0 { 1.0 } else { 0.0 },
        base_demand: demand,
        material: None,
        demand_by_material: vec![],
        elements: vec![],
        stage: None,
    };
    SimNetwork {
        nodes: vec![
            node("a", "AUS", 10.0, 10.0, 0.0),
            node("b", "USA", 10.0, 10.0, 0.0),
            node("JPN", "JPN", 0.0, 0.0, 15.0),
            node("KOR", "KOR", 0.0, 0.0, 5.0),
        ],
        routes: vec![
            SimRoute {
                from: 0,
                to: 2,
                base: 10.0,
            },
            SimRoute {
                from: 1,
                to: 2,
                base: 5.0,
            },
            SimRoute {
                from: 1,
                to: 3,
                base: 5.0,
            },
        ],
    }
}

#[test]
fn lp_allocation_follows_priorities_and_avoids_tariffs() {
    let outage = Event {
        start: Dist::Fixed(0.0),
        kind: EventKind::Outage {
            node: "a".into(),
            months: Dist::Fixed(12.0),
        },
    };
    let short = |alloc: Allocation, extra: Vec<Event>| {
        let mut events = vec![outage.clone()];
        events.extend(extra);
        let sc = Scenario {
            allocation: alloc,
            ..scenario(events, vec![])
        };
        let r = run(&two_markets(), &sc, 0);
        assert!(r.max_imbalance < 1e-9);
        let i = |c: &str| r.countries.iter().position(|x| x == c).unwrap();
        (
            r.records[i("JPN")][1].shortfall,
            r.records[i("KOR")][1].shortfall,
        )
    };
    // Pro rata: B keeps its 5/5 split; Japan is 10 short.
    let (j, k) = short(Allocation::ProRata, vec![]);
    assert!((j - 10.0).abs() < 1e-9 && k.abs() < 1e-9, "{j} {k}");
    // LP with Japan first: all of B's 10 t goes to Japan; Korea is 5 short.
    let (j, k) = short(Allocation::Lp(vec!["JPN".into()]), vec![]);
    assert!((j - 5.0).abs() < 1e-6 && (k - 5.0).abs() < 1e-6, "{j} {k}");
    // LP with Japan first but a tariff on US material entering Japan: consumption still comes
    // first (weights dominate costs), so the split stays.
    let tariff = Event {
        start: Dist::Fixed(0.0),
        kind: EventKind::Tariff {
            importer: "JPN".into(),
            origins: vec!["USA".into()],
            rate: 1.0,
            months: None,
        },
    };
    let (j, k) = short(Allocation::Lp(vec!["JPN".into()]), vec![tariff.clone()]);
    assert!((j - 5.0).abs() < 1e-6 && (k - 5.0).abs() < 1e-6, "{j} {k}");
    // LP with equal weights: the tariff breaks the tie, Korea is served first.
    let (j, k) = short(Allocation::Lp(vec![]), vec![tariff]);
    assert!((j - 10.0).abs() < 1e-6 && k.abs() < 1e-6, "{j} {k}");
}

#[test]
fn end_uses_are_served_in_priority_order() {
    // Japan loses the separator for three months; defence (10 %) is served before EVs (90 %).
    let outage = Event {
        start: Dist::Fixed(3.0),
        kind: EventKind::Outage {
            node: "sep".into(),
            months: Dist::Fixed(3.0),
        },
    };
    let mut sc = scenario(
        vec![outage],
        vec![Stockpile {
            country: "JPN".into(),
            initial: 12.0,
            release_per_month: 5.0,
            trigger: 0.1,
            rebuild_per_month: 2.0,
        }],
    );
    sc.end_uses = vec![
        EndUse {
            country: "JPN".into(),
            end_use: "defence".into(),
            share: 0.1,
            priority: 1,
        },
        EndUse {
            country: "JPN".into(),
            end_use: "ev".into(),
            share: 0.9,
            priority: 2,
        },
    ];
    let r = run(&chain(), &sc, 0);
    assert_eq!(r.countries, ["JPN", "JPN:defence", "JPN:ev"]);
    // Month 3: 5 t released of 9 t demand: defence gets its 0.9 t, EVs 4.1 of 8.1 t.
    assert!((r.records[1][3].shortfall).abs() < 1e-12);
    assert!(
        (r.records[2][3].shortfall - 4.0).abs() < 1e-12,
        "{:?}",
        r.records[2][3]
    );
    // After the outage the stockpile is rebuilt at 2 t/month from surplus.
    let stock: Vec<f64> = r.records[0].iter().map(|x| x.stockpile).collect();
    assert!(stock[11] > stock[6], "{stock:?}");
    assert!(r.max_imbalance < 1e-9);
}

/// Japan buys 6 t/month of oxide from Malaysia and 4 t of motors from China.
fn oxide_and_motors() -> SimNetwork {
    // Japan buys 6 t/month of oxide (from product node sep/oxide) and 4 t of motors (motor/motors).
    let node = |id: &str, country: &str, new: f64, out: f64, material: Option<&str>| SimNode {
        id: id.into(),
        country: country.into(),
        base_new: new,
        base_output: out,
        capacity: out,
        yield_: 1.0,
        base_demand: 0.0,
        material: material.map(str::to_string),
        demand_by_material: vec![],
        elements: vec![],
        stage: None,
    };
    let mut jpn = node("JPN", "JPN", 0.0, 0.0, None);
    jpn.base_demand = 10.0;
    jpn.yield_ = 0.0;
    jpn.demand_by_material = vec![("oxide".into(), 6.0), ("motors".into(), 4.0)];
    SimNetwork {
        nodes: vec![
            node("sep", "MYS", 6.0, 6.0, None),
            node("sep/oxide", "MYS", 0.0, 6.0, Some("oxide")),
            node("motor", "CHN", 4.0, 4.0, None),
            node("motor/motors", "CHN", 0.0, 4.0, Some("motors")),
            jpn,
        ],
        routes: vec![
            SimRoute {
                from: 0,
                to: 1,
                base: 6.0,
            },
            SimRoute {
                from: 1,
                to: 4,
                base: 6.0,
            },
            SimRoute {
                from: 2,
                to: 3,
                base: 4.0,
            },
            SimRoute {
                from: 3,
                to: 4,
                base: 4.0,
            },
        ],
    }
}

#[test]
fn shortfalls_are_reported_by_final_use_material() {
    let net = oxide_and_motors();
    let outage = Event {
        start: Dist::Fixed(2.0),
        kind: EventKind::Outage {
            node: "motor".into(),
            months: Dist::Fixed(2.0),
        },
    };
    let r = run(&net, &scenario(vec![outage], vec![]), 0);
    assert_eq!(r.countries, ["JPN", "JPN/motors", "JPN/oxide"]);
    let short = |k: usize, m: usize| r.records[k][m].shortfall;
    assert!(short(0, 1).abs() < 1e-12 && (short(0, 2) - 4.0).abs() < 1e-12);
    assert!(
        (short(1, 2) - 4.0).abs() < 1e-12 && short(2, 2).abs() < 1e-12,
        "only motors are short"
    );
    assert!(short(1, 4).abs() < 1e-12, "recovered");
    assert!(r.max_imbalance < 1e-9);
}

/// A market's working stock is held per material: with half a month of cover (2 t of motors,
/// 3 t of oxide), a two-month motor outage is short 4 − 2 = 2 t in its first month and 4 t in
/// its second, and the oxide stock is not touched. (A stock of any material covering any
/// shortfall would have hidden the first month entirely.)
#[test]
fn working_stocks_cover_only_their_own_material() {
    let outage = Event {
        start: Dist::Fixed(2.0),
        kind: EventKind::Outage {
            node: "motor".into(),
            months: Dist::Fixed(2.0),
        },
    };
    let mut sc = scenario(vec![outage], vec![]);
    sc.inventories = vec![Inventory {
        country: "JPN".into(),
        stage: None,
        days_of_cover: Dist::Fixed(DAYS_PER_MONTH / 2.0),
        rebuild_months: 2.0,
    }];
    let r = run(&oxide_and_motors(), &sc, 0);
    assert_eq!(r.countries, ["JPN", "JPN/motors", "JPN/oxide"]);
    let at = |k: usize, m: usize| r.records[k][m];
    assert!(at(1, 1).shortfall.abs() < 1e-12);
    assert!((at(1, 2).shortfall - 2.0).abs() < 1e-9, "{:?}", at(1, 2));
    assert!((at(1, 3).shortfall - 4.0).abs() < 1e-9, "{:?}", at(1, 3));
    assert!((at(0, 2).shortfall - 2.0).abs() < 1e-9, "{:?}", at(0, 2));
    for m in 0..12 {
        assert!(at(2, m).shortfall.abs() < 1e-12, "oxide is never short");
        assert!(
            (at(2, m).working_stock - 3.0).abs() < 1e-9,
            "{:?}",
            at(2, m)
        );
    }
    assert!(at(1, 2).working_stock.abs() < 1e-9 && at(1, 3).working_stock.abs() < 1e-9);
    assert!(
        (at(0, 3).working_stock - 3.0).abs() < 1e-9,
        "{:?}",
        at(0, 3)
    );
    assert!(r.max_imbalance < 1e-9, "{}", r.max_imbalance);
}

#[test]
fn batches_do_not_depend_on_the_thread_count_and_can_be_cancelled() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let net = chain();
    let sc = uncertain();
    let go = AtomicBool::new(false);
    let batch = |threads: usize, progress: &AtomicU64| {
        run_batch(&net, &sc, 0.2, (10, 310), threads, progress, &go).expect("not cancelled")
    };
    let (p1, p3) = (AtomicU64::new(0), AtomicU64::new(0));
    let one = batch(1, &p1);
    let three = batch(3, &p3);
    assert_eq!(one.to_text(), three.to_text());
    assert_eq!(one.runs(), 300);
    assert_eq!(p1.load(Ordering::Relaxed), 300);
    assert_eq!(p3.load(Ordering::Relaxed), 300);
    // The headline agrees with the summary it condenses.
    let h = one.headline();
    let s = one.summary();
    let jpn = h.iter().find(|r| r.country == "JPN").expect("JPN series");
    let total: f64 = s
        .rows
        .iter()
        .filter(|r| r.country == "JPN")
        .map(|r| r.shortfall_mean)
        .sum();
    assert!((jpn.total_shortfall_t_reo_mean - total).abs() < 1e-9);
    assert!((0.0..=1.0).contains(&jpn.probability_shortfall_above_level));
    // A cancelled batch stops and reports nothing.
    let stop = AtomicBool::new(true);
    let p = AtomicU64::new(0);
    assert!(run_batch(&net, &sc, 0.2, (0, 1000), 2, &p, &stop).is_none());
    assert_eq!(p.load(Ordering::Relaxed), 0);
}

/// China ships magnets (with Dy) and La/Ce oxide to Japan's market; a ban on exports containing
/// the seven elements of April 2025 stops the magnets and leaves the La/Ce oxide alone.
#[test]
fn an_element_restriction_reaches_magnets_through_their_dy_and_leaves_la_ce_alone() {
    let node =
        |id: &str, country: &str, new: f64, out: f64, demand: f64, elements: &[(&str, f64)]| {
            SimNode {
                id: id.into(),
                country: country.into(),
                base_new: new,
                base_output: out,
                capacity: out,
                yield_: 1.0,
                base_demand: demand,
                material: None,
                demand_by_material: vec![],
                elements: elements.iter().map(|(e, f)| (e.to_string(), *f)).collect(),
                stage: None,
            }
        };
    let net = SimNetwork {
        nodes: vec![
            node("magnets", "CHN", 4.0, 4.0, 0.0, &[("nd", 0.9), ("dy", 0.1)]),
            node("lace", "CHN", 6.0, 6.0, 0.0, &[("la", 0.4), ("ce", 0.6)]),
            node("basket", "CHN", 2.0, 2.0, 0.0, &[("other", 1.0)]),
            node("JPN", "JPN", 0.0, 0.0, 12.0, &[]),
        ],
        routes: vec![
            SimRoute {
                from: 0,
                to: 3,
                base: 4.0,
            },
            SimRoute {
                from: 1,
                to: 3,
                base: 6.0,
            },
            SimRoute {
                from: 2,
                to: 3,
                base: 2.0,
            },
        ],
    };
    let seven: Vec<String> = ["sm", "gd", "tb", "dy", "lu", "sc", "y"]
        .iter()
        .map(|e| e.to_string())
        .collect();
    let ban = |unresolved_covered| Event {
        start: Dist::Fixed(0.0),
        kind: EventKind::ExportRestriction {
            issuer: "CHN".into(),
            destinations: vec![],
            months: None,
            mode: Restriction::Ban,
            elements: seven.clone(),
            unresolved_covered,
        },
    };
    // The magnets' 4 t/month are stopped; La/Ce's 6 t arrive; the unresolved basket's 2 t are
    // stopped when unresolved content counts as covered, and arrive when it does not.
    let r = run(&net, &scenario(vec![ban(true)], vec![]), 0);
    assert!(
        r.records[0]
            .iter()
            .all(|x| (x.shortfall - 6.0).abs() < 1e-12),
        "{:?}",
        r.records[0]
    );
    let r = run(&net, &scenario(vec![ban(false)], vec![]), 0);
    assert!(
        r.records[0]
            .iter()
            .all(|x| (x.shortfall - 4.0).abs() < 1e-12),
        "{:?}",
        r.records[0]
    );
    assert!(r.max_imbalance < 1e-12);
}

/// Japan's market holds 15 days of its 9 t/month demand (4.44 t). The separator's exports are
/// banned in months 3 and 4: in month 3 the working stock covers 4.44 t of the 9 t lost, and
/// only the rest is a shortfall; in month 4 the stock is empty and all 9 t are short. From
/// month 5 the separator ships its backlog; the surplus rebuilds the stock at its rate
/// (4.44 t over 2 months: 2.22 t/month).
#[test]
fn working_stocks_are_drawn_before_a_shortfall_and_rebuilt_after() {
    let ban = Event {
        start: Dist::Fixed(3.0),
        kind: EventKind::ExportRestriction {
            issuer: "MYS".into(),
            destinations: vec![],
            months: Some(Dist::Fixed(2.0)),
            mode: Restriction::Ban,
            elements: Vec::new(),
            unresolved_covered: true,
        },
    };
    let cover = 9.0 * 15.0 / DAYS_PER_MONTH;
    let mut sc = scenario(vec![ban.clone()], vec![]);
    sc.inventories = vec![Inventory {
        country: "all".into(),
        stage: None,
        days_of_cover: Dist::Fixed(15.0),
        rebuild_months: 2.0,
    }];
    let r = run(&chain(), &sc, 0);
    let short: Vec<f64> = r.records[0].iter().map(|x| x.shortfall).collect();
    assert!(short[..3].iter().all(|s| s.abs() < 1e-12), "{short:?}");
    assert!((short[3] - (9.0 - cover)).abs() < 1e-9, "{short:?}");
    assert!((short[4] - 9.0).abs() < 1e-9, "{short:?}");
    assert!(short[5..].iter().all(|s| s.abs() < 1e-9), "{short:?}");
    // Working stocks are not reported as the (strategic) stockpile.
    assert!(r.records[0].iter().all(|x| x.stockpile == 0.0));
    let level: Vec<f64> = r.records[0].iter().map(|x| x.working_stock).collect();
    assert!((level[2] - cover).abs() < 1e-9, "{level:?}");
    assert!(level[3].abs() < 1e-9 && level[4].abs() < 1e-9, "{level:?}");
    // The backlog arrives in month 5: the stock rebuilds at cover/2 per month, full in month 6.
    assert!((level[5] - cover / 2.0).abs() < 1e-9, "{level:?}");
    assert!((level[6] - cover).abs() < 1e-9, "{level:?}");
    assert!(r.max_imbalance < 1e-9, "{}", r.max_imbalance);
    // Without the working stock, month 3 loses all 9 t.
    let r = run(&chain(), &scenario(vec![ban], vec![]), 0);
    assert!((r.records[0][3].shortfall - 9.0).abs() < 1e-9);
}

/// Tracked exports: China's magnet node ships 4 t/month to Japan; a ban in months 0 and 1 stops
/// them, and in month 2 the 8 t held back leave with the month's 4 t. The series count what
/// leaves China each month, by destination and in total.
#[test]
fn tracked_exports_record_what_leaves_each_month() {
    let node =
        |id: &str, country: &str, new: f64, out: f64, demand: f64, material: Option<&str>| {
            SimNode {
                id: id.into(),
                country: country.into(),
                base_new: new,
                base_output: out,
                capacity: out,
                yield_: 1.0,
                base_demand: demand,
                material: material.map(str::to_string),
                demand_by_material: vec![],
                elements: vec![],
                stage: None,
            }
        };
    let net = SimNetwork {
        nodes: vec![
            node("magnets", "CHN", 4.0, 4.0, 0.0, Some("magnet")),
            node("JPN", "JPN", 0.0, 0.0, 4.0, None),
        ],
        routes: vec![SimRoute {
            from: 0,
            to: 1,
            base: 4.0,
        }],
    };
    let mut sc = scenario(
        vec![Event {
            start: Dist::Fixed(0.0),
            kind: EventKind::ExportRestriction {
                issuer: "CHN".into(),
                destinations: vec![],
                months: Some(Dist::Fixed(2.0)),
                mode: Restriction::Ban,
                elements: Vec::new(),
                unresolved_covered: true,
            },
        }],
        vec![],
    );
    sc.tracked_exports = vec![TrackedExports {
        issuer: "CHN".into(),
        materials: vec!["magnet".into()],
    }];
    let r = run(&net, &sc, 0);
    for name in ["EXPORTS:CHN>JPN", "EXPORTS:CHN>WLD"] {
        let k = r.countries.iter().position(|c| c == name).unwrap();
        let exported: Vec<f64> = r.records[k].iter().map(|x| x.consumed).collect();
        assert_eq!(
            &exported[..4],
            &[0.0, 0.0, 12.0, 4.0],
            "{name}: {exported:?}"
        );
        assert!(r.records[k].iter().all(|x| x.demand == 4.0));
    }
    assert!(r.max_imbalance < 1e-9);
}

/// A licence regime whose approval ramps from 0 to 1 over two months: nothing ships in month 0,
/// half the runs' shipments in month 1 on average, everything from month 2.
#[test]
fn approval_ramps_up_over_the_stated_months() {
    let lic = Event {
        start: Dist::Fixed(0.0),
        kind: EventKind::ExportRestriction {
            issuer: "MYS".into(),
            destinations: vec![],
            months: None,
            mode: Restriction::Licensing {
                approval: 0.0,
                delay_months: Dist::Fixed(0.0),
                ramp: Some((1.0, 2.0)),
            },
            elements: Vec::new(),
            unresolved_covered: true,
        },
    };
    let sc = scenario(vec![lic], vec![]);
    let runs = 400;
    let mut month1 = 0.0;
    for i in 0..runs {
        let r = run(&chain(), &sc, i);
        // Month 0: approval 0, Japan gets nothing.
        assert!((r.records[0][0].shortfall - 9.0).abs() < 1e-9);
        month1 += r.records[0][1].shortfall;
        // From month 2 every shipment is approved: the backlog arrives and demand is met.
        assert!(r.records[0][3..].iter().all(|x| x.shortfall.abs() < 1e-9));
    }
    // Month 1: approval 0.5, so about half the runs are short of 9 t.
    let mean = month1 / runs as f64;
    assert!((mean - 4.5).abs() < 1.0, "{mean}");
}

/// Shipments from Malaysia to Japan take a month: in steady state the pipeline is full and Japan
/// is supplied every month; a ban on Malaysia's exports in months 3 and 4 reaches Japan's market
/// a month later, in months 4 and 5.
#[test]
fn transit_times_delay_a_cut_off_by_the_route_s_months() {
    let ban = Event {
        start: Dist::Fixed(3.0),
        kind: EventKind::ExportRestriction {
            issuer: "MYS".into(),
            destinations: vec![],
            months: Some(Dist::Fixed(2.0)),
            mode: Restriction::Ban,
            elements: Vec::new(),
            unresolved_covered: true,
        },
    };
    let mut sc = scenario(vec![ban], vec![]);
    sc.transit = vec![Transit {
        from: "MYS".into(),
        to: "all".into(),
        months: Dist::Fixed(1.0),
    }];
    let r = run(&chain(), &sc, 0);
    let short: Vec<f64> = r.records[0].iter().map(|x| x.shortfall).collect();
    assert!(short[..4].iter().all(|s| s.abs() < 1e-9), "{short:?}");
    assert!(
        (short[4] - 9.0).abs() < 1e-9 && (short[5] - 9.0).abs() < 1e-9,
        "{short:?}"
    );
    assert!(short[7..].iter().all(|s| s.abs() < 1e-9), "{short:?}");
    assert!(r.max_imbalance < 1e-9);
}

/// The separator holds a month of its input (10 t): when the mine stops in months 3 and 4, it
/// keeps shipping in month 3 from its stock, and Japan is short only in month 4. The mine's base
/// output leaves no surplus, so the stock is not rebuilt.
#[test]
fn a_plant_s_working_stock_keeps_it_shipping_while_it_lasts() {
    let outage = Event {
        start: Dist::Fixed(3.0),
        kind: EventKind::Outage {
            node: "mine".into(),
            months: Dist::Fixed(2.0),
        },
    };
    let mut net = chain();
    // The separator's product is a (stage) `oxide`: give the Japanese market's route a stage.
    net.nodes[2].stage = Some("oxide".into());
    let mut sc = scenario(vec![outage.clone()], vec![]);
    sc.inventories = vec![Inventory {
        country: "all".into(),
        stage: Some("oxide".into()),
        days_of_cover: Dist::Fixed(DAYS_PER_MONTH),
        rebuild_months: 1.0,
    }];
    let r = run(&net, &sc, 0);
    let short: Vec<f64> = r.records[0].iter().map(|x| x.shortfall).collect();
    assert!(short[..4].iter().all(|s| s.abs() < 1e-9), "{short:?}");
    assert!((short[4] - 9.0).abs() < 1e-9, "{short:?}");
    assert!(short[5..].iter().all(|s| s.abs() < 1e-9), "{short:?}");
    assert!(r.max_imbalance < 1e-9, "{}", r.max_imbalance);
    // Without it, months 3 and 4 are short.
    let r = run(&net, &scenario(vec![outage], vec![]), 0);
    assert!((r.records[0][3].shortfall - 9.0).abs() < 1e-9);
}

/// Dy is a commodity of its own: a Japanese magnet plant makes 10 t/month (REO) from 9 t of
/// Malaysian NdPr oxide and 1 t of Chinese Dy metal, and Japan also buys 5 t of Chinese La/Ce
/// oxide. A ban on China's exports containing the seven elements in months 2 and 3 stops the Dy;
/// without it the plant makes no magnets at all (not 90 % of them: NdPr does not replace Dy),
/// and the NdPr waits at the plant. La/Ce arrives throughout. In month 4 the held-back Dy
/// arrives and the plant runs again (up to its capacity of 10 t).
#[test]
fn a_plant_cannot_replace_its_dy_with_other_rare_earths() {
    let node = |id: &str, country: &str, new: f64, out: f64, elements: &[(&str, f64)]| SimNode {
        id: id.into(),
        country: country.into(),
        base_new: new,
        base_output: out,
        capacity: out,
        yield_: 1.0,
        base_demand: 0.0,
        material: None,
        demand_by_material: vec![],
        elements: elements.iter().map(|(e, f)| (e.to_string(), *f)).collect(),
        stage: None,
    };
    let product = |id: &str, country: &str, out: f64, material: &str, el: &[(&str, f64)]| {
        let mut p = node(id, country, 0.0, out, el);
        p.material = Some(material.into());
        p.capacity = 1e9;
        p
    };
    let mut jpn = node("JPN", "JPN", 0.0, 0.0, &[]);
    jpn.base_demand = 15.0;
    jpn.yield_ = 0.0;
    jpn.demand_by_material = vec![("magnets".into(), 10.0), ("la_ce".into(), 5.0)];
    let magnet_elements = [("nd", 0.675), ("pr", 0.225), ("dy", 0.1)];
    let net = SimNetwork {
        nodes: vec![
            node("mys_sep", "MYS", 9.0, 9.0, &[]),
            product(
                "mys_sep/ndpr",
                "MYS",
                9.0,
                "ndpr",
                &[("nd", 0.75), ("pr", 0.25)],
            ),
            node("chn_metal", "CHN", 1.0, 1.0, &[]),
            product("chn_metal/dy", "CHN", 1.0, "dy_metal", &[("dy", 1.0)]),
            node("jpn_magnet", "JPN", 0.0, 10.0, &[]),
            product(
                "jpn_magnet/magnets",
                "JPN",
                10.0,
                "magnets",
                &magnet_elements,
            ),
            node("chn_sep", "CHN", 5.0, 5.0, &[]),
            product(
                "chn_sep/la_ce",
                "CHN",
                5.0,
                "la_ce",
                &[("la", 0.6), ("ce", 0.4)],
            ),
            jpn,
        ],
        routes: [
            (0, 1, 9.0),
            (1, 4, 9.0),
            (2, 3, 1.0),
            (3, 4, 1.0),
            (4, 5, 10.0),
        ]
        .into_iter()
        .chain([(5, 8, 10.0), (6, 7, 5.0), (7, 8, 5.0)])
        .map(|(from, to, base)| SimRoute { from, to, base })
        .collect(),
    };
    let ban = Event {
        start: Dist::Fixed(2.0),
        kind: EventKind::ExportRestriction {
            issuer: "CHN".into(),
            destinations: vec![],
            months: Some(Dist::Fixed(2.0)),
            mode: Restriction::Ban,
            elements: ["sm", "gd", "tb", "dy", "lu", "sc", "y"]
                .iter()
                .map(|e| e.to_string())
                .collect(),
            unresolved_covered: true,
        },
    };
    let r = run(&net, &scenario(vec![ban], vec![]), 0);
    assert_eq!(r.countries, ["JPN", "JPN/la_ce", "JPN/magnets"]);
    let short = |k: usize, m: usize| r.records[k][m].shortfall;
    for m in [0, 1, 4, 5] {
        assert!(short(0, m).abs() < 1e-9, "month {m}: {:?}", r.records[0][m]);
    }
    for m in [2, 3] {
        assert!(
            (short(2, m) - 10.0).abs() < 1e-9,
            "month {m}: {:?}",
            r.records[2][m]
        );
        assert!(
            (short(0, m) - 10.0).abs() < 1e-9,
            "month {m}: {:?}",
            r.records[0][m]
        );
    }
    assert!(
        (0..12).all(|m| short(1, m).abs() < 1e-12),
        "La/Ce arrives throughout"
    );
    assert!(r.max_imbalance < 1e-9, "{}", r.max_imbalance);
}
