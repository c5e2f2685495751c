use super::*;
use crate::cosign::{SimpleSigning, BUNDLE_MEDIA_TYPE};
use crate::keys::PrivateKey;
use crate::predicate::PredicateKind;

fn platform_manifest(seed: &[u8]) -> Descriptor {
    let mut descriptor = Descriptor::of(MediaType::OCI_MANIFEST, seed);
    descriptor.platform = Some(Platform {
        architecture: "amd64".to_owned(),
        os: "linux".to_owned(),
        ..Platform::default()
    });
    descriptor
}

fn envelope(subject: &oci::Digest, kind: PredicateKind, key: &PrivateKey) -> Envelope {
    let predicate: &[u8] = match kind {
        PredicateKind::Spdx => br#"{"spdxVersion":"SPDX-2.3"}"#,
        PredicateKind::CycloneDx => br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#,
        PredicateKind::SlsaProvenance1 => unreachable!("not needed here"),
    };
    let statement = kind.statement("r/x", subject, predicate).unwrap();
    Envelope::sign(IN_TOTO_PAYLOAD_TYPE, statement.to_payload(), key)
}

fn parse(blob: &Blob) -> ImageManifest {
    assert_eq!(
        blob.descriptor,
        Descriptor::of(&blob.descriptor.media_type, &blob.bytes)
    );
    serde_json::from_slice(&blob.bytes).unwrap()
}

#[test]
fn attestation_manifests_have_buildkits_shape_and_accumulate() {
    let key = PrivateKey::generate().unwrap();
    let subject = platform_manifest(b"amd64");
    let spdx = envelope(&subject.digest, PredicateKind::Spdx, &key);
    let (upload, entry) =
        attestation_manifest(&subject, None, std::slice::from_ref(&spdx)).unwrap();
    let platform = entry.platform.as_ref().unwrap();
    assert_eq!(
        (platform.os.as_str(), platform.architecture.as_str()),
        ("unknown", "unknown")
    );
    assert_eq!(
        entry.annotations[REFERENCE_TYPE_ANNOTATION],
        ATTESTATION_MANIFEST
    );
    assert_eq!(attestation_subject(&entry), Some(subject.digest.clone()));
    assert_eq!(entry.digest, upload.manifest.descriptor.digest);

    let manifest = parse(&upload.manifest);
    let types: Vec<&str> = manifest
        .layers
        .iter()
        .map(|l| l.media_type.as_str())
        .collect();
    assert_eq!(types, [IN_TOTO_PAYLOAD_TYPE, DSSE_ENVELOPE_MEDIA_TYPE]);
    for layer in &manifest.layers {
        assert_eq!(layer.annotations[PREDICATE_TYPE_ANNOTATION], SPDX_DOCUMENT);
    }
    // The statement layer is the signed payload itself, byte for byte.
    assert_eq!(upload.blobs[1].bytes, spdx.payload);
    assert_eq!(Envelope::from_json(&upload.blobs[2].bytes).unwrap(), spdx);
    let config: serde_json::Value = serde_json::from_slice(&upload.blobs[0].bytes).unwrap();
    assert_eq!(config["os"], "unknown");
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);

    // A second attestation keeps the first; the same one again adds nothing.
    let cyclonedx = envelope(&subject.digest, PredicateKind::CycloneDx, &key);
    let (again, _) = attestation_manifest(&subject, Some(&manifest), &[cyclonedx, spdx]).unwrap();
    let merged = parse(&again.manifest);
    assert_eq!(merged.layers.len(), 4);
    assert_eq!(again.blobs.len(), 3, "config and the two new layers only");
}

#[test]
fn envelopes_about_something_else_are_refused() {
    let key = PrivateKey::generate().unwrap();
    let subject = platform_manifest(b"amd64");
    let other = envelope(
        &platform_manifest(b"arm64").digest,
        PredicateKind::Spdx,
        &key,
    );
    let not_in_toto = Envelope::sign("text/plain", b"hello".to_vec(), &key);
    let garbage = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"{}".to_vec(), &key);
    for (envelope, expected) in [
        (other, "not about"),
        (not_in_toto, "text/plain"),
        (garbage, "in-toto statement"),
    ] {
        let error =
            attestation_manifest(&subject, None, std::slice::from_ref(&envelope)).unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
        let error =
            attestation_referrer(&subject, &envelope, Timestamp::from_unix_seconds(0)).unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
}

