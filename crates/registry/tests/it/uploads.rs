//! Upload sessions: chunked, streamed, status, cancel, digest checks and mounts.

use axum::body::Body;
use axum::http::Method;
use oci::{Digest, DigestAlgorithm};
use registry::RegistryConfig;

use crate::{sha256, App, Reply};

/// Starts an upload in `name` and returns its location.
async fn start(app: &App, name: &str) -> String {
    let reply = app.post(&format!("/v2/{name}/blobs/uploads/")).await;
    reply.expect(202, None);
    assert_eq!(reply.header("range"), Some("0-0"));
    assert!(reply.header("docker-upload-uuid").is_some());
    reply.location().to_owned()
}

async fn patch(app: &App, location: &str, range: Option<&str>, chunk: &[u8]) -> Reply {
    let length = chunk.len().to_string();
    let mut headers = vec![
        ("content-type", "application/octet-stream"),
        ("content-length", length.as_str()),
    ];
    if let Some(range) = range {
        headers.push(("content-range", range));
    }
    app.send(Method::PATCH, location, &headers, chunk.to_vec())
        .await
}

async fn finish(app: &App, location: &str, digest: &Digest, body: &[u8]) -> Reply {
    let uri = format!("{location}?digest={digest}");
    app.send(Method::PUT, &uri, &[], body.to_vec()).await
}

#[tokio::test]
async fn chunked_upload_with_status_and_an_out_of_order_chunk() {
    let app = App::new().await;
    let location = start(&app, "c/d").await;
    assert!(location.starts_with("/v2/c/d/blobs/uploads/"));
    let reply = patch(&app, &location, Some("0-3"), b"abcd").await;
    reply.expect(202, None);
    assert_eq!(reply.header("range"), Some("0-3"));
    assert_eq!(reply.header("location"), Some(location.as_str()));

    // A chunk that does not start where the upload stands is refused, saying where it does.
    let reply = patch(&app, &location, Some("6-7"), b"gh").await;
    reply.expect(416, Some("RANGE_INVALID"));
    assert_eq!(reply.header("range"), Some("0-3"));
    assert_eq!(reply.header("location"), Some(location.as_str()));
    // So is a chunk whose length disagrees with its range.
    patch(&app, &location, Some("4-9"), b"ef")
        .await
        .expect(416, None);

    let status = app.get(&location).await;
    status.expect(204, None);
    assert_eq!(status.header("range"), Some("0-3"));

    let content = b"abcdefgh";
    let reply = app
        .send(
            Method::PUT,
            &format!("{location}?digest={}", sha256(content)),
            &[("content-range", "4-7"), ("content-length", "4")],
            b"efgh".to_vec(),
        )
        .await;
    reply.expect(201, None);
    let blob = format!("/v2/c/d/blobs/{}", sha256(content));
    assert_eq!(reply.header("location"), Some(blob.as_str()));
    assert_eq!(app.get(&blob).await.body, content);
    // The session is gone once published.
    app.get(&location)
        .await
        .expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
}

#[tokio::test]
async fn streamed_patches_then_an_empty_put() {
    let app = App::new().await;
    let location = start(&app, "s").await;
    patch(&app, &location, None, b"stream ")
        .await
        .expect(202, None);
    let reply = patch(&app, &location, None, b"me").await;
    reply.expect(202, None);
    assert_eq!(reply.header("range"), Some("0-8"));
    let digest = sha256(b"stream me");
    finish(&app, &location, &digest, b"")
        .await
        .expect(201, None);
    assert_eq!(
        app.get(&format!("/v2/s/blobs/{digest}")).await.body,
        b"stream me"
    );
}

#[tokio::test]
async fn post_then_put_is_a_monolithic_upload() {
    let app = App::new().await;
    let location = start(&app, "m").await;
    let digest = sha256(b"whole");
    finish(&app, &location, &digest, b"whole")
        .await
        .expect(201, None);
    app.get(&format!("/v2/m/blobs/{digest}"))
        .await
        .expect(200, None);
}

#[tokio::test]
async fn a_wrong_digest_leaves_the_upload_to_finish_rightly() {
    let app = App::new().await;
    let location = start(&app, "w").await;
    patch(&app, &location, None, b"data")
        .await
        .expect(202, None);
    finish(&app, &location, &sha256(b"other"), b"")
        .await
        .expect(400, Some("DIGEST_INVALID"));
    finish(&app, &location, &sha256(b"data"), b"")
        .await
        .expect(201, None);
    // Finishing needs a digest at all.
    let location = start(&app, "w").await;
    app.send(Method::PUT, &location, &[], Body::empty())
        .await
        .expect(400, Some("DIGEST_INVALID"));
}

#[tokio::test]
async fn sha512_chunked_upload() {
    let app = App::new().await;
    let location = start(&app, "five12").await;
    patch(&app, &location, Some("0-2"), b"abc")
        .await
        .expect(202, None);
    let digest = Digest::of(DigestAlgorithm::Sha512, b"abcdef");
    finish(&app, &location, &digest, b"def")
        .await
        .expect(201, None);
    let reply = app.get(&format!("/v2/five12/blobs/{digest}")).await;
    assert_eq!(reply.body, b"abcdef");
}

#[tokio::test]
async fn cancel_and_foreign_or_bogus_sessions_are_unknown() {
    let app = App::new().await;
    let location = start(&app, "x").await;
    patch(&app, &location, None, b"abc").await.expect(202, None);
    // Another repository's URL does not reach this session.
    let id = location.rsplit('/').next().unwrap();
    app.get(&format!("/v2/y/blobs/uploads/{id}"))
        .await
        .expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    app.get("/v2/x/blobs/uploads/not..an..id")
        .await
        .expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    let reply = app.delete(&location).await;
    reply.expect(204, None);
    app.get(&location)
        .await
        .expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    patch(&app, &location, None, b"more")
        .await
        .expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
    app.delete(&location)
        .await
        .expect(404, Some("BLOB_UPLOAD_UNKNOWN"));
}

#[tokio::test]
async fn mounts_from_a_named_repository_or_automatically() {
    let app = App::new().await;
    let digest = app.push_blob("source", b"shared layer").await;
    // From a repository that has it: 201 and the blob is there at once.
    let reply = app
        .post(&format!(
            "/v2/target/blobs/uploads/?mount={digest}&from=source"
        ))
        .await;
    reply.expect(201, None);
    let blob = format!("/v2/target/blobs/{digest}");
    assert_eq!(reply.header("location"), Some(blob.as_str()));
    app.get(&blob).await.expect(200, None);
    // From a repository that lacks it: an upload session instead.
    let reply = app
        .post(&format!(
            "/v2/third/blobs/uploads/?mount={digest}&from=nowhere"
        ))
        .await;
    reply.expect(202, None);
    assert!(reply.location().starts_with("/v2/third/blobs/uploads/"));
    // Without from, a blob anyone has is mounted; an unknown one starts a session.
    let auto = format!("/v2/fourth/blobs/uploads/?mount={digest}");
    app.post(&auto).await.expect(201, None);
    let unknown = format!("/v2/fourth/blobs/uploads/?mount={}", sha256(b"nobody"));
    app.post(&unknown).await.expect(202, None);
}

#[tokio::test]
async fn automatic_mounts_can_be_turned_off() {
    let config = RegistryConfig {
        automatic_mount: false,
        ..RegistryConfig::default()
    };
    let app = App::with_config(config).await;
    let digest = app.push_blob("source", b"layer").await;
    let auto = format!("/v2/other/blobs/uploads/?mount={digest}");
    app.post(&auto).await.expect(202, None);
}
