//! Router tests: the whole application driven through `tower::ServiceExt::oneshot` over a
//! store in a temporary folder, one module per area of the API.

mod admin_api;
mod auth;
mod blobs;
mod build_logs;
mod conditional;
mod conformance;
mod errors;
mod listing;
mod manifests;
mod matrix;
mod search;
mod sendfile;
mod server;
mod stars;
mod tls;
mod uploads;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use oci::{Digest, DigestAlgorithm};
use registry::{Registry, RegistryConfig};
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt as _;

/// A registry over a fresh data folder.
#[derive(Debug)]
pub struct App {
    router: Router,
    /// The metadata store under the router, for setting up what tests read (stars, tiers).
    pub meta: store::SqliteMetaStore,
    _data: TempDir,
    /// A bearer token sent with every request that carries no `authorization` of its own.
    bearer: Option<String>,
}

/// What came back, with the body read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` header, which the reply must have.
    pub fn location(&self) -> &str {
        self.header("location").expect("a Location header")
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The spec error code of an error reply.
    pub fn error_code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .expect("an errors body")
            .to_owned()
    }

    /// Asserts the status, and for errors the code, in one line.
    pub fn expect(&self, status: u16, code: Option<&str>) -> &Self {
        assert_eq!(self.status.as_u16(), status, "reply {self:?}");
        if let Some(code) = code {
            assert_eq!(self.error_code(), code, "reply {self:?}");
        }
        self
    }
}

impl App {
    pub async fn new() -> Self {
        Self::with_config(RegistryConfig::default()).await
    }

    pub async fn with_config(config: RegistryConfig) -> Self {
        let data = tempfile::tempdir().unwrap();
        let (blobs, meta) = store::open_embedded(data.path()).await.unwrap();
        Self {
            router: registry::router(Registry::new(blobs, meta.clone(), config)),
            meta,
            _data: data,
            bearer: None,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let authorized = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("authorization"));
        if let (Some(token), false) = (&self.bearer, authorized) {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, &[], Body::empty()).await
    }

    pub async fn head(&self, uri: &str) -> Reply {
        self.send(Method::HEAD, uri, &[], Body::empty()).await
    }

    pub async fn post(&self, uri: &str) -> Reply {
        self.send(Method::POST, uri, &[], Body::empty()).await
    }

    pub async fn delete(&self, uri: &str) -> Reply {
        self.send(Method::DELETE, uri, &[], Body::empty()).await
    }

    /// Pushes `content` monolithically into `name`, returning its digest.
    pub async fn push_blob(&self, name: &str, content: &[u8]) -> Digest {
        let digest = sha256(content);
        self.send(
            Method::POST,
            &format!("/v2/{name}/blobs/uploads/?digest={digest}"),
            &[],
            content.to_vec(),
        )
        .await
        .expect(201, None);
        digest
    }

    /// Pushes a manifest under `reference` with its media type as `Content-Type`.
    pub async fn push_manifest(
        &self,
        name: &str,
        reference: &str,
        media_type: &str,
        payload: &[u8],
    ) -> Reply {
        self.send(
            Method::PUT,
            &format!("/v2/{name}/manifests/{reference}"),
            &[("content-type", media_type)],
            payload.to_vec(),
        )
        .await
    }

    /// Pushes a config and one layer, then an image manifest naming them; returns the
    /// manifest's bytes and digest.
    pub async fn push_image(&self, name: &str, tag: &str, seed: &str) -> (Vec<u8>, Digest) {
        let config = self
            .push_blob(name, format!("{{\"seed\":\"{seed}\"}}").as_bytes())
            .await;
        let layer = self
            .push_blob(name, format!("layer of {seed}").as_bytes())
            .await;
        let payload = image_manifest(&config, &[&layer], None, None);
        self.push_manifest(name, tag, OCI_MANIFEST, &payload)
            .await
            .expect(201, None);
        let digest = sha256(&payload);
        (payload, digest)
    }
}

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const EMPTY_JSON: &str = "application/vnd.oci.empty.v1+json";

pub fn sha256(content: &[u8]) -> Digest {
    Digest::of(DigestAlgorithm::Sha256, content)
}

/// An OCI image manifest; sizes are not checked by the registry, so they are nominal.
pub fn image_manifest(
    config: &Digest,
    layers: &[&Digest],
    artifact_type: Option<&str>,
    subject: Option<&Digest>,
) -> Vec<u8> {
    let mut manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": l, "size": 1
        })).collect::<Vec<_>>(),
    });
    if let Some(artifact_type) = artifact_type {
        manifest["artifactType"] = artifact_type.into();
        manifest["config"]["mediaType"] = EMPTY_JSON.into();
    }
    if let Some(subject) = subject {
        manifest["subject"] =
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": subject, "size": 1});
        manifest["annotations"] = serde_json::json!({"note": format!("refers to {subject}")});
    }
    serde_json::to_vec_pretty(&manifest).unwrap()
}
