use super::*;
use oci::manifest::MediaType;
use Architecture::{Amd64, Arm64v8, WindowsAmd64, I386};

/// Windows Server 2022 and 2025, as their images' configs state them.
const LTSC2022: &str = "10.0.20348.4171";
const LTSC2025: &str = "10.0.26100.6584";

fn entry(first_tag: &str, architectures: &[Architecture]) -> TagEntry {
    TagEntry {
        repo: "python".into(),
        first_tag: first_tag.into(),
        architectures: architectures.to_vec(),
    }
}

/// An image of `entry` for `arch` whose manifest is `label` (one of [`LABELS`], so its digest
/// reads back as the label), on `os_version` where given.
fn image(entry: &str, arch: Architecture, label: &str, os_version: Option<&str>) -> ArchImage {
    let mut platform = Platform::from(arch.platform());
    platform.os_version = os_version.map(str::to_owned);
    ArchImage {
        entry: format!("python:{entry}"),
        arch,
        manifest: Descriptor::of(MediaType::OCI_MANIFEST, label.as_bytes()),
        platform,
    }
}

const LABELS: &[&str] = &[
    "linux amd64 v1",
    "linux arm64 v1",
    "core v1",
    "core v2",
    "nano v1",
    "nano v2",
    "amd64 v1",
    "amd64 v2",
    "arm64 v1",
];

/// Each manifest of `index` as `entry os/arch[/variant][@os.version] label`, the label
/// found back from the digest.
fn listing(index: &ImageIndex) -> Vec<String> {
    index
        .manifests
        .iter()
        .map(|d| {
            let label = LABELS
                .iter()
                .find(|l| Descriptor::of(MediaType::OCI_MANIFEST, l.as_bytes()).digest == d.digest)
                .unwrap_or(&"attestation");
            let p = d.platform.as_ref().unwrap();
            let version = p.os_version.as_deref().map(|v| format!("@{v}"));
            let owner = d
                .annotations
                .get(ENTRY_ANNOTATION)
                .map_or("-", String::as_str);
            format!(
                "{owner} {}{} {label}",
                platform_name(p),
                version.unwrap_or_default()
            )
        })
        .collect()
}

/// The tag's entries, the new builds, the outcomes expected and the index expected.
type Case<'a> = (Vec<TagEntry>, Vec<ArchImage>, &'a [&'a str], Vec<&'a str>);

fn outcomes(assembled: &Assembled) -> Vec<String> {
    assembled
        .outcomes
        .iter()
        .map(|o| format!("{} {} {}", o.entry, o.arch, o.outcome.as_str()))
        .collect()
}

#[test]
fn one_entry_keeps_what_its_missing_builds_published() {
    let old_amd = image("1", Amd64, "amd64 v1", None);
    let old_arm = image("1", Arm64v8, "arm64 v1", None);
    let new_amd = image("1", Amd64, "amd64 v2", None);
    let both = [entry("1", &[Amd64, Arm64v8])];
    let previous = assemble_index(&both, &[old_amd.clone(), old_arm.clone()], None).index;
    let cases: [Case; 4] = [
        // The arm64v8 agent has not built yet: its published image stays.
        (
            both.to_vec(),
            vec![new_amd.clone()],
            &["python:1 amd64 updated", "python:1 arm64v8 kept-published"],
            vec![
                "python:1 linux/amd64 amd64 v2",
                "python:1 linux/arm64/v8 arm64 v1",
            ],
        ),
        // Rebuilt to the same digests: nothing changes.
        (
            both.to_vec(),
            vec![old_amd.clone(), old_arm.clone()],
            &["python:1 amd64 unchanged", "python:1 arm64v8 unchanged"],
            vec![
                "python:1 linux/amd64 amd64 v1",
                "python:1 linux/arm64/v8 arm64 v1",
            ],
        ),
        // arm64v8 is no longer declared: dropped.
        (
            vec![entry("1", &[Amd64])],
            vec![new_amd.clone()],
            &["python:1 amd64 updated"],
            vec!["python:1 linux/amd64 amd64 v2"],
        ),
        // A new architecture with no build yet is missing, not invented.
        (
            vec![entry("1", &[Amd64, Arm64v8, I386])],
            vec![],
            &[
                "python:1 amd64 kept-published",
                "python:1 arm64v8 kept-published",
                "python:1 i386 missing",
            ],
            vec![
                "python:1 linux/amd64 amd64 v1",
                "python:1 linux/arm64/v8 arm64 v1",
            ],
        ),
    ];
    for (entries, built, expected_outcomes, expected_index) in cases {
        let assembled = assemble_index(&entries, &built, Some(&previous));
        assert_eq!(outcomes(&assembled), expected_outcomes);
        assert_eq!(listing(&assembled.index), expected_index);
    }
}

