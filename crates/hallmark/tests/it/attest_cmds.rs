//! `hallmark key`, `sign`, `attest` and `verify` against `hallmark serve`, with a multi-platform
//! image pushed and copied by skopeo: the round trip, and each reason verification fails with.
//! The independent verifiers, another registry and token auth are in `attest_interop`.
//!
//! cosign compatibility, as far as the layout goes: the `.sig` tag is what cosign's
//! `pkg/oci/remote` tag-based discovery (`SignatureTag`, suffix `.sig`) reads in
//! `cosign verify --key`, and the bundle referrer is what `cosign verify --key
//! --new-bundle-format` finds through the referrers API (artifact type
//! `application/vnd.dev.sigstore.bundle.v0.3+json`, specs/BUNDLE_SPEC.md). cosign itself is not
//! installed here, so `attest_interop` checks the same bytes with other verifiers.

use std::path::Path;
use std::process::{Command, Output};

use attest::attach::signature_layers;
use attest::cosign::{legacy_signature_tag, SignedPayload};
use attest::provenance::{BuildRecord, ParentImage, Provenance};
use oci::manifest::{Descriptor, ImageManifest};
use serde_json::{json, Value};

use crate::json_answers::{predicate_types, SIGNED_PREDICATES};
use crate::registry_clients::{put_blob, run, tar};
use crate::server::Server;

pub(crate) const REPOSITORY: &str = "library/hello-world";
const BUILDER: &str = "https://hallmark.test/builders/official";
pub(crate) const PASSWORD: &str = "correct horse";

/// A multi-platform OCI layout tagged `linux`: one image for amd64 and one for arm64/v8.
pub(crate) fn multi_arch_layout(layout: &Path) {
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let manifests: Vec<Value> = [("amd64", None), ("arm64", Some("v8"))]
        .into_iter()
        .map(|(architecture, variant)| {
            let layer = tar(&[("hello", format!("hello from {architecture}\n").as_bytes())]);
            let layer = put_blob(layout, "application/vnd.oci.image.layer.v1.tar", &layer);
            let mut config = json!({
                "architecture": architecture, "os": "linux",
                "config": { "Cmd": ["/hello"] },
                "rootfs": { "type": "layers", "diff_ids": [layer["digest"]] },
            });
            let mut platform = json!({ "architecture": architecture, "os": "linux" });
            if let Some(variant) = variant {
                config["variant"] = variant.into();
                platform["variant"] = variant.into();
            }
            let config = put_blob(
                layout,
                "application/vnd.oci.image.config.v1+json",
                config.to_string().as_bytes(),
            );
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config, "layers": [layer],
            });
            let mut entry = put_blob(
                layout,
                "application/vnd.oci.image.manifest.v1+json",
                manifest.to_string().as_bytes(),
            );
            entry["platform"] = platform;
            entry
        })
        .collect();
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let mut entry = put_blob(
        layout,
        "application/vnd.oci.image.index.v1+json",
        index.to_string().as_bytes(),
    );
    entry["annotations"] = json!({ "org.opencontainers.image.ref.name": "linux" });
    let top = json!({ "schemaVersion": 2, "manifests": [entry] });
    std::fs::write(layout.join("index.json"), top.to_string()).unwrap();
}

/// SLSA provenance for `arch`'s build of hello-world's `linux` entry, from the real library
/// file.
fn provenance(arch: oci::Architecture) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/official-images-library/hello-world");
    let file = library::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entry = file
        .entries
        .into_iter()
        .find(|e| e.tags.contains(&"linux".to_owned()));
    let at = |text: &str| text.parse().unwrap();
    let provenance = Provenance::from_build(&BuildRecord {
        entry: &entry.expect("hello-world has a linux entry"),
        arch,
        parents: vec![ParentImage {
            reference: "scratch".into(),
            digest: oci::Digest::of(oci::DigestAlgorithm::Sha256, b"scratch"),
        }],
        builder_id: BUILDER.into(),
        invocation_id: format!("test-{arch}"),
        started_on: at("2025-06-01T11:00:00Z"),
        finished_on: at("2025-06-01T12:00:00Z"),
    });
    serde_json::to_vec(&provenance).unwrap()
}

/// A server with hello-world pushed, attested and signed, and the files the commands use.
pub(crate) struct Signed {
    pub(crate) work: tempfile::TempDir,
    pub(crate) server: Server,
    /// The registry the image is on: the server, or another registry.
    host: String,
    index: oci::Digest,
    platforms: Vec<oci::Digest>,
}

impl Signed {
    pub(crate) fn new() -> Self {
        Self::on(None)
    }

