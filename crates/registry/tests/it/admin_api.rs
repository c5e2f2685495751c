//! The admin JSON API under `/admin/v1/`, with admins' and others' tokens.

use axum::http::Method;

use super::auth::AuthApp;

#[tokio::test]
async fn the_admin_api_is_for_admins_and_audits_what_it_changes() {
    let t = AuthApp::standard().await;
    t.get_anonymous("/admin/v1/accounts")
        .await
        .expect(401, None);
    let user = t.token(Some("uma"), &[]).await;
    let reply = t.call(Method::GET, "/admin/v1/accounts", &user).await;
    reply.expect(403, Some("DENIED"));
    let root = t.token(Some("root"), &[]).await;
    let json = |value: serde_json::Value| value.to_string();
    let post = |uri: &'static str, body: String| t.send(Method::POST, uri, &root, body);
    let put = |uri: &'static str, body: String| t.send(Method::PUT, uri, &root, body);

    let reply = post(
        "/admin/v1/organisations",
        json(serde_json::json!({"name": "zeta"})),
    )
    .await;
    reply.expect(201, None);
    for bad in ["library", "arm64v8", "Zeta"] {
        let body = json(serde_json::json!({ "name": bad }));
        post("/admin/v1/organisations", body)
            .await
            .expect(400, None);
    }
    let body = json(serde_json::json!({
        "name": "ci-zeta", "robot": true, "grants": ["zeta/*:pull,push"],
    }));
    let reply = post("/admin/v1/accounts", body).await;
    reply.expect(201, None);
    let secret = reply.json()["secret"].as_str().unwrap().to_owned();
    assert_eq!(reply.json()["account"]["grants"][0], "zeta/*:pull,push");
    let body = json(serde_json::json!({ "name": "x", "grants": ["amd64/**:push"] }));
    post("/admin/v1/accounts", body).await.expect(400, None);
    post("/admin/v1/accounts", "{".to_owned())
        .await
        .expect(400, None);

    // The robot's generated secret logs in, and its grant works.
    let reply = t
        .basic_get(
            "ci-zeta",
            &secret,
            "/token?service=hallmark&scope=repository:zeta/app:pull,push",
        )
        .await;
    let robot = reply.json()["token"].as_str().unwrap().to_owned();
    t.push_image(&robot, "zeta/app", "v1").await;

    put("/admin/v1/organisations/zeta/members/uma", String::new())
        .await
        .expect(204, None);
    let body = json(serde_json::json!({ "tier": "sponsored-oss" }));
    put("/admin/v1/organisations/zeta/tier", body)
        .await
        .expect(204, None);
    let body = json(serde_json::json!({ "private": true }));
    put("/admin/v1/repositories/zeta/app/visibility", body)
        .await
        .expect(204, None);
    t.get_anonymous("/v2/repositories/zeta/app/")
        .await
        .expect(401, None);
    t.call(Method::DELETE, "/admin/v1/accounts/ci-zeta", &root)
        .await
        .expect(204, None);
    t.call(Method::DELETE, "/admin/v1/accounts/ci-zeta", &root)
        .await
        .expect(404, None);

    let reply = t
        .call(Method::GET, "/admin/v1/audit?actor=root&limit=3", &root)
        .await;
    reply.expect(200, None);
    let details: Vec<String> = reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        details,
        [
            "removed account ci-zeta",
            "made zeta/app private",
            "set the tier of zeta to sponsored-oss",
        ]
    );
    let reply = t
        .call(Method::GET, "/admin/v1/audit?repo=zeta/app", &root)
        .await;
    let actions: Vec<String> = reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["actor"], e["action"]))
        .collect();
    assert_eq!(
        actions,
        ["\"root\" \"permission-change\"", "\"ci-zeta\" \"push\""]
    );
    t.call(Method::GET, "/admin/v1/audit?action=frob", &root)
        .await
        .expect(400, None);
}
