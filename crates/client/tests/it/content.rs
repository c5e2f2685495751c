//! Blobs, manifests, tags and their failures against an open Hallmark registry.

use std::io::{Cursor, Read};

use client::{ClientError, ClientOptions};
use oci::manifest::{Descriptor, ImageIndex, Manifest, MediaType, Platform};
use oci::{Digest, DigestAlgorithm, ErrorCode};

use crate::server::{client, options, Quirk, TestRegistry};
use crate::{push_image, Pushed};

fn sha256(content: &[u8]) -> Digest {
    Digest::of(DigestAlgorithm::Sha256, content)
}

/// Content spanning several reads and buffers.
fn big_blob() -> Vec<u8> {
    (0..3 * 1024 * 1024 + 17)
        .map(|i| (i * 7 % 251) as u8)
        .collect()
}

#[test]
fn blobs_round_trip_verified_and_existing_ones_are_not_sent_again() {
    let registry = TestRegistry::open(Quirk::None);
    let client = client(None);
    let repo = registry.repo("team/blobs");
    let content = big_blob();
    let digest = sha256(&content);

    assert!(!client.blob_exists(&repo, &digest).unwrap());
    let uploads = || registry.metric("hallmark_upload_duration_seconds_count");
    assert!(client
        .push_blob(&repo, &digest, content.len() as u64, Cursor::new(&content))
        .unwrap());
    assert!(!client
        .push_blob(&repo, &digest, content.len() as u64, Cursor::new(&content))
        .unwrap());
    assert_eq!(uploads(), 1, "the second push sent the blob again");
    assert!(client.blob_exists(&repo, &digest).unwrap());

    assert!(client.blob(&repo, &digest).unwrap() == content);
    let mut reader = client.blob_reader(&repo, &digest).unwrap();
    assert_eq!(reader.content_length(), Some(content.len() as u64));
    let mut streamed = Vec::new();
    reader.read_to_end(&mut streamed).unwrap();
    assert!(streamed == content);

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("blob");
    let size = client.blob_to_file(&repo, &digest, &path).unwrap();
    assert_eq!(size, content.len() as u64);
    assert!(std::fs::read(&path).unwrap() == content);

    let small = client
        .push_blob_bytes(&repo, MediaType::OCI_CONFIG, b"{\"os\":\"linux\"}")
        .unwrap();
    assert_eq!(small.size, 14);
    assert_eq!(small.media_type, MediaType::OCI_CONFIG);
    assert_eq!(
        client.blob(&repo, &small.digest).unwrap(),
        b"{\"os\":\"linux\"}"
    );
}

#[test]
fn a_blob_the_registry_refuses_and_one_it_lacks_are_typed_errors() {
    let registry = TestRegistry::open(Quirk::None);
    let client = client(None);
    let repo = registry.repo("team/errors");
    let claimed = sha256(b"what was promised");
    let err = client
        .push_blob(&repo, &claimed, 13, Cursor::new(&b"something else"[..13]))
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::DigestInvalid), "{err}");

    let err = client.blob(&repo, &claimed).unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some(ErrorCode::BlobUnknown));
    assert!(
        err.to_string()
            .starts_with(&format!("{} answered 404 BLOB_UNKNOWN:", registry.address)),
        "{err}"
    );
}

#[test]
fn a_blob_corrupted_on_the_registrys_disk_is_never_accepted() {
    let registry = TestRegistry::open(Quirk::None);
    let client = client(None);
    let repo = registry.repo("team/rot");
    let content = big_blob();
    let digest = sha256(&content);
    client
        .push_blob(&repo, &digest, content.len() as u64, Cursor::new(&content))
        .unwrap();
    let file = registry.blob_file(&digest);
    let mut rotten = std::fs::read(&file).unwrap();
    rotten[1_000_000] ^= 0x20;
    std::fs::write(&file, &rotten).unwrap();

    let mismatch = |err: ClientError| match err {
        ClientError::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, digest);
            assert_eq!(actual, sha256(&rotten));
        }
        other => panic!("expected a digest mismatch, got {other}"),
    };
    mismatch(client.blob(&repo, &digest).unwrap_err());

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("layer");
    mismatch(client.blob_to_file(&repo, &digest, &path).unwrap_err());
    assert!(!path.exists(), "a corrupt blob reached its file");
    assert_eq!(std::fs::read_dir(folder.path()).unwrap().count(), 0);

    let mut reader = client.blob_reader(&repo, &digest).unwrap();
    let err = reader.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    assert!(
        err.to_string().contains("does not match its digest"),
        "{err}"
    );
}

