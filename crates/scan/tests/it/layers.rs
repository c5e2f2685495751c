//! The layer walker and the merge: whiteouts, opaque folders, attribution across layers,
//! links, and hostile layers (traversal, bombs, huge headers, corrupt streams).

use scan::image::{analyze_layer, LayerAnalysis};
use scan::{Inventory, LayerError, LayerRef, Limits};

use crate::fixtures::{gzip, layer, metadata, stanza, zstd, Item, BOOKWORM_OS_RELEASE};

fn analyze(data: &[u8]) -> LayerAnalysis {
    analyze_layer(data, &Limits::default()).expect("the layer reads")
}

fn merge(layers: &[LayerAnalysis]) -> Inventory {
    let refs: Vec<_> = layers
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                LayerRef {
                    digest: Some(format!("layer{i}")),
                    created_by: Some(format!("RUN step {i}")),
                },
                a,
            )
        })
        .collect();
    Inventory::from_layers(&refs)
}

/// `name version @layer`, sorted by name.
fn summary(inventory: &Inventory) -> Vec<String> {
    let mut out: Vec<_> = inventory
        .packages
        .iter()
        .map(|p| format!("{} {} @{}", p.package.name, p.package.version, p.layer))
        .collect();
    out.sort();
    out
}

#[test]
fn dpkg_packages_keep_the_layer_that_introduced_them() {
    let status = |stanzas: &[String]| stanzas.join("\n");
    let base = layer(&[
        Item::Link("etc/os-release", "../usr/lib/os-release"),
        Item::File("usr/lib/os-release", BOOKWORM_OS_RELEASE),
        Item::File(
            "var/lib/dpkg/status",
            status(&[
                stanza("libc6", "glibc", "2.36-9+deb12u1"),
                stanza("base-files", "base-files", "12.4"),
            ])
            .as_bytes(),
        ),
    ]);
    // apt rewrites the whole status file in every layer that installs something; the
    // double blank line between stanzas is what made Trivy lose a package.
    let apt = layer(&[Item::File(
        "var/lib/dpkg/status",
        format!(
            "{}\n\n{}\n{}",
            stanza("libc6", "glibc", "2.36-9+deb12u1"),
            stanza("curl", "curl", "7.88.1-10"),
            stanza("base-files", "base-files", "12.4")
        )
        .as_bytes(),
    )]);
    let upgrade = layer(&[Item::File(
        "/var/lib/dpkg/status",
        status(&[
            stanza("libc6", "glibc", "2.36-9+deb12u3"),
            stanza("curl", "curl", "7.88.1-10"),
            stanza("base-files", "base-files", "12.4"),
        ])
        .as_bytes(),
    )]);
    let inventory = merge(&[
        analyze(&base),
        analyze(&gzip(&apt)),
        analyze(&zstd(&upgrade)),
    ]);
    assert_eq!(
        summary(&inventory),
        [
            "base-files 12.4 @0",
            "curl 7.88.1-10 @1",
            "libc6 2.36-9+deb12u3 @2"
        ]
    );
    let os = inventory
        .os
        .as_ref()
        .expect("os-release through its symlink");
    assert_eq!(os.release().as_deref(), Some("12"));
    let libc6 = inventory
        .packages
        .iter()
        .find(|p| p.package.name == "libc6")
        .unwrap();
    assert_eq!(
        libc6.purl,
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64&distro=debian-12"
    );
    assert_eq!(libc6.package.release.as_deref(), Some("12"));
    assert_eq!(libc6.package.source, Some(("glibc".into(), None)));
    assert_eq!(
        inventory.layers[2].created_by.as_deref(),
        Some("RUN step 2")
    );
}

#[test]
fn whiteouts_and_opaque_folders_delete_what_lies_below() {
    let site = "usr/local/lib/python3.11/site-packages";
    let first = layer(&[
        Item::Dir("app/node_modules"),
        Item::Wheel(site, "requests", "2.25.0"),
        Item::Wheel(site, "urllib3", "1.26.4"),
        Item::Npm("app/node_modules", "lodash", "4.17.15"),
        Item::Npm("app/node_modules", "qs", "6.7.0"),
    ]);
    let second = layer(&[
        Item::File(&format!("{site}/.wh.urllib3-1.26.4.dist-info"), b""),
        Item::File("app/node_modules/.wh..wh..opq", b""),
        Item::Npm("app/node_modules", "minimist", "1.2.5"),
        // A package re-added after a whiteout in the same layer stays.
        Item::File(&format!("{site}/.wh.requests-2.25.0.dist-info"), b""),
        Item::Wheel(site, "requests", "2.25.0"),
    ]);
    let inventory = merge(&[analyze(&first), analyze(&second)]);
    assert_eq!(
        summary(&inventory),
        ["minimist 1.2.5 @1", "requests 2.25.0 @1"]
    );
}

