//! The documents of the OCI image spec's examples and of real Docker images, parsed, checked
//! field by field, and written back without loss.

use super::*;

/// The image spec's example manifest (manifest.md), with a subject.
const OCI_IMAGE_MANIFEST: &str = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7",
    "size": 7023
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:9834876dcfb05cb167a5c24953eba58c4ac89b1adf57f28f2f9d09af107ee8f0",
      "size": 32654
    },
    {
      "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
      "digest": "sha256:3c3a4604a545cdc127456d94e421cd355bca5b528f4a9c1905b15da2eb4a4c6b",
      "size": 16724
    }
  ],
  "subject": {
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
    "size": 7682
  },
  "annotations": {
    "com.example.key1": "value1",
    "com.example.key2": "value2"
  }
}"#;

/// The image spec's artifact example: an empty config, an artifactType, one layer.
const OCI_ARTIFACT_MANIFEST: &str = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/vnd.example+type",
  "config": {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2,
    "data": "e30="
  },
  "layers": [
    {
      "mediaType": "application/vnd.oci.empty.v1+json",
      "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
      "size": 2
    }
  ],
  "annotations": {
    "oci.opencontainers.image.created": "2023-01-02T03:04:05Z"
  }
}"#;

/// A Docker manifest list with a Windows entry (`os.version`, `os.features`) and an entry the
/// spec does not name (`platform.features`), as Docker Hub serves them.
const DOCKER_MANIFEST_LIST: &str = r#"{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
   "manifests": [
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f",
         "size": 525,
         "platform": { "architecture": "arm", "os": "linux", "variant": "v7" }
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "digest": "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270",
         "size": 525,
         "platform": { "architecture": "amd64", "os": "linux" }
      },
      {
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "digest": "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1",
         "size": 1125,
         "platform": {
            "architecture": "amd64",
            "os": "windows",
            "os.version": "10.0.20348.2227",
            "os.features": ["win32k"]
         }
      }
   ]
}"#;

/// A Docker schema 2 manifest with a foreign layer.
const DOCKER_MANIFEST: &str = r#"{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1469,
      "digest": "sha256:9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d"
   },
   "layers": [
      {
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 1430730445,
         "digest": "sha256:8f616e6e9eec767c425fd9346648807d1b658d20ff6097be1d955aac69c26642",
         "urls": ["https://mcr.microsoft.com/v2/windows/servercore/blobs/sha256:8f616e6e9eec767c425fd9346648807d1b658d20ff6097be1d955aac69c26642"]
      },
      {
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2479,
         "digest": "sha256:719385e32844401d57ecfd3eacab360bf551a1491c05b85806ed8f1b08d792f6"
      }
   ]
}"#;

/// The image spec's example config (config.md), with a field the spec added later
/// (`StopSignal`) and one this module does not name (`ArgsEscaped`).
const OCI_CONFIG: &str = r##"{
    "created": "2015-10-31T22:22:56.015925234Z",
    "author": "Alyssa P. Hacker <alyspdev@example.com>",
    "architecture": "amd64",
    "os": "linux",
    "config": {
        "User": "alice",
        "ExposedPorts": { "8080/tcp": {} },
        "Env": [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "FOO=oci_is_a",
            "BAR=well_written_spec"
        ],
        "Entrypoint": ["/bin/my-app-binary"],
        "Cmd": ["--foreground", "--config", "/etc/my-app.d/default.cfg"],
        "Volumes": { "/var/job-result-data": {}, "/var/log/my-app-logs": {} },
        "WorkingDir": "/home/alice",
        "Labels": {
            "com.example.project.git.url": "https://example.com/project.git",
            "com.example.project.git.commit": "45a939b2999782a3f005621a8d0f29aa387e1d6b"
        },
        "StopSignal": "SIGQUIT",
        "ArgsEscaped": true
    },
    "rootfs": {
      "diff_ids": [
        "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1",
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
      ],
      "type": "layers"
    },
    "history": [
      {
        "created": "2015-10-31T22:22:54.690851953Z",
        "created_by": "/bin/sh -c #(nop) ADD file:a3bc1e842b69636f9df5256c49c5374fb4eef1e281fe3f282c65fb853ee171c5 in /"
      },
      {
        "created": "2015-10-31T22:22:55.613815829Z",
        "created_by": "/bin/sh -c #(nop) CMD [\"sh\"]",
        "empty_layer": true
      },
      {
        "created": "2015-10-31T22:22:56.329850019Z",
        "created_by": "/bin/sh -c apk add curl",
        "comment": "buildkit.dockerfile.v0"
      }
    ]
}"##;

