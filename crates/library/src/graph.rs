//! The FROM graph of a library: which entries build FROM which, per architecture.
//!
//! The nodes are library entries. For each architecture an entry is built for, it has one edge
//! per image its Dockerfile builds FROM. An image naming a tag of a repository in the library
//! resolves to the entry that owns the tag or, for a SharedTag, to the entry sharing it that is
//! built for the same architecture; so unlike bashbrew, which reasons per tag and needs
//! heuristics to keep Windows and Linux apart, the graph is exact per architecture. Images of
//! other repositories are external leaves. A FROM naming a tag (or architecture) that a library
//! repository does not have is a [`MissingParent`], reported instead of dropped: the image could
//! never be built from this library.

mod order;
mod walk;

use std::fmt;

use oci::{Architecture, ImageReference};
use serde::Serialize;

use crate::{Entry, FromsError, FromsResolver, Library, LookupError};

pub use order::{build_order, BuildOrder, BuildStep};
pub use walk::{children, parents, Relative, RelativeKind, Walk};

/// Why a question about the FROM graph has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A `REPO[:TAG]` argument names nothing in the library.
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// An argument is neither in the library nor an image any library Dockerfile builds FROM.
    #[error(
        "{0:?} is neither a library repository nor an image any library Dockerfile builds FROM"
    )]
    UnknownImage(String),
    /// The FROM images of one entry could not be found.
    #[error("cannot read the FROM lines of {entry} for {arch}: {reason}")]
    Froms {
        /// The entry, `repo:tag`.
        entry: String,
        /// The architecture whose Dockerfile was read.
        arch: Architecture,
        /// What went wrong.
        reason: FromsError,
    },
    /// Entries that build FROM each other, so none can be built first.
    #[error("dependency cycle: {} (each builds FROM the next): change the FROM of one of them", .0.join(" -> "))]
    Cycle(Vec<String>),
}

/// A FROM that names a library repository's tag that cannot serve as a parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingParent {
    /// The entry whose Dockerfile has the FROM, `repo:tag`.
    pub entry: String,
    /// The architecture whose Dockerfile has it.
    pub arch: Architecture,
    /// The image as the FROM names it.
    pub image: String,
    /// What the library lacks.
    pub reason: MissingReason,
}

/// What the library lacks for a [`MissingParent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissingReason {
    /// The repository has no such tag.
    NoSuchTag,
    /// The tag exists, but no entry it names is built for the architecture.
    NoSuchArchitecture,
}

impl fmt::Display for MissingParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (entry, arch, image) = (&self.entry, self.arch, &self.image);
        match self.reason {
            MissingReason::NoSuchTag => write!(
                f,
                "{entry} ({arch}) builds FROM {image}, a tag the library does not define"
            ),
            MissingReason::NoSuchArchitecture => write!(
                f,
                "{entry} ({arch}) builds FROM {image}, which the library does not build for {arch}"
            ),
        }
    }
}

/// An index into [`Graph::nodes`].
type NodeId = usize;

/// One library entry with the repository it belongs to.
#[derive(Debug, Clone, Copy)]
struct Node<'a> {
    repo: &'a str,
    entry: &'a Entry,
}

impl Node<'_> {
    /// `repo:tag` with the entry's first tag, the name bashbrew prints for an entry.
    fn name(&self) -> String {
        let tag = self.entry.all_tags().next().unwrap_or_default();
        format!("{}:{tag}", self.repo)
    }
}

/// What one FROM of one entry, for one architecture, points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Entry(NodeId),
    External,
    Missing(MissingReason),
}

/// One FROM of one entry for one architecture.
#[derive(Debug, Clone)]
struct Edge {
    image: ImageReference,
    target: Target,
}

/// The library seen as a graph, for one architecture or all of them.
struct Graph<'a> {
    library: &'a Library,
    resolver: &'a dyn FromsResolver,
    arch: Option<Architecture>,
    /// Every entry: repositories by name, entries in file order.
    nodes: Vec<Node<'a>>,
}

impl<'a> Graph<'a> {
    fn new(
        library: &'a Library,
        resolver: &'a dyn FromsResolver,
        arch: Option<Architecture>,
    ) -> Self {
        let nodes = library
            .repos()
            .flat_map(|(repo, file)| file.entries.iter().map(move |entry| Node { repo, entry }))
            .collect();
        Graph {
            library,
            resolver,
            arch,
            nodes,
        }
    }

    /// The node of an entry of the library.
    fn node_of(&self, repo: &str, entry: &Entry) -> NodeId {
        self.nodes
            .iter()
            .position(|node| node.repo == repo && std::ptr::eq(node.entry, entry))
            .expect("entries handed out by the library are nodes of its graph")
    }

    /// The nodes `REPO[:TAG]` names that are built for the graph's architecture.
    fn resolve(&self, spec: &str) -> Result<Vec<NodeId>, LookupError> {
        let entries = self.library.resolve(spec)?;
        let nodes = entries
            .into_iter()
            .map(|(repo, entry)| self.node_of(repo, entry));
        Ok(nodes
            .filter(|&node| !self.arches(node).is_empty())
            .collect())
    }

    /// The architectures of `node` the question is about.
    fn arches(&self, node: NodeId) -> Vec<Architecture> {
        let entry = self.nodes[node].entry;
        match self.arch {
            Some(arch) if entry.has_architecture(arch) => vec![arch],
            Some(_) => Vec::new(),
            None => entry.architectures.clone(),
        }
    }

