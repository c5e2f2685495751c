//! The "Supported tags and respective `Dockerfile` links" section of an image's description,
//! as docker-library/docs renders it from a library file
//! (`.template-helpers/generate-dockerfile-links-partial.{sh,tmpl}`) and Docker Hub shows it.
//!
//! Every entry becomes one "simple tags" bullet that links its tags to the Dockerfile it is
//! built from; when the file has SharedTags, each shared-tag group (one multi-platform index)
//! becomes a bullet listing the entries it combines. Only GitHub repositories get links, because
//! only there does `/blob/<commit>/<path>` name a browsable file; other hosts show the tags
//! alone, exactly as upstream does.

use std::fmt;

use oci::Architecture;
use serde::Serialize;

use crate::{Entry, LibraryFile, DEFAULT_DIRECTORY};

/// The architecture whose build source the links point at when an entry is built for it;
/// docker-library/docs renders the generic description with bashbrew's default architecture.
const DOCS_ARCHITECTURE: Architecture = Architecture::Amd64;

/// Where the FAQ explains shared tags; the docs point at it whenever a file has any.
const SHARED_TAGS_FAQ: &str = "(See [\"What's the difference between 'Shared' and 'Simple' tags?\" in the FAQ](https://github.com/docker-library/faq#whats-the-difference-between-shared-and-simple-tags).)";

/// The supported tags of one repository and where each one's Dockerfile lives.
///
/// [`fmt::Display`] renders the markdown; [`Serialize`] gives the same content as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupportedTags {
    /// One link per entry, in file order.
    pub simple: Vec<DockerfileLink>,
    /// One group per set of shared tags that point at the same entries, in file order.
    pub shared: Vec<SharedTagLinks>,
}

/// One entry's tags and the Dockerfile (or, for `Builder: oci-import`, the image index file)
/// they are built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerfileLink {
    /// The entry's own tags; the first names it.
    pub tags: Vec<String>,
    /// The architecture whose source is linked: amd64 when the entry has it, else its first.
    pub architecture: Architecture,
    /// The repository's web address: `GitRepo` with `git://` made `https://` and `.git` cut.
    pub repository: String,
    /// The commit the link pins.
    pub git_commit: String,
    /// The file's path inside the repository (`3.14/trixie/Dockerfile`).
    pub path: String,
    /// The browsable file, present only for GitHub repositories.
    pub url: Option<String>,
}

/// Shared tags and the entries whose images their index combines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedTagLinks {
    /// The shared tags, in file order.
    pub shared_tags: Vec<String>,
    /// The entries behind them, each shown by its first tag.
    pub entries: Vec<DockerfileLink>,
}

impl SupportedTags {
    /// Collects the links of every entry and shared-tag group of `file`.
    pub fn new(file: &LibraryFile) -> Self {
        SupportedTags {
            simple: file.entries.iter().map(DockerfileLink::new).collect(),
            shared: file
                .shared_tag_groups()
                .into_iter()
                .map(|group| SharedTagLinks {
                    shared_tags: group.shared_tags.iter().map(|t| t.to_string()).collect(),
                    entries: group.entries.into_iter().map(DockerfileLink::new).collect(),
                })
                .collect(),
        }
    }
}

impl DockerfileLink {
    fn new(entry: &Entry) -> Self {
        let architecture = linked_architecture(entry);
        let source = entry.source(architecture);
        let repository = web_address(source.git_repo);
        let path = if source.directory == DEFAULT_DIRECTORY {
            source.file.to_owned()
        } else {
            format!("{}/{}", source.directory, source.file)
        };
        let url = repository
            .starts_with("https://github.com/")
            .then(|| format!("{repository}/blob/{}/{path}", source.git_commit));
        DockerfileLink {
            tags: entry.tags.clone(),
            architecture,
            repository,
            git_commit: source.git_commit.to_owned(),
            path,
            url,
        }
    }

    /// Writes `` `a`, `b` `` for `tags`, as a link when there is a URL.
    fn write(&self, f: &mut fmt::Formatter<'_>, tags: &[String]) -> fmt::Result {
        let label = format!("`{}`", tags.join("`, `"));
        match &self.url {
            Some(url) => write!(f, "[{label}]({url})"),
            None => f.write_str(&label),
        }
    }
}

/// Renders the markdown byte for byte as the docker-library/docs template does, before that
/// repository's markdown formatter runs over the whole README.
impl fmt::Display for SupportedTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.shared.is_empty() {
            write!(f, "{SHARED_TAGS_FAQ}\n\n## Simple Tags\n\n")?;
        }
        for (i, link) in self.simple.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str("-\t")?;
            link.write(f, &link.tags)?;
        }
        f.write_str("\n\n")?;
        if self.shared.is_empty() {
            return Ok(());
        }
        f.write_str("## Shared Tags\n\n")?;
        for group in &self.shared {
            writeln!(f, "-\t`{}`:", group.shared_tags.join("`, `"))?;
            for link in &group.entries {
                f.write_str("\t-\t")?;
                link.write(f, &link.tags[..link.tags.len().min(1)])?;
                f.write_str("\n")?;
            }
        }
        f.write_str("\n")
    }
}

fn linked_architecture(entry: &Entry) -> Architecture {
    if entry.has_architecture(DOCS_ARCHITECTURE) {
        DOCS_ARCHITECTURE
    } else {
        entry
            .architectures
            .first()
            .copied()
            .unwrap_or(DOCS_ARCHITECTURE)
    }
}

