//! What `hallmark sign` and `attest` store, read back by verifiers that are not ours
//! (OpenSSL, securesystemslib, sigstore-js), and the commands against registries unlike the
//! open `hallmark serve`: distribution 2.8 (no referrers API, no tiers) and token auth.

use std::path::{Path, PathBuf};
use std::process::Command;

use attest::attach::{envelope_layers, signature_layers};
use attest::cosign::{legacy_signature_tag, SignedPayload};
use fixture_cache::Distribution;
use oci::manifest::{ImageIndex, ImageManifest};
use serde_json::Value;

use crate::attest_cmds::{multi_arch_layout, Signed, POLICY, REPOSITORY};
use crate::registry_clients::run;
use crate::server::Server;

/// Runs an independent verifier in `folder`; whether it succeeded, and what it printed.
fn verifier(program: &str, args: &[&str], folder: &Path) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .current_dir(folder)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not start ({e}); .ci/run installs it"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

const SECURESYSTEMSLIB_VERIFY: &str = r#"
import hashlib, json, sys
from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
public = serialization.load_pem_public_key(open(sys.argv[2], "rb").read())
der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
key = SSlibKey.from_crypto(public, keyid=hashlib.sha256(der).hexdigest(), scheme="ecdsa-sha2-nistp256")
Envelope.from_dict(json.load(open(sys.argv[1]))).verify([key], 1)
print("verified")
"#;

#[test]
#[ignore = "needs skopeo, openssl, securesystemslib and @sigstore/verify"]
fn independent_verifiers_accept_what_the_registry_stores() {
    let signed = Signed::new();
    let folder = signed.work.path().to_path_buf();
    let public = signed.path("release.pub");
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let path = folder.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };

    // OpenSSL over the `.sig` payload bytes exactly as stored, for every signed manifest.
    for digest in signed.all_digests() {
        let manifest: ImageManifest = signed.manifest(REPOSITORY, &legacy_signature_tag(&digest));
        let (layer, signature) = signature_layers(&manifest)
            .next()
            .expect("a signature layer");
        let stored = SignedPayload::from_stored(signed.blob(REPOSITORY, layer), signature).unwrap();
        write("payload", &stored.payload);
        write("sig.der", &stored.signature);
        let args = [
            "dgst",
            "-sha256",
            "-verify",
            &public,
            "-signature",
            "sig.der",
            "payload",
        ];
        let (ok, output) = verifier("openssl", &args, &folder);
        assert!(ok && output.contains("Verified OK"), "{digest}: {output}");
    }

    // securesystemslib over each DSSE layer of the index's attestation manifests.
    let index: ImageIndex = signed.manifest(REPOSITORY, "linux");
    write("verify.py", SECURESYSTEMSLIB_VERIFY.as_bytes());
    let mut envelopes = 0;
    for entry in index
        .manifests
        .iter()
        .filter(|e| attest::attach::attestation_subject(e).is_some())
    {
        let manifest: ImageManifest = signed.manifest(REPOSITORY, entry.digest.as_str());
        for layer in envelope_layers(&manifest) {
            write("envelope.json", &signed.blob(REPOSITORY, layer));
            let (ok, output) =
                verifier("python3", &["verify.py", "envelope.json", &public], &folder);
            assert!(ok, "{}: {output}", layer.digest);
            envelopes += 1;
        }
    }
    assert_eq!(
        envelopes, 6,
        "provenance, SPDX and CycloneDX for each of two platforms"
    );

    // sigstore-js over the bundle referrer of every signed manifest.
    write(
        "verify-bundle.js",
        include_bytes!("../../../attest/tests/data/verify-bundle.js"),
    );
    let key_id = attest::PublicKey::from_pem(&std::fs::read_to_string(&public).unwrap())
        .unwrap()
        .key_id()
        .to_owned();
    for digest in signed.all_digests() {
        let referrers: ImageIndex =
            serde_json::from_slice(&signed.get(&format!("/v2/{REPOSITORY}/referrers/{digest}")))
                .unwrap();
        let bundle = referrers
            .manifests
            .iter()
            .find(|d| d.artifact_type.as_deref() == Some(attest::cosign::BUNDLE_MEDIA_TYPE))
            .expect("a bundle referrer");
        let manifest: ImageManifest = signed.manifest(REPOSITORY, bundle.digest.as_str());
        write("bundle.json", &signed.blob(REPOSITORY, &manifest.layers[0]));
        let (ok, output) = verifier(
            "node",
            &["verify-bundle.js", "bundle.json", &public, &key_id],
            &folder,
        );
        assert!(ok && output.contains("verified"), "{digest}: {output}");
    }
}

#[test]
#[ignore = "needs skopeo and docker-registry"]
fn another_registry_without_referrers_or_tiers_works_and_says_tier_unknown() {
    let registry = Distribution::start();
    // Pushed, attested and signed on distribution: referrers go to the referrers tag schema.
    let signed = Signed::on(Some(registry.address()));
    let key = signed.path("release.pub");
    let (code, answer) = signed.verify(REPOSITORY, &["--key", &key]);
    assert_eq!(code, 0, "{answer:#}");
    assert_eq!(answer["tier"], Value::Null);
    let bundles = answer["manifests"][0]["report"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["about"].as_str().unwrap().ends_with("(bundle)"))
        .count();
    assert!(
        bundles > 0,
        "no bundle found through the referrers tag: {answer:#}"
    );
    let text = signed.succeed(&["verify", &signed.image(REPOSITORY), "--key", &key]);
    assert!(text.contains("tier unknown"), "{text}");

    let policy = signed.policy("policy.toml", POLICY);
    let (code, answer) = signed.verify(REPOSITORY, &["--key", &key, "--policy", &policy]);
    assert_eq!(
        (code, answer["failure"]["reason"].as_str()),
        (19, Some("tier-unknown")),
        "{answer:#}"
    );
}

#[test]
#[ignore = "needs skopeo"]
fn registries_with_token_auth_take_skopeos_creds() {
    let work = tempfile::tempdir().unwrap();
    let server = Server::start_with_auth(&work.path().join("data"), "admin-secret");
    let layout = work.path().join("layout");
    multi_arch_layout(&layout);
    let image = format!("{}/{REPOSITORY}:linux", server.host());
    run(
        &server,
        Command::new("skopeo").args([
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            "--dest-creds=admin:admin-secret",
            &format!("oci:{}:linux", layout.display()),
            &format!("docker://{image}"),
        ]),
    );
    let prefix = work.path().join("release").display().to_string();
    let hallmark = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .args(args)
            .env_remove("HALLMARK_KEY_PASSWORD")
            .env("HOME", work.path())
            .output()
            .unwrap()
    };
    assert!(hallmark(&["key", "generate", &prefix]).status.success());
    let (key, public) = (format!("{prefix}.key"), format!("{prefix}.pub"));

    let anonymous = hallmark(&["sign", &image, "--key", &key]);
    assert_eq!(anonymous.status.code(), Some(1), "{anonymous:?}");
    let message = String::from_utf8_lossy(&anonymous.stderr);
    assert!(
        message.contains("--creds") || message.contains("use an account that may"),
        "the error does not name the fix: {message}"
    );
    let signed = hallmark(&[
        "sign",
        &image,
        "--key",
        &key,
        "--creds",
        "admin:admin-secret",
    ]);
    assert!(signed.status.success(), "{signed:?}");
    let verified = hallmark(&[
        "verify",
        &image,
        "--key",
        &public,
        "--creds",
        "admin:admin-secret",
    ]);
    let text = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{verified:?}");
    assert!(text.contains("tier official"), "{text}");
}
