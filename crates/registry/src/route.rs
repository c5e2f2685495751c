//! Which endpoint a request path names.
//!
//! Repository names contain slashes (`library/python`, `a/b/c`), which routers that match one
//! segment per parameter cannot express, so the path is read from its end: every endpoint
//! ends in a fixed suffix (`/manifests/<ref>`, `/blobs/uploads/<id>`, `/tags/list`, …) and
//! whatever comes before it is the name.
//!
//! Beside the distribution API sit Docker Hub's search (`/v1/_ping`, `/v1/search`) and its
//! repository API (`/v2/repositories/<namespace>/<name>/` and `…/tags/`). Those Hub paths also
//! start with `/v2/`, so precedence is fixed: a path is first read as a distribution endpoint,
//! and only a path that names none (they end in `/`, or in a name, never in a distribution
//! suffix) is read as a Hub one. A repository literally named `repositories/…` thus keeps
//! every distribution call, and `/v2/repositories/<namespace>/<name>/tags/` lists the tags of
//! `<namespace>/<name>`, never describes a repository whose name ends in `/tags` (and
//! `…/tags/list` is the distribution tag list of `repositories/<namespace>/<name>`, so Hub's
//! single-tag path cannot name a tag called `list`).

use oci::ErrorCode;

use crate::error::RegistryError;
use crate::name::RepositoryName;

/// An endpoint of the distribution API, with the raw path parameters it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`: the version check.
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// `/v2/<name>/manifests/<reference>`.
    Manifest(RepositoryName, String),
    /// `/v2/<name>/blobs/<digest>`.
    Blob(RepositoryName, String),
    /// `/v2/<name>/blobs/uploads/`: starting an upload.
    Uploads(RepositoryName),
    /// `/v2/<name>/blobs/uploads/<id>`: an upload in progress.
    Upload(RepositoryName, String),
    /// `/v2/<name>/tags/list`.
    Tags(RepositoryName),
    /// `/v2/<name>/referrers/<digest>`.
    Referrers(RepositoryName, String),
    /// `/v2/<arch>/<repo>/builds/<tag>/log`: the newest build log of a per-architecture tag
    /// (Hallmark's own endpoint, authorised like a pull).
    BuildLog(RepositoryName, String),
    /// `/v1/_ping`: what `docker search` asks before it searches.
    Ping,
    /// `/v1/search?q=&n=&page=`.
    Search,
    /// `/v2/repositories/<namespace>/`: Hub's list of a namespace's repositories.
    HubNamespace(String),
    /// `/v2/repositories/<namespace>/<name>/`: Hub's repository description.
    HubRepository(RepositoryName),
    /// `/v2/repositories/<namespace>/<name>/tags/`: Hub's tag listing with images.
    HubTags(RepositoryName),
    /// `/v2/repositories/<namespace>/<name>/tags/<tag>/`: one tag as the listing shows it.
    HubTag(RepositoryName, String),
    /// `/v2/repositories/<namespace>/<name>/stars/`: the caller's star (POST adds, DELETE
    /// takes it back).
    HubStars(RepositoryName),
    /// `/token`: the token endpoint challenges send clients to.
    Token,
    /// `/admin/v1/…`: the admin JSON API.
    Admin(AdminRoute),
}

/// An endpoint of the admin JSON API, under `/admin/v1/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRoute {
    /// `accounts`: list (GET) or create (POST).
    Accounts,
    /// `accounts/<name>`: remove (DELETE).
    Account(String),
    /// `organisations`: create (POST).
    Organisations,
    /// `organisations/<org>/members/<account>`: add (PUT).
    Member(String, String),
    /// `organisations/<org>/tier`: set (PUT).
    Tier(String),
    /// `repositories/<name>/visibility`: set (PUT).
    Visibility(RepositoryName),
    /// `audit?repo=&actor=&action=&limit=`: read (GET).
    Audit,
}

impl AdminRoute {
    /// The admin endpoint a path after `/admin/v1/` names.
    fn parse(rest: &str) -> Result<Option<Self>, RegistryError> {
        let segments: Vec<&str> = rest.split('/').collect();
        Ok(Some(match segments.as_slice() {
            ["accounts"] => Self::Accounts,
            ["accounts", name] if !name.is_empty() => Self::Account((*name).to_owned()),
            ["organisations"] => Self::Organisations,
            ["organisations", org, "members", account] if !account.is_empty() => {
                Self::Member((*org).to_owned(), (*account).to_owned())
            }
            ["organisations", org, "tier"] => Self::Tier((*org).to_owned()),
            ["repositories", name @ .., "visibility"] if !name.is_empty() => {
                Self::Visibility(RepositoryName::parse(&name.join("/"))?)
            }
            ["audit"] => Self::Audit,
            _ => return Ok(None),
        }))
    }
}