#[test]
fn installed_packages_count_and_their_lockfiles_do_not() {
    let lock = br#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/express":{"version":"4.17.1"},"node_modules/mocha":{"version":"8.0.0","dev":true}}}"#;
    let installed = layer(&[
        Item::File("srv/app/package-lock.json", lock),
        Item::Npm("srv/app/node_modules", "express", "4.17.1"),
        // The installed package's own lockfile lists its dev dependencies: never read.
        Item::File("srv/app/node_modules/express/package-lock.json", lock),
        Item::Npm("srv/app/node_modules/express/node_modules", "qs", "6.7.0"),
        Item::Npm("srv/app/node_modules", "@types/node", "20.0.0"),
    ]);
    let inventory = merge(&[analyze(&installed)]);
    assert_eq!(
        summary(&inventory),
        ["@types/node 20.0.0 @0", "express 4.17.1 @0", "qs 6.7.0 @0"]
    );
    assert!(inventory
        .packages
        .iter()
        .any(|p| p.purl == "pkg:npm/%40types/node@20.0.0"));
    // An application shipped without node_modules: its lockfile is all there is.
    let bare = layer(&[Item::File("srv/app/package-lock.json", lock)]);
    assert_eq!(summary(&merge(&[analyze(&bare)])), ["express 4.17.1 @0"]);
}

#[test]
fn python_packages_owned_by_dpkg_are_not_reported_twice() {
    let egg = "usr/lib/python3/dist-packages/six-1.16.0.egg-info";
    let rootfs = layer(&[
        Item::File("etc/os-release", BOOKWORM_OS_RELEASE),
        Item::File(
            "var/lib/dpkg/status",
            stanza("python3-six", "six", "1.16.0-4").as_bytes(),
        ),
        Item::File(
            "var/lib/dpkg/info/python3-six.list",
            format!("/.\n/usr\n/{egg}\n/{egg}/PKG-INFO\n").as_bytes(),
        ),
        Item::File(&format!("{egg}/PKG-INFO"), &metadata("six", "1.16.0")),
        // An egg-info that is a file, not a folder, owned by its package as well.
        Item::File(
            "var/lib/dpkg/info/python3-distro-info.list",
            b"/usr/lib/python3/dist-packages/distro_info-1.5.egg-info\n",
        ),
        Item::File(
            "usr/lib/python3/dist-packages/distro_info-1.5.egg-info",
            &metadata("distro-info", "1.5"),
        ),
        Item::File(
            "usr/local/lib/python3.11/dist-packages/distro_info-1.0.egg-info",
            &metadata("distro-info", "1.0"),
        ),
        Item::Wheel("usr/local/lib/python3.11/dist-packages", "six", "1.17.0"),
    ]);
    assert_eq!(
        summary(&merge(&[analyze(&rootfs)])),
        [
            "distro-info 1.0 @0",
            "python3-six 1.16.0-4 @0",
            "six 1.17.0 @0"
        ]
    );
}

#[test]
fn links_resolve_inside_the_image_only() {
    for target in [
        "../../../../../os-release",
        "/proc/self/root/etc/os-release",
        "os-release",
    ] {
        let l = layer(&[
            Item::Link("etc/os-release", target),
            Item::File("usr/lib/os-release", b"ID=alpine\nVERSION_ID=3.20.1\n"),
        ]);
        let inventory = merge(&[analyze(&l)]);
        // The link names nothing inside the image (or itself); the fallback file decides.
        assert_eq!(
            inventory.os.unwrap().release().as_deref(),
            Some("v3.20"),
            "{target}"
        );
    }
    let hard = layer(&[
        Item::File("usr/lib/os-release", BOOKWORM_OS_RELEASE),
        Item::Hard("etc/os-release", "./usr/lib/os-release"),
    ]);
    assert_eq!(merge(&[analyze(&hard)]).os.unwrap().id, "debian");
}

