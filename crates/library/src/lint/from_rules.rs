//! The checks that read Dockerfiles through a [`FromsResolver`]: `naughty-from.sh` (is every
//! FROM image built for the entry's architectures, and is every image from outside the library
//! pinned or allowed) and `naughty-constraints.sh` (do Constraints match what the FROM images
//! need).

use std::collections::BTreeMap;

use oci::{Architecture, ImageReference};

use super::{Finding, Rule, Site};
use crate::collection::Library;
use crate::{Entry, FromsResolver, LibraryFile};

/// What one FROM image means for one architecture of an entry.
enum Verdict {
    /// Nothing to report.
    Fine,
    /// The parent's library file is not in the folder, so it cannot be checked.
    Unknown(String),
    /// A finding of `rule`, explained.
    Naughty(Rule, String),
}

/// The FROM-based checks of one file: every FROM of every entry and architecture is judged,
/// then findings are grouped by what they say so each lists the architectures it applies to
/// (as `naughty-from.sh` prints `img (FROM from) [arches]`).
pub(super) fn check(
    site: &Site,
    library: &Library,
    file: &LibraryFile,
    resolver: &dyn FromsResolver,
    findings: &mut Vec<Finding>,
) {
    for entry in &file.entries {
        let mut grouped: BTreeMap<(Rule, String), Vec<Architecture>> = BTreeMap::new();
        for &arch in &entry.architectures {
            let froms = match resolver.froms(&site.repo, entry, arch) {
                Ok(froms) => froms,
                Err(error) => {
                    let message = format!(
                        "cannot read the Dockerfile to find its FROM images ({error}): check \
                         GitRepo, GitFetch, GitCommit, Directory and File"
                    );
                    grouped
                        .entry((Rule::FromsUnavailable, message))
                        .or_default()
                        .push(arch);
                    continue;
                }
            };
            let mut complete = true;
            for from in &froms {
                let (rule, message) = match judge(library, from, arch) {
                    Verdict::Fine => continue,
                    Verdict::Unknown(message) => {
                        complete = false;
                        (Rule::FromUnknown, message)
                    }
                    Verdict::Naughty(rule, message) => (rule, message),
                };
                grouped.entry((rule, message)).or_default().push(arch);
            }
            for message in constraint_mismatches(library, entry, &froms, arch, complete) {
                grouped
                    .entry((Rule::Constraints, message))
                    .or_default()
                    .push(arch);
            }
        }
        for ((rule, message), arches) in grouped {
            let arches: Vec<&str> = arches.iter().map(|a| a.as_str()).collect();
            let message = format!("{message} [{}]", arches.join(", "));
            findings.push(site.entry_finding(entry, rule, message));
        }
    }
}

/// `naughty-from.sh`'s judgement of one FROM for one architecture.
fn judge(library: &Library, from: &ImageReference, arch: Architecture) -> Verdict {
    let Some(name) = from.official_repository() else {
        return judge_external(from, arch);
    };
    let tag = from.tag_or_latest();
    let Some(parent) = library.repo(name) else {
        return Verdict::Unknown(format!(
            "FROM {from}: this folder has no readable library file {name:?} (missing, or broken \
             and reported above), so whether it is built for these architectures cannot be \
             checked; add or fix it to check"
        ));
    };
    let entries = parent.entries_for_tag(tag);
    if entries.is_empty() {
        return Verdict::Naughty(
            Rule::FromArchitecture,
            format!(
                "FROM {from}: {name} has no tag {tag:?}; build FROM a tag its library file lists"
            ),
        );
    }
    if entries.iter().any(|e| e.has_architecture(arch)) {
        Verdict::Fine
    } else {
        Verdict::Naughty(
            Rule::FromArchitecture,
            format!(
                "FROM {name}:{tag} is not built for these architectures; remove them from \
                 Architectures or build FROM a tag that has them \
                 (https://github.com/docker-library/official-images#multiple-architectures)"
            ),
        )
    }
}

