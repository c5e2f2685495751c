//! [`DockerEngine`]: the [`Engine`] that builds on a Docker daemon.

use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use oci::Architecture;

use client::{Client, Credentials, Repository, Secret};

use super::{Daemon, DockerBuild, DockerError, ParentRegistry, PullAuth};
use crate::archive::{docker_archive_to_oci, Convert, Layer, OciImage};
use crate::engine::{
    BuildRequest, BuiltImage, Engine, EngineError, EngineKind, ParentOrigin, PinnedParent,
    SharedLayers,
};
use crate::parents::{parent_layers, repository_of};

/// Builds library entries on a Docker daemon, each parent pulled by its digest first.
#[derive(Debug)]
pub struct DockerEngine {
    daemon: Daemon,
    parents: ParentRegistry,
    /// Reads the parents' manifests and blobs from their registries.
    client: Client,
    /// Clamp the image's times to SOURCE_DATE_EPOCH (see [`crate::archive`]).
    reproducible: bool,
    /// Build every step again rather than reuse the daemon's cache.
    no_cache: bool,
}

/// A parent the daemon holds, with its layers as its registry serves them.
struct PulledParent {
    repository: Repository,
    layers: Vec<Layer>,
}

impl DockerEngine {
    /// An engine on `daemon` pulling library parents from `parents`, reading every parent's
    /// manifest and layers through `client`.
    pub fn new(daemon: Daemon, parents: ParentRegistry, client: Client) -> Self {
        DockerEngine {
            daemon,
            parents,
            client,
            reproducible: false,
            no_cache: false,
        }
    }

    /// Clamps every time the build adds to the request's SOURCE_DATE_EPOCH.
    pub fn reproducible(mut self, on: bool) -> Self {
        self.reproducible = on;
        self
    }

    /// Runs every step again, ignoring the daemon's build cache.
    pub fn no_cache(mut self, on: bool) -> Self {
        self.no_cache = on;
        self
    }

    /// Where a parent is pulled from: a library parent from its architecture's repository
    /// in the program's registry, an external one from its own registry.
    fn parent_repository(
        &self,
        arch: Architecture,
        parent: &PinnedParent,
    ) -> Result<Repository, DockerError> {
        let invalid = |why: String| DockerError::Request(format!("FROM {}: {why}", parent.image));
        match parent.origin {
            ParentOrigin::External => {
                repository_of(&parent.image).map_err(|err| invalid(err.to_string()))
            }
            ParentOrigin::Library => {
                let repo = parent.image.official_repository().ok_or_else(|| {
                    invalid("only official images can be library parents".to_owned())
                })?;
                if self.parents.host.is_empty() {
                    return Err(invalid(
                        "library parents are pulled from the program's registry: give --registry"
                            .to_owned(),
                    ));
                }
                Repository::parse(&format!("{}/{arch}/{repo}", self.parents.host))
                    .map_err(|err| invalid(err.to_string()))
            }
        }
    }

    /// Pulls `parent` into the daemon by digest and reads its layers from its registry.
    fn pull_parent(
        &self,
        arch: Architecture,
        parent: &PinnedParent,
        log: &mut dyn FnMut(&str),
    ) -> Result<PulledParent, DockerError> {
        let repository = self.parent_repository(arch, parent)?;
        let source = format!("{repository}@{}", parent.digest);
        let (auth, helper_failure) = self.pull_auth(&repository);
        self.daemon
            .pin_parent(&parent.image, &source, auth.as_ref(), log)
            .map_err(|err| match (err, helper_failure) {
                // A refused pull is best explained by the credentials that could not be had.
                (DockerError::PullFailed { reference, message }, Some(failure)) => {
                    DockerError::PullFailed {
                        reference,
                        message: format!("{message} ({failure})"),
                    }
                }
                (err, _) => err,
            })?;
        let layers = parent_layers(&self.client, &repository, &parent.digest, arch).map_err(
            |source_error| DockerError::Parent {
                reference: source.clone(),
                message: source_error.to_string(),
            },
        )?;
        Ok(PulledParent { repository, layers })
    }

    /// What the daemon sends to `repository`'s registry when it pulls: the agent's robot
    /// for the program's registry (it goes nowhere else), else what the docker config (or
    /// its credential helper) holds for that registry, as the client reading the parent's
    /// layers uses. A helper that fails leaves the pull anonymous, with the failure kept to
    /// explain a refusal.
    fn pull_auth(&self, repository: &Repository) -> (Option<PullAuth>, Option<String>) {
        let server = repository.registry().to_owned();
        let agent = self
            .parents
            .auth
            .as_ref()
            .filter(|_| server == self.parents.host);
        if let Some(agent) = agent {
            let credentials = Credentials::new(&agent.username, &agent.password);
            let secret = Secret::Password(credentials);
            return (Some(PullAuth { server, secret }), None);
        }
        match self.client.docker_config_secret(&server) {
            Ok(secret) => (secret.map(|secret| PullAuth { server, secret }), None),
            Err(failure) => (None, Some(failure.to_string())),
        }
    }

