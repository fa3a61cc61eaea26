//! Origin tracing over flow networks.
//!
//! A [`Network`] is nodes with an output quantity (and optionally a unit value), flows of a
//! node's output to other nodes, and **content added at nodes** under free-form tags
//! (`mined:AUS`, `facility:lynas_lamp_kuantan`, an emission, anything). [`trace`] computes for
//! every node the content of each tag per unit of output and in total.
//!
//! Under the **mass-balance** custody model a node's output carries the mix of its inputs' content
//! plus its own additions, spread evenly over its whole output: the input–output assumption. The
//! content per unit `m` (a row vector per tag) solves `m = f·x̂⁻¹ + m·A` with `A = Z·x̂⁻¹`, where
//! `Z` holds the flows, `x` the outputs and `f` the additions. The solver walks the strongly
//! connected components of the network upstream-first: acyclic parts take one pass, loops (scrap
//! and recycling) are solved exactly by LU factorisation, or iteratively when very large. Loops
//! that cannot converge (no output ever leaves them) are rejected with the loop named.
//!
//! Under the **segregated** model, a node may declare lines that keep some inputs apart for some
//! outputs ([`Line`]); see [`segregate`].
//!
//! Valuation: with unit values on nodes, content of tag `g` added at node `s` is valued at `s`'s
//! unit value (tag amounts are measured in units of the node's output), and that value travels
//! downstream with the material exactly as mass does. The value of tagged content in a product is
//! therefore *origin-valued*: what the tagged material was worth where it acquired the tag. The
//! share of the product's unit value it represents is what de-minimis rules test.
//!
//! This crate does no I/O and knows nothing of datasets: callers lower their data into a
//! [`Network`].

pub mod explain;
pub mod generate;
pub mod hint;
mod network;
pub mod segregate;
mod solve;

pub use explain::{Path, PathStep, explain};
pub use network::{Addition, Flow, Line, Network, NetworkError, tag_matches};
pub use solve::{
    BuildPhase, CHUNK, RightHandSides, Structure, Trace, Unit, UnitSolver, ValueTrace,
    assemble_trace, right_hand_sides, trace, trace_element, trace_prepared, trace_with,
};

/// The chain-of-custody model: how a node's inputs are attributed to its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustodyModel {
    /// Proportional mixing: every unit of output carries the average content of all inputs.
    MassBalance,
    /// Declared lines keep their inputs apart; undeclared flows mix as under mass balance.
    Segregated,
}