#[test]
fn hostile_layers_are_refused_with_typed_errors() {
    let limits = Limits {
        ratio_floor: 1 << 20,
        max_ratio: 100,
        ..Limits::default()
    };
    let check = |data: &[u8], limits: &Limits| analyze_layer(data, limits).map(|_| ()).unwrap_err();
    // Traversal, anywhere in the path.
    for path in ["../etc/passwd", "usr/../../etc/passwd"] {
        let err = check(&layer(&[Item::File(path, b"x")]), &limits);
        assert!(matches!(err, LayerError::Traversal(_)), "{path}: {err}");
    }
    // A gzip bomb: 64 MiB of zeros compress about 1000×.
    let bomb = gzip(&layer(&[Item::File("zeros", &vec![0u8; 64 << 20])]));
    assert!(matches!(
        check(&bomb, &limits),
        LayerError::Ratio { limit: 100 }
    ));
    let small = Limits {
        max_layer_bytes: 1 << 20,
        ..limits
    };
    assert!(matches!(
        check(&layer(&[Item::File("big", &vec![7u8; 2 << 20])]), &small),
        LayerError::TooLarge { .. }
    ));
    // A GNU long name of 2 MiB.
    let mut long = tar::Header::new_gnu();
    long.set_entry_type(tar::EntryType::GNULongName);
    long.set_size(2 << 20);
    long.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
    long.set_cksum();
    let mut data = long.as_bytes().to_vec();
    data.extend(vec![b'a'; 2 << 20]);
    assert!(matches!(
        check(&data, &limits),
        LayerError::HeaderTooLarge { .. }
    ));
    // Corrupt and truncated streams.
    let good = gzip(&layer(&[Item::File(
        "var/lib/dpkg/status",
        stanza("a", "a", "1").as_bytes(),
    )]));
    let mut garbage = layer(&[Item::File("a", b"x")]);
    garbage[148] = b'9';
    for (name, data) in [
        ("truncated gzip", &good[..good.len() / 2]),
        ("bad checksum", &garbage[..]),
        ("bad zstd", &[0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff][..]),
    ] {
        let err = check(data, &limits);
        assert!(
            matches!(
                err,
                LayerError::Truncated | LayerError::Corrupt(_) | LayerError::Io(_)
            ),
            "{name}: {err:?}"
        );
    }
    assert!(matches!(
        check(b"BZh91AY&SY", &limits),
        LayerError::UnsupportedCompression("bzip2")
    ));
    // A wanted file over the size limit is reported, not read.
    let tiny = Limits {
        max_file: 10,
        ..Limits::default()
    };
    let report = analyze_layer(
        &layer(&[Item::File("etc/os-release", BOOKWORM_OS_RELEASE)])[..],
        &tiny,
    )
    .unwrap();
    assert!(
        report.files.is_empty() && report.problems.len() == 1,
        "{report:?}"
    );
}

#[test]
fn zstd_layers_of_several_frames_and_skippable_frames() {
    let tar = layer(&[
        Item::File("etc/os-release", BOOKWORM_OS_RELEASE),
        Item::File(
            "var/lib/dpkg/status",
            stanza("libc6", "glibc", "2.36-9+deb12u1").as_bytes(),
        ),
    ]);
    // Split at a block boundary, as zstd:chunked splits at file boundaries.
    let (first, second) = tar.split_at(1024);
    let mut data = zstd(first);
    data.extend([0x5e, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, b't', b'o', b'c', b'!']);
    data.extend(zstd(second));
    let analysis = analyze(&data);
    assert_eq!(analysis.files.len(), 2, "{analysis:?}");
    assert_eq!(analysis.uncompressed_bytes, tar.len() as u64);
}

#[test]
fn an_empty_stream_is_an_empty_layer() {
    assert_eq!(analyze(b""), LayerAnalysis::default());
}

#[test]
fn alpine_packages_match_secdb_through_their_origin_and_release() {
    let installed = "P:musl\nV:1.1.22-r3\nA:x86_64\nL:MIT\no:musl\n\nP:musl-utils\nV:1.1.22-r3\nA:x86_64\nL:MIT BSD GPL2+\no:musl\n\nP:alpine-baselayout\nV:3.2.0-r3\no:alpine-baselayout\n";
    let rootfs = layer(&[
        Item::File(
            "etc/os-release",
            b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.11.3\n",
        ),
        Item::File("lib/apk/db/installed", installed.as_bytes()),
    ]);
    let inventory = &merge(&[analyze(&gzip(&rootfs))]);
    let utils = &inventory.packages[1];
    assert_eq!(
        utils.purl,
        "pkg:apk/alpine/musl-utils@1.1.22-r3?arch=x86_64&distro=alpine-3.11.3"
    );
    assert_eq!(utils.licenses, ["MIT BSD GPL2+"]);
    let (db, _) = crate::load(
        scan::Format::AlpineSecdb,
        &crate::testdata("alpine-secdb/v3.11"),
    );
    let found = crate::findings(inventory, &db);
    assert_eq!(found, ["musl CVE-2019-14697", "musl-utils CVE-2019-14697"]);
}
