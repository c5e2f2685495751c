//! Docker Hub's repository API: `/v2/repositories/<namespace>/<name>/` and its `tags/`,
//! with the fields UIs and tools read, and the trust tier on both; and its `stars/`, where a
//! signed-in account stars a repository it may pull.

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use oci::manifest::{MediaType, Platform};
use oci::{Digest, ErrorCode};
use serde::Serialize;
use serde_json::json;
use store::{BlobError, BlobStore, MetaStore, RepositorySummary, StoredManifest, TagDetail};
use tokio::io::AsyncReadExt as _;

use super::{absolute_url, json_response, Query};
use crate::auth::Caller;
use crate::catalogue::{config_platform, index_entries, namespace_and_name, rfc3339, NumberedPage};
use crate::error::{RegistryError, Result};
use crate::name::RepositoryName;
use crate::Registry;

/// One platform image of a tag, as Hub lists it.
#[derive(Debug, Serialize)]
struct Image {
    #[serde(flatten)]
    platform: Platform,
    digest: Digest,
    /// The manifest, its config and its layers, in bytes: what a pull of it transfers.
    size: u64,
}

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// `GET /v2/repositories/<namespace>/<name>/`, with `has_starred` for the caller (`false`
    /// when nobody signed in).
    pub(crate) async fn hub_repository(
        &self,
        name: &RepositoryName,
        caller: &Caller,
    ) -> Result<Response> {
        let repository = self.summary(name).await?;
        let mut body = repository_json(&repository);
        body["has_starred"] = json!(match caller.signed_in() {
            Some(user) => self.meta.has_starred(user, &repository.name).await?,
            None => false,
        });
        self.hub_json(&body)
    }

    /// `POST` (`starred`) or `DELETE /v2/repositories/<namespace>/<name>/stars/`: the signed-in
    /// caller's star on a repository it may pull, answered `204` whether or not it changed
    /// anything; a repository it may not pull is as unknown as a missing one.
    pub(crate) async fn hub_star(
        &self,
        name: &RepositoryName,
        starred: bool,
        caller: &Caller,
    ) -> Result<Response> {
        let Some(user) = caller.signed_in() else {
            return Err(RegistryError::new(
                ErrorCode::Denied,
                "stars belong to accounts, and this registry runs without authentication",
            ));
        };
        if !caller.may_pull(name.as_str()) {
            return Err(unknown_repository(name));
        }
        let repository = self.summary(name).await?;
        if starred {
            self.meta.star(user, &repository.name).await?;
        } else {
            self.meta.unstar(user, &repository.name).await?;
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    }

    /// `GET /v2/repositories/<namespace>/?page=&page_size=`: its repositories by name,
    /// `page_size` (default 25, at most 100) per page; empty, not an error, for a namespace
    /// nobody pushed to, as an organisation may have no repositories yet.
    pub(crate) async fn hub_namespace(
        &self,
        namespace: &str,
        query: &Query,
        headers: &HeaderMap,
    ) -> Result<Response> {
        let page = NumberedPage::from_query(query, "page_size", 25, 100)?;
        self.flush_pulls_for_reading().await;
        let found = self
            .meta
            .namespace_repositories(namespace, &page.offset())
            .await?;
        let results: Vec<_> = found.items.iter().map(repository_json).collect();
        let path = format!("/v2/repositories/{namespace}/");
        let body = paged(results, found.total, page, &path, headers);
        self.hub_json(&body)
    }

    /// `GET /v2/repositories/<namespace>/<name>/tags/?page=&page_size=`: tags most recently
    /// pushed first, `page_size` (default 10, at most 100) per page.
    pub(crate) async fn hub_tags(
        &self,
        name: &RepositoryName,
        query: &Query,
        headers: &HeaderMap,
    ) -> Result<Response> {
        let repository = self.summary(name).await?;
        let page = NumberedPage::from_query(query, "page_size", 10, 100)?;
        let tags = self
            .meta
            .tag_details(&repository.name, &page.offset())
            .await?;
        let mut results = Vec::with_capacity(tags.items.len());
        for tag in &tags.items {
            results.push(self.tag_json(&repository.name, tag).await?);
        }
        let path = format!("/v2/repositories/{name}/tags/");
        let mut body = paged(results, tags.total, page, &path, headers);
        body["tier"] = json!(repository.tier);
        self.hub_json(&body)
    }

    /// `GET /v2/repositories/<namespace>/<name>/tags/<tag>/`: the tag as the listing shows it,
    /// with the repository's tier.
    pub(crate) async fn hub_tag(&self, name: &RepositoryName, tag: &str) -> Result<Response> {
        let repository = self.summary(name).await?;
        let detail = self
            .meta
            .tag_detail(&repository.name, tag)
            .await?
            .ok_or_else(|| {
                RegistryError::new(
                    ErrorCode::ManifestUnknown,
                    format!("tag {tag} is not in repository {name}"),
                )
            })?;
        let mut body = self.tag_json(&repository.name, &detail).await?;
        body["tier"] = json!(repository.tier);
        self.hub_json(&body)
    }

    /// The repository's summary, with the pulls this node counted so far included.
    async fn summary(&self, name: &RepositoryName) -> Result<RepositorySummary> {
        self.flush_pulls_for_reading().await;
        self.meta
            .repository_summary(name.as_str())
            .await?
            .ok_or_else(|| unknown_repository(name))
    }

    /// Records this node's pending pull counts before an answer that shows them.
    async fn flush_pulls_for_reading(&self) {
        if let Err(error) = self.pulls.flush(&self.meta).await {
            tracing::warn!(%error, "pull counts not recorded; showing the last recorded ones");
        }
    }

    async fn tag_json(&self, repository: &str, tag: &TagDetail) -> Result<serde_json::Value> {
        let record = &tag.manifest.record;
        let images = self.images(repository, &tag.manifest).await?;
        // Hub gives a tag the size of one image, not the sum of its platforms'.
        let full_size = images.iter().map(|image| image.size).max().unwrap_or(0);
        Ok(json!({
            "name": tag.name,
            "digest": record.digest,
            "media_type": record.media_type,
            "content_type": "image",
            "tag_status": "active",
            "full_size": full_size,
            "last_updated": rfc3339(tag.updated_ms),
            "images": images,
        }))
    }

    /// The platform images `manifest` stands for: an index's entries, each with the platform
    /// its descriptor gives (else its config's), or an image manifest alone.
    async fn images(&self, repository: &str, manifest: &StoredManifest) -> Result<Vec<Image>> {
        let record = &manifest.record;
        if !MediaType::is_index(&record.media_type) {
            let platform = self.config_platform(manifest).await?;
            return Ok(vec![Image {
                platform,
                digest: record.digest.clone(),
                size: record.total_size,
            }]);
        }
        let mut images = Vec::new();
        for entry in index_entries(&record.payload) {
            // The store refuses an index whose children are missing, so each is there.
            let Some(child) = self.meta.manifest(repository, &entry.digest).await? else {
                continue;
            };
            let platform = match entry.platform {
                Some(platform) => platform,
                None => self.config_platform(&child).await?,
            };
            images.push(Image {
                platform,
                digest: entry.digest,
                size: child.record.total_size,
            });
        }
        Ok(images)
    }

    /// The platform an image manifest's config declares, read from blob storage; empty when
    /// it has no config, the config is gone from storage, or it is larger than a manifest may
    /// be, so one odd image never hides a repository's other tags.
    async fn config_platform(&self, manifest: &StoredManifest) -> Result<Platform> {
        let Some(config) = &manifest.record.config_digest else {
            return Ok(Platform::default());
        };
        let content = match self.blobs.get(config, None).await {
            Ok(content) => content,
            Err(BlobError::NotFound(_)) => return Ok(Platform::default()),
            Err(error) => return Err(error.into()),
        };
        let limit = self.config.max_manifest_bytes as u64;
        if content.size > limit {
            return Ok(Platform::default());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(content.size).unwrap_or(0));
        content
            .reader
            .take(limit)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| {
                RegistryError::new(
                    ErrorCode::Unknown,
                    format!("reading config {config} failed: {e}"),
                )
            })?;
        Ok(config_platform(&bytes))
    }

    fn hub_json(&self, body: &serde_json::Value) -> Result<Response> {
        let response = json_response("application/json", body, &[])?;
        self.record_json(&response);
        Ok(response)
    }
}

