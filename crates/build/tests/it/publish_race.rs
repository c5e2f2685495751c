//! Writers racing one SharedTag on Hallmark's registry (in process, over a loopback socket):
//! agents that each add their own entry's image to `<arch>/<repo>:<tag>`, and publishers that
//! each add one to `library/<repo>:<tag>`, all at once. Each knows only its own image, as an
//! agent does whose siblings have not pushed yet, so only the conditional write with its
//! re-read keeps every image in the index.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Barrier;

use build::publish::{arch_sources, publish_tag, TagEntry};
use client::{Client, ClientOptions, Repository};
use oci::manifest::{Manifest, MediaType};
use oci::{Architecture, Digest};

use crate::hallmark_registry::HallmarkRegistry;

/// The repository `name` on `registry`.
fn repo(registry: &HallmarkRegistry, name: &str) -> Repository {
    Repository::parse(&format!("{}/{name}", registry.address)).unwrap()
}

/// Pushes a linux/amd64 image whose one layer is `seed` under `repo:tag`; returns its digest.
fn push_image(client: &Client, repo: &Repository, tag: &str, seed: &str) -> Digest {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config = client
        .push_blob_bytes(repo, MediaType::OCI_CONFIG, config)
        .unwrap();
    let layer = client
        .push_blob_bytes(repo, MediaType::OCI_LAYER, seed.as_bytes())
        .unwrap();
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MediaType::OCI_MANIFEST,
        "config": config,
        "layers": [layer],
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    client
        .put_manifest(repo, tag, MediaType::OCI_MANIFEST, &bytes)
        .unwrap()
}

#[test]
fn racing_writers_of_a_shared_tag_keep_every_entrys_image() {
    const WRITERS: usize = 6;
    let registry = HallmarkRegistry::open();
    let client = Client::new(ClientOptions {
        docker_config: Some(PathBuf::from("/nonexistent/docker/config.json")),
        ..ClientOptions::default()
    })
    .unwrap();
    let entries: Vec<TagEntry> = (0..WRITERS)
        .map(|n| TagEntry {
            repo: "python".into(),
            first_tag: format!("entry{n}"),
            architectures: vec![Architecture::Amd64],
        })
        .collect();
    let agents = repo(&registry, "amd64/python");
    // (where the tag is written: an agent's own repository, or library/ by publish)
    for (round, target) in [agents.clone(), repo(&registry, "library/python")]
        .iter()
        .enumerate()
    {
        let tag = format!("shared{round}");
        let start = Barrier::new(WRITERS);
        let pushed: BTreeSet<Digest> = std::thread::scope(|scope| {
            let writers: Vec<_> = entries
                .iter()
                .map(|entry| {
                    let (client, agents, start, tag) = (&client, &agents, &start, &tag);
                    let all = entries.as_slice();
                    scope.spawn(move || {
                        let seed = format!("{tag} {}", entry.first_tag);
                        let digest = push_image(client, agents, &entry.first_tag, &seed);
                        let sources = arch_sources(target, std::slice::from_ref(entry)).unwrap();
                        start.wait();
                        publish_tag(client, target, tag, all, &sources, &mut |_| {}).unwrap();
                        digest
                    })
                })
                .collect();
            writers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let index = match client.manifest(target, &tag).unwrap().parse().unwrap() {
            Manifest::Index(index) => index,
            Manifest::Image(_) => panic!("{tag} is not an index"),
        };
        let listed: BTreeSet<Digest> = index.manifests.into_iter().map(|d| d.digest).collect();
        assert_eq!(listed, pushed, "{}:{tag}", target.name());
    }
}
