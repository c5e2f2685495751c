//! The offline pull-request checks of docker-library/official-images (`naughty.sh`,
//! `naughty-from.sh`, `naughty-sharedtags.sh`, `naughty-constraints.sh`) and bashbrew's own
//! file rules, as typed findings with file, line, repository, tag and rule.
//!
//! Every file of the folder is accounted for: a file that does not parse becomes one finding
//! per problem at its line, and a file whose name is not a repository name is reported rather
//! than ignored. The checks that need Dockerfiles (`from-*`, `constraints`) run only when a
//! [`FromsResolver`] is given, so linting a folder never needs the network.
//!
//! Severity follows upstream: every check that fails an official-images pull request is an
//! error. The two warnings are about this folder rather than the file under review: a file the
//! folder cannot read as a repository, and a FROM whose library file is not in the folder (the
//! parent cannot be checked, which is not the maintainer's mistake).
//!
//! | rule                      | severity | upstream                                          |
//! |---------------------------|----------|---------------------------------------------------|
//! | `unreadable`              | error    | bashbrew cannot read the file                     |
//! | `not-a-repository`        | warning  | bashbrew never reads a file by that name          |
//! | `parse`                   | error    | bashbrew refuses the file                         |
//! | `missing-git-commit`      | error    | bashbrew: "missing one of GitRepo, …, GitCommit"  |
//! | `duplicate-tag`           | error    | bashbrew: duplicate or conflicting (shared) tag   |
//! | `latest-tag`              | error    | `naughty.sh`: incorrectly formatted latest tags   |
//! | `shared-tag-architecture` | error    | `naughty-sharedtags.sh`                           |
//! | `froms-unavailable`       | error    | `naughty-from.sh` stops when FROMs are unknown    |
//! | `from-architecture`       | error    | `naughty-from.sh`: FROM + Architectures           |
//! | `from-unpinned`           | error    | `naughty-from.sh`: external images                |
//! | `from-unknown`            | warning  | (the parent's library file is not in the folder)  |
//! | `constraints`             | error    | `naughty-constraints.sh`                          |

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use oci::{Architecture, ImageReference};
use serde::{Serialize, Serializer};

use crate::collection::{FileError, Library};
use crate::parse::Problem;
use crate::{Entry, FromsResolver, LibraryFile};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; does not fail the check.
    Warning,
    /// Fails the check, as it would fail an official-images pull request.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One check; the module documentation lists where each comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// The file could not be read.
    Unreadable,
    /// The file's name is not a repository name, so nothing reads it.
    NotARepository,
    /// The file breaks the format: syntax, fields or values.
    Parse,
    /// An entry has no GitCommit, even after inheriting the first paragraph's.
    MissingGitCommit,
    /// A tag is used twice, or is both one entry's tag and another's shared tag.
    DuplicateTag,
    /// A tag contains `latest` without being exactly `latest`.
    LatestTag,
    /// Two entries behind the same shared tags are built for the same architecture.
    SharedTagArchitecture,
    /// The entry's Dockerfile could not be read to find its FROM images.
    FromsUnavailable,
    /// A FROM names a library tag that does not exist or is not built for the architecture.
    FromArchitecture,
    /// A FROM names an image outside the library that is neither pinned nor allowed.
    FromUnpinned,
    /// A FROM names a library repository that has no file in this folder.
    FromUnknown,
    /// Constraints do not match what the FROM images require.
    Constraints,
}

impl Rule {
    /// The id printed in brackets and used in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Rule::Unreadable => "unreadable",
            Rule::NotARepository => "not-a-repository",
            Rule::Parse => "parse",
            Rule::MissingGitCommit => "missing-git-commit",
            Rule::DuplicateTag => "duplicate-tag",
            Rule::LatestTag => "latest-tag",
            Rule::SharedTagArchitecture => "shared-tag-architecture",
            Rule::FromsUnavailable => "froms-unavailable",
            Rule::FromArchitecture => "from-architecture",
            Rule::FromUnpinned => "from-unpinned",
            Rule::FromUnknown => "from-unknown",
            Rule::Constraints => "constraints",
        }
    }

    /// How much a finding of this rule matters.
    pub fn severity(self) -> Severity {
        match self {
            Rule::NotARepository | Rule::FromUnknown => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// One problem found, where it is and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The library file.
    pub path: PathBuf,
    /// The 1-based line (the entry's first line for entry-wide findings); `None` when the
    /// finding is about the whole file.
    pub line: Option<usize>,
    /// The repository (the file's name).
    pub repo: String,
    /// The tag the finding is about, where there is one.
    pub tag: Option<String>,
    /// The check that found it.
    pub rule: Rule,
    /// The rule's severity.
    pub severity: Severity,
    /// What is wrong and what to change.
    pub message: String,
}

/// `path:line: severity: [rule] message`, the shape compilers and editors understand.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, "{line}:")?;
        }
        write!(f, " {}: [{}] {}", self.severity, self.rule, self.message)
    }
}

