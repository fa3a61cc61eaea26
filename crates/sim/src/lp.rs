//! The month's routing plan by linear programming (good_lp with the pure-Rust microlp solver).
//!
//! Maximise weighted consumption, then (with a small weight) minimise shipping cost, subject to
//! each node's supply, capacity and yield and each route's cap. The plan's route volumes then
//! steer how the simulation shares each node's actual output, so mass balance is kept by the
//! same month mechanics as under pro-rata allocation.

use good_lp::{Expression, Solution, SolverModel, Variable, microlp, variable, variables};

/// The inputs of one month's plan.
pub(crate) struct MonthInputs<'a> {
    /// Input available at each node this month (inventory, arrivals, new content).
    pub supply: &'a [f64],
    /// Finished output waiting at each node.
    pub finished: &'a [f64],
    /// Largest input each node can process.
    pub max_throughput: &'a [f64],
    /// Output per unit of input.
    pub yields: &'a [f64],
    /// Demand of each node (markets).
    pub demand: &'a [f64],
    /// Weight of each node's consumption in the objective.
    pub weight: &'a [f64],
    /// Routes: (from, to, cap, cost per t).
    pub routes: &'a [(usize, usize, f64, f64)],
}

/// Route volumes of the optimal plan, or `None` if the solver fails (the caller falls back to
/// pro-rata shares).
pub(crate) fn plan(m: &MonthInputs) -> Option<Vec<f64>> {
    let n = m.supply.len();
    let mut vars = variables!();
    let t: Vec<Variable> = (0..n)
        .map(|j| vars.add(variable().min(0.0).max(m.max_throughput[j].max(0.0))))
        .collect();
    let c: Vec<Variable> = (0..n)
        .map(|j| vars.add(variable().min(0.0).max(m.demand[j].max(0.0))))
        .collect();
    let x: Vec<Variable> = m
        .routes
        .iter()
        .map(|&(_, _, cap, _)| {
            if cap.is_finite() {
                vars.add(variable().min(0.0).max(cap.max(0.0)))
            } else {
                vars.add(variable().min(0.0))
            }
        })
        .collect();
    let mut objective = Expression::from(0.0);
    for j in 0..n {
        if m.demand[j] > 0.0 {
            objective += m.weight[j] * c[j];
        }
    }
    for (k, &(_, _, _, cost)) in m.routes.iter().enumerate() {
        objective -= 1e-6 * cost * x[k];
    }
    let mut model = vars.maximise(objective).using(microlp);
    let mut inflow: Vec<Expression> = (0..n).map(|_| Expression::from(0.0)).collect();
    let mut outflow: Vec<Expression> = (0..n).map(|_| Expression::from(0.0)).collect();
    for (k, &(from, to, _, _)) in m.routes.iter().enumerate() {
        inflow[to] += x[k];
        outflow[from] += x[k];
    }
    for j in 0..n {
        // Input: what is available and arrives covers consumption and processing.
        let input = inflow[j].clone() + m.supply[j] - c[j] - t[j];
        model = model.with(input.geq(0.0));
        // Output: what is processed (times yield) and waiting covers what is shipped.
        let output = m.yields[j] * t[j] + m.finished[j] - outflow[j].clone();
        model = model.with(output.geq(0.0));
    }
    let solution = model.solve().ok()?;
    Some(x.iter().map(|v| solution.value(*v).max(0.0)).collect())
}
