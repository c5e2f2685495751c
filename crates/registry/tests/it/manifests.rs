//! Manifest pushes, pulls, negotiation, validation and deletes.

use axum::body::Body;
use axum::http::Method;
use registry::RegistryConfig;

use crate::{image_manifest, sha256, App, OCI_INDEX, OCI_MANIFEST};

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

fn index(children: &[(&str, &oci::Digest)]) -> Vec<u8> {
    let manifests: Vec<_> = children
        .iter()
        .map(|(media_type, digest)| serde_json::json!({"mediaType": media_type, "digest": digest, "size": 1}))
        .collect();
    serde_json::to_vec(
        &serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
    )
    .unwrap()
}

/// The same manifest with another `mediaType`.
fn with_media_type(payload: &[u8], media_type: &str) -> Vec<u8> {
    let mut manifest: serde_json::Value = serde_json::from_slice(payload).unwrap();
    manifest["mediaType"] = media_type.into();
    serde_json::to_vec(&manifest).unwrap()
}

#[tokio::test]
async fn pulls_by_tag_and_digest_return_the_exact_bytes() {
    let app = App::new().await;
    let (payload, digest) = app.push_image("team/app", "v1", "a").await;
    for reference in ["v1", digest.as_str()] {
        let reply = app
            .get(&format!("/v2/team/app/manifests/{reference}"))
            .await;
        reply.expect(200, None);
        assert_eq!(reply.body, payload);
        assert_eq!(reply.header("content-type"), Some(OCI_MANIFEST));
        assert_eq!(reply.header("docker-content-digest"), Some(digest.as_str()));
        let head = app
            .head(&format!("/v2/team/app/manifests/{reference}"))
            .await;
        head.expect(200, None);
        assert!(head.body.is_empty());
        assert_eq!(
            head.header("content-length"),
            Some(payload.len().to_string().as_str())
        );
        assert_eq!(head.header("docker-content-digest"), Some(digest.as_str()));
    }
}

#[tokio::test]
async fn the_push_reply_names_the_manifest() {
    let app = App::new().await;
    let config = app.push_blob("p", b"{}").await;
    let payload = image_manifest(&config, &[], None, None);
    let digest = sha256(&payload);
    let reply = app
        .push_manifest("p", "latest", OCI_MANIFEST, &payload)
        .await;
    reply.expect(201, None);
    let location = format!("/v2/p/manifests/{digest}");
    assert_eq!(reply.header("location"), Some(location.as_str()));
    assert_eq!(reply.header("docker-content-digest"), Some(digest.as_str()));
    assert_eq!(reply.header("oci-subject"), None);
    // By digest, the digest must be the payload's.
    app.push_manifest("p", digest.as_str(), OCI_MANIFEST, &payload)
        .await
        .expect(201, None);
    let wrong = sha256(b"not it");
    app.push_manifest("p", wrong.as_str(), OCI_MANIFEST, &payload)
        .await
        .expect(400, Some("DIGEST_INVALID"));
}

#[tokio::test]
async fn accept_negotiation_never_rewrites_a_manifest() {
    let app = App::new().await;
    let (payload, _) = app.push_image("n", "v1", "n").await;
    let path = "/v2/n/manifests/v1";
    for accept in [
        OCI_MANIFEST,
        "*/*",
        "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json;q=0.9",
    ] {
        let reply = app.send(Method::GET, path, &[("accept", accept)], Body::empty()).await;
        reply.expect(200, None);
        assert_eq!(reply.body, payload);
    }
    app.send(
        Method::GET,
        path,
        &[("accept", DOCKER_MANIFEST)],
        Body::empty(),
    )
    .await
    .expect(404, Some("MANIFEST_UNKNOWN"));
}

#[tokio::test]
async fn invalid_manifests_are_refused_with_their_codes() {
    let app = App::new().await;
    let config = app.push_blob("v", b"{}").await;
    let missing = sha256(b"never pushed");
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (b"blablabla".to_vec(), OCI_MANIFEST, 400, "MANIFEST_INVALID"),
        (
            br#"{"schemaVersion":1}"#.to_vec(),
            OCI_MANIFEST,
            400,
            "MANIFEST_INVALID",
        ),
        (
            image_manifest(&config, &[], None, None),
            OCI_INDEX,
            400,
            "MANIFEST_INVALID",
        ),
        (
            image_manifest(&config, &[], None, None),
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            400,
            "MANIFEST_INVALID",
        ),
        (
            image_manifest(&config, &[&missing], None, None),
            OCI_MANIFEST,
            400,
            "MANIFEST_BLOB_UNKNOWN",
        ),
        (
            image_manifest(&missing, &[], None, None),
            OCI_MANIFEST,
            400,
            "MANIFEST_BLOB_UNKNOWN",
        ),
        (
            index(&[(OCI_MANIFEST, &missing)]),
            OCI_INDEX,
            400,
            "MANIFEST_BLOB_UNKNOWN",
        ),
    ];
    for (payload, media_type, status, code) in cases {
        app.push_manifest("v", "t", media_type, &payload)
            .await
            .expect(status, Some(code));
    }
    app.push_manifest(
        "v",
        ".bad-tag",
        OCI_MANIFEST,
        &image_manifest(&config, &[], None, None),
    )
    .await
    .expect(400, Some("TAG_INVALID"));
    app.get("/v2/v/manifests/t")
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
}

