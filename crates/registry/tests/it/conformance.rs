//! The checks of the OCI distribution-spec conformance suite (pull, push, content discovery,
//! content management), in the suite's order and with data of the same shape: a namespace with
//! a slash, a single-segment cross-mount namespace, pretty-printed manifests, a manifest with
//! no `mediaType` field, referrers pushed before their subject, and so on.

use axum::body::Body;
use axum::http::Method;
use serde_json::json;

use crate::{sha256, App, Reply, EMPTY_JSON, OCI_INDEX, OCI_MANIFEST};

const NAME: &str = "conformance/suite";
const CROSSMOUNT: &str = "conformance-crossmount";
const ANNOTATION: &str = "org.opencontainers.conformance.test";

/// The suite's fixtures: distinct configs per workflow, one shared layer, manifests over them.
struct Fixtures {
    configs: Vec<Vec<u8>>,
    layer: Vec<u8>,
    manifests: Vec<Vec<u8>>,
}

impl Fixtures {
    fn new() -> Self {
        let configs: Vec<Vec<u8>> = (0..5)
            .map(|i| {
                serde_json::to_vec_pretty(&json!({
                    "architecture": "amd64", "os": "linux", "author": format!("author {i}"),
                    "rootfs": {"type": "layers", "diff_ids": []}
                }))
                .unwrap()
            })
            .collect();
        let layer: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
        let manifests = configs
            .iter()
            .map(|config| {
                serde_json::to_vec_pretty(&json!({
                    "schemaVersion": 2,
                    "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": sha256(config), "size": config.len(),
                               "newUnspecifiedField": "aGVsbG8gd29ybGQ="},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": sha256(&layer), "size": layer.len()}]
                }))
                .unwrap()
            })
            .collect();
        Self {
            configs,
            layer,
            manifests,
        }
    }
}

fn is_success(reply: &Reply) -> bool {
    reply.status.is_success()
}

/// POST for a session, then PUT the whole blob to it, as the suite's setup steps do.
async fn post_put(app: &App, name: &str, content: &[u8]) -> Reply {
    let reply = app.post(&format!("/v2/{name}/blobs/uploads/")).await;
    reply.expect(202, None);
    let location = reply.location();
    let length = content.len().to_string();
    app.send(
        Method::PUT,
        &format!("{location}?digest={}", sha256(content)),
        &[
            ("content-type", "application/octet-stream"),
            ("content-length", &length),
        ],
        content.to_vec(),
    )
    .await
}

async fn put_manifest(app: &App, reference: &str, media_type: &str, payload: &[u8]) -> Reply {
    app.push_manifest(NAME, reference, media_type, payload)
        .await
}

async fn delete(app: &App, path: &str) -> Reply {
    app.delete(&format!("/v2/{NAME}/{path}")).await
}

async fn send(app: &App, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
    app.send(
        method,
        &format!("/v2/{NAME}/{path}"),
        headers,
        Body::empty(),
    )
    .await
}

#[tokio::test]
async fn pull() {
    pull_on(&App::new().await).await;
}

