//! `GET /v2/<arch>/<repo>/builds/<tag>/log`: the newest build log of any tag of an entry, as
//! text, found through the tag index the build crate writes.

use std::fs;

use registry::RegistryConfig;

use crate::App;

#[tokio::test]
async fn every_tag_of_an_entry_serves_its_newest_build_log_as_text() {
    let logs = tempfile::tempdir().unwrap();
    let folder = logs.path().join("amd64/hello");
    fs::create_dir_all(folder.join("logs")).unwrap();
    fs::create_dir_all(folder.join("tags")).unwrap();
    fs::write(
        folder.join("logs/000000000100-aaaaaaaaaaaa.log"),
        "old build\n",
    )
    .unwrap();
    fs::write(
        folder.join("logs/000000000200-bbbbbbbbbbbb.log"),
        "Step 1/2 : FROM debian\nerror: boom\n",
    )
    .unwrap();
    // The entry's Tags and its SharedTag name its newest build; an older tag the entry no
    // longer holds still names the build that had it.
    for (tag, log) in [
        ("1.0", "000000000200-bbbbbbbbbbbb.log\n"),
        ("1", "000000000200-bbbbbbbbbbbb.log\n"),
        ("latest", "000000000200-bbbbbbbbbbbb.log\n"),
        ("0.9", "000000000100-aaaaaaaaaaaa.log\n"),
        ("broken", "../../../../etc/passwd.log\n"),
        ("gone", "000000000300-cccccccccccc.log\n"),
    ] {
        fs::write(folder.join("tags").join(tag), log).unwrap();
    }
    let config = RegistryConfig {
        build_logs: Some(logs.path().to_owned()),
        ..RegistryConfig::default()
    };
    let app = App::with_config(config).await;
    let newest = "Step 1/2 : FROM debian\nerror: boom\n";
    let cases = [
        ("/v2/amd64/hello/builds/1.0/log", 200, None, newest),
        ("/v2/amd64/hello/builds/1/log", 200, None, newest),
        ("/v2/amd64/hello/builds/latest/log", 200, None, newest),
        ("/v2/amd64/hello/builds/0.9/log", 200, None, "old build\n"),
        (
            "/v2/amd64/hello/builds/2.0/log",
            404,
            Some("MANIFEST_UNKNOWN"),
            "",
        ),
        (
            "/v2/arm64v8/hello/builds/1.0/log",
            404,
            Some("MANIFEST_UNKNOWN"),
            "",
        ),
        (
            "/v2/amd64/hello/builds/..%2F..%2Fx/log",
            400,
            Some("TAG_INVALID"),
            "",
        ),
        // An index that leads out of the logs folder is refused, not followed.
        (
            "/v2/amd64/hello/builds/broken/log",
            500,
            Some("UNKNOWN"),
            "",
        ),
        (
            "/v2/amd64/hello/builds/gone/log",
            404,
            Some("MANIFEST_UNKNOWN"),
            "",
        ),
    ];
    for (uri, status, code, body) in cases {
        let reply = app.get(uri).await;
        reply.expect(status, code);
        if status == 200 {
            assert_eq!(String::from_utf8_lossy(&reply.body), body, "{uri}");
            assert_eq!(
                reply.header("content-type"),
                Some("text/plain; charset=utf-8")
            );
        }
    }
    let without_logs = App::new().await;
    without_logs
        .get("/v2/amd64/hello/builds/1.0/log")
        .await
        .expect(404, Some("MANIFEST_UNKNOWN"));
}
