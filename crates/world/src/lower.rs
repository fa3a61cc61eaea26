//! Lowering a dataset into a tracing network, in tonnes of rare-earth oxide equivalent.
//!
//! Every facility or country market that ships or receives material in the chosen year becomes a
//! *hub* node; each material it ships becomes a *product* node `ID/material` fed by the hub. All
//! quantities are converted to t REO with the materials' `reo_content`, so a node's content per
//! unit is a share of its REO. A hub's output is the larger of what it ships and what it receives
//! (REO it receives but does not ship leaves the recorded network: stock, losses, unrecorded
//! sales). Tags:
//!
//! * `mined:ISO3` — REO that appears at a hub without recorded inputs: at a mine, or at a country
//!   market (an assumption: unrecorded supply of a market is domestic). At any other facility it
//!   is `mined:unknown`, a gap in the data.
//! * `refined:ISO3` — REO cracked or leached from concentrate, by the country where that first
//!   happened: at a plant shipping intermediates (mixed carbonate, mixed oxides), or at one that
//!   separates oxides straight from concentrate.
//! * `separated:ISO3`, `metal:ISO3`, `magnet:ISO3` — REO in oxides, metals/alloys and magnets, by
//!   the country where that stage first happened. Computed so that content already separated
//!   upstream keeps its origin: a product node adds only the REO not yet carrying the stage.
//! * `tech:ISO3` — REO processed (cracking, separation, metal, magnet) at least once with that
//!   country's technology (a facility's `technology_origin`) outside that country: processing in
//!   the technology's own country does not carry the tag.
//! * `facility:ID` — REO that passed through the facility at least once.
//!
//! "At least once" and "first" are computed exactly with auxiliary traces in which the tagging
//! nodes' inputs are cut, so loops cannot count content twice.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use lodestone_trace::{Addition, CustodyModel, Flow, Network, trace};

use lodestone_format::{Compositions, Dataset, Value};
use lodestone_model::Element;

/// What a node of the lowered network stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeInfo {
    /// The facility id or ISO3 market the node belongs to.
    pub hub: String,
    /// For a product node, the material it ships.
    pub material: Option<String>,
    /// For a product node of a segregated line, the line.
    pub line: Option<String>,
    /// Country of the hub.
    pub country: Option<String>,
    /// Source ids of the dataset flows a product node aggregates (empty for hubs).
    pub sources: Vec<String>,
}

/// What a lowering produced, with what it had to leave out.
#[derive(Debug, Clone)]
pub struct Lowering {
    /// The network, in t REO per year.
    pub network: Network,
    /// What each node stands for (same indices as the network).
    pub nodes: Vec<NodeInfo>,
    /// The year lowered.
    pub year: i64,
    /// Flows left out and other caveats, for the user.
    pub notes: Vec<String>,
}

/// What one hub ships of one material (on one segregated line, or `""`):
/// (customer, t REO, USD if the flow has a unit value, source id).
type Shipments = BTreeMap<(String, String, String), Vec<(String, f64, Option<f64>, String)>>;

struct Hub {
    country: Option<String>,
    is_mine: bool,
    is_facility: bool,
    technology: Option<String>,
}

/// The stage family a material's output belongs to, if it is a stage the tags name.
fn stage_family(material_stage: &str) -> Option<&'static str> {
    match material_stage {
        "oxide" => Some("separated"),
        "metal" | "alloy" => Some("metal"),
        "magnet" => Some("magnet"),
        _ => None,
    }
}

/// What a lowered network counts: all rare-earth content (t REO), or one element's (t of its
/// oxide), by the element compositions of the flows' materials and producers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Total rare-earth oxide.
    Reo,
    /// One element, counted as its oxide.
    Element(Element),
}

/// Lowers the flows of `year` of a loaded dataset, in t REO.
pub fn lower_dataset(ds: &Dataset, year: i64) -> Result<Lowering, String> {
    lower_dataset_with(ds, year, Content::Reo, &[])
}