async fn pull_on(app: &App) {
    let f = Fixtures::new();
    for blob in [&f.configs[0], &f.configs[1], &f.layer] {
        assert!(is_success(&post_put(app, NAME, blob).await));
    }
    assert!(is_success(
        &put_manifest(app, "tagtest0", OCI_MANIFEST, &f.manifests[0]).await
    ));
    let digest1 = sha256(&f.manifests[1]);
    assert!(is_success(
        &put_manifest(app, digest1.as_str(), OCI_MANIFEST, &f.manifests[1]).await
    ));

    let dummy = sha256(b"hello world");
    send(app, Method::HEAD, &format!("blobs/{dummy}"), &[])
        .await
        .expect(404, None);
    let config0 = sha256(&f.configs[0]);
    let reply = send(app, Method::HEAD, &format!("blobs/{config0}"), &[]).await;
    reply.expect(200, None);
    assert_eq!(
        reply.header("docker-content-digest"),
        Some(config0.as_str())
    );
    send(app, Method::GET, &format!("blobs/{dummy}"), &[])
        .await
        .expect(404, None);
    send(app, Method::GET, &format!("blobs/{config0}"), &[])
        .await
        .expect(200, None);

    let accept = [("accept", OCI_MANIFEST)];
    for method in [Method::HEAD, Method::GET] {
        send(app, method.clone(), "manifests/.INVALID_MANIFEST_NAME", &[])
            .await
            .expect(404, None);
        for (reference, manifest) in [
            (sha256(&f.manifests[0]).to_string(), &f.manifests[0]),
            (digest1.to_string(), &f.manifests[1]),
            ("tagtest0".to_owned(), &f.manifests[0]),
        ] {
            let reply = send(
                app,
                method.clone(),
                &format!("manifests/{reference}"),
                &accept,
            )
            .await;
            reply.expect(200, None);
            assert_eq!(
                reply.header("docker-content-digest"),
                Some(sha256(manifest).as_str())
            );
        }
    }

    // A 400 must carry a spec error code.
    let reply = app
        .send(
            Method::GET,
            &format!("/v2/{NAME}/manifests/sha256:totallywrong"),
            &[("content-type", OCI_MANIFEST)],
            b"blablabla".to_vec(),
        )
        .await;
    reply.expect(400, Some("DIGEST_INVALID"));

    for manifest in &f.manifests[..2] {
        let reply = delete(app, &format!("manifests/{}", sha256(manifest))).await;
        assert!(is_success(&reply));
    }
    for blob in [&f.configs[0], &f.configs[1], &f.layer] {
        let reply = delete(app, &format!("blobs/{}", sha256(blob))).await;
        assert!(is_success(&reply) || reply.status == 404);
    }
}

#[tokio::test]
async fn push() {
    push_on(&App::new().await).await;
}

async fn push_on(app: &App) {
    let f = Fixtures::new();
    let blob_a: Vec<u8> = (0..42u8).collect();
    let octets = ("content-type", "application/octet-stream");

    // Streamed: one PATCH with the whole blob and no range, then a PUT with no body.
    let reply = send(app, Method::POST, "blobs/uploads/", &[]).await;
    let reply = app
        .send(Method::PATCH, reply.location(), &[octets], blob_a.clone())
        .await;
    reply.expect(202, None);
    let reply = finish(app, &reply, &blob_a, &[octets]).await;
    reply.expect(201, None);
    assert!(reply.header("location").is_some());

    // Monolithic: POST with the digest and the blob, and POST then PUT.
    get_blob(app, b"hello world").await.expect(404, None);
    let config1 = &f.configs[1];
    let uri = format!("/v2/{NAME}/blobs/uploads/?digest={}", sha256(config1));
    let reply = app
        .send(Method::POST, &uri, &[octets], config1.clone())
        .await;
    reply.expect(201, None);
    assert!(reply.header("location").is_some());
    get_blob(app, config1).await.expect(200, None);
    post_put(app, NAME, config1).await.expect(201, None);
    post_put(app, NAME, &f.layer).await.expect(201, None);
    get_blob(app, &f.layer).await.expect(200, None);

    // Chunked, with an out-of-order chunk, a retried chunk and a status check on the way.
    let blob_b: Vec<u8> = (0..42u8).rev().collect();
    let (chunk1, chunk2) = blob_b.split_at(22);
    let range1 = format!("0-{}", chunk1.len() - 1);
    let range2 = format!("{}-{}", chunk1.len(), blob_b.len() - 1);
    let empty = [("content-length", "0")];
    let reply = send(app, Method::POST, "blobs/uploads/", &empty).await;
    patch(app, reply.location(), &range2, chunk2)
        .await
        .expect(416, None);

    let reply = send(app, Method::POST, "blobs/uploads/", &empty).await;
    let first = reply.location().to_owned();
    let reply = patch(app, &first, &range1, chunk1).await;
    reply.expect(202, None);
    assert_eq!(reply.header("range"), Some(range1.as_str()));
    patch(app, &first, &range1, chunk1).await.expect(416, None);
    let reply = app.get(&first).await;
    reply.expect(204, None);
    assert!(reply.header("location").is_some());
    assert_eq!(reply.header("range"), Some(range1.as_str()));
    let reply = patch(app, reply.location(), &range2, chunk2).await;
    reply.expect(202, None);
    finish(app, &reply, &blob_b, &[empty[0], octets])
        .await
        .expect(201, None);

    // Cross-repository mounts, into a single-segment namespace.
    let reply = mount(app, &format!("mount={}", sha256(b"hello world"))).await;
    reply.expect(202, None);
    let sessions = format!("/v2/{CROSSMOUNT}/blobs/uploads/");
    assert!(reply.location().starts_with(&sessions));
    let digest_a = sha256(&blob_a);
    let reply = mount(app, &format!("mount={digest_a}&from={NAME}")).await;
    reply.expect(201, None);
    let mounted = format!("/v2/{CROSSMOUNT}/blobs/{digest_a}");
    assert_eq!(reply.location(), mounted);
    app.get(&mounted).await.expect(200, None);
    mount(app, &format!("mount={digest_a}"))
        .await
        .expect(201, None);

    // Manifests: four tags of one manifest, and one with no layers and no mediaType field.
    send(app, Method::GET, "manifests/.INVALID_MANIFEST_NAME", &[])
        .await
        .expect(404, None);
    for i in 0..4 {
        let reply = put_manifest(app, &format!("test{i}"), OCI_MANIFEST, &f.manifests[1]).await;
        reply.expect(201, None);
        assert!(reply.header("location").is_some());
    }
    let empty_layers = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config1), "size": config1.len()},
        "layers": []
    }))
    .unwrap();
    let reply = put_manifest(app, "emptylayer", OCI_MANIFEST, &empty_layers).await;
    reply.expect(201, None);
    let location = reply.location().to_owned();
    let accept = [("accept", OCI_MANIFEST)];
    let path = format!("manifests/{}", sha256(&f.manifests[1]));
    send(app, Method::GET, &path, &accept)
        .await
        .expect(200, None);

    for path in [
        format!("manifests/{}", sha256(&f.manifests[1])),
        format!("manifests/{}", sha256(&empty_layers)),
        format!("blobs/{}", sha256(config1)),
        format!("blobs/{}", sha256(&f.layer)),
    ] {
        assert!(is_success(&delete(app, &path).await), "{path}");
    }
    app.get(&location).await.expect(404, None);
}