#[test]
fn a_shared_tag_lists_every_entry_on_one_architecture() {
    // python's `latest`: a Linux entry, then Windows Server Core and Nano Server, both
    // windows-amd64 and told apart by os.version.
    let linux_amd = image("3.14", Amd64, "linux amd64 v1", None);
    let linux_arm = image("3.14", Arm64v8, "linux arm64 v1", None);
    let core = image("core", WindowsAmd64, "core v1", Some(LTSC2022));
    let nano = image("nano", WindowsAmd64, "nano v1", Some(LTSC2025));
    let core2 = image("core", WindowsAmd64, "core v2", Some(LTSC2022));
    let nano2 = image("nano", WindowsAmd64, "nano v2", Some(LTSC2025));
    let linux = entry("3.14", &[Amd64, Arm64v8]);
    let servercore = entry("core", &[WindowsAmd64]);
    let nanoserver = entry("nano", &[WindowsAmd64]);
    let all = vec![linux.clone(), servercore.clone(), nanoserver.clone()];
    let first = [
        linux_amd.clone(),
        linux_arm.clone(),
        core.clone(),
        nano.clone(),
    ];
    let published = assemble_index(&all, &first, None);
    let everything = [
        "python:3.14 linux/amd64 linux amd64 v1",
        "python:3.14 linux/arm64/v8 linux arm64 v1",
        "python:core windows/amd64@10.0.20348.4171 core v1",
        "python:nano windows/amd64@10.0.26100.6584 nano v1",
    ];
    assert_eq!(listing(&published.index), everything);
    let previous = published.index;
    // Only the Windows entries' outcomes are compared.
    let cases: [Case; 5] = [
        // Only Nano Server was rebuilt: Server Core keeps its own image, not Nano's.
        (
            all.clone(),
            vec![nano2.clone()],
            &[
                "python:core windows-amd64 kept-published",
                "python:nano windows-amd64 updated",
            ],
            vec![
                everything[0],
                everything[1],
                everything[2],
                "python:nano windows/amd64@10.0.26100.6584 nano v2",
            ],
        ),
        // Only Server Core was rebuilt: the other way round.
        (
            all.clone(),
            vec![core2.clone()],
            &[
                "python:core windows-amd64 updated",
                "python:nano windows-amd64 kept-published",
            ],
            vec![
                everything[0],
                everything[1],
                "python:core windows/amd64@10.0.20348.4171 core v2",
                everything[3],
            ],
        ),
        // Both rebuilt, the later entry's image pushed first: the file's order still holds.
        (
            all.clone(),
            vec![nano2.clone(), core2.clone()],
            &[
                "python:core windows-amd64 updated",
                "python:nano windows-amd64 updated",
            ],
            vec![
                everything[0],
                everything[1],
                "python:core windows/amd64@10.0.20348.4171 core v2",
                "python:nano windows/amd64@10.0.26100.6584 nano v2",
            ],
        ),
        // Server Core no longer shares the tag: its image goes, Nano Server's stays.
        (
            vec![linux.clone(), nanoserver.clone()],
            vec![],
            &["python:nano windows-amd64 kept-published"],
            vec![everything[0], everything[1], everything[3]],
        ),
        // A new entry on the architecture with no build yet takes nothing of the others'.
        (
            vec![
                linux.clone(),
                entry("ltsc2016", &[WindowsAmd64]),
                nanoserver.clone(),
            ],
            vec![],
            &[
                "python:ltsc2016 windows-amd64 missing",
                "python:nano windows-amd64 kept-published",
            ],
            vec![everything[0], everything[1], everything[3]],
        ),
    ];
    for (entries, built, windows, expected_index) in cases {
        let assembled = assemble_index(&entries, &built, Some(&previous));
        let found = outcomes(&assembled);
        let found: Vec<&str> = found
            .iter()
            .map(String::as_str)
            .filter(|o| o.contains("windows"))
            .collect();
        assert_eq!(found, windows);
        assert_eq!(listing(&assembled.index), expected_index);
    }
}

#[test]
fn an_index_published_before_entries_were_annotated_is_the_first_entrys() {
    let core = image("core", WindowsAmd64, "core v1", Some(LTSC2022));
    let mut previous = assemble_index(
        &[entry("core", &[WindowsAmd64])],
        std::slice::from_ref(&core),
        None,
    )
    .index;
    previous.manifests[0].annotations.clear();
    let nano = image("nano", WindowsAmd64, "nano v1", Some(LTSC2025));
    // (the tag's entries, the new builds, the index)
    let cases: [(Vec<TagEntry>, Vec<ArchImage>, &[&str]); 2] = [
        // Server Core, the first Windows entry, had the tag's one Windows image.
        (
            vec![
                entry("core", &[WindowsAmd64]),
                entry("nano", &[WindowsAmd64]),
            ],
            vec![nano.clone()],
            &[
                "- windows/amd64@10.0.20348.4171 core v1",
                "python:nano windows/amd64@10.0.26100.6584 nano v1",
            ],
        ),
        // Nano Server, now first, takes it; Server Core's missing build keeps nothing.
        (
            vec![
                entry("nano", &[WindowsAmd64]),
                entry("core", &[WindowsAmd64]),
            ],
            vec![],
            &["- windows/amd64@10.0.20348.4171 core v1"],
        ),
    ];
    for (entries, built, expected) in cases {
        let assembled = assemble_index(&entries, &built, Some(&previous));
        assert_eq!(listing(&assembled.index), expected);
    }
}

