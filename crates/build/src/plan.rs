//! The build plan: for each library entry and architecture asked for, in build order, its
//! identity and whether it needs building and why.
//!
//! An entry needs a build exactly when no build of its identity has succeeded
//! ([`BuildRecords::succeeded`]). The reason is found by comparing with the latest successful
//! build of the same entry (repository, first tag, architecture): none at all is
//! [`Reason::Missing`], another tree or Dockerfile is [`Reason::NewSource`], other parents
//! are [`Reason::NewParentDigest`], and what is left (Builder or engine) is
//! [`Reason::NewBuilder`]. Because a library parent contributes its identity to its
//! children's, a parent that needs building makes each of its children (transitively) need
//! building too, and a commit that leaves an entry's directory alone changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use library::{build_order, parents, Entry, Library, RelativeKind};
use oci::{Architecture, Digest, ImageReference};
use serde::Serialize;

use crate::engine::{EngineKind, ParentOrigin, PinnedParent};
use crate::identity::{BuildIdentity, IdentityInputs, ParentInput, ParentPin};
use crate::native::native_instructions;
use crate::records::{BuildRecords, RecordsError};
use crate::source::{GitCache, SourceSnapshot};

/// Resolves images from outside the library to the manifest digest of one architecture.
///
/// The registry-backed implementation asks the image's registry; [`StaticParents`] answers
/// from a fixed map (tests, and `--parent IMAGE=DIGEST` pins on the command line).
pub trait ParentResolver {
    /// The digest of `image`'s manifest for `arch` (the per-platform manifest, not an index).
    fn digest(&self, image: &ImageReference, arch: Architecture) -> Result<Digest, ResolveError>;
}

/// Why an external parent has no digest, in words for the maintainer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ResolveError(pub String);

/// A fixed map from images (keyed by their normalised reference, so `debian:12` and
/// `docker.io/library/debian:12` are one) to digests, the same
/// for every architecture unless given per architecture.
#[derive(Debug, Clone, Default)]
pub struct StaticParents {
    digests: BTreeMap<(String, Option<Architecture>), Digest>,
}

impl StaticParents {
    /// Pins `image` to `digest` for `arch` (`None`: every architecture).
    pub fn insert(&mut self, image: &ImageReference, arch: Option<Architecture>, digest: Digest) {
        self.digests.insert((image.to_string(), arch), digest);
    }
}

impl ParentResolver for StaticParents {
    fn digest(&self, image: &ImageReference, arch: Architecture) -> Result<Digest, ResolveError> {
        let name = image.to_string();
        self.digests
            .get(&(name.clone(), Some(arch)))
            .or_else(|| self.digests.get(&(name, None)))
            .cloned()
            .ok_or_else(|| {
                ResolveError(format!(
                    "{image} is not in the library and has no digest for {arch}: pin it with --parent {image}=sha256:…"
                ))
            })
    }
}

/// Which engine builds what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineChoice {
    /// The native builder when the Dockerfile allows it and Builder is empty, else Docker.
    Auto,
    /// Always this one.
    Only(EngineKind),
}

/// Why a planned build must run, or that it need not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The entry was never built for the architecture.
    Missing,
    /// Its build context or Dockerfile changed.
    NewSource,
    /// A parent's digest changed (or a library parent is rebuilt).
    NewParentDigest,
    /// Its Builder or engine changed.
    NewBuilder,
    /// A build of this identity succeeded already.
    UpToDate,
}

impl Reason {
    /// Whether the build must run.
    pub fn needs_build(self) -> bool {
        self != Reason::UpToDate
    }

    /// The words the plan table shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::NewSource => "new source",
            Reason::NewParentDigest => "new parent digest",
            Reason::NewBuilder => "new builder",
            Reason::UpToDate => "up to date",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One FROM of a planned build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedParent {
    /// The image, normalised.
    pub image: String,
    /// The library entry it is (`repo:tag`), if it is one.
    pub entry: Option<String>,
    /// What it contributes to the identity.
    pub pin: ParentPin,
}

/// One entry for one architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedBuild {
    /// `repo:first-tag`.
    pub entry: String,
    /// The library repository.
    pub repo: String,
    /// The entry's own tags.
    pub tags: Vec<String>,
    /// The entry's SharedTags.
    pub shared_tags: Vec<String>,
    /// The architecture.
    pub arch: Architecture,
    /// The agent that builds it: the one for its architecture.
    pub agent: String,
    /// The engine that builds it.
    pub engine: EngineKind,
    /// Its identity.
    pub identity: BuildIdentity,
    /// What the identity is made of.
    pub inputs: IdentityInputs,
    /// GitRepo for the architecture.
    pub git_repo: String,
    /// The full commit id.
    pub commit: String,
    /// The commit time (SOURCE_DATE_EPOCH).
    pub commit_time: i64,
    /// Directory for the architecture.
    pub directory: String,
    /// The parents in FROM order.
    pub parents: Vec<PlannedParent>,
    /// Whether and why it is built.
    pub reason: Reason,
    /// The image built for this identity, when up to date.
    pub image: Option<Digest>,
}

