//! An engine build on a parent from another registry keeps the parent's published layers:
//! the parent is pushed by `docker push` (Go's gzip, other bytes than the build's own
//! compression), and the child's base layer must be that very blob, mounted rather than
//! uploaded again, so the registry stores it once. Against Debian's `docker-registry`
//! (distribution 2.8), as a registry outside the program.

use std::path::{Path, PathBuf};
use std::process::Command;

use build::engine::{ParentOrigin, PinnedParent, SharedLayers};
use build::parents::RegistryParents;
use build::plan::{ParentResolver, StaticParents};
use build::push::push_image;
use fixture_cache::Distribution;
use oci::manifest::ImageManifest;
use oci::{Architecture, ImageReference};

use crate::docker_engine::{blob, build, context_with, engine, request, run, BASE};

fn manifest_of(layout: &Path, digest: &oci::Digest) -> ImageManifest {
    serde_json::from_slice(&blob(layout, digest)).unwrap()
}

#[test]
#[ignore = "needs dockerd and docker-registry"]
fn a_child_keeps_its_external_parents_published_layers_and_mounts_them() {
    let registry = Distribution::start();
    let parent_name = format!("{}/vendor/dash:1", registry.address());
    let (dir, context) = context_with(&format!(
        "FROM {parent_name}\nRUN [\"/bin/sh\", \"-c\", \"echo built > /etc/note\"]\n"
    ));
    run(Command::new("docker").args(["tag", BASE, &parent_name]));
    run(Command::new("docker").args(["push", &parent_name]));

    // The tag resolves to the pushed image's digest, as `hallmark build --plan` pins it.
    let client = client::Client::new(client::ClientOptions::default()).unwrap();
    let parent_image = ImageReference::parse(&parent_name).unwrap();
    let resolver = RegistryParents::new(
        client::Client::new(client::ClientOptions::default()).unwrap(),
        StaticParents::default(),
    );
    let digest = resolver.digest(&parent_image, Architecture::Amd64).unwrap();
    let parent_repo =
        client::Repository::parse(&format!("{}/vendor/dash", registry.address())).unwrap();
    let published = client.manifest(&parent_repo, "1").unwrap();
    assert_eq!(digest, published.digest);
    let published: ImageManifest = serde_json::from_slice(&published.bytes).unwrap();
    let missing = ImageReference::parse(&format!("{}/vendor/none:1", registry.address())).unwrap();
    let refused = resolver
        .digest(&missing, Architecture::Amd64)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("vendor/none:1") && refused.contains("--parent"),
        "{refused}"
    );

    let mut digests = Vec::new();
    let mut layouts: Vec<PathBuf> = Vec::new();
    for round in 0..2 {
        let output = dir.path().join(format!("child-{round}"));
        let mut asked = request(&context, output.clone());
        asked.parents = vec![PinnedParent {
            image: parent_image.clone(),
            digest: digest.clone(),
            origin: ParentOrigin::External,
        }];
        let (built, log) = build(&engine(true), &asked);
        let built = built.unwrap_or_else(|err| panic!("{err}\n{log}"));
        let manifest = manifest_of(&output, &built.manifest_digest);
        assert_eq!(manifest.layers.len(), 2, "the parent's layer and the RUN's");
        assert_eq!(
            manifest.layers[0], published.layers[0],
            "the parent's exact descriptor, not a new compression of it"
        );
        assert_ne!(
            manifest.layers[0].media_type, manifest.layers[1].media_type,
            "docker push's Docker media type beside the build's own OCI one"
        );
        blob(&output, &manifest.layers[0].digest);
        assert_eq!(
            built.shared,
            Some(SharedLayers {
                repository: format!("{}/vendor/dash", registry.address()),
                digests: vec![published.layers[0].digest.clone()],
            })
        );
        digests.push(built.clone());
        layouts.push(output);
    }
    assert_eq!(
        digests[0].manifest_digest, digests[1].manifest_digest,
        "clamped builds on a parent stay identical"
    );

    let before = registry.stored_blobs();
    let target = client::Repository::parse(&format!("{}/amd64/child", registry.address())).unwrap();
    let mut lines = Vec::new();
    push_image(
        &client,
        &target,
        &["1".to_owned()],
        &digests[0],
        &mut |line| lines.push(line.to_owned()),
    )
    .unwrap();
    let mounted = format!(
        "amd64/child: mounted {} from vendor/dash",
        published.layers[0].digest
    );
    assert!(lines.contains(&mounted), "{lines:#?}");
    let after = registry.stored_blobs();
    let child = manifest_of(&layouts[0], &digests[0].manifest_digest);
    let mut expected = before.clone();
    expected.extend(
        [
            &digests[0].manifest_digest,
            &child.config.digest,
            &child.layers[1].digest,
        ]
        .map(ToString::to_string),
    );
    expected.sort();
    assert_eq!(
        after, expected,
        "the child adds its manifest, config and own layer; the parent's layer is stored once"
    );
}
