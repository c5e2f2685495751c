//! One layer as a tree of entries, and its tar written exactly as GNU tar writes it with
//! `--format=gnu --sort=name --numeric-owner -b 1`: the same headers, the same `././@LongLink`
//! entries for long names, the same order (each folder's entries sorted by name, depth
//! first), so that an independent tool can rebuild the identical layer from the same files.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use flate2::write::GzEncoder;
use flate2::Compression;

/// The gzip level every layer is compressed at: zlib's default, pinned so that the same tar
/// always compresses to the same bytes (flate2's zlib-rs backend, no name and no time in the
/// gzip header).
pub const GZIP_LEVEL: u32 = 6;

const BLOCK: usize = 512;
/// GNU tar's magic and version fields together: `ustar  \0`.
const GNU_MAGIC: &[u8; 8] = b"ustar  \0";
/// The largest value an 8-byte octal field holds; above it GNU tar writes base-256.
const MAX_OCTAL_8: u64 = 0o7777777;
/// The largest value a 12-byte octal field holds.
const MAX_OCTAL_12: u64 = 0o77777777777;

/// Owner, mode and time of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    /// Permission bits (07777).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// Seconds since the Unix epoch, already clamped.
    pub mtime: u64,
}

/// Where a regular file's bytes are.
#[derive(Debug, Clone)]
pub(crate) enum Content {
    /// A file of the build context.
    Path(PathBuf),
    /// A range of a spooled (decompressed) archive.
    Spool { file: Arc<File>, offset: u64 },
}

/// What an entry is.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Dir(BTreeMap<Vec<u8>, Node>),
    /// A regular file; files sharing a `link_group` are hard links of one another.
    File {
        content: Content,
        size: u64,
        link_group: Option<u64>,
    },
    Symlink(Vec<u8>),
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
}

/// One entry of a layer.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub meta: Meta,
    pub kind: Kind,
}

impl Node {
    pub(crate) fn dir(meta: Meta) -> Self {
        Node {
            meta,
            kind: Kind::Dir(BTreeMap::new()),
        }
    }
}

/// The entries of one layer, under an implicit root that is never written.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    pub root: BTreeMap<Vec<u8>, Node>,
}

/// Why a path cannot be placed in a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PlaceError {
    /// A component on the way is a file, link or device, not a folder.
    NotAFolder(String),
}

impl Tree {
    /// Puts `node` at `components`, creating missing parents with `parent_meta` and replacing
    /// whatever was there (a folder stays a folder and keeps its entries when `node` is one).
    pub(crate) fn insert(
        &mut self,
        components: &[Vec<u8>],
        node: Node,
        parent_meta: impl Fn(&[Vec<u8>]) -> Meta,
    ) -> Result<(), PlaceError> {
        let Some((name, parents)) = components.split_last() else {
            return Ok(());
        };
        let mut children = &mut self.root;
        for (depth, component) in parents.iter().enumerate() {
            let parent = children
                .entry(component.clone())
                .or_insert_with(|| Node::dir(parent_meta(&components[..=depth])));
            children = match &mut parent.kind {
                Kind::Dir(entries) => entries,
                _ => return Err(PlaceError::NotAFolder(display(&components[..=depth]))),
            };
        }
        match (children.get_mut(name), node) {
            (
                Some(Node {
                    meta,
                    kind: Kind::Dir(_),
                }),
                Node {
                    meta: new_meta,
                    kind: Kind::Dir(_),
                },
            ) => *meta = new_meta,
            (_, node) => {
                children.insert(name.clone(), node);
            }
        }
        Ok(())
    }