impl Route {
    /// The endpoint `path` names: `Ok(None)` when it names none, and an error when it names
    /// one but with an invalid repository name.
    pub fn parse(path: &str) -> Result<Option<Self>, RegistryError> {
        if let Some(rest) = path.strip_prefix("/admin/v1/") {
            return Ok(AdminRoute::parse(rest)?.map(Self::Admin));
        }
        let Some(rest) = path.strip_prefix("/v2/") else {
            return Ok(match path {
                "/v2" => Some(Self::Base),
                "/v1/_ping" => Some(Self::Ping),
                "/v1/search" => Some(Self::Search),
                "/token" => Some(Self::Token),
                _ => None,
            });
        };
        match rest {
            "" => return Ok(Some(Self::Base)),
            "_catalog" => return Ok(Some(Self::Catalog)),
            _ => {}
        }
        let segments: Vec<&str> = rest.split('/').collect();
        let route = match segments.as_slice() {
            [name @ .., "blobs", "uploads", ""] | [name @ .., "blobs", "uploads"] => {
                with_name(name, Self::Uploads)?
            }
            [name @ .., "blobs", "uploads", id] => {
                with_name(name, |n| Self::Upload(n, (*id).to_owned()))?
            }
            [name @ .., "blobs", digest] => {
                with_name(name, |n| Self::Blob(n, (*digest).to_owned()))?
            }
            [name @ .., "manifests", reference] => {
                with_name(name, |n| Self::Manifest(n, (*reference).to_owned()))?
            }
            [name @ .., "tags", "list"] => with_name(name, Self::Tags)?,
            [name @ .., "referrers", digest] => {
                with_name(name, |n| Self::Referrers(n, (*digest).to_owned()))?
            }
            [name @ .., "builds", tag, "log"] => {
                with_name(name, |n| Self::BuildLog(n, (*tag).to_owned()))?
            }
            _ => None,
        };
        match (route, segments.as_slice()) {
            (Some(route), _) => Ok(Some(route)),
            (None, ["repositories", hub @ ..]) => Self::parse_hub(hub),
            (None, _) => Ok(None),
        }
    }

    /// A Hub path after `/v2/repositories/`: a namespace alone, or a namespace and a name (at
    /// least two components) followed by nothing, `tags`, `tags/<tag>` or `stars`; with or
    /// without a closing `/`.
    fn parse_hub(segments: &[&str]) -> Result<Option<Self>, RegistryError> {
        let segments = segments.strip_suffix(&[""]).unwrap_or(segments);
        match segments {
            [namespace] if oci::is_valid_path_component(namespace) => {
                Ok(Some(Self::HubNamespace((*namespace).to_owned())))
            }
            [namespace] => Err(RegistryError::new(
                ErrorCode::NameInvalid,
                format!("namespace {namespace:?} is not a valid repository name component"),
            )),
            [name @ .., "tags"] if name.len() >= 2 => with_name(name, Self::HubTags),
            [name @ .., "tags", tag] if name.len() >= 2 => {
                with_name(name, |n| Self::HubTag(n, (*tag).to_owned()))
            }
            [name @ .., "stars"] if name.len() >= 2 => with_name(name, Self::HubStars),
            name if name.len() >= 2 => with_name(name, Self::HubRepository),
            _ => Ok(None),
        }
    }

    /// A short, bounded label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Base => "base",
            Self::Catalog => "catalog",
            Self::Manifest(..) => "manifest",
            Self::Blob(..) => "blob",
            Self::Uploads(_) | Self::Upload(..) => "upload",
            Self::Tags(_) => "tags",
            Self::Referrers(..) => "referrers",
            Self::BuildLog(..) => "build_log",
            Self::Ping => "ping",
            Self::Search => "search",
            Self::HubNamespace(_) => "hub_namespace",
            Self::HubRepository(_) => "hub_repository",
            Self::HubTags(_) => "hub_tags",
            Self::HubTag(..) => "hub_tag",
            Self::HubStars(_) => "hub_stars",
            Self::Token => "token",
            Self::Admin(_) => "admin",
        }
    }
}

