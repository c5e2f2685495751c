//! ADD and COPY sources in the build context: finding them (wildcards included), keeping
//! them inside the context, and reading them into a layer's tree.
//!
//! Files from the context come from git, which records only whether a file is executable, so
//! they are given git's modes (folders 0755, files 0644 or 0755, links 0777) whatever the
//! checkout's umask made of them, owner 0 (or `--chown`), and SOURCE_DATE_EPOCH as their time:
//! a checkout's times are the time of the checkout, which no two builds share.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::layer::{Content, Kind, Meta, Node, Tree};
use super::NativeError;

/// A source found in the context.
#[derive(Debug)]
pub(crate) struct Source {
    /// The real path, inside the context.
    pub path: PathBuf,
    /// Its last component, the name a file keeps when copied into a folder.
    pub name: Vec<u8>,
    /// Whether it is a folder (its contents are copied, not itself).
    pub is_dir: bool,
}

/// The files `pattern` names in `context` (`*` and `?` match within one component), sorted;
/// each checked to lie inside the context once symbolic links are followed.
pub(crate) fn find_sources(
    context: &Path,
    pattern: &str,
    line: usize,
) -> Result<Vec<Source>, NativeError> {
    let escapes = || NativeError::SourceEscapes {
        line,
        source_path: pattern.to_owned(),
    };
    let mut components: Vec<&str> = Vec::new();
    for component in pattern.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                components.pop().ok_or_else(escapes)?;
            }
            name => components.push(name),
        }
    }
    let mut candidates = vec![context.to_path_buf()];
    for component in &components {
        let mut next = Vec::new();
        for base in &candidates {
            if is_pattern(component) {
                next.extend(matching_children(base, component));
            } else {
                next.push(base.join(component));
            }
        }
        candidates = next;
    }
    let real_context = fs::canonicalize(context).map_err(NativeError::io(context))?;
    let mut sources = Vec::new();
    for candidate in candidates {
        let Ok(real) = fs::canonicalize(&candidate) else {
            continue;
        };
        if !real.starts_with(&real_context) {
            return Err(escapes());
        }
        let metadata = fs::metadata(&real).map_err(NativeError::io(&real))?;
        let name = candidate
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        sources.push(Source {
            path: real,
            name,
            is_dir: metadata.is_dir(),
        });
    }
    if sources.is_empty() {
        return Err(NativeError::SourceMissing {
            line,
            source_path: pattern.to_owned(),
        });
    }
    Ok(sources)
}

fn is_pattern(component: &str) -> bool {
    component.contains(['*', '?', '['])
}

/// The entries of `base` whose names match `pattern`, sorted by name.
fn matching_children(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(base) else {
        return Vec::new();
    };
    let mut names: Vec<Vec<u8>> = entries
        .flatten()
        .map(|e| e.file_name().as_bytes().to_vec())
        .filter(|name| glob_match(pattern.as_bytes(), name))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| base.join(std::ffi::OsStr::from_bytes(&name)))
        .collect()
}

/// `*` (any run) and `?` (any one byte) matching, the rest literal.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => {
            glob_match(rest, name) || (!name.is_empty() && glob_match(pattern, &name[1..]))
        }
        (Some((b'?', rest)), Some((_, name_rest))) => glob_match(rest, name_rest),
        (Some((p, rest)), Some((n, name_rest))) if p == n => glob_match(rest, name_rest),
        _ => false,
    }
}

/// How context files become entries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ownership {
    pub uid: u64,
    pub gid: u64,
    /// `--chmod`, replacing git's modes for files and folders.
    pub chmod: Option<u32>,
    pub epoch: u64,
}

impl Ownership {
    fn meta(&self, git_mode: u32) -> Meta {
        Meta {
            mode: self.chmod.unwrap_or(git_mode),
            uid: self.uid,
            gid: self.gid,
            mtime: self.epoch,
        }
    }

    /// The metadata of a folder the copy creates.
    pub(crate) fn dir_meta(&self) -> Meta {
        self.meta(0o755)
    }
}

/// Adds the context file or folder `path` (folders: their contents) at `dest` in `tree`.
pub(crate) fn add_path(
    tree: &mut Tree,
    path: &Path,
    dest: &[Vec<u8>],
    owner: Ownership,
    parent_meta: &dyn Fn(&[Vec<u8>]) -> Meta,
) -> Result<(), NativeError> {
    let metadata = fs::symlink_metadata(path).map_err(NativeError::io(path))?;
    let not_a_folder = |what: &[Vec<u8>]| NativeError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!(
            "cannot copy it to /{}: something on the way is not a folder",
            super::layer::display(what)
        )),
    };
    let node = if metadata.is_dir() {
        Node::dir(owner.dir_meta())
    } else if metadata.file_type().is_symlink() {
        let target = fs::read_link(path).map_err(NativeError::io(path))?;
        Node {
            meta: Meta {
                mode: 0o777,
                ..owner.meta(0o777)
            },
            kind: Kind::Symlink(target.as_os_str().as_bytes().to_vec()),
        }
    } else if metadata.is_file() {
        let executable = metadata.permissions().mode() & 0o111 != 0;
        Node {
            meta: owner.meta(if executable { 0o755 } else { 0o644 }),
            kind: Kind::File {
                content: Content::Path(path.to_path_buf()),
                size: metadata.len(),
                link_group: None,
            },
        }
    } else {
        return Err(NativeError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(
                "is neither a file, a folder nor a symbolic link; git cannot hold it either",
            ),
        });
    };
    let is_dir = matches!(node.kind, Kind::Dir(_));
    tree.insert(dest, node, parent_meta)
        .map_err(|_| not_a_folder(dest))?;
    if !is_dir {
        return Ok(());
    }
    let mut children: Vec<_> = fs::read_dir(path)
        .map_err(NativeError::io(path))?
        .collect::<Result<_, _>>()
        .map_err(NativeError::io(path))?;
    children.sort_by_key(|entry| entry.file_name());
    for child in children {
        let mut child_dest = dest.to_vec();
        child_dest.push(child.file_name().as_bytes().to_vec());
        add_path(tree, &child.path(), &child_dest, owner, parent_meta)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_within_one_component() {
        let cases: &[(&str, &str, bool)] = &[
            ("*.sh", "entry.sh", true),
            ("*.sh", "entry.shx", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*", "", true),
            ("*x*", "abxcd", true),
            ("lit", "lit", true),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(
                glob_match(pattern.as_bytes(), name.as_bytes()),
                *expected,
                "{pattern} {name}"
            );
        }
    }
}
