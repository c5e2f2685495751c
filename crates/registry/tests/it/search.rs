//! Hub's search (`/v1/_ping`, `/v1/search`) and repository API (`/v2/repositories/…`), with
//! stars and organisation tiers set through the store (`stars.rs` stars over HTTP).

use std::time::Duration;

use oci::{Digest, OrganisationTier};
use registry::RegistryConfig;
use serde_json::{json, Value};
use store::MetaStore;

use super::{image_manifest, sha256, App, OCI_INDEX, OCI_MANIFEST};

/// Pushes an image whose config declares `platform` (`os/arch[/variant]`); returns its
/// digest and the manifest's length.
async fn push_platform_image(app: &App, name: &str, tag: &str, platform: &str) -> (Digest, usize) {
    let mut parts = platform.split('/');
    let (os, architecture, variant) = (parts.next(), parts.next(), parts.next());
    let config = json!({"os": os, "architecture": architecture, "variant": variant, "rootfs": {}});
    let config = app.push_blob(name, config.to_string().as_bytes()).await;
    let layer = app.push_blob(name, platform.as_bytes()).await;
    let payload = image_manifest(&config, &[&layer], None, None);
    app.push_manifest(name, tag, OCI_MANIFEST, &payload)
        .await
        .expect(201, None);
    (sha256(&payload), payload.len())
}

async fn search(app: &App, query: &str) -> Value {
    let reply = app.get(&format!("/v1/search?{query}")).await;
    reply.expect(200, None);
    reply.json()
}