/// A config as the classic Docker builder writes it: `null` for empty lists and maps, and
/// `container_config` and `docker_version` beside the spec's fields.
const DOCKER_CONFIG: &str = r##"{"architecture":"amd64","config":{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/hello"],"Image":"sha256:62a15619037f3c4fb4e6ba9bd224cba3540e393a55dc52f6bebe212ca7b5e1a7","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"container":"347ca68872ee924c4f9394b195dcadaf591d387a45d624225251efc6cb7a348e","container_config":{"Cmd":["/bin/sh","-c","#(nop) ","CMD [\"/hello\"]"],"Labels":{}},"created":"2023-05-04T17:37:03.872958712Z","docker_version":"20.10.23","history":[{"created":"2023-05-04T17:37:03.801840823Z","created_by":"/bin/sh -c #(nop) COPY file:201f8f1849e89d53be9f6aa76937f5e209d745abfd15a8552fcf2ba45ab267f9 in / "},{"created":"2023-05-04T17:37:03.872958712Z","created_by":"/bin/sh -c #(nop)  CMD [\"/hello\"]","empty_layer":true}],"os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:01bb4fce3eb1b56b05adf99504dafd31907a5aadac736e36b27595c8b92f07f1"]}}"##;

fn digest(text: &str) -> Digest {
    Digest::parse(text).unwrap()
}

/// Serialising and parsing again gives an equal value: nothing read is lost on the way out.
fn round_trips<T>(value: &T)
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let written = serde_json::to_vec(value).unwrap();
    assert_eq!(&serde_json::from_slice::<T>(&written).unwrap(), value);
}

#[test]
fn the_spec_image_manifest_parses_field_by_field() {
    let manifest: ImageManifest = serde_json::from_str(OCI_IMAGE_MANIFEST).unwrap();
    assert_eq!(manifest.schema_version, 2);
    assert_eq!(
        manifest.media_type.as_deref(),
        Some(MediaType::OCI_MANIFEST)
    );
    assert_eq!(manifest.config.media_type, MediaType::OCI_CONFIG);
    assert_eq!(manifest.config.size, 7023);
    let layers: Vec<_> = manifest
        .layers
        .iter()
        .map(|l| (l.media_type.as_str(), l.size))
        .collect();
    assert_eq!(
        layers,
        [
            (MediaType::OCI_LAYER_GZIP, 32654),
            (MediaType::OCI_LAYER_GZIP, 16724)
        ]
    );
    assert_eq!(
        manifest.subject.as_ref().unwrap().digest,
        digest("sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270")
    );
    assert_eq!(manifest.annotations["com.example.key2"], "value2");
    assert!(manifest.extra.is_empty());
    round_trips(&manifest);
}

#[test]
fn an_artifact_manifest_keeps_its_type_and_embedded_data() {
    let manifest: ImageManifest = serde_json::from_str(OCI_ARTIFACT_MANIFEST).unwrap();
    assert_eq!(
        manifest.artifact_type.as_deref(),
        Some("application/vnd.example+type")
    );
    assert_eq!(manifest.config.data.as_deref(), Some("e30="));
    // The empty descriptor computed here is the one the spec prints.
    let empty = Descriptor::empty();
    assert_eq!(
        (&empty.media_type, &empty.digest, empty.size),
        (
            &manifest.layers[0].media_type,
            &manifest.layers[0].digest,
            manifest.layers[0].size
        )
    );
    round_trips(&manifest);
}

