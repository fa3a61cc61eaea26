//! Reconciliation on small networks whose answers are known in closed form.

use lodestone_reconcile::*;

fn var(name: &str, value: f64, sigma: f64) -> Variable {
    Variable {
        name: name.into(),
        value,
        sigma,
    }
}

fn balance(name: &str, terms: &[(usize, f64)]) -> Balance {
    Balance {
        name: name.into(),
        terms: terms.to_vec(),
        rhs: 0.0,
    }
}

fn reference(name: &str, terms: &[(usize, f64)], value: f64, sigma: f64) -> Reference {
    Reference {
        name: name.into(),
        terms: terms.to_vec(),
        value,
        sigma,
    }
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{what}: {a} != {b}");
}

/// A plant's input estimated at 110 ± 10 and its output at 100 ± 10 must be equal: both become
/// 105 (the weighted mean), with variance 10²/2 = 50; each was adjusted by 5 against an
/// adjustment variance of 100 − 50 = 50, a normalized residual of ±5/√50 = ±0.7071; χ² =
/// 0.25 + 0.25 with one degree of freedom.
#[test]
fn two_estimates_of_one_flow_meet_at_their_weighted_mean() {
    let p = Problem {
        variables: vec![var("in", 110.0, 10.0), var("out", 100.0, 10.0)],
        balances: vec![balance("plant", &[(0, 1.0), (1, -1.0)])],
        references: vec![],
    };
    let s = solve(&p, &Options::default()).unwrap();
    for v in &s.variables {
        close(v.value, 105.0, "value");
        close(v.sigma, 50f64.sqrt(), "sigma");
    }
    close(
        s.variables[0].normalized.unwrap(),
        5.0 / 50f64.sqrt(),
        "z in",
    );
    close(
        s.variables[1].normalized.unwrap(),
        -5.0 / 50f64.sqrt(),
        "z out",
    );
    close(s.chi2, 0.5, "chi2");
    assert_eq!(s.dof, 1);
}

/// The same plant with a published figure for its input, 100 ± 10: three equally weighted
/// values of one quantity (110, 100, 100) meet at 103.33, variance 100/3. The figure's residual
/// is −3.33 (−0.333 of its σ), against a residual variance of 100 − 33.33 = 66.67: normalized
/// −3.333/√66.67 = −0.4082.
#[test]
fn a_reference_figure_pulls_the_estimates_by_its_weight() {
    let p = Problem {
        variables: vec![var("in", 110.0, 10.0), var("out", 100.0, 10.0)],
        balances: vec![balance("plant", &[(0, 1.0), (1, -1.0)])],
        references: vec![reference("published input", &[(0, 1.0)], 100.0, 10.0)],
    };
    let s = solve(&p, &Options::default()).unwrap();
    close(s.variables[0].value, 310.0 / 3.0, "value");
    close(s.variables[0].sigma, (100.0f64 / 3.0).sqrt(), "sigma");
    let r = &s.references[0];
    assert_eq!(r.status, Status::Reconciled);
    close(r.model, 310.0 / 3.0, "model");
    close(r.in_sigmas, -1.0 / 3.0, "in sigmas");
    close(
        r.normalized.unwrap(),
        (-10.0 / 3.0) / (200.0f64 / 3.0).sqrt(),
        "normalized",
    );
    assert_eq!(s.dof, 2);
}