fn names(results: &Value) -> Vec<&str> {
    let results = results["results"].as_array().expect("a results list");
    results
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

/// What `docker search --filter is-official=… --filter stars=N` keeps: the daemon filters the
/// results it is given on exactly these two fields.
fn docker_filter(results: &Value, official: Option<bool>, stars: u64) -> Vec<&str> {
    let results = results["results"].as_array().unwrap();
    results
        .iter()
        .filter(|r| official.is_none_or(|o| r["is_official"] == o))
        .filter(|r| r["star_count"].as_u64().unwrap() >= stars)
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

/// `library/python` (3 stars), `acme/python-tools` (verified, 1 star), `amd64/python`, and
/// `zoo/snake`, which only its description ties to Python.
async fn catalogue() -> App {
    let app = App::new().await;
    for name in ["python", "acme/python-tools", "amd64/python", "zoo/snake"] {
        app.push_image(name, "latest", name).await;
    }
    let meta = &app.meta;
    for user in ["ann", "bob", "cy"] {
        meta.star(user, "library/python").await.unwrap();
    }
    meta.star("ann", "acme/python-tools").await.unwrap();
    meta.set_description("zoo/snake", "A Python, as snakes go")
        .await
        .unwrap();
    meta.set_description("library/python", "The Python interpreter")
        .await
        .unwrap();
    meta.set_organisation_tier("acme", Some(OrganisationTier::VerifiedPublisher))
        .await
        .unwrap();
    app
}

#[tokio::test]
async fn ping_says_standalone() {
    let app = App::new().await;
    let reply = app.get("/v1/_ping").await;
    reply.expect(200, None);
    assert_eq!(reply.header("x-docker-registry-standalone"), Some("true"));
    assert_eq!(reply.json(), json!({"standalone": true}));
}

#[tokio::test]
async fn search_answers_with_hubs_fields_and_names() {
    let app = catalogue().await;
    let found = search(&app, "q=python&n=25").await;
    assert_eq!(
        (
            &found["num_results"],
            &found["num_pages"],
            &found["page_size"],
            &found["page"],
            &found["query"]
        ),
        (
            &json!(4),
            &json!(1),
            &json!(25),
            &json!(1),
            &json!("python")
        )
    );
    // The official image first, named without library/ as Hub names it.
    assert_eq!(
        found["results"][0],
        json!({
            "name": "python",
            "description": "The Python interpreter",
            "star_count": 3,
            "is_official": true,
            "is_automated": false,
            "tier": "official",
        })
    );
    assert_eq!(
        names(&found),
        ["python", "amd64/python", "acme/python-tools", "zoo/snake"]
    );
    assert_eq!(found["results"][2]["tier"], "verified-publisher");
    assert_eq!(found["results"][1]["tier"], "community");

    assert_eq!(docker_filter(&found, Some(true), 0), ["python"]);
    assert_eq!(
        docker_filter(&found, Some(false), 0),
        ["amd64/python", "acme/python-tools", "zoo/snake"]
    );
    assert_eq!(
        docker_filter(&found, None, 1),
        ["python", "acme/python-tools"]
    );
    assert_eq!(docker_filter(&found, None, 3), ["python"]);
}

#[tokio::test]
async fn search_pages_and_limits() {
    let app = catalogue().await;
    let second = search(&app, "q=python&n=3&page=2").await;
    assert_eq!(names(&second), ["zoo/snake"]);
    assert_eq!(
        (&second["num_pages"], &second["page"], &second["page_size"]),
        (&json!(2), &json!(2), &json!(3))
    );
    // Past the end is an empty page, and a page is at most 100 long.
    assert_eq!(
        names(&search(&app, "q=python&page=9").await),
        Vec::<&str>::new()
    );
    assert_eq!(search(&app, "q=python&n=1000").await["page_size"], 100);
    // What the client typed with its namespace finds the same repository.
    assert_eq!(names(&search(&app, "q=library/python").await)[0], "python");
    assert_eq!(search(&app, "q=nothing-like-it").await["num_results"], 0);
    app.get("/v1/search?q=python&n=ten")
        .await
        .expect(400, Some("PAGINATION_NUMBER_INVALID"));
}

#[tokio::test]
async fn hub_repository_pages_carry_tier_stars_and_pulls() {
    let app = catalogue().await;
    let (_, digest) = app.push_image("python", "3", "python 3").await;
    for reference in ["latest", "3", digest.as_str()] {
        app.get(&format!("/v2/python/manifests/{reference}"))
            .await
            .expect(200, None);
    }
    // HEADs and misses are not pulls.
    app.head("/v2/python/manifests/3").await.expect(200, None);
    app.get("/v2/python/manifests/nope").await.expect(404, None);

    let reply = app.get("/v2/repositories/library/python/").await;
    reply.expect(200, None);
    let repository = reply.json();
    for (field, expected) in [
        ("name", json!("python")),
        ("namespace", json!("library")),
        ("description", json!("The Python interpreter")),
        ("tier", json!("official")),
        ("star_count", json!(3)),
        ("pull_count", json!(3)),
        ("is_private", json!(false)),
    ] {
        assert_eq!(repository[field], expected, "{field}");
    }
    let last_updated = repository["last_updated"].as_str().unwrap();
    assert!(
        last_updated.len() == 27 && last_updated.ends_with('Z'),
        "{last_updated}"
    );

    let acme = app.get("/v2/repositories/acme/python-tools").await.json();
    assert_eq!(
        (&acme["namespace"], &acme["name"], &acme["tier"]),
        (
            &json!("acme"),
            &json!("python-tools"),
            &json!("verified-publisher")
        )
    );
    app.get("/v2/repositories/library/ruby/")
        .await
        .expect(404, Some("NAME_UNKNOWN"));
}

#[tokio::test]
async fn hub_namespace_lists_its_repositories_by_name() {
    let app = catalogue().await;
    app.push_image("acme/cli", "latest", "cli").await;
    let listed = app.get("/v2/repositories/acme/?page_size=1").await.json();
    assert_eq!(
        (&listed["count"], &listed["previous"]),
        (&json!(2), &Value::Null)
    );
    assert_eq!(listed["next"], "/v2/repositories/acme/?page=2&page_size=1");
    let first = &listed["results"][0];
    assert_eq!(
        (&first["namespace"], &first["name"], &first["tier"]),
        (&json!("acme"), &json!("cli"), &json!("verified-publisher"))
    );
    let second = app
        .get("/v2/repositories/acme?page=2&page_size=1")
        .await
        .json();
    assert_eq!(second["results"][0]["name"], "python-tools");
    assert_eq!(second["results"][0]["star_count"], 1);
    let empty = app.get("/v2/repositories/nobody/").await;
    empty.expect(200, None);
    assert_eq!(empty.json()["results"], json!([]));
    app.get("/v2/repositories/No_Such/")
        .await
        .expect(400, Some("NAME_INVALID"));
}

#[tokio::test]
async fn pulls_reach_the_store_in_a_batch_after_the_interval() {
    let config = RegistryConfig {
        pull_count_interval: Duration::from_millis(20),
        ..RegistryConfig::default()
    };
    let app = App::with_config(config).await;
    app.push_image("busybox", "latest", "busybox").await;
    for _ in 0..3 {
        app.get("/v2/busybox/manifests/latest")
            .await
            .expect(200, None);
    }
    let mut recorded = 0;
    for _ in 0..100 {
        let summary = app.meta.repository_summary("library/busybox").await;
        recorded = summary.unwrap().unwrap().pull_count;
        if recorded == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(recorded, 3);
}

#[tokio::test]
async fn hub_tags_list_platform_images_newest_first() {
    let app = App::new().await;
    let name = "acme/app";
    let (amd64, amd64_len) = push_platform_image(&app, name, "amd64", "linux/amd64").await;
    let (arm, _) = push_platform_image(&app, name, "arm", "linux/arm/v7").await;
    // BuildKit's attestation manifest, which Hub does not list as an image.
    let (attestation, _) = push_platform_image(&app, name, "att", "unknown/unknown").await;
    let descriptor = |digest: &Digest, platform: Value| json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": 1, "platform": platform});
    let mut attestation_entry = descriptor(
        &attestation,
        json!({"os": "unknown", "architecture": "unknown"}),
    );
    attestation_entry["annotations"] = json!({"vnd.docker.reference.type": "attestation-manifest"});
    let index = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            descriptor(&amd64, json!({"os": "linux", "architecture": "amd64"})),
            // No platform in the descriptor: the config says it.
            {"mediaType": OCI_MANIFEST, "digest": arm, "size": 1},
            attestation_entry,
        ],
    });
    let index = serde_json::to_vec(&index).unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    app.push_manifest(name, "latest", OCI_INDEX, &index)
        .await
        .expect(201, None);

    let reply = app
        .send(
            axum::http::Method::GET,
            "/v2/repositories/acme/app/tags/?page_size=2",
            &[("host", "registry.test:5000")],
            axum::body::Body::empty(),
        )
        .await;
    reply.expect(200, None);
    let tags = reply.json();
    assert_eq!(
        (&tags["count"], &tags["tier"]),
        (&json!(4), &json!("community"))
    );
    assert_eq!(
        tags["next"],
        "http://registry.test:5000/v2/repositories/acme/app/tags/?page=2&page_size=2"
    );
    assert_eq!(tags["previous"], Value::Null);
    let latest = &tags["results"][0];
    assert_eq!(latest["name"], "latest");
    assert_eq!(latest["digest"], sha256(&index).as_str());
    assert_eq!(latest["media_type"], OCI_INDEX);
    // Each image's size is its manifest, config and layers; the tag's is its largest image's.
    let amd64_size = amd64_len as u64 + 2 + 1;
    assert_eq!(
        latest["images"],
        json!([
            {"os": "linux", "architecture": "amd64", "digest": amd64, "size": amd64_size},
            {"os": "linux", "architecture": "arm", "variant": "v7", "digest": arm,
             "size": latest["images"][1]["size"]},
        ])
    );
    assert_eq!(
        latest["full_size"].as_u64(),
        latest["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["size"].as_u64().unwrap())
            .max()
    );

    let last = app
        .get("/v2/repositories/acme/app/tags/?page_size=2&page=2")
        .await
        .json();
    assert_eq!(last["next"], Value::Null);
    assert_eq!(
        last["previous"],
        "/v2/repositories/acme/app/tags/?page=1&page_size=2"
    );
    let single = &last["results"].as_array().unwrap();
    assert_eq!(single.len(), 2);
    let amd64_tag = single.iter().find(|t| t["name"] == "amd64").unwrap();
    assert_eq!(
        amd64_tag["images"],
        json!([{"os": "linux", "architecture": "amd64", "digest": amd64, "size": amd64_size}])
    );
    assert_eq!(amd64_tag["full_size"], amd64_size);

    let one = app.get("/v2/repositories/acme/app/tags/amd64/").await;
    one.expect(200, None);
    let mut expected = amd64_tag.clone();
    expected["tier"] = json!("community");
    assert_eq!(one.json(), expected);
    app.get("/v2/repositories/acme/app/tags/nope")
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
}

#[tokio::test]
async fn a_repository_named_repositories_keeps_the_distribution_api() {
    let app = App::new().await;
    let (payload, _) = app.push_image("repositories/acme", "latest", "odd").await;
    let pulled = app.get("/v2/repositories/acme/manifests/latest").await;
    pulled.expect(200, None);
    assert_eq!(pulled.body, payload);
    let tags = app.get("/v2/repositories/acme/tags/list").await;
    assert_eq!(tags.json()["tags"], json!(["latest"]));
    // Its Hub page is under its own name, like any other repository's.
    let hub = app.get("/v2/repositories/repositories/acme/").await.json();
    assert_eq!(
        (&hub["namespace"], &hub["name"]),
        (&json!("repositories"), &json!("acme"))
    );
}