/// `GitRepo` as a web address: `git://` becomes `https://` and one `.git` suffix goes.
fn web_address(git_repo: &str) -> String {
    let https = git_repo.replace("git://", "https://");
    https.strip_suffix(".git").unwrap_or(&https).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn entry(tags: &[&str], shared: &[&str], archs: &[Architecture]) -> Entry {
        Entry {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            shared_tags: shared.iter().map(|t| t.to_string()).collect(),
            architectures: archs.to_vec(),
            git_repo: "https://github.com/docker-library/python.git".to_owned(),
            git_commit: COMMIT.to_owned(),
            ..Entry::defaults()
        }
    }

    #[test]
    fn links_follow_the_upstream_template() {
        use crate::ArchField::{Directory, File, GitCommit};
        use Architecture::{Amd64, Arm64v8, WindowsAmd64};
        let cases: Vec<(&str, Entry, &str)> = vec![
            (
                "directory dot links the file at the root",
                entry(&["1"], &[], &[Amd64]),
                "[`1`](https://github.com/docker-library/python/blob/0123456789abcdef0123456789abcdef01234567/Dockerfile)",
            ),
            (
                "a directory is joined with the file",
                edited(entry(&["1", "one"], &[], &[Amd64]), |e| {
                    e.directory = "1/slim".into();
                    e.file = "Dockerfile.slim".into();
                }),
                "[`1`, `one`](https://github.com/docker-library/python/blob/0123456789abcdef0123456789abcdef01234567/1/slim/Dockerfile.slim)",
            ),
            (
                "git:// becomes https:// and the .git suffix goes",
                edited(entry(&["1"], &[], &[Amd64]), |e| {
                    e.git_repo = "git://github.com/tianon/x.git".into();
                }),
                "[`1`](https://github.com/tianon/x/blob/0123456789abcdef0123456789abcdef01234567/Dockerfile)",
            ),
            (
                "other hosts get no link",
                edited(entry(&["1"], &[], &[Amd64]), |e| {
                    e.git_repo = "https://gitlab.archlinux.org/archlinux/archlinux-docker.git".into();
                }),
                "`1`",
            ),
            (
                "amd64's override wins when the entry has amd64",
                edited(entry(&["1"], &[], &[Arm64v8, Amd64]), |e| {
                    e.builder = "oci-import".into();
                    e.file = "index.json".into();
                    e.arch_overrides.insert((Amd64, GitCommit), "a".repeat(40));
                    e.arch_overrides.insert((Arm64v8, GitCommit), "b".repeat(40));
                }),
                "[`1`](https://github.com/docker-library/python/blob/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/index.json)",
            ),
            (
                "without amd64 the first architecture's source is linked",
                edited(entry(&["1-windows"], &[], &[WindowsAmd64]), |e| {
                    e.arch_overrides.insert((WindowsAmd64, Directory), "win".into());
                    e.arch_overrides.insert((WindowsAmd64, File), "Dockerfile.win".into());
                }),
                "[`1-windows`](https://github.com/docker-library/python/blob/0123456789abcdef0123456789abcdef01234567/win/Dockerfile.win)",
            ),
        ];
        for (name, entry, expected) in cases {
            let file = LibraryFile {
                global: Entry::defaults(),
                entries: vec![entry],
            };
            let markdown = SupportedTags::new(&file).to_string();
            assert_eq!(markdown, format!("-\t{expected}\n\n"), "{name}");
        }
    }

    #[test]
    fn shared_tags_get_their_own_section() {
        use Architecture::{Amd64, WindowsAmd64};
        let file = LibraryFile {
            global: Entry::defaults(),
            entries: vec![
                entry(&["1-linux", "1-l"], &["1", "latest"], &[Amd64]),
                edited(
                    entry(&["1-windows"], &["1", "latest"], &[WindowsAmd64]),
                    |e| {
                        e.directory = "w".into();
                    },
                ),
            ],
        };
        let base = format!("https://github.com/docker-library/python/blob/{COMMIT}");
        let expected = format!(
            "{SHARED_TAGS_FAQ}\n\n## Simple Tags\n\n\
             -\t[`1-linux`, `1-l`]({base}/Dockerfile)\n\
             -\t[`1-windows`]({base}/w/Dockerfile)\n\n\
             ## Shared Tags\n\n\
             -\t`1`, `latest`:\n\
             \t-\t[`1-linux`]({base}/Dockerfile)\n\
             \t-\t[`1-windows`]({base}/w/Dockerfile)\n\n"
        );
        assert_eq!(SupportedTags::new(&file).to_string(), expected);
    }

    fn edited(mut entry: Entry, edit: impl FnOnce(&mut Entry)) -> Entry {
        edit(&mut entry);
        entry
    }

    /// python (SharedTags, Windows entries), busybox (oci-import with per-architecture
    /// commits on GitHub) and ubuntu (oci-import on Launchpad, so no links), from the real folder.
    #[test]
    fn real_library_files() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/official-images-library");
        for repo in ["python", "busybox", "ubuntu"] {
            let file = crate::load_file(&dir.join(repo)).unwrap();
            insta::assert_snapshot!(repo, SupportedTags::new(&file).to_string());
        }
    }
}