/// Loads the library folder `dir` and lints every file in it; see [`lint`].
pub fn lint_dir(dir: &Path, resolver: Option<&dyn FromsResolver>) -> io::Result<Vec<Finding>> {
    let (library, failed) = Library::load_dir(dir)?;
    Ok(lint(dir, &library, &failed, resolver))
}

/// Lints a library folder loaded from `dir`: the files that failed to load, the names that are
/// not repositories, and every check over the files that parsed. FROM-based checks run only
/// with a `resolver`. Findings come sorted by file and line.
pub fn lint(
    dir: &Path,
    library: &Library,
    failed: &[FileError],
    resolver: Option<&dyn FromsResolver>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for error in failed {
        findings.extend(load_findings(error));
    }
    for path in library.skipped() {
        let message = "not read: the name is not a repository name (lowercase letters and digits, \
                       joined by . _ or -); rename the file or move it out of the folder";
        findings.push(Site::new(path).finding(None, None, Rule::NotARepository, message.into()));
    }
    for (repo, file) in library.repos() {
        let site = Site::new(&dir.join(repo));
        latest_tags(&site, file, &mut findings);
        shared_tag_architectures(&site, file, &mut findings);
        if let Some(resolver) = resolver {
            froms(&site, library, file, resolver, &mut findings);
        }
    }
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.rule, &a.message).cmp(&(&b.path, b.line, b.rule, &b.message))
    });
    findings
}

/// The file a finding is in, so each check only says what and where inside it.
struct Site {
    path: PathBuf,
    repo: String,
}

impl Site {
    fn new(path: &Path) -> Self {
        let repo = path
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        Site {
            path: path.to_owned(),
            repo,
        }
    }

    fn finding(
        &self,
        line: Option<usize>,
        tag: Option<&str>,
        rule: Rule,
        message: String,
    ) -> Finding {
        Finding {
            path: self.path.clone(),
            line,
            repo: self.repo.clone(),
            tag: tag.map(str::to_owned),
            rule,
            severity: rule.severity(),
            message,
        }
    }

    fn entry_finding(&self, entry: &Entry, rule: Rule, message: String) -> Finding {
        let tag = entry.tags.first().map(String::as_str);
        self.finding(Some(entry.line.0), tag, rule, message)
    }
}

/// One finding per problem of a file that did not load, at the problem's line.
fn load_findings(error: &FileError) -> Vec<Finding> {
    let site = Site::new(error.path());
    match error {
        FileError::Read { source, .. } => {
            let message = format!("cannot read the file: {source}");
            vec![site.finding(None, None, Rule::Unreadable, message)]
        }
        FileError::Parse { error, .. } => error
            .diagnostics
            .iter()
            .map(|diagnostic| {
                let (rule, tag) = problem_rule(&diagnostic.problem);
                let message = diagnostic.problem.to_string();
                site.finding(Some(diagnostic.line), tag, rule, message)
            })
            .collect(),
    }
}

/// The rule a parse problem belongs to, and the tag it names.
fn problem_rule(problem: &Problem) -> (Rule, Option<&str>) {
    match problem {
        Problem::MissingGitField {
            field: "GitCommit",
            tags,
        } => (Rule::MissingGitCommit, tags.split(", ").next()),
        Problem::DuplicateTag { tag, .. } | Problem::TagConflictsWithSharedTag { tag, .. } => {
            (Rule::DuplicateTag, Some(tag))
        }
        _ => (Rule::Parse, None),
    }
}

/// `naughty.sh`: only the tag `latest` itself may say "latest", so that `latest` always means
/// the one image the maintainers recommend.
fn latest_tags(site: &Site, file: &LibraryFile, findings: &mut Vec<Finding>) {
    for entry in &file.entries {
        for tag in entry
            .all_tags()
            .filter(|t| *t != "latest" && t.contains("latest"))
        {
            let message = format!(
                "tag {tag:?} contains \"latest\": only the tag \"latest\" itself may; rename it \
                 (https://github.com/docker-library/official-images#tags-and-aliases)"
            );
            findings.push(site.finding(Some(entry.line.0), Some(tag), Rule::LatestTag, message));
        }
    }
}

