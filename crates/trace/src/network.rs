//! The input of the engine: nodes, flows, tagged additions and segregated lines.

use std::fmt;

/// A flow of `quantity` units of `from`'s output to `to`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flow {
    /// Supplying node index.
    pub from: u32,
    /// Receiving node index.
    pub to: u32,
    /// Quantity, in units of the supplier's output.
    pub quantity: f64,
}

/// `amount` of tag `tag` added at node `node` (in units of the node's output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Addition {
    /// Node index.
    pub node: u32,
    /// Tag index into [`Network::tags`].
    pub tag: u32,
    /// Total amount added (not per unit).
    pub amount: f64,
}

/// A segregated line of a node: its inputs from `inputs` feed only its outputs to `outputs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The node that declares the line.
    pub node: u32,
    /// Line name, for reports.
    pub name: String,
    /// Supplier nodes whose flows into `node` feed this line.
    pub inputs: Vec<u32>,
    /// Customer nodes whose flows out of `node` this line supplies.
    pub outputs: Vec<u32>,
}

/// A flow network to trace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    /// Node ids, for reports; index = node index.
    pub node_ids: Vec<String>,
    /// Output of each node (units of its own output per period).
    pub output: Vec<f64>,
    /// Unit value of each node's output, if known (e.g. USD per unit).
    pub unit_value: Vec<Option<f64>>,
    /// Flows between nodes. Several flows between the same pair add up.
    pub flows: Vec<Flow>,
    /// Tag names; index = tag index.
    pub tags: Vec<String>,
    /// Content added at nodes.
    pub additions: Vec<Addition>,
    /// Segregated lines (used only under [`crate::CustodyModel::Segregated`]).
    pub lines: Vec<Line>,
}

/// Why a network cannot be traced.
#[derive(Debug, Clone, PartialEq)]
pub enum NetworkError {
    /// A number is negative, NaN or infinite.
    BadNumber { what: String, value: f64 },
    /// A flow or addition names a node or tag index that does not exist.
    BadIndex { what: String },
    /// A node ships more than its output.
    FlowsExceedOutput {
        node: String,
        outflow: f64,
        output: f64,
    },
    /// A node receives material or content but has no output to carry it.
    NoOutput { node: String },
    /// A loop that no output ever leaves: content would grow without bound.
    ClosedLoop {
        nodes: Vec<String>,
        cycle: Vec<String>,
    },
    /// An iterative loop solve did not reach the tolerance.
    NotConverged { nodes: usize, first: String },
    /// A segregated line is inconsistent with the flows.
    BadLine {
        node: String,
        line: String,
        why: String,
    },
}

impl fmt::Display for NetworkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetworkError::BadNumber { what, value } => {
                write!(f, "{what} is {value}: it must be a finite number ≥ 0")
            }
            NetworkError::BadIndex { what } => {
                write!(f, "{what} refers to a node or tag that does not exist")
            }
            NetworkError::FlowsExceedOutput {
                node,
                outflow,
                output,
            } => write!(
                f,
                "node '{node}' ships {outflow} in its flows but its output is only {output}: raise its output or lower its flows"
            ),
            NetworkError::NoOutput { node } => write!(
                f,
                "node '{node}' receives flows or content but its output is 0, so the content has nowhere to go"
            ),
            NetworkError::ClosedLoop { nodes, cycle } => write!(
                f,
                "the loop {} never lets output leave it ({} node(s) in the loop, e.g. {}): every node on it ships all its output back into it, so content would grow without bound; give one of them output that leaves the loop",
                cycle.join(" → "),
                nodes.len(),
                nodes.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
            NetworkError::NotConverged { nodes, first } => write!(
                f,
                "the loop of {nodes} nodes containing '{first}' did not converge; it returns almost all of its output to itself"
            ),
            NetworkError::BadLine { node, line, why } => {
                write!(f, "segregated line '{line}' of node '{node}': {why}")
            }
        }
    }
}

impl std::error::Error for NetworkError {}

