//! Independent verifiers: Python's securesystemslib checks our DSSE envelopes, sigstore-js
//! (`@sigstore/verify`, found through `NODE_PATH`) our bundles, OpenSSL checks
//! simple-signing signatures over the stored payload bytes and reads our key files. `.ci/run`
//! installs them all; locally they are ignored unless asked for.

use std::path::Path;
use std::process::Command;

use attest::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use attest::PrivateKey;

use crate::fixture::Signed;

/// Runs `program args…`, returning whether it succeeded and what it printed.
fn run(program: &str, args: &[&str], folder: &Path) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .current_dir(folder)
        .output()
        .unwrap_or_else(|error| {
            panic!("{program} could not start ({error}); install it or skip this ignored test")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Runs `openssl` with the words of `arguments`, in `folder`.
fn openssl(arguments: &str, folder: &Path) -> (bool, String) {
    let words: Vec<&str> = arguments.split_whitespace().collect();
    run("openssl", &words, folder)
}

const SECURESYSTEMSLIB_VERIFY: &str = r#"
import hashlib, json, sys
from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

public = serialization.load_pem_public_key(open("key.pub", "rb").read())
der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
keyid = hashlib.sha256(der).hexdigest()
key = SSlibKey.from_crypto(public, keyid=keyid, scheme="ecdsa-sha2-nistp256")
envelope = Envelope.from_dict(json.load(open(sys.argv[1])))
envelope.verify([key], 1)
print("verified", keyid)
"#;

#[test]
#[ignore = "needs securesystemslib"]
fn securesystemslib_verifies_our_envelopes() {
    let folder = tempfile::tempdir().unwrap();
    let signed = Signed::new();
    let envelope = signed.provenance_envelope();
    let mut tampered = envelope.clone();
    tampered.payload.push(b' ');
    let other = Envelope::sign(
        IN_TOTO_PAYLOAD_TYPE,
        envelope.payload.clone(),
        &PrivateKey::generate().unwrap(),
    );
    std::fs::write(
        folder.path().join("key.pub"),
        signed.key.public_key().to_pem(),
    )
    .unwrap();
    std::fs::write(folder.path().join("verify.py"), SECURESYSTEMSLIB_VERIFY).unwrap();
    for (name, envelope) in [
        ("good.json", &envelope),
        ("tampered.json", &tampered),
        ("other.json", &other),
    ] {
        std::fs::write(folder.path().join(name), envelope.to_json()).unwrap();
    }

    let (ok, output) = run("python3", &["verify.py", "good.json"], folder.path());
    assert!(ok, "{output}");
    // securesystemslib matches signatures to keys by key id, so this also checks that ours is
    // the SHA-256 of the SubjectPublicKeyInfo as the specification of the issue defines it.
    assert!(
        output.contains(signed.key.public_key().key_id()),
        "{output}"
    );
    for refused in ["tampered.json", "other.json"] {
        let (ok, output) = run("python3", &["verify.py", refused], folder.path());
        assert!(!ok, "{refused} verified: {output}");
        assert!(output.contains("VerificationError"), "{refused}: {output}");
    }
}

#[test]
#[ignore = "needs openssl"]
fn openssl_verifies_simple_signing_signatures_over_the_stored_bytes() {
    let folder = tempfile::tempdir().unwrap();
    let signed = Signed::new();
    let attest::verify::Evidence::SimpleSigning(signature) = signed.simple_signing() else {
        unreachable!()
    };
    let files = [
        ("pub.pem", signed.key.public_key().to_pem().into_bytes()),
        ("payload", signature.payload.clone()),
        ("tampered", [signature.payload.as_slice(), b" "].concat()),
        ("sig.der", signature.signature.clone()),
    ];
    for (name, bytes) in files {
        std::fs::write(folder.path().join(name), bytes).unwrap();
    }
    let verify = |payload: &str| {
        let arguments = format!("dgst -sha256 -verify pub.pem -signature sig.der {payload}");
        openssl(&arguments, folder.path())
    };
    let (ok, output) = verify("payload");
    assert!(ok && output.contains("Verified OK"), "{output}");
    let (ok, output) = verify("tampered");
    assert!(!ok, "a tampered payload verified: {output}");
}

#[test]
#[ignore = "needs openssl"]
fn openssl_reads_our_key_files_and_agrees_on_the_key_id() {
    let folder = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate().unwrap();
    std::fs::write(folder.path().join("plain.key"), key.to_pem(None).unwrap()).unwrap();
    std::fs::write(
        folder.path().join("encrypted.key"),
        key.to_pem(Some(b"s3cret")).unwrap(),
    )
    .unwrap();
    for arguments in [
        "pkey -in plain.key -pubout",
        "pkey -in encrypted.key -passin pass:s3cret -pubout",
    ] {
        let (ok, output) = openssl(arguments, folder.path());
        assert!(ok, "{arguments}: {output}");
        assert_eq!(output, key.public_key().to_pem(), "{arguments}");
    }
    let wrong = "pkey -in encrypted.key -passin pass:wrong -pubout";
    let (ok, output) = openssl(wrong, folder.path());
    assert!(!ok, "a wrong password opened the key: {output}");

    // And the other way: a key OpenSSL encrypted (PBES2 with PBKDF2 and AES-256-CBC) opens here.
    let generate = "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-256-cbc \
                    -pass pass:s3cret -out theirs.key";
    let (ok, output) = openssl(generate, folder.path());
    assert!(ok, "{output}");
    let theirs = std::fs::read_to_string(folder.path().join("theirs.key")).unwrap();
    let read = PrivateKey::from_pem(&theirs, Some(b"s3cret")).unwrap();
    let public = "pkey -in theirs.key -passin pass:s3cret -pubout";
    let (ok, output) = openssl(public, folder.path());
    assert!(ok, "{output}");
    assert_eq!(output, read.public_key().to_pem());

    std::fs::write(folder.path().join("key.pub"), key.public_key().to_pem()).unwrap();
    let der = Command::new("openssl")
        .args(["pkey", "-pubin", "-in", "key.pub", "-outform", "DER"])
        .current_dir(folder.path())
        .output()
        .unwrap();
    assert!(der.status.success());
    let sha = oci::Digest::of(oci::DigestAlgorithm::Sha256, &der.stdout);
    assert_eq!(sha.hex(), key.public_key().key_id());
}

#[test]
#[ignore = "needs @sigstore/verify"]
fn sigstore_js_verifies_our_bundles_offline_with_our_key() {
    let folder = tempfile::tempdir().unwrap();
    let signed = Signed::new();
    let attest::verify::Evidence::Bundle(bundle) = signed.bundle() else {
        unreachable!()
    };
    let mut tampered = bundle.clone();
    tampered.dsse_envelope.payload.push(b' ');
    let files = [
        (
            "verify-bundle.js",
            include_bytes!("../data/verify-bundle.js").to_vec(),
        ),
        ("key.pub", signed.key.public_key().to_pem().into_bytes()),
        ("bundle.json", bundle.to_json()),
        ("tampered.json", tampered.to_json()),
    ];
    for (name, bytes) in files {
        std::fs::write(folder.path().join(name), bytes).unwrap();
    }
    let key_id = signed.key.public_key().key_id();
    let (ok, output) = run(
        "node",
        &["verify-bundle.js", "bundle.json", "key.pub", key_id],
        folder.path(),
    );
    assert!(ok && output.contains("verified"), "{output}");
    let (ok, output) = run(
        "node",
        &["verify-bundle.js", "tampered.json", "key.pub", key_id],
        folder.path(),
    );
    assert!(
        !ok && output.contains("signature verification failed"),
        "{output}"
    );
}