    /// The node at `components`, if any, to change.
    pub(crate) fn get_mut(&mut self, components: &[Vec<u8>]) -> Option<&mut Node> {
        let (first, rest) = components.split_first()?;
        let mut node = self.root.get_mut(first)?;
        for component in rest {
            node = match &mut node.kind {
                Kind::Dir(entries) => entries.get_mut(component)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Writes the layer's tar to `out`: every entry depth first, each folder's entries sorted
    /// by name, then the two zero blocks that end an archive.
    pub(crate) fn write_tar(&self, out: &mut impl Write) -> io::Result<()> {
        let mut writer = TarWriter {
            out,
            emitted_groups: BTreeMap::new(),
        };
        writer.entries(&mut Vec::new(), &self.root)?;
        writer.out.write_all(&[0; 2 * BLOCK])
    }
}

/// `a/b/c` for messages.
pub(crate) fn display(components: &[Vec<u8>]) -> String {
    let joined: Vec<String> = components
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    joined.join("/")
}

struct TarWriter<'a, W> {
    out: &'a mut W,
    /// The path each hard-link group was first written at.
    emitted_groups: BTreeMap<u64, Vec<u8>>,
}

impl<W: Write> TarWriter<'_, W> {
    fn entries(&mut self, path: &mut Vec<u8>, entries: &BTreeMap<Vec<u8>, Node>) -> io::Result<()> {
        for (name, node) in entries {
            let before = path.len();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            self.entry(path, node)?;
            if let Kind::Dir(children) = &node.kind {
                self.entries(path, children)?;
            }
            path.truncate(before);
        }
        Ok(())
    }

    fn entry(&mut self, path: &[u8], node: &Node) -> io::Result<()> {
        let mut name = path.to_vec();
        let mut link: &[u8] = b"";
        let (typeflag, size, device) = match &node.kind {
            Kind::Dir(_) => {
                name.push(b'/');
                (b'5', 0, None)
            }
            Kind::File {
                size, link_group, ..
            } => match link_group.and_then(|group| self.emitted_groups.get(&group)) {
                Some(first) => {
                    link = first;
                    (b'1', 0, None)
                }
                None => (b'0', *size, None),
            },
            Kind::Symlink(target) => {
                link = target;
                (b'2', 0, None)
            }
            Kind::Char(major, minor) => (b'3', 0, Some((*major, *minor))),
            Kind::Block(major, minor) => (b'4', 0, Some((*major, *minor))),
            Kind::Fifo => (b'6', 0, None),
        };
        let link = link.to_vec();
        if link.len() > 100 {
            self.long_name(b'K', &link)?;
        }
        if name.len() > 100 {
            self.long_name(b'L', &name)?;
        }
        let header = Header {
            name: &name,
            link: &link,
            meta: node.meta,
            size,
            typeflag,
            device,
        };
        self.out.write_all(&header.encode())?;
        if let Kind::File {
            content,
            size,
            link_group,
        } = &node.kind
        {
            if typeflag == b'0' {
                copy_content(content, *size, self.out)?;
                pad(self.out, *size)?;
                if let Some(group) = link_group {
                    self.emitted_groups.insert(*group, path.to_vec());
                }
            }
        }
        Ok(())
    }

    /// GNU's `././@LongLink` entry carrying a name (`L`) or link target (`K`) over 100 bytes.
    fn long_name(&mut self, typeflag: u8, text: &[u8]) -> io::Result<()> {
        let size = text.len() as u64 + 1;
        let header = Header {
            name: b"././@LongLink",
            link: b"",
            meta: Meta {
                mode: 0o644,
                uid: 0,
                gid: 0,
                mtime: 0,
            },
            size,
            typeflag,
            device: None,
        };
        self.out.write_all(&header.encode())?;
        self.out.write_all(text)?;
        self.out.write_all(&[0])?;
        pad(self.out, size)
    }
}

/// Copies exactly `size` bytes of `content`; a file that changed size meanwhile is an error.
fn copy_content(content: &Content, size: u64, out: &mut impl Write) -> io::Result<()> {
    let mut buffer = vec![0u8; 256 * 1024];
    let mut done = 0u64;
    let (file, base) = match content {
        Content::Path(path) => (Arc::new(File::open(path)?), 0),
        Content::Spool { file, offset } => (Arc::clone(file), *offset),
    };
    while done < size {
        let want = usize::try_from((size - done).min(buffer.len() as u64)).unwrap_or(buffer.len());
        let read = file.read_at(&mut buffer[..want], base + done)?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a file shrank while its layer was written",
            ));
        }
        out.write_all(&buffer[..read])?;
        done += read as u64;
    }
    Ok(())
}

/// Zero bytes up to the next block boundary after `size` bytes.
fn pad(out: &mut impl Write, size: u64) -> io::Result<()> {
    let rest = (BLOCK - (size % BLOCK as u64) as usize) % BLOCK;
    out.write_all(&[0; BLOCK][..rest])
}

/// One GNU tar header.
struct Header<'a> {
    name: &'a [u8],
    link: &'a [u8],
    meta: Meta,
    size: u64,
    typeflag: u8,
    device: Option<(u32, u32)>,
}

