//! `hallmark serve` killed with SIGKILL in the middle of a chunked upload and of a blob's
//! publish, then restarted on the same data folder: nothing half-written is ever visible,
//! `hallmark fsck` finds nothing wrong, and the upload resumes from what the server reports.

use std::io::Write as _;
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::server::{sha256, Server};

const MIB: usize = 1024 * 1024;

/// Bytes that neither repeat nor compress: a xorshift stream.
fn content(len: usize, seed: u64) -> Vec<u8> {
    // Spread the seed so that neighbouring seeds give unrelated streams (xorshift needs it odd).
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes `part` of a request body announced longer, waits until the server has written at
/// least `landed` bytes of it into some file of `folder` (the store's `uploads/` or `tmp/`), and
/// kills the server there, with the connection still open: the kill lands mid-write, not
/// before the server has started or after it has given up.
fn kill_while_sending(
    server: Server,
    mut stream: TcpStream,
    part: &[u8],
    folder: &Path,
    landed: u64,
) {
    stream.write_all(part).expect("send part of the body");
    stream.flush().unwrap();
    wait_until(
        || largest_file(folder) >= landed,
        || format!("{landed} bytes in {}", folder.display()),
    );
    server.kill();
}

fn largest_file(folder: &Path) -> u64 {
    let entries = std::fs::read_dir(folder).into_iter().flatten().flatten();
    entries
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0)
}

fn wait_until(done: impl Fn() -> bool, what: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "waited a minute for {}", what());
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// `hallmark fsck` on the stopped server's data folder: it re-hashes every blob and checks
/// the metadata against storage.
fn assert_fsck_clean(data: &Path) {
    let fsck = Command::new(env!("CARGO_BIN_EXE_hallmark"))
        .args(["fsck", "--data"])
        .arg(data)
        .output()
        .expect("run hallmark fsck");
    assert!(
        fsck.status.success(),
        "fsck found problems:\n{}\n{}",
        String::from_utf8_lossy(&fsck.stdout),
        String::from_utf8_lossy(&fsck.stderr)
    );
}

/// HEAD on a blob that must not exist (yet), and GET on one that must, whole.
fn assert_blob(server: &Server, repo: &str, blob: &[u8], present: bool) {
    let path = format!("/v2/{repo}/blobs/{}", sha256(blob));
    if !present {
        let head = server.send("HEAD", &path, &[], b"");
        assert_eq!(head.status, 404, "a partial blob is visible: {head:?}");
        return;
    }
    let got = server.send("GET", &path, &[], b"");
    assert_eq!(got.status, 200, "{:?}", got.headers);
    assert_eq!(got.body.len(), blob.len());
    assert_eq!(
        sha256(&got.body),
        sha256(blob),
        "the blob came back changed"
    );
}

fn patch(server: &Server, location: &str, blob: &[u8], start: usize) -> crate::server::Reply {
    let range = format!("{start}-{}", blob.len() - 1);
    server.send(
        "PATCH",
        location,
        &[
            ("content-type", "application/octet-stream"),
            ("content-range", &range),
        ],
        &blob[start..],
    )
}

/// POST: a new upload session; returns its location.
fn start_upload(server: &Server, repo: &str) -> String {
    let started = server.send("POST", &format!("/v2/{repo}/blobs/uploads/"), &[], b"");
    assert_eq!(started.status, 202, "{started:?}");
    started.location()
}

fn with_digest(location: &str, digest: &str) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}digest={digest}")
}

#[test]
fn a_chunked_upload_killed_mid_chunk_resumes_from_the_reported_range() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let repo = "crash/chunked";
    let blob = content(24 * MIB, 1);
    let server = Server::start(&data);

    let first = patch(&server, &start_upload(&server, repo), &blob[..8 * MIB], 0);
    assert_eq!(first.status, 202, "{first:?}");
    assert_eq!(first.header("range"), Some(&*format!("0-{}", 8 * MIB - 1)));
    let location = first.location();

    // The second chunk announces 16 MiB and sends 10 before the kill.
    let range = format!("{}-{}", 8 * MIB, blob.len() - 1);
    let stream = server
        .open(
            "PATCH",
            &location,
            &[
                ("content-type", "application/octet-stream"),
                ("content-range", &range),
            ],
            16 * MIB as u64,
        )
        .unwrap();
    let uploads = data.join("uploads");
    kill_while_sending(
        server,
        stream,
        &blob[8 * MIB..18 * MIB],
        &uploads,
        9 * MIB as u64,
    );
    assert_fsck_clean(&data);

    let server = Server::start(&data);
    assert_blob(&server, repo, &blob, false);
    // Uploads are recorded, so the server reports how far this one got: whole chunks only, the
    // cut chunk's received part must not count.
    let status = server.send("GET", &location, &[], b"");
    assert_eq!(
        status.status, 204,
        "the upload did not survive the restart: {status:?}"
    );
    let range = status
        .header("range")
        .expect("a Range on the upload's status");
    assert_eq!(range, format!("0-{}", 8 * MIB - 1));
    let resumed = patch(&server, &status.location(), &blob, 8 * MIB);
    assert_eq!(resumed.status, 202, "{resumed:?}");
    let location = resumed.location();
    let finished = server.send("PUT", &with_digest(&location, &sha256(&blob)), &[], b"");
    assert_eq!(finished.status, 201, "{finished:?}");
    assert_eq!(
        finished.header("docker-content-digest"),
        Some(&*sha256(&blob))
    );
    assert_blob(&server, repo, &blob, true);
    server.kill();
    assert_fsck_clean(&data);
}

#[test]
fn a_publish_killed_midway_leaves_nothing_half_visible() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let repo = "crash/publish";
    let cut = content(96 * MIB, 2);
    let whole = content(96 * MIB, 3);

    // A monolithic push cut off after half its body.
    let server = Server::start(&data);
    let path = format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(&cut));
    let stream = server.open("POST", &path, &[], cut.len() as u64).unwrap();
    kill_while_sending(
        server,
        stream,
        &cut[..cut.len() / 2],
        &data.join("tmp"),
        MIB as u64,
    );

    // The closing PUT of a POST-then-PUT upload, killed once its whole body is in the upload
    // file: the server is then checking the digest, syncing or renaming, or has just finished.
    let server = Server::start(&data);
    let put = with_digest(&start_upload(&server, repo), &sha256(&whole));
    let mut stream = server.open("PUT", &put, &[], whole.len() as u64).unwrap();
    stream.write_all(&whole).unwrap();
    let hex = sha256(&whole)["sha256:".len()..].to_owned();
    let published = data.join("blobs/sha256").join(&hex[..2]).join(&hex);
    wait_until(
        || largest_file(&data.join("uploads")) == whole.len() as u64 || published.exists(),
        || "the PUT's body to land".to_owned(),
    );
    server.kill();
    assert_fsck_clean(&data);

    let server = Server::start(&data);
    assert_blob(&server, repo, &cut, false);
    let head = server.send(
        "HEAD",
        &format!("/v2/{repo}/blobs/{}", sha256(&whole)),
        &[],
        b"",
    );
    match head.status {
        404 => {}
        200 => assert_blob(&server, repo, &whole, true),
        _ => panic!("HEAD after the killed publish: {head:?}"),
    }
    for blob in [&cut, &whole] {
        let path = format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(blob));
        let pushed = server.send("POST", &path, &[], blob);
        assert_eq!(pushed.status, 201, "{pushed:?}");
        assert_blob(&server, repo, blob, true);
    }
    server.kill();
    assert_fsck_clean(&data);
}
