//! Dependency order: a stable topological sort with cycle reporting.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::Error;
use crate::model::ResourceId;

/// Order `nodes` (each with the ids it depends on) so that every node comes after its
/// dependencies, keeping declaration order wherever the dependencies allow it. Returns indices
/// into `nodes`.
///
/// Errors: a dependency that names no node ([`Error::UnknownDependency`]) and a cycle
/// ([`Error::DependencyCycle`], naming the resources on it).
pub fn topological_order(nodes: &[(ResourceId, Vec<ResourceId>)]) -> Result<Vec<usize>, Error> {
    let index: BTreeMap<&ResourceId, usize> = nodes.iter().enumerate().map(|(i, (id, _))| (id, i)).collect();
    let mut deps: Vec<BTreeSet<usize>> = Vec::with_capacity(nodes.len());
    for (id, needs) in nodes {
        let mut set = BTreeSet::new();
        for need in needs {
            let Some(&j) = index.get(need) else {
                return Err(Error::UnknownDependency { resource: id.clone(), missing: need.clone() });
            };
            set.insert(j);
        }
        deps.push(set);
    }
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, set) in deps.iter().enumerate() {
        for &j in set {
            dependents[j].push(i);
        }
    }
    let mut waiting: Vec<usize> = deps.iter().map(BTreeSet::len).collect();
    let mut ready: BTreeSet<usize> = (0..nodes.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &d in &dependents[i] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.insert(d);
            }
        }
    }
    if order.len() == nodes.len() {
        return Ok(order);
    }
    let stuck: BTreeSet<usize> = (0..nodes.len()).filter(|&i| waiting[i] > 0).collect();
    Err(Error::DependencyCycle { cycle: find_cycle(&deps, &stuck).into_iter().map(|i| nodes[i].0.clone()).collect() })
}

/// A cycle among the `stuck` nodes (every one of them has a dependency inside the set, so
/// following dependencies from any of them must come back to a node already seen).
fn find_cycle(deps: &[BTreeSet<usize>], stuck: &BTreeSet<usize>) -> Vec<usize> {
    let Some(&start) = stuck.first() else {
        return Vec::new();
    };
    let mut path = vec![start];
    let mut at = start;
    loop {
        let Some(&next) = deps[at].iter().find(|d| stuck.contains(d)) else {
            return path; // cannot happen for a stuck set; report what we have
        };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            return path.split_off(pos);
        }
        path.push(next);
        at = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn id(kind: Kind, name: &str) -> ResourceId {
        ResourceId::new(kind, name)
    }

    fn names(nodes: &[(ResourceId, Vec<ResourceId>)], order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| nodes[i].0.to_string()).collect()
    }

    #[test]
    fn dependencies_come_first_and_declaration_order_is_kept_otherwise() {
        let nodes = vec![
            (id(Kind::Rule, "r"), vec![id(Kind::EventBus, "bus"), id(Kind::Queue, "q"), id(Kind::QueuePolicy, "q")]),
            (id(Kind::QueuePolicy, "q"), vec![id(Kind::Queue, "q")]),
            (id(Kind::Table, "t"), vec![]),
            (id(Kind::Queue, "q"), vec![id(Kind::Queue, "q-dlq")]),
            (id(Kind::Queue, "q-dlq"), vec![]),
            (id(Kind::EventBus, "bus"), vec![]),
        ];
        let order = topological_order(&nodes).unwrap();
        assert_eq!(names(&nodes, &order), ["Table t", "Queue q-dlq", "Queue q", "QueuePolicy q", "EventBus bus", "Rule r"]);
    }

    #[test]
    fn a_cycle_is_reported_with_its_members() {
        let nodes = vec![
            (id(Kind::Table, "ok"), vec![]),
            (id(Kind::Queue, "a"), vec![id(Kind::Queue, "b")]),
            (id(Kind::Queue, "b"), vec![id(Kind::Queue, "c")]),
            (id(Kind::Queue, "c"), vec![id(Kind::Queue, "a")]),
            (id(Kind::Queue, "after"), vec![id(Kind::Queue, "a")]),
        ];
        let err = topological_order(&nodes).unwrap_err();
        let Error::DependencyCycle { cycle } = &err else { panic!("{err}") };
        assert_eq!(cycle, &[id(Kind::Queue, "a"), id(Kind::Queue, "b"), id(Kind::Queue, "c")]);
        assert_eq!(err.to_string(), "dependency cycle: Queue a → Queue b → Queue c → Queue a");
    }

    #[test]
    fn a_self_dependency_is_a_cycle() {
        let nodes = vec![(id(Kind::Queue, "a"), vec![id(Kind::Queue, "a")])];
        let err = topological_order(&nodes).unwrap_err();
        assert_eq!(err.to_string(), "dependency cycle: Queue a → Queue a");
    }

    #[test]
    fn an_unknown_dependency_is_named() {
        let nodes = vec![(id(Kind::Queue, "a"), vec![id(Kind::Queue, "ghost")])];
        let err = topological_order(&nodes).unwrap_err();
        assert_eq!(err.to_string(), "Queue a depends on Queue ghost, which the stack does not declare");
    }
}
