//! Blob pulls (whole, ranged, HEAD), deletes and repository scoping.

use axum::body::Body;
use axum::http::Method;
use oci::{Digest, DigestAlgorithm};

use crate::App;

#[tokio::test]
async fn get_and_head_serve_the_blob_with_its_digest() {
    let app = App::new().await;
    let digest = app.push_blob("a/b", b"hello blob").await;
    let reply = app.get(&format!("/v2/a/b/blobs/{digest}")).await;
    reply.expect(200, None);
    assert_eq!(reply.body, b"hello blob");
    assert_eq!(reply.header("docker-content-digest"), Some(digest.as_str()));
    assert_eq!(reply.header("content-length"), Some("10"));
    let head = app.head(&format!("/v2/a/b/blobs/{digest}")).await;
    head.expect(200, None);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some("10"));
    assert_eq!(head.header("docker-content-digest"), Some(digest.as_str()));
}

#[tokio::test]
async fn ranges_are_206_and_unsatisfiable_ranges_416() {
    let app = App::new().await;
    let digest = app.push_blob("r", b"0123456789").await;
    let path = format!("/v2/r/blobs/{digest}");
    let cases = [
        ("bytes=2-4", "234", "bytes 2-4/10"),
        ("bytes=7-", "789", "bytes 7-9/10"),
        ("bytes=-2", "89", "bytes 8-9/10"),
        ("bytes=8-100", "89", "bytes 8-9/10"),
    ];
    for (range, body, content_range) in cases {
        let reply = app
            .send(Method::GET, &path, &[("range", range)], Body::empty())
            .await;
        reply.expect(206, None);
        assert_eq!(reply.body, body.as_bytes(), "{range}");
        assert_eq!(
            reply.header("content-range"),
            Some(content_range),
            "{range}"
        );
    }
    for range in ["bytes=10-12", "bytes=5-2", "bytes=x-y", "bytes=-0"] {
        let reply = app
            .send(Method::GET, &path, &[("range", range)], Body::empty())
            .await;
        reply.expect(416, Some("RANGE_INVALID"));
        assert_eq!(reply.header("content-range"), Some("bytes */10"), "{range}");
    }
    // A unit other than bytes may be ignored.
    let reply = app
        .send(Method::GET, &path, &[("range", "pages=1-2")], Body::empty())
        .await;
    reply.expect(200, None);
}

#[tokio::test]
async fn large_blobs_stream_through_whole() {
    let app = App::new().await;
    let content: Vec<u8> = (0..3 * 1024 * 1024 + 17).map(|i| (i % 251) as u8).collect();
    let digest = app.push_blob("big", &content).await;
    let reply = app.get(&format!("/v2/big/blobs/{digest}")).await;
    reply.expect(200, None);
    assert!(reply.body == content, "the blob came back changed");
}

#[tokio::test]
async fn blobs_belong_to_the_repositories_they_were_pushed_to() {
    let app = App::new().await;
    let digest = app.push_blob("python", b"official").await;
    // A single-segment name is the library/ repository.
    app.get(&format!("/v2/library/python/blobs/{digest}"))
        .await
        .expect(200, None);
    app.get(&format!("/v2/other/blobs/{digest}"))
        .await
        .expect(404, Some("BLOB_UNKNOWN"));
}

#[tokio::test]
async fn delete_removes_the_blob_from_the_repository_at_once() {
    let app = App::new().await;
    let digest = app.push_blob("d", b"doomed").await;
    let path = format!("/v2/d/blobs/{digest}");
    let reply = app.delete(&path).await;
    reply.expect(202, None);
    app.get(&path).await.expect(404, Some("BLOB_UNKNOWN"));
    app.delete(&path).await.expect(404, Some("BLOB_UNKNOWN"));
}

#[tokio::test]
async fn sha512_blobs_push_and_pull() {
    let app = App::new().await;
    let content = b"five hundred and twelve";
    let digest = Digest::of(DigestAlgorithm::Sha512, content);
    app.send(
        Method::POST,
        &format!("/v2/s/blobs/uploads/?digest={digest}"),
        &[],
        content.to_vec(),
    )
    .await
    .expect(201, None);
    let reply = app.get(&format!("/v2/s/blobs/{digest}")).await;
    reply.expect(200, None);
    assert_eq!(reply.body, content);
}

#[tokio::test]
async fn a_monolithic_push_with_the_wrong_digest_stores_nothing() {
    let app = App::new().await;
    let claimed = crate::sha256(b"something else");
    app.send(
        Method::POST,
        &format!("/v2/m/blobs/uploads/?digest={claimed}"),
        &[],
        b"content".to_vec(),
    )
    .await
    .expect(400, Some("DIGEST_INVALID"));
    app.get(&format!("/v2/m/blobs/{claimed}"))
        .await
        .expect(404, Some("BLOB_UNKNOWN"));
}
