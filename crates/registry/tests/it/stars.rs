//! Stars through Hub's `/v2/repositories/<namespace>/<name>/stars/`: signed-in accounts star
//! and unstar what they may pull, and the repository page counts the stars and tells the
//! caller whether it starred.

use axum::http::Method;
use serde_json::Value;

use super::auth::{challenge, AuthApp};
use super::App;

const STARS: &str = "/v2/repositories/library/python/stars/";
const PAGE: &str = "/v2/repositories/library/python/";

/// A registry with authentication on and `library/python` pushed by the publisher.
async fn with_python() -> AuthApp {
    let t = AuthApp::standard().await;
    let publisher = t
        .token(Some("pat"), &["repository:library/python:pull,push"])
        .await;
    t.push_image(&publisher, "library/python", "3").await;
    t
}

/// `library/python`'s page as `token`'s account sees it, or anonymously.
async fn page(t: &AuthApp, token: Option<&str>) -> Value {
    let reply = match token {
        Some(token) => t.call(Method::GET, PAGE, token).await,
        None => t.app.get(PAGE).await,
    };
    reply.expect(200, None);
    reply.json()
}

#[tokio::test]
async fn a_signed_in_user_stars_and_unstars_a_repository() {
    let t = with_python().await;
    let uma = t
        .token(Some("uma"), &["repository:library/python:pull"])
        .await;
    let mia = t
        .token(Some("mia"), &["repository:library/python:pull"])
        .await;
    let before = page(&t, Some(&uma)).await;
    assert_eq!(
        (before["star_count"].as_u64(), &before["has_starred"]),
        (Some(0), &Value::Bool(false))
    );

    // Starring twice counts once.
    for _ in 0..2 {
        t.call(Method::POST, STARS, &uma).await.expect(204, None);
    }
    t.call(Method::POST, STARS, &mia).await.expect(204, None);
    let starred = page(&t, Some(&uma)).await;
    assert_eq!(starred["star_count"], 2);
    assert_eq!(starred["has_starred"], true);
    let anonymous = page(&t, None).await;
    assert_eq!(anonymous["star_count"], 2);
    assert_eq!(anonymous["has_starred"], false);
    let found = t.app.get("/v1/search?q=python").await.json();
    assert_eq!(found["results"][0]["star_count"], 2);

    // Unstarring twice takes one star back.
    for _ in 0..2 {
        t.call(Method::DELETE, STARS, &uma).await.expect(204, None);
    }
    let unstarred = page(&t, Some(&uma)).await;
    assert_eq!(unstarred["star_count"], 1);
    assert_eq!(unstarred["has_starred"], false);
    assert_eq!(page(&t, Some(&mia)).await["has_starred"], true);
}

#[tokio::test]
async fn anonymous_callers_are_challenged() {
    let t = with_python().await;
    let reply = t.app.post(STARS).await;
    reply.expect(401, Some("UNAUTHORIZED"));
    assert!(
        challenge(&reply).ends_with(",scope=\"repository:library/python:pull\""),
        "{reply:?}"
    );
    // An anonymous token pulls the repository but names nobody to star it for.
    let anonymous = t.token(None, &["repository:library/python:pull"]).await;
    for method in [Method::POST, Method::DELETE] {
        let reply = t.call(method, STARS, &anonymous).await;
        reply.expect(401, Some("UNAUTHORIZED"));
        assert!(challenge(&reply).contains("error=\"insufficient_scope\""));
    }
    let reply = t.call(Method::POST, STARS, "not-a-token").await;
    reply.expect(401, Some("UNAUTHORIZED"));
    assert!(challenge(&reply).contains("error=\"invalid_token\""));
    assert_eq!(page(&t, None).await["star_count"], 0);
}

#[tokio::test]
async fn a_private_repository_is_unknown_to_those_who_may_not_pull_it() {
    let t = with_python().await;
    let mia = t
        .token(Some("mia"), &["repository:acme/secret:pull,push"])
        .await;
    t.push_image(&mia, "acme/secret", "v1").await;
    let secret = "/v2/repositories/acme/secret/stars/";
    let uma = t.token(Some("uma"), &["repository:acme/secret:pull"]).await;
    for method in [Method::POST, Method::DELETE] {
        let reply = t.call(method, secret, &uma).await;
        reply.expect(404, Some("NAME_UNKNOWN"));
    }
    // A repository nobody pushed answers the same.
    let uma_none = t.token(Some("uma"), &["repository:acme/none:pull"]).await;
    t.call(Method::POST, "/v2/repositories/acme/none/stars/", &uma_none)
        .await
        .expect(404, Some("NAME_UNKNOWN"));

    t.call(Method::POST, secret, &mia).await.expect(204, None);
    let reply = t
        .call(Method::GET, "/v2/repositories/acme/secret/", &mia)
        .await;
    reply.expect(200, None);
    assert_eq!(reply.json()["star_count"], 1);
    assert_eq!(reply.json()["has_starred"], true);
}

#[tokio::test]
async fn without_authentication_nobody_is_signed_in_to_star() {
    let app = App::new().await;
    app.push_image("python", "3", "python").await;
    app.post(STARS).await.expect(403, Some("DENIED"));
    let reply = app.get(PAGE).await;
    reply.expect(200, None);
    assert_eq!(reply.json()["star_count"], 0);
    assert_eq!(reply.json()["has_starred"], false);
}
