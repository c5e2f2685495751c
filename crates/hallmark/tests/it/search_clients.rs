//! `docker search` against `hallmark serve`: the daemon asks `/v1/_ping` and `/v1/search`, then
//! filters the results itself, so the right `is_official` and `star_count` fields are what
//! make `--filter is-official=true` and `--filter stars=N` work. Ignored by default; `.ci/run`
//! starts dockerd and runs it.

use std::path::Path;

use crate::registry_clients::docker;
use crate::server::{sha256, Server};

/// Pushes a one-layer image to `repository` over the distribution API.
fn push_image(server: &Server, repository: &str) {
    let config =
        format!(r#"{{"architecture":"amd64","os":"linux","rootfs":{{}},"n":"{repository}"}}"#);
    let layer = format!("layer of {repository}");
    for blob in [config.as_bytes(), layer.as_bytes()] {
        let path = format!("/v2/{repository}/blobs/uploads/?digest={}", sha256(blob));
        let pushed = server.send("POST", &path, &[], blob);
        assert_eq!(pushed.status, 201, "{pushed:?}");
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config.as_bytes()), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256(layer.as_bytes()), "size": layer.len()}],
    })
    .to_string();
    let content_type = [("content-type", "application/vnd.oci.image.manifest.v1+json")];
    let path = format!("/v2/{repository}/manifests/latest");
    let pushed = server.send("PUT", &path, &content_type, manifest.as_bytes());
    assert_eq!(pushed.status, 201, "{pushed:?}");
}

/// Stars repositories through the store, beside the running server, as nothing else can yet.
fn star(data: &Path, stars: &[(&str, &str)]) {
    use store::MetaStore as _;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let meta = store::SqliteMetaStore::open(&data.join(store::METADATA_FILE))
            .await
            .unwrap();
        for (user, repository) in stars {
            meta.star(user, repository).await.unwrap();
        }
    });
}

/// `docker search HOST/<term>` with `filters`, as `name stars official` lines.
fn search(server: &Server, term: &str, filters: &[&str]) -> Vec<String> {
    let term = format!("{}/{term}", server.host());
    let format = "{{.Name}} {{.StarCount}} {{.IsOfficial}}";
    let mut args = vec!["search", "--no-trunc", "--format", format];
    for filter in filters {
        args.extend(["--filter", filter]);
    }
    args.push(&term);
    docker(server, &args)
        .lines()
        .map(|line| line.trim().to_owned())
        .collect()
}

#[test]
#[ignore = "needs dockerd"]
fn docker_search_filters_official_images_and_stars() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let server = Server::start(&data);
    for repository in [
        "library/python",
        "acme/python-web",
        "amd64/python",
        "zoo/python-lint",
    ] {
        push_image(&server, repository);
    }
    star(
        &data,
        &[
            ("ann", "library/python"),
            ("bob", "library/python"),
            ("ann", "acme/python-web"),
        ],
    );

    assert_eq!(
        search(&server, "python", &["is-official=true"]),
        ["python 2 [OK]"]
    );
    // The CLI sorts by stars, most first.
    assert_eq!(
        search(&server, "python", &["stars=1"]),
        ["python 2 [OK]", "acme/python-web 1"]
    );
    assert_eq!(
        search(&server, "python", &["is-official=false", "stars=1"]),
        ["acme/python-web 1"]
    );
    let mut everything = search(&server, "python", &[]);
    everything.sort();
    assert_eq!(
        everything,
        [
            "acme/python-web 1",
            "amd64/python 0",
            "python 2 [OK]",
            "zoo/python-lint 0"
        ]
    );
}