fn unknown_repository(name: &RepositoryName) -> RegistryError {
    RegistryError::new(
        ErrorCode::NameUnknown,
        format!("repository {name} is not known to this registry"),
    )
}

/// A repository as Hub's repository page and namespace listing show it.
fn repository_json(repository: &RepositorySummary) -> serde_json::Value {
    let (namespace, name) = namespace_and_name(&repository.name);
    json!({
        "user": namespace,
        "name": name,
        "namespace": namespace,
        "repository_type": "image",
        "status_description": "active",
        "description": repository.description,
        "is_private": false,
        "is_automated": false,
        "star_count": repository.star_count,
        "pull_count": repository.pull_count,
        "last_updated": repository.last_updated_ms.map(rfc3339),
        "date_registered": rfc3339(repository.created_ms),
        "tier": repository.tier,
    })
}

/// Hub's paged answer: `count` in all, links to the `next` and `previous` pages (or null),
/// and this page's `results`.
fn paged(
    results: Vec<serde_json::Value>,
    total: u64,
    page: NumberedPage,
    path: &str,
    headers: &HeaderMap,
) -> serde_json::Value {
    let link = |number: u32| page_link(headers, path, number, page.size);
    let next = (u64::from(page.page) < page.count(total)).then(|| link(page.page + 1));
    let previous = (page.page > 1).then(|| link(page.page - 1));
    json!({ "count": total, "next": next, "previous": previous, "results": results })
}

/// An absolute link to another page, as Hub gives `next` and `previous`.
fn page_link(headers: &HeaderMap, path: &str, page: u32, size: u32) -> String {
    absolute_url(headers, &format!("{path}?page={page}&page_size={size}"))
}
