//! The Docker Engine: builds a Dockerfile with the classic builder of a local dockerd.
//!
//! Every build runs with no network (`networkmode=none`) and never pulls (`pull=false`): the
//! parents its FROM lines name are made available beforehand by their exact digests
//! ([`Daemon::pin_parent`]: library parents from the program's registry, external ones from
//! their own) and tagged with the names the Dockerfile uses, so the build resolves FROM to
//! precisely the image the plan decided on. The result leaves the daemon as a docker-archive
//! (`GET /images/{id}/get`), which [`crate::archive`] turns into OCI blobs; the layers the
//! image shares with its parent keep the parent's published blobs (read through the `client`
//! crate), so a registry stores them once.
//!
//! The daemon is reached through the unix socket `DOCKER_HOST` names. The API is spoken by a
//! small hyper client rather than bollard: a build needs six endpoints, hyper is already in
//! the tree, and bollard would bring a large dependency graph for the rest of the API.

mod api;
mod engine;
mod progress;

pub use engine::DockerEngine;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Method;
use oci::ImageReference;
use serde::Deserialize;

use api::{daemon_error, encode_query_value, read_all, Socket};
use progress::{Lines, Message};

/// Why the Docker Engine could not do what a build asked.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// `DOCKER_HOST` names something other than a unix socket.
    #[error("DOCKER_HOST={0} is not supported: point it at the daemon's socket as unix:///path/to/docker.sock")]
    UnsupportedHost(String),
    /// The socket could not be reached.
    #[error("cannot reach the Docker daemon at {}: {source} (start dockerd or set DOCKER_HOST=unix:///path/to/docker.sock)", socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The HTTP exchange with the daemon failed.
    #[error("talking to the Docker daemon failed: {0}")]
    Http(#[from] hyper::Error),
    /// A request could not be formed.
    #[error("invalid request to the Docker daemon: {0}")]
    Request(String),
    /// The daemon answered with an error status.
    #[error("the Docker daemon answered {status}: {message}")]
    Daemon {
        /// The HTTP status.
        status: u16,
        /// The daemon's message.
        message: String,
    },
    /// The daemon's answer was not what the API documents.
    #[error("unexpected answer from the Docker daemon: {0}")]
    Unexpected(String),
    /// The Dockerfile failed to build.
    #[error("the build failed: {0}")]
    BuildFailed(String),
    /// A parent could not be pulled.
    #[error("cannot pull the parent {reference}: {message}")]
    PullFailed {
        /// What was pulled.
        reference: String,
        /// What the daemon said.
        message: String,
    },
    /// A parent's manifest, config or layers could not be read from its registry.
    #[error("cannot read the parent {reference} from its registry: {message}")]
    Parent {
        /// The parent, `repository@digest`.
        reference: String,
        /// Why.
        message: String,
    },
    /// A pulled parent is not the image its digest names.
    #[error("the parent {reference} the daemon pulled is not that digest (it holds {found:?})")]
    ParentMismatch {
        /// What was pulled.
        reference: String,
        /// The digests the daemon recorded for the image.
        found: Vec<String>,
    },
    /// Reading or writing a file failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: io::Error,
    },
}

/// Credentials for a registry the daemon pulls from.
#[derive(Debug, Clone)]
pub struct RegistryAuth {
    /// The user or robot name.
    pub username: String,
    /// Its password or secret.
    pub password: String,
}

/// Credentials the daemon sends to one registry when it pulls (`X-Registry-Auth`): the
/// agent's robot for the program's registry, the docker config's (or its credential
/// helper's) for an external parent's registry.
#[derive(Debug, Clone)]
pub struct PullAuth {
    /// The registry, as references name it (`host[:port]`, `docker.io`).
    pub server: String,
    /// A password, or an identity token the daemon trades for access tokens itself.
    pub secret: client::Secret,
}

/// Where library parents are pulled from: the registry holding the per-architecture images
/// (`<host>/<arch>/<repo>@<digest>`), with the credentials to read it (sent to that registry
/// only; external parents come from their own registries).
#[derive(Debug, Clone)]
pub struct ParentRegistry {
    /// `host:port` of the registry.
    pub host: String,
    /// Credentials, if pulls need them.
    pub auth: Option<RegistryAuth>,
}

/// What the daemon knows of a local image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    /// The image ID: `sha256:` and the digest of its config.
    pub id: String,
    /// Its layers' uncompressed digests, base first.
    pub diff_ids: Vec<String>,
}

/// One Dockerfile build as the daemon sees it.
#[derive(Debug, Clone)]
pub struct DockerBuild<'a> {
    /// The build context as an uncompressed tar.
    pub context: Bytes,
    /// The Dockerfile's path inside the context.
    pub dockerfile: &'a str,
    /// Ignore the daemon's build cache (two builds of a reproducibility check must both run).
    pub no_cache: bool,
}

