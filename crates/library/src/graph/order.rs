//! `build-order`: the entries of some repositories in an order where every library parent is
//! built before its children.

use std::collections::BTreeSet;

use oci::Architecture;
use serde::Serialize;

use super::{push_unique, Graph, GraphError, MissingParent, NodeId, Target};
use crate::{FromsResolver, Library};

/// One entry in build order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildStep {
    /// The entry, `repo:tag` with its first tag.
    pub entry: String,
    /// The entries among those ordered that it builds FROM (all built before it).
    pub parents: Vec<String>,
}

/// The answer of [`build_order`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BuildOrder {
    /// Every entry asked for, parents first.
    pub steps: Vec<BuildStep>,
    /// FROMs of those entries that name library tags the library does not build.
    pub missing: Vec<MissingParent>,
}

/// Orders the entries `specs` names (`REPO` or `REPO:TAG`; `None`: the whole library) so that
/// each comes after every library entry among them that it builds FROM, for `arch` or every
/// architecture. Entries with no such constraint between them keep their order: arguments in
/// the order given (the whole library by repository name), entries in file order. Parents
/// outside the selection do not constrain it, as in bashbrew.
pub fn build_order<S: AsRef<str>>(
    library: &Library,
    resolver: &dyn FromsResolver,
    specs: Option<&[S]>,
    arch: Option<Architecture>,
) -> Result<BuildOrder, GraphError> {
    let graph = Graph::new(library, resolver, arch);
    let selected = select(&graph, specs)?;
    let mut missing = Vec::new();
    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(selected.len());
    for &node in &selected {
        let mut ranks = Vec::new();
        for arch in graph.arches(node) {
            for edge in graph.edges(node, arch)? {
                if let Some(problem) = graph.missing(node, arch, &edge) {
                    push_unique(&mut missing, problem);
                }
                let rank = match edge.target {
                    Target::Entry(parent) => selected.iter().position(|&n| n == parent),
                    Target::External | Target::Missing(_) => None,
                };
                if let Some(rank) = rank {
                    push_unique(&mut ranks, rank);
                }
            }
        }
        parents.push(ranks);
    }
    let name = |rank: usize| graph.nodes[selected[rank]].name();
    let order = topological(&parents)
        .map_err(|cycle| GraphError::Cycle(cycle.into_iter().map(name).collect()))?;
    let steps = order
        .into_iter()
        .map(|rank| BuildStep {
            entry: name(rank),
            parents: parents[rank].iter().map(|&p| name(p)).collect(),
        })
        .collect();
    Ok(BuildOrder { steps, missing })
}

/// The nodes to order, each once, in argument order.
fn select<S: AsRef<str>>(
    graph: &Graph<'_>,
    specs: Option<&[S]>,
) -> Result<Vec<NodeId>, GraphError> {
    let Some(specs) = specs else {
        let all = 0..graph.nodes.len();
        return Ok(all.filter(|&node| !graph.arches(node).is_empty()).collect());
    };
    let mut selected = Vec::new();
    for spec in specs {
        for node in graph.resolve(spec.as_ref())? {
            push_unique(&mut selected, node);
        }
    }
    Ok(selected)
}

/// Kahn's algorithm over ranks `0..parents.len()`, always taking the lowest ready rank so the
/// result is the input order wherever the edges allow. On a cycle, returns it as ranks from a
/// node back to itself, each building FROM the next.
fn topological(parents: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    let mut waiting_on: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut children = vec![Vec::new(); parents.len()];
    for (child, ranks) in parents.iter().enumerate() {
        for &parent in ranks {
            children[parent].push(child);
        }
    }
    let mut ready: BTreeSet<usize> = (0..parents.len()).filter(|&r| waiting_on[r] == 0).collect();
    let mut order = Vec::with_capacity(parents.len());
    while let Some(rank) = ready.pop_first() {
        order.push(rank);
        for &child in &children[rank] {
            waiting_on[child] -= 1;
            if waiting_on[child] == 0 {
                ready.insert(child);
            }
        }
    }
    match order.len() == parents.len() {
        true => Ok(order),
        false => Err(find_cycle(parents, &waiting_on)),
    }
}

