//! Listings: the version check, tags, the catalog and referrers.

use axum::http::{header, HeaderName};
use axum::response::Response;
use oci::manifest::MediaType;
use oci::{Digest, ErrorCode};
use serde_json::json;
use store::{BlobStore, MetaStore, Page};

use super::{json_response, Query};
use crate::error::{RegistryError, Result};
use crate::manifest;
use crate::name::RepositoryName;
use crate::Registry;

const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");

/// `GET /v2/`: the registry speaks the v2 API (every response says so in
/// `Docker-Distribution-API-Version`) and needs no authentication.
pub(crate) fn version_check() -> Result<Response> {
    json_response("application/json", &json!({}), &[])
}

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// `GET /v2/<name>/tags/list?n=&last=`.
    pub(crate) async fn list_tags(&self, name: &RepositoryName, query: &Query) -> Result<Response> {
        let page = page(query)?;
        let tags = self.meta.list_tags(name.as_str(), &page).await?;
        let link = next_link(&format!("/v2/{name}/tags/list"), &page, &tags);
        self.listing(json!({ "name": name.to_string(), "tags": tags }), link)
    }

    /// `GET /v2/_catalog?n=&last=`.
    pub(crate) async fn catalog(&self, query: &Query) -> Result<Response> {
        let page = page(query)?;
        let repositories = self.meta.list_repositories(&page).await?;
        let link = next_link("/v2/_catalog", &page, &repositories);
        self.listing(json!({ "repositories": repositories }), link)
    }

    fn listing(&self, value: serde_json::Value, link: Option<String>) -> Result<Response> {
        let extra: Vec<_> = link.iter().map(|l| (header::LINK, l.as_str())).collect();
        let response = json_response("application/json", &value, &extra)?;
        self.record_json(&response);
        Ok(response)
    }

    /// `GET /v2/<name>/referrers/<digest>?artifactType=`: an image index of the manifests
    /// whose subject is `digest`; empty, not an error, when there are none.
    pub(crate) async fn referrers(
        &self,
        name: &RepositoryName,
        digest: &str,
        query: &Query,
    ) -> Result<Response> {
        let subject = Digest::parse(digest)?;
        let artifact_type = query.get("artifactType");
        let referrers = self
            .meta
            .referrers(name.as_str(), &subject, artifact_type)
            .await?;
        let descriptors: Vec<_> = referrers
            .iter()
            .map(|m| {
                let mut descriptor = json!({
                    "mediaType": m.record.media_type,
                    "digest": m.record.digest,
                    "size": m.record.payload.len(),
                });
                if let Some(artifact_type) = &m.record.artifact_type {
                    descriptor["artifactType"] = json!(artifact_type);
                }
                if let Some(annotations) =
                    manifest::annotations(&m.record.media_type, &m.record.payload)
                {
                    descriptor["annotations"] = json!(annotations);
                }
                descriptor
            })
            .collect();
        let index = json!({
            "schemaVersion": 2,
            "mediaType": MediaType::OCI_INDEX,
            "manifests": descriptors,
        });
        let filters: Vec<_> = artifact_type
            .map(|_| (OCI_FILTERS_APPLIED, "artifactType"))
            .into_iter()
            .collect();
        let response = json_response(MediaType::OCI_INDEX, &index, &filters)?;
        self.record_json(&response);
        Ok(response)
    }

    pub(super) fn record_json(&self, response: &Response) {
        let length = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        self.metrics.record_sent(length);
    }
}

/// `?n=` and `?last=` as a page; a count that is not a number is the client's error.
fn page(query: &Query) -> Result<Page> {
    let limit = query
        .get("n")
        .map(|n| {
            n.parse::<u32>().map_err(|_| {
                RegistryError::new(
                    ErrorCode::PaginationNumberInvalid,
                    format!("n={n} is not a count: use a whole number"),
                )
            })
        })
        .transpose()?;
    Ok(Page {
        limit,
        after: query.get("last").map(str::to_owned),
    })
}

/// A `Link` to the next page when this one is full; a short page is the last.
fn next_link(path: &str, page: &Page, items: &[String]) -> Option<String> {
    let limit = page.limit?;
    let last = items.last()?;
    (items.len() == limit as usize).then(|| format!("<{path}?n={limit}&last={last}>; rel=\"next\""))
}