/// Builds the route when there is a name before the suffix; an empty name or an empty last
/// parameter means the path names no endpoint at all.
fn with_name(
    name: &[&str],
    build: impl FnOnce(RepositoryName) -> Route,
) -> Result<Option<Route>, RegistryError> {
    if name.is_empty() {
        return Ok(None);
    }
    Ok(Some(build(RepositoryName::parse(&name.join("/"))?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> RepositoryName {
        RepositoryName::parse(s).unwrap()
    }

    #[test]
    fn paths_are_read_from_their_end() {
        let cases = [
            ("/v2/", Some(Route::Base)),
            ("/v2", Some(Route::Base)),
            ("/v2/_catalog", Some(Route::Catalog)),
            (
                "/v2/a/b/c/manifests/latest",
                Some(Route::Manifest(name("a/b/c"), "latest".into())),
            ),
            (
                "/v2/python/manifests/3",
                Some(Route::Manifest(name("python"), "3".into())),
            ),
            (
                "/v2/x/manifests/y/manifests/z",
                Some(Route::Manifest(name("x/manifests/y"), "z".into())),
            ),
            ("/v2/a/b/blobs/uploads/", Some(Route::Uploads(name("a/b")))),
            ("/v2/a/b/blobs/uploads", Some(Route::Uploads(name("a/b")))),
            (
                "/v2/a/blobs/uploads/abc",
                Some(Route::Upload(name("a"), "abc".into())),
            ),
            (
                "/v2/a/blobs/sha256:00",
                Some(Route::Blob(name("a"), "sha256:00".into())),
            ),
            ("/v2/a/tags/list", Some(Route::Tags(name("a")))),
            (
                "/v2/amd64/hello/builds/1.0/log",
                Some(Route::BuildLog(name("amd64/hello"), "1.0".into())),
            ),
            (
                "/v2/a/referrers/d",
                Some(Route::Referrers(name("a"), "d".into())),
            ),
            ("/v1/_ping", Some(Route::Ping)),
            ("/v1/search", Some(Route::Search)),
            ("/token", Some(Route::Token)),
            (
                "/admin/v1/accounts",
                Some(Route::Admin(AdminRoute::Accounts)),
            ),
            (
                "/admin/v1/accounts/robot$ci",
                Some(Route::Admin(AdminRoute::Account("robot$ci".into()))),
            ),
            (
                "/admin/v1/organisations/acme/members/mia",
                Some(Route::Admin(AdminRoute::Member(
                    "acme".into(),
                    "mia".into(),
                ))),
            ),
            (
                "/admin/v1/organisations/acme/tier",
                Some(Route::Admin(AdminRoute::Tier("acme".into()))),
            ),
            (
                "/admin/v1/repositories/acme/team/app/visibility",
                Some(Route::Admin(AdminRoute::Visibility(name("acme/team/app")))),
            ),
            ("/admin/v1/audit", Some(Route::Admin(AdminRoute::Audit))),
            ("/admin/v1/accounts/", None),
            ("/admin/v1/other", None),
            (
                "/v2/repositories/library/python/",
                Some(Route::HubRepository(name("library/python"))),
            ),
            (
                "/v2/repositories/acme/tools/cli",
                Some(Route::HubRepository(name("acme/tools/cli"))),
            ),
            (
                "/v2/repositories/library/python/tags/",
                Some(Route::HubTags(name("library/python"))),
            ),
            (
                "/v2/repositories/a/b/tags",
                Some(Route::HubTags(name("a/b"))),
            ),
            (
                "/v2/repositories/a/tags/",
                Some(Route::HubRepository(name("a/tags"))),
            ),
            (
                "/v2/repositories/library/python/tags/3.12/",
                Some(Route::HubTag(name("library/python"), "3.12".into())),
            ),
            (
                "/v2/repositories/a/b/tags/latest",
                Some(Route::HubTag(name("a/b"), "latest".into())),
            ),
            // A tag called `list` is the distribution tag list of `repositories/a/b`.
            (
                "/v2/repositories/a/b/tags/list",
                Some(Route::Tags(name("repositories/a/b"))),
            ),
            (
                "/v2/repositories/library/python/stars/",
                Some(Route::HubStars(name("library/python"))),
            ),
            (
                "/v2/repositories/a/stars/",
                Some(Route::HubRepository(name("a/stars"))),
            ),
            (
                "/v2/repositories/library/",
                Some(Route::HubNamespace("library".into())),
            ),
            (
                "/v2/repositories/acme",
                Some(Route::HubNamespace("acme".into())),
            ),
            ("/v2/repositories/", None),
            // Distribution endpoints win: these are the repository `repositories/…`.
            (
                "/v2/repositories/tags/list",
                Some(Route::Tags(name("repositories"))),
            ),
            (
                "/v2/repositories/a/manifests/latest",
                Some(Route::Manifest(name("repositories/a"), "latest".into())),
            ),
            (
                "/v2/repositories/a/b/blobs/uploads/",
                Some(Route::Uploads(name("repositories/a/b"))),
            ),
            ("/v2/manifests/x", None),
            ("/v2/a/b", None),
            ("/metrics", None),
        ];
        for (path, expected) in cases {
            assert_eq!(Route::parse(path).unwrap(), expected, "{path}");
        }
    }

    #[test]
    fn a_bad_name_on_a_known_endpoint_is_name_invalid() {
        let error = Route::parse("/v2/Upper/manifests/x").unwrap_err();
        assert_eq!(error.code(), oci::ErrorCode::NameInvalid);
    }
}
