//! The offline pull-request checks of docker-library/official-images (`naughty.sh`,
//! `naughty-from.sh`, `naughty-sharedtags.sh`, `naughty-constraints.sh`) and bashbrew's own
//! file rules, as typed findings with file, line, repository, tag and rule.
//!
//! Every file of the folder is accounted for: a file that does not parse becomes one finding
//! per problem at its line, and a file whose name is not a repository name is reported rather
//! than ignored. The checks that need Dockerfiles (`from-*`, `constraints`) run only when a
//! [`FromsResolver`] is given, so linting a folder never needs the network.
//! `naughty-commits.sh` (is GitCommit reachable from GitFetch, did history add large binary
//! files) needs git history rather than Dockerfiles and is not among these checks.
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

use std::fmt;
use std::path::{Path, PathBuf};

use oci::Architecture;
use serde::{Serialize, Serializer};

mod from_rules;

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

/// Lints a library folder loaded from `dir` by [`Library::load_dir`]: the files that failed to load, the names that are
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
            from_rules::check(&site, library, file, resolver, &mut findings);
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
        let mut seen: Vec<(IndexSlot<'_>, &Entry)> = Vec::new();
        for &entry in &group.entries {
            for &arch in &entry.architectures {
                let slot = index_slot(entry, arch);
                match seen.iter().find(|(s, _)| *s == slot) {
                    Some((_, first)) => {
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
                    None => seen.push((slot, entry)),
                }
            }
        }
    }
}

/// What tells images in one index apart: the platform, and for Windows the version the
/// Constraints name.
type IndexSlot<'a> = (Architecture, &'a [String]);

fn index_slot(entry: &Entry, arch: Architecture) -> IndexSlot<'_> {
    match arch {
        Architecture::WindowsAmd64 => (arch, &entry.constraints),
        _ => (arch, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    const HEAD: &str = "Maintainers: Jo Doe <jo@example.com> (@jo)\n\
                        GitRepo: https://github.com/example/images.git\n\
                        GitCommit: 0123456789abcdef0123456789abcdef01234567\n";
    /// Library files: repository name and text.
    pub(super) type Files = &'static [(&'static str, &'static str)];
    /// Parses `files` (repository name, then the text after the common first paragraph, or the
    /// whole file when it starts with `Maintainers`) into a library and the files that failed.
    pub(super) fn load(files: Files) -> (Library, Vec<FileError>) {
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
    pub(super) fn check(files: Files, resolver: Option<&dyn FromsResolver>) -> Vec<String> {
        let (library, failed) = load(files);
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

    pub(super) fn real_folder() -> PathBuf {
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
}
