//! `parents` and `children`: walking the FROM graph up or down from some entries, level by
//! level, one architecture at a time.

use std::collections::{HashMap, HashSet};

use oci::{Architecture, ImageReference};
use serde::Serialize;

use super::{display_image, push_unique, Graph, GraphError, MissingParent, NodeId, Target};
use crate::{FromsResolver, Library, LookupError};

/// One image found by a walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relative {
    /// The argument the walk started from.
    pub start: String,
    /// For a parent, the image as its FROM names it (`debian:bookworm`); for a child, the
    /// child's `repo:tag`.
    pub image: String,
    /// The library entry the image is (`repo:tag`, its first tag), if it is one.
    pub entry: Option<String>,
    /// Whether the image is a library entry, an external image, or a missing library tag.
    pub kind: RelativeKind,
    /// FROM steps from the start: 1 for direct parents or children.
    pub depth: usize,
    /// The image one step closer to the start, through which this one was first found.
    pub via: String,
    /// The architectures the relation holds for.
    pub architectures: Vec<Architecture>,
}

/// What kind of image a [`Relative`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelativeKind {
    /// An entry of the library.
    Library,
    /// An image from outside the library: a leaf of the graph.
    External,
    /// A tag of a library repository that the library does not build (see
    /// [`Walk::missing`]).
    Missing,
}

/// The answer of [`parents`] or [`children`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Walk {
    /// Every image found, per start in argument order, nearest first, each once per start.
    pub relatives: Vec<Relative>,
    /// FROMs met on the way that name library tags the library does not build.
    pub missing: Vec<MissingParent>,
}

/// A position in the walk: an entry and the architecture followed to it.
type State = (NodeId, Architecture);

/// The images the entries named by `specs` build FROM, transitively through library entries
/// up to `depth` levels (`None`: all), for `arch` or every architecture of each entry.
pub fn parents<S: AsRef<str>>(
    library: &Library,
    resolver: &dyn FromsResolver,
    specs: &[S],
    arch: Option<Architecture>,
    depth: Option<usize>,
) -> Result<Walk, GraphError> {
    let graph = Graph::new(library, resolver, arch);
    let mut walk = Walk::default();
    for spec in specs {
        let mut found = Found::new(spec.as_ref());
        let start = graph.resolve(spec.as_ref())?;
        let frontier = states(&graph, &start);
        breadth_first(frontier, 1, depth, |(node, arch), level| {
            let mut next = Vec::new();
            for edge in graph.edges(node, arch)? {
                let (kind, entry) = match edge.target {
                    Target::Entry(parent) => {
                        next.push((parent, arch));
                        (RelativeKind::Library, Some(graph.nodes[parent].name()))
                    }
                    Target::External => (RelativeKind::External, None),
                    Target::Missing(_) => (RelativeKind::Missing, None),
                };
                if let Some(problem) = graph.missing(node, arch, &edge) {
                    push_unique(&mut walk.missing, problem);
                }
                found.record(
                    display_image(&edge.image),
                    entry,
                    kind,
                    level,
                    &graph.nodes[node].name(),
                    arch,
                );
            }
            Ok(next)
        })?;
        walk.relatives.extend(found.relatives);
    }
    Ok(walk)
}

