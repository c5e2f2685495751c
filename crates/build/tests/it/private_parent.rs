//! An external parent in a private repository of another registry (Hallmark's, with token
//! auth, in process): the daemon pulls it with the credentials the docker config holds for
//! that registry (`X-Registry-Auth`), never with the agent's own, and without them the pull
//! is refused.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use access::clock::SystemClock;
use access::password::Passwords;
use access::token::TokenKey;
use build::docker::{Daemon, DockerEngine, ParentRegistry, RegistryAuth};
use build::engine::{ParentOrigin, PinnedParent};
use oci::ImageReference;
use registry::{Auth, AuthConfig};
use store::{AccountKind, MetaStore};

use crate::docker_engine::{build, context_with, request, run, BASE};
use crate::hallmark_registry::HallmarkRegistry;

const PASSWORD: &str = "vendor secret";

/// Hallmark's registry with token auth: the admin `vendor`, and the private repository
/// `vendor/private`.
fn private_registry() -> HallmarkRegistry {
    HallmarkRegistry::start(|registry, meta| async move {
        let passwords = Passwords::with_cost(8, 1, 1).unwrap();
        let mut account =
            registry::admin::new_account("vendor", AccountKind::User, PASSWORD, &passwords)
                .unwrap();
        account.admin = true;
        assert!(meta.create_account(&account, "test").await.unwrap());
        meta.set_private("vendor/private", true, "test")
            .await
            .unwrap();
        let config = AuthConfig {
            passwords,
            ..AuthConfig::default()
        };
        registry.with_auth(Auth::new(
            TokenKey::generate().unwrap(),
            config,
            Arc::new(SystemClock),
        ))
    })
}

/// `docker login` into a docker config folder of the test's own, kept in its file.
fn docker_login(config: &Path, registry: &str) {
    fixture_cache::docker_config_for(config, registry);
    let mut login = Command::new("docker")
        .arg("--config")
        .arg(config)
        .args([
            "login",
            "--username",
            "vendor",
            "--password-stdin",
            registry,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("docker runs");
    std::io::Write::write_all(&mut login.stdin.take().unwrap(), PASSWORD.as_bytes()).unwrap();
    let output = login.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "docker login: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An engine whose client reads the docker config in `config` (`None`: an empty one), with
/// agent credentials for the program's registry that must not reach the parent's.
fn engine_with(config: Option<&Path>, empty: &Path) -> DockerEngine {
    let daemon = Daemon::from_env().expect("DOCKER_HOST names a unix socket");
    let parents = ParentRegistry {
        host: "127.0.0.1:1".to_owned(),
        auth: Some(RegistryAuth {
            username: "agent".to_owned(),
            password: "agent secret".to_owned(),
        }),
    };
    let client = client::Client::new(client::ClientOptions {
        creds: Some(client::Credentials::new("agent", "agent secret")),
        creds_registry: Some(parents.host.clone()),
        docker_config: Some(config.unwrap_or(empty).join("config.json")),
        ..client::ClientOptions::default()
    })
    .unwrap();
    DockerEngine::new(daemon, parents, client).reproducible(true)
}

#[test]
#[ignore = "needs dockerd"]
fn a_private_external_parent_is_pulled_with_the_docker_configs_credentials() {
    let registry = private_registry();
    let host = registry.address.to_string();
    let parent_name = format!("{host}/vendor/private:1");
    let (dir, context) = context_with(&format!(
        "FROM {parent_name}\nRUN [\"/bin/sh\", \"-c\", \"echo built > /etc/note\"]\n"
    ));
    let config = dir.path().join("docker-config");
    let empty = dir.path().join("no-docker-config");
    std::fs::create_dir_all(&empty).unwrap();
    docker_login(&config, &host);
    run(Command::new("docker").args(["tag", BASE, &parent_name]));
    run(Command::new("docker")
        .arg("--config")
        .arg(&config)
        .args(["push", &parent_name]));
    let parent_repo = client::Repository::parse(&format!("{host}/vendor/private")).unwrap();
    let digest = client::Client::new(client::ClientOptions {
        docker_config: Some(config.join("config.json")),
        ..client::ClientOptions::default()
    })
    .unwrap()
    .manifest(&parent_repo, "1")
    .expect("the docker config's credentials read the private parent")
    .digest;
    let pinned = format!("{host}/vendor/private@{digest}");
    // The daemon must fetch the parent from the registry, not find it by either name.
    forget(&[&parent_name, &pinned]);
    let parent = PinnedParent {
        image: ImageReference::parse(&parent_name).unwrap(),
        digest: digest.clone(),
        origin: ParentOrigin::External,
    };

    let mut refused = request(&context, dir.path().join("refused"));
    refused.parents = vec![parent.clone()];
    let (result, log) = build(&engine_with(None, &empty), &refused);
    let error = result.expect_err("without credentials the private parent is refused");
    assert!(
        error
            .to_string()
            .contains(&format!("cannot pull the parent {pinned}")),
        "{error}\n{log}"
    );

    let mut asked = request(&context, dir.path().join("built"));
    asked.parents = vec![parent];
    let (built, log) = build(&engine_with(Some(&config), &empty), &asked);
    let built = built.unwrap_or_else(|err| panic!("{err}\n{log}"));
    assert!(
        log.contains(&format!("pinned {parent_name} to {pinned}")),
        "{log}"
    );
    let shared = built
        .shared
        .expect("the child starts with its parent's layer");
    assert_eq!(shared.repository, format!("{host}/vendor/private"));
    forget(&[&parent_name, &pinned]);
}

/// Removes the daemon's names for the parent (a name it does not hold is no error).
fn forget(names: &[&str]) {
    for name in names {
        let _ = Command::new("docker")
            .args(["rmi", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
