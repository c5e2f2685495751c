//! The error shape, the code table on the wire, names and unsupported requests.

use axum::body::Body;
use axum::http::Method;

use crate::App;

#[tokio::test]
async fn the_version_check_answers_with_the_api_version() {
    let app = App::new().await;
    for path in ["/v2/", "/v2"] {
        let reply = app.get(path).await;
        reply.expect(200, None);
        assert_eq!(
            reply.header("docker-distribution-api-version"),
            Some("registry/2.0")
        );
        assert_eq!(reply.json(), serde_json::json!({}));
    }
}

#[tokio::test]
async fn errors_carry_code_message_and_detail() {
    let app = App::new().await;
    let reply = app.get("/v2/a/blobs/sha256:nothex").await;
    reply.expect(400, Some("DIGEST_INVALID"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let error = &reply.json()["errors"][0];
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(error["detail"]
        .as_str()
        .is_some_and(|d| d.contains("64 hex")));
    assert_eq!(
        reply.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
}

#[tokio::test]
async fn malformed_names_are_400_on_every_endpoint() {
    let app = App::new().await;
    let long = format!("a/{}", "b".repeat(254));
    let paths = [
        "/v2/UPPER/manifests/latest".to_owned(),
        "/v2/a//b/blobs/uploads/".to_owned(),
        "/v2/-a/tags/list".to_owned(),
        "/v2/a__-b/referrers/sha256:00".to_owned(),
        "/v2/a.-b/blobs/uploads/id".to_owned(),
        format!("/v2/{long}/manifests/latest"),
    ];
    for path in &paths {
        app.get(path).await.expect(400, Some("NAME_INVALID"));
    }
    // Exactly 255 characters is still a name.
    let longest = format!("a/{}", "b".repeat(253));
    app.get(&format!("/v2/{longest}/manifests/latest"))
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
}

#[tokio::test]
async fn malformed_digests_are_400_never_500() {
    let app = App::new().await;
    let requests = [
        (Method::GET, "/v2/a/blobs/sha256:abc"),
        (Method::HEAD, "/v2/a/blobs/md5:abc"),
        (Method::DELETE, "/v2/a/blobs/nocolon"),
        (Method::GET, "/v2/a/manifests/sha256:totallywrong"),
        (Method::DELETE, "/v2/a/manifests/sha256:XYZ"),
        (Method::GET, "/v2/a/referrers/sha256:short"),
        (Method::POST, "/v2/a/blobs/uploads/?digest=sha256:abc"),
        (Method::POST, "/v2/a/blobs/uploads/?mount=sha256:abc&from=b"),
    ];
    for (method, path) in requests {
        let reply = app.send(method.clone(), path, &[], Body::empty()).await;
        reply.expect(400, None);
        if method != Method::HEAD {
            assert_eq!(reply.error_code(), "DIGEST_INVALID", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn unsupported_methods_and_unknown_paths() {
    let app = App::new().await;
    let reply = app.post("/v2/a/manifests/latest").await;
    reply.expect(405, Some("UNSUPPORTED"));
    let reply = app
        .send(Method::PATCH, "/v2/a/tags/list", &[], Body::empty())
        .await;
    reply.expect(405, Some("UNSUPPORTED"));
    app.get("/v2/nothing-here").await.expect(404, None);
    app.get("/elsewhere").await.expect(404, None);
}

#[tokio::test]
async fn a_bad_page_size_is_a_client_error() {
    let app = App::new().await;
    app.get("/v2/_catalog?n=many")
        .await
        .expect(400, Some("PAGINATION_NUMBER_INVALID"));
}
