//! Start/stop ordering: `requires` closure, before/after ordering (Tarjan SCC), lanes.

use crate::error::PlanError;
use crate::quote::go_quote;
use crate::types::{Plan, Service};
use indexmap::IndexMap;
use std::collections::{BTreeMap, HashMap};

fn not_found(name: &str) -> PlanError {
    PlanError::Other(format!("service {} does not exist", go_quote(name)))
}

/// Tarjan's strongly connected components over `successors`, visiting nodes in sorted order;
/// components come out successors-first, members of multi-node components sorted.
fn tarjan_sort(successors: &BTreeMap<String, Vec<String>>) -> Vec<Vec<String>> {
    struct St<'a> {
        succ: &'a BTreeMap<String, Vec<String>>,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        on_stack: HashMap<&'a str, bool>,
        stack: Vec<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn connect<'a>(st: &mut St<'a>, v: &'a str) {
        st.index.insert(v, st.next);
        st.low.insert(v, st.next);
        st.next += 1;
        st.stack.push(v);
        st.on_stack.insert(v, true);
        let succ = st.succ;
        if let Some(ws) = succ.get(v) {
            for w in ws {
                let w = w.as_str();
                if !st.index.contains_key(w) {
                    connect(st, w);
                    let lw = st.low[w];
                    let lv = st.low[v];
                    st.low.insert(v, lv.min(lw));
                } else if st.on_stack.get(w).copied().unwrap_or(false) {
                    let iw = st.index[w];
                    let lv = st.low[v];
                    st.low.insert(v, lv.min(iw));
                }
            }
        }
        if st.low[v] == st.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on_stack.insert(w, false);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
            }
            st.out.push(comp);
        }
    }
    let mut st = St {
        succ: successors,
        index: HashMap::new(),
        low: HashMap::new(),
        on_stack: HashMap::new(),
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for k in successors.keys() {
        if !st.index.contains_key(k.as_str()) {
            connect(&mut st, k.as_str());
        }
    }
    st.out
}

/// Orders `names` plus their `requires` closure (start) or reverse-`requires` closure (stop)
/// so that before/after constraints hold. Loops give `services in before/after loop: a, b`.
pub(crate) fn order(
    services: &IndexMap<String, Service>,
    names: &[String],
    stop: bool,
) -> Result<Vec<String>, PlanError> {
    let mut predecessors: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    if stop {
        let mut keys: Vec<&String> = services.keys().collect();
        keys.sort();
        for name in keys {
            for req in &services[name].requires {
                predecessors
                    .entry(req.as_str())
                    .or_default()
                    .push(name.as_str());
            }
        }
    }
    let mut successors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut pending: Vec<String> = names.to_vec();
    let mut i = 0;
    while i < pending.len() {
        let name = pending[i].clone();
        i += 1;
        if successors.contains_key(&name) {
            continue;
        }
        successors.insert(name.clone(), Vec::new());
        if stop {
            if let Some(p) = predecessors.get(name.as_str()) {
                pending.extend(p.iter().map(|s| s.to_string()));
            }
        } else {
            let svc = services.get(&name).ok_or_else(|| not_found(&name))?;
            pending.extend(svc.requires.iter().cloned());
        }
    }
    let members: Vec<String> = successors.keys().cloned().collect();
    for name in &members {
        let svc = services.get(name).ok_or_else(|| not_found(name))?;
        let (after, before) = if stop {
            (&svc.before, &svc.after)
        } else {
            (&svc.after, &svc.before)
        };
        for a in after {
            if successors.contains_key(a)
                && let Some(v) = successors.get_mut(name)
            {
                v.push(a.clone());
            }
        }
        for b in before {
            if let Some(v) = successors.get_mut(b) {
                v.push(name.clone());
            }
        }
    }
    let mut out = Vec::new();
    for comp in tarjan_sort(&successors) {
        if comp.len() > 1 {
            return Err(PlanError::Other(format!(
                "services in before/after loop: {}",
                comp.join(", ")
            )));
        }
        out.extend(comp);
    }
    Ok(out)
}

/// Groups ordered names into lanes: a service joins the lane of itself or of one of its
/// `requires` (stamping its `requires` into that lane), else opens a new lane.
fn create_lanes(
    names: &[String],
    services: &IndexMap<String, Service>,
) -> Result<Vec<Vec<String>>, PlanError> {
    let mut lane_of: HashMap<String, usize> = HashMap::new();
    let mut lane: isize = -1;
    let mut max_lane = 0usize;
    for name in names {
        let svc = services.get(name).ok_or_else(|| not_found(name))?;
        let found = lane_of
            .get(name)
            .copied()
            .or_else(|| svc.requires.iter().find_map(|r| lane_of.get(r).copied()));
        let l = match found {
            Some(l) => l,
            None => {
                lane += 1;
                lane as usize
            }
        };
        lane_of.insert(name.clone(), l);
        for r in &svc.requires {
            lane_of.insert(r.clone(), l);
        }
        // As Pebble does: the next new lane follows the lane just used.
        lane = l as isize;
        max_lane = max_lane.max(l);
    }
    let mut lanes: Vec<Vec<String>> =
        vec![Vec::new(); if names.is_empty() { 0 } else { max_lane + 1 }];
    for name in names {
        if let Some(&l) = lane_of.get(name) {
            lanes[l].push(name.clone());
        }
    }
    Ok(lanes)
}

impl Plan {
    /// The services to start for `names` (with their `requires` closure), in lanes: services in
    /// one lane start one after another, lanes run concurrently.
    pub fn start_order(&self, names: &[String]) -> Result<Vec<Vec<String>>, PlanError> {
        let ordered = order(&self.services, names, false)?;
        create_lanes(&ordered, &self.services)
    }

    /// The services to stop for `names` (with the services that require them), in lanes.
    pub fn stop_order(&self, names: &[String]) -> Result<Vec<Vec<String>>, PlanError> {
        let ordered = order(&self.services, names, true)?;
        create_lanes(&ordered, &self.services)
    }
}
