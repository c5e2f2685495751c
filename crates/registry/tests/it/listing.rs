//! Tags, the catalog and referrers.

use crate::{image_manifest, sha256, App, OCI_INDEX, OCI_MANIFEST};

#[tokio::test]
async fn tags_list_pages_with_n_last_and_link() {
    let app = App::new().await;
    let (payload, _) = app.push_image("t/x", "d", "t").await;
    for tag in ["b", "a", "c"] {
        app.push_manifest("t/x", tag, OCI_MANIFEST, &payload)
            .await
            .expect(201, None);
    }
    let reply = app.get("/v2/t/x/tags/list").await;
    reply.expect(200, None);
    assert_eq!(
        reply.json(),
        serde_json::json!({"name": "t/x", "tags": ["a", "b", "c", "d"]})
    );
    assert_eq!(reply.header("link"), None);

    let reply = app.get("/v2/t/x/tags/list?n=2").await;
    assert_eq!(reply.json()["tags"], serde_json::json!(["a", "b"]));
    assert_eq!(
        reply.header("link"),
        Some("</v2/t/x/tags/list?n=2&last=b>; rel=\"next\"")
    );
    let reply = app.get("/v2/t/x/tags/list?n=2&last=b").await;
    assert_eq!(reply.json()["tags"], serde_json::json!(["c", "d"]));
    let reply = app.get("/v2/t/x/tags/list?n=2&last=d").await;
    assert_eq!(reply.json()["tags"], serde_json::json!([]));
    assert_eq!(reply.header("link"), None);
    let reply = app.get("/v2/t/x/tags/list?n=0").await;
    assert_eq!(reply.json()["tags"], serde_json::json!([]));

    app.get("/v2/nobody/tags/list")
        .await
        .expect(404, Some("NAME_UNKNOWN"));
}

#[tokio::test]
async fn the_catalog_lists_canonical_names_in_pages() {
    let app = App::new().await;
    for name in ["zeta/one", "python", "amd64/debian"] {
        app.push_blob(name, b"x").await;
    }
    let reply = app.get("/v2/_catalog").await;
    reply.expect(200, None);
    assert_eq!(
        reply.json(),
        serde_json::json!({"repositories": ["amd64/debian", "library/python", "zeta/one"]})
    );
    let reply = app.get("/v2/_catalog?n=1&last=amd64/debian").await;
    assert_eq!(
        reply.json()["repositories"],
        serde_json::json!(["library/python"])
    );
    assert_eq!(
        reply.header("link"),
        Some("</v2/_catalog?n=1&last=library/python>; rel=\"next\"")
    );
}

#[tokio::test]
async fn referrers_list_filter_and_answer_empty_for_unknown_subjects() {
    let app = App::new().await;
    let (_, subject) = app.push_image("r", "v1", "r").await;
    let empty = app.push_blob("r", b"{}").await;
    let mut pushed = Vec::new();
    for artifact_type in ["application/x-sbom", "application/x-sig"] {
        let payload = image_manifest(&empty, &[], Some(artifact_type), Some(&subject));
        let digest = sha256(&payload);
        app.push_manifest("r", digest.as_str(), OCI_MANIFEST, &payload)
            .await
            .expect(201, None);
        pushed.push((artifact_type, digest, payload.len()));
    }

    let reply = app.get(&format!("/v2/r/referrers/{subject}")).await;
    reply.expect(200, None);
    assert_eq!(reply.header("content-type"), Some(OCI_INDEX));
    assert_eq!(reply.header("oci-filters-applied"), None);
    let index = reply.json();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["mediaType"], OCI_INDEX);
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 2);
    for descriptor in manifests {
        let (artifact_type, _, size) = pushed
            .iter()
            .find(|(_, d, _)| d.as_str() == descriptor["digest"])
            .expect("a pushed referrer");
        assert_eq!(descriptor["artifactType"], *artifact_type);
        assert_eq!(descriptor["size"], *size);
        assert_eq!(descriptor["mediaType"], OCI_MANIFEST);
        assert_eq!(
            descriptor["annotations"]["note"],
            format!("refers to {subject}")
        );
    }

    let reply = app
        .get(&format!(
            "/v2/r/referrers/{subject}?artifactType=application/x-sig"
        ))
        .await;
    assert_eq!(reply.header("oci-filters-applied"), Some("artifactType"));
    let manifests = reply.json()["manifests"].as_array().unwrap().clone();
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0]["digest"], pushed[1].1.as_str());

    for repository in ["r", "no-such-repo"] {
        let reply = app
            .get(&format!(
                "/v2/{repository}/referrers/{}",
                sha256(b"nothing")
            ))
            .await;
        reply.expect(200, None);
        assert_eq!(reply.header("content-type"), Some(OCI_INDEX));
        assert_eq!(reply.json()["manifests"], serde_json::json!([]));
    }
}