#[test]
fn manifests_by_tag_and_digest_with_head_put_and_delete() {
    let registry = TestRegistry::open(Quirk::None);
    let client = client(None);
    let repo = registry.repo("library/app");
    let Pushed {
        digest,
        manifest,
        layer,
        ..
    } = push_image(&client, &repo, "1.0", "one");

    for reference in ["1.0", digest.as_str()] {
        let fetched = client.manifest(&repo, reference).unwrap();
        assert_eq!(fetched.digest, digest, "{reference}");
        assert_eq!(fetched.media_type, MediaType::OCI_MANIFEST);
        assert_eq!(fetched.bytes, manifest);
        let Manifest::Image(image) = fetched.parse().unwrap() else {
            panic!("{reference} is not an image manifest");
        };
        assert_eq!(image.layers, std::slice::from_ref(&layer));

        let info = client.manifest_exists(&repo, reference).unwrap().unwrap();
        assert_eq!(
            (info.digest, info.media_type.as_str(), info.size),
            (
                digest.clone(),
                MediaType::OCI_MANIFEST,
                manifest.len() as u64
            )
        );
    }
    assert_eq!(client.manifest_exists(&repo, "2.0").unwrap(), None);

    // Pushing by the manifest's own digest works; by another digest is refused before sending.
    assert_eq!(
        client
            .put_manifest(&repo, digest.as_str(), MediaType::OCI_MANIFEST, &manifest)
            .unwrap(),
        digest
    );
    let other = sha256(b"other");
    let err = client
        .put_manifest(&repo, other.as_str(), MediaType::OCI_MANIFEST, &manifest)
        .unwrap_err();
    assert!(matches!(err, ClientError::WrongDigest { .. }), "{err}");

    client.delete_manifest(&repo, &digest).unwrap();
    let err = client.manifest(&repo, "1.0").unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some(ErrorCode::ManifestUnknown));
    assert_eq!(
        client.manifest_exists(&repo, digest.as_str()).unwrap(),
        None
    );
}

#[test]
fn docker_manifests_and_lists_keep_their_media_types() {
    let registry = TestRegistry::open(Quirk::None);
    let client = client(None);
    let repo = registry.repo("library/multi");
    let image = push_image(&client, &repo, "amd64", "amd64");
    // The same image as a Docker schema 2 manifest: same fields, Docker's types.
    let mut docker: serde_json::Value = serde_json::from_slice(&image.manifest).unwrap();
    docker["mediaType"] = MediaType::DOCKER_MANIFEST.into();
    let docker = serde_json::to_vec(&docker).unwrap();
    let docker_digest = client
        .put_manifest(&repo, "docker", MediaType::DOCKER_MANIFEST, &docker)
        .unwrap();

    let entry = |bytes: &[u8], media_type: &str, architecture: &str| Descriptor {
        platform: Some(Platform {
            architecture: architecture.into(),
            os: "linux".into(),
            ..Platform::default()
        }),
        ..Descriptor::of(media_type, bytes)
    };
    let list = ImageIndex {
        schema_version: 2,
        media_type: Some(MediaType::DOCKER_MANIFEST_LIST.into()),
        artifact_type: None,
        manifests: vec![
            entry(&image.manifest, MediaType::OCI_MANIFEST, "amd64"),
            entry(&docker, MediaType::DOCKER_MANIFEST, "arm64"),
        ],
        subject: None,
        annotations: Default::default(),
        extra: Default::default(),
    };
    let list = serde_json::to_vec(&list).unwrap();
    let list_digest = client
        .put_manifest(&repo, "latest", MediaType::DOCKER_MANIFEST_LIST, &list)
        .unwrap();

    let fetched = client.manifest(&repo, "docker").unwrap();
    assert_eq!(
        (fetched.digest, fetched.media_type.as_str()),
        (docker_digest.clone(), MediaType::DOCKER_MANIFEST)
    );
    let fetched = client.manifest(&repo, "latest").unwrap();
    assert_eq!(fetched.digest, list_digest);
    assert_eq!(fetched.media_type, MediaType::DOCKER_MANIFEST_LIST);
    let Manifest::Index(index) = fetched.parse().unwrap() else {
        panic!("the list is not an index");
    };
    let arm64: Vec<_> = index
        .entries_for(&oci::Architecture::Arm64v8.platform())
        .collect();
    assert!(arm64.is_empty(), "arm64 without v8 is not arm64v8");
    assert_eq!(index.manifests[1].digest, docker_digest);
}

