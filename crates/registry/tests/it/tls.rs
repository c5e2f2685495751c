//! [`registry::serve_tls`] with certificates the `openssl` CLI made, driven by curl: `/v2/`,
//! a blob whole and in ranges, plain HTTP refused on the TLS port without stopping the server,
//! the token realm in https, and certificate/key pairs that must fail at start.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use access::clock::SystemClock;
use access::token::TokenKey;
use fixture_cache::tls::{KeyForm, TestPki, Usage};
use oci::Digest;
use registry::{Auth, AuthConfig, Registry, RegistryConfig, ServerTls, TlsError, TlsFile};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::sha256;

/// A registry served over TLS with `pki`'s server certificate, with token auth when `auth`;
/// it stops when the returned sender is dropped.
async fn serve_tls(
    pki: &TestPki,
    auth: bool,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tempfile::TempDir,
    JoinHandle<()>,
) {
    let data = tempfile::tempdir().unwrap();
    let (blobs, meta) = store::open_embedded(data.path()).await.unwrap();
    let mut registry = Registry::new(blobs, meta, RegistryConfig::default());
    if auth {
        let key = TokenKey::generate().unwrap();
        registry = registry.with_auth(Auth::new(key, AuthConfig::default(), Arc::new(SystemClock)));
    }
    let app = registry::router(registry);
    let tls = ServerTls::from_pem_files(&pki.server_cert(), &pki.server_key(), None).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop_sender, stop) = oneshot::channel::<()>();
    let server = tokio::spawn(registry::serve_tls(listener, app, tls, async move {
        let _ = stop.await;
    }));
    (address, stop_sender, data, server)
}

/// curl with `args`, off the runtime's thread; returns its whole output, whatever the exit.
async fn curl(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "20"])
            .args(&args)
            .output()
            .expect("run curl")
    })
    .await
    .unwrap()
}

/// curl's arguments to trust `ca`, then `args`.
fn trusting(ca: &Path, args: &[String]) -> Vec<String> {
    let mut all = vec!["--cacert".to_owned(), ca.display().to_string()];
    all.extend_from_slice(args);
    all
}

/// curl trusting `ca`; asserts it succeeded and returns its standard output.
async fn curl_trusting(ca: &Path, args: &[String]) -> Vec<u8> {
    let output = curl(trusting(ca, args)).await;
    assert!(output.status.success(), "curl failed: {output:?}");
    output.stdout
}

