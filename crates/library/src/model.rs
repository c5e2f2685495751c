//! The in-memory model of one library file: what bashbrew calls a manifest, after inheritance
//! from the global paragraph, validation, and the merging of entries with identical build inputs.

use std::collections::BTreeMap;
use std::fmt;

use oci::Architecture;
use serde::Serialize;

/// The `GitFetch` an entry gets when neither it nor the global paragraph names one.
pub const DEFAULT_GIT_FETCH: &str = "refs/heads/master";
/// The `Directory` an entry gets by default.
pub const DEFAULT_DIRECTORY: &str = ".";
/// The `File` an entry gets by default.
pub const DEFAULT_FILE: &str = "Dockerfile";
/// The architecture list an entry gets by default.
pub const DEFAULT_ARCHITECTURES: [Architecture; 1] = [Architecture::Amd64];

/// One repository's library file (`library/python`): the global defaults and its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryFile {
    /// The first paragraph: maintainers and the defaults every entry inherits.
    pub global: Entry,
    /// The entries, in file order, with entries of identical build inputs merged into the first.
    pub entries: Vec<Entry>,
}

/// The fields an architecture may override with an `ARCH-Field:` line
/// (`arm64v8-GitCommit: …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ArchField {
    /// `ARCH-GitRepo`
    GitRepo,
    /// `ARCH-GitFetch`
    GitFetch,
    /// `ARCH-GitCommit`
    GitCommit,
    /// `ARCH-Directory`
    Directory,
    /// `ARCH-File`
    File,
    /// `ARCH-Builder`
    Builder,
}

impl ArchField {
    /// Every overridable field, in the order the canonical printer writes them.
    pub const ALL: [ArchField; 6] = [
        ArchField::GitRepo,
        ArchField::GitFetch,
        ArchField::GitCommit,
        ArchField::Directory,
        ArchField::File,
        ArchField::Builder,
    ];

    /// The field name as written after the architecture prefix.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchField::GitRepo => "GitRepo",
            ArchField::GitFetch => "GitFetch",
            ArchField::GitCommit => "GitCommit",
            ArchField::Directory => "Directory",
            ArchField::File => "File",
            ArchField::Builder => "Builder",
        }
    }
}

impl fmt::Display for ArchField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The line a paragraph starts on, kept for diagnostics.
///
/// Equality ignores it: two files that say the same thing describe the same model wherever
/// they say it, which is what `parse → print → parse` relies on.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(transparent)]
pub struct SourceLine(pub usize);

impl PartialEq for SourceLine {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SourceLine {}

/// One paragraph of a library file with everything it inherited filled in: the unit bashbrew
/// builds, once per architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Where the paragraph starts (the first paragraph, for merged entries).
    pub line: SourceLine,
    /// `Name <email> (@github)` lines.
    pub maintainers: Vec<String>,
    /// The entry's own tags; the first is its canonical name.
    pub tags: Vec<String>,
    /// Tags this entry shares with entries for other platforms (one multi-platform index).
    pub shared_tags: Vec<String>,
    /// The architectures the entry is built for.
    pub architectures: Vec<Architecture>,
    /// The git repository holding the build context.
    pub git_repo: String,
    /// The ref to fetch so that `git_commit` is reachable (`refs/heads/…` or `refs/tags/…`).
    pub git_fetch: String,
    /// The commit to build.
    pub git_commit: String,
    /// The build context directory inside the repository.
    pub directory: String,
    /// The Dockerfile's name inside `directory`.
    pub file: String,
    /// `buildkit`, `classic`, `oci-import`, or empty for the default.
    pub builder: String,
    /// Builder constraints (`windowsservercore-ltsc2022`, `!aufs`).
    pub constraints: Vec<String>,
    /// `ARCH-Field` values, which win over the plain field for that architecture.
    #[serde(serialize_with = "serialize_arch_overrides")]
    pub arch_overrides: BTreeMap<(Architecture, ArchField), String>,
}

impl Entry {
    /// The entry every global paragraph starts from.
    pub fn defaults() -> Self {
        Entry {
            line: SourceLine::default(),
            maintainers: Vec::new(),
            tags: Vec::new(),
            shared_tags: Vec::new(),
            architectures: DEFAULT_ARCHITECTURES.to_vec(),
            git_repo: String::new(),
            git_fetch: DEFAULT_GIT_FETCH.to_owned(),
            git_commit: String::new(),
            directory: DEFAULT_DIRECTORY.to_owned(),
            file: DEFAULT_FILE.to_owned(),
            builder: String::new(),
            constraints: Vec::new(),
            arch_overrides: BTreeMap::new(),
        }
    }