/// `naughty-sharedtags.sh`: the entries behind one set of shared tags become one index, which
/// can hold one image per platform. Windows entries may repeat `windows-amd64` because the
/// daemon picks by Windows version, so for them only entries with the same Constraints (the
/// same Windows version) collide; upstream leaves that case as a TODO.
fn shared_tag_architectures(site: &Site, file: &LibraryFile, findings: &mut Vec<Finding>) {
    for group in file.shared_tag_groups() {
        let mut seen: Vec<(Architecture, &[String], &Entry)> = Vec::new();
        for &entry in &group.entries {
            for &arch in &entry.architectures {
                let version: &[String] = if arch == Architecture::WindowsAmd64 {
                    &entry.constraints
                } else {
                    &[]
                };
                match seen.iter().find(|(a, v, _)| *a == arch && *v == version) {
                    Some((_, _, first)) => {
                        let message = format!(
                            "shared tags `{}` would combine two {arch} images, {} (line {}) and {}: \
                             an index holds one image per platform; drop {arch} from one entry's \
                             Architectures or the shared tags from one entry",
                            group.shared_tags.join("`, `"),
                            first.tags[0],
                            first.line.0,
                            entry.tags[0],
                        );
                        let tag = group.shared_tags.first().copied();
                        let rule = Rule::SharedTagArchitecture;
                        findings.push(site.finding(Some(entry.line.0), tag, rule, message));
                    }
                    None => seen.push((arch, version, entry)),
                }
            }
        }
    }
}

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
fn froms(
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
            "FROM {from}: there is no library file {name:?} in this folder, so whether it is \
             built for these architectures cannot be checked; add it to the folder to check"
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
                "FROM {from}: {name}:{tag} is not built for these architectures; remove them from \
                 Architectures or build FROM a tag that has them \
                 (https://github.com/docker-library/official-images#multiple-architectures)"
            ),
        )
    }
}

/// Images outside the library that `naughty-from.sh` allows, by architecture: the Windows base
/// images (only Microsoft publishes them) and Elastic's own images, which their official images
/// repackage.
const ALLOWED_EXTERNAL: &[(&str, &str)] = &[
    ("windows-amd64", "mcr.microsoft.com/windows/nanoserver"),
    ("windows-amd64", "mcr.microsoft.com/windows/servercore"),
    ("windows-amd64", "microsoft/nanoserver"),
    ("windows-amd64", "microsoft/windowsservercore"),
    ("amd64", "docker.elastic.co/elasticsearch/elasticsearch"),
    ("amd64", "docker.elastic.co/kibana/kibana"),
    ("amd64", "docker.elastic.co/logstash/logstash"),
];

