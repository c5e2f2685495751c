//! The client against Hallmark served over HTTPS with a private CA the `openssl` CLI made:
//! trusted through a cert dir (`ca.crt`, and a client certificate beside it), and refused with
//! the fix named when the CA is missing; and mutual TLS, where the registry wants the client
//! certificate the cert dir holds.

use std::path::Path;

use client::{Client, ClientError, ClientOptions};
use fixture_cache::tls::{KeyForm, TestPki, Usage};
use oci::{Digest, DigestAlgorithm};
use registry::ServerTls;

use crate::push_image;
use crate::server::{options, TestRegistry, PASSWORD};

/// Hallmark with token auth over HTTPS; with `client_ca`, clients need a certificate it signed.
fn registry_over_tls(pki: &TestPki, client_ca: Option<&Path>) -> TestRegistry {
    let tls = ServerTls::from_pem_files(&pki.server_cert(), &pki.server_key(), client_ca).unwrap();
    TestRegistry::with_auth_over_tls(tls)
}

fn client_with_cert_dir(cert_dir: &Path) -> Client {
    Client::new(ClientOptions {
        cert_dir: Some(cert_dir.to_owned()),
        ..options(Some(("root", PASSWORD)))
    })
    .unwrap()
}

#[test]
#[ignore = "needs openssl"]
fn push_and_pull_over_tls_trusting_the_ca_of_a_cert_dir() {
    let pki = TestPki::new();
    let registry = registry_over_tls(&pki, None);
    let cert_dir = tempfile::tempdir().unwrap();
    std::fs::copy(pki.ca_cert(), cert_dir.path().join("ca.crt")).unwrap();
    // A client certificate is read and offered; this server does not ask for one.
    let (cert, key) = pki.issue("client", KeyForm::EcSec1, Usage::Client);
    std::fs::copy(cert, cert_dir.path().join("client.cert")).unwrap();
    std::fs::copy(key, cert_dir.path().join("client.key")).unwrap();
    let client = client_with_cert_dir(cert_dir.path());
    let repo = registry.repo("tls/image");

    // A loopback registry with a cert dir gets HTTPS, and the token realm is https too.
    let pushed = push_image(&client, &repo, "v1", "over tls");
    let fetched = client.manifest(&repo, "v1").unwrap();
    assert_eq!(
        (fetched.digest, fetched.bytes),
        (pushed.digest, pushed.manifest)
    );
    let layer = client.blob(&repo, &pushed.layer.digest).unwrap();
    assert_eq!(
        Digest::of(DigestAlgorithm::Sha256, &layer),
        pushed.layer.digest
    );
}

#[test]
#[ignore = "needs openssl"]
fn an_untrusted_certificate_names_the_cert_dir_fix() {
    let pki = TestPki::new();
    let registry = registry_over_tls(&pki, None);
    let empty = tempfile::tempdir().unwrap();
    let client = client_with_cert_dir(empty.path());
    let error = client
        .manifest(&registry.repo("tls/image"), "v1")
        .unwrap_err();
    assert!(
        matches!(error, ClientError::UntrustedCertificate { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("is not trusted"), "{message}");
    let fix = format!("{}/ca.crt", empty.path().display());
    assert!(message.contains(&fix), "{message}");

    // Without any certificate folder a loopback registry is spoken to in plain HTTP; its
    // refusal is explained with the same fix.
    let plain = Client::new(options(None)).unwrap();
    let error = plain
        .manifest(&registry.repo("tls/image"), "v1")
        .unwrap_err();
    assert!(
        matches!(error, ClientError::ServesHttps { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("--cert-dir"), "{error}");
}

#[test]
#[ignore = "needs openssl"]
fn mutual_tls_takes_the_client_certificate_of_the_cert_dir() {
    let pki = TestPki::new();
    let registry = registry_over_tls(&pki, Some(&pki.ca_cert()));
    let cert_dir = tempfile::tempdir().unwrap();
    std::fs::copy(pki.ca_cert(), cert_dir.path().join("ca.crt")).unwrap();
    let repo = registry.repo("mtls/image");

    let error = client_with_cert_dir(cert_dir.path())
        .manifest(&repo, "v1")
        .unwrap_err();
    assert!(
        matches!(error, ClientError::ClientCertificate { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("client.cert + client.key"),
        "{error}"
    );

    let (cert, key) = pki.issue("client", KeyForm::RsaPkcs1, Usage::Client);
    std::fs::copy(cert, cert_dir.path().join("client.cert")).unwrap();
    std::fs::copy(key, cert_dir.path().join("client.key")).unwrap();
    let client = client_with_cert_dir(cert_dir.path());
    let pushed = push_image(&client, &repo, "v1", "mutual tls");
    assert_eq!(client.manifest(&repo, "v1").unwrap().digest, pushed.digest);
}