#[test]
fn written_documents_use_the_wire_names_and_omit_what_is_unset() {
    let mut manifest: ImageManifest = serde_json::from_str(OCI_ARTIFACT_MANIFEST).unwrap();
    manifest.annotations.clear();
    manifest.config.data = None;
    let written: serde_json::Value = serde_json::to_value(&manifest).unwrap();
    let keys: Vec<_> = written.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "artifactType",
            "config",
            "layers",
            "mediaType",
            "schemaVersion"
        ]
    );
    assert_eq!(
        written["config"],
        serde_json::json!({
            "mediaType": MediaType::OCI_EMPTY,
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "size": 2
        })
    );
}

#[test]
fn a_docker_manifest_list_selects_platforms_and_keeps_windows_fields() {
    let index: ImageIndex = serde_json::from_str(DOCKER_MANIFEST_LIST).unwrap();
    assert_eq!(
        index.media_type.as_deref(),
        Some(MediaType::DOCKER_MANIFEST_LIST)
    );
    let windows = index.manifests[2].platform.as_ref().unwrap();
    assert_eq!(windows.os_version.as_deref(), Some("10.0.20348.2227"));
    assert_eq!(windows.os_features, ["win32k"]);
    let sizes = |arch: crate::Architecture| -> Vec<u64> {
        index
            .entries_for(&arch.platform())
            .map(|entry| entry.size)
            .collect()
    };
    assert_eq!(sizes(crate::Architecture::Arm32v7), [525]);
    assert_eq!(sizes(crate::Architecture::Amd64), [525]);
    assert_eq!(sizes(crate::Architecture::WindowsAmd64), [1125]);
    assert!(sizes(crate::Architecture::Arm32v6).is_empty());
    let written = serde_json::to_value(&index).unwrap();
    assert_eq!(
        written["manifests"][2]["platform"]["os.features"],
        serde_json::json!(["win32k"])
    );
    round_trips(&index);
}

#[test]
fn platforms_convert_from_architectures() {
    let platform = Platform::from(crate::Architecture::Arm64v8.platform());
    assert_eq!(
        serde_json::to_value(&platform).unwrap(),
        serde_json::json!({"architecture": "arm64", "os": "linux", "variant": "v8"})
    );
    // A platform without a variant satisfies a request for the bare architecture only.
    let bare = Platform {
        variant: None,
        ..platform.clone()
    };
    assert!(platform.satisfies(&crate::Architecture::Arm64v8.platform()));
    assert!(!bare.satisfies(&crate::Architecture::Arm64v8.platform()));
}

#[test]
fn a_docker_manifest_keeps_foreign_layer_urls() {
    let manifest: ImageManifest = serde_json::from_str(DOCKER_MANIFEST).unwrap();
    assert_eq!(manifest.config.media_type, MediaType::DOCKER_CONFIG);
    assert_eq!(
        manifest.layers[0].media_type,
        MediaType::DOCKER_FOREIGN_LAYER_GZIP
    );
    assert_eq!(manifest.layers[0].urls.len(), 1);
    assert_eq!(manifest.layers[1].media_type, MediaType::DOCKER_LAYER_GZIP);
    round_trips(&manifest);
}

