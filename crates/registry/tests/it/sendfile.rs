//! curl against [`registry::serve`] over a real socket: blob GETs (whole, ranges, unknown) on
//! the server's sendfile path, and one keep-alive connection that carries several of them and
//! then a manifest GET, which moves it to hyper.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use tokio::sync::oneshot;

use crate::server::{exchange, serve_until};
use crate::{image_manifest, sha256, OCI_MANIFEST};

/// Runs curl with `args` off the runtime's thread; returns its standard output.
async fn curl(args: Vec<String>) -> String {
    let output = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["--silent", "--show-error"])
            .args(&args)
            .output()
            .expect("run curl")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "curl failed: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

async fn push(address: SocketAddr, name: &str, content: &[u8]) -> String {
    let digest = sha256(content).to_string();
    let path = format!("/v2/{name}/blobs/uploads/?digest={digest}");
    let (head, _) = exchange(address, "POST", &path, content).await;
    assert!(head.starts_with("http/1.1 201"), "{head}");
    digest
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

#[tokio::test]
#[ignore = "needs curl"]
async fn curl_pulls_blobs_ranges_and_a_manifest_over_one_connection() {
    let (_stop, stop) = oneshot::channel();
    let (address, _data, _server) = serve_until(stop).await;
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 7)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let small = b"{\"architecture\":\"amd64\"}".to_vec();
    let (big_digest, small_digest) = (
        push(address, "pull/me", &big).await,
        push(address, "pull/me", &small).await,
    );
    let manifest = image_manifest(&sha256(&small), &[&sha256(&big)], None, None);
    let (head, _) = exchange(address, "PUT", "/v2/pull/me/manifests/v1", &manifest).await;
    assert!(head.starts_with("http/1.1 201"), "{head}");
    let _ = OCI_MANIFEST;

    let out = tempfile::tempdir().unwrap();
    let url = |path: &str| format!("http://{address}/v2/pull/me/{path}");
    let missing = sha256(b"never pushed");
    let mut args = vec![
        "--write-out".into(),
        "%{num_connects} %{http_code}\\n".into(),
    ];
    for (file, path) in [
        ("big", format!("blobs/{big_digest}")),
        ("small", format!("blobs/{small_digest}")),
        ("missing", format!("blobs/{missing}")),
        ("manifest", "manifests/v1".to_owned()),
        ("big-again", format!("blobs/{big_digest}")),
    ] {
        args.extend([
            "--output".into(),
            out.path().join(file).display().to_string(),
            url(&path),
        ]);
    }
    // One connection for all five (`num_connects` 0 after the first): blob GETs on the
    // sendfile path, an error answered on it without closing, then hyper from the manifest on.
    assert_eq!(curl(args).await, "1 200\n0 200\n0 404\n0 200\n0 200\n");
    assert!(read(out.path(), "big") == big, "the blob came back changed");
    assert_eq!(read(out.path(), "small"), small);
    assert!(String::from_utf8(read(out.path(), "missing"))
        .unwrap()
        .contains("BLOB_UNKNOWN"));
    assert_eq!(read(out.path(), "manifest"), manifest);
    assert!(
        read(out.path(), "big-again") == big,
        "the blob came back changed after the hand-over"
    );

    let blob = url(&format!("blobs/{big_digest}"));
    for (range, expected) in [
        ("100-1999", &big[100..2000]),
        ("-10", &big[big.len() - 10..]),
        ("3145700-", &big[3_145_700..]),
    ] {
        let file = out.path().join("part").display().to_string();
        let status = curl(vec![
            "--range".into(),
            range.into(),
            "--write-out".into(),
            "%{http_code}".into(),
            "--output".into(),
            file.clone(),
            blob.clone(),
        ])
        .await;
        assert_eq!(status, "206", "{range}");
        assert!(std::fs::read(&file).unwrap() == expected, "range {range}");
    }
    let head = curl(vec![
        "--range".into(),
        "4000000-".into(),
        "--dump-header".into(),
        "-".into(),
        "--output".into(),
        "/dev/null".into(),
        blob.clone(),
    ])
    .await
    .to_lowercase();
    assert!(head.starts_with("http/1.1 416"), "{head}");
    assert!(
        head.contains(&format!("content-range: bytes */{}", big.len())),
        "{head}"
    );

    // HTTP/1.0: answered whole, then closed.
    let file = out.path().join("old").display().to_string();
    curl(vec![
        "--http1.0".into(),
        "--output".into(),
        file.clone(),
        blob,
    ])
    .await;
    assert!(std::fs::read(&file).unwrap() == big, "HTTP/1.0 pull");
}
