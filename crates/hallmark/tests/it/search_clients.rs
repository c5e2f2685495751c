//! `docker search` and `podman search` against `hallmark serve` with token authentication on,
//! its default: the clients ask `/v1/_ping` and `/v1/search` without a token, as Docker Hub
//! lets them, then filter the results themselves, so the right `is_official` and `star_count`
//! fields are what make `--filter is-official=true` and `--filter stars=N` work. The data is
//! pushed with the initial admin's token and starred by users over Hub's `stars/` endpoint.
//! Ignored by default; `.ci/run` installs the clients, starts dockerd and runs them.

use std::path::Path;
use std::process::Command;

use crate::auth_clients::{admin_ok, token};
use crate::registry_clients::{docker, run};
use crate::server::{sha256, Server};

const ADMIN_PASSWORD: &str = "search-admin-password";

const REPOSITORIES: [&str; 4] = [
    "library/python",
    "acme/python-web",
    "amd64/python",
    "zoo/python-lint",
];

/// Pushes a one-layer image to `repository` over the distribution API, as `bearer`.
fn push_image(server: &Server, bearer: &str, repository: &str) {
    let config =
        format!(r#"{{"architecture":"amd64","os":"linux","rootfs":{{}},"n":"{repository}"}}"#);
    let layer = format!("layer of {repository}");
    let authorization = ("authorization", bearer);
    for blob in [config.as_bytes(), layer.as_bytes()] {
        let path = format!("/v2/{repository}/blobs/uploads/?digest={}", sha256(blob));
        let pushed = server.send("POST", &path, &[authorization], blob);
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
    let headers = [
        authorization,
        ("content-type", "application/vnd.oci.image.manifest.v1+json"),
    ];
    let path = format!("/v2/{repository}/manifests/latest");
    let pushed = server.send("PUT", &path, &headers, manifest.as_bytes());
    assert_eq!(pushed.status, 201, "{pushed:?}");
}

/// Adds the user `name` and stars `repositories` as it.
fn star(server: &Server, data: &Path, name: &str, repositories: &[&str]) {
    let password = format!("{name}-password");
    admin_ok(
        data,
        &["user", "add", name, "--password-stdin"],
        &format!("{password}\n"),
    );
    for repository in repositories {
        let scope = format!("repository:{repository}:pull");
        let token = token(server, name, &password, &[&scope]);
        let path = format!("/v2/repositories/{repository}/stars/");
        let bearer = format!("Bearer {token}");
        let starred = server.send("POST", &path, &[("authorization", &bearer)], b"");
        assert_eq!(starred.status, 204, "{starred:?}");
    }
}

/// A server with authentication over `work/data`: the four repositories, `library/python`
/// starred twice and `acme/python-web` once.
fn python_catalogue(work: &Path) -> Server {
    let data = work.join("data");
    let server = Server::start_with_auth(&data, ADMIN_PASSWORD);
    let scopes: Vec<String> = REPOSITORIES
        .iter()
        .map(|repository| format!("repository:{repository}:pull,push"))
        .collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let bearer = format!(
        "Bearer {}",
        token(&server, "admin", ADMIN_PASSWORD, &scopes)
    );
    for repository in REPOSITORIES {
        push_image(&server, &bearer, repository);
    }
    star(
        &server,
        &data,
        "ann",
        &["library/python", "acme/python-web"],
    );
    star(&server, &data, "bob", &["library/python"]);
    server
}

/// `search --format FORMAT --filter …  HOST/<term>`: the arguments docker and podman share.
fn search_args(server: &Server, format: &str, term: &str, filters: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["search", "--no-trunc", "--format", format]
        .map(str::to_owned)
        .to_vec();
    for filter in filters {
        args.extend(["--filter".to_owned(), (*filter).to_owned()]);
    }
    args.push(format!("{}/{term}", server.host()));
    args
}

/// A client's output, one trimmed line each.
fn lines(output: &str) -> Vec<String> {
    output.lines().map(|line| line.trim().to_owned()).collect()
}

#[test]
#[ignore = "needs dockerd"]
fn docker_search_filters_official_images_and_stars() {
    let work = tempfile::tempdir().unwrap();
    let server = python_catalogue(work.path());
    let search = |filters: &[&str]| {
        let format = "{{.Name}} {{.StarCount}} {{.IsOfficial}}";
        let args = search_args(&server, format, "python", filters);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        lines(&docker(&server, &args))
    };

    assert_eq!(search(&["is-official=true"]), ["python 2 [OK]"]);
    // The CLI sorts by stars, most first.
    assert_eq!(search(&["stars=1"]), ["python 2 [OK]", "acme/python-web 1"]);
    assert_eq!(
        search(&["is-official=false", "stars=1"]),
        ["acme/python-web 1"]
    );
    let mut everything = search(&[]);
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

/// `podman ARGS` as root with nothing set up: its storage, run and temporary folders and
/// its registries configuration in `dir`, so the machine's own are neither read nor written.
fn podman(server: &Server, dir: &Path, args: &[String]) -> String {
    let registries = dir.join("registries.conf");
    std::fs::write(&registries, "unqualified-search-registries = []\n").unwrap();
    run(
        server,
        Command::new("podman")
            .arg("--root")
            .arg(dir.join("root"))
            .arg("--runroot")
            .arg(dir.join("run"))
            .arg("--tmpdir")
            .arg(dir.join("tmp"))
            .args(["--storage-driver", "vfs", "--events-backend", "none"])
            .args(args)
            .arg("--tls-verify=false")
            .env("CONTAINERS_REGISTRIES_CONF", &registries),
    )
}

#[test]
#[ignore = "needs podman"]
fn podman_search_filters_official_images_and_stars() {
    let work = tempfile::tempdir().unwrap();
    let server = python_catalogue(work.path());
    let search = |filters: &[&str]| {
        let format = "{{.Name}} {{.Stars}} {{.Official}}";
        let args = search_args(&server, format, "python", filters);
        lines(&podman(&server, work.path(), &args))
    };
    // podman names each result with the registry it searched.
    let host = server.host();
    let python = format!("{host}/python 2 [OK]");
    let web = format!("{host}/acme/python-web 1");

    assert_eq!(search(&["is-official=true"]), [python.as_str()]);
    let mut starred = search(&["stars=1"]);
    starred.sort();
    assert_eq!(starred, [web.as_str(), python.as_str()]);
    assert_eq!(search(&["is-official=false", "stars=1"]), [web]);
}