    /// The image on `registry` (`HOST:PORT`), or on a `hallmark serve` of its own.
    pub(crate) fn on(registry: Option<&str>) -> Self {
        let work = tempfile::tempdir().unwrap();
        let server = Server::start(&work.path().join("data"));
        let host = registry.map_or_else(|| server.host(), str::to_owned);
        let this = Self {
            work,
            server,
            host,
            index: digest_of(b""),
            platforms: Vec::new(),
        };
        let generated = this.hallmark(&["key", "generate", &this.path("release")]);
        assert!(generated.status.success(), "{generated:?}");
        let layout = this.work.path().join("layout");
        multi_arch_layout(&layout);
        this.skopeo_copy(
            &format!("oci:{}:linux", layout.display()),
            REPOSITORY,
            "linux",
        );
        let source = format!("oci:{}:linux", layout.display());
        for arch in [oci::Architecture::Amd64, oci::Architecture::Arm64v8] {
            let platform = arch.platform();
            let platform = [
                Some(platform.os),
                Some(platform.architecture),
                platform.variant,
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/");
            // The SBOMs are the scanner's own documents for this platform's image.
            let sboms =
                [("spdx", "spdx-json"), ("cyclonedx", "cyclonedx-json")].map(|(kind, format)| {
                    let document = this.succeed(&[
                        "--format",
                        format,
                        "scan",
                        &source,
                        "--platform",
                        &platform,
                    ]);
                    (kind, document.into_bytes())
                });
            let predicates = [("slsaprovenance1", provenance(arch))]
                .into_iter()
                .chain(sboms);
            for (kind, document) in predicates {
                let file = this.path(&format!("{kind}-{arch}.json"));
                std::fs::write(&file, document).unwrap();
                this.succeed(&[
                    "attest",
                    &this.image(REPOSITORY),
                    "--predicate",
                    &file,
                    "--type",
                    kind,
                    "--platform",
                    arch.as_str(),
                    "--key",
                    &this.path("release.key"),
                ]);
            }
        }
        let signed: Value = serde_json::from_str(&this.succeed(&[
            "--format",
            "json",
            "sign",
            &this.image(REPOSITORY),
            "--key",
            &this.path("release.key"),
        ]))
        .unwrap();
        let digests: Vec<oci::Digest> = signed
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["digest"].as_str().unwrap().parse().unwrap())
            .collect();
        Self {
            index: digests[0].clone(),
            platforms: digests[1..].to_vec(),
            ..this
        }
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.work.path().join(name).display().to_string()
    }

    pub(crate) fn image(&self, repository: &str) -> String {
        format!("{}/{repository}:linux", self.host)
    }

    pub(crate) fn hallmark(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .args(args)
            .env("HALLMARK_KEY_PASSWORD", PASSWORD)
            .env("HOME", self.work.path())
            .output()
            .unwrap()
    }