/// `PUT <location of reply>?digest=<digest of content>` with no body: closes an upload.
async fn finish(app: &App, reply: &Reply, content: &[u8], headers: &[(&str, &str)]) -> Reply {
    let uri = format!("{}?digest={}", reply.location(), sha256(content));
    app.send(Method::PUT, &uri, headers, Body::empty()).await
}

/// A chunk with its `Content-Range` and `Content-Length`.
async fn patch(app: &App, location: &str, range: &str, chunk: &[u8]) -> Reply {
    let length = chunk.len().to_string();
    let headers = [
        ("content-type", "application/octet-stream"),
        ("content-length", length.as_str()),
        ("content-range", range),
    ];
    app.send(Method::PATCH, location, &headers, chunk.to_vec())
        .await
}

async fn mount(app: &App, query: &str) -> Reply {
    app.post(&format!("/v2/{CROSSMOUNT}/blobs/uploads/?{query}"))
        .await
}

async fn get_blob(app: &App, content: &[u8]) -> Reply {
    app.get(&format!("/v2/{NAME}/blobs/{}", sha256(content)))
        .await
}

#[tokio::test]
async fn content_discovery() {
    content_discovery_on(&App::new().await).await;
}

async fn content_discovery_on(app: &App) {
    let f = Fixtures::new();
    post_put(app, NAME, &f.configs[2]).await.expect(201, None);
    post_put(app, NAME, &f.layer).await.expect(201, None);
    for i in 0..4 {
        put_manifest(app, &format!("test{i}"), OCI_MANIFEST, &f.manifests[2])
            .await
            .expect(201, None);
    }

    // Referrers of manifests[4], some pushed before it; one referrer of a subject never pushed.
    let empty = post_put(app, NAME, b"{}").await;
    empty.expect(201, None);
    assert_eq!(
        sha256(b"{}").as_str(),
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    let ref_a = b"NHL Peanut Butter on my NHL bagel".to_vec();
    let ref_b = b"NBA Strawberry Jam on my NBA croissant".to_vec();
    let (type_a, type_b) = (
        "application/vnd.nhl.peanut.butter.bagel",
        "application/vnd.nba.strawberry.jam.croissant",
    );
    let subject = sha256(&f.manifests[4]);
    let missing_subject = sha256(&f.manifests[3]);
    let descriptor = |media_type: &str, content: &[u8]| json!({"mediaType": media_type, "digest": sha256(content), "size": content.len()});
    let empty_descriptor = descriptor(EMPTY_JSON, b"{}");
    let subject_of =
        |digest: &oci::Digest| json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": 1});
    let config_artifact = |artifact_type: &str, content: &[u8], note: &str| {
        serde_json::to_vec_pretty(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": descriptor(artifact_type, content),
            "subject": subject_of(&subject),
            "layers": [empty_descriptor],
            "annotations": {ANNOTATION: note}
        }))
        .unwrap()
    };
    let layer_artifact =
        |artifact_type: &str, content: &[u8], on: &oci::Digest, note: Option<&str>| {
            let mut manifest = json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                "config": empty_descriptor,
                "subject": subject_of(on),
                "layers": [descriptor(artifact_type, content)],
            });
            if let Some(note) = note {
                manifest["annotations"] = json!({ANNOTATION: note});
            }
            serde_json::to_vec_pretty(&manifest).unwrap()
        };

    post_put(app, NAME, &ref_a).await.expect(201, None);
    let config_a = config_artifact(type_a, &ref_a, "test config a");
    let layer_a = layer_artifact(type_a, &ref_a, &subject, Some("test layer a"));
    for manifest in [&config_a, &layer_a] {
        let reply = put_manifest(app, sha256(manifest).as_str(), OCI_MANIFEST, manifest).await;
        reply.expect(201, None);
        assert_eq!(reply.header("oci-subject"), Some(subject.as_str()));
    }
    let index = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "artifactType": "application/vnd.food.stand",
        "manifests": [descriptor(OCI_MANIFEST, &config_a), descriptor(OCI_MANIFEST, &layer_a)],
        "subject": subject_of(&subject),
        "annotations": {ANNOTATION: "test index"}
    }))
    .unwrap();
    let reply = put_manifest(app, sha256(&index).as_str(), OCI_INDEX, &index).await;
    reply.expect(201, None);
    assert_eq!(reply.header("oci-subject"), Some(subject.as_str()));

    post_put(app, NAME, &f.configs[4]).await.expect(201, None);
    put_manifest(app, "tagtest0", OCI_MANIFEST, &f.manifests[4])
        .await
        .expect(201, None);
    post_put(app, NAME, &ref_b).await.expect(201, None);
    let config_b = config_artifact(type_b, &ref_b, "test config b");
    let layer_b = layer_artifact(type_b, &ref_b, &subject, Some("test layer b"));
    let layer_c = layer_artifact(type_b, &ref_b, &missing_subject, None);
    for (manifest, on) in [
        (&config_b, &subject),
        (&layer_b, &subject),
        (&layer_c, &missing_subject),
    ] {
        let reply = put_manifest(app, sha256(manifest).as_str(), OCI_MANIFEST, manifest).await;
        reply.expect(201, None);
        assert_eq!(reply.header("oci-subject"), Some(on.as_str()));
    }

    // Tags: all, limited by n, and continued after last.
    let tags = |reply: &Reply| -> Vec<String> {
        serde_json::from_value(reply.json()["tags"].clone()).unwrap()
    };
    let all = tags(&send(app, Method::GET, "tags/list", &[]).await);
    assert_eq!(all, ["tagtest0", "test0", "test1", "test2", "test3"]);
    let half = all.len() / 2;
    let reply = app.get(&format!("/v2/{NAME}/tags/list?n={half}")).await;
    let first = tags(&reply);
    assert_eq!(first.len(), half);
    let reply = app
        .get(&format!(
            "/v2/{NAME}/tags/list?n={half}&last={}",
            first[half - 1]
        ))
        .await;
    reply.expect(200, None);
    assert!(tags(&reply).len() <= half);

    // Referrers: none for an unknown digest, five for the subject, two of type A, and the one
    // whose subject was never pushed.
    let notes = [
        (sha256(&config_a), "test config a"),
        (sha256(&layer_a), "test layer a"),
        (sha256(&index), "test index"),
        (sha256(&config_b), "test config b"),
        (sha256(&layer_b), "test layer b"),
    ];
    let referrers = |reply: &Reply| -> Vec<serde_json::Value> {
        reply.expect(200, None);
        assert_eq!(reply.header("content-type"), Some(OCI_INDEX));
        reply.json()["manifests"].as_array().unwrap().clone()
    };
    let check_notes = |listed: &[serde_json::Value]| {
        for descriptor in listed {
            let (_, note) = notes
                .iter()
                .find(|(d, _)| d.as_str() == descriptor["digest"])
                .unwrap();
            assert_eq!(descriptor["annotations"].as_object().unwrap().len(), 1);
            assert_eq!(descriptor["annotations"][ANNOTATION], *note);
        }
    };
    let dummy = sha256(b"hello world");
    assert!(
        referrers(&send(app, Method::GET, &format!("referrers/{dummy}"), &[]).await).is_empty()
    );
    let listed = referrers(&send(app, Method::GET, &format!("referrers/{subject}"), &[]).await);
    assert_eq!(listed.len(), 5);
    check_notes(&listed);
    let reply = app
        .get(&format!(
            "/v2/{NAME}/referrers/{subject}?artifactType={type_a}"
        ))
        .await;
    assert_eq!(reply.header("oci-filters-applied"), Some("artifactType"));
    let listed = referrers(&reply);
    assert_eq!(listed.len(), 2);
    check_notes(&listed);
    let listed = referrers(
        &send(
            app,
            Method::GET,
            &format!("referrers/{missing_subject}"),
            &[],
        )
        .await,
    );
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["digest"], sha256(&layer_c).as_str());
}

