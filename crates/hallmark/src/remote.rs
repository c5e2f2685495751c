//! The registry as `sign`, `attest` and `verify` see it: every network call those commands make
//! goes through here, over the `client` crate, with skopeo's flags for access.

use std::path::PathBuf;

use anyhow::Context as _;
use attest::attach::{Blob, Upload};
use base64ct::Encoding as _;
use oci::manifest::{Descriptor, ImageIndex, ImageManifest, MediaType};

/// How to reach the registry, as skopeo spells it.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// Credentials for the registry, USER:PASS (otherwise the docker config file's `auths`).
    #[arg(long, value_name = "USER:PASS")]
    creds: Option<String>,
    /// Talk plain HTTP to this registry even when it is not on a loopback address.
    #[arg(long)]
    insecure: bool,
    /// The docker config file whose `auths` hold credentials (default
    /// `~/.docker/config.json`).
    #[arg(long, value_name = "FILE")]
    authfile: Option<PathBuf>,
    #[command(flatten)]
    tls: TlsArgs,
}

/// How a registry's TLS certificate is trusted, for every command that talks to a registry.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// A folder of certificates for the registry, as skopeo's --cert-dir: `*.crt` CA roots,
    /// and a `*.cert` with its `*.key` as the client certificate. Without it, the registry's
    /// folder HOST[:PORT]/ under ~/.config/containers/certs.d, /etc/containers/certs.d or
    /// /etc/docker/certs.d, if there is one.
    #[arg(long, value_name = "DIR")]
    cert_dir: Option<PathBuf>,
}

impl TlsArgs {
    /// The client options with this folder, checked to exist so a typo is not taken for
    /// "no private CA".
    pub fn options(&self, options: client::ClientOptions) -> anyhow::Result<client::ClientOptions> {
        if let Some(dir) = &self.cert_dir {
            anyhow::ensure!(
                dir.is_dir(),
                "--cert-dir {} is not a folder: give the folder holding ca.crt (and any client.cert/client.key)",
                dir.display()
            );
        }
        Ok(client::ClientOptions {
            cert_dir: self.cert_dir.clone(),
            ..options
        })
    }
}

/// A manifest as the registry holds it: exact bytes, their digest and media type.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The manifest's descriptor (media type, digest, size).
    pub descriptor: Descriptor,
    /// Its bytes, as served and digested.
    pub bytes: Vec<u8>,
}

impl Fetched {
    /// The manifest as an index, if it is one.
    pub fn index(&self) -> anyhow::Result<Option<ImageIndex>> {
        if !MediaType::is_index(&self.descriptor.media_type) {
            return Ok(None);
        }
        let index = serde_json::from_slice(&self.bytes)
            .with_context(|| format!("index {} is not valid JSON", self.descriptor.digest))?;
        Ok(Some(index))
    }

    /// The manifest as an image manifest.
    pub fn image(&self) -> anyhow::Result<ImageManifest> {
        serde_json::from_slice(&self.bytes)
            .with_context(|| format!("manifest {} is not valid JSON", self.descriptor.digest))
    }
}

/// An image on a registry, and the client to reach it.
pub struct Remote {
    client: client::Client,
    image: client::ImageRef,
    creds: Option<String>,
}

impl RegistryArgs {
    /// A distribution client with these credentials and transport.
    pub fn client(&self) -> anyhow::Result<client::Client> {
        self.client_for(None)
    }

    /// A distribution client that sends `--creds` only to `registry` (when given) and the
    /// docker config's entries to every other registry.
    pub fn client_for(&self, registry: Option<&str>) -> anyhow::Result<client::Client> {
        let creds = self
            .creds
            .as_deref()
            .map(client::Credentials::parse)
            .transpose()
            .context("--creds takes USER:PASS")?;
        let options = self.tls.options(client::ClientOptions {
            creds,
            creds_registry: registry.map(str::to_owned),
            insecure: self.insecure,
            docker_config: self.authfile.clone(),
            ..client::ClientOptions::default()
        })?;
        Ok(client::Client::new(options)?)
    }

    /// `--creds` split into user and password, for tools that take them apart (the Docker
    /// engine's registry auth).
    pub fn user_password(&self) -> anyhow::Result<Option<(String, String)>> {
        let Some(creds) = &self.creds else {
            return Ok(None);
        };
        let (user, password) = creds
            .split_once(':')
            .filter(|(user, _)| !user.is_empty())
            .context("--creds takes USER:PASS")?;
        Ok(Some((user.to_owned(), password.to_owned())))
    }