    fn run(&self, request: &BuildRequest, log: &mut dyn Write) -> Result<BuiltImage, DockerError> {
        if request.output.exists() {
            return Err(DockerError::Request(format!(
                "{} exists already: choose a new output folder",
                request.output.display()
            )));
        }
        let mut write_log = |text: &str| {
            // A log that cannot be written must not stop the build; the error shows at the end.
            let _ = log.write_all(text.as_bytes());
        };
        let mut pulled = Vec::with_capacity(request.parents.len());
        for parent in &request.parents {
            pulled.push(self.pull_parent(request.arch, parent, &mut write_log)?);
        }
        let context = context_tar(&request.context)?;
        let dockerfile = request.dockerfile.to_string_lossy();
        let build = DockerBuild {
            context,
            dockerfile: &dockerfile,
            no_cache: self.no_cache,
        };
        let image_id = self.daemon.build(&build, &mut write_log)?;
        write_log(&format!("built image {image_id}\n"));
        let local = self.daemon.inspect(&image_id)?;
        let shared = shared_with_parent(pulled, &local.diff_ids);
        self.export(request, &image_id, shared, &mut write_log)
    }

    fn export(
        &self,
        request: &BuildRequest,
        image_id: &str,
        shared: Option<PulledParent>,
        log: &mut dyn FnMut(&str),
    ) -> Result<BuiltImage, DockerError> {
        let parent = request.output.parent().unwrap_or(Path::new("."));
        let scratch = tempfile::tempdir_in(parent).map_err(|source| DockerError::Io {
            what: format!("cannot create a folder beside {}", request.output.display()),
            source,
        })?;
        let archive = scratch.path().join("image.tar");
        self.daemon.export(image_id, &archive)?;
        let staged = scratch.path().join("layout");
        let convert = Convert {
            source_date_epoch: self
                .reproducible
                .then(|| u64::try_from(request.source_date_epoch).unwrap_or(0)),
            parent_layers: shared
                .as_ref()
                .map(|parent| parent.layers.clone())
                .unwrap_or_default(),
        };
        let image = docker_archive_to_oci(&archive, &staged, convert)
            .map_err(|err| DockerError::Unexpected(err.to_string()))?;
        check_architecture(&image.config, request.arch)?;
        let shared = match shared {
            Some(parent) => Some(self.fetch_shared(&image, parent, log)?),
            None => None,
        };
        std::fs::rename(&staged, &request.output).map_err(|source| DockerError::Io {
            what: format!("cannot move the image to {}", request.output.display()),
            source,
        })?;
        Ok(BuiltImage {
            layout: request.output.clone(),
            manifest_digest: image.manifest_digest,
            manifest_media_type: crate::archive::MANIFEST_TYPE.to_owned(),
            manifest_size: image.manifest.len() as u64,
            config_digest: image.config_digest,
            shared,
        })
    }

    /// Puts the parent's blobs of the shared layers into the layout, fetched from the
    /// parent's repository and checked against their digests, so that the layout is a whole
    /// image (scanned for its SBOM, uploaded where a mount is refused).
    fn fetch_shared(
        &self,
        image: &OciImage,
        parent: PulledParent,
        log: &mut dyn FnMut(&str),
    ) -> Result<SharedLayers, DockerError> {
        let mut digests = Vec::with_capacity(parent.layers.len());
        for layer in &parent.layers {
            let digest = &layer.descriptor.digest;
            let size = self
                .client
                .blob_to_file(&parent.repository, digest, &image.blob_path(digest))
                .map_err(|err| DockerError::Parent {
                    reference: format!("{}@{digest}", parent.repository),
                    message: err.to_string(),
                })?;
            log(&format!(
                "shares {digest} ({size} bytes) with {}\n",
                parent.repository
            ));
            digests.push(digest.clone());
        }
        Ok(SharedLayers {
            repository: parent.repository.to_string(),
            digests,
        })
    }
}

/// The parent whose layers the image starts with for longest (the final stage's base; other
/// FROMs are build stages), cut to the layers they share; `None` when none shares a layer.
fn shared_with_parent(pulled: Vec<PulledParent>, diff_ids: &[String]) -> Option<PulledParent> {
    let common = |parent: &PulledParent| {
        parent
            .layers
            .iter()
            .zip(diff_ids)
            .take_while(|(layer, diff_id)| layer.diff_id.as_str() == diff_id.as_str())
            .count()
    };
    let mut best = pulled.into_iter().max_by_key(common)?;
    let shared = common(&best);
    best.layers.truncate(shared);
    (shared > 0).then_some(best)
}

impl Engine for DockerEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Docker
    }

    fn build(
        &self,
        request: &BuildRequest,
        log: &mut dyn Write,
    ) -> Result<BuiltImage, EngineError> {
        self.run(request, log).map_err(|err| {
            let _ = writeln!(log, "error: {err}");
            EngineError::Docker(err)
        })
    }
}

/// The classic builder builds for the daemon's own platform; an image for another
/// architecture must come from that architecture's agent.
fn check_architecture(config: &[u8], arch: Architecture) -> Result<(), DockerError> {
    // A config's top-level platform fields have the names an index entry's platform has.
    let built: oci::manifest::Platform =
        serde_json::from_slice(config).map_err(|err| DockerError::Unexpected(err.to_string()))?;
    let wanted = arch.platform().architecture;
    if built.architecture != wanted {
        return Err(DockerError::Request(format!(
            "this daemon builds {} images, not {wanted}: build {arch} on an {arch} agent",
            built.architecture
        )));
    }
    Ok(())
}

/// The build context folder as a tar. Symlinks stay links (never followed out of the
/// context).
fn context_tar(dir: &Path) -> Result<Bytes, DockerError> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let io_error = |source| DockerError::Io {
        what: format!("cannot read the build context {}", dir.display()),
        source,
    };
    builder.append_dir_all(".", dir).map_err(io_error)?;
    builder.into_inner().map(Bytes::from).map_err(io_error)
}