#[test]
fn manifests_are_told_apart_by_declared_or_own_type() {
    let cases: [(Option<&str>, &str, bool); 6] = [
        (Some(MediaType::OCI_MANIFEST), OCI_IMAGE_MANIFEST, false),
        (None, OCI_IMAGE_MANIFEST, false),
        (Some("application/json"), DOCKER_MANIFEST_LIST, true),
        (None, DOCKER_MANIFEST_LIST, true),
        (None, r#"{"schemaVersion":2,"manifests":[]}"#, true),
        (Some(MediaType::DOCKER_MANIFEST), DOCKER_MANIFEST, false),
    ];
    for (declared, bytes, is_index) in cases {
        let parsed = Manifest::parse(declared, bytes.as_bytes()).unwrap();
        assert_eq!(
            matches!(parsed, Manifest::Index(_)),
            is_index,
            "{declared:?}"
        );
    }
    let parsed = Manifest::parse(None, OCI_IMAGE_MANIFEST.as_bytes()).unwrap();
    assert_eq!(parsed.subject().unwrap().size, 7682);
}

#[test]
fn bad_manifests_are_typed_errors() {
    let cases = [
        (None, "not json", "not valid manifest JSON"),
        (
            None,
            r#"{"schemaVersion":2,"mediaType":"application/vnd.example"}"#,
            "is not an OCI or Docker",
        ),
        (
            Some(MediaType::OCI_MANIFEST),
            r#"{"schemaVersion":2,"layers":[]}"#,
            "missing field `config`",
        ),
        (
            Some(MediaType::OCI_INDEX),
            r#"{"schemaVersion":2,"manifests":[{"digest":"sha256:00","size":1}]}"#,
            "expected 64 hex digits",
        ),
    ];
    for (declared, bytes, expected) in cases {
        let err = Manifest::parse(declared, bytes.as_bytes()).unwrap_err();
        assert!(err.to_string().contains(expected), "{bytes}: {err}");
    }
}

#[test]
fn the_spec_config_parses_with_capitalised_names() {
    let config: ImageConfig = serde_json::from_str(OCI_CONFIG).unwrap();
    assert!(config
        .platform
        .satisfies(&crate::Architecture::Amd64.platform()));
    let run = &config.config;
    assert_eq!(run.user.as_deref(), Some("alice"));
    assert_eq!(run.env.len(), 3);
    assert_eq!(
        run.entrypoint.as_deref(),
        Some(&["/bin/my-app-binary".to_owned()][..])
    );
    assert_eq!(run.cmd.as_ref().map(Vec::len), Some(3));
    assert_eq!(run.working_dir.as_deref(), Some("/home/alice"));
    assert_eq!(run.exposed_ports.keys().collect::<Vec<_>>(), ["8080/tcp"]);
    assert_eq!(run.volumes.len(), 2);
    assert_eq!(run.labels.len(), 2);
    assert_eq!(run.stop_signal.as_deref(), Some("SIGQUIT"));
    assert_eq!(run.extra["ArgsEscaped"], serde_json::json!(true));
    assert_eq!(config.rootfs.kind, "layers");
    assert_eq!(config.rootfs.diff_ids.len(), 2);
    let steps: Vec<_> = config
        .layer_history()
        .map(|(layer, step)| (layer, step.comment.as_deref()))
        .collect();
    assert_eq!(steps, [(0, None), (1, Some("buildkit.dockerfile.v0"))]);
    round_trips(&config);
}

#[test]
fn a_docker_builder_config_reads_nulls_as_empty_and_keeps_its_extras() {
    let config: ImageConfig = serde_json::from_str(DOCKER_CONFIG).unwrap();
    let run = &config.config;
    assert_eq!(run.cmd.as_deref(), Some(&["/hello".to_owned()][..]));
    assert_eq!(run.entrypoint, None);
    assert!(run.volumes.is_empty() && run.labels.is_empty());
    assert_eq!(run.extra["Hostname"], serde_json::json!(""));
    assert_eq!(
        config.extra["docker_version"],
        serde_json::json!("20.10.23")
    );
    assert!(config.extra.contains_key("container_config"));
    assert_eq!(config.history.len(), 2);
    assert!(config.history[1].empty_layer);
    let written = serde_json::to_value(&config).unwrap();
    assert_eq!(
        written["container"],
        serde_json::json!("347ca68872ee924c4f9394b195dcadaf591d387a45d624225251efc6cb7a348e")
    );
    assert_eq!(written["config"]["OnBuild"], serde_json::Value::Null);
    round_trips(&config);
}

#[test]
fn an_empty_config_object_reads_as_defaults() {
    let config: ImageConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(config, ImageConfig::default());
    assert!(config.history.is_empty() && config.config.cmd.is_none());
}

/// `manifest.json` of a `docker save` archive: as Docker 25 writes it (OCI layout paths,
/// `LayerSources`), and as older daemons write an untagged image (`RepoTags` null).
const DOCKER_ARCHIVE_MANIFEST: &str = r#"[
  {"Config":"blobs/sha256/d2c94e258dcb3c5ac2798d32e1249e42ef01cba4841c2234249495f87264ac5a",
   "RepoTags":["hello-world:latest","example/hello:1"],
   "Layers":["blobs/sha256/ac28800ec8bb38d5c35b49d45a6ac4777544941199075dff8c4eb63e093aa81e"],
   "LayerSources":{"sha256:ac28800ec8bb38d5c35b49d45a6ac4777544941199075dff8c4eb63e093aa81e":
     {"mediaType":"application/vnd.oci.image.layer.v1.tar","size":14336,
      "digest":"sha256:ac28800ec8bb38d5c35b49d45a6ac4777544941199075dff8c4eb63e093aa81e"}}},
  {"Config":"9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d.json",
   "RepoTags":null,
   "Layers":["8e4f5ad5c1b4a5a9d5e0c0d6f2f3f1b0a8c7e6d5c4b3a2918070605040302010/layer.tar"]}
]"#;