/// The library entries that build FROM the images `specs` names (library entries, or any
/// image a library Dockerfile names), transitively up to `depth` levels (`None`: all), for
/// `arch` or every architecture.
pub fn children<S: AsRef<str>>(
    library: &Library,
    resolver: &dyn FromsResolver,
    specs: &[S],
    arch: Option<Architecture>,
    depth: Option<usize>,
) -> Result<Walk, GraphError> {
    let graph = Graph::new(library, resolver, arch);
    let reverse = ReverseIndex::build(&graph)?;
    let mut walk = Walk::default();
    for spec in specs {
        let spec = spec.as_ref();
        let mut found = Found::new(spec);
        // A library argument starts the walk itself; an outside image has no node, so its
        // direct children are found from the index and the walk goes on from them.
        let (frontier, first_level) = match graph.resolve(spec) {
            Ok(start) => (states(&graph, &start), 1),
            Err(LookupError::UnknownRepository(_) | LookupError::UnknownTag { .. }) => {
                let direct = reverse.children_of_image(spec)?;
                for &(edge, child, arch) in &direct {
                    if let Some(problem) = graph.missing(child, arch, edge) {
                        push_unique(&mut walk.missing, problem);
                    }
                    found.record_child(&graph, child, 1, spec, arch);
                }
                let next = direct.iter().map(|&(_, child, arch)| (child, arch));
                (next.collect(), 2)
            }
        };
        breadth_first(frontier, first_level, depth, |(node, arch), level| {
            let kids = reverse
                .children
                .get(&(node, arch))
                .map_or(&[][..], Vec::as_slice);
            for &child in kids {
                found.record_child(&graph, child, level, &graph.nodes[node].name(), arch);
            }
            Ok(kids.iter().map(|&child| (child, arch)).collect())
        })?;
        walk.relatives.extend(found.relatives);
    }
    Ok(walk)
}

/// Every (entry, architecture) the walk starts from.
fn states(graph: &Graph<'_>, nodes: &[NodeId]) -> Vec<State> {
    nodes
        .iter()
        .flat_map(|&node| graph.arches(node).into_iter().map(move |arch| (node, arch)))
        .collect()
}

/// Visits `frontier` as level `first_level`, then whatever each visit returns as the next
/// level, until `max_depth` or nothing is left. Each state is visited once, so cycles end.
fn breadth_first(
    mut frontier: Vec<State>,
    first_level: usize,
    max_depth: Option<usize>,
    mut visit: impl FnMut(State, usize) -> Result<Vec<State>, GraphError>,
) -> Result<(), GraphError> {
    let mut seen: HashSet<State> = frontier.iter().copied().collect();
    let mut level = first_level;
    while !frontier.is_empty() && max_depth.is_none_or(|max| level <= max) {
        let mut next = Vec::new();
        for state in frontier {
            next.extend(visit(state, level)?.into_iter().filter(|s| seen.insert(*s)));
        }
        frontier = next;
        level += 1;
    }
    Ok(())
}

/// The relatives found from one start, each image once with the union of its architectures.
struct Found {
    start: String,
    relatives: Vec<Relative>,
}

impl Found {
    fn new(start: &str) -> Self {
        Found {
            start: start.to_owned(),
            relatives: Vec::new(),
        }
    }

    fn record(
        &mut self,
        image: String,
        entry: Option<String>,
        kind: RelativeKind,
        depth: usize,
        via: &str,
        arch: Architecture,
    ) {
        match self
            .relatives
            .iter_mut()
            .find(|r| r.image == image && r.kind == kind)
        {
            Some(known) => push_unique(&mut known.architectures, arch),
            None => self.relatives.push(Relative {
                start: self.start.clone(),
                image,
                entry,
                kind,
                depth,
                via: via.to_owned(),
                architectures: vec![arch],
            }),
        }
    }

    fn record_child(
        &mut self,
        graph: &Graph<'_>,
        child: NodeId,
        depth: usize,
        via: &str,
        arch: Architecture,
    ) {
        let name = graph.nodes[child].name();
        let entry = Some(name.clone());
        self.record(name, entry, RelativeKind::Library, depth, via, arch);
    }
}

/// The FROM graph turned around: for each entry (per architecture), the entries built FROM
/// it, and every FROM that leaves the library.
struct ReverseIndex {
    children: HashMap<State, Vec<NodeId>>,
    /// FROMs of external images or missing library tags: (edge, child, architecture).
    outside: Vec<(super::Edge, NodeId, Architecture)>,
}

