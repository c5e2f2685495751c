//! [`DockerEngine`]: the [`Engine`] that builds on a Docker daemon.

use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use oci::Architecture;

use super::{Daemon, DockerBuild, DockerError, ParentRegistry};
use crate::archive::{docker_archive_to_oci, Convert};
use crate::engine::{BuildRequest, BuiltImage, Engine, EngineError, EngineKind, PinnedParent};

/// Builds library entries on a Docker daemon, each parent pulled by its digest first.
#[derive(Debug)]
pub struct DockerEngine {
    daemon: Daemon,
    parents: ParentRegistry,
    /// Clamp the image's times to SOURCE_DATE_EPOCH (see [`crate::archive`]).
    reproducible: bool,
    /// Build every step again rather than reuse the daemon's cache.
    no_cache: bool,
}

impl DockerEngine {
    /// An engine on `daemon` pulling parents from `parents`.
    pub fn new(daemon: Daemon, parents: ParentRegistry) -> Self {
        DockerEngine {
            daemon,
            parents,
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

    /// Where a parent is pulled from: the per-architecture repository of an official image
    /// in the program's registry, by digest.
    fn parent_source(
        &self,
        arch: Architecture,
        parent: &PinnedParent,
    ) -> Result<String, DockerError> {
        let repo = parent.image.official_repository().ok_or_else(|| {
            DockerError::Request(format!(
                "FROM {}: only official images (library parents) can be pinned from {}",
                parent.image, self.parents.host
            ))
        })?;
        Ok(format!(
            "{}/{arch}/{repo}@{}",
            self.parents.host, parent.digest
        ))
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
        let mut parent_layers = 0;
        for parent in &request.parents {
            let source = self.parent_source(request.arch, parent)?;
            let local = self.daemon.pin_parent(
                &parent.image,
                &source,
                self.parents.auth.as_ref(),
                &mut write_log,
            )?;
            parent_layers = parent_layers.max(local.diff_ids.len());
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
        // Only the layers the final stage shares with a parent are the parent's.
        let parent_layers = parent_layers.min(local.diff_ids.len());
        self.export(request, &image_id, parent_layers)
    }

    fn export(
        &self,
        request: &BuildRequest,
        image_id: &str,
        parent_layers: usize,
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
            parent_layers,
        };
        let image = docker_archive_to_oci(&archive, &staged, convert)
            .map_err(|err| DockerError::Unexpected(err.to_string()))?;
        check_architecture(&image.config, request.arch)?;
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
        })
    }
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
    #[derive(serde::Deserialize)]
    struct Platform {
        architecture: String,
    }
    let built: Platform =
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