#[tokio::test]
async fn manifests_over_the_size_limit_are_refused() {
    let config = RegistryConfig {
        max_manifest_bytes: 100,
        ..RegistryConfig::default()
    };
    let app = App::with_config(config).await;
    let blob = app.push_blob("big", b"{}").await;
    let payload = image_manifest(&blob, &[], None, None);
    assert!(payload.len() > 100);
    app.push_manifest("big", "t", OCI_MANIFEST, &payload)
        .await
        .expect(400, Some("MANIFEST_INVALID"));
}

#[tokio::test]
async fn indexes_docker_types_and_manifests_without_layers() {
    let app = App::new().await;
    let config = app.push_blob("i", b"{}").await;
    // An image with no layers, and no mediaType in its body: the Content-Type names it.
    let bare = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": []
    }))
    .unwrap();
    app.push_manifest("i", "bare", OCI_MANIFEST, &bare)
        .await
        .expect(201, None);
    // A Docker schema 2 manifest keeps its type.
    let docker = with_media_type(&bare, DOCKER_MANIFEST);
    app.push_manifest("i", "docker", DOCKER_MANIFEST, &docker)
        .await
        .expect(201, None);
    let reply = app.get("/v2/i/manifests/docker").await;
    assert_eq!(reply.header("content-type"), Some(DOCKER_MANIFEST));
    // An index over both, and a Docker manifest list.
    let children = [
        (OCI_MANIFEST, &sha256(&bare)),
        (DOCKER_MANIFEST, &sha256(&docker)),
    ];
    let oci_index = index(&children);
    app.push_manifest("i", "multi", OCI_INDEX, &oci_index)
        .await
        .expect(201, None);
    let list = with_media_type(&oci_index, DOCKER_LIST);
    app.push_manifest("i", "list", DOCKER_LIST, &list)
        .await
        .expect(201, None);
    assert_eq!(
        app.get("/v2/i/manifests/list").await.header("content-type"),
        Some(DOCKER_LIST)
    );
    // A listed child cannot go while an index holds it.
    let child = format!("/v2/i/manifests/{}", sha256(&bare));
    app.delete(&child).await.expect(403, Some("DENIED"));
}

#[tokio::test]
async fn a_subject_is_echoed_in_oci_subject() {
    let app = App::new().await;
    let (_, subject) = app.push_image("s", "v1", "s").await;
    let empty = app.push_blob("s", b"{}").await;
    let payload = image_manifest(&empty, &[], Some("application/x-sig"), Some(&subject));
    let reply = app
        .push_manifest("s", sha256(&payload).as_str(), OCI_MANIFEST, &payload)
        .await;
    reply.expect(201, None);
    assert_eq!(reply.header("oci-subject"), Some(subject.as_str()));
}

#[tokio::test]
async fn unknown_and_invalid_references_are_404_on_pull() {
    let app = App::new().await;
    app.push_image("u", "v1", "u").await;
    for reference in ["missing", ".INVALID_MANIFEST_NAME", sha256(b"x").as_str()] {
        app.get(&format!("/v2/u/manifests/{reference}"))
            .await
            .expect(404, Some("MANIFEST_UNKNOWN"));
    }
    app.get("/v2/u/manifests/sha256:totallywrong")
        .await
        .expect(400, Some("DIGEST_INVALID"));
}

#[tokio::test]
async fn deletes_by_tag_and_by_digest() {
    let app = App::new().await;
    let (_, digest) = app.push_image("del", "v1", "d").await;
    app.push_manifest(
        "del",
        "v2",
        OCI_MANIFEST,
        &app.get("/v2/del/manifests/v1").await.body,
    )
    .await
    .expect(201, None);
    // A tag goes alone; the manifest stays under its digest and other tags.
    app.delete("/v2/del/manifests/v1").await.expect(202, None);
    app.get("/v2/del/manifests/v1")
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
    app.get("/v2/del/manifests/v2").await.expect(200, None);
    // The digest takes the manifest and its remaining tags, at once.
    let path = format!("/v2/del/manifests/{digest}");
    app.delete(&path).await.expect(202, None);
    app.get(&path).await.expect(404, Some("MANIFEST_UNKNOWN"));
    app.get("/v2/del/manifests/v2")
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
    app.delete(&path)
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
}
