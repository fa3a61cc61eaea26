//! Data reconciliation for material-flow networks, in the manner of STAN's reconciliation of
//! material-flow analyses: uncertain quantities (flows, losses) are adjusted as little as their
//! uncertainties allow so that balances hold exactly and published reference figures (a
//! country's mine production, a company's output) are met as closely as theirs allow.
//!
//! The problem is weighted least squares with linear equality constraints:
//!
//! ```text
//! minimise  Σᵢ ((xᵢ − x̄ᵢ) / σᵢ)²  +  Σₖ ((hₖ·x − rₖ) / σₖ)²   subject to  A x = b
//! ```
//!
//! over the quantities `x` with priors `x̄ ± σ` (σ = 0 fixes a quantity: a reported figure
//! stays reported), reference figures `r ± σ` on linear combinations `h·x`, and balances
//! `A x = b`. It is solved through its KKT system; the inverse's leading block is the
//! covariance of the reconciled quantities. Each prior and each reference figure is then
//! tested: its adjustment over the standard deviation of that adjustment (the normalized
//! residual) is about standard normal when the figure agrees with the rest. A reference figure
//! beyond `critical` is a **conflict**: it is set aside, the rest is reconciled again without
//! it (serial elimination, worst first), and the report gives both its value and what the
//! reconciled model makes of it — conflicts are named, never averaged away. Quantities that
//! must not be negative are held at zero when the solution would make them negative.

use nalgebra::{DMatrix, DVector};

/// A quantity with a prior: `value ± sigma` (one standard deviation). `sigma == 0` fixes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// Name, for reports (e.g. a flow id).
    pub name: String,
    /// Prior value.
    pub value: f64,
    /// Standard deviation of the prior; 0 for a fixed (reported) quantity.
    pub sigma: f64,
}

/// A linear combination of variables: (variable index, coefficient).
pub type Terms = Vec<(usize, f64)>;

/// A balance that must hold exactly: `Σ coefficient · x = rhs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Balance {
    /// Name, for reports (e.g. a facility id).
    pub name: String,
    /// The combination.
    pub terms: Terms,
    /// Right-hand side.
    pub rhs: f64,
}

/// A reference figure: the combination `Σ coefficient · x` was published as `value ± sigma`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Name, for reports (e.g. `USGS mine production, CHN, 2024`).
    pub name: String,
    /// The combination the figure measures; empty when nothing in the model represents it.
    pub terms: Terms,
    /// Published value.
    pub value: f64,
    /// Its standard deviation (> 0).
    pub sigma: f64,
}

/// A reconciliation problem.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Problem {
    /// Quantities with priors.
    pub variables: Vec<Variable>,
    /// Balances that must hold.
    pub balances: Vec<Balance>,
    /// Reference figures to agree with.
    pub references: Vec<Reference>,
}

/// How to solve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Normalized residual beyond which a reference figure is a conflict (3.0: about one
    /// chance in 370 for a figure that agrees with the rest).
    pub critical: f64,
    /// Hold quantities at zero rather than let them go negative.
    pub nonnegative: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            critical: 3.0,
            nonnegative: true,
        }
    }
}

/// What became of one variable.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableResult {
    /// Reconciled value.
    pub value: f64,
    /// Its standard deviation after reconciliation (0 when fixed).
    pub sigma: f64,
    /// Prior minus reconciled value, over the standard deviation of that adjustment; `None`
    /// when the variable was fixed or nothing else bears on it (no redundancy).
    pub normalized: Option<f64>,
    /// Held at zero because the solution would have made it negative.
    pub clamped: bool,
}

/// How a reference figure came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Met within what the uncertainties allow.
    Reconciled,
    /// Cannot be reconciled with the rest: set aside, and reported with both values.
    Conflict,
    /// Nothing in the model measures it (no terms): reported, not used.
    NotRepresented,
}

/// What became of one reference figure.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceResult {
    /// The published value.
    pub value: f64,
    /// What the reconciled model gives for the combination.
    pub model: f64,
    /// The standard deviation of `model`.
    pub model_sigma: f64,
    /// `(value − model) / sigma`: the residual in units of the figure's uncertainty.
    pub in_sigmas: f64,
    /// The normalized residual: `value − model` over the standard deviation of that difference.
    pub normalized: Option<f64>,
    /// Reconciled, conflict, or not represented.
    pub status: Status,
}

/// A reconciled problem.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// One per variable, in order.
    pub variables: Vec<VariableResult>,
    /// One per reference figure, in order.
    pub references: Vec<ReferenceResult>,
    /// Balances with no free quantity that do not hold (index, imbalance): nothing can be
    /// adjusted to close them.
    pub unadjustable: Vec<(usize, f64)>,
    /// Weighted sum of squared adjustments of the priors and references used.
    pub chi2: f64,
    /// Degrees of freedom of `chi2`: balances used plus references used.
    pub dof: usize,
}