/// Pushes `blob` into `name` with curl over TLS, in one monolithic POST; returns its digest.
async fn push_with_curl(pki: &TestPki, address: SocketAddr, name: &str, blob: &[u8]) -> Digest {
    let digest = sha256(blob);
    let upload = pki.dir().join(digest.hex());
    std::fs::write(&upload, blob).unwrap();
    let pushed = curl_trusting(
        &pki.ca_cert(),
        &[
            "--write-out".into(),
            "%{http_code}".into(),
            "--output".into(),
            "/dev/null".into(),
            "--data-binary".into(),
            format!("@{}", upload.display()),
            "--header".into(),
            "content-type: application/octet-stream".into(),
            format!("https://{address}/v2/{name}/blobs/uploads/?digest={digest}"),
        ],
    )
    .await;
    assert_eq!(pushed, b"201");
    digest
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

#[tokio::test]
#[ignore = "needs openssl and curl"]
async fn curl_gets_v2_a_blob_and_ranges_over_tls_and_plain_http_is_refused() {
    let pki = TestPki::new();
    let (address, _stop, _data, _server) = serve_tls(&pki, false).await;
    let ca = pki.ca_cert();
    let base = format!("https://{address}");

    let status = curl_trusting(
        &ca,
        &strings(&[
            "--write-out",
            "%{http_code} %{http_version}",
            "--output",
            "/dev/null",
            &format!("{base}/v2/"),
        ]),
    )
    .await;
    assert_eq!(String::from_utf8(status).unwrap(), "200 1.1");

    // Several MiB, so the body crosses many TLS records and stream chunks.
    let blob: Vec<u8> = (0..5 * 1024 * 1024 + 3)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let digest = push_with_curl(&pki, address, "tls/test", &blob).await;

    let blob_url = format!("{base}/v2/tls/test/blobs/{digest}");
    let whole = curl_trusting(&ca, std::slice::from_ref(&blob_url)).await;
    assert_eq!(sha256(&whole), digest, "the blob came back whole");
    let ranged = curl_trusting(
        &ca,
        &[
            "--range".into(),
            "1000-1099999".into(),
            "--write-out".into(),
            "%{http_code}".into(),
            blob_url.clone(),
        ],
    )
    .await;
    let (body, status) = ranged.split_at(ranged.len() - 3);
    assert_eq!((status, body), (&b"206"[..], &blob[1000..1_100_000]));
    let past_the_end = curl_trusting(
        &ca,
        &[
            "--range".into(),
            format!("{}-", blob.len()),
            "--write-out".into(),
            "%{http_code}".into(),
            "--output".into(),
            "/dev/null".into(),
            blob_url.clone(),
        ],
    )
    .await;
    assert_eq!(past_the_end, b"416");

    // Plain HTTP to the TLS port: a 400 that says why, and the server goes on serving.
    let plain = curl(strings(&["--include", &format!("http://{address}/v2/")])).await;
    let answer = String::from_utf8_lossy(&plain.stdout);
    assert!(answer.starts_with("HTTP/1.1 400"), "{plain:?}");
    assert!(
        answer.contains("HTTP request to an HTTPS server"),
        "{plain:?}"
    );
    // A client that does not trust the CA fails its handshake; the server is not affected.
    let untrusted = curl(vec![format!("{base}/v2/")]).await;
    assert_eq!(
        untrusted.status.code(),
        Some(60),
        "curl's certificate error: {untrusted:?}"
    );
    let again = curl_trusting(&ca, &[blob_url]).await;
    assert_eq!(sha256(&again), digest);
}

#[tokio::test]
#[ignore = "needs openssl and curl"]
async fn the_realm_a_tls_server_advertises_is_https() {
    let pki = TestPki::new();
    let (address, _stop, _data, _server) = serve_tls(&pki, true).await;
    let head = curl_trusting(
        &pki.ca_cert(),
        &strings(&[
            "--head",
            "--header",
            "x-forwarded-proto: http",
            &format!("https://{address}/v2/"),
        ]),
    )
    .await;
    let head = String::from_utf8(head).unwrap().to_lowercase();
    assert!(head.starts_with("http/1.1 401"), "{head}");
    let realm = format!("realm=\"https://{address}/token\"");
    assert!(head.contains(&realm), "{head}");
}

#[test]
#[ignore = "needs openssl"]
fn every_key_form_starts_and_wrong_pairs_fail_with_the_file_named() {
    let pki = TestPki::new();
    for (name, form) in [("sec1", KeyForm::EcSec1), ("rsa", KeyForm::RsaPkcs1)] {
        let (cert, key) = pki.issue(name, form, Usage::Server);
        ServerTls::from_pem_files(&cert, &key, None).unwrap_or_else(|e| panic!("{form:?}: {e}"));
    }
    let (other_cert, _) = pki.issue("other", KeyForm::EcPkcs8, Usage::Server);
    let (cert, key) = (pki.server_cert(), pki.server_key());
    let missing = pki.dir().join("missing.pem");

    let cases: [(&Path, &Path, &str); 4] = [
        (&other_cert, &key, "does not belong to the certificate"),
        (&key, &key, "holds no PEM certificate"),
        (&cert, &cert, "holds no PEM private key"),
        (&cert, &missing, "cannot read the TLS private key"),
    ];
    for (cert_file, key_file, expected) in cases {
        let error = ServerTls::from_pem_files(cert_file, key_file, None).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(expected), "{message}");
        assert!(!message.contains('\n'), "one line: {message}");
        let named = if matches!(error, TlsError::NoCertificate { .. }) {
            cert_file
        } else {
            key_file
        };
        assert!(message.contains(&named.display().to_string()), "{message}");
    }
    let error = ServerTls::from_pem_files(&cert, &key, Some(&key)).unwrap_err();
    assert!(matches!(error, TlsError::NoClientCa { .. }), "{error}");
    assert!(error.to_string().contains("--tls-client-ca"), "{error}");
    ServerTls::from_pem_files(&cert, &key, Some(&pki.ca_cert())).unwrap();
    let error = ServerTls::from_pem_files(&missing, &key, None).unwrap_err();
    assert!(
        matches!(
            error,
            TlsError::Read {
                role: TlsFile::Certificate,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
#[ignore = "needs openssl and curl"]
async fn a_download_in_flight_over_tls_finishes_when_the_server_stops() {
    let pki = TestPki::new();
    let (address, stop, _data, server) = serve_tls(&pki, false).await;
    let ca = pki.ca_cert();
    let blob: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i * 13 % 251) as u8).collect();
    let digest = push_with_curl(&pki, address, "tls/stop", &blob).await;
    let url = format!("https://{address}/v2/tls/stop/blobs/");

    // About two seconds at this rate: the stop comes while the body is on its way.
    let slowly = ["--limit-rate".into(), "4M".into(), format!("{url}{digest}")];
    let download = tokio::spawn(curl(trusting(&ca, &slowly)));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(stop);
    let downloaded = download.await.unwrap();
    assert!(downloaded.status.success(), "{downloaded:?}");
    assert_eq!(
        sha256(&downloaded.stdout),
        digest,
        "the download in flight finished whole"
    );
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("the server stopped")
        .unwrap();
}