/// Lowers the flows of `year` counting `content`, with extra *union* tags: for each set of
/// stage, technology or facility tags, a tag named by joining them with `|` that marks content
/// carrying at least one of them, counted once (e.g. `separated:CHN|metal:CHN`: Chinese-separated
/// or Chinese-made metal, whichever happened). A flow whose material has no element composition
/// carries no element content (a note says so).
pub fn lower_dataset_with(
    ds: &Dataset,
    year: i64,
    content: Content,
    unions: &[Vec<String>],
) -> Result<Lowering, String> {
    let compositions = Compositions::from_dataset(ds);
    let (Some(mt), Some(ft), Some(fl)) = (
        ds.table("materials"),
        ds.table("facilities"),
        ds.table("flows"),
    ) else {
        return Err("the dataset has no materials, facilities or flows table".into());
    };
    let mut notes = Vec::new();
    let mut materials: HashMap<&str, (Option<f64>, &str)> = HashMap::new();
    for r in &mt.rows {
        if let Some(id) = mt.text(r, "id") {
            let reo = mt.get(r, "reo_content").as_f64().map(|p| p / 100.0);
            materials.insert(id, (reo, mt.text(r, "stage").unwrap_or("")));
        }
    }
    let mut hubs: BTreeMap<String, Hub> = BTreeMap::new();
    let hub_info = |id: &str| -> Hub {
        match ft.find(id) {
            Some(r) => Hub {
                country: ft.text(r, "country").map(str::to_string),
                is_mine: ft.get(r, "stages").items().contains(&"mine"),
                is_facility: true,
                technology: ft.text(r, "technology_origin").map(str::to_string),
            },
            None => Hub {
                country: Some(id.to_string()),
                is_mine: false,
                is_facility: false,
                technology: None,
            },
        }
    };
    // (from, material) → [(to, t REO, USD)] ; USD None when the flow has no unit value.
    // Segregated lines: (facility, customer) → line, and each line's input suppliers.
    let mut out_line: HashMap<(String, String), String> = HashMap::new();
    let mut line_inputs: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    if let Some(st) = ds.table("segregation") {
        for r in &st.rows {
            let (Some(f), Some(l), Some(d), Some(p)) = (
                st.text(r, "facility"),
                st.text(r, "line"),
                st.text(r, "direction"),
                st.text(r, "peer"),
            ) else {
                continue;
            };
            let entry = line_inputs
                .entry((f.to_string(), l.to_string()))
                .or_default();
            if d == "out" {
                out_line.insert((f.to_string(), p.to_string()), l.to_string());
            } else {
                entry.push(p.to_string());
            }
        }
    }
    let mut shipments: Shipments = BTreeMap::new();
    // REO of unresolved composition each hub receives: an element that appears at such a hub
    // may have come in unresolved, so its origin there is not known.
    let mut unresolved_in: HashMap<String, f64> = HashMap::new();
    let mut years = BTreeSet::new();
    for r in &fl.rows {
        let (Some(from), Some(to), Some(material)) =
            (fl.text(r, "from"), fl.text(r, "to"), fl.text(r, "material"))
        else {
            continue;
        };
        let Value::Integer(y) = fl.get(r, "year") else {
            continue;
        };
        years.insert(*y);
        if *y != year {
            continue;
        }
        let Some(q) = fl.get(r, "quantity").as_f64() else {
            continue;
        };
        let Some(&(reo, _)) = materials.get(material) else {
            continue;
        };
        let Some(reo) = reo else {
            notes.push(format!(
                "flows.csv:{}: left out: material '{material}' has no reo_content",
                r.line
            ));
            continue;
        };
        if let Content::Element(_) = content {
            let other = compositions.of(material, from).map_or(1.0, |split| {
                split
                    .iter()
                    .filter(|(e, _)| *e == Element::Other)
                    .map(|(_, f)| f)
                    .sum()
            });
            *unresolved_in.entry(to.to_string()).or_default() += q * reo * other;
        }
        let reo = match content {
            Content::Reo => reo,
            Content::Element(e) => match compositions.fraction(material, from, e) {
                Some(f) => reo * f,
                None => {
                    notes.push(format!(
                        "flows.csv:{}: '{material}' shipped by '{from}' has no element composition: no {} counted",
                        r.line,
                        e.symbol()
                    ));
                    continue;
                }
            },
        };
        if q * reo <= 0.0 {
            continue;
        }
        let usd = fl.get(r, "unit_value").as_f64().map(|v| v * q);
        for id in [from, to] {
            hubs.entry(id.to_string()).or_insert_with(|| hub_info(id));
        }
        let line = out_line
            .get(&(from.to_string(), to.to_string()))
            .cloned()
            .unwrap_or_default();
        shipments
            .entry((from.to_string(), material.to_string(), line))
            .or_default()
            .push((
                to.to_string(),
                q * reo,
                usd,
                fl.text(r, "source").unwrap_or("").to_string(),
            ));
    }
    if hubs.is_empty() {
        return Err(format!(
            "the dataset has no flows in {year} with a known REO content (years with flows: {})",
            years
                .iter()
                .map(|y| y.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // Nodes: hubs, then products.
    let mut net = Network::default();
    let mut index: HashMap<String, u32> = HashMap::new();
    fn add_node(net: &mut Network, index: &mut HashMap<String, u32>, id: String) -> u32 {
        let i = net.node_ids.len() as u32;
        index.insert(id.clone(), i);
        net.node_ids.push(id);
        net.output.push(0.0);
        net.unit_value.push(None);
        i
    }
    for id in hubs.keys() {
        add_node(&mut net, &mut index, id.clone());
    }
    let mut product_family: Vec<(u32, Option<&'static str>, String)> = Vec::new(); // (node, family, hub)
    let mut merged: BTreeMap<(u32, u32), f64> = BTreeMap::new();
    let mut infos: Vec<NodeInfo> = hubs
        .iter()
        .map(|(id, h)| NodeInfo {
            hub: id.clone(),
            material: None,
            line: None,
            country: h.country.clone(),
            sources: Vec::new(),
        })
        .collect();
    for ((from, material, line), list) in &shipments {
        let id = if line.is_empty() {
            format!("{from}/{material}")
        } else {
            format!("{from}/{material}@{line}")
        };
        let p = add_node(&mut net, &mut index, id);
        infos.push(NodeInfo {
            hub: from.clone(),
            material: Some(material.clone()),
            line: (!line.is_empty()).then(|| line.clone()),
            country: hubs.get(from).and_then(|h| h.country.clone()),
            sources: {
                let mut v: Vec<String> = list
                    .iter()
                    .map(|x| x.3.clone())
                    .filter(|x| !x.is_empty())
                    .collect();
                v.sort();
                v.dedup();
                v
            },
        });
        let hub = index[from];
        let total: f64 = list.iter().map(|(_, q, _, _)| q).sum();
        net.output[p as usize] = total;
        if list.iter().all(|(_, _, usd, _)| usd.is_some()) {
            let usd: f64 = list.iter().filter_map(|(_, _, usd, _)| *usd).sum();
            net.unit_value[p as usize] = Some(usd / total);
        }
        *merged.entry((hub, p)).or_default() += total;
        for (to, q, _, _) in list {
            *merged.entry((p, index[to])).or_default() += q;
        }
        let family = materials
            .get(material.as_str())
            .and_then(|(_, stage)| stage_family(stage));
        product_family.push((p, family, from.clone()));
    }
    net.flows = merged
        .into_iter()
        .map(|((from, to), quantity)| Flow { from, to, quantity })
        .collect();
    let n_hubs = hubs.len();
    let mut inflow = vec![0.0; net.len()];
    for f in &net.flows {
        inflow[f.to as usize] += f.quantity;
    }
    let mut outflow = vec![0.0; net.len()];
    for f in &net.flows {
        outflow[f.from as usize] += f.quantity;
    }
    for h in 0..n_hubs {
        net.output[h] = outflow[h].max(inflow[h]);
    }
    // Hub value: output-weighted over its products, when all are priced.
    for h in 0..n_hubs {
        let products: Vec<&Flow> = net.flows.iter().filter(|f| f.from as usize == h).collect();
        if !products.is_empty()
            && products
                .iter()
                .all(|f| net.unit_value[f.to as usize].is_some())
        {
            let usd: f64 = products
                .iter()
                .map(|f| f.quantity * net.unit_value[f.to as usize].unwrap_or(0.0))
                .sum();
            net.unit_value[h] = Some(usd / outflow[h]);
        }
    }

    // Tags and amounts.
    let mut amounts: BTreeMap<String, Vec<(u32, f64)>> = BTreeMap::new();
    let hub_list: Vec<(&String, &Hub)> = hubs.iter().collect();
    for (h, (id, hub)) in hub_list.iter().enumerate() {
        let new = net.output[h] - inflow[h];
        // Shipped and received totals are summed in different orders; ignore rounding noise.
        if new > 1e-9 * net.output[h] {
            let unresolved = unresolved_in.get(id.as_str()).copied().unwrap_or(0.0) > 0.0;
            let tag = match (&hub.country, hub.is_mine || !hub.is_facility) {
                (_, _) if unresolved => {
                    notes.push(format!("'{id}' ships {new:.1} t more of the element than it receives resolved, and it receives content of unresolved composition: tagged mined:unresolved"));
                    "mined:unresolved".to_string()
                }
                (Some(c), true) => format!("mined:{c}"),
                _ => {
                    notes.push(format!("'{id}' ships {new:.1} t REO more than it receives but is not a mine: tagged mined:unknown"));
                    "mined:unknown".to_string()
                }
            };
            amounts.entry(tag).or_default().push((h as u32, new));
        }
    }
    let base = net.clone();
    let country_of_hub = |hub: &str| {
        hubs.get(hub)
            .and_then(|h| h.country.clone())
            .unwrap_or_else(|| "unknown".into())
    };
    // Refining (cracking, leaching) happens where concentrate is turned into intermediates, or
    // into oxides at a plant that separates straight from concentrate.
    let takes_concentrate: BTreeSet<&str> = shipments
        .iter()
        .filter(|((_, m, _), _)| {
            matches!(
                materials.get(m.as_str()).map(|x| x.1),
                Some("concentrate" | "ore")
            )
        })
        .flat_map(|(_, list)| list.iter().map(|(to, ..)| to.as_str()))
        .collect();
    let refines = |p: u32, family: Option<&str>, hub: &str| {
        let stage = infos[p as usize]
            .material
            .as_deref()
            .and_then(|m| materials.get(m))
            .map(|x| x.1);
        stage == Some("intermediate")
            || (family == Some("separated") && takes_concentrate.contains(hub))
    };
    for family in ["refined", "separated", "metal", "magnet"] {
        let members: Vec<(u32, String)> = product_family
            .iter()
            .filter(|(p, f, hub)| match family {
                "refined" => refines(*p, *f, hub),
                _ => *f == Some(family),
            })
            .map(|(p, _, hub)| (*p, country_of_hub(hub)))
            .collect();
        let nodes: Vec<u32> = members.iter().map(|(p, _)| *p).collect();
        for ((p, country), a) in members.iter().zip(first_pass_amounts(&base, &nodes)?) {
            if a > 0.0 {
                amounts
                    .entry(format!("{family}:{country}"))
                    .or_default()
                    .push((*p, a));
            }
        }
    }
    let mut by_tech: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (p, _, hub) in &product_family {
        let processed = shipments.keys().any(|(f, m, _)| {
            f == hub
                && infos[*p as usize].material.as_deref() == Some(m.as_str())
                && matches!(
                    materials.get(m.as_str()).map(|x| x.1),
                    Some("intermediate" | "oxide" | "metal" | "alloy" | "magnet")
                )
        });
        // Only processing abroad with a country's technology carries its tag: China's clause on
        // items "made abroad with Chinese technology" is not about China's own plants.
        let hub_info = hubs.get(hub);
        if let (true, Some(t)) = (processed, hub_info.and_then(|h| h.technology.clone()))
            && hub_info.and_then(|h| h.country.as_deref()) != Some(t.as_str())
        {
            by_tech.entry(t).or_default().push(*p);
        }
    }
    for (tech, nodes) in by_tech {
        for (p, a) in nodes.iter().zip(first_pass_amounts(&base, &nodes)?) {
            if a > 0.0 {
                amounts
                    .entry(format!("tech:{tech}"))
                    .or_default()
                    .push((*p, a));
            }
        }
    }
    for (h, (id, hub)) in hub_list.iter().enumerate() {
        if hub.is_facility {
            let a = first_pass_amounts(&base, &[h as u32])?[0];
            if a > 0.0 {
                amounts
                    .entry(format!("facility:{id}"))
                    .or_default()
                    .push((h as u32, a));
            }
        }
    }
    for set in unions {
        let name = set.join("|");
        if set.len() < 2 || amounts.contains_key(&name) {
            continue;
        }
        if let Some(t) = set.iter().find(|t| t.starts_with("mined:")) {
            return Err(format!(
                "union tag '{name}': '{t}' marks new content, not a stage it passed; mined tags are disjoint, so add their shares instead"
            ));
        }
        let list = union_amounts(&base, set, &amounts)?;
        amounts.insert(name, list);
    }
    for (tag, list) in amounts {
        let t = net.tags.len() as u32;
        net.tags.push(tag);
        for (node, amount) in list {
            net.additions.push(Addition {
                node,
                tag: t,
                amount,
            });
        }
    }
    // Declared lines: inputs are the product nodes of the listed suppliers that ship to the
    // facility; outputs are the facility's product nodes on the line.
    for ((facility, line), suppliers) in &line_inputs {
        let Some(&hub) = index.get(facility) else {
            notes.push(format!(
                "segregated line '{line}' of '{facility}': the facility has no flows in {year}"
            ));
            continue;
        };
        let inputs: Vec<u32> = net
            .flows
            .iter()
            .filter(|f| f.to == hub && suppliers.contains(&infos[f.from as usize].hub))
            .map(|f| f.from)
            .collect();
        let outputs: Vec<u32> = (0..net.len() as u32)
            .filter(|&i| {
                infos[i as usize].hub == *facility
                    && infos[i as usize].line.as_deref() == Some(line.as_str())
            })
            .collect();
        net.lines.push(lodestone_trace::Line {
            node: hub,
            name: line.clone(),
            inputs,
            outputs,
        });
    }
    Ok(Lowering {
        network: net,
        nodes: infos,
        year,
        notes,
    })
}

/// The additions of a union tag: each member tag's additions in turn, less the part of the
/// content it tags that already carries an earlier member. At a node adding a member tag, the
/// content already in the union is estimated as the union's share of the node's inflow (exact when
/// the inflow carries none of that member tag yet, as when oxide enters a metal plant).
fn union_amounts(
    base: &Network,
    set: &[String],
    amounts: &BTreeMap<String, Vec<(u32, f64)>>,
) -> Result<Vec<(u32, f64)>, String> {
    let mut adds: Vec<(u32, f64)> = Vec::new();
    for tag in set {
        let Some(list) = amounts.get(tag) else {
            continue;
        };
        let mut aux = base.clone();
        aux.unit_value = vec![None; base.len()];
        aux.tags = vec!["union".into()];
        aux.additions = adds
            .iter()
            .map(|&(node, amount)| Addition {
                node,
                tag: 0,
                amount,
            })
            .collect();
        let t = trace(&aux, CustodyModel::MassBalance).map_err(|e| e.to_string())?;
        let mut inflow = vec![0.0; base.len()];
        let mut in_union = vec![0.0; base.len()];
        for f in &base.flows {
            inflow[f.to as usize] += f.quantity;
            in_union[f.to as usize] += f.quantity * t.per_unit(f.from as usize, 0);
        }
        for &(j, a) in list {
            let i = j as usize;
            let already = if inflow[i] > 0.0 {
                (in_union[i] / inflow[i]).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let amount = a * (1.0 - already);
            if amount > 0.0 {
                adds.push((j, amount));
            }
        }
    }
    Ok(adds)
}

/// For a set of tagging nodes, the amount each must add so that all of its output carries the
/// tag without counting content that already carries it: `x_j − Σ_i Z_ij m_i`, where `m` is the
/// share already tagged, from a trace in which the tagging nodes' inputs are cut.
fn first_pass_amounts(base: &Network, nodes: &[u32]) -> Result<Vec<f64>, String> {
    if nodes.is_empty() {
        return Ok(Vec::new());
    }
    let set: BTreeSet<u32> = nodes.iter().copied().collect();
    let mut aux = base.clone();
    aux.unit_value = vec![None; base.len()];
    aux.flows.retain(|f| !set.contains(&f.to));
    aux.tags = vec!["tagged".into()];
    aux.additions = nodes
        .iter()
        .map(|&j| Addition {
            node: j,
            tag: 0,
            amount: base.output[j as usize],
        })
        .collect();
    let t = trace(&aux, CustodyModel::MassBalance).map_err(|e| e.to_string())?;
    let mut already = vec![0.0; base.len()];
    for f in &base.flows {
        if set.contains(&f.to) {
            already[f.to as usize] += f.quantity * t.per_unit(f.from as usize, 0);
        }
    }
    Ok(nodes
        .iter()
        .map(|&j| (base.output[j as usize] - already[j as usize]).max(0.0))
        .collect())
}