/// A cycle among the ranks Kahn's algorithm could not place. Each of them still waits on a
/// parent that could not be placed either, so following such parents must come back round.
fn find_cycle(parents: &[Vec<usize>], waiting_on: &[usize]) -> Vec<usize> {
    let blocked = |rank: &usize| waiting_on[*rank] > 0;
    let mut path: Vec<usize> = Vec::new();
    let mut current = (0..parents.len())
        .find(blocked)
        .expect("an incomplete order leaves blocked ranks");
    loop {
        if let Some(start) = path.iter().position(|&r| r == current) {
            let mut cycle = path.split_off(start);
            cycle.push(current);
            return cycle;
        }
        path.push(current);
        current = *parents[current]
            .iter()
            .find(|r| blocked(r))
            .expect("a blocked rank waits on a blocked parent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::fixture::{library, sample, Dockerfiles};

    fn order<S: AsRef<str>>(specs: Option<&[S]>, arch: Option<Architecture>) -> Vec<String> {
        let (library, dockerfiles) = sample();
        let answer = build_order(&library, &dockerfiles, specs, arch).unwrap();
        answer.steps.into_iter().map(|step| step.entry).collect()
    }

    #[test]
    fn parents_come_first_and_the_rest_keeps_its_order() {
        type Case<'a> = (Option<&'a [&'a str]>, Option<Architecture>, &'a [&'a str]);
        let cases: &[Case] = &[
            (
                None,
                None,
                &["base:1", "base:1-win", "lang:2", "app:3", "tool:4"],
            ),
            (
                Some(&["app", "tool", "lang", "base"]),
                None,
                &["base:1", "lang:2", "app:3", "tool:4", "base:1-win"],
            ),
            // Only amd64 builds of tool depend on base; its arm64v8 build needs lang first.
            (
                Some(&["tool", "lang", "base"]),
                Some(Architecture::Amd64),
                &["base:1", "tool:4", "lang:2"],
            ),
            (
                Some(&["tool", "lang", "base"]),
                Some(Architecture::Arm64v8),
                &["base:1", "lang:2", "tool:4"],
            ),
            // Parents outside the selection do not constrain it.
            (Some(&["app", "tool"]), None, &["app:3", "tool:4"]),
            (
                Some(&["base:shared"]),
                Some(Architecture::WindowsAmd64),
                &["base:1-win"],
            ),
        ];
        for (specs, arch, expected) in cases {
            assert_eq!(order(*specs, *arch), *expected, "{specs:?} {arch:?}");
        }
    }

    #[test]
    fn steps_name_their_parents() {
        let (library, dockerfiles) = sample();
        let answer = build_order(&library, &dockerfiles, Some(&["app", "lang"]), None).unwrap();
        assert_eq!(
            answer.steps,
            [
                BuildStep {
                    entry: "lang:2".into(),
                    parents: vec![]
                },
                BuildStep {
                    entry: "app:3".into(),
                    parents: vec!["lang:2".into()]
                },
            ]
        );
    }

    #[test]
    fn cycles_are_named() {
        let library = library(&[
            ("a", "Tags: 1\nDirectory: a\n"),
            ("b", "Tags: 2\nDirectory: b\n"),
            ("c", "Tags: 3\nDirectory: c\n"),
        ]);
        let dockerfiles = Dockerfiles(
            [
                ("a", "FROM c:3\n"),
                ("b", "FROM a:1\n"),
                ("c", "FROM b:2\nFROM debian\n"),
            ]
            .into(),
        );
        let err = build_order::<&str>(&library, &dockerfiles, None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dependency cycle: a:1 -> c:3 -> b:2 -> a:1 (each builds FROM the next): change the FROM of one of them"
        );
        let selfish =
            Dockerfiles([("a", "FROM a:1\n"), ("b", "FROM a\n"), ("c", "FROM b:2\n")].into());
        let err = build_order(&library, &selfish, Some(&["a"]), None).unwrap_err();
        assert_eq!(err, GraphError::Cycle(vec!["a:1".into(), "a:1".into()]));
    }

    #[test]
    fn froms_that_cannot_be_read_name_the_entry() {
        let library = library(&[("a", "Tags: 1\nDirectory: nowhere\n")]);
        let err = build_order::<&str>(&library, &Dockerfiles([].into()), None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot read the FROM lines of a:1 for amd64: no Dockerfile in nowhere"
        );
    }
}