impl Network {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.output.len()
    }

    /// True if there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.output.is_empty()
    }

    /// The id of node `i`, or its index if ids are absent.
    pub fn node_name(&self, i: usize) -> String {
        self.node_ids
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("#{i}"))
    }

    /// Index of a node by id (linear scan; build a map for repeated lookups).
    pub fn node_index(&self, id: &str) -> Option<usize> {
        self.node_ids.iter().position(|n| n == id)
    }

    /// Index of a tag by name.
    pub fn tag_index(&self, tag: &str) -> Option<usize> {
        self.tags.iter().position(|t| t == tag)
    }

    /// Indices of the tags that match `pattern` (see [`tag_matches`]), in tag order.
    pub fn tags_matching(&self, pattern: &str) -> Vec<usize> {
        (0..self.tags.len())
            .filter(|&t| tag_matches(pattern, &self.tags[t]))
            .collect()
    }

    /// The network counted in one element of its content: `share[j]` is the fraction of node
    /// `j`'s output that is the element. A flow carries its supplier's share; a node's additions
    /// are scaled by its share; a node's output becomes the larger of its element output and its
    /// element inflow (an element received and not shipped leaves the network there, as losses
    /// do). Same nodes, flows (in the same order) and tags. [`crate::trace_element`] traces it
    /// without building it.
    pub fn element_view(&self, share: &[f64]) -> Network {
        let s = |j: u32| {
            share
                .get(j as usize)
                .copied()
                .unwrap_or(0.0)
                .clamp(0.0, 1.0)
        };
        let mut net = Network {
            node_ids: self.node_ids.clone(),
            output: self
                .output
                .iter()
                .enumerate()
                .map(|(j, x)| x * s(j as u32))
                .collect(),
            unit_value: vec![None; self.unit_value.len()],
            flows: self
                .flows
                .iter()
                .map(|f| Flow {
                    quantity: f.quantity * s(f.from),
                    ..*f
                })
                .collect(),
            tags: self.tags.clone(),
            additions: self
                .additions
                .iter()
                .map(|a| Addition {
                    amount: a.amount * s(a.node),
                    ..*a
                })
                .collect(),
            lines: self.lines.clone(),
        };
        let mut inflow = vec![0.0; net.len()];
        for f in &net.flows {
            inflow[f.to as usize] += f.quantity;
        }
        for (x, i) in net.output.iter_mut().zip(inflow) {
            *x = x.max(i);
        }
        net
    }

    /// Sum of each node's outgoing flows.
    pub fn outflows(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.len()];
        for f in &self.flows {
            if let Some(o) = out.get_mut(f.from as usize) {
                *o += f.quantity;
            }
        }
        out
    }

    /// Checks numbers, indices and that no node ships more than its output (relative tolerance
    /// 1e-9, for rounding in published figures).
    pub fn validate(&self) -> Result<(), NetworkError> {
        let n = self.len();
        if self.unit_value.len() != n && !self.unit_value.is_empty() {
            return Err(NetworkError::BadIndex {
                what: "unit_value (length differs from output)".into(),
            });
        }
        let bad = |what: String, value: f64| NetworkError::BadNumber { what, value };
        for (i, &x) in self.output.iter().enumerate() {
            if !x.is_finite() || x < 0.0 {
                return Err(bad(format!("output of node '{}'", self.node_name(i)), x));
            }
        }
        for (i, v) in self.unit_value.iter().enumerate() {
            if let Some(v) = *v
                && (!v.is_finite() || v < 0.0)
            {
                return Err(bad(
                    format!("unit value of node '{}'", self.node_name(i)),
                    v,
                ));
            }
        }
        let mut inflow = vec![false; n];
        for f in &self.flows {
            if f.from as usize >= n || f.to as usize >= n {
                return Err(NetworkError::BadIndex {
                    what: format!("flow {} → {}", f.from, f.to),
                });
            }
            if !f.quantity.is_finite() || f.quantity < 0.0 {
                let what = format!(
                    "flow '{}' → '{}'",
                    self.node_name(f.from as usize),
                    self.node_name(f.to as usize)
                );
                return Err(bad(what, f.quantity));
            }
            if f.quantity > 0.0 {
                inflow[f.to as usize] = true;
            }
        }
        for a in &self.additions {
            if a.node as usize >= n || a.tag as usize >= self.tags.len() {
                return Err(NetworkError::BadIndex {
                    what: format!("addition at node {} of tag {}", a.node, a.tag),
                });
            }
            if !a.amount.is_finite() || a.amount < 0.0 {
                let what = format!(
                    "amount of '{}' at node '{}'",
                    self.tags[a.tag as usize],
                    self.node_name(a.node as usize)
                );
                return Err(bad(what, a.amount));
            }
            if a.amount > 0.0 {
                inflow[a.node as usize] = true;
            }
        }
        for (i, out) in self.outflows().into_iter().enumerate() {
            let x = self.output[i];
            if out > x * (1.0 + 1e-9) + 1e-12 {
                return Err(NetworkError::FlowsExceedOutput {
                    node: self.node_name(i),
                    outflow: out,
                    output: x,
                });
            }
            if x == 0.0 && inflow[i] {
                return Err(NetworkError::NoOutput {
                    node: self.node_name(i),
                });
            }
        }
        for l in &self.lines {
            if l.node as usize >= n || l.inputs.iter().chain(&l.outputs).any(|&p| p as usize >= n) {
                return Err(NetworkError::BadIndex {
                    what: format!("segregated line '{}'", l.name),
                });
            }
        }
        Ok(())
    }
}

/// A tag pattern: `*` matches any run of characters (`mined:*`, `*:CHN`), otherwise exact.
pub fn tag_matches(pattern: &str, tag: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == tag;
    }
    let mut rest = tag;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

#[cfg(test)]
mod tag_pattern_tests {
    use super::tag_matches;

    #[test]
    fn wildcards_match_runs_and_exact_patterns_match_exactly() {
        let cases = [
            ("mined:*", "mined:CHN", true),
            ("mined:*", "separated:CHN", false),
            ("*:CHN", "separated:CHN", true),
            ("*:CHN", "separated:CHNX", false),
            ("*", "anything", true),
            ("mined:CHN", "mined:CHN", true),
            ("mined:CH", "mined:CHN", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            // The prefix and suffix may not overlap.
            ("ab*ba", "aba", false),
            ("ab*ba", "abba", true),
        ];
        for (pattern, tag, expected) in cases {
            assert_eq!(tag_matches(pattern, tag), expected, "{pattern} vs {tag}");
        }
    }
}
