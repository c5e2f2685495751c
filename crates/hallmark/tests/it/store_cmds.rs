//! `hallmark fsck` and `hallmark gc` on a data folder populated through the store's API, as a
//! server would have left it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oci::{Digest, DigestAlgorithm};
use store::{BlobRecord, BlobStore, ManifestRecord, MetaStore, NewManifest};

const REPO: &str = "library/app";

fn sha256(bytes: &[u8]) -> Digest {
    Digest::of(DigestAlgorithm::Sha256, bytes)
}

/// Pushes each of `contents` as a blob of `REPO`, storage first, then metadata.
async fn push_blobs(data: &Path, contents: &[&[u8]]) -> Vec<Digest> {
    let (blobs, meta) = store::open_embedded(data).await.unwrap();
    let mut digests = Vec::new();
    for content in contents {
        let digest = sha256(content);
        let body = Box::pin(std::io::Cursor::new(content.to_vec()));
        let stored = blobs.put(&digest, body).await.unwrap();
        let record = BlobRecord {
            digest: digest.clone(),
            size: stored.size,
            object_key: digest.to_string(),
            media_type: None,
        };
        meta.put_blob(REPO, &record).await.unwrap();
        digests.push(digest);
    }
    digests
}

/// A data folder with one tagged image (config and layer) and one blob nothing references.
/// Returns the folder's parent (to keep it alive), the layer and the unreferenced blob.
async fn populated() -> (tempfile::TempDir, PathBuf, Digest, Digest) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pushed = push_blobs(
        &data,
        &[
            b"{\"architecture\":\"amd64\"}",
            b"layer",
            b"never referenced",
        ],
    )
    .await;
    let payload = format!(
        "{{\"config\":\"{}\",\"layers\":[\"{}\"]}}",
        pushed[0], pushed[1]
    );
    let manifest = NewManifest {
        record: ManifestRecord {
            digest: sha256(payload.as_bytes()),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            artifact_type: None,
            payload: payload.into_bytes(),
            config_digest: Some(pushed[0].clone()),
            subject_digest: None,
            total_size: 0,
        },
        layers: vec![pushed[1].clone()],
        children: vec![],
    };
    let (_, meta) = store::open_embedded(&data).await.unwrap();
    meta.put_manifest(REPO, &manifest, Some("latest"))
        .await
        .unwrap();
    (dir, data, pushed[1].clone(), pushed[2].clone())
}

fn blob_file(data: &Path, digest: &Digest) -> PathBuf {
    let hex = digest.hex();
    data.join("blobs/sha256").join(&hex[..2]).join(hex)
}

fn hallmark(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(args)
        .env("HALLMARK_DATA", data)
        .output()
        .expect("run hallmark")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

/// Every file under the data folder with its length, to show a command changed nothing.
fn files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            let len = path.metadata().unwrap().len();
            found.push((path, len));
        }
    }
    found.sort();
    found
}

#[tokio::test]
async fn fsck_fails_on_a_corrupted_blob_and_names_it() {
    let (_dir, data, layer, _) = populated().await;
    let clean = hallmark(&data, &["fsck"]);
    assert!(clean.status.success(), "{}", stdout(&clean));
    assert!(stdout(&clean).ends_with("3 blobs re-hashed, 0 problems\n"));

    std::fs::write(blob_file(&data, &layer), b"tampered").unwrap();
    let damaged = hallmark(&data, &["fsck"]);
    assert_eq!(damaged.status.code(), Some(1));
    let text = stdout(&damaged);
    assert!(
        text.contains(&format!(
            "blob {layer} is corrupt: its content hashes to {}",
            sha256(b"tampered")
        )),
        "{text}"
    );

    let damaged = hallmark(&data, &["fsck", "--format", "json"]);
    assert_eq!(damaged.status.code(), Some(1));
    let report = json(&damaged);
    assert_eq!(report["clean"], false);
    assert_eq!(report["problems"][0]["kind"], "blob-corrupt");
    assert_eq!(report["problems"][0]["digest"], layer.to_string());
}

#[tokio::test]
async fn gc_dry_run_changes_nothing_and_gc_frees_the_unreferenced_blob() {
    let (_dir, data, layer, unreferenced) = populated().await;
    let before = files(&data);

    let dry = hallmark(&data, &["gc", "--dry-run", "--grace", "0s"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let text = stdout(&dry);
    assert!(
        text.contains(&format!("would remove blob {unreferenced} (16 bytes)")),
        "{text}"
    );
    assert!(!text.contains(&layer.to_string()), "{text}");
    assert_eq!(files(&data), before, "a dry run changes nothing");

    // The default grace keeps what was pushed a moment ago.
    let kept = hallmark(&data, &["gc", "--format", "json"]);
    assert!(kept.status.success());
    assert_eq!(json(&kept)["bytes_freed"], 0);
    assert!(blob_file(&data, &unreferenced).exists());

    let gc = hallmark(&data, &["gc", "--grace", "0s", "--format", "json"]);
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    let report = json(&gc);
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["blobs"][0]["digest"], unreferenced.to_string());
    assert_eq!(report["bytes_freed"], 16);
    assert_eq!(report["manifests"].as_array().unwrap().len(), 0);
    assert!(!blob_file(&data, &unreferenced).exists());
    assert!(blob_file(&data, &layer).exists());
    assert!(hallmark(&data, &["fsck"]).status.success());
}

#[test]
fn a_missing_data_folder_is_an_error_not_an_empty_registry() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("mistyped");
    for command in ["fsck", "gc"] {
        let output = hallmark(&missing, &[command]);
        assert_eq!(output.status.code(), Some(1), "{command}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("holds no registry data"), "{stderr}");
        assert!(!missing.exists(), "{command} created the folder");
    }
}
