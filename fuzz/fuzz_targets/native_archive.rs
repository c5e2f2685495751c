//! Any bytes ADDed as an archive build an image or fail with an error, never a panic, and
//! never leave a half-written image behind.
#![no_main]

use std::sync::Arc;

use build::clock::FixedClock;
use build::engine::{BuildRequest, Engine};
use build::identity::BuildIdentity;
use build::native::NativeEngine;
use libfuzzer_sys::fuzz_target;
use oci::{Architecture, Digest, DigestAlgorithm};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("context");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM scratch\nADD archive /\n").unwrap();
    std::fs::write(context.join("archive"), data).unwrap();
    let output = dir.path().join("image");
    let request = BuildRequest {
        repo: "fuzz".into(),
        tags: vec!["1".into()],
        shared_tags: vec![],
        arch: Architecture::Amd64,
        identity: BuildIdentity(Digest::of(DigestAlgorithm::Sha256, b"fuzz")),
        context,
        dockerfile: "Dockerfile".into(),
        builder: String::new(),
        source_date_epoch: 1_700_000_000,
        parents: vec![],
        output: output.clone(),
    };
    let engine = NativeEngine::new(Arc::new(FixedClock(std::time::SystemTime::UNIX_EPOCH)));
    match engine.build(&request, &mut std::io::sink()) {
        Ok(built) => assert!(built.layout.join("index.json").exists()),
        Err(_) => assert!(!output.exists()),
    }
});
