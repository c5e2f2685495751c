//! SLSA Provenance v1 for one architecture's build of a library entry. It is made from the
//! `library::Entry` itself, so what the provenance claims is always what the definition says.

use serde::{Deserialize, Serialize};

use crate::statement::{ResourceDescriptor, Statement};
use crate::time::Timestamp;

/// `predicateType` of SLSA Provenance v1.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

/// Our `buildType`: an Official Images build of one library entry for one architecture, whose
/// external parameters are the entry's fields under their library-file names. The URI is the
/// page in Hallmark's source tree that defines it, `docs/build-types/library-entry-v1.md`; a
/// change of meaning is a new page and a new URI (`…-v2.md`), never an edit of this one.
pub const BUILD_TYPE: &str =
    "https://github.com/hallmark-oci/hallmark/blob/main/docs/build-types/library-entry-v1.md";

/// The SLSA Provenance v1 predicate, as far as Hallmark writes and checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// What was built from what.
    pub build_definition: BuildDefinition,
    /// Who built it, when.
    pub run_details: RunDetails,
}

/// `buildDefinition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// [`BUILD_TYPE`] for our builds.
    pub build_type: String,
    /// The library entry, as the definition states it.
    pub external_parameters: ExternalParameters,
    /// Parent images by digest and the source commit.
    #[serde(default)]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// The library entry's fields for one architecture (overrides applied), named as in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExternalParameters {
    /// `GitRepo`.
    pub git_repo: String,
    /// `GitFetch`.
    pub git_fetch: String,
    /// `GitCommit`.
    pub git_commit: String,
    /// `Directory`.
    pub directory: String,
    /// `File`.
    pub file: String,
    /// `Builder` (empty: the default).
    pub builder: String,
    /// `Tags`.
    pub tags: Vec<String>,
    /// `SharedTags`.
    #[serde(default)]
    pub shared_tags: Vec<String>,
    /// The architecture built (`amd64`, `arm64v8`, …).
    #[serde(rename = "arch")]
    pub arch: String,
}

/// `runDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetails {
    /// The build platform.
    pub builder: BuilderId,
    /// This run.
    pub metadata: RunMetadata,
}

/// `runDetails.builder`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuilderId {
    /// A URI naming the build platform that verifiers trust.
    pub id: String,
}

/// `runDetails.metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunMetadata {
    /// Identifies this run in the builder's records.
    pub invocation_id: String,
    /// When the build started.
    pub started_on: Timestamp,
    /// When the build finished; also the time the provenance was signed at the latest.
    pub finished_on: Timestamp,
}

/// A parent image (`FROM`) as it was resolved for the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentImage {
    /// The reference as written, normalised (`docker.io/library/debian:bookworm`).
    pub reference: String,
    /// The digest it resolved to.
    pub digest: oci::Digest,
}

/// What a build knows when it finishes: the entry, the architecture, what it resolved, and
/// the run.
#[derive(Debug, Clone)]
pub struct BuildRecord<'a> {
    /// The library entry that was built.
    pub entry: &'a library::Entry,
    /// The architecture built.
    pub arch: oci::Architecture,
    /// Its parents by digest.
    pub parents: Vec<ParentImage>,
    /// The builder's id (`runDetails.builder.id`).
    pub builder_id: String,
    /// The run's id.
    pub invocation_id: String,
    /// When the build started.
    pub started_on: Timestamp,
    /// When it finished.
    pub finished_on: Timestamp,
}

impl Provenance {
    /// The provenance of `record`'s build.
    pub fn from_build(record: &BuildRecord<'_>) -> Self {
        let source = record.entry.source(record.arch);
        let mut resolved_dependencies = vec![ResourceDescriptor {
            name: String::new(),
            uri: format!("git+{}@{}", source.git_repo, source.git_fetch),
            digest: [("gitCommit".to_owned(), source.git_commit.to_owned())].into(),
        }];
        resolved_dependencies.extend(
            record
                .parents
                .iter()
                .map(|parent| ResourceDescriptor::image(&parent.reference, &parent.digest)),
        );
        Self {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.to_owned(),
                external_parameters: ExternalParameters {
                    git_repo: source.git_repo.to_owned(),
                    git_fetch: source.git_fetch.to_owned(),
                    git_commit: source.git_commit.to_owned(),
                    directory: source.directory.to_owned(),
                    file: source.file.to_owned(),
                    builder: source.builder.to_owned(),
                    tags: record.entry.tags.clone(),
                    shared_tags: record.entry.shared_tags.clone(),
                    arch: record.arch.to_string(),
                },
                resolved_dependencies,
            },
            run_details: RunDetails {
                builder: BuilderId {
                    id: record.builder_id.clone(),
                },
                metadata: RunMetadata {
                    invocation_id: record.invocation_id.clone(),
                    started_on: record.started_on,
                    finished_on: record.finished_on,
                },
            },
        }
    }

    /// The statement that `image` (name and manifest digest) was built this way.
    pub fn statement(&self, image_name: &str, image_digest: &oci::Digest) -> Statement {
        Statement::new(
            vec![ResourceDescriptor::image(image_name, image_digest)],
            SLSA_PROVENANCE_V1,
            serde_json::to_value(self).expect("provenance always serialises"),
        )
    }

    /// The provenance inside `statement`, if it is one.
    pub fn from_statement(statement: &Statement) -> Option<Result<Self, serde_json::Error>> {
        (statement.predicate_type == SLSA_PROVENANCE_V1)
            .then(|| serde_json::from_value(statement.predicate.clone()))
    }
}