#[test]
fn mounts_link_blobs_across_repositories_and_refusals_cancel_their_upload() {
    let registry = TestRegistry::open(Quirk::None);
    let client = client(None);
    let (source, target) = (registry.repo("team/source"), registry.repo("team/target"));
    let blob = client
        .push_blob_bytes(&source, MediaType::OCI_LAYER, b"shared layer")
        .unwrap();
    assert!(!client.blob_exists(&target, &blob.digest).unwrap());
    assert!(client.mount_blob(&target, &blob.digest, &source).unwrap());
    assert!(client.blob_exists(&target, &blob.digest).unwrap());
    assert_eq!(client.blob(&target, &blob.digest).unwrap(), b"shared layer");

    let unknown = sha256(b"never pushed");
    assert!(!client.mount_blob(&target, &unknown, &source).unwrap());
    let cancelled =
        "hallmark_http_requests_total{route=\"upload\",method=\"DELETE\",status=\"204\"}";
    assert_eq!(
        registry.metric(cancelled),
        1,
        "the opened upload was left behind"
    );
}

#[test]
fn tags_follow_link_pages_to_the_end() {
    let registry = TestRegistry::open(Quirk::None);
    let repo = registry.repo("library/paged");
    let plain = client(None);
    let image = push_image(&plain, &repo, "a", "paged");
    for tag in ["b", "c", "d", "e"] {
        plain
            .put_manifest(&repo, tag, MediaType::OCI_MANIFEST, &image.manifest)
            .unwrap();
    }
    let pages = || {
        registry
            .metric("hallmark_http_requests_total{route=\"tags\",method=\"GET\",status=\"200\"}")
    };
    assert_eq!(plain.tags(&repo).unwrap(), ["a", "b", "c", "d", "e"]);
    assert_eq!(pages(), 1);
    let paged = client::Client::new(ClientOptions {
        page_size: Some(2),
        ..options(None)
    })
    .unwrap();
    assert_eq!(paged.tags(&repo).unwrap(), ["a", "b", "c", "d", "e"]);
    assert_eq!(pages(), 1 + 3, "5 tags in pages of 2 take 3 requests");
    let err = paged.tags(&registry.repo("library/none")).unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NameUnknown), "{err}");
}

#[test]
fn a_registry_that_lies_about_content_is_caught() {
    let registry = TestRegistry::open(Quirk::Lies);
    let client = client(None);
    let repo = registry.repo("library/liar");
    let image = push_image(&client, &repo, "v1", "liar");
    for reference in ["v1", image.digest.as_str()] {
        let err = client.manifest(&repo, reference).unwrap_err();
        let ClientError::DigestMismatch {
            expected, actual, ..
        } = err
        else {
            panic!("{reference}: expected a digest mismatch, got {err}");
        };
        assert_eq!(expected, image.digest);
        let mut served = image.manifest.clone();
        served.push(b' ');
        assert_eq!(actual, sha256(&served));
    }
    let err = client.blob(&repo, &image.layer.digest).unwrap_err();
    assert!(matches!(err, ClientError::DigestMismatch { .. }), "{err}");
}

#[test]
fn an_unreachable_registry_says_so() {
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let repo = client::Repository::parse(&format!("{address}/library/gone")).unwrap();
    let err = client(None).manifest(&repo, "latest").unwrap_err();
    let ClientError::GaveUp {
        attempts, source, ..
    } = &err
    else {
        panic!("a refused connection is retried, then given up: {err}");
    };
    assert_eq!(*attempts, 4);
    assert!(matches!(**source, ClientError::Transport { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot reach http://{address}/v2/library/gone/manifests/latest"
        )) && text.ends_with("(gave up after 4 attempts)"),
        "{err}"
    );
}