impl ReverseIndex {
    fn build(graph: &Graph<'_>) -> Result<Self, GraphError> {
        let mut index = ReverseIndex {
            children: HashMap::new(),
            outside: Vec::new(),
        };
        for child in 0..graph.nodes.len() {
            for arch in graph.arches(child) {
                for edge in graph.edges(child, arch)? {
                    match edge.target {
                        Target::Entry(parent) => {
                            push_unique(index.children.entry((parent, arch)).or_default(), child)
                        }
                        Target::External | Target::Missing(_) => {
                            index.outside.push((edge, child, arch))
                        }
                    }
                }
            }
        }
        Ok(index)
    }

    /// The entries whose FROM names `spec`, an image outside the library (or a tag the
    /// library lacks); without a tag, any tag of that image.
    fn children_of_image(
        &self,
        spec: &str,
    ) -> Result<Vec<(&super::Edge, NodeId, Architecture)>, GraphError> {
        let unknown = || GraphError::UnknownImage(spec.to_owned());
        let wanted = ImageReference::parse(spec).map_err(|_| unknown())?;
        let direct: Vec<_> = self
            .outside
            .iter()
            .filter(|(edge, _, _)| names_image(&wanted, &edge.image))
            .map(|(edge, child, arch)| (edge, *child, *arch))
            .collect();
        match direct.is_empty() {
            true => Err(unknown()),
            false => Ok(direct),
        }
    }
}