fn judge_external(from: &ImageReference, arch: Architecture) -> Verdict {
    let name = from.familiar_name();
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
    let allowed = ALLOWED_EXTERNAL
        .iter()
        .any(|(a, image)| *a == arch.as_str() && *image == name);
    if allowed || from.is_pinned() {
        return Verdict::Fine;
    }
    Verdict::Naughty(
        Rule::FromUnpinned,
        format!(
            "FROM {from}: images outside the library must be pinned by digest \
             ({name}@sha256:…) so the build is reproducible; pin it or build FROM an official image"
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
    use crate::parse::parse;
    use crate::FromsError;

    const HEAD: &str = "Maintainers: Jo Doe <jo@example.com> (@jo)\n\
                        GitRepo: https://github.com/example/images.git\n\
                        GitCommit: 0123456789abcdef0123456789abcdef01234567\n";
    const PINNED: &str =
        "ghcr.io/x/y@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    const DEBIAN: (&str, &str) = (
        "debian",
        "\nTags: bookworm\nArchitectures: amd64, arm64v8\n",
    );
    const WINDOWS: &str =
        "\nTags: w\nArchitectures: windows-amd64\nConstraints: windowsservercore-ltsc2022\n";

    /// Library files: repository name and text.
    type Files = &'static [(&'static str, &'static str)];
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

    /// Parses `files` (repository name, then the text after the common first paragraph, or the
    /// whole file when it starts with `Maintainers`) into a library and the files that failed.
    fn load(files: Files) -> (Library, Vec<FileError>) {
        let mut library = Library::default();
        let mut failed = Vec::new();
        for (repo, body) in files {
            let text = match body.starts_with("Maintainers") {
                true => body.to_string(),
                false => format!("{HEAD}{body}"),
            };
            match parse(&text) {
                Ok(file) => library.insert(repo.to_string(), file),
                Err(error) => failed.push(FileError::Parse {
                    path: Path::new("lib").join(repo),
                    error,
                }),
            }
        }
        (library, failed)
    }

    /// Lints `files` and renders each finding as `repo:line [rule] tag`.
    fn check(files: Files, resolver: Option<MapResolver>) -> Vec<String> {
        let (library, failed) = load(files);
        let resolver = resolver.as_ref().map(|r| r as &dyn FromsResolver);
        lint(Path::new("lib"), &library, &failed, resolver)
            .iter()
            .map(|f| {
                let line = f.line.map_or("-".to_owned(), |l| l.to_string());
                let tag = f.tag.as_deref().unwrap_or("-");
                format!("{}:{line} [{}] {tag}", f.repo, f.rule)
            })
            .collect()
    }

    #[test]
    fn file_rules() {
        let cases: &[(&str, Files, &[&str])] = &[
            ("a clean file", &[("a", "\nTags: 1, latest\n")], &[]),
            (
                "latest inside a tag or shared tag",
                &[("a", "\nTags: 1-latest, latest\nSharedTags: latest-slim\n")],
                &["a:5 [latest-tag] 1-latest", "a:5 [latest-tag] latest-slim"],
            ),
            (
                "missing GitCommit is surfaced from the parser",
                &[("a", "Maintainers: Jo Doe <jo@example.com> (@jo)\nGitRepo: https://x/y.git\n\nTags: 1, 2\n")],
                &["a:4 [missing-git-commit] 1"],
            ),
            (
                "duplicate tags and tag/shared-tag collisions",
                &[("a", "\nTags: 1\n\nTags: 2, 1\nDirectory: x\n\nTags: 3\nSharedTags: 2\nDirectory: y\n")],
                &["a:7 [duplicate-tag] 1", "a:11 [duplicate-tag] 2"],
            ),
            (
                "other parse problems keep their line",
                &[("a", "\nTags: 1\nColour: blue\n")],
                &["a:6 [parse] -"],
            ),
            (
                "an architecture twice behind one shared tag",
                &[("a", "\nTags: 1-a\nSharedTags: 1\nArchitectures: amd64, arm64v8\n\n\
                         Tags: 1-b\nSharedTags: 1\nArchitectures: arm64v8\nDirectory: b\n")],
                &["a:9 [shared-tag-architecture] 1"],
            ),
            (
                "Windows entries may share tags across Windows versions only",
                &[("a", "\nTags: w1\nSharedTags: w\nArchitectures: windows-amd64\nConstraints: windowsservercore-ltsc2022\n\n\
                         Tags: w2\nSharedTags: w\nArchitectures: windows-amd64\nConstraints: windowsservercore-ltsc2025\nDirectory: b\n\n\
                         Tags: w3\nSharedTags: w\nArchitectures: windows-amd64\nConstraints: windowsservercore-ltsc2022\nDirectory: c\n")],
                &["a:16 [shared-tag-architecture] w"],
            ),
        ];
        for (name, files, expected) in cases {
            assert_eq!(check(files, None), *expected, "{name}");
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
            let found = check(files, Some(MapResolver(froms)));
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
            ["lib/a:5: error: [from-architecture] FROM debian:bookworm: debian:bookworm is not \
              built for these architectures; remove them from Architectures or build FROM a tag \
              that has them (https://github.com/docker-library/official-images#multiple-architectures) \
              [arm32v7, s390x]"]
        );
    }

    fn real_folder() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/official-images-library")
    }

    /// The real folder parses completely (108 library files); the checks that need no
    /// Dockerfiles find nothing to fix, and the one file that is no repository, README.txt, is
    /// reported instead of skipped silently.
    #[test]
    fn the_real_library_folder_is_clean() {
        let (library, failed) = Library::load_dir(&real_folder()).unwrap();
        assert_eq!((library.repos().count(), failed.len()), (108, 0));
        let findings = lint(&real_folder(), &library, &failed, None);
        let found: Vec<(&str, Rule)> = findings.iter().map(|f| (f.repo.as_str(), f.rule)).collect();
        assert_eq!(found, [("README.txt", Rule::NotARepository)]);
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
