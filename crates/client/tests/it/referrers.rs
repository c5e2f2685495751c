//! Referrers through the API, through a registry that ignores filters, and through the
//! fallback tag schema on a registry without the API.

use client::Client;
use oci::manifest::{ImageIndex, MediaType};

use crate::server::{client, Quirk, TestRegistry};
use crate::{push_image, push_referrer};

const SIGNATURE: &str = "application/vnd.example.signature";
const SBOM: &str = "application/vnd.example.sbom";

/// Pushes an image with a signature and an SBOM referring to it, and checks what each
/// listing finds.
fn check_listings(registry: &TestRegistry, client: &Client) {
    let repo = registry.repo("library/signed");
    let image = push_image(client, &repo, "1", "signed");
    let lonely = push_image(client, &repo, "2", "lonely");
    let signature = push_referrer(client, &repo, &image.manifest, SIGNATURE);
    let sbom = push_referrer(client, &repo, &image.manifest, SBOM);

    let mut all: Vec<_> = client
        .referrers(&repo, &image.digest, None)
        .unwrap()
        .into_iter()
        .map(|d| (d.digest, d.artifact_type.unwrap_or_default(), d.media_type))
        .collect();
    all.sort();
    let mut expected = vec![
        (
            signature.clone(),
            SIGNATURE.to_owned(),
            MediaType::OCI_MANIFEST.to_owned(),
        ),
        (
            sbom.clone(),
            SBOM.to_owned(),
            MediaType::OCI_MANIFEST.to_owned(),
        ),
    ];
    expected.sort();
    assert_eq!(all, expected);

    let signatures = client
        .referrers(&repo, &image.digest, Some(SIGNATURE))
        .unwrap();
    assert_eq!(signatures.len(), 1);
    assert_eq!(signatures[0].digest, signature);
    assert!(client
        .referrers(&repo, &image.digest, Some("application/other"))
        .unwrap()
        .is_empty());
    assert!(client
        .referrers(&repo, &lonely.digest, None)
        .unwrap()
        .is_empty());
}

#[test]
fn the_referrers_api_lists_and_filters() {
    let registry = TestRegistry::open(Quirk::None);
    check_listings(&registry, &client(None));
    // Hallmark saw the subjects, so the client kept no fallback tags.
    let tags = client(None).tags(&registry.repo("library/signed")).unwrap();
    assert_eq!(tags, ["1", "2"]);
}

#[test]
fn filters_a_registry_ignores_are_applied_by_the_client() {
    let registry = TestRegistry::open(Quirk::IgnoresFilters);
    check_listings(&registry, &client(None));
}

#[test]
fn without_the_referrers_api_the_fallback_tag_is_kept_and_read() {
    let registry = TestRegistry::open(Quirk::NoReferrersApi);
    let client = client(None);
    check_listings(&registry, &client);

    let repo = registry.repo("library/signed");
    let subject = client.manifest(&repo, "1").unwrap().digest;
    let tag = format!("sha256-{}", subject.hex());
    let mut tags = client.tags(&repo).unwrap();
    tags.sort();
    assert_eq!(tags, ["1", "2", tag.as_str()]);
    let fetched = client.manifest(&repo, &tag).unwrap();
    assert_eq!(fetched.media_type, MediaType::OCI_INDEX);
    let index: ImageIndex = serde_json::from_slice(&fetched.bytes).unwrap();
    assert_eq!(index.manifests.len(), 2);

    // Pushing a referrer again does not list it twice.
    let manifest = client.manifest(&repo, "1").unwrap().bytes;
    push_referrer(&client, &repo, &manifest, SBOM);
    assert_eq!(client.referrers(&repo, &subject, None).unwrap().len(), 2);
}
