//! The authorisation matrix through HTTP: every role × action × namespace, each with the token
//! that role gets from `/token`.

use axum::body::Body;
use axum::http::Method;

use super::auth::AuthApp;
use super::sha256;

/// The roles of the matrix, each with the account that plays it (`None`: anonymous).
const ROLES: [(&str, Option<&str>); 7] = [
    ("anonymous", None),
    ("user", Some("uma")),
    ("org member", Some("mia")),
    ("amd64 agent", Some("builder-amd64")),
    ("arm64v8 agent", Some("builder-arm64v8")),
    ("publisher", Some("pat")),
    ("admin", Some("root")),
];

/// Every role × action × namespace, through HTTP with the token each role gets. An allowed
/// pull is 200; an allowed push opens an upload (202); an allowed delete of a manifest that
/// does not exist is 404; a mount from the private `acme/secret` is 201 when the role may push
/// the target and pull the source, and a plain upload (202) when it may only push. Denied is
/// 401 everywhere.
#[tokio::test]
async fn the_authorisation_matrix_holds_through_http() {
    let t = AuthApp::standard().await;
    let admin = t
        .token(
            Some("root"),
            &[
                "repository:library/base:pull,push repository:amd64/base:pull,push",
                "repository:arm64v8/base:pull,push repository:acme/app:pull,push",
                "repository:acme/secret:pull,push",
            ],
        )
        .await;
    let mut secret_layer = None;
    for name in [
        "library/base",
        "amd64/base",
        "arm64v8/base",
        "acme/app",
        "acme/secret",
    ] {
        let layer = t.push_image(&admin, name, "latest").await;
        if name == "acme/secret" {
            secret_layer = Some(layer);
        }
    }
    let secret_layer = secret_layer.unwrap();
    let missing = sha256(b"no such manifest");
    #[rustfmt::skip]
    let expected: [(&str, &str, [u16; 7]); 20] = [
        //                          anon user member amd64 arm64 publ admin
        ("pull",   "library/base",  [200, 200, 200, 200, 200, 200, 200]),
        ("pull",   "amd64/base",    [200, 200, 200, 200, 200, 200, 200]),
        ("pull",   "arm64v8/base",  [200, 200, 200, 200, 200, 200, 200]),
        ("pull",   "acme/app",      [200, 200, 200, 200, 200, 200, 200]),
        ("pull",   "acme/secret",   [401, 401, 200, 401, 401, 401, 200]),
        ("push",   "library/base",  [401, 401, 401, 401, 401, 202, 202]),
        ("push",   "amd64/base",    [401, 401, 401, 202, 401, 401, 202]),
        ("push",   "arm64v8/base",  [401, 401, 401, 401, 202, 401, 202]),
        ("push",   "acme/app",      [401, 401, 202, 401, 401, 401, 202]),
        ("push",   "acme/secret",   [401, 401, 202, 401, 401, 401, 202]),
        ("delete", "library/base",  [401, 401, 401, 401, 401, 401, 404]),
        ("delete", "amd64/base",    [401, 401, 401, 401, 401, 401, 404]),
        ("delete", "arm64v8/base",  [401, 401, 401, 401, 401, 401, 404]),
        ("delete", "acme/app",      [401, 401, 401, 401, 401, 401, 404]),
        ("delete", "acme/secret",   [401, 401, 401, 401, 401, 401, 404]),
        ("mount",  "library/base",  [401, 401, 401, 401, 401, 202, 201]),
        ("mount",  "amd64/base",    [401, 401, 401, 202, 401, 401, 201]),
        ("mount",  "arm64v8/base",  [401, 401, 401, 401, 202, 401, 201]),
        ("mount",  "acme/app",      [401, 401, 201, 401, 401, 401, 201]),
        ("mount",  "acme/secret",   [401, 401, 201, 401, 401, 401, 201]),
    ];
    let mut failures = Vec::new();
    for (action, repository, statuses) in expected {
        for ((role, account), status) in ROLES.into_iter().zip(statuses) {
            let (method, uri, scopes) = match action {
                "pull" => (
                    Method::GET,
                    format!("/v2/{repository}/manifests/latest"),
                    format!("repository:{repository}:pull"),
                ),
                "push" => (
                    Method::POST,
                    format!("/v2/{repository}/blobs/uploads/"),
                    format!("repository:{repository}:pull,push"),
                ),
                "delete" => (
                    Method::DELETE,
                    format!("/v2/{repository}/manifests/{missing}"),
                    format!("repository:{repository}:delete"),
                ),
                _ => (
                    Method::POST,
                    format!(
                        "/v2/{repository}/blobs/uploads/?mount={secret_layer}&from=acme/secret"
                    ),
                    format!("repository:{repository}:pull,push repository:acme/secret:pull"),
                ),
            };
            let token = t.token(account, &[&scopes]).await;
            let reply = t.send(method, &uri, &token, Body::empty()).await;
            if reply.status.as_u16() != status {
                failures.push(format!(
                    "{role} {action} {repository}: {} not {status}",
                    reply.status
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
