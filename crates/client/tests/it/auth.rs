//! Authentication against Hallmark with token auth on (the admin, a user without rights,
//! anonymous clients, wrong passwords, docker config credentials and `docker login`'s refresh
//! tokens), and against a registry that wants Basic credentials.

use base64ct::Encoding as _;
use client::{Client, ClientError, ClientOptions};
use oci::manifest::MediaType;

use crate::server::{client, options, Quirk, TestRegistry, PASSWORD};
use crate::{push_image, push_referrer};

fn token_requests(registry: &TestRegistry) -> u64 {
    registry.metric("hallmark_http_requests_total{route=\"token\",method=\"GET\",status=\"200\"}")
}

#[test]
fn the_admin_pushes_and_pulls_everything_with_tokens_earned_once_per_scope() {
    let registry = TestRegistry::with_auth();
    let admin = client(Some(("root", PASSWORD)));
    let repo = registry.repo("library/secure");
    let image = push_image(&admin, &repo, "1", "secure");
    let after_push = token_requests(&registry);
    assert!(after_push >= 1, "no token was fetched");

    assert_eq!(admin.manifest(&repo, "1").unwrap().digest, image.digest);
    assert_eq!(admin.tags(&repo).unwrap(), ["1"]);
    let signature = push_referrer(
        &admin,
        &repo,
        &image.manifest,
        "application/vnd.example.sig",
    );
    let referrers = admin.referrers(&repo, &image.digest, None).unwrap();
    assert_eq!(referrers.len(), 1);
    assert_eq!(referrers[0].digest, signature);
    let other = registry.repo("library/copy");
    assert!(admin
        .mount_blob(&other, &image.layer.digest, &repo)
        .unwrap());
    let before_repeats = token_requests(&registry);
    for _ in 0..3 {
        admin.manifest(&repo, "1").unwrap();
        admin.blob(&repo, &image.config.digest).unwrap();
    }
    assert_eq!(
        token_requests(&registry),
        before_repeats,
        "cached tokens were not reused"
    );
    admin.delete_manifest(&repo, &signature).unwrap();
    assert!(admin
        .manifest(&repo, signature.as_str())
        .unwrap_err()
        .is_not_found());
}

#[test]
fn anonymous_clients_pull_public_images_but_are_told_how_to_push() {
    let registry = TestRegistry::with_auth();
    let repo = registry.repo("library/public");
    let image = push_image(&client(Some(("root", PASSWORD))), &repo, "1", "public");

    let anonymous = client(None);
    assert_eq!(anonymous.manifest(&repo, "1").unwrap().digest, image.digest);
    assert_eq!(
        anonymous.blob(&repo, &image.layer.digest).unwrap().len() as u64,
        image.layer.size
    );

    let err = anonymous
        .push_blob_bytes(&repo, MediaType::OCI_LAYER, b"anonymous")
        .unwrap_err();
    let ClientError::Unauthorized { user: None, .. } = &err else {
        panic!("expected a 401 without a user, got {err:?}");
    };
    assert!(
        err.to_string()
            .starts_with(&format!("401 from {}:", registry.address))
            && err
                .to_string()
                .ends_with("pass --creds USER:PASS or run docker login"),
        "{err}"
    );
}

#[test]
fn a_wrong_password_is_refused_with_the_fix() {
    let registry = TestRegistry::with_auth();
    let wrong = client(Some(("root", "wrong horse")));
    let err = wrong
        .manifest(&registry.repo("library/any"), "latest")
        .unwrap_err();
    let ClientError::Unauthorized { user, .. } = &err else {
        panic!("expected a 401, got {err:?}");
    };
    assert_eq!(user.as_deref(), Some("root"));
    assert!(
        err.to_string()
            .contains("the credentials of \"root\" were refused"),
        "{err}"
    );
}