/// A mine ships 100 ± 30 to a plant that loses 5 ± 5 and ships 95 ± 30. The mine's production
/// is published as 100 ± 5 and the plant's output as 95 ± 5 — and a second source gives the
/// mine's production as 200 ± 5 (a gross error: a unit or a typo). The second figure cannot be
/// reconciled with the rest: it is set aside as a conflict, the rest reconcile exactly (100, 95,
/// 5, χ² = 0), and the report gives both its value (200) and the model's (100): 20 σ apart.
#[test]
fn a_gross_error_is_named_as_a_conflict_not_averaged_away() {
    let p = Problem {
        variables: vec![
            var("mine->plant", 100.0, 30.0),
            var("plant->market", 95.0, 30.0),
            var("plant loss", 5.0, 5.0),
        ],
        balances: vec![balance("plant", &[(0, 1.0), (1, -1.0), (2, -1.0)])],
        references: vec![
            reference("mine production (A)", &[(0, 1.0)], 100.0, 5.0),
            reference("plant output", &[(1, 1.0)], 95.0, 5.0),
            reference("mine production (B)", &[(0, 1.0)], 200.0, 5.0),
        ],
    };
    let s = solve(&p, &Options::default()).unwrap();
    let status: Vec<Status> = s.references.iter().map(|r| r.status).collect();
    assert_eq!(
        status,
        [Status::Reconciled, Status::Reconciled, Status::Conflict]
    );
    close(s.variables[0].value, 100.0, "mine");
    close(s.variables[1].value, 95.0, "plant");
    close(s.variables[2].value, 5.0, "loss");
    assert!(s.chi2.abs() < 1e-12, "{}", s.chi2);
    let conflict = &s.references[2];
    close(conflict.value, 200.0, "published");
    close(conflict.model, 100.0, "model");
    close(conflict.in_sigmas, 20.0, "in sigmas");
    assert!(conflict.normalized.unwrap() > 3.0);
    // Without the elimination threshold (critical = ∞) it would have been averaged in.
    let averaged = solve(
        &p,
        &Options {
            critical: f64::INFINITY,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(averaged.variables[0].value > 120.0);
}

/// A loss that would come out negative is held at zero. Input 10 ± 10, output 30 ± 1, loss
/// 0 ± 10, input = output + loss: unconstrained, the loss would be negative; held at 0, input =
/// output = x minimising (x − 10)²/100 + (x − 30)², x = (0.1 + 30) / 1.01.
#[test]
fn quantities_that_would_go_negative_are_held_at_zero() {
    let p = Problem {
        variables: vec![
            var("in", 10.0, 10.0),
            var("out", 30.0, 1.0),
            var("loss", 0.0, 10.0),
        ],
        balances: vec![balance("plant", &[(0, 1.0), (1, -1.0), (2, -1.0)])],
        references: vec![],
    };
    let free = solve(
        &p,
        &Options {
            nonnegative: false,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(free.variables[2].value < 0.0);
    let s = solve(&p, &Options::default()).unwrap();
    assert!(s.variables[2].clamped);
    close(s.variables[2].value, 0.0, "loss");
    close(s.variables[0].value, 30.1 / 1.01, "in");
    close(s.variables[1].value, 30.1 / 1.01, "out");
}

/// Fixed (reported) quantities stay as reported; a figure nothing measures is reported as not
/// represented; a balance over fixed quantities only that does not hold is named.
#[test]
fn reported_values_stay_and_gaps_are_named() {
    let p = Problem {
        variables: vec![
            var("reported in", 50.0, 0.0),
            var("out", 40.0, 10.0),
            var("reported a", 5.0, 0.0),
            var("reported b", 7.0, 0.0),
        ],
        balances: vec![
            balance("plant", &[(0, 1.0), (1, -1.0)]),
            balance("closed", &[(2, 1.0), (3, -1.0)]),
        ],
        references: vec![reference("unmodelled", &[], 10.0, 1.0)],
    };
    let s = solve(&p, &Options::default()).unwrap();
    close(s.variables[0].value, 50.0, "reported");
    close(s.variables[1].value, 50.0, "out follows the reported input");
    assert_eq!(s.references[0].status, Status::NotRepresented);
    assert_eq!(s.unadjustable.len(), 1);
    assert_eq!(s.unadjustable[0].0, 1);
    close(s.unadjustable[0].1, -2.0, "imbalance");
}

#[test]
fn bad_input_is_a_named_error() {
    let mut p = Problem {
        variables: vec![var("x", f64::NAN, 1.0)],
        ..Problem::default()
    };
    assert_eq!(
        solve(&p, &Options::default()),
        Err(Error::NotFinite("x".into()))
    );
    p.variables[0].value = 1.0;
    p.references = vec![reference("r", &[(3, 1.0)], 1.0, 1.0)];
    assert_eq!(
        solve(&p, &Options::default()),
        Err(Error::UnknownVariable("r".into(), 3))
    );
    p.references = vec![reference("r", &[(0, 1.0)], 1.0, 0.0)];
    assert_eq!(
        solve(&p, &Options::default()),
        Err(Error::ZeroReferenceSigma("r".into()))
    );
    p.references.clear();
    p.balances = vec![balance("a", &[(0, 1.0)]), balance("b", &[(0, 2.0)])];
    assert_eq!(solve(&p, &Options::default()), Err(Error::Singular));
}