/// Elastic's own images, which their official images repackage: `naughty-from.sh` allows
/// them on amd64.
const ELASTIC_IMAGES: [&str; 3] = [
    "docker.elastic.co/elasticsearch/elasticsearch",
    "docker.elastic.co/kibana/kibana",
    "docker.elastic.co/logstash/logstash",
];

fn judge_external(from: &ImageReference, arch: Architecture) -> Verdict {
    let windows_base = windows_base(from).is_some();
    if windows_base && from.tag_or_latest() == "latest" && !from.is_pinned() {
        return Verdict::Naughty(
            Rule::FromUnpinned,
            format!(
                "FROM {from}: Microsoft no longer publishes a latest tag for Windows base images; \
                 name the Windows version (for example :ltsc2022)"
            ),
        );
    }
    // Only Microsoft publishes the Windows base images, so they cannot be library images.
    let allowed = match arch {
        Architecture::WindowsAmd64 => windows_base,
        Architecture::Amd64 => ELASTIC_IMAGES.contains(&from.familiar_name().as_str()),
        _ => false,
    };
    if allowed || from.is_pinned() {
        return Verdict::Fine;
    }
    Verdict::Naughty(
        Rule::FromUnpinned,
        format!(
            "FROM {from}: images outside the library must be pinned by digest \
             ({}@sha256:…) so the build is reproducible; pin it or build FROM an official image",
            from.familiar_name()
        ),
    )
}

/// The Constraints family a Windows base image needs (`windowsservercore`, `nanoserver`).
fn windows_base(from: &ImageReference) -> Option<&'static str> {
    match from.familiar_name().as_str() {
        "mcr.microsoft.com/windows/servercore" | "microsoft/windowsservercore" => {
            Some("windowsservercore")
        }
        "mcr.microsoft.com/windows/nanoserver" | "microsoft/nanoserver" => Some("nanoserver"),
        _ => None,
    }
}

/// `naughty-constraints.sh`: an entry's Constraints must be exactly what its FROM images need,
/// so that it is scheduled on a builder that can run them. A parent's need is its own
/// Constraints, or for a Windows base image the Windows version. Extra constraints are only
/// reported when every FROM was known (`complete`), since an unknown parent may need them;
/// `!aufs` is a storage-driver constraint, never extra.
fn constraint_mismatches(
    library: &Library,
    entry: &Entry,
    froms: &[ImageReference],
    arch: Architecture,
    complete: bool,
) -> Vec<String> {
    let mut expected: Vec<String> = Vec::new();
    for from in froms {
        for constraint in required_constraints(library, from, arch) {
            if !expected.contains(&constraint) {
                expected.push(constraint);
            }
        }
    }
    let mut messages = Vec::new();
    for constraint in expected.iter().filter(|c| !entry.constraints.contains(c)) {
        messages.push(format!(
            "Constraints lacks {constraint:?}, which its FROM images need: add it"
        ));
    }
    if complete {
        let extra = entry
            .constraints
            .iter()
            .filter(|c| *c != "!aufs" && !expected.contains(c));
        for constraint in extra {
            messages.push(format!(
                "Constraints has {constraint:?}, which none of its FROM images need: remove it"
            ));
        }
    }
    messages
}