#[tokio::test]
async fn content_management() {
    content_management_on(&App::new().await).await;
}

async fn content_management_on(app: &App) {
    let f = Fixtures::new();
    post_put(app, NAME, &f.configs[3]).await.expect(201, None);
    post_put(app, NAME, &f.layer).await.expect(201, None);
    put_manifest(app, "tagtest0", OCI_MANIFEST, &f.manifests[3])
        .await
        .expect(201, None);
    put_manifest(app, "other", OCI_MANIFEST, &f.manifests[3])
        .await
        .expect(201, None);
    let count = |reply: Reply| reply.json()["tags"].as_array().unwrap().len();
    let before = count(send(app, Method::GET, "tags/list", &[]).await);

    delete(app, "manifests/tagtest0").await.expect(202, None);
    let digest = sha256(&f.manifests[3]);
    delete(app, &format!("manifests/{digest}"))
        .await
        .expect(202, None);
    send(app, Method::GET, &format!("manifests/{digest}"), &[])
        .await
        .expect(404, None);
    let reply = send(app, Method::GET, "tags/list", &[]).await;
    reply.expect(200, None);
    assert!(count(reply) < before);

    for blob in [&f.configs[3], &f.layer] {
        delete(app, &format!("blobs/{}", sha256(blob)))
            .await
            .expect(202, None);
    }
    send(
        app,
        Method::GET,
        &format!("blobs/{}", sha256(&f.configs[3])),
        &[],
    )
    .await
    .expect(404, None);
}

/// The whole suite again with authentication on, every request with an admin's token, as the
/// suite runs with credentials against a registry that wants them.
#[tokio::test]
async fn the_suite_passes_with_authentication_on() {
    pull_on(&crate::auth::conformance_app().await).await;
    push_on(&crate::auth::conformance_app().await).await;
    content_discovery_on(&crate::auth::conformance_app().await).await;
    content_management_on(&crate::auth::conformance_app().await).await;
}