#[test]
fn indexes_gain_attestation_entries_replacing_older_ones() {
    let key = PrivateKey::generate().unwrap();
    let (amd64, arm64) = (platform_manifest(b"amd64"), platform_manifest(b"arm64"));
    let entry_for = |subject: &Descriptor, kind| {
        attestation_manifest(subject, None, &[envelope(&subject.digest, kind, &key)])
            .unwrap()
            .1
    };
    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(MediaType::OCI_INDEX.to_owned()),
        artifact_type: None,
        manifests: vec![
            amd64.clone(),
            arm64.clone(),
            entry_for(&amd64, PredicateKind::Spdx),
        ],
        subject: None,
        annotations: BTreeMap::new(),
        extra: BTreeMap::from([("x-kept".to_owned(), serde_json::json!(1))]),
    };
    let newer = entry_for(&amd64, PredicateKind::CycloneDx);
    let blob = index_with_attestations(
        &index,
        &[newer.clone(), entry_for(&arm64, PredicateKind::Spdx)],
    );
    assert_eq!(blob.descriptor.media_type, MediaType::OCI_INDEX);
    let written: ImageIndex = serde_json::from_slice(&blob.bytes).unwrap();
    assert_eq!(written.extra, index.extra);
    let platforms: Vec<&Descriptor> = platform_manifests(&written).collect();
    assert_eq!(platforms, [&amd64, &arm64]);
    let subjects: Vec<Option<oci::Digest>> =
        written.manifests.iter().map(attestation_subject).collect();
    assert_eq!(
        subjects[2..],
        [Some(amd64.digest.clone()), Some(arm64.digest.clone())]
    );
    assert_eq!(written.manifests[2], newer);
}

#[test]
fn referrers_name_their_subject_and_artifact_type() {
    let key = PrivateKey::generate().unwrap();
    let subject = platform_manifest(b"amd64");
    let at = Timestamp::from_unix_seconds(0);
    let spdx = attestation_referrer(
        &subject,
        &envelope(&subject.digest, PredicateKind::Spdx, &key),
        at,
    )
    .unwrap();
    let bundle = Bundle::sign_image("r/x", &subject.digest, at, &key);
    let signature = bundle_referrer(&subject, &bundle, at).unwrap();
    for (upload, artifact_type, layer_type, annotation) in [
        (
            &spdx,
            "application/spdx+json",
            DSSE_ENVELOPE_MEDIA_TYPE,
            (PREDICATE_TYPE_ANNOTATION, SPDX_DOCUMENT),
        ),
        (
            &signature,
            BUNDLE_MEDIA_TYPE,
            BUNDLE_MEDIA_TYPE,
            (BUNDLE_CONTENT_ANNOTATION, "dsse-envelope"),
        ),
    ] {
        let manifest = parse(&upload.manifest);
        assert_eq!(manifest.artifact_type.as_deref(), Some(artifact_type));
        assert_eq!(manifest.config, Descriptor::empty());
        assert_eq!(manifest.layers.len(), 1);
        assert_eq!(manifest.layers[0].media_type, layer_type);
        assert_eq!(manifest.annotations[annotation.0], annotation.1);
        assert_eq!(
            manifest.annotations[CREATED_ANNOTATION],
            "1970-01-01T00:00:00Z"
        );
        let subject_field = manifest.subject.unwrap();
        assert_eq!(
            (subject_field.digest, subject_field.size),
            (subject.digest.clone(), subject.size)
        );
        assert!(subject_field.platform.is_none());
        assert_eq!(upload.blobs[0].bytes, EMPTY_JSON);
    }
    assert_eq!(
        Bundle::from_json(&signature.blobs[1].bytes).unwrap(),
        bundle
    );
    assert_eq!(
        attestation_artifact_type(CYCLONEDX_BOM),
        "application/vnd.cyclonedx+json"
    );
    assert_eq!(
        attestation_artifact_type("https://slsa.dev/provenance/v1"),
        IN_TOTO_PAYLOAD_TYPE
    );
}

#[test]
fn signature_manifests_collect_signatures_as_cosign_does() {
    let (first, second) = (
        PrivateKey::generate().unwrap(),
        PrivateKey::generate().unwrap(),
    );
    let digest = oci::Digest::of(oci::DigestAlgorithm::Sha256, b"index");
    let payload = SimpleSigning::new("r/x", &digest, Timestamp::from_unix_seconds(1));
    let signed = payload.sign(&first);
    let upload = signature_manifest(None, &signed);
    let manifest = parse(&upload.manifest);
    let layers: Vec<(&Descriptor, &str)> = signature_layers(&manifest).collect();
    assert_eq!(layers.len(), 1);
    assert_eq!(
        layers[0].0.digest,
        oci::Digest::of(oci::DigestAlgorithm::Sha256, &signed.payload)
    );
    assert_eq!(layers[0].1, signed.signature_annotation());
    let config: serde_json::Value = serde_json::from_slice(&upload.blobs[0].bytes).unwrap();
    assert_eq!(config["created"], "0001-01-01T00:00:00Z");
    assert_eq!(config["rootfs"]["diff_ids"][0], layers[0].0.digest.as_str());

    let same = signature_manifest(Some(&manifest), &signed);
    assert_eq!(
        same.manifest, upload.manifest,
        "signing again with the same result adds nothing"
    );
    let both = parse(&signature_manifest(Some(&manifest), &payload.sign(&second)).manifest);
    assert_eq!(signature_layers(&both).count(), 2);
    assert_eq!(envelope_layers(&both).count(), 0);
}
