//! `GET /v2/<arch>/<repo>/builds/<tag>/log`: the newest finished build log, as text.

use std::fs;

use registry::RegistryConfig;

use crate::App;

#[tokio::test]
async fn the_newest_build_log_of_a_tag_is_served_as_text() {
    let logs = tempfile::tempdir().unwrap();
    let folder = logs.path().join("amd64/hello/1.0");
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("000000000100-aaaaaaaaaaaa.log"), "old build\n").unwrap();
    fs::write(
        folder.join("000000000200-bbbbbbbbbbbb.log"),
        "Step 1/2 : FROM debian\nerror: boom\n",
    )
    .unwrap();
    // A log still being written has a temporary name and is never served.
    fs::write(folder.join(".tmpXYZ"), "running\n").unwrap();
    let config = RegistryConfig {
        build_logs: Some(logs.path().to_owned()),
        ..RegistryConfig::default()
    };
    let app = App::with_config(config).await;
    let cases = [
        (
            "/v2/amd64/hello/builds/1.0/log",
            200,
            None,
            "Step 1/2 : FROM debian\nerror: boom\n",
        ),
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
    ];
    for (uri, status, code, body) in cases {
        let reply = app.get(uri).await;
        reply.expect(status, code);
        if status == 200 {
            assert_eq!(String::from_utf8_lossy(&reply.body), body);
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