/// A Docker daemon reached through its unix socket.
#[derive(Debug)]
pub struct Daemon {
    socket: Socket,
    runtime: tokio::runtime::Runtime,
}

impl Daemon {
    /// The daemon `DOCKER_HOST` names (or `/var/run/docker.sock`).
    pub fn from_env() -> Result<Self, DockerError> {
        let host = std::env::var("DOCKER_HOST").ok();
        Self::new(host.as_deref())
    }

    /// The daemon a `DOCKER_HOST` value names.
    pub fn new(docker_host: Option<&str>) -> Result<Self, DockerError> {
        let socket = Socket::from_docker_host(docker_host)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .map_err(|source| DockerError::Io {
                what: "cannot start the I/O runtime".to_owned(),
                source,
            })?;
        Ok(Daemon { socket, runtime })
    }

    /// Checks that the daemon answers.
    pub fn ping(&self) -> Result<(), DockerError> {
        self.runtime
            .block_on(self.socket.call(Method::GET, "/_ping", Bytes::new()))
            .map(drop)
    }

    /// Pulls `parent.source` by its digest (with `auth` for its registry), checks that the
    /// daemon holds exactly that digest, and tags it with the name the Dockerfile's FROM uses.
    pub fn pin_parent(
        &self,
        from: &ImageReference,
        source: &str,
        auth: Option<&PullAuth>,
        log: &mut dyn FnMut(&str),
    ) -> Result<LocalImage, DockerError> {
        let reference = source.to_owned();
        self.runtime.block_on(self.pull(&reference, auth, log))?;
        let inspected = self.runtime.block_on(self.inspect_raw(&reference))?;
        if !inspected.repo_digests.iter().any(|d| d == &reference) {
            return Err(DockerError::ParentMismatch {
                reference,
                found: inspected.repo_digests,
            });
        }
        let repo = format!("{}/{}", from.domain, from.path);
        let query = format!(
            "/images/{}/tag?repo={}&tag={}",
            inspected.id,
            encode_query_value(&repo),
            encode_query_value(from.tag_or_latest())
        );
        self.runtime
            .block_on(self.socket.call(Method::POST, &query, Bytes::new()))?;
        log(&format!("pinned {from} to {reference}\n"));
        Ok(inspected.into())
    }

    /// Builds with the classic builder, no network and no pulls, streaming every message to
    /// `log`; returns the image's ID.
    pub fn build(
        &self,
        build: &DockerBuild<'_>,
        log: &mut dyn FnMut(&str),
    ) -> Result<String, DockerError> {
        let query = format!(
            "/build?version=1&networkmode=none&pull=0&rm=1&forcerm=1&nocache={}&dockerfile={}",
            u8::from(build.no_cache),
            encode_query_value(build.dockerfile),
        );
        let headers = [("content-type", "application/x-tar".to_owned())];
        let messages = self.runtime.block_on(async {
            let response = self
                .socket
                .send(Method::POST, &query, &headers, build.context.clone())
                .await?;
            stream_messages(response, log).await
        })?;
        if let Some(error) = messages.iter().find_map(|m| m.error.clone()) {
            return Err(DockerError::BuildFailed(error));
        }
        messages
            .iter()
            .rev()
            .find_map(|m| m.aux.as_ref().and_then(|aux| aux.id.clone()))
            .ok_or_else(|| DockerError::Unexpected("the build reported no image ID".to_owned()))
    }

    /// The daemon's view of a local image.
    pub fn inspect(&self, name: &str) -> Result<LocalImage, DockerError> {
        Ok(self.runtime.block_on(self.inspect_raw(name))?.into())
    }

