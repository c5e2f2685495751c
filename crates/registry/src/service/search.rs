//! Docker Hub's v1 search, which `docker search HOST/term` and `podman search` speak:
//! `/v1/_ping`, then `/v1/search?q=term&n=25`.
//!
//! The clients filter (`--filter is-official=true`, `--filter stars=N`) on the fields given
//! here, so the server's part is to give every result the right `is_official` and
//! `star_count`. Official images are named without `library/`, as Hub names them.

use axum::http::HeaderName;
use axum::response::Response;
use serde::Serialize;
use serde_json::json;
use store::{BlobStore, MetaStore, RepositorySummary};

use super::{json_response, Query};
use crate::catalogue::{search_name, NumberedPage};
use crate::error::Result;
use crate::Registry;

const STANDALONE: HeaderName = HeaderName::from_static("x-docker-registry-standalone");

/// `GET /v1/_ping`: a standalone registry (one with no separate v1 index).
pub(crate) fn ping() -> Result<Response> {
    json_response(
        "application/json",
        &json!({ "standalone": true }),
        &[(STANDALONE, "true")],
    )
}

/// One search result, with Hub's field names and the tier beside them.
#[derive(Debug, Serialize)]
struct SearchResult<'a> {
    name: &'a str,
    description: &'a str,
    star_count: u64,
    is_official: bool,
    /// Hub's automated builds are gone; the field stays because clients read it.
    is_automated: bool,
    tier: oci::TrustTier,
}

impl<'a> From<&'a RepositorySummary> for SearchResult<'a> {
    fn from(repository: &'a RepositorySummary) -> Self {
        Self {
            name: search_name(&repository.name),
            description: &repository.description,
            star_count: repository.star_count,
            is_official: repository.tier == oci::TrustTier::Official,
            is_automated: false,
            tier: repository.tier,
        }
    }
}

impl<B: BlobStore, M: MetaStore> Registry<B, M> {
    /// `GET /v1/search?q=&n=&page=`: repositories whose name or description contains `q`,
    /// `n` (default 25, at most 100) per page.
    pub(crate) async fn search(&self, query: &Query) -> Result<Response> {
        let text = query.get("q").unwrap_or_default();
        let page = NumberedPage::from_query(query, "n", 25, 100)?;
        let found = self.meta.search_repositories(text, &page.offset()).await?;
        let results: Vec<SearchResult<'_>> = found.items.iter().map(Into::into).collect();
        let body = json!({
            "num_pages": page.count(found.total),
            "num_results": found.total,
            "page_size": page.size,
            "page": page.page,
            "query": text,
            "results": results,
        });
        let response = json_response("application/json", &body, &[])?;
        self.record_json(&response);
        Ok(response)
    }
}
