//! What `hallmark build` needs beyond the native builder: the Docker engine, pulling pinned
//! parents (library parents from the program's registry, external ones from theirs), and
//! pushing each built image to its architecture's namespace with the agent's own robot
//! credentials.

use anyhow::Context as _;
use attest::Timestamp;
use build::docker::{Daemon, DockerEngine, ParentRegistry, RegistryAuth};
use build::engine::BuiltImage;
use build::plan::PlannedBuild;
use build::publish::remote::publish_arch_shared_tags;
use build::push::push_image;
use client::Repository;

use crate::remote::RegistryArgs;

/// `hallmark build`'s registry flags.
#[derive(Debug, Clone, clap::Args)]
pub struct PushArgs {
    /// Push each built image to HOST/<arch>/<repo> under all its tags and SharedTags, and pull
    /// the Docker engine's pinned parents from there.
    #[arg(long, value_name = "HOST")]
    registry: Option<String>,
    /// This architecture agent's robot credentials and the registry's transport.
    #[command(flatten)]
    access: RegistryArgs,
    /// Clamp the times the Docker engine writes to SOURCE_DATE_EPOCH (layers it adds, config
    /// and history), so that builds of the same source can come out identical.
    #[arg(long)]
    reproducible: bool,
    /// Sign each build's SLSA provenance and SBOMs (SPDX and CycloneDX, from a scan of the
    /// built image) with this private key and push them beside the image (`publish` carries
    /// them to `library/`).
    #[arg(long, value_name = "FILE", requires = "registry")]
    pub key: Option<std::path::PathBuf>,
    /// Build every image twice (the Docker engine without its cache) and report which came
    /// out identical.
    #[arg(long)]
    pub verify_reproducible: bool,
}

impl PushArgs {
    /// The Docker engine on the daemon `DOCKER_HOST` names.
    pub fn docker_engine(&self) -> anyhow::Result<DockerEngine> {
        let daemon = Daemon::from_env()?;
        daemon
            .ping()
            .context("the docker engine builds this entry")?;
        let auth = self
            .access
            .user_password()?
            .map(|(username, password)| RegistryAuth { username, password });
        let parents = ParentRegistry {
            host: self.registry.clone().unwrap_or_default(),
            auth,
        };
        Ok(DockerEngine::new(daemon, parents, self.client()?)
            .reproducible(self.reproducible)
            .no_cache(self.verify_reproducible))
    }

    /// A distribution client with the agent's credentials for `--registry` and the docker
    /// config for every other registry: it resolves external parents and reads every parent's
    /// layers without handing the robot's secret to an external parent's registry.
    pub fn client(&self) -> anyhow::Result<client::Client> {
        self.access.client_for(self.registry.as_deref())
    }

    /// Pushes `image` to `<registry>/<arch>/<repo>` under the build's tags, and writes its
    /// SharedTags there as indexes over every entry of `library` sharing them on this
    /// architecture, when `--registry` was given.
    pub fn push(
        &self,
        library: &library::Library,
        build: &PlannedBuild,
        image: &BuiltImage,
    ) -> anyhow::Result<()> {
        let Some(host) = &self.registry else {
            return Ok(());
        };
        let name = format!("{host}/{}/{}", build.arch, build.repo);
        let repository = Repository::parse(&name).with_context(|| {
            format!("{name} is not a repository: give --registry as HOST[:PORT]")
        })?;
        let client = self.client()?;
        let mut progress = |line: &str| eprintln!("hallmark: {line}");
        push_image(&client, &repository, &build.tags, image, &mut progress)
            .with_context(|| format!("pushing {} to {name}", build.entry))?;
        let file = library
            .repo(&build.repo)
            .with_context(|| format!("{} is not in the library any more", build.entry))?;
        publish_arch_shared_tags(&client, &repository, file, build, &mut progress)
            .with_context(|| format!("writing the SharedTags of {} in {name}", build.entry))?;
        Ok(())
    }
    /// Pushes the attestations `sign` makes about the image `build` pushed, beside it.
    pub fn push_attestations(
        &self,
        build: &PlannedBuild,
        image: &BuiltImage,
        sign: impl FnOnce(
            &str,
            &oci::manifest::Descriptor,
        ) -> anyhow::Result<Vec<attest::dsse::Envelope>>,
    ) -> anyhow::Result<()> {
        let Some(host) = &self.registry else {
            return Ok(());
        };
        let remote = self.access.open(&format!(
            "{host}/{}/{}@{}",
            build.arch, build.repo, image.manifest_digest
        ))?;
        let pushed = remote.resolve()?.descriptor;
        for envelope in sign(&remote.name(), &pushed)? {
            crate::signatures::push_attestation(&remote, &pushed, &envelope, Timestamp::now())?;
        }
        Ok(())
    }
}