    /// The value of `field` for `arch`: the `ARCH-Field` override when there is one, otherwise
    /// the plain field.
    pub fn arch_value(&self, arch: Architecture, field: ArchField) -> &str {
        if let Some(value) = self.arch_overrides.get(&(arch, field)) {
            return value;
        }
        match field {
            ArchField::GitRepo => &self.git_repo,
            ArchField::GitFetch => &self.git_fetch,
            ArchField::GitCommit => &self.git_commit,
            ArchField::Directory => &self.directory,
            ArchField::File => &self.file,
            ArchField::Builder => &self.builder,
        }
    }

    /// The build source of this entry for `arch`: where its Dockerfile lives.
    pub fn source(&self, arch: Architecture) -> BuildSource<'_> {
        BuildSource {
            git_repo: self.arch_value(arch, ArchField::GitRepo),
            git_fetch: self.arch_value(arch, ArchField::GitFetch),
            git_commit: self.arch_value(arch, ArchField::GitCommit),
            directory: self.arch_value(arch, ArchField::Directory),
            file: self.arch_value(arch, ArchField::File),
            builder: self.arch_value(arch, ArchField::Builder),
        }
    }

    /// Whether the entry is built for `arch`.
    pub fn has_architecture(&self, arch: Architecture) -> bool {
        self.architectures.contains(&arch)
    }

    /// The entry's own tags followed by its shared tags, as `bashbrew list` prints them.
    pub fn all_tags(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .chain(&self.shared_tags)
            .map(String::as_str)
    }

    /// Whether two entries build the same thing, so that bashbrew merges their tags into one.
    pub fn same_build_inputs(&self, other: &Entry) -> bool {
        let sorted = |archs: &[Architecture]| {
            let mut archs = archs.to_vec();
            archs.sort();
            archs
        };
        self.git_repo == other.git_repo
            && self.git_fetch == other.git_fetch
            && self.git_commit == other.git_commit
            && self.directory == other.directory
            && self.file == other.file
            && self.builder == other.builder
            && self.constraints == other.constraints
            && self.arch_overrides == other.arch_overrides
            && sorted(&self.architectures) == sorted(&other.architectures)
    }
}

/// Writes overrides as a JSON object keyed like the file (`arm64v8-GitCommit`).
fn serialize_arch_overrides<S: serde::Serializer>(
    overrides: &BTreeMap<(Architecture, ArchField), String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(
        overrides
            .iter()
            .map(|((arch, field), value)| (format!("{arch}-{field}"), value)),
    )
}

/// Where one architecture's build of an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct BuildSource<'a> {
    /// Git repository URL.
    pub git_repo: &'a str,
    /// Ref that makes the commit reachable.
    pub git_fetch: &'a str,
    /// Commit to build.
    pub git_commit: &'a str,
    /// Build context directory.
    pub directory: &'a str,
    /// Dockerfile name inside the directory.
    pub file: &'a str,
    /// Builder name (empty: the default).
    pub builder: &'a str,
}

impl LibraryFile {
    /// The entry that has `tag` among its own tags.
    pub fn entry_for_tag(&self, tag: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.tags.iter().any(|t| t == tag))
    }

    /// The entries `tag` names: the one that owns it, or all that share it.
    pub fn entries_for_tag(&self, tag: &str) -> Vec<&Entry> {
        match self.entry_for_tag(tag) {
            Some(entry) => vec![entry],
            None => self
                .entries
                .iter()
                .filter(|e| e.shared_tags.iter().any(|t| t == tag))
                .collect(),
        }
    }

    /// Every shared tag in file order, each once.
    pub fn all_shared_tags(&self) -> Vec<&str> {
        let mut seen = Vec::new();
        for tag in self.entries.iter().flat_map(|e| &e.shared_tags) {
            if !seen.contains(&tag.as_str()) {
                seen.push(tag.as_str());
            }
        }
        seen
    }

    /// The shared tags grouped by the exact set of entries they point at, in file order
    /// (bashbrew's `GetSharedTagGroups`): each group becomes one multi-platform index.
    pub fn shared_tag_groups(&self) -> Vec<SharedTagGroup<'_>> {
        let mut groups: Vec<SharedTagGroup<'_>> = Vec::new();
        for tag in self.all_shared_tags() {
            let entries = self.entries_for_tag(tag);
            match groups
                .iter_mut()
                .find(|g| same_entries(&g.entries, &entries))
            {
                Some(group) => group.shared_tags.push(tag),
                None => groups.push(SharedTagGroup {
                    shared_tags: vec![tag],
                    entries,
                }),
            }
        }
        groups
    }
}

fn same_entries(a: &[&Entry], b: &[&Entry]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| std::ptr::eq(*x, *y))
}

/// Shared tags that all point at the same entries.
#[derive(Debug, Clone, Serialize)]
pub struct SharedTagGroup<'a> {
    /// The shared tags, in file order.
    pub shared_tags: Vec<&'a str>,
    /// The entries they combine.
    pub entries: Vec<&'a Entry>,
}
