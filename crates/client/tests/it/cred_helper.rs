//! Credentials from a real docker credential helper: Debian's `docker-credential-pass`
//! (golang-docker-credential-helpers) over `pass` and GnuPG, in a throwaway key ring and
//! password store, holding what the helper's own `store` command put there.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64ct::Encoding as _;
use client::{Client, ClientError, ClientOptions};
use oci::manifest::MediaType;

use crate::push_image;
use crate::server::{client, options, TestRegistry, PASSWORD};

/// A GnuPG home with a key made without a passphrase and a `pass` store for it, removed (and
/// the gpg-agent that decryptions started there ended) when dropped. The helper that clients
/// start inherits the test process's environment, so `GNUPGHOME` and `PASSWORD_STORE_DIR`
/// point there (the one test that makes a store; no other test reads them).
struct PassStore {
    _folder: tempfile::TempDir,
    gnupg: PathBuf,
    store: PathBuf,
}

impl PassStore {
    fn new() -> PassStore {
        let folder = tempfile::tempdir().unwrap();
        let gnupg = folder.path().join("gnupg");
        let store = folder.path().join("store");
        std::fs::create_dir(&gnupg).unwrap();
        std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let parameters = folder.path().join("key");
        std::fs::write(
            &parameters,
            "%no-protection\nKey-Type: EDDSA\nKey-Curve: ed25519\nSubkey-Type: ECDH\n\
                 Subkey-Curve: cv25519\nName-Real: Hallmark Test\n\
                 Name-Email: helper@hallmark.invalid\nExpire-Date: 0\n%commit\n",
        )
        .unwrap();
        std::env::set_var("GNUPGHOME", &gnupg);
        std::env::set_var("PASSWORD_STORE_DIR", &store);
        let pass = PassStore {
            _folder: folder,
            gnupg,
            store,
        };
        pass.run(
            "gpg",
            &["--batch", "--quiet", "--gen-key"],
            Some(&parameters),
        );
        pass.run("pass", &["init", "helper@hallmark.invalid"], None);
        pass
    }

    fn run(&self, program: &str, args: &[&str], file: Option<&Path>) {
        let mut command = Command::new(program);
        command.args(args).env("GNUPGHOME", &self.gnupg);
        if let Some(file) = file {
            command.arg(file);
        }
        let output = command.output().expect("gpg and pass are installed");
        assert!(
            output.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Stores credentials with the helper's own `store` command, as `docker login` does.
    fn store(&self, server: &str, username: &str, secret: &str) {
        let mut child = Command::new("docker-credential-pass")
            .arg("store")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker-credential-pass is installed");
        let request =
            serde_json::json!({ "ServerURL": server, "Username": username, "Secret": secret });
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.to_string().as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "store: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }

    /// The file `pass` keeps a server's secret in.
    fn entry(&self, server: &str, username: &str) -> PathBuf {
        let key = base64ct::Base64Url::encode_string(server.as_bytes());
        self.store
            .join("docker-credential-helpers")
            .join(key)
            .join(format!("{username}.gpg"))
    }
}

impl Drop for PassStore {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", &self.gnupg)
            .status();
    }
}

/// A client whose docker config is `config`.
fn configured(config: serde_json::Value) -> (Client, tempfile::TempDir) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("config.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let client = Client::new(ClientOptions {
        docker_config: Some(path),
        ..options(None)
    })
    .unwrap();
    (client, folder)
}

#[test]
#[ignore = "needs docker-credential-pass"]
fn docker_credential_pass_logs_in_with_passwords_and_identity_tokens() {
    let pass = PassStore::new();
    let with_password = TestRegistry::with_auth();
    let with_token = TestRegistry::with_auth();
    let unknown = TestRegistry::with_auth();
    let (password_host, token_host) = (
        with_password.address.to_string(),
        with_token.address.to_string(),
    );
    pass.store(&password_host, "root", PASSWORD);
    pass.store(&token_host, "<token>", &with_token.refresh_token());
    let public = unknown.repo("library/public");
    let image = push_image(&client(Some(("root", PASSWORD))), &public, "1", "public");

    // credsStore for every registry, and credHelpers for one.
    let store_everywhere = serde_json::json!({ "auths": {}, "credsStore": "pass" });
    let helper_for_one = serde_json::json!({ "credHelpers": { password_host.clone(): "pass" } });
    for config in [store_everywhere.clone(), helper_for_one] {
        let (helped, _config) = configured(config.clone());
        let repo = with_password.repo("library/helped");
        let pushed = push_image(&helped, &repo, "1", "helped");
        assert_eq!(
            helped.manifest(&repo, "1").unwrap().digest,
            pushed.digest,
            "{config}"
        );
    }

    // An identity token (`<token>`) is traded with an OAuth2 refresh_token grant.
    let (helped, _config) = configured(store_everywhere.clone());
    push_image(&helped, &with_token.repo("library/token"), "1", "token");
    let grants = with_token
        .metric("hallmark_http_requests_total{route=\"token\",method=\"POST\",status=\"200\"}");
    assert!(grants >= 1, "the identity token was not traded");

    // Nothing stored: anonymous, as for docker (public pulls work, pushes are refused).
    assert_eq!(helped.manifest(&public, "1").unwrap().digest, image.digest);
    let err = helped
        .push_blob_bytes(&public, MediaType::OCI_LAYER, b"anonymous")
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Unauthorized { user: None, .. }),
        "{err}"
    );

    // A secret the helper cannot decrypt is its failure, named in one line.
    std::fs::write(
        pass.entry(&password_host, "root"),
        b"not an OpenPGP message",
    )
    .unwrap();
    let (broken, _config) = configured(store_everywhere);
    let err = broken
        .push_blob_bytes(
            &with_password.repo("library/helped"),
            MediaType::OCI_LAYER,
            b"x",
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "docker-credential-pass could not give the credentials for {password_host}: exit status: 1"
        )) && !text.contains('\n'),
        "{text}"
    );
}