    /// Opens `image` (`HOST/NAME[:TAG][@DIGEST]`).
    pub fn open(&self, image: &str) -> anyhow::Result<Remote> {
        let client = self.client()?;
        let image = client::ImageRef::parse(image)
            .with_context(|| format!("{image:?} is not an image reference: use HOST/NAME:TAG"))?;
        Ok(Remote {
            client,
            image,
            creds: self.creds.clone(),
        })
    }
}

impl Remote {
    /// `HOST/NAME`, as signatures name the image.
    pub fn name(&self) -> String {
        self.image.repository.to_string()
    }

    /// The repository's name on the registry (`library/debian`), which picks the policy.
    pub fn repository(&self) -> &str {
        self.image.repository.name()
    }

    /// The tag the image was named by, if any.
    pub fn tag(&self) -> Option<&str> {
        self.image.tag.as_deref()
    }

    /// The manifest the image reference names (its digest if pinned, else its tag, else
    /// `latest`).
    pub fn resolve(&self) -> anyhow::Result<Fetched> {
        let reference = self.image.reference();
        self.manifest(&reference)?
            .with_context(|| format!("{}:{reference} is not in the registry", self.name()))
    }

    /// A manifest by tag or digest; `None` when the registry has none.
    pub fn manifest(&self, reference: &str) -> anyhow::Result<Option<Fetched>> {
        let fetched = match self.client.manifest(&self.image.repository, reference) {
            Ok(fetched) => fetched,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let mut descriptor = Descriptor::of(&fetched.media_type, &fetched.bytes);
        descriptor.digest = fetched.digest;
        Ok(Some(Fetched {
            descriptor,
            bytes: fetched.bytes,
        }))
    }

    /// A blob's bytes, checked against its digest.
    pub fn blob(&self, descriptor: &Descriptor) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .client
            .blob(&self.image.repository, &descriptor.digest)?)
    }

    /// The referrers of `digest`.
    pub fn referrers(&self, digest: &oci::Digest) -> anyhow::Result<Vec<Descriptor>> {
        Ok(self
            .client
            .referrers(&self.image.repository, digest, None)?)
    }

    /// Pushes an upload's blobs, then its manifest under `tag` (or by digest).
    pub fn push(&self, upload: &Upload, tag: Option<&str>) -> anyhow::Result<oci::Digest> {
        for blob in &upload.blobs {
            self.client.push_blob_bytes(
                &self.image.repository,
                &blob.descriptor.media_type,
                &blob.bytes,
            )?;
        }
        self.put_manifest(&upload.manifest, tag)
    }

    /// Puts a manifest's exact bytes under `tag` (or by digest) and checks the digest the
    /// registry answers with.
    pub fn put_manifest(&self, manifest: &Blob, tag: Option<&str>) -> anyhow::Result<oci::Digest> {
        let expected = &manifest.descriptor.digest;
        let reference = tag.map_or_else(|| expected.to_string(), str::to_owned);
        let digest = self.client.put_manifest(
            &self.image.repository,
            &reference,
            &manifest.descriptor.media_type,
            &manifest.bytes,
        )?;
        anyhow::ensure!(
            &digest == expected,
            "the registry stored manifest {expected} as {digest}"
        );
        Ok(digest)
    }

    /// The repository's trust tier from Hallmark's Hub API (`/v2/repositories/NAME/`);
    /// `None` when the registry does not answer it, as registries other than Hallmark do not.
    /// This page is not part of the distribution API: it is one plain GET, anonymously or
    /// with `--creds`, over the client's transport (its scheme and certificate folders).
    pub fn tier(&self) -> Option<oci::TrustTier> {
        let path = format!("/v2/repositories/{}/", self.repository());
        let basic = self.creds.as_ref().map(|creds| {
            format!(
                "Basic {}",
                base64ct::Base64::encode_string(creds.as_bytes())
            )
        });
        // No such page, or not answered: a registry without tiers.
        let body = self
            .client
            .registry_page(&self.image.repository, &path, basic.as_deref(), 1 << 20)
            .ok()??;
        let page: serde_json::Value = serde_json::from_slice(&body).ok()?;
        page.get("tier")?.as_str()?.parse().ok()
    }
}