    pub(crate) fn succeed(&self, args: &[&str]) -> String {
        let output = self.hallmark(args);
        assert!(
            output.status.success(),
            "hallmark {args:?}: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// `skopeo copy --all` of `source` to `repository:tag`, digests kept.
    fn skopeo_copy(&self, source: &str, repository: &str, tag: &str) {
        let destination = format!("docker://{}/{repository}:{tag}", self.host);
        run(
            &self.server,
            Command::new("skopeo").args([
                "copy",
                "--all",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                source,
                &destination,
            ]),
        );
    }

    /// Copies the image and, when `with_signatures`, its `.sig` tags to `repository`.
    fn mirror(&self, repository: &str, with_signatures: bool) {
        let source = |tag: &str| format!("docker://{}/{REPOSITORY}:{tag}", self.host);
        self.skopeo_copy(&source("linux"), repository, "linux");
        if with_signatures {
            for digest in self.all_digests() {
                let tag = legacy_signature_tag(&digest);
                self.skopeo_copy(&source(&tag), repository, &tag);
            }
        }
    }

    pub(crate) fn all_digests(&self) -> Vec<oci::Digest> {
        [vec![self.index.clone()], self.platforms.clone()].concat()
    }

    /// `hallmark verify` with `args` after the image; its exit code and JSON answer.
    pub(crate) fn verify(&self, repository: &str, args: &[&str]) -> (i32, Value) {
        let image = self.image(repository);
        let output = self.hallmark(&[&["--format", "json", "verify", &image][..], args].concat());
        let answer = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
            panic!(
                "verify printed no JSON: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
        (output.status.code().unwrap(), answer)
    }

    pub(crate) fn get(&self, path: &str) -> Vec<u8> {
        let accept =
            "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";
        let reply = self.server.send("GET", path, &[("accept", accept)], b"");
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}");
        reply.body
    }

    pub(crate) fn manifest<T: serde::de::DeserializeOwned>(
        &self,
        repository: &str,
        reference: &str,
    ) -> T {
        serde_json::from_slice(&self.get(&format!("/v2/{repository}/manifests/{reference}")))
            .unwrap()
    }

    pub(crate) fn blob(&self, repository: &str, descriptor: &Descriptor) -> Vec<u8> {
        self.get(&format!("/v2/{repository}/blobs/{}", descriptor.digest))
    }

    /// Pushes a blob and a manifest into `repository` over plain HTTP, as a tamperer would.
    fn put(&self, repository: &str, tag: &str, upload: &attest::attach::Upload) {
        for blob in &upload.blobs {
            let path = format!(
                "/v2/{repository}/blobs/uploads/?digest={}",
                blob.descriptor.digest
            );
            let reply = self.server.send(
                "POST",
                &path,
                &[("content-type", "application/octet-stream")],
                &blob.bytes,
            );
            assert_eq!(reply.status, 201, "{reply:?}");
        }
        let manifest = &upload.manifest;
        let content_type = manifest.descriptor.media_type.as_str();
        let path = format!("/v2/{repository}/manifests/{tag}");
        let reply = self.server.send(
            "PUT",
            &path,
            &[("content-type", content_type)],
            &manifest.bytes,
        );
        assert_eq!(reply.status, 201, "{reply:?}");
    }

    pub(crate) fn policy(&self, name: &str, text: &str) -> String {
        std::fs::write(self.path(name), text).unwrap();
        self.path(name)
    }
}

fn digest_of(bytes: &[u8]) -> oci::Digest {
    oci::Digest::of(oci::DigestAlgorithm::Sha256, bytes)
}

pub(crate) const POLICY: &str = r#"
[[policy]]
name = "official"
scopes = ["library/*"]
level = "strict"
source-repository = "https://github.com/docker-library/hello-world"
commit = "3981a44a531e7c844d844e12cbbda232d10d5dfb"
builder-id = "https://hallmark.test/builders/official"
minimum-tier = "official"
"#;

#[test]
#[ignore = "needs skopeo"]
fn signed_images_verify_and_survive_a_skopeo_copy_with_their_signatures() {
    let signed = Signed::new();
    let policy = signed.policy("policy.toml", POLICY);
    let key = signed.path("release.pub");
    let (code, answer) = signed.verify(REPOSITORY, &["--key", &key, "--policy", &policy]);
    assert_eq!(code, 0, "{answer:#}");
    assert_eq!(answer["tier"], "official");
    let manifests = answer["manifests"].as_array().unwrap();
    assert_eq!(
        manifests.len(),
        3,
        "two platforms, then the index: {answer:#}"
    );
    for platform in &manifests[..2] {
        assert_eq!(predicate_types(platform), SIGNED_PREDICATES, "{platform:#}");
    }
    // Text output names every check.
    let text = signed.succeed(&[
        "verify",
        &signed.image(REPOSITORY),
        "--key",
        &key,
        "--policy",
        &policy,
    ]);
    for expected in [
        "tier official",
        "GitRepo is https://github.com/docker-library/hello-world.git",
        "signature verifies",
        "verified",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }

    // skopeo copies the index with its attestation manifests, not the signatures beside it.
    signed.mirror("library/mirror", false);
    let (code, answer) = signed.verify("library/mirror", &["--key", &key, "--policy", &policy]);
    assert_eq!(
        (code, answer["failure"]["reason"].as_str()),
        (11, Some("signature-not-mirrored")),
        "{answer:#}"
    );
    signed.mirror("library/mirror", true);
    let (code, answer) = signed.verify("library/mirror", &["--key", &key, "--policy", &policy]);
    assert_eq!(code, 0, "{answer:#}");

    // The key is encrypted because HALLMARK_KEY_PASSWORD was set; without it, it is not.
    let private = std::fs::read_to_string(signed.path("release.key")).unwrap();
    assert!(
        private.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{private}"
    );
    let plain = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["key", "generate", &signed.path("plain")])
        .env_remove("HALLMARK_KEY_PASSWORD")
        .output()
        .unwrap();
    assert!(plain.status.success(), "{plain:?}");
    let private = std::fs::read_to_string(signed.path("plain.key")).unwrap();
    assert!(
        private.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{private}"
    );
    // Keys are never overwritten.
    let again = signed.hallmark(&["key", "generate", &signed.path("release")]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
}

fn key_set(signed: &Signed, name: &str, extra: &str) -> String {
    let public = std::fs::read_to_string(signed.path("release.pub")).unwrap();
    let text =
        format!("[[key]]\nname = \"release\"\npublic-key = \"\"\"\n{public}\"\"\"\n{extra}\n");
    signed.policy(name, &text)
}

#[test]
#[ignore = "needs skopeo"]
fn each_broken_image_fails_with_its_own_reason_and_exit_code() {
    let signed = Signed::new();
    let policy = signed.policy("policy.toml", POLICY);
    let key = signed.path("release.pub");
    let other = signed.work.path().join("other");
    assert!(signed
        .hallmark(&["key", "generate", other.to_str().unwrap()])
        .status
        .success());
    let other_key = format!("{}.pub", other.display());
    let expired = key_set(
        &signed,
        "expired.toml",
        "valid-until = 2001-01-01T00:00:00Z",
    );
    let distrusted = key_set(&signed, "distrusted.toml", "distrusted = true");
    let elsewhere = signed.policy(
        "elsewhere.toml",
        &POLICY.replace("docker-library/hello-world", "docker-library/busybox"),
    );
    let any_repository = signed.policy("any.toml", &POLICY.replace("library/*", "*"));

    // Broken copies, each in a repository of its own.
    let index_tag = legacy_signature_tag(&signed.index);
    let stored: ImageManifest = signed.manifest(REPOSITORY, &index_tag);
    let (layer, signature) = signature_layers(&stored).next().unwrap();
    let payload = signed.blob(REPOSITORY, layer);
    let tampered =
        SignedPayload::from_stored([payload.as_slice(), b" "].concat(), signature).unwrap();
    let mut flipped = SignedPayload::from_stored(payload, signature).unwrap();
    *flipped.signature.last_mut().unwrap() ^= 1;
    for (repository, payload) in [("library/tampered", tampered), ("library/flipped", flipped)] {
        signed.mirror(repository, true);
        signed.put(
            repository,
            &index_tag,
            &attest::attach::signature_manifest(None, &payload),
        );
    }
    // The index's signature tag holding the amd64 manifest's signature: a claim about another
    // digest.
    signed.mirror("library/swapped", true);
    let amd64_tag = legacy_signature_tag(&signed.platforms[0]);
    signed.skopeo_copy(
        &format!("docker://{}/{REPOSITORY}:{amd64_tag}", signed.server.host()),
        "library/swapped",
        &index_tag,
    );
    signed.mirror("acme/hello-world", true);
    let layout = signed.work.path().join("layout");
    signed.skopeo_copy(
        &format!("oci:{}:linux", layout.display()),
        "library/unsigned",
        "linux",
    );

    let cases: [(&str, &str, Vec<&str>, i32, &str); 10] = [
        (
            "signed",
            REPOSITORY,
            vec!["--key", &key, "--policy", &policy],
            0,
            "",
        ),
        (
            "never signed",
            "library/unsigned",
            vec!["--key", &key],
            10,
            "not-signed",
        ),
        (
            "tampered payload",
            "library/tampered",
            vec!["--key", &key],
            15,
            "signature-invalid",
        ),
        (
            "flipped signature byte",
            "library/flipped",
            vec!["--key", &key],
            15,
            "signature-invalid",
        ),
        (
            "wrong key",
            REPOSITORY,
            vec!["--key", &other_key],
            12,
            "untrusted-key",
        ),
        (
            "expired key",
            REPOSITORY,
            vec!["--keys", &expired],
            13,
            "key-expired",
        ),
        (
            "distrusted key",
            REPOSITORY,
            vec!["--keys", &distrusted],
            14,
            "key-distrusted",
        ),
        (
            "subject of another digest",
            "library/swapped",
            vec!["--key", &key],
            16,
            "claim-mismatch",
        ),
        (
            "provenance from another repository",
            REPOSITORY,
            vec!["--key", &key, "--policy", &elsewhere],
            17,
            "provenance-mismatch",
        ),
        (
            "community tier under an official policy",
            "acme/hello-world",
            vec!["--key", &key, "--policy", &any_repository],
            18,
            "tier-below-policy",
        ),
    ];
    let mut wrong = Vec::new();
    for (name, repository, args, code, reason) in cases {
        let (actual, answer) = signed.verify(repository, &args);
        let actual_reason = answer["failure"]["reason"].as_str().unwrap_or("");
        if (actual, actual_reason) != (code, reason) {
            wrong.push(format!(
                "{name}: expected {code} {reason}, got {actual} {actual_reason}\n{answer:#}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