fn required_constraints(
    library: &Library,
    from: &ImageReference,
    arch: Architecture,
) -> Vec<String> {
    if let Some(name) = from.official_repository() {
        let tag = from.tag_or_latest();
        return library
            .repo(name)
            .and_then(|file| {
                let entries = file.entries_for_tag(tag);
                entries.into_iter().find(|e| e.has_architecture(arch))
            })
            .map(|e| e.constraints.clone())
            .unwrap_or_default();
    }
    match (windows_base(from), from.tag_or_latest()) {
        (Some(family), "latest") => vec![family.to_owned()],
        (Some(family), version) => vec![format!("{family}-{version}")],
        (None, _) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::lint;
    use crate::lint::tests::{check, load, real_folder, Files};
    use crate::FromsError;
    use std::path::Path;

    const PINNED: &str =
        "ghcr.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    const DEBIAN: (&str, &str) = (
        "debian",
        "\nTags: bookworm\nArchitectures: amd64, arm64v8\n",
    );
    const WINDOWS: &str =
        "\nTags: w\nArchitectures: windows-amd64\nConstraints: windowsservercore-ltsc2022\n";

    /// FROM images by tag, as [`MapResolver`] reads them.
    type Froms = &'static [(&'static str, &'static str)];

    /// FROM images by the entry's first tag (`"tag"`, or `"tag@arch"` for one architecture);
    /// `!message` makes the lookup fail. Entries not listed build FROM scratch.
    struct MapResolver(Froms);

    impl FromsResolver for MapResolver {
        fn froms(
            &self,
            _repo: &str,
            entry: &Entry,
            arch: Architecture,
        ) -> Result<Vec<ImageReference>, FromsError> {
            let tag = &entry.tags[0];
            let per_arch = format!("{tag}@{arch}");
            let found = self
                .0
                .iter()
                .find(|(k, _)| *k == per_arch)
                .or_else(|| self.0.iter().find(|(k, _)| k == tag));
            match found.map(|(_, v)| *v) {
                Some(v) if v.starts_with('!') => Err(FromsError(v[1..].to_owned())),
                Some(v) => Ok(v
                    .split_whitespace()
                    .map(|r| ImageReference::parse(r).unwrap())
                    .collect()),
                None => Ok(Vec::new()),
            }
        }
    }

    #[test]
    fn from_rules() {
        let cases: &[(&str, Files, Froms, &[&str])] = &[
            (
                "a parent built for every architecture",
                &[DEBIAN, ("a", "\nTags: 1\nArchitectures: amd64, arm64v8\n")],
                &[("1", "debian:bookworm")],
                &[],
            ),
            (
                "a parent missing some architectures",
                &[
                    DEBIAN,
                    ("a", "\nTags: 1\nArchitectures: amd64, arm32v7, s390x\n"),
                ],
                &[("1", "debian:bookworm")],
                &["a:5 [from-architecture] 1"],
            ),
            (
                "a parent tag that does not exist",
                &[DEBIAN, ("a", "\nTags: 1\n")],
                &[("1", "debian:sid")],
                &["a:5 [from-architecture] 1"],
            ),
            (
                "a parent outside the folder cannot be checked",
                &[("a", "\nTags: 1\n")],
                &[("1", "alpine:3.22")],
                &["a:5 [from-unknown] 1"],
            ),
            (
                "external images must be pinned",
                &[("a", "\nTags: 1, 2\n\nTags: 3\nDirectory: x\n")],
                &[("1", "ghcr.io/x/y:1"), ("3", PINNED)],
                &["a:5 [from-unpinned] 1"],
            ),
            (
                "Elastic's own images are allowed on amd64 only",
                &[("a", "\nTags: 1\nArchitectures: amd64, arm64v8\n")],
                &[("1", "docker.elastic.co/kibana/kibana:9.1.0")],
                &["a:5 [from-unpinned] 1"],
            ),
            (
                "the Windows base images are allowed on windows-amd64 with their constraint",
                &[("a", WINDOWS)],
                &[("w", "mcr.microsoft.com/windows/servercore:ltsc2022")],
                &[],
            ),
            (
                "the Windows constraint must match the base image",
                &[("a", WINDOWS)],
                &[("w", "mcr.microsoft.com/windows/servercore:ltsc2025")],
                &["a:5 [constraints] w", "a:5 [constraints] w"],
            ),
            (
                "Windows base images have no latest tag",
                &[(
                    "a",
                    "\nTags: w\nArchitectures: windows-amd64\nConstraints: windowsservercore\n",
                )],
                &[("w", "mcr.microsoft.com/windows/servercore")],
                &["a:5 [from-unpinned] w"],
            ),
            (
                "the Windows allowance is for windows-amd64 only",
                &[("a", "\nTags: 1\n")],
                &[("1", "mcr.microsoft.com/windows/servercore:ltsc2022")],
                &["a:5 [from-unpinned] 1", "a:5 [constraints] 1"],
            ),
            (
                "a child inherits its parent's constraints",
                &[
                    ("w", WINDOWS),
                    ("a", "\nTags: 1\nArchitectures: windows-amd64\n"),
                ],
                &[
                    ("1", "w:w"),
                    ("w", "mcr.microsoft.com/windows/servercore:ltsc2022"),
                ],
                &["a:5 [constraints] 1"],
            ),
            (
                "!aufs is never an extra constraint",
                &[("a", "\nTags: 1\nConstraints: !aufs\n")],
                &[],
                &[],
            ),
            (
                "extra constraints are not reported when a parent is unknown",
                &[("a", WINDOWS)],
                &[("w", "nowhere:1")],
                &["a:5 [from-unknown] w"],
            ),
            (
                "an unreadable Dockerfile is an error per entry",
                &[("a", "\nTags: 1\nArchitectures: amd64, arm64v8\n")],
                &[("1@arm64v8", "!no such commit")],
                &["a:5 [froms-unavailable] 1"],
            ),
        ];
        for (name, files, froms, expected) in cases {
            let found = check(files, Some(&MapResolver(froms)));
            assert_eq!(found, *expected, "{name}");
        }
    }

    #[test]
    fn findings_name_the_place_the_rule_and_the_fix() {
        let (library, _) = load(&[
            DEBIAN,
            ("a", "\nTags: 1\nArchitectures: amd64, arm32v7, s390x\n"),
        ]);
        let resolver = MapResolver(&[("1", "debian:bookworm")]);
        let findings = lint(Path::new("lib"), &library, &[], Some(&resolver));
        let rendered: Vec<String> = findings.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            ["lib/a:5: error: [from-architecture] FROM debian:bookworm is not \
              built for these architectures; remove them from Architectures or build FROM a tag \
              that has them (https://github.com/docker-library/official-images#multiple-architectures) \
              [arm32v7, s390x]"]
        );
    }

    /// The FROM images python's Dockerfiles name, derived from the tag the way python's
    /// generator lays them out; the parents are taken to build FROM scratch.
    struct PythonFroms;

    impl FromsResolver for PythonFroms {
        fn froms(
            &self,
            repo: &str,
            entry: &Entry,
            _: Architecture,
        ) -> Result<Vec<ImageReference>, FromsError> {
            if repo != "python" {
                return Ok(Vec::new());
            }
            let (_, variant) = entry.tags[0].split_once('-').unwrap();
            let from = if let Some(version) = variant.strip_prefix("windowsservercore-") {
                format!("mcr.microsoft.com/windows/servercore:{version}")
            } else if let Some(suite) = variant.strip_prefix("slim-") {
                format!("debian:{suite}-slim")
            } else if let Some(version) = variant.strip_prefix("alpine") {
                format!("alpine:{version}")
            } else {
                format!("buildpack-deps:{variant}")
            };
            Ok(vec![ImageReference::parse(&from).unwrap()])
        }
    }

    /// python against its real parents: debian and buildpack-deps build every architecture
    /// python asks of them, the Windows entries carry the constraint of their base image, and
    /// alpine is one of the files left out of the folder, so its 12 children cannot be checked.
    #[test]
    fn python_against_its_real_parents() {
        let mut library = Library::default();
        for repo in ["python", "debian", "buildpack-deps"] {
            let file = crate::load_file(&real_folder().join(repo)).unwrap();
            library.insert(repo.to_owned(), file);
        }
        let findings = lint(&real_folder(), &library, &[], Some(&PythonFroms));
        let unknown: Vec<&str> = findings
            .iter()
            .filter(|f| f.rule == Rule::FromUnknown)
            .filter_map(|f| f.tag.as_deref())
            .filter(|t| t.contains("-alpine3.2"))
            .collect();
        assert_eq!((findings.len(), unknown.len()), (12, 12), "{findings:#?}");
    }
}