#[test]
fn docker_archive_entries_read_names_tags_and_keep_their_extras() {
    let entries: Vec<DockerArchiveEntry> = serde_json::from_str(DOCKER_ARCHIVE_MANIFEST).unwrap();
    let strings = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let expected = [
        DockerArchiveEntry {
            config: "blobs/sha256/d2c94e258dcb3c5ac2798d32e1249e42ef01cba4841c2234249495f87264ac5a"
                .to_owned(),
            repo_tags: strings(&["hello-world:latest", "example/hello:1"]),
            layers: strings(&[
                "blobs/sha256/ac28800ec8bb38d5c35b49d45a6ac4777544941199075dff8c4eb63e093aa81e",
            ]),
            extra: ExtraFields::new(),
        },
        DockerArchiveEntry {
            config: "9c7a54a9a43cca047013b82af109fe963fde787f63f9e016fdc3384500c2823d.json"
                .to_owned(),
            repo_tags: Vec::new(),
            layers: strings(&[
                "8e4f5ad5c1b4a5a9d5e0c0d6f2f3f1b0a8c7e6d5c4b3a2918070605040302010/layer.tar",
            ]),
            extra: ExtraFields::new(),
        },
    ];
    let kept: Vec<Vec<&String>> = entries.iter().map(|e| e.extra.keys().collect()).collect();
    assert_eq!(kept, [vec!["LayerSources"], vec![]]);
    let named: Vec<DockerArchiveEntry> = entries
        .iter()
        .cloned()
        .map(|entry| DockerArchiveEntry {
            extra: ExtraFields::new(),
            ..entry
        })
        .collect();
    assert_eq!(named, expected);
    for entry in &entries {
        round_trips(entry);
    }
}

#[test]
fn a_docker_archive_entry_without_config_or_layers_is_refused() {
    for (json, missing) in [
        (r#"{"RepoTags":[],"Layers":[]}"#, "Config"),
        (r#"{"Config":"c.json","RepoTags":[]}"#, "Layers"),
    ] {
        let err = serde_json::from_str::<DockerArchiveEntry>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("missing field `{missing}`")), "{err}");
    }
}

#[test]
fn a_config_read_as_a_platform_is_the_platform_it_states() {
    for config in [OCI_CONFIG, DOCKER_CONFIG] {
        let platform: Platform = serde_json::from_str(config).unwrap();
        let parsed: ImageConfig = serde_json::from_str(config).unwrap();
        assert_eq!(platform, parsed.platform);
        assert!(!platform.architecture.is_empty() && !platform.os.is_empty());
        for key in ["architecture", "os", "variant", "os.version", "os.features"] {
            assert!(!parsed.extra.contains_key(key), "{key} is the platform's");
        }
    }
}

#[test]
fn a_config_is_written_with_its_platform_first_as_before() {
    let config = ImageConfig {
        platform: crate::Architecture::Arm64v8.platform().into(),
        created: Some("2024-01-01T00:00:00Z".to_owned()),
        ..ImageConfig::default()
    };
    let json = serde_json::to_string(&config).unwrap();
    assert!(
        json.starts_with(
            r#"{"architecture":"arm64","os":"linux","variant":"v8","created":"2024-01-01T00:00:00Z","config":{"#
        ),
        "{json}"
    );
}