/// The plan: builds in order, architectures in bashbrew's order, each in build order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Every entry × architecture asked for.
    pub builds: Vec<PlannedBuild>,
}

/// What to plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanRequest<'a> {
    /// `REPO[:TAG]` arguments; `None` for the whole library.
    pub specs: Option<&'a [String]>,
    /// One architecture, or every one the entries are built for.
    pub arch: Option<Architecture>,
    /// How engines are chosen.
    pub engine: EngineChoice,
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The FROM graph has no answer (unknown argument, unreadable Dockerfile, cycle).
    #[error(transparent)]
    Graph(#[from] library::GraphError),
    /// A source could not be fetched or read.
    #[error("{entry} for {arch}: {source}")]
    Source {
        /// The entry.
        entry: String,
        /// The architecture.
        arch: Architecture,
        /// Why.
        source: crate::source::SourceError,
    },
    /// A FROM names a library tag the library does not build.
    #[error("{0}: fix the FROM or add the tag to the library")]
    MissingParent(library::MissingParent),
    /// An external parent has no digest.
    #[error("{entry} for {arch}: {source}")]
    Resolve {
        /// The entry.
        entry: String,
        /// The architecture.
        arch: Architecture,
        /// Why.
        source: ResolveError,
    },
    /// A FROM image is not a valid reference.
    #[error("{entry}: FROM {image}: {source}")]
    Reference {
        /// The entry.
        entry: String,
        /// The image.
        image: String,
        /// Why.
        source: oci::ReferenceError,
    },
    /// The entry's Builder is one no engine here runs.
    #[error("{entry}: Builder {builder} is not supported: use buildkit, classic or none")]
    Builder {
        /// The entry.
        entry: String,
        /// The Builder.
        builder: String,
    },
    /// The records could not be read.
    #[error(transparent)]
    Records(#[from] RecordsError),
    /// A library parent has not been built yet, so its children cannot be pinned to it.
    #[error("{entry} for {arch} builds FROM {parent}, which has not been built for {arch} yet: build it first")]
    ParentNotBuilt {
        /// The child.
        entry: String,
        /// The architecture.
        arch: Architecture,
        /// The parent entry.
        parent: String,
    },
}

/// Computes the plan.
pub fn plan(
    library: &Library,
    cache: &GitCache,
    resolver: &dyn ParentResolver,
    records: &dyn BuildRecords,
    request: PlanRequest<'_>,
) -> Result<Plan, PlanError> {
    let mut planner = Planner {
        library,
        cache,
        resolver,
        engine: request.engine,
        computed: HashMap::new(),
    };
    let mut builds = Vec::new();
    for arch in architectures(library, request.specs, request.arch)? {
        let order = build_order(library, cache, request.specs, Some(arch))?;
        if let Some(missing) = order.missing.into_iter().next() {
            return Err(PlanError::MissingParent(missing));
        }
        for step in order.steps {
            let (repo, entry) = entry_named(library, &step.entry, arch);
            let computed = planner.compute(repo, entry, arch, &mut Vec::new())?;
            builds.push(planned(repo, entry, arch, computed, records)?);
        }
    }
    Ok(Plan { builds })
}

/// The library parents of `build` pinned to the images their builds produced, and its
/// external parents to their digests: what the engine must build on.
pub fn pin_parents(
    build: &PlannedBuild,
    records: &dyn BuildRecords,
) -> Result<Vec<PinnedParent>, PlanError> {
    let mut pinned = Vec::with_capacity(build.parents.len());
    for parent in &build.parents {
        let (digest, origin) = match &parent.pin {
            ParentPin::Digest(digest) => (digest.clone(), ParentOrigin::External),
            ParentPin::Build(identity) => records
                .succeeded(identity)?
                .and_then(|record| record.image().cloned())
                .map(|digest| (digest, ParentOrigin::Library))
                .ok_or_else(|| PlanError::ParentNotBuilt {
                    entry: build.entry.clone(),
                    arch: build.arch,
                    parent: parent.entry.clone().unwrap_or_else(|| parent.image.clone()),
                })?,
        };
        let image =
            ImageReference::parse(&parent.image).map_err(|source| PlanError::Reference {
                entry: build.entry.clone(),
                image: parent.image.clone(),
                source,
            })?;
        pinned.push(PinnedParent {
            image,
            digest,
            origin,
        });
    }
    Ok(pinned)
}

/// The architectures to plan, in bashbrew's order.
fn architectures(
    library: &Library,
    specs: Option<&[String]>,
    only: Option<Architecture>,
) -> Result<Vec<Architecture>, PlanError> {
    if let Some(arch) = only {
        return Ok(vec![arch]);
    }
    let mut found = Vec::new();
    let mut add = |entry: &Entry| found.extend(entry.architectures.iter().copied());
    match specs {
        None => library
            .repos()
            .flat_map(|(_, file)| &file.entries)
            .for_each(&mut add),
        Some(specs) => {
            for spec in specs {
                let entries = library
                    .resolve(spec)
                    .map_err(|err| PlanError::Graph(err.into()))?;
                entries.into_iter().for_each(|(_, entry)| add(entry));
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The entry `repo:tag` (its first tag) that is built for `arch`.
fn entry_named<'a>(library: &'a Library, name: &str, arch: Architecture) -> (&'a str, &'a Entry) {
    let entries = library
        .resolve(name)
        .expect("names from the build order are in the library");
    entries
        .into_iter()
        .find(|(_, entry)| entry.has_architecture(arch))
        .expect("the build order lists entries built for the architecture")
}

fn entry_name(repo: &str, entry: &Entry) -> String {
    format!("{repo}:{}", entry.all_tags().next().unwrap_or("latest"))
}

/// An entry's identity and what went into it.
#[derive(Debug, Clone)]
struct Computed {
    inputs: IdentityInputs,
    identity: BuildIdentity,
    snapshot: SourceSnapshot,
    parents: Vec<PlannedParent>,
}

struct Planner<'a> {
    library: &'a Library,
    cache: &'a GitCache,
    resolver: &'a dyn ParentResolver,
    engine: EngineChoice,
    computed: HashMap<(String, Architecture), Computed>,
}

impl Planner<'_> {
    /// The identity of `entry` for `arch`, computing its library parents' first.
    fn compute(
        &mut self,
        repo: &str,
        entry: &Entry,
        arch: Architecture,
        visiting: &mut Vec<String>,
    ) -> Result<Computed, PlanError> {
        let name = entry_name(repo, entry);
        if let Some(done) = self.computed.get(&(name.clone(), arch)) {
            return Ok(done.clone());
        }
        if visiting.contains(&name) {
            let mut cycle = visiting.clone();
            cycle.push(name);
            return Err(library::GraphError::Cycle(cycle).into());
        }
        visiting.push(name.clone());
        let source = entry.source(arch);
        let source_error = |source| PlanError::Source {
            entry: name.clone(),
            arch,
            source,
        };
        let snapshot = self.cache.snapshot(&source).map_err(source_error)?;
        let engine = self.engine_for(&name, &source)?;
        let parents = self.parents(&name, arch, visiting)?;
        visiting.pop();
        let inputs = IdentityInputs {
            tree: snapshot.tree.clone(),
            dockerfile: snapshot.dockerfile.clone(),
            file: source.file.to_owned(),
            builder: source.builder.to_owned(),
            engine,
            arch,
            parents: parents
                .iter()
                .map(|p| ParentInput {
                    image: p.image.clone(),
                    pin: p.pin.clone(),
                })
                .collect(),
        };
        let computed = Computed {
            identity: inputs.identity(),
            inputs,
            snapshot,
            parents,
        };
        self.computed.insert((name, arch), computed.clone());
        Ok(computed)
    }

    fn engine_for(
        &self,
        name: &str,
        source: &library::BuildSource<'_>,
    ) -> Result<EngineKind, PlanError> {
        match source.builder {
            "" | "buildkit" | "classic" => {}
            other => {
                return Err(PlanError::Builder {
                    entry: name.to_owned(),
                    builder: other.to_owned(),
                })
            }
        }
        Ok(match self.engine {
            EngineChoice::Only(kind) => kind,
            EngineChoice::Auto if !source.builder.is_empty() => EngineKind::Docker,
            EngineChoice::Auto => {
                let text = self
                    .cache
                    .read_file(source)
                    .map_err(|err| PlanError::Source {
                        entry: name.to_owned(),
                        arch: Architecture::Amd64,
                        source: err,
                    })?;
                match native_instructions(&text) {
                    Ok(_) => EngineKind::Native,
                    Err(_) => EngineKind::Docker,
                }
            }
        })
    }

    /// The direct parents of `name` for `arch`, in FROM order, each pinned.
    fn parents(
        &mut self,
        name: &str,
        arch: Architecture,
        visiting: &mut Vec<String>,
    ) -> Result<Vec<PlannedParent>, PlanError> {
        let walk = parents(self.library, self.cache, &[name], Some(arch), Some(1))?;
        if let Some(missing) = walk.missing.into_iter().next() {
            return Err(PlanError::MissingParent(missing));
        }
        let mut planned = Vec::new();
        for relative in walk.relatives {
            let reference =
                ImageReference::parse(&relative.image).map_err(|source| PlanError::Reference {
                    entry: name.to_owned(),
                    image: relative.image.clone(),
                    source,
                })?;
            let pin = match (&relative.kind, &relative.entry) {
                (RelativeKind::Library, Some(parent)) => {
                    let (repo, entry) = entry_named(self.library, parent, arch);
                    ParentPin::Build(self.compute(repo, entry, arch, visiting)?.identity)
                }
                _ => self.external_pin(name, &reference, arch)?,
            };
            planned.push(PlannedParent {
                image: reference.to_string(),
                entry: relative.entry,
                pin,
            });
        }
        Ok(planned)
    }

    /// An external parent: its digest when the FROM pins one, else the resolver's answer.
    fn external_pin(
        &self,
        name: &str,
        image: &ImageReference,
        arch: Architecture,
    ) -> Result<ParentPin, PlanError> {
        if let Some(pinned) = image.digest.as_deref().and_then(|d| Digest::parse(d).ok()) {
            return Ok(ParentPin::Digest(pinned));
        }
        self.resolver
            .digest(image, arch)
            .map(ParentPin::Digest)
            .map_err(|source| PlanError::Resolve {
                entry: name.to_owned(),
                arch,
                source,
            })
    }
}

/// The plan row of a computed entry, with its reason.
fn planned(
    repo: &str,
    entry: &Entry,
    arch: Architecture,
    computed: Computed,
    records: &dyn BuildRecords,
) -> Result<PlannedBuild, PlanError> {
    let name = entry_name(repo, entry);
    let done = records.succeeded(&computed.identity)?;
    let reason = match &done {
        Some(_) => Reason::UpToDate,
        None => {
            let first_tag = entry.all_tags().next().unwrap_or("latest");
            match records.latest_success(repo, first_tag, arch)? {
                None => Reason::Missing,
                Some(previous) => change_reason(&previous.inputs, &computed.inputs),
            }
        }
    };
    let source = entry.source(arch);
    Ok(PlannedBuild {
        entry: name,
        repo: repo.to_owned(),
        tags: entry.tags.clone(),
        shared_tags: entry.shared_tags.clone(),
        arch,
        agent: arch.as_str().to_owned(),
        engine: computed.inputs.engine,
        identity: computed.identity,
        git_repo: source.git_repo.to_owned(),
        commit: computed.snapshot.commit,
        commit_time: computed.snapshot.commit_time,
        directory: source.directory.to_owned(),
        parents: computed.parents,
        reason,
        image: done.and_then(|record| record.image().cloned()),
        inputs: computed.inputs,
    })
}

/// What differs between the inputs of the last successful build and today's.
fn change_reason(previous: &IdentityInputs, now: &IdentityInputs) -> Reason {
    if previous.tree != now.tree
        || previous.dockerfile != now.dockerfile
        || previous.file != now.file
    {
        Reason::NewSource
    } else if previous.parents != now.parents {
        Reason::NewParentDigest
    } else {
        Reason::NewBuilder
    }
}