impl Header<'_> {
    fn encode(&self) -> [u8; BLOCK] {
        let mut block = [0u8; BLOCK];
        copy_truncated(&mut block[0..100], self.name);
        numeric(
            &mut block[100..108],
            u64::from(self.meta.mode & 0o7777),
            MAX_OCTAL_8,
        );
        numeric(&mut block[108..116], self.meta.uid, MAX_OCTAL_8);
        numeric(&mut block[116..124], self.meta.gid, MAX_OCTAL_8);
        numeric(&mut block[124..136], self.size, MAX_OCTAL_12);
        numeric(&mut block[136..148], self.meta.mtime, MAX_OCTAL_12);
        block[156] = self.typeflag;
        copy_truncated(&mut block[157..257], self.link);
        block[257..265].copy_from_slice(GNU_MAGIC);
        // uname and gname stay empty: owners are numeric only.
        if let Some((major, minor)) = self.device {
            numeric(&mut block[329..337], u64::from(major), MAX_OCTAL_8);
            numeric(&mut block[337..345], u64::from(minor), MAX_OCTAL_8);
        }
        block[148..156].fill(b' ');
        let checksum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        let text = format!("{checksum:06o}\0 ");
        block[148..156].copy_from_slice(text.as_bytes());
        block
    }
}

fn copy_truncated(field: &mut [u8], value: &[u8]) {
    let len = value.len().min(field.len());
    field[..len].copy_from_slice(&value[..len]);
}

/// A numeric field: zero-padded octal and a NUL, or GNU's base-256 when it does not fit.
fn numeric(field: &mut [u8], value: u64, max_octal: u64) {
    if value <= max_octal {
        let text = format!("{value:0width$o}\0", width = field.len() - 1);
        field.copy_from_slice(text.as_bytes());
        return;
    }
    field.fill(0);
    let bytes = value.to_be_bytes();
    let len = field.len();
    field[len - 8..].copy_from_slice(&bytes);
    field[0] |= 0x80;
}

/// A writer that gzips at [`GZIP_LEVEL`].
pub(crate) fn gzip<W: Write>(out: W) -> GzEncoder<W> {
    // The default GzBuilder writes no file name and a zero modification time.
    GzEncoder::new(out, Compression::new(GZIP_LEVEL))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(mode: u32) -> Meta {
        Meta {
            mode,
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
        }
    }

    #[test]
    fn numbers_too_large_for_octal_use_base_256() {
        let mut field = [0u8; 8];
        numeric(&mut field, 0o755, MAX_OCTAL_8);
        assert_eq!(&field, b"0000755\0");
        numeric(&mut field, 3_000_000, MAX_OCTAL_8);
        assert_eq!(field, [0x80, 0, 0, 0, 0, 0x2d, 0xc6, 0xc0]);
    }

    #[test]
    fn entries_are_sorted_depth_first_and_hard_links_follow_their_first_name() {
        let mut tree = Tree::default();
        let path = |p: &str| {
            p.split('/')
                .map(|c| c.as_bytes().to_vec())
                .collect::<Vec<_>>()
        };
        let spool = Arc::new(tempfile::tempfile().unwrap());
        spool.write_all_at(b"hello", 0).unwrap();
        let file = |group| Node {
            meta: meta(0o644),
            kind: Kind::File {
                content: Content::Spool {
                    file: Arc::clone(&spool),
                    offset: 0,
                },
                size: 5,
                link_group: group,
            },
        };
        let dirs = |_: &[Vec<u8>]| meta(0o755);
        tree.insert(&path("a-b"), file(Some(1)), dirs).unwrap();
        tree.insert(&path("a/z"), file(Some(1)), dirs).unwrap();
        tree.insert(&path("a/y"), file(None), dirs).unwrap();
        let mut out = Vec::new();
        tree.write_tar(&mut out).unwrap();
        let names: Vec<(String, u8, String)> = out
            .chunks(BLOCK)
            .filter(|b| b[257..265] == *GNU_MAGIC)
            .map(|b| {
                let text = |r: std::ops::Range<usize>| {
                    String::from_utf8_lossy(&b[r])
                        .trim_end_matches('\0')
                        .to_owned()
                };
                (text(0..100), b[156], text(157..257))
            })
            .collect();
        assert_eq!(
            names,
            [
                ("a/".into(), b'5', "".into()),
                ("a/y".into(), b'0', "".into()),
                ("a/z".into(), b'0', "".into()),
                ("a-b".into(), b'1', "a/z".into()),
            ]
        );
    }
}
