//! What the catalogue (search and the Hub-like repository API) tells about a repository beside
//! its content: a description, stars, pulls and its trust tier, and its tags with what they
//! point at.

use oci::TrustTier;

use crate::meta::StoredManifest;

/// A repository as search results and repository pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySummary {
    /// Its stored name (`library/python`).
    pub name: String,
    /// What its publisher says it is; empty when nobody said.
    pub description: String,
    /// Its trust tier, from its namespace and the tier an admin gave its organisation.
    pub tier: TrustTier,
    /// How many users starred it.
    pub star_count: u64,
    /// How many times one of its manifests was fetched, as of the last recorded batch.
    pub pull_count: u64,
    /// When it was created, in Unix milliseconds.
    pub created_ms: i64,
    /// When a tag in it was last pushed or moved; `None` while it has no tags.
    pub last_updated_ms: Option<i64>,
}

/// A tag with the manifest it points at, for tag listings that show images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagDetail {
    /// The tag.
    pub name: String,
    /// When it was last pushed or moved, in Unix milliseconds.
    pub updated_ms: i64,
    /// The manifest (or index) it points at.
    pub manifest: StoredManifest,
}

/// One numbered page (`?page=&page_size=` in Hub's API): skip `offset`, take `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPage {
    /// How many items come before the page.
    pub offset: u64,
    /// The most items the page holds.
    pub limit: u32,
}

/// One page of items and how many there are in all, so a client can count the pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted<T> {
    /// Every matching item, not only this page's.
    pub total: u64,
    /// This page's items.
    pub items: Vec<T>,
}
