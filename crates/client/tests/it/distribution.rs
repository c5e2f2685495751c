//! The same calls against Debian's `docker-registry` (distribution 2.8), which has no
//! referrers API: proof the client speaks to another registry, not only to Hallmark.

use client::ClientOptions;
use fixture_cache::Distribution;
use oci::manifest::MediaType;

use crate::server::options;
use crate::{push_image, push_referrer};

/// `name` on `registry`.
fn repository_on(registry: &Distribution, name: &str) -> client::Repository {
    client::Repository::parse(&format!("{}/{name}", registry.address())).unwrap()
}

#[test]
#[ignore = "needs docker-registry"]
fn every_call_works_against_distribution() {
    let registry = Distribution::start();
    let client = client::Client::new(ClientOptions {
        page_size: Some(2),
        ..options(None)
    })
    .unwrap();
    let repo = repository_on(&registry, "library/other");
    let image = push_image(&client, &repo, "1", "distribution");
    for tag in ["2", "3"] {
        client
            .put_manifest(&repo, tag, MediaType::OCI_MANIFEST, &image.manifest)
            .unwrap();
    }
    // distribution 2.8 pages tags in no particular order.
    let mut tags = client.tags(&repo).unwrap();
    tags.sort();
    assert_eq!(tags, ["1", "2", "3"]);

    let fetched = client.manifest(&repo, "1").unwrap();
    assert_eq!(
        (fetched.digest.clone(), fetched.bytes),
        (image.digest.clone(), image.manifest.clone())
    );
    let info = client.manifest_exists(&repo, "2").unwrap().unwrap();
    assert_eq!(
        (info.digest, info.size),
        (image.digest.clone(), image.manifest.len() as u64)
    );
    assert_eq!(client.manifest_exists(&repo, "9").unwrap(), None);
    assert_eq!(
        client.blob(&repo, &image.layer.digest).unwrap().len() as u64,
        image.layer.size
    );
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("config.json");
    assert_eq!(
        client
            .blob_to_file(&repo, &image.config.digest, &path)
            .unwrap(),
        image.config.size
    );

    let copy = repository_on(&registry, "team/copy");
    assert!(client
        .mount_blob(&copy, &image.layer.digest, &repo)
        .unwrap());
    assert!(client.blob_exists(&copy, &image.layer.digest).unwrap());

    // No referrers API: the client keeps and reads the fallback tag.
    let signature = push_referrer(
        &client,
        &repo,
        &image.manifest,
        "application/vnd.example.sig",
    );
    push_referrer(
        &client,
        &repo,
        &image.manifest,
        "application/vnd.example.sbom",
    );
    let found = client
        .referrers(&repo, &image.digest, Some("application/vnd.example.sig"))
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].digest, signature);
    assert_eq!(
        client.referrers(&repo, &image.digest, None).unwrap().len(),
        2
    );
    let fallback = format!("sha256-{}", image.digest.hex());
    assert!(client.tags(&repo).unwrap().contains(&fallback));

    client.delete_manifest(&repo, &signature).unwrap();
    let err = client.manifest(&repo, signature.as_str()).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some(oci::ErrorCode::ManifestUnknown));
}