    /// The FROMs of `node`'s Dockerfile for `arch`, each resolved against the library.
    fn edges(&self, node: NodeId, arch: Architecture) -> Result<Vec<Edge>, GraphError> {
        let Node { repo, entry } = self.nodes[node];
        let images =
            self.resolver
                .froms(repo, entry, arch)
                .map_err(|reason| GraphError::Froms {
                    entry: self.nodes[node].name(),
                    arch,
                    reason,
                })?;
        Ok(images
            .into_iter()
            .map(|image| Edge {
                target: self.target(&image, arch),
                image,
            })
            .collect())
    }

    /// What `image` is for a FROM of an `arch` build.
    fn target(&self, image: &ImageReference, arch: Architecture) -> Target {
        // A reference pinned only by digest names content, not a tag the library could build.
        let digest_only = image.tag.is_none() && image.is_pinned();
        let library_file = image
            .official_repository()
            .filter(|_| !digest_only)
            .and_then(|repo| Some((repo, self.library.repo(repo)?)));
        let Some((repo, file)) = library_file else {
            return Target::External;
        };
        let entries = file.entries_for_tag(image.tag_or_latest());
        if entries.is_empty() {
            return Target::Missing(MissingReason::NoSuchTag);
        }
        match entries.into_iter().find(|e| e.has_architecture(arch)) {
            Some(entry) => Target::Entry(self.node_of(repo, entry)),
            None => Target::Missing(MissingReason::NoSuchArchitecture),
        }
    }

    /// The problem report for an edge that points at nothing, if it does.
    fn missing(&self, node: NodeId, arch: Architecture, edge: &Edge) -> Option<MissingParent> {
        match edge.target {
            Target::Missing(reason) => Some(MissingParent {
                entry: self.nodes[node].name(),
                arch,
                image: display_image(&edge.image),
                reason,
            }),
            Target::Entry(_) | Target::External => None,
        }
    }
}

/// An image as bashbrew prints a FROM: familiar, with the implied `:latest` spelt out.
fn display_image(image: &ImageReference) -> String {
    match (&image.tag, &image.digest) {
        (None, None) => format!("{image}:latest"),
        _ => image.to_string(),
    }
}

/// Appends `item` unless it is already there; the lists here are short and ordered.
fn push_unique<T: PartialEq>(items: &mut Vec<T>, item: T) {
    if !items.contains(&item) {
        items.push(item);
    }
}

/// A small library and a resolver over in-memory Dockerfiles, shared by the graph tests.
#[cfg(test)]
mod fixture {
    use std::collections::HashMap;

    use oci::{Architecture, ImageReference};

    use crate::{dockerfile_froms, parse, Entry, FromsError, FromsResolver, Library};

    /// Dockerfiles keyed by the `Directory` an entry (or its `ARCH-Directory`) points at.
    pub struct Dockerfiles(pub HashMap<&'static str, &'static str>);

    impl FromsResolver for Dockerfiles {
        fn froms(
            &self,
            _repo: &str,
            entry: &Entry,
            arch: Architecture,
        ) -> Result<Vec<ImageReference>, FromsError> {
            let directory = entry.source(arch).directory;
            let text = self
                .0
                .get(directory)
                .ok_or_else(|| FromsError(format!("no Dockerfile in {directory}")))?;
            dockerfile_froms(text).map_err(|err| FromsError(err.to_string()))
        }
    }

    const HEADER: &str = "Maintainers: Jane <jane@example.com> (@jane)\n\
        GitRepo: https://example.com/images.git\n\
        GitCommit: 0123456789abcdef0123456789abcdef01234567\n";

    /// A library of `(repo, paragraphs)` pairs, each file given the same header.
    pub fn library(files: &[(&str, &str)]) -> Library {
        let mut library = Library::default();
        for (repo, paragraphs) in files {
            let text = format!("{HEADER}\n{paragraphs}");
            let file = parse(&text).unwrap_or_else(|err| panic!("{repo}: {err:?}"));
            library.insert((*repo).to_owned(), file);
        }
        library
    }

    /// base (debian leaf, two arches, a shared tag), lang FROM base, app FROM lang and a
    /// builder image, and tool whose arm64v8 build comes from another directory.
    pub fn sample() -> (Library, Dockerfiles) {
        let library = library(&[
            (
                "base",
                "Tags: 1, latest\nSharedTags: shared\nArchitectures: amd64, arm64v8\nDirectory: base/1\n\n\
                 Tags: 1-win\nSharedTags: shared\nArchitectures: windows-amd64\nDirectory: base/win\n",
            ),
            (
                "lang",
                "Tags: 2\nArchitectures: amd64, arm64v8\nDirectory: lang/2\n",
            ),
            ("app", "Tags: 3\nDirectory: app/3\n"),
            (
                "tool",
                "Tags: 4\nArchitectures: amd64, arm64v8\nDirectory: tool/4\narm64v8-Directory: tool/4-arm\n",
            ),
        ]);
        let dockerfiles = Dockerfiles(HashMap::from([
            ("base/1", "FROM debian:bookworm-slim\n"),
            (
                "base/win",
                "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n",
            ),
            ("lang/2", "FROM base:shared\n"),
            (
                "app/3",
                "FROM golang:1 AS build\nFROM lang:2\nCOPY --from=build /a /a\n",
            ),
            ("tool/4", "FROM base\n"),
            ("tool/4-arm", "FROM lang:2\n"),
        ]));
        (library, dockerfiles)
    }
}