/// Whether `image` is what `wanted` asks for: the same repository, and the same tag and
/// digest where `wanted` gives them.
fn names_image(wanted: &ImageReference, image: &ImageReference) -> bool {
    let same_repo = wanted.domain == image.domain && wanted.path == image.path;
    let tag_ok = wanted
        .tag
        .as_deref()
        .is_none_or(|tag| tag == image.tag_or_latest());
    let digest_ok = wanted.digest.is_none() || wanted.digest == image.digest;
    same_repo && tag_ok && digest_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::fixture::sample;

    /// Renders a walk as `start: image [arches] @depth via` lines plus `missing:` lines.
    fn render(walk: &Walk) -> Vec<String> {
        let relatives = walk.relatives.iter().map(|r| {
            let arches: Vec<&str> = r.architectures.iter().map(|a| a.as_str()).collect();
            format!(
                "{}: {} {:?} [{}] @{} via {}",
                r.start,
                r.image,
                r.kind,
                arches.join(","),
                r.depth,
                r.via
            )
        });
        let missing = walk.missing.iter().map(|m| format!("missing: {m}"));
        relatives.chain(missing).collect()
    }

    #[test]
    fn parents_follow_each_architecture_through_the_library() {
        let (library, dockerfiles) = sample();
        type Case = (
            &'static [&'static str],
            Option<Architecture>,
            Option<usize>,
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (
                &["app:3"],
                None,
                None,
                &[
                    "app:3: golang:1 External [amd64] @1 via app:3",
                    "app:3: lang:2 Library [amd64] @1 via app:3",
                    "app:3: base:shared Library [amd64] @2 via lang:2",
                    "app:3: debian:bookworm-slim External [amd64] @3 via base:1",
                ],
            ),
            (
                &["app"],
                None,
                Some(1),
                &[
                    "app: golang:1 External [amd64] @1 via app:3",
                    "app: lang:2 Library [amd64] @1 via app:3",
                ],
            ),
            (
                &["tool:4"],
                None,
                None,
                &[
                    "tool:4: base:latest Library [amd64] @1 via tool:4",
                    "tool:4: lang:2 Library [arm64v8] @1 via tool:4",
                    "tool:4: debian:bookworm-slim External [amd64,arm64v8] @2 via base:1",
                    "tool:4: base:shared Library [arm64v8] @2 via lang:2",
                ],
            ),
            (
                &["base:shared"],
                Some(Architecture::WindowsAmd64),
                None,
                &["base:shared: mcr.microsoft.com/windows/servercore:ltsc2022 External [windows-amd64] @1 via base:1-win"],
            ),
            (&["app"], Some(Architecture::S390x), None, &[]),
        ];
        for (specs, arch, depth, expected) in cases {
            let walk = parents(&library, &dockerfiles, specs, *arch, *depth).unwrap();
            assert_eq!(render(&walk), *expected, "{specs:?} {arch:?} {depth:?}");
        }
    }

    #[test]
    fn children_come_from_library_tags_and_outside_images() {
        let (library, dockerfiles) = sample();
        type Case = (
            &'static str,
            Option<Architecture>,
            Option<usize>,
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (
                "base",
                None,
                None,
                &[
                    "base: lang:2 Library [amd64,arm64v8] @1 via base:1",
                    "base: tool:4 Library [amd64,arm64v8] @1 via base:1",
                    "base: app:3 Library [amd64] @2 via lang:2",
                ],
            ),
            (
                "base:shared",
                Some(Architecture::Arm64v8),
                Some(1),
                &["base:shared: lang:2 Library [arm64v8] @1 via base:1"],
            ),
            (
                "debian",
                None,
                None,
                &[
                    "debian: base:1 Library [amd64,arm64v8] @1 via debian",
                    "debian: lang:2 Library [amd64,arm64v8] @2 via base:1",
                    "debian: tool:4 Library [amd64,arm64v8] @2 via base:1",
                    "debian: app:3 Library [amd64] @3 via lang:2",
                ],
            ),
            (
                "mcr.microsoft.com/windows/servercore:ltsc2022",
                None,
                None,
                &["mcr.microsoft.com/windows/servercore:ltsc2022: base:1-win Library [windows-amd64] @1 via mcr.microsoft.com/windows/servercore:ltsc2022"],
            ),
        ];
        for (spec, arch, depth, expected) in cases {
            let walk = children(&library, &dockerfiles, &[spec], *arch, *depth).unwrap();
            assert_eq!(render(&walk), *expected, "{spec} {arch:?} {depth:?}");
        }
    }

    #[test]
    fn missing_library_tags_are_reported_not_dropped() {
        let (mut library, mut dockerfiles) = sample();
        let extra = crate::graph::fixture::library(&[(
            "old",
            "Tags: 5\nArchitectures: amd64, s390x\nDirectory: old/5\n",
        )]);
        library.insert("old".to_owned(), extra.repo("old").unwrap().clone());
        dockerfiles.0.insert("old/5", "FROM base:0\nFROM lang:2\n");
        let walk = parents(&library, &dockerfiles, &["old"], None, Some(1)).unwrap();
        assert_eq!(
            render(&walk),
            [
                "old: base:0 Missing [amd64,s390x] @1 via old:5",
                "old: lang:2 Library [amd64] @1 via old:5",
                "old: lang:2 Missing [s390x] @1 via old:5",
                "missing: old:5 (amd64) builds FROM base:0, a tag the library does not define",
                "missing: old:5 (s390x) builds FROM base:0, a tag the library does not define",
                "missing: old:5 (s390x) builds FROM lang:2, which the library does not build for s390x",
            ]
        );
        let walk = children(&library, &dockerfiles, &["base:0"], None, None).unwrap();
        assert_eq!(walk.relatives.len(), 1, "{walk:?}");
        assert_eq!(walk.missing.len(), 2, "{walk:?}");
    }

    #[test]
    fn unknown_arguments_are_errors() {
        let (library, dockerfiles) = sample();
        let err = parents(&library, &dockerfiles, &["nope"], None, None).unwrap_err();
        assert!(matches!(err, GraphError::Lookup(_)), "{err}");
        let err = children(&library, &dockerfiles, &["busybox"], None, None).unwrap_err();
        assert_eq!(err, GraphError::UnknownImage("busybox".to_owned()));
    }
}
