//! `hallmark serve` with token authentication (its default): the challenge and `/token` over
//! plain HTTP, the `hallmark admin` commands beside the running server, and real clients that
//! log in (`docker login`, `skopeo --dest-creds`), including a robot for arm64v8 that may push
//! nowhere else. The real-client tests are ignored by default and run by `.ci/run`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::registry_clients::{oci_layout, run, tar};
use crate::server::Server;

const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// `hallmark admin --data DATA ARGS…`, with `stdin` piped in; the output whatever the status.
fn admin(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .arg("admin")
        .arg("--data")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hallmark admin");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `hallmark admin …` that must succeed; its standard output.
pub(crate) fn admin_ok(data: &Path, args: &[&str], stdin: &str) -> String {
    let output = admin(data, args, stdin);
    assert!(
        output.status.success(),
        "hallmark admin {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Creates a robot with `grants` and returns its secret, which `robot add` prints once.
pub(crate) fn add_robot(data: &Path, name: &str, grants: &[&str]) -> String {
    let mut args = vec!["robot", "add", name];
    for grant in grants {
        args.extend(["--grant", grant]);
    }
    let printed = admin_ok(data, &args, "");
    printed.trim().rsplit(' ').next().unwrap().to_owned()
}

fn basic(user: &str, password: &str) -> String {
    use base64ct::Encoding as _;
    let encoded = base64ct::Base64::encode_string(format!("{user}:{password}").as_bytes());
    format!("Basic {encoded}")
}

/// A bearer token for `user` granting what the policy allows of `scopes`.
pub(crate) fn token(server: &Server, user: &str, password: &str, scopes: &[&str]) -> String {
    let mut uri = "/token?service=hallmark".to_owned();
    for scope in scopes {
        uri += &format!("&scope={scope}");
    }
    let reply = server.send(
        "GET",
        &uri,
        &[("authorization", &basic(user, password))],
        b"",
    );
    assert_eq!(reply.status, 200, "{user}: {reply:?}");
    let body: Value = serde_json::from_slice(&reply.body).unwrap();
    body["token"].as_str().unwrap().to_owned()
}

#[test]
fn serve_requires_tokens_and_admin_commands_manage_accounts() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let server = Server::start_with_auth(&data, ADMIN_PASSWORD);
    let reply = server.send("GET", "/v2/", &[], b"");
    assert_eq!(reply.status, 401, "{reply:?}");
    let challenge = reply.header("www-authenticate").unwrap();
    let realm = format!(
        "Bearer realm=\"http://{}/token\",service=\"hallmark\"",
        server.host()
    );
    assert_eq!(challenge, realm);

    admin_ok(
        &data,
        &["user", "add", "alice", "--publisher", "--password-stdin"],
        "alice-password\n",
    );
    admin_ok(&data, &["org", "add", "acme"], "");
    admin_ok(&data, &["org", "member", "add", "acme", "alice"], "");
    let secret = add_robot(&data, "builder-arm64v8", &["arm64v8/*:push"]);
    assert_eq!(secret.len(), 43, "{secret}");
    let refused = admin(&data, &["org", "add", "amd64"], "");
    assert!(
        !refused.status.success(),
        "amd64 is an architecture namespace"
    );

    let listed = admin_ok(&data, &["user", "list"], "");
    assert_eq!(
        listed,
        "user admin, role admin\nuser alice, role publisher, member of acme\n\
         robot builder-arm64v8, grant arm64v8/*:push\n"
    );
    let scopes = ["repository:library/x:pull,push", "repository:amd64/x:push"];
    for (user, password, expected) in [
        ("alice", "alice-password", "repository:library/x:pull,push"),
        (
            "builder-arm64v8",
            secret.as_str(),
            "repository:library/x:pull",
        ),
        ("admin", ADMIN_PASSWORD, "repository:library/x:pull,push"),
    ] {
        let token = token(&server, user, password, &scopes);
        let claims = token.split('.').nth(1).unwrap();
        use base64ct::Encoding as _;
        let claims: Value =
            serde_json::from_slice(&base64ct::Base64UrlUnpadded::decode_vec(claims).unwrap())
                .unwrap();
        let first = &claims["access"][0];
        let granted = format!(
            "{}:{}:{}",
            first["type"].as_str().unwrap(),
            first["name"].as_str().unwrap(),
            first["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(granted, expected, "{user}: {claims}");
    }
    admin_ok(
        &data,
        &["user", "password", "alice", "--password-stdin"],
        "changed\n",
    );
    let reply = server.send(
        "GET",
        "/token",
        &[("authorization", &basic("alice", "changed"))],
        b"",
    );
    assert_eq!(reply.status, 200, "{reply:?}");
    let wrong = basic("alice", "nope");
    let reply = server.send("GET", "/token", &[("authorization", &wrong)], b"");
    assert_eq!(reply.status, 401, "{reply:?}");

    let audit = admin_ok(
        &data,
        &["--format", "json", "audit", "--action", "permission-change"],
        "",
    );
    let audit: Value = serde_json::from_str(&audit).unwrap();
    let details: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        details,
        [
            "set the password of alice",
            "created robot builder-arm64v8, grant arm64v8/*:push",
            "added alice to organisation acme",
            "created organisation acme",
            "created user alice, role publisher",
            "created user admin, role admin",
        ]
    );
}

/// A server with authentication over `work/data`, with the publisher `pat` (password
/// `pat-pw`) added.
pub(crate) fn serve_with_publisher(work: &Path) -> (PathBuf, Server) {
    let data = work.join("data");
    let server = Server::start_with_auth(&data, ADMIN_PASSWORD);
    admin_ok(
        &data,
        &["user", "add", "pat", "--publisher", "--password-stdin"],
        "pat-pw\n",
    );
    (data, server)
}

/// An OCI layout with one small image, for skopeo to copy from.
fn source_image(work: &Path) -> String {
    let source = work.join("source");
    oci_layout(&source, "v1", &[tar(&[("etc/hello", b"hello\n")])]);
    format!("oci:{}:v1", source.display())
}

/// `skopeo copy` to `dest` with `creds`; the output whatever the status.
fn skopeo_copy(source: &str, dest: &str, creds: &str) -> Output {
    Command::new("skopeo")
        .args([
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            source,
            dest,
        ])
        .output()
        .expect("run skopeo")
}

#[test]
#[ignore = "needs skopeo"]
fn skopeo_pushes_with_credentials_and_a_robot_stays_in_its_architecture() {
    let work = tempfile::tempdir().unwrap();
    let (data, server) = serve_with_publisher(work.path());
    let source = source_image(work.path());
    let host = server.host();
    let secret = add_robot(&data, "builder-arm64v8", &["arm64v8/*:push"]);
    let robot = format!("builder-arm64v8:{secret}");

    let copied = skopeo_copy(
        &source,
        &format!("docker://{host}/library/hello:v1"),
        "pat:pat-pw",
    );
    assert!(copied.status.success(), "{copied:?}\n{}", server.log());
    let copied = skopeo_copy(
        &source,
        &format!("docker://{host}/arm64v8/hello:v1"),
        &robot,
    );
    assert!(copied.status.success(), "{copied:?}\n{}", server.log());
    for elsewhere in ["amd64/hello:v1", "library/hello:v2", "hello:v3"] {
        let refused = skopeo_copy(&source, &format!("docker://{host}/{elsewhere}"), &robot);
        let stderr = String::from_utf8_lossy(&refused.stderr).to_lowercase();
        assert!(!refused.status.success(), "{elsewhere}: {refused:?}");
        assert!(
            ["401", "403", "unauthorized", "denied"]
                .iter()
                .any(|s| stderr.contains(s)),
            "{elsewhere}: {stderr}"
        );
    }
    // Anonymous pulls of public repositories work without credentials.
    let pulled = work.path().join("pulled");
    run(
        &server,
        Command::new("skopeo").args([
            "copy",
            "--src-tls-verify=false",
            &format!("docker://{host}/hello:v1"),
            &format!("oci:{}:v1", pulled.display()),
        ]),
    );
    let audit = admin_ok(&data, &["audit", "--repo", "arm64v8/hello"], "");
    assert!(
        audit.contains(" builder-arm64v8 push arm64v8/hello v1 "),
        "{audit}"
    );
}

#[test]
#[ignore = "needs dockerd"]
fn docker_logs_in_pushes_and_pulls() {
    let work = tempfile::tempdir().unwrap();
    let (_, server) = serve_with_publisher(work.path());
    let host = server.host();
    // A configuration folder of its own, so the login touches nothing outside the test.
    let config = work.path().join("docker-config");
    fixture_cache::docker_config_for(&config, &host);
    let docker = |args: &[&str], stdin: Option<&str>| {
        let mut command = Command::new("docker");
        command.args(args).env("DOCKER_CONFIG", &config);
        if let Some(input) = stdin {
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "docker {args:?}: {output:?}\n{}",
                server.log()
            );
            return String::from_utf8_lossy(&output.stdout).into_owned();
        }
        run(&server, &mut command)
    };
    let rootfs = work.path().join("rootfs.tar");
    std::fs::write(&rootfs, tar(&[("etc/hello", b"hello from docker\n")])).unwrap();
    let local = format!("hallmark-it-auth:{}", server.address().port());
    let remote = format!("{host}/library/hello:1");
    docker(&["import", &rootfs.display().to_string(), &local], None);
    docker(&["tag", &local, &remote], None);
    let pushed = Command::new("docker")
        .args(["push", &remote])
        .env("DOCKER_CONFIG", &config)
        .output()
        .unwrap();
    assert!(!pushed.status.success(), "a push without login is refused");

    let login = docker(
        &["login", "--username", "pat", "--password-stdin", &host],
        Some("pat-pw\n"),
    );
    assert!(login.contains("Login Succeeded"), "{login}");
    docker(&["push", &remote], None);
    docker(&["rmi", &remote, &local], None);
    docker(&["logout", &host], None);
    // Pulling a public repository needs no login: docker follows the challenge anonymously.
    docker(&["pull", &format!("{host}/hello:1")], None);
    docker(&["rmi", &format!("{host}/hello:1")], None);
}