#[test]
fn a_user_without_rights_is_denied_not_asked_for_a_password() {
    let registry = TestRegistry::with_auth();
    let user = client(Some(("uma", PASSWORD)));
    let err = user
        .push_blob_bytes(
            &registry.repo("library/official"),
            MediaType::OCI_LAYER,
            b"x",
        )
        .unwrap_err();
    let ClientError::Denied {
        user, repository, ..
    } = &err
    else {
        panic!("expected a denial, got {err:?}");
    };
    assert_eq!(
        (user.as_deref(), repository.as_str()),
        (Some("uma"), "library/official")
    );
    assert!(
        err.to_string()
            .contains("uma may not do this to library/official"),
        "{err}"
    );
}

/// Writes a docker config holding `auth` for the registry; returns its folder.
fn docker_config(registry: &TestRegistry, entry: serde_json::Value) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let config = serde_json::json!({ "auths": { registry.address.to_string(): entry } });
    std::fs::write(folder.path().join("config.json"), config.to_string()).unwrap();
    folder
}

fn with_config(folder: &tempfile::TempDir) -> Client {
    Client::new(ClientOptions {
        docker_config: Some(folder.path().join("config.json")),
        ..options(None)
    })
    .unwrap()
}

#[test]
fn docker_config_credentials_and_refresh_tokens_log_in() {
    let registry = TestRegistry::with_auth();
    let auth = base64ct::Base64::encode_string(format!("root:{PASSWORD}").as_bytes());
    let folder = docker_config(&registry, serde_json::json!({ "auth": auth }));
    push_image(
        &with_config(&folder),
        &registry.repo("library/cfg"),
        "1",
        "cfg",
    );

    // What `docker login` keeps for a registry that hands out refresh tokens.
    let refresh = registry.refresh_token();
    let folder = docker_config(
        &registry,
        serde_json::json!({ "auth": base64ct::Base64::encode_string(b"root:"), "identitytoken": refresh }),
    );
    push_image(
        &with_config(&folder),
        &registry.repo("library/cfg"),
        "2",
        "refresh",
    );
    let posts = registry
        .metric("hallmark_http_requests_total{route=\"token\",method=\"POST\",status=\"200\"}");
    assert!(posts >= 1, "the refresh token was not traded");
}

#[test]
fn a_missing_credential_helper_is_named_only_when_credentials_are_needed() {
    let registry = TestRegistry::with_auth();
    let repo = registry.repo("library/helped");
    let image = push_image(&client(Some(("root", PASSWORD))), &repo, "1", "helped");
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(
        folder.path().join("config.json"),
        r#"{"auths": {}, "credsStore": "hallmark-test-missing"}"#,
    )
    .unwrap();
    let helped = with_config(&folder);
    assert_eq!(helped.manifest(&repo, "1").unwrap().digest, image.digest);
    let err = helped
        .push_blob_bytes(&repo, MediaType::OCI_LAYER, b"y")
        .unwrap_err();
    let expected = format!(
        "docker-credential-hallmark-test-missing could not give the credentials for {}: \
         docker-credential-hallmark-test-missing is not installed (not on PATH); fix the helper",
        registry.address
    );
    assert!(err.to_string().starts_with(&expected), "{err}");
}

#[test]
fn basic_auth_registries_get_the_credentials_once_asked() {
    let registry = TestRegistry::open(Quirk::BasicAuth);
    let repo = registry.repo("library/basic");
    let ann = client(Some(("ann", PASSWORD)));
    let image = push_image(&ann, &repo, "1", "basic");
    assert_eq!(ann.manifest(&repo, "1").unwrap().digest, image.digest);
    assert_eq!(ann.tags(&repo).unwrap(), ["1"]);

    let err = client(None).manifest(&repo, "1").unwrap_err();
    assert!(
        matches!(err, ClientError::Unauthorized { user: None, .. }),
        "{err}"
    );
    let err = client(Some(("ann", "nope")))
        .manifest(&repo, "1")
        .unwrap_err();
    assert!(err.to_string().contains("\"ann\" were refused"), "{err}");
}