    /// Writes the image as a docker-archive (`docker save`) to `path`, through a temporary
    /// file so that a failed export leaves nothing behind.
    pub fn export(&self, image_id: &str, path: &Path) -> Result<(), DockerError> {
        let io_error = |source| DockerError::Io {
            what: format!("cannot write {}", path.display()),
            source,
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io_error)?;
        self.runtime.block_on(async {
            let query = format!("/images/{}/get", encode_query_value(image_id));
            let response = self
                .socket
                .send(Method::GET, &query, &[], Bytes::new())
                .await?;
            let status = response.status();
            if !status.is_success() {
                let text = read_all(response.into_body()).await?;
                return Err(daemon_error(status, &text));
            }
            let mut body = response.into_body();
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame?.into_data() {
                    file.write_all(&data).map_err(io_error)?;
                }
            }
            Ok(())
        })?;
        file.as_file().sync_all().map_err(io_error)?;
        file.persist(path).map_err(|err| io_error(err.error))?;
        Ok(())
    }

    /// Removes a local image (by ID or name), untagging it first if tags hold it.
    pub fn remove(&self, name: &str) -> Result<(), DockerError> {
        let query = format!("/images/{}?force=1", encode_query_value(name));
        self.runtime
            .block_on(self.socket.call(Method::DELETE, &query, Bytes::new()))
            .map(drop)
    }

    async fn pull(
        &self,
        reference: &str,
        auth: Option<&PullAuth>,
        log: &mut dyn FnMut(&str),
    ) -> Result<(), DockerError> {
        let query = format!("/images/create?fromImage={}", encode_query_value(reference));
        let mut headers = Vec::new();
        if let Some(auth) = auth {
            headers.push(("x-registry-auth", registry_auth_header(auth)));
        }
        let response = self
            .socket
            .send(Method::POST, &query, &headers, Bytes::new())
            .await?;
        let failed = |message| DockerError::PullFailed {
            reference: reference.to_owned(),
            message,
        };
        // The daemon refuses a pull it cannot start (a registry that denies access) with an
        // error status, and reports one that fails later inside the stream.
        let messages = match stream_messages(response, log).await {
            Err(DockerError::Daemon { message, .. }) => return Err(failed(message)),
            other => other?,
        };
        match messages.iter().find_map(|m| m.error.clone()) {
            Some(message) => Err(failed(message)),
            None => Ok(()),
        }
    }

    async fn inspect_raw(&self, name: &str) -> Result<Inspected, DockerError> {
        let query = format!("/images/{}/json", encode_query_value(name));
        let body = self.socket.call(Method::GET, &query, Bytes::new()).await?;
        serde_json::from_slice(&body).map_err(|err| DockerError::Unexpected(err.to_string()))
    }
}

/// `GET /images/{name}/json`, the fields a build uses.
#[derive(Debug, Deserialize)]
struct Inspected {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "RepoDigests", default)]
    repo_digests: Vec<String>,
    #[serde(rename = "RootFS")]
    root_fs: InspectedRootFs,
}

#[derive(Debug, Deserialize)]
struct InspectedRootFs {
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

impl From<Inspected> for LocalImage {
    fn from(inspected: Inspected) -> Self {
        LocalImage {
            id: inspected.id,
            diff_ids: inspected.root_fs.layers,
        }
    }
}

/// Reads a streamed answer to its end, handing each message's text to `log`. A non-2xx
/// status is an error before any streaming starts.
async fn stream_messages(
    response: hyper::Response<hyper::body::Incoming>,
    log: &mut dyn FnMut(&str),
) -> Result<Vec<Message>, DockerError> {
    let status = response.status();
    if !status.is_success() {
        let text = read_all(response.into_body()).await?;
        return Err(daemon_error(status, &text));
    }
    let mut body = response.into_body();
    let mut lines = Lines::default();
    let mut messages = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            messages.extend(lines.push(&data));
        }
    }
    messages.extend(lines.finish());
    for text in messages.iter().filter_map(Message::log_text) {
        log(&text);
    }
    Ok(messages)
}

/// The `X-Registry-Auth` header: base64url of the Engine API's JSON auth config (`username`
/// and `password`, or an `identitytoken`), naming the registry it is for.
fn registry_auth_header(auth: &PullAuth) -> String {
    use base64ct::Encoding;
    let json = match &auth.secret {
        client::Secret::Password(credentials) => serde_json::json!({
            "username": credentials.username,
            "password": credentials.password(),
            "serveraddress": auth.server,
        }),
        client::Secret::IdentityToken { token, .. } => serde_json::json!({
            "identitytoken": token,
            "serveraddress": auth.server,
        }),
    };
    base64ct::Base64Url::encode_string(json.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_auth_is_base64url_json_as_the_engine_api_takes_it() {
        use base64ct::Encoding;
        let cases = [
            (
                client::Secret::Password(client::Credentials::new("ann", "pw?>")),
                r#"{"password":"pw?>","serveraddress":"r.example:5000","username":"ann"}"#,
            ),
            (
                client::Secret::IdentityToken {
                    username: "<token>".into(),
                    token: "rt".into(),
                },
                r#"{"identitytoken":"rt","serveraddress":"r.example:5000"}"#,
            ),
        ];
        for (secret, expected) in cases {
            let header = registry_auth_header(&PullAuth {
                server: "r.example:5000".into(),
                secret,
            });
            let decoded = base64ct::Base64Url::decode_vec(&header).unwrap();
            let decoded: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
            assert_eq!(
                decoded,
                serde_json::from_str::<serde_json::Value>(expected).unwrap()
            );
        }
    }
}
