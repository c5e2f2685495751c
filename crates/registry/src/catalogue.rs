//! The catalogue's vocabulary, as Docker Hub's APIs spell it: names as search shows them,
//! numbered pages, times, and the platform images a tag stands for. Pure functions over
//! stored data; the services in `service::search` and `service::hub` do the I/O.

use oci::manifest::{ImageIndex, Platform};
use oci::{Digest, ErrorCode, OFFICIAL_NAMESPACE};

use crate::error::{RegistryError, Result};
use crate::service::Query;

/// The name search results give a repository: official images without `library/`, as Hub
/// names them (`docker search` prints it, and `docker pull HOST/<it>` finds the repository).
pub(crate) fn search_name(stored: &str) -> &str {
    stored
        .strip_prefix(OFFICIAL_NAMESPACE)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(stored)
}

/// A stored name as Hub's `namespace` and `name`: split at the first `/`.
pub(crate) fn namespace_and_name(stored: &str) -> (&str, &str) {
    stored.split_once('/').unwrap_or(("", stored))
}

/// A numbered page: 1-based `page`, and `size` items per page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumberedPage {
    pub(crate) page: u32,
    pub(crate) size: u32,
}

impl NumberedPage {
    /// Reads `page` and the size parameter `size_key` from the query: a missing or zero value
    /// takes the default, a size above `max` is cut to it, and text that is no number is the
    /// client's error.
    pub(crate) fn from_query(
        query: &Query,
        size_key: &str,
        default_size: u32,
        max: u32,
    ) -> Result<Self> {
        let number = |key: &str| {
            query
                .get(key)
                .map(|value| {
                    value.parse::<u32>().map_err(|_| {
                        RegistryError::new(
                            ErrorCode::PaginationNumberInvalid,
                            format!("{key}={value} is not a count: use a whole number"),
                        )
                    })
                })
                .transpose()
                .map(|n| n.filter(|n| *n > 0))
        };
        Ok(Self {
            page: number("page")?.unwrap_or(1),
            size: number(size_key)?.unwrap_or(default_size).min(max),
        })
    }

    /// The store's view of this page.
    pub(crate) fn offset(self) -> store::OffsetPage {
        store::OffsetPage {
            offset: u64::from(self.page - 1) * u64::from(self.size),
            limit: self.size,
        }
    }

    /// How many pages `total` items fill.
    pub(crate) fn count(self, total: u64) -> u64 {
        total.div_ceil(u64::from(self.size))
    }
}

/// Unix milliseconds as RFC 3339 UTC with microseconds, the form Hub writes times in
/// (`2024-05-01T12:00:00.000000Z`).
pub(crate) fn rfc3339(ms: i64) -> String {
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day number.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let (hours, minutes) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (seconds, millis) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{seconds:02}.{millis:03}000Z")
}

/// One entry of an index, as far as tag listings need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub(crate) digest: Digest,
    /// The descriptor's platform; `None` when it gives none, so the image config must.
    pub(crate) platform: Option<Platform>,
}

/// The platform images an index lists. Entries that are not runnable images are left out, as
/// Hub leaves them out: BuildKit's attestation manifests (`vnd.docker.reference.type`) and
/// anything whose platform is `unknown/unknown`.
pub(crate) fn index_entries(payload: &[u8]) -> Vec<IndexEntry> {
    let Ok(index) = serde_json::from_slice::<ImageIndex>(payload) else {
        return Vec::new();
    };
    index
        .manifests
        .into_iter()
        .filter(|entry| !entry.annotations.contains_key("vnd.docker.reference.type"))
        .filter(|entry| {
            entry
                .platform
                .as_ref()
                .is_none_or(|p| p.os != "unknown" || p.architecture != "unknown")
        })
        .map(|entry| IndexEntry {
            digest: entry.digest,
            platform: entry.platform,
        })
        .collect()
}

/// The platform an image config declares (its top-level fields are named as a platform's);
/// empty fields when it is no image config.
pub(crate) fn config_platform(config: &[u8]) -> Platform {
    serde_json::from_slice(config).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_search_and_hub_show_them() {
        assert_eq!(search_name("library/python"), "python");
        assert_eq!(search_name("amd64/python"), "amd64/python");
        assert_eq!(search_name("libraryx/python"), "libraryx/python");
        assert_eq!(namespace_and_name("acme/tools/cli"), ("acme", "tools/cli"));
    }

    #[test]
    fn times_are_rfc3339_utc() {
        let cases = [
            (0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000000Z"),
            (1_714_564_800_123, "2024-05-01T12:00:00.123000Z"),
            (-1, "1969-12-31T23:59:59.999000Z"),
        ];
        for (ms, expected) in cases {
            assert_eq!(rfc3339(ms), expected, "{ms}");
        }
    }

    #[test]
    fn pages_default_cap_and_count() {
        let query = Query::parse(Some("page=3&n=500"));
        let page = NumberedPage::from_query(&query, "n", 25, 100).unwrap();
        assert_eq!(page, NumberedPage { page: 3, size: 100 });
        assert_eq!(page.offset().offset, 200);
        let page = NumberedPage::from_query(&Query::parse(Some("page=0")), "n", 25, 100).unwrap();
        assert_eq!(page, NumberedPage { page: 1, size: 25 });
        assert_eq!((page.count(0), page.count(25), page.count(26)), (0, 1, 2));
        let error = NumberedPage::from_query(&Query::parse(Some("n=ten")), "n", 25, 100);
        assert_eq!(
            error.unwrap_err().code(),
            ErrorCode::PaginationNumberInvalid
        );
    }

    #[test]
    fn index_entries_skip_attestations_and_unknown_platforms() {
        let digest = |n: u8| Digest::of(oci::DigestAlgorithm::Sha256, &[n]);
        let payload = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [
                {"digest": digest(1), "size": 1,
                 "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
                {"digest": digest(2), "size": 1,
                 "platform": {"os": "unknown", "architecture": "unknown"},
                 "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
                {"digest": digest(3), "size": 1},
            ]
        });
        let entries = index_entries(payload.to_string().as_bytes());
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0].platform,
            Some(Platform {
                os: "linux".into(),
                architecture: "arm".into(),
                variant: Some("v7".into()),
                ..Platform::default()
            })
        );
        assert_eq!(
            (entries[1].digest.clone(), entries[1].platform.clone()),
            (digest(3), None)
        );
        let config = br#"{"architecture":"amd64","os":"linux","rootfs":{}}"#;
        assert_eq!(config_platform(config).architecture, "amd64");
        assert_eq!(config_platform(b"not json"), Platform::default());
    }
}