/// Why a problem cannot be solved.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A value or uncertainty is not a finite number, or an uncertainty is negative.
    NotFinite(String),
    /// A term names a variable that does not exist.
    UnknownVariable(String, usize),
    /// A reference figure's uncertainty is not positive.
    ZeroReferenceSigma(String),
    /// The balances are linearly dependent, or fix a quantity twice.
    Singular,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotFinite(what) => write!(
                f,
                "{what}: values must be finite and uncertainties finite and not negative"
            ),
            Error::UnknownVariable(what, i) => {
                write!(f, "{what}: refers to variable {i}, which does not exist")
            }
            Error::ZeroReferenceSigma(what) => write!(
                f,
                "{what}: a reference figure needs a positive uncertainty (a figure known exactly is a balance)"
            ),
            Error::Singular => write!(
                f,
                "the balances are linearly dependent (one balance repeats others): remove the redundant one"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Reconciles `problem`.
pub fn solve(problem: &Problem, options: &Options) -> Result<Solution, Error> {
    validate(problem)?;
    let n = problem.variables.len();
    let mut fixed: Vec<Option<f64>> = problem
        .variables
        .iter()
        .map(|v| (v.sigma == 0.0).then_some(v.value))
        .collect();
    let mut clamped = vec![false; n];
    let mut set_aside = vec![false; problem.references.len()];
    loop {
        let core = solve_core(problem, &fixed, &set_aside)?;
        if options.nonnegative
            && let Some((i, _)) = core
                .variables
                .iter()
                .enumerate()
                .filter(|&(i, v)| fixed[i].is_none() && v.value < -1e-9)
                .min_by(|a, b| a.1.value.total_cmp(&b.1.value))
        {
            fixed[i] = Some(0.0);
            clamped[i] = true;
            continue;
        }
        let worst = core
            .references
            .iter()
            .enumerate()
            .filter(|(k, r)| !set_aside[*k] && r.status == Status::Reconciled)
            .filter_map(|(k, r)| r.normalized.map(|z| (k, z.abs())))
            .filter(|&(_, z)| z > options.critical)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((k, _)) = worst {
            set_aside[k] = true;
            continue;
        }
        let mut solution = core;
        for (v, c) in solution.variables.iter_mut().zip(&clamped) {
            v.clamped = *c;
        }
        return Ok(solution);
    }
}

fn validate(p: &Problem) -> Result<(), Error> {
    let n = p.variables.len();
    for v in &p.variables {
        if !v.value.is_finite() || !v.sigma.is_finite() || v.sigma < 0.0 {
            return Err(Error::NotFinite(v.name.clone()));
        }
    }
    let check_terms = |name: &str, terms: &Terms| -> Result<(), Error> {
        for &(i, c) in terms {
            if i >= n {
                return Err(Error::UnknownVariable(name.to_string(), i));
            }
            if !c.is_finite() {
                return Err(Error::NotFinite(name.to_string()));
            }
        }
        Ok(())
    };
    for b in &p.balances {
        check_terms(&b.name, &b.terms)?;
        if !b.rhs.is_finite() {
            return Err(Error::NotFinite(b.name.clone()));
        }
    }
    for r in &p.references {
        check_terms(&r.name, &r.terms)?;
        if !r.value.is_finite() || !r.sigma.is_finite() {
            return Err(Error::NotFinite(r.name.clone()));
        }
        if r.sigma <= 0.0 {
            return Err(Error::ZeroReferenceSigma(r.name.clone()));
        }
    }
    Ok(())
}

/// The combination `terms` split into its free part (over free-variable positions) and the
/// constant contributed by fixed variables.
fn split(terms: &Terms, fixed: &[Option<f64>], position: &[Option<usize>]) -> (Terms, f64) {
    let mut free = Terms::new();
    let mut constant = 0.0;
    for &(i, c) in terms {
        match (fixed[i], position[i]) {
            (Some(v), _) => constant += c * v,
            (None, Some(j)) => free.push((j, c)),
            (None, None) => {}
        }
    }
    (free, constant)
}

/// One weighted least-squares solve with the given fixed variables and references set aside.
fn solve_core(p: &Problem, fixed: &[Option<f64>], set_aside: &[bool]) -> Result<Solution, Error> {
    let n_all = p.variables.len();
    let mut position = vec![None; n_all];
    let mut free_vars = Vec::new();
    for i in 0..n_all {
        if fixed[i].is_none() {
            position[i] = Some(free_vars.len());
            free_vars.push(i);
        }
    }
    let n = free_vars.len();
    // Balances over the free variables; those with none left are checked, not solved.
    let mut rows: Vec<(Terms, f64)> = Vec::new();
    let mut unadjustable = Vec::new();
    for (b, balance) in p.balances.iter().enumerate() {
        let (terms, constant) = split(&balance.terms, fixed, &position);
        let rhs = balance.rhs - constant;
        if terms.iter().all(|&(_, c)| c == 0.0) {
            if rhs.abs() > 1e-6 * (1.0 + balance.rhs.abs()) {
                unadjustable.push((b, -rhs));
            }
            continue;
        }
        rows.push((terms, rhs));
    }
    let used: Vec<usize> = (0..p.references.len())
        .filter(|&k| !set_aside[k] && !p.references[k].terms.is_empty())
        .collect();
    let m = rows.len();
    let size = n + m;
    let mut kkt = DMatrix::<f64>::zeros(size, size);
    let mut rhs = DVector::<f64>::zeros(size);
    for (j, &i) in free_vars.iter().enumerate() {
        let v = &p.variables[i];
        let w = 1.0 / (v.sigma * v.sigma);
        kkt[(j, j)] += w;
        rhs[j] += w * v.value;
    }
    for &k in &used {
        let r = &p.references[k];
        let (terms, constant) = split(&r.terms, fixed, &position);
        let w = 1.0 / (r.sigma * r.sigma);
        let target = r.value - constant;
        for &(a, ca) in &terms {
            rhs[a] += w * ca * target;
            for &(b, cb) in &terms {
                kkt[(a, b)] += w * ca * cb;
            }
        }
    }
    for (row, (terms, b)) in rows.iter().enumerate() {
        for &(j, c) in terms {
            kkt[(n + row, j)] += c;
            kkt[(j, n + row)] += c;
        }
        rhs[n + row] = *b;
    }
    let inverse = if size == 0 {
        DMatrix::zeros(0, 0)
    } else {
        kkt.try_inverse().ok_or(Error::Singular)?
    };
    let z = &inverse * &rhs;
    if z.iter().any(|x| !x.is_finite()) {
        return Err(Error::Singular);
    }
    let values: Vec<f64> = (0..n_all)
        .map(|i| fixed[i].unwrap_or_else(|| z[position[i].unwrap_or(0)]))
        .collect();
    let cov = |a: usize, b: usize| inverse[(a, b)];
    // Variance of a combination of free variables under the posterior covariance.
    let variance = |terms: &Terms| -> f64 {
        let mut s = 0.0;
        for &(a, ca) in terms {
            for &(b, cb) in terms {
                s += ca * cb * cov(a, b);
            }
        }
        s.max(0.0)
    };
    let mut chi2 = 0.0;
    let variables: Vec<VariableResult> = (0..n_all)
        .map(|i| {
            let v = &p.variables[i];
            match position[i] {
                Some(j) => {
                    let posterior = cov(j, j).max(0.0);
                    let adjustment = v.value - values[i];
                    chi2 += (adjustment / v.sigma).powi(2);
                    let var_adjustment = v.sigma * v.sigma - posterior;
                    VariableResult {
                        value: values[i],
                        sigma: posterior.sqrt(),
                        normalized: (var_adjustment > 1e-9 * v.sigma * v.sigma)
                            .then(|| adjustment / var_adjustment.sqrt()),
                        clamped: false,
                    }
                }
                None => VariableResult {
                    value: values[i],
                    sigma: 0.0,
                    normalized: None,
                    clamped: false,
                },
            }
        })
        .collect();
    let references: Vec<ReferenceResult> = p
        .references
        .iter()
        .enumerate()
        .map(|(k, r)| {
            if r.terms.is_empty() {
                return ReferenceResult {
                    value: r.value,
                    model: 0.0,
                    model_sigma: 0.0,
                    in_sigmas: r.value / r.sigma,
                    normalized: None,
                    status: Status::NotRepresented,
                };
            }
            let model: f64 = r.terms.iter().map(|&(i, c)| c * values[i]).sum();
            let (terms, _) = split(&r.terms, fixed, &position);
            let model_var = variance(&terms);
            let residual = r.value - model;
            let in_use = !set_aside[k];
            if in_use {
                chi2 += (residual / r.sigma).powi(2);
            }
            // Used: the residual's variance is the figure's less the model's (they are
            // correlated through the fit); set aside: the two are independent.
            let var_residual = if in_use {
                r.sigma * r.sigma - model_var
            } else {
                r.sigma * r.sigma + model_var
            };
            ReferenceResult {
                value: r.value,
                model,
                model_sigma: model_var.sqrt(),
                in_sigmas: residual / r.sigma,
                normalized: (var_residual > 1e-9 * r.sigma * r.sigma)
                    .then(|| residual / var_residual.sqrt()),
                status: if in_use {
                    Status::Reconciled
                } else {
                    Status::Conflict
                },
            }
        })
        .collect();
    Ok(Solution {
        variables,
        references,
        unadjustable,
        chi2,
        dof: m + used.len(),
    })
}