fn attestation_for(subject: &Descriptor) -> Descriptor {
    let mut d = Descriptor::of(MediaType::OCI_MANIFEST, subject.digest.as_str().as_bytes());
    d.platform = Some(Platform {
        architecture: "unknown".into(),
        os: "unknown".into(),
        ..Platform::default()
    });
    d.annotations.extend([
        (
            attest::attach::REFERENCE_TYPE_ANNOTATION.to_owned(),
            attest::attach::ATTESTATION_MANIFEST.to_owned(),
        ),
        (
            attest::attach::REFERENCE_DIGEST_ANNOTATION.to_owned(),
            subject.digest.to_string(),
        ),
    ]);
    d
}

#[test]
fn attestations_follow_the_image_they_describe() {
    let core = image("core", WindowsAmd64, "core v1", Some(LTSC2022));
    let nano = image("nano", WindowsAmd64, "nano v1", Some(LTSC2025));
    let entries = [
        entry("core", &[WindowsAmd64]),
        entry("nano", &[WindowsAmd64]),
    ];
    let mut current = assemble_index(&entries, &[core.clone(), nano.clone()], None).index;
    let core_attestation = attestation_for(&current.manifests[0]);
    let nano_attestation = attestation_for(&current.manifests[1]);
    current
        .manifests
        .extend([core_attestation.clone(), nano_attestation.clone()]);
    let nano2 = image("nano", WindowsAmd64, "nano v2", Some(LTSC2025));
    let assembled = assemble_index(&entries, std::slice::from_ref(&nano2), Some(&current));
    let digests: Vec<&oci::Digest> = assembled
        .index
        .manifests
        .iter()
        .map(|d| &d.digest)
        .collect();
    assert_eq!(
        digests,
        [
            &core.manifest.digest,
            &nano2.manifest.digest,
            &core_attestation.digest
        ],
        "the replaced Nano Server image's attestation goes with it"
    );
}

#[test]
fn the_platform_comes_from_the_config_and_must_be_the_architectures() {
    // (architecture, config, the platform or the error)
    let cases: [(Architecture, &str, Result<&str, &str>); 6] = [
        (
            WindowsAmd64,
            r#"{"os":"windows","architecture":"amd64","os.version":"10.0.20348.4171","os.features":["win32k"]}"#,
            Ok(r#"{"architecture":"amd64","os":"windows","os.version":"10.0.20348.4171","os.features":["win32k"]}"#),
        ),
        // Docker leaves arm64's variant out of the config; the architecture knows it.
        (
            Arm64v8,
            r#"{"os":"linux","architecture":"arm64"}"#,
            Ok(r#"{"architecture":"arm64","os":"linux","variant":"v8"}"#),
        ),
        (
            Architecture::Arm32v7,
            r#"{"os":"linux","architecture":"arm","variant":"v7"}"#,
            Ok(r#"{"architecture":"arm","os":"linux","variant":"v7"}"#),
        ),
        (
            Architecture::Arm32v7,
            r#"{"os":"linux","architecture":"arm","variant":"v6"}"#,
            Err("its config says linux/arm/v6, not arm32v7's linux/arm/v7: the arm32v7 agent pushed another architecture's image"),
        ),
        (
            Amd64,
            r#"{"os":"windows","architecture":"amd64"}"#,
            Err("its config says windows/amd64, not amd64's linux/amd64: the amd64 agent pushed another architecture's image"),
        ),
        (
            Amd64,
            r#"{"os":"linux","architecture":"arm64"}"#,
            Err("its config says linux/arm64, not amd64's linux/amd64: the amd64 agent pushed another architecture's image"),
        ),
    ];
    for (arch, config, expected) in cases {
        let config: ImageConfig = serde_json::from_str(config).unwrap();
        let found = image_platform(arch, &config)
            .map(|p| serde_json::to_string(&p).unwrap())
            .map_err(|e| e.to_string());
        assert_eq!(
            found,
            expected.map(str::to_owned).map_err(str::to_owned),
            "{arch}"
        );
    }
}

#[test]
fn tag_entries_keep_the_architectures_asked_for() {
    let text = "Maintainers: A <a@example.com> (@a)\nGitRepo: https://example.com/p.git\n\
                GitCommit: 0123456789abcdef0123456789abcdef01234567\n\n\
                Tags: 3.14, 3\nArchitectures: amd64, arm64v8\n\n\
                Tags: core\nArchitectures: windows-amd64\n";
    let file = library::parse(text).unwrap();
    // (entry index, architecture asked for, the tag entry)
    let cases = [
        (0, None, Some(entry("3.14", &[Amd64, Arm64v8]))),
        (0, Some(Arm64v8), Some(entry("3.14", &[Arm64v8]))),
        (1, Some(Amd64), None),
        (1, None, Some(entry("core", &[WindowsAmd64]))),
    ];
    for (index, arch, expected) in cases {
        assert_eq!(TagEntry::of("python", &file.entries[index], arch), expected);
    }
}
