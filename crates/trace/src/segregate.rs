//! The segregated custody model.
//!
//! A node may declare lines: the flows from a line's `inputs` feed only the flows to its
//! `outputs`. Segregation is computed by lowering: each line becomes a node of its own (output =
//! its outgoing flows), the rest of the node keeps the unassigned flows and any output that is not
//! shipped, and the node's own additions are spread over lines and rest in proportion to output.
//! The lowered network is then traced under mass balance, and each original node's result is the
//! output-weighted sum of its parts.

use crate::network::{Addition, Network, NetworkError};
use crate::solve::{Trace, ValueTrace, trace_with};

/// The lowered network and, for each of its nodes, the original node it belongs to.
pub fn lower(net: &Network) -> Result<(Network, Vec<usize>), NetworkError> {
    net.validate()?;
    let n = net.len();
    let mut lowered = net.clone();
    lowered.lines.clear();
    let mut owner: Vec<usize> = (0..n).collect();
    // (node, peer) → line node index, for inputs and outputs separately.
    let mut by_input = std::collections::HashMap::new();
    let mut by_output = std::collections::HashMap::new();
    for line in &net.lines {
        let j = line.node as usize;
        let idx = lowered.output.len();
        lowered.output.push(0.0);
        lowered
            .unit_value
            .push(net.unit_value.get(j).copied().flatten());
        lowered
            .node_ids
            .push(format!("{}#{}", net.node_name(j), line.name));
        owner.push(j);
        let bad = |why: String| NetworkError::BadLine {
            node: net.node_name(j),
            line: line.name.clone(),
            why,
        };
        for &p in &line.inputs {
            if by_input.insert((j, p as usize), idx).is_some() {
                return Err(bad(format!(
                    "input from '{}' is in two lines",
                    net.node_name(p as usize)
                )));
            }
        }
        for &p in &line.outputs {
            if by_output.insert((j, p as usize), idx).is_some() {
                return Err(bad(format!(
                    "output to '{}' is in two lines",
                    net.node_name(p as usize)
                )));
            }
        }
    }
    let mut has_input = vec![false; lowered.output.len()];
    for f in lowered.flows.iter_mut() {
        let (a, b) = (f.from as usize, f.to as usize);
        if let Some(&src) = by_output.get(&(a, b)) {
            f.from = src as u32;
            lowered.output[src] += f.quantity;
        }
        if let Some(&dst) = by_input.get(&(b, a)) {
            f.to = dst as u32;
        }
        if f.quantity > 0.0 {
            has_input[f.to as usize] = true;
        }
    }
    // The rest of each node keeps what its lines do not ship.
    for i in n..lowered.output.len() {
        let j = owner[i];
        lowered.output[j] -= lowered.output[i];
    }
    for (i, &j) in owner.iter().enumerate() {
        lowered.output[i] = lowered.output[i].max(0.0);
        if i >= n && lowered.output[i] == 0.0 && has_input[i] {
            let name = lowered.node_ids[i].clone();
            return Err(NetworkError::BadLine {
                node: net.node_name(j),
                line: name,
                why: "it receives inputs but ships nothing: name the customers it supplies".into(),
            });
        }
        if i < n
            && lowered.output[i] <= net.output[i] * 1e-12
            && has_input[i]
            && net.lines.iter().any(|l| l.node as usize == i)
        {
            return Err(NetworkError::BadLine {
                node: net.node_name(i),
                line: "(unassigned)".into(),
                why: "inputs that feed no line need output outside the lines, but the lines ship all of it".into(),
            });
        }
    }
    // Spread each node's additions over its parts in proportion to output.
    let mut parts: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &j) in owner.iter().enumerate() {
        parts[j].push(i);
    }
    let mut additions = Vec::with_capacity(net.additions.len());
    for a in &net.additions {
        let j = a.node as usize;
        let x = net.output[j];
        for &i in &parts[j] {
            let share = if x > 0.0 { lowered.output[i] / x } else { 0.0 };
            if share > 0.0 {
                additions.push(Addition {
                    node: i as u32,
                    tag: a.tag,
                    amount: a.amount * share,
                });
            }
        }
    }
    lowered.additions = additions;
    Ok((lowered, owner))
}

/// Traces under segregation, reporting results per original node.
pub fn trace_segregated(net: &Network) -> Result<Trace, NetworkError> {
    let (lowered, owner) = lower(net)?;
    let t = trace_with(&lowered)?;
    let n = net.len();
    let k = net.tags.len();
    let fold = |per_unit: &[f64]| -> Vec<f64> {
        let mut total = vec![0.0; n * k];
        for (i, &j) in owner.iter().enumerate() {
            for tag in 0..k {
                total[j * k + tag] += per_unit[i * k + tag] * lowered.output[i];
            }
        }
        for j in 0..n {
            let x = net.output[j];
            for tag in 0..k {
                total[j * k + tag] = if x > 0.0 { total[j * k + tag] / x } else { 0.0 };
            }
        }
        total
    };
    Ok(Trace {
        tags: t.tags.clone(),
        output: net.output.clone(),
        unit_value: (0..n)
            .map(|j| net.unit_value.get(j).copied().flatten())
            .collect(),
        per_unit: fold(&t.per_unit),
        value: t.value.as_ref().map(|v| ValueTrace {
            per_unit: fold(&v.per_unit),
            unpriced_per_unit: fold(&v.unpriced_per_unit),
        }),
    })
}
